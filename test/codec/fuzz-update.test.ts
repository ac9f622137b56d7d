/**
 * Fuzzing the UPDATE decoder (fast-check): random bytes, random attribute soups, and mutations of
 * valid messages must each yield an UpdateMessage or a BgpError, never another exception; the bulk
 * decoder must reach the same outcome as the object decoder (same error, or the same routes,
 * attributes, next hops and RFC 7606 issues); valid messages round trip and decoded messages
 * re-encode and decode to themselves.
 *
 * About 110,000 cases in all by default (well under a minute on one core); FUZZ_SCALE=10 runs ten
 * times as many.
 */
import t from 'tap'
import fc from 'fast-check'
import { Family, type FamilyKey } from '../../bgp/codec/afi.js'
import type { PathAttributes } from '../../bgp/codec/attributes.js'
import type { CodecContext } from '../../bgp/codec/context.js'
import { BgpError } from '../../bgp/codec/errors.js'
import { decodeUpdateBulk } from '../../bgp/codec/bulk.js'
import type { ExtendedCommunity } from '../../bgp/codec/ext-communities.js'
import { families, type Nlri } from '../../bgp/codec/nlri.js'
import { BgpFamilyError, decodeUpdate, encodeUpdate, updateEncodingLength, type UpdateMessage } from '../../bgp/codec/update.js'
import { KeySink, allFamilies, ctxWith, hex, objectKeys, u16 } from './update-helpers.js'

const SCALE = Number(process.env.FUZZ_SCALE ?? 1)
const runs = (n: number) => Math.round(n * SCALE)

// ---------- contexts ----------
const arbCtx: fc.Arbitrary<CodecContext> = fc
  .record({
    as4: fc.boolean(),
    ebgp: fc.boolean(),
    fams: fc.subarray(allFamilies),
    addPath: fc.subarray(allFamilies, { maxLength: 3 }),
  })
  .map(({ as4, ebgp, fams, addPath }) =>
    ctxWith({ as4, ebgp, families: new Set(fams), addPathReceive: new Set(addPath), addPathSend: new Set(addPath), maxMessageLength: 65535 }),
  )

// ---------- outcome of both decode paths ----------
type Outcome = { error: string } | { keys: string[] }

function describe(e: unknown): string {
  if (!(e instanceof BgpError)) throw e // anything else escaping the codec fails the property
  return `${e.kind} ${e.code}/${e.subcode} ${e.action} ${hex(e.data)}${e instanceof BgpFamilyError ? ` family ${e.family}` : ''}`
}

function objectOutcome(b: Uint8Array, ctx: CodecContext): Outcome {
  try {
    return { keys: objectKeys(decodeUpdate(b, 0, b.length, ctx)) }
  } catch (e) {
    return { error: describe(e) }
  }
}

function bulkOutcome(b: Uint8Array, ctx: CodecContext): Outcome {
  const sink = new KeySink(ctx)
  try {
    decodeUpdateBulk(b, 0, b.length, ctx, sink)
    return { keys: sink.keys }
  } catch (e) {
    return { error: describe(e) }
  }
}

function agree(b: Uint8Array, ctx: CodecContext): boolean {
  const o = objectOutcome(b, ctx)
  const k = bulkOutcome(b, ctx)
  if (JSON.stringify(o) !== JSON.stringify(k)) {
    throw new Error(`paths disagree on ${hex(b)}\nobject: ${JSON.stringify(o)}\nbulk:   ${JSON.stringify(k)}`)
  }
  return true
}

function header(body: Uint8Array): Uint8Array {
  const m = new Uint8Array(19 + body.length)
  m.fill(0xff, 0, 16)
  m[16] = (m.length >>> 8) & 0xff
  m[17] = m.length & 0xff
  m[18] = 2
  m.set(body, 19)
  return m
}

// ---------- valid messages ----------
const arbAsn = fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 65536, max: 0xffffffff }))
const arbSegment = fc.record({ type: fc.constantFrom(1, 2, 3, 4) as fc.Arbitrary<1 | 2 | 3 | 4>, asns: fc.array(arbAsn, { minLength: 1, maxLength: 6 }) })
const arbExt: fc.Arbitrary<ExtendedCommunity> = fc.oneof(
  fc.record({ kind: fc.constant('route-target' as const), form: fc.constant('as2' as const), admin: fc.integer({ min: 0, max: 65535 }), assigned: fc.nat() }),
  fc.record({ kind: fc.constant('route-origin' as const), form: fc.constantFrom('ipv4' as const, 'as4' as const), admin: fc.nat(), assigned: fc.integer({ min: 0, max: 65535 }) }),
  fc.record({ kind: fc.constant('encapsulation' as const), tunnelType: fc.integer({ min: 0, max: 65535 }) }),
  fc.record({ kind: fc.constant('origin-vn' as const), as: fc.integer({ min: 0, max: 65535 }), vnIndex: fc.nat() }),
)

