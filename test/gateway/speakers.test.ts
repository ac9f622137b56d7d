/**
 * The gateway between real BgpSpeakers on loopback (127.0.4.x, ephemeral ports): a control node
 * (iBGP, AS 64512, VPN families and RTC, originating pod routes of two vRouters), two TGW sessions
 * (eBGP from AS 64512, the TGW's default ASN, both advertising a VPC CIDR), and two gateway instances,
 * each its own CN2 speaker (AS 64512) and TGW speaker (AS 65100) with a Gateway and a recorder FIB.
 * What each side received is read from its own RIB.
 */
import t from 'tap'
import { Family } from '../../bgp/codec/afi.js'
import { extCommunityToString, parseExtCommunity } from '../../bgp/codec/ext-communities.js'
import { parseRd } from '../../bgp/codec/nlri.js'
import { BgpSpeaker } from '../../bgp/speaker/index.js'
import { Gateway, RecordingFib, localRoutesOnly } from '../../src/gateway/index.js'
import { best, ipv4, link, startSpeaker, vpnv4, waitEstablished, waitFor } from '../speaker/helpers.js'
import { RT } from './helpers.js'

const VPN = [Family.Ipv4Vpn, Family.Ipv6Vpn, Family.RouteTarget]
const fast = { minimumAdvertisementInterval: 0 }

interface Instance {
  cn2: BgpSpeaker & { address: string }
  tgw: BgpSpeaker & { address: string }
  gateway: Gateway
  fib: RecordingFib
}

