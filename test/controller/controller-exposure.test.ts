/**
 * Scenario: exposed networks from CN2 VirtualNetworks. A TransitGateway's virtualNetworkSelector picks
 * VirtualNetworks (core.contrail.juniper.net/v1alpha1) by label; their spec.routeTargetList and
 * spec.exportRouteTargetList, and the spec.cidr of the Subnet named by spec.v4SubnetReference, join
 * the explicit route targets and CIDRs: in every ConnectedPeer, in the VPC route tables, in status.
 * Relabelling a VirtualNetwork out of the selection withdraws it again.
 */
import t from 'tap'
import { World, waitFor } from './harness.js'
import type { KubeObject } from '../../controller/k8s/index.js'

t.test('VirtualNetworks selected by label are exposed', async t => {
  const w = await new World().start()
  t.teardown(() => w.close())
  const cn2 = 'core.contrail.juniper.net/v1alpha1'
  await w.subnets.create({ apiVersion: cn2, kind: 'Subnet', metadata: { name: 'blue-v4', namespace: w.ns }, spec: { cidr: '10.200.0.0/16', defaultGateway: '10.200.0.1' } } as KubeObject)
  await w.vns.create({
    apiVersion: cn2, kind: 'VirtualNetwork', metadata: { name: 'blue', namespace: w.ns, labels: { 'gsi.gsi-router.io/expose': 'true' } },
    spec: { v4SubnetReference: { apiVersion: cn2, kind: 'Subnet', namespace: w.ns, name: 'blue-v4' }, routeTargetList: ['target:64512:2000'], exportRouteTargetList: ['target:64512:2001'] },
  } as KubeObject)
  await w.vns.create({ apiVersion: cn2, kind: 'VirtualNetwork', metadata: { name: 'red', namespace: w.ns }, spec: { routeTargetList: ['target:64512:3000'] } } as KubeObject)
  await w.addNode(`${w.ns}-a`, '10.0.1.91')
  await w.gsi()
  await w.tgw('tgw', { exposed: { routeTargets: ['target:64512:100'], cidrs: ['10.100.0.0/16'], virtualNetworkSelector: { matchLabels: { 'gsi.gsi-router.io/expose': 'true' } } } })
  w.replica('r1').start()
  const tgw = await w.readyTgw()
  t.same(tgw.status?.exposedCidrs, ['10.100.0.0/16', '10.200.0.0/16'], 'subnet of the selected VN exposed')
  t.same(tgw.status?.exposedRouteTargets, ['target:64512:100', 'target:64512:2000', 'target:64512:2001'], 'its route targets too; the unselected VN not')
  const peer = await waitFor('peer with the VN', async () => (await w.peerList()).find(p => p.spec.exposedCidrs.includes('10.200.0.0/16')))
  t.same(peer.spec.exposedRouteTargets, ['target:64512:100', 'target:64512:2000', 'target:64512:2001'])
  await waitFor('VPC routes for the VN subnet', () => w.aws().routes.filter(r => r.endsWith(' 10.200.0.0/16')).length === 2)
  t.pass('VN subnet routed to the TGW in both route tables')

  await w.vns.mergePatch(w.ns, 'blue', { metadata: { labels: { 'gsi.gsi-router.io/expose': 'false' } } })
  await waitFor('VN withdrawn', async () => JSON.stringify((await w.get())?.status?.exposedCidrs) === JSON.stringify(['10.100.0.0/16']))
  await waitFor('VPC routes withdrawn', () => w.aws().routes.every(r => !r.endsWith(' 10.200.0.0/16')))
  const p2 = await waitFor('peer updated', async () => (await w.peerList()).find(p => !p.spec.exposedCidrs.includes('10.200.0.0/16')))
  t.same(p2.spec.exposedRouteTargets, ['target:64512:100'], 'route targets withdrawn from the ConnectedPeer')
  await w.nodes.delete(undefined, `${w.ns}-a`)
})
