// gsi-routerd in Kubernetes mode, end to end, as the DaemonSet runs it: the real program (NODE_NAME,
// --kubeconfig with the daemon's service-account token, --base for what the ConnectedPeer does not
// carry) against the repository's Kubernetes API emulator with our CRDs installed, inside a node
// namespace (dataplane none), gobgpd as the CN2 control node and two BIRD processes as the TGW's .2
// and .3. The ConnectedPeer is written as gsi-controller writes it (spec.controlNodes included);
// what the peers received is read from their own CLIs, what the daemon reported from the API server.
import t from 'tap'
import { KubeConnection, makeKubeConfig, ResourceClient, type KubeObject } from '../../controller/k8s/index.js'
import { API_VERSION, NODE_NAME_LABEL, TRANSIT_GATEWAY_LABEL, type ConnectedPeer, type ConnectedPeerSpec, type DaemonStatus } from '../../controller/types.js'
import { CONNECTED_PEERS } from '../../src/config/kube.js'
import { Topology, type NodeNet } from './topology.js'
import { startControlNode, startTgw, waitUntil, sleep, type ControlNode, type GobgpPath, type Tgw, sameBirdTime, withoutBirdTimes } from '../../src/lab/peers.js'
import { RouterDaemon, finishDaemon } from './daemons.js'
import { DAEMON_USER, startKubeApi, type KubeApi } from './kube-api.js'

t.setTimeout(300_000)

type Cp = ConnectedPeer & KubeObject
const NS = 'gsi-system'
const RT = 'target:64512:8000001'
const POD_NAME = 'gsi-routerd-x7k2p'

const topo = new Topology(1, 'gsik')
const n = topo.nodes[0] as NodeNet
let cn: ControlNode
let tgw: Tgw
let api: KubeApi
let admin: ResourceClient<Cp>
let d: RouterDaemon
t.teardown(async () => {
  await finishDaemon(t, d)
  await api?.stop()
  await cn?.stop()
  await tgw?.stop()
  topo.destroy()
})

/** The spec gsi-controller writes for this node's Connect peer. */
function cpSpec(node: NodeNet, extra: Partial<ConnectedPeerSpec> = {}): ConnectedPeerSpec {
  return {
    transitGateway: 'tgw', nodeName: `node${node.index}`, peerAddress: node.address, transitGatewayAddress: '192.0.2.100',
    insideCidrBlocks: [node.insideCidr], localInsideAddresses: [node.insideLocal], bgpPeerAddresses: [...node.tgwPeers],
    peerAsn: 65001, transitGatewayAsn: 64512, exposedRouteTargets: [RT], exposedCidrs: ['10.244.0.0/16'], mtu: 8476,
    controlNodes: [{ address: node.controlNode, asn: 64512 }],
    ...extra,
  }
}
const cpObject = (name: string, s: ConnectedPeerSpec): Cp => ({
  apiVersion: API_VERSION, kind: 'ConnectedPeer',
  metadata: { name, namespace: NS, labels: { [TRANSIT_GATEWAY_LABEL]: 'tgw', [NODE_NAME_LABEL]: s.nodeName } }, spec: s,
})
const CP = 'tgw-node1'

const pod = (i: number, prefix = `10.244.${i}.5/32`) => ({ prefix, rd: `64512:${i}`, label: 100 + i, rt: RT, vrouter: `198.18.100.${i}` })

interface SummaryPeer { address: string; state: string; flaps: number; stateSince: number; side: string }
const summary = (): SummaryPeer[] => d.gsictlJson<{ peers: SummaryPeer[] }>(['show', 'bgp', 'summary']).peers

/** status.daemon as the API server holds it. */
async function daemonStatus(): Promise<{ generation: number; status: DaemonStatus | undefined }> {
  const o = await admin.get(NS, CP)
  return { generation: o?.metadata.generation ?? -1, status: (o?.status as { daemon?: DaemonStatus } | undefined)?.daemon }
}

async function waitStatus(what: string, ok: (s: DaemonStatus, generation: number) => boolean, timeoutMs = 30_000): Promise<DaemonStatus> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    const { generation, status } = await daemonStatus()
    if (status !== undefined && ok(status, generation)) return status
    last = status
    if (Date.now() > deadline) throw new Error(`timed out waiting for status.daemon: ${what}; last: ${JSON.stringify(last)}`)
    await sleep(250)
  }
}

/** BIRD's "since" of each TGW session: it changes on any reset of the session. */
function birdSince(): Map<string, string> {
  const m = new Map<string, string>()
  for (const line of tgw.birdc('show protocols').split('\n')) {
    const f = line.trim().split(/\s+/)
    if (f[1] === 'BGP') m.set(f[0] as string, `${f[3]} ${f[4]}`)
  }
  return m
}

