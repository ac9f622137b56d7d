/**
 * The AWS reconciler's EC2 half: observe (the Describe calls, trimmed into an AwsSnapshot for the
 * planner) and execute (one EC2 call per planned action). Every create carries, in the same call
 * (TagSpecifications), gsi-router.io/uid=<uid>, gsi-router.io/owner=<ns>/<name>,
 * gsi-router.io/component, Name, the step's deterministic token and, for Connect peers,
 * gsi-router.io/node: the EC2 Create actions used here accept no ClientToken, so these tags are the
 * idempotency key the planner looks for. Errors that mean "already done" are benign per action.
 */
import type * as T from '@aws-sdk/client-ec2'
import type { AwsDesired } from './types.js'
import { OwnerTag } from './types.js'
import { ec2ErrorCode, type Ec2Api } from './ec2.js'
import { canonicalCidr6 } from './cidr.js'
import { ipFamilyOf } from '../../src/lib/address.js'
import type { AwsAction, AwsSnapshot, SnapTgw } from './plan.js'
import { createHash } from 'node:crypto'

// ---------------------------------------------------------------------------------------------
// Observe: the Describe calls.

function tagValue(tags: T.Tag[] | undefined, key: string): string | undefined {
  return tags?.find((t) => t.Key === key)?.Value
}
function ownedBy(tags: T.Tag[] | undefined, uid: string): boolean {
  return tagValue(tags, OwnerTag.uid) === uid
}
const ms = (d: Date | undefined): number => d?.getTime() ?? 0

/** Runs every page of a Describe call. */
async function allPages<O extends { NextToken?: string | undefined }>(f: (token: string | undefined) => Promise<O>): Promise<O[]> {
  const out: O[] = []
  let token: string | undefined
  for (let i = 0; i < 100; i++) {
    const page = await f(token)
    out.push(page)
    token = page.NextToken
    if (token === undefined || token === '') break
  }
  return out
}

const tgwOf = (t: T.TransitGateway, uid: string): SnapTgw => ({
  id: t.TransitGatewayId ?? '', state: t.State ?? 'unknown', asn: Number(t.Options?.AmazonSideAsn ?? 0),
  cidrBlocks: t.Options?.TransitGatewayCidrBlocks ?? [], owned: ownedBy(t.Tags, uid), createdAt: ms(t.CreationTime),
})

