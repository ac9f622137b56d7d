// gsictl doctor end to end: the Kubernetes API emulator (our CRDs) and the EC2 emulator on loopback,
// the real gsi-controller program against them, one real gsi-routerd in Kubernetes mode (dataplane
// none) in a node namespace reading the ConnectedPeer the controller wrote, gobgpd as the CN2 control
// node and two BIRD processes as the TGW's .2 and .3 (src/lab/peers.ts). The doctor runs as from a
// laptop: the cluster through the official client, the daemon over HTTP (/status on its port 9478,
// relayed out of the node namespace through a Unix socket, as the API is relayed in), EC2 asked with
// the emulator's endpoint. First every line ok but the expected warning (no GRE link with dataplane
// none; the probes' echoes reach the TGW's addresses over the namespaces' link); then one fault at a
// time, each named by the right line: a TGW session down, the VN not exposed, the data plane dead
// under live sessions (ICMP dropped at the TGW), a VPC route deleted in EC2, a gsi-sg rule removed,
// the node unlabelled.
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { KubeConnection, makeKubeConfig, NODES, ResourceClient, type KubeObject, type ResourceRef } from '../../controller/k8s/index.js'
import { BGP_ROUTER_REF, GSI_REF, PEER_REF, TGW_REF } from '../../controller/controller.js'
import { startEc2Emulator, type Ec2Emulator } from '../../controller/emulator/ec2/server.js'
import type { ConnectedPeer, TransitGateway } from '../../controller/types.js'
import { runGsictl } from '../../src/cli/index.js'
import { formatDoctor, runDoctor, type CheckResult, type DoctorRun } from '../../src/doctor/index.js'
import { Topology, type NodeNet } from '../daemon/topology.js'
import { startControlNode, startTgw, sleep, type ControlNode, type Tgw } from '../../src/lab/peers.js'
import { RouterDaemon, ROOT, finishDaemon } from '../daemon/daemons.js'
import { startKubeApi, type KubeApi } from '../daemon/kube-api.js'

t.setTimeout(600_000)

const NS = 'gsi-system'
const CN2_NS = 'contrail'
const RT = 'target:64512:8000001'
const CIDR = '10.244.0.0/16'
const TGW_CIDR = '192.0.2.0/24'
const NODE_LABEL = 'core.juniper.net/crpd-node'
const VPC = 'vpc-0d0c0000000000001'
const CONTROLLER = 'gsi-controller-0'
const DAEMON_HTTP_PORT = 9478

const topo = new Topology(1, 'gsidoc')
const n = topo.nodes[0] as NodeNet
let cn: ControlNode
let tgwPeer: Tgw
let api: KubeApi
let ec2: Ec2Emulator
let d: RouterDaemon
let controller: ChildProcess | undefined
let relay: { port: number; stop(): Promise<void> } | undefined
let conn: KubeConnection

t.teardown(async () => {
  if (controller !== undefined && controller.exitCode === null) {
    const done = new Promise<void>((r) => controller?.once('exit', () => r()))
    controller.kill('SIGTERM')
    await Promise.race([done, sleep(5000)])
    if (controller.exitCode === null) controller.kill('SIGKILL')
  }
  await finishDaemon(t, d)
  await relay?.stop()
  await api?.stop()
  await ec2?.close()
  await cn?.stop()
  await tgwPeer?.stop()
  topo.destroy()
})

// The daemon's HTTP port out of its namespace: a relay inside listens on a Unix socket (the file
// system is shared) and connects to 127.0.0.1:9478 there; here a loopback port pipes into that socket.
const OUT_RELAY = `const net = require('node:net')
const [sock, port] = process.argv.slice(1)
net.createServer((c) => {
  const u = net.connect(Number(port), '127.0.0.1')
  c.pipe(u).pipe(c)
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy())
}).listen(sock, () => process.stdout.write('ready\\n'))`

