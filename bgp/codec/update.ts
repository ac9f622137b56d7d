/**
 * The UPDATE message (RFC 4271 4.3) with multiprotocol reach/unreach (RFC 4760), ADD-PATH (RFC 7911)
 * and the revised error handling of RFC 7606.
 *
 * Parsing is two passes, as in BIRD: `scanUpdate` first notes where each section lies (withdrawn
 * routes, attributes with each attribute's value position, MP_REACH_NLRI's next hop and NLRI,
 * MP_UNREACH_NLRI, the NLRI field) and validates everything without allocating or copying; then the
 * object decoder here, or the bulk decoder in bulk.ts, reads the values from those positions. Both
 * share the scan, so they reach the same RFC 7606 outcome for any input.
 *
 * Outcomes (RFC 7606 2): `session-reset` and `afi-safi-disable` are thrown as BgpError (the latter as
 * BgpFamilyError naming the family); `treat-as-withdraw` and `attribute-discard` are not thrown: the
 * message comes back with `report` listing the damage, and with treat-as-withdraw, `treatAsWithdraw`
 * set and the attributes dropped: the routes in `nlri` and `mpReach` must then be withdrawn
 * (`updateWithdrawals()` lists every route the message withdraws, either way).
 *
 * MP_REACH_NLRI and MP_UNREACH_NLRI are parsed first whatever their position (RFC 7606 5.1) since the
 * scan locates every attribute before any is decoded, and the encoder writes them first.
 */
import { Family, type FamilyKey } from './afi.js'
import {
  AttrFlag,
  AttrType,
  attributeName,
  attributeTable,
  attributesLength,
  finishAttributes,
  recordedOrder,
  writeAttribute,
  writeAttributeHeader,
  writeAttributes,
  writeUnlistedAttributes,
  type AttributesBuilder,
  type PathAttributes,
  type RawAttribute,
} from './attributes.js'
import type { CodecContext } from './context.js'
import { BgpError, ErrorCode, HeaderSubcode, UpdateSubcode, type ErrorAction } from './errors.js'
import { HEADER_LENGTH, MessageType, writeHeader } from './header.js'
import { checkNlri, decodeNlri, families, ipv4Unicast, nlriLength, writeNlri, type FamilyCodec, type Nlri } from './nlri.js'

export interface MpReach {
  readonly family: FamilyKey
  /** Next-hop addresses (4 or 16 bytes each): global, then link-local when present. For VPN families
   * the 8-byte zero RD before each address is implied (not stored, written back as zeros). */
  readonly nextHop: readonly Uint8Array[]
  readonly nlri: readonly Nlri[]
}

export interface MpUnreach {
  readonly family: FamilyKey
  readonly nlri: readonly Nlri[]
}

/** One piece of RFC 7606 damage found in an UPDATE that did not cost the session. */
export interface UpdateIssue {
  /** Stable reason: `attribute-flags`, `attribute-length`, `duplicate-attribute`, ... */
  readonly kind: string
  readonly code: number
  readonly subcode: number
  readonly action: ErrorAction
  /** Type code of the attribute concerned, 0 when none (framing of the attribute list). */
  readonly attributeType: number
  /** What the NOTIFICATION data would carry (the attribute, or the missing type code). */
  readonly data: Uint8Array
  /** With action `afi-safi-disable`: the family to disable (RFC 7606 5.3, 7.11). */
  readonly family?: FamilyKey
  /** A finer reason where the kind has several (the class of a martian next hop). */
  readonly detail?: string
}

export interface UpdateMessage {
  readonly type: 'update'
  /** Withdrawn Routes field (IPv4 unicast). */
  readonly withdrawn: readonly Nlri[]
  /** Path attributes other than MP_REACH_NLRI/MP_UNREACH_NLRI. */
  readonly attributes: PathAttributes
  readonly mpReach?: MpReach
  readonly mpUnreach?: MpUnreach
  /** Network Layer Reachability Information field (IPv4 unicast). */
  readonly nlri: readonly Nlri[]
  /** RFC 7606 treat-as-withdraw: `nlri` and `mpReach.nlri` are withdrawals, attributes dropped. */
  readonly treatAsWithdraw?: boolean
  /** RFC 7606 damage that was handled by treat-as-withdraw or attribute discard. */
  readonly report?: readonly UpdateIssue[]
}

