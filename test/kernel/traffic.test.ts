// End to end on a real kernel: a VPC host behind a plain kernel GRE link, the gateway running OUR
// code (gre/, mplsoudp/, src/fib/, acting inside the gateway's namespace), two vRouter hosts
// decapsulating MPLSoUDP into pods. Pings both ways over routes our code installed, ECMP across the
// vRouters, tunnel garbage collection, restart adoption without route churn, drift repair, cleanup.
import t from 'tap'
import { spawn } from 'node:child_process'
import { greLinkName, mssClampPackets } from '../../gre/index.js'
import type { GreResult } from '../../gre/index.js'
import type { CleanupReport, DesiredRoute, FibCounters } from '../../src/fib/index.js'
import { tunnelName } from '../../mplsoudp/index.js'
import { GW_IP, LABEL, monitorRoutes, TABLE, TABLE_LABEL, TGW_IP, Topology, VR_IP } from '../fib/topology.js'
import { Netns, NsWorker } from './lib/index.js'

// TCG emulation on a shared machine is slow: every ip/nft run costs a good fraction of a second.
t.setTimeout(900_000)
const topo = new Topology(`${process.pid % 10000}`)
let worker: NsWorker | undefined
t.teardown(async () => { await worker?.stop(); topo.destroy() })
const gwModule = new URL('../fib/ns-gateway.ts', import.meta.url)
/** Calls test/fib/ns-gateway.ts inside the gateway namespace: our code over our netlink layer. */
const gw = <T>(fn: string, ...args: unknown[]): Promise<T> => (worker as NsWorker).call<T>(gwModule, fn, ...args)

const PEER_ID = 'tgw-connect-peer-0aaaabbbbcccc0001'
const GRE = greLinkName(PEER_ID)
const T1 = tunnelName(VR_IP[0]), T2 = tunnelName(VR_IP[1])
const peers = [{ id: PEER_ID, localAddress: GW_IP, remoteAddress: TGW_IP, insideCidr: '169.254.6.0/29', vrf: `gsiv${TABLE}` }]
const tables = [{ table: TABLE, label: TABLE_LABEL }]
const fullRoutes: DesiredRoute[] = [
  { table: TABLE, prefix: '10.244.1.0/24', nexthops: [{ kind: 'mpls', vrouter: VR_IP[0], label: LABEL.pod1 }] },
  { table: TABLE, prefix: '10.244.2.0/24', nexthops: [{ kind: 'mpls', vrouter: VR_IP[1], label: LABEL.pod2 }] },
  { table: TABLE, prefix: '10.244.9.0/24', nexthops: [{ kind: 'mpls', vrouter: VR_IP[0], label: LABEL.pod9vr1 }, { kind: 'mpls', vrouter: VR_IP[1], label: LABEL.pod9vr2 }] },
  { table: TABLE, prefix: '10.60.0.0/16', nexthops: [{ kind: 'gre', link: GRE, gateway: '169.254.6.2' }] },
]

const nft: [string, ...string[]] = ['ip', 'netns', 'exec', topo.ns.gw, 'nft']

const routeTable = (): string => topo.exec(topo.ns.gw, `ip route show table ${TABLE} proto 201`)
const links = (): string => topo.exec(topo.ns.gw, 'ip -br link show')

t.test('topology', async t => {
  topo.build()
  t.equal(topo.ping('vpc', '10.244.1.10', 1, '10.60.0.1'), 0, 'no path before our code runs (the test can fail)')
})

