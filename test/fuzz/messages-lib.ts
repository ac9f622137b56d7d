/**
 * Shared by the CI fuzz test (test/codec/fuzz-messages.test.ts) and the long-running fuzzer
 * (test/fuzz/messages.ts): fast-check arbitraries for well-formed OPEN (with every capability kind),
 * NOTIFICATION, KEEPALIVE and ROUTE-REFRESH messages; a seed corpus of whole messages (those, UPDATEs,
 * the streams captured from real daemons, the malformed fixtures); mutations (byte flips, truncation,
 * length-field edits, insertions and deletions with the header length kept consistent, splices); and
 * the oracle `checkMessage`: any input must decode to a message or throw a BgpError, never anything
 * else, and a decoded non-UPDATE message must re-encode to bytes that decode and re-encode stably.
 */
import fc from 'fast-check'
import { readdirSync, readFileSync } from 'node:fs'
import { Family, familyKey } from '../../bgp/codec/afi.js'
import type { Capability } from '../../bgp/codec/capabilities.js'
import { type CodecContext, defaultContext } from '../../bgp/codec/context.js'
import { BgpError } from '../../bgp/codec/errors.js'
import { encapsulation, routeTarget } from '../../bgp/codec/ext-communities.js'
import { Framer } from '../../bgp/codec/framer.js'
import { KEEPALIVE } from '../../bgp/codec/keepalive.js'
import { type BgpMessage, decodeFramed, decodeMessage, encodeMessage } from '../../bgp/codec/message.js'
import type { NotificationMessage } from '../../bgp/codec/notification.js'
import { type OpenMessage, openEncodingLength } from '../../bgp/codec/open.js'
import type { RouteRefreshMessage } from '../../bgp/codec/route-refresh.js'
import type { UpdateMessage } from '../../bgp/codec/update.js'

// ---------------------------------------------------------------- arbitraries of well-formed values

const u8 = fc.integer({ min: 0, max: 255 })
const u16 = fc.integer({ min: 0, max: 0xffff })
const afi = fc.oneof(fc.constantFrom(1, 2, 25), u16)
const safi = fc.oneof(fc.constantFrom(1, 2, 4, 128, 132), u8)
/** Short UTF-8 names: 0..40 characters of any script, at most 4 bytes each, so 2 + 2*160 may exceed
 * 255: filtered by the capability arbitrary below. */
const name = fc.string({ unit: 'grapheme', maxLength: 20 })
const utf8 = new TextEncoder()

const knownCapability: fc.Arbitrary<Capability> = fc.oneof(
  fc.record({ type: fc.constant('multiprotocol' as const), afi, safi }),
  fc.record({ type: fc.constant('route-refresh' as const), code: fc.constantFrom(2 as const, 128 as const) }),
  fc.constant({ type: 'enhanced-route-refresh' as const }),
  fc.constant({ type: 'extended-message' as const }),
  fc.record({ type: fc.constant('as4' as const), asn: fc.integer({ min: 1, max: 0xffffffff }) }),
  fc.record({ type: fc.constant('role' as const), role: u8 }),
  fc.record({
    type: fc.constant('extended-next-hop' as const),
    entries: fc.array(fc.record({ afi, safi: u16, nextHopAfi: afi }), { maxLength: 8 }),
  }),
  fc.record({
    type: fc.constant('graceful-restart' as const),
    restarting: fc.boolean(),
    notification: fc.boolean(),
    restartTime: fc.integer({ min: 0, max: 4095 }),
    families: fc.array(fc.record({ afi, safi, forwarding: fc.boolean() }), { maxLength: 8 }),
  }),
  fc.record({
    type: fc.constant('long-lived-graceful-restart' as const),
    families: fc.array(fc.record({ afi, safi, forwarding: fc.boolean(), staleTime: fc.integer({ min: 0, max: 0xffffff }) }), { maxLength: 8 }),
  }),
  fc.record({
    type: fc.constant('add-path' as const),
    families: fc.array(
      fc.record({ afi, safi, send: fc.boolean(), receive: fc.boolean() }).filter((f) => f.send || f.receive),
      { maxLength: 8 },
    ),
  }),
  fc.record({ type: fc.constant('fqdn' as const), hostname: name, domain: name })
    .filter((c) => 2 + utf8.encode(c.hostname).length + utf8.encode(c.domain).length <= 255),
)