function metrics(): string {
  return topo.exec(n.ns, process.execPath, ['-e', 'fetch("http://127.0.0.1:9478/metrics").then(r=>r.text()).then(t=>process.stdout.write(t))'])
}

function gobgpVpn(): Map<string, GobgpPath[]> {
  return new Map(Object.entries(cn.json<Record<string, GobgpPath[]> | null>(['global', 'rib', '-a', 'vpnv4']) ?? {}))
}

t.before(async () => {
  cn = await startControlNode(topo, { restartTime: 5 })
  tgw = await startTgw(topo, { peerAsn: 65001, vpcCidrs: ['10.0.0.0/16'] })
  // The base (the DaemonSet's ConfigMap): everything but what the ConnectedPeer carries.
  d = new RouterDaemon(n.ns, {
    dataplane: 'none',
    tgw: { holdTime: 9 },
    controlNodes: { holdTime: 9 },
    gracefulRestart: { restartTime: 30, staleRoutesTime: 30, deferralTime: 30 },
    http: { address: '127.0.0.1', port: 9478 },
    log: { level: 'debug' },
  })
  d.write({ ...d.config, api: { socket: `${d.dir}/api.sock` } })
  api = await startKubeApi(topo, n.ns, d.dir)
  const conn = new KubeConnection(makeKubeConfig({ server: api.url, token: 'gsi-controller' }))
  await conn.core.createNamespace({ body: { metadata: { name: NS } } })
  admin = new ResourceClient<Cp>(conn, CONNECTED_PEERS)
  d.startWith(['--kubeconfig', api.kubeconfig, '--base', d.configFile], { NODE_NAME: 'node1', POD_NAME })
})

t.test('the ConnectedPeer of this node brings up the control-node session and both TGW sessions', async (t) => {
  await waitUntil('the daemon waiting for its ConnectedPeer', 60_000, () => d.records(/no ConnectedPeer for this node yet/).length > 0)
  t.pass('with no ConnectedPeer yet the daemon waits')
  // another node's object (same TGW): not ours
  await admin.create(cpObject('tgw-node2', cpSpec({ ...n, index: 2, address: '198.18.2.2', insideCidr: '169.254.7.0/29', insideLocal: '169.254.7.1', tgwPeers: ['169.254.7.2', '169.254.7.3'] })))
  await admin.create(cpObject(CP, cpSpec(n)))
  await waitUntil('every session Established', 60_000, () => {
    const s = tgw.sessions()
    return s.get('n1a') === 'Established' && s.get('n1b') === 'Established' && cn.neighborState(n.address) === 'established'
  })
  const peers = summary()
  t.same(peers.map((p) => [p.side, p.address, p.state]).sort(), [['cn2', n.controlNode, 'Established'], ['tgw', n.tgwPeers[0], 'Established'], ['tgw', n.tgwPeers[1], 'Established']],
    'the control node from spec.controlNodes, the TGW .2 and .3 from the inside /29: nothing of the other node')
  const cfg = d.gsictlJson<{ nodeName: string; nodeAddress: string; tgw: { localAsn: number; connectPeers: { id: string }[] } }>(['show', 'config'])
  t.match(cfg, { nodeName: 'node1', nodeAddress: n.address, tgw: { localAsn: 65001 } }, 'node name from NODE_NAME, address and AS from the spec')
  t.same(cfg.tgw.connectPeers.map((c) => c.id), [CP], 'one Connect peer, named after the object')
})

