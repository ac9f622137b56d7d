/**
 * Scenarios: CN2 registration. Contrail control nodes accept BGP only from routers in their
 * configuration, so the controller writes one CN2 BGPRouter (core.contrail.juniper.net/v1alpha1) per
 * active gateway node in the control nodes' namespace and copies the control nodes' addresses and AS
 * into every ConnectedPeer (spec.controlNodes). Checked through the API emulator: the fields of our
 * BGPRouters and their references to the control nodes; a control node added later; a node removed
 * (its BGPRouter goes, the standby's comes); the TransitGateway deleted (ours go, a foreign BGPRouter
 * and the control nodes stay untouched); the GatewayServiceInstance's spec.cn2 settings; a foreign
 * BGPRouter holding our name; the last control node gone.
 */
import t from 'tap'
import { World, waitFor } from './harness.js'
import { bgpRouterName } from '../../controller/controller.js'
import type { Cn2BgpRouter } from '../../controller/types.js'
import type { KubeObject } from '../../controller/k8s/index.js'

const CN2 = 'core.contrail.juniper.net/v1alpha1'
type R = Cn2BgpRouter & KubeObject

/** Our BGPRouters in a namespace, by name (read from the API, not from a cache). */
async function ours(w: World, ns = 'contrail'): Promise<Map<string, R>> {
  const l = (await w.bgpRouters.list(ns)).items.filter(r => r.metadata.labels?.['gsi.gsi-router.io/transit-gateway'] !== undefined)
  return new Map(l.map(r => [r.metadata.name, r]))
}

const refNames = (r: R | undefined): string[] => (r?.spec?.bgpRouterReferences ?? []).map(x => `${x.namespace}/${x.name}`)

