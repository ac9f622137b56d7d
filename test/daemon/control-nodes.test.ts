// gsi-routerd with two CN2 control nodes (CN2 runs three; every gateway peers with each), dataplane
// none on this host: two gobgpd processes in namespaces of their own as the control nodes (iBGP 64512,
// VPNv4 with RD, label, route target and encapsulation udp, RTC, graceful restart 5 s), two BIRD
// processes as the TGW's .2 and .3. Checked: both sessions up; routes from either control node
// imported, the same pod route from both one gateway route with one next hop; the VPC route
// re-originated to both; one control node lost: nothing withdrawn toward the TGW, nothing sent to it
// at all, the FIB keeps the routes the other still holds. Also `gsictl show fib` on the live daemon
// (text and --json, pages): the routes with their MPLS and GRE next hops.
import t from 'tap'
import { Topology, type NodeNet } from './topology.js'
import { startControlNode, startTgw, waitUntil, sleep, type ControlNode, type GobgpPath, type Tgw, birdTimeMs, sameBirdTime, withoutBirdTimes } from '../../src/lab/peers.js'
import { RouterDaemon, nodeConfig, finishDaemon } from './daemons.js'
import type { FibView, PeerView, RoutePage } from '../../src/api/view.js'
import { greLinkName } from '../../gre/index.js'
import { tunnelName } from '../../mplsoudp/index.js'

t.setTimeout(300_000)

const RT = 'target:64512:8000001'
const topo = new Topology(1, 'gsin', { controlNodes: 2 })
const n = topo.nodes[0] as NodeNet
const cnB = n.controlNode2 as string
let a: ControlNode
let b: ControlNode
let tgw: Tgw
let d: RouterDaemon
t.teardown(async () => {
  await finishDaemon(t, d)
  await a?.stop()
  await b?.stop()
  await tgw?.stop()
  topo.destroy()
})

const pod = (i: number) => ({ prefix: `10.244.${i}.5/32`, rd: `64512:${i}`, label: 100 + i, rt: RT, vrouter: `198.18.100.${i}` })

function vpnRib(c: ControlNode): Map<string, GobgpPath[]> {
  return new Map(Object.entries(c.json<Record<string, GobgpPath[]> | null>(['global', 'rib', '-a', 'vpnv4']) ?? {}))
}

const fib = (): FibView => d.gsictlJson<FibView>(['show', 'fib'])
const fibRoute = (prefix: string) => fib().routes.find((r) => r.prefix === prefix)

/** UPDATEs sent to each TGW session and when each session last changed state. */
function tgwSide(): Map<string, { updates: number; since: number; state: string }> {
  const peers = d.gsictlJson<PeerView[]>(['show', 'bgp', 'neighbor'])
  return new Map(peers.filter((p) => p.side === 'tgw').map((p) => [p.address, { updates: p.session.messagesOut.update, since: p.session.stateSince, state: p.session.state }]))
}

t.before(async () => {
  a = await startControlNode(topo, { restartTime: 5 })
  b = await startControlNode(topo, { restartTime: 5, second: true })
  tgw = await startTgw(topo, { peerAsn: 65001, vpcCidrs: ['10.0.0.0/16'] })
  d = new RouterDaemon(n.ns, {})
  const cfg = nodeConfig(n, d.dir)
  const cn = cfg.controlNodes as { peers: { address: string; asn: number }[] }
  cn.peers.push({ address: cnB, asn: 64512 })
  d.write(cfg)
  d.start()
})

t.test('both control nodes peered, both TGW sessions up', async (t) => {
  await waitUntil('every session Established', 60_000, () =>
    a.neighborState(n.address) === 'established' && b.neighborState(n.address) === 'established' &&
    tgw.sessions().get('n1a') === 'Established' && tgw.sessions().get('n1b') === 'Established')
  const peers = d.gsictlJson<{ peers: { side: string; address: string; state: string }[] }>(['show', 'bgp', 'summary']).peers
  t.same(peers.filter((p) => p.side === 'cn2').map((p) => [p.address, p.state]).sort(), [[n.controlNode, 'Established'], [cnB, 'Established']], 'gsictl lists both control nodes Established')
})

