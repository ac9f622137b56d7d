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

/** Smallest length a message of each type may have (RFC 4271 6.1, RFC 2918). */
export const minLengthByType: Readonly<Record<number, number>> = {
  [MessageType.Open]: 29,
  [MessageType.Update]: 23,
  [MessageType.Notification]: 21,
  [MessageType.Keepalive]: 19,
  [MessageType.RouteRefresh]: 23,
}

/**
 * Checks the header at `offset` (at least 19 bytes must be there) and returns the message length.
 * Throws the RFC 4271 6.1 Message Header Error: bad marker (subcode 1), bad length (2, data = the
 * length field), bad type (3, data = the type byte).
 */
export function checkHeader(buf: Uint8Array, offset: number, maxLength: number): { length: number; type: number } {
  for (let i = 0; i < 16; i++) {
    if (buf[offset + i] !== 0xff) {
      throw new BgpError('bad-marker', ErrorCode.MessageHeader, HeaderSubcode.ConnectionNotSynchronized)
    }
  }
  const length = ((buf[offset + 16] as number) << 8) | (buf[offset + 17] as number)
  const type = buf[offset + 18] as number
  const min = minLengthByType[type]
  if (min === undefined) {
    throw new BgpError('bad-message-type', ErrorCode.MessageHeader, HeaderSubcode.BadMessageType, Uint8Array.of(type))
  }
  if (length < min || length > maxLength || (type === MessageType.Keepalive && length !== 19)) {
    throw new BgpError(
      'bad-message-length',
      ErrorCode.MessageHeader,
      HeaderSubcode.BadMessageLength,
      Uint8Array.of(length >>> 8, length & 0xff),
    )
  }
  return { length, type }
}
