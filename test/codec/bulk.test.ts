/**
 * The bulk path (bgp/codec/bulk.ts): the encoder's packed UPDATEs decode (object path) to exactly the
 * routes and attributes given, split at the session's maximum message length, and match the object
 * encoder byte for byte; the decoder hands out the same routes, attributes and next hops as the
 * object decoder, with host bits masked, ADD-PATH ids, deep label stacks and other families raw.
 */
import t from 'tap'
import { Family, type FamilyKey } from '../../bgp/codec/afi.js'
import { encodeAttributes, type PathAttributes } from '../../bgp/codec/attributes.js'
import { decodeUpdateBulk, encodeUpdatesBulk, type RouteBatch } from '../../bgp/codec/bulk.js'
import { encapsulation, routeTarget } from '../../bgp/codec/ext-communities.js'
import { labelEntry, type Nlri } from '../../bgp/codec/nlri.js'
import { decodeUpdate, updateAnnouncements, updateWithdrawals, type UpdateMessage } from '../../bgp/codec/update.js'
import { KeySink, attr, bytes, ctxWith, encode, hex, mandatory, objectKeys, rawUpdate, u32 } from './update-helpers.js'

const attrsV4: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [64512] }], nextHop: 0xc0000201, med: 10 }
const attrsMp: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [64512] }], localPref: 100, extCommunities: [routeTarget(64512, 1), encapsulation(13)] }

function batch(family: FamilyKey, count: number, addPath: boolean): RouteBatch {
  const v6 = family === Family.Ipv6Unicast || family === Family.Ipv6Vpn || family === Family.Ipv6Labeled
  const vpn = family === Family.Ipv4Vpn || family === Family.Ipv6Vpn
  const addr = new Uint32Array(count * (v6 ? 4 : 1))
  const length = new Uint8Array(count)
  const rd = new Uint32Array(count * 2)
  const label = new Uint32Array(count)
  const pathId = new Uint32Array(count)
  for (let i = 0; i < count; i++) {
    const len = v6 ? [0, 16, 48, 64, 127, 128][i % 6]! : [0, 8, 17, 24, 31, 32][i % 6]!
    length[i] = len
    if (v6) {
      const words = [0x20010db8, i, i * 7, i * 13]
      for (let w = 0; w < 4; w++) {
        const bits = len - w * 32
        const m = bits >= 32 ? 0xffffffff : bits <= 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
        addr[4 * i + w] = (words[w]! & m) >>> 0
      }
    } else {
      const m = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0
      addr[i] = ((0x0a000000 + i * 977) & m) >>> 0
    }
    rd[2 * i] = [64512, 0x00010a00, 0x0002fa56][i % 3]!
    rd[2 * i + 1] = [i, 0x00010000 | i, 0xea000000 | (i & 0xffff)][i % 3]! >>> 0
    label[i] = (16 + i) & 0xfffff
    pathId[i] = i * 3 + 1
  }
  return { family, count, addr, length, ...(vpn ? { rd } : {}), ...(vpn || family === Family.Ipv4Labeled || family === Family.Ipv6Labeled ? { label } : {}), ...(addPath ? { pathId } : {}) }
}

function expectedNlri(b: RouteBatch, i: number, withdraw: boolean, addPath: boolean): Nlri {
  const v6 = b.addr.length === 4 * b.count
  const prefix = new Uint8Array(v6 ? 16 : 4)
  for (let w = 0; w < prefix.length / 4; w++) {
    const a = b.addr[(v6 ? 4 * i : i) + w]!
    prefix.set(u32(a), 4 * w)
  }
  const n: { -readonly [K in keyof Nlri]: Nlri[K] } = { family: b.family, prefix, length: b.length[i]! }
  if (addPath) n.pathId = b.pathId![i]!
  if (b.label !== undefined) n.labels = [withdraw ? 0x800000 : labelEntry(b.label[i]!)]
  if (b.rd !== undefined) {
    const hi = b.rd[2 * i]!
    const lo = b.rd[2 * i + 1]!
    const type = hi >>> 16
    n.rd = type === 0 ? { type, admin: hi & 0xffff, assigned: lo } : { type, admin: (((hi & 0xffff) << 16) | (lo >>> 16)) >>> 0, assigned: lo & 0xffff }
  }
  return n
}