t.test('control nodes present: one BGPRouter per active node, ConnectedPeers carry the control nodes', async t => {
  const w = await new World().start()
  t.teardown(() => w.close())
  const n = (x: string): string => `${w.ns}-${x}`
  await w.cn2Router('cn-1', '10.0.200.11', { asn: 64512 })
  // Another router of CN2's (an MX gateway, say): not a control node, never referenced nor touched.
  const mx = await w.cn2Router('mx', '10.0.200.254', { asn: 64512, routerType: 'router' })
  await w.addNode(n('a'), '10.0.1.51')
  await new Promise(r => setTimeout(r, 1100)) // a later creationTimestamp (second resolution) for b
  await w.addNode(n('b'), '10.0.17.51')
  await w.gsi('gsi', 65010, { maxInstances: 1 })
  await w.tgw()
  w.replica('r1').start()
  await w.readyTgw()

  const nameA = bgpRouterName('tgw', n('a')), nameB = bgpRouterName('tgw', n('b'))
  const a = await waitFor('BGPRouter of the active node', async () => (await ours(w)).get(nameA))
  t.same([...(await ours(w)).keys()], [nameA], 'only the active node is registered, not the standby')
  t.same(a.spec?.parent, { apiVersion: CN2, kind: 'RoutingInstance', namespace: 'contrail', name: 'default' }, 'parent RoutingInstance default')
  t.same(a.spec?.bgpRouterParameters, {
    routerType: 'router', address: '10.0.1.51', identifier: '10.0.1.51', autonomousSystem: 64512,
    addressFamilies: { family: ['route-target', 'inet-vpn', 'inet6-vpn'] }, holdTime: 90,
  }, 'parameters: router, node IP as address and identifier, the control nodes\' AS, VPN families, hold time 90')
  t.same(a.spec?.bgpRouterReferences, [{ apiVersion: CN2, kind: 'BGPRouter', namespace: 'contrail', name: 'cn-1' }], 'references the control node only')
  t.same(a.metadata.labels, {
    'gsi.gsi-router.io/transit-gateway': 'tgw', 'gsi.gsi-router.io/transit-gateway-namespace': w.ns,
    'gsi.gsi-router.io/node': n('a'), 'app.kubernetes.io/managed-by': 'gsi-controller',
  }, 'labelled ours')
  const peer = await waitFor('ConnectedPeer with the control node', async () => (await w.peerList()).find(p => p.spec.controlNodes?.length === 1))
  t.same(peer.spec.controlNodes, [{ address: '10.0.200.11', asn: 64512 }], 'ConnectedPeer.spec.controlNodes from the control node\'s BGPRouter')
  t.equal(peer.spec.nodeName, n('a'))

  // A second control node appears: references and ConnectedPeers follow.
  await w.cn2Router('cn-2', '10.0.200.12', { asn: 64512 })
  const a2 = await waitFor('references updated', async () => {
    const r = (await ours(w)).get(nameA)
    return refNames(r).length === 2 ? r : undefined
  })
  t.same(refNames(a2), ['contrail/cn-1', 'contrail/cn-2'], 'both control nodes referenced')
  const p2 = await waitFor('ConnectedPeer updated', async () => (await w.peerList()).find(p => p.spec.controlNodes?.length === 2))
  t.same(p2.spec.controlNodes, [{ address: '10.0.200.11', asn: 64512 }, { address: '10.0.200.12', asn: 64512 }])

  // The active node leaves: its BGPRouter goes, the standby's comes.
  await w.nodes.delete(undefined, n('a'))
  const b = await waitFor('standby registered, removed node unregistered', async () => {
    const m = await ours(w)
    return m.size === 1 && m.get(nameB) ? m.get(nameB) : undefined
  })
  t.equal(b.spec?.bgpRouterParameters?.address, '10.0.17.51', 'the standby\'s BGPRouter has its IP')
  t.same(refNames(b), ['contrail/cn-1', 'contrail/cn-2'])
  await waitFor('ConnectedPeer of b with control nodes', async () => (await w.peerList()).find(p => p.spec.nodeName === n('b') && p.spec.controlNodes?.length === 2))
  t.pass('the standby\'s ConnectedPeer carries the control nodes')

  // The TransitGateway is deleted: ours go, the control nodes and the foreign router stay as they were.
  await w.tgws.delete(w.ns, 'tgw')
  await waitFor('TransitGateway gone', async () => (await w.get()) === undefined, 20_000)
  t.same([...(await ours(w)).keys()], [], 'our BGPRouters deleted with the TransitGateway')
  const left = (await w.bgpRouters.list('contrail')).items
  t.same(left.map(r => r.metadata.name).sort(), ['cn-1', 'cn-2', 'mx'], 'control nodes and the foreign router remain')
  const mxNow = left.find(r => r.metadata.name === 'mx')!
  t.equal(mxNow.metadata.resourceVersion, mx.metadata.resourceVersion, 'the foreign router was never written')
  const events = (await w.conn.core.listNamespacedEvent({ namespace: w.ns })).items
  t.ok(events.some(e => e.reason === 'BGPRouterCreated'), 'BGPRouterCreated event')
  t.ok(events.some(e => e.reason === 'BGPRouterDeleted'), 'BGPRouterDeleted event (node left)')
  await w.nodes.delete(undefined, n('b'))
})

