// IPv6 toward the Transit Gateway (dataplane none, on this host's kernel): a Connect peer with an IPv6
// inside /125 beside its /29. AWS carries IPv6 on the Connect peer's IPv4 BGP sessions (MP-BGP,
// RFC 4760), so the two sessions to the TGW's .2 and .3 negotiate IPv6 unicast too, with the /125's
// addresses as next hops (16-octet global next hop, RFC 2545). The VPC's IPv6 CIDR learned from the
// TGW (two BIRD processes) reaches the CN2 control node (gobgpd) as inet6-vpn (RFC 4659) with the
// same RD, route target, label, encapsulation and empty AS_PATH as IPv4; IPv6 pod routes (inet6-vpn)
// inside an exposed IPv6 CIDR make the TGW receive that CIDR as an IPv6 aggregate. What each peer
// received is read from its own CLI.
import t from 'tap'
import { Topology, type NodeNet } from './topology.js'
import { startControlNode, startTgw, waitUntil, sleep, type ControlNode, type GobgpPath, type Tgw } from '../../src/lab/peers.js'
import { RouterDaemon, nodeConfig, finishDaemon } from './daemons.js'

t.setTimeout(240_000)

const RT = 'target:64512:8000001'
const VPC6 = '2001:db8:100::/56'
const PODS6 = 'fd10:244::/56'
const topo = new Topology(1, 'gsi6', { ipv6: true })
const n = topo.nodes[0] as NodeNet & { insideCidr6: string; insideLocal6: string; tgwPeers6: readonly [string, string] }
let cn: ControlNode
let tgw: Tgw
let d: RouterDaemon
t.teardown(async () => {
  await finishDaemon(t, d)
  await cn?.stop()
  await tgw?.stop()
  topo.destroy()
})

// A pod of the exposed VN: inet6-vpn from a vRouter (an IPv4 node: its next hop IPv4-mapped, RFC 4659 3.2.1.1).
const pod6 = (i: number, rt = RT) => ({ prefix: `fd10:244:0:${i}::5/128`, rd: `64512:${i}`, label: 200 + i, rt, vrouter: `::ffff:198.18.100.${i}` })
const pod4 = (i: number) => ({ prefix: `10.244.${i}.5/32`, rd: `64512:${i}`, label: 100 + i, rt: RT, vrouter: `198.18.100.${i}` })

function gobgpRib(family: 'vpnv4' | 'vpnv6'): Map<string, GobgpPath[]> {
  return new Map(Object.entries(cn.json<Record<string, GobgpPath[]> | null>(['global', 'rib', '-a', family]) ?? {}))
}

/** BIRD's channel of one protocol: `show protocols all` lists each channel with its state. */
function birdChannel(protocol: string, channel: 'ipv4' | 'ipv6'): string {
  const text = tgw.birdcFor(protocol, `show protocols all ${protocol}`)
  const at = text.indexOf(`Channel ${channel}`)
  if (at < 0) return ''
  const next = text.indexOf('Channel ', at + 1)
  return text.slice(at, next < 0 ? undefined : next)
}

t.before(async () => {
  cn = await startControlNode(topo, { restartTime: 5 })
  tgw = await startTgw(topo, { peerAsn: 65001, vpcCidrs: ['10.0.0.0/16'], vpcCidrs6: [VPC6] })
  const cfg = nodeConfig(n, '', { cidrs: ['10.244.0.0/16', PODS6] })
  d = new RouterDaemon(n.ns, cfg)
  const tgwCfg = cfg.tgw as { connectPeers: { insideCidrBlocks: string[] }[] }
  ;(tgwCfg.connectPeers[0] as { insideCidrBlocks: string[] }).insideCidrBlocks = [n.insideCidr, n.insideCidr6]
  d.write({ ...cfg, api: { socket: `${d.dir}/api.sock` } })
  d.start()
})

t.test('IPv6 unicast runs over the two IPv4 TGW sessions', async (t) => {
  await waitUntil('every session Established', 60_000, () => {
    const s = tgw.sessions()
    return s.get('n1a') === 'Established' && s.get('n1b') === 'Established' && cn.neighborState(n.address) === 'established'
  })
  const peers = d.gsictlJson<{ peers: { side: string; address: string }[] }>(['show', 'bgp', 'summary']).peers
  t.same(peers.filter((p) => p.side === 'tgw').map((p) => p.address).sort(), [...n.tgwPeers], 'two TGW sessions, to .2 and .3 (IPv4): none to ::2 / ::3')
  for (const p of ['n1a', 'n1b']) {
    t.match(birdChannel(p, 'ipv6'), /State:\s+UP/, `${p}: BIRD's IPv6 channel is up on the IPv4 session`)
    t.match(birdChannel(p, 'ipv4'), /State:\s+UP/, `${p}: and its IPv4 channel`)
  }
})