/** Reads everything the planner needs. Only Describe calls. */
export async function observeAws(d: AwsDesired, ec2: Ec2Api, opts: { forDeletion?: boolean } = {}): Promise<AwsSnapshot> {
  const uid = d.owner.uid
  const snap: AwsSnapshot = { now: Date.now(), ownedTgws: [], vpcAttachments: [], connects: [], peers: [], routeTables: [] }
  const uidFilter = { Name: `tag:${OwnerTag.uid}`, Values: [uid] }

  const owned = (await allPages((NextToken) => ec2.describeTransitGateways({ Filters: [uidFilter], ...(NextToken !== undefined ? { NextToken } : {}) })))
    .flatMap((p) => p.TransitGateways ?? []).map((t) => tgwOf(t, uid)).filter((t) => t.state !== 'deleted')
  snap.ownedTgws = owned.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))
  if (d.transitGatewayId !== undefined) {
    try {
      const r = await ec2.describeTransitGateways({ TransitGatewayIds: [d.transitGatewayId] })
      const t = r.TransitGateways?.[0]
      if (t !== undefined && t.State !== 'deleted') snap.tgw = tgwOf(t, uid)
    } catch (err) {
      if (ec2ErrorCode(err) !== 'InvalidTransitGatewayID.NotFound') throw err
    }
    if (snap.tgw === undefined && !opts.forDeletion) {
      snap.observeError = { reason: 'AwsError', message: `transit gateway ${d.transitGatewayId} (spec.transitGatewayId) does not exist in ${d.region}` }
    }
  } else if (snap.ownedTgws[0] !== undefined) {
    snap.tgw = snap.ownedTgws[0]
  }

  const vpcAtts = (await allPages((NextToken) => ec2.describeTransitGatewayVpcAttachments({
    Filters: [{ Name: 'vpc-id', Values: [d.vpcId] }], ...(NextToken !== undefined ? { NextToken } : {}),
  }))).flatMap((p) => p.TransitGatewayVpcAttachments ?? [])
  const tgwIds = new Set([...(snap.tgw !== undefined ? [snap.tgw.id] : []), ...snap.ownedTgws.map((t) => t.id)])
  snap.vpcAttachments = vpcAtts
    .filter((a) => a.State !== 'deleted' && (ownedBy(a.Tags, uid) || tgwIds.has(a.TransitGatewayId ?? '')))
    .map((a) => ({
      id: a.TransitGatewayAttachmentId ?? '', state: a.State ?? 'unknown', tgwId: a.TransitGatewayId ?? '',
      owned: ownedBy(a.Tags, uid), createdAt: ms(a.CreationTime), vpcId: a.VpcId ?? '', subnetIds: a.SubnetIds ?? [],
    }))

  if (tgwIds.size > 0) {
    const connects = (await allPages((NextToken) => ec2.describeTransitGatewayConnects({
      Filters: [{ Name: 'transit-gateway-id', Values: [...tgwIds] }], ...(NextToken !== undefined ? { NextToken } : {}),
    }))).flatMap((p) => p.TransitGatewayConnects ?? [])
    snap.connects = connects.filter((c) => c.State !== 'deleted').map((c) => ({
      id: c.TransitGatewayAttachmentId ?? '', state: c.State ?? 'unknown', tgwId: c.TransitGatewayId ?? '',
      owned: ownedBy(c.Tags, uid), createdAt: ms(c.CreationTime), transportId: c.TransportTransitGatewayAttachmentId ?? '',
    }))
    if (snap.connects.length > 0) {
      const peers = (await allPages((NextToken) => ec2.describeTransitGatewayConnectPeers({
        Filters: [{ Name: 'transit-gateway-attachment-id', Values: snap.connects.map((c) => c.id) }],
        ...(NextToken !== undefined ? { NextToken } : {}),
      }))).flatMap((p) => p.TransitGatewayConnectPeers ?? [])
      snap.peers = peers.filter((p) => p.State !== 'deleted').map((p) => {
        const cfg = p.ConnectPeerConfiguration
        const bgp = (cfg?.BgpConfigurations ?? []).map((b) => ({
          transitGatewayAddress: b.TransitGatewayAddress ?? '', peerAddress: b.PeerAddress ?? '',
          transitGatewayAsn: Number(b.TransitGatewayAsn ?? 0), peerAsn: Number(b.PeerAsn ?? 0), bgpStatus: b.BgpStatus ?? 'down',
        }))
        return {
          id: p.TransitGatewayConnectPeerId ?? '', state: p.State ?? 'unknown', attachmentId: p.TransitGatewayAttachmentId ?? '',
          owned: ownedBy(p.Tags, uid), node: tagValue(p.Tags, OwnerTag.node), createdAt: ms(p.CreationTime),
          peerAddress: cfg?.PeerAddress ?? '', tgwAddress: cfg?.TransitGatewayAddress ?? '',
          insideCidrBlocks: (cfg?.InsideCidrBlocks ?? []).map((b) => ipFamilyOf(b) === 6 ? canonicalCidr6(b) : b),
          peerAsn: bgp[0]?.peerAsn ?? 0, tgwAsn: bgp[0]?.transitGatewayAsn ?? 0, bgp,
        }
      })
    }
  }

  const rts = (await allPages((NextToken) => ec2.describeRouteTables({
    ...(d.routeTableIds !== undefined && !opts.forDeletion ? { RouteTableIds: d.routeTableIds } : { Filters: [{ Name: 'vpc-id', Values: [d.vpcId] }] }),
    ...(NextToken !== undefined ? { NextToken } : {}),
  }))).flatMap((p) => p.RouteTables ?? [])
  snap.routeTables = rts.map((rt) => ({
    id: rt.RouteTableId ?? '',
    routes: (rt.Routes ?? []).filter((r) => r.DestinationCidrBlock !== undefined).map((r) => {
      const other = r.GatewayId ?? r.NatGatewayId ?? r.NetworkInterfaceId ?? r.InstanceId ?? r.VpcPeeringConnectionId ?? r.LocalGatewayId ?? r.CarrierGatewayId
      return {
        destination: r.DestinationCidrBlock as string, state: r.State ?? 'active',
        ...(r.TransitGatewayId !== undefined ? { transitGatewayId: r.TransitGatewayId } : {}),
        ...(r.TransitGatewayId === undefined && other !== undefined ? { otherTarget: other } : {}),
      }
    }),
  }))

  const sgName = d.securityGroupName ?? 'gsi-sg'
  const sgs = (await ec2.describeSecurityGroups({ Filters: [{ Name: 'vpc-id', Values: [d.vpcId] }, { Name: 'group-name', Values: [sgName] }] })).SecurityGroups ?? []
  const sg = sgs[0]
  if (sg !== undefined) {
    snap.securityGroup = {
      id: sg.GroupId ?? '', name: sg.GroupName ?? '', owned: ownedBy(sg.Tags, uid),
      ingress: (sg.IpPermissions ?? []).flatMap((p) => (p.IpRanges ?? []).map((r) => ({ protocol: p.IpProtocol ?? '-1', cidr: r.CidrIp ?? '' }))),
    }
  }

  if (d.vpcAttachmentSubnetIds === undefined && !opts.forDeletion) {
    const subnets = (await allPages((NextToken) => ec2.describeSubnets({
      Filters: [{ Name: 'vpc-id', Values: [d.vpcId] }], ...(NextToken !== undefined ? { NextToken } : {}),
    }))).flatMap((p) => p.Subnets ?? [])
    snap.subnets = subnets.map((s) => ({ id: s.SubnetId ?? '', az: s.AvailabilityZone ?? '', cidr: s.CidrBlock ?? '' }))
  }
  return snap
}


