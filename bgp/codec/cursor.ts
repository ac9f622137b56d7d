/**
 * A small bounds-checked reader over a window of a Uint8Array, shared by every message codec.
 *
 * The codec never trusts a length field (dns-packet's lesson): every read goes through `need()`,
 * which throws the BgpError the caller chose for "this field runs past its enclosing length". What
 * that error is depends on where the reader is (an OPEN parameter, a capability, a path attribute),
 * so the cursor takes a factory instead of hard-coding one.
 *
 * Reads return numbers and subarray views, never copies; the cursor is one small object per
 * message section, not per field. Hot loops that read millions of prefixes may bypass it and use
 * the `readU16`/`readU32` helpers below with their own checks.
 */
import { BgpError, ErrorCode } from './errors.js'

/** Builds the error thrown when `field` needs `need` bytes but only `have` remain. */
export type ShortReadError = (field: string, need: number, have: number) => BgpError

/** Default short-read error (Message Header Error, subcode 0 "unspecific"). Callers nearly always
 * pass their own, naming the message part whose length was too short. */
export const truncated: ShortReadError = (field, need, have) =>
  new BgpError('truncated', ErrorCode.MessageHeader, 0, new Uint8Array(0), 'session-reset',
    `${field}: needs ${need} byte(s), only ${have} left`)

/** Builds a ShortReadError for a given NOTIFICATION code/subcode and a stable kind string. */
export function shortReadError(kind: string, code: ErrorCode, subcode: number): ShortReadError {
  return (field, need, have) =>
    new BgpError(kind, code, subcode, new Uint8Array(0), 'session-reset',
      `${field}: needs ${need} byte(s), only ${have} left`)
}

export class Cursor {
  /** Position of the next byte to read (absolute index into `buf`). */
  pos: number
  /** One past the last readable byte (absolute index into `buf`). */
  end: number

  constructor(
    readonly buf: Uint8Array,
    offset: number,
    length: number,
    readonly onShort: ShortReadError = truncated,
  ) {
    // A window that claims more than the buffer holds is itself a short read.
    if (offset < 0 || length < 0 || offset + length > buf.length) {
      throw onShort('buffer', length, Math.max(0, buf.length - offset))
    }
    this.pos = offset
    this.end = offset + length
  }

  /** Bytes left in the window. */
  get remaining(): number {
    return this.end - this.pos
  }

  /** Throws unless `n` more bytes are readable. */
  need(n: number, field: string): void {
    if (this.end - this.pos < n) throw this.onShort(field, n, this.end - this.pos)
  }

  u8(field = 'u8'): number {
    if (this.pos >= this.end) throw this.onShort(field, 1, 0)
    return this.buf[this.pos++] as number
  }

  u16(field = 'u16'): number {
    this.need(2, field)
    const b = this.buf
    const p = this.pos
    this.pos = p + 2
    return ((b[p] as number) << 8) | (b[p + 1] as number)
  }

  u24(field = 'u24'): number {
    this.need(3, field)
    const b = this.buf
    const p = this.pos
    this.pos = p + 3
    return ((b[p] as number) << 16) | ((b[p + 1] as number) << 8) | (b[p + 2] as number)
  }

  u32(field = 'u32'): number {
    this.need(4, field)
    const v = readU32(this.buf, this.pos)
    this.pos += 4
    return v
  }

  /** A view (not a copy) of the next `n` bytes. */
  bytes(n: number, field = 'bytes'): Uint8Array {
    this.need(n, field)
    const v = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return v
  }

  /** A view of everything left. */
  rest(): Uint8Array {
    const v = this.buf.subarray(this.pos, this.end)
    this.pos = this.end
    return v
  }

  skip(n: number, field = 'skip'): void {
    this.need(n, field)
    this.pos += n
  }

  /**
   * A sub-cursor over the next `n` bytes (a length-prefixed section), advancing this one past them.
   * The sub-cursor reports short reads with `onShort` (default: this cursor's).
   */
  sub(n: number, field: string, onShort: ShortReadError = this.onShort): Cursor {
    this.need(n, field)
    const c = new Cursor(this.buf, this.pos, n, onShort)
    this.pos += n
    return c
  }
}

/** Unchecked big-endian reads/writes for callers that checked bounds themselves. */
export function readU16(b: Uint8Array, p: number): number {
  return ((b[p] as number) << 8) | (b[p + 1] as number)
}
export function readU32(b: Uint8Array, p: number): number {
  // `>>> 0` keeps the result unsigned: a 4-octet ASN above 2^31 must stay positive.
  return (((b[p] as number) << 24) | ((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number)) >>> 0
}
export function writeU16(b: Uint8Array, p: number, v: number): number {
  b[p] = v >>> 8
  b[p + 1] = v & 0xff
  return p + 2
}
export function writeU24(b: Uint8Array, p: number, v: number): number {
  b[p] = (v >>> 16) & 0xff
  b[p + 1] = (v >>> 8) & 0xff
  b[p + 2] = v & 0xff
  return p + 3
}
export function writeU32(b: Uint8Array, p: number, v: number): number {
  b[p] = (v >>> 24) & 0xff
  b[p + 1] = (v >>> 16) & 0xff
  b[p + 2] = (v >>> 8) & 0xff
  b[p + 3] = v & 0xff
  return p + 4
}
