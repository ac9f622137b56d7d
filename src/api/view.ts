/**
 * DaemonView: the narrow read (and two-verb write) interface that the observability and operator
 * interfaces need from the running daemon. The metrics registry (src/metrics), the HTTP probes
 * (src/http) and the local API behind gsictl (src/api) see the daemon only through it, so they are
 * tested against a fake view and the runtime joins them by implementing it over BgpSpeaker, the RIB,
 * the FIB writer, gre/, the gateway logic and the config loader.
 *
 * Everything a view returns is JSON-able (it crosses the Unix socket as is) and should be cheap: the
 * API answers on the daemon's event loop, so a view must read state that is already at hand (counts
 * kept per RIB commit, the FIB writer's maps) rather than walk a table; route listings are paged
 * (`RouteQuery.limit`, `RoutePage.next`) for the same reason.
 *
 * Also the conversion of a RIB path (bgp/rib RouteEntry) into the RouteView the CLI prints, with the
 * codec's own text forms (AS_PATH, communities, extended communities), so every implementation of the
 * view shows routes the same way.
 */
import { asPathToString } from '../../bgp/codec/as-path.js'
import { communityToString, largeCommunityToString } from '../../bgp/codec/communities.js'
import { extCommunityToString } from '../../bgp/codec/ext-communities.js'
import type { RouteEntry } from '../../bgp/rib/api.js'
import type { PeerStats } from '../../bgp/speaker/speaker.js'
import type { FibCounters, FibState } from '../fib/writer.js'
import type { GreLinkReport } from '../../gre/reconcile.js'

/** Which side of the gateway a peer is on: a CN2 control node or a Transit Gateway Connect peer. */
export type PeerSide = 'cn2' | 'tgw'

/** One BGP peer: the speaker's statistics (BgpSpeaker.peerStats) and its side; `diagnosis`: why the
 * session does not come up where BGP itself cannot see it (TCP-MD5 segments the kernel dropped). */
export type PeerView = PeerStats & { readonly side: PeerSide; readonly diagnosis?: string }

/** Who the daemon is and whether it is ready, for the summary's header and /readyz. */
export interface DaemonStatus {
  readonly version: string
  /** Dotted quad. */
  readonly routerId: string
  /** The AS toward CN2 (the control nodes' AS by default). */
  readonly localAs: number
  /** The AS toward the Transit Gateway (the GSI's asn), when it differs. */
  readonly tgwLocalAs?: number
  /** ms since the epoch. */
  readonly startedAt: number
  readonly ready: boolean
  /** Why not ready, in words an operator acts on ("waiting for End-of-RIB from 10.0.0.10"). */
  readonly notReadyReason?: string
  readonly logLevel: string
  /** 'kernel' or 'none' (control plane only, nothing programmed). */
  readonly dataplane: string
}

/** Route listing: one family (default every family), optionally one prefix, one RD, one peer. */
export interface RouteQuery {
  /** Canonical family name as familyName() writes it ('ipv4-unicast', 'l3vpn-ipv4-unicast', ...). */
  readonly family?: string
  /** A prefix ('10.0.0.0/24', exact) or an address (every prefix containing it); VPN prefixes
   * without their RD. */
  readonly prefix?: string
  /** Route distinguisher ('64512:7', '10.0.0.5:1'): VPN families only. */
  readonly rd?: string
  /** 'best' (default): the Loc-RIB, every path of each destination; 'received': a peer's
   * Adj-RIB-In (needs `peer`); 'advertised': what was sent to a peer (needs `peer`). */
  readonly view?: 'best' | 'received' | 'advertised'
  /** Peer address (or name). */
  readonly peer?: string
  /** Page size (the API caps it at MAX_ROUTE_PAGE). */
  readonly limit?: number
  /** Continue after this cursor (RoutePage.next of the previous page). */
  readonly after?: string
}

export const DEFAULT_ROUTE_PAGE = 1000
export const MAX_ROUTE_PAGE = 10000

/** One path as gsictl shows it. */
export interface RouteView {
  readonly family: string
  /** Canonical prefix text, with the RD for VPN families ('64512:7:10.0.0.0/24'). */
  readonly prefix: string
  /** The best path of its destination (the Loc-RIB entry). */
  readonly best: boolean
  /** In the ECMP set (best included). */
  readonly multipath: boolean
  /** Peer name ('local' for routes we originate). */
  readonly peer: string
  readonly peerAddress: string
  readonly nextHop: string
  readonly label?: number
  readonly pathId?: number
  /** 'IGP' | 'EGP' | 'Incomplete'. */
  readonly origin: string
  /** AS_PATH text ('64513 65000 {1 2}'), '' when empty. */
  readonly asPath: string
  readonly localPref?: number
  readonly med?: number
  readonly communities: readonly string[]
  readonly largeCommunities: readonly string[]
  readonly extCommunities: readonly string[]
  /** Kept stale by the graceful restart helper. */
  readonly stale: boolean
  /** Rejected by import policy (received view only). */
  readonly rejected?: boolean
}

