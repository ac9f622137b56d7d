/**
 * The contract between the Kubernetes side of gsi-controller and its AWS reconciler: plain data in
 * (AwsDesired), plain data out (AwsObserved). No SDK types cross this boundary, so the Kubernetes
 * reconciler can build AwsDesired from a TransitGateway object plus the labelled nodes, and write
 * AwsObserved into TransitGateway.status and the ConnectedPeer objects without knowing EC2.
 *
 * AWS facts behind the fields: AWS Transit Gateway guide "tgw-connect" and the EC2 API reference
 * (CreateTransitGateway, CreateTransitGatewayVpcAttachment, CreateTransitGatewayConnect,
 * CreateTransitGatewayConnectPeer, CreateRoute, CreateSecurityGroup); see
 * docs/domain.md section 2.
 */

/** Who owns the AWS resources: the TransitGateway custom resource. Written into tags. */
export interface AwsOwner {
  namespace: string
  name: string
  /** metadata.uid of the TransitGateway object: the key of every ownership tag. */
  uid: string
}

/** One labelled node that should get a Connect peer (the caller picks at most 4 of them). */
export interface AwsDesiredNode {
  /** Kubernetes node name; tagged on its Connect peer as gsi-router.io/node. */
  name: string
  /** The node's VPC IPv4 address: the Connect peer's PeerAddress (GRE outer address, appliance side). */
  nodeIp: string
  /** The daemon's BGP ASN on this node (1-4294967294, must differ from the TGW's ASN). */
  peerAsn: number
  /** Wanted inside /29 from 169.254.0.0/16; allocated (lowest free, reserved ones skipped) if absent. */
  insideCidr?: string
  /** Wanted inside /125 from fd00::/8 (only when AwsDesired.ipv6Inside); allocated if absent. */
  insideCidrIpv6?: string
}

/** What the AWS side should look like for one TransitGateway object. Plain data; validated by validateAwsDesired. */
export interface AwsDesired {
  owner: AwsOwner
  /** AWS region, e.g. "eu-west-1". */
  region: string
  vpcId: string
  /**
   * Use this existing transit gateway instead of creating one. If it carries our uid tag it is ours
   * (adopted: we may add the CIDR block and delete it on deletion); otherwise it is foreign: used for
   * attachments, never modified or deleted, and it must already hold transitGatewayCidrBlock.
   */
  transitGatewayId?: string
  /** Amazon-side ASN for a TGW we create: 64512-65534 or 4200000000-4294967294. */
  amazonSideAsn: number
  /** IPv4 CIDR block, /24 or larger, from which the TGW takes its GRE outer addresses. */
  transitGatewayCidrBlock: string
  /** Subnets of the VPC attachment (one per AZ). If absent, discovered from the nodes' IPs (one per AZ). */
  vpcAttachmentSubnetIds?: string[]
  /** VPC route tables that get "exposed CIDR -> tgw" and "TGW CIDR block -> tgw"; all of the VPC's if absent. */
  routeTableIds?: string[]
  /** IPv4 CIDRs of the exposed virtual networks (routes to the TGW, admitted by the security group). */
  exposedCidrs: string[]
  /** Nodes that get a Connect peer: at most 4 (the AWS hard limit per Connect attachment). */
  nodes: AwsDesiredNode[]
  /** Also give each Connect peer an IPv6 /125 inside block from fd00::/8. */
  ipv6Inside?: boolean
  /** Name of the security group; default "gsi-sg". Must be unique in the VPC. */
  securityGroupName?: string
}

/** AWS lifecycle states as EC2 reports them (transit gateways, attachments, Connect peers). */
export type AwsResourceState =
  | 'pending' | 'pendingAcceptance' | 'available' | 'modifying' | 'deleting' | 'deleted'
  | 'failed' | 'failing' | 'rejected' | 'rejecting' | 'initiatingRequest' | 'rollingBack'
  | (string & {})

export interface ObservedTransitGateway {
  id: string
  state: AwsResourceState
  /** The TGW's BGP ASN (its Amazon-side ASN). */
  asn: number
  cidrBlocks: string[]
  /** True if tagged with our uid: then we may modify and delete it. */
  owned: boolean
}

export interface ObservedAttachment {
  id: string
  state: AwsResourceState
}

