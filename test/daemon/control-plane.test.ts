// gsi-routerd's control plane against real peers (dataplane none, on this host's kernel): two gateway
// instances in their own namespaces, gobgpd as the CN2 control node (iBGP 64512, VPNv4 with RD, label,
// route target and encapsulation udp, RTC), two BIRD processes as the Transit Gateway's .2 and .3 BGP
// peers (AS 64512, the TGW default: the same AS as CN2). What each peer received is read from the
// peer's own CLI (gobgp -j, birdc), never from our side alone.
import t from 'tap'
import { parse } from 'yaml'
import { Topology } from './topology.js'
import { startControlNode, startTgw, waitUntil, sleep, type ControlNode, type GobgpPath, type Tgw } from '../../src/lab/peers.js'
import { RouterDaemon, nodeConfig, finishDaemon } from './daemons.js'
import { ApiClient } from '../../src/api/client.js'

t.setTimeout(300_000)

const RT = 'target:64512:8000001'
const topo = new Topology(2)
const daemons: RouterDaemon[] = []
let cn: ControlNode
let tgw: Tgw
t.teardown(async () => {
  for (const d of daemons) await finishDaemon(t, d)
  await cn?.stop()
  await tgw?.stop()
  topo.destroy()
})

const pod = (i: number, rt = RT, prefix = `10.244.${i}.5/32`) => ({ prefix, rd: `64512:${i}`, label: 100 + i, rt, vrouter: `198.18.100.${i}` })

/** The VPN routes gobgpd accepted into its Loc-RIB (best or not), by prefix text (RD:prefix). */
function gobgpRib(c: ControlNode): Map<string, GobgpPath[]> {
  const v = c.json<Record<string, GobgpPath[]> | null>(['global', 'rib', '-a', 'vpnv4'])
  return new Map(Object.entries(v ?? {}))
}

interface Summary { peers: { address: string; state: string; flaps: number; stateSince: number; side: string }[]; status: { ready: boolean } }

t.before(async () => {
  cn = await startControlNode(topo, { restartTime: 5 })
  tgw = await startTgw(topo, { peerAsn: 65001, vpcCidrs: ['10.0.0.0/16'] })
  for (const n of topo.nodes) {
    const d = new RouterDaemon(n.ns, {})
    d.write(nodeConfig(n, d.dir))
    d.start()
    daemons.push(d)
  }
})

t.test('both instances bring up their control-node session and both TGW sessions', async (t) => {
  const states = await waitUntil('every BGP session Established', 60_000, () => {
    const s = tgw.sessions()
    const all = ['n1a', 'n1b', 'n2a', 'n2b'].every((p) => s.get(p) === 'Established') && topo.nodes.every((n) => cn.neighborState(n.address) === 'established')
    return all ? s : undefined
  })
  t.same([...states.keys()].sort(), ['n1a', 'n1b', 'n2a', 'n2b'], 'BIRD sees two sessions per instance (.2 and .3)')
  const sum = daemons[0]!.gsictlJson<Summary>(['show', 'bgp', 'summary'])
  t.same(sum.peers.map((p) => [p.side, p.address, p.state]).sort(), [['cn2', '198.18.1.1', 'Established'], ['tgw', '169.254.6.2', 'Established'], ['tgw', '169.254.6.3', 'Established']], 'gsictl --json lists both sides')
  await waitUntil('readyz', 20_000, () => daemons[0]!.gsictlJson<Summary>(['show', 'bgp', 'summary']).status.ready)
  const text = daemons[0]!.gsictl(['show', 'bgp', 'summary'])
  t.match(text, /198\.18\.1\.1\s+4\s+64512\s+\d+\s+\d+\s+\S+\s+\d+/, 'summary line for the control node, FRR-style (Neighbor V AS MsgRcvd MsgSent Up/Down PfxRcd)')
  t.match(text, /169\.254\.6\.2\s+4\s+64512/, 'summary line for the TGW .2')
})

