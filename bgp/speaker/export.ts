/**
 * Export rules: the attribute set a best path is advertised with to one peer, before that peer's
 * export policy. Pure functions over PathAttributes (no RIB, no sockets).
 *
 * - Never back to the peer it came from (the caller checks, it knows the peer ids).
 * - Well-known communities (RFC 1997), on the route as we hold it: NO_ADVERTISE goes to no peer,
 *   NO_EXPORT and NO_EXPORT_SUBCONFED to no eBGP peer (we run no confederation). An export policy
 *   that adds them sends them on for the receiver to honour.
 * - iBGP to iBGP: not re-advertised (RFC 4271 9.2), except by route reflection (RFC 4456 6): from a
 *   client to everyone, from a non-client to clients. Reflected routes get ORIGINATOR_ID (the
 *   source's BGP identifier, unless present) and our cluster id prepended to CLUSTER_LIST; a route
 *   whose CLUSTER_LIST already holds our cluster id is a loop and is dropped.
 * - Toward eBGP (RFC 4271 5.1): our AS prepended to AS_PATH (confederation segments removed, RFC 5065
 *   5), next hop self (5.1.3) unless a locally originated route names its own, LOCAL_PREF removed
 *   (5.1.5), MED removed unless we originated the route (5.1.4: a MED learned from one neighbouring AS
 *   is not passed to another), ORIGINATOR_ID and CLUSTER_LIST removed (iBGP-only, RFC 4456).
 * - Toward iBGP: LOCAL_PREF added (100) when missing (5.1.5), next hop kept unless next-hop-self is
 *   configured or the route is ours without a next hop.
 * - Unknown optional attributes: forReadvertisement (Partial bit on transitive ones, non-transitive
 *   dropped, RFC 4271 5 and 9.1.4); recorded arrival order and extended-length quirks are dropped so
 *   equal sets intern to one id.
 * - IPv4 unicast routes carry their next hop in NEXT_HOP (when it is IPv4); every other family in
 *   MP_REACH_NLRI, so `attrs.nextHop` is removed for them. IPv4 families with an IPv6 next hop go
 *   only where RFC 8950 extended next hop was negotiated; a route without any next hop goes nowhere.
 */
import { Afi, Family, familyAfi, type FamilyKey } from '../codec/afi.js'
import { AsSegment, withoutConfed, type AsPath } from '../codec/as-path.js'
import { forReadvertisement, Origin, type PathAttributes } from '../codec/attributes.js'
import type { RouteAttributes } from '../rib/api.js'
import { isIpv4, parseIpv4 } from '../../src/lib/address.js'

/** Where the best path came from. */
export interface ExportSource {
  /** Locally originated (LOCAL_PEER). */
  readonly local: boolean
  readonly ebgp: boolean
  readonly routeReflectorClient: boolean
  /** BGP identifier of the source peer (ORIGINATOR_ID when reflecting). */
  readonly routerId: number
}

/** The peer the route goes to. */
export interface ExportTarget {
  readonly family: FamilyKey
  readonly ebgp: boolean
  readonly routeReflectorClient: boolean
  readonly localAs: number
  readonly clusterId: number
  readonly nextHopSelf: boolean
  /** Our next hop toward this peer for the family (text). */
  readonly selfNextHop: string
  /** An IPv6 next hop may go with IPv4 NLRI (RFC 8950 extended next hop negotiated for the family). */
  readonly ipv6NextHopForIpv4?: boolean
}

export const DEFAULT_LOCAL_PREF = 100

/** Well-known communities (RFC 1997). */
export const NO_EXPORT = 0xffffff01
export const NO_ADVERTISE = 0xffffff02
export const NO_EXPORT_SUBCONFED = 0xffffff03

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** AS_PATH with `asn` prepended (into the leading AS_SEQUENCE when it has room, RFC 4271 5.1.2). */
export function prependAs(path: AsPath | undefined, asn: number): AsPath {
  const p = withoutConfed(path ?? [])
  const first = p[0]
  if (first !== undefined && first.type === AsSegment.Sequence && first.asns.length < 255) {
    return [{ type: AsSegment.Sequence, asns: [asn, ...first.asns] }, ...p.slice(1)]
  }
  return [{ type: AsSegment.Sequence, asns: [asn] }, ...p]
}

/** Whether an iBGP-learned route may go to an iBGP peer (RFC 4456 6). */
export function mayReflect(from: ExportSource, to: ExportTarget): boolean {
  return from.routeReflectorClient || to.routeReflectorClient
}

/** The attribute set to advertise, or null when the rules forbid advertising the route. */
export function exportAttributes(src: RouteAttributes, from: ExportSource, to: ExportTarget): RouteAttributes | null {
  const communities = src.attrs.communities
  if (communities !== undefined && communities.length > 0) {
    if (communities.includes(NO_ADVERTISE)) return null
    if (to.ebgp && (communities.includes(NO_EXPORT) || communities.includes(NO_EXPORT_SUBCONFED))) return null
  }
  const ibgpToIbgp = !from.local && !from.ebgp && !to.ebgp
  if (ibgpToIbgp && !mayReflect(from, to)) return null
  const a: Mutable<PathAttributes> = { ...forReadvertisement(src.attrs) }
  delete a.order
  delete a.extendedLength
  if (a.origin === undefined) a.origin = Origin.Igp
  let nextHop = src.nextHop
  if (to.ebgp) {
    a.asPath = prependAs(a.asPath, to.localAs)
    delete a.localPref
    if (!from.local) delete a.med
    delete a.originatorId
    delete a.clusterList
    if (!(from.local && nextHop !== '')) nextHop = to.selfNextHop
  } else {
    if (a.asPath === undefined) a.asPath = []
    if (a.localPref === undefined) a.localPref = DEFAULT_LOCAL_PREF
    if (ibgpToIbgp) {
      if (a.clusterList?.includes(to.clusterId) === true) return null
      if (a.originatorId === undefined) a.originatorId = from.routerId
      a.clusterList = [to.clusterId, ...(a.clusterList ?? [])]
    }
    if (to.nextHopSelf || nextHop === '') nextHop = to.selfNextHop
  }
  if (nextHop === '') return null // nowhere to send traffic
  // IPv4 NLRI with an IPv6 next hop needs RFC 8950 on the session; without it the peer could not
  // even parse the UPDATE (RTC carries the speaker's address, IPv4 on our IPv4 sessions).
  if (familyAfi(to.family) === Afi.Ipv4 && nextHop.includes(':') && to.ipv6NextHopForIpv4 !== true) return null
  if (to.family === Family.Ipv4Unicast) {
    if (isIpv4(nextHop)) a.nextHop = parseIpv4(nextHop, 'nextHop')
    else delete a.nextHop
  } else {
    delete a.nextHop
  }
  return { attrs: a, nextHop }
}
