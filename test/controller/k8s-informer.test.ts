/**
 * The list-then-watch informer through the real client against the emulator: initial list fills the
 * cache; events keep it current; a watch closed by the server resumes from the last resourceVersion
 * without relisting; a 410 Gone (history compacted) relists and emits what changed during the gap,
 * deletes included; an optional informer on a resource the server does not serve is empty and synced.
 */
import t from 'tap'
import { KubeEmulator } from '../../controller/emulator/kube/server.js'
import { Informer, KubeConnection, makeKubeConfig, ResourceClient, type KubeObject } from '../../controller/k8s/index.js'
import { TGW_REF, VN_REF } from '../../controller/controller.js'
import { crdTexts, testLog, waitFor } from './harness.js'

type Obj = KubeObject & { spec?: Record<string, unknown> }
const body = (name: string, ns: string): Obj =>
  ({ apiVersion: 'gsi.gsi-router.io/v1alpha1', kind: 'TransitGateway', metadata: { name, namespace: ns }, spec: { gatewayServiceInstance: 'g', transitGatewayCidrBlock: '100.64.0.0/24' } })

t.test('informer: list, watch, resume, relist on 410 Gone', async t => {
  const emu = new KubeEmulator({ crds: crdTexts(), historyLimit: 5, cn2: false })
  const url = await emu.start()
  t.teardown(() => emu.stop())
  const conn = new KubeConnection(makeKubeConfig({ server: url }))
  const api = new ResourceClient<Obj>(conn, TGW_REF)
  const ns = 'inf'
  await conn.core.createNamespace({ body: { metadata: { name: ns } } })
  await api.create(body('pre', ns))
  const log: string[] = []
  const relists: string[] = []
  const inf = new Informer(api, { log: testLog(), namespace: ns, backoffMs: 20, onRelist: c => relists.push(c) }, {
    add: o => log.push(`add ${o.metadata.name}`),
    update: (_o, n) => log.push(`update ${n.metadata.name}`),
    delete: o => log.push(`delete ${o.metadata.name}`),
  })
  t.teardown(() => inf.stop())
  await inf.start()
  t.same(log, ['add pre'], 'initial list')
  t.ok(inf.hasSynced)

  await api.create(body('a', ns))
  await api.mergePatch(ns, 'a', { metadata: { labels: { v: '1' } } })
  await waitFor('a updated', () => inf.get(`${ns}/a`)?.metadata.labels?.v === '1')
  t.same(log.slice(1), ['add a', 'update a'], 'watch events')

  emu.closeWatches()
  await api.mergePatch(ns, 'a', { metadata: { labels: { v: '2' } } })
  await waitFor('resumed', () => inf.get(`${ns}/a`)?.metadata.labels?.v === '2')
  t.same(relists, ['initial'], 'a closed watch resumes without a relist')

  // A stalled watch misses a deletion and updates; the server then expires it (410 Gone): the
  // informer relists and emits what it missed, the deletion included.
  emu.stallWatches = true
  await api.delete(ns, 'pre')
  for (let i = 0; i < 8; i++) await api.mergePatch(ns, 'a', { metadata: { labels: { v: `x${i}` } } })
  t.ok(inf.get(`${ns}/pre`), 'the stalled informer still has the deleted object')
  emu.stallWatches = false
  emu.expireWatches()
  await waitFor('relisted after 410', () => relists.includes('gone') && inf.get(`${ns}/pre`) === undefined && inf.get(`${ns}/a`)?.metadata.labels?.v === 'x7')
  t.ok(relists.includes('gone'), `relisted after 410 Gone (${relists.join(',')})`)
  t.ok(log.includes('delete pre'), 'deletion during the gap emitted by the relist')
  t.same(inf.list().map(o => o.metadata.name).sort(), ['a'], 'cache equals the server')
  await api.create(body('after', ns))
  await waitFor('watching again', () => inf.get(`${ns}/after`))
  t.pass('watching again after the relist')
})

t.test('optional informer on an unserved resource', async t => {
  const emu = new KubeEmulator({ crds: crdTexts(), cn2: false })
  const url = await emu.start()
  t.teardown(() => emu.stop())
  const conn = new KubeConnection(makeKubeConfig({ server: url }))
  const inf = new Informer(new ResourceClient<Obj>(conn, VN_REF), { log: testLog(), optional: true, backoffMs: 1000 })
  t.teardown(() => inf.stop())
  await inf.start()
  t.equal(inf.available, false, 'VirtualNetworks not served: unavailable')
  t.same(inf.list(), [], 'and empty')
})
