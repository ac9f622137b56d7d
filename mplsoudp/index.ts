/**
 * mplsoudp/: the CN2 side of the kernel (RFC 7510 MPLS-in-UDP, RFC 4023 MPLS-in-IP over fou): the
 * fou listener on UDP 6635 for IP protocol 137, one mplsip tunnel with fou encapsulation per remote
 * vRouter (named from its address, reference counted by the routes that use it), one label per
 * gateway table popping into that table's VRF. The FIB writer (src/fib/writer.ts) drives these.
 */
export { IPPROTO_MPLS, isTunnelName, MPLSOUDP_PORT, planTunnels, TUNNEL_PREFIX, TunnelRefs, tunnelName, tunnelRemote, tunnelSpec } from './tunnels.js'
export type { TunnelLink } from './tunnels.js'
