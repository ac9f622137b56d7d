/**
 * The bulk UPDATE path (docs/benchmarks.md): decode packed UPDATEs into numbers handed to a sink, and
 * build packed UPDATEs from one attribute section and many prefixes, with no object per prefix.
 *
 * Decoding (`decodeUpdateBulk`) runs the same first pass as the object decoder (`scanUpdate` in
 * update.ts: every length, flag and attribute checked, RFC 7606 outcome decided, nothing copied),
 * so both paths agree on every input: the same BgpError thrown, the same issues, the same routes.
 * Then it walks the NLRI sections once more and calls the sink, per UPDATE, in this order:
 *
 *   1. `issue(i)` for each RFC 7606 problem that did not cost the session (rare; allocates), then,
 *      when the sink judges next hops (`checkNextHop`), for a martian one, which makes the UPDATE
 *      treat-as-withdraw;
 *   2. withdrawals: the Withdrawn Routes field, then MP_UNREACH_NLRI (`withdraw` = true);
 *   3. for MP_REACH_NLRI, then for the NLRI field, when they hold routes:
 *      `attributes(family, attrs, start, end, nextHop, nhStart, nhLength)` once, then the routes
 *      (`withdraw` = false). Under treat-as-withdraw there is no `attributes` call and the routes come
 *      with `withdraw` = true.
 *
 * Sink contract (for the RIB):
 * - `attributes`: the path attribute section of the UPDATE *without* MP_REACH/MP_UNREACH and without
 *   attributes RFC 7606 discarded, as bytes [start, end) of `attrs` (a view into the message when it
 *   is one slice, else a scratch copy). Hash and intern it; copy it if kept: the bytes are valid only
 *   during the call. On 2-octet sessions AS_PATH is 2-octet and AS4_PATH follows: intern per session
 *   kind and read with `decodeAttributeBytes(attrs, start, end, ctx)`. The next hop is the NEXT_HOP
 *   value (4 bytes) for the NLRI field, or MP_REACH's next-hop field as on the wire (VPN families:
 *   8-byte zero RD before each address).
 * - Routes come as numbers. Prefixes are masked to their length (host bits cleared) so they can key
 *   a table directly. `pathId` is the ADD-PATH identifier, 0 when ADD-PATH is not received for the
 *   family. IPv4: `ipv4(withdraw, pathId, addr, length)`, addr a uint32. IPv6: four uint32 words, most
 *   significant first. VPN-IPv4/VPN-IPv6 with a one-label stack: RD as two uint32 words (type and admin
 *   high, the rest low), the 20-bit label value, the address. Anything else (labeled unicast, RTC,
 *   VPN routes with a deeper label stack) comes to `nlri(withdraw, family, pathId, buf, start, end)`
 *   as the wire bytes of one NLRI after its path id (length octet first); `nlriToObject` decodes it.
 * - No closures, no promises, no allocation per route; a sink is one object whose methods stay
 *   monomorphic. A sink may decode other UPDATEs from inside a call (that call gets its own scan).
 *
 * Encoding (`encodeUpdatesBulk`): routes as a struct of typed arrays (`RouteBatch`), one attribute
 * section (from `encodeAttributes`), one next hop; it packs as many routes per UPDATE as the
 * session's maximum message length allows. It sizes every message first, then allocates once per
 * call (a slab holding all the messages it builds; each message handed out is a view into it), which
 * is fewer allocations than one per message: a 4 KiB ArrayBuffer costs microseconds in V8.
 */
import { Family, type FamilyKey } from './afi.js'
import { AttrFlag, AttrType, attributeTable, finishAttributes, writeAttributeHeader, type AttributesBuilder, type PathAttributes } from './attributes.js'
import type { CodecContext } from './context.js'
import { HEADER_LENGTH, MessageType, writeHeader } from './header.js'
import { decodeNlri, endsLabelStack, families, type FamilyCodec, type Nlri } from './nlri.js'
import { scanUpdate, UpdateScan, type UpdateIssue } from './update.js'

