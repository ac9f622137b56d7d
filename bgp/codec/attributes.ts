/**
 * Path attributes (RFC 4271 4.3 and 5), table-driven like BIRD's `bgp_attr_table`: one entry per type
 * code with its name, the Optional/Transitive flags it must carry, the RFC 7606 action when it is
 * malformed, a non-allocating check, a decoder, and an encoder. A new attribute is a new entry.
 *
 * Attributes: ORIGIN, AS_PATH, NEXT_HOP, MULTI_EXIT_DISC, LOCAL_PREF, ATOMIC_AGGREGATE, AGGREGATOR
 * (RFC 4271), COMMUNITIES (RFC 1997), ORIGINATOR_ID and CLUSTER_LIST (RFC 4456), MP_REACH_NLRI and
 * MP_UNREACH_NLRI (RFC 4760; their values are handled by update.ts, the table only holds their
 * flags), EXTENDED_COMMUNITIES (RFC 4360), AS4_PATH and AS4_AGGREGATOR (RFC 6793), LARGE_COMMUNITY
 * (RFC 8092), OTC (RFC 9234). Unknown optional attributes are kept byte for byte with their flags;
 * `forReadvertisement` sets the Partial bit on the transitive ones and drops the non-transitive ones
 * (RFC 4271 5 and 9.1.4 of the BGP spec's attribute handling).
 *
 * Error handling is RFC 7606 section 7, attribute by attribute (see `attributeTable`); a length that
 * contradicts the type is Attribute Length Error (subcode 5), a bad value of an optional attribute
 * Optional Attribute Error (9); the NOTIFICATION data is the whole attribute (RFC 4271 6.3). Flags
 * are checked as RFC 7606 3 c says (Optional and Transitive bits against `flags`), and the Partial
 * bit as RFC 4271 4.3 says (only optional transitive attributes may carry it); a conflict takes the
 * attribute's action. NEXT_HOP is checked for its length only: whether it is a martian or our own
 * address is for the session, which knows its addresses and its peer's configuration.
 *
 * On a 2-octet session (CodecContext.as4 false) AS_PATH and AGGREGATOR carry 2-octet ASNs and the
 * true 4-octet values travel in AS4_PATH/AS4_AGGREGATOR; decoding merges them (RFC 6793 4.2.3) so a
 * PathAttributes always holds 4-octet values, and encoding splits them again.
 */
import {
  AS_TRANS,
  asPathLength,
  checkAsPath,
  decodeAsPath,
  mergeAs4Path,
  needsAs4,
  writeAsPath,
  withoutConfed,
  type AsPath,
} from './as-path.js'
import {
  decodeCommunities,
  decodeLargeCommunities,
  readU32,
  writeCommunities,
  writeLargeCommunities,
  writeU32,
  type LargeCommunity,
} from './communities.js'
import type { CodecContext } from './context.js'
import { UpdateSubcode, type ErrorAction } from './errors.js'
import { decodeExtCommunities, writeExtCommunities, type ExtendedCommunity } from './ext-communities.js'

export const AttrType = {
  Origin: 1,
  AsPath: 2,
  NextHop: 3,
  MultiExitDisc: 4,
  LocalPref: 5,
  AtomicAggregate: 6,
  Aggregator: 7,
  Communities: 8,
  OriginatorId: 9,
  ClusterList: 10,
  MpReachNlri: 14,
  MpUnreachNlri: 15,
  ExtendedCommunities: 16,
  As4Path: 17,
  As4Aggregator: 18,
  LargeCommunity: 32,
  Otc: 35,
} as const

export const AttrFlag = {
  Optional: 0x80,
  Transitive: 0x40,
  Partial: 0x20,
  ExtendedLength: 0x10,
} as const

export const Origin = { Igp: 0, Egp: 1, Incomplete: 2 } as const

export interface Aggregator {
  readonly as: number
  /** IPv4 address as a uint32. */
  readonly address: number
}

/** An attribute the codec does not know, kept as received. */
export interface RawAttribute {
  readonly flags: number
  readonly type: number
  readonly value: Uint8Array
}