function arbAttributes(body: boolean): fc.Arbitrary<PathAttributes> {
  return fc.record(
    {
      origin: fc.integer({ min: 0, max: 2 }),
      asPath: fc.array(arbSegment.filter((s) => s.type === 1 || s.type === 2), { maxLength: 3 }),
      nextHop: fc.nat(),
      med: fc.nat(),
      localPref: fc.nat(),
      atomicAggregate: fc.constant(true),
      aggregator: fc.record({ as: arbAsn, address: fc.nat() }),
      communities: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
      extCommunities: fc.array(arbExt, { minLength: 1, maxLength: 3 }),
      largeCommunities: fc.array(fc.record({ global: fc.nat(), local1: fc.nat(), local2: fc.nat() }), { minLength: 1, maxLength: 2 }),
      otc: fc.nat(),
      unknown: fc.array(fc.record({ flags: fc.constantFrom(0xc0, 0xe0, 0x80), type: fc.integer({ min: 100, max: 255 }), value: fc.uint8Array({ maxLength: 8 }) }), { maxLength: 2 }).map((us) => {
        const seen = new Set<number>()
        return us.filter((u) => !seen.has(u.type) && seen.add(u.type)).sort((a, b) => a.type - b.type)
      }),
    },
    { requiredKeys: body ? ['origin', 'asPath', 'nextHop'] : ['origin', 'asPath'] },
  )
}

function arbNlri(family: FamilyKey, addPath: boolean): fc.Arbitrary<Nlri> {
  const f = families.get(family)!
  return fc
    .record({
      length: f.rtc ? fc.oneof(fc.constant(0), fc.integer({ min: 32, max: 96 })) : fc.integer({ min: 0, max: f.maxBits }),
      raw: fc.uint8Array({ minLength: f.addressBytes, maxLength: f.addressBytes }),
      pathId: fc.nat(),
      labels: fc.array(fc.integer({ min: 16, max: 0xfffff }), { minLength: 1, maxLength: 2 }),
      rd: fc.oneof(
        fc.record({ type: fc.constant(0), admin: fc.integer({ min: 0, max: 65535 }), assigned: fc.nat() }),
        fc.record({ type: fc.constantFrom(1, 2), admin: fc.nat(), assigned: fc.integer({ min: 0, max: 65535 }) }),
      ),
    })
    .map(({ length, raw, pathId, labels, rd }) => {
      const prefix = new Uint8Array(f.addressBytes)
      prefix.set(raw.subarray(0, (length + 7) >>> 3))
      const n: { -readonly [K in keyof Nlri]: Nlri[K] } = { family, prefix, length }
      if (addPath) n.pathId = pathId
      if (f.labeled) n.labels = labels.map((l, i) => (l << 4) | (i === labels.length - 1 ? 1 : 0))
      if (f.rd) n.rd = rd
      return n
    })
}

function nextHopArb(family: FamilyKey): fc.Arbitrary<Uint8Array[]> {
  const f = families.get(family)!
  const opts = f.afi === 1 ? [[4], [16], [16, 16]] : [[16], [16, 16]]
  return fc.constantFrom(...opts).chain((sizes) => fc.tuple(...sizes.map((n) => fc.uint8Array({ minLength: n, maxLength: n }))))
}

