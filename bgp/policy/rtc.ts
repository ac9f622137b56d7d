/**
 * Route-target constraint (RFC 4684): the route-target membership NLRIs we advertise, and the
 * export-side filter built from the ones a peer advertised to us.
 *
 * NLRI form, exactly as bgp/codec/nlri.ts represents family RouteTarget (AFI 1, SAFI 132): `prefix`
 * is 12 bytes, the origin AS (4 octets) followed by the route target's 8 wire octets, and `length`
 * counts bits of those 12 bytes: 96 for one route target, 0 for the default membership ("send me
 * every VPN route", RFC 4684 3), or 32..95 for a membership covering every route target whose first
 * `length - 32` bits match (RFC 4684 4; 32 = every route target).
 *
 * Filtering (RFC 4684 4): a VPN route may be sent to the peer when one of its route targets matches
 * one of the peer's memberships, or the peer advertised the default. The origin AS says who asked,
 * not what: it plays no part in the match. Memberships are reference counted by NLRI (origin AS,
 * length, bits), so the same route target asked for by two origins stays until both withdrew it.
 * A lookup costs two Map probes per distinct membership length, per route target of the route, on
 * plain numbers (the route targets of an attribute set are read once, memoised).
 */
import { Family } from '../codec/afi.js'
import type { PathAttributes } from '../codec/attributes.js'
import { extCommunityBytes, type ExtendedCommunity } from '../codec/ext-communities.js'
import type { Nlri } from '../codec/nlri.js'

const RTC_BYTES = 12