export interface PathAttributes {
  readonly origin?: number
  /** The true path: on 2-octet sessions already merged with AS4_PATH. */
  readonly asPath?: AsPath
  /** NEXT_HOP as a uint32 (IPv4). */
  readonly nextHop?: number
  readonly med?: number
  readonly localPref?: number
  readonly atomicAggregate?: boolean
  /** On 2-octet sessions already merged with AS4_AGGREGATOR. */
  readonly aggregator?: Aggregator
  readonly communities?: readonly number[]
  readonly originatorId?: number
  readonly clusterList?: readonly number[]
  readonly extCommunities?: readonly ExtendedCommunity[]
  readonly largeCommunities?: readonly LargeCommunity[]
  /** Only-To-Customer (RFC 9234): an ASN. */
  readonly otc?: number
  /** Unrecognized optional attributes, in type order, flags as received. */
  readonly unknown?: readonly RawAttribute[]
  /** Type codes that arrived with the Extended Length flag though they fit one length octet; the
   * encoder does the same so decoded messages re-encode byte for byte. */
  readonly extendedLength?: readonly number[]
  /** Type codes in the order they arrived (MP_REACH/MP_UNREACH included), recorded only when it was
   * not the canonical order (MP attributes first, then ascending): the encoder follows it, so what
   * GoBGP or ExaBGP sent re-encodes byte for byte. */
  readonly order?: readonly number[]
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }
/** Work object of the decoder: PathAttributes plus the RFC 6793 halves not yet merged. */
export type AttributesBuilder = Mutable<PathAttributes> & { as4Path?: AsPath; as4Aggregator?: Aggregator }

export interface AttributeSpec {
  readonly type: number
  readonly name: string
  /** Optional and Transitive bits the attribute must carry (RFC 7606 3 c). */
  readonly flags: number
  /** RFC 7606 action when the attribute is malformed (flags included). */
  readonly action: ErrorAction
  /** Attribute RFC 4456/4271 says to ignore from eBGP peers (discarded, reported). */
  readonly ibgpOnly?: boolean
  /** Returns 0 when the value is acceptable, else the UPDATE Message Error subcode. */
  check(buf: Uint8Array, start: number, len: number, ctx: CodecContext): number
  decode(buf: Uint8Array, start: number, len: number, ctx: CodecContext, out: AttributesBuilder): void
  /** Value length to encode, or -1 when the attribute is absent (for this session). */
  valueLength(a: PathAttributes, ctx: CodecContext): number
  write(a: PathAttributes, ctx: CodecContext, buf: Uint8Array, offset: number): void
}

const O = AttrFlag.Optional
const T = AttrFlag.Transitive
const LEN = UpdateSubcode.AttributeLengthError

const exact = (n: number) => (_b: Uint8Array, _s: number, len: number): number => (len === n ? 0 : LEN)
const multipleOf = (n: number) => (_b: Uint8Array, _s: number, len: number): number => (len > 0 && len % n === 0 ? 0 : LEN)
const u32Value = (get: (a: PathAttributes) => number | undefined) => ({
  valueLength: (a: PathAttributes) => (get(a) === undefined ? -1 : 4),
  write: (a: PathAttributes, _c: CodecContext, b: Uint8Array, o: number) => writeU32(b, o, get(a) as number),
})
const none = (): number => -1
const confedScratch = new Int32Array(1)
const nothing = (): void => {}

function aggregatorWidth(ctx: CodecContext): number {
  return ctx.as4 ? 8 : 6
}
function readAggregator(buf: Uint8Array, s: number, asBytes: number): Aggregator {
  const as = asBytes === 4 ? readU32(buf, s) : ((buf[s] as number) << 8) | (buf[s + 1] as number)
  return { as, address: readU32(buf, s + asBytes) }
}

