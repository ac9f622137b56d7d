/**
 * The one round-trip helper every codec test uses (dns-packet's habit): encode, check the byte count
 * against encodingLength, decode, compare with the value, re-encode the decoded value to identical
 * bytes, and do it all again at an odd offset inside a larger buffer whose guard bytes must stay
 * untouched (an encoder that writes past its length, or a decoder that reads from offset 0, fails).
 *
 * A codec is the dns-packet triplet; decoders that need a CodecContext are wrapped by the caller:
 *   roundTrip(t, { encode: encodeX, decode: (b, o, l) => decodeX(b, o, l, ctx), encodingLength: xEncodingLength }, v)
 */
import type { Test } from 'tap'
import { BgpError } from '../../bgp/codec/errors.js'

export interface Codec<T> {
  encode(value: T, buf: Uint8Array, offset: number): number
  decode(buf: Uint8Array, offset: number, length: number): T
  encodingLength(value: T): number
}

export interface RoundTripOptions<T> {
  /** What decode should give when it is not the input itself (e.g. defaults filled in). */
  expected?: T
  /** The exact bytes the value must encode to (a fixture from an RFC or a real implementation). */
  bytes?: Uint8Array
  /** Label for the assertions. */
  name?: string
}

const GUARD = 0xa5
const OFFSET = 13

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
}

/** Runs the full round trip; returns the encoded bytes for further checks. */
export function roundTrip<T>(t: Test, codec: Codec<T>, value: T, opts: RoundTripOptions<T> = {}): Uint8Array {
  const name = opts.name ?? 'value'
  const len = codec.encodingLength(value)
  const buf = new Uint8Array(len)
  const written = codec.encode(value, buf, 0)
  t.equal(written, len, `${name}: bytes written equal encodingLength`)
  if (opts.bytes !== undefined) t.equal(hex(buf), hex(opts.bytes), `${name}: encodes to the expected bytes`)

  const decoded = codec.decode(buf, 0, len)
  t.same(decoded, opts.expected ?? value, `${name}: decodes to the value`)

  const again = new Uint8Array(codec.encodingLength(decoded))
  t.equal(codec.encode(decoded, again, 0), again.length, `${name}: re-encode length`)
  t.equal(hex(again), hex(buf), `${name}: re-encodes to identical bytes`)

  // At an offset inside a larger buffer, surrounded by guard bytes.
  const big = new Uint8Array(OFFSET + len + OFFSET).fill(GUARD)
  t.equal(codec.encode(value, big, OFFSET), len, `${name}: bytes written at an offset`)
  t.equal(hex(big.subarray(OFFSET, OFFSET + len)), hex(buf), `${name}: same bytes at an offset`)
  const guardsIntact = big.subarray(0, OFFSET).every((b) => b === GUARD) && big.subarray(OFFSET + len).every((b) => b === GUARD)
  t.ok(guardsIntact, `${name}: nothing written outside [offset, offset+length)`)
  t.same(codec.decode(big, OFFSET, len), opts.expected ?? value, `${name}: decodes at an offset`)
  return buf
}

/**
 * The other direction, for captured or hand-made fixtures: decode the bytes (also at an offset),
 * re-encode to the same bytes, and return the decoded value for the caller's own checks.
 */
export function bytesRoundTrip<T>(t: Test, codec: Codec<T>, bytes: Uint8Array, name = 'fixture'): T {
  const decoded = codec.decode(bytes, 0, bytes.length)
  t.equal(codec.encodingLength(decoded), bytes.length, `${name}: encodingLength equals the fixture length`)
  const out = new Uint8Array(bytes.length)
  t.equal(codec.encode(decoded, out, 0), bytes.length, `${name}: bytes written`)
  t.equal(hex(out), hex(bytes), `${name}: re-encodes byte for byte`)
  const big = new Uint8Array(OFFSET + bytes.length + OFFSET).fill(GUARD)
  big.set(bytes, OFFSET)
  t.same(codec.decode(big, OFFSET, bytes.length), decoded, `${name}: decodes the same at an offset`)
  return decoded
}

/** Hex string (spaces, newlines and `#` comments allowed) to bytes, for fixtures. */
export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/#[^\n]*/g, '').replace(/[^0-9a-fA-F]/g, '')
  if (clean.length % 2 !== 0) throw new Error(`fromHex: odd number of hex digits (${clean.length})`)
  return Uint8Array.from(Buffer.from(clean, 'hex'))
}

export { hex as toHex }

/** What a BgpError must carry; fields left out are not checked. `data` is compared as hex. */
export interface ExpectedBgpError {
  kind?: string
  code: number
  subcode: number
  data?: Uint8Array | string
  action?: string
}

/**
 * Runs `fn`, which must throw a BgpError (not any other exception) with the expected code, subcode,
 * and, when given, kind, data and action. Returns the error for further checks.
 */
export function throwsBgpError(t: Test, fn: () => unknown, want: ExpectedBgpError, name = 'throws BgpError'): BgpError | undefined {
  try {
    fn()
  } catch (e) {
    if (!(e instanceof BgpError)) {
      t.fail(`${name}: threw ${String(e)}, not a BgpError`)
      return undefined
    }
    const got = { code: e.code, subcode: e.subcode } as Record<string, unknown>
    const exp = { code: want.code, subcode: want.subcode } as Record<string, unknown>
    if (want.kind !== undefined) { got.kind = e.kind; exp.kind = want.kind }
    if (want.action !== undefined) { got.action = e.action; exp.action = want.action }
    if (want.data !== undefined) {
      got.data = hex(e.data)
      exp.data = typeof want.data === 'string' ? hex(fromHex(want.data)) : hex(want.data)
    }
    t.same(got, exp, name)
    return e
  }
  t.fail(`${name}: did not throw`)
  return undefined
}
