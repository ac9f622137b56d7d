/**
 * The gateway's contract with the rest of the daemon: its options (`GatewayOptions`, filled by the
 * config model), the two ports it reaches BGP and the kernel through, and the status it reports.
 *
 * The ports are the narrowest slices of `BgpSpeaker` (bgp/speaker) and `FibWriter` (src/fib) the
 * gateway uses; both satisfy them structurally, so the daemon passes them in as they are and tests may
 * pass a recorder (recording-fib.ts) for the FIB.
 */
import type { FamilyKey } from '../../bgp/codec/afi.js'
import type { ExtendedCommunity } from '../../bgp/codec/ext-communities.js'
import type { Nlri } from '../../bgp/codec/nlri.js'
import type { BestChange, RouteAttributes } from '../../bgp/rib/index.js'
import type { PeerStateEvent } from '../../bgp/speaker/index.js'
import type { DesiredRoute, GatewayTable } from '../fib/types.js'
import type { PrefixTable } from './prefix-table.js'

/** What the gateway needs of a BgpSpeaker (the CN2 one or the TGW one). */
export interface SpeakerPort {
  readonly localAs: number
  on(event: 'best', listener: (family: FamilyKey, changes: readonly BestChange[]) => void): unknown
  on(event: 'peer-state', listener: (e: PeerStateEvent) => void): unknown
  off(event: 'best', listener: (family: FamilyKey, changes: readonly BestChange[]) => void): unknown
  off(event: 'peer-state', listener: (e: PeerStateEvent) => void): unknown
  /** Session states when the gateway starts (later changes come as 'peer-state'). */
  peers(): readonly { readonly name: string; readonly session: { readonly state: string } }[]
  originate(nlri: Nlri, attrs: RouteAttributes): void
  withdrawOriginated(nlri: Nlri): void
}

/** The CN2 speaker also advertises our route-target memberships (RFC 4684), so control nodes send
 * only the exposed VNs' routes. */
export interface Cn2SpeakerPort extends SpeakerPort {
  setImportRouteTargets(rts: readonly ExtendedCommunity[]): void
}

/** What the gateway needs of the FIB writer (or of a recorder, with `dataplane: none`). */
export interface FibPort {
  setTables(tables: readonly GatewayTable[]): void
  setRoute(route: DesiredRoute): void
  deleteRoute(table: number, prefix: string): boolean
  /**
   * Optional: setRoute for the commonest route, toward one pod over one MPLS next hop, with the
   * prefix given as an id of the gateway's own PrefixTable `keys` instead of text: what a million pod
   * routes cost is then no string, no object and no second hash table of the same prefixes. The
   * FIB may keep the route by that id (the computed FIB, RecordingFib, does), so the gateway calls
   * deleteRouteOf before it frees the id. Without these two the gateway calls setRoute/deleteRoute.
   */
  setMplsRouteOf?(table: number, keys: PrefixTable, id: number, vrouter: string, label: number): void
  /** Deletes the route of prefix `id` of `keys` (see setMplsRouteOf); with `borrowedOnly`, only one
   * set through setMplsRouteOf (a route set by text for the same prefix stays). */
  deleteRouteOf?(table: number, keys: PrefixTable, id: number, borrowedOnly: boolean): boolean
  /** Writes what changed; the gateway calls it once per batch of BGP changes. */
  flush(): Promise<void>
}

/** One Connect peer: its GRE link and the TGW's BGP addresses on it (.2 and .3 of the inside /29,
 * and the /125's when IPv6 is used). */
export interface ConnectPeerLink {
  /** GRE link name (gre/'s greLinkName). */
  readonly link: string
  /** The TGW speaker's peer addresses whose routes go out of this link. */
  readonly peers: readonly string[]
}

export interface GatewayOptions {
  /** This node's BGP identifier (IPv4 text): the RD of re-originated VPN routes is `<routerId>:<rdIndex>`. */
  readonly routerId: string
  /** Assigned number of the RD (0-65535, type 1 RD); default 1. */
  readonly rdIndex?: number
  /** This node's IPv4 address: next hop of the VPN routes toward the control nodes (the vRouters'
   * MPLSoUDP tunnels end here). */
  readonly nodeAddress: string
  /** Route targets of the exposed virtual networks: imported, and attached to re-originated routes.
   * Objects or text (`target:64512:8000001`, `rt:64512:8000001`). */
  readonly exposedRouteTargets: readonly (ExtendedCommunity | string)[]
  /** Exposed CIDRs (the exposed VNs' subnets): the aggregates advertised to the TGW. */
  readonly exposedCidrs: readonly string[]
  /** The gateway table (kernel table + VRF) and its MPLS label (the label of re-originated routes). */
  readonly table: GatewayTable
  readonly connectPeers: readonly ConnectPeerLink[]
  /** Also advertise the imported prefixes inside exposed CIDRs (pod routes), not only aggregates. */
  readonly advertiseMoreSpecifics?: boolean
  /** Prefixes toward the TGW at most (AWS quota 1,000 per Connect peer); default 1000. */
  readonly maxPrefixesAdvertised?: number
  /** TGW routes above which a warning is reported (AWS sends at most 5,000); default 5000. */
  readonly tgwRoutesWarning?: number
  /** Seconds after the last control-node session went down before the aggregates are withdrawn even
   * though the RIB still holds stale routes (graceful restart); default 360. 0: at once. */
  readonly cn2LostAfter?: number
  /** Seconds after the last TGW session went down before the VPN routes toward CN2 are withdrawn even
   * though the RIB still holds stale TGW routes; default 360. 0: at once. */
  readonly tgwLostAfter?: number
  readonly log?: GatewayLogger
}

export interface GatewayLogger {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
}

/** A quota report: the candidate set exceeds the limit, these prefixes are refused. */
export interface QuotaEvent {
  readonly limit: number
  readonly candidates: number
  readonly advertised: number
  /** Every refused prefix count, and those newly refused by the last batch. */
  readonly refused: number
  readonly newlyRefused: readonly string[]
}

export interface FailoverEvent {
  /** 'cn2': every control-node session lost (aggregates withdrawn); 'tgw': every TGW session lost
   * (VPN routes withdrawn). */
  readonly side: 'cn2' | 'tgw'
  readonly lost: boolean
}

export interface GatewayEvents {
  quota: [QuotaEvent]
  'tgw-routes-warning': [{ readonly count: number; readonly threshold: number }]
  failover: [FailoverEvent]
  error: [Error]
}

export interface QuotaReport {
  readonly limit: number
  readonly candidates: number
  readonly advertised: number
  readonly refused: number
  /** Refused prefixes in the guard's order (at most 1,000). */
  readonly refusedPrefixes: readonly string[]
  readonly refusals: number
}

export interface GatewayStatus {
  /** VPN routes imported (route target exposed, usable next hop). */
  readonly importedRoutes: number
  /** Distinct IP prefixes of those (gateway table routes toward pods). */
  readonly importedPrefixes: number
  readonly aggregatesActive: number
  readonly advertisedToTgw: number
  readonly quota: QuotaReport
  readonly tgwRoutes: number
  readonly reoriginatedVpnRoutes: number
  /** VPN route changes not imported because no path named an IPv4 vRouter with a usable label. */
  readonly unusableRoutes: number
  /** Gateway table routes the FIB refused (see the 'error' events). */
  readonly fibRefused: number
  readonly cn2Lost: boolean
  readonly tgwLost: boolean
}
