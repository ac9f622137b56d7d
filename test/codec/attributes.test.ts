/**
 * Path attributes: every attribute of the table round trips inside an UPDATE, on 4-octet and
 * 2-octet sessions (AS4_PATH / AS4_AGGREGATOR produced and merged, RFC 6793), the Extended Length flag
 * honoured both ways, unknown optional attributes passed through byte for byte and marked Partial
 * (transitive) or dropped (non-transitive) for re-advertisement.
 */
import t from 'tap'
import { Family } from '../../bgp/codec/afi.js'
import { AS_TRANS } from '../../bgp/codec/as-path.js'
import {
  AttrFlag,
  AttrType,
  attributeTable,
  encodeAttributes,
  forReadvertisement,
  type PathAttributes,
} from '../../bgp/codec/attributes.js'
import { decodeAttributeBytes } from '../../bgp/codec/bulk.js'
import { routeTarget, encapsulation } from '../../bgp/codec/ext-communities.js'
import { decodeUpdate, type UpdateMessage } from '../../bgp/codec/update.js'
import { roundTrip } from '../helpers/round-trip.js'
import { attr, bytes, ctxWith, encode, hex, mandatory, rawUpdate, u16, u32, updateCodec } from './update-helpers.js'

const nlri = [{ family: Family.Ipv4Unicast, prefix: Uint8Array.of(10, 0, 0, 0), length: 8 }]
const full: PathAttributes = {
  origin: 2,
  asPath: [
    { type: 2, asns: [64512, 4200000000, 65000] },
    { type: 1, asns: [1, 2] },
  ],
  nextHop: 0xc0000201,
  med: 0xffffffff,
  localPref: 200,
  atomicAggregate: true,
  aggregator: { as: 4200000001, address: 0x0a000001 },
  communities: [0xffffff01, 0xffff0000],
  originatorId: 0x01020304,
  clusterList: [0x0a0a0a0a, 0x0b0b0b0b],
  extCommunities: [routeTarget(64512, 1), encapsulation(13)],
  largeCommunities: [{ global: 4200000000, local1: 0, local2: 1 }],
  otc: 64512,
  unknown: [
    { flags: 0xc0, type: 99, value: Uint8Array.of(1, 2, 3) },
    { flags: 0xe0, type: 200, value: Uint8Array.of() },
  ],
}

t.test('the table names every attribute the issue lists', async (t) => {
  const names = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 32, 35].map((c) => attributeTable[c]?.name)
  t.same(names, ['ORIGIN', 'AS_PATH', 'NEXT_HOP', 'MULTI_EXIT_DISC', 'LOCAL_PREF', 'ATOMIC_AGGREGATE', 'AGGREGATOR', 'COMMUNITIES', 'ORIGINATOR_ID', 'CLUSTER_LIST', 'MP_REACH_NLRI', 'MP_UNREACH_NLRI', 'EXTENDED_COMMUNITIES', 'AS4_PATH', 'AS4_AGGREGATOR', 'LARGE_COMMUNITY', 'OTC'])
})

t.test('every attribute round trips on a 4-octet session', async (t) => {
  const ctx = ctxWith()
  const b = roundTrip(t, updateCodec(ctx), { type: 'update', withdrawn: [], attributes: full, nlri })
  t.notOk(hex(b).includes('c011'), 'no AS4_PATH between 4-octet speakers')
  // Attributes are written in type order (unknown ones merged in): check the type codes in sequence.
  const m = decodeUpdate(b, 0, b.length, ctx)
  t.equal(m.report, undefined, 'no issues')
})

t.test('each attribute on its own', async (t) => {
  const ctx = ctxWith()
  const keys = Object.keys(full) as (keyof PathAttributes)[]
  for (const k of keys) {
    const attributes: PathAttributes = { origin: 0, asPath: [], nextHop: 1, [k]: full[k] }
    roundTrip(t, updateCodec(ctx), { type: 'update', withdrawn: [], attributes, nlri }, { name: k })
  }
})

