/**
 * Custom resource types of gsi-router (group gsi.gsi-router.io, version v1alpha1), shared by the
 * controller (controller/) and the node daemon (src/): the daemon reads its own ConnectedPeer and
 * writes its BGP session states into `status.daemon`, so nodes need no AWS credentials.
 *
 * Kind names follow Juniper CN2's GSI: GatewayServiceInstance and TransitGateway are written by the
 * user; ConnectedPeer (one per active labelled node, at most 4) and Route (one per VPC route-table
 * entry) are written by the controller. The OpenAPI schemas in deploy/crds/*.yaml mirror these types;
 * the CN2 VirtualNetwork/Subnet fields we read are described in {@link Cn2VirtualNetwork}, the CN2
 * BGPRouter objects we read (control nodes) and write (one per active gateway node) in {@link Cn2BgpRouter}.
 *
 * AWS facts behind the limits: AWS TGW Connect guide (inside CIDR /29 of 169.254.0.0/16 except the
 * reserved 169.254.0.0/29, 169.254.1.0/29, ..., 169.254.5.0/29 and 169.254.169.248/29; 4 Connect peers per Connect attachment;
 * Amazon-side ASN 64512-65534 or 4200000000-4294967294).
 */

export const GROUP = 'gsi.gsi-router.io'
export const VERSION = 'v1alpha1'
export const API_VERSION = `${GROUP}/${VERSION}` as const

/** Kind -> plural resource name, as served under /apis/gsi.gsi-router.io/v1alpha1. */
export const PLURALS = {
  GatewayServiceInstance: 'gatewayserviceinstances',
  TransitGateway: 'transitgateways',
  ConnectedPeer: 'connectedpeers',
  Route: 'routes',
} as const
export type GsiKind = keyof typeof PLURALS

/** The node label that marks gateway nodes (CN2's cRPD label), overridable per GSI. */
export const DEFAULT_NODE_LABEL = 'core.juniper.net/crpd-node'
/** Finalizer guarding the deletion of the AWS resources behind a TransitGateway. */
export const AWS_FINALIZER = `${GROUP}/aws-resources`
/** Label on ConnectedPeer and Route objects naming the TransitGateway that owns them. */
export const TRANSIT_GATEWAY_LABEL = `${GROUP}/transit-gateway`
/** Label on ConnectedPeer objects naming the node; the daemon selects its own with it. */
export const NODE_NAME_LABEL = `${GROUP}/node`
/**
 * Label on our CN2 BGPRouters naming the owning TransitGateway's namespace: they live in the control
 * nodes' namespace, where an ownerReference to the TransitGateway cannot point (owners are same-namespace).
 */
export const TRANSIT_GATEWAY_NAMESPACE_LABEL = `${GROUP}/transit-gateway-namespace`
/** The most Connect peers AWS allows on one Connect attachment (hard quota). */
export const MAX_INSTANCES = 4
export const DEFAULT_AMAZON_SIDE_ASN = 64512

export interface ObjectMeta {
  name: string
  namespace?: string
  uid?: string
  resourceVersion?: string
  generation?: number
  creationTimestamp?: string
  deletionTimestamp?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
  finalizers?: string[]
  ownerReferences?: OwnerReference[]
}

export interface OwnerReference {
  apiVersion: string
  kind: string
  name: string
  uid: string
  controller?: boolean
  blockOwnerDeletion?: boolean
}

export type ConditionStatus = 'True' | 'False' | 'Unknown'
/** Ready = AWSReady and PeersReady. */
export type ConditionType = 'Ready' | 'AWSReady' | 'PeersReady'

/** metav1.Condition. `reason` is a CamelCase word; `message` says what a human can do about it. */
export interface Condition {
  type: ConditionType
  status: ConditionStatus
  reason: string
  message: string
  lastTransitionTime: string
  observedGeneration?: number
}

export interface LabelSelector {
  matchLabels?: Record<string, string>
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[]
}

// ---------------------------------------------------------------- GatewayServiceInstance

