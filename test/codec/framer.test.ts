/**
 * The framer (RFC 4271 4.1 framing over a TCP stream): the streams real daemons sent (test/fixtures/
 * captured) and synthetic ones cut at every byte boundary, one byte at a time and at random cut
 * points all frame into the same messages; zero copy inside a chunk, one exact copy across chunks;
 * header errors thrown where the stream goes bad, after every good message before it; the negotiated
 * maximum; buffered-input reporting for the hold timer.
 */
import t from 'tap'
import fc from 'fast-check'
import { readdirSync, readFileSync } from 'node:fs'
import { ErrorCode, HeaderSubcode } from '../../bgp/codec/errors.js'
import { Framer } from '../../bgp/codec/framer.js'
import { MessageType, writeHeader } from '../../bgp/codec/header.js'
import { KEEPALIVE_BYTES } from '../../bgp/codec/keepalive.js'
import { encodeMessage } from '../../bgp/codec/message.js'
import { makeOpen } from '../../bgp/codec/open.js'
import { shutdownNotification } from '../../bgp/codec/notification.js'
import { throwsBgpError, toHex } from '../helpers/round-trip.js'

/** Frames `chunks` and returns each message as [type, hex of the whole message]. */
function frameAll(chunks: Uint8Array[], max = 4096): [number, string][] {
  const f = new Framer(max)
  const out: [number, string][] = []
  for (const c of chunks) {
    f.push(c)
    while (f.next()) out.push([f.type, toHex(f.buf.subarray(f.offset, f.offset + f.length))])
  }
  return out
}

/** The reference: walk the stream by length fields (trusting them: these streams are valid). */
function split(stream: Uint8Array): [number, string][] {
  const out: [number, string][] = []
  for (let p = 0; p < stream.length;) {
    const len = (stream[p + 16]! << 8) | stream[p + 17]!
    out.push([stream[p + 18]!, toHex(stream.subarray(p, p + len))])
    p += len
  }
  return out
}

function synthetic(): Uint8Array {
  const parts = [
    encodeMessage(makeOpen({ asn: 4200000001, holdTime: 90, bgpId: 0x0a000001, capabilities: [{ type: 'multiprotocol', afi: 1, safi: 128 }] })),
    KEEPALIVE_BYTES,
    KEEPALIVE_BYTES,
    encodeMessage({ type: 'route-refresh', afi: 1, safi: 1, subtype: 0 }),
    encodeMessage(shutdownNotification(2, 'bye')),
  ]
  const all = new Uint8Array(parts.reduce((s, p) => s + p.length, 0))
  let o = 0
  for (const p of parts) { all.set(p, o); o += p.length }
  return all
}

const dir = new URL('../fixtures/captured/', import.meta.url)
const streams: [string, Uint8Array][] = [['synthetic', synthetic()]]
for (const f of readdirSync(dir).filter((f) => f.endsWith('.bin')).sort()) {
  streams.push([f, new Uint8Array(readFileSync(new URL(f, dir)))])
}

t.test('every stream frames the same whatever the cuts', async (t) => {
  t.ok(streams.length >= 2, 'synthetic plus captured streams')
  for (const [name, s] of streams) {
    const want = split(s)
    t.same(frameAll([s]), want, `${name}: one chunk`)
    let sameAtEveryCut = true
    for (let k = 0; k <= s.length; k++) {
      const got = frameAll([s.subarray(0, k), s.subarray(k)])
      if (JSON.stringify(got) !== JSON.stringify(want)) { sameAtEveryCut = false; t.fail(`${name}: cut at ${k}`); break }
    }
    t.ok(sameAtEveryCut, `${name}: cut at each of ${s.length + 1} byte boundaries`)
    const bytes: Uint8Array[] = []
    for (let i = 0; i < s.length; i++) bytes.push(s.subarray(i, i + 1))
    t.same(frameAll(bytes), want, `${name}: one byte per chunk`)
  }
})

t.test('random cut points (property)', async (t) => {
  const [, s] = streams[streams.length - 1]!
  const want = JSON.stringify(split(s))
  fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: s.length }), { maxLength: 40 }), (cuts) => {
    const points = [0, ...cuts.sort((a, b) => a - b), s.length]
    const chunks = points.slice(1).map((end, i) => s.subarray(points[i]!, end))
    return JSON.stringify(frameAll(chunks)) === want
  }), { numRuns: 2000 })
  t.pass('2,000 random partitions frame identically')
})