t.test('spec.cn2 settings, a foreign BGPRouter holding our name, the last control node gone', async t => {
  const w = await new World().start()
  t.teardown(() => w.close())
  const n = (x: string): string => `${w.ns}-${x}`
  // A control node in the default namespace must be ignored: this GSI names another one.
  await w.cn2Router('cn-default', '10.0.200.21', { asn: 64512 })
  await w.cn2Router('cn-x', '10.0.200.31', { asn: 64600, namespace: 'cn2-system', routerType: 'ctrl' })
  // A control-node-typed router in cn2-system with the default type: not a control node under this config.
  await w.cn2Router('other', '10.0.200.32', { asn: 64600, namespace: 'cn2-system' })
  // Someone else's BGPRouter already holds the name ours for node b would get.
  const squatter = await w.cn2Router(bgpRouterName('tgw', n('b')), '10.0.200.99', { asn: 64600, namespace: 'cn2-system', routerType: 'router' })
  await w.addNode(n('a'), '10.0.1.61')
  await w.addNode(n('b'), '10.0.17.61')
  await w.gsi('gsi', 65010, { cn2: { namespace: 'cn2-system', routerType: 'external-control-node', controlNodeRouterType: 'ctrl', autonomousSystem: 65100, parentName: 'ip-fabric', holdTime: 60 } })
  await w.tgw()
  w.replica('r1').start()
  await w.readyTgw()

  const nameA = bgpRouterName('tgw', n('a'))
  const a = await waitFor('BGPRouter in the configured namespace', async () => (await ours(w, 'cn2-system')).get(nameA))
  t.same(a.spec?.parent, { apiVersion: CN2, kind: 'RoutingInstance', namespace: 'cn2-system', name: 'ip-fabric' }, 'configured parent')
  t.same(a.spec?.bgpRouterParameters, {
    routerType: 'external-control-node', address: '10.0.1.61', identifier: '10.0.1.61', autonomousSystem: 65100,
    addressFamilies: { family: ['route-target', 'inet-vpn', 'inet6-vpn'] }, holdTime: 60,
  }, 'configured router type, AS override and hold time')
  t.same(refNames(a), ['cn2-system/cn-x'], 'only the control node of the configured type and namespace')
  t.same([...(await ours(w, 'contrail')).keys()], [], 'nothing written in the default namespace')
  const peers = await waitFor('both ConnectedPeers with the control node', async () => {
    const l = await w.peerList()
    return l.length === 2 && l.every(p => p.spec.controlNodes?.length === 1) ? l : undefined
  })
  for (const p of peers) t.same(p.spec.controlNodes, [{ address: '10.0.200.31', asn: 64600 }], `${p.spec.nodeName}: the control node's own AS, not the override`)
  const conflict = await waitFor('conflict reported', async () => (await w.conn.core.listNamespacedEvent({ namespace: w.ns })).items.find(e => e.reason === 'BGPRouterConflict'))
  t.match(conflict.message, /not ours/, 'the foreign BGPRouter holding our name is reported')
  const sq = await w.bgpRouters.get('cn2-system', squatter.metadata.name)
  t.equal(sq?.metadata.resourceVersion, squatter.metadata.resourceVersion, 'and left untouched')

  // CN2 changes a field we do not own (as its controllers fill fqName): no update war.
  const before = (await ours(w, 'cn2-system')).get(nameA)!
  await w.bgpRouters.replace({ ...before, spec: { ...before.spec, fqName: ['default-domain', 'default-project', 'ip-fabric', 'ip-fabric', nameA] } })
  await new Promise(r => setTimeout(r, 500))
  const after = (await ours(w, 'cn2-system')).get(nameA)!
  t.same(after.spec?.fqName, ['default-domain', 'default-project', 'ip-fabric', 'ip-fabric', nameA], 'a field CN2 filled is kept')

  // The last control node goes: nobody to register with, ours removed, ConnectedPeers emptied.
  await w.bgpRouters.delete('cn2-system', 'cn-x')
  await waitFor('ours removed', async () => (await ours(w, 'cn2-system')).size === 0)
  t.pass('BGPRouters removed when no control node is left')
  await waitFor('ConnectedPeers emptied', async () => (await w.peerList()).every(p => p.spec.controlNodes?.length === 0))
  t.pass('ConnectedPeers carry no control node')
  t.ok(await w.bgpRouters.get('cn2-system', squatter.metadata.name), 'the foreign BGPRouter is still there')
  t.ok(await w.bgpRouters.get('contrail', 'cn-default'), 'the other namespace\'s control node is still there')
  for (const x of ['a', 'b']) await w.nodes.delete(undefined, n(x))
})
