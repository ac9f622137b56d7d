// gsi-routerd's data-plane probes against real peers (dataplane none, on this host's kernel): the
// daemon in a node namespace, gobgpd as the CN2 control node, two BIRD processes as the TGW's .2 and
// .3; the Connect peer has an inside /125 beside its /29, so the TGW's ::2 and ::3 are probed too. The
// echoes are real ICMP and ICMPv6 through the veth standing for the GRE link; the "data plane dead"
// fault is nft dropping echo requests (ICMP, then ICMPv6) in the TGW namespace while BGP (TCP) goes
// on, and each IP version is judged and withdrawn on its own; what the TGW receives is read from
// BIRD's own CLI.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { Topology, type NodeNet } from './topology.js'
import { startControlNode, startTgw, waitUntil, sleep, type ControlNode, type Tgw } from '../../src/lab/peers.js'
import { RouterDaemon, nodeConfig, finishDaemon } from './daemons.js'
import type { TunnelsView } from '../../src/api/view.js'

t.setTimeout(300_000)

const RT = 'target:64512:8000001'
const AGGREGATE = '10.244.0.0/16'
const AGGREGATE6 = 'fd10:244::/56'
const topo = new Topology(1, 'gsip', { ipv6: true })
const n = topo.nodes[0] as NodeNet & { insideCidr6: string; insideLocal6: string; tgwPeers6: readonly [string, string] }
let d: RouterDaemon
let cn: ControlNode
let tgw: Tgw
t.teardown(async () => {
  await finishDaemon(t, d)
  await cn?.stop()
  await tgw?.stop()
  topo.destroy()
})

// a Node process per scrape: 30 s, as test/monitoring gives it, for a loaded machine
const metrics = (): string => topo.exec(n.ns, process.execPath, ['-e', 'fetch("http://127.0.0.1:9478/metrics").then(r=>r.text()).then(t=>process.stdout.write(t))'], 30_000)
const tunnels = (): TunnelsView => d.gsictlJson<TunnelsView>(['show', 'tunnels'])
const cpState = (family: 'ipv4' | 'ipv6' = 'ipv4'): string | undefined => tunnels().probes?.connectPeers.find((c) => c.family === family)?.state
const nft = (script: string): void => {
  execFileSync('ip', ['netns', 'exec', topo.tgw, '/usr/sbin/nft', '-f', '-'], { input: script, stdio: ['pipe', 'ignore', 'pipe'], timeout: 10_000 })
}
/** Echo requests dropped on arrival in the TGW namespace: BGP (TCP) untouched. */
const DROP_ECHO = 'table inet gsiprobe {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    icmp type echo-request drop\n  }\n}\n'
const DROP_ECHO6 = 'table inet gsiprobe {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    icmpv6 type echo-request drop\n  }\n}\n'
const sessionsUp = (): boolean => ['n1a', 'n1b'].every((p) => tgw.sessions().get(p) === 'Established')
const fromSessions = (prefix = AGGREGATE): string[] => tgw.paths(prefix).map((p) => p.from).sort()
const re = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

// a target behind a vRouter: the control node's address stands for the pod, the node's own address is
// the source it answers to (dataplane none: the ordinary routing table carries both ways)
const probes = (withdrawOnFailure: boolean): Record<string, unknown> => ({
  interval: 0.5, timeout: 0.5, failAfter: 3, lossWindow: 10, withdrawOnFailure,
  source: n.address, targets: [{ address: n.controlNode, vrouter: '198.18.100.1' }],
})

/** The node's configuration: the Connect peer with its /29 and /125, an IPv4 and an IPv6 exposed CIDR. */
function config(withdrawOnFailure: boolean): Record<string, unknown> {
  const c = nodeConfig(n, d.dir, { cidrs: [AGGREGATE, AGGREGATE6], extra: { probes: probes(withdrawOnFailure) } })
  ;(c.tgw as { connectPeers: { insideCidrBlocks: string[] }[] }).connectPeers[0]!.insideCidrBlocks = [n.insideCidr, n.insideCidr6]
  return c
}

t.before(async () => {
  cn = await startControlNode(topo, { restartTime: 5 })
  // vpcCidrs6: BIRD's IPv6 channel on the IPv4 sessions, which the IPv6 aggregate needs
  tgw = await startTgw(topo, { peerAsn: 65001, vpcCidrs: ['10.0.0.0/16'], vpcCidrs6: ['2001:db8:100::/56'] })
  d = new RouterDaemon(n.ns, {})
  d.write(config(false))
  d.start()
})