/** A BgpError whose action is `afi-safi-disable`, naming the family to disable (RFC 7606 7.11, 5.3). */
export class BgpFamilyError extends BgpError {
  constructor(
    readonly family: FamilyKey,
    kind: string,
    subcode: number,
    data: Uint8Array,
    message: string,
  ) {
    super(kind, ErrorCode.UpdateMessage, subcode, data, 'afi-safi-disable', message)
  }
}

const kindBySubcode: Record<number, string> = {
  [UpdateSubcode.MalformedAttributeList]: 'malformed-attribute-list',
  [UpdateSubcode.UnrecognizedWellKnownAttribute]: 'unrecognized-well-known-attribute',
  [UpdateSubcode.MissingWellKnownAttribute]: 'missing-well-known-attribute',
  [UpdateSubcode.AttributeFlagsError]: 'attribute-flags',
  [UpdateSubcode.AttributeLengthError]: 'attribute-length',
  [UpdateSubcode.InvalidOriginAttribute]: 'invalid-origin',
  [UpdateSubcode.InvalidNextHopAttribute]: 'invalid-next-hop',
  [UpdateSubcode.OptionalAttributeError]: 'optional-attribute',
  [UpdateSubcode.InvalidNetworkField]: 'invalid-network-field',
  [UpdateSubcode.MalformedAsPath]: 'malformed-as-path',
}

/** Most attribute instances a 65,535-byte UPDATE can hold (3 bytes each at least). */
const MAX_INSTANCES = 21845

/** Is MP_REACH/MP_UNREACH for this family acceptable on the session? (IPv4 unicast is implied when
 * no multiprotocol capability was negotiated at all, RFC 4760 8.) */
export function familyNegotiated(ctx: CodecContext, key: FamilyKey): boolean {
  return ctx.families.has(key) || (key === Family.Ipv4Unicast && ctx.families.size === 0)
}

/**
 * Result of the first pass: where every section and attribute lies, and the RFC 7606 outcome so far.
 * Reused across messages by its owner (no allocation per message on clean input).
 */
export class UpdateScan {
  buf: Uint8Array = new Uint8Array(0)
  withdrawnStart = 0
  withdrawnEnd = 0
  attrStart = 0
  attrEnd = 0
  nlriStart = 0
  nlriEnd = 0
  addPath4 = false
  reach: FamilyCodec | null = null
  reachAddPath = false
  reachNextHopStart = 0
  reachNextHopLength = 0
  reachNlriStart = 0
  reachEnd = 0
  unreach: FamilyCodec | null = null
  unreachAddPath = false
  unreachNlriStart = 0
  unreachEnd = 0
  treatAsWithdraw = false
  issues: UpdateIssue[] | null = null
  /** First afi-safi-disable error found, thrown once the whole message is scanned. */
  familyError: BgpFamilyError | null = null
  /** The attribute section minus MP attributes is not one slice (some attribute is dropped, or an
   * MP attribute sits after another attribute): bulk.ts then builds a clean copy. */
  needsCopy = false
  /** End of the leading run of MP attributes (start of the rest when `needsCopy` is false). */
  mpPrefixEnd = 0
  /** Per type code, for the first kept instance: value start, value length, flags. */
  readonly valStart = new Int32Array(256)
  readonly valLen = new Int32Array(256)
  readonly flags = new Uint8Array(256)
  readonly keep = new Uint8Array(256)
  readonly seen = new Uint32Array(256)
  gen = 0
  /** Attribute instances in wire order. */
  instCount = 0
  readonly instType = new Uint8Array(MAX_INSTANCES)
  readonly instHdr = new Int32Array(MAX_INSTANCES)
  readonly instEnd = new Int32Array(MAX_INSTANCES)
  readonly instKeep = new Uint8Array(MAX_INSTANCES)

  /** Was attribute `type` present and kept? */
  has(type: number): boolean {
    return this.seen[type] === this.gen && this.keep[type] === 1
  }

