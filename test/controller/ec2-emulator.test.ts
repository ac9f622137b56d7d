/**
 * The EC2 emulator on its own, driven through the real @aws-sdk/client-ec2 (its deserializer is the
 * judge of the XML shapes) and raw HTTP (for the envelope): lifecycle over time, validations and
 * error codes as EC2 names them, tags and filters, fault injection, the control endpoints, and the
 * stand-alone program.
 */
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import * as E from '@aws-sdk/client-ec2'
import { fixture, RTB_MAIN, SUBNET_A, SUBNET_B, VPC, CREDS, type Fixture } from './aws-fixture.js'

const SUBNET_A2 = 'subnet-0a1b2c3d4e5f60a02'
const seed = [{
  id: VPC, cidr: '10.0.0.0/16',
  subnets: [{ id: SUBNET_A, az: 'us-east-1a', cidr: '10.0.0.0/20' }, { id: SUBNET_B, az: 'us-east-1b', cidr: '10.0.16.0/20' }, { id: SUBNET_A2, az: 'us-east-1a', cidr: '10.0.64.0/20' }],
  routeTables: [{ id: RTB_MAIN, subnets: [] }],
}]

async function rejectsCode(t: Test, p: Promise<unknown>, code: string, status = 400, msg?: RegExp): Promise<void> {
  try {
    await p
    t.fail(`expected ${code}`)
  } catch (e) {
    const err = e as { name: string, message: string, $metadata?: { httpStatusCode?: number } }
    t.equal(err.name, code, `error code ${code}`)
    t.equal(err.$metadata?.httpStatusCode, status, `${code}: HTTP ${status}`)
    if (msg !== undefined) t.match(err.message, msg)
  }
}

/** TGW + VPC attachment + Connect, all available. */
async function stack(f: Fixture): Promise<{ tgwId: string, vpcAttId: string, connectId: string }> {
  const tgw = await f.sdk.send(new E.CreateTransitGatewayCommand({ Options: { AmazonSideAsn: 64512, TransitGatewayCidrBlocks: ['100.64.0.0/24'] } }))
  const tgwId = tgw.TransitGateway!.TransitGatewayId!
  f.emu.world.advance(5000)
  const att = await f.sdk.send(new E.CreateTransitGatewayVpcAttachmentCommand({ TransitGatewayId: tgwId, VpcId: VPC, SubnetIds: [SUBNET_A] }))
  const vpcAttId = att.TransitGatewayVpcAttachment!.TransitGatewayAttachmentId!
  f.emu.world.advance(5000)
  const c = await f.sdk.send(new E.CreateTransitGatewayConnectCommand({ TransportTransitGatewayAttachmentId: vpcAttId, Options: { Protocol: 'gre' } }))
  const connectId = c.TransitGatewayConnect!.TransitGatewayAttachmentId!
  f.emu.world.advance(5000)
  return { tgwId, vpcAttId, connectId }
}