export interface ObservedVpcAttachment extends ObservedAttachment {
  subnetIds: string[]
}

/** One BGP session of a Connect peer, as AWS reports it (there are two per peer). */
export interface ObservedBgpSession {
  transitGatewayAddress: string
  peerAddress: string
  transitGatewayAsn: number
  peerAsn: number
  bgpStatus: 'up' | 'down' | (string & {})
}

/** Everything the node's daemon needs to bring up its GRE link and two BGP sessions. */
export interface ObservedConnectPeer {
  node: string
  connectPeerId: string
  state: AwsResourceState
  /** Appliance GRE outer address (the node IP). */
  peerAddress: string
  /** TGW GRE outer address(es), from the TGW CIDR block. */
  transitGatewayAddresses: string[]
  /** As configured on the peer: the IPv4 /29 and, if any, the IPv6 /125. */
  insideCidrBlocks: string[]
  /** The appliance's inside address: first of the /29 (.1), and fd00::1-style if IPv6. */
  applianceInsideAddress: string
  applianceInsideAddressIpv6?: string
  /** The TGW's two BGP addresses: second and third of the /29 (.2, .3). */
  transitGatewayInsideAddresses: string[]
  transitGatewayInsideAddressesIpv6?: string[]
  transitGatewayAsn: number
  peerAsn: number
  /** One entry per BgpConfiguration AWS reports. */
  bgp: ObservedBgpSession[]
}

/** One VPC route-table entry we manage. */
export interface ObservedRoute {
  routeTableId: string
  destinationCidrBlock: string
  /** 'active' | 'blackhole' from EC2; 'missing' if absent; 'conflict' if the destination points elsewhere. */
  state: 'active' | 'blackhole' | 'missing' | 'conflict' | (string & {})
  /** Why: exposed VN CIDR, or the TGW CIDR block (so GRE from the nodes reaches the TGW). */
  purpose: 'exposed-cidr' | 'tgw-cidr-block'
  /** The target when state is 'conflict' (another gateway holds the destination). */
  conflictTarget?: string
}

export interface ObservedSecurityGroup {
  id: string
  name: string
  /** Ingress rules as "proto:cidr" strings, e.g. "-1:10.20.0.0/16", "47:100.64.0.0/24". */
  ingress: string[]
}

/** Condition-style summary: ready, plus a reason (CamelCase) and a message a human can act on. */
export interface AwsCondition {
  ready: boolean
  reason:
    | 'Ready' | 'Pending' | 'Deleting' | 'InvalidSpec' | 'Conflict' | 'Throttled' | 'AwsError'
    | 'NotOwned' | (string & {})
  message: string
}

export interface AwsObserved extends AwsCondition {
  transitGateway?: ObservedTransitGateway
  vpcAttachment?: ObservedVpcAttachment
  connectAttachment?: ObservedAttachment
  /** One per desired node that has a peer (in desired order). */
  peers: ObservedConnectPeer[]
  /** Desired nodes that did not get a Connect peer (beyond 4, or not yet created). */
  nodesWithoutPeer: string[]
  routes: ObservedRoute[]
  securityGroup?: ObservedSecurityGroup
  /** Set while something is pending (or throttled): call reconcile again after this delay. */
  requeueAfterMs?: number
  /** Mutating EC2 calls this reconcile made, in order (for logs/events: "created tgw-..."). */
  actions: string[]
}

export interface AwsDeleteResult {
  /** True when nothing of ours remains; the caller may then drop its finalizer. */
  done: boolean
  reason: string
  message: string
  requeueAfterMs?: number
  /** Mutating EC2 calls this pass made. */
  actions: string[]
  /** What still exists, as "kind id state" strings. */
  remaining: string[]
}

/** Tag keys that mark ownership. Every resource we create carries all of them. */
export const OwnerTag = {
  owner: 'gsi-router.io/owner',
  uid: 'gsi-router.io/uid',
  component: 'gsi-router.io/component',
  node: 'gsi-router.io/node',
  /** Deterministic token of (uid, step): what ClientToken would be, had these actions one. */
  token: 'gsi-router.io/client-token',
} as const

/** The hard AWS limit of Connect peers per Connect attachment. */
export const MAX_CONNECT_PEERS = 4
