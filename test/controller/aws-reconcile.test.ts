/**
 * AWS reconciler against the EC2 emulator, through the real @aws-sdk/client-ec2: from scratch to
 * ready, idempotency, nodes added and removed, a fifth node, a throttling storm, invalid specs,
 * a foreign transit gateway, deletion that removes ours and nothing else.
 */
import t from 'tap'
import * as E from '@aws-sdk/client-ec2'
import { converge, deleteAll, desired, fixture, quietLog, RTB_MAIN, RTB_PRIVATE, SUBNET_A, SUBNET_B, tgwRoutes, VPC } from './aws-fixture.js'
import { deleteTransitGatewayAws, reconcileTransitGatewayAws } from '../../controller/aws/reconcile.js'
import { OwnerTag, type AwsDeleteResult } from '../../controller/aws/types.js'

t.test('from scratch to ready: every resource, tagged, with the right parameters', async (t) => {
  const f = await fixture(t)
  const d = desired()
  const { obs, rounds } = await converge(f, d)
  t.equal(obs.ready, true, obs.message)
  t.equal(obs.reason, 'Ready')
  t.ok(rounds > 3, `took ${rounds} rounds: pending states were waited for, not skipped`)
  const w = f.emu.world
  t.same(w.counts(), { transitGateways: 1, vpcAttachments: 1, connectAttachments: 1, connectPeers: 2, securityGroups: 1, tgwRoutes: 6 })
  const tgw = w.tgws()[0]!
  t.equal(tgw.asn, 64512)
  t.same(tgw.cidrBlocks, ['100.64.0.0/24'])
  t.equal(tgw.tags.find((x) => x.Key === OwnerTag.uid)?.Value, d.owner.uid)
  t.equal(tgw.tags.find((x) => x.Key === OwnerTag.owner)?.Value, 'gsi/tgw-a')
  t.ok(tgw.tags.some((x) => x.Key === 'Name'))
  // VPC attachment: subnets discovered from node IPs, one per AZ.
  t.same(w.vpcAtts()[0]!.subnetIds, [SUBNET_A, SUBNET_B].sort())
  t.equal(w.connects()[0]!.protocol, 'gre')
  // Peers: inside /29s allocated above the reserved ones, distinct; addresses derived.
  t.equal(obs.peers.length, 2)
  const [pa, pb] = obs.peers
  t.equal(pa!.node, 'node-a')
  t.same(pa!.insideCidrBlocks, ['169.254.6.0/29'])
  t.same(pb!.insideCidrBlocks, ['169.254.6.8/29'])
  t.equal(pa!.applianceInsideAddress, '169.254.6.1')
  t.same(pa!.transitGatewayInsideAddresses, ['169.254.6.2', '169.254.6.3'])
  t.equal(pa!.peerAddress, '10.0.1.10')
  t.equal(pa!.transitGatewayAsn, 64512)
  t.equal(pa!.peerAsn, 65001)
  t.equal(pa!.bgp.length, 2)
  t.same(pa!.bgp.map((b) => b.transitGatewayAddress), ['169.254.6.2', '169.254.6.3'])
  t.ok(pa!.transitGatewayAddresses[0]?.startsWith('100.64.0.'), 'TGW GRE address from the TGW CIDR block')
  t.not(pa!.transitGatewayAddresses[0], pb!.transitGatewayAddresses[0])
  t.ok(w.peers().every((p) => p.tags.some((x) => x.Key === OwnerTag.node)), 'peers tagged with their node')
  // Routes: both exposed CIDRs and the TGW block, in both route tables, active.
  t.same(tgwRoutes(f.emu), [RTB_MAIN, RTB_PRIVATE].flatMap((rt) => ['10.200.0.0/16', '10.201.0.0/24', '100.64.0.0/24'].map((c) => `${rt} ${c} ${tgw.id}`)).sort())
  t.ok(obs.routes.every((r) => r.state === 'active'), 'routes active')
  // Security group: exposed CIDRs (all traffic) and GRE from the TGW block.
  const sg = [...w.securityGroups.values()][0]!
  t.equal(sg.name, 'gsi-sg')
  t.same(sg.ingress.map((r) => `${r.protocol}:${r.cidr}`).sort(), ['-1:10.200.0.0/16', '-1:10.201.0.0/24', '47:100.64.0.0/24'])
  t.equal(obs.securityGroup?.id, sg.id)
  t.equal(obs.requeueAfterMs, undefined, 'no requeue once ready')
  // BgpStatus flips show up in the observed peers.
  w.setBgpStatus(pa!.connectPeerId, 'up')
  const again = await reconcileTransitGatewayAws(d, f.ec2, quietLog)
  t.same(again.peers[0]!.bgp.map((b) => b.bgpStatus), ['up', 'up'])
  t.same(again.peers[1]!.bgp.map((b) => b.bgpStatus), ['down', 'down'])
})

