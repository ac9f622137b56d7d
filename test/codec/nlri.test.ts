/**
 * NLRI families (table-driven): IPv4/IPv6 unicast, labeled unicast (RFC 8277), VPN-IPv4/VPN-IPv6
 * (RFC 4364/4659, RD types 0/1/2, label stacks, withdraw label forms), route-target constraint
 * (RFC 4684, default route target), ADD-PATH path ids (RFC 7911) on every family, and the next-hop
 * forms of MP_REACH_NLRI (IPv4, IPv6 global and global+link-local, VPN form, RFC 8950).
 */
import t from 'tap'
import { Family, type FamilyKey } from '../../bgp/codec/afi.js'
import {
  checkNlri,
  families,
  labelEntry,
  labelValue,
  nlriToString,
  parseRd,
  rdToString,
  type Nlri,
} from '../../bgp/codec/nlri.js'
import { decodeUpdate, type UpdateMessage } from '../../bgp/codec/update.js'
import { decodeUpdateBulk } from '../../bgp/codec/bulk.js'
import { roundTrip, fromHex } from '../helpers/round-trip.js'
import { allFamilies, ctxWith, encode, hex, KeySink, routeKey, updateCodec } from './update-helpers.js'

const attrs = { origin: 0, asPath: [{ type: 2 as const, asns: [65001] }] }
const v6 = (s: string): Uint8Array => {
  const [head = '', tail = ''] = s.split('::')
  const h = head ? head.split(':') : []
  const tl = tail ? tail.split(':') : []
  const words = [...h, ...new Array<string>(8 - h.length - tl.length).fill('0'), ...tl]
  return Uint8Array.from(words.flatMap((w) => [parseInt(w, 16) >> 8, parseInt(w, 16) & 0xff]))
}
const rd0 = { type: 0, admin: 64512, assigned: 7 }
const rd1 = { type: 1, admin: 0xc0000201, assigned: 9 }
const rd2 = { type: 2, admin: 4200000000, assigned: 3 }

function sample(family: FamilyKey, i: number): Nlri {
  switch (family) {
    case Family.Ipv4Unicast:
      return { family, prefix: Uint8Array.of(10, i, 0, 0), length: 16 }
    case Family.Ipv6Unicast:
      return { family, prefix: v6(`2001:db8:${i}::`), length: 48 }
    case Family.Ipv4Labeled:
      return { family, prefix: Uint8Array.of(10, i, 1, 0), length: 24, labels: [labelEntry(100 + i)] }
    case Family.Ipv6Labeled:
      return { family, prefix: v6(`2001:db8:${i}::`), length: 64, labels: [labelEntry(200, false), labelEntry(300 + i)] }
    case Family.Ipv4Vpn:
      return { family, prefix: Uint8Array.of(10, i, 2, 1), length: 32, labels: [labelEntry(1000 + i)], rd: [rd0, rd1, rd2][i % 3]! }
    case Family.Ipv6Vpn:
      return { family, prefix: v6(`fd00:${i}::`), length: 32, labels: [labelEntry(2000 + i)], rd: [rd0, rd1, rd2][i % 3]! }
    default: {
      const p = new Uint8Array(12)
      p.set([0, 0, 0xfc, 0, 0x00, 0x02, 0xfc, 0, 0, 0, 0, i])
      return { family, prefix: p, length: 96 }
    }
  }
}

function nextHopFor(family: FamilyKey): Uint8Array[] {
  const f = families.get(family)!
  return f.afi === 1 ? [Uint8Array.of(192, 0, 2, 1)] : [v6('2001:db8::1'), v6('fe80::1')]
}

t.test('every family round trips in MP_REACH and MP_UNREACH, with and without ADD-PATH', async (t) => {
  for (const family of allFamilies) {
    for (const addPath of [false, true]) {
      const set = new Set(addPath ? [family] : [])
      const ctx = ctxWith({ addPathSend: set, addPathReceive: set })
      const name = `${families.get(family)!.name}${addPath ? ' add-path' : ''}`
      const withId = (n: Nlri, i: number): Nlri => (addPath ? { ...n, pathId: i * 7 + 1 } : n)
      const reach: UpdateMessage = {
        type: 'update',
        withdrawn: [],
        attributes: attrs,
        mpReach: { family, nextHop: nextHopFor(family), nlri: [0, 1, 2, 3].map((i) => withId(sample(family, i), i)) },
        nlri: [],
      }
      roundTrip(t, updateCodec(ctx), reach, { name: `${name} reach` })
      const unreach: UpdateMessage = {
        type: 'update',
        withdrawn: [],
        attributes: {},
        mpUnreach: { family, nlri: [0, 1].map((i) => withId(sample(family, i), i)) },
        nlri: [],
      }
      roundTrip(t, updateCodec(ctx), unreach, { name: `${name} unreach` })
    }
  }
})