  issue(kind: string, subcode: number, action: ErrorAction, type: number, data: Uint8Array): void {
    if (action === 'treat-as-withdraw') this.treatAsWithdraw = true
    const i: UpdateIssue = { kind, code: ErrorCode.UpdateMessage, subcode, action, attributeType: type, data }
    if (this.issues === null) this.issues = [i]
    else this.issues.push(i)
  }
}

function u16(b: Uint8Array, p: number): number {
  return ((b[p] as number) << 8) | (b[p + 1] as number)
}

function updateError(kind: string, subcode: number, data: Uint8Array, message: string): BgpError {
  return new BgpError(kind, ErrorCode.UpdateMessage, subcode, data, 'session-reset', message)
}

/**
 * Pass one over the UPDATE at [offset, offset+length) (header included, already checked): fills
 * `scan`, throws BgpError for session-reset and afi-safi-disable outcomes.
 */
export function scanUpdate(buf: Uint8Array, offset: number, length: number, ctx: CodecContext, scan: UpdateScan): void {
  const end = offset + length
  if (length < 23 || length > 65535 || end > buf.length) {
    throw new BgpError('bad-message-length', ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength,
      Uint8Array.of(length >>> 8, length & 0xff), 'session-reset', `UPDATE: length ${length} is outside 23..65535 or runs past the buffer`)
  }
  scan.buf = buf
  scan.reach = null
  scan.unreach = null
  scan.treatAsWithdraw = false
  scan.issues = null
  scan.familyError = null
  scan.needsCopy = false
  scan.instCount = 0
  scan.gen = (scan.gen + 1) >>> 0
  if (scan.gen === 0) {
    scan.seen.fill(0)
    scan.gen = 1
  }
  const gen = scan.gen

  // RFC 4271 6.3: lengths that do not add up are a Malformed Attribute List.
  const ws = offset + HEADER_LENGTH + 2
  const wlen = u16(buf, ws - 2)
  if (ws + wlen + 2 > end) {
    throw updateError('withdrawn-length-overrun', UpdateSubcode.MalformedAttributeList, new Uint8Array(0),
      `UPDATE: Withdrawn Routes Length ${wlen} runs past the message`)
  }
  const as = ws + wlen + 2
  const alen = u16(buf, as - 2)
  const ae = as + alen
  if (ae > end) {
    throw updateError('attribute-length-overrun', UpdateSubcode.MalformedAttributeList, new Uint8Array(0),
      `UPDATE: Total Path Attribute Length ${alen} runs past the message`)
  }
  scan.withdrawnStart = ws
  scan.withdrawnEnd = ws + wlen
  scan.attrStart = as
  scan.attrEnd = ae
  scan.nlriStart = ae
  scan.nlriEnd = end
  scan.mpPrefixEnd = as

  // RFC 7606 5.3: an IPv4 prefix field that cannot be parsed costs the session.
  const ap4 = ctx.addPathReceive.has(Family.Ipv4Unicast)
  scan.addPath4 = ap4
  if (checkNlri(ipv4Unicast, buf, ws, ws + wlen, ap4, true) !== 0) {
    throw updateError('malformed-withdrawn-routes', UpdateSubcode.InvalidNetworkField, new Uint8Array(0),
      'UPDATE: Withdrawn Routes field holds a prefix longer than 32 bits or overruns its length')
  }
  if (checkNlri(ipv4Unicast, buf, ae, end, ap4, false) !== 0) {
    throw updateError('malformed-nlri', UpdateSubcode.InvalidNetworkField, new Uint8Array(0),
      'UPDATE: NLRI field holds a prefix longer than 32 bits or overruns the message')
  }

  let p = as
  let seenOther = false
  while (p < ae) {
    // RFC 7606 4: attribute framing errors are treat-as-withdraw; the Total Path Attribute Length
    // still locates the NLRI field.
    const flags = buf[p] as number
    const hl = (flags & AttrFlag.ExtendedLength) !== 0 ? 4 : 3
    if (ae - p < hl) {
      scan.issue('attribute-framing', UpdateSubcode.MalformedAttributeList, 'treat-as-withdraw', 0, new Uint8Array(0))
      scan.needsCopy = true
      break
    }
    const type = buf[p + 1] as number
    const vlen = hl === 4 ? u16(buf, p + 2) : (buf[p + 2] as number)
    const vs = p + hl
    const ve = vs + vlen
    if (ve > ae) {
      scan.issue('attribute-framing', UpdateSubcode.MalformedAttributeList, 'treat-as-withdraw', type, new Uint8Array(0))
      scan.needsCopy = true
      break
    }
    const inst = scan.instCount++
    scan.instType[inst] = type
    scan.instHdr[inst] = p
    scan.instEnd[inst] = ve
    scan.instKeep[inst] = 0
    const hdr = p
    p = ve
    const isMp = type === AttrType.MpReachNlri || type === AttrType.MpUnreachNlri
    if (isMp) {
      if (seenOther) scan.needsCopy = true
      else scan.mpPrefixEnd = ve
    } else {
      seenOther = true
    }

    if (scan.seen[type] === gen) {
      // RFC 7606 3 g: a repeated MP attribute costs the session, any other repeat is discarded.
      if (isMp) {
        throw updateError('duplicate-mp-attribute', UpdateSubcode.MalformedAttributeList, new Uint8Array(0),
          `UPDATE: ${attributeName(type)} appears more than once`)
      }
      scan.issue('duplicate-attribute', UpdateSubcode.MalformedAttributeList, 'attribute-discard', type, new Uint8Array(0))
      scan.needsCopy = true
      continue
    }
    scan.seen[type] = gen
    scan.keep[type] = 0
    const spec = attributeTable[type]
    if (spec === undefined) {
      if ((flags & AttrFlag.Optional) === 0) {
        // RFC 4271 6.3: an attribute flagged well-known whose type we do not know is an Unrecognized
        // Well-known Attribute, NOTIFICATION 3/2 with the attribute as data. RFC 7606 does not revise
        // this: its flag rule (3 c) compares flags with an attribute's specified values, which an
        // unknown type does not have, and its per-attribute rules (7) cover known types only.
        throw updateError('unrecognized-well-known-attribute', UpdateSubcode.UnrecognizedWellKnownAttribute, buf.slice(hdr, ve),
          `UPDATE: attribute type ${type} is flagged well-known (Optional bit 0) but is not one we know`)
      }
    } else {
      if ((type === AttrType.As4Path || type === AttrType.As4Aggregator) && ctx.as4) {
        // RFC 6793 3: between two 4-octet speakers these attributes are ignored.
        scan.needsCopy = true
        continue
      }
      if (spec.ibgpOnly === true && ctx.ebgp) {
        // RFC 7606 7.5, 7.9, 7.10: LOCAL_PREF, ORIGINATOR_ID, CLUSTER_LIST from eBGP are discarded.
        scan.issue('ibgp-attribute-from-ebgp', UpdateSubcode.Unspecific, 'attribute-discard', type, new Uint8Array(0))
        scan.needsCopy = true
        continue
      }
      // RFC 7606 3 c: conflicting Optional/Transitive bits make the attribute malformed. RFC 4271 4.3:
      // the Partial bit is 0 on well-known and optional non-transitive attributes, so a set one is an
      // Attribute Flags Error too (RFC 4271 6.3), handled the same way.
      const partialConflict = (flags & AttrFlag.Partial) !== 0 && spec.flags !== (AttrFlag.Optional | AttrFlag.Transitive)
      if (((flags ^ spec.flags) & (AttrFlag.Optional | AttrFlag.Transitive)) !== 0 || partialConflict) {
        scan.issue('attribute-flags', UpdateSubcode.AttributeFlagsError, spec.action, type, buf.slice(hdr, ve))
        if (spec.action === 'attribute-discard') scan.needsCopy = true
        if (!isMp) continue
      }
      if (isMp) {
        if (!scanMp(buf, hdr, vs, vlen, type, ctx, scan)) continue
      } else {
        const sub = spec.check(buf, vs, vlen, ctx)
        if (sub !== 0) {
          const kind = type === AttrType.As4Path ? 'malformed-as4-path' : (kindBySubcode[sub] ?? 'malformed-attribute')
          scan.issue(kind, sub, spec.action, type, sub === UpdateSubcode.MalformedAsPath ? new Uint8Array(0) : buf.slice(hdr, ve))
          if (spec.action === 'attribute-discard') scan.needsCopy = true
          continue
        }
      }
    }
    scan.keep[type] = 1
    scan.instKeep[inst] = 1
    scan.valStart[type] = vs
    scan.valLen[type] = vlen
    scan.flags[type] = flags
  }

  if (scan.familyError !== null) throw scan.familyError

  // RFC 7606 3 d: missing well-known mandatory attributes mean treat-as-withdraw, and only matter
  // when the UPDATE announces something (RFC 4760 makes NEXT_HOP needed only for the NLRI field).
  if (!scan.treatAsWithdraw) {
    const announces = end > ae || scan.reach !== null
    if (announces) {
      if (!scan.has(AttrType.Origin)) missing(scan, AttrType.Origin)
      if (!scan.has(AttrType.AsPath)) missing(scan, AttrType.AsPath)
      if (end > ae && !scan.has(AttrType.NextHop)) missing(scan, AttrType.NextHop)
    }
  }
}

