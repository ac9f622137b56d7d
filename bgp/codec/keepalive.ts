/**
 * KEEPALIVE (RFC 4271 4.4): a header with no body, exactly 19 bytes (the header check enforces the
 * length; a KEEPALIVE of any other length is Message Header Error / Bad Message Length).
 *
 * The triplet works on whole messages, header included, like update.ts. `KEEPALIVE_BYTES` is the
 * whole message, ready to write to a socket without encoding anything.
 */
import { BgpError, ErrorCode, HeaderSubcode } from './errors.js'
import { HEADER_LENGTH, MessageType, writeHeader } from './header.js'

export interface KeepaliveMessage {
  readonly type: 'keepalive'
}

export const KEEPALIVE: KeepaliveMessage = Object.freeze({ type: 'keepalive' })

/** The complete 19-byte KEEPALIVE message. Shared: never write into it. */
export const KEEPALIVE_BYTES: Uint8Array = (() => {
  const b = new Uint8Array(HEADER_LENGTH)
  writeHeader(b, 0, HEADER_LENGTH, MessageType.Keepalive)
  return b
})()

export function keepaliveEncodingLength(_k: KeepaliveMessage = KEEPALIVE): number {
  return HEADER_LENGTH
}

export function encodeKeepalive(_k: KeepaliveMessage, buf: Uint8Array, offset: number): number {
  writeHeader(buf, offset, HEADER_LENGTH, MessageType.Keepalive)
  return HEADER_LENGTH
}

/** Decodes the KEEPALIVE of `length` bytes at `offset` (header included, already checked). */
export function decodeKeepalive(_buf: Uint8Array, _offset: number, length: number): KeepaliveMessage {
  if (length !== HEADER_LENGTH) {
    throw new BgpError('bad-message-length', ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength,
      Uint8Array.of(length >>> 8, length & 0xff), 'session-reset', `KEEPALIVE is ${length} bytes, must be 19`)
  }
  return KEEPALIVE
}