export interface UpdateSink {
  attributes(family: FamilyKey, attrs: Uint8Array, start: number, end: number, nextHop: Uint8Array, nextHopStart: number, nextHopLength: number): void
  ipv4(withdraw: boolean, pathId: number, addr: number, length: number): void
  ipv6(withdraw: boolean, pathId: number, a0: number, a1: number, a2: number, a3: number, length: number): void
  vpnv4(withdraw: boolean, pathId: number, rdHigh: number, rdLow: number, label: number, addr: number, length: number): void
  vpnv6(withdraw: boolean, pathId: number, rdHigh: number, rdLow: number, label: number, a0: number, a1: number, a2: number, a3: number, length: number): void
  nlri(withdraw: boolean, family: FamilyKey, pathId: number, buf: Uint8Array, start: number, end: number): void
  issue(issue: UpdateIssue): void
  /**
   * Optional: the session's verdict on a next hop (bytes [start, start+length) of `buf`: NEXT_HOP's
   * value when `nextHopAttribute`, else MP_REACH_NLRI's next-hop field as on the wire). A report
   * means the UPDATE is treated as withdraw (RFC 7606 7.3): the decoder passes it to `issue` and
   * hands every announced route out as withdrawn. Asked once per next hop, before any route.
   */
  checkNextHop?(family: FamilyKey, buf: Uint8Array, start: number, length: number, nextHopAttribute: boolean): UpdateIssue | null
}

const bulkScan = new UpdateScan()
const scratch = new Uint8Array(65536)
const MASK = new Uint32Array(33)
for (let i = 1; i <= 32; i++) MASK[i] = (0xffffffff << (32 - i)) >>> 0

function mask(len: number): number {
  return MASK[len > 32 ? 32 : len < 0 ? 0 : len] as number
}

/**
 * Decodes the UPDATE at [offset, offset+length) (header included, already checked) into `sink`.
 * Returns the number of routes handed out. Throws BgpError exactly where decodeUpdate does.
 */
export function decodeUpdateBulk(buf: Uint8Array, offset: number, length: number, ctx: CodecContext, sink: UpdateSink): number {
  // The scan object is reused; a re-entrant call (a sink decoding another UPDATE) gets its own.
  if (bulkBusy) return decodeWith(new UpdateScan(), new Uint8Array(65536), buf, offset, length, ctx, sink)
  bulkBusy = true
  try {
    return decodeWith(bulkScan, scratch, buf, offset, length, ctx, sink)
  } finally {
    bulkBusy = false
  }
}

let bulkBusy = false

function decodeWith(s: UpdateScan, scratch: Uint8Array, buf: Uint8Array, offset: number, length: number, ctx: CodecContext, sink: UpdateSink): number {
  scanUpdate(buf, offset, length, ctx, s)
  if (s.issues !== null) for (const i of s.issues) sink.issue(i)
  let taw = s.treatAsWithdraw
  if (!taw && sink.checkNextHop !== undefined) {
    // Martian next hops (RFC 7606 7.3): the whole UPDATE is treated as withdraw, so both next hops
    // are judged before any route goes out.
    let martian: UpdateIssue | null = null
    if (s.reach !== null && s.reachEnd > s.reachNlriStart) martian = sink.checkNextHop(s.reach.key, buf, s.reachNextHopStart, s.reachNextHopLength, false)
    if (martian === null && s.nlriEnd > s.nlriStart) martian = sink.checkNextHop(Family.Ipv4Unicast, buf, s.valStart[AttrType.NextHop] as number, 4, true)
    if (martian !== null) {
      sink.issue(martian)
      taw = true
    }
  }
  let n = 0
  if (s.withdrawnEnd > s.withdrawnStart) n += walk(Family.Ipv4Unicast, buf, s.withdrawnStart, s.withdrawnEnd, s.addPath4, true, true, sink)
  if (s.unreach !== null) n += walk(s.unreach.key, buf, s.unreachNlriStart, s.unreachEnd, s.unreachAddPath, true, true, sink)
  let attrs = buf
  let aStart = s.mpPrefixEnd
  let aEnd = s.attrEnd
  if (!taw && s.needsCopy && (s.reach !== null || s.nlriEnd > s.nlriStart)) {
    let q = 0
    for (let i = 0; i < s.instCount; i++) {
      const t = s.instType[i] as number
      if (s.instKeep[i] !== 1 || t === AttrType.MpReachNlri || t === AttrType.MpUnreachNlri) continue
      const h = s.instHdr[i] as number
      const e = s.instEnd[i] as number
      scratch.set(buf.subarray(h, e), q)
      q += e - h
    }
    attrs = scratch
    aStart = 0
    aEnd = q
  }
  if (s.reach !== null && s.reachEnd > s.reachNlriStart) {
    if (!taw) sink.attributes(s.reach.key, attrs, aStart, aEnd, buf, s.reachNextHopStart, s.reachNextHopLength)
    n += walk(s.reach.key, buf, s.reachNlriStart, s.reachEnd, s.reachAddPath, taw, false, sink)
  }
  if (s.nlriEnd > s.nlriStart) {
    if (!taw) sink.attributes(Family.Ipv4Unicast, attrs, aStart, aEnd, buf, s.valStart[AttrType.NextHop] as number, 4)
    n += walk(Family.Ipv4Unicast, buf, s.nlriStart, s.nlriEnd, s.addPath4, taw, false, sink)
  }
  return n
}