function u32(b: Uint8Array, p: number): number {
  return (((b[p] as number) << 24) | ((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number)) >>> 0
}

/** The first `bits` (0..32) bits of a uint32, as a number. */
function top(v: number, bits: number): number {
  return bits === 0 ? 0 : v >>> (32 - bits)
}

/** The membership NLRIs for our import route targets, origin AS = `localAs` (duplicates dropped). */
export function rtcMembershipNlris(localAs: number, routeTargets: readonly ExtendedCommunity[]): Nlri[] {
  if (!Number.isInteger(localAs) || localAs < 0 || localAs > 0xffffffff) throw new RangeError(`localAs ${localAs}: not a 4-octet AS number`)
  const seen = new Set<string>()
  const out: Nlri[] = []
  for (const rt of routeTargets) {
    if (rt.kind !== 'route-target') throw new RangeError(`RTC membership: a ${rt.kind} extended community is not a route target`)
    const prefix = new Uint8Array(RTC_BYTES)
    prefix[0] = localAs >>> 24
    prefix[1] = (localAs >>> 16) & 0xff
    prefix[2] = (localAs >>> 8) & 0xff
    prefix[3] = localAs & 0xff
    prefix.set(extCommunityBytes(rt), 4)
    const key = Buffer.from(prefix).toString('hex')
    if (seen.has(key)) continue
    seen.add(key)
    out.push(Object.freeze({ family: Family.RouteTarget, prefix, length: 96 }))
  }
  return out
}

/** The default membership (RFC 4684 3: prefix length 0): "send me all VPN routes". */
export function rtcDefaultNlri(): Nlri {
  return Object.freeze({ family: Family.RouteTarget, prefix: new Uint8Array(RTC_BYTES), length: 0 })
}

/**
 * A membership's route-target bits as two numbers: `bits` (0..64) leading bits of the RT, `hi` the
 * first min(bits, 32) of them, `lo` the remaining bits - 32 (0 when bits <= 32). Numbers, not
 * bigints: the lookup runs per route and peer on the export path.
 */
interface Key {
  readonly bits: number
  readonly hi: number
  readonly lo: number
  readonly id: string
}

function membershipKey(n: Nlri): Key {
  if (n.family !== Family.RouteTarget) throw new RangeError(`RTC filter: NLRI of family ${n.family} is not a route-target membership`)
  if (n.length !== 0 && (n.length < 32 || n.length > 96 || !Number.isInteger(n.length))) {
    throw new RangeError(`RTC filter: prefix length ${n.length} (RFC 4684 allows 0 or 32..96)`)
  }
  if (n.length === 0) return { bits: -1, hi: 0, lo: 0, id: 'default' }
  const bits = n.length - 32
  const hi = top(u32(n.prefix, 4), Math.min(bits, 32))
  const lo = bits > 32 ? top(u32(n.prefix, 8), bits - 32) : 0
  return { bits, hi, lo, id: `${n.length}/${u32(n.prefix, 0)}/${hi}/${lo}` }
}

/** A route's route targets as [hi, lo] uint32 pairs, flattened (memoised per attribute object). */
const rtWords = new WeakMap<PathAttributes, Uint32Array>()
function routeTargetWords(attrs: PathAttributes): Uint32Array {
  let v = rtWords.get(attrs)
  if (v === undefined) {
    v = wordsOf(attrs.extCommunities ?? [])
    rtWords.set(attrs, v)
  }
  return v
}
function wordsOf(list: readonly ExtendedCommunity[]): Uint32Array {
  const rts = list.filter((c) => c.kind === 'route-target')
  const out = new Uint32Array(rts.length * 2)
  rts.forEach((c, i) => {
    const b = extCommunityBytes(c)
    out[2 * i] = u32(b, 0)
    out[2 * i + 1] = u32(b, 4)
  })
  return out
}

export class RtcFilter {
  /** Reference counts per membership NLRI identity (length, origin AS, bits). */
  private readonly nlris = new Map<string, number>()
  /** Per route-target bit count (0..64): hi -> lo -> how many memberships have it. */
  private readonly byBits = new Map<number, Map<number, Map<number, number>>>()
  private defaults = 0

  /** Memberships held (distinct NLRIs, the default included). */
  get size(): number {
    return this.nlris.size
  }

  /** The peer advertised the default membership. */
  get hasDefault(): boolean {
    return this.defaults > 0
  }

  /** A membership received (an announcement); the same NLRI again only raises its count. */
  add(n: Nlri): void {
    const k = membershipKey(n)
    const c = this.nlris.get(k.id) ?? 0
    this.nlris.set(k.id, c + 1)
    if (c > 0) return
    if (k.bits < 0) {
      this.defaults++
      return
    }
    let byHi = this.byBits.get(k.bits)
    if (byHi === undefined) this.byBits.set(k.bits, (byHi = new Map()))
    let byLo = byHi.get(k.hi)
    if (byLo === undefined) byHi.set(k.hi, (byLo = new Map()))
    byLo.set(k.lo, (byLo.get(k.lo) ?? 0) + 1)
  }

  /** A membership withdrawn; returns false when it was not held. */
  remove(n: Nlri): boolean {
    const k = membershipKey(n)
    const c = this.nlris.get(k.id)
    if (c === undefined) return false
    if (c > 1) {
      this.nlris.set(k.id, c - 1)
      return true
    }
    this.nlris.delete(k.id)
    if (k.bits < 0) {
      this.defaults--
      return true
    }
    const byHi = this.byBits.get(k.bits) as Map<number, Map<number, number>>
    const byLo = byHi.get(k.hi) as Map<number, number>
    const left = (byLo.get(k.lo) ?? 1) - 1
    if (left > 0) byLo.set(k.lo, left)
    else {
      byLo.delete(k.lo)
      if (byLo.size === 0) byHi.delete(k.hi)
      if (byHi.size === 0) this.byBits.delete(k.bits)
    }
    return true
  }

  /** Everything withdrawn (session down). */
  clear(): void {
    this.nlris.clear()
    this.byBits.clear()
    this.defaults = 0
  }

  /** May a VPN route with these attributes be sent to the peer? */
  allows(attrs: PathAttributes): boolean {
    if (this.defaults > 0) return true
    if (this.byBits.size === 0) return false
    return this.matches(routeTargetWords(attrs))
  }

  /** The same for a list of route targets. */
  allowsRouteTargets(routeTargets: readonly ExtendedCommunity[]): boolean {
    if (this.defaults > 0) return true
    return this.matches(wordsOf(routeTargets))
  }

  private matches(words: Uint32Array): boolean {
    for (let i = 0; i < words.length; i += 2) {
      const hiWord = words[i] as number
      const loWord = words[i + 1] as number
      for (const [bits, byHi] of this.byBits) {
        const byLo = byHi.get(top(hiWord, Math.min(bits, 32)))
        if (byLo !== undefined && byLo.has(bits > 32 ? top(loWord, bits - 32) : 0)) return true
      }
    }
    return false
  }
}