const cases: [FamilyKey, Uint8Array | null][] = [
  [Family.Ipv4Unicast, null],
  [Family.Ipv4Unicast, Uint8Array.of(192, 0, 2, 9)],
  [Family.Ipv6Unicast, new Uint8Array(32).fill(0xfe)],
  [Family.Ipv4Labeled, Uint8Array.of(192, 0, 2, 9)],
  [Family.Ipv6Labeled, new Uint8Array(16).fill(0x20)],
  [Family.Ipv4Vpn, Uint8Array.of(192, 0, 2, 9)],
  [Family.Ipv6Vpn, new Uint8Array(16).fill(0x20)],
  [Family.Ipv6Vpn, new Uint8Array(32).fill(0x20)],
]

t.test('bulk encoder: announcements and withdrawals of every family decode to the batch', async (t) => {
  for (const [family, nextHop] of cases) {
    for (const addPath of [false, true]) {
      const set = new Set(addPath ? [family] : [])
      const ctx = ctxWith({ addPathSend: set, addPathReceive: set })
      const b = batch(family, 2500, addPath)
      const body = family === Family.Ipv4Unicast && nextHop === null
      const a = body ? attrsV4 : attrsMp
      const attrs = encodeAttributes(a, ctx)
      const name = `${family} nh ${nextHop?.length ?? 'body'}${addPath ? ' add-path' : ''}`
      for (const withdraw of [false, true]) {
        const out: Uint8Array[] = []
        const n = encodeUpdatesBulk(ctx, b, withdraw ? null : attrs, withdraw ? null : nextHop, out)
        t.equal(n, out.length, `${name}: message count returned`)
        t.ok(n > 1, `${name}: split into ${n} messages`)
        const got: Nlri[] = []
        let ok = true
        for (const m of out) {
          if (m.length > 4096) ok = false
          const d = decodeUpdate(m, 0, m.length, ctx)
          if (d.report !== undefined) ok = false
          if (!withdraw) {
            if (JSON.stringify(d.attributes) !== JSON.stringify(a)) ok = false
            if (!body && d.mpReach!.nextHop.map(hex).join('') !== hex(nextHop!)) ok = false
          }
          got.push(...(withdraw ? updateWithdrawals(d) : updateAnnouncements(d)))
        }
        t.ok(ok, `${name} ${withdraw ? 'withdraw' : 'announce'}: every message within 4096 bytes, clean, same attributes and next hop`)
        t.same(got, Array.from({ length: b.count }, (_, i) => expectedNlri(b, i, withdraw, addPath)), `${name} ${withdraw ? 'withdraw' : 'announce'}: routes`)
      }
    }
  }
})

t.test('bulk encoder fills messages: 1,000 /24s with 20 bytes of attributes make one 4,087-byte UPDATE plus the rest', async (t) => {
  const ctx = ctxWith()
  const attrs = encodeAttributes({ origin: 0, asPath: [], nextHop: 1 }, ctx)
  t.equal(attrs.length, 14)
  const b: RouteBatch = { family: Family.Ipv4Unicast, count: 1100, addr: new Uint32Array(1100).map((_, i) => (0x0a000000 + i * 256) >>> 0), length: new Uint8Array(1100).fill(24) }
  const out: Uint8Array[] = []
  encodeUpdatesBulk(ctx, b, attrs, null, out)
  // 4096 - 23 - 14 = 4059 bytes of NLRI: 1014 routes of 4 bytes.
  t.same(out.map((m) => m.length), [23 + 14 + 1014 * 4, 23 + 14 + 86 * 4])
  const big: Uint8Array[] = []
  encodeUpdatesBulk(ctxWith({ maxMessageLength: 65535 }), b, attrs, null, big)
  t.equal(big.length, 1, 'one extended message (RFC 8654)')
})