/** Hands out the routes of one section. `withdraw`: what the sink is told; `unreach`: the section is
 * a withdrawal on the wire (MP_UNREACH / Withdrawn Routes), which decides where a label stack ends
 * (RFC 8277 2.4). They differ under treat-as-withdraw, where announced bytes are withdrawn. */
function walk(key: FamilyKey, b: Uint8Array, p: number, end: number, addPath: boolean, withdraw: boolean, unreach: boolean, sink: UpdateSink): number {
  switch (key) {
    case Family.Ipv4Unicast:
      return walkIpv4(b, p, end, addPath, withdraw, sink)
    case Family.Ipv6Unicast:
      return walkIpv6(b, p, end, addPath, withdraw, sink)
    case Family.Ipv4Vpn:
    case Family.Ipv6Vpn:
      return walkVpn(key, b, p, end, addPath, withdraw, unreach, sink)
    default:
      return walkRaw(families.get(key) as FamilyCodec, b, p, end, addPath, withdraw, unreach, sink)
  }
}

function readPathId(b: Uint8Array, p: number): number {
  return (((b[p] as number) << 24) | ((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number)) >>> 0
}

/** Reads `nb` (0..4) address bytes at p as the high bytes of a uint32 (not yet masked). */
function word(b: Uint8Array, p: number, nb: number): number {
  switch (nb) {
    case 0:
      return 0
    case 1:
      return (b[p] as number) << 24
    case 2:
      return ((b[p] as number) << 24) | ((b[p + 1] as number) << 16)
    case 3:
      return ((b[p] as number) << 24) | ((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8)
    default:
      return ((b[p] as number) << 24) | ((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number)
  }
}

function walkIpv4(b: Uint8Array, p: number, end: number, addPath: boolean, withdraw: boolean, sink: UpdateSink): number {
  let n = 0
  let pathId = 0
  while (p < end) {
    if (addPath) {
      pathId = readPathId(b, p)
      p += 4
    }
    const len = b[p++] as number
    const nb = (len + 7) >>> 3
    sink.ipv4(withdraw, pathId, (word(b, p, nb) & mask(len)) >>> 0, len)
    p += nb
    n++
  }
  return n
}

/** The four words of an IPv6 prefix of `len` bits at p, masked. */
const w6 = new Uint32Array(4)
function words6(b: Uint8Array, p: number, len: number): void {
  let left = (len + 7) >>> 3
  for (let i = 0; i < 4; i++) {
    const nb = left > 4 ? 4 : left
    const bits = len - i * 32
    w6[i] = (word(b, p, nb) & mask(bits)) >>> 0
    left -= nb
    p += nb
  }
}

function walkIpv6(b: Uint8Array, p: number, end: number, addPath: boolean, withdraw: boolean, sink: UpdateSink): number {
  let n = 0
  let pathId = 0
  while (p < end) {
    if (addPath) {
      pathId = readPathId(b, p)
      p += 4
    }
    const len = b[p++] as number
    words6(b, p, len)
    sink.ipv6(withdraw, pathId, w6[0] as number, w6[1] as number, w6[2] as number, w6[3] as number, len)
    p += (len + 7) >>> 3
    n++
  }
  return n
}

function walkVpn(key: FamilyKey, b: Uint8Array, p: number, end: number, addPath: boolean, withdraw: boolean, unreach: boolean, sink: UpdateSink): number {
  const v4 = key === Family.Ipv4Vpn
  let n = 0
  let pathId = 0
  while (p < end) {
    if (addPath) {
      pathId = readPathId(b, p)
      p += 4
    }
    const start = p
    let bits = b[p++] as number
    const l = ((b[p] as number) << 16) | ((b[p + 1] as number) << 8) | (b[p + 2] as number)
    if (!endsLabelStack(l, unreach)) {
      // A deeper label stack: hand the NLRI out raw.
      p = skipLabels(b, p, unreach)
      const after = p + 8
      bits = (b[start] as number) - ((p - start - 1) / 3) * 24 - 64
      p = after + ((bits + 7) >>> 3)
      sink.nlri(withdraw, key, pathId, b, start, p)
      n++
      continue
    }
    p += 3
    const rdHigh = readPathId(b, p)
    const rdLow = readPathId(b, p + 4)
    p += 8
    bits -= 88
    if (v4) {
      const nb = (bits + 7) >>> 3
      sink.vpnv4(withdraw, pathId, rdHigh, rdLow, l >>> 4, (word(b, p, nb) & mask(bits)) >>> 0, bits)
      p += nb
    } else {
      words6(b, p, bits)
      sink.vpnv6(withdraw, pathId, rdHigh, rdLow, l >>> 4, w6[0] as number, w6[1] as number, w6[2] as number, w6[3] as number, bits)
      p += (bits + 7) >>> 3
    }
    n++
  }
  return n
}

function skipLabels(b: Uint8Array, p: number, unreach: boolean): number {
  for (;;) {
    const l = ((b[p] as number) << 16) | ((b[p + 1] as number) << 8) | (b[p + 2] as number)
    p += 3
    if (endsLabelStack(l, unreach)) return p
  }
}

function walkRaw(f: FamilyCodec, b: Uint8Array, p: number, end: number, addPath: boolean, withdraw: boolean, unreach: boolean, sink: UpdateSink): number {
  let n = 0
  let pathId = 0
  while (p < end) {
    if (addPath) {
      pathId = readPathId(b, p)
      p += 4
    }
    const start = p
    let bits = b[p++] as number
    if (f.labeled) {
      const q = skipLabels(b, p, unreach)
      bits -= ((q - p) / 3) * 24
      p = q
    }
    if (f.rd) {
      p += 8
      bits -= 64
    }
    p += (bits + 7) >>> 3
    sink.nlri(withdraw, f.key, pathId, b, start, p)
    n++
  }
  return n
}

/** Decodes one NLRI handed to `UpdateSink.nlri` (bytes from the length octet on) into an object.
 * `unreach`: the bytes came from MP_UNREACH_NLRI (compatibility labels end the stack, RFC 8277 2.4). */
export function nlriToObject(family: FamilyKey, pathId: number | undefined, buf: Uint8Array, start: number, end: number, unreach = false): Nlri {
  const f = families.get(family)
  if (f === undefined) throw new RangeError(`nlriToObject: family ${family} has no entry in the family table`)
  const out: Nlri[] = []
  decodeNlri(f, buf, start, end, false, unreach, out)
  const n = out[0] as Nlri
  return pathId === undefined ? n : { ...n, pathId }
}

/**
 * Decodes an attribute section handed to `UpdateSink.attributes` (already validated by the scan, MP
 * attributes and discarded ones removed) into PathAttributes, merging AS4_PATH on 2-octet sessions.
 */
export function decodeAttributeBytes(buf: Uint8Array, start: number, end: number, ctx: CodecContext): PathAttributes {
  const b: AttributesBuilder = {}
  const unknown: { flags: number; type: number; value: Uint8Array }[] = []
  const ext: number[] = []
  let p = start
  while (p + 3 <= end) {
    const flags = buf[p] as number
    const type = buf[p + 1] as number
    const long = (flags & AttrFlag.ExtendedLength) !== 0
    const vlen = long ? ((buf[p + 2] as number) << 8) | (buf[p + 3] as number) : (buf[p + 2] as number)
    const vs = p + (long ? 4 : 3)
    if (vs + vlen > end) throw new RangeError('decodeAttributeBytes: attribute runs past the section (not a section from the bulk decoder?)')
    const spec = attributeTable[type]
    if (spec === undefined) unknown.push({ flags, type, value: buf.slice(vs, vs + vlen) })
    else {
      if (long && vlen <= 255) ext.push(type)
      spec.decode(buf, vs, vlen, ctx, b)
    }
    p = vs + vlen
  }
  if (unknown.length > 0) b.unknown = unknown
  if (ext.length > 0) b.extendedLength = ext
  return finishAttributes(b)
}

/**
 * Routes for the bulk encoder, as a struct of arrays. Route i uses addr[i] (IPv4 families) or
 * addr[4i..4i+3] (IPv6 families, most significant word first), length[i] (bits of the address part),
 * rd[2i], rd[2i+1] (VPN families), label[i] (20-bit value; labeled and VPN families), pathId[i] (when
 * ADD-PATH is sent for the family; 0 when the array is absent).
 */
export interface RouteBatch {
  readonly family: FamilyKey
  readonly count: number
  readonly addr: Uint32Array
  readonly length: Uint8Array
  readonly rd?: Uint32Array
  readonly label?: Uint32Array
  readonly pathId?: Uint32Array
}

function routeBytes(f: FamilyCodec, len: number, addPath: boolean): number {
  return (addPath ? 4 : 0) + 1 + (f.labeled ? 3 : 0) + (f.rd ? 8 : 0) + ((len + 7) >>> 3)
}

function put32(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24
  b[p + 1] = (v >>> 16) & 0xff
  b[p + 2] = (v >>> 8) & 0xff
  b[p + 3] = v & 0xff
}

/** Writes routes [i, j) of `r` at p; returns the offset after them. Arrays are hoisted into locals
 * and the IPv4 case has its own loop: this is the encoder's hot path. */
function writeRoutes(f: FamilyCodec, r: RouteBatch, i: number, j: number, addPath: boolean, withdraw: boolean, b: Uint8Array, p: number): number {
  const addr = r.addr
  const lens = r.length
  const ids = r.pathId
  const labels = r.label
  const rds = r.rd
  const extra = (f.labeled ? 24 : 0) + (f.rd ? 64 : 0)
  const v4 = f.addressBytes === 4
  for (let k = i; k < j; k++) {
    if (addPath) {
      put32(b, p, ids === undefined ? 0 : (ids[k] as number))
      p += 4
    }
    const len = lens[k] as number
    b[p++] = len + extra
    if (f.labeled) {
      // Withdrawals carry the RFC 8277 compatibility value 0x800000; announcements one label, bottom of stack.
      const e = withdraw ? 0x800000 : ((((labels === undefined ? 0 : (labels[k] as number)) & 0xfffff) << 4) | 1)
      b[p] = e >>> 16
      b[p + 1] = (e >>> 8) & 0xff
      b[p + 2] = e & 0xff
      p += 3
    }
    if (rds !== undefined && f.rd) {
      put32(b, p, rds[2 * k] as number)
      put32(b, p + 4, rds[2 * k + 1] as number)
      p += 8
    } else if (f.rd) {
      p += 8 // RD 0:0 (the slab is zeroed)
    }
    if (v4) {
      const a = addr[k] as number
      if (len > 0) b[p++] = a >>> 24
      if (len > 8) b[p++] = (a >>> 16) & 0xff
      if (len > 16) b[p++] = (a >>> 8) & 0xff
      if (len > 24) b[p++] = a & 0xff
      continue
    }
    let nb = (len + 7) >>> 3
    let w = 4 * k
    while (nb > 0) {
      const a = addr[w++] as number
      const take = nb > 4 ? 4 : nb
      for (let q = 0; q < take; q++) b[p + q] = (a >>> (24 - 8 * q)) & 0xff
      p += take
      nb -= take
    }
  }
  return p
}

/**
 * Packs routes [from, to) of `batch` into UPDATEs appended to `out`; returns how many messages.
 * `attrs` null means withdraw them; else `attrs` is the attribute section (no MP attributes) for every
 * route. IPv4 unicast routes without `nextHop` go in the NLRI field (attrs must carry NEXT_HOP);
 * every other case goes in MP_REACH_NLRI with `nextHop` (4, 16 or 32 bytes of address; the encoder
 * adds the VPN form's zero RDs) or MP_UNREACH_NLRI.
 */
export function encodeUpdatesBulk(
  ctx: CodecContext,
  batch: RouteBatch,
  attrs: Uint8Array | null,
  nextHop: Uint8Array | null,
  out: Uint8Array[],
  from = 0,
  to = batch.count,
): number {
  const f = families.get(batch.family)
  if (f === undefined || f.rtc) throw new RangeError(`encodeUpdatesBulk: family ${batch.family} is not supported by the bulk encoder`)
  const withdraw = attrs === null
  const body = f.key === Family.Ipv4Unicast && (withdraw || nextHop === null)
  if (!withdraw && !body && nextHop === null) throw new RangeError(`encodeUpdatesBulk: ${f.name} announcements need a next hop`)
  const nhAddrLen = nextHop?.length ?? 0
  const nhLen = nextHop === null ? 0 : f.vpnNextHop ? nhAddrLen + (nhAddrLen === 32 ? 16 : 8) : nhAddrLen
  if (!withdraw && !body && !f.nextHopLengths.includes(nhLen)) {
    throw new RangeError(`encodeUpdatesBulk: a next hop of ${nhAddrLen} bytes does not suit ${f.name}`)
  }
  const addPath = ctx.addPathSend.has(f.key)
  const attrLen = attrs?.length ?? 0
  // Fixed part of each message: header, both length fields, attributes, and the MP attribute's own
  // header (extended length assumed while fitting: 4 + AFI/SAFI, plus next-hop fields when reaching).
  const mpFixed = body ? 0 : withdraw ? 4 + 3 : 4 + 3 + 1 + nhLen + 1
  const budget = ctx.maxMessageLength - HEADER_LENGTH - 4 - attrLen - mpFixed
  // Pass 1: plan the split (first route, one past the last, NLRI bytes) of every message and the
  // total size; pass 2: one zeroed slab for the whole call, each message a view into it.
  let plans = planScratch
  let count = 0
  let bytes = 0
  for (let i = from; i < to; ) {
    let room = budget
    let j = i
    while (j < to) {
      const sz = routeBytes(f, batch.length[j] as number, addPath)
      if (sz > room) break
      room -= sz
      j++
    }
    if (j === i) throw new RangeError(`encodeUpdatesBulk: attributes of ${attrLen} bytes leave no room for a route`)
    if (3 * count + 3 > plans.length) {
      const bigger = new Int32Array(plans.length * 2)
      bigger.set(plans)
      plans = planScratch = bigger
    }
    const nlriLen = budget - room
    plans[3 * count] = i
    plans[3 * count + 1] = j
    plans[3 * count + 2] = nlriLen
    bytes += messageLength(body, mpFixed, attrLen, nlriLen)
    count++
    i = j
  }
  const slab = new Uint8Array(bytes)
  let o = 0
  for (let c = 0; c < count; c++) {
    const i = plans[3 * c] as number
    const j = plans[3 * c + 1] as number
    const nlriLen = plans[3 * c + 2] as number
    const total = messageLength(body, mpFixed, attrLen, nlriLen)
    const mpLen = total - HEADER_LENGTH - 4 - attrLen - (body ? nlriLen : 0)
    const m = slab
    let p = writeHeader(m, o, total, MessageType.Update)
    if (body && withdraw) {
      m[p] = nlriLen >>> 8
      m[p + 1] = nlriLen & 0xff
      p += 2
      p = writeRoutes(f, batch, i, j, addPath, true, m, p)
      p += 2 // Total Path Attribute Length 0 (the slab is zeroed)
    } else {
      p += 2 // Withdrawn Routes Length 0
      const aLen = attrLen + mpLen
      m[p] = aLen >>> 8
      m[p + 1] = aLen & 0xff
      p += 2
      if (!body) {
        const v = mpFixed - 4 + nlriLen
        const type = withdraw ? AttrType.MpUnreachNlri : AttrType.MpReachNlri
        p = writeAttributeHeader(m, p, AttrFlag.Optional | (v > 255 ? AttrFlag.ExtendedLength : 0), type, v)
        m[p] = f.afi >>> 8
        m[p + 1] = f.afi & 0xff
        m[p + 2] = f.safi
        p += 3
        if (!withdraw) {
          m[p++] = nhLen
          const nh = nextHop as Uint8Array
          if (f.vpnNextHop) {
            const half = nhAddrLen === 32 ? 16 : nhAddrLen
            m.set(nh.subarray(0, half), p + 8)
            p += 8 + half
            if (nhAddrLen === 32) {
              m.set(nh.subarray(16, 32), p + 8)
              p += 24
            }
          } else {
            m.set(nh, p)
            p += nhAddrLen
          }
          p++ // reserved
        }
        p = writeRoutes(f, batch, i, j, addPath, withdraw, m, p)
      }
      if (attrs !== null) {
        m.set(attrs, p)
        p += attrLen
      }
      if (body) p = writeRoutes(f, batch, i, j, addPath, false, m, p)
    }
    out.push(slab.subarray(o, o + total))
    o += total
  }
  return count
}

let planScratch = new Int32Array(3 * 64)

function messageLength(body: boolean, mpFixed: number, attrLen: number, nlriLen: number): number {
  let mpLen = 0
  if (!body) {
    const v = mpFixed - 4 + nlriLen
    mpLen = (v > 255 ? 4 : 3) + v
  }
  return HEADER_LENGTH + 4 + attrLen + mpLen + (body ? nlriLen : 0)
}
