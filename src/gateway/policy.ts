/**
 * The export policy the daemon puts on every TGW peer (IPv4/IPv6 unicast) and every control-node peer
 * (VPN families): only locally originated routes leave, i.e. what the gateway originates.
 *
 * Why: without it the TGW speaker would pass the routes one TGW session taught to the other session
 * and to the other Connect peers (eBGP to eBGP is allowed by RFC 4271), which counts against the
 * TGW's 1,000-route quota and bypasses the quota guard; and the CN2 speaker must not send control
 * nodes anything the gateway did not decide to re-originate.
 *
 * It depends on the route's source only, so the speaker caches it per attribute set and source.
 */
import { LOCAL_PEER, type RouteAttributes, type RouteInfo, type RoutePolicy } from '../../bgp/rib/index.js'

export const localRoutesOnly: RoutePolicy = Object.freeze({
  perAttributeSet: true,
  apply(route: RouteInfo, attrs: RouteAttributes): RouteAttributes | null {
    return route.peer === LOCAL_PEER ? attrs : null
  },
})