/** Notes an afi-safi-disable error; the scan goes on, since a later error may call for a session
 * reset, the stronger action (RFC 7606 3 f), and throws it at the end. Returns false (not kept). */
function familyError(scan: UpdateScan, e: BgpFamilyError): boolean {
  if (scan.familyError === null) scan.familyError = e
  scan.needsCopy = true
  return false
}

function missing(scan: UpdateScan, type: number): void {
  scan.issue('missing-well-known-attribute', UpdateSubcode.MissingWellKnownAttribute, 'treat-as-withdraw', type, Uint8Array.of(type))
}

/** MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760 3-4, RFC 7606 7.11-7.12). Returns true when kept. */
function scanMp(buf: Uint8Array, hdr: number, vs: number, vlen: number, type: number, ctx: CodecContext, scan: UpdateScan): boolean {
  const reach = type === AttrType.MpReachNlri
  const name = attributeName(type)
  const attr = (): Uint8Array => buf.slice(hdr, vs + vlen)
  if (vlen < 3) {
    // Without AFI/SAFI there is no family to disable: the session goes (RFC 7606 7.11).
    throw updateError(reach ? 'malformed-mp-reach' : 'malformed-mp-unreach', UpdateSubcode.OptionalAttributeError, attr(),
      `UPDATE: ${name} of ${vlen} bytes cannot even hold AFI and SAFI`)
  }
  const key = (u16(buf, vs) << 8) | (buf[vs + 2] as number)
  const f = families.get(key)
  if (f === undefined || !familyNegotiated(ctx, key)) {
    // Not negotiated (or not a family we know): ignore the attribute, as BIRD does (RFC 4760 7).
    scan.issue('unnegotiated-family', UpdateSubcode.OptionalAttributeError, 'attribute-discard', type, attr())
    scan.needsCopy = true
    return false
  }
  const addPath = ctx.addPathReceive.has(key)
  const ve = vs + vlen
  if (reach) {
    const nhLen = vlen >= 4 ? (buf[vs + 3] as number) : -1
    if (vlen < 5 || !f.nextHopLengths.includes(nhLen) || vs + 5 + nhLen > ve) {
      return familyError(scan, new BgpFamilyError(key, 'mp-reach-next-hop', UpdateSubcode.OptionalAttributeError, attr(),
        `UPDATE: MP_REACH_NLRI for ${f.name}: next hop length ${nhLen} is not one of ${f.nextHopLengths.join(', ')} or overruns the attribute`))
    }
    const ns = vs + 5 + nhLen
    if (checkNlri(f, buf, ns, ve, addPath, false) !== 0) {
      return familyError(scan, new BgpFamilyError(key, 'malformed-mp-nlri', UpdateSubcode.OptionalAttributeError, attr(),
        `UPDATE: MP_REACH_NLRI for ${f.name}: a prefix is too long or overruns the attribute`))
    }
    scan.reach = f
    scan.reachAddPath = addPath
    scan.reachNextHopStart = vs + 4
    scan.reachNextHopLength = nhLen
    scan.reachNlriStart = ns
    scan.reachEnd = ve
  } else {
    if (checkNlri(f, buf, vs + 3, ve, addPath, true) !== 0) {
      return familyError(scan, new BgpFamilyError(key, 'malformed-mp-nlri', UpdateSubcode.OptionalAttributeError, attr(),
        `UPDATE: MP_UNREACH_NLRI for ${f.name}: a prefix is too long or overruns the attribute`))
    }
    scan.unreach = f
    scan.unreachAddPath = addPath
    scan.unreachNlriStart = vs + 3
    scan.unreachEnd = ve
  }
  return true
}