const specs: AttributeSpec[] = [
  {
    type: AttrType.Origin,
    name: 'ORIGIN',
    flags: T,
    action: 'treat-as-withdraw', // RFC 7606 7.1
    check: (b, s, len) => (len !== 1 ? LEN : (b[s] as number) > 2 ? UpdateSubcode.InvalidOriginAttribute : 0),
    decode: (b, s, _l, _c, out) => {
      out.origin = b[s] as number
    },
    valueLength: (a) => (a.origin === undefined ? -1 : 1),
    write: (a, _c, b, o) => {
      b[o] = a.origin as number
    },
  },
  {
    type: AttrType.AsPath,
    name: 'AS_PATH',
    flags: T,
    action: 'treat-as-withdraw', // RFC 7606 7.2
    check: (b, s, len, ctx) => {
      const confed = confedScratch
      confed[0] = 0
      if (checkAsPath(b, s, len, ctx.as4 ? 4 : 2, confed) !== 0) return UpdateSubcode.MalformedAsPath
      // RFC 5065 5: confederation segments from outside the confederation make the path malformed.
      return ctx.ebgp && confed[0] === 1 ? UpdateSubcode.MalformedAsPath : 0
    },
    decode: (b, s, len, ctx, out) => {
      out.asPath = decodeAsPath(b, s, len, ctx.as4 ? 4 : 2)
    },
    valueLength: (a, ctx) => (a.asPath === undefined ? -1 : asPathLength(a.asPath, ctx.as4 ? 4 : 2)),
    write: (a, ctx, b, o) => {
      writeAsPath(a.asPath as AsPath, ctx.as4 ? 4 : 2, b, o)
    },
  },
  {
    type: AttrType.NextHop,
    name: 'NEXT_HOP',
    flags: T,
    action: 'treat-as-withdraw', // RFC 7606 7.3
    check: exact(4),
    decode: (b, s, _l, _c, out) => {
      out.nextHop = readU32(b, s)
    },
    ...u32Value((a) => a.nextHop),
  },
  {
    type: AttrType.MultiExitDisc,
    name: 'MULTI_EXIT_DISC',
    flags: O,
    action: 'treat-as-withdraw', // RFC 7606 7.4
    check: exact(4),
    decode: (b, s, _l, _c, out) => {
      out.med = readU32(b, s)
    },
    ...u32Value((a) => a.med),
  },
  {
    type: AttrType.LocalPref,
    name: 'LOCAL_PREF',
    flags: T,
    action: 'treat-as-withdraw', // RFC 7606 7.5
    ibgpOnly: true,
    check: exact(4),
    decode: (b, s, _l, _c, out) => {
      out.localPref = readU32(b, s)
    },
    ...u32Value((a) => a.localPref),
  },
  {
    type: AttrType.AtomicAggregate,
    name: 'ATOMIC_AGGREGATE',
    flags: T,
    action: 'attribute-discard', // RFC 7606 7.6
    check: exact(0),
    decode: (_b, _s, _l, _c, out) => {
      out.atomicAggregate = true
    },
    valueLength: (a) => (a.atomicAggregate === true ? 0 : -1),
    write: nothing,
  },
  {
    type: AttrType.Aggregator,
    name: 'AGGREGATOR',
    flags: O | T,
    action: 'attribute-discard', // RFC 7606 7.7
    check: (_b, _s, len, ctx) => (len === aggregatorWidth(ctx) ? 0 : LEN),
    decode: (b, s, _l, ctx, out) => {
      out.aggregator = readAggregator(b, s, ctx.as4 ? 4 : 2)
    },
    valueLength: (a, ctx) => (a.aggregator === undefined ? -1 : aggregatorWidth(ctx)),
    write: (a, ctx, b, o) => {
      const g = a.aggregator as Aggregator
      if (ctx.as4) writeU32(b, o, g.as)
      else {
        const as = g.as > 0xffff ? AS_TRANS : g.as
        b[o] = as >>> 8
        b[o + 1] = as & 0xff
      }
      writeU32(b, o + (ctx.as4 ? 4 : 2), g.address)
    },
  },
  {
    type: AttrType.Communities,
    name: 'COMMUNITIES',
    flags: O | T,
    action: 'treat-as-withdraw', // RFC 7606 7.8
    check: multipleOf(4),
    decode: (b, s, len, _c, out) => {
      out.communities = decodeCommunities(b, s, len)
    },
    valueLength: (a) => (a.communities === undefined || a.communities.length === 0 ? -1 : a.communities.length * 4),
    write: (a, _c, b, o) => {
      writeCommunities(a.communities as number[], b, o)
    },
  },
  {
    type: AttrType.OriginatorId,
    name: 'ORIGINATOR_ID',
    flags: O,
    action: 'treat-as-withdraw', // RFC 7606 7.9
    ibgpOnly: true,
    check: exact(4),
    decode: (b, s, _l, _c, out) => {
      out.originatorId = readU32(b, s)
    },
    ...u32Value((a) => a.originatorId),
  },
  {
    type: AttrType.ClusterList,
    name: 'CLUSTER_LIST',
    flags: O,
    action: 'treat-as-withdraw', // RFC 7606 7.10
    ibgpOnly: true,
    check: multipleOf(4),
    decode: (b, s, len, _c, out) => {
      out.clusterList = decodeCommunities(b, s, len)
    },
    valueLength: (a) => (a.clusterList === undefined || a.clusterList.length === 0 ? -1 : a.clusterList.length * 4),
    write: (a, _c, b, o) => {
      writeCommunities(a.clusterList as number[], b, o)
    },
  },
  {
    // Value handled by update.ts (RFC 7606 7.11); flag errors are treat-as-withdraw (RFC 7606 3 c).
    type: AttrType.MpReachNlri,
    name: 'MP_REACH_NLRI',
    flags: O,
    action: 'treat-as-withdraw',
    check: () => 0,
    decode: nothing,
    valueLength: none,
    write: nothing,
  },
  {
    type: AttrType.MpUnreachNlri,
    name: 'MP_UNREACH_NLRI',
    flags: O,
    action: 'treat-as-withdraw',
    check: () => 0,
    decode: nothing,
    valueLength: none,
    write: nothing,
  },
  {
    type: AttrType.ExtendedCommunities,
    name: 'EXTENDED_COMMUNITIES',
    flags: O | T,
    action: 'treat-as-withdraw', // RFC 7606 7.14
    check: multipleOf(8),
    decode: (b, s, len, _c, out) => {
      out.extCommunities = decodeExtCommunities(b, s, len)
    },
    valueLength: (a) => (a.extCommunities === undefined || a.extCommunities.length === 0 ? -1 : a.extCommunities.length * 8),
    write: (a, _c, b, o) => {
      writeExtCommunities(a.extCommunities as ExtendedCommunity[], b, o)
    },
  },
  {
    // RFC 6793 6: a malformed AS4_PATH is discarded; between two 4-octet speakers it is ignored.
    type: AttrType.As4Path,
    name: 'AS4_PATH',
    flags: O | T,
    action: 'attribute-discard',
    check: (b, s, len) => (checkAsPath(b, s, len, 4) === 0 ? 0 : UpdateSubcode.MalformedAsPath),
    decode: (b, s, len, _c, out) => {
      out.as4Path = decodeAsPath(b, s, len, 4)
    },
    valueLength: (a, ctx) => (ctx.as4 || a.asPath === undefined || !needsAs4(a.asPath) ? -1 : asPathLength(withoutConfed(a.asPath), 4)),
    write: (a, _c, b, o) => {
      writeAsPath(a.asPath as AsPath, 4, b, o, true)
    },
  },
  {
    type: AttrType.As4Aggregator,
    name: 'AS4_AGGREGATOR',
    flags: O | T,
    action: 'attribute-discard', // RFC 6793 6
    check: exact(8),
    decode: (b, s, _l, _c, out) => {
      out.as4Aggregator = readAggregator(b, s, 4)
    },
    valueLength: (a, ctx) => (ctx.as4 || a.aggregator === undefined || a.aggregator.as <= 0xffff ? -1 : 8),
    write: (a, _c, b, o) => {
      const g = a.aggregator as Aggregator
      writeU32(b, o, g.as)
      writeU32(b, o + 4, g.address)
    },
  },
  {
    type: AttrType.LargeCommunity,
    name: 'LARGE_COMMUNITY',
    flags: O | T,
    action: 'treat-as-withdraw', // RFC 8092 6
    check: multipleOf(12),
    decode: (b, s, len, _c, out) => {
      out.largeCommunities = decodeLargeCommunities(b, s, len)
    },
    valueLength: (a) => (a.largeCommunities === undefined || a.largeCommunities.length === 0 ? -1 : a.largeCommunities.length * 12),
    write: (a, _c, b, o) => {
      writeLargeCommunities(a.largeCommunities as LargeCommunity[], b, o)
    },
  },
  {
    type: AttrType.Otc,
    name: 'OTC',
    flags: O | T,
    action: 'treat-as-withdraw', // RFC 9234 5
    check: exact(4),
    decode: (b, s, _l, _c, out) => {
      out.otc = readU32(b, s)
    },
    ...u32Value((a) => a.otc),
  },
]

