/**
 * Interned attribute sets (docs/benchmarks.md): every distinct (path attributes, next hop) pair is stored
 * once and routes refer to it by a small integer. A million routes sharing a thousand sets store a
 * thousand.
 *
 * Two ways in, both keyed by exact bytes so equal sets meet:
 * - from the wire (the bulk decoder's attribute section and next-hop field): the key is those bytes
 *   plus the session kind (2- or 4-octet AS, eBGP), so the set is decoded only the first time it is
 *   seen; every later UPDATE with the same attributes costs one string hash;
 * - from objects (policy results, exported sets, local routes): the key is the canonical encoding.
 * A set is reference counted by the paths (and Adj-RIB-Out entries) using it and freed at zero; its
 * id is reused.
 *
 * Next to each set live the numbers best path compares (RFC 4271 9.1.2.2), in typed arrays indexed by
 * id, so choosing a best path reads no objects.
 */
import { asPathCount, asPathToString, AsSegment } from '../codec/as-path.js'
import { encodeAttributes } from '../codec/attributes.js'
import { decodeAttributeBytes } from '../codec/bulk.js'
import { defaultContext, type CodecContext } from '../codec/context.js'
import { formatAddress } from '../../src/lib/address.js'
import { grown } from './grow.js'
import type { AttrId, RouteAttributes } from './api.js'

export const AttrBits = {
  HasMed: 1,
  HasLocalPref: 2,
  HasOriginatorId: 4,
} as const

const objectContext = defaultContext({ as4: true })

/** Next-hop field of an UPDATE as text: 4 / 16 bytes, 32 = global + link-local, and the VPN forms
 * with an 8-byte zero RD before each address (12, 24, 48). */
export function nextHopText(b: Uint8Array, start: number, length: number): string {
  switch (length) {
    case 0:
      return ''
    case 4:
    case 16:
      return formatAddress(b, start, length)
    case 32:
      return `${formatAddress(b, start, 16)},${formatAddress(b, start + 16, 16)}`
    case 12:
      return formatAddress(b, start + 8, 4)
    case 24:
      return formatAddress(b, start + 8, 16)
    case 48:
      return `${formatAddress(b, start + 8, 16)},${formatAddress(b, start + 32, 16)}`
    default:
      throw new RangeError(`a next hop of ${length} bytes has no known form`)
  }
}

export class AttributeStore {
  private readonly index = new Map<string, AttrId>()
  private keys: (string | undefined)[] = []
  private sets: (RouteAttributes | undefined)[] = []
  private free: AttrId[] = []
  refs = new Int32Array(1024)
  localPref = new Uint32Array(1024)
  med = new Uint32Array(1024)
  asPathLength = new Uint16Array(1024)
  origin = new Uint8Array(1024)
  bits = new Uint8Array(1024)
  /** First AS of the path (the neighbouring AS), 0 for an empty path. */
  neighborAs = new Uint32Array(1024)
  originatorId = new Uint32Array(1024)
  clusterListLength = new Uint16Array(1024)
  /** Cache of ownAsCount: the count, and for which AS (+1; 0 = not computed). */
  ownAs = new Uint8Array(1024)
  ownAsFor = new Float64Array(1024)
  /** AS_PATH as text, to tell equal paths apart for multipath. */
  asPathKey: string[] = []
  private live = 0

  get size(): number {
    return this.live
  }

  get(id: AttrId): RouteAttributes {
    const s = this.sets[id]
    if (s === undefined) throw new RangeError(`attribute set ${id} does not exist`)
    return s
  }

  /**
   * Interns the wire form: attribute section [start, end) of `attrs` (from the bulk decoder, no
   * MP attributes) and the next-hop field. Returns the id with one reference taken.
   */
  internWire(attrs: Uint8Array, start: number, end: number, nh: Uint8Array, nhStart: number, nhLength: number, ctx: CodecContext): AttrId {
    const key =
      (ctx.as4 ? (ctx.ebgp ? 'E' : 'I') : ctx.ebgp ? 'e' : 'i') +
      Buffer.from(nh.buffer, nh.byteOffset + nhStart, nhLength).toString('latin1') +
      '\u0100' +
      Buffer.from(attrs.buffer, attrs.byteOffset + start, end - start).toString('latin1')
    const found = this.index.get(key)
    if (found !== undefined) {
      this.refs[found] = (this.refs[found] as number) + 1
      return found
    }
    const set: RouteAttributes = Object.freeze({
      attrs: decodeAttributeBytes(attrs, start, end, ctx),
      nextHop: nextHopText(nh, nhStart, nhLength),
    })
    return this.add(key, set)
  }

