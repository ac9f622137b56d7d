/**
 * Scenario: deleting a TransitGateway removes every AWS resource we own (routes, Connect peers,
 * Connect attachment, VPC attachment, transit gateway, security group), then its ConnectedPeers and
 * Routes, then the finalizer; foreign resources in the same VPC (another TGW, its route, another
 * security group) are left alone. The GSI's finalizer goes once no TransitGateway uses it.
 */
import t from 'tap'
import { World, waitFor, REGION, VPC } from './harness.js'
import { ControllerMetrics } from '../../controller/metrics.js'

t.test('deletion removes everything we own and nothing else', async t => {
  const w = await new World().start()
  t.teardown(() => w.close())
  const ec2 = w.ec2For(REGION, new ControllerMetrics())
  const foreignTgw = (await ec2.createTransitGateway({ Description: 'someone else', Options: { AmazonSideAsn: 64600 } })).TransitGateway!.TransitGatewayId!
  const foreignSg = (await ec2.createSecurityGroup({ GroupName: 'other-sg', Description: 'not ours', VpcId: VPC })).GroupId!
  await waitFor('foreign TGW available', async () => (await ec2.describeTransitGateways({ TransitGatewayIds: [foreignTgw] })).TransitGateways?.[0]?.State === 'available')
  const foreignAtt = (await ec2.createTransitGatewayVpcAttachment({ TransitGatewayId: foreignTgw, VpcId: VPC, SubnetIds: ['subnet-0a1b2c3d4e5f60c01'] })).TransitGatewayVpcAttachment!.TransitGatewayAttachmentId!
  await waitFor('foreign attachment available', async () => (await ec2.describeTransitGatewayVpcAttachments({ TransitGatewayAttachmentIds: [foreignAtt] })).TransitGatewayVpcAttachments?.[0]?.State === 'available')
  await ec2.createRoute({ RouteTableId: 'rtb-0a1b2c3d4e5f60002', DestinationCidrBlock: '192.168.0.0/16', TransitGatewayId: foreignTgw })

  await w.addNode(`${w.ns}-a`, '10.0.1.41')
  await w.gsi()
  await w.tgw()
  w.replica('r1').start()
  const ready = await w.readyTgw()
  const ours = ready.status!.transitGatewayID!
  t.not(ours, foreignTgw)
  await waitFor('GSI finalizer', async () => (await w.gsis.get(w.ns, 'gsi'))?.metadata.finalizers?.includes('gsi.gsi-router.io/transit-gateways'))
  t.ok((await w.peerList()).length === 1 && (await w.routeList()).length > 0, 'ConnectedPeer and Routes exist')

  await w.tgws.delete(w.ns, 'tgw')
  const deleting = await w.get()
  t.ok(deleting?.metadata.deletionTimestamp, 'deletion waits for the finalizer')
  await waitFor('TransitGateway gone', async () => (await w.get()) === undefined, 20_000)
  const left = w.aws()
  t.same(left.tgws, [foreignTgw], 'only the foreign transit gateway remains')
  t.same(left.vpcAtt, [foreignAtt], 'our VPC attachment deleted, the foreign one kept')
  t.same(left.connects, [], 'Connect attachment deleted')
  t.same(left.peers, [], 'Connect peers deleted')
  t.same(left.routes, ['rtb-0a1b2c3d4e5f60002 192.168.0.0/16'], 'only the foreign route remains')
  t.same(left.sgs, [foreignSg], 'only the foreign security group remains')
  t.same(await w.peerList(), [], 'ConnectedPeers deleted')
  t.same(await w.routeList(), [], 'Routes deleted')
  const events = (await w.conn.core.listNamespacedEvent({ namespace: w.ns })).items
  t.ok(events.some(e => e.reason === 'Deleted' && e.involvedObject.name === 'tgw'), 'Deleted event')
  t.ok(events.some(e => e.reason === 'AwsDeleted' && /DeleteTransitGateway\b/.test(e.message ?? '')), 'AWS deletions as events')
  await waitFor('GSI finalizer released', async () => !(await w.gsis.get(w.ns, 'gsi'))?.metadata.finalizers?.length)
  await w.gsis.delete(w.ns, 'gsi')
  t.equal(await w.gsis.get(w.ns, 'gsi'), undefined, 'GSI deletable once unused')
  await w.nodes.delete(undefined, `${w.ns}-a`)
})