export interface GatewayServiceInstanceSpec {
  /** AWS region of the VPC and the transit gateway, e.g. us-east-1. */
  awsRegion: string
  /** The VPC the gateway nodes live in. */
  vpcID: string
  /** Role the controller's service account assumes (IRSA); informative, the SA annotation decides. */
  iamRoleARN?: string
  /** Label key marking gateway nodes (value ignored). Default core.juniper.net/crpd-node. */
  nodeLabel?: string
  /** The daemon's AS number (the Connect peers' PeerAsn). */
  asn: number
  /** Active instances, 1-4 (AWS: 4 Connect peers per Connect attachment). Default 4. */
  maxInstances?: number
  /** How the gateway nodes register with the CN2 control nodes (BGPRouter objects). */
  cn2?: Cn2RegistrationSpec
}

/**
 * CN2 registration: one BGPRouter per active gateway node, so the control nodes accept its BGP session.
 * Every field has a default; they are settable because not all of them are confirmed by CN2
 * documentation (see the README's controller section).
 */
export interface Cn2RegistrationSpec {
  /** Namespace of the control nodes' BGPRouters, where ours are written too. Default `contrail`. */
  namespace?: string
  /** bgpRouterParameters.routerType of our BGPRouters. Default `router`. */
  routerType?: string
  /** bgpRouterParameters.routerType that marks a control node's BGPRouter. Default `control-node`. */
  controlNodeRouterType?: string
  /** The AS the daemon uses toward CN2; default: the control nodes' autonomousSystem (iBGP). */
  autonomousSystem?: number
  /** Name of the parent RoutingInstance (in `namespace`). Default `default`. */
  parentName?: string
  /** bgpRouterParameters.holdTime of our BGPRouters, seconds. Default 90. */
  holdTime?: number
}

export interface GatewayServiceInstanceStatus {
  observedGeneration?: number
  conditions?: Condition[]
  transitGateways?: string[]
}

export interface GatewayServiceInstance {
  apiVersion: typeof API_VERSION
  kind: 'GatewayServiceInstance'
  metadata: ObjectMeta
  spec: GatewayServiceInstanceSpec
  status?: GatewayServiceInstanceStatus
}

// ---------------------------------------------------------------- TransitGateway

/** VNs whose subnets the gateway advertises to the TGW and writes into the VPC route tables. */
export interface ExposedNetworks {
  /** Route targets of exposed VNs, `target:<asn>:<n>` or `target:<ip>:<n>`. */
  routeTargets?: string[]
  /** Exposed VN subnets (IPv4 or IPv6 CIDRs). */
  cidrs?: string[]
  /** CN2 VirtualNetwork objects (same namespace) whose route targets and subnets are exposed. */
  virtualNetworkSelector?: LabelSelector
}

export interface TransitGatewaySpec {
  /** Name of the GatewayServiceInstance in the same namespace. */
  gatewayServiceInstance: string
  /** Adopt this existing transit gateway instead of creating one (tgw-...). */
  transitGatewayID?: string
  /** Amazon-side ASN: 64512-65534 or 4200000000-4294967294. Default 64512. */
  amazonSideAsn?: number
  /** IPv4 CIDR block of the TGW (/24 or larger), the source of its GRE outer addresses. */
  transitGatewayCidrBlock: string
  /** Override the GSI's peer ASN for this TGW (must differ from amazonSideAsn). */
  peerAsn?: number
  /** Subnets of the VPC attachment, one per AZ; discovered from the labelled nodes when absent. */
  vpcAttachmentSubnetIDs?: string[]
  /** Route tables that get "exposed CIDR -> tgw"; every route table of the VPC when absent. */
  vpcRouteTableIDs?: string[]
  /** Inside /29s to use for the Connect peers, in order; allocated automatically when absent. */
  insideCidrBlocks?: string[]
  /** Also give each Connect peer an IPv6 inside /125 from fd00::/8. */
  ipv6InsideCidr?: boolean
  exposed?: ExposedNetworks
}

export type TransitGatewayState =
  'pending' | 'available' | 'modifying' | 'deleting' | 'deleted' | 'failed' | 'invalid' | 'unknown'

/** One labelled node as the TGW sees it. */
export interface PeerSummary {
  node: string
  /** active: has a Connect peer; standby: labelled but beyond maxInstances, takes over when one goes. */
  role: 'active' | 'standby'
  peerAddress?: string
  connectPeerID?: string
  insideCidrBlocks?: string[]
  state?: string
}