  /** Interns an object set; returns the id with one reference taken. */
  intern(set: RouteAttributes): AttrId {
    const key = 'o' + set.nextHop + '\u0100' + Buffer.from(encodeAttributes(set.attrs, objectContext)).toString('latin1')
    const found = this.index.get(key)
    if (found !== undefined) {
      this.refs[found] = (this.refs[found] as number) + 1
      return found
    }
    return this.add(key, Object.isFrozen(set) ? set : Object.freeze({ attrs: set.attrs, nextHop: set.nextHop }))
  }

  /** How often `asn` occurs in the set's AS_PATH (sequences and sets, not confederation segments),
   * cached per set and AS. */
  ownAsCount(id: AttrId, asn: number): number {
    if (this.ownAsFor[id] === asn + 1) return this.ownAs[id] as number
    let n = 0
    for (const seg of this.get(id).attrs.asPath ?? []) {
      if (seg.type !== AsSegment.Sequence && seg.type !== AsSegment.Set) continue
      for (const x of seg.asns) if (x === asn) n++
    }
    this.ownAs[id] = Math.min(n, 255)
    this.ownAsFor[id] = asn + 1
    return n
  }

  addRef(id: AttrId): void {
    this.refs[id] = (this.refs[id] as number) + 1
  }

  release(id: AttrId): void {
    const r = (this.refs[id] as number) - 1
    this.refs[id] = r
    if (r > 0) return
    if (r < 0) throw new Error(`attribute set ${id} released more often than taken`)
    this.index.delete(this.keys[id] as string)
    this.keys[id] = undefined
    this.sets[id] = undefined
    this.asPathKey[id] = ''
    this.free.push(id)
    this.live--
  }

  private add(key: string, set: RouteAttributes): AttrId {
    let id = this.free.pop()
    if (id === undefined) {
      id = this.sets.length
      this.sets.push(undefined)
      this.keys.push(undefined)
      this.asPathKey.push('')
      if (id >= this.refs.length) this.grow()
    }
    this.index.set(key, id)
    this.keys[id] = key
    this.sets[id] = set
    this.refs[id] = 1
    this.live++
    const a = set.attrs
    let bits = 0
    if (a.med !== undefined) bits |= AttrBits.HasMed
    if (a.localPref !== undefined) bits |= AttrBits.HasLocalPref
    if (a.originatorId !== undefined) bits |= AttrBits.HasOriginatorId
    this.bits[id] = bits
    this.localPref[id] = a.localPref ?? 100
    this.med[id] = a.med ?? 0
    this.origin[id] = a.origin ?? 2
    const path = a.asPath ?? []
    this.asPathLength[id] = Math.min(asPathCount(path), 0xffff)
    let first = 0
    const s0 = path[0]
    if (s0 !== undefined && s0.type === AsSegment.Sequence) first = s0.asns[0] ?? 0
    this.neighborAs[id] = first
    this.originatorId[id] = a.originatorId ?? 0
    this.clusterListLength[id] = Math.min(a.clusterList?.length ?? 0, 0xffff)
    this.asPathKey[id] = asPathToString(path)
    this.ownAsFor[id] = 0
    return id
  }

  private grow(): void {
    const n = this.refs.length * 2
    this.refs = grown(this.refs, n)
    this.localPref = grown(this.localPref, n)
    this.med = grown(this.med, n)
    this.asPathLength = grown(this.asPathLength, n)
    this.origin = grown(this.origin, n)
    this.bits = grown(this.bits, n)
    this.neighborAs = grown(this.neighborAs, n)
    this.originatorId = grown(this.originatorId, n)
    this.clusterListLength = grown(this.clusterListLength, n)
    this.ownAs = grown(this.ownAs, n)
    this.ownAsFor = grown(this.ownAsFor, n)
  }
}
