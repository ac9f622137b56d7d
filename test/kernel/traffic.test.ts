// End to end on a real kernel: a VPC host behind a plain kernel GRE link, the gateway running OUR
// code (gre/, mplsoudp/, src/fib/ via test/fib/gateway-agent.ts in its namespace), two vRouter hosts
// decapsulating MPLSoUDP into pods. Pings both ways over routes our code installed, ECMP across the
// vRouters, tunnel garbage collection, restart adoption without route churn, drift repair, cleanup.
import t from 'tap'
import { greLinkName } from '../../gre/index.js'
import type { GreResult } from '../../gre/index.js'
import type { CleanupReport, DesiredRoute, FibCounters } from '../../src/fib/index.js'
import { tunnelName } from '../../mplsoudp/index.js'
import { Agent, GW_IP, LABEL, monitorRoutes, TABLE, TABLE_LABEL, TGW_IP, Topology, VR_IP } from '../fib/topology.js'

const topo = new Topology(`${process.pid % 10000}`)
const agents: Agent[] = []
t.teardown(async () => { for (const a of agents) await a.stop(); topo.destroy() })

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

async function startAgent(): Promise<Agent> {
  const a = new Agent(topo.ns.gw)
  agents.push(a)
  await a.started
  await a.call('tables', { tables })
  return a
}

const routeTable = (): string => topo.exec(topo.ns.gw, `ip route show table ${TABLE} proto 201`)
const links = (): string => topo.exec(topo.ns.gw, 'ip -br link show')

t.test('topology', async t => {
  topo.build()
  t.equal(topo.ping('vpc', '10.244.1.10', 1, '10.60.0.1'), 0, 'no path before our code runs (the test can fail)')
})

let agent: Agent
t.test('our code sets up GRE, the gateway table, fou, tunnels and routes', async t => {
  agent = await startAgent()
  const start = await agent.call<FibCounters>('start')
  t.equal(start.routesAdopted, 0, 'nothing to adopt on a clean node')
  const gre = await agent.call<GreResult>('gre', { peers })
  t.same(gre.errors, [], 'GRE applied without errors')
  t.match(gre.links[0], { name: GRE, state: 'up', inSync: true, mtu: 8476, addresses: ['169.254.6.1/29'] })
  t.equal(gre.mssClamp.state, 'active', 'MSS clamping by nftables')
  const c = await agent.call<FibCounters>('routes', { routes: fullRoutes })
  t.equal(c.routesAdded, 4)
  t.equal(c.tunnelsCreated, 2)
  t.equal(c.errors, 0, c.lastError)
  await agent.call('ready')
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
  const s = await agent.call<{ counters: FibCounters }>('state')
  t.ok(s.counters.driftRepairs >= 1, `drift repairs counted (${s.counters.driftRepairs})`)
  t.equal(topo.ping('vpc', '10.244.1.10', 1, '10.60.0.5'), 1, 'traffic flows again')
})

t.test('restart: a second run adopts the routes without deleting and re-adding them', async t => {
  await agent.stop()
  const mon = monitorRoutes(topo.ns.gw)
  await new Promise(r => setTimeout(r, 300))
  const a2 = await startAgent()
  agent = a2
  const start = await a2.call<FibCounters>('start')
  t.equal(start.routesAdopted, 4, 'four routes adopted')
  await a2.call('gre', { peers })
  const c = await a2.call<FibCounters>('routes', { routes: fullRoutes })
  await a2.call('ready')
  const lines = await mon.stop()
  t.equal(c.routesAdded + c.routesReplaced + c.routesDeleted, 0, 'no route operation at all')
  t.equal(c.tunnelsCreated, 0, 'tunnels kept')
  t.same(lines.filter(l => /10\.244|10\.60/.test(l)), [], 'ip monitor saw no route of ours deleted or added')
  t.equal(topo.ping('vpc', '10.244.2.10', 1, '10.60.0.6'), 1, 'traffic still flows')
})

t.test('tunnel garbage collection: the last route through a vRouter removes its tunnel', async t => {
  const onlyVr1: DesiredRoute[] = [fullRoutes[0] as DesiredRoute, { table: TABLE, prefix: '10.244.9.0/24', nexthops: [{ kind: 'mpls', vrouter: VR_IP[0], label: LABEL.pod9vr1 }] }, fullRoutes[3] as DesiredRoute]
  const c = await agent.call<FibCounters>('routes', { routes: onlyVr1 })
  t.equal(c.routesDeleted, 1, '10.244.2.0/24 deleted')
  t.equal(c.routesReplaced, 1, 'ECMP route now single path')
  t.equal(c.tunnelsDeleted, 1)
  t.notMatch(links(), new RegExp(T2), 'tunnel to vr2 gone')
  t.match(links(), new RegExp(T1), 'tunnel to vr1 kept')
  t.equal(topo.ping('vpc', '10.244.2.10', 1, '10.60.0.7'), 0, 'pod2 unreachable now')
  t.equal(topo.ping('vpc', '10.244.9.10', 1, '10.60.0.8'), 1, 'anycast still reachable via vr1')
  const c2 = await agent.call<FibCounters>('routes', { routes: fullRoutes })
  t.equal(c2.tunnelsCreated, 1, 'tunnel to vr2 back on demand')
  t.equal(topo.ping('vpc', '10.244.2.10', 1, '10.60.0.9'), 1, 'pod2 reachable again')
})

t.test('cleanup removes everything of ours and nothing else', async t => {
  const rep = await agent.call<CleanupReport>('cleanup')
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
