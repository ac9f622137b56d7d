/**
 * A set of IP prefixes of one family in typed arrays: each prefix gets a small integer id (reused
 * after it is deleted), its address words (one for IPv4, four for IPv6, host bits zeroed) and length
 * stored by id, found through an open-addressing hash table (linear probing, backward-shift deletion,
 * a slot holds the key's hash and id + 1, as the RIB's tables do). No string and no object per prefix, as the RIB's tables (docs/gateway.md):
 * the gateway keys its imported prefixes here and the computed FIB its routes.
 *
 * Callers put the key in `key` (words) and pass its length; text goes in and out only at the edges
 * (`scan` from canonical text, `text(id)` for the FIB and gsictl).
 */
import { allocated, grown, growFields, retire, roomAt, StagedGrowth } from '../../bgp/rib/index.js'
import { formatIpv4, formatIpv6Words } from '../lib/address.js'
import { scanned, scanPrefix } from './prefix.js'

const EMPTY = new Uint32Array(0)
/** The arrays of an entry, grown together (growFields, StagedGrowth). */
const ARRAYS = ['words', 'lens', 'used']
/** From this many ids the arrays grow ahead of need, one per turn (StagedGrowth, bgp/rib/grow.ts). */
const STAGED_FROM = 65536

export class PrefixTable {
  /** Words per prefix: 1 (IPv4) or 4 (IPv6). */
  readonly W: 1 | 4
  /** The key of the next find/insert: address words, most significant first, host bits zeroed. */
  readonly key = new Uint32Array(4)
  private words: Uint32Array = EMPTY
  private lens: Uint8Array = new Uint8Array(0)
  /** Ids in use have used[id] = 1; free ids wait in `free`. */
  private used: Uint8Array = new Uint8Array(0)
  private free: Int32Array = new Int32Array(0)
  private freeCount = 0
  private top = 0
  private slots: Int32Array = new Int32Array(32)
  private mask = 15
  private count = 0
  /** Ids handed out stay below this (the arrays may already be larger while they grow ahead). */
  private cap = 0
  /** Where insert takes its slow path (room). */
  private roomAt = 0
  private growth: StagedGrowth | undefined
  /** Called with the new capacity when ids outgrow it, so owners grow their per-id arrays. */
  onGrow: ((capacity: number) => void) | undefined

  constructor(readonly family: 4 | 6) {
    this.W = family === 4 ? 1 : 4
  }

  get size(): number {
    return this.count
  }

  /** Ids can run up to (exclusive). */
  get capacity(): number {
    return this.cap
  }

  /** Loads `key` from the prefix prefix.ts's scanPrefix() last read (of this table's family). */
  loadScanned(): number {
    for (let i = 0; i < this.W; i++) this.key[i] = scanned.words[i] as number
    return scanned.length
  }

  /** Parses canonical prefix text into `key`; returns its length, or -1 when it is no prefix of
   * this family. */
  scan(text: string): number {
    if (!scanPrefix(text, 0) || scanned.family !== this.family) return -1
    return this.loadScanned()
  }

  /** IPv4: neighbouring prefixes (pods numbered in sequence; tables sent in order) differing in the
   * last three bits of their prefix number share a run of eight slots, one cache line, and the rest
   * is mixed (the RIB's hash4, bgp/rib/table.ts). IPv6: the words and length mixed. Then murmur3's
   * finaliser, so linear probing builds no long runs. */
  private hash(words: Uint32Array, o: number, length: number): number {
    if (this.W === 1) {
      const idx = length === 0 ? 0 : (words[o] as number) >>> (32 - length)
      return (fmix((idx >>> 3) ^ Math.imul(length + 1, 0x9e3779b1)) & ~7) | (idx & 7)
    }
    let h = length
    for (let i = 0; i < 4; i++) {
      h = Math.imul(h ^ (words[o + i] as number), 0x9e3779b1)
      h ^= h >>> 15
    }
    return fmix(h)
  }

