/**
 * ROUTE-REFRESH message body (RFC 2918 3): AFI (2), Message Subtype (1, "Reserved" in RFC 2918),
 * SAFI (1). RFC 7313 3 gives the subtype meaning: 0 normal route refresh, 1 Beginning of RIB Refresh
 * (BoRR), 2 End of RIB Refresh (EoRR); 255 is reserved and 3-254 unassigned.
 *
 * Errors (RFC 7313 5): a body whose length is not 4 is ROUTE-REFRESH Message Error / Invalid Message
 * Length, with the complete ROUTE-REFRESH message (header included) as data. RFC 7313 states this for
 * subtypes 1 and 2; a subtype-0 body longer than 4 is a refresh with Outbound Route Filter entries
 * (RFC 5291), which we do not support but accept and keep as `orf` bytes so the session can answer
 * with a plain refresh. A body shorter than 4 cannot even name its subtype and gets the same error.
 * Other subtypes decode as they are: RFC 7313 5 asks the receiver to ignore them, which is the
 * session's business, not the codec's.
 *
 * The triplet works on whole messages, header included, like update.ts.
 */
import { BgpError, ErrorCode, RouteRefreshSubcode } from './errors.js'
import { readU16, writeU16 } from './cursor.js'
import { HEADER_LENGTH, MessageType, writeHeader } from './header.js'

export const RouteRefreshSubtype = { Normal: 0, BeginningOfRibRefresh: 1, EndOfRibRefresh: 2 } as const

export interface RouteRefreshMessage {
  readonly type: 'route-refresh'
  readonly afi: number
  readonly safi: number
  /** RFC 7313: 0 normal, 1 BoRR, 2 EoRR. */
  readonly subtype: number
  /** ORF entries of a subtype-0 refresh (RFC 5291), kept opaque. */
  readonly orf?: Uint8Array
}

export function routeRefreshEncodingLength(r: RouteRefreshMessage): number {
  return HEADER_LENGTH + 4 + (r.orf?.length ?? 0)
}

export function encodeRouteRefresh(r: RouteRefreshMessage, buf: Uint8Array, offset: number): number {
  if (r.orf !== undefined && r.orf.length > 0 && r.subtype !== RouteRefreshSubtype.Normal) {
    throw new RangeError(`ROUTE-REFRESH subtype ${r.subtype}: ORF entries only go with subtype 0`)
  }
  const total = routeRefreshEncodingLength(r)
  if (total > 0xffff) throw new RangeError(`ROUTE-REFRESH with ${r.orf?.length} ORF bytes does not fit a message`)
  let p = writeHeader(buf, offset, total, MessageType.RouteRefresh)
  p = writeU16(buf, p, r.afi)
  buf[p++] = r.subtype
  buf[p++] = r.safi
  if (r.orf !== undefined) {
    buf.set(r.orf, p)
    p += r.orf.length
  }
  return p - offset
}

/** Decodes the ROUTE-REFRESH of `length` bytes at `offset` (header included, already checked). */
export function decodeRouteRefresh(buf: Uint8Array, msgOffset: number, msgLength: number): RouteRefreshMessage {
  const offset = msgOffset + HEADER_LENGTH
  const length = msgLength - HEADER_LENGTH
  const subtype = length >= 3 ? (buf[offset + 2] as number) : -1
  if (length < 4 || (length > 4 && subtype !== RouteRefreshSubtype.Normal) || msgOffset + msgLength > buf.length) {
    throw new BgpError('bad-route-refresh-length', ErrorCode.RouteRefreshMessage, RouteRefreshSubcode.InvalidMessageLength,
      wholeMessage(buf, offset, Math.max(0, Math.min(length, buf.length - offset))), 'session-reset',
      `ROUTE-REFRESH body is ${length} byte(s), must be 4`)
  }
  const afi = readU16(buf, offset)
  const safi = buf[offset + 3] as number
  if (length > 4) return { type: 'route-refresh', afi, safi, subtype, orf: buf.slice(offset + 4, offset + length) }
  return { type: 'route-refresh', afi, safi, subtype }
}

/** RFC 7313 5: the error's data is the complete message; rebuilt from the body so that it is the
 * message as received even when the caller handed a body whose header was not in the buffer. */
function wholeMessage(buf: Uint8Array, offset: number, length: number): Uint8Array {
  const total = HEADER_LENGTH + length
  const out = new Uint8Array(total)
  writeHeader(out, 0, total, MessageType.RouteRefresh)
  out.set(buf.subarray(offset, offset + length), HEADER_LENGTH)
  return out
}
