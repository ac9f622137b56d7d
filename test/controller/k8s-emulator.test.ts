/**
 * The Kubernetes API emulator, driven only through @kubernetes/client-node: discovery (the generic
 * KubernetesObjectApi resolves kinds through it), CRUD, resourceVersion and 409 conflicts, merge and
 * JSON patches (a failed `test` op answers 409), 415 on unknown patch types, the status subresource
 * (spec and status written separately, generation moves with spec only), finalizers and
 * deletionTimestamp, owner-reference garbage collection, namespace deletion, label and field
 * selectors, and watches: resume from a resourceVersion, 410 Gone once it left the bounded history.
 */
import t from 'tap'
import { KubernetesObjectApi, PatchStrategy, setHeaderOptions, type KubernetesObject } from '@kubernetes/client-node'
import { KubeEmulator } from '../../controller/emulator/kube/server.js'
import { KubeConnection, makeKubeConfig, ResourceClient, NODES, httpCode, apiMessage, type KubeObject } from '../../controller/k8s/index.js'
import { TGW_REF, ROUTE_REF } from '../../controller/controller.js'
import { crdTexts } from './harness.js'

const API = 'gsi.gsi-router.io/v1alpha1'
type Obj = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> }
const tgwBody = (name: string, ns: string, extra: Record<string, unknown> = {}): Obj =>
  ({ apiVersion: API, kind: 'TransitGateway', metadata: { name, namespace: ns }, spec: { gatewayServiceInstance: 'g', transitGatewayCidrBlock: '100.64.0.0/24', ...extra } })

async function code(p: Promise<unknown>): Promise<number | undefined> {
  try { await p; return 200 } catch (e) { return httpCode(e) }
}

