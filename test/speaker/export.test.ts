/**
 * The export rules of export.ts as pure functions: AS_PATH prepending (segment limits, confederation
 * segments), eBGP/iBGP attribute rules, route reflection and its loop check, unknown attributes, and
 * next hops that cannot go with the family.
 */
import t from 'tap'
import { Family } from '../../bgp/codec/afi.js'
import { AsSegment } from '../../bgp/codec/as-path.js'
import { AttrFlag } from '../../bgp/codec/attributes.js'
import { exportAttributes, prependAs, type ExportSource, type ExportTarget } from '../../bgp/speaker/index.js'

const ebgpFrom: ExportSource = { local: false, ebgp: true, routeReflectorClient: false, routerId: 0x0a000001 }
const ibgpFrom: ExportSource = { local: false, ebgp: false, routeReflectorClient: false, routerId: 0x0a000002 }
const clientFrom: ExportSource = { ...ibgpFrom, routeReflectorClient: true }
const localFrom: ExportSource = { local: true, ebgp: false, routeReflectorClient: false, routerId: 0x0a0000ff }
const toE: ExportTarget = { family: Family.Ipv4Unicast, ebgp: true, routeReflectorClient: false, localAs: 64512, clusterId: 0x0a0000ff, nextHopSelf: false, selfNextHop: '192.0.2.254' }
const toI: ExportTarget = { ...toE, ebgp: false }

t.test('prependAs', async (t) => {
  t.same(prependAs(undefined, 1), [{ type: AsSegment.Sequence, asns: [1] }])
  t.same(prependAs([{ type: AsSegment.Sequence, asns: [2, 3] }], 1), [{ type: AsSegment.Sequence, asns: [1, 2, 3] }])
  t.same(prependAs([{ type: AsSegment.Set, asns: [2, 3] }], 1), [{ type: AsSegment.Sequence, asns: [1] }, { type: AsSegment.Set, asns: [2, 3] }])
  const full = Array.from({ length: 255 }, (_, i) => i + 10)
  t.same(prependAs([{ type: AsSegment.Sequence, asns: full }], 1), [{ type: AsSegment.Sequence, asns: [1] }, { type: AsSegment.Sequence, asns: full }], 'a full segment gets a new one before it')
  t.same(prependAs([{ type: AsSegment.ConfedSequence, asns: [65001] }, { type: AsSegment.Sequence, asns: [2] }], 1), [{ type: AsSegment.Sequence, asns: [1, 2] }], 'confederation segments removed')
})

t.test('eBGP and iBGP rules', async (t) => {
  const src = { attrs: { origin: 2, asPath: [{ type: AsSegment.Sequence, asns: [65001] }], med: 5, localPref: 200, originatorId: 9, clusterList: [8], nextHop: 0x0a000001 }, nextHop: '10.0.0.1' }
  const e = exportAttributes(src, ebgpFrom, toE)
  t.same(e?.attrs.asPath, [{ type: AsSegment.Sequence, asns: [64512, 65001] }])
  t.equal(e?.attrs.med, undefined)
  t.equal(e?.attrs.localPref, undefined)
  t.equal(e?.attrs.originatorId, undefined)
  t.equal(e?.attrs.clusterList, undefined)
  t.equal(e?.nextHop, '192.0.2.254')
  t.equal(e?.attrs.nextHop, 0xc00002fe, 'IPv4 unicast: NEXT_HOP attribute set')
  t.equal(e?.attrs.origin, 2, 'ORIGIN kept')
  const i = exportAttributes({ ...src, attrs: { ...src.attrs, localPref: undefined } as never }, ebgpFrom, toI)
  t.equal(i?.attrs.localPref, 100, 'iBGP: LOCAL_PREF 100 when missing')
  t.equal(i?.nextHop, '10.0.0.1', 'iBGP: next hop kept')
  t.equal(exportAttributes(src, ebgpFrom, { ...toI, nextHopSelf: true })?.nextHop, '192.0.2.254', 'next-hop-self')
  t.equal(exportAttributes(src, ibgpFrom, toI), null, 'iBGP to iBGP: not without reflection')
  const vpn = exportAttributes(src, ebgpFrom, { ...toE, family: Family.Ipv4Vpn })
  t.equal(vpn?.attrs.nextHop, undefined, 'other families: next hop only in MP_REACH')
  const local = exportAttributes({ attrs: { med: 3 }, nextHop: '' }, localFrom, toE)
  t.equal(local?.attrs.med, 3, 'our own MED goes to eBGP')
  t.equal(local?.attrs.origin, 0, 'ORIGIN IGP when missing')
  t.equal(exportAttributes({ attrs: {}, nextHop: '198.51.100.9' }, localFrom, toE)?.nextHop, '198.51.100.9', 'a local route may name its next hop')
})

