// TCP-MD5 (RFC 2385) toward the CN2 control node at the daemon level, dataplane none on this host:
// gobgpd as the control node with `auth-password` on every neighbour, two BIRD processes as the TGW.
// node1 runs gsi-routerd from a file (controlNodes.md5.file), node2 in Kubernetes mode against the API
// emulator with the key in a Secret (controlNodes.md5.secretRef in the base). Checked: the right key
// comes up on both; a wrong key (a SIGHUP after the file changed) resets only the control-node
// session, which then never comes up while the daemon says why (the kernel's TCP-MD5 drop counters, in
// the log and in gsictl show bgp neighbor), the TGW sessions untouched; the right key back brings it up.
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { KubeConnection, makeKubeConfig, ResourceClient, type KubeObject } from '../../controller/k8s/index.js'
import { API_VERSION, NODE_NAME_LABEL, TRANSIT_GATEWAY_LABEL, type ConnectedPeer } from '../../controller/types.js'
import { CONNECTED_PEERS } from '../../src/config/kube.js'
import { Topology, type NodeNet } from './topology.js'
import { startControlNode, startTgw, waitUntil, sleep, type ControlNode, type Tgw } from '../../src/lab/peers.js'
import { RouterDaemon, nodeConfig, finishDaemon } from './daemons.js'
import { startKubeApi, type KubeApi } from './kube-api.js'

t.setTimeout(300_000)

const KEY = 'cn2-Bgp-auth-key'
const NS = 'gsi-system'
const RT = 'target:64512:8000001'
const topo = new Topology(2, 'gsi5')
const [n1, n2] = topo.nodes as [NodeNet, NodeNet]
let cn: ControlNode
let tgw: Tgw
let api: KubeApi
const daemons: RouterDaemon[] = []
t.teardown(async () => {
  for (const d of daemons) await finishDaemon(t, d)
  await api?.stop()
  await cn?.stop()
  await tgw?.stop()
  topo.destroy()
})

interface Peer { side: string; address: string; state: string; flaps: number; stateSince: number }
const summary = (d: RouterDaemon): Peer[] => d.gsictlJson<{ peers: Peer[] }>(['show', 'bgp', 'summary']).peers
const upAt = (n: NodeNet): boolean => cn.neighborState(n.address) === 'established'

let fileDaemon: RouterDaemon
let keyFile: string

t.before(async () => {
  cn = await startControlNode(topo, { md5: KEY, restartTime: 5 })
  tgw = await startTgw(topo, { peerAsn: 65001, vpcCidrs: ['10.0.0.0/16'] })

  // node1: the key in a file beside the config
  fileDaemon = new RouterDaemon(n1.ns, {})
  keyFile = join(fileDaemon.dir, 'cn2-md5.key')
  writeFileSync(keyFile, `${KEY}\n`) // as `echo` or a mounted Secret leaves it: the newline is not part of the key
  const cfg = nodeConfig(n1, fileDaemon.dir)
  ;(cfg.controlNodes as Record<string, unknown>).md5 = { file: keyFile }
  fileDaemon.write(cfg)
  fileDaemon.start()
  daemons.push(fileDaemon)

  // node2: Kubernetes mode, the key in a Secret of the daemon's namespace
  const kd = new RouterDaemon(n2.ns, {})
  kd.write({
    dataplane: 'none', tgw: { holdTime: 9 },
    controlNodes: { holdTime: 9, md5: { secretRef: { name: 'cn2-bgp-auth', key: 'password' } } },
    gracefulRestart: { restartTime: 30, staleRoutesTime: 30, deferralTime: 30 },
    http: { address: '127.0.0.1', port: 9478 }, log: { level: 'debug' }, api: { socket: join(kd.dir, 'api.sock') },
  })
  api = await startKubeApi(topo, n2.ns, kd.dir)
  const conn = new KubeConnection(makeKubeConfig({ server: api.url, token: 'gsi-controller' }))
  await conn.core.createNamespace({ body: { metadata: { name: NS } } })
  await conn.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'cn2-bgp-auth' }, stringData: { password: KEY } } })
  const cps = new ResourceClient<ConnectedPeer & KubeObject>(conn, CONNECTED_PEERS)
  await cps.create({
    apiVersion: API_VERSION, kind: 'ConnectedPeer',
    metadata: { name: 'tgw-node2', namespace: NS, labels: { [TRANSIT_GATEWAY_LABEL]: 'tgw', [NODE_NAME_LABEL]: 'node2' } },
    spec: {
      transitGateway: 'tgw', nodeName: 'node2', peerAddress: n2.address, transitGatewayAddress: '192.0.2.100',
      insideCidrBlocks: [n2.insideCidr], localInsideAddresses: [n2.insideLocal], bgpPeerAddresses: [...n2.tgwPeers],
      peerAsn: 65001, transitGatewayAsn: 64512, exposedRouteTargets: [RT], exposedCidrs: ['10.244.0.0/16'], mtu: 8476,
      controlNodes: [{ address: n2.controlNode, asn: 64512 }],
    },
  } as ConnectedPeer & KubeObject)
  kd.startWith(['--kubeconfig', api.kubeconfig, '--base', kd.configFile], { NODE_NAME: 'node2', POD_NAMESPACE: NS })
  daemons.push(kd)
})