const arbValid: fc.Arbitrary<{ ctx: CodecContext; msg: UpdateMessage }> = arbCtx.chain((ctx) => {
  const fams = allFamilies.filter((f) => ctx.families.has(f))
  const ap4 = ctx.addPathReceive.has(Family.Ipv4Unicast)
  const v4 = (n: number) => fc.array(arbNlri(Family.Ipv4Unicast, ap4), { maxLength: n })
  const mpReach = fams.length === 0 ? fc.constant(undefined) : fc.option(
    fc.constantFrom(...fams).chain((family) =>
      fc.record({ family: fc.constant(family), nextHop: nextHopArb(family), nlri: fc.array(arbNlri(family, ctx.addPathReceive.has(family)), { minLength: 1, maxLength: 5 }) })),
    { nil: undefined })
  const mpUnreach = fams.length === 0 ? fc.constant(undefined) : fc.option(
    fc.constantFrom(...fams).chain((family) =>
      fc.record({ family: fc.constant(family), nlri: fc.array(arbNlri(family, ctx.addPathReceive.has(family)), { maxLength: 4 }).map((ns) => ns.map((n) => (n.labels ? { ...n, labels: [0x800000] } : n))) })),
    { nil: undefined })
  return fc.record({ withdrawn: v4(4), nlri: v4(5), mpReach, mpUnreach }).chain(({ withdrawn, nlri, mpReach, mpUnreach }) =>
    arbAttributes(nlri.length > 0).map((attributes) => {
      const announces = nlri.length > 0 || mpReach !== undefined
      const msg: { -readonly [K in keyof UpdateMessage]: UpdateMessage[K] } = { type: 'update', withdrawn, attributes: announces ? attributes : {}, nlri }
      if (mpReach !== undefined) msg.mpReach = mpReach
      if (mpUnreach !== undefined) msg.mpUnreach = mpUnreach
      // RFC 6793 4.2.3: an AGGREGATOR with a 2-octet AS on a 2-octet session makes the receiver
      // ignore AS4_PATH, so a valid NEW speaker's message would not round trip: give it a 4-octet AS.
      if (!ctx.as4 && msg.attributes.aggregator !== undefined && msg.attributes.aggregator.as <= 0xffff) {
        msg.attributes = { ...msg.attributes, aggregator: { ...msg.attributes.aggregator, as: msg.attributes.aggregator.as + 0x10000 } }
      }
      // Attributes the codec discards on eBGP sessions: keep the generator inside the valid space.
      if (ctx.ebgp && announces) {
        const { localPref: _l, originatorId: _o, clusterList: _c, ...rest } = msg.attributes
        msg.attributes = rest
      }
      return { ctx, msg }
    }),
  )
})

function enc(msg: UpdateMessage, ctx: CodecContext): Uint8Array {
  const b = new Uint8Array(updateEncodingLength(msg, ctx))
  encodeUpdate(msg, ctx, b, 0)
  return b
}

let total = 0

t.test('valid messages round trip and both paths agree', async (t) => {
  const n = runs(8000)
  fc.assert(
    fc.property(arbValid, ({ ctx, msg }) => {
      const b = enc(msg, ctx)
      const d = decodeUpdate(b, 0, b.length, ctx)
      if (d.report !== undefined) throw new Error(`valid message reported ${JSON.stringify(d.report)}: ${hex(b)}`)
      if (hex(enc(d, ctx)) !== hex(b)) throw new Error(`re-encode differs: ${hex(b)}`)
      return agree(b, ctx)
    }),
    { numRuns: n },
  )
  total += n
  t.pass(`${n} valid messages`)
})

// ---------- mutations of valid messages ----------
type Mutation = { kind: 'set'; at: number; value: number } | { kind: 'cut'; at: number } | { kind: 'insert'; at: number; bytes: Uint8Array } | { kind: 'dup'; at: number; len: number }

const arbMutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 0xff, 0x80, 0x40, 0x10, 1, 2, 3, 14, 15, 32, 33)) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('dup' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 40 }) }) },
)

function mutate(b: Uint8Array, ms: Mutation[]): Uint8Array {
  let body = Array.from(b.subarray(19))
  for (const m of ms) {
    if (body.length === 0) break
    const at = m.at % body.length
    if (m.kind === 'set') body[at] = m.value
    else if (m.kind === 'cut') body = body.slice(0, at)
    else if (m.kind === 'insert') body.splice(at, 0, ...m.bytes)
    else body.splice(at, 0, ...body.slice(at, at + m.len))
  }
  return header(Uint8Array.from(body.slice(0, 65535 - 19)))
}

t.test('mutated valid messages: a message or a BgpError, the same on both paths', async (t) => {
  const n = runs(45000)
  fc.assert(fc.property(arbValid, fc.array(arbMutation, { minLength: 1, maxLength: 3 }), ({ ctx, msg }, ms) => agree(mutate(enc(msg, ctx), ms), ctx)), { numRuns: n })
  total += n
  t.pass(`${n} mutated messages`)
})