t.test('bulk encoder bytes equal the object encoder bytes', async (t) => {
  const ctx = ctxWith()
  const b = batch(Family.Ipv4Vpn, 30, false)
  const attrs = encodeAttributes(attrsMp, ctx)
  const out: Uint8Array[] = []
  encodeUpdatesBulk(ctx, b, attrs, Uint8Array.of(192, 0, 2, 9), out)
  const msg: UpdateMessage = {
    type: 'update',
    withdrawn: [],
    attributes: attrsMp,
    mpReach: { family: Family.Ipv4Vpn, nextHop: [Uint8Array.of(192, 0, 2, 9)], nlri: Array.from({ length: 30 }, (_, i) => expectedNlri(b, i, false, false)) },
    nlri: [],
  }
  t.equal(out.length, 1)
  t.equal(hex(out[0]!), hex(encode(msg, ctx)))
  const w: Uint8Array[] = []
  encodeUpdatesBulk(ctx, batch(Family.Ipv4Unicast, 10, false), null, null, w)
  t.equal(hex(w[0]!), hex(encode({ type: 'update', withdrawn: Array.from({ length: 10 }, (_, i) => expectedNlri(batch(Family.Ipv4Unicast, 10, false), i, true, false)), attributes: {}, nlri: [] }, ctx)))
})

t.test('bulk encoder refuses what it cannot do', async (t) => {
  const ctx = ctxWith()
  const b = batch(Family.Ipv4Vpn, 3, false)
  t.throws(() => encodeUpdatesBulk(ctx, b, new Uint8Array(0), null, []), /need a next hop/)
  t.throws(() => encodeUpdatesBulk(ctx, b, new Uint8Array(0), new Uint8Array(5), []), /next hop of 5 bytes/)
  t.throws(() => encodeUpdatesBulk(ctx, { ...b, family: Family.RouteTarget }, null, null, []), /not supported/)
  t.throws(() => encodeUpdatesBulk(ctx, batch(Family.Ipv4Unicast, 3, false), new Uint8Array(4080), null, []), /no room for a route/)
})

t.test('bulk decoder agrees with the object decoder on every family', async (t) => {
  for (const [family, nextHop] of cases) {
    for (const addPath of [false, true]) {
      const set = new Set(addPath ? [family] : [])
      const ctx = ctxWith({ addPathSend: set, addPathReceive: set })
      const b = batch(family, 700, addPath)
      const body = family === Family.Ipv4Unicast && nextHop === null
      const attrs = encodeAttributes(body ? attrsV4 : attrsMp, ctx)
      const out: Uint8Array[] = []
      encodeUpdatesBulk(ctx, b, attrs, nextHop, out)
      encodeUpdatesBulk(ctx, b, null, null, out)
      let same = true
      let routes = 0
      for (const m of out) {
        const sink = new KeySink(ctx)
        routes += decodeUpdateBulk(m, 0, m.length, ctx, sink)
        if (JSON.stringify(sink.keys) !== JSON.stringify(objectKeys(decodeUpdate(m, 0, m.length, ctx)))) same = false
      }
      t.ok(same, `${family}${addPath ? ' add-path' : ''}: same keys`)
      t.equal(routes, 1400, 'route count returned')
    }
  }
})

t.test('bulk decoder: numbers, masks, views', async (t) => {
  const ctx = ctxWith()
  // 10.1.2.3/16 with host bits set comes out masked; NEXT_HOP and the attribute bytes as views.
  const attrs = mandatory()
  const upd = rawUpdate([8, 11], attrs, [16, 10, 1, 24, 192, 168, 1])
  const calls: string[] = []
  decodeUpdateBulk(upd, 0, upd.length, ctx, {
    attributes: (f, a, s, e, nh, ns, nl) => calls.push(`attrs ${f} ${hex(a.subarray(s, e))} ${hex(nh.subarray(ns, ns + nl))}`),
    ipv4: (w, id, addr, len) => calls.push(`${w} ${id} ${addr.toString(16)}/${len}`),
    ipv6: () => calls.push('ipv6'),
    vpnv4: () => calls.push('vpnv4'),
    vpnv6: () => calls.push('vpnv6'),
    nlri: () => calls.push('nlri'),
    issue: (i) => calls.push(`issue ${i.kind}`),
  })
  t.same(calls, [`true 0 b000000/8`, `attrs 257 ${hex(attrs)} c0000201`, 'false 0 a010000/16', 'false 0 c0a80100/24'])

  // MP_REACH last and a discarded attribute: the handed-out attributes are a clean copy.
  const mp = attr(0x90, 14, [0, 1, 128, 12, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 1, 0, 112, 0, 1, 1, 0, 0, 0xfc, 0, 0, 0, 0, 1, 10, 1, 2])
  const clean = bytes(attr(0x40, 1, [0]), attr(0x40, 2, []))
  const msg = rawUpdate([], bytes(attr(0x40, 1, [0]), attr(0x40, 6, [1]), attr(0x40, 2, []), mp), [])
  const seen: string[] = []
  decodeUpdateBulk(msg, 0, msg.length, ctx, {
    attributes: (f, a, s, e, nh, ns, nl) => seen.push(`attrs ${f} ${hex(a.subarray(s, e))} ${hex(nh.subarray(ns, ns + nl))}`),
    ipv4: () => seen.push('ipv4'),
    ipv6: () => seen.push('ipv6'),
    vpnv4: (w, id, hi, lo, label, addr, len) => seen.push(`vpn ${w} ${id} ${hi}:${lo} ${label} ${addr.toString(16)}/${len}`),
    vpnv6: () => seen.push('vpnv6'),
    nlri: () => seen.push('nlri'),
    issue: (i) => seen.push(`issue ${i.kind} ${i.action}`),
  })
  t.same(seen, ['issue attribute-length attribute-discard', `attrs 384 ${hex(clean)} 0000000000000000c0000201`, 'vpn false 0 64512:1 16 a010200/24'])
})