t.test('status.daemon: observed generation, no GRE link state with dataplane none, each TGW session', async (t) => {
  cn.addPod(pod(1))
  await waitUntil('aggregate at the TGW', 30_000, () => tgw.paths('10.244.0.0/16').length === 2)
  const s = await waitStatus('both sessions Established, one prefix each way', (x) =>
    x.sessions.length === 2 && x.sessions.every((y) => y.state === 'Established' && y.prefixesReceived === 1 && y.prefixesAdvertised === 1))
  t.equal(s.observedGeneration, 1, 'observedGeneration = the spec generation applied')
  t.equal(s.podName, POD_NAME, 'the pod that wrote it')
  t.notOk('greLinkUp' in s, 'no GRE link state: dataplane none creates no link')
  t.same(s.sessions.map((x) => x.peerAddress).sort(), [...n.tgwPeers], 'one entry per TGW session (.2, .3)')
  for (const x of s.sessions) {
    const since = Date.parse(x.since ?? '')
    t.ok(Number.isFinite(since) && since <= Date.now() && since > Date.now() - 120_000, `${x.peerAddress}: since is the time it came up (${x.since})`)
    t.notOk('lastError' in x, `${x.peerAddress}: no last error`)
  }
  t.ok(Number.isFinite(Date.parse(s.updatedAt)), 'updatedAt')
  // the probes through the Connect peer (real ICMP to the TGW namespace's .2 and .3)
  const dp = await waitStatus('the data plane up in status.daemon', (x) => x.dataplane?.state === 'up' && x.dataplane.probes.every((y) => y.state === 'alive'))
  t.match(dp.dataplane, { state: 'up', routesWithdrawn: false }, 'status.daemon.dataplane: up, nothing withdrawn')
  t.same(dp.dataplane?.probes.map((y) => y.address).sort(), [...n.tgwPeers], 'one probe per TGW BGP address')
  t.match(dp.dataplane?.families, [{ family: 'ipv4', state: 'up', routesWithdrawn: false }], 'one IP version (no inside /125), accepted by the CRD\'s status schema')
  t.equal(dp.dataplane?.families?.length, 1)
  const other = await admin.get(NS, 'tgw-node2')
  t.notOk((other?.status as { daemon?: unknown } | undefined)?.daemon, "another node's ConnectedPeer is not written")
  const o = await admin.get(NS, CP)
  t.equal(o?.metadata.generation, 1, 'status writes do not move the spec generation')
  t.same([...(api.kube.audit.get(DAEMON_USER) ?? [])].sort(), [
    'list gsi.gsi-router.io/connectedpeers', 'patch gsi.gsi-router.io/connectedpeers/status', 'watch gsi.gsi-router.io/connectedpeers',
  ], 'the daemon read its objects and wrote only the status subresource (what deploy/rbac.yaml grants)')

  // a TGW session going down shows in status.daemon with its last error
  tgw.birdcFor('n1b', 'disable n1b')
  const down = await waitStatus('.3 down with its reason', (x) => x.sessions.some((y) => y.peerAddress === n.tgwPeers[1] && y.state !== 'Established' && y.lastError !== undefined))
  const s3 = down.sessions.find((y) => y.peerAddress === n.tgwPeers[1])
  // BIRD's Cease first, then (BIRD disabled) the refused reconnections: the latest reason is shown
  t.match(s3?.lastError, /notification|cease|shutdown|connection-refused/i, `.3: last error names why (${s3?.lastError})`)
  t.equal(down.sessions.find((y) => y.peerAddress === n.tgwPeers[0])?.state, 'Established', '.2 unaffected')
  tgw.birdcFor('n1b', 'enable n1b')
  await waitStatus('.3 back', (x) => x.sessions.every((y) => y.state === 'Established'))
  t.pass('.3 Established again in status.daemon')
})

t.test('a spec change is applied without resetting untouched sessions', async (t) => {
  await waitUntil('both TGW sessions up', 30_000, () => tgw.sessions().get('n1a') === 'Established' && tgw.sessions().get('n1b') === 'Established')
  await sleep(1500)
  const before = summary()
  const birdBefore = birdSince()
  cn.addPod(pod(3, '10.246.3.5/32'))
  // a newly exposed CIDR, and the TGW's GRE address moved (the GRE link changes, its sessions do not)
  await admin.mergePatch(NS, CP, { spec: { exposedCidrs: ['10.244.0.0/16', '10.246.0.0/16'], transitGatewayAddress: '192.0.2.101' } })
  await waitUntil('10.246.0.0/16 at the TGW from both sessions', 30_000, () => tgw.paths('10.246.0.0/16').length === 2)
  t.pass('a newly exposed CIDR is advertised to both TGW sessions')
  const cfg = d.gsictlJson<{ tgw: { connectPeers: { transitGatewayAddress: string }[] } }>(['show', 'config'])
  t.equal(cfg.tgw.connectPeers[0]?.transitGatewayAddress, '192.0.2.101', 'the new TGW GRE address is in the running configuration')
  await waitStatus('observedGeneration 2', (x) => x.observedGeneration === 2)
  t.pass('status.daemon follows the new generation')

  // a second control node (from CN2's BGPRouters): a session is added, the others are left alone
  const extra = '198.18.1.9'
  await admin.mergePatch(NS, CP, { spec: { controlNodes: [{ address: n.controlNode, asn: 64512 }, { address: extra, asn: 64512 }] } })
  const added = await waitUntil('the new control node in the summary', 30_000, () => summary().find((p) => p.address === extra))
  t.equal(added.side, 'cn2', 'the new control node is a CN2-side peer')
  await waitStatus('observedGeneration 3', (x) => x.observedGeneration === 3)
  const after = summary()
  for (const p of before) {
    t.match(after.find((x) => x.address === p.address), { state: 'Established', flaps: p.flaps, stateSince: p.stateSince }, `${p.address}: session not reset`)
  }
  const birdAfter = birdSince()
  t.same([...birdAfter.keys()], [...birdBefore.keys()], 'BIRD has the same TGW sessions')
  for (const [name, since] of birdBefore) {
    const now = birdAfter.get(name) ?? ''
    t.ok(withoutBirdTimes(now) === withoutBirdTimes(since) && sameBirdTime(now, since), `BIRD saw no reset of ${name} (${since} -> ${now})`)
  }
  t.equal(cn.neighborState(n.address), 'established', 'the control node saw no reset')
  const log = d.records(/configuration applied/)
  t.match(JSON.stringify(log.at(-1)), /"added":\["cn2-198\.18\.1\.9"\],"removed":\[\],"reset":\[\]/, 'the reload added one peer and reset none')

  await admin.mergePatch(NS, CP, { spec: { controlNodes: [{ address: n.controlNode, asn: 64512 }] } })
  await waitUntil('the extra control node removed', 30_000, () => !summary().some((p) => p.address === extra))
  t.pass('and removed again when the spec drops it')
})