// ---------- attribute soups ----------
const interestingTypes = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 32, 35, 0, 11, 99, 255]
const arbTlv: fc.Arbitrary<number[]> = fc
  .record({
    flags: fc.oneof(fc.constantFrom(0x40, 0x80, 0xc0, 0xe0, 0x50, 0x90, 0xd0, 0x00), fc.integer({ min: 0, max: 255 })),
    type: fc.oneof(fc.constantFrom(...interestingTypes), fc.integer({ min: 0, max: 255 })),
    value: fc.oneof(
      fc.uint8Array({ maxLength: 24 }),
      fc.constantFrom(Uint8Array.of(0), Uint8Array.of(2, 1, 0, 0, 0xfd, 0xe9), Uint8Array.of(2, 1, 0xfd, 0xe9), Uint8Array.of(192, 0, 2, 1)),
      // MP_REACH/MP_UNREACH-shaped values for known families
      fc.tuple(fc.constantFrom(...allFamilies), fc.constantFrom(4, 12, 16, 24, 32, 48, 5), fc.uint8Array({ maxLength: 30 })).map(([f, nh, rest]) =>
        Uint8Array.of(f >> 16, (f >> 8) & 0xff, f & 0xff, nh, ...new Array<number>(nh).fill(1), 0, ...rest)),
    ),
  })
  .map(({ flags, type, value }) => (flags & 0x10 ? [flags, type, ...u16(value.length), ...value] : [flags, type, value.length & 0xff, ...value]))

const arbPrefixes = fc.array(fc.tuple(fc.oneof(fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 255 })), fc.uint8Array({ maxLength: 5 })), { maxLength: 4 }).map((ps) =>
  ps.flatMap(([len, bytes]) => [len, ...bytes.subarray(0, (len + 7) >>> 3)]),
)

t.test('attribute soups: a message or a BgpError, the same on both paths', async (t) => {
  const n = runs(40000)
  fc.assert(
    fc.property(arbCtx, arbPrefixes, fc.array(arbTlv, { maxLength: 7 }), arbPrefixes, fc.integer({ min: -3, max: 3 }), (ctx, w, tlvs, nlri, skew) => {
      const attrs = tlvs.flat()
      const alen = Math.max(0, attrs.length + (skew === 0 || skew === 3 ? 0 : skew))
      return agree(header(Uint8Array.from([...u16(w.length), ...w, ...u16(alen), ...attrs, ...nlri])), ctx)
    }),
    { numRuns: n },
  )
  total += n
  t.pass(`${n} attribute soups`)
})

t.test('random bytes after a valid header', async (t) => {
  const n = runs(15000)
  fc.assert(fc.property(arbCtx, fc.uint8Array({ minLength: 0, maxLength: 120 }), (ctx, body) => agree(header(body), ctx)), { numRuns: n })
  total += n
  t.pass(`${n} random bodies`)
})

t.test('decoded messages re-encode and decode to themselves', async (t) => {
  const n = runs(5000)
  let checked = 0
  fc.assert(
    fc.property(arbValid, fc.array(arbMutation, { minLength: 1, maxLength: 2 }), ({ ctx, msg }, ms) => {
      let d: UpdateMessage
      try {
        const b = mutate(enc(msg, ctx), ms)
        d = decodeUpdate(b, 0, b.length, ctx)
      } catch (e) {
        describe(e)
        return true
      }
      if (d.treatAsWithdraw === true) return true
      // RFC 6793 4.2.3 on 2-octet sessions: an AGGREGATOR with a real 2-octet AS makes the receiver
      // ignore AS4_PATH, so a mutated AS4_AGGREGATOR that now holds a small AS cannot round trip.
      if (!ctx.as4 && d.attributes.aggregator !== undefined && d.attributes.aggregator.as <= 0xffff) return true
      const again = enc(d, ctx)
      const d2 = decodeUpdate(again, 0, again.length, ctx)
      // The recorded wire order may name AS4_PATH, which the encoder leaves out when RFC 6793 made
      // it irrelevant: compare everything but that bookkeeping.
      const strip = (m: UpdateMessage) => JSON.stringify({ ...m, report: undefined, attributes: { ...m.attributes, order: undefined } }, (_k, v) => (v instanceof Uint8Array ? hex(v) : v))
      if (strip(d2) !== strip(d)) throw new Error(`not idempotent: ${hex(again)}`)
      checked++
      return true
    }),
    { numRuns: n },
  )
  total += n
  t.ok(checked > n / 10, `${checked} decoded messages re-encoded`)
})

t.test('case count', async (t) => {
  t.ok(total >= 100000 * Math.min(1, SCALE), `${total} fuzz cases`)
})