t.test('the right key: the control-node session comes up, from a file and from a Secret', async (t) => {
  await waitUntil('both nodes Established at the control node', 60_000, () => upAt(n1) && upAt(n2))
  t.pass('gobgpd (auth-password) has both gateways Established')
  for (const d of daemons) {
    const cn2 = summary(d).find((p) => p.side === 'cn2')
    t.equal(cn2?.state, 'Established', `${d.ns}: gsictl agrees`)
  }
  const shown = JSON.stringify(fileDaemon.gsictlJson(['show', 'config']))
  t.notMatch(shown, KEY, 'gsictl show config does not print the key')
  t.match(shown, /cn2-md5\.key/, 'only where it comes from')
  t.same(api.kube.audit.get('gsi-routerd') !== undefined && [...(api.kube.audit.get('gsi-routerd') ?? [])].some((a) => /secrets/.test(a)), true, 'the Kubernetes-mode daemon read the Secret')
})

t.test('a wrong key on reload resets only the control-node session, which never comes up; the daemon says why', async (t) => {
  await waitUntil('TGW sessions Established', 30_000, () => tgw.sessions().get('n1a') === 'Established' && tgw.sessions().get('n1b') === 'Established')
  const before = summary(fileDaemon)
  writeFileSync(keyFile, 'not-the-key\n')
  fileDaemon.signal('SIGHUP')
  const reload = await waitUntil('the reload logged', 20_000, () => { const r = fileDaemon.records(/configuration applied/); return r.length > 0 ? r[r.length - 1] : undefined })
  t.same(reload.reset, [`cn2-${n1.controlNode}`], 'the reload reset the control-node session and nothing else')
  await waitUntil('the control node sees the session gone', 30_000, () => !upAt(n1))
  // gobgpd retries every second and we every 5 s: 15 s is three of our attempts and fifteen of its
  const deadline = Date.now() + 15_000
  const seen = new Set<string>()
  while (Date.now() < deadline) {
    if (upAt(n1)) seen.add('gobgpd: established')
    seen.add(`gsi-routerd: ${summary(fileDaemon).find((p) => p.side === 'cn2')?.state ?? 'absent'}`)
    await sleep(1000)
  }
  t.notOk(seen.has('gobgpd: established') || seen.has('gsi-routerd: Established'), `never Established with the wrong key in 15 s (saw ${[...seen].join(', ')})`)
  const detail = await waitUntil('the diagnosis in gsictl', 20_000, () => {
    const out = fileDaemon.gsictl(['show', 'bgp', 'neighbor', n1.controlNode])
    return /Not established: .*TCPMD5Failure/.test(out) ? out : undefined
  })
  t.match(detail, /check controlNodes\.md5 against the control node's authentication key/, 'gsictl show bgp neighbor says what to check')
  // The log reaches its file through the daemon's stdout pipe, which may trail the API's answer
  const named = (): boolean => fileDaemon.records(/TCP-MD5/).some((r) => r.level === 40 && JSON.stringify(r.peers) === JSON.stringify([`cn2-${n1.controlNode}`]))
  await waitUntil('the TCP-MD5 warning in the log', 10_000, () => named() || undefined).catch(() => undefined)
  t.ok(named(), 'a warning in the log names the session')
  const after = summary(fileDaemon)
  for (const p of before.filter((x) => x.side === 'tgw')) {
    t.match(after.find((x) => x.address === p.address), { state: 'Established', flaps: p.flaps, stateSince: p.stateSince }, `${p.address}: TGW session not reset`)
  }
  t.ok(upAt(n2), 'the other gateway (its key unchanged) stays up')
})

t.test('the right key back: up again, the TGW sessions still untouched', async (t) => {
  const before = summary(fileDaemon)
  writeFileSync(keyFile, KEY)
  fileDaemon.signal('SIGHUP')
  await waitUntil('Established again', 30_000, () => upAt(n1) && summary(fileDaemon).find((p) => p.side === 'cn2')?.state === 'Established')
  t.pass('Established with the right key')
  await waitUntil('the diagnosis cleared', 15_000, () => !/Not established/.test(fileDaemon.gsictl(['show', 'bgp', 'neighbor', n1.controlNode])))
  t.pass('no diagnosis once up')
  const after = summary(fileDaemon)
  for (const p of before.filter((x) => x.side === 'tgw')) {
    t.match(after.find((x) => x.address === p.address), { state: 'Established', flaps: p.flaps, stateSince: p.stateSince }, `${p.address}: TGW session not reset`)
  }
})