export interface TransitGatewayStatus {
  observedGeneration?: number
  state?: TransitGatewayState
  /** Region and VPC the AWS resources were made in (from the GSI), kept so deletion works without it. */
  awsRegion?: string
  vpcID?: string
  /** One line on what is happening or what to do (the Ready condition's message). */
  message?: string
  transitGatewayID?: string
  vpcAttachmentID?: string
  connectAttachmentID?: string
  securityGroupID?: string
  amazonSideAsn?: number
  /** Exposed CIDRs as last written into the VPC route tables. */
  exposedCidrs?: string[]
  exposedRouteTargets?: string[]
  activePeers?: number
  peers?: PeerSummary[]
  standbyNodes?: string[]
  conditions?: Condition[]
}

export interface TransitGateway {
  apiVersion: typeof API_VERSION
  kind: 'TransitGateway'
  metadata: ObjectMeta
  spec: TransitGatewaySpec
  status?: TransitGatewayStatus
}

// ---------------------------------------------------------------- ConnectedPeer (the daemon contract)

/**
 * What gsi-routerd on `nodeName` needs to bring up its GRE link and its two eBGP sessions; written by
 * the controller only. Name: `<transitgateway>-<node>`; labels TRANSIT_GATEWAY_LABEL and
 * NODE_NAME_LABEL (the daemon lists with `labelSelector=gsi.gsi-router.io/node=<its node>`).
 */
export interface ConnectedPeerSpec {
  transitGateway: string
  nodeName: string
  /** The node's GRE outer address (its VPC IP), the Connect peer's PeerAddress. */
  peerAddress: string
  /** The TGW's GRE outer address, from the TGW CIDR block. */
  transitGatewayAddress: string
  /** Inside CIDRs: one /29 of 169.254.0.0/16 and optionally one /125 of fd00::/8. */
  insideCidrBlocks: string[]
  /** The daemon's inside addresses: the first address of each inside CIDR (.1, ::1). */
  localInsideAddresses: string[]
  /** The TGW's BGP peers: second and third addresses of the IPv4 inside CIDR (.2, .3). */
  bgpPeerAddresses: string[]
  /** The daemon's AS (PeerAsn of the Connect peer). */
  peerAsn: number
  /** The TGW's Amazon-side ASN; must differ from peerAsn (AWS installs no iBGP-learned routes). */
  transitGatewayAsn: number
  /** Route targets whose VN routes the daemon imports from the control nodes. */
  exposedRouteTargets: string[]
  /** Subnets the daemon advertises to the TGW (aggregates, identical on every instance for ECMP). */
  exposedCidrs: string[]
  /** GRE link MTU: 8500 - 24 (TGW carries 8500 bytes, GRE over IPv4 costs 24). */
  mtu: number
  /**
   * The CN2 control nodes the daemon peers with (inet-vpn, inet6-vpn, route-target), from CN2
   * BGPRouter objects with routerType control-node), filled by the controller. Absent or empty: the daemon's base config says.
   */
  controlNodes?: ControlNodeRef[]
}

/** One CN2 control node: its BGP address and AS (CN2 default 64512). */
export interface ControlNodeRef {
  address: string
  asn: number
}

/** BGP FSM states (RFC 4271 section 8.2.2), as the daemon reports them. */
export type BgpSessionState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established'

export interface DaemonSessionStatus {
  /** The TGW inside address of the session (169.254.x.2 or .3). */
  peerAddress: string
  state: BgpSessionState
  /** RFC 3339 time of the last state change. */
  since?: string
  prefixesReceived?: number
  prefixesAdvertised?: number
  /** Last NOTIFICATION or FSM stop reason, e.g. `hold-timer-expired`. */
  lastError?: string
}

/** Written by gsi-routerd (merge-patch on the status subresource, field `daemon` only). */
export interface DaemonStatus {
  /** The spec generation the daemon has applied. */
  observedGeneration?: number
  updatedAt: string
  podName?: string
  greLinkUp?: boolean
  sessions: DaemonSessionStatus[]
  /** The data-plane probes through this Connect peer's GRE link (absent while probes are off). */
  dataplane?: DaemonDataplaneStatus
}

