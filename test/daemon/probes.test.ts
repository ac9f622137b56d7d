// gsi-routerd's data-plane probes against real peers (dataplane none, on this host's kernel): the
// daemon in a node namespace, gobgpd as the CN2 control node, two BIRD processes as the TGW's .2 and
// .3. The echoes are real ICMP through the veth standing for the GRE link; the "data plane dead"
// fault is nft dropping echo requests in the TGW namespace while BGP (TCP) goes on; what the TGW
// receives is read from BIRD's own CLI.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { Topology } from './topology.js'
import { startControlNode, startTgw, waitUntil, sleep, type ControlNode, type Tgw } from './peers.js'
import { RouterDaemon, nodeConfig } from './daemons.js'
import type { TunnelsView } from '../../src/api/view.js'

t.setTimeout(300_000)

const RT = 'target:64512:8000001'
const AGGREGATE = '10.244.0.0/16'
const topo = new Topology(1, 'gsip')
const n = topo.nodes[0]!
let d: RouterDaemon
let cn: ControlNode
let tgw: Tgw
t.teardown(async () => {
  if (d !== undefined) {
    if (t.passing()) await d.destroy()
    else { t.comment(`${d.ns} log kept in ${d.logFile}`); await d.kill() }
  }
  await cn?.stop()
  await tgw?.stop()
  topo.destroy()
})

// a Node process per scrape: 30 s, as test/monitoring gives it, for a loaded machine
const metrics = (): string => topo.exec(n.ns, process.execPath, ['-e', 'fetch("http://127.0.0.1:9478/metrics").then(r=>r.text()).then(t=>process.stdout.write(t))'], 30_000)
const tunnels = (): TunnelsView => d.gsictlJson<TunnelsView>(['show', 'tunnels'])
const cpState = (): string | undefined => tunnels().probes?.connectPeers[0]?.state
const nft = (script: string): void => {
  execFileSync('ip', ['netns', 'exec', topo.tgw, '/usr/sbin/nft', '-f', '-'], { input: script, stdio: ['pipe', 'ignore', 'pipe'], timeout: 10_000 })
}
/** Echo requests dropped on arrival in the TGW namespace: BGP (TCP) untouched. */
const DROP_ECHO = 'table inet gsiprobe {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    icmp type echo-request drop\n  }\n}\n'
const sessionsUp = (): boolean => ['n1a', 'n1b'].every((p) => tgw.sessions().get(p) === 'Established')
const fromSessions = (): string[] => tgw.paths(AGGREGATE).map((p) => p.from).sort()

// a target behind a vRouter: the control node's address stands for the pod, the node's own address is
// the source it answers to (dataplane none: the ordinary routing table carries both ways)
const probes = (withdrawOnFailure: boolean): Record<string, unknown> => ({
  interval: 0.5, timeout: 0.5, failAfter: 3, lossWindow: 10, withdrawOnFailure,
  source: n.address, targets: [{ address: n.controlNode, vrouter: '198.18.100.1' }],
})

t.before(async () => {
  cn = await startControlNode(topo, { restartTime: 5 })
  tgw = await startTgw(topo, { peerAsn: 65001, vpcCidrs: ['10.0.0.0/16'] })
  d = new RouterDaemon(n.ns, {})
  d.write(nodeConfig(n, d.dir, { extra: { probes: probes(false) } }))
  d.start()
})

t.test('probes through the Connect peer to the TGW addresses answer: metrics, gsictl', async (t) => {
  await waitUntil('both TGW sessions Established', 60_000, () => sessionsUp())
  const v = await waitUntil('both TGW probes alive', 30_000, () => {
    const x = tunnels()
    return x.probes?.targets.filter((p) => p.kind === 'tgw' && p.state === 'alive').length === 2 ? x : undefined
  })
  const p = v.probes!
  t.equal(p.enabled, true)
  t.same(p.targets.filter((x) => x.kind === 'tgw').map((x) => [x.address, x.via]).sort(), [[n.tgwPeers[0], 'cp-node1'], [n.tgwPeers[1], 'cp-node1']], 'the TGW\'s .2 and .3, through Connect peer cp-node1')
  for (const x of p.targets.filter((y) => y.kind === 'tgw')) {
    t.ok(x.replies > 0 && x.replies <= x.sent, `${x.address}: ${x.replies} replies of ${x.sent} echoes`)
    t.ok(x.rttMs !== undefined && x.rttMs >= 0 && x.rttMs < 5000, `${x.address}: RTT measured (${x.rttMs} ms)`)
  }
  t.match(p.connectPeers, [{ connectPeer: 'cp-node1', state: 'up', withdrawn: false }], 'the Connect peer\'s data plane is up')
  const vn = p.targets.find((x) => x.kind === 'vn')
  t.match(vn, { address: n.controlNode, via: '198.18.100.1', state: 'no-tunnel', sent: 0 }, 'no tunnel to the vRouter yet: nothing sent toward its target')

  const text = d.gsictl(['show', 'tunnels'])
  t.match(text, /Data-plane probes \(ICMP echo every 0\.5 s per target\)/, 'gsictl show tunnels has the probes')
  t.match(text, /cp-node1\s+gsig[0-9a-f]{8}\s+up\s+advertised/, 'the Connect peer line')
  t.match(text, new RegExp(`${n.tgwPeers[0].replace(/\./g, '\\.')}\\s+GRE cp-node1\\s+alive\\s+\\d+\\s+\\d+\\s+\\d+\\s+\\d+%\\s+\\d+\\.\\d`), 'a target line with counts, loss and RTT')

  const m = metrics()
  t.match(m, new RegExp(`gsi_probe_up\\{kind="tgw",target="${n.tgwPeers[0]}",via="cp-node1"\\} 1`), 'gsi_probe_up 1')
  t.match(m, new RegExp(`gsi_probe_replies_total\\{kind="tgw",target="${n.tgwPeers[1]}",via="cp-node1"\\} [1-9]`), 'replies counted')
  t.match(m, /gsi_probe_rtt_seconds\{kind="tgw",target="169\.254\.6\.2",via="cp-node1"\} \d/, 'RTT in seconds')
  t.match(m, /gsi_dataplane_dead\{connect_peer="cp-node1"\} 0/, 'not dead')
  t.match(m, /gsi_probe_routes_withdrawn\{connect_peer="cp-node1"\} 0/, 'nothing withdrawn')
})