t.test('transit gateway: shape, pending then available over time, tags and filters', async (t) => {
  const f = await fixture(t, { vpcs: seed })
  const r = await f.sdk.send(new E.CreateTransitGatewayCommand({
    Description: 'test', Options: { AmazonSideAsn: 4200000001, TransitGatewayCidrBlocks: ['100.64.0.0/24'], VpnEcmpSupport: 'enable' },
    TagSpecifications: [{ ResourceType: 'transit-gateway', Tags: [{ Key: 'team', Value: 'net' }, { Key: 'Name', Value: 'x' }] }],
  }))
  const tg = r.TransitGateway!
  t.match(tg.TransitGatewayId, /^tgw-[0-9a-f]{17}$/)
  t.equal(tg.State, 'pending')
  t.equal(tg.Options?.AmazonSideAsn, 4200000001)
  t.same(tg.Options?.TransitGatewayCidrBlocks, ['100.64.0.0/24'])
  t.equal(tg.TransitGatewayArn, `arn:aws:ec2:us-east-1:123456789012:transit-gateway/${tg.TransitGatewayId}`)
  t.ok(tg.CreationTime instanceof Date)
  t.same(tg.Tags, [{ Key: 'team', Value: 'net' }, { Key: 'Name', Value: 'x' }])
  const d1 = await f.sdk.send(new E.DescribeTransitGatewaysCommand({ TransitGatewayIds: [tg.TransitGatewayId!] }))
  t.equal(d1.TransitGateways?.[0]?.State, 'pending', 'still pending before the delay')
  f.emu.world.advance(3000)
  const d2 = await f.sdk.send(new E.DescribeTransitGatewaysCommand({ Filters: [{ Name: 'tag:team', Values: ['n*'] }] }))
  t.equal(d2.TransitGateways?.length, 1)
  t.equal(d2.TransitGateways?.[0]?.State, 'available')
  const d3 = await f.sdk.send(new E.DescribeTransitGatewaysCommand({ Filters: [{ Name: 'tag:team', Values: ['other'] }] }))
  t.same(d3.TransitGateways, [])
  const d4 = await f.sdk.send(new E.DescribeTransitGatewaysCommand({ Filters: [{ Name: 'tag-key', Values: ['team'] }, { Name: 'state', Values: ['available'] }] }))
  t.equal(d4.TransitGateways?.length, 1)
  await rejectsCode(t, f.sdk.send(new E.DescribeTransitGatewaysCommand({ Filters: [{ Name: 'colour', Values: ['x'] }] })), 'InvalidParameterValue', 400, /filter 'colour' is invalid/)
  await rejectsCode(t, f.sdk.send(new E.DescribeTransitGatewaysCommand({ TransitGatewayIds: ['tgw-00000000000000000'] })), 'InvalidTransitGatewayID.NotFound')
  // ModifyTransitGateway adds a CIDR block (modifying, then available).
  const m = await f.sdk.send(new E.ModifyTransitGatewayCommand({ TransitGatewayId: tg.TransitGatewayId!, Options: { AddTransitGatewayCidrBlocks: ['100.65.0.0/24'] } }))
  t.equal(m.TransitGateway?.State, 'modifying')
  t.same(m.TransitGateway?.Options?.TransitGatewayCidrBlocks, ['100.64.0.0/24', '100.65.0.0/24'])
  // Validations.
  await rejectsCode(t, f.sdk.send(new E.CreateTransitGatewayCommand({ Options: { AmazonSideAsn: 65535 } })), 'InvalidParameterValue', 400, /Amazon side ASN/)
  await rejectsCode(t, f.sdk.send(new E.CreateTransitGatewayCommand({ Options: { TransitGatewayCidrBlocks: ['100.64.0.0/25'] } })), 'InvalidParameterValue', 400, /\/24 or larger/)
  await rejectsCode(t, f.sdk.send(new E.CreateTransitGatewayCommand({ Options: { TransitGatewayCidrBlocks: ['169.254.0.0/24'] } })), 'InvalidParameterValue', 400, /169\.254/)
  await rejectsCode(t, f.sdk.send(new E.CreateTransitGatewayCommand({ Options: { TransitGatewayCidrBlocks: ['1.0.0.0/24', '2.0.0.0/24', '3.0.0.0/24', '4.0.0.0/24', '5.0.0.0/24', '6.0.0.0/24'] } })), 'TransitGatewayCidrLimitExceeded')
  await rejectsCode(t, f.sdk.send(new E.CreateTransitGatewayCommand({ TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'a', Value: 'b' }] }] })), 'InvalidParameterValue')
})