/** Splits an MP_REACH next hop into addresses, dropping the VPN form's 8-byte RDs. */
export function splitNextHop(f: FamilyCodec, buf: Uint8Array, start: number, len: number): Uint8Array[] {
  const rd = f.vpnNextHop ? 8 : 0
  const addrLen = len === 4 + rd ? 4 : 16
  const out: Uint8Array[] = []
  for (let p = start; p < start + len; p += rd + addrLen) out.push(buf.slice(p + rd, p + rd + addrLen))
  return out
}

const objectScan = new UpdateScan()
let objectScanBusy = false

/** Decodes the UPDATE at [offset, offset+length), header included and already checked. */
export function decodeUpdate(buf: Uint8Array, offset: number, length: number, ctx: CodecContext): UpdateMessage {
  // One scan object serves every call; a re-entrant call (from inside a sink, say) gets its own.
  const scan = objectScanBusy ? new UpdateScan() : objectScan
  const mine = scan === objectScan
  if (mine) objectScanBusy = true
  try {
    scanUpdate(buf, offset, length, ctx, scan)
    return build(scan, ctx)
  } finally {
    if (mine) objectScanBusy = false
  }
}

function build(scan: UpdateScan, ctx: CodecContext): UpdateMessage {
  const buf = scan.buf
  const withdrawn: Nlri[] = []
  decodeNlri(ipv4Unicast, buf, scan.withdrawnStart, scan.withdrawnEnd, scan.addPath4, true, withdrawn)
  const nlri: Nlri[] = []
  decodeNlri(ipv4Unicast, buf, scan.nlriStart, scan.nlriEnd, scan.addPath4, false, nlri)

  let attributes: PathAttributes = {}
  if (!scan.treatAsWithdraw) {
    const b: AttributesBuilder = {}
    const unknown: RawAttribute[] = []
    const ext: number[] = []
    const types: number[] = []
    for (let i = 0; i < scan.instCount; i++) {
      if (scan.instKeep[i] !== 1) continue
      const type = scan.instType[i] as number
      types.push(type)
      if (type === AttrType.MpReachNlri || type === AttrType.MpUnreachNlri) {
        if (((scan.flags[type] as number) & AttrFlag.ExtendedLength) !== 0 && (scan.valLen[type] as number) <= 255) ext.push(type)
        continue
      }
      const vs = scan.valStart[type] as number
      const vl = scan.valLen[type] as number
      const flags = scan.flags[type] as number
      const spec = attributeTable[type]
      if (spec === undefined) {
        unknown.push({ flags, type, value: buf.slice(vs, vs + vl) })
        continue
      }
      if ((flags & AttrFlag.ExtendedLength) !== 0 && vl <= 255) ext.push(type)
      spec.decode(buf, vs, vl, ctx, b)
    }
    if (unknown.length > 0) b.unknown = unknown
    if (ext.length > 0) b.extendedLength = ext
    const order = recordedOrder(types)
    if (order !== undefined) b.order = order
    attributes = finishAttributes(b)
  }

  const msg: { -readonly [K in keyof UpdateMessage]: UpdateMessage[K] } = { type: 'update', withdrawn, attributes, nlri }
  if (scan.reach !== null) {
    const f = scan.reach
    const list: Nlri[] = []
    decodeNlri(f, buf, scan.reachNlriStart, scan.reachEnd, scan.reachAddPath, false, list)
    msg.mpReach = { family: f.key, nextHop: splitNextHop(f, buf, scan.reachNextHopStart, scan.reachNextHopLength), nlri: list }
  }
  if (scan.unreach !== null) {
    const f = scan.unreach
    const list: Nlri[] = []
    decodeNlri(f, buf, scan.unreachNlriStart, scan.unreachEnd, scan.unreachAddPath, true, list)
    msg.mpUnreach = { family: f.key, nlri: list }
  }
  if (scan.treatAsWithdraw) msg.treatAsWithdraw = true
  if (scan.issues !== null) msg.report = scan.issues
  return msg
}

