/**
 * The bounds-checked cursor (bgp/codec/cursor.ts): reads, views, sub-cursors, and the caller's error
 * for every read past the window (never a RangeError or undefined).
 */
import t from 'tap'
import { Cursor, readU32, shortReadError, writeU16, writeU24, writeU32 } from '../../bgp/codec/cursor.js'
import { ErrorCode, OpenSubcode } from '../../bgp/codec/errors.js'
import { throwsBgpError } from '../helpers/round-trip.js'

t.test('reads numbers big-endian and views without copying', async (t) => {
  const buf = Uint8Array.of(9, 9, 1, 2, 3, 4, 5, 6, 0xfa, 0x56, 0xea, 0x00, 7, 8, 9)
  const c = new Cursor(buf, 2, 12)
  t.equal(c.u8(), 1)
  t.equal(c.u16(), 0x0203)
  t.equal(c.u24(), 0x040506)
  t.equal(c.u32(), 4200000000, 'unsigned 32-bit')
  t.equal(c.remaining, 2)
  const v = c.bytes(2)
  t.equal(v.buffer, buf.buffer, 'a view')
  t.same(Array.from(v), [7, 8])
  t.equal(c.remaining, 0)
  t.same(Array.from(new Cursor(buf, 12, 3).rest()), [7, 8, 9])
})

t.test('every read past the window throws the caller error', async (t) => {
  const onShort = shortReadError('malformed-optional-parameters', ErrorCode.OpenMessage, OpenSubcode.Unspecific)
  const want = { kind: 'malformed-optional-parameters', code: 2, subcode: 0 }
  const buf = new Uint8Array(10)
  const make = (): Cursor => new Cursor(buf, 7, 2, onShort)
  throwsBgpError(t, () => { const c = make(); c.u8(); c.u8(); c.u8() }, want, 'u8')
  throwsBgpError(t, () => make().u24(), want, 'u24')
  throwsBgpError(t, () => make().u32(), want, 'u32')
  throwsBgpError(t, () => make().bytes(3), want, 'bytes')
  throwsBgpError(t, () => make().skip(3), want, 'skip')
  throwsBgpError(t, () => new Cursor(buf, 8, 5, onShort), want, 'window past the buffer')
  const e = throwsBgpError(t, () => make().u32('hold time'), want, 'names the field')
  t.match(e?.message, /hold time: needs 4 byte\(s\), only 2 left/)
  throwsBgpError(t, () => new Cursor(buf, 0, 1).u16(), { kind: 'truncated', code: 1, subcode: 0 }, 'default error')
})

t.test('sub-cursors cover a length-prefixed section', async (t) => {
  const buf = Uint8Array.of(2, 0xaa, 0xbb, 0xcc)
  const c = new Cursor(buf, 0, 4)
  const s = c.sub(c.u8(), 'section')
  t.equal(s.u16(), 0xaabb)
  t.equal(s.remaining, 0)
  t.equal(c.u8(), 0xcc)
  throwsBgpError(t, () => s.u8(), { code: 1, subcode: 0 }, 'the section ends where its length says')
})

t.test('writers return the next offset', async (t) => {
  const b = new Uint8Array(9)
  let p = writeU16(b, 0, 0x1234)
  p = writeU24(b, p, 0x56789a)
  p = writeU32(b, p, 0xfffffffe)
  t.equal(p, 9)
  t.equal(readU32(b, 5), 0xfffffffe)
  t.same(Array.from(b.subarray(0, 5)), [0x12, 0x34, 0x56, 0x78, 0x9a])
})