/** The table, indexed by type code (undefined for codes the codec does not know). */
export const attributeTable: ReadonlyArray<AttributeSpec | undefined> = (() => {
  const t = new Array<AttributeSpec | undefined>(256).fill(undefined)
  for (const s of specs) t[s.type] = s
  return t
})()

/** Encoding order: type order, MP_REACH/MP_UNREACH excluded (update.ts writes them first, RFC 7606 5.1). */
const encodeOrder = specs.filter((s) => s.type !== AttrType.MpReachNlri && s.type !== AttrType.MpUnreachNlri)

export function attributeName(type: number): string {
  return attributeTable[type]?.name ?? `ATTR_${type}`
}

/** Applies the RFC 6793 4.2.3 merge to a decoded set (2-octet sessions) and drops the AS4 halves. */
export function finishAttributes(b: AttributesBuilder): PathAttributes {
  const { as4Path, as4Aggregator, ...rest } = b
  if (as4Aggregator === undefined && as4Path === undefined) return rest
  let useAs4 = true
  if (rest.aggregator !== undefined) {
    // RFC 6793 4.2.3: an AGGREGATOR with a real 2-octet AS means the AS4_ attributes are stale.
    if (rest.aggregator.as !== AS_TRANS) useAs4 = false
    else if (as4Aggregator !== undefined) rest.aggregator = as4Aggregator
  }
  if (useAs4 && as4Path !== undefined && rest.asPath !== undefined) rest.asPath = mergeAs4Path(rest.asPath, as4Path)
  return rest
}