t.test('our code sets up GRE, the gateway table, fou, tunnels and routes', async t => {
  worker = await NsWorker.start(new Netns(topo.ns.gw))
  const start = await gw<FibCounters>('start', GW_IP, tables)
  t.equal(start.routesAdopted, 0, 'nothing to adopt on a clean node')
  const gre = await gw<GreResult>('gre', peers)
  t.same(gre.errors, [], 'GRE applied without errors')
  t.match(gre.links[0], { name: GRE, state: 'up', inSync: true, mtu: 8476, addresses: ['169.254.6.1/29'] })
  t.equal(gre.mssClamp.state, 'active', 'MSS clamping by nftables')
  const c = await gw<FibCounters>('routes', fullRoutes)
  t.equal(c.routesAdded, 4)
  t.equal(c.tunnelsCreated, 2)
  t.equal(c.errors, 0, c.lastError)
  await gw('ready')
  t.match(links(), new RegExp(`${T1}@NONE\\s+UNKNOWN|${T1}\\s`), 'tunnel to vr1 exists')
  t.match(routeTable(), /10\.244\.9\.0\/24[^\n]*\n\s+nexthop\s+encap mpls\s+309 dev gsim0a000201[^\n]*\n\s+nexthop\s+encap mpls\s+319 dev gsim0a000202/, 'ECMP route with per-next-hop labels')
  t.match(topo.exec(topo.ns.gw, 'ip -f mpls route show'), new RegExp(`${TABLE_LABEL} dev gsiv${TABLE}`), 'table label pops into the VRF')
  t.notMatch(topo.exec(topo.ns.gw, 'ip route show table main'), /169\.254|10\.244|10\.60/, 'main table untouched')
})

t.test('pings both ways through GRE and MPLSoUDP', async t => {
  t.equal(topo.ping('vpc', '10.244.1.10', 2, '10.60.0.1'), 2, 'VPC -> pod1 (GRE in, MPLSoUDP to vr1)')
  t.equal(topo.ping('vpc', '10.244.2.10', 2, '10.60.0.2'), 2, 'VPC -> pod2 (MPLSoUDP to vr2)')
  t.equal(topo.ping('pod2', '10.60.0.3', 2), 2, 'pod2 -> VPC (label pop into the gateway VRF, out over GRE)')
  t.equal(topo.ping('pod1', '10.60.0.4', 2), 2, 'pod1 -> VPC')
})

