/**
 * Scenario: a TransitGateway created from scratch becomes Ready, through both emulators and the real
 * clients: AWS resources exist once each, ConnectedPeers carry the daemon's contract, Route objects
 * mirror the VPC route-table entries, Events and metrics say what happened.
 */
import t from 'tap'
import { World, waitFor } from './harness.js'
import { ControllerMetrics } from '../../controller/metrics.js'

t.test('create from scratch to Ready', async t => {
  const w = await new World().start()
  t.teardown(() => w.close())
  await w.addNode(`${w.ns}-a`, '10.0.1.10')
  await w.addNode(`${w.ns}-b`, '10.0.17.10')
  await w.addNode(`${w.ns}-plain`, '10.0.1.99', false)
  await w.gsi()
  await w.tgw()
  const metrics = new ControllerMetrics()
  const r = w.replica('r1', metrics)
  r.start()
  const tgw = await w.readyTgw()
  const aws = w.aws()
  t.equal(aws.tgws.length, 1, 'one transit gateway')
  t.equal(aws.vpcAtt.length, 1, 'one VPC attachment')
  t.equal(aws.connects.length, 1, 'one Connect attachment')
  t.equal(aws.peers.length, 2, 'one Connect peer per labelled node')
  t.equal(tgw.status?.transitGatewayID, aws.tgws[0])
  t.equal(tgw.status?.connectAttachmentID, aws.connects[0])
  t.equal(tgw.status?.state, 'available')
  t.equal(tgw.status?.activePeers, 2)
  t.same(tgw.status?.standbyNodes, [])
  for (const c of ['Ready', 'AWSReady', 'PeersReady']) {
    t.equal(tgw.status?.conditions?.find(x => x.type === c)?.status, 'True', `${c} True`)
  }
  t.ok(tgw.metadata.finalizers?.includes('gsi.gsi-router.io/aws-resources'), 'finalizer set')

  const peers = await waitFor('2 ConnectedPeers available', async () => {
    const l = await w.peerList()
    return l.length === 2 && l.every(p => p.status?.state === 'available') ? l : undefined
  })
  const a = peers.find(p => p.spec.nodeName === `${w.ns}-a`)!
  t.ok(a, 'peer of node a')
  t.equal(a.spec.peerAddress, '10.0.1.10')
  t.match(a.spec.transitGatewayAddress, /^100\.64\.0\.\d+$/, 'TGW GRE address from the CIDR block')
  t.equal(a.spec.insideCidrBlocks.length, 1)
  const inside = a.spec.insideCidrBlocks[0]!
  t.match(inside, /^169\.254\.\d+\.\d+\/29$/)
  const base = inside.split('/')[0]!.split('.').map(Number)
  t.notOk([0, 1, 2, 3, 4, 5].map(i => `169.254.${i}.0/29`).concat('169.254.169.248/29').includes(inside), 'not a reserved /29')
  t.same(a.spec.localInsideAddresses, [`169.254.${base[2]}.${base[3]! + 1}`])
  t.same(a.spec.bgpPeerAddresses, [`169.254.${base[2]}.${base[3]! + 2}`, `169.254.${base[2]}.${base[3]! + 3}`])
  t.equal(a.spec.peerAsn, 65010)
  t.equal(a.spec.transitGatewayAsn, 64512)
  t.same(a.spec.exposedCidrs, ['10.100.0.0/16'])
  t.same(a.spec.exposedRouteTargets, ['target:64512:100'])
  t.equal(a.spec.mtu, 8476)
  t.equal(a.metadata.labels?.['gsi.gsi-router.io/node'], `${w.ns}-a`)
  t.equal(a.metadata.ownerReferences?.[0]?.uid, tgw.metadata.uid, 'owned by the TransitGateway')
  t.equal(a.status?.connectPeerID, aws.peers.find(p => p.node === `${w.ns}-a`)?.id)
  t.not(peers[0]!.spec.insideCidrBlocks[0], peers[1]!.spec.insideCidrBlocks[0], 'inside CIDRs unique per TGW')

  const routes = await waitFor('Route objects active', async () => {
    const l = await w.routeList()
    return l.length > 0 && l.every(x => x.status?.state === 'active') ? l : undefined
  })
  const exposed = routes.filter(x => x.spec.destinationCidrBlock === '10.100.0.0/16')
  t.equal(exposed.length, 2, 'exposed CIDR in both route tables of the VPC')
  t.same(aws.routes.filter(x => x.endsWith('10.100.0.0/16')).length, 2, 'and in EC2')
  t.ok(routes.every(x => x.status?.transitGatewayID === aws.tgws[0]))

  // The daemon writes its side of the contract into status.daemon; the controller leaves it alone.
  await w.peers.mergePatchStatus(w.ns, a.metadata.name, { status: { daemon: { updatedAt: new Date().toISOString(), sessions: [{ peerAddress: a.spec.bgpPeerAddresses[0], state: 'Established' }] } } })
  w.ec2.world.setBgpStatus(a.status!.connectPeerID!, 'up')
  await waitFor('AWS BGP status mirrored', async () => (await w.peers.get(w.ns, a.metadata.name))?.status?.awsBgpStatus?.some(b => b.status === 'up'))
  const after = await w.peers.get(w.ns, a.metadata.name)
  t.equal(after?.status?.daemon?.sessions[0]?.state, 'Established', 'daemon status kept')

  const events = (await w.conn.core.listNamespacedEvent({ namespace: w.ns })).items
  t.ok(events.some(e => e.reason === 'Ready' && e.involvedObject.name === 'tgw'), 'Ready event')
  t.ok(events.some(e => e.reason === 'AwsChanged'), 'events for AWS changes')
  const text = await metrics.registry.metrics()
  t.match(text, /gsi_controller_reconciles_total\{kind="TransitGateway",result="(success|requeue)"\} [1-9]/)
  t.match(text, /gsi_controller_aws_calls_total\{action="CreateTransitGateway",outcome="ok"\} 1\b/)
  t.match(text, /gsi_controller_aws_call_duration_seconds_count\{action="DescribeTransitGateways"\} [1-9]/)
  t.match(text, /gsi_controller_leader 1/)
  t.match(text, /gsi_controller_workqueue_depth \d/)
})