/** Bytes the attributes take on the wire (without MP_REACH/MP_UNREACH). */
export function attributesLength(a: PathAttributes, ctx: CodecContext): number {
  let len = 0
  for (const s of encodeOrder) {
    const v = s.valueLength(a, ctx)
    if (v >= 0) len += (v > 255 || a.extendedLength?.includes(s.type) === true ? 4 : 3) + v
  }
  if (a.unknown !== undefined) {
    for (const u of a.unknown) len += (u.value.length > 255 || (u.flags & AttrFlag.ExtendedLength) !== 0 ? 4 : 3) + u.value.length
  }
  return len
}

/** Writes attribute `type` (known or unknown, never MP) if the set has it; returns bytes written. */
export function writeAttribute(a: PathAttributes, type: number, ctx: CodecContext, buf: Uint8Array, offset: number): number {
  const s = attributeTable[type]
  if (s !== undefined) {
    const v = s.valueLength(a, ctx)
    if (v < 0) return 0
    const ext = v > 255 || a.extendedLength?.includes(type) === true
    const p = writeAttributeHeader(buf, offset, s.flags | (ext ? AttrFlag.ExtendedLength : 0), type, v)
    s.write(a, ctx, buf, p)
    return p + v - offset
  }
  const u = a.unknown?.find((x) => x.type === type)
  if (u === undefined) return 0
  const v = u.value.length
  const p = writeAttributeHeader(buf, offset, v > 255 ? u.flags | AttrFlag.ExtendedLength : u.flags, type, v)
  buf.set(u.value, p)
  return p + v - offset
}

