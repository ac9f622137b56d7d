/**
 * The gateway logic (src/gateway/gateway.ts) driven by BestChange events as the speakers emit them,
 * with a recorder FIB: route-target import, aggregates following the first and last inside route,
 * more-specifics, the quota guard's determinism across instances, re-origination toward CN2 (RD, route
 * targets, label, next hop, encapsulation udp, empty AS_PATH for a TGW route with AS_PATH [64512]),
 * ECMP next hops, the failover timers, configuration errors, and the cost of 100k changes.
 * test/gateway/speakers.test.ts runs the same logic between real BgpSpeakers.
 */
import t from 'tap'
import { Family } from '../../bgp/codec/afi.js'
import { extCommunityToString } from '../../bgp/codec/ext-communities.js'
import { labelValue, rdToString } from '../../bgp/codec/nlri.js'
import type { BgpSpeaker } from '../../bgp/speaker/index.js'
import type { FibWriter } from '../../src/fib/index.js'
import { Gateway, RecordingFib, type Cn2SpeakerPort, type FibPort, type GatewayOptions, type QuotaEvent, type FailoverEvent, type SpeakerPort } from '../../src/gateway/index.js'
import type { PrefixTable } from '../../src/gateway/prefix-table.js'
import { BASE_OPTIONS, OTHER, PortSpeaker, RT, unicast, vpn } from './helpers.js'

// The ports are slices of the real parts: these fail to compile if BgpSpeaker or FibWriter drift away.
export const portsFit = (s: BgpSpeaker, w: FibWriter): [Cn2SpeakerPort, SpeakerPort, FibPort] => [s, s, w]

function make(o: Partial<GatewayOptions> = {}): { g: Gateway; cn2: PortSpeaker; tgw: PortSpeaker; fib: RecordingFib } {
  const cn2 = new PortSpeaker(64512)
  const tgw = new PortSpeaker(65100)
  const fib = new RecordingFib()
  const g = new Gateway(cn2, tgw, fib, { ...BASE_OPTIONS, ...o })
  g.start()
  return { g, cn2, tgw, fib }
}

t.test('imports only routes with an exposed route target; the aggregate follows the first and the last inside route', async (t) => {
  const { g, cn2, tgw, fib } = make()
  t.teardown(() => g.stop())
  t.same(cn2.importRouteTargets.map(extCommunityToString), ['rt:64512:8000001'], 'RTC memberships = the exposed route targets')
  t.same(fib.state().tables, [{ table: 100, label: 30 }], 'the gateway table and its label go to the FIB')

  cn2.best(Family.Ipv4Vpn, [
    vpn('192.0.2.11:1:10.244.1.5/32', [['192.0.2.11', 25]], [RT]),
    vpn('192.0.2.11:2:10.245.1.5/32', [['192.0.2.11', 26]], [OTHER]),
    vpn('10.9.0.5:1:10.244.9.0/24', [['10.9.0.5', 30]], [RT], 'add', 0),
  ])
  t.same(tgw.keys(), ['10.244.0.0/16'], 'only the exposed VN\'s aggregate; our own (local) route is no import')
  t.same(fib.routes().map((r) => r.prefix), ['10.244.1.5/32'])
  t.same(fib.route(100, '10.244.1.5/32')?.nexthops, [{ kind: 'mpls', vrouter: '192.0.2.11', label: 25 }])
  t.same(tgw.originated.get('10.244.0.0/16')?.attrs, { attrs: { origin: 0, asPath: [] }, nextHop: '' }, 'ORIGIN IGP, empty AS_PATH (the speaker prepends our AS), no MED, no communities, next hop self')

  cn2.best(Family.Ipv4Vpn, [vpn('192.0.2.12:1:10.244.2.7/32', [['192.0.2.12', 27]], [OTHER, RT])])
  t.equal(g.status().importedRoutes, 2, 'any one exposed target among several is enough')
  cn2.best(Family.Ipv4Vpn, [vpn('192.0.2.11:1:10.244.1.5/32', [], [], 'withdraw')])
  t.same(tgw.keys(), ['10.244.0.0/16'], 'one inside route left: the aggregate stays')
  cn2.best(Family.Ipv4Vpn, [vpn('192.0.2.12:1:10.244.2.7/32', [['192.0.2.12', 27]], [OTHER], 'replace')])
  t.same(tgw.keys(), [], 'the last inside route lost its exposed target: the aggregate is withdrawn')
  t.same(fib.routes(), [], 'and the gateway table is empty')
  t.match(g.status(), { importedRoutes: 0, importedPrefixes: 0, aggregatesActive: 0, advertisedToTgw: 0 })
})