t.test('routes from either control node are imported; the same pod route from both is one gateway route', async (t) => {
  a.addPod(pod(1)); b.addPod(pod(1)) // a pod both control nodes know (they reflect the same vRouter route)
  a.addPod(pod(2)) // only on A
  b.addPod(pod(3)) // only on B
  await waitUntil('the three pods in the FIB', 30_000, () => ['10.244.1.5/32', '10.244.2.5/32', '10.244.3.5/32'].every((p) => fibRoute(p) !== undefined))
  const rib = d.gsictlJson<RoutePage>(['show', 'bgp', 'route', 'vpnv4', '10.244.1.5'])
  t.same(rib.routes.map((r) => r.peerAddress).sort(), [n.controlNode, cnB].sort(), 'the pod route arrived from both control nodes (two paths in the RIB)')
  t.same(fibRoute('10.244.1.5/32')?.nexthops, [{ kind: 'mpls', via: '198.18.100.1', label: 101, dev: tunnelName('198.18.100.1'), weight: 1 }],
    'one gateway route with one next hop: no ECMP over two copies of the same vRouter path')
  t.same(fibRoute('10.244.2.5/32')?.nexthops.map((h) => [h.via, h.label]), [['198.18.100.2', 102]], 'a route only A holds')
  t.same(fibRoute('10.244.3.5/32')?.nexthops.map((h) => [h.via, h.label]), [['198.18.100.3', 103]], 'a route only B holds')
  const agg = await waitUntil('the aggregate at the TGW', 20_000, () => { const p = tgw.paths('10.244.0.0/16'); return p.length === 2 ? p : undefined })
  t.same(agg.map((p) => p.from).sort(), ['n1a', 'n1b'], 'advertised once per TGW session')
})

t.test('gsictl show fib on the live daemon: every route with its next hops, text and --json, paged', async (t) => {
  const link = greLinkName('cp-node1')
  const vpc = await waitUntil('the VPC route in the FIB', 20_000, () => fibRoute('10.0.0.0/16'))
  t.same(vpc.nexthops, [{ kind: 'gre', via: n.tgwPeers[0], dev: link, weight: 1 }, { kind: 'gre', via: n.tgwPeers[1], dev: link, weight: 1 }], 'toward the VPC: ECMP over the TGW .2 and .3 on the GRE link')
  const all = fib()
  t.same(all.routes.map((r) => r.prefix), ['10.0.0.0/16', '10.244.1.5/32', '10.244.2.5/32', '10.244.3.5/32'], 'ordered by address')
  t.equal(all.state.desiredRoutes, 4, 'the listing agrees with the count')
  t.same(all.routesByTable, [{ table: all.routes[0]?.table, routes: 4 }], 'and the count per table')
  const metrics = topo.exec(n.ns, process.execPath, ['-e', 'fetch("http://127.0.0.1:9478/metrics").then(r=>r.text()).then(t=>process.stdout.write(t))'])
  t.match(metrics, new RegExp(`^gsi_fib_routes\\{table="${all.routes[0]?.table}"\\} 4$`, 'm'), '/metrics counts them per table (without listing them)')
  const text = d.gsictl(['show', 'fib'])
  t.match(text, new RegExp(`^Table \\d+ \\(VRF gsiv\\d+, label \\d+\\): 4 routes$`, 'm'), 'a header per gateway table')
  t.match(text, new RegExp(`^10\\.0\\.0\\.0/16\\n {8}> via ${n.tgwPeers[0].replaceAll('.', '\\.')}, GRE ${link}\\n {8}> via ${n.tgwPeers[1].replaceAll('.', '\\.')}, GRE ${link}$`, 'm'), 'the VPC route, one line per next hop')
  t.match(text, new RegExp(`^10\\.244\\.1\\.5/32\\n {8}> to vRouter 198\\.18\\.100\\.1 via ${tunnelName('198.18.100.1')}, Push 101$`, 'm'), 'a pod route: vRouter, tunnel, label')
  const p1 = d.gsictlJson<FibView>(['show', 'fib', '--limit', '3'])
  t.equal(p1.routes.length, 3)
  t.equal(p1.next, `${all.routes[2]?.table} 10.244.2.5/32`, 'a cursor after the third route')
  const walked = d.gsictlJson<FibView>(['show', 'fib', '--all'])
  t.same(walked.routes, all.routes, '--all gives the same routes')
  const one = d.gsictlJson<FibView>(['show', 'fib', '10.244.3.77'])
  t.same(one.routes.map((r) => r.prefix), [], 'an address no route holds: nothing')
  const hit = d.gsictlJson<FibView>(['show', 'fib', '10.0.3.77'])
  t.same(hit.routes.map((r) => r.prefix), ['10.0.0.0/16'], 'an address finds its route')
})