t.test('two gateway instances between a control node and two TGW sessions', async (t) => {
  // Control nodes ask for the route targets they hold (RFC 4684): here the exposed one.
  const control = await startSpeaker(64512, '10.8.0.1', '127.0.4.1', { rib: { multipath: { maximum: 4 } }, importRouteTargets: [parseExtCommunity(RT)] })
  const tgwA = await startSpeaker(64512, '10.7.0.2', '127.0.4.2', { rib: { multipath: { maximum: 4 } } })
  const tgwB = await startSpeaker(64512, '10.7.0.3', '127.0.4.3', { rib: { multipath: { maximum: 4 } } })
  const all: BgpSpeaker[] = [control, tgwA, tgwB]
  t.teardown(() => Promise.all(all.map((s) => s.stop())))

  const instances: Instance[] = []
  for (const i of [1, 2]) {
    const cn2 = await startSpeaker(64512, `10.9.0.${i}`, `127.0.4.${10 + i}`)
    const tgw = await startSpeaker(65100, `10.9.0.${i}`, `127.0.4.${20 + i}`, { rib: { multipath: { maximum: 4 } } })
    all.push(cn2, tgw)
    const fib = new RecordingFib()
    const gateway = new Gateway(cn2, tgw, fib, {
      routerId: `10.9.0.${i}`,
      nodeAddress: cn2.address,
      exposedRouteTargets: [RT],
      exposedCidrs: ['10.244.0.0/16', '10.245.0.0/16'],
      table: { table: 100, label: 30 },
      connectPeers: [{ link: `gsig${i}`, peers: [tgwA.address, tgwB.address] }],
    })
    gateway.start()
    t.teardown(() => gateway.stop())
    // As the daemon configures them: only what the gateway originates leaves toward either side.
    link(cn2, control, VPN, { exportPolicy: { [Family.Ipv4Vpn]: localRoutesOnly, [Family.Ipv6Vpn]: localRoutesOnly } })
    for (const s of [tgwA, tgwB]) link(tgw, s, [Family.Ipv4Unicast], { ...fast, exportPolicy: { [Family.Ipv4Unicast]: localRoutesOnly } }, fast)
    instances.push({ cn2, tgw, gateway, fib })
  }
  const [one, two] = instances as [Instance, Instance]

  // The control node: pod 10.244.1.5 on two vRouters (two RDs), a route of a VN that is not exposed.
  const pod = (vr: string, rd: string, prefix: string, label: number, rt = RT): void =>
    control.originate(vpnv4(parseRd(rd), prefix, label), { attrs: { origin: 0, asPath: [], extCommunities: [parseExtCommunity(rt), parseExtCommunity('encap:udp')] }, nextHop: vr })
  pod('192.0.2.11', '192.0.2.11:1', '10.244.1.5/32', 25)
  pod('192.0.2.12', '192.0.2.12:1', '10.244.1.5/32', 26)
  pod('192.0.2.11', '192.0.2.11:2', '10.245.7.0/24', 27, 'target:64512:8000002')
  // The TGW (AS 64512, CN2's default AS too) advertises the VPC CIDR on both sessions.
  for (const s of [tgwA, tgwB]) s.originate(ipv4('172.31.0.0/16'), { attrs: { origin: 0, asPath: [] }, nextHop: '' })

  for (const x of instances) {
    await waitEstablished(x.cn2, control.address)
    await waitEstablished(x.tgw, tgwA.address)
    await waitEstablished(x.tgw, tgwB.address)
  }

  await t.test('CN2 -> TGW: the aggregate of the exposed VN, identical from both instances', async (t) => {
    const agg = (s: BgpSpeaker): number => s.rib.table(Family.Ipv4Unicast).multipath(s.rib.table(Family.Ipv4Unicast).lookup('10.244.0.0/16')).length
    await waitFor(() => best(tgwA, Family.Ipv4Unicast, '10.244.0.0/16') !== undefined && agg(tgwA) === 2 && agg(tgwB) === 2, 5000, 'aggregate from both instances at both TGW sessions')
    const t4 = tgwA.rib.table(Family.Ipv4Unicast)
    const paths = t4.multipath(t4.lookup('10.244.0.0/16'))
    t.same(paths.map((p) => p.nextHop).sort(), [one.tgw.address, two.tgw.address], 'ECMP at the TGW over both instances (next hop self)')
    for (const p of paths) {
      t.same(p.attrs.asPath, [{ type: 2, asns: [65100] }], 'AS_PATH [our AS]')
      t.equal(p.attrs.origin, 0, 'ORIGIN IGP')
      t.equal(p.attrs.med, undefined, 'no MED')
      t.equal(p.attrs.communities, undefined, 'no communities')
      t.equal(p.attrs.extCommunities, undefined)
    }
    t.same({ ...paths[0]?.attrs, nextHop: undefined }, { ...paths[1]?.attrs, nextHop: undefined }, 'identical attributes from both instances')
    t.equal(best(tgwA, Family.Ipv4Unicast, '10.245.0.0/16'), undefined, 'the VN whose route target is not exposed: no aggregate')
    t.equal(best(tgwA, Family.Ipv4Unicast, '10.244.1.5/32'), undefined, 'no more-specific by default')
    const fromOne = tgwB.peerStats(one.tgw.address).families.find((f) => f.family === 'ipv4-unicast')
    t.equal(fromOne?.received, 1, 'the TGW gets only our aggregate: tgw-a\'s VPC route is not passed to tgw-b')
    t.match(one.gateway.status(), { importedRoutes: 2, importedPrefixes: 1, aggregatesActive: 1, advertisedToTgw: 1, quota: { limit: 1000, refused: 0 } })
  })

  await t.test('kernel routes: MPLS ECMP over both vRouters toward the pod, GRE ECMP over both sessions toward the VPC', async (t) => {
    await waitFor(() => one.fib.route(100, '10.244.1.5/32')?.nexthops.length === 2 && one.fib.route(100, '172.31.0.0/16')?.nexthops.length === 2, 5000, 'both FIB routes with two next hops')
    t.same(one.fib.route(100, '10.244.1.5/32')?.nexthops, [
      { kind: 'mpls', vrouter: '192.0.2.11', label: 25 },
      { kind: 'mpls', vrouter: '192.0.2.12', label: 26 },
    ])
    t.same(one.fib.route(100, '172.31.0.0/16')?.nexthops.map((h) => JSON.stringify(h)).sort(), [
      { kind: 'gre', link: 'gsig1', gateway: tgwA.address },
      { kind: 'gre', link: 'gsig1', gateway: tgwB.address },
    ].map((h) => JSON.stringify(h)))
    t.same(one.fib.state().tables, [{ table: 100, label: 30 }])
    t.equal(one.fib.route(100, '10.245.7.0/24'), undefined, 'the route of the VN that is not exposed is not in the gateway table')
  })

  await t.test('TGW -> CN2: VPN routes with RD, route target, label, next hop, encapsulation udp and an empty AS_PATH', async (t) => {
    for (const x of instances) {
      const key = `${x.gateway.rd.admin >>> 24}.${(x.gateway.rd.admin >>> 16) & 0xff}.${(x.gateway.rd.admin >>> 8) & 0xff}.${x.gateway.rd.admin & 0xff}:1:172.31.0.0/16`
      await waitFor(() => best(control, Family.Ipv4Vpn, key) !== undefined, 5000, `${key} at the control node`)
      const r = best(control, Family.Ipv4Vpn, key)
      t.equal(r?.label, 30, `${key}: label = the gateway table's`)
      t.equal(r?.nextHop, x.cn2.address, `${key}: next hop = the node`)
      t.same(r?.attrs.asPath, [], `${key}: empty AS_PATH although the TGW's AS 64512 is the control node's own`)
      t.same(r?.attrs.extCommunities?.map(extCommunityToString), ['rt:64512:8000001', 'encap:udp'], `${key}: route target and encapsulation udp (0x030c, 13)`)
    }
    t.equal(one.gateway.status().reoriginatedVpnRoutes, 1)
    t.equal(one.gateway.status().tgwRoutes, 1)
  })

  await t.test('failover: control node lost -> aggregates withdrawn; TGW lost -> VPN routes withdrawn', async (t) => {
    const agg = (): number => {
      const tb = tgwA.rib.table(Family.Ipv4Unicast)
      const d = tb.lookup('10.244.0.0/16')
      return d < 0 ? 0 : tb.multipath(d).length
    }
    await control.setPeerEnabled(one.cn2.address, false, 'test: instance one loses CN2')
    await waitFor(() => agg() === 1, 5000, 'instance one\'s aggregate withdrawn')
    t.equal(tgwA.rib.table(Family.Ipv4Unicast).best(tgwA.rib.table(Family.Ipv4Unicast).lookup('10.244.0.0/16'))?.nextHop, two.tgw.address, 'the TGW keeps the other instance')
    t.equal(one.fib.route(100, '10.244.1.5/32'), undefined, 'the pod route left instance one\'s gateway table')
    await control.setPeerEnabled(one.cn2.address, true)
    await waitFor(() => agg() === 2, 10000, 'instance one\'s aggregate back')
    t.pass('control node back: aggregate advertised again')

    await tgwA.setPeerEnabled(one.tgw.address, false, 'test')
    await waitFor(() => one.fib.route(100, '172.31.0.0/16')?.nexthops.length === 1, 5000, 'one TGW session left')
    t.ok(best(control, Family.Ipv4Vpn, '10.9.0.1:1:172.31.0.0/16'), 'one TGW session is enough: the VPN route stays')
    await tgwB.setPeerEnabled(one.tgw.address, false, 'test')
    await waitFor(() => best(control, Family.Ipv4Vpn, '10.9.0.1:1:172.31.0.0/16') === undefined, 5000, 'instance one\'s VPN route withdrawn')
    t.ok(best(control, Family.Ipv4Vpn, '10.9.0.2:1:172.31.0.0/16'), 'instance two\'s stays')
    t.equal(one.fib.route(100, '172.31.0.0/16'), undefined)
    await tgwA.setPeerEnabled(one.tgw.address, true)
    await waitFor(() => best(control, Family.Ipv4Vpn, '10.9.0.1:1:172.31.0.0/16') !== undefined, 10000, 'VPN route back with a TGW session')
    t.pass('TGW session back: VPN route re-originated')
  })
})
