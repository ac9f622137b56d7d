// The whole gateway on a real kernel: two nodes running the real gsi-routerd (dataplane kernel: GRE
// link in the gateway VRF, TGW sessions bound to the VRF, fou + mplsip tunnels, MPLS label into the
// VRF), a TGW (kernel GRE, BIRD with ECMP into its kernel), a CN2 control node (gobgpd) and two
// vRouters with pods terminating MPLSoUDP in the kernel (src/lab/net.ts, the lab's data-plane world).
// Pings VPC host <-> pod both ways, ECMP at the TGW, an instance lost, a SIGTERM restart and a kill -9
// restart under a continuous ping with zero loss, the nodes' main tables untouched.
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { stringify } from 'yaml'
import { DaemonProcess } from '../../src/lab/dataplane.js'
import { startControlNode, startTgw, waitUntil, sleep, type ControlNode, type Tgw } from '../../src/lab/peers.js'
import { CONTROL_NODE, EXPOSED_CIDR, GATEWAY_LABEL, GATEWAY_TABLE, GatewayNet, GSI_ASN, ROUTE_TARGET, TGW_ASN, TGW_GRE_ADDRESS, VPC_CIDR, VPC_HOST, pingRun, type GwNode, type PingRun } from '../../src/lab/net.js'

t.setTimeout(1_500_000)
const ROOT = resolve(new URL('../..', import.meta.url).pathname)
const net = new GatewayNet(`${process.pid % 1000}`, 2, { staticConnectPeers: true, vpcDefaultRoute: true })
const work = mkdtempSync(join(tmpdir(), 'gsi-dp-'))
let cn: ControlNode | undefined
let tgw: Tgw | undefined

class Node extends DaemonProcess {
  readonly config: string
  constructor(readonly g: GwNode) {
    super(g.ns, join(work, `node${g.index}.log`), ROOT)
    this.config = join(work, `node${g.index}.yaml`)
    writeFileSync(this.config, stringify({
      nodeName: `node${g.index}`, nodeAddress: g.address, dataplane: 'kernel',
      gatewayTable: { table: GATEWAY_TABLE, label: GATEWAY_LABEL, labelRange: [GATEWAY_LABEL, GATEWAY_LABEL + 99] },
      exposed: { routeTargets: [ROUTE_TARGET], cidrs: [EXPOSED_CIDR] },
      tgw: { localAsn: GSI_ASN, holdTime: 9, connectPeers: [{ id: `cp-node${g.index}`, transitGatewayAddress: TGW_GRE_ADDRESS, insideCidrBlocks: [g.insideCidr], transitGatewayAsn: TGW_ASN }] },
      controlNodes: { peers: [{ address: CONTROL_NODE, asn: 64512 }], holdTime: 9 },
      gracefulRestart: { restartTime: 60, staleRoutesTime: 60, deferralTime: 30 },
      http: { address: '127.0.0.1', port: 9478 },
      api: { socket: join(work, `node${g.index}.sock`) },
      log: { level: 'info' },
    }))
  }

  start(): void {
    // the built program, bundled (scripts/test-kernel.mjs builds both before the VM boots): compiling
    // the sources with tsx under the VM's emulated CPU takes minutes, and the dist/ tree is thousands
    // of files read over 9p; one bundle loads in seconds
    this.spawnDaemon([join(ROOT, 'dist/bundle/gsi-routerd.mjs'), '--config', this.config])
  }

  established(): number {
    return this.text().split('\n').filter((l) => l.includes('"session established"')).length
  }
}

const nodes = net.nodes.map((g) => new Node(g))
const mainTable = (g: GwNode): string => net.exec(g.ns, 'ip route show table main; ip -6 route show table main')

t.teardown(async () => {
  for (const n of nodes) await n.stop('SIGKILL')
  await cn?.stop()
  await tgw?.stop()
  if (!t.passing()) for (const n of nodes) t.comment(`---- ${n.g.ns}\n${n.text().split('\n').slice(-40).join('\n')}`)
  net.destroy()
  rmSync(work, { recursive: true, force: true })
})

const podRoute = (j: number): { prefix: string; rd: string; label: number; rt: string; vrouter: string } =>
  ({ prefix: `10.244.${j}.0/24`, rd: `64512:${j}`, label: 300 + j, rt: ROUTE_TARGET, vrouter: `10.0.2.${j}` })

let mainBefore: string[] = []

t.test('topology and peers', async (t) => {
  net.build()
  mainBefore = net.nodes.map(mainTable)
  cn = await startControlNode(net.peerHost(), { restartTime: 60 })
  tgw = await startTgw(net.peerHost(), { peerAsn: GSI_ASN, vpcCidrs: [VPC_CIDR], vpcDevice: 'vpc', kernel: true, restartTime: 120 })
  cn.addPod(podRoute(1))
  cn.addPod(podRoute(2))
  t.equal(net.ping(net.vpc, '10.244.1.10', 1), 0, 'no path before the gateways run (the test can fail)')
})

