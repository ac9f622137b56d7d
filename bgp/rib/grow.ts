/**
 * Allocating and growing the RIB's typed arrays.
 *
 * New arrays are zero-filled and their untouched pages cost no memory, which is why the tables
 * encode "none" as 0 rather than filling with -1. Large arrays come from the native
 * addon's huge-page buffers when it is built (native/src/huge_pages.c): a full table touches tens of
 * megabytes, and on a virtual machine each 4 KiB page fault costs microseconds (measured here:
 * touching 64 MiB took 265 ms in 4 KiB pages and 15 ms in 2 MiB pages). Only arrays of 8 MiB or more
 * get them: a huge page is resident as a whole, so a smaller array's partly filled last page would
 * cost more memory than its faults cost time (measured with bench/ingest: 1 MiB as the threshold
 * made 500,000 VPN routes take 106 bytes each, 8 MiB 99); and many small huge pages cost time too
 * (2 MiB for the hash slots made a 1M-route load 30 % slower than 8 MiB).
 *
 * Arrays from 128 KiB come from the addon too, in plain pages: when a table grows, the array it
 * grew out of gives its memory back at once (retire) instead of when V8 collects it, which may be
 * much later. Measured with bench/daemon.bench.ts at 32,000 routes: typed arrays held 10.4 MB at
 * the end of the ingest, of which 3.3 MB were live. 128 KiB is where glibc itself starts mapping
 * an allocation on its own.
 *
 * An array that grows past 128 KiB moves once into a reservation of address space (reserveBuffer
 * in the addon: 64 times its size, at least 256 MiB, mapped but untouched) and from then on grows in
 * place: a longer view of the same memory, no copy, no fresh page beyond what the table writes.
 * Copying was the biggest single item of a 500,000-route ingest (a sixth of the daemon's loop in
 * the profile, and each copied page faulted twice: once read, once written fresh); the hash
 * tables' slot arrays still move on a rehash, since their entries move anyway. Huge pages are
 * advised from 8 MiB into a reservation, so the part of an array beyond that gets them.
 *
 * Without the addon they are ordinary typed arrays. A large allocation marks the turn heavy (bgp/session/heavy-turn.ts): what can wait yields.
 */
import { nativeDiscardBuffer, nativeHugeBuffer, nativeReserveBuffer } from '../../native/index.js'
import { noteGrowth } from '../session/heavy-turn.js'

type Grown = Int32Array | Uint32Array | Uint16Array | Uint8Array | Float64Array
type GrownCtor<T> = { new (n: number): T; new (b: ArrayBuffer, offset: number, length: number): T; readonly BYTES_PER_ELEMENT: number }

const HUGE_FROM = 8 << 20
const MAPPED_FROM = 128 << 10
/** Address space reserved for a growing array: RESERVE_FACTOR times its size, at least RESERVE_MIN. */
const RESERVE_MIN = 256 << 20
const RESERVE_FACTOR = 64
/** Buffers that came from the addon (only those may be discarded). */
const huge = new WeakSet<ArrayBufferLike>()
/** Of those, the reservations an array grows into in place. */
const reserved = new WeakSet<ArrayBufferLike>()

/** A zeroed array of `length` elements of the same kind as `like`. */
export function allocated<T extends Grown>(like: T, length: number): T {
  const C = like.constructor as unknown as GrownCtor<T>
  const bytes = length * C.BYTES_PER_ELEMENT
  noteGrowth(bytes)
  if (bytes >= MAPPED_FROM) {
    const b = nativeHugeBuffer(bytes, bytes >= HUGE_FROM)
    if (b !== undefined) {
      huge.add(b)
      return new C(b, 0, length)
    }
  }
  return new C(length)
}

/**
 * A bigger array of the same kind with the old contents. In a reservation with room it is a longer
 * view of the same memory (the old array stays valid and sees the same entries); otherwise a copy,
 * into a reservation when it is large, and the old array must not be used afterwards: when it was
 * the addon's its memory goes back to the system at once (it would otherwise stay resident until a
 * collection), and it reads as zeros.
 */
export function grown<T extends Grown>(a: T, length: number): T {
  const C = a.constructor as unknown as GrownCtor<T>
  const bytes = length * C.BYTES_PER_ELEMENT
  const buf = a.buffer
  if (reserved.has(buf) && a.byteOffset + bytes <= buf.byteLength) return new C(buf as ArrayBuffer, a.byteOffset, length)
  let b: T | undefined
  if (bytes >= MAPPED_FROM) {
    const r = reservation(bytes)
    if (r !== undefined) {
      noteGrowth(bytes)
      b = new C(r, 0, length)
    }
  }
  b ??= allocated(a, length)
  b.set(a)
  retire(a)
  return b
}

/** A reservation for an array of `bytes` that grows (reserveBuffer); undefined without one. */
function reservation(bytes: number): ArrayBuffer | undefined {
  let r: ArrayBuffer | undefined
  try {
    r = nativeReserveBuffer(bytes, Math.max(RESERVE_MIN, bytes * RESERVE_FACTOR), HUGE_FROM)
  } catch {
    r = undefined // an addon without it, or a refusal: map what is needed now
  }
  if (r !== undefined) {
    huge.add(r)
    reserved.add(r)
  }
  return r
}

/** Gives back the memory of an array that was replaced (see grown). */
export function retire(a: Grown): void {
  if (huge.has(a.buffer)) nativeDiscardBuffer(a.buffer as ArrayBuffer)
}

/**
 * A table's parallel arrays grown ahead of need, one array per turn of the event loop: a table
 * that is filling (a full table arriving) starts it at three quarters of its capacity, and each
 * array's copy into fresh memory (about 2.5 ms per MB on this project's VMs, where every new page
 * faults in the host too) runs in a turn of its own instead of all of them in the turn that needed
 * the room (35 ms for a VPN table's eight path arrays at 500,000 routes, a local API query waiting
 * behind it). Writes meanwhile are safe: each array is swapped for its complete copy in one step,
 * and the table hands out no index beyond its old capacity until every array has grown (`done`).
 * When the room is needed first, finish() grows the rest at once.
 */
export class StagedGrowth {
  private next = 0
  private finished = false

  constructor(
    /** The table; `fields` name its typed-array properties (private ones too). */
    private readonly owner: object,
    private readonly fields: readonly string[],
    /** Elements per entry of a field (a key of several words). */
    private readonly width: (field: string) => number,
    readonly length: number,
    private readonly done: () => void,
  ) {
    setImmediate(this.step)
  }

  private readonly step = (): void => {
    if (this.finished) return
    this.growOne()
    if (this.next < this.fields.length) setImmediate(this.step)
    else this.finish()
  }

  private growOne(): void {
    const f = this.fields[this.next++] as string
    const o = this.owner as Record<string, Grown>
    const a = o[f] as Grown
    const want = this.length * this.width(f)
    if (a.length < want) o[f] = grown(a, want)
  }

  /** Grows what is left now and hands over the new capacity. */
  finish(): void {
    if (this.finished) return
    while (this.next < this.fields.length) this.growOne()
    this.finished = true
    this.done()
  }
}