t.test('Kubernetes API emulator through the real client', async t => {
  const emu = new KubeEmulator({ crds: crdTexts(), historyLimit: 20 })
  const url = await emu.start()
  t.teardown(() => emu.stop())
  const conn = new KubeConnection(makeKubeConfig({ server: url }))
  const tgws = new ResourceClient<Obj>(conn, TGW_REF)
  const ns = 'k8s-emu'
  await conn.core.createNamespace({ body: { metadata: { name: ns } } })

  t.test('discovery and the generic client', async t => {
    const generic = KubernetesObjectApi.makeApiClient(makeKubeConfig({ server: url }))
    const created = await generic.create(tgwBody('generic', ns) as KubernetesObject)
    t.equal(created.metadata?.name, 'generic', 'create resolved the TransitGateway kind by discovery')
    const list = await generic.list(API, 'TransitGateway', ns)
    t.ok(list.items.some(i => i.metadata?.name === 'generic'))
    await generic.delete(created)
    t.equal(await code(tgws.get(ns, 'generic').then(x => { if (!x) throw Object.assign(new Error('nf'), { code: 404 }) })), 404)
  })

  t.test('create, conflicts, patches, status subresource, generation', async t => {
    const a = await tgws.create(tgwBody('a', ns, { peerAsn: 65001 }))
    t.equal(a.metadata.generation, 1)
    t.ok(a.metadata.uid && a.metadata.resourceVersion && a.metadata.creationTimestamp)
    t.equal(await code(tgws.create(tgwBody('a', ns))), 409, 'AlreadyExists')
    t.equal(await code(tgws.create(tgwBody('b', 'no-such-ns'))), 404, 'namespace must exist')
    const b = await tgws.replace({ ...a, spec: { ...a.spec, peerAsn: 65002 } })
    t.equal(b.metadata.generation, 2, 'spec change bumps generation')
    const stale = await code(tgws.replace({ ...a, spec: { ...a.spec, peerAsn: 65003 } }))
    t.equal(stale, 409, 'PUT with a stale resourceVersion: 409 Conflict')
    const s = await tgws.mergePatchStatus(ns, 'a', { status: { state: 'pending' }, spec: { peerAsn: 1 } })
    t.equal(s.status?.state, 'pending', 'status written through /status')
    t.equal(s.spec?.peerAsn, 65002, 'spec ignored on /status')
    t.equal(s.metadata.generation, 2, 'status does not bump generation')
    const m = await tgws.mergePatch(ns, 'a', { status: { state: 'hacked' }, metadata: { labels: { x: 'y' } } })
    t.equal(m.status?.state, 'pending', 'status ignored on the main resource')
    t.equal(m.metadata.labels?.x, 'y', 'merge patch applied')
    t.equal(m.metadata.generation, 2, 'metadata change does not bump generation')
    const j = await tgws.jsonPatch(ns, 'a', [{ op: 'test', path: '/metadata/labels/x', value: 'y' }, { op: 'remove', path: '/metadata/labels/x' }])
    t.same(j.metadata.labels, {}, 'JSON patch applied')
    t.equal(await code(tgws.jsonPatch(ns, 'a', [{ op: 'test', path: '/spec/peerAsn', value: 1 }, { op: 'remove', path: '/spec/peerAsn' }])), 409, 'failed test op: 409')
    const bad = await code(conn.custom.patchNamespacedCustomObject({ group: 'gsi.gsi-router.io', version: 'v1alpha1', plural: 'transitgateways', namespace: ns, name: 'a', body: {} }, setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply)))
    t.equal(bad, 415, 'server-side apply not served: 415')
    try {
      await tgws.mergePatch(ns, 'a', { spec: { amazonSideAsn: 65002 } })
      t.fail('invalid patch accepted')
    } catch (e) {
      t.equal(httpCode(e), 422)
      t.match(apiMessage(e), /TransitGateway.gsi.gsi-router.io "a" is invalid: spec.peerAsn/)
    }
    const pruned = await tgws.mergePatch(ns, 'a', { spec: { unknownField: 1 } })
    t.notOk('unknownField' in (pruned.spec ?? {}), 'unknown fields pruned')
  })

  t.test('finalizers, deletionTimestamp, garbage collection', async t => {
    const owner = await tgws.create({ ...tgwBody('owner', ns), metadata: { name: 'owner', namespace: ns, finalizers: ['test/keep'] } })
    const routes = new ResourceClient<Obj>(conn, ROUTE_REF)
    await routes.create({ apiVersion: API, kind: 'Route', metadata: { name: 'child', namespace: ns, ownerReferences: [{ apiVersion: API, kind: 'TransitGateway', name: 'owner', uid: owner.metadata.uid! }] }, spec: { transitGateway: 'owner', routeTableID: 'rtb-0a1b2c3d4e5f60001', destinationCidrBlock: '10.1.0.0/16' } })
    await tgws.delete(ns, 'owner')
    const d = await tgws.get(ns, 'owner')
    t.ok(d?.metadata.deletionTimestamp, 'delete with a finalizer sets deletionTimestamp')
    t.ok(await routes.get(ns, 'child'), 'dependents stay while the owner exists')
    t.equal(await code(tgws.mergePatch(ns, 'owner', { metadata: { finalizers: ['test/keep', 'test/new'] } })), 422, 'no new finalizer while deleting')
    await tgws.jsonPatch(ns, 'owner', [{ op: 'replace', path: '/metadata/finalizers', value: [] }])
    t.equal(await tgws.get(ns, 'owner'), undefined, 'gone once the last finalizer is removed')
    t.equal(await routes.get(ns, 'child'), undefined, 'dependent garbage-collected')
  })

  t.test('selectors and core kinds', async t => {
    const nodes = new ResourceClient<Obj>(conn, NODES)
    await nodes.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'emu-n1', labels: { 'core.juniper.net/crpd-node': '', zone: 'a' } } })
    await nodes.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'emu-n2', labels: { zone: 'b' } } })
    t.same((await nodes.list(undefined, 'core.juniper.net/crpd-node')).items.map(n => n.metadata.name), ['emu-n1'], 'exists selector')
    t.same((await nodes.list(undefined, 'zone in (a,b),!core.juniper.net/crpd-node')).items.map(n => n.metadata.name), ['emu-n2'], 'in and !exists')
    t.same((await nodes.list(undefined, 'zone!=a')).items.map(n => n.metadata.name), ['emu-n2'], '!=')
    const byField = await conn.core.listNode({ fieldSelector: 'metadata.name=emu-n2' })
    t.same(byField.items.map(n => n.metadata?.name), ['emu-n2'], 'field selector')
    const ns2 = 'emu-doomed'
    await conn.core.createNamespace({ body: { metadata: { name: ns2 } } })
    await tgws.create(tgwBody('x', ns2))
    await tgws.create({ ...tgwBody('y', ns2), metadata: { name: 'y', namespace: ns2, finalizers: ['test/f'] } })
    await conn.core.deleteNamespace({ name: ns2 })
    t.equal(await tgws.get(ns2, 'x'), undefined, 'namespace deletion deletes its objects')
    t.equal((await conn.core.readNamespace({ name: ns2 })).status?.phase, 'Terminating', 'namespace waits for finalizers')
    await tgws.jsonPatch(ns2, 'y', [{ op: 'remove', path: '/metadata/finalizers' }])
    t.equal(await code(conn.core.readNamespace({ name: ns2 })), 404, 'namespace gone with its last object')
  })

  t.test('watch: resume from a resourceVersion, 410 Gone when compacted', async t => {
    const list = await tgws.list(ns)
    const rv = list.resourceVersion
    await tgws.create(tgwBody('w1', ns))
    await tgws.mergePatch(ns, 'w1', { metadata: { labels: { a: 'b' } } })
    await tgws.delete(ns, 'w1')
    const events: string[] = []
    let done!: (e: unknown) => void
    const ended = new Promise<unknown>(r => { done = r })
    const ctl = await conn.watcher.watch(tgws.watchPath(ns), { resourceVersion: rv }, (type, obj: Obj) => { events.push(`${type} ${obj.metadata.name}`) }, e => done(e))
    await new Promise(r => setTimeout(r, 200))
    t.same(events, ['ADDED w1', 'MODIFIED w1', 'DELETED w1'], 'history replayed from the resourceVersion')
    await tgws.create(tgwBody('w2', ns))
    await new Promise(r => setTimeout(r, 100))
    t.equal(events.at(-1), 'ADDED w2', 'live events follow')
    ctl.abort()
    await ended
    emu.compact()
    const gone: { type: string; code?: number }[] = []
    await new Promise<void>(resolve => {
      void conn.watcher.watch(tgws.watchPath(ns), { resourceVersion: rv }, (type, obj: { code?: number }) => { gone.push({ type, ...(obj.code ? { code: obj.code } : {}) }) }, () => resolve())
    })
    t.same(gone, [{ type: 'ERROR', code: 410 }], 'an expired resourceVersion gets ERROR 410 Gone')
    const labelled: string[] = []
    const ctl2 = await conn.watcher.watch(tgws.watchPath(ns), { labelSelector: 'pick=me' }, (type, obj: Obj) => { labelled.push(`${type} ${obj.metadata.name}`) }, () => undefined)
    await new Promise(r => setTimeout(r, 50))
    await tgws.mergePatch(ns, 'w2', { metadata: { labels: { pick: 'me' } } })
    await tgws.mergePatch(ns, 'w2', { metadata: { labels: { pick: 'not' } } })
    await new Promise(r => setTimeout(r, 150))
    ctl2.abort()
    t.same(labelled, ['ADDED w2', 'DELETED w2'], 'entering and leaving a label selection are ADDED and DELETED')
  })
})