  private equalAt(words: Uint32Array, at: number, id: number, length: number): boolean {
    if (this.lens[id] !== length) return false
    const o = id * this.W
    for (let i = 0; i < this.W; i++) if (this.words[o + i] !== words[at + i]) return false
    return true
  }

  // A slot is [hash, id + 1]: probing compares hashes in the slot array and reads a key only when
  // the hash matches, so a new prefix costs one cache miss, not three.

  /** The id of `key`/`length`, or -1. */
  find(length: number): number {
    return this.findIn(this.key, 0, length)
  }

  /** The id of the prefix of words[at..] and `length`, or -1; `key` is left alone. */
  findIn(words: Uint32Array, at: number, length: number): number {
    const h = this.hash(words, at, length)
    const slots = this.slots
    for (let s = h & this.mask; ; s = (s + 1) & this.mask) {
      const v = slots[2 * s + 1] as number
      if (v === 0) return -1
      if (slots[2 * s] === h && this.equalAt(words, at, v - 1, length)) return v - 1
    }
  }

  /** The id here of prefix `id` of another table of the same family, or -1. */
  findOf(other: PrefixTable, id: number): number {
    return this.findIn(other.words, id * other.W, other.lens[id] as number)
  }

  /** Adds prefix `id` of another table of the same family (as insert: `added` tells whether it was new). */
  insertOf(other: PrefixTable, id: number): number {
    for (let i = 0; i < this.W; i++) this.key[i] = other.words[id * other.W + i] as number
    return this.insert(other.lens[id] as number)
  }

  /** The id of `key`/`length`, added when missing; `added` tells which. */
  insert(length: number): number {
    const h = this.hash(this.key, 0, length)
    const slots = this.slots
    let s = h & this.mask
    for (; ; s = (s + 1) & this.mask) {
      const v = slots[2 * s + 1] as number
      if (v === 0) break
      if (slots[2 * s] === h && this.equalAt(this.key, 0, v - 1, length)) {
        this.added = false
        return v - 1
      }
    }
    const id = this.freeCount > 0 ? (this.free[--this.freeCount] as number) : this.top++
    // One comparison here; the rest is room's (roomAt in bgp/rib/grow.ts)
    if (id >= this.roomAt) this.room(id)
    const o = id * this.W
    for (let i = 0; i < this.W; i++) this.words[o + i] = this.key[i] as number
    this.lens[id] = length
    this.used[id] = 1
    slots[2 * s] = h
    slots[2 * s + 1] = id + 1
    this.added = true
    if (++this.count * 2 > this.mask + 1) this.rehash((this.mask + 1) * 2)
    return id
  }

  /** Whether the last insert() added the prefix. */
  added = false