async function relayOut(ns: string, dir: string): Promise<{ port: number; stop(): Promise<void> }> {
  const sock = join(dir, 'http.sock')
  const inside = topo.spawn(ns, process.execPath, ['-e', OUT_RELAY, sock, String(DAEMON_HTTP_PORT)], { stdio: ['ignore', 'pipe', 'pipe'] })
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error('the HTTP relay did not start')), 10_000)
    inside.stdout?.once('data', () => { clearTimeout(timer); res() })
    inside.once('exit', (code) => { clearTimeout(timer); rej(new Error(`the HTTP relay exited with ${code}`)) })
  })
  const open = new Set<Socket>()
  const server: Server = createServer((c) => {
    const u = connect(sock)
    open.add(c).add(u)
    c.pipe(u).pipe(c)
    const end = (): void => { c.destroy(); u.destroy(); open.delete(c); open.delete(u) }
    c.on('error', end).on('close', end)
    u.on('error', end).on('close', end)
  })
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()))
  return {
    port: (server.address() as AddressInfo).port,
    stop: async () => {
      inside.kill('SIGKILL')
      for (const s of open) s.destroy()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}

const doctor = (): Promise<DoctorRun> => runDoctor({
  kube: conn, namespace: NS,
  daemonUrl: () => `http://127.0.0.1:${relay?.port ?? 0}/status`,
  aws: { endpoint: ec2.endpoint, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' } },
  timeoutMs: 10_000,
})

const notOk = (r: DoctorRun): CheckResult[] => r.results.filter((x) => x.verdict !== 'ok')
const describe = (rs: readonly CheckResult[]): string => rs.map((x) => `${x.verdict} ${x.check} ${x.subject ?? ''}: ${x.evidence}`).join('\n')
/** The lines expected to warn on a healthy gateway here: no GRE link (dataplane none), no probes. */
const EXPECTED_WARN = ['gre-link']
const healthy = (r: DoctorRun): boolean => notOk(r).every((x) => x.verdict === 'warn' && EXPECTED_WARN.includes(x.check))

async function waitDoctor(what: string, ok: (r: DoctorRun) => boolean, timeoutMs = 90_000): Promise<DoctorRun> {
  const deadline = Date.now() + timeoutMs
  let last: DoctorRun | undefined
  for (;;) {
    last = await doctor()
    if (ok(last)) return last
    if (Date.now() > deadline) throw new Error(`timed out waiting for the doctor to show ${what}; last:\n${describe(notOk(last))}`)
    await sleep(1000)
  }
}

const line = (r: DoctorRun, check: string): CheckResult | undefined => r.results.find((x) => x.check === check)

t.before(async () => {
  cn = await startControlNode(topo, {})
  tgwPeer = await startTgw(topo, { peerAsn: 65001, vpcCidrs: ['10.0.0.0/16'] })
  ec2 = await startEc2Emulator({
    availableDelayMs: 200, deletingDelayMs: 100, bgpUpWhenAvailable: true,
    vpcs: [{
      id: VPC, cidr: '198.18.0.0/16',
      subnets: [{ id: 'subnet-0d0c00000000000a1', az: 'us-east-1a', cidr: '198.18.0.0/20' }],
      routeTables: [{ id: 'rtb-0d0c0000000000001', subnets: [] }, { id: 'rtb-0d0c0000000000002', subnets: ['subnet-0d0c00000000000a1'] }],
    }],
  })
  d = new RouterDaemon(n.ns, {
    dataplane: 'none',
    tgw: { holdTime: 9 },
    controlNodes: { holdTime: 9 },
    gracefulRestart: { restartTime: 30, staleRoutesTime: 30, deferralTime: 30 },
    http: { address: '127.0.0.1', port: DAEMON_HTTP_PORT },
    log: { level: 'info' },
  })
  d.write({ ...d.config, api: { socket: `${d.dir}/api.sock` } })
  api = await startKubeApi(topo, n.ns, d.dir)
  conn = new KubeConnection(makeKubeConfig({ server: api.url }))
  for (const ns of [NS, CN2_NS]) await conn.core.createNamespace({ body: { metadata: { name: ns } } })
  const create = (ref: ResourceRef, o: KubeObject): Promise<KubeObject> => new ResourceClient<KubeObject>(conn, ref).create(o)
  await create(NODES, {
    apiVersion: 'v1', kind: 'Node', metadata: { name: 'node1', labels: { [NODE_LABEL]: '' } },
    status: { addresses: [{ type: 'InternalIP', address: n.address }], conditions: [{ type: 'Ready', status: 'True' }] },
  } as KubeObject)
  // What the Deployment and the DaemonSet would have made: the pods, the controller's service account.
  const pod = (name: string, app: string, node: string): KubeObject => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, labels: { 'app.kubernetes.io/name': app } },
    spec: { nodeName: node, containers: [{ name: app, image: 'gsi-router' }] },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  } as KubeObject)
  await conn.core.createNamespacedPod({ namespace: NS, body: pod(CONTROLLER, 'gsi-controller', 'cp1') as never })
  await conn.core.createNamespacedPod({ namespace: NS, body: pod('gsi-routerd-x7k2p', 'gsi-routerd', 'node1') as never })
  await conn.core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name: 'gsi-controller', namespace: NS, annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/gsi-controller' } } } })
  await create(BGP_ROUTER_REF, {
    apiVersion: 'core.contrail.juniper.net/v1alpha1', kind: 'BGPRouter', metadata: { name: 'control-node-1', namespace: CN2_NS },
    spec: {
      parent: { apiVersion: 'core.contrail.juniper.net/v1alpha1', kind: 'RoutingInstance', namespace: CN2_NS, name: 'default' },
      bgpRouterParameters: { routerType: 'control-node', address: n.controlNode, identifier: n.controlNode, autonomousSystem: 64512, addressFamilies: { family: ['route-target', 'inet-vpn', 'inet6-vpn'] } },
    },
  } as KubeObject)
  await create(GSI_REF, {
    apiVersion: 'gsi.gsi-router.io/v1alpha1', kind: 'GatewayServiceInstance', metadata: { name: 'gsi', namespace: 'default' },
    spec: { awsRegion: 'us-east-1', vpcID: VPC, asn: 65001, maxInstances: 4 },
  } as KubeObject)
  await create(TGW_REF, {
    apiVersion: 'gsi.gsi-router.io/v1alpha1', kind: 'TransitGateway', metadata: { name: 'tgw', namespace: 'default' },
    spec: { gatewayServiceInstance: 'gsi', amazonSideAsn: 64512, transitGatewayCidrBlock: TGW_CIDR, exposed: { routeTargets: [RT], cidrs: [CIDR] } },
  } as KubeObject)

  controller = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'bin', 'gsi-controller.ts'),
    '--server', api.url, '--aws-endpoint', ec2.endpoint, '--metrics-port', '0', '--log-level', 'warn',
    '--lease-namespace', NS, '--identity', CONTROLLER],
  { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true' } })

  d.startWith(['--kubeconfig', api.kubeconfig, '--base', d.configFile], { NODE_NAME: 'node1', POD_NAME: 'gsi-routerd-x7k2p' })
  relay = await relayOut(n.ns, d.dir)
  cn.addPod({ prefix: '10.244.1.5/32', rd: '64512:1', label: 101, rt: RT, vrouter: '198.18.100.1' })
})

