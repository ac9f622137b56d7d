/**
 * The FIB writer's vocabulary: what the gateway logic asks for (gateway tables, desired routes with
 * next hops that are "an MPLS label toward a vRouter" or "a GRE link and a gateway"), and what the
 * kernel holds (routes as rtnetlink describes them: table, destination, protocol, metric, next hops
 * with an output device, gateway, MPLS label stack and weight; RFC 3032 labels, RTA_MULTIPATH).
 *
 * Also the port through which the writer reaches the kernel (`FibKernel`): a small interface so
 * that the writer's logic does not depend on how netlink messages are built.
 */
import type { TunnelOutcome } from '../../mplsoudp/netlink-tunnels.js'
import type { TunnelLink } from '../../mplsoudp/tunnels.js'
import type { IpFamily } from '../lib/address.js'

export type { TunnelLink, TunnelOutcome }

/** A gateway table: one kernel routing table bound to a VRF device, and the MPLS label that pops
 * packets from the vRouters into it. */
export interface GatewayTable {
  /** Kernel table id (1-4294967295 minus the reserved 253, 254, 255). */
  readonly table: number
  /** Label the gateway advertises for this table (16-1048575: 0-15 are reserved, RFC 3032). */
  readonly label: number
}

/** Toward a pod: push `label` (assigned by the control node) and send over MPLSoUDP to `vrouter`. */
export interface MplsNextHop {
  readonly kind: 'mpls'
  /** The vRouter's IPv4 address (the inet-vpn route's next hop). */
  readonly vrouter: string
  readonly label: number
  /** Relative ECMP weight, 1-256 (default 1). */
  readonly weight?: number
}

/** Toward the VPC: via the TGW's inside address over a GRE link. */
export interface GreNextHop {
  readonly kind: 'gre'
  /** GRE link name (from gre/'s `greLinkName`). */
  readonly link: string
  /** Gateway address inside the Connect peer's inside CIDR (.2 or .3, or the /125's peers). */
  readonly gateway: string
  readonly weight?: number
}

export type NextHop = MplsNextHop | GreNextHop

export interface DesiredRoute {
  readonly table: number
  /** CIDR text; canonicalised by the writer. */
  readonly prefix: string
  /** One or more next hops; more than one is ECMP (RTA_MULTIPATH). */
  readonly nexthops: readonly NextHop[]
}

/** One next hop as the kernel holds it. */
export interface KernelNextHop {
  /** Output device name. */
  readonly dev: string
  /** Gateway address (canonical text), when there is one. */
  readonly gateway?: string
  /** MPLS label stack pushed by the route (lwtunnel MPLS encap), outermost first. */
  readonly labels?: readonly number[]
  /** 1-256; the kernel stores weight-1 in rtnh_hops. */
  readonly weight: number
}

/** An IPv4/IPv6 route as the kernel holds it. */
export interface KernelRoute {
  readonly family: IpFamily
  readonly table: number
  /** Canonical CIDR text. */
  readonly prefix: string
  readonly protocol: number
  readonly metric: number
  readonly nexthops: readonly KernelNextHop[]
}

/** An AF_MPLS route: incoming label popped and the packet handed to `dev` (a VRF device), so that it
 * is routed in that VRF's table. */
export interface KernelLabelRoute {
  readonly label: number
  readonly protocol: number
  readonly dev: string
}

export type RouteOp =
  | { readonly op: 'add'; readonly route: KernelRoute }
  | { readonly op: 'replace'; readonly route: KernelRoute; readonly previous: KernelRoute }
  | { readonly op: 'delete'; readonly route: KernelRoute }

export type LabelOp =
  | { readonly op: 'add'; readonly route: KernelLabelRoute }
  | { readonly op: 'replace'; readonly route: KernelLabelRoute; readonly previous: KernelLabelRoute }
  | { readonly op: 'delete'; readonly route: KernelLabelRoute }

/** What happened to a route in the kernel, as rtnetlink multicast reports it. */
export interface RouteEvent {
  readonly type: 'new' | 'del'
  readonly route: KernelRoute
}

/** A VRF device the writer maintains for a gateway table. */
export interface VrfLink {
  readonly name: string
  readonly table: number
  readonly up: boolean
}

/**
 * The kernel as the FIB writer sees it. Implemented over src/netlink (netlink-kernel.ts); every
 * method works in the caller's network namespace. Batch methods return one entry per op, `undefined`
 * on success or the error, in order: one failed op does not stop the others.
 */
export interface FibKernel {
  /** Routes of `protocol` in every table except main/local/default. */
  dumpRoutes(protocol: number): Promise<KernelRoute[]>
  applyRoutes(ops: readonly RouteOp[]): Promise<(Error | undefined)[]>
  dumpLabelRoutes(protocol: number): Promise<KernelLabelRoute[]>
  applyLabelRoutes(ops: readonly LabelOp[]): Promise<(Error | undefined)[]>
  /** Links whose name starts with `prefix`, of kind vrf. */
  listVrfs(prefix: string): Promise<VrfLink[]>
  ensureVrf(name: string, table: number): Promise<void>
  deleteLink(name: string): Promise<void>
  /** ipip tunnels in mplsip mode whose name starts with `prefix`. */
  listTunnels(prefix: string): Promise<TunnelLink[]>
  /** Creates the tunnel or corrects it in place, sets input=1 and rp_filter=0 on it, brings it up.
   * `recreated` means the kernel dropped the routes through it (the old link was deleted). */
  ensureTunnel(t: Omit<TunnelLink, 'up'>): Promise<TunnelOutcome>
  /** fou listener for IP protocol 137 on `port`, and net.mpls.platform_labels >= `platformLabels`. */
  ensureMplsoudpListener(port: number, platformLabels: number): Promise<void>
  /** Subscribes to route events (IPv4 and IPv6); returns the unsubscribe function. */
  watchRoutes(onEvent: (ev: RouteEvent) => void, onError: (err: Error) => void): () => void
}