t.test('TGW -> CN2: the VPC IPv6 CIDR re-originated as inet6-vpn with RD, route target, label, next hop and encapsulation udp', async (t) => {
  const key = `${n.address}:1:${VPC6}`
  const rib = await waitUntil('the VPNv6 route at the control node', 30_000, () => { const r = gobgpRib('vpnv6'); return r.has(key) ? r : undefined })
  const path = (rib.get(key) ?? [])[0] as GobgpPath
  const j = JSON.stringify(path)
  t.match(j, /"labels":\[1000\]/, 'label 1000 (the gateway table\'s, as for IPv4)')
  const mp = JSON.stringify(path.attrs.find((a) => a.type === 14))
  // gobgp prints an IPv4-mapped address as Go does, as the dotted quad alone
  t.match(mp, new RegExp(`"nexthop":"(::ffff:)?${n.address.replaceAll('.', '\\.')}"`), 'next hop: this node (IPv4-mapped, RFC 4659 3.2.1.1)')
  const ours = d.gsictl(['show', 'bgp', 'route', 'vpnv6'])
  t.match(ours, new RegExp(`to ::ffff:${n.address.replaceAll('.', '\\.')}, label 1000`), 'sent as ::ffff:<node> (gsictl)')
  const ext = JSON.stringify(path.attrs.find((a) => a.type === 16))
  t.match(ext, /"type":0,"subtype":2,"value":"64512:8000001"/, 'route target of the exposed VN')
  t.match(ext, /"type":3,"subtype":12,"tunnel_type":13/, 'encapsulation udp (0x030c, tunnel type 13)')
  const asPath = path.attrs.find((a) => a.type === 2) as { as_paths?: { asns?: number[] }[] } | undefined
  t.same((asPath?.as_paths ?? []).flatMap((s) => s.asns ?? []), [], 'AS_PATH empty: the TGW AS 64512 (= CN2 AS) is not carried')
  t.ok(gobgpRib('vpnv4').has(`${n.address}:1:10.0.0.0/16`), 'the IPv4 VPC CIDR beside it, as inet-vpn')
  const fib = d.gsictlJson<{ state: { desiredRoutes: number } }>(['show', 'fib'])
  t.equal(fib.state.desiredRoutes, 2, 'the gateway table holds both VPC CIDRs (the IPv6 one via the TGW\'s IPv6 next hop)')
})

t.test('CN2 -> TGW: IPv6 pod routes make the exposed IPv6 CIDR an aggregate on both sessions', async (t) => {
  // not exposed (another route target): nothing
  cn.addPod(pod6(9, 'target:64512:9'))
  await sleep(3000)
  t.same(tgw.paths(PODS6), [], 'no aggregate for a route whose route target is not exposed')

  cn.addPod(pod6(1))
  cn.addPod(pod4(1))
  const paths = await waitUntil('the IPv6 aggregate from both sessions', 30_000, () => { const p = tgw.paths(PODS6); return p.length === 2 ? p : undefined })
  t.same(paths.map((p) => p.from).sort(), ['n1a', 'n1b'], 'both sessions')
  for (const p of paths) {
    t.match(p, { asPath: '65001', origin: 'IGP' }, `${p.from}: AS_PATH [our AS], ORIGIN IGP`)
    t.equal(p.med, undefined, `${p.from}: no MED`)
    t.match(p.nextHop, new RegExp(`^${n.insideLocal6}\\b`), `${p.from}: next hop our inside IPv6 address (${p.nextHop})`)
  }
  await waitUntil('the IPv4 aggregate too', 30_000, () => tgw.paths('10.244.0.0/16').length === 2)
  t.same(tgw.paths('fd10:244:0:1::5/128'), [], 'the pod /128 itself is not leaked (aggregates only by default)')
  const adv = d.gsictl(['show', 'bgp', 'route', 'advertised-to', n.tgwPeers[0]])
  t.match(adv, new RegExp(`IPv6 Unicast[^]*${PODS6.replace('/', '\\/')}[^]*to ${n.insideLocal6}`), 'gsictl: advertised to .2 as IPv6 unicast, next hop our ::1')
  t.match(d.gsictl(['show', 'gateway']), /2 advertised of a quota of 1000/, 'both aggregates count against the TGW quota')
})

t.test('withdrawals: the last IPv6 pod route, and the VPC IPv6 CIDR', async (t) => {
  t.equal(tgw.paths(PODS6).length, 2, 'the IPv6 aggregate is there to begin with')
  cn.delPod(pod6(1))
  await waitUntil('IPv6 aggregate withdrawn', 30_000, () => tgw.paths(PODS6).length === 0)
  t.pass('the IPv6 aggregate goes with the last imported route inside it')
  t.equal(tgw.paths('10.244.0.0/16').length, 2, 'the IPv4 aggregate stays')

  tgw.birdc('disable vpc6')
  await waitUntil('VPNv6 route withdrawn', 30_000, () => !gobgpRib('vpnv6').has(`${n.address}:1:${VPC6}`))
  t.pass('the inet6-vpn route is withdrawn from CN2 when the TGW withdraws the CIDR')
  t.ok(gobgpRib('vpnv4').has(`${n.address}:1:10.0.0.0/16`), 'the IPv4 one stays')
  tgw.birdc('enable vpc6')
  await waitUntil('VPNv6 route back', 30_000, () => gobgpRib('vpnv6').has(`${n.address}:1:${VPC6}`))
  t.pass('and comes back with it')
})