t.test('a healthy gateway: every line ok but the expected warnings', async (t) => {
  const peers = new ResourceClient<ConnectedPeer & KubeObject>(conn, PEER_REF)
  let cp: ConnectedPeer | undefined
  for (const deadline = Date.now() + 120_000; cp === undefined; await sleep(500)) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the controller to write the ConnectedPeer of node1')
    if (controller?.exitCode !== null) throw new Error(`gsi-controller exited with ${String(controller?.exitCode)}`)
    cp = (await peers.list('default')).items[0]
  }
  t.match(cp.spec, { nodeName: 'node1', peerAddress: n.address, insideCidrBlocks: [n.insideCidr], bgpPeerAddresses: [...n.tgwPeers] }, 'the controller allocated what the topology wired')
  const r = await waitDoctor('a healthy gateway', healthy, 180_000)
  t.equal(r.exitStatus, 0)
  t.same(notOk(r).map((x) => x.check).sort(), [...EXPECTED_WARN].sort(), 'only the expected warnings')
  t.match(line(r, 'gre-link')?.evidence, /missing \(dataplane none: nothing is programmed\)/)
  t.match(line(r, 'dataplane-probes')?.evidence, new RegExp(`-> ${n.tgwPeers[0].replace(/\./g, '\\.')} alive rtt [\\d.]+ ms; .*-> ${n.tgwPeers[1].replace(/\./g, '\\.')} alive`))
  t.match(line(r, 'controller-leader')?.evidence, new RegExp(`one leader: ${CONTROLLER}`))
  t.match(line(r, 'tgw-sessions')?.evidence, `${n.tgwPeers[0]} Established, AWS BgpStatus up; ${n.tgwPeers[1]} Established, AWS BgpStatus up`)
  t.match(line(r, 'cn2-sessions')?.evidence, `${n.controlNode} Established`)
  t.match(line(r, 'vn-exposed')?.evidence, `${RT}: 1 VPN route;`)
  t.match(line(r, 'tgw-advertised')?.evidence, `${n.tgwPeers[0]}: 1 prefix`)
  t.match(line(r, 'vpc-routes')?.evidence, /^EC2: 10\.244\.0\.0\/16 -> tgw-\S+ active in 2 route tables/)
  t.match(line(r, 'security-group')?.evidence, `admits all traffic from ${CIDR}, GRE (47) from ${TGW_CIDR}`)
  t.equal(r.snapshot.daemons[0]?.source, `http://127.0.0.1:${relay?.port ?? 0}/status`, 'the daemon was asked over HTTP')
  t.comment(formatDoctor(r.results, r.snapshot))

  // The same through gsictl's command line, as from a laptop (the SDK's default chain finds the
  // static keys in the environment; --daemon-url stands for a port-forward to the node).
  process.env.AWS_ACCESS_KEY_ID = 'AKIDTEST'
  process.env.AWS_SECRET_ACCESS_KEY = 'test'
  process.env.AWS_EC2_METADATA_DISABLED = 'true'
  let out = ''
  let err = ''
  const code = await runGsictl(['doctor', '--server', api.url, '--namespace', NS, '--aws-endpoint', ec2.endpoint, '--daemon-url', `http://127.0.0.1:${relay?.port ?? 0}/status`, '--json'],
    { stdout: { write: (x) => (out += x) }, stderr: { write: (x) => (err += x) }, env: {} })
  t.equal(err, '')
  t.equal(code, 0, 'gsictl doctor exits 0 on a healthy gateway')
  const j = JSON.parse(out) as { summary: { ok: number; warn: number; fail: number }; results: CheckResult[] }
  t.same(j.results.filter((x) => x.verdict !== 'ok').map((x) => x.check).sort(), [...EXPECTED_WARN].sort(), 'the command line sees what the library sees')
  t.equal(j.summary.fail, 0)
})