/** Every route the message withdraws: Withdrawn Routes, MP_UNREACH, and with treat-as-withdraw the announced ones too. */
export function updateWithdrawals(msg: UpdateMessage): Nlri[] {
  const out = [...msg.withdrawn, ...(msg.mpUnreach?.nlri ?? [])]
  if (msg.treatAsWithdraw === true) out.push(...msg.nlri, ...(msg.mpReach?.nlri ?? []))
  return out
}

/** Every route the message announces (none under treat-as-withdraw). */
export function updateAnnouncements(msg: UpdateMessage): Nlri[] {
  if (msg.treatAsWithdraw === true) return []
  return [...(msg.mpReach?.nlri ?? []), ...msg.nlri]
}

/** End-of-RIB marker (RFC 4724 2): an empty UPDATE for IPv4 unicast, an empty MP_UNREACH otherwise. */
export function endOfRibFamily(msg: UpdateMessage): FamilyKey | undefined {
  if (msg.withdrawn.length > 0 || msg.nlri.length > 0 || msg.mpReach !== undefined) return undefined
  // `extendedLength` and `order` record how the attributes were laid out, not attributes: ExaBGP
  // sends its End-of-RIB as MP_UNREACH with the Extended Length flag (900f0003 AFI SAFI).
  const hasAttrs = Object.keys(msg.attributes).some((k) => k !== 'extendedLength' && k !== 'order')
  if (msg.mpUnreach === undefined) return hasAttrs ? undefined : Family.Ipv4Unicast
  return msg.mpUnreach.nlri.length === 0 && !hasAttrs ? msg.mpUnreach.family : undefined
}

