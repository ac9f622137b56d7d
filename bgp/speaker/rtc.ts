/**
 * Route-target constraint (RFC 4684) as the speaker needs it: our membership NLRIs from the route
 * targets we import, and a filter from a peer's membership routes deciding which VPN routes that
 * peer wants.
 *
 * Membership NLRI (RFC 4684 4): origin AS (4 octets) then the route target (8 octets), prefix length
 * 96 for one route target; 0 is the default membership (send everything); 32..95 is the origin AS
 * plus a prefix of the route target (a range of targets).
 */
import { Family } from '../codec/afi.js'
import type { PathAttributes } from '../codec/attributes.js'
import { extCommunityBytes, type ExtendedCommunity } from '../codec/ext-communities.js'
import type { Nlri } from '../codec/nlri.js'

/** Our membership NLRI for one imported route target. */
export function membershipNlri(localAs: number, rt: ExtendedCommunity): Nlri {
  const prefix = new Uint8Array(12)
  prefix[0] = localAs >>> 24
  prefix[1] = (localAs >>> 16) & 0xff
  prefix[2] = (localAs >>> 8) & 0xff
  prefix[3] = localAs & 0xff
  prefix.set(extCommunityBytes(rt), 4)
  return { family: Family.RouteTarget, prefix, length: 96 }
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** Which route targets a peer asked for. */
export class RtcFilter {
  private all = false
  private readonly exact = new Set<string>()
  /** Partial memberships: route-target bits [0, bits) must equal `bytes`. */
  private readonly partial: { bytes: Uint8Array; bits: number }[] = []

  /** Adds one membership NLRI (prefix bytes at full width, length in bits). */
  add(prefix: Uint8Array, length: number): void {
    if (length === 0) {
      this.all = true
      return
    }
    const rtBits = length - 32
    if (rtBits >= 64) this.exact.add(hex(prefix.subarray(4, 12)))
    else this.partial.push({ bytes: prefix.slice(4, 12), bits: rtBits })
  }

  get acceptsAll(): boolean {
    return this.all
  }

  /** A stable text of the filter, to tell whether it changed. */
  signature(): string {
    return `${this.all ? '*' : ''}|${[...this.exact].sort().join(',')}|${this.partial.map((p) => `${hex(p.bytes)}/${p.bits}`).sort().join(',')}`
  }

  /** Whether a route with these attributes is wanted (any of its route targets matches). */
  allows(attrs: PathAttributes): boolean {
    if (this.all) return true
    const ecs = attrs.extCommunities
    if (ecs === undefined) return false
    for (const c of ecs) {
      if (c.kind !== 'route-target') continue
      const b = extCommunityBytes(c)
      if (this.exact.has(hex(b))) return true
      for (const p of this.partial) if (prefixEqual(p.bytes, b, p.bits)) return true
    }
    return false
  }
}

function prefixEqual(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  let i = 0
  for (; bits >= 8; bits -= 8, i++) if (a[i] !== b[i]) return false
  if (bits === 0) return true
  const m = (0xff << (8 - bits)) & 0xff
  return ((a[i] as number) & m) === ((b[i] as number) & m)
}