t.test('attachments: one per VPC per TGW, one subnet per AZ, Connect needs an available transport and gre', async (t) => {
  const f = await fixture(t, { vpcs: seed, availableDelayMs: 1000 })
  const tgw = await f.sdk.send(new E.CreateTransitGatewayCommand({ Options: { TransitGatewayCidrBlocks: ['100.64.0.0/24'] } }))
  const tgwId = tgw.TransitGateway!.TransitGatewayId!
  await rejectsCode(t, f.sdk.send(new E.CreateTransitGatewayVpcAttachmentCommand({ TransitGatewayId: tgwId, VpcId: VPC, SubnetIds: [SUBNET_A] })), 'IncorrectState', 400, /pending/)
  f.emu.world.advance(1000)
  await rejectsCode(t, f.sdk.send(new E.CreateTransitGatewayVpcAttachmentCommand({ TransitGatewayId: tgwId, VpcId: VPC, SubnetIds: [SUBNET_A, SUBNET_A2] })), 'DuplicateSubnetsInSameZone')
  await rejectsCode(t, f.sdk.send(new E.CreateTransitGatewayVpcAttachmentCommand({ TransitGatewayId: tgwId, VpcId: 'vpc-0000000000000dead', SubnetIds: [SUBNET_A] })), 'InvalidVpcID.NotFound')
  await rejectsCode(t, f.sdk.send(new E.CreateTransitGatewayVpcAttachmentCommand({ TransitGatewayId: tgwId, VpcId: VPC, SubnetIds: ['subnet-00000000000000000'] })), 'InvalidSubnetID.NotFound')
  const att = await f.sdk.send(new E.CreateTransitGatewayVpcAttachmentCommand({
    TransitGatewayId: tgwId, VpcId: VPC, SubnetIds: [SUBNET_A, SUBNET_B],
    TagSpecifications: [{ ResourceType: 'transit-gateway-attachment', Tags: [{ Key: 'k', Value: 'v' }] }],
  }))
  const a = att.TransitGatewayVpcAttachment!
  t.match(a.TransitGatewayAttachmentId, /^tgw-attach-[0-9a-f]{17}$/)
  t.equal(a.State, 'pending')
  t.same(a.SubnetIds, [SUBNET_A, SUBNET_B])
  t.equal(a.VpcOwnerId, '123456789012')
  t.same(a.Tags, [{ Key: 'k', Value: 'v' }])
  await rejectsCode(t, f.sdk.send(new E.CreateTransitGatewayVpcAttachmentCommand({ TransitGatewayId: tgwId, VpcId: VPC, SubnetIds: [SUBNET_B] })), 'DuplicateTransitGatewayAttachment')
  await rejectsCode(t, f.sdk.send(new E.CreateTransitGatewayConnectCommand({ TransportTransitGatewayAttachmentId: a.TransitGatewayAttachmentId!, Options: { Protocol: 'gre' } })), 'IncorrectState')
  f.emu.world.advance(1000)
  await rejectsCode(t, f.sdk.send(new E.CreateTransitGatewayConnectCommand({ TransportTransitGatewayAttachmentId: 'tgw-attach-00000000000000000', Options: { Protocol: 'gre' } })), 'InvalidTransitGatewayAttachmentID.NotFound')
  const c = await f.sdk.send(new E.CreateTransitGatewayConnectCommand({ TransportTransitGatewayAttachmentId: a.TransitGatewayAttachmentId!, Options: { Protocol: 'gre' } }))
  t.equal(c.TransitGatewayConnect?.Options?.Protocol, 'gre')
  t.equal(c.TransitGatewayConnect?.TransportTransitGatewayAttachmentId, a.TransitGatewayAttachmentId)
  t.equal(c.TransitGatewayConnect?.TransitGatewayId, tgwId)
  const dv = await f.sdk.send(new E.DescribeTransitGatewayVpcAttachmentsCommand({ Filters: [{ Name: 'transit-gateway-id', Values: [tgwId] }, { Name: 'vpc-id', Values: [VPC] }] }))
  t.equal(dv.TransitGatewayVpcAttachments?.length, 1)
  const dc = await f.sdk.send(new E.DescribeTransitGatewayConnectsCommand({ Filters: [{ Name: 'transport-transit-gateway-attachment-id', Values: [a.TransitGatewayAttachmentId!] }] }))
  t.equal(dc.TransitGatewayConnects?.length, 1)
  // Deletion order is enforced.
  await rejectsCode(t, f.sdk.send(new E.DeleteTransitGatewayVpcAttachmentCommand({ TransitGatewayAttachmentId: a.TransitGatewayAttachmentId! })), 'IncorrectState', 400, /Connect/)
  await rejectsCode(t, f.sdk.send(new E.DeleteTransitGatewayCommand({ TransitGatewayId: tgwId })), 'IncorrectState', 400, /non-deleted Transit Gateway Attachments/)
  // ModifyTransitGatewayVpcAttachment: one subnet per AZ still holds.
  await rejectsCode(t, f.sdk.send(new E.ModifyTransitGatewayVpcAttachmentCommand({ TransitGatewayAttachmentId: a.TransitGatewayAttachmentId!, AddSubnetIds: [SUBNET_A2] })), 'DuplicateSubnetsInSameZone')
})

