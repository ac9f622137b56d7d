/**
 * Least privilege, checked by use: the controller runs against the API emulator with its own bearer
 * token through a whole life cycle (create to Ready with a CN2 control node, node added and removed, a
 * second control node, deletion, Lease release),
 * the emulator's audit records every "verb group/resource[/subresource]" it requested, and the
 * gsi-controller ClusterRole + leader-election Role of deploy/rbac.yaml must allow each of them, and
 * grant nothing that was not used except the rules documented as not exercised.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { World, waitFor } from './harness.js'
import { KubeConnection, makeKubeConfig } from '../../controller/k8s/index.js'

interface Rule { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }
const docs = parseAllDocuments(readFileSync(join(import.meta.dirname, '..', '..', 'deploy', 'rbac.yaml'), 'utf8')).map(d => d.toJS() as { kind: string; metadata: { name: string }; rules?: Rule[] })
const rulesOf = (kind: string, name: string): Rule[] => docs.find(d => d.kind === kind && d.metadata.name === name)?.rules ?? []

/** "verb group/resource" strings granted by rules. */
function grants(rules: Rule[]): Set<string> {
  const out = new Set<string>()
  for (const r of rules) for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) out.add(`${v} ${g}/${res}`)
  return out
}

t.test('the controller uses exactly what deploy/rbac.yaml grants', async t => {
  const w = await new World().start()
  t.teardown(() => w.close())
  const conn = new KubeConnection(makeKubeConfig({ server: w.kube.url, token: 'gsi-controller' }))
  await w.cn2Router('cn-1', '10.0.200.81', { asn: 64512 })
  await w.addNode(`${w.ns}-a`, '10.0.1.81')
  await w.gsi()
  await w.tgw()
  const r = w.replica('rbac-1', undefined, { conn })
  r.start()
  await w.readyTgw()
  await w.addNode(`${w.ns}-b`, '10.0.17.81')
  await waitFor('second peer', async () => (await w.peerList()).length === 2)
  await waitFor('two BGPRouters of ours', async () => (await w.bgpRouters.list('contrail')).items.length === 3)
  await w.nodes.delete(undefined, `${w.ns}-b`)
  await waitFor('one peer', async () => (await w.peerList()).length === 1)
  await waitFor('one BGPRouter of ours', async () => (await w.bgpRouters.list('contrail')).items.length === 2)
  await w.cn2Router('cn-2', '10.0.200.82', { asn: 64512 })
  await waitFor('BGPRouter references both control nodes', async () => (await w.bgpRouters.list('contrail')).items.some(r => r.spec?.bgpRouterReferences?.length === 2))
  await w.tgws.mergePatch(w.ns, 'tgw', { spec: { exposed: { cidrs: ['10.100.0.0/16', '10.101.0.0/16'] } } })
  await waitFor('ConnectedPeer spec updated', async () => (await w.peerList())[0]?.spec.exposedCidrs.length === 2)
  await w.tgws.delete(w.ns, 'tgw')
  await waitFor('deleted', async () => (await w.get()) === undefined, 20_000)
  await r.stop()
  await w.nodes.delete(undefined, `${w.ns}-a`)

  const used = w.kube.audit.get('gsi-controller') ?? new Set<string>()
  const granted = grants([...rulesOf('ClusterRole', 'gsi-controller'), ...rulesOf('Role', 'gsi-controller-leader-election')])
  t.ok(used.size > 10, `${used.size} distinct requests recorded`)
  for (const u of [...used].sort()) t.ok(granted.has(u), `granted: ${u}`)
  // Granted but not seen in this run; each is documented in rbac.yaml.
  const notExercised = new Set(['get gsi.gsi-router.io/connectedpeers', 'get gsi.gsi-router.io/routes', 'get core.contrail.juniper.net/bgprouters', 'patch /events'])
  for (const g of [...granted].sort()) {
    if (!used.has(g)) t.ok(notExercised.has(g), `unused grant is documented as not exercised: ${g}`)
  }
  const ro = grants(rulesOf('ClusterRole', 'gsi-routerd'))
  t.same([...ro].sort(), ['get gsi.gsi-router.io/connectedpeers', 'list gsi.gsi-router.io/connectedpeers', 'patch gsi.gsi-router.io/connectedpeers/status', 'watch gsi.gsi-router.io/connectedpeers'], 'the daemon reads ConnectedPeers and patches their status, nothing else')
})
