/**
 * Address family identifiers (AFI, IANA "Address Family Numbers") and subsequent address family
 * identifiers (SAFI, IANA "SAFI Values") the codec knows, and the family key used in tables.
 */
export const Afi = { Ipv4: 1, Ipv6: 2, L2vpn: 25 } as const
export type Afi = (typeof Afi)[keyof typeof Afi]

export const Safi = {
  Unicast: 1,
  Multicast: 2,
  Labeled: 4, // RFC 8277
  Mvpn: 5,
  Evpn: 70,
  MplsVpn: 128, // RFC 4364 / RFC 4659
  RouteTarget: 132, // RFC 4684
  ErmVpn: 243, // Contrail
} as const
export type Safi = (typeof Safi)[keyof typeof Safi]

/** A family as one small integer, `afi << 8 | safi`: cheap as a Map key or array index. */
export type FamilyKey = number
export function familyKey(afi: number, safi: number): FamilyKey {
  return ((afi & 0xffff) << 8) | (safi & 0xff)
}
export function familyAfi(key: FamilyKey): number {
  return key >>> 8
}
export function familySafi(key: FamilyKey): number {
  return key & 0xff
}

export const Family = {
  Ipv4Unicast: familyKey(Afi.Ipv4, Safi.Unicast),
  Ipv6Unicast: familyKey(Afi.Ipv6, Safi.Unicast),
  Ipv4Labeled: familyKey(Afi.Ipv4, Safi.Labeled),
  Ipv6Labeled: familyKey(Afi.Ipv6, Safi.Labeled),
  Ipv4Vpn: familyKey(Afi.Ipv4, Safi.MplsVpn),
  Ipv6Vpn: familyKey(Afi.Ipv6, Safi.MplsVpn),
  RouteTarget: familyKey(Afi.Ipv4, Safi.RouteTarget),
} as const

const names: Record<number, string> = {
  [Family.Ipv4Unicast]: 'ipv4-unicast',
  [Family.Ipv6Unicast]: 'ipv6-unicast',
  [Family.Ipv4Labeled]: 'ipv4-labeled-unicast',
  [Family.Ipv6Labeled]: 'ipv6-labeled-unicast',
  [Family.Ipv4Vpn]: 'l3vpn-ipv4-unicast',
  [Family.Ipv6Vpn]: 'l3vpn-ipv6-unicast',
  [Family.RouteTarget]: 'rtc',
}

/** Stable family names for logs, metrics and the CLI (GoBGP's spelling where it has one). */
export function familyName(key: FamilyKey): string {
  return names[key] ?? `afi-${familyAfi(key)}-safi-${familySafi(key)}`
}