t.test('CN2 -> TGW: the exposed CIDR is advertised while an imported route lies in it, identical on both instances', async (t) => {
  // a pod inside the exposed CIDR but of a VN whose route target is not exposed: nothing to advertise
  cn.addPod(pod(9, 'target:64512:9', '10.244.9.5/32'))
  await sleep(3000)
  t.same(tgw.paths('10.244.0.0/16'), [], 'no aggregate for a route whose route target is not exposed')
  const fib = daemons[0]!.gsictlJson<{ state: { desiredRoutes: number } }>(['show', 'fib'])
  t.equal(fib.state.desiredRoutes, 1, 'the gateway table holds only the VPC route, not the unexposed pod')

  cn.addPod(pod(1))
  const paths = await waitUntil('aggregate at the TGW from 4 sessions', 20_000, () => { const p = tgw.paths('10.244.0.0/16'); return p.length === 4 ? p : undefined })
  t.same(paths.map((p) => p.from).sort(), ['n1a', 'n1b', 'n2a', 'n2b'], 'both instances, both sessions each')
  for (const p of paths) t.match(p, { asPath: '65001', origin: 'IGP' }, `${p.from}: AS_PATH [our AS], ORIGIN IGP`)
  t.ok(paths.every((p) => p.med === undefined), 'no MED on any path')
  const attrs = new Set(paths.map((p) => JSON.stringify({ asPath: p.asPath, origin: p.origin, med: p.med ?? null })))
  t.equal(attrs.size, 1, 'attributes identical on every instance: the TGW can ECMP')
  t.same(tgw.paths('10.244.1.5/32'), [], 'the pod /32 itself is not leaked (aggregates only by default)')
})

t.test('TGW -> CN2: the VPC CIDR re-originated as VPNv4 with RD, route target, label, next hop, encapsulation udp and no TGW AS', async (t) => {
  const rib = await waitUntil('both re-originated routes at the control node', 20_000, () => {
    const r = gobgpRib(cn)
    return topo.nodes.every((n) => r.has(`${n.address}:1:10.0.0.0/16`)) ? r : undefined
  })
  for (const n of topo.nodes) {
    const path = (rib.get(`${n.address}:1:10.0.0.0/16`) ?? [])[0] as GobgpPath
    const j = JSON.stringify(path)
    t.match(j, new RegExp(`"labels":\\[1000\\]`), `${n.address}: label 1000 (the gateway table's)`)
    const nh = path.attrs.find((a) => a.type === 3) ?? path.attrs.find((a) => a.type === 14)
    t.match(JSON.stringify(nh), new RegExp(`"nexthop":"${n.address.replaceAll('.', '\\.')}"`), `${n.address}: next hop = the node`)
    const ext = JSON.stringify(path.attrs.find((a) => a.type === 16))
    t.match(ext, /"type":0,"subtype":2,"value":"64512:8000001"/, "route target of the exposed VN")
    t.match(ext, /"type":3,"subtype":12,"tunnel_type":13/, "encapsulation udp (0x030c, tunnel type 13)")
    const asPath = path.attrs.find((a) => a.type === 2) as { as_paths?: { asns?: number[] }[] } | undefined
    t.same((asPath?.as_paths ?? []).flatMap((s) => s.asns ?? []), [], 'AS_PATH empty: the TGW AS 64512 (= CN2 AS) is not carried')
    t.notOk((path as { stale?: boolean }).stale, 'not stale')
  }
  // gobgpd took them into its Loc-RIB, so the iBGP loop check (its own AS 64512) did not drop them
  t.ok(gobgpRib(cn).size >= 3, 'accepted by the control node')
})

t.test('gsictl show bgp route on a live daemon: both speakers, received-from, advertised-to, paging across them', async (t) => {
  interface Page { routes: { family: string; prefix: string; peer: string; best: boolean }[]; families: { family: string }[]; next?: string }
  const d = daemons[0]!
  const all = d.gsictlJson<Page>(['show', 'bgp', 'route', '--all'])
  const keys = all.routes.map((r) => `${r.family} ${r.prefix} ${r.peer}`)
  t.ok(keys.some((k) => /^l3vpn-ipv4-unicast 64512:1:10\.244\.1\.5\/32 /.test(k)), 'the pod route from the control node (CN2 speaker)')
  t.ok(keys.some((k) => /^ipv4-unicast 10\.0\.0\.0\/16 /.test(k)), 'the VPC route from the TGW (TGW speaker)')
  // one path per page: walking the cursors gives the same paths, the CN2 side's first
  const paged: string[] = []
  const api = await ApiClient.connect(d.socket)
  try {
    let after: string | undefined
    for (let i = 0; i < 50; i++) {
      const p = await api.call('show.bgp.route', { limit: 1, ...(after !== undefined ? { after } : {}) }) as Page
      paged.push(...p.routes.map((r) => `${r.family} ${r.prefix} ${r.peer}`))
      if (p.next === undefined) break
      after = p.next
    }
  } finally {
    api.close()
  }
  t.same(paged, keys, 'pages of one, cursors across both speakers, give the whole listing in order')
  const one = d.gsictlJson<Page>(['show', 'bgp', 'route', 'l3vpn-ipv4-unicast', '10.244.1.5'])
  t.same(one.routes.map((r) => r.prefix), ['64512:1:10.244.1.5/32'], 'an address finds the VPN prefix holding it')
  const rx = d.gsictlJson<Page>(['show', 'bgp', 'route', 'received-from', '169.254.6.2'])
  t.same(rx.routes.map((r) => r.prefix), ['10.0.0.0/16'], 'received from the TGW .2: the VPC CIDR')
  const tx = d.gsictlJson<Page>(['show', 'bgp', 'route', 'advertised-to', '169.254.6.2'])
  t.same(tx.routes.map((r) => r.prefix), ['10.244.0.0/16'], 'advertised to the TGW .2: the aggregate only')
  const text = d.gsictl(['show', 'bgp', 'route', 'advertised-to', '169.254.6.2'])
  t.match(text, /10\.244\.0\.0\/16/, 'the text form names the aggregate')
})

