/**
 * Prefix lists with ge/le (the FRR/Cisco `ip prefix-list ... ge N le M` semantics), compiled into one
 * binary trie per address width. An entry `P/len ge G le L` matches a route `A/n` when the first
 * `len` bits of A equal P's and G <= n <= L. Each trie node keeps, for the entries ending there, a
 * table of the route lengths they allow; a lookup walks at most n bits of the route's address and
 * checks the table at every node on the way, so it costs O(n) array reads and never allocates.
 * IPv4 addresses are walked as one uint32.
 *
 * Entry text: `10.0.0.0/8`, `10.0.0.0/8 le 24`, `10.0.0.0/8 ge 16 le 24`, `2001:db8::/32 ge 48`.
 * Host bits past the length must be zero (as FRR requires), and len <= ge <= le <= max.
 */
import { ipv4Word, tryParseAddress } from '../../src/lib/address.js'

/** One entry after validation: address bytes (4 or 16), length and the route-length range. */
export interface PrefixEntry {
  readonly bytes: Uint8Array
  readonly length: number
  readonly ge: number
  readonly le: number
}

function bit(b: Uint8Array, i: number): number {
  return ((b[i >>> 3] as number) >>> (7 - (i & 7))) & 1
}

/**
 * Parses one entry's text. Throws a plain Error whose message is the reason (the caller adds the
 * field path). `ge`/`le` from the object form override none of the text: both may not be given twice.
 */
export function parsePrefixEntry(text: string, ge?: number, le?: number): PrefixEntry {
  const words = text.trim().split(/\s+/)
  const head = words[0] ?? ''
  const slash = head.indexOf('/')
  if (slash < 0) throw new Error(`"${text}": expected ADDRESS/LENGTH`)
  const bytes = tryParseAddress(head.slice(0, slash))?.bytes
  if (bytes === undefined) throw new Error(`"${text}": "${head.slice(0, slash)}" is not an IPv4 or IPv6 address`)
  const max = bytes.length * 8
  const lenText = head.slice(slash + 1)
  if (!/^\d{1,3}$/.test(lenText)) throw new Error(`"${text}": prefix length "${lenText}" is not a number`)
  const length = Number(lenText)
  if (length > max) throw new Error(`"${text}": prefix length ${length} exceeds ${max}`)
  for (let i = length; i < max; i++) {
    if (bit(bytes, i) === 1) throw new Error(`"${text}": host bits set past /${length}`)
  }
  let g = ge
  let l = le
  for (let i = 1; i < words.length; i += 2) {
    const key = words[i] as string
    const v = words[i + 1]
    if ((key !== 'ge' && key !== 'le') || v === undefined || !/^\d{1,3}$/.test(v)) {
      throw new Error(`"${text}": expected "ge N" and/or "le N" after the prefix`)
    }
    if ((key === 'ge' ? g : l) !== undefined) throw new Error(`"${text}": ${key} given twice`)
    if (key === 'ge') g = Number(v)
    else l = Number(v)
  }
  for (const [name, v] of [['ge', g], ['le', l]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > max)) throw new Error(`"${text}": ${name} ${v} is outside 0..${max}`)
  }
  const lo = g ?? length
  const hi = l ?? (g !== undefined ? max : length)
  if (lo < length) throw new Error(`"${text}": ge ${lo} is shorter than the prefix length ${length}`)
  if (hi < length) throw new Error(`"${text}": le ${hi} is shorter than the prefix length ${length}`)
  if (lo > hi) throw new Error(`"${text}": ge ${lo} is greater than le ${hi}`)
  return { bytes, length, ge: lo, le: hi }
}

/** A binary trie of entries of one address width (32 or 128 bits). */
export class PrefixTrie {
  private readonly zero: number[] = [-1]
  private readonly one: number[] = [-1]
  /** Per node: allowed route lengths (index = length) of the entries ending there, or undefined. */
  private readonly lengths: Array<Uint8Array | undefined> = [undefined]
  /** Entries inserted (for tests and status). */
  size = 0

  constructor(readonly maxBits: 32 | 128) {}

  insert(e: PrefixEntry): void {
    if (e.bytes.length * 8 !== this.maxBits) throw new RangeError(`a /${e.bytes.length * 8} entry in a ${this.maxBits}-bit trie`)
    let node = 0
    for (let d = 0; d < e.length; d++) {
      const side = bit(e.bytes, d) === 1 ? this.one : this.zero
      let next = side[node] as number
      if (next < 0) {
        next = this.zero.length
        this.zero.push(-1)
        this.one.push(-1)
        this.lengths.push(undefined)
        side[node] = next
      }
      node = next
    }
    let allowed = this.lengths[node]
    if (allowed === undefined) {
      allowed = new Uint8Array(this.maxBits + 1)
      this.lengths[node] = allowed
    }
    allowed.fill(1, e.ge, e.le + 1)
    this.size++
  }

  /** Does some entry match the IPv4 route `addr/length` (addr as uint32)? */
  matchIpv4(addr: number, length: number): boolean {
    let node = 0
    for (let d = 0; ; d++) {
      const allowed = this.lengths[node]
      if (allowed !== undefined && allowed[length] === 1) return true
      if (d === length) return false
      node = (((addr >>> (31 - d)) & 1) === 1 ? this.one[node] : this.zero[node]) as number
      if (node < 0) return false
    }
  }

  /** Does some entry match the route `bytes/length` (bytes at the trie's width)? */
  match(bytes: Uint8Array, length: number): boolean {
    if (length > this.maxBits) return false
    let node = 0
    for (let d = 0; ; d++) {
      const allowed = this.lengths[node]
      if (allowed !== undefined && allowed[length] === 1) return true
      if (d === length) return false
      node = (bit(bytes, d) === 1 ? this.one[node] : this.zero[node]) as number
      if (node < 0) return false
    }
  }
}

/** A compiled prefix list: one trie per width. */
export class PrefixMatcher {
  readonly v4 = new PrefixTrie(32)
  readonly v6 = new PrefixTrie(128)

  constructor(entries: readonly PrefixEntry[] = []) {
    for (const e of entries) this.add(e)
  }

  add(e: PrefixEntry): void {
    if (e.bytes.length === 4) this.v4.insert(e)
    else this.v6.insert(e)
  }

  /** Route address bytes (4 or 16; anything else, e.g. RTC's 12, never matches) and length. */
  matches(address: Uint8Array, length: number): boolean {
    if (address.length === 4) return this.v4.size > 0 && this.v4.matchIpv4(ipv4Word(address), length)
    if (address.length === 16) return this.v6.size > 0 && this.v6.match(address, length)
    return false
  }
}