/** Per family: how many destinations (and paths) the table holds in all, whatever the page shows. */
export interface FamilyCount {
  readonly family: string
  readonly destinations: number
  readonly paths: number
}

export interface RoutePage {
  readonly families: readonly FamilyCount[]
  readonly routes: readonly RouteView[]
  /** Cursor for the next page; absent on the last one. */
  readonly next?: string
}

/** One MPLSoUDP tunnel toward a vRouter. */
export interface MplsoudpTunnelView {
  readonly name: string
  readonly vrouter: string
  /** Routes using it (the FIB writer's reference count). */
  readonly routes: number
  /** 'up' | 'down' | 'missing' (not in the kernel, e.g. dataplane none). */
  readonly state: string
}

/** Data-plane probes (src/daemon/probes.ts): ICMP echo through the GRE links and MPLSoUDP tunnels. */
export type ProbeKind = 'tgw' | 'vn'
/** The IP version a probe runs over: ICMP echo (RFC 792) or ICMPv6 echo (RFC 4443). */
export type ProbeFamily = 'ipv4' | 'ipv6'
/**
 * `pending`: no answer and not yet `failAfter` losses; `alive`; `dead`; `no-tunnel`: the daemon has no
 * tunnel to it now, nothing is sent; `unavailable`: no raw socket (CAP_NET_RAW missing).
 */
export type ProbeTargetState = 'pending' | 'alive' | 'dead' | 'no-tunnel' | 'unavailable'

/** One probe target and what its echoes did. */
export interface ProbeTargetReport {
  readonly kind: ProbeKind
  readonly family: ProbeFamily
  readonly address: string
  /** The Connect peer id (tgw) or the vRouter address (vn) the echoes go through. */
  readonly via: string
  readonly state: ProbeTargetState
  /** ms since the epoch of the last state change. */
  readonly since: number
  readonly sent: number
  readonly replies: number
  readonly lost: number
  /** Lost / decided over the last `lossWindow` echoes (0 before any is decided). */
  readonly lossRatio: number
  /** Round-trip time of the last answer, ms. */
  readonly rttMs?: number
  readonly lastError?: string
}

/**
 * A Connect peer's data plane in one IP version: `up` (a probe answers), `dataplane-dead` (a session
 * Established, no probe answers: BGP up but data plane dead), `bgp-down` (no session Established),
 * `pending` (no verdict yet), `unavailable` (probes off or no raw socket).
 */
export type ConnectPeerDataplaneState = 'up' | 'dataplane-dead' | 'bgp-down' | 'pending' | 'unavailable'

/** One per Connect peer and IP version: ipv4 always (the /29), ipv6 when it has an inside /125. */
export interface ConnectPeerProbeReport {
  readonly connectPeer: string
  readonly family: ProbeFamily
  readonly link: string
  readonly state: ConnectPeerDataplaneState
  readonly since: number
  /** Our routes of this IP version withdrawn from its sessions (probes.withdrawOnFailure). */
  readonly withdrawn: boolean
}

export interface ProbeReport {
  readonly enabled: boolean
  readonly intervalSeconds: number
  readonly targets: readonly ProbeTargetReport[]
  readonly connectPeers: readonly ConnectPeerProbeReport[]
}

export interface TunnelsView {
  /** One GRE link per Transit Gateway Connect peer (gre/'s reportGre). */
  readonly gre: readonly GreLinkReport[]
  readonly mplsoudp: readonly MplsoudpTunnelView[]
  /** The data-plane probes and each Connect peer's data-plane state (absent from views without them). */
  readonly probes?: ProbeReport
}

/** FIB route listing: optionally one gateway table, one prefix (exact) or address (every prefix
 * containing it); paged like the BGP route listing. */
export interface FibQuery {
  readonly table?: number
  readonly prefix?: string
  /** Page size (the API caps it at MAX_ROUTE_PAGE); 0: no routes, state and counts only (what
   * /metrics asks at every scrape). */
  readonly limit?: number
  /** Continue after this cursor (FibView.next of the previous page). */
  readonly after?: string
}

