/**
 * KEEPALIVE (RFC 4271 4.4): a header with no body, exactly 19 bytes (the header check enforces the
 * length; a KEEPALIVE of any other length is Message Header Error / Bad Message Length).
 *
 * The triplet works on the (empty) body like the other message codecs; message.ts adds the header.
 * `KEEPALIVE_BYTES` is the whole message, ready to write to a socket without encoding anything.
 */
import { BgpError, ErrorCode, HeaderSubcode } from './errors.js'
import { HEADER_LENGTH, MessageType, writeHeader } from './header.js'

export interface KeepaliveMessage {
  readonly type: 'keepalive'
}

export const KEEPALIVE: KeepaliveMessage = Object.freeze({ type: 'keepalive' })

/** The complete 19-byte KEEPALIVE message. Frozen in spirit: do not write into it. */
export const KEEPALIVE_BYTES: Uint8Array = (() => {
  const b = new Uint8Array(HEADER_LENGTH)
  writeHeader(b, 0, HEADER_LENGTH, MessageType.Keepalive)
  return b
})()

export function keepaliveEncodingLength(_k: KeepaliveMessage): number {
  return 0
}

export function encodeKeepalive(_k: KeepaliveMessage, _buf: Uint8Array, _offset: number): number {
  return 0
}

export function decodeKeepalive(_buf: Uint8Array, _offset: number, length: number): KeepaliveMessage {
  if (length !== 0) {
    const total = length + HEADER_LENGTH
    throw new BgpError('bad-message-length', ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength,
      Uint8Array.of(total >>> 8, total & 0xff), 'session-reset', `KEEPALIVE has a ${length}-byte body, must have none`)
  }
  return KEEPALIVE
}