/** An End-of-RIB marker for a family. */
export function endOfRib(family: FamilyKey): UpdateMessage {
  if (family === Family.Ipv4Unicast) return { type: 'update', withdrawn: [], attributes: {}, nlri: [] }
  return { type: 'update', withdrawn: [], attributes: {}, nlri: [], mpUnreach: { family, nlri: [] } }
}

function familyCodec(key: FamilyKey): FamilyCodec {
  const f = families.get(key)
  if (f === undefined) throw new RangeError(`UPDATE: family ${key} has no entry in the family table`)
  return f
}

function nlriListLength(f: FamilyCodec, list: readonly Nlri[], addPath: boolean): number {
  let n = 0
  for (const x of list) n += nlriLength(f, x, addPath)
  return n
}

function nextHopLength(f: FamilyCodec, nh: readonly Uint8Array[]): number {
  let n = 0
  for (const a of nh) n += a.length + (f.vpnNextHop ? 8 : 0)
  return n
}

function mpValueLengths(msg: UpdateMessage, ctx: CodecContext): [number, number] {
  let reach = -1
  let unreach = -1
  if (msg.mpReach !== undefined) {
    const f = familyCodec(msg.mpReach.family)
    reach = 5 + nextHopLength(f, msg.mpReach.nextHop) + nlriListLength(f, msg.mpReach.nlri, ctx.addPathSend.has(f.key))
  }
  if (msg.mpUnreach !== undefined) {
    const f = familyCodec(msg.mpUnreach.family)
    unreach = 3 + nlriListLength(f, msg.mpUnreach.nlri, ctx.addPathSend.has(f.key))
  }
  return [reach, unreach]
}

function mpHeaderLength(v: number, type: number, a: PathAttributes): number {
  return v < 0 ? 0 : (v > 255 || a.extendedLength?.includes(type) === true ? 4 : 3) + v
}

export function updateEncodingLength(msg: UpdateMessage, ctx: CodecContext): number {
  const ap4 = ctx.addPathSend.has(Family.Ipv4Unicast)
  const [reach, unreach] = mpValueLengths(msg, ctx)
  return (
    HEADER_LENGTH + 4 +
    nlriListLength(ipv4Unicast, msg.withdrawn, ap4) +
    mpHeaderLength(reach, AttrType.MpReachNlri, msg.attributes) +
    mpHeaderLength(unreach, AttrType.MpUnreachNlri, msg.attributes) +
    attributesLength(msg.attributes, ctx) +
    nlriListLength(ipv4Unicast, msg.nlri, ap4)
  )
}