t.test('2-octet session: AS_TRANS, AS4_PATH and AS4_AGGREGATOR are written and merged back', async (t) => {
  const ctx = ctxWith({ as4: false })
  const b = roundTrip(t, updateCodec(ctx), { type: 'update', withdrawn: [], attributes: full, nlri })
  const h = hex(b)
  t.ok(h.includes(`40020e0203fc00${hex(Uint8Array.of(...u16(AS_TRANS)))}fde8010200010002`), 'AS_PATH carries AS_TRANS')
  t.ok(h.includes('c011180203' + '0000fc00fa56ea000000fde8' + '01020000000100000002'), 'AS4_PATH carries the true path')
  t.ok(h.includes(`c00706${hex(Uint8Array.of(...u16(AS_TRANS)))}0a000001`), 'AGGREGATOR carries AS_TRANS')
  t.ok(h.includes('c01208fa56ea010a000001'), 'AS4_AGGREGATOR carries the true AS')

  // Only 2-octet ASNs: no AS4_ attributes at all.
  const small = encode({ type: 'update', withdrawn: [], attributes: { origin: 0, asPath: [{ type: 2, asns: [1, 2] }], nextHop: 1, aggregator: { as: 5, address: 1 } }, nlri }, ctx)
  t.notOk(hex(small).includes('c011'), 'no AS4_PATH needed')
  t.notOk(hex(small).includes('c012'), 'no AS4_AGGREGATOR needed')
})

t.test('RFC 6793 4.2.3: a real AGGREGATOR AS makes AS4_PATH stale', async (t) => {
  const ctx = ctxWith({ as4: false })
  const attrs = bytes(
    attr(0x40, 1, [0]),
    attr(0x40, 2, [2, 2, ...u16(65001), ...u16(AS_TRANS)]),
    attr(0x40, 3, [192, 0, 2, 1]),
    attr(0xc0, 7, [...u16(65005), 10, 0, 0, 1]),
    attr(0xc0, 17, [2, 1, ...u32(4200000000)]),
    attr(0xc0, 18, [...u32(4200000001), 10, 0, 0, 1]),
  )
  const m = decodeUpdate(rawUpdate([], attrs, [8, 10]), 0, 23 + attrs.length + 2, ctx)
  t.same(m.attributes.asPath, [{ type: 2, asns: [65001, AS_TRANS] }])
  t.same(m.attributes.aggregator, { as: 65005, address: 0x0a000001 })
  // With AGGREGATOR = AS_TRANS both are used.
  const attrs2 = bytes(attrs.subarray(0, attrs.length - 11 - 9 - 9), attr(0xc0, 7, [...u16(AS_TRANS), 10, 0, 0, 1]), attr(0xc0, 17, [2, 1, ...u32(4200000000)]), attr(0xc0, 18, [...u32(4200000001), 10, 0, 0, 1]))
  const m2 = decodeUpdate(rawUpdate([], attrs2, [8, 10]), 0, 23 + attrs2.length + 2, ctx)
  t.same(m2.attributes.asPath, [{ type: 2, asns: [65001, 4200000000] }])
  t.same(m2.attributes.aggregator, { as: 4200000001, address: 0x0a000001 })
})

t.test('AS4_PATH and AS4_AGGREGATOR from a 4-octet speaker are ignored (RFC 6793 3)', async (t) => {
  const ctx = ctxWith()
  const attrs = bytes(mandatory(), attr(0xc0, 17, [2, 1, ...u32(7)]), attr(0xc0, 18, [...u32(7), 1, 1, 1, 1]))
  const m = decodeUpdate(rawUpdate([], attrs, [8, 10]), 0, 25 + attrs.length, ctx)
  t.same(m.attributes.asPath, [{ type: 2, asns: [65001] }])
  t.equal(m.attributes.aggregator, undefined)
  t.equal(m.report, undefined)
})