t.test('Connect peers: inside CIDR rules, TGW address, 4 per attachment, BgpConfigurations, deletion lifecycle', async (t) => {
  const f = await fixture(t, { vpcs: seed, availableDelayMs: 1000, deletingDelayMs: 1000 })
  const { tgwId, connectId } = await stack(f)
  const mk = (inside: string[], extra: Partial<E.CreateTransitGatewayConnectPeerCommandInput> = {}): Promise<E.CreateTransitGatewayConnectPeerCommandOutput> =>
    f.sdk.send(new E.CreateTransitGatewayConnectPeerCommand({ TransitGatewayAttachmentId: connectId, PeerAddress: '10.0.1.10', InsideCidrBlocks: inside, BgpOptions: { PeerAsn: 65001 }, ...extra }))
  for (const bad of ['169.254.0.0/29', '169.254.5.0/29', '169.254.169.248/29']) {
    await rejectsCode(t, mk([bad]), 'InvalidParameterValue', 400, /reserved/)
  }
  await rejectsCode(t, mk(['169.254.10.0/28']), 'InvalidParameterValue', 400, /\/29 from 169\.254\.0\.0\/16/)
  await rejectsCode(t, mk(['10.1.1.0/29']), 'InvalidParameterValue', 400, /\/29 from 169\.254\.0\.0\/16/)
  await rejectsCode(t, mk(['169.254.10.0/29', 'fe80::/125']), 'InvalidParameterValue', 400, /fd00::\/8/)
  await rejectsCode(t, mk(['169.254.10.0/29', 'fd00::/124']), 'InvalidParameterValue', 400, /\/125/)
  await rejectsCode(t, mk(['169.254.10.0/29'], { TransitGatewayAddress: '100.99.0.1' }), 'InvalidParameterValue', 400, /not within the transit gateway's CIDR blocks/)
  await rejectsCode(t, mk(['169.254.10.0/29'], { PeerAddress: 'nope' }), 'InvalidParameterValue')
  await rejectsCode(t, f.sdk.send(new E.CreateTransitGatewayConnectPeerCommand({ TransitGatewayAttachmentId: 'tgw-attach-00000000000000000', PeerAddress: '10.0.1.1', InsideCidrBlocks: ['169.254.10.0/29'] })), 'InvalidTransitGatewayAttachmentID.NotFound')
  const p1 = (await mk(['169.254.10.0/29', 'fd00::10/125'], { TransitGatewayAddress: '100.64.0.77' })).TransitGatewayConnectPeer!
  t.match(p1.TransitGatewayConnectPeerId, /^tgw-connect-peer-[0-9a-f]{17}$/)
  t.equal(p1.State, 'pending')
  const cfg = p1.ConnectPeerConfiguration!
  t.equal(cfg.TransitGatewayAddress, '100.64.0.77')
  t.equal(cfg.PeerAddress, '10.0.1.10')
  t.equal(cfg.Protocol, 'gre')
  t.same(cfg.InsideCidrBlocks, ['169.254.10.0/29', 'fd00::10/125'])
  t.same(cfg.BgpConfigurations?.map((b) => [b.TransitGatewayAddress, b.PeerAddress, b.TransitGatewayAsn, b.PeerAsn, b.BgpStatus]), [
    ['169.254.10.2', '169.254.10.1', 64512, 65001, 'down'], ['169.254.10.3', '169.254.10.1', 64512, 65001, 'down'],
  ])
  await rejectsCode(t, mk(['169.254.10.0/29']), 'InvalidParameterValue', 400, /already used/)
  const p2 = (await mk(['169.254.11.0/29'])).TransitGatewayConnectPeer!
  t.equal(p2.ConnectPeerConfiguration?.TransitGatewayAddress, '100.64.0.1', 'first free TGW address when omitted')
  // Peer ASN omitted: the TGW's own (iBGP), as AWS does.
  const p3 = (await mk(['169.254.12.0/29'], { BgpOptions: {} })).TransitGatewayConnectPeer!
  t.equal(p3.ConnectPeerConfiguration?.BgpConfigurations?.[0]?.PeerAsn, 64512)
  await mk(['169.254.13.0/29'])
  await rejectsCode(t, mk(['169.254.14.0/29']), 'TransitGatewayConnectPeerLimitExceeded')
  // Lifecycle and BGP status.
  f.emu.world.advance(1000)
  f.emu.world.setBgpStatus(p1.TransitGatewayConnectPeerId!, 'up')
  const d1 = await f.sdk.send(new E.DescribeTransitGatewayConnectPeersCommand({ TransitGatewayConnectPeerIds: [p1.TransitGatewayConnectPeerId!] }))
  t.equal(d1.TransitGatewayConnectPeers?.[0]?.State, 'available')
  t.same(d1.TransitGatewayConnectPeers?.[0]?.ConnectPeerConfiguration?.BgpConfigurations?.map((b) => b.BgpStatus), ['up', 'up'])
  await rejectsCode(t, f.sdk.send(new E.DeleteTransitGatewayConnectCommand({ TransitGatewayAttachmentId: connectId })), 'IncorrectState', 400, /Connect peers/)
  const del = await f.sdk.send(new E.DeleteTransitGatewayConnectPeerCommand({ TransitGatewayConnectPeerId: p1.TransitGatewayConnectPeerId! }))
  t.equal(del.TransitGatewayConnectPeer?.State, 'deleting')
  await rejectsCode(t, f.sdk.send(new E.DeleteTransitGatewayConnectPeerCommand({ TransitGatewayConnectPeerId: p1.TransitGatewayConnectPeerId! })), 'IncorrectState')
  await rejectsCode(t, mk(['169.254.14.0/29']), 'TransitGatewayConnectPeerLimitExceeded', 400)
  f.emu.world.advance(1000)
  const d2 = await f.sdk.send(new E.DescribeTransitGatewayConnectPeersCommand({ Filters: [{ Name: 'transit-gateway-attachment-id', Values: [connectId] }, { Name: 'state', Values: ['deleted'] }] }))
  t.same(d2.TransitGatewayConnectPeers?.map((p) => p.TransitGatewayConnectPeerId), [p1.TransitGatewayConnectPeerId], 'deleted peers stay visible')
  await mk(['169.254.10.0/29'])
  t.pass('a deleted peer frees its slot and its inside block')
  await rejectsCode(t, f.sdk.send(new E.DescribeTransitGatewayConnectPeersCommand({ TransitGatewayConnectPeerIds: ['tgw-connect-peer-00000000000000000'] })), 'InvalidTransitGatewayConnectPeerID.NotFound')
  await rejectsCode(t, f.sdk.send(new E.DeleteTransitGatewayConnectPeerCommand({ TransitGatewayConnectPeerId: 'tgw-connect-peer-00000000000000000' })), 'InvalidTransitGatewayConnectPeerID.NotFound')
  void tgwId
})

t.test('VPC routes: to a TGW only with an attachment, RouteAlreadyExists, InvalidRoute.NotFound, blackhole when detached', async (t) => {
  const f = await fixture(t, { vpcs: seed, availableDelayMs: 1000, deletingDelayMs: 1000 })
  const tgw = await f.sdk.send(new E.CreateTransitGatewayCommand({ Options: { TransitGatewayCidrBlocks: ['100.64.0.0/24'] } }))
  const tgwId = tgw.TransitGateway!.TransitGatewayId!
  f.emu.world.advance(1000)
  await rejectsCode(t, f.sdk.send(new E.CreateRouteCommand({ RouteTableId: RTB_MAIN, DestinationCidrBlock: '10.200.0.0/16', TransitGatewayId: tgwId })), 'InvalidTransitGatewayID.NotFound')
  const att = await f.sdk.send(new E.CreateTransitGatewayVpcAttachmentCommand({ TransitGatewayId: tgwId, VpcId: VPC, SubnetIds: [SUBNET_A] }))
  f.emu.world.advance(1000)
  const ok = await f.sdk.send(new E.CreateRouteCommand({ RouteTableId: RTB_MAIN, DestinationCidrBlock: '10.200.0.0/16', TransitGatewayId: tgwId }))
  t.equal(ok.Return, true)
  await rejectsCode(t, f.sdk.send(new E.CreateRouteCommand({ RouteTableId: RTB_MAIN, DestinationCidrBlock: '10.200.0.0/16', TransitGatewayId: tgwId })), 'RouteAlreadyExists')
  await rejectsCode(t, f.sdk.send(new E.CreateRouteCommand({ RouteTableId: RTB_MAIN, DestinationCidrBlock: '10.200.0.1/16', TransitGatewayId: tgwId })), 'InvalidParameterValue')
  await rejectsCode(t, f.sdk.send(new E.CreateRouteCommand({ RouteTableId: 'rtb-00000000000000000', DestinationCidrBlock: '10.9.0.0/16', TransitGatewayId: tgwId })), 'InvalidRouteTableID.NotFound')
  const rts = await f.sdk.send(new E.DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [VPC] }, { Name: 'route.transit-gateway-id', Values: [tgwId] }] }))
  const rt = rts.RouteTables?.[0]
  t.equal(rt?.RouteTableId, RTB_MAIN)
  t.equal(rt?.Associations?.[0]?.Main, true)
  const route = rt?.Routes?.find((r) => r.DestinationCidrBlock === '10.200.0.0/16')
  t.same([route?.TransitGatewayId, route?.State, route?.Origin], [tgwId, 'active', 'CreateRoute'])
  t.same(rt?.Routes?.find((r) => r.GatewayId === 'local')?.DestinationCidrBlock, '10.0.0.0/16')
  await f.sdk.send(new E.DeleteTransitGatewayVpcAttachmentCommand({ TransitGatewayAttachmentId: att.TransitGatewayVpcAttachment!.TransitGatewayAttachmentId! }))
  f.emu.world.advance(1000)
  const after = await f.sdk.send(new E.DescribeRouteTablesCommand({ RouteTableIds: [RTB_MAIN] }))
  t.equal(after.RouteTables?.[0]?.Routes?.find((r) => r.DestinationCidrBlock === '10.200.0.0/16')?.State, 'blackhole')
  await f.sdk.send(new E.DeleteRouteCommand({ RouteTableId: RTB_MAIN, DestinationCidrBlock: '10.200.0.0/16' }))
  await rejectsCode(t, f.sdk.send(new E.DeleteRouteCommand({ RouteTableId: RTB_MAIN, DestinationCidrBlock: '10.200.0.0/16' })), 'InvalidRoute.NotFound')
  await rejectsCode(t, f.sdk.send(new E.DeleteRouteCommand({ RouteTableId: RTB_MAIN, DestinationCidrBlock: '10.0.0.0/16' })), 'InvalidParameterValue', 400, /local route/)
  const del = await f.sdk.send(new E.DeleteTransitGatewayCommand({ TransitGatewayId: tgwId }))
  t.equal(del.TransitGateway?.State, 'deleting')
  f.emu.world.advance(1000)
  const gone = await f.sdk.send(new E.DescribeTransitGatewaysCommand({ TransitGatewayIds: [tgwId] }))
  t.equal(gone.TransitGateways?.[0]?.State, 'deleted')
  const subnets = await f.sdk.send(new E.DescribeSubnetsCommand({ Filters: [{ Name: 'availability-zone', Values: ['us-east-1a'] }] }))
  t.same(subnets.Subnets?.map((s) => s.SubnetId).sort(), [SUBNET_A, SUBNET_A2].sort())
  t.equal(subnets.Subnets?.[0]?.VpcId, VPC)
})