t.test('ECMP toward pods: over the multipath set and over every RD holding the prefix', async (t) => {
  const { g, cn2, fib } = make()
  t.teardown(() => g.stop())
  cn2.best(Family.Ipv4Vpn, [
    vpn('192.0.2.11:1:10.244.0.10/32', [['192.0.2.11', 40]], [RT]),
    vpn('192.0.2.12:1:10.244.0.10/32', [['192.0.2.12', 41], ['192.0.2.13', 42]], [RT]),
  ])
  t.same(fib.route(100, '10.244.0.10/32')?.nexthops, [
    { kind: 'mpls', vrouter: '192.0.2.11', label: 40 },
    { kind: 'mpls', vrouter: '192.0.2.12', label: 41 },
    { kind: 'mpls', vrouter: '192.0.2.13', label: 42 },
  ])
  cn2.best(Family.Ipv4Vpn, [vpn('192.0.2.12:1:10.244.0.10/32', [], [], 'withdraw')])
  t.same(fib.route(100, '10.244.0.10/32')?.nexthops, [{ kind: 'mpls', vrouter: '192.0.2.11', label: 40 }])
  t.equal(g.status().importedPrefixes, 1)
  cn2.best(Family.Ipv6Vpn, [vpn('192.0.2.11:1:fd00:244::5/128', [['::ffff:192.0.2.11', 43]], [RT])])
  t.same(fib.route(100, 'fd00:244::5/128')?.nexthops, [{ kind: 'mpls', vrouter: '192.0.2.11', label: 43 }], 'VPN-IPv6 with an IPv4-mapped next hop: the vRouter\'s IPv4 address')
  // the RIB's own spelling of a mapped next hop (RFC 5952 text of the 16 octets, IPv4 part in hex)
  cn2.best(Family.Ipv6Vpn, [vpn('192.0.2.12:1:fd00:244::7/128', [['::ffff:c000:20c', 45]], [RT])])
  t.same(fib.route(100, 'fd00:244::7/128')?.nexthops, [{ kind: 'mpls', vrouter: '192.0.2.12', label: 45 }], 'regression: ::ffff:c000:20c is the vRouter 192.0.2.12 (VPN-IPv6 routes from real control nodes were unusable)')
  cn2.best(Family.Ipv6Vpn, [vpn('192.0.2.11:1:fd00:244::6/128', [['2001:db8::1', 44]], [RT])])
  t.equal(fib.route(100, 'fd00:244::6/128'), undefined, 'a native IPv6 next hop is no MPLSoUDP tunnel endpoint')
  t.equal(g.status().unusableRoutes, 1)
})