t.test('probes through the Connect peer to the TGW addresses answer, ICMP and ICMPv6: metrics, gsictl', async (t) => {
  await waitUntil('both TGW sessions Established', 60_000, () => sessionsUp())
  const v = await waitUntil('the four TGW probes alive', 30_000, () => {
    const x = tunnels()
    return x.probes?.targets.filter((p) => p.kind === 'tgw' && p.state === 'alive').length === 4 ? x : undefined
  })
  const p = v.probes!
  t.equal(p.enabled, true)
  t.same(p.targets.filter((x) => x.kind === 'tgw').map((x) => [x.address, x.family, x.via]).sort(), [
    [n.tgwPeers[0], 'ipv4', 'cp-node1'], [n.tgwPeers[1], 'ipv4', 'cp-node1'], [n.tgwPeers6[0], 'ipv6', 'cp-node1'], [n.tgwPeers6[1], 'ipv6', 'cp-node1'],
  ], 'the TGW\'s .2 and .3, and ::2 and ::3 of the /125, through Connect peer cp-node1')
  for (const x of p.targets.filter((y) => y.kind === 'tgw')) {
    t.ok(x.replies > 0 && x.replies <= x.sent, `${x.address}: ${x.replies} replies of ${x.sent} echoes`)
    t.ok(x.rttMs !== undefined && x.rttMs >= 0 && x.rttMs < 5000, `${x.address}: RTT measured (${x.rttMs} ms)`)
  }
  t.match(p.connectPeers, [{ connectPeer: 'cp-node1', family: 'ipv4', state: 'up', withdrawn: false }, { connectPeer: 'cp-node1', family: 'ipv6', state: 'up', withdrawn: false }], 'the Connect peer\'s data plane is up in both IP versions')
  const vn = p.targets.find((x) => x.kind === 'vn')
  t.match(vn, { address: n.controlNode, via: '198.18.100.1', state: 'no-tunnel', sent: 0 }, 'no tunnel to the vRouter yet: nothing sent toward its target')

  const text = d.gsictl(['show', 'tunnels'])
  t.match(text, /Data-plane probes \(ICMP and ICMPv6 echo every 0\.5 s per target\)/, 'gsictl show tunnels has the probes')
  t.match(text, /cp-node1\s+gsig[0-9a-f]{8}\s+ipv4\s+up\s+advertised/, 'the Connect peer\'s IPv4 line')
  t.match(text, /cp-node1\s+gsig[0-9a-f]{8}\s+ipv6\s+up\s+advertised/, 'and its IPv6 line')
  t.match(text, new RegExp(`${re(n.tgwPeers[0])}\\s+GRE cp-node1\\s+alive\\s+\\d+\\s+\\d+\\s+\\d+\\s+\\d+%\\s+\\d+\\.\\d`), 'a target line with counts, loss and RTT')
  t.match(text, new RegExp(`${re(n.tgwPeers6[1])}\\s+GRE cp-node1\\s+alive\\s+\\d+\\s+\\d+\\s+\\d+\\s+\\d+%\\s+\\d+\\.\\d`), 'an IPv6 target line')

  const m = metrics()
  t.match(m, new RegExp(`gsi_probe_up\\{kind="tgw",target="${re(n.tgwPeers[0])}",via="cp-node1",family="ipv4"\\} 1`), 'gsi_probe_up 1')
  t.match(m, new RegExp(`gsi_probe_up\\{kind="tgw",target="${re(n.tgwPeers6[0])}",via="cp-node1",family="ipv6"\\} 1`), 'gsi_probe_up 1 for ::2, labelled ipv6')
  t.match(m, new RegExp(`gsi_probe_replies_total\\{kind="tgw",target="${re(n.tgwPeers[1])}",via="cp-node1",family="ipv4"\\} [1-9]`), 'replies counted')
  t.match(m, new RegExp(`gsi_probe_replies_total\\{kind="tgw",target="${re(n.tgwPeers6[1])}",via="cp-node1",family="ipv6"\\} [1-9]`), 'ICMPv6 replies counted')
  t.match(m, /gsi_probe_rtt_seconds\{kind="tgw",target="169\.254\.6\.2",via="cp-node1",family="ipv4"\} \d/, 'RTT in seconds')
  t.match(m, /gsi_dataplane_dead\{connect_peer="cp-node1",family="ipv4"\} 0/, 'not dead')
  t.match(m, /gsi_dataplane_dead\{connect_peer="cp-node1",family="ipv6"\} 0/, 'not dead over IPv6')
  t.match(m, /gsi_probe_routes_withdrawn\{connect_peer="cp-node1",family="ipv4"\} 0/, 'nothing withdrawn')
})