t.test('on the wire: MPLS inside UDP 6635, and TCP SYNs clamped', async t => {
  const cap = spawn('ip', ['netns', 'exec', topo.ns.vr1, 'tcpdump', '-l', '-n', '-c', '1', '-i', 'u0', 'udp dst port 6635'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = '', err = ''
  cap.stdout.on('data', d => { out += d })
  cap.stderr.on('data', d => { err += d })
  for (let i = 0; i < 100 && !err.includes('listening'); i++) await new Promise(r => setTimeout(r, 100))
  t.equal(topo.ping('vpc', '10.244.1.10', 1, '10.60.0.11'), 1)
  const killer = setTimeout(() => cap.kill(), 10_000)
  await new Promise(r => cap.once('exit', r))
  clearTimeout(killer)
  t.match(out, new RegExp(`${GW_IP.replaceAll('.', '\\.')}\\.\\d+ > ${VR_IP[0].replaceAll('.', '\\.')}\\.6635`), 'UDP from the gateway to the vRouter port 6635')
  t.match(out, /MPLS \(label 301/, 'carrying the pod label')
  const before = (await mssClampPackets(nft)) ?? -1
  try { topo.exec(topo.ns.vpc, 'timeout 3 bash -c "exec 3<>/dev/tcp/10.244.1.10/9" || true') } catch { /* refused: the SYN went through */ }
  t.ok(((await mssClampPackets(nft)) ?? -1) > before, 'the SYN toward the pod went through the MSS clamp rule')
})

t.test('ECMP: flows reach both vRouters', async t => {
  const a0 = topo.inEchos('pod9a'), b0 = topo.inEchos('pod9b')
  const ok = topo.exec(topo.ns.vpc, 'n=0; for s in $(seq 1 16); do busybox ping -c 1 -W 1 -I 10.60.0.$s 10.244.9.10 >/dev/null 2>&1 && n=$((n+1)); done; echo $n')
  t.equal(Number(ok.trim()), 16, 'all 16 flows answered')
  const a = topo.inEchos('pod9a') - a0, b = topo.inEchos('pod9b') - b0
  t.equal(a + b, 16, 'each echo reached exactly one vRouter')
  t.ok(a > 0 && b > 0, `both vRouters got flows (vr1 ${a}, vr2 ${b})`)
})

t.test('drift repair: a route deleted by hand comes back', async t => {
  topo.exec(topo.ns.gw, `ip route del 10.244.1.0/24 table ${TABLE}`)
  let back = false
  for (let i = 0; i < 50 && !back; i++) {
    await new Promise(r => setTimeout(r, 100))
    back = /10\.244\.1\.0\/24/.test(routeTable())
  }
  t.ok(back, 'route is back')
  const c = await gw<FibCounters>('counters')
  t.ok(c.driftRepairs >= 1, `drift repairs counted (${c.driftRepairs})`)
  t.equal(topo.ping('vpc', '10.244.1.10', 1, '10.60.0.5'), 1, 'traffic flows again')
})

t.test('restart: a second run adopts the routes without deleting and re-adding them', async t => {
  await gw('stop')
  const mon = monitorRoutes(topo.ns.gw)
  await new Promise(r => setTimeout(r, 500))
  const start = await gw<FibCounters>('start', GW_IP, tables)
  t.equal(start.routesAdopted, 4, 'four routes adopted')
  const gre = await gw<GreResult>('gre', peers)
  t.same(gre.actions, [], 'GRE link adopted as it is')
  await gw('routes', fullRoutes)
  const c = await gw<FibCounters>('ready')
  const lines = await mon.stop()
  t.equal(c.routesAdded + c.routesReplaced + c.routesDeleted, 0, 'no route operation at all')
  t.equal(c.tunnelsCreated, 0, 'tunnels kept')
  t.same(lines.filter(l => /10\.244|10\.60/.test(l)), [], 'ip monitor saw no route of ours deleted or added')
  t.equal(topo.ping('vpc', '10.244.2.10', 1, '10.60.0.6'), 1, 'traffic still flows')
})

t.test('tunnel garbage collection: the last route through a vRouter removes its tunnel', async t => {
  const onlyVr1: DesiredRoute[] = [fullRoutes[0] as DesiredRoute, { table: TABLE, prefix: '10.244.9.0/24', nexthops: [{ kind: 'mpls', vrouter: VR_IP[0], label: LABEL.pod9vr1 }] }, fullRoutes[3] as DesiredRoute]
  const c = await gw<FibCounters>('routes', onlyVr1)
  t.equal(c.routesDeleted, 1, '10.244.2.0/24 deleted')
  t.equal(c.routesReplaced, 1, 'ECMP route now single path')
  t.equal(c.tunnelsDeleted, 1)
  t.notMatch(links(), new RegExp(T2), 'tunnel to vr2 gone')
  t.match(links(), new RegExp(T1), 'tunnel to vr1 kept')
  t.equal(topo.ping('vpc', '10.244.2.10', 1, '10.60.0.7'), 0, 'pod2 unreachable now')
  t.equal(topo.ping('vpc', '10.244.9.10', 1, '10.60.0.8'), 1, 'anycast still reachable via vr1')
  const c2 = await gw<FibCounters>('routes', fullRoutes)
  t.equal(c2.tunnelsCreated, 1, 'tunnel to vr2 back on demand')
  t.equal(topo.ping('vpc', '10.244.2.10', 1, '10.60.0.9'), 1, 'pod2 reachable again')
})

t.test('cleanup removes everything of ours and nothing else', async t => {
  const rep = await gw<CleanupReport>('removeAll')
  t.same(rep.errors, [])
  t.equal(rep.routes, 4)
  t.equal(rep.labelRoutes, 1)
  t.same([...rep.links].sort(), [GRE, T1, T2, `gsiv${TABLE}`].sort())
  t.equal(routeTable().trim(), '')
  const l = links()
  t.notMatch(l, /gsi[gmv]/, 'no link of ours left')
  t.match(l, /uvpc/, 'underlay links untouched')
  t.match(topo.exec(topo.ns.gw, 'ip route show table main'), /10\.0\.2\.1 dev uvr1/, 'main table routes untouched')
  t.equal(topo.ping('vpc', '10.244.1.10', 1, '10.60.0.10'), 0, 'no path any more')
})