t.test('the VPC route is re-originated to both control nodes', async (t) => {
  const key = `${n.address}:1:10.0.0.0/16`
  await waitUntil('at both control nodes', 20_000, () => vpnRib(a).has(key) && vpnRib(b).has(key))
  for (const [name, c] of [['A', a], ['B', b]] as const) {
    const ext = JSON.stringify(vpnRib(c).get(key)?.[0]?.attrs.find((x) => x.type === 16))
    t.match(ext, /"type":0,"subtype":2,"value":"64512:8000001"/, `${name}: route target of the exposed VN`)
    t.match(ext, /"tunnel_type":13/, `${name}: encapsulation udp`)
  }
})

t.test('one control node lost: everything stays via the other, nothing withdrawn toward the TGW', async (t) => {
  const before = tgwSide()
  const aggBefore = tgw.birdcFor('n1a', 'show route 10.244.0.0/16')
  t.equal(before.size, 2)
  await a.stop() // gobgpd A killed: its paths stale for its restart time (5 s), then swept
  await waitUntil('A\'s paths swept', 40_000, () => {
    const r = d.gsictlJson<RoutePage>(['show', 'bgp', 'route', 'vpnv4', '10.244.1.5']).routes
    return r.length === 1 && r[0]?.peerAddress === cnB && !r[0].stale
  })
  await waitUntil('the pod only A held is gone from the FIB', 20_000, () => fibRoute('10.244.2.5/32') === undefined)
  t.same(fibRoute('10.244.1.5/32')?.nexthops.map((h) => [h.via, h.label]), [['198.18.100.1', 101]], 'the pod both held: unchanged, now via B')
  t.ok(fibRoute('10.244.3.5/32') !== undefined, 'the pod only B holds: still there')
  t.ok(fibRoute('10.0.0.0/16') !== undefined, 'the VPC route: still there')
  await sleep(2000) // an MRAI-free withdrawal would have left by now
  const after = tgwSide()
  for (const [addr, s] of before) {
    t.match(after.get(addr), { updates: s.updates, since: s.since, state: 'Established' }, `${addr}: no UPDATE sent to the TGW, session untouched`)
  }
  t.equal(tgw.paths('10.244.0.0/16').length, 2, 'the TGW still holds the aggregate from both sessions')
  const aggAfter = tgw.birdcFor('n1a', 'show route 10.244.0.0/16')
  // BIRD prints when it learned the route: a re-learn would show the time of the loss, seconds later
  t.equal(withoutBirdTimes(aggAfter), withoutBirdTimes(aggBefore), 'BIRD\'s route unchanged')
  t.ok(sameBirdTime(aggAfter, aggBefore), `same age: never withdrawn and re-learned (${birdTimeMs(aggBefore)} -> ${birdTimeMs(aggAfter)} ms of the day)`)
  t.ok(vpnRib(b).has(`${n.address}:1:10.0.0.0/16`), 'B still has the re-originated VPC route')
  const sum = d.gsictlJson<{ status: { ready: boolean } }>(['show', 'bgp', 'summary'])
  t.equal(sum.status.ready, true, 'still ready: a control-node session is Established')
})

