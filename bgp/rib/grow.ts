/**
 * Allocating and growing the RIB's typed arrays.
 *
 * New arrays are zero-filled and their untouched pages cost no memory, which is why the tables
 * encode "none" as 0 rather than filling with -1. Large arrays come from the native addon when it
 * is built (native/src/huge_pages.c): a full table touches tens of megabytes, and on a virtual
 * machine each 4 KiB page fault costs microseconds (measured here: touching 64 MiB took 265 ms in
 * 4 KiB pages and 15 ms in 2 MiB pages). Huge pages start at 2 MiB: an array of 2 MiB or more gets
 * them for its whole 2 MiB pages, a growing array for the part of its region beyond the first
 * 2 MiB, so an array costs at most one partly filled huge page (measured with bench/daemon.bench.ts:
 * 500,000 VPN routes took 12,000 page faults instead of 19,000 with 8 MiB as the threshold; 32,000
 * routes stayed at 91-93 MB, 1,000,000 at 389-392 MB). An earlier measurement, with one mapping
 * per array, had found 2 MiB slower for the hash slots; with the arena it is not (bench/rib.bench.ts,
 * 1,000,000 IPv4 routes: 0.35-0.39 s with 2 MiB, 0.38 s with 8 MiB, alternating).
 *
 * Arrays from 128 KiB are views into one arena of address space that the process maps once
 * (Arena below; 512 GiB, MAP_NORESERVE, so only written pages cost memory), each in a region of its
 * own that is never handed out again:
 * - An array that grows gets a region with room ahead (64 times its size, at least 64 MiB) and
 *   then grows in place, as a longer view of the same memory: no copy, no fresh page beyond what the
 *   table writes. Copying was the biggest single item of a 500,000-route ingest (a sixth of the
 *   daemon's loop in the profile, each copied page faulting twice). The hash tables' slot arrays
 *   still move on a rehash, since their entries move anyway.
 * - V8 counts every ArrayBuffer's length as external memory and starts a full collection each time
 *   that grows by tens of megabytes: an ArrayBuffer per array made a dozen mark-compacts per
 *   500,000-route ingest on a heap of 13 MB, their concurrent marking about 0.2 s of the helper
 *   threads' CPU. One arena is counted once (at load: see prime).
 * - An array moved out of (a rehash, a region outgrown) gives its memory back at once (retire,
 *   MADV_DONTNEED) instead of when V8 collects it; at 32,000 routes two thirds of the typed arrays'
 *   memory had been such arrays. A forgotten view of it reads zeros, never another table's entries,
 *   since regions are not reused. 128 KiB is where glibc itself starts mapping on its own.
 * - Huge pages are advised per region: from 2 MiB into a growing array's region, from the start for
 *   an array of 2 MiB or more (its whole 2 MiB pages).
 *
 * When the arena cannot be mapped (strict overcommit, a ulimit on address space) or is used up,
 * large arrays are mapped one by one (the addon's hugeBuffer) and copied when they grow; without
 * the addon they are ordinary typed arrays. A large allocation marks the turn heavy
 * (bgp/session/heavy-turn.ts): what can wait yields.
 */
import { nativeAdviseHuge, nativeDiscardBuffer, nativeHugeBuffer, nativeReserveBuffer } from '../../native/index.js'
import { noteGrowth } from '../session/heavy-turn.js'

type Grown = Int32Array | Uint32Array | Uint16Array | Uint8Array | Float64Array
type GrownCtor<T> = { new (n: number): T; new (b: ArrayBuffer, offset: number, length: number): T; readonly BYTES_PER_ELEMENT: number }

const HUGE_FROM = 2 << 20
const MAPPED_FROM = 128 << 10
const REGION_ALIGN = 2 << 20
/** Room a growing array's region leaves: REGION_FACTOR times its size, at least REGION_MIN. */
const REGION_MIN = 64 << 20
const REGION_FACTOR = 64
/** The arena's size, and a smaller one tried when that cannot be mapped. */
const ARENA_SIZES = [2 ** 39, 2 ** 34]

/**
 * The arena: one mapping of address space, cut into regions by a bump pointer. Regions are never
 * freed for reuse (see the module note); 512 GiB holds 8,192 growing arrays of 64 MiB, and tables
 * are created with their families, so a daemon does not run through it.
 */