/** Codes the decoder does not know, so an `unknown` value decodes back as `unknown`. */
const unknownCode = fc.integer({ min: 0, max: 255 }).filter((c) => ![1, 2, 5, 6, 9, 64, 65, 69, 70, 71, 73, 128].includes(c))
const unknownCapability: fc.Arbitrary<Capability> = fc.record({
  type: fc.constant('unknown' as const),
  code: unknownCode,
  value: fc.uint8Array({ maxLength: 40 }),
})

export const capabilityArb: fc.Arbitrary<Capability> = fc.oneof({ weight: 4, arbitrary: knownCapability }, { weight: 1, arbitrary: unknownCapability })

export const openArb: fc.Arbitrary<OpenMessage> = fc
  .record({
    myAs: fc.integer({ min: 1, max: 0xffff }),
    holdTime: fc.oneof(fc.constant(0), fc.integer({ min: 3, max: 0xffff })),
    bgpId: fc.integer({ min: 1, max: 0xffffffff }),
    capabilities: fc.array(capabilityArb, { maxLength: 12 }),
    grouping: fc.oneof(fc.constant('per-parameter' as const), fc.constant('one' as const), fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 6 })),
    extended: fc.boolean(),
  })
  .map(({ grouping, extended, capabilities, ...rest }) => {
    const open: OpenMessage = { type: 'open', version: 4, ...rest, capabilities }
    let groups: number[] | undefined
    if (grouping === 'one') groups = [capabilities.length]
    else if (Array.isArray(grouping)) {
      // Fit the random group sizes to the number of capabilities; whatever is left goes last.
      groups = []
      let left = capabilities.length
      for (const g of grouping) { const n = Math.min(g, left); groups.push(n); left -= n }
      groups.push(left)
    }
    const withGroups = groups === undefined || groups.every((g) => g === 1) ? open : { ...open, parameterGroups: groups }
    if (!extended) return withGroups
    // The flag only means something when the plain form would do; a decoder drops it otherwise.
    const flagged = { ...withGroups, extendedParameters: true }
    return openEncodingLength(flagged) === openEncodingLength(withGroups) ? withGroups : flagged
  })

export const notificationArb: fc.Arbitrary<NotificationMessage> = fc.oneof(
  fc.record({ type: fc.constant('notification' as const), code: u8, subcode: u8, data: fc.uint8Array({ maxLength: 64 }) })
    // A Cease 2/4 whose data happens to be a shutdown communication decodes with `message`: skip.
    .filter((n) => !(n.code === 6 && (n.subcode === 2 || n.subcode === 4))),
  fc.record({ subcode: fc.constantFrom(2 as const, 4 as const), text: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }) })
    .filter(({ text }) => utf8.encode(text).length <= 255)
    .map(({ subcode, text }) => {
      const bytes = utf8.encode(text)
      const data = new Uint8Array(1 + bytes.length)
      data[0] = bytes.length
      data.set(bytes, 1)
      return { type: 'notification' as const, code: 6, subcode, data, message: text }
    }),
)

export const routeRefreshArb: fc.Arbitrary<RouteRefreshMessage> = fc.oneof(
  fc.record({ type: fc.constant('route-refresh' as const), afi, safi, subtype: u8 }),
  fc.record({ type: fc.constant('route-refresh' as const), afi, safi, subtype: fc.constant(0), orf: fc.uint8Array({ minLength: 1, maxLength: 30 }) }),
)

/** Any well-formed non-UPDATE message. */
export const messageArb: fc.Arbitrary<BgpMessage> = fc.oneof(
  { weight: 3, arbitrary: openArb },
  { weight: 2, arbitrary: notificationArb },
  { weight: 1, arbitrary: fc.constant(KEEPALIVE) },
  { weight: 2, arbitrary: routeRefreshArb },
)

// ---------------------------------------------------------------- contexts

const allFamilies = new Set([Family.Ipv4Unicast, Family.Ipv6Unicast, Family.Ipv4Labeled, Family.Ipv6Labeled, Family.Ipv4Vpn, Family.Ipv6Vpn, Family.RouteTarget])

/** Session contexts the fuzz decodes under: 2- and 4-octet AS, ADD-PATH, extended messages, eBGP. */
export const contexts: CodecContext[] = [
  defaultContext({ families: allFamilies }),
  defaultContext({ families: allFamilies, as4: false, ebgp: true }),
  defaultContext({ families: allFamilies, addPathReceive: allFamilies, addPathSend: allFamilies, maxMessageLength: 65535 }),
  defaultContext({ families: new Set([Family.Ipv4Unicast]), ebgp: true }),
]

// ---------------------------------------------------------------- seed corpus