t.test('two gateways come up: GRE in the VRF, sessions bound to it, routes in the kernel', async (t) => {
  for (const n of nodes) n.start()
  await waitUntil('every BGP session Established', 240_000, () => {
    const s = tgw!.sessions()
    return ['n1a', 'n1b', 'n2a', 'n2b'].every((p) => s.get(p) === 'Established') && nodes.every((n) => n.established() >= 3)
  })
  for (const n of nodes) {
    const links = net.exec(n.g.ns, 'ip -d link show')
    t.match(links, /gsig[0-9a-f]{8}@NONE: [^\n]*master gsiv1000/, `${n.g.ns}: GRE link enslaved to the gateway VRF`)
    t.notMatch(net.exec(n.g.ns, 'ip route show table main'), /169\.254\./, `${n.g.ns}: the main table holds no route to 169.254.x (the sessions live in the VRF)`)
  }
  const table = await waitUntil('gateway table routes', 60_000, () => {
    const r = net.exec(net.nodes[0]!.ns, `ip route show table ${GATEWAY_TABLE} proto 201`)
    return r.includes('10.244.1.0/24') && r.includes('10.0.5.0/24') ? r : undefined
  })
  t.match(table, /10\.244\.1\.0\/24 +encap mpls +301 dev gsim0a000201/, 'pod route: push the control node\'s label, MPLSoUDP toward vr1')
  t.match(table, /10\.0\.5\.0\/24[^\n]*\n?[^\n]*via 169\.254\.6\.[23]/, 'VPC route via the TGW inside address over GRE')
  t.match(net.exec(net.nodes[0]!.ns, 'ip -f mpls route show'), new RegExp(`${GATEWAY_LABEL} dev gsiv${GATEWAY_TABLE}`), 'the gateway label pops into the VRF')
  const tgwRoute = await waitUntil('ECMP at the TGW', 60_000, () => {
    const r = net.exec(net.tgw, `ip route show ${EXPOSED_CIDR}`)
    return (r.match(/nexthop/g) ?? []).length === 2 ? r : undefined
  })
  // GRE links are point-to-point: BIRD installs the next hops as devices, one per instance
  t.match(tgwRoute, /nexthop (via 169\.254\.6\.1 )?dev g1[\s\S]*nexthop (via 169\.254\.7\.1 )?dev g2/, 'the TGW kernel route has both instances as ECMP next hops')
  // vRouters send toward the gateways the control node has the VPC route from (their agent's job)
  const from = await waitUntil('the VPC route at the control node from both gateways', 60_000, () => {
    const gws = net.gatewaysAtControlNode(cn!)
    return gws.length === 2 ? gws : undefined
  })
  net.setVrouterGateways(from)
})

t.test('VPC host <-> pod, both ways, through GRE and MPLS over UDP', async (t) => {
  t.equal(net.ping(net.vpc, '10.244.1.10', 3), 3, 'VPC host -> pod1 (vr1)')
  t.equal(net.ping(net.vpc, '10.244.2.10', 3), 3, 'VPC host -> pod2 (vr2)')
  t.equal(net.ping(net.vrouters[0]!.podNs, VPC_HOST, 3), 3, 'pod1 -> VPC host')
  t.equal(net.ping(net.vrouters[1]!.podNs, VPC_HOST, 3), 3, 'pod2 -> VPC host')
})

/** `ip -ts monitor` of route, link, neighbour and MPLS changes in `ns`, until stopped. */
function monitor(ns: string): { stop: () => string } {
  const p = spawn('ip', ['netns', 'exec', ns, 'ip', '-ts', 'monitor', 'route', 'link', 'neigh', 'label'], { stdio: ['ignore', 'pipe', 'ignore'] })
  let out = ''
  p.stdout.on('data', (d) => { out += d })
  return { stop: () => { p.kill(); return out } }
}

/**
 * Stops a gateway with `sig` and starts it again while the VPC host pings `pod` 5 times a second, from
 * before the stop until 5 s after the sessions are back. When a packet is lost it leaves the evidence
 * in the test's output: each ping line with the time it arrived, what changed in the kernel of the
 * node and of the TGW meanwhile, and the daemon's log.
 */
