/**
 * Policy configuration: plain JSON/YAML-shaped data, compiled by compile.ts into a RoutePolicy
 * (bgp/rib/api.ts). A policy is an ordered list of terms; a term matches when all its conditions hold,
 * then runs its `set` actions and ends with `action`: accept, reject, or `next` (fall through to the
 * next term, keeping the changes). A route no term accepted or rejected gets `default` (accept unless
 * configured otherwise, for import and for export alike).
 *
 * Text forms are the codec's: communities `65000:100` or a well-known name (`no-export`), large
 * communities `65000:1:2`, extended communities `rt:64512:100`, `rt:10.0.0.1:5`, `rt:4200000000:7`
 * (`rt:100L:7` for a small ASN in the 4-octet form), `encap:udp`, `soo:...`, route distinguishers
 * `64512:7`, `10.0.0.1:5`, `100L:5`. Family names as familyName() writes them (`ipv4-unicast`,
 * `l3vpn-ipv4-unicast`, `rtc`, ...) or CN2's (`inet`, `inet-vpn`, `inet6-vpn`, `route-target`).
 */

export type PolicyVerdict = 'accept' | 'reject'

export interface PolicyDef {
  readonly terms?: readonly TermDef[]
  /** What happens to a route no term accepted or rejected: `accept` by default. */
  readonly default?: PolicyVerdict
  /**
   * VPN import shortcut (Junos `vrf-import`/`vrf-target import`): a VPN route (l3vpn-ipv4/ipv6) is
   * rejected before any term unless it carries at least one of these route targets. Other families
   * are not affected.
   */
  readonly routeTargetImport?: readonly string[]
  /**
   * VPN export shortcut (`vrf-target export`): every accepted VPN route gets these route targets
   * added, after the terms ran. Other families are not affected.
   */
  readonly routeTargetExport?: readonly string[]
}

export interface TermDef {
  /** For logs; optional. */
  readonly name?: string
  /** All conditions must hold; an absent or empty match matches every route. */
  readonly match?: MatchDef
  readonly set?: SetDef
  /** `next` (the default) falls through to the next term with the changes made so far. */
  readonly action?: PolicyVerdict | 'next'
}

/**
 * One prefix list entry. Text: `10.0.0.0/8` (exactly /8), `10.0.0.0/8 le 24`, `10.0.0.0/8 ge 16`,
 * `10.0.0.0/8 ge 16 le 24`, `2001:db8::/32 le 48`. `ge` alone means up to the family's maximum, `le`
 * alone means from the entry's own length; len <= ge <= le <= 32 (128) must hold. On VPN families the
 * entry matches the address part; `rd` (object form only) restricts it to one route distinguisher.
 */
export type PrefixEntryDef = string | { readonly prefix: string; readonly ge?: number; readonly le?: number; readonly rd?: string }

/**
 * A condition on a set of values a route carries (communities, route targets, ...). A list is
 * shorthand for `anyOf`. `anyOf`: at least one is present; `allOf`: all are; `noneOf`: none is;
 * `regex`: at least one value's text form matches (JavaScript syntax, e.g. `^65000:1\d\d$`). Every
 * key given must hold.
 */
export type ValueSetMatchDef =
  | readonly string[]
  | {
      readonly anyOf?: readonly string[]
      readonly allOf?: readonly string[]
      readonly noneOf?: readonly string[]
      readonly regex?: string
    }

export interface MatchDef {
  /** One family name or a list (any of). */
  readonly family?: string | readonly string[]
  /** Any entry matches (IPv4 entries match IPv4 routes, IPv6 entries IPv6 routes, VPN by address). */
  readonly prefixList?: readonly PrefixEntryDef[]
  /** Route targets (from EXTENDED_COMMUNITIES: 2-octet AS, IPv4 and 4-octet AS forms). */
  readonly routeTarget?: ValueSetMatchDef
  /** Standard communities (RFC 1997): `65000:100`, `no-export`, `no-advertise`, `blackhole`, ... */
  readonly community?: ValueSetMatchDef
  /** Large communities (RFC 8092): `65000:1:2`. */
  readonly largeCommunity?: ValueSetMatchDef
  /** Any extended community (RFC 4360), route targets included: `rt:64512:1`, `encap:udp`. */
  readonly extCommunity?: ValueSetMatchDef
  /**
   * AS_PATH regular expression over its text (`65001 65002 {65003 65004}`), FRR/Cisco style: `_`
   * matches a separator, the start or the end (`_65001_` = 65001 anywhere as a whole ASN), `^` and
   * `$` anchor at the ends (`^$` = empty path, locally originated).
   */
  readonly asPath?: string
  /** AS_PATH length as best path counts it (an AS_SET counts 1, confederation segments 0). */
  readonly asPathLength?: { readonly min?: number; readonly max?: number }
  /** The next hop lies in one of these prefixes (`192.0.2.0/24`, `2001:db8::/32`, or an address). */
  readonly nextHop?: string | readonly string[]
  readonly med?: number
  readonly localPref?: number
  readonly origin?: 'igp' | 'egp' | 'incomplete'
}

/** Changes to a list of values: `set` replaces the list first, then `remove`, then `add`. */
export interface ListEditDef {
  readonly set?: readonly string[]
  readonly add?: readonly string[]
  readonly remove?: readonly string[]
}

export interface SetDef {
  readonly localPref?: number
  /** A value, or `{ add: n }` / `{ subtract: n }` (a missing MED counts 0; clamped to 0..2^32-1). */
  readonly med?: number | { readonly add: number } | { readonly subtract: number }
  /** `self` (the compile option `selfNextHop`) or an address. */
  readonly nextHop?: string
  /** Prepend `asn` (default: the compile option `localAs`) `count` times (default 1, at most 32). */
  readonly asPathPrepend?: number | { readonly asn?: number; readonly count?: number }
  readonly community?: ListEditDef
  readonly largeCommunity?: ListEditDef
  /** Extended communities of any kind (route targets included). */
  readonly extCommunity?: ListEditDef
  /** Route targets only: `set` replaces the route targets and keeps other extended communities. */
  readonly routeTarget?: ListEditDef
}

/** What the compiler needs to know besides the configuration. */
export interface CompileOptions {
  /** Next hop for `nextHop: self`: one address, or one per address family of the route. */
  readonly selfNextHop?: string | { readonly ipv4?: string; readonly ipv6?: string }
  /** Default ASN of `asPathPrepend`. */
  readonly localAs?: number
}
