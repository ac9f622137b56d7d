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
 * A lookup costs one Map probe per distinct membership length, per route target of the route.
 */
import { Family } from '../codec/afi.js'
import type { PathAttributes } from '../codec/attributes.js'
import { extCommunityBytes, type ExtendedCommunity } from '../codec/ext-communities.js'
import type { Nlri } from '../codec/nlri.js'

const RTC_BYTES = 12

function u64(b: Uint8Array, p: number): bigint {
  let v = 0n
  for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(b[p + i] ?? 0)
  return v
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

/** The route target bits of a membership: `bits` leading bits of the RT, as a bigint. */
function membershipKey(n: Nlri): { bits: number; value: bigint; id: string } {
  if (n.family !== Family.RouteTarget) throw new RangeError(`RTC filter: NLRI of family ${n.family} is not a route-target membership`)
  if (n.length !== 0 && (n.length < 32 || n.length > 96 || !Number.isInteger(n.length))) {
    throw new RangeError(`RTC filter: prefix length ${n.length} (RFC 4684 allows 0 or 32..96)`)
  }
  if (n.length === 0) return { bits: -1, value: 0n, id: '0' }
  const bits = n.length - 32
  const rt = u64(n.prefix, 4)
  const value = bits === 0 ? 0n : rt >> BigInt(64 - bits)
  const asBytes = Buffer.from(n.prefix.subarray(0, 4)).toString('hex')
  return { bits, value, id: `${n.length}/${asBytes}/${value.toString(16)}` }
}

const rtValues = new WeakMap<PathAttributes, readonly bigint[]>()

/** The route targets of a route as 64-bit values (memoised per attribute object). */
function routeTargetValues(attrs: PathAttributes): readonly bigint[] {
  let v = rtValues.get(attrs)
  if (v === undefined) {
    const out: bigint[] = []
    for (const c of attrs.extCommunities ?? []) if (c.kind === 'route-target') out.push(u64(extCommunityBytes(c), 0))
    v = out
    rtValues.set(attrs, v)
  }
  return v
}

export class RtcFilter {
  /** Reference counts per membership NLRI identity (length, origin AS, bits). */
  private readonly nlris = new Map<string, number>()
  /** Per route-target bit count (0..64): masked value -> how many memberships have it. */
  private readonly byBits = new Map<number, Map<bigint, number>>()
  private defaults = 0

  /** Memberships held (distinct NLRIs, the default included). */
  get size(): number {
    return this.nlris.size
  }

  /** The peer advertised the default membership (or nothing filters at all). */
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
    let m = this.byBits.get(k.bits)
    if (m === undefined) this.byBits.set(k.bits, (m = new Map()))
    m.set(k.value, (m.get(k.value) ?? 0) + 1)
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
    const m = this.byBits.get(k.bits) as Map<bigint, number>
    const left = (m.get(k.value) ?? 1) - 1
    if (left > 0) m.set(k.value, left)
    else {
      m.delete(k.value)
      if (m.size === 0) this.byBits.delete(k.bits)
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
    return this.matchesValues(routeTargetValues(attrs))
  }

  /** The same for a list of route targets. */
  allowsRouteTargets(routeTargets: readonly ExtendedCommunity[]): boolean {
    if (this.defaults > 0) return true
    return this.matchesValues(routeTargets.filter((c) => c.kind === 'route-target').map((c) => u64(extCommunityBytes(c), 0)))
  }

  private matchesValues(rts: readonly bigint[]): boolean {
    for (const rt of rts) {
      for (const [bits, m] of this.byBits) {
        const v = bits === 0 ? 0n : rt >> BigInt(64 - bits)
        if (m.has(v)) return true
      }
    }
    return false
  }
}