class Arena {
  private buffer: ArrayBuffer | null | undefined
  private top = 0
  /** Region start -> end, for the arrays handed out. */
  private readonly ends = new Map<number, number>()
  /** Region start -> bytes of the array in it (its current view), for externalOfTables(). */
  private readonly lengths = new Map<number, number>()
  /** The sum of `lengths`. */
  used = 0

  get reserved(): number {
    return this.buffer?.byteLength ?? 0
  }

  /** A region of `room` bytes, 2 MiB-aligned; undefined when there is no arena or no room. */
  take(room: number): { buffer: ArrayBuffer; offset: number } | undefined {
    const b = this.map()
    if (b === null) return undefined
    const size = Math.ceil(room / REGION_ALIGN) * REGION_ALIGN
    if (this.top + size > b.byteLength) return undefined
    const offset = this.top
    this.top += size
    this.ends.set(offset, offset + size)
    return { buffer: b, offset }
  }

  /** Records the bytes the array at a region's start now spans. */
  spans(offset: number, bytes: number): void {
    this.used += bytes - (this.lengths.get(offset) ?? 0)
    this.lengths.set(offset, bytes)
  }

  /** The end of the region of an array of the arena (its byteOffset is its region's start). */
  end(a: Grown): number | undefined {
    return a.buffer === this.buffer ? this.ends.get(a.byteOffset) : undefined
  }

  /** Gives an array's region back to the system (see retire); false when not the arena's. */
  discard(a: Grown): boolean {
    const end = this.end(a)
    if (end === undefined) return false
    nativeDiscardBuffer(this.buffer as ArrayBuffer, a.byteOffset, end - a.byteOffset)
    this.spans(a.byteOffset, 0)
    this.lengths.delete(a.byteOffset)
    return true
  }

  private map(): ArrayBuffer | null {
    if (this.buffer !== undefined) return this.buffer
    this.buffer = null
    for (const size of ARENA_SIZES) {
      try {
        // huge pages are advised per region; hugeFrom = size asks for none here
        const b = nativeReserveBuffer(4096, size, size)
        if (b !== undefined) {
          this.buffer = b
          break
        }
      } catch {
        break // an addon without reserveBuffer
      }
    }
    return this.buffer
  }
}

const arena = new Arena()
/** Buffers mapped one by one by the addon (only those, and the arena's regions, may be discarded). */
const huge = new WeakSet<ArrayBufferLike>()

/** A zeroed array of `length` elements of the same kind as `like`. */
export function allocated<T extends Grown>(like: T, length: number): T {
  const C = like.constructor as unknown as GrownCtor<T>
  const bytes = length * C.BYTES_PER_ELEMENT
  noteGrowth(bytes)
  if (bytes >= MAPPED_FROM) return mapped(C, length, bytes, bytes, bytes >= HUGE_FROM ? 0 : undefined)
  return new C(length)
}

/**
 * A bigger array of the same kind with the old contents. In its arena region, with room, it is a
 * longer view of the same memory (the old array stays valid and sees the same entries); otherwise
 * a copy, into a region with room ahead when it is large, and the old array must not be used
 * afterwards: its memory goes back to the system at once when it was mapped (it would otherwise
 * stay resident until a collection), and it reads as zeros.
 */
export function grown<T extends Grown>(a: T, length: number): T {
  const C = a.constructor as unknown as GrownCtor<T>
  const bytes = length * C.BYTES_PER_ELEMENT
  const end = arena.end(a)
  if (end !== undefined && a.byteOffset + bytes <= end) {
    arena.spans(a.byteOffset, bytes)
    return new C(a.buffer as ArrayBuffer, a.byteOffset, length)
  }
  let b: T
  if (bytes >= MAPPED_FROM) {
    noteGrowth(bytes)
    b = mapped(C, length, bytes, Math.max(REGION_MIN, bytes * REGION_FACTOR), HUGE_FROM)
  } else b = allocated(a, length)
  b.set(a)
  retire(a)
  return b
}