t.test('IPv4 unicast in the body with ADD-PATH', async (t) => {
  const set = new Set([Family.Ipv4Unicast])
  const ctx = ctxWith({ addPathSend: set, addPathReceive: set })
  const msg: UpdateMessage = {
    type: 'update',
    withdrawn: [{ family: Family.Ipv4Unicast, prefix: Uint8Array.of(10, 9, 0, 0), length: 16, pathId: 3 }],
    attributes: { ...attrs, nextHop: 0xc0000201 },
    nlri: [
      { family: Family.Ipv4Unicast, prefix: Uint8Array.of(0, 0, 0, 0), length: 0, pathId: 1 },
      { family: Family.Ipv4Unicast, prefix: Uint8Array.of(192, 0, 2, 255), length: 32, pathId: 0xffffffff },
    ],
  }
  const b = roundTrip(t, updateCodec(ctx), msg)
  t.match(hex(b), /0000000100ffffffff20c00002ff$/, 'path id, length, prefix on the wire')
})

t.test('VPN-IPv4 NLRI wire form (RFC 4364 4.3.4)', async (t) => {
  const ctx = ctxWith()
  const msg: UpdateMessage = {
    type: 'update',
    withdrawn: [],
    attributes: attrs,
    mpReach: {
      family: Family.Ipv4Vpn,
      nextHop: [Uint8Array.of(192, 0, 2, 1)],
      nlri: [{ family: Family.Ipv4Vpn, prefix: Uint8Array.of(10, 1, 2, 0), length: 24, labels: [labelEntry(16)], rd: rd0 }],
    },
    nlri: [],
  }
  const b = encode(msg, ctx)
  // MP_REACH first: flags 0x80, type 14, len, AFI 1 SAFI 128, NH len 12, RD 0 + 192.0.2.1, reserved,
  // NLRI length 24+64+24 = 112, label 16 BoS = 000101, RD 0:64512:7, 10.1.2.
  t.equal(hex(b.subarray(23, 23 + 3 + 32)), '800e200001800c0000000000000000c000020100700001010000fc00000000070a0102')
  t.equal(labelValue(labelEntry(16)), 16)
})

t.test('withdraw label forms: 0x800000 and 0x000000 end the stack (RFC 8277 2.4)', async (t) => {
  const ctx = ctxWith()
  for (const label of ['800000', '000000']) {
    // MP_UNREACH VPN-IPv4: len 24+64+32 = 120, label, RD 0:64512:7, 10.1.2.3
    const value = fromHex(`000180 78 ${label} 0000fc0000000007 0a010203`)
    const attr = Uint8Array.from([0x80, 15, value.length, ...value])
    const upd = Uint8Array.from([...new Array(16).fill(0xff), 0, 23 + attr.length, 2, 0, 0, 0, attr.length, ...attr])
    const m = decodeUpdate(upd, 0, upd.length, ctx)
    t.same(m.mpUnreach?.nlri, [{ family: Family.Ipv4Vpn, prefix: Uint8Array.of(10, 1, 2, 3), length: 32, labels: [parseInt(label, 16)], rd: rd0 }], `label ${label}`)
    t.equal(hex(encode(m, ctx)), hex(upd), `label ${label} re-encodes`)
  }
  // Encoding a labeled withdrawal without labels writes the compatibility value.
  const w = encode({ type: 'update', withdrawn: [], attributes: {}, nlri: [], mpUnreach: { family: Family.Ipv4Labeled, nlri: [{ family: Family.Ipv4Labeled, prefix: Uint8Array.of(10, 0, 0, 0), length: 8 }] } }, ctx)
  t.ok(hex(w).endsWith('208000000a'), 'length 32, label 0x800000, 10')
})

t.test('announcement: label 0 without bottom-of-stack is a stack entry, not its end (RFC 8277 2.4)', async (t) => {
  const ctx = ctxWith()
  // MP_REACH VPN-IPv4: next hop RD 0 + 192.0.2.1; NLRI length 48+64+24 = 136: label 0 (no BoS),
  // label 16 BoS, RD 0:64512:7, 10.1.2.0/24.
  const nlri = fromHex('88 000000 000101 0000fc0000000007 0a0102')
  const value = Uint8Array.from([0, 1, 128, 12, ...new Array(8).fill(0), 192, 0, 2, 1, 0, ...nlri])
  const pathAttrs = Uint8Array.from([0x40, 1, 1, 0, 0x40, 2, 0, 0x80, 14, value.length, ...value])
  const upd = Uint8Array.from([...new Array(16).fill(0xff), 0, 23 + pathAttrs.length, 2, 0, 0, 0, pathAttrs.length, ...pathAttrs])
  const m = decodeUpdate(upd, 0, upd.length, ctx)
  t.same(m.mpReach?.nlri, [{ family: Family.Ipv4Vpn, prefix: Uint8Array.of(10, 1, 2, 0), length: 24, labels: [0, labelEntry(16)], rd: rd0 }], 'two labels, then RD and prefix')
  t.equal(hex(encode(m, ctx)), hex(upd), 're-encodes byte for byte')
  const sink = new KeySink(ctx)
  decodeUpdateBulk(upd, 0, upd.length, ctx, sink)
  t.same(sink.keys.slice(1), [routeKey(false, m.mpReach!.nlri[0]!)], 'the bulk path hands the two-label route out whole')
  // The same label as a withdrawal: there label 0 is the compatibility value and ends the stack.
  const unreachValue = Uint8Array.from([0, 1, 128, ...fromHex('70 000000 0000fc0000000007 0a0102')])
  const w = Uint8Array.from([...new Array(16).fill(0xff), 0, 23 + 3 + unreachValue.length, 2, 0, 0, 0, 3 + unreachValue.length, 0x80, 15, unreachValue.length, ...unreachValue])
  t.same(decodeUpdate(w, 0, w.length, ctx).mpUnreach?.nlri, [{ family: Family.Ipv4Vpn, prefix: Uint8Array.of(10, 1, 2, 0), length: 24, labels: [0], rd: rd0 }], 'withdrawal: label 0 ends the stack')
})