t.test('deep label stacks, labeled unicast and RTC come raw', async (t) => {
  const ctx = ctxWith()
  const deep = [136, 0, 1, 0, 0, 2, 1, 0, 0, 0xfc, 0, 0, 0, 0, 1, 10, 1, 2] // two labels, RD, /24
  const msgs = [
    rawUpdate([], bytes(attr(0x90, 14, [0, 1, 128, 12, ...new Array(8).fill(0), 192, 0, 2, 1, 0, ...deep]), mandatory()), []),
    rawUpdate([], bytes(attr(0x90, 14, [0, 1, 4, 4, 192, 0, 2, 1, 0, 48, 0, 1, 1, 10, 1, 2]), mandatory()), []),
    rawUpdate([], bytes(attr(0x90, 14, [0, 1, 132, 4, 192, 0, 2, 1, 0, 0, 96, ...u32(64512), 0, 2, 0xfc, 0, 0, 0, 0, 1]), mandatory()), []),
  ]
  for (const m of msgs) {
    const sink = new KeySink(ctx)
    decodeUpdateBulk(m, 0, m.length, ctx, sink)
    t.same(sink.keys, objectKeys(decodeUpdate(m, 0, m.length, ctx)))
    t.ok(sink.keys.some((k) => k.includes(' obj ')), 'handed out through nlri()')
  }
})

t.test('a sink may decode another UPDATE from inside a call', async (t) => {
  const ctx = ctxWith()
  const outer = rawUpdate([], bytes(attr(0x40, 1, [0]), attr(0x40, 6, [1]), attr(0x40, 2, []), attr(0x40, 3, [192, 0, 2, 1])), [8, 10, 16, 11, 1])
  const inner = rawUpdate([], bytes(attr(0x40, 1, [2]), attr(0x40, 2, []), attr(0x40, 3, [192, 0, 2, 2])), [24, 12, 1, 2])
  const expectOuter = new KeySink(ctx)
  decodeUpdateBulk(outer, 0, outer.length, ctx, expectOuter)
  const expectInner = new KeySink(ctx)
  decodeUpdateBulk(inner, 0, inner.length, ctx, expectInner)
  const innerKeys: string[][] = []
  class Nested extends KeySink {
    override attributes(...args: Parameters<KeySink['attributes']>): void {
      const k = new KeySink(ctx)
      decodeUpdateBulk(inner, 0, inner.length, ctx, k)
      innerKeys.push(k.keys)
      super.attributes(...args)
    }
    override ipv4(...args: Parameters<KeySink['ipv4']>): void {
      const k = new KeySink(ctx)
      decodeUpdateBulk(inner, 0, inner.length, ctx, k)
      innerKeys.push(k.keys)
      super.ipv4(...args)
    }
  }
  const nested = new Nested(ctx)
  decodeUpdateBulk(outer, 0, outer.length, ctx, nested)
  t.same(nested.keys, expectOuter.keys, 'outer decode unaffected')
  t.equal(innerKeys.length, 3)
  for (const k of innerKeys) t.same(k, expectInner.keys, 'inner decode complete')
})