function concatMessages(stream: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let p = 0; p + 19 <= stream.length;) {
    const len = (stream[p + 16]! << 8) | stream[p + 17]!
    if (len < 19 || p + len > stream.length) break
    out.push(stream.slice(p, p + len))
    p += len
  }
  return out
}

const sampleUpdates: UpdateMessage[] = [
  {
    type: 'update', withdrawn: [{ family: Family.Ipv4Unicast, prefix: Uint8Array.of(10, 9, 0, 0), length: 16 }],
    attributes: { origin: 0, asPath: [{ type: 2, asns: [64512, 4200000001] }, { type: 1, asns: [1, 2] }], nextHop: 0xc0000201, med: 10, communities: [0xffff0001] },
    nlri: [{ family: Family.Ipv4Unicast, prefix: Uint8Array.of(10, 1, 0, 0), length: 16 }, { family: Family.Ipv4Unicast, prefix: Uint8Array.of(0, 0, 0, 0), length: 0 }],
  },
  {
    type: 'update', withdrawn: [],
    attributes: { origin: 2, asPath: [], localPref: 100, extCommunities: [routeTarget(64512, 7), encapsulation(13)], originatorId: 5, clusterList: [1, 2] },
    mpReach: {
      family: Family.Ipv4Vpn, nextHop: [Uint8Array.of(192, 0, 2, 1)],
      nlri: [{ family: Family.Ipv4Vpn, prefix: Uint8Array.of(10, 2, 3, 0), length: 24, labels: [(16 << 4) | 1], rd: { type: 1, admin: 0xc0000201, assigned: 3 } }],
    },
    nlri: [],
  },
  {
    type: 'update', withdrawn: [], attributes: {},
    mpUnreach: { family: Family.Ipv6Unicast, nlri: [{ family: Family.Ipv6Unicast, prefix: new Uint8Array(16).fill(0x20, 0, 1), length: 8 }] },
    nlri: [],
  },
]

/**
 * Whole messages to mutate: generated ones, sample UPDATEs, every message of the captured streams,
 * and the malformed fixtures (their bytes are near misses already).
 */
export function seedCorpus(): Uint8Array[] {
  const seeds: Uint8Array[] = []
  const ctx = contexts[0]!
  for (const m of fc.sample(messageArb, { numRuns: 60, seed: 7 })) seeds.push(encodeMessage(m, ctx))
  for (const u of sampleUpdates) seeds.push(encodeMessage(u, ctx))
  const fixtures = new URL('../fixtures/', import.meta.url)
  try {
    for (const f of readdirSync(new URL('captured/', fixtures)).filter((f) => f.endsWith('.bin'))) {
      seeds.push(...concatMessages(new Uint8Array(readFileSync(new URL(`captured/${f}`, fixtures)))))
    }
  } catch { /* no captures: generated seeds only */ }
  try {
    for (const f of readdirSync(new URL('malformed/', fixtures)).filter((f) => f.endsWith('.hex'))) {
      const text = readFileSync(new URL(`malformed/${f}`, fixtures), 'utf8').replace(/#[^\n]*/g, '').replace(/[^0-9a-fA-F]/g, '')
      if (text.length % 2 === 0 && text.length >= 38) seeds.push(Uint8Array.from(Buffer.from(text, 'hex')))
    }
  } catch { /* no malformed corpus */ }
  return seeds
}

// ---------------------------------------------------------------- mutations

export type Mutation =
  | { op: 'flip'; at: number[]; xor: number[] }
  | { op: 'truncate'; at: number; fix: boolean }
  | { op: 'length'; at: number; value: number; fix: boolean }
  | { op: 'insert'; at: number; bytes: Uint8Array; fix: boolean }
  | { op: 'delete'; at: number; count: number; fix: boolean }
  | { op: 'splice'; other: number; at: number; fix: boolean }
  | { op: 'header-length'; value: number }

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), xor: fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 6, maxLength: 6 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat(), fix: fc.boolean() }),
  // Length fields inside bodies are single bytes or pairs: overwrite one byte (or two) anywhere
  // past the header with a boundary-ish value.
  fc.record({ op: fc.constant('length' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 127, 128, 254, 255), u8), fix: fc.boolean() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }), fix: fc.boolean() }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }), fix: fc.boolean() }),
  fc.record({ op: fc.constant('splice' as const), other: fc.nat(), at: fc.nat(), fix: fc.boolean() }),
  fc.record({ op: fc.constant('header-length' as const), value: fc.oneof(fc.constantFrom(0, 18, 19, 20, 21, 22, 23, 28, 29, 4096, 4097, 65535), u16) }),
)