t.test('security groups: duplicate names and rules, revoke, describe by name', async (t) => {
  const f = await fixture(t, { vpcs: seed })
  const g = await f.sdk.send(new E.CreateSecurityGroupCommand({ GroupName: 'gsi-sg', Description: 'd', VpcId: VPC, TagSpecifications: [{ ResourceType: 'security-group', Tags: [{ Key: 'o', Value: 'me' }] }] }))
  t.match(g.GroupId, /^sg-[0-9a-f]{17}$/)
  await rejectsCode(t, f.sdk.send(new E.CreateSecurityGroupCommand({ GroupName: 'gsi-sg', Description: 'd', VpcId: VPC })), 'InvalidGroup.Duplicate')
  const perms = [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '10.200.0.0/16' }] }, { IpProtocol: '47', IpRanges: [{ CidrIp: '100.64.0.0/24' }] }]
  const a = await f.sdk.send(new E.AuthorizeSecurityGroupIngressCommand({ GroupId: g.GroupId!, IpPermissions: perms }))
  t.equal(a.Return, true)
  t.same(a.SecurityGroupRules?.map((r) => [r.IpProtocol, r.CidrIpv4, r.IsEgress]), [['-1', '10.200.0.0/16', false], ['47', '100.64.0.0/24', false]])
  await rejectsCode(t, f.sdk.send(new E.AuthorizeSecurityGroupIngressCommand({ GroupId: g.GroupId!, IpPermissions: perms.slice(1) })), 'InvalidPermission.Duplicate')
  const d = await f.sdk.send(new E.DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [VPC] }, { Name: 'group-name', Values: ['gsi-sg'] }] }))
  const sg = d.SecurityGroups?.[0]
  t.equal(sg?.GroupName, 'gsi-sg')
  t.equal(sg?.Description, 'd')
  t.same(sg?.Tags, [{ Key: 'o', Value: 'me' }])
  t.same(sg?.IpPermissions?.map((p) => [p.IpProtocol, p.IpRanges?.[0]?.CidrIp]), [['-1', '10.200.0.0/16'], ['47', '100.64.0.0/24']])
  t.equal(sg?.IpPermissionsEgress?.[0]?.IpRanges?.[0]?.CidrIp, '0.0.0.0/0')
  const r = await f.sdk.send(new E.RevokeSecurityGroupIngressCommand({ GroupId: g.GroupId!, IpPermissions: [perms[0]!, { IpProtocol: '6', IpRanges: [{ CidrIp: '1.2.3.0/24' }] }] }))
  t.equal(r.RevokedSecurityGroupRules?.length, 1)
  t.same(r.UnknownIpPermissions?.map((p) => p.IpRanges?.[0]?.CidrIp), ['1.2.3.0/24'])
  await rejectsCode(t, f.sdk.send(new E.RevokeSecurityGroupIngressCommand({ GroupId: g.GroupId!, IpPermissions: [perms[0]!] })), 'InvalidPermission.NotFound')
  await rejectsCode(t, f.sdk.send(new E.DescribeSecurityGroupsCommand({ GroupNames: ['nope'] })), 'InvalidGroup.NotFound')
  const dg = await f.sdk.send(new E.DeleteSecurityGroupCommand({ GroupId: g.GroupId! }))
  t.equal(dg.Return, true)
  await rejectsCode(t, f.sdk.send(new E.DeleteSecurityGroupCommand({ GroupId: g.GroupId! })), 'InvalidGroup.NotFound')
  await f.sdk.send(new E.CreateTagsCommand({ Resources: [SUBNET_A], Tags: [{ Key: 'kubernetes.io/role', Value: 'x' }] }))
  const s = await f.sdk.send(new E.DescribeSubnetsCommand({ Filters: [{ Name: 'tag:kubernetes.io/role', Values: ['x'] }] }))
  t.same(s.Subnets?.map((x) => x.SubnetId), [SUBNET_A])
  await rejectsCode(t, f.sdk.send(new E.CreateTagsCommand({ Resources: ['tgw-00000000000000000'], Tags: [{ Key: 'a', Value: 'b' }] })), 'InvalidID')
})

