/**
 * The RIB's large arrays come from huge-page buffers of the native addon: zeroed, usable as typed
 * arrays, backed by transparent huge pages where the kernel offers them (checked in
 * /proc/self/smaps_rollup), and freed when collected; arrays that grow do so in place in a
 * reservation of address space (no copy, no new resident pages).
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { allocated, grown } from '../../bgp/rib/grow.js'
import { nativeAvailable, nativeHugeBuffer, nativeReserveBuffer } from '../../native/index.js'

/** Huge pages the kernel has handed out on faults, system-wide (/proc/vmstat thp_fault_alloc). */
function thpFaults(): number {
  const m = /^thp_fault_alloc (\d+)$/m.exec(readFileSync('/proc/vmstat', 'utf8'))
  return Number(m?.[1] ?? 0)
}

t.test('huge buffers are zeroed, usable, and in huge pages where THP is on', async (t) => {
  t.ok(nativeAvailable(), 'the addon is built (npm run build:native; CI builds it)')
  const bytes = 8 << 20
  const b = nativeHugeBuffer(bytes)
  if (b === undefined) throw new Error('no hugeBuffer in the addon')
  t.equal(b.byteLength, bytes)
  const a = new Int32Array(b)
  const before = thpFaults()
  for (let i = 0; i < a.length; i += 1024) a[i] = i // first touch: writes, one per 4 KiB
  const after = thpFaults()
  let nonZero = 0
  for (let i = 1; i < a.length; i += 1024) if (a[i] !== 0) nonZero++
  t.equal(nonZero, 0, 'zeroed')
  t.equal(a[4096], 4096)
  const thp = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8')
  if (/\[(always|madvise)\]/.test(thp)) t.ok(after - before >= 3, `THP is on (${thp.trim()}): 8 MiB written took ${after - before} huge-page faults`)
  else t.equal(after - before, 0, 'THP is off: plain pages')
  t.throws(() => nativeHugeBuffer(0), /positive/)
})

t.test('allocated/grown keep kind, length and contents, small or large', async (t) => {
  for (const n of [16, 1 << 20]) {
    const a = allocated(new Uint16Array(1), n)
    t.ok(a instanceof Uint16Array)
    t.equal(a.length, n)
    a[n - 1] = 7
    const g = grown(a, n * 2)
    t.ok(g instanceof Uint16Array)
    t.equal(g.length, n * 2)
    t.equal(g[n - 1], 7)
    t.equal(g[n], 0)
  }
  const f = grown(new Float64Array([1.5]), 1 << 18)
  t.equal(f[0], 1.5)
})

t.test('an array grown out of gives its memory back at once and reads as zeros', async (t) => {
  const a = allocated(new Int32Array(1), 1 << 22) // 16 MiB: a huge-page buffer
  a.fill(9)
  const g = grown(a, 1 << 23)
  t.equal(g[12345], 9, 'the copy has the contents')
  t.equal(a[12345], 0, 'the old buffer was discarded (MADV_DONTNEED): zeros, no fault')
  const mid = allocated(new Int32Array(1), 1 << 20).fill(3) // 4 MiB: plain pages, below the huge-page size
  t.equal(grown(mid, 1 << 21)[5], 3, 'a mid-sized array: the copy has the contents')
  t.equal(mid[5], 0, 'and the 4 MiB it grew out of went back at once too (plain pages, from 128 KiB)')
  const small = allocated(new Int32Array(1), (64 << 10) / 4).fill(4) // 64 KiB
  grown(small, (128 << 10) / 4)
  t.equal(small[0], 4, 'arrays under 128 KiB are ordinary, left to the collector')
})

/** Resident memory of this process in bytes (/proc/self/statm, second field, in pages). */
function resident(): number {
  return Number(readFileSync('/proc/self/statm', 'utf8').split(' ')[1]) * 4096
}

t.test('an array that grew past 128 KiB grows in place in its arena region: no copy, no new pages', async (t) => {
  const a = grown(new Int32Array(16), (256 << 10) / 4) // 256 KiB: moves into an arena region with room ahead
  t.ok(a.buffer.byteLength >= 256 << 20, `address space reserved ahead (${a.buffer.byteLength} bytes)`)
  a.fill(5) // touched
  const before = resident()
  const b = grown(a, (64 << 20) / 4) // 64 MiB
  const after = resident()
  t.ok(b.buffer === a.buffer && b.byteOffset === a.byteOffset, 'the same memory')
  t.ok(after - before < 1 << 20, `growing 256 KiB to 64 MiB made ${after - before} bytes resident (a copy would touch 256 KiB+)`)
  t.equal(b[1000], 5, 'contents kept')
  t.equal(b[b.length - 1], 0, 'zero beyond')
  b[70000] = 6
  t.equal(a[70000 % a.length], 5, 'the old view is still valid')
  t.equal(new Int32Array(a.buffer, a.byteOffset, 70001)[70000], 6, 'and it is the same memory')
  const r = nativeReserveBuffer(4096, 1 << 20, 1 << 30)
  t.equal(r?.byteLength, 1 << 20, 'reserveBuffer maps the whole reservation')
  t.throws(() => nativeReserveBuffer(8192, 4096, 0), /bytes <= reserve/, 'a reservation smaller than its use is refused')
})

t.test('large arrays are regions of one arena, which V8 counts once; regions are not handed out twice', async (t) => {
  const arrays = [1, 2, 3].map((k) => allocated(new Uint8Array(1), k << 20))
  const buffers = new Set(arrays.map((a) => a.buffer))
  t.equal(buffers.size, 1, 'one ArrayBuffer behind them all: V8 counts external memory per ArrayBuffer length')
  const [a, b, c] = arrays as [Uint8Array, Uint8Array, Uint8Array]
  t.ok(a.byteOffset + a.length <= b.byteOffset && b.byteOffset + b.length <= c.byteOffset, 'disjoint, in order')
  t.equal(a.byteOffset % (2 << 20), 0, 'regions start on 2 MiB boundaries (whole huge pages)')
  a.fill(1)
  const moved = grown(a, 64 << 20) // outgrows its exact region: moves, and the old region is discarded
  t.equal(moved[100], 1)
  t.equal(a[100], 0, 'the region moved out of reads zeros')
  const next = allocated(new Uint8Array(1), 1 << 20)
  t.ok(next.byteOffset > moved.byteOffset, 'and is not handed out again: a forgotten view can never see another table')
  t.equal(next[0], 0, 'new regions are zeroed')
})

t.test('plain-page buffers are zeroed, page-aligned and not advised to huge pages', async (t) => {
  const b = nativeHugeBuffer(1 << 20, false)
  if (b === undefined) throw new Error('no hugeBuffer in the addon')
  const a = new Uint8Array(b)
  t.equal(a.length, 1 << 20)
  t.equal(a.findIndex((x) => x !== 0), -1, 'zeroed')
  a[0] = 1
  a[a.length - 1] = 2
  t.equal(a[0] + (a[a.length - 1] as number), 3, 'usable to its last byte')
  t.throws(() => (nativeHugeBuffer as (n: number, h: unknown) => unknown)(4096, 'yes'), /huge must be a boolean/, 'a wrong second argument is refused')
})