  /** Removes a prefix by id; its id is given out again later. */
  delete(id: number): void {
    if (this.used[id] !== 1) return
    const slots = this.slots
    const mask = this.mask
    let s = this.hash(this.words, id * this.W, this.lens[id] as number) & mask
    while (slots[2 * s + 1] !== id + 1) s = (s + 1) & mask
    // Backward-shift deletion: move later entries of the run into the hole when their home allows.
    let hole = s
    for (let j = (s + 1) & mask; slots[2 * j + 1] !== 0; j = (j + 1) & mask) {
      const home = (slots[2 * j] as number) & mask
      // The entry at j may fill the hole when its home is not cyclically within (hole, j].
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        slots[2 * hole] = slots[2 * j] as number
        slots[2 * hole + 1] = slots[2 * j + 1] as number
        hole = j
      }
    }
    slots[2 * hole] = 0
    slots[2 * hole + 1] = 0
    this.used[id] = 0
    this.count--
    if (this.freeCount >= this.free.length) this.free = grown(this.free, Math.max(16, this.free.length * 2))
    this.free[this.freeCount++] = id
  }

  has(id: number): boolean {
    return this.used[id] === 1
  }

  length(id: number): number {
    return this.lens[id] as number
  }

  /** Address word i (0 for IPv4) of a prefix. */
  word(id: number, i: number): number {
    return this.words[id * this.W + i] as number
  }

  /** Canonical text (dotted quad, RFC 5952 IPv6). */
  text(id: number): string {
    const o = id * this.W
    const w = this.words
    return this.W === 1
      ? `${formatIpv4(w[o] as number)}/${this.lens[id]}`
      : `${formatIpv6Words(w[o] as number, w[o + 1] as number, w[o + 2] as number, w[o + 3] as number)}/${this.lens[id]}`
  }

  /** Calls fn with every id in use. */
  forEach(fn: (id: number) => void): void {
    for (let id = 0; id < this.top; id++) if (this.used[id] === 1) fn(id)
  }

  /** Array buffers held, in bytes (for the figures in docs/gateway.md). */
  get bytes(): number {
    return this.words.byteLength + this.lens.byteLength + this.used.byteLength + this.free.byteLength + this.slots.byteLength
  }

  private room(id: number): void {
    if (id >= this.cap) this.grow(id + 1)
    else if (this.growth === undefined && id >= roomAt(this.cap, false, STAGED_FROM)) this.growAhead()
    this.roomAt = roomAt(this.cap, this.growth !== undefined, STAGED_FROM)
  }

  /** Elements per entry of an array: the address's words, one for the rest. */
  private readonly width = (f: string): number => (f === 'words' ? this.W : 1)

  private grow(min: number): void {
    this.growth?.finish()
    if (min <= this.cap) return
    const cap = Math.max(64, min, this.cap * 2)
    growFields(this, ARRAYS, this.width, cap)
    this.onGrow?.(cap)
    this.cap = cap
  }

  /** Three quarters full: the arrays grow one per turn from now, the owners' (onGrow) last. */
  private growAhead(): void {
    const cap = this.cap * 2
    this.growth = new StagedGrowth(this, ARRAYS, this.width, cap, () => {
      this.onGrow?.(cap)
      this.cap = cap
      this.growth = undefined
      this.roomAt = roomAt(cap, false, STAGED_FROM)
    })
  }

  private rehash(size: number): void {
    const slots = allocated(this.slots, 2 * size)
    const mask = size - 1
    const old = this.slots
    for (let s = 0; s < old.length; s += 2) {
      const v = old[s + 1] as number
      if (v === 0) continue
      const h = old[s] as number
      let t = h & mask
      while (slots[2 * t + 1] !== 0) t = (t + 1) & mask
      slots[2 * t] = h
      slots[2 * t + 1] = v
    }
    this.slots = slots
    this.mask = mask
    retire(old)
  }
}

function fmix(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}

/** Grows an Int32Array to `capacity`, keeping its contents (zeros after); large arrays in huge pages
 * as the RIB's (bgp/rib grow.ts). The old array must not be used afterwards. */
export function grownInt32(a: Int32Array, capacity: number): Int32Array {
  return a.length >= capacity ? a : grown(a, capacity)
}

/**
 * Type feedback for the rare branches of insert and find before a table is hot, as the RIB's
 * lookups get theirs (bgp/rib/rib.ts primeLookups): a hash that matches a slot's compares the keys
 * (`equalAt`), which in a load of new prefixes happens only on a collision of two hashes, and the first
 * such collision deoptimized the gateway's insert mid-ingest (seen with --trace-deopt-verbose). V8
 * records no feedback in a function's first calls, hence 64 rounds: insert, insert again (a hit),
 * find (a hit), find (a miss), delete, on scratch tables of both families.
 */
function primeLookups(): void {
  for (const family of [4, 6] as const) {
    const t = new PrefixTable(family)
    for (let i = 0; i < 64; i++) {
      const len = family === 4 ? 32 : 128
      for (let w = 0; w < t.W; w++) t.key[w] = (i + w) >>> 0
      t.insert(len)
      const id = t.insert(len)
      t.find(len)
      t.find(len - 1)
      if (i % 2 === 0) t.delete(id)
    }
  }
}
primeLookups()
