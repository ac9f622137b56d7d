/**
 * Builders for policy tests: RouteInfo from prefix text (as the RIB writes it) and RouteAttributes.
 */
import { Family, type FamilyKey } from '../../bgp/codec/afi.js'
import type { PathAttributes } from '../../bgp/codec/attributes.js'
import { tryParseAddress } from '../../src/lib/address.js'
import type { RouteAttributes, RouteInfo } from '../../bgp/rib/api.js'

/** `10.0.0.0/24`, `2001:db8::/32`, or for VPN families `64512:7:10.0.0.0/24`. */
export function route(prefix: string, family?: FamilyKey): RouteInfo {
  const slash = prefix.lastIndexOf('/')
  let addr = prefix.slice(0, slash)
  const fam = family ?? (addr.includes(':') ? Family.Ipv6Unicast : Family.Ipv4Unicast)
  if (fam === Family.Ipv4Vpn || fam === Family.Ipv6Vpn) {
    const parts = addr.split(':')
    addr = parts.slice(parts[0]?.startsWith('type') ? 3 : 2).join(':')
  }
  const address = tryParseAddress(addr)?.bytes
  if (address === undefined) throw new Error(`test route ${prefix}: bad address`)
  return { family: fam, prefix, address, length: Number(prefix.slice(slash + 1)), pathId: 0, peer: 1 }
}

export function ra(attrs: PathAttributes, nextHop = '192.0.2.1'): RouteAttributes {
  return { attrs, nextHop }
}

export const basic: PathAttributes = {
  origin: 0,
  asPath: [{ type: 2, asns: [65001, 65002] }],
  nextHop: 0xc0000201,
  med: 10,
  localPref: 100,
}