t.test('a target behind a vRouter is probed once the FIB has a tunnel to it, from probes.source', async (t) => {
  cn.addPod({ prefix: '10.244.1.5/32', rd: '64512:1', label: 101, rt: RT, vrouter: '198.18.100.1' })
  // an IPv6 pod (inet6-vpn from an IPv4 vRouter) makes the IPv6 aggregate, for the withdrawals below
  cn.addPod({ prefix: 'fd10:244:0:1::5/128', rd: '64512:1', label: 201, rt: RT, vrouter: '::ffff:198.18.100.1' })
  await waitUntil('aggregate at the TGW from both sessions', 30_000, () => fromSessions().length === 2)
  await waitUntil('IPv6 aggregate at the TGW from both sessions', 30_000, () => fromSessions(AGGREGATE6).length === 2)
  const vn = await waitUntil('the vRouter target alive', 30_000, () => tunnels().probes?.targets.find((x) => x.kind === 'vn' && x.state === 'alive'))
  t.ok(vn.replies > 0, `answered (${vn.replies} of ${vn.sent}): the echo carried our source, the answer came back to it`)
  t.match(metrics(), new RegExp(`gsi_probe_up\\{kind="vn",target="${re(n.controlNode)}",via="198\\.18\\.100\\.1",family="ipv4"\\} 1`), 'in the metrics with the vRouter as via')
})

t.test('ICMP dropped at the TGW while BGP stays up: "data plane dead" for IPv4 in gsictl, metrics and log; IPv6 up; routes stay by default', async (t) => {
  nft(DROP_ECHO)
  t.teardown(() => { try { nft('delete table inet gsiprobe') } catch { /* already gone */ } })
  await waitUntil('dataplane-dead', 30_000, () => cpState() === 'dataplane-dead')
  t.ok(sessionsUp(), 'both BGP sessions still Established at the TGW')
  const p = tunnels().probes!
  for (const x of p.targets.filter((y) => y.kind === 'tgw')) {
    if (x.family === 'ipv4') {
      t.equal(x.state, 'dead', `${x.address} dead`)
      t.ok(x.lossRatio > 0, `${x.address}: loss ratio ${x.lossRatio}`)
    } else t.equal(x.state, 'alive', `${x.address}: ICMPv6 still answered`)
  }
  t.equal(cpState('ipv6'), 'up', 'the IPv6 data plane is judged on its own: up')
  t.equal(p.targets.find((x) => x.kind === 'vn')?.state, 'alive', 'the vRouter target, not behind the TGW, still answers')
  const m = metrics()
  t.match(m, /gsi_dataplane_dead\{connect_peer="cp-node1",family="ipv4"\} 1/, 'gsi_dataplane_dead 1 for IPv4')
  t.match(m, /gsi_dataplane_dead\{connect_peer="cp-node1",family="ipv6"\} 0/, 'and 0 for IPv6')
  t.match(m, /gsi_probe_up\{kind="tgw",target="169\.254\.6\.2",via="cp-node1",family="ipv4"\} 0/, 'gsi_probe_up 0')
  t.match(d.gsictl(['show', 'tunnels']), /cp-node1\s+gsig[0-9a-f]{8}\s+ipv4\s+dataplane-dead\s+advertised/, 'gsictl shows the state')
  const logged = await waitUntil('the log record', 10_000, () => { const r = d.records(/^BGP up but data plane dead/); return r.length > 0 ? r : undefined })
  t.match(logged[0], { level: 40, connectPeer: 'cp-node1', family: 'ipv4', part: 'probes' }, 'logged at warn, naming the Connect peer and the IP version')
  await sleep(2000)
  t.same(fromSessions(), ['n1a', 'n1b'], 'withdrawOnFailure off: the aggregate stays on both sessions')
})