/** Canonical type order of a set: known attributes and unknown ones merged by type code. */
function canonicalTypes(a: PathAttributes): number[] {
  const types = encodeOrder.map((s) => s.type)
  if (a.unknown !== undefined && a.unknown.length > 0) {
    for (const u of a.unknown) types.push(u.type)
    types.sort((x, y) => x - y)
  }
  return types
}

/**
 * Writes the attributes (without MP ones) in type order, or in `a.order` when recorded (types it
 * does not list follow in type order); returns bytes written.
 */
export function writeAttributes(a: PathAttributes, ctx: CodecContext, buf: Uint8Array, offset: number): number {
  let p = offset
  const canonical = canonicalTypes(a)
  if (a.order === undefined) {
    for (const type of canonical) p += writeAttribute(a, type, ctx, buf, p)
    return p - offset
  }
  for (const type of a.order) if (type !== AttrType.MpReachNlri && type !== AttrType.MpUnreachNlri) p += writeAttribute(a, type, ctx, buf, p)
  p += writeUnlistedAttributes(a, ctx, buf, p)
  return p - offset
}

/** Writes, in type order, the attributes of the set that `a.order` does not list (all when unset). */
export function writeUnlistedAttributes(a: PathAttributes, ctx: CodecContext, buf: Uint8Array, offset: number): number {
  let p = offset
  for (const type of canonicalTypes(a)) if (a.order === undefined || !a.order.includes(type)) p += writeAttribute(a, type, ctx, buf, p)
  return p - offset
}

/** The order to record for attributes that arrived as `types` (kept ones, wire order), or undefined
 * when it is the canonical one (MP attributes first, MP_REACH before MP_UNREACH, then ascending). */
export function recordedOrder(types: readonly number[]): number[] | undefined {
  let i = 0
  while (i < types.length && (types[i] === AttrType.MpReachNlri || types[i] === AttrType.MpUnreachNlri)) i++
  if (i === 2 && types[0] === AttrType.MpUnreachNlri) return [...types]
  for (let k = i; k < types.length; k++) {
    const t = types[k] as number
    if (t === AttrType.MpReachNlri || t === AttrType.MpUnreachNlri) return [...types]
    if (k > i && t < (types[k - 1] as number)) return [...types]
  }
  return undefined
}

/** Writes flags, type and the 1- or 2-byte length (per the Extended Length flag); returns the value offset. */
export function writeAttributeHeader(buf: Uint8Array, p: number, flags: number, type: number, len: number): number {
  buf[p] = flags
  buf[p + 1] = type
  if ((flags & AttrFlag.ExtendedLength) !== 0) {
    buf[p + 2] = len >>> 8
    buf[p + 3] = len & 0xff
    return p + 4
  }
  buf[p + 2] = len
  return p + 3
}

/** The attribute section as bytes, e.g. for the bulk encoder (bulk.ts) or to hash an attribute set. */
export function encodeAttributes(a: PathAttributes, ctx: CodecContext): Uint8Array {
  const out = new Uint8Array(attributesLength(a, ctx))
  writeAttributes(a, ctx, out, 0)
  return out
}

/**
 * The attributes to send on to another peer (RFC 4271 5 / 9): unknown optional transitive attributes
 * get the Partial bit, unknown optional non-transitive ones are dropped. Known attributes are
 * re-encoded from their values, so they need no marking.
 */
export function forReadvertisement(a: PathAttributes): PathAttributes {
  if (a.unknown === undefined || a.unknown.length === 0) return a
  const unknown = a.unknown
    .filter((u) => (u.flags & AttrFlag.Transitive) !== 0)
    .map((u) => ({ ...u, flags: u.flags | AttrFlag.Partial }))
  const { unknown: _drop, ...rest } = a
  return unknown.length > 0 ? { ...rest, unknown } : rest
}
