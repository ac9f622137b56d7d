// The Kubernetes source against the repository's API emulator, through the official client: this
// node's ConnectedPeers become the validated model (other nodes' are ignored), a spec change emits a
// new model, a status-only change none, a bad spec is refused naming the object; status.daemon is
// merge-patched on the status subresource only, rate-limited; the MD5 key is read from a Secret; and
// the daemon uses exactly what deploy/rbac.yaml grants it.
import t from 'tap'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { KubeEmulator } from '../../controller/emulator/kube/server.js'
import { KubeConnection, makeKubeConfig, ResourceClient, type KubeObject } from '../../controller/k8s/index.js'
import { API_VERSION, NODE_NAME_LABEL, TRANSIT_GATEWAY_LABEL, type ConnectedPeer, type ConnectedPeerSpec } from '../../controller/types.js'
import { ConfigError, diffConfig } from '../../src/config/index.js'
import { CONNECTED_PEERS, DaemonStatusWriter, KubeConfigSource, readMd5Key, type KubeConfigUpdate } from '../../src/config/kube.js'
import { pino, type Logger } from 'pino'
import { Family } from '../../bgp/codec/afi.js'
import { connectPeerPeers } from '../../src/daemon/peers.js'

// What test/controller/harness.ts offers, without loading the AWS SDK it also brings.
const CRD_DIR = join(import.meta.dirname, '..', '..', 'deploy', 'crds')
const crdTexts = (): string[] => readdirSync(CRD_DIR).filter(f => f.endsWith('.yaml')).sort().map(f => readFileSync(join(CRD_DIR, f), 'utf8'))
const testLog = (): Logger => pino({ level: process.env.GSI_TEST_LOG ?? 'silent' })
async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const t0 = Date.now()
  while (Date.now() - t0 < timeoutMs) {
    const v = fn()
    if (v !== undefined && v !== false) return v
    await new Promise(r => setTimeout(r, 20))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

type Cp = ConnectedPeer & KubeObject
const NS = 'gsi-test'

function spec(node: string, n: number, extra: Partial<ConnectedPeerSpec> = {}): ConnectedPeerSpec {
  return {
    transitGateway: 'tgw', nodeName: node, peerAddress: `10.0.1.${n}`, transitGatewayAddress: '10.100.0.1',
    insideCidrBlocks: [`169.254.${n}.0/29`], localInsideAddresses: [`169.254.${n}.1`], bgpPeerAddresses: [`169.254.${n}.2`, `169.254.${n}.3`],
    peerAsn: 65000, transitGatewayAsn: 64512, exposedRouteTargets: ['target:64512:8000001'], exposedCidrs: ['10.244.0.0/16'], mtu: 8476,
    ...extra,
  }
}
function object(name: string, s: ConnectedPeerSpec): Cp {
  return { apiVersion: API_VERSION, kind: 'ConnectedPeer', metadata: { name, namespace: NS, labels: { [TRANSIT_GATEWAY_LABEL]: 'tgw', [NODE_NAME_LABEL]: s.nodeName } }, spec: s }
}

async function world(t: { teardown(fn: () => unknown): void }): Promise<{ kube: KubeEmulator; admin: ResourceClient<Cp>; adminConn: KubeConnection; daemonConn: KubeConnection }> {
  const kube = new KubeEmulator({ crds: crdTexts() })
  const url = await kube.start()
  t.teardown(() => kube.stop())
  const adminConn = new KubeConnection(makeKubeConfig({ server: url, token: 'gsi-controller' }))
  const daemonConn = new KubeConnection(makeKubeConfig({ server: url, token: 'gsi-routerd' }))
  for (const ns of [NS, 'gsi-system']) await adminConn.core.createNamespace({ body: { metadata: { name: ns } } })
  return { kube, admin: new ResourceClient<Cp>(adminConn, CONNECTED_PEERS), adminConn, daemonConn }
}

const base = { gatewayTable: { table: 1000 }, controlNodes: { peers: [{ address: '10.0.2.99', asn: 64512 }] }, dataplane: 'none' as const }

t.test('ConnectedPeers of this node -> the model; changes -> new models; bad spec refused', async t => {
  const { admin, daemonConn } = await world(t)
  await admin.create(object('tgw-node-a', spec('node-a', 6, { controlNodes: [{ address: '10.0.2.11', asn: 64512 }, { address: '10.0.2.12', asn: 64512 }] })))
  await admin.create(object('tgw-node-b', spec('node-b', 7)))
  const src = new KubeConfigSource({ conn: daemonConn, nodeName: 'node-a', base, log: testLog() })
  t.teardown(() => src.stop())
  const configs: KubeConfigUpdate[] = []
  const invalid: ConfigError[] = []
  src.on('config', u => configs.push(u))
  src.on('invalid', e => invalid.push(e))
  await src.start()
  t.equal(configs.length, 1, 'one model after the first list')
  const c = configs[0]!.config
  t.equal(c.nodeName, 'node-a')
  t.equal(c.nodeAddress, '10.0.1.6', 'nodeAddress = spec.peerAddress')
  t.equal(c.tgw.localAsn, 65000, 'tgw.localAsn = spec.peerAsn')
  t.same(c.tgw.connectPeers, [{
    id: 'tgw-node-a', transitGatewayAddress: '10.100.0.1', insideCidrBlocks: ['169.254.6.0/29'], transitGatewayAsn: 64512, peerAsn: 65000,
    mtu: 8476, ttl: 2, localInsideAddresses: ['169.254.6.1'], bgpPeerAddresses: ['169.254.6.2', '169.254.6.3'],
  }], 'only node-a\'s object, the TGW peers derived from the /29')
  t.same(c.exposed, { routeTargets: ['target:64512:8000001'], cidrs: ['10.244.0.0/16'] })
  t.same(c.controlNodes.peers.map(p => p.address), ['10.0.2.11', '10.0.2.12'], 'spec.controlNodes wins over the base')
  t.equal(c.gatewayTable.table, 1000, 'the base fills what the object does not carry')
  t.same(configs[0]!.objects, [{ namespace: NS, name: 'tgw-node-a', generation: 1, connectPeer: 0 }])

  // A spec change: a new model, and the diff says re-evaluate, no reset.
  await admin.mergePatch(NS, 'tgw-node-a', { spec: { exposedCidrs: ['10.244.0.0/16', '10.245.0.0/16'] } })
  await waitFor('second model', () => configs.length === 2)
  const d = diffConfig(configs[0]!.config, configs[1]!.config)
  t.same(d.exposed?.cidrs, { added: ['10.245.0.0/16'], removed: [] })
  t.same([d.controlNodes.changed, d.connectPeers.changed], [[], []])
  t.equal(configs[1]!.objects[0]!.generation, 2)

  // Status-only writes and other nodes' objects emit nothing; the next spec change emits exactly one.
  await admin.mergePatchStatus(NS, 'tgw-node-a', { status: { state: 'available' } })
  await admin.mergePatch(NS, 'tgw-node-b', { spec: { mtu: 8000 } })
  await admin.mergePatch(NS, 'tgw-node-a', { spec: { mtu: 8400 } })
  await waitFor('third model', () => configs.length >= 3)
  await new Promise(r => setTimeout(r, 200))
  t.equal(configs.length, 3, 'status-only and other-node changes emitted no model')
  t.equal(configs[2]!.config.tgw.connectPeers[0]!.mtu, 8400)

  // A spec the CRD admits but the daemon cannot run (MTU above GRE's 8476): refused, the model stays.
  await admin.mergePatch(NS, 'tgw-node-a', { spec: { mtu: 8500 } })
  await waitFor('invalid', () => invalid.length === 1)
  t.same(invalid[0]!.lines, [`tgw.connectPeers[0].mtu (ConnectedPeer ${NS}/tgw-node-a): 8500 is not an integer in 1280-8476`])
  t.equal(src.current?.config.tgw.connectPeers[0]!.mtu, 8400, 'the running model stays')
  t.equal(configs.length, 3)

  // A second ConnectedPeer for this node (another TGW): a second Connect peer, added without touching the first.
  await admin.mergePatch(NS, 'tgw-node-a', { spec: { mtu: 8400 } })
  await admin.create(object('tgw2-node-a', spec('node-a', 8, { peerAddress: '10.0.1.6', transitGatewayAddress: '10.100.1.1', exposedCidrs: ['10.246.0.0/16'] })))
  await waitFor('model with two Connect peers', () => src.current?.config.tgw.connectPeers.length === 2)
  const before = configs.find(u => u.config.tgw.connectPeers.length === 1 && u.config.tgw.connectPeers[0]!.mtu === 8400)!
  const d2 = diffConfig(before.config, src.current!.config)
  t.same(d2.connectPeers.added.map(p => p.id), ['tgw2-node-a'])
  t.same(d2.connectPeers.changed, [])
  t.same(src.current!.config.exposed.cidrs, ['10.244.0.0/16', '10.245.0.0/16', '10.246.0.0/16'], 'exposed CIDRs are the union')

  await admin.delete(NS, 'tgw2-node-a')
  await waitFor('back to one Connect peer', () => src.current?.config.tgw.connectPeers.length === 1)

  // The last object goes: a valid model without Connect peers and without the control nodes the
  // objects named (the base's instead), keeping what a running daemon cannot change.
  const last = src.current!.config
  const invalidBefore = invalid.length
  await admin.delete(NS, 'tgw-node-a')
  await waitFor('model with no Connect peer', () => src.current?.config.tgw.connectPeers.length === 0)
  const empty = src.current!.config
  t.equal(invalid.length, invalidBefore, 'no refusal: the model is valid')
  t.same([empty.nodeAddress, empty.tgw.localAsn, empty.controlNodes.localAsn], [last.nodeAddress, last.tgw.localAsn, last.controlNodes.localAsn], 'node address and both local ASNs kept')
  t.same(empty.controlNodes.peers.map(p => p.address), ['10.0.2.99'], "the base's control node replaces the objects'")
  t.same(empty.exposed, last.exposed, 'exposure kept (nothing is advertised without a TGW session)')
  const d3 = diffConfig(last, empty)
  t.same(d3.connectPeers.removed.map(p => p.id), ['tgw-node-a'])
})

t.test('DaemonStatusWriter: status subresource only, rate-limited, latest wins, none when unchanged', async t => {
  const { kube, admin, daemonConn } = await world(t)
  await admin.create(object('tgw-node-a', spec('node-a', 6)))
  const w = new DaemonStatusWriter({ conn: daemonConn, log: testLog(), intervalMs: 1500 })
  t.teardown(() => w.stop())
  const session = (state: 'Active' | 'Established', extra = {}) => ({ peerAddress: '169.254.6.2', state, ...extra })
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const stored = (): any => kube.objects('gsi.gsi-router.io', 'connectedpeers', NS)[0]
  const t0 = Date.now()
  w.report(NS, 'tgw-node-a', { observedGeneration: 1, greLinkUp: false, sessions: [session('Active', { lastError: 'connect-retry' })] })
  await waitFor('first patch', () => w.patches === 1)
  t.ok(Date.now() - t0 < 1500, 'the first report is written at once, not after the interval')
  w.report(NS, 'tgw-node-a', { observedGeneration: 1, greLinkUp: true, sessions: [session('Active')] })
  w.report(NS, 'tgw-node-a', { observedGeneration: 1, greLinkUp: true, sessions: [session('Established', { since: '2026-12-06T08:00:00Z', prefixesReceived: 3, prefixesAdvertised: 1 })] })
  await new Promise(r => setTimeout(r, 150))
  t.equal(w.patches, 1, 'nothing more within the interval')
  await waitFor('second patch', () => w.patches === 2)
  t.ok(Date.now() - t0 >= 1500, 'the second patch waited for the interval')
  const daemon = stored().status.daemon
  t.same({ ...daemon, updatedAt: 'x' }, {
    observedGeneration: 1, greLinkUp: true, updatedAt: 'x',
    sessions: [{ peerAddress: '169.254.6.2', state: 'Established', since: '2026-12-06T08:00:00Z', prefixesReceived: 3, prefixesAdvertised: 1 }],
  }, 'the latest report won; the session list was replaced whole (lastError gone)')
  t.match(daemon.updatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  t.equal(stored().metadata.generation, 1, 'spec untouched: generation unchanged')

  w.report(NS, 'tgw-node-a', { observedGeneration: 1, greLinkUp: true, sessions: [session('Established', { since: '2026-12-06T08:00:00Z', prefixesReceived: 3, prefixesAdvertised: 1 })] })
  await new Promise(r => setTimeout(r, 1800))
  t.equal(w.patches, 2, 'an unchanged report is not written')

  w.report(NS, 'tgw-node-a', { observedGeneration: 2, sessions: [] })
  await waitFor('third patch', () => w.patches === 3)
  t.same(Object.keys(stored().status.daemon).sort(), ['observedGeneration', 'sessions', 'updatedAt'], 'a field dropped from the report is removed')
  t.equal(stored().status.daemon.observedGeneration, 2)

  await admin.delete(NS, 'tgw-node-a')
  w.report(NS, 'tgw-node-a', { observedGeneration: 3, sessions: [] })
  await waitFor('404 seen', () => w.failures === 1)
  w.report(NS, 'tgw-node-a', { observedGeneration: 4, sessions: [] })
  await new Promise(r => setTimeout(r, 100))

  const used = [...(kube.audit.get('gsi-routerd') ?? [])].sort()
  t.same(used, ['patch gsi.gsi-router.io/connectedpeers/status'], 'the writer touched the status subresource only')
})

t.test('MD5 key from a Secret (through the client) or a file', async t => {
  const { adminConn, daemonConn } = await world(t)
  await adminConn.core.createNamespacedSecret({ namespace: 'gsi-system', body: { metadata: { name: 'gsi-router-bgp-md5' }, stringData: { password: 's3cret-Key' } } })
  const stored = await adminConn.core.readNamespacedSecret({ namespace: 'gsi-system', name: 'gsi-router-bgp-md5' })
  t.same(stored.data, { password: Buffer.from('s3cret-Key').toString('base64') }, 'the emulator stores stringData as base64 data, as the API server does')
  t.equal(stored.stringData, undefined)
  const ctx = { conn: daemonConn, namespace: 'gsi-system' }
  t.equal(await readMd5Key({ secretRef: { name: 'gsi-router-bgp-md5', key: 'password' } }, ctx), 's3cret-Key')
  await t.rejects(readMd5Key({ secretRef: { name: 'gsi-router-bgp-md5', key: 'pass' } }, ctx), { message: 'controlNodes.md5.secretRef: Secret gsi-system/gsi-router-bgp-md5 has no key "pass"' })
  await t.rejects(readMd5Key({ secretRef: { name: 'nope', key: 'password' } }, ctx), { message: 'controlNodes.md5.secretRef: Secret gsi-system/nope has no key "password"' })
  await t.rejects(adminConn.core.createNamespacedSecret({ namespace: 'gsi-system', body: { metadata: { name: 'bad' }, data: { k: 'not base64!' } } }), { code: 422 }, 'data must be base64')
  const dir = mkdtempSync(join(tmpdir(), 'gsi-md5-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'key'), 'file-key\n')
  t.equal(await readMd5Key({ file: join(dir, 'key') }), 'file-key')
  await t.rejects(readMd5Key({ file: join(dir, 'absent') }), { message: `controlNodes.md5.file: cannot read ${join(dir, 'absent')}: ENOENT` }, 'a missing file names the field')
  writeFileSync(join(dir, 'long'), 'k'.repeat(81))
  await t.rejects(readMd5Key({ file: join(dir, 'long') }), { message: `controlNodes.md5.file: ${join(dir, 'long')} holds 81 bytes; a TCP-MD5 key is at most 80 (TCP_MD5SIG_MAXKEYLEN)` })
  writeFileSync(join(dir, 'empty'), '\n')
  await t.rejects(readMd5Key({ file: join(dir, 'empty') }), { message: `controlNodes.md5.file: ${join(dir, 'empty')} is empty` })
  t.equal(await readMd5Key(undefined), undefined)
})

t.test('the daemon\'s requests are exactly what deploy/rbac.yaml grants gsi-routerd', async t => {
  const { kube, admin, adminConn, daemonConn } = await world(t)
  await admin.create(object('tgw-node-a', spec('node-a', 6)))
  await adminConn.core.createNamespacedSecret({ namespace: 'gsi-system', body: { metadata: { name: 'md5' }, stringData: { password: 'x' } } })
  const src = new KubeConfigSource({ conn: daemonConn, nodeName: 'node-a', base, log: testLog() })
  t.teardown(() => src.stop())
  await src.start()
  await readMd5Key({ secretRef: { name: 'md5', key: 'password' } }, { conn: daemonConn, namespace: 'gsi-system' })
  const w = new DaemonStatusWriter({ conn: daemonConn, log: testLog(), intervalMs: 50 })
  w.report(NS, 'tgw-node-a', { sessions: [] })
  await waitFor('patched', () => w.patches === 1)
  await waitFor('watching', () => kube.audit.get('gsi-routerd')?.has('watch gsi.gsi-router.io/connectedpeers'))
  const rbac = parseAllDocuments(readFileSync(join(import.meta.dirname, '..', '..', 'deploy', 'rbac.yaml'), 'utf8')).map(d => d.toJS() as { kind: string; metadata: { name: string }; rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[] })
  const granted = new Set<string>()
  for (const d of rbac) {
    if (!((d.kind === 'ClusterRole' && d.metadata.name === 'gsi-routerd') || (d.kind === 'Role' && d.metadata.name === 'gsi-routerd-secrets'))) continue
    for (const r of d.rules ?? []) for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) granted.add(`${v} ${g}/${res}`)
  }
  const used = [...(kube.audit.get('gsi-routerd') ?? [])].sort()
  t.same(used, ['get /secrets', 'list gsi.gsi-router.io/connectedpeers', 'patch gsi.gsi-router.io/connectedpeers/status', 'watch gsi.gsi-router.io/connectedpeers'])
  for (const u of used) t.ok(granted.has(u), `granted: ${u}`)
  t.same([...granted].filter(g => !used.includes(g)), ['get gsi.gsi-router.io/connectedpeers'], 'the only unused grant: get (kept for gsictl-style reads)')
})

t.test('an IPv6 inside /125 in the ConnectedPeer: IPv6 unicast on the two IPv4 TGW sessions', async t => {
  const { admin, daemonConn } = await world(t)
  await admin.create(object('tgw-node-a', spec('node-a', 9, { insideCidrBlocks: ['169.254.9.0/29', 'fd00:9::/125'], localInsideAddresses: ['169.254.9.1', 'fd00:9::1'] })))
  const src = new KubeConfigSource({ conn: daemonConn, nodeName: 'node-a', base, log: testLog() })
  t.teardown(() => src.stop())
  await src.start()
  const c = src.current!.config
  const cp = c.tgw.connectPeers[0]!
  t.same(cp.insideCidrBlocks, ['169.254.9.0/29', 'fd00:9::/125'], 'the CRD admits the /125 and the model keeps it')
  t.same(cp.localInsideAddresses, ['169.254.9.1', 'fd00:9::1'])
  const peers = connectPeerPeers(c, cp)
  t.same(peers.map(p => p.config.address), ['169.254.9.2', '169.254.9.3'], 'still two sessions, to the IPv4 .2 and .3')
  for (const p of peers) {
    t.same(p.config.families, [Family.Ipv4Unicast, Family.Ipv6Unicast], `${p.config.address}: IPv4 and IPv6 unicast`)
    t.equal(p.config.localIpv6NextHop, 'fd00:9::1', `${p.config.address}: our IPv6 next hop is the /125's ::1`)
  }
})