/** An array in an arena region of `room` bytes (huge pages from `hugeFrom`), else mapped alone. */
function mapped<T extends Grown>(C: GrownCtor<T>, length: number, bytes: number, room: number, hugeFrom: number | undefined): T {
  const r = arena.take(room)
  if (r !== undefined) {
    if (hugeFrom !== undefined && hugeFrom < room) nativeAdviseHuge(r.buffer, r.offset + hugeFrom, room - hugeFrom)
    arena.spans(r.offset, bytes)
    return new C(r.buffer, r.offset, length)
  }
  const b = nativeHugeBuffer(bytes, hugeFrom === 0)
  if (b === undefined) return new C(length)
  huge.add(b)
  return new C(b, 0, length)
}

/**
 * process.memoryUsage().external with the arena counted by what is in it: V8 counts its whole
 * address space once it is mapped; the arrays in it count by their whole lengths, touched or not.
 * For benchmarks that weigh typed arrays by `external`.
 */
export function externalOfTables(external: number): number {
  return external - arena.reserved + arena.used
}

/** Gives back the memory of an array that was replaced (see grown). */
export function retire(a: Grown): void {
  if (arena.discard(a)) return
  if (huge.has(a.buffer)) nativeDiscardBuffer(a.buffer as ArrayBuffer)
}

/**
 * Runs every path of allocated, grown and retire once, on throwaway arrays, when the module loads.
 * V8 optimizes a table's hot functions (a lookup, a rehash) with these inlined, using the type
 * feedback they have gathered so far; a path first taken later, when a table reaches 128 KiB or
 * 2 MiB, has none, and reaching it deoptimizes the function (measured: 25 deoptimizations per
 * 500,000-route ingest, a rehash deoptimized four times in a row, each back to the interpreter with a
 * table of hundreds of thousands of entries). The arrays are never written: they cost address space
 * in the arena, no memory.
 */
function prime(): void {
  for (const like of [new Int32Array(1), new Uint32Array(1), new Uint16Array(1), new Uint8Array(1), new Float64Array(1)]) {
    const per = like.BYTES_PER_ELEMENT
    let a: Grown = allocated(like, 16) // ordinary
    a = grown(a, (MAPPED_FROM * 2) / per) // moves into a region with room
    a = grown(a, (HUGE_FROM * 2) / per) // grows in place
    const exact = allocated(like, (HUGE_FROM * 2) / per) // an exact region with huge pages
    const mid = allocated(like, MAPPED_FROM / per) // an exact region without
    retire(grown(mid, (MAPPED_FROM * 4) / per)) // outgrows its region: moves, the old one discarded
    retire(exact)
    retire(a)
    retire(grown(new (like.constructor as new (n: number) => Grown)(8), 32)) // an ordinary array moved and left to the collector
  }
}
prime()

/**
 * The index from which a table's allocation of a new entry takes its slow path: its capacity, or the
 * three quarters from which staged growth starts (from `stagedFrom` entries on) while none is under way. The
 * hot path (a lookup creating a destination, an upsert creating a path) is one comparison and a call
 * V8 does not inline, being rare: every branch of growth stays out of the optimized code. Inlined, a
 * branch first taken when a table reached 65,536 entries had no type feedback and deoptimized the
 * lookup itself (measured: find, newPath and PrefixTable.insert, once each per ingest, each a
 * recompilation of the hottest functions). With `staging` false it is also where staged growth
 * starts, and the slow paths test that with it: one formula for both.
 */
export function roomAt(cap: number, staging: boolean, stagedFrom: number): number {
  return staging ? cap : Math.min(cap, Math.max(stagedFrom, cap - (cap >>> 2)))
}

/**
 * Grows a table's parallel arrays, named by `fields` (its typed-array properties, private ones too),
 * to `length` entries at once, `width(field)` elements per entry. The table's one list of its arrays
 * serves this and StagedGrowth.
 */
export function growFields(owner: object, fields: readonly string[], width: (field: string) => number, length: number): void {
  for (const f of fields) growField(owner, f, length * width(f))
}

function growField(owner: object, field: string, want: number): void {
  const o = owner as Record<string, Grown>
  const a = o[field] as Grown
  if (a.length < want) o[field] = grown(a, want)
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
    growField(this.owner, f, this.length * this.width(f))
  }

  /** Grows what is left now and hands over the new capacity. */
  finish(): void {
    if (this.finished) return
    while (this.next < this.fields.length) this.growOne()
    this.finished = true
    this.done()
  }
}
