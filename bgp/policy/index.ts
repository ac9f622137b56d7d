/**
 * The policy engine's public face (pure: no I/O). Per-peer import/export policies compiled from
 * configuration into the RIB's RoutePolicy (compile.ts, types.ts), prefix lists (prefix-list.ts),
 * FRR-style AS_PATH regexes (as-path-regex.ts), route targets and the VPN import/export shortcuts
 * (route-targets.ts), maximum-prefix (max-prefix.ts, RFC 4486), and route-target constraint
 * (rtc.ts, RFC 4684).
 */
export * from './errors.js'
export * from './types.js'
export { compilePolicy, importRouteTargets, prependAsPath, rdTextOf, type CompiledPolicy } from './compile.js'
export { PrefixMatcher, PrefixTrie, parsePrefixEntry, type PrefixEntry } from './prefix-list.js'
export { compileAsPathRegex } from './as-path-regex.js'
export { parseRouteTarget, routeTargetKey, routeTargetKeys, routeTargetsOf, type RouteTarget } from './route-targets.js'
export { MaxPrefix, maxPrefixNotification, maxPrefixNotificationData, type MaxPrefixOptions, type MaxPrefixResult } from './max-prefix.js'
export { RtcFilter, rtcDefaultNlri, rtcMembershipNlris } from './rtc.js'