t.test('a TGW session down (one BIRD stopped): tgw-sessions names it', async (t) => {
  tgwPeer.birdcFor('n1b', 'disable n1b')
  const r = await waitDoctor('.3 down', (x) => line(x, 'tgw-sessions')?.verdict === 'fail')
  t.match(line(r, 'tgw-sessions')?.evidence, new RegExp(`${n.tgwPeers[1]!.replace(/\./g, '\\.')} (Idle|Connect|Active|OpenSent|OpenConfirm)`))
  t.match(line(r, 'tgw-sessions')?.action, `gsictl show bgp neighbor ${n.tgwPeers[1]} on node1`)
  t.match(line(r, 'tgw-sessions')?.evidence, /AWS BgpStatus up \(disagrees\)$/, 'AWS has not seen it yet: the line says they disagree')
  t.same(r.results.filter((x) => x.verdict === 'fail').map((x) => x.check), ['tgw-sessions'], 'no other line fails')
  t.equal(r.exitStatus, 1)
  t.comment(formatDoctor(r.results, r.snapshot))
  tgwPeer.birdcFor('n1b', 'enable n1b')
  await waitDoctor('healthy again', healthy)
  t.pass('healthy again once BIRD is back')
})

t.test('the VN not exposed: vn-exposed names it', async (t) => {
  const tgws = new ResourceClient<TransitGateway & KubeObject>(conn, TGW_REF)
  await tgws.mergePatch('default', 'tgw', { spec: { exposed: { routeTargets: [], cidrs: [CIDR] } } })
  const r = await waitDoctor('the VN not exposed', (x) => line(x, 'vn-exposed')?.verdict === 'fail')
  t.match(line(r, 'vn-exposed')?.evidence, /no route target exposed/)
  t.match(line(r, 'vn-exposed')?.action, /spec\.exposed\.routeTargets/)
  const fails = r.results.filter((x) => x.verdict === 'fail').map((x) => x.check)
  t.ok(fails.every((c) => c === 'vn-exposed' || c === 'tgw-advertised'), `only the exposure and what follows from it fail (${fails.join(', ')})`)
  await tgws.mergePatch('default', 'tgw', { spec: { exposed: { routeTargets: [RT], cidrs: [CIDR] } } })
  await waitDoctor('healthy again', healthy)
  t.pass('healthy again once the route target is exposed')
})

