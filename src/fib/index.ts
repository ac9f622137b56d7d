/**
 * src/fib/: the FIB writer and what it stands on. Public face for the daemon: `FibWriter` (desired
 * routes in, smallest netlink change set out, adoption on restart, drift repair, counters), `cleanup`,
 * the route model, and the one kernel port, `NetlinkKernel` (over src/netlink, with gre/'s and
 * mplsoudp/'s own netlink code for their links).
 */
export { DEFAULT_PROTOCOL, FibWriter, newCounters, VRF_PREFIX, vrfName } from './writer.js'
export type { FibCounters, FibLogger, FibState, FibWriterOptions } from './writer.js'
export { checkLabel, checkTable, diffLabelRoutes, diffRoutes, IPV6_TUNNEL_GATEWAY, RESERVED_TABLES, RouteError, routeKey, sameRoute, toKernelRoute } from './diff.js'
export { cleanup } from './cleanup.js'
export type { CleanupKernel, CleanupOptions, CleanupReport } from './cleanup.js'
export { NetlinkKernel } from './netlink-kernel.js'
export type * from './types.js'
export { AddressError, parseAddress, parsePrefix } from './prefix.js'