/**
 * The data plane as the daemon's ICMP and ICMPv6 probes see it. `state`: up | dataplane-dead (BGP up
 * but no probe of one IP version answers) | bgp-down | pending | unavailable. Only states, no counters, so the status is
 * patched when something changes rather than at every probe.
 */
export interface DaemonDataplaneStatus {
  state: string
  /** RFC 3339 time of the last state change. */
  since: string
  /** Our routes withdrawn from this Connect peer's sessions while its probes fail. */
  routesWithdrawn: boolean
  probes: { address: string; state: string }[]
  /** Per IP version (ipv4; ipv6 with an inside /125): `state` above is the worst of them. */
  families?: { family: string; state: string; since: string; routesWithdrawn: boolean }[]
}

export interface ConnectedPeerStatus {
  /** Written by the controller from AWS. */
  connectPeerID?: string
  state?: string
  awsBgpStatus?: { transitGatewayAddress: string; peerAddress: string; status: 'up' | 'down' | string }[]
  conditions?: Condition[]
  /** Written by the daemon; the controller never touches it. */
  daemon?: DaemonStatus
}

export interface ConnectedPeer {
  apiVersion: typeof API_VERSION
  kind: 'ConnectedPeer'
  metadata: ObjectMeta
  spec: ConnectedPeerSpec
  status?: ConnectedPeerStatus
}

// ---------------------------------------------------------------- Route

/** One VPC route-table entry "destinationCidrBlock -> transit gateway". Written by the controller. */
export interface RouteSpec {
  transitGateway: string
  routeTableID: string
  destinationCidrBlock: string
}

export interface RouteStatus {
  transitGatewayID?: string
  /** AWS route state: active | blackhole (or pending while the TGW is not there yet). */
  state?: string
  message?: string
}

export interface Route {
  apiVersion: typeof API_VERSION
  kind: 'Route'
  metadata: ObjectMeta
  spec: RouteSpec
  status?: RouteStatus
}

// ---------------------------------------------------------------- CN2 objects we read

export const CN2_GROUP = 'core.contrail.juniper.net'
export const CN2_VERSION = 'v1alpha1'

/**
 * The fields of CN2's VirtualNetwork (core.contrail.juniper.net/v1alpha1) that the controller reads;
 * from CN2 example manifests (CN2 23.x): spec.v4SubnetReference / spec.v6SubnetReference point at
 * Subnet objects holding spec.cidr; route targets are `target:<asn>:<n>` strings in
 * spec.routeTargetList (import and export) and spec.exportRouteTargetList. Everything else is ignored.
 */
export interface Cn2VirtualNetwork {
  apiVersion: string
  kind: 'VirtualNetwork'
  metadata: ObjectMeta
  spec?: {
    v4SubnetReference?: { name: string; namespace?: string }
    v6SubnetReference?: { name: string; namespace?: string }
    routeTargetList?: string[]
    importRouteTargetList?: string[]
    exportRouteTargetList?: string[]
  }
}

/** CN2 Subnet: spec.cidr and spec.defaultGateway. */
export interface Cn2Subnet {
  apiVersion: string
  kind: 'Subnet'
  metadata: ObjectMeta
  spec?: { cidr?: string; defaultGateway?: string }
}

/** A reference between CN2 objects (spec.parent, spec.bgpRouterReferences[]). */
export interface Cn2Reference {
  apiVersion: string
  kind: string
  namespace?: string
  name: string
  [k: string]: unknown
}

/**
 * CN2 BGPRouter (core.contrail.juniper.net/v1alpha1): a BGP speaker the control nodes know. Control
 * nodes have one each (routerType `control-node`); a router they may peer with needs one too (routerType
 * `router`), a child of the RoutingInstance `default` and referring to the control nodes' BGPRouters.
 * Field names from CN2 example manifests; only the fields below are read or written, others are kept.
 */
export interface Cn2BgpRouter {
  apiVersion: string
  kind: 'BGPRouter'
  metadata: ObjectMeta
  spec?: {
    parent?: Cn2Reference
    bgpRouterParameters?: {
      routerType?: string
      address?: string
      identifier?: string
      autonomousSystem?: number
      addressFamilies?: { family?: string[] }
      holdTime?: number
      [k: string]: unknown
    }
    bgpRouterReferences?: Cn2Reference[]
    [k: string]: unknown
  }
}