t.test('the data plane dead under live sessions (ICMP dropped at the TGW): dataplane-probes names it', async (t) => {
  // An nftables rule in the TGW's namespace drops the echoes; BGP (TCP 179) is untouched
  topo.exec(topo.tgw, 'nft', ['add', 'table', 'inet', 'doctor_fault'])
  topo.exec(topo.tgw, 'nft', ['add chain inet doctor_fault in { type filter hook input priority 0 ; }'])
  topo.exec(topo.tgw, 'nft', ['add rule inet doctor_fault in icmp type echo-request drop'])
  try {
    const r = await waitDoctor('the data plane dead', (x) => line(x, 'dataplane-probes')?.verdict === 'fail')
    t.match(line(r, 'dataplane-probes'), { verdict: 'fail', subject: 'node1', evidence: /^BGP up but data plane dead: tgw-node1 \(gsig[0-9a-f]+\);.* dead/, action: /gsi-sg admits GRE \(protocol 47\)/ })
    t.same(r.results.filter((x) => x.verdict === 'fail').map((x) => x.check), ['dataplane-probes'], 'the sessions stay up: no other line fails')
    t.equal(r.exitStatus, 1)
    t.comment(formatDoctor(r.results, r.snapshot))
  } finally {
    topo.exec(topo.tgw, 'nft', ['delete', 'table', 'inet', 'doctor_fault'])
  }
  await waitDoctor('healthy again', healthy)
  t.pass('healthy again once the echoes pass')
})

t.test('a VPC route deleted in EC2: vpc-routes names the table and the CIDR', async (t) => {
  // The controller would re-create it on its next pass; keep it away so the doctor sees the fault.
  ec2.faults.failOnce.push({ action: 'CreateRoute', code: 'UnauthorizedOperation', status: 403, times: 1_000_000 })
  ec2.world.deleteRoute('rtb-0d0c0000000000002', CIDR)
  const r = await doctor()
  t.match(line(r, 'vpc-routes'), { verdict: 'fail', evidence: `EC2: rtb-0d0c0000000000002 has no route for ${CIDR}` })
  const fails = r.results.filter((x) => x.verdict === 'fail').map((x) => x.check)
  t.ok(fails.every((c) => c === 'vpc-routes' || c === 'aws-access'), `only the route (and the controller's AWS access) fail (${fails.join(', ')})`)
  t.equal(r.exitStatus, 1)
})

t.test('a gsi-sg rule removed: security-group names the GRE rule', async (t) => {
  ec2.faults.failOnce.push({ action: 'AuthorizeSecurityGroupIngress', code: 'UnauthorizedOperation', status: 403, times: 1_000_000 })
  const sg = (ec2.world.dump() as { securityGroups?: { id: string; name: string }[] }).securityGroups ?? []
  const ours = sg.find((g) => g.name === 'gsi-sg')
  t.ok(ours, 'the controller made gsi-sg')
  const gone = ec2.world.revokeIngress(ours?.id, [{ protocol: '47', cidr: TGW_CIDR }])
  t.equal(gone.revoked.length, 1, 'the GRE rule was there and is gone')
  const r = await doctor()
  t.match(line(r, 'security-group'), { verdict: 'fail', evidence: `EC2: gsi-sg (${ours?.id ?? ''}) does not admit GRE (47) from ${TGW_CIDR}` })
})

t.test('the node unlabelled: gateway-nodes names it', async (t) => {
  ec2.faults.failOnce.length = 0
  const nodes = new ResourceClient<KubeObject>(conn, NODES)
  await nodes.mergePatch(undefined, 'node1', { metadata: { labels: { [NODE_LABEL]: null } } })
  t.notOk(NODE_LABEL in ((await nodes.get(undefined, 'node1'))?.metadata.labels ?? {}), 'the label is gone')
  const r = await waitDoctor('node1 unlabelled', (x) => line(x, 'gateway-nodes')?.verdict === 'fail')
  t.match(line(r, 'gateway-nodes')?.evidence, `node1 runs a gateway but is not labelled ${NODE_LABEL}`)
  t.match(line(r, 'gateway-nodes')?.action, `kubectl label node node1 ${NODE_LABEL}=true`)
  t.equal(r.exitStatus, 1)
})
