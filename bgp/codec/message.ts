/**
 * Whole BGP messages (RFC 4271 4): the 19-byte header plus a body, dispatched by type to the message
 * codecs. `BgpMessage` is the discriminated union (`type`: 'open' | 'update' | 'notification' |
 * 'keepalive' | 'route-refresh') that the session and the RIB handle with exhaustive switches.
 *
 * - decodeMessage(buf, offset, ctx): checks the header (RFC 4271 6.1) against ctx.maxMessageLength,
 *   then decodes the body. Throws BgpError, never anything else.
 * - decodeFramed(type, buf, offset, length, ctx): the same after the framer has checked the header
 *   (framer.ts hands out type, buf, offset and length of whole messages).
 * - encodeMessage(msg, ctx): one allocation of exactly messageEncodingLength(msg, ctx) bytes.
 * - encodeMessageInto(msg, buf, offset, ctx): into a caller's buffer, for batching many messages
 *   into one socket write.
 *
 * Every message codec works on whole messages, header included; UPDATE goes to update.ts.
 */
import type { CodecContext } from './context.js'
import { defaultContext } from './context.js'
import { BgpError, ErrorCode, HeaderSubcode } from './errors.js'
import { checkHeaderLength, HEADER_LENGTH, MAX_MESSAGE_LENGTH, MessageType } from './header.js'
import { decodeKeepalive, encodeKeepalive, keepaliveEncodingLength, type KeepaliveMessage } from './keepalive.js'
import { decodeNotification, encodeNotification, notificationEncodingLength, type NotificationMessage } from './notification.js'
import { decodeOpen, encodeOpen, openEncodingLength, type OpenMessage } from './open.js'
import { decodeRouteRefresh, encodeRouteRefresh, routeRefreshEncodingLength, type RouteRefreshMessage } from './route-refresh.js'
import { decodeUpdate, encodeUpdate, updateEncodingLength, type UpdateMessage } from './update.js'

export type BgpMessage = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage

const fallbackContext = defaultContext()

/** Length of the whole message, header included. Throws RangeError when it exceeds what the type and
 * ctx.maxMessageLength allow (OPEN and KEEPALIVE: 4,096 whatever was negotiated, RFC 8654 4). */
export function messageEncodingLength(msg: BgpMessage, ctx: CodecContext = fallbackContext): number {
  let n: number
  switch (msg.type) {
    case 'open': n = openEncodingLength(msg); break
    case 'update': n = updateEncodingLength(msg, ctx); break
    case 'notification': n = notificationEncodingLength(msg); break
    case 'keepalive': n = keepaliveEncodingLength(msg); break
    case 'route-refresh': n = routeRefreshEncodingLength(msg); break
  }
  const max = msg.type === 'open' || msg.type === 'keepalive' ? MAX_MESSAGE_LENGTH : ctx.maxMessageLength
  if (n > max) throw new RangeError(`${msg.type} message would be ${n} bytes, more than the ${max} allowed`)
  return n
}

/** Writes the whole message at `offset`; returns bytes written. */
export function encodeMessageInto(msg: BgpMessage, buf: Uint8Array, offset: number, ctx: CodecContext = fallbackContext): number {
  const length = messageEncodingLength(msg, ctx)
  if (offset < 0 || offset + length > buf.length) {
    throw new RangeError(`${msg.type} message of ${length} bytes does not fit the buffer at offset ${offset}`)
  }
  let n: number
  switch (msg.type) {
    case 'open': n = encodeOpen(msg, buf, offset); break
    case 'update': n = encodeUpdate(msg, ctx, buf, offset); break
    case 'notification': n = encodeNotification(msg, buf, offset); break
    case 'keepalive': n = encodeKeepalive(msg, buf, offset); break
    case 'route-refresh': n = encodeRouteRefresh(msg, buf, offset); break
  }
  if (n !== length) {
    // An encoder and its encodingLength disagree: a bug of ours, never the peer's.
    throw new Error(`${msg.type} encoder wrote ${n} bytes, encodingLength said ${length}`)
  }
  return length
}

/** The whole message in one new buffer of exactly its size. */
export function encodeMessage(msg: BgpMessage, ctx: CodecContext = fallbackContext): Uint8Array {
  const buf = new Uint8Array(messageEncodingLength(msg, ctx))
  encodeMessageInto(msg, buf, 0, ctx)
  return buf
}

/**
 * Decodes the message at [offset, offset+length) whose header was already checked (by the framer:
 * `decodeFramed(framer.type, framer.buf, framer.offset, framer.length, ctx)`).
 */
export function decodeFramed(type: number, buf: Uint8Array, offset: number, length: number, ctx: CodecContext = fallbackContext): BgpMessage {
  switch (type) {
    case MessageType.Open: return decodeOpen(buf, offset, length)
    case MessageType.Update: return decodeUpdate(buf, offset, length, ctx)
    case MessageType.Notification: return decodeNotification(buf, offset, length)
    case MessageType.Keepalive: return decodeKeepalive(buf, offset, length)
    case MessageType.RouteRefresh: return decodeRouteRefresh(buf, offset, length)
    default:
      throw new BgpError('bad-message-type', ErrorCode.MessageHeader, HeaderSubcode.BadMessageType,
        Uint8Array.of(type & 0xff), 'session-reset', `message type ${type} is unknown`)
  }
}

/**
 * Decodes one whole message starting at `offset`: checks the header (RFC 4271 6.1) against
 * ctx.maxMessageLength, then the body. Bytes after the message are ignored; `messageLengthAt` tells
 * how far it went. Throws BgpError, never anything else, for any bytes.
 */
export function decodeMessage(buf: Uint8Array, offset: number, ctx: CodecContext = fallbackContext): BgpMessage {
  const available = buf.length - offset
  if (available < HEADER_LENGTH) throw truncated(available)
  const length = checkHeaderLength(buf, offset, ctx.maxMessageLength)
  if (available < length) throw truncated(available)
  return decodeFramed(buf[offset + 18] as number, buf, offset, length, ctx)
}

/** The length field of the message at `offset` (no checks), to step over it after decodeMessage. */
export function messageLengthAt(buf: Uint8Array, offset: number): number {
  return ((buf[offset + 16] as number) << 8) | (buf[offset + 17] as number)
}

/** A buffer that ends inside a message: on a stream that means the framer was bypassed; report it as
 * a bad length (the header promised more than there is). */
function truncated(available: number): BgpError {
  return new BgpError('truncated-message', ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength,
    new Uint8Array(0), 'session-reset', `message is truncated: only ${available} byte(s) available`)
}