async function restartUnderPing(t: Test, n: Node, pod: string, sig: NodeJS.Signals): Promise<PingRun> {
  const before = n.established()
  const watch = [monitor(n.g.ns), monitor(net.tgw)]
  const pinger = spawn('ip', ['netns', 'exec', net.vpc, 'busybox', 'ping', '-c', '3000', '-i', '0.2', '-W', '1', pod], { stdio: ['ignore', 'pipe', 'ignore'] })
  const done = new Promise<void>((r) => pinger.once('exit', () => r()))
  let out = ''
  const lines: string[] = []
  pinger.stdout.on('data', (d) => {
    out += d
    for (const l of String(d).split('\n')) if (l !== '') lines.push(`${new Date().toISOString()} ${l}`)
  })
  const marks: string[] = []
  try {
    await sleep(2000)
    marks.push(`${new Date().toISOString()} ${sig}`)
    await n.stop(sig)
    marks.push(`${new Date().toISOString()} start`)
    n.start()
    await waitUntil(`sessions back after ${sig}`, 240_000, () => n.established() >= before + 3)
    marks.push(`${new Date().toISOString()} sessions back`)
    await sleep(5000)
  } finally {
    // busybox ping prints its statistics on SIGINT
    pinger.kill('SIGINT')
    await done
  }
  const [nodeKernel, tgwKernel] = watch.map((w) => w.stop())
  const r = pingRun(out)
  if (r.lost.length > 0) {
    t.comment(`lost ${JSON.stringify(r.lost)}; ${marks.join('; ')}`)
    t.comment(`ping:\n${lines.join('\n')}`)
    t.comment(`${n.g.ns} kernel changes:\n${nodeKernel}`)
    t.comment(`TGW kernel changes:\n${tgwKernel}`)
    t.comment(`${n.g.ns} log:\n${n.text().split('\n').slice(-80).join('\n')}`)
  }
  return r
}

t.test('ping loss is read by sequence number; the last packet may still be in flight', async (t) => {
  const reply = (i: number): string => `64 bytes from 10.244.1.10: seq=${i} ttl=62 time=1.0 ms\n`
  const all = [0, 1, 2, 3].map(reply).join('')
  t.same(pingRun(`${all}\n--- 10.244.1.10 ping statistics ---\n5 packets transmitted, 4 packets received, 20% packet loss\n`).lost, [], 'only the last one missing: in flight')
  t.same(pingRun(`${reply(0) + reply(2) + reply(3)}5 packets transmitted, 3 packets received\n`).lost, [1], 'a gap is a loss')
  t.same(pingRun(`${reply(0) + reply(1)}5 packets transmitted, 2 packets received\n`).lost, [2, 3], 'a tail of more than one is a loss')
})

t.test('a SIGTERM restart under a continuous ping loses nothing', async (t) => {
  const n = nodes[0]!
  const r = await restartUnderPing(t, n, '10.244.1.10', 'SIGTERM')
  t.match(n.text(), /kernel state and peers' stale routes kept/, 'stopped gracefully')
  t.ok(r.sent >= 50, `the ping ran through the restart (${r.line})`)
  t.same(r.lost, [], `zero lost (${r.line})`)
  t.match(n.text(), /"restarting":true/, 'came back as restarting (adopted kernel routes, R bit)')
})

t.test('kill -9 and restart within the restart time: zero lost', async (t) => {
  const r = await restartUnderPing(t, nodes[1]!, '10.244.2.10', 'SIGKILL')
  t.ok(r.sent >= 50, `the ping ran through the restart (${r.line})`)
  t.same(r.lost, [], `zero lost (${r.line})`)
})

t.test('the nodes\' main tables were never touched', async (t) => {
  net.nodes.forEach((g, i) => t.equal(mainTable(g), mainBefore[i], `${g.ns}: main table as the node had it`))
})

t.test('an instance lost: traffic continues through the other', async (t) => {
  const n = nodes[0]!
  await n.stop('SIGKILL')
  // the node itself goes: its links down, so neither the TGW nor the control node reaches it
  net.exec(n.g.ns, 'ip link set ut down; ip link set uf down')
  await waitUntil('the TGW route through the lost instance gone', 120_000, () => !net.exec(net.tgw, `ip route show ${EXPOSED_CIDR}`).includes('169.254.6.1'))
  const from = await waitUntil('the control node drops the lost gateway', 120_000, () => {
    const gws = net.gatewaysAtControlNode(cn!)
    return gws.includes(net.nodes[0]!.address) ? undefined : gws
  })
  net.setVrouterGateways(from)
  // A hard node loss is not hitless (the TGW notices at its hold timer); what must hold is that the
  // paths through the remaining instance work once both sides have converged: one packet each way to
  // let neighbour entries on the new path resolve, then every packet must come back.
  net.ping(net.vpc, '10.244.1.10', 1)
  net.ping(net.vrouters[0]!.podNs, VPC_HOST, 1)
  t.equal(net.ping(net.vpc, '10.244.1.10', 3), 3, 'VPC host -> pod1 through the remaining instance')
  t.equal(net.ping(net.vrouters[0]!.podNs, VPC_HOST, 3), 3, 'pod1 -> VPC host through the remaining instance')
})