// ---------------------------------------------------------------------------------------------
// Execute

/** Deterministic stand-in for a ClientToken: sha256(uid|step), 32 hex chars; recorded as a tag. */
export function clientToken(uid: string, step: string): string {
  return createHash('sha256').update(`${uid}|${step}`).digest('hex').slice(0, 32)
}

function tagSpec<R extends T.ResourceType>(d: AwsDesired, resourceType: R, component: string, name: string, step: string, extra: T.Tag[] = []): T.TagSpecification[] {
  return [{
    ResourceType: resourceType,
    Tags: [
      { Key: 'Name', Value: name },
      { Key: OwnerTag.owner, Value: `${d.owner.namespace}/${d.owner.name}` },
      { Key: OwnerTag.uid, Value: d.owner.uid },
      { Key: OwnerTag.component, Value: component },
      { Key: OwnerTag.token, Value: clientToken(d.owner.uid, step) },
      ...extra,
    ],
  }]
}

/** Error codes that mean "already done" for an action: the next observe will show it. */
const BENIGN: Partial<Record<AwsAction['kind'], string[]>> = {
  createRoute: ['RouteAlreadyExists'],
  deleteRoute: ['InvalidRoute.NotFound'],
  authorizeIngress: ['InvalidPermission.Duplicate'],
  revokeIngress: ['InvalidPermission.NotFound'],
  deleteConnectPeer: ['InvalidTransitGatewayConnectPeerID.NotFound', 'IncorrectState'],
  deleteConnect: ['InvalidTransitGatewayAttachmentID.NotFound'],
  deleteVpcAttachment: ['InvalidTransitGatewayAttachmentID.NotFound'],
  deleteTransitGateway: ['InvalidTransitGatewayID.NotFound'],
  deleteSecurityGroup: ['InvalidGroup.NotFound'],
  createSecurityGroup: ['InvalidGroup.Duplicate'],
}