t.test('TGW -> CN2: re-originated VPN routes (RD, route targets, label, next hop, encapsulation udp, empty AS_PATH); GRE ECMP in the FIB', async (t) => {
  const { g, cn2, tgw, fib } = make({ rdIndex: 7 })
  t.teardown(() => g.stop())
  tgw.best(Family.Ipv4Unicast, [unicast('172.31.0.0/16', ['169.254.6.2', '169.254.6.3', '169.254.6.10', '169.254.6.11'])])
  const o = cn2.originated.get('10.9.0.5:7:172.31.0.0/16 label 30')
  t.ok(o, 'originated as 10.9.0.5:7:172.31.0.0/16 label 30')
  t.equal(o?.nlri.family, Family.Ipv4Vpn)
  t.equal(rdToString(o?.nlri.rd ?? { type: 9, admin: 0, assigned: 0 }), '10.9.0.5:7')
  t.equal(o?.nlri.rd?.type, 1, 'RD type 1 (IPv4 admin)')
  t.same(o?.nlri.labels?.map(labelValue), [30], 'one label: the gateway table\'s')
  t.equal(o?.attrs.nextHop, '10.9.0.5', 'next hop = this node')
  t.same(o?.attrs.attrs.asPath, [], 'the TGW route had AS_PATH [64512]; the VPN route has none (64512 is CN2\'s AS too)')
  t.same(o?.attrs.attrs.extCommunities?.map(extCommunityToString), ['rt:64512:8000001', 'encap:udp'])
  t.equal(o?.attrs.attrs.med, undefined)
  t.same(fib.route(100, '172.31.0.0/16')?.nexthops, [
    { kind: 'gre', link: 'gsig0', gateway: '169.254.6.2' },
    { kind: 'gre', link: 'gsig0', gateway: '169.254.6.3' },
    { kind: 'gre', link: 'gsig1', gateway: '169.254.6.10' },
    { kind: 'gre', link: 'gsig1', gateway: '169.254.6.11' },
  ], 'ECMP over both sessions of both Connect peers')

  tgw.best(Family.Ipv4Unicast, [unicast('172.31.0.0/16', ['169.254.6.3'], 'replace')])
  t.same(fib.route(100, '172.31.0.0/16')?.nexthops, [{ kind: 'gre', link: 'gsig0', gateway: '169.254.6.3' }])
  t.equal(cn2.originations, 1, 'a next hop change is no new VPN route')

  const v6 = unicast('2600:1f00::/40', ['169.254.6.2'])
  tgw.best(Family.Ipv6Unicast, [{ ...v6, multipath: [{ ...v6.multipath[0]!, nextHop: 'fd00:6::2' }] }])
  t.ok(cn2.originated.get('10.9.0.5:7:2600:1f00::/40 label 30'), 'IPv6 routes become VPN-IPv6 routes')
  t.equal(cn2.originated.get('10.9.0.5:7:2600:1f00::/40 label 30')?.attrs.nextHop, '::ffff:10.9.0.5', 'IPv4-mapped next hop (RFC 4659)')
  t.same(fib.route(100, '2600:1f00::/40')?.nexthops, [{ kind: 'gre', link: 'gsig0', gateway: 'fd00:6::2' }], 'IPv6: via the TGW\'s IPv6 next hop')

  tgw.best(Family.Ipv4Unicast, [unicast('10.244.0.0/16', ['169.254.6.2'], 'add', 0)])
  t.equal(g.status().tgwRoutes, 2, 'our own aggregate (local) is no TGW route')
  tgw.best(Family.Ipv4Unicast, [unicast('172.31.0.0/16', [], 'withdraw')])
  t.notOk(cn2.originated.has('10.9.0.5:7:172.31.0.0/16 label 30'), 'withdrawn with the TGW route')
  t.equal(fib.route(100, '172.31.0.0/16'), undefined)
  t.equal(g.status().reoriginatedVpnRoutes, 1)
})

t.test('a VPC prefix learned from the TGW wins the kernel route over the same prefix imported from CN2', async (t) => {
  const { g, cn2, tgw, fib } = make()
  t.teardown(() => g.stop())
  // Another gateway instance's re-originated VPC route, reflected by the control nodes.
  cn2.best(Family.Ipv4Vpn, [vpn('10.9.0.6:1:172.31.0.0/16', [['10.9.0.6', 30]], [RT])])
  t.same(fib.route(100, '172.31.0.0/16')?.nexthops, [{ kind: 'mpls', vrouter: '10.9.0.6', label: 30 }], 'alone, it is a route like any other')
  tgw.best(Family.Ipv4Unicast, [unicast('172.31.0.0/16', ['169.254.6.2'])])
  t.same(fib.route(100, '172.31.0.0/16')?.nexthops, [{ kind: 'gre', link: 'gsig0', gateway: '169.254.6.2' }], 'our own TGW route wins')
  cn2.best(Family.Ipv4Vpn, [vpn('10.9.0.6:1:172.31.0.0/16', [['10.9.0.7', 30]], [RT], 'replace')])
  t.same(fib.route(100, '172.31.0.0/16')?.nexthops, [{ kind: 'gre', link: 'gsig0', gateway: '169.254.6.2' }], 'and keeps winning over changes of the other')
  tgw.best(Family.Ipv4Unicast, [unicast('172.31.0.0/16', [], 'withdraw')])
  t.same(fib.route(100, '172.31.0.0/16')?.nexthops, [{ kind: 'mpls', vrouter: '10.9.0.7', label: 30 }], 'TGW route gone: the imported one is back')
  cn2.best(Family.Ipv4Vpn, [vpn('10.9.0.6:1:172.31.0.0/16', [], [], 'withdraw')])
  t.equal(fib.route(100, '172.31.0.0/16'), undefined)
})

