/**
 * OPEN message body (RFC 4271 4.2): version (1), My Autonomous System (2), Hold Time (2), BGP
 * Identifier (4), Optional Parameters Length (1), Optional Parameters.
 *
 * Optional parameters: only Capabilities (type 2, RFC 5492) are supported; any other type (including
 * the deprecated Authentication, type 1) is OPEN Message Error / Unsupported Optional Parameter
 * (RFC 4271 6.2). Several capabilities in one parameter and one capability per parameter both decode;
 * how they were grouped is remembered so a decoded OPEN re-encodes byte for byte.
 *
 * RFC 9072 extended optional parameters: when the Optional Parameters Length byte is 255 and the next
 * byte (the "Non-Ext OP Type") is 255 too, a 2-byte length follows and every parameter has a 2-byte
 * length. The encoder uses this form only when the parameters do not fit in 255 bytes (RFC 9072 2),
 * unless the value asks for it.
 *
 * Validation per RFC 4271 6.2 (what the codec can see without the session's configuration):
 * - version other than 4: Unsupported Version Number, data = 2-byte largest supported version (4);
 * - hold time 1 or 2: Unacceptable Hold Time;
 * - BGP Identifier 0 (RFC 6286 2.2: any non-zero 4-octet value is valid): Bad BGP Identifier;
 * - My AS 0, or a 4-octet AS capability carrying 0 (RFC 7607): Bad Peer AS;
 * - optional parameters whose lengths do not add up: OPEN Message Error / Unspecific (RFC 9072 3
 *   allows no better); a body whose length disagrees with the Optional Parameters Length: Message
 *   Header Error / Bad Message Length with the length field as data (BIRD does the same).
 * Left to the session, which knows the configuration: Bad Peer AS against the configured peer AS
 * (with AS_TRANS and the 4-octet AS capability, RFC 6793 4.2.1), an identifier equal to ours on an
 * iBGP session (RFC 6286 2.2), a hold time below our own minimum, Unsupported Capability (RFC 5492 5),
 * Role Mismatch (RFC 9234 4.2).
 *
 * The triplet works on whole messages, header included, like update.ts: encodeOpen writes the header,
 * decodeOpen expects one whose header was checked (by the framer or decodeMessage).
 */
import { BgpError, ErrorCode, HeaderSubcode, OpenSubcode } from './errors.js'
import { HEADER_LENGTH, MessageType, writeHeader } from './header.js'
import { readU16, readU32, writeU16, writeU32 } from './cursor.js'
import { AS_TRANS } from './as-path.js'
import { type Capability, capabilityEncodingLength, decodeCapabilityAt, encodeCapability } from './capabilities.js'
import { formatIpv4, isIpv4, parseIpv4 } from '../../src/lib/address.js'

export const BGP_VERSION = 4
/** RFC 6793 9: the 2-octet AS number placed in 2-octet fields when the real ASN needs 4 octets
 * (one constant for the codec: as-path.ts defines it, OPEN re-exports it). */
export { AS_TRANS }

export const OptionalParameterType = { Authentication: 1, Capabilities: 2, ExtendedLength: 255 } as const

export interface OpenMessage {
  readonly type: 'open'
  readonly version: number
  /** The My Autonomous System field. On encode, a value above 65,535 is written as AS_TRANS. */
  readonly myAs: number
  /** Seconds; 0 or at least 3. */
  readonly holdTime: number
  /** BGP Identifier as an unsigned 32-bit number (bgpIdToString() for dotted quad). */
  readonly bgpId: number
  /** Every capability in wire order, flattened across optional parameters. */
  readonly capabilities: readonly Capability[]
  /**
   * How many capabilities each Capabilities optional parameter held, in order, when that is not one
   * per parameter (the encoder's default, what GoBGP and FRR send). BIRD sends all in one: [n].
   */
  readonly parameterGroups?: readonly number[]
  /** RFC 9072 form used although the parameters fit in 255 bytes. */
  readonly extendedParameters?: boolean
}

/** Fixed part of the OPEN body, before the optional parameters. */
const FIXED = 10

function groupsOf(o: OpenMessage): readonly number[] {
  if (o.parameterGroups !== undefined) {
    let sum = 0
    for (const g of o.parameterGroups) sum += g
    if (sum !== o.capabilities.length) {
      throw new RangeError(`OPEN parameterGroups add up to ${sum}, but there are ${o.capabilities.length} capabilities`)
    }
    return o.parameterGroups
  }
  return o.capabilities.map(() => 1)
}