t.test('withdrawal follows the last route inside the CIDR', async (t) => {
  cn.addPod(pod(2))
  await sleep(2000)
  cn.delPod(pod(1))
  await sleep(3000)
  t.equal(tgw.paths('10.244.0.0/16').length, 4, 'still advertised: pod 2 is inside')
  cn.delPod(pod(2))
  await waitUntil('aggregate withdrawn', 20_000, () => tgw.paths('10.244.0.0/16').length === 0)
  t.pass('aggregate withdrawn from every TGW session once no imported route lies inside')
  cn.addPod(pod(1))
  await waitUntil('aggregate back', 20_000, () => tgw.paths('10.244.0.0/16').length === 4)
})

t.test('reload on SIGHUP applies the difference only; a bad config is refused and the running one stays', async (t) => {
  const d = daemons[0]!
  const n = topo.nodes[0]!
  const before = d.gsictlJson<Summary>(['show', 'bgp', 'summary']).peers
  const cfg = nodeConfig(n, d.dir, { cidrs: ['10.244.0.0/16', '10.246.0.0/16'] })
  d.write(cfg)
  cn.addPod(pod(3, RT, '10.246.3.5/32'))
  d.signal('SIGHUP')
  await waitUntil('10.246.0.0/16 from node1 only', 20_000, () => { const p = tgw.paths('10.246.0.0/16'); return p.length === 2 && p.every((x) => x.from.startsWith('n1')) })
  const after = d.gsictlJson<Summary>(['show', 'bgp', 'summary']).peers
  for (const p of before) {
    const q = after.find((x) => x.address === p.address)
    t.match(q, { state: 'Established', flaps: p.flaps, stateSince: p.stateSince }, `${p.address}: session not reset by the reload`)
  }
  t.equal(tgw.sessions().get('n1a'), 'Established', 'BIRD saw no reset')

  // two bad configs in turn: an unknown key; then a reserved inside CIDR and our AS equal to the TGW's
  d.writeRaw('nodeAddress: 198.18.1.2\ntgw: { localAsn: 65001, connectPeers: [] }\ncontrolNodes: { peers: [] }\nbogus: 1\n')
  d.signal('SIGHUP')
  let refused = await waitUntil('refusal logged', 20_000, () => { const r = d.records(/configuration refused/); return r.length > 0 ? r : undefined })
  t.match(JSON.stringify(refused[0]), /bogus: unknown field/, 'the unknown key is named')
  d.writeRaw('nodeAddress: 198.18.1.2\ntgw: { localAsn: 64512, connectPeers: [{ id: x, transitGatewayAddress: 192.0.2.100, insideCidrBlocks: [169.254.0.0/29], transitGatewayAsn: 64512 }] }\ncontrolNodes: { peers: [] }\n')
  d.signal('SIGHUP')
  refused = await waitUntil('second refusal logged', 20_000, () => { const r = d.records(/configuration refused/); return r.length > 1 ? r : undefined })
  const problems = JSON.stringify(refused[1])
  t.match(problems, /insideCidrBlocks\[0\][^"]*169\.254\.0\.0\/29/, 'the reserved inside CIDR is named with its field path')
  t.match(problems, /(peerAsn|localAsn|transitGatewayAsn)[^"]*64512/, 'our AS equal to the TGW AS is named')
  const shown = parse(JSON.stringify(d.gsictlJson(['show', 'config']))) as { exposed: { cidrs: string[] } }
  t.same(shown.exposed.cidrs, ['10.244.0.0/16', '10.246.0.0/16'], 'the running configuration stays')
  const metrics = topo.exec(n.ns, process.execPath, ['-e', 'fetch("http://127.0.0.1:9478/metrics").then(r=>r.text()).then(t=>process.stdout.write(t))'])
  t.match(metrics, /gsi_config_reloads_total\{result="rejected"\} 2/, 'counted in a metric')
  t.match(metrics, /gsi_config_reloads_total\{result="ok"\} 1/, 'the good reload counted too')
  t.match(metrics, /bgp_peer_state\{peer="169\.254\.6\.2",peer_as="64512",side="tgw"\} 6/, 'session state metric')
  d.write(cfg)
})

t.test('quota guard: never more than maxPrefixesAdvertised toward the TGW, the same choice on both instances', async (t) => {
  for (const [i, n] of topo.nodes.entries()) {
    const d = daemons[i]!
    d.write(nodeConfig(n, d.dir, { maxPrefixesAdvertised: 3, advertiseMoreSpecifics: true }))
    d.signal('SIGHUP')
  }
  for (const i of [4, 5, 6, 7]) cn.addPod(pod(i))
  // pods 1, 4, 5, 6, 7 inside 10.244.0.0/16: candidates = the aggregate + 5 more-specifics
  const got = await waitUntil('3 prefixes per session', 30_000, () => {
    const routes = tgw.birdc('show route').split('\n').filter((l) => /^\S+\/\d+\s+unicast/.test(l) && l.includes('10.244.'))
    const bySession = new Map<string, string[]>()
    for (const s of ['n1a', 'n1b', 'n2a', 'n2b']) {
      const lines = tgw.birdcFor(s, `show route protocol ${s}`).split('\n').map((l) => /^(\d+\.\d+\.\d+\.\d+\/\d+)/.exec(l)?.[1]).filter((x): x is string => x !== undefined)
      bySession.set(s, lines.sort())
    }
    void routes
    return [...bySession.values()].every((v) => v.length === 3) ? bySession : undefined
  })
  const sets = new Set([...got.values()].map((v) => v.join(',')))
  t.equal(sets.size, 1, `every session got the same 3 prefixes: ${[...sets].join(' | ')}`)
  t.same(got.get('n1a'), ['10.244.0.0/16', '10.244.1.5/32', '10.244.4.5/32'], 'the aggregate first, then the lowest more-specifics')
  t.same(tgw.sessions().get('n1a'), 'Established', 'sessions stay up')
  const gw = daemons[0]!.gsictl(['show', 'gateway'])
  t.match(gw, /3 advertised of a quota of 3/, 'gsictl says so')
  t.match(gw, /10\.244\.7\.5\/32/, 'and names a refused prefix')
  await waitUntil('the quota log line', 10_000, () => daemons[0]!.records(/TGW quota/).length > 0)
  t.pass('a log line says so')
  for (const [i, n] of topo.nodes.entries()) {
    daemons[i]!.write(nodeConfig(n, daemons[i]!.dir))
    daemons[i]!.signal('SIGHUP')
  }
  for (const i of [4, 5, 6, 7]) cn.delPod(pod(i))
})

t.test('both TGW sessions of an instance down: its VPN routes toward CN2 are withdrawn', async (t) => {
  tgw.birdcFor('n1a', 'disable n1a')
  tgw.birdcFor('n1b', 'disable n1b')
  await waitUntil('node1 withdrew 10.0.0.0/16 from CN2', 30_000, () => !gobgpRib(cn).has('198.18.1.2:1:10.0.0.0/16'))
  t.ok(gobgpRib(cn).has('198.18.2.2:1:10.0.0.0/16'), 'the other instance still advertises it: traffic shifts there')
  tgw.birdcFor('n1a', 'enable n1a')
  tgw.birdcFor('n1b', 'enable n1b')
  await waitUntil('node1 advertises it again', 30_000, () => gobgpRib(cn).has('198.18.1.2:1:10.0.0.0/16'))
  t.pass('back once the TGW sessions are')
})

t.test('every control-node session lost: the aggregates are withdrawn from the TGW', async (t) => {
  await waitUntil('aggregate present', 20_000, () => tgw.paths('10.244.0.0/16').length === 4)
  await cn.stop() // gobgpd killed: graceful restart keeps its routes stale for its restart time (5 s)
  await waitUntil('aggregate withdrawn by both instances', 40_000, () => tgw.paths('10.244.0.0/16').length === 0)
  t.pass('withdrawn after the control node\'s restart time')
  t.equal(tgw.sessions().get('n1a'), 'Established', 'TGW sessions stay up')
})