t.test('an invalid spec is refused: logged, counted, the running configuration stays', async (t) => {
  const gen = (await waitStatus('the last spec change observed', (x, g) => x.observedGeneration === g)).observedGeneration ?? 0
  const before = summary()
  // The CRD admits it, the daemon cannot run it: MTU above what GRE over the TGW's 8,500 bytes allows.
  const o = await admin.mergePatch(NS, CP, { spec: { mtu: 8500 } })
  t.equal(o.metadata.generation, gen + 1, 'the API server took the change')
  const rec = await waitUntil('the refusal logged', 30_000, () => d.records(/do not make a valid configuration/).at(0))
  t.match(JSON.stringify(rec), new RegExp(`tgw\\.connectPeers\\[0\\]\\.mtu \\(ConnectedPeer ${NS}/${CP}\\): 8500`), 'the problem names the field and the object')
  t.match(metrics(), /gsi_config_reloads_total\{result="rejected"\} 1/, 'counted in gsi_config_reloads_total')
  const cfg = d.gsictlJson<{ tgw: { connectPeers: { mtu: number }[] } }>(['show', 'config'])
  t.equal(cfg.tgw.connectPeers[0]?.mtu, 8476, 'the running configuration stays')
  await sleep(6000) // more than the status interval
  const s = await daemonStatus()
  t.equal(s.status?.observedGeneration, gen, 'observedGeneration stays at the last applied generation')
  t.equal(s.generation, gen + 1)
  for (const p of before) t.match(summary().find((x) => x.address === p.address), { state: 'Established', flaps: p.flaps }, `${p.address}: untouched`)

  await admin.mergePatch(NS, CP, { spec: { mtu: 8476 } })
  await waitStatus('the corrected generation observed', (x, g) => x.observedGeneration === g && g === gen + 2)
  t.pass('a corrected spec is applied and observed')
})

t.test('deleting the ConnectedPeer removes its sessions and what they carried', async (t) => {
  await waitUntil('re-originated VPC route at the control node', 30_000, () => gobgpVpn().has(`${n.address}:1:10.0.0.0/16`))
  await admin.delete(NS, CP)
  await waitUntil('no TGW peer left in the daemon', 30_000, () => !summary().some((p) => p.side === 'tgw'))
  t.pass('the daemon dropped both TGW sessions')
  await waitUntil('BIRD sessions down', 30_000, () => { const s = tgw.sessions(); return s.get('n1a') !== 'Established' && s.get('n1b') !== 'Established' })
  t.pass('BIRD saw both sessions go')
  await waitUntil('aggregates gone from the TGW', 30_000, () => tgw.paths('10.244.0.0/16').length === 0 && tgw.paths('10.246.0.0/16').length === 0)
  t.pass('nothing of ours left at the TGW')
  await waitUntil('the VPC route withdrawn from CN2', 30_000, () => !gobgpVpn().has(`${n.address}:1:10.0.0.0/16`))
  t.pass('the re-originated VPC route withdrawn from the control node')
  const cfg = d.gsictlJson<{ tgw: { connectPeers: unknown[] }; controlNodes: { peers: unknown[] } }>(['show', 'config'])
  t.same(cfg.tgw.connectPeers, [], 'no Connect peer in the running configuration')
  t.same(cfg.controlNodes.peers, [], 'nor the control node the object named (the base names none)')
  await waitUntil('the control-node session closed', 30_000, () => cn.neighborState(n.address) !== 'established')
  t.same(summary(), [], 'no session left')
  t.equal(d.proc?.exitCode, null, 'the daemon keeps running, waiting for a ConnectedPeer')
})