/** Sizes of each parameter's value, and whether the RFC 9072 form is used. */
function layout(o: OpenMessage): { values: number[]; extended: boolean; paramsLength: number } {
  const groups = groupsOf(o)
  const values: number[] = []
  let i = 0
  for (const g of groups) {
    let n = 0
    for (let k = 0; k < g; k++) n += capabilityEncodingLength(o.capabilities[i++] as Capability)
    values.push(n)
  }
  const plain = values.reduce((s, n) => s + 2 + n, 0)
  const extended = o.extendedParameters === true || plain > 255 || values.some((n) => n > 255)
  const paramsLength = extended ? values.reduce((s, n) => s + 3 + n, 0) : plain
  if (extended && paramsLength > 0xffff) throw new RangeError(`OPEN optional parameters take ${paramsLength} bytes, more than 65,535`)
  return { values, extended, paramsLength }
}

export function openEncodingLength(o: OpenMessage): number {
  const { extended, paramsLength } = layout(o)
  // Extended: Non-Ext OP Len (255), Non-Ext OP Type (255), Extended Opt. Parm. Length (2).
  return HEADER_LENGTH + FIXED + (extended ? 3 : 0) + paramsLength
}

export function encodeOpen(o: OpenMessage, buf: Uint8Array, offset: number): number {
  if (o.holdTime < 0 || o.holdTime > 0xffff) throw new RangeError(`OPEN holdTime ${o.holdTime}: must be 0..65535`)
  if (o.myAs < 0 || o.myAs > 0xffffffff) throw new RangeError(`OPEN myAs ${o.myAs}: must be 0..4294967295`)
  const { values, extended, paramsLength } = layout(o)
  const groups = groupsOf(o)
  const total = HEADER_LENGTH + FIXED + (extended ? 3 : 0) + paramsLength
  let p = writeHeader(buf, offset, total, MessageType.Open)
  buf[p++] = o.version
  p = writeU16(buf, p, o.myAs > 0xffff ? AS_TRANS : o.myAs)
  p = writeU16(buf, p, o.holdTime)
  p = writeU32(buf, p, o.bgpId)
  if (extended) {
    buf[p++] = 255
    buf[p++] = OptionalParameterType.ExtendedLength
    p = writeU16(buf, p, paramsLength)
  } else {
    buf[p++] = paramsLength
  }
  let i = 0
  for (let g = 0; g < values.length; g++) {
    buf[p++] = OptionalParameterType.Capabilities
    const n = values[g] as number
    if (extended) p = writeU16(buf, p, n)
    else buf[p++] = n
    const count = groups[g] as number
    for (let k = 0; k < count; k++) p += encodeCapability(o.capabilities[i++] as Capability, buf, p)
  }
  return p - offset
}

function openError(kind: string, subcode: number, message: string, data: Uint8Array = new Uint8Array(0)): BgpError {
  return new BgpError(kind, ErrorCode.OpenMessage, subcode, data, 'session-reset', message)
}

function badLength(total: number, why: string): BgpError {
  return new BgpError('bad-message-length', ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength,
    Uint8Array.of(total >>> 8, total & 0xff), 'session-reset', `OPEN: ${why}`)
}