t.test('idempotent: reconciling a ready object makes no mutating call and no duplicate', async (t) => {
  const f = await fixture(t)
  const d = desired()
  await converge(f, d)
  const before = f.emu.world.counts()
  const mutating = (): number => f.events.filter((e) => !e.action.startsWith('Describe')).length
  const n0 = mutating()
  for (let i = 0; i < 3; i++) {
    const obs = await reconcileTransitGatewayAws(d, f.ec2, quietLog)
    t.equal(obs.ready, true)
    t.same(obs.actions, [])
  }
  t.equal(mutating(), n0, 'no Create/Delete/Modify/Authorize calls')
  t.same(f.emu.world.counts(), before)
})

t.test('pending is a requeue, not a wait', async (t) => {
  const f = await fixture(t)
  const d = desired()
  const t0 = Date.now()
  const obs = await reconcileTransitGatewayAws(d, f.ec2, quietLog, { minRequeueMs: 2000 })
  t.ok(Date.now() - t0 < 5000, 'returned promptly')
  t.equal(obs.ready, false)
  t.equal(obs.reason, 'Pending')
  t.ok(obs.actions.includes('CreateTransitGateway') && obs.actions.includes('CreateSecurityGroup'), obs.actions.join('; '))
  t.equal(obs.requeueAfterMs, 2000, 'settle delay after creating')
  const next = await reconcileTransitGatewayAws(d, f.ec2, quietLog, { minRequeueMs: 2000 })
  t.match(next.message, /transit gateway tgw-\w+ pending/)
  t.ok((next.requeueAfterMs ?? 0) >= 2000)
  t.equal([...obs.actions, ...next.actions].filter((a) => a.startsWith('CreateTransitGatewayVpcAttachment')).length, 0, 'nothing built on a pending TGW')
  t.equal(f.emu.world.counts().transitGateways, 1)
})

t.test('nodes added and removed: Connect peers follow; a replaced node frees its /29', async (t) => {
  const f = await fixture(t)
  const d = desired()
  await converge(f, d)
  const d2 = { ...d, nodes: [...d.nodes, { name: 'node-c', nodeIp: '10.0.33.10', peerAsn: 65001 }] }
  let { obs } = await converge(f, d2)
  t.equal(obs.ready, true, obs.message)
  t.same(obs.peers.map((p) => p.node), ['node-a', 'node-b', 'node-c'])
  t.same(obs.peers[2]!.insideCidrBlocks, ['169.254.6.16/29'])
  t.equal(f.emu.world.counts().connectPeers, 3)
  t.equal(f.emu.world.vpcAtts()[0]!.subnetIds.length, 3, 'node-c\'s AZ added to the VPC attachment')
  // Remove node-a: its peer is deleted.
  const d3 = { ...d2, nodes: d2.nodes.slice(1) }
  ;({ obs } = await converge(f, d3))
  t.equal(obs.ready, true, obs.message)
  t.same(obs.peers.map((p) => p.node), ['node-b', 'node-c'])
  t.equal(f.emu.world.counts().connectPeers, 2)
  // A new node takes the lowest free /29 (node-a's, now deleted).
  const d4 = { ...d3, nodes: [...d3.nodes, { name: 'node-d', nodeIp: '10.0.2.20', peerAsn: 65001 }] }
  ;({ obs } = await converge(f, d4))
  t.same(obs.peers.find((p) => p.node === 'node-d')?.insideCidrBlocks, ['169.254.6.0/29'])
  // A node whose IP changes gets a new peer.
  const d5 = { ...d4, nodes: d4.nodes.map((n) => n.name === 'node-b' ? { ...n, nodeIp: '10.0.18.99' } : n) }
  ;({ obs } = await converge(f, d5))
  t.equal(obs.peers.find((p) => p.node === 'node-b')?.peerAddress, '10.0.18.99')
  t.equal(f.emu.world.counts().connectPeers, 3)
})