t.test('route-target constraint: default, partial and full lengths (RFC 4684 4)', async (t) => {
  const ctx = ctxWith()
  const rt = (len: number, bytes: number[]): Nlri => {
    const p = new Uint8Array(12)
    p.set(bytes)
    return { family: Family.RouteTarget, prefix: p, length: len }
  }
  const nlri = [rt(0, []), rt(32, [0, 0, 0xfc, 0]), rt(48, [0, 0, 0xfc, 0, 0, 2]), rt(96, [0, 0, 0xfc, 0, 0, 2, 0xfc, 0, 0, 0, 0, 100])]
  const b = roundTrip(t, updateCodec(ctx), { type: 'update', withdrawn: [], attributes: attrs, mpReach: { family: Family.RouteTarget, nextHop: [Uint8Array.of(192, 0, 2, 1)], nlri }, nlri: [] })
  t.ok(hex(b).includes('00018404c00002010000'), 'AFI 1 SAFI 132, default route target is one zero octet')
  t.equal(nlriToString(nlri[0]!), 'rtc default')
  t.equal(nlriToString(nlri[3]!), 'rtc 64512:0002fc0000000064/96')
  const f = families.get(Family.RouteTarget)!
  t.equal(checkNlri(f, Uint8Array.of(16, 0, 0), 0, 3, false, false), 2, 'length 16 (below 32) rejected')
  t.equal(checkNlri(f, Uint8Array.of(97, ...new Array(13).fill(0)), 0, 14, false, false), 2, 'length 97 rejected')
})

t.test('next-hop forms', async (t) => {
  const ctx = ctxWith()
  const forms: [FamilyKey, Uint8Array[], number][] = [
    [Family.Ipv4Unicast, [Uint8Array.of(192, 0, 2, 1)], 4],
    [Family.Ipv4Unicast, [v6('2001:db8::1')], 16], // RFC 8950
    [Family.Ipv4Unicast, [v6('2001:db8::1'), v6('fe80::1')], 32], // RFC 8950
    [Family.Ipv6Unicast, [v6('2001:db8::1')], 16],
    [Family.Ipv6Unicast, [v6('2001:db8::1'), v6('fe80::1')], 32],
    [Family.Ipv4Vpn, [Uint8Array.of(192, 0, 2, 1)], 12],
    [Family.Ipv4Vpn, [v6('2001:db8::1')], 24], // RFC 8950 for VPN-IPv4
    [Family.Ipv6Vpn, [v6('2001:db8::1')], 24],
    [Family.Ipv6Vpn, [v6('2001:db8::1'), v6('fe80::1')], 48],
  ]
  for (const [family, nextHop, len] of forms) {
    const msg: UpdateMessage = { type: 'update', withdrawn: [], attributes: attrs, mpReach: { family, nextHop, nlri: [sample(family, 1)] }, nlri: [] }
    const b = roundTrip(t, updateCodec(ctx), msg, { name: `${families.get(family)!.name} next hop ${len}` })
    t.equal(b[23 + 3 + 3], len, `next-hop length octet ${len}`)
  }
})

t.test('route distinguishers and text forms', async (t) => {
  t.equal(rdToString(rd0), '64512:7')
  t.equal(rdToString(rd1), '192.0.2.1:9')
  t.equal(rdToString(rd2), '4200000000:3')
  t.equal(rdToString({ type: 2, admin: 100, assigned: 1 }), '100L:1')
  for (const rd of [rd0, rd1, rd2, { type: 2, admin: 100, assigned: 1 }]) t.same(parseRd(rdToString(rd)), rd)
  t.throws(() => parseRd('1.2.3.4:70000'), /0..65535/)
  t.throws(() => parseRd('x'), /ADMIN:NUMBER/)
  t.equal(nlriToString(sample(Family.Ipv4Vpn, 1)), '192.0.2.1:9:10.1.2.1/32 label 1001')
  t.equal(nlriToString({ ...sample(Family.Ipv6Unicast, 1), pathId: 4 }), '2001:db8:1::/48 path-id 4')
})