t.test('a route the FIB refuses is reported and counted, not thrown into the speaker', async (t) => {
  // Through setRoute (a FIB port without the numeric door, as the FibWriter) and through
  // setMplsRouteOf (the computed FIB's door for pod routes).
  class PickyFib extends RecordingFib {
    override setRoute(r: Parameters<RecordingFib['setRoute']>[0]): void {
      if (r.prefix === '10.244.6.6/32') throw new RangeError(`route ${r.prefix}: refused`)
      super.setRoute(r)
    }
  }
  const textOnly = new PickyFib() as FibPort
  Object.defineProperty(textOnly, 'setMplsRouteOf', { value: undefined })
  Object.defineProperty(textOnly, 'deleteRouteOf', { value: undefined })
  class PickyFastFib extends PickyFib {
    override setMplsRouteOf(table: number, keys: PrefixTable, id: number, vrouter: string, label: number): void {
      if (keys.text(id) === '10.244.6.6/32') throw new RangeError('route 10.244.6.6/32: refused')
      super.setMplsRouteOf(table, keys, id, vrouter, label)
    }
  }
  for (const [name, fib] of [['setRoute', textOnly], ['setMplsRouteOf', new PickyFastFib()]] as const) {
    const cn2 = new PortSpeaker(64512)
    const g = new Gateway(cn2, new PortSpeaker(65100), fib, BASE_OPTIONS)
    g.start()
    t.teardown(() => g.stop())
    const errors: string[] = []
    g.on('error', (e) => errors.push(e.message))
    cn2.best(Family.Ipv4Vpn, [
      vpn('192.0.2.11:1:10.244.6.6/32', [['192.0.2.11', 25]], [RT]),
      vpn('192.0.2.11:1:10.244.6.7/32', [['192.0.2.11', 26]], [RT]),
      vpn('192.0.2.11:1:10.244.6.8/32', [['192.0.2.11', 3]], [RT]),
    ])
    t.same(errors, ['route 10.244.6.6/32: refused'], `${name}: reported`)
    t.match(g.status(), { fibRefused: 1, importedRoutes: 2, unusableRoutes: 1 }, `${name}: label 3 (reserved) is no usable pod route; the refused one still counts as imported`)
    t.same((fib as RecordingFib).routes().map((r) => [r.prefix, r.nexthops]), [['10.244.6.7/32', [{ kind: 'mpls', vrouter: '192.0.2.11', label: 26 }]]], `${name}: the other route is in the FIB`)
  }
})

t.test('more than the warning threshold of TGW routes is reported once', async (t) => {
  const { g, tgw } = make({ tgwRoutesWarning: 3 })
  t.teardown(() => g.stop())
  const seen: number[] = []
  g.on('tgw-routes-warning', (e) => seen.push(e.count))
  tgw.best(Family.Ipv4Unicast, [1, 2, 3].map((i) => unicast(`172.${i}.0.0/16`, ['169.254.6.2'])))
  t.same(seen, [])
  tgw.best(Family.Ipv4Unicast, [4, 5].map((i) => unicast(`172.${i}.0.0/16`, ['169.254.6.2'])))
  tgw.best(Family.Ipv4Unicast, [unicast('172.6.0.0/16', ['169.254.6.2'])])
  t.same(seen, [5])
})

/** Pod routes in 10.244/16 and 10.245/16 from several vRouters, deterministic pseudo-random. */
function podRoutes(n: number, seed: number): string[] {
  const out = new Set<string>()
  let s = seed
  while (out.size < n) {
    s = (s * 1103515245 + 12345) >>> 0
    out.add(`192.0.2.${(s >>> 8) % 4 + 11}:1:10.${244 + (s & 1)}.${(s >>> 16) & 0xff}.${(s >>> 24) & 0xff}/32`)
  }
  return [...out]
}