/** Runs one action. Throws the EC2 error unless it is benign for that action. */
export async function executeAwsAction(a: AwsAction, d: AwsDesired, ec2: Ec2Api): Promise<void> {
  const base = `${d.owner.namespace}-${d.owner.name}`
  try {
    switch (a.kind) {
      case 'createTransitGateway':
        await ec2.createTransitGateway({
          Description: `gsi-router ${d.owner.namespace}/${d.owner.name}`,
          Options: {
            AmazonSideAsn: d.amazonSideAsn, TransitGatewayCidrBlocks: [d.transitGatewayCidrBlock], VpnEcmpSupport: 'enable',
            DefaultRouteTableAssociation: 'enable', DefaultRouteTablePropagation: 'enable',
          },
          TagSpecifications: tagSpec(d, 'transit-gateway', 'transit-gateway', `gsi-${base}`, 'tgw'),
        })
        return
      case 'addTgwCidrBlock':
        await ec2.modifyTransitGateway({ TransitGatewayId: a.tgwId, Options: { AddTransitGatewayCidrBlocks: [a.cidr] } })
        return
      case 'createVpcAttachment':
        await ec2.createTransitGatewayVpcAttachment({
          TransitGatewayId: a.tgwId, VpcId: d.vpcId, SubnetIds: a.subnetIds,
          TagSpecifications: tagSpec(d, 'transit-gateway-attachment', 'vpc-attachment', `gsi-${base}-vpc`, `vpc-attachment|${a.tgwId}`),
        })
        return
      case 'addVpcAttachmentSubnets':
        await ec2.modifyTransitGatewayVpcAttachment({ TransitGatewayAttachmentId: a.id, AddSubnetIds: a.subnetIds })
        return
      case 'createConnect':
        await ec2.createTransitGatewayConnect({
          TransportTransitGatewayAttachmentId: a.transportId, Options: { Protocol: 'gre' },
          TagSpecifications: tagSpec(d, 'transit-gateway-attachment', 'connect-attachment', `gsi-${base}-connect`, `connect|${a.transportId}`),
        })
        return
      case 'createConnectPeer':
        await ec2.createTransitGatewayConnectPeer({
          TransitGatewayAttachmentId: a.connectId, PeerAddress: a.node.nodeIp, InsideCidrBlocks: a.insideCidrBlocks,
          BgpOptions: { PeerAsn: a.node.peerAsn },
          TagSpecifications: tagSpec(d, 'transit-gateway-connect-peer', 'connect-peer', `gsi-${base}-${a.node.name}`,
            `peer|${a.connectId}|${a.node.name}|${a.node.nodeIp}`, [{ Key: OwnerTag.node, Value: a.node.name }]),
        })
        return
      case 'deleteConnectPeer':
        await ec2.deleteTransitGatewayConnectPeer({ TransitGatewayConnectPeerId: a.peerId })
        return
      case 'createRoute':
        await ec2.createRoute({ RouteTableId: a.routeTableId, DestinationCidrBlock: a.destination, TransitGatewayId: a.tgwId })
        return
      case 'deleteRoute':
        await ec2.deleteRoute({ RouteTableId: a.routeTableId, DestinationCidrBlock: a.destination })
        return
      case 'createSecurityGroup':
        await ec2.createSecurityGroup({
          GroupName: d.securityGroupName ?? 'gsi-sg', VpcId: d.vpcId,
          Description: `gsi-router ${d.owner.namespace}/${d.owner.name}: exposed VN CIDRs and GRE from the TGW`,
          TagSpecifications: tagSpec(d, 'security-group', 'security-group', d.securityGroupName ?? 'gsi-sg', 'sg'),
        })
        return
      case 'authorizeIngress':
        await ec2.authorizeSecurityGroupIngress({
          GroupId: a.groupId,
          IpPermissions: a.rules.map((r) => ({
            IpProtocol: r.protocol,
            IpRanges: [{ CidrIp: r.cidr, Description: r.protocol === '47' ? 'GRE from the transit gateway CIDR block' : 'exposed virtual network' }],
          })),
        })
        return
      case 'revokeIngress':
        await ec2.revokeSecurityGroupIngress({ GroupId: a.groupId, IpPermissions: a.rules.map((r) => ({ IpProtocol: r.protocol, IpRanges: [{ CidrIp: r.cidr }] })) })
        return
      case 'deleteConnect':
        await ec2.deleteTransitGatewayConnect({ TransitGatewayAttachmentId: a.id })
        return
      case 'deleteVpcAttachment':
        await ec2.deleteTransitGatewayVpcAttachment({ TransitGatewayAttachmentId: a.id })
        return
      case 'deleteTransitGateway':
        await ec2.deleteTransitGateway({ TransitGatewayId: a.id })
        return
      case 'deleteSecurityGroup':
        await ec2.deleteSecurityGroup({ GroupId: a.id })
        return
    }
  } catch (err) {
    const code = ec2ErrorCode(err)
    if (code !== undefined && BENIGN[a.kind]?.includes(code)) return
    throw err
  }
}