function writeFamily(buf: Uint8Array, p: number, f: FamilyCodec): number {
  buf[p] = f.afi >>> 8
  buf[p + 1] = f.afi & 0xff
  buf[p + 2] = f.safi
  return p + 3
}

/** Encodes the message at `offset` (header included); returns the bytes written. MP attributes go first (RFC 7606 5.1). */
export function encodeUpdate(msg: UpdateMessage, ctx: CodecContext, buf: Uint8Array, offset: number): number {
  const total = updateEncodingLength(msg, ctx)
  if (total > ctx.maxMessageLength) {
    throw new RangeError(`UPDATE: ${total} bytes exceed the session's maximum message length ${ctx.maxMessageLength}`)
  }
  if (offset + total > buf.length) throw new RangeError(`UPDATE: ${total} bytes do not fit the buffer at offset ${offset}`)
  const ap4 = ctx.addPathSend.has(Family.Ipv4Unicast)
  let p = writeHeader(buf, offset, total, MessageType.Update)
  const wStart = p + 2
  p = wStart
  for (const n of msg.withdrawn) p += writeNlri(ipv4Unicast, n, ap4, buf, p)
  buf[wStart - 2] = (p - wStart) >>> 8
  buf[wStart - 1] = (p - wStart) & 0xff
  const aStart = p + 2
  p = aStart
  const a = msg.attributes
  const [reach, unreach] = mpValueLengths(msg, ctx)
  const writeReach = (p: number): number => {
    const m = msg.mpReach
    if (m === undefined) return p
    const f = familyCodec(m.family)
    const ext = reach > 255 || a.extendedLength?.includes(AttrType.MpReachNlri) === true
    p = writeAttributeHeader(buf, p, AttrFlag.Optional | (ext ? AttrFlag.ExtendedLength : 0), AttrType.MpReachNlri, reach)
    p = writeFamily(buf, p, f)
    buf[p++] = nextHopLength(f, m.nextHop)
    for (const addr of m.nextHop) {
      if (f.vpnNextHop) {
        buf.fill(0, p, p + 8)
        p += 8
      }
      buf.set(addr, p)
      p += addr.length
    }
    buf[p++] = 0 // reserved (RFC 4760 3)
    const ap = ctx.addPathSend.has(f.key)
    for (const n of m.nlri) p += writeNlri(f, n, ap, buf, p)
    return p
  }
  const writeUnreach = (p: number): number => {
    const m = msg.mpUnreach
    if (m === undefined) return p
    const f = familyCodec(m.family)
    const ext = unreach > 255 || a.extendedLength?.includes(AttrType.MpUnreachNlri) === true
    p = writeAttributeHeader(buf, p, AttrFlag.Optional | (ext ? AttrFlag.ExtendedLength : 0), AttrType.MpUnreachNlri, unreach)
    p = writeFamily(buf, p, f)
    const ap = ctx.addPathSend.has(f.key)
    for (const n of m.nlri) p += writeNlri(f, n, ap, buf, p)
    return p
  }
  if (a.order === undefined) {
    p = writeUnreach(writeReach(p))
    p += writeAttributes(a, ctx, buf, p)
  } else {
    // A recorded wire order (see PathAttributes.order); MP attributes it does not list go first.
    if (!a.order.includes(AttrType.MpReachNlri)) p = writeReach(p)
    if (!a.order.includes(AttrType.MpUnreachNlri)) p = writeUnreach(p)
    for (const type of a.order) {
      if (type === AttrType.MpReachNlri) p = writeReach(p)
      else if (type === AttrType.MpUnreachNlri) p = writeUnreach(p)
      else p += writeAttribute(a, type, ctx, buf, p)
    }
    p += writeUnlistedAttributes(a, ctx, buf, p)
  }
  buf[aStart - 2] = (p - aStart) >>> 8
  buf[aStart - 1] = (p - aStart) & 0xff
  for (const n of msg.nlri) p += writeNlri(ipv4Unicast, n, ap4, buf, p)
  return p - offset
}