t.test('quota guard: two gateways fed the same routes in different orders refuse the same prefixes', async (t) => {
  const routes = podRoutes(400, 7)
  const withdrawn = new Set(routes.filter((_, i) => i % 5 === 0))
  const a = make({ advertiseMoreSpecifics: true, maxPrefixesAdvertised: 50 })
  const b = make({ advertiseMoreSpecifics: true, maxPrefixesAdvertised: 50 })
  t.teardown(() => { a.g.stop(); b.g.stop() })
  const events: QuotaEvent[] = []
  a.g.on('quota', (e) => events.push(e))
  const nh = (r: string): [string, number] => [r.slice(0, r.indexOf(':')), 100]
  // a: in order, in batches of 64, the withdrawals at the end.
  for (let i = 0; i < routes.length; i += 64) a.cn2.best(Family.Ipv4Vpn, routes.slice(i, i + 64).map((r) => vpn(r, [nh(r)], [RT])))
  a.cn2.best(Family.Ipv4Vpn, [...withdrawn].map((r) => vpn(r, [], [], 'withdraw')))
  // b: reversed, one by one, each withdrawal right after its route.
  for (const r of [...routes].reverse()) {
    b.cn2.best(Family.Ipv4Vpn, [vpn(r, [nh(r)], [RT])])
    if (withdrawn.has(r)) b.cn2.best(Family.Ipv4Vpn, [vpn(r, [], [], 'withdraw')])
  }
  t.same(a.tgw.keys(), b.tgw.keys(), 'the same prefixes advertised')
  t.same(a.g.quota().refusedPrefixes, b.g.quota().refusedPrefixes, 'the same prefixes refused')
  t.equal(a.tgw.originated.size, 50, 'exactly the quota advertised')
  const q = a.g.quota()
  t.equal(q.advertised, 50)
  const livePrefixes = new Set(routes.filter((r) => !withdrawn.has(r)).map((r) => r.slice(r.indexOf(':', r.indexOf(':') + 1) + 1)))
  t.equal(q.candidates, 2 + livePrefixes.size, 'two aggregates and every distinct live pod prefix are candidates')
  t.equal(q.refused, q.candidates - 50)
  t.ok(a.tgw.originated.has('10.244.0.0/16') && a.tgw.originated.has('10.245.0.0/16'), 'aggregates come first')
  const specifics = a.g.advertisedPrefixes().slice(2)
  const inside = [...new Set(routes.filter((r) => !withdrawn.has(r)).map((r) => r.slice(r.indexOf(':', r.indexOf(':') + 1) + 1)))]
  const order = (p: string): string => p.split(/[./]/).map((x) => x.padStart(3, '0')).join('.')
  t.same(specifics, inside.sort((x, y) => (order(x) < order(y) ? -1 : 1)).slice(0, 48), 'then the lowest more-specifics by address')
  t.ok(events.length > 0 && events.every((e) => e.limit === 50), 'reported as quota events')
  t.equal(a.g.status().aggregatesActive, 2)
})

t.test('failover: every control-node session down beyond cn2LostAfter withdraws the aggregates; back, they return', async (t) => {
  const { g, cn2, tgw } = make({ cn2LostAfter: 0.05, tgwLostAfter: 0.05 })
  t.teardown(() => g.stop())
  const ev: FailoverEvent[] = []
  g.on('failover', (e) => ev.push(e))
  cn2.state('cn-a', 'OpenConfirm', 'Established')
  cn2.state('cn-b', 'OpenConfirm', 'Established')
  tgw.state('169.254.6.2', 'OpenConfirm', 'Established')
  cn2.best(Family.Ipv4Vpn, [vpn('192.0.2.11:1:10.244.1.5/32', [['192.0.2.11', 25]], [RT])])
  tgw.best(Family.Ipv4Unicast, [unicast('172.31.0.0/16', ['169.254.6.2'])])
  t.same(tgw.keys(), ['10.244.0.0/16'])
  cn2.state('cn-a', 'Established', 'Idle')
  await new Promise((r) => setTimeout(r, 120))
  t.same(tgw.keys(), ['10.244.0.0/16'], 'one control node still up: nothing changes')
  cn2.state('cn-b', 'Established', 'Idle')
  t.same(tgw.keys(), ['10.244.0.0/16'], 'the stale routes are kept during the graceful-restart window')
  await new Promise((r) => setTimeout(r, 120))
  t.same(tgw.keys(), [], 'withdrawn after cn2LostAfter although the RIB still holds the (stale) route')
  t.equal(g.status().cn2Lost, true)
  t.equal(cn2.originated.size, 1, 'the VPC routes toward CN2 are not affected')
  cn2.state('cn-b', 'OpenConfirm', 'Established')
  t.same(tgw.keys(), ['10.244.0.0/16'], 'a control node back: advertised again')

  tgw.state('169.254.6.2', 'Established', 'Active')
  await new Promise((r) => setTimeout(r, 120))
  t.equal(cn2.originated.size, 0, 'every TGW session down beyond tgwLostAfter: the VPN routes are withdrawn')
  t.same(tgw.keys(), ['10.244.0.0/16'], 'the aggregates toward the TGW stay')
  tgw.state('169.254.6.2', 'OpenConfirm', 'Established')
  t.same([...cn2.originated.keys()], ['10.9.0.5:1:172.31.0.0/16 label 30'])
  t.same(ev, [{ side: 'cn2', lost: true }, { side: 'cn2', lost: false }, { side: 'tgw', lost: true }, { side: 'tgw', lost: false }])
})