/** Decodes and validates the OPEN message of `length` bytes at `offset` (header included). Throws BgpError. */
export function decodeOpen(buf: Uint8Array, msgOffset: number, msgLength: number): OpenMessage {
  if (msgLength < HEADER_LENGTH + FIXED || msgOffset + msgLength > buf.length) {
    throw badLength(msgLength, `${msgLength} byte(s) is shorter than 29 or past the buffer`)
  }
  const offset = msgOffset + HEADER_LENGTH
  const end = msgOffset + msgLength
  const version = buf[offset] as number
  if (version !== BGP_VERSION) {
    throw openError('unsupported-version', OpenSubcode.UnsupportedVersionNumber,
      `version ${version} is not supported, only 4`, Uint8Array.of(0, BGP_VERSION))
  }
  const myAs = readU16(buf, offset + 1)
  const holdTime = readU16(buf, offset + 3)
  const bgpId = readU32(buf, offset + 5)
  let optLen = buf[offset + 9] as number
  let p = offset + FIXED
  let extended = false
  // RFC 9072 2: Non-Ext OP Len 255 followed by Non-Ext OP Type 255 announces the extended form.
  if (optLen === 255 && p < end && buf[p] === OptionalParameterType.ExtendedLength) {
    if (end - p < 3) throw openError('malformed-optional-parameters', OpenSubcode.Unspecific, 'extended optional parameters length is truncated')
    optLen = readU16(buf, p + 1)
    p += 3
    extended = true
  }
  if (p + optLen !== end) {
    throw badLength(msgLength, `optional parameters length ${optLen} disagrees with the ${end - p} byte(s) left`)
  }
  if (myAs === 0) throw openError('bad-peer-as', OpenSubcode.BadPeerAs, 'My Autonomous System is 0 (RFC 7607)')
  if (holdTime === 1 || holdTime === 2) {
    throw openError('unacceptable-hold-time', OpenSubcode.UnacceptableHoldTime, `hold time ${holdTime}: must be 0 or at least 3`)
  }
  if (bgpId === 0) throw openError('bad-bgp-identifier', OpenSubcode.BadBgpIdentifier, 'BGP Identifier is 0')

  const capabilities: Capability[] = []
  const groups: number[] = []
  const hdr = extended ? 3 : 2
  while (p < end) {
    if (end - p < hdr) throw openError('malformed-optional-parameters', OpenSubcode.Unspecific, 'optional parameter header is truncated')
    const ptype = buf[p] as number
    const plen = extended ? readU16(buf, p + 1) : (buf[p + 1] as number)
    const v = p + hdr
    const pend = v + plen
    if (pend > end) throw openError('malformed-optional-parameters', OpenSubcode.Unspecific, `optional parameter ${ptype} length ${plen} runs past the OPEN`)
    if (ptype !== OptionalParameterType.Capabilities) {
      throw openError('unsupported-optional-parameter', OpenSubcode.UnsupportedOptionalParameter, `optional parameter type ${ptype} is not supported`)
    }
    let q = v
    let count = 0
    while (q < pend) {
      const { capability, next } = decodeCapabilityAt(buf, q, pend)
      if (capability.type === 'as4' && capability.asn === 0) {
        throw openError('bad-peer-as', OpenSubcode.BadPeerAs, '4-octet AS capability carries AS 0 (RFC 7607)')
      }
      capabilities.push(capability)
      count++
      q = next
    }
    groups.push(count)
    p = pend
  }
  const open: OpenMessage = { type: 'open', version, myAs, holdTime, bgpId, capabilities }
  // Remember only what the encoder would not do by itself, so plain OPENs compare equal to plain values.
  const parameterGroups = groups.every((g) => g === 1) ? undefined : groups
  const keepExtended = extended && !layout(parameterGroups === undefined ? open : { ...open, parameterGroups }).extended
  if (parameterGroups === undefined && !keepExtended) return open
  return {
    ...open,
    ...(parameterGroups === undefined ? {} : { parameterGroups }),
    ...(keepExtended ? { extendedParameters: true } : {}),
  }
}

/** The peer's real AS: the 4-octet AS capability when present (RFC 6793), else My Autonomous System. */
export function openPeerAs(o: OpenMessage): number {
  for (const c of o.capabilities) if (c.type === 'as4') return c.asn
  return o.myAs
}

/** Builds the OPEN a speaker sends: My AS is AS_TRANS and a 4-octet AS capability is added when needed. */
export function makeOpen(opts: {
  asn: number
  holdTime: number
  bgpId: number
  capabilities?: readonly Capability[]
}): OpenMessage {
  const caps = [...(opts.capabilities ?? [])]
  if (!caps.some((c) => c.type === 'as4')) caps.push({ type: 'as4', asn: opts.asn })
  return {
    type: 'open',
    version: BGP_VERSION,
    myAs: opts.asn > 0xffff ? AS_TRANS : opts.asn,
    holdTime: opts.holdTime,
    bgpId: opts.bgpId,
    capabilities: caps,
  }
}

export function bgpIdToString(id: number): string {
  return formatIpv4(id)
}

/** Parses a dotted-quad BGP Identifier; throws RangeError naming the input when it is not one. */
export function bgpIdFromString(s: string): number {
  if (!isIpv4(s)) throw new RangeError(`BGP identifier ${JSON.stringify(s)}: not a dotted-quad IPv4 address`)
  return parseIpv4(s)
}