t.test('route reflection', async (t) => {
  const src = { attrs: { asPath: [], clusterList: [7] }, nextHop: '10.0.0.2' }
  const r = exportAttributes(src, clientFrom, toI)
  t.equal(r?.attrs.originatorId, 0x0a000002, 'ORIGINATOR_ID = source identifier')
  t.same(r?.attrs.clusterList, [0x0a0000ff, 7], 'our cluster id prepended')
  t.equal(exportAttributes({ attrs: { originatorId: 5 }, nextHop: '10.0.0.2' }, clientFrom, toI)?.attrs.originatorId, 5, 'existing ORIGINATOR_ID kept')
  t.ok(exportAttributes(src, ibgpFrom, { ...toI, routeReflectorClient: true }), 'non-client to client')
  t.equal(exportAttributes({ attrs: { clusterList: [0x0a0000ff] }, nextHop: '10.0.0.2' }, clientFrom, toI), null, 'our cluster id already there: loop')
})

t.test('unknown attributes and impossible next hops', async (t) => {
  const unknown = [
    { flags: AttrFlag.Optional | AttrFlag.Transitive, type: 99, value: Uint8Array.of(1) },
    { flags: AttrFlag.Optional, type: 98, value: Uint8Array.of(2) },
  ]
  const r = exportAttributes({ attrs: { unknown, order: [98, 99] }, nextHop: '10.0.0.1' }, ebgpFrom, toE)
  t.same(r?.attrs.unknown?.map((u) => [u.type, u.flags]), [[99, AttrFlag.Optional | AttrFlag.Transitive | AttrFlag.Partial]], 'transitive kept with Partial, non-transitive dropped')
  t.equal(r?.attrs.order, undefined, 'arrival order not carried over')
  t.equal(exportAttributes({ attrs: {}, nextHop: '2001:db8::1' }, ebgpFrom, toI), null, 'IPv4 route with an IPv6 next hop: not without extended next hop')
  t.equal(exportAttributes({ attrs: {}, nextHop: '2001:db8::1' }, ebgpFrom, { ...toI, ipv6NextHopForIpv4: true })?.nextHop, '2001:db8::1')
  t.equal(exportAttributes({ attrs: {}, nextHop: '' }, localFrom, { ...toE, selfNextHop: '' }), null, 'no next hop at all: not sent')
})

t.test('well-known communities (RFC 1997): NO_ADVERTISE nowhere, NO_EXPORT and NO_EXPORT_SUBCONFED not to eBGP', async (t) => {
  const withCommunity = (c: number) => ({ attrs: { origin: 0, asPath: [{ type: AsSegment.Sequence, asns: [65001] }], communities: [(65001 << 16) + 1, c] }, nextHop: '10.0.0.1' })
  t.equal(exportAttributes(withCommunity(0xffffff02), ebgpFrom, toI), null, 'NO_ADVERTISE: not to iBGP')
  t.equal(exportAttributes(withCommunity(0xffffff02), ebgpFrom, toE), null, 'NO_ADVERTISE: not to eBGP')
  t.equal(exportAttributes(withCommunity(0xffffff01), ebgpFrom, toE), null, 'NO_EXPORT: not to eBGP')
  t.same(exportAttributes(withCommunity(0xffffff01), ebgpFrom, toI)?.attrs.communities, [(65001 << 16) + 1, 0xffffff01], 'NO_EXPORT: to iBGP, kept')
  t.equal(exportAttributes(withCommunity(0xffffff03), ebgpFrom, toE), null, 'NO_EXPORT_SUBCONFED: not to eBGP')
  t.ok(exportAttributes(withCommunity((65001 << 16) + 2), ebgpFrom, toE), 'other communities: exported')
})