t.test('five nodes: four Connect peers, the fifth refused and named', async (t) => {
  const f = await fixture(t)
  const nodes = [1, 2, 3, 4, 5].map((i) => ({ name: `n${i}`, nodeIp: `10.0.${i}.10`, peerAsn: 65010 }))
  const d = desired({ nodes })
  const { obs } = await converge(f, d)
  t.equal(obs.ready, true, obs.message)
  t.equal(obs.peers.length, 4)
  t.same(obs.nodesWithoutPeer, ['n5'])
  t.match(obs.message, /n5/)
  t.equal(f.emu.world.counts().connectPeers, 4)
  // When one of the four goes, the fifth takes over (after the old peer is deleted).
  const d2 = { ...d, nodes: nodes.filter((n) => n.name !== 'n2') }
  const r2 = await converge(f, d2)
  t.equal(r2.obs.ready, true, r2.obs.message)
  t.same(r2.obs.peers.map((p) => p.node), ['n1', 'n3', 'n4', 'n5'])
  t.same(r2.obs.nodesWithoutPeer, [])
})

t.test('the emulator itself refuses a fifth Connect peer (AWS hard limit)', async (t) => {
  const f = await fixture(t, { availableDelayMs: 0 })
  const d = desired({ nodes: [1, 2, 3, 4].map((i) => ({ name: `n${i}`, nodeIp: `10.0.${i}.10`, peerAsn: 65010 })) })
  await converge(f, d)
  const connectId = f.emu.world.connects()[0]!.id
  await t.rejects(f.sdk.send(new E.CreateTransitGatewayConnectPeerCommand({
    TransitGatewayAttachmentId: connectId, PeerAddress: '10.0.9.9', InsideCidrBlocks: ['169.254.100.0/29'], BgpOptions: { PeerAsn: 65010 },
  })), { name: 'TransitGatewayConnectPeerLimitExceeded' })
})

t.test('throttling storm: half the calls answer RequestLimitExceeded, still converges without duplicates', async (t) => {
  const f = await fixture(t, { seed: 7 })
  f.emu.faults.throttleRate = 0.5
  const d = desired()
  const { obs } = await converge(f, d, 80)
  t.equal(obs.ready, true, obs.message)
  t.same(f.emu.world.counts(), { transitGateways: 1, vpcAttachments: 1, connectAttachments: 1, connectPeers: 2, securityGroups: 1, tgwRoutes: 6 })
  const throttled = f.events.filter((e) => e.outcome === 'RequestLimitExceeded').length
  t.ok(throttled > 20, `${throttled} throttled attempts seen by the metrics hook`)
  t.ok(f.events.some((e) => e.outcome === 'ok' && e.attempt > 1), 'retries succeeded')
})

t.test('eventual consistency: Describe does not list a new resource for 800 ms; still exactly one of each', async (t) => {
  const f = await fixture(t, { describeLagMs: 800 })
  const d = desired()
  const { obs } = await converge(f, d)
  t.equal(obs.ready, true, obs.message)
  t.same(f.emu.world.counts(), { transitGateways: 1, vpcAttachments: 1, connectAttachments: 1, connectPeers: 2, securityGroups: 1, tgwRoutes: 6 })
  // Each call that creates something stops there and asks to be called again after the settle delay.
  const first = await reconcileTransitGatewayAws(desired(), f.ec2, quietLog, { settleMs: 1500 })
  t.equal(first.requeueAfterMs, 1500)
  t.equal(first.reason, 'Pending')
})

t.test('throttled beyond the retry budget: reason Throttled and a requeue, no throw', async (t) => {
  const f = await fixture(t)
  f.emu.faults.throttleNext = 1000
  const obs = await reconcileTransitGatewayAws(desired(), f.ec2, quietLog, { errorRequeueMs: 1234 })
  t.equal(obs.ready, false)
  t.equal(obs.reason, 'Throttled')
  t.equal(obs.requeueAfterMs, 1234)
  t.equal(f.emu.world.counts().transitGateways, 0)
})