t.test('faults: RequestLimitExceeded (503, retried by the SDK as throttling), fail once, control endpoints', async (t) => {
  const f = await fixture(t, { vpcs: seed })
  f.emu.faults.throttleNext = 2
  await rejectsCode(t, f.sdk.send(new E.DescribeSubnetsCommand({})), 'RequestLimitExceeded', 503)
  // The SDK's own standard retry strategy classifies it as throttling and retries.
  const retrying = new E.EC2Client({ region: 'us-east-1', endpoint: f.emu.endpoint, credentials: CREDS, maxAttempts: 3 })
  t.teardown(() => retrying.destroy())
  const ok = await retrying.send(new E.DescribeSubnetsCommand({}))
  t.equal(ok.$metadata.attempts, 2, 'second attempt succeeded')
  // failOnce through the HTTP control endpoint.
  const post = (path: string, body: unknown): Promise<Response> => fetch(f.emu.endpoint + path, { method: 'POST', body: JSON.stringify(body) })
  t.equal((await post('/_emulator/faults', { failOnce: { action: 'DescribeSubnets', code: 'InternalError', status: 500 } })).status, 200)
  await rejectsCode(t, f.sdk.send(new E.DescribeSubnetsCommand({})), 'InternalError', 500)
  t.ok((await f.sdk.send(new E.DescribeSubnetsCommand({}))).Subnets?.length, 'only once')
  // State dump, clock, BGP flip.
  const tgw = await f.sdk.send(new E.CreateTransitGatewayCommand({ Options: { TransitGatewayCidrBlocks: ['100.64.0.0/24'] } }))
  const state1 = await (await fetch(f.emu.endpoint + '/_emulator/state')).json() as { transitGateways: Array<{ id: string, state: string }>, subnets: unknown[] }
  t.equal(state1.transitGateways[0]?.id, tgw.TransitGateway?.TransitGatewayId)
  t.equal(state1.subnets.length, 3)
  await post('/_emulator/advance', { ms: 60_000 })
  const counts = await (await fetch(f.emu.endpoint + '/_emulator/counts')).json() as Record<string, number>
  t.equal(counts.transitGateways, 1)
  t.equal((await post('/_emulator/bgp', { connectPeerId: 'tgw-connect-peer-nope', status: 'up' })).status, 400)
  t.equal((await fetch(f.emu.endpoint + '/_emulator/nope')).status, 404)
})