t.test('with probes.withdrawOnFailure the IPv4 aggregate leaves the Connect peer\'s sessions, the IPv6 one stays, and comes back with ICMP', async (t) => {
  nft(DROP_ECHO)
  t.teardown(() => { try { nft('delete table inet gsiprobe') } catch { /* already gone */ } })
  d.write(config(true))
  d.signal('SIGHUP')
  await waitUntil('aggregate withdrawn from n1a and n1b', 30_000, () => fromSessions().length === 0)
  t.ok(sessionsUp(), 'the sessions stay Established: only the routes go')
  t.same(tgw.paths(AGGREGATE), [], `BIRD (birdc show route ${AGGREGATE}) has no path left`)
  t.same(fromSessions(AGGREGATE6), ['n1a', 'n1b'], 'the IPv6 aggregate, whose probes answer, stays on both sessions')
  t.match(tunnels().probes?.connectPeers, [{ family: 'ipv4', state: 'dataplane-dead', withdrawn: true }, { family: 'ipv6', state: 'up', withdrawn: false }], 'gsictl: IPv4 withdrawn')
  const shown = d.gsictl(['show', 'tunnels'])
  t.match(shown, /cp-node1\s+gsig[0-9a-f]{8}\s+ipv4\s+dataplane-dead\s+withdrawn/, 'gsictl show tunnels: withdrawn')
  t.comment(shown)
  t.match(metrics(), /gsi_probe_routes_withdrawn\{connect_peer="cp-node1",family="ipv4"\} 1/, 'gsi_probe_routes_withdrawn 1')
  // the log reaches the file through a pipe: it may trail the API
  t.ok(await waitUntil('the withdrawal logged', 10_000, () => d.records(/^routes withdrawn from the Connect peer's sessions/).length > 0), 'logged')

  nft('delete table inet gsiprobe')
  await waitUntil('aggregate back on both sessions', 30_000, () => fromSessions().length === 2)
  t.same(fromSessions(), ['n1a', 'n1b'], 'the aggregate is back on both sessions')
  await waitUntil('state up', 10_000, () => cpState() === 'up')
  t.match(metrics(), /gsi_dataplane_dead\{connect_peer="cp-node1",family="ipv4"\} 0/, 'gsi_dataplane_dead back to 0')
  t.ok(await waitUntil('the return logged', 10_000, () => d.records(/^routes advertised to the Connect peer again/).length > 0), 'the return logged')
})

t.test('ICMPv6 dropped at the TGW: the IPv6 data plane dead, the IPv6 aggregate withdrawn, IPv4 untouched; back with ICMPv6', async (t) => {
  nft(DROP_ECHO6)
  t.teardown(() => { try { nft('delete table inet gsiprobe') } catch { /* already gone */ } })
  await waitUntil('IPv6 dataplane-dead', 30_000, () => cpState('ipv6') === 'dataplane-dead')
  t.ok(sessionsUp(), 'both BGP sessions still Established at the TGW')
  for (const x of tunnels().probes!.targets.filter((y) => y.kind === 'tgw')) t.equal(x.state, x.family === 'ipv6' ? 'dead' : 'alive', `${x.address} ${x.family === 'ipv6' ? 'dead' : 'alive'}`)
  await waitUntil('IPv6 aggregate withdrawn from n1a and n1b', 30_000, () => fromSessions(AGGREGATE6).length === 0)
  t.same(fromSessions(), ['n1a', 'n1b'], 'the IPv4 aggregate stays on both sessions')
  t.equal(cpState('ipv4'), 'up')
  const m = metrics()
  t.match(m, /gsi_dataplane_dead\{connect_peer="cp-node1",family="ipv6"\} 1/, 'gsi_dataplane_dead 1 for IPv6')
  t.match(m, /gsi_dataplane_dead\{connect_peer="cp-node1",family="ipv4"\} 0/, 'and 0 for IPv4')
  t.match(m, /gsi_probe_routes_withdrawn\{connect_peer="cp-node1",family="ipv6"\} 1/, 'IPv6 routes withdrawn')
  t.match(m, new RegExp(`gsi_probe_up\\{kind="tgw",target="${re(n.tgwPeers6[0])}",via="cp-node1",family="ipv6"\\} 0`), 'gsi_probe_up 0 for ::2')
  t.match(d.gsictl(['show', 'tunnels']), /cp-node1\s+gsig[0-9a-f]{8}\s+ipv6\s+dataplane-dead\s+withdrawn/, 'gsictl show tunnels')
  const logged = await waitUntil('the log record', 10_000, () => { const r = d.records(/^BGP up but data plane dead/).filter((x) => x.family === 'ipv6'); return r.length > 0 ? r : undefined })
  t.match(logged[0], { level: 40, connectPeer: 'cp-node1', family: 'ipv6', targets: [...n.tgwPeers6] }, 'logged at warn with the IPv6 targets')

  nft('delete table inet gsiprobe')
  await waitUntil('IPv6 aggregate back on both sessions', 30_000, () => fromSessions(AGGREGATE6).length === 2)
  await waitUntil('IPv6 state up', 10_000, () => cpState('ipv6') === 'up')
  t.match(metrics(), /gsi_dataplane_dead\{connect_peer="cp-node1",family="ipv6"\} 0/, 'gsi_dataplane_dead back to 0')
})

t.test('the probes stop with the daemon', async (t) => {
  d.signal('SIGTERM')
  t.equal(await d.exited(30_000), 0, 'gsi-routerd exits 0 on SIGTERM with the probes running')
})