t.test('a target behind a vRouter is probed once the FIB has a tunnel to it, from probes.source', async (t) => {
  cn.addPod({ prefix: '10.244.1.5/32', rd: '64512:1', label: 101, rt: RT, vrouter: '198.18.100.1' })
  await waitUntil('aggregate at the TGW from both sessions', 30_000, () => fromSessions().length === 2)
  const vn = await waitUntil('the vRouter target alive', 30_000, () => tunnels().probes?.targets.find((x) => x.kind === 'vn' && x.state === 'alive'))
  t.ok(vn.replies > 0, `answered (${vn.replies} of ${vn.sent}): the echo carried our source, the answer came back to it`)
  t.match(metrics(), new RegExp(`gsi_probe_up\\{kind="vn",target="${n.controlNode}",via="198\\.18\\.100\\.1"\\} 1`), 'in the metrics with the vRouter as via')
})

t.test('ICMP dropped at the TGW while BGP stays up: "data plane dead" in gsictl, metrics and log; routes stay by default', async (t) => {
  nft(DROP_ECHO)
  t.teardown(() => { try { nft('delete table inet gsiprobe') } catch { /* already gone */ } })
  await waitUntil('dataplane-dead', 30_000, () => cpState() === 'dataplane-dead')
  t.ok(sessionsUp(), 'both BGP sessions still Established at the TGW')
  const p = tunnels().probes!
  for (const x of p.targets.filter((y) => y.kind === 'tgw')) {
    t.equal(x.state, 'dead', `${x.address} dead`)
    t.ok(x.lossRatio > 0, `${x.address}: loss ratio ${x.lossRatio}`)
  }
  t.equal(p.targets.find((x) => x.kind === 'vn')?.state, 'alive', 'the vRouter target, not behind the TGW, still answers')
  const m = metrics()
  t.match(m, /gsi_dataplane_dead\{connect_peer="cp-node1"\} 1/, 'gsi_dataplane_dead 1')
  t.match(m, /gsi_probe_up\{kind="tgw",target="169\.254\.6\.2",via="cp-node1"\} 0/, 'gsi_probe_up 0')
  t.match(d.gsictl(['show', 'tunnels']), /cp-node1\s+gsig[0-9a-f]{8}\s+dataplane-dead\s+advertised/, 'gsictl shows the state')
  const logged = await waitUntil('the log record', 10_000, () => { const r = d.records(/^BGP up but data plane dead/); return r.length > 0 ? r : undefined })
  t.match(logged[0], { level: 40, connectPeer: 'cp-node1', part: 'probes' }, 'logged at warn, naming the Connect peer')
  await sleep(2000)
  t.same(fromSessions(), ['n1a', 'n1b'], 'withdrawOnFailure off: the aggregate stays on both sessions')
})

t.test('with probes.withdrawOnFailure the aggregate leaves the Connect peer\'s sessions, and comes back with ICMP', async (t) => {
  nft(DROP_ECHO)
  t.teardown(() => { try { nft('delete table inet gsiprobe') } catch { /* already gone */ } })
  d.write(nodeConfig(n, d.dir, { extra: { probes: probes(true) } }))
  d.signal('SIGHUP')
  await waitUntil('aggregate withdrawn from n1a and n1b', 30_000, () => fromSessions().length === 0)
  t.ok(sessionsUp(), 'the sessions stay Established: only the routes go')
  t.same(tgw.paths('10.244.0.0/16'), [], `BIRD (birdc show route ${AGGREGATE}) has no path left`)
  t.match(tunnels().probes?.connectPeers[0], { state: 'dataplane-dead', withdrawn: true }, 'gsictl: withdrawn')
  const shown = d.gsictl(['show', 'tunnels'])
  t.match(shown, /cp-node1\s+gsig[0-9a-f]{8}\s+dataplane-dead\s+withdrawn/, 'gsictl show tunnels: withdrawn')
  t.comment(shown)
  t.match(metrics(), /gsi_probe_routes_withdrawn\{connect_peer="cp-node1"\} 1/, 'gsi_probe_routes_withdrawn 1')
  // the log reaches the file through a pipe: it may trail the API
  t.ok(await waitUntil('the withdrawal logged', 10_000, () => d.records(/^routes withdrawn from the Connect peer's sessions/).length > 0), 'logged')

  nft('delete table inet gsiprobe')
  await waitUntil('aggregate back on both sessions', 30_000, () => fromSessions().length === 2)
  t.same(fromSessions(), ['n1a', 'n1b'], 'the aggregate is back on both sessions')
  await waitUntil('state up', 10_000, () => cpState() === 'up')
  t.match(metrics(), /gsi_dataplane_dead\{connect_peer="cp-node1"\} 0/, 'gsi_dataplane_dead back to 0')
  t.ok(await waitUntil('the return logged', 10_000, () => d.records(/^routes advertised to the Connect peer again/).length > 0), 'the return logged')
})

t.test('the probes stop with the daemon', async (t) => {
  d.signal('SIGTERM')
  t.equal(await d.exited(30_000), 0, 'gsi-routerd exits 0 on SIGTERM with the probes running')
})