t.test('configuration errors name the field and the reason', async (t) => {
  const cn2 = new PortSpeaker(64512)
  const tgw = new PortSpeaker(65100)
  const bad = (o: Partial<GatewayOptions>): unknown => new Gateway(cn2, tgw, new RecordingFib(), { ...BASE_OPTIONS, ...o })
  t.throws(() => bad({ routerId: 'node-1' }), /^routerId: /)
  t.throws(() => bad({ rdIndex: 70000 }), /^rdIndex: .*0\.\.65535/)
  t.throws(() => bad({ nodeAddress: 'fd00::1' }), /^nodeAddress: "fd00::1" is not an IPv4 address/)
  t.throws(() => bad({ exposedRouteTargets: ['encap:udp'] }), /^exposedRouteTargets\[0\]: encap:udp is not a route target/)
  t.throws(() => bad({ exposedRouteTargets: [] }), /^exposedRouteTargets: at least one/)
  t.throws(() => bad({ exposedCidrs: ['10.244.0.1/16'] }), /^exposedCidrs\[0\]: .*host bits are set \(did you mean 10\.244\.0\.0\/16\?\)/)
  t.throws(() => bad({ exposedCidrs: ['10.0.0.0/8', '10.0.0.0/8'] }), /^exposedCidrs\[1\]: 10\.0\.0\.0\/8 is listed twice/)
  t.throws(() => bad({ maxPrefixesAdvertised: 1001 }), /^maxPrefixesAdvertised: 1001 is not an integer 0\.\.1000/)
  t.throws(() => bad({ table: { table: 254, label: 30 } }), /^table: table\.table: 254 is a reserved table/)
  t.throws(() => bad({ table: { table: 100, label: 3 } }), /^table: table\.label: 3 is not a usable MPLS label/)
  t.throws(() => bad({ connectPeers: [{ link: 'a', peers: ['169.254.6.2'] }, { link: 'b', peers: ['169.254.6.2'] }] }), /^connectPeers\[1\]\.peers\[0\]: 169\.254\.6\.2 is already a peer of link a/)
  t.throws(() => bad({ cn2LostAfter: -1 }), /^cn2LostAfter: -1 is not a non-negative number/)
})

t.test('100k VPN route changes ingest in under a second of CPU', async (t) => {
  const { g, cn2, tgw, fib } = make()
  t.teardown(() => g.stop())
  const N = 100_000
  const chunks: ReturnType<typeof vpn>[][] = []
  let chunk: ReturnType<typeof vpn>[] = []
  for (let i = 0; i < N; i++) {
    const vr = `192.0.2.${11 + (i & 7)}`
    chunk.push(vpn(`${vr}:1:10.${244 + (i >>> 16)}.${(i >>> 8) & 0xff}.${i & 0xff}/32`, [[vr, 16 + (i & 1023)]], [RT]))
    if (chunk.length === 4096) { chunks.push(chunk); chunk = [] }
  }
  chunks.push(chunk)
  // CPU time, not wall time: the test machine is shared, and waiting for a core is not our cost.
  const cpu = (from: NodeJS.CpuUsage): number => { const u = process.cpuUsage(from); return (u.user + u.system) / 1000 }
  const t0 = process.cpuUsage()
  for (const c of chunks) cn2.best(Family.Ipv4Vpn, c)
  const ms = cpu(t0)
  t.comment(`100,000 BestChange events: ${ms.toFixed(0)} ms of CPU`)
  const s = g.status()
  t.equal(s.importedRoutes, N, 'every route imported')
  t.equal(fib.state().desiredRoutes, s.importedPrefixes, 'one FIB route per prefix')
  t.equal(tgw.originated.size, 2, 'two aggregates')
  t.ok(ms < 1000, `${ms.toFixed(0)} ms < 1,000 ms`)
  const withdrawals = chunks.map((c) => c.map((x) => ({ ...x, kind: 'withdraw' as const, multipath: [] })))
  const t1 = process.cpuUsage()
  for (const c of withdrawals) cn2.best(Family.Ipv4Vpn, c)
  const wms = cpu(t1)
  t.comment(`100,000 withdrawals: ${wms.toFixed(0)} ms of CPU`)
  t.equal(g.status().importedRoutes, 0)
  t.equal(tgw.originated.size, 0)
  t.equal(fib.state().desiredRoutes, 0)
  t.ok(wms < 1000, `withdrawals ${wms.toFixed(0)} ms < 1,000 ms`)
})