t.test('invalid specs are refused with the field and the reason, before any AWS call', async (t) => {
  const f = await fixture(t)
  const cases: Array<[string, Parameters<typeof desired>[0], RegExp]> = [
    ['reserved inside', { nodes: [{ name: 'a', nodeIp: '10.0.1.1', peerAsn: 65001, insideCidr: '169.254.3.0/29' }] }, /nodes\[0\]\.insideCidr: .*reserved/],
    ['inside not /29', { nodes: [{ name: 'a', nodeIp: '10.0.1.1', peerAsn: 65001, insideCidr: '169.254.10.0/28' }] }, /insideCidr: .*\/29/],
    ['inside outside link-local', { nodes: [{ name: 'a', nodeIp: '10.0.1.1', peerAsn: 65001, insideCidr: '10.1.1.0/29' }] }, /169\.254\.0\.0\/16/],
    ['169.254.169.248/29', { nodes: [{ name: 'a', nodeIp: '10.0.1.1', peerAsn: 65001, insideCidr: '169.254.169.248/29' }] }, /reserved/],
    ['peer ASN = TGW ASN', { nodes: [{ name: 'a', nodeIp: '10.0.1.1', peerAsn: 64512 }] }, /nodes\[0\]\.peerAsn: 64512 equals the transit gateway's ASN/],
    ['bad amazon ASN', { amazonSideAsn: 65535 }, /amazonSideAsn: 65535/],
    ['small tgw block', { transitGatewayCidrBlock: '100.64.0.0/25' }, /transitGatewayCidrBlock: .*\/24/],
    ['bad node ip', { nodes: [{ name: 'a', nodeIp: '10.0.1', peerAsn: 65001 }] }, /nodes\[0\]\.nodeIp/],
    ['dup node', { nodes: [{ name: 'a', nodeIp: '10.0.1.1', peerAsn: 65001 }, { name: 'a', nodeIp: '10.0.1.2', peerAsn: 65001 }] }, /listed twice/],
    ['bad exposed cidr', { exposedCidrs: ['10.0.0.1/16'] }, /exposedCidrs\[0\]/],
    ['bad vpc', { vpcId: 'vpc-XYZ' }, /vpcId/],
    ['ipv6 inside not fd00::/8', { ipv6Inside: true, nodes: [{ name: 'a', nodeIp: '10.0.1.1', peerAsn: 65001, insideCidrIpv6: 'fe80::/125' }] }, /fd00::\/8/],
  ]
  for (const [name, over, re] of cases) {
    const obs = await reconcileTransitGatewayAws(desired(over), f.ec2, quietLog)
    t.equal(obs.reason, 'InvalidSpec', name)
    t.match(obs.message, re, name)
  }
  t.equal(f.events.length, 0, 'no AWS call for an invalid spec')
})

t.test('peer ASN equal to an adopted foreign TGW\'s ASN is refused', async (t) => {
  const f = await fixture(t, { availableDelayMs: 0 })
  const foreign = f.emu.world.createTransitGateway({ asn: 65100, cidrBlocks: ['100.66.0.0/24'], tags: [] })
  const d = desired({ transitGatewayId: foreign.id, transitGatewayCidrBlock: '100.66.0.0/24', nodes: [{ name: 'a', nodeIp: '10.0.1.10', peerAsn: 65100 }] })
  const { obs } = await converge(f, d, 5)
  t.equal(obs.reason, 'InvalidSpec')
  t.match(obs.message, /peer ASN 65100, equal to transit gateway/)
})

t.test('IPv6 inside blocks: a /125 of fd00::/8 per peer, addresses ::1 / ::2 ::3', async (t) => {
  const f = await fixture(t)
  const d = desired({ ipv6Inside: true })
  const { obs } = await converge(f, d)
  t.equal(obs.ready, true, obs.message)
  t.same(obs.peers[0]!.insideCidrBlocks, ['169.254.6.0/29', 'fd00::/125'])
  t.same(obs.peers[1]!.insideCidrBlocks, ['169.254.6.8/29', 'fd00::8/125'])
  t.equal(obs.peers[0]!.applianceInsideAddressIpv6, 'fd00::1')
  t.same(obs.peers[1]!.transitGatewayInsideAddressesIpv6, ['fd00::a', 'fd00::b'])
})

t.test('given subnets and route tables are used as given; inside CIDRs used elsewhere on the TGW are skipped', async (t) => {
  const f = await fixture(t, { availableDelayMs: 0 })
  const d = desired({ vpcAttachmentSubnetIds: [SUBNET_B], routeTableIds: [RTB_PRIVATE], nodes: [{ name: 'a', nodeIp: '10.0.1.10', peerAsn: 65001, insideCidr: '169.254.50.0/29' }, { name: 'b', nodeIp: '10.0.2.10', peerAsn: 65001 }] })
  const { obs } = await converge(f, d)
  t.equal(obs.ready, true, obs.message)
  t.same(f.emu.world.vpcAtts()[0]!.subnetIds, [SUBNET_B])
  t.ok(tgwRoutes(f.emu).every((r) => r.startsWith(RTB_PRIVATE)), 'only the given route table')
  t.same(obs.peers.map((p) => p.insideCidrBlocks[0]), ['169.254.50.0/29', '169.254.6.0/29'])
})

t.test('a foreign TGW given by id is used, never modified or deleted; missing CIDR block is reported', async (t) => {
  const f = await fixture(t, { availableDelayMs: 0, deletingDelayMs: 0 })
  const w = f.emu.world
  const foreign = w.createTransitGateway({ asn: 64600, cidrBlocks: ['100.70.0.0/24'], tags: [{ Key: 'team', Value: 'net' }] })
  const dBad = desired({ transitGatewayId: foreign.id })
  const { obs: bad } = await converge(f, dBad, 3)
  t.equal(bad.reason, 'NotOwned')
  t.match(bad.message, /not ours.*lacks CIDR block 100\.64\.0\.0\/24/)
  t.same(w.getTgw(foreign.id).cidrBlocks, ['100.70.0.0/24'], 'not modified')
  const d = desired({ transitGatewayId: foreign.id, transitGatewayCidrBlock: '100.70.0.0/24', owner: dBad.owner })
  const { obs } = await converge(f, d)
  t.equal(obs.ready, true, obs.message)
  t.equal(obs.transitGateway?.owned, false)
  t.equal(obs.peers[0]!.transitGatewayAsn, 64600)
  const { res } = await deleteAll(f, d)
  t.equal(res.done, true, res.message)
  t.equal(w.getTgw(foreign.id).state, 'available', 'foreign TGW left alone')
  t.same(w.counts(), { transitGateways: 1, vpcAttachments: 0, connectAttachments: 0, connectPeers: 0, securityGroups: 0, tgwRoutes: 0 })
})

t.test('our own TGW adopted by id gets the missing CIDR block added (ModifyTransitGateway)', async (t) => {
  const f = await fixture(t, { availableDelayMs: 0 })
  const d = desired()
  const mine = f.emu.world.createTransitGateway({ asn: 64512, cidrBlocks: ['100.80.0.0/24'], tags: [{ Key: OwnerTag.uid, Value: d.owner.uid }] })
  const { obs } = await converge(f, { ...d, transitGatewayId: mine.id })
  t.equal(obs.ready, true, obs.message)
  t.same(f.emu.world.getTgw(mine.id).cidrBlocks, ['100.80.0.0/24', '100.64.0.0/24'])
  t.equal(f.emu.world.counts().transitGateways, 1)
})

t.test('conflicts are reported, never overwritten: a route held by another target, a foreign gsi-sg', async (t) => {
  const f = await fixture(t, { availableDelayMs: 0 })
  const w = f.emu.world
  w.createRoute({ routeTableId: RTB_MAIN, destination: '10.200.0.0/16', gatewayId: 'igw-0123456789abcdef0' })
  w.createSecurityGroup({ name: 'gsi-sg', description: 'someone else', vpcId: VPC, tags: [] })
  const d = desired()
  const { obs } = await converge(f, d, 10)
  t.equal(obs.ready, false)
  t.equal(obs.reason, 'Conflict')
  t.match(obs.message, /rtb-0a1b2c3d4e5f60001 already routes 10\.200\.0\.0\/16 to igw-0123456789abcdef0/)
  t.match(obs.message, /Security group gsi-sg .* is not tagged/)
  t.equal(w.getRouteTable(RTB_MAIN).routes.find((r) => r.destinationCidrBlock === '10.200.0.0/16')?.gatewayId, 'igw-0123456789abcdef0')
  t.equal(obs.routes.find((r) => r.state === 'conflict')?.conflictTarget, 'igw-0123456789abcdef0')
  // Another name for our group resolves that part.
  const { obs: o2 } = await converge(f, { ...d, securityGroupName: 'gsi-sg-2', exposedCidrs: ['10.201.0.0/24'] }, 10)
  t.equal(o2.ready, true, o2.message)
})

t.test('exposed CIDRs changed: routes and SG rules follow (stale ones removed on our TGW)', async (t) => {
  const f = await fixture(t, { availableDelayMs: 0 })
  const d = desired()
  await converge(f, d)
  const d2 = { ...d, exposedCidrs: ['10.210.0.0/16'] }
  const { obs } = await converge(f, d2)
  t.equal(obs.ready, true, obs.message)
  const tgwId = obs.transitGateway!.id
  t.same(tgwRoutes(f.emu), [RTB_MAIN, RTB_PRIVATE].flatMap((rt) => ['10.210.0.0/16', '100.64.0.0/24'].map((c) => `${rt} ${c} ${tgwId}`)).sort())
  t.same(obs.securityGroup?.ingress.sort(), ['-1:10.210.0.0/16', '47:100.64.0.0/24'])
})

t.test('deletion removes everything ours, in order, and nothing else', async (t) => {
  const f = await fixture(t)
  const w = f.emu.world
  // Foreign, untagged resources in the same VPC: another TGW with its own attachment and routes, an SG.
  w.availableDelayMs = 0
  const otherTgw = w.createTransitGateway({ asn: 64700, cidrBlocks: ['100.90.0.0/24'], tags: [] })
  w.getTgw(otherTgw.id)
  const otherAtt = w.createVpcAttachment({ tgwId: otherTgw.id, vpcId: VPC, subnetIds: [SUBNET_A], tags: [] })
  w.getVpcAttachment(otherAtt.id)
  w.createRoute({ routeTableId: RTB_MAIN, destination: '172.16.0.0/12', transitGatewayId: otherTgw.id })
  const otherSg = w.createSecurityGroup({ name: 'app-sg', description: 'app', vpcId: VPC, tags: [] })
  w.availableDelayMs = 1000
  const d = desired()
  const { obs } = await converge(f, d)
  t.equal(obs.ready, true, obs.message)
  const order: string[] = []
  let res: AwsDeleteResult | undefined
  for (let i = 0; i < 40; i++) {
    res = await deleteTransitGatewayAws(d, f.ec2, quietLog, { minRequeueMs: 1000 })
    order.push(...res.actions.map((a) => a.split(' ')[0]!))
    if (res.done) break
    t.equal(res.reason, 'Deleting')
    w.advance(res.requeueAfterMs ?? 1000)
  }
  t.equal(res?.done, true, res?.message ?? 'no result')
  const firstIdx = (a: string): number => order.indexOf(a)
  t.ok(firstIdx('DeleteRoute') < firstIdx('DeleteTransitGatewayConnectPeer'))
  t.ok(firstIdx('DeleteTransitGatewayConnectPeer') < firstIdx('DeleteTransitGatewayConnect'))
  t.ok(firstIdx('DeleteTransitGatewayConnect') < firstIdx('DeleteTransitGatewayVpcAttachment'))
  t.ok(firstIdx('DeleteTransitGatewayVpcAttachment') < firstIdx('DeleteTransitGateway'))
  t.ok(firstIdx('DeleteTransitGateway') < firstIdx('DeleteSecurityGroup'), order.join(' ') || 'order')
  t.same(w.counts(), { transitGateways: 1, vpcAttachments: 1, connectAttachments: 0, connectPeers: 0, securityGroups: 1, tgwRoutes: 1 })
  t.equal(w.getTgw(otherTgw.id).state, 'available')
  t.equal(w.getVpcAttachment(otherAtt.id).state, 'available')
  t.ok(w.securityGroups.has(otherSg.id))
  t.same(tgwRoutes(f.emu), [`${RTB_MAIN} 172.16.0.0/12 ${otherTgw.id}`])
  // Deleting again is a no-op that reports done.
  const again = await deleteAll(f, d)
  t.equal(again.res.done, true)
  t.same(again.res.actions, [])
})

t.test('deletion of a half-created object (only a TGW pending) converges', async (t) => {
  const f = await fixture(t)
  const d = desired()
  await reconcileTransitGatewayAws(d, f.ec2, quietLog)
  t.equal(f.emu.world.counts().transitGateways, 1)
  const { res } = await deleteAll(f, d)
  t.equal(res.done, true, res.message)
  t.equal(f.emu.world.counts().transitGateways, 0)
  t.equal(f.emu.world.counts().securityGroups, 0)
})

t.test('credentials refused: a message pointing at the IAM role', async (t) => {
  const f = await fixture(t)
  f.emu.faults.failOnce.push({ action: 'DescribeTransitGateways', code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.', status: 403 })
  const obs = await reconcileTransitGatewayAws(desired(), f.ec2, quietLog)
  t.equal(obs.reason, 'AwsError')
  t.match(obs.message, /IAM role/)
})