/** One next hop of a FIB route: toward a pod (MPLS label pushed, MPLSoUDP to the vRouter) or toward
 * the VPC (via the TGW's inside address over the Connect peer's GRE link). */
export interface FibNextHopView {
  readonly kind: 'mpls' | 'gre'
  /** mpls: the vRouter's address; gre: the TGW's inside address (.2 / .3). */
  readonly via: string
  /** mpls: the label the control node assigned, pushed on the packet. */
  readonly label?: number
  /** The output device: the MPLSoUDP tunnel (gsim*) or the GRE link (gsig*). */
  readonly dev: string
  /** Relative ECMP weight (1-256). */
  readonly weight: number
}

/** One desired route of a gateway table. */
export interface FibRouteView {
  readonly table: number
  /** Canonical CIDR text. */
  readonly prefix: string
  /** More than one: ECMP. */
  readonly nexthops: readonly FibNextHopView[]
}

/** The FIB writer's state and counters, with routes per kernel table, and one page of its routes. */
export interface FibView {
  readonly state: FibState
  readonly counters: FibCounters
  /** Desired routes per gateway table (bounded: one entry per table). */
  readonly routesByTable: readonly { readonly table: number; readonly routes: number }[]
  /** One page of the desired routes, by table, then IPv4 before IPv6, then address and length. */
  readonly routes: readonly FibRouteView[]
  /** Cursor for the next page; absent on the last one. */
  readonly next?: string
}

/** The gateway logic's Transit Gateway quota guard (the same figures toward every Connect peer). */
export interface GatewayStatus {
  /** Prefixes advertised toward each TGW session. */
  readonly tgwAdvertised: number
  /** The quota in force (1,000 or lower by config). */
  readonly tgwQuota: number
  /** Prefixes refused beyond the quota, in the deterministic order they were refused. */
  readonly tgwRefused: readonly string[]
  /** Inbound routes from the TGW and their cap (5,000, a warning beyond). */
  readonly tgwReceived?: number
  readonly tgwReceivedCap?: number
}

export interface ClearResult {
  readonly peer: string
  readonly soft: boolean
  /** What was done: "route refresh sent", "session reset", ... */
  readonly action: string
}

export interface DaemonView {
  status(): DaemonStatus
  peers(): readonly PeerView[]
  routes(query: RouteQuery): RoutePage
  tunnels(): TunnelsView
  fib(query?: FibQuery): FibView
  /** The running config (secrets left out), JSON-able. */
  config(): unknown
  gateway(): GatewayStatus
  /** Hard: the session is reset (Cease 4, RFC 4486); soft: ROUTE-REFRESH in, Adj-RIB-Out re-sent. */
  clearNeighbor(peer: string, soft: boolean): Promise<ClearResult>
  /** Returns the previous level. */
  setLogLevel(level: string): string
  /** Stop for good (`gsi-routerd --shutdown`): Cease to every peer, routes withdrawn, kernel state
   * removed. Answers before the daemon goes. */
  shutdown?: (() => Promise<{ readonly stopping: boolean }>) | undefined
}

/** Log levels the daemon (pino) takes. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** Message counters of a peer in the API's and the metrics' words. */
export const MESSAGE_TYPES = ['open', 'update', 'notification', 'keepalive', 'routeRefresh'] as const

const ORIGIN = ['IGP', 'EGP', 'Incomplete']

/** A RIB path as gsictl shows it. `peerName` maps the RIB's peer id to the configured name. */
export function routeView(family: string, prefix: string, e: RouteEntry, how: { best: boolean; multipath: boolean; peerName: string; rejected?: boolean }): RouteView {
  const a = e.attrs
  return {
    family,
    prefix,
    best: how.best,
    multipath: how.multipath,
    peer: how.peerName,
    peerAddress: e.peerAddress,
    nextHop: e.nextHop,
    ...(e.label !== undefined ? { label: e.label } : {}),
    ...(e.pathId !== 0 ? { pathId: e.pathId } : {}),
    origin: ORIGIN[a.origin ?? 2] ?? String(a.origin),
    asPath: a.asPath !== undefined ? asPathToString(a.asPath) : '',
    ...(a.localPref !== undefined ? { localPref: a.localPref } : {}),
    ...(a.med !== undefined ? { med: a.med } : {}),
    communities: (a.communities ?? []).map(communityToString),
    largeCommunities: (a.largeCommunities ?? []).map(largeCommunityToString),
    extCommunities: (a.extCommunities ?? []).map(extCommunityToString),
    stale: e.stale,
    ...(how.rejected === true ? { rejected: true } : {}),
  }
}