t.test('zero copy inside a chunk, one copy across chunks', async (t) => {
  const s = synthetic()
  const f = new Framer()
  f.push(s)
  let n = 0
  while (f.next()) {
    t.equal(f.buf, s, 'message is a window on the pushed chunk')
    n++
  }
  t.equal(n, 5)
  const g = new Framer()
  g.push(s.subarray(0, 10))
  g.push(s.subarray(10, 30))
  g.push(s.subarray(30))
  t.ok(g.next())
  t.not(g.buf.buffer, s.buffer, 'straddling message is copied')
  const first = g.buf.subarray(g.offset, g.offset + g.length)
  const firstHex = toHex(first)
  t.equal(firstHex, toHex(s.subarray(0, g.length)), 'copy holds the message')
  t.ok(g.next())
  t.equal(g.buf.buffer, s.buffer, 'next message, inside the last chunk, is a view again')
  // Copies share a slab that only moves forward: a view handed out earlier is never overwritten.
  const h = new Framer()
  const views: [Uint8Array, string][] = []
  let framed = 0
  for (let i = 0; i < 3000; i++) {
    const m = encodeMessage({ type: 'route-refresh', afi: 1, safi: i & 0xff, subtype: 0, orf: new Uint8Array(i % 500) })
    h.push(m.subarray(0, 5))
    h.push(m.subarray(5))
    if (h.next()) framed++
    views.push([h.buf.subarray(h.offset, h.offset + h.length), toHex(m)])
  }
  t.equal(framed, 3000)
  t.ok(views.every(([v, want]) => toHex(v) === want), '3,000 straddling copies (several slabs) all still intact')
  t.equal(toHex(first), firstHex, 'the first copy is intact too')
  // A message above 32 KiB gets a buffer of its own, of exactly its size.
  const bigMsg = new Uint8Array(65535)
  writeHeader(bigMsg, 0, 65535, MessageType.Update)
  const k = new Framer(65535)
  k.push(bigMsg.subarray(0, 100))
  k.push(bigMsg.subarray(100))
  t.ok(k.next())
  t.equal(k.buf.length, 65535)
  t.equal(k.offset, 0)
})

t.test('hasBufferedInput and bufferedBytes', async (t) => {
  const f = new Framer()
  t.notOk(f.hasBufferedInput())
  f.push(new Uint8Array(0))
  t.notOk(f.hasBufferedInput(), 'empty chunks are ignored')
  f.push(KEEPALIVE_BYTES.subarray(0, 7))
  t.ok(f.hasBufferedInput(), 'a partial message is buffered input')
  t.notOk(f.next())
  t.equal(f.bufferedBytes, 7)
  f.push(KEEPALIVE_BYTES.subarray(7))
  t.ok(f.next())
  t.equal(f.type, MessageType.Keepalive)
  t.notOk(f.hasBufferedInput())
  t.equal(f.nextMessage(), null)
  f.push(KEEPALIVE_BYTES)
  t.equal(toHex(f.nextMessage()!), toHex(KEEPALIVE_BYTES))
})

t.test('many small chunks (the chunk list compacts)', async (t) => {
  const f = new Framer()
  const big = new Uint8Array(19 * 200)
  for (let i = 0; i < 200; i++) big.set(KEEPALIVE_BYTES, i * 19)
  let n = 0
  for (let i = 0; i < big.length; i += 3) {
    f.push(big.subarray(i, i + 3))
    while (f.next()) n++
  }
  t.equal(n, 200)
  t.equal(f.bufferedBytes, 0)
})

t.test('a bad header is thrown after the good messages before it, and the framer stays failed', async (t) => {
  const s = synthetic()
  const bad = new Uint8Array(s.length + 19)
  bad.set(s)
  bad.set(KEEPALIVE_BYTES, s.length)
  bad[s.length + 3] = 0
  const f = new Framer()
  f.push(bad)
  let good = 0
  throwsBgpError(t, () => { while (f.next()) good++ }, { kind: 'bad-marker', code: ErrorCode.MessageHeader, subcode: HeaderSubcode.ConnectionNotSynchronized })
  t.equal(good, 5, 'five good messages first')
  throwsBgpError(t, () => f.next(), { kind: 'bad-marker', code: 1, subcode: 1 }, 'rethrows')
  throwsBgpError(t, () => f.next(), { kind: 'bad-marker', code: 1, subcode: 1 }, 'still failed')
})

t.test('a header split across chunks is checked before its body arrives', async (t) => {
  const h = new Uint8Array(19)
  writeHeader(h, 0, 5000, MessageType.Update)
  const f = new Framer()
  f.push(h.subarray(0, 10))
  t.notOk(f.next())
  f.push(h.subarray(10))
  throwsBgpError(t, () => f.next(), { code: 1, subcode: 2, data: '1388' }, 'length 5000 refused at 4,096')
})

t.test('the negotiated maximum (RFC 8654)', async (t) => {
  const update = new Uint8Array(5000)
  writeHeader(update, 0, 5000, MessageType.Update)
  const f = new Framer(65535)
  f.push(update)
  t.ok(f.next(), '5,000-byte UPDATE accepted after extended messages')
  t.equal(f.length, 5000)
  const g = new Framer()
  g.maxMessageLength = 65535 // raised once the OPENs are exchanged
  g.push(update)
  t.ok(g.next(), 'raising the maximum on a live framer works')
  const open = new Uint8Array(4097)
  writeHeader(open, 0, 4097, MessageType.Open)
  const h = new Framer(65535)
  h.push(open)
  throwsBgpError(t, () => h.next(), { code: 1, subcode: 2, data: '1001' }, 'OPEN above 4,096 refused anyway')
  const ka = new Uint8Array(20).fill(0)
  writeHeader(ka, 0, 20, MessageType.Keepalive)
  const k = new Framer(65535)
  k.push(ka)
  throwsBgpError(t, () => k.next(), { code: 1, subcode: 2, data: '0014' }, 'KEEPALIVE of 20 refused')
})
