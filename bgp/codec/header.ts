/**
 * The 19-byte BGP message header (RFC 4271 4.1): 16-byte all-ones marker, 2-byte length (header
 * included), 1-byte type. Writing and checking it, shared by every message codec.
 */
import { BgpError, ErrorCode, HeaderSubcode } from './errors.js'

export const HEADER_LENGTH = 19
export const MIN_MESSAGE_LENGTH = 19
export const MAX_MESSAGE_LENGTH = 4096
export const MAX_EXTENDED_MESSAGE_LENGTH = 65535

export const MessageType = {
  Open: 1,
  Update: 2,
  Notification: 3,
  Keepalive: 4,
  RouteRefresh: 5,
} as const
export type MessageType = (typeof MessageType)[keyof typeof MessageType]

/** Writes marker, length and type at `offset`; returns the offset of the body. */
export function writeHeader(buf: Uint8Array, offset: number, length: number, type: number): number {
  buf.fill(0xff, offset, offset + 16)
  buf[offset + 16] = length >>> 8
  buf[offset + 17] = length & 0xff
  buf[offset + 18] = type
  return offset + HEADER_LENGTH
}

/**
 * Smallest length a message of each type may have (RFC 4271 6.1). ROUTE-REFRESH is 19 here on
 * purpose: RFC 7313 5 answers a ROUTE-REFRESH of the wrong length with its own error (code 7,
 * subcode 1, data = the whole message), which decodeRouteRefresh raises, not a header error.
 */
export const minLengthByType: Readonly<Record<number, number>> = {
  [MessageType.Open]: 29,
  [MessageType.Update]: 23,
  [MessageType.Notification]: 21,
  [MessageType.Keepalive]: 19,
  [MessageType.RouteRefresh]: 19,
}

function badLength(length: number): BgpError {
  return new BgpError(
    'bad-message-length',
    ErrorCode.MessageHeader,
    HeaderSubcode.BadMessageLength,
    Uint8Array.of(length >>> 8, length & 0xff),
    'session-reset',
    `message length ${length} is not valid here`,
  )
}

/**
 * Checks the header at `offset` (at least 19 bytes must be there) and returns the message length,
 * allocating nothing on success (the framer calls it once per message). Throws the RFC 4271 6.1
 * Message Header Error: bad marker (subcode 1), bad length (2, data = the length field), bad type
 * (3, data = the type byte). Order as BIRD: marker, length within [19, maxLength], type, then the
 * length rules of the type: its minimum, KEEPALIVE exactly 19, OPEN and KEEPALIVE never above 4,096
 * even after RFC 8654 extended messages were negotiated (RFC 8654 4).
 */
export function checkHeaderLength(buf: Uint8Array, offset: number, maxLength: number): number {
  for (let i = 0; i < 16; i++) {
    if (buf[offset + i] !== 0xff) {
      throw new BgpError('bad-marker', ErrorCode.MessageHeader, HeaderSubcode.ConnectionNotSynchronized,
        new Uint8Array(0), 'session-reset', 'header marker is not all ones')
    }
  }
  const length = ((buf[offset + 16] as number) << 8) | (buf[offset + 17] as number)
  if (length < MIN_MESSAGE_LENGTH || length > maxLength) throw badLength(length)
  const type = buf[offset + 18] as number
  const min = minLengthByType[type]
  if (min === undefined) {
    throw new BgpError('bad-message-type', ErrorCode.MessageHeader, HeaderSubcode.BadMessageType,
      Uint8Array.of(type), 'session-reset', `message type ${type} is unknown`)
  }
  if (length < min) throw badLength(length)
  if (type === MessageType.Keepalive && length !== HEADER_LENGTH) throw badLength(length)
  if (type === MessageType.Open && length > MAX_MESSAGE_LENGTH) throw badLength(length)
  return length
}

/** As checkHeaderLength, returning the type too. */
export function checkHeader(buf: Uint8Array, offset: number, maxLength: number): { length: number; type: number } {
  const length = checkHeaderLength(buf, offset, maxLength)
  return { length, type: buf[offset + 18] as number }
}