function fixLength(b: Uint8Array): Uint8Array {
  if (b.length >= 18 && b.length <= 0xffff) {
    b[16] = b.length >>> 8
    b[17] = b.length & 0xff
  }
  return b
}

/** Applies a mutation to a copy of `seed` (header included); `corpus` feeds splices. */
export function mutate(seed: Uint8Array, m: Mutation, corpus: readonly Uint8Array[]): Uint8Array {
  const n = seed.length
  switch (m.op) {
    case 'flip': {
      const b = seed.slice()
      m.at.forEach((a, i) => { b[a % n] = b[a % n]! ^ m.xor[i]! })
      return b
    }
    case 'truncate': {
      const b = seed.slice(0, m.at % (n + 1))
      return m.fix ? fixLength(b) : b
    }
    case 'length': {
      const b = seed.slice()
      // Past the header when there is a body, so the header stays valid and the body parser is hit.
      const at = n > 19 ? 19 + (m.at % (n - 19)) : m.at % n
      b[at] = m.value
      return m.fix ? fixLength(b) : b
    }
    case 'insert': {
      const at = Math.min(n, 19 + (m.at % Math.max(1, n - 18)))
      const b = new Uint8Array(n + m.bytes.length)
      b.set(seed.subarray(0, at))
      b.set(m.bytes, at)
      b.set(seed.subarray(at), at + m.bytes.length)
      return m.fix ? fixLength(b) : b
    }
    case 'delete': {
      const at = Math.min(n, 19 + (m.at % Math.max(1, n - 18)))
      const b = new Uint8Array(Math.max(0, n - Math.min(m.count, n - at)))
      b.set(seed.subarray(0, at))
      b.set(seed.subarray(Math.min(n, at + m.count)), at)
      return m.fix ? fixLength(b) : b
    }
    case 'splice': {
      const other = corpus[m.other % corpus.length]!
      const at = m.at % (n + 1)
      const tail = other.subarray(Math.min(other.length, 19 + (m.at % Math.max(1, other.length - 18))))
      const b = new Uint8Array(at + tail.length)
      b.set(seed.subarray(0, at))
      b.set(tail, at)
      return m.fix ? fixLength(b) : b
    }
    case 'header-length': {
      const b = seed.slice()
      if (n >= 18) { b[16] = m.value >>> 8; b[17] = m.value & 0xff }
      return b
    }
  }
}

// ---------------------------------------------------------------- the oracle

export interface Tally { decoded: number; rejected: number }

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
}

/**
 * Decodes `bytes` as one message under `ctx`. Returns normally when the outcome is a message or a
 * BgpError; throws (a plain Error describing the failure) for anything else, which the callers
 * report with the input's hex.
 */
export function checkMessage(bytes: Uint8Array, ctx: CodecContext, tally?: Tally): void {
  let msg: BgpMessage
  try {
    msg = decodeMessage(bytes, 0, ctx)
  } catch (e) {
    if (e instanceof BgpError) {
      if (tally) tally.rejected++
      return
    }
    throw new Error(`decodeMessage threw a non-BgpError: ${e instanceof Error ? e.stack : String(e)}`)
  }
  if (tally) tally.decoded++
  if (msg.type === 'update') return
  // A decoded OPEN / NOTIFICATION / KEEPALIVE / ROUTE-REFRESH must re-encode, and that encoding must
  // be a fixed point (decode -> encode gives the same bytes again).
  const once = encodeMessage(msg, ctx)
  const again = encodeMessage(decodeMessage(once, 0, ctx), ctx)
  if (hex(once) !== hex(again)) throw new Error(`${msg.type}: re-encoding is not stable: ${hex(once)} vs ${hex(again)}`)
}

/** Frames `stream` cut at `cuts` and decodes every framed message; BgpError ends it quietly. */
export function checkStream(stream: Uint8Array, cuts: readonly number[], ctx: CodecContext): void {
  const framer = new Framer(ctx.maxMessageLength)
  const points = [0, ...[...cuts].map((c) => c % (stream.length + 1)).sort((a, b) => a - b), stream.length]
  try {
    for (let i = 1; i < points.length; i++) {
      framer.push(stream.subarray(points[i - 1]!, points[i]!))
      while (framer.next()) decodeFramed(framer.type, framer.buf, framer.offset, framer.length, ctx)
    }
  } catch (e) {
    if (e instanceof BgpError) return
    throw new Error(`framer/decodeFramed threw a non-BgpError: ${e instanceof Error ? e.stack : String(e)}`)
  }
}

export { familyKey, hex }