t.test('wire: EC2 XML envelope, namespace, item lists; unknown action and version refused', async (t) => {
  const f = await fixture(t, { vpcs: seed })
  const form = (body: string): Promise<Response> => fetch(f.emu.endpoint + '/', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body })
  const r = await form('Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=vpc-id&Filter.1.Value.1=' + VPC)
  t.equal(r.status, 200)
  const xml = await r.text()
  t.match(xml, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<DescribeSubnetsResponse xmlns="http:\/\/ec2\.amazonaws\.com\/doc\/2016-11-15\/"><requestId>[0-9a-f-]{36}<\/requestId><subnetSet><item><subnetId>/)
  const e = await form('Action=RunInstances&Version=2016-11-15')
  t.equal(e.status, 400)
  t.match(await e.text(), /<Response><Errors><Error><Code>InvalidAction<\/Code><Message>.*<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>/)
  const v = await form('Action=DescribeSubnets&Version=2014-01-01')
  t.equal(v.status, 400)
  t.match(await v.text(), /InvalidParameterValue/)
})

t.test('stand-alone: main.ts starts on a given port and prints its endpoint', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'controller/emulator/ec2/main.ts', '--port', '0', '--available-delay-ms', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let out = ''
  child.stdout.setEncoding('utf8')
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no endpoint printed: ${out}`)), 20_000)
    child.stdout.on('data', (c: string) => {
      out += c
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (m !== null) { clearTimeout(timer); resolve(m[1] as string) }
    })
  })
  const c = new E.EC2Client({ region: 'eu-west-1', endpoint, credentials: CREDS, maxAttempts: 1 })
  t.teardown(() => c.destroy())
  const s = await c.send(new E.DescribeSubnetsCommand({}))
  t.equal(s.Subnets?.length, 3)
  t.equal(s.Subnets?.[0]?.AvailabilityZone, 'us-east-1a')
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit') as [number | null]
  t.equal(code, 0, 'exits cleanly on SIGTERM')
})