t.test('Extended Length flag honoured both ways', async (t) => {
  const ctx = ctxWith()
  // Received with Extended Length although short: kept, and re-encoded the same way.
  const attrs = bytes(attr(0x50, 1, [0]), attr(0x40, 2, []), attr(0x40, 3, [1, 2, 3, 4]), attr(0xd0, 8, u32(1)), attr(0xd0, 77, [9]))
  const upd = rawUpdate([], attrs, [8, 10])
  const m = decodeUpdate(upd, 0, upd.length, ctx)
  t.same(m.attributes.extendedLength, [1, 8])
  t.same(m.attributes.unknown, [{ flags: 0xd0, type: 77, value: Uint8Array.of(9) }])
  t.equal(hex(encode(m, ctx)), hex(upd), 're-encodes byte for byte')
  // Long values get the flag whatever was asked.
  const many = Array.from({ length: 100 }, (_, i) => i)
  const b = encode({ type: 'update', withdrawn: [], attributes: { origin: 0, asPath: [], nextHop: 1, communities: many, unknown: [{ flags: 0xc0, type: 99, value: new Uint8Array(300) }] }, nlri }, ctx)
  t.ok(hex(b).includes('d0080190'), 'COMMUNITIES of 400 bytes: flags 0xd0, 2-byte length')
  t.ok(hex(b).includes('d063012c'), 'unknown attribute of 300 bytes: Extended Length added')
  const back = decodeUpdate(b, 0, b.length, ctx)
  t.same(back.attributes.communities, many)
  t.equal(back.attributes.extendedLength, undefined, 'needed flags are not recorded as choices')
})

t.test('unknown optional attributes: passed through, Partial on re-advertisement, non-transitive dropped', async (t) => {
  const ctx = ctxWith()
  const a: PathAttributes = {
    origin: 0,
    asPath: [],
    nextHop: 1,
    unknown: [
      { flags: AttrFlag.Optional | AttrFlag.Transitive, type: 240, value: Uint8Array.of(0xde, 0xad) },
      { flags: AttrFlag.Optional, type: 241, value: Uint8Array.of(0xbe, 0xef) },
    ],
  }
  const b = encode({ type: 'update', withdrawn: [], attributes: a, nlri }, ctx)
  t.ok(hex(b).includes('c0f002dead'), 'transitive one byte for byte')
  t.ok(hex(b).includes('80f102beef'), 'non-transitive one byte for byte on the same hop')
  const re = forReadvertisement(decodeUpdate(b, 0, b.length, ctx).attributes)
  t.same(re.unknown, [{ flags: 0xe0, type: 240, value: Uint8Array.of(0xde, 0xad) }], 'Partial set, non-transitive gone')
  const b2 = encode({ type: 'update', withdrawn: [], attributes: re, nlri }, ctx)
  t.ok(hex(b2).includes('e0f002dead'))
  t.notOk(hex(b2).includes('f102'))
  t.equal(forReadvertisement({ origin: 1 }).origin, 1, 'sets without unknown attributes unchanged')
})

t.test('attribute bytes decode on their own (what the bulk sink hands out)', async (t) => {
  for (const as4 of [true, false]) {
    const ctx = ctxWith({ as4 })
    const bytesOut = encodeAttributes(full, ctx)
    t.same(decodeAttributeBytes(bytesOut, 0, bytesOut.length, ctx), full, `as4 ${as4}`)
  }
})

t.test('type codes on the wire are in ascending order after MP attributes', async (t) => {
  const ctx = ctxWith()
  const msg: UpdateMessage = {
    type: 'update',
    withdrawn: [],
    attributes: full,
    mpReach: { family: Family.Ipv6Unicast, nextHop: [new Uint8Array(16).fill(1)], nlri: [{ family: Family.Ipv6Unicast, prefix: new Uint8Array(16), length: 0 }] },
    mpUnreach: { family: Family.Ipv4Vpn, nlri: [] },
    nlri,
  }
  const b = encode(msg, ctx)
  const types: number[] = []
  const alen = (b[21]! << 8) | b[22]!
  for (let p = 23; p < 23 + alen; ) {
    const long = (b[p]! & 0x10) !== 0
    types.push(b[p + 1]!)
    p += (long ? 4 : 3) + (long ? (b[p + 2]! << 8) | b[p + 3]! : b[p + 2]!)
  }
  t.same(types.slice(0, 2), [AttrType.MpReachNlri, AttrType.MpUnreachNlri], 'MP attributes first (RFC 7606 5.1)')
  t.same(types.slice(2), [...types.slice(2)].sort((x, y) => x - y), 'the rest ascending')
})
