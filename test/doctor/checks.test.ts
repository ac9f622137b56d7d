// Every doctor check judged from hand-built snapshots: the healthy one gives only ok lines, and each
// fault, put in one at a time, gives warn or FAIL on the right line with the evidence that decided
// and what to do.
import t from 'tap'
import { CHECKS, exitStatus, formatDoctor, runChecks, type CheckResult, type DoctorSnapshot } from '../../src/doctor/index.js'
import { healthy, NOW, peer, RT } from './snapshots.js'

function lines(s: DoctorSnapshot, check: string): CheckResult[] {
  return runChecks(s).filter((r) => r.check === check)
}
function one(s: DoctorSnapshot, check: string): CheckResult {
  const l = lines(s, check)
  if (l.length !== 1) throw new Error(`${check}: ${l.length} lines`)
  return l[0] as CheckResult
}
/** The lines other than `check` that are not ok (a fault should be named by its own line). */
function others(s: DoctorSnapshot, ...checks: string[]): string[] {
  return runChecks(s).filter((r) => r.verdict !== 'ok' && !checks.includes(r.check)).map((r) => `${r.check}: ${r.evidence}`)
}

t.test('a healthy gateway: every line ok, exit 0, each check present', async (t) => {
  const { s } = healthy()
  const rs = runChecks(s)
  t.same(rs.filter((r) => r.verdict !== 'ok').map((r) => `${r.check}: ${r.evidence}`), [])
  for (const c of ['controller-pods', 'controller-leader', 'aws-identity', 'aws-access', 'tgw-state', 'gateway-nodes', 'node-daemon', 'gre-link', 'tgw-sessions', 'cn2-sessions', 'cn2-bgprouters', 'vn-exposed', 'tgw-advertised', 'vpc-routes', 'security-group', 'dataplane-probes']) {
    t.ok(rs.some((r) => r.check === c), `${c} line present`)
  }
  t.equal(exitStatus(rs), 0)
  t.notOk(rs.some((r) => r.action !== undefined), 'no action on ok lines')
  t.match(one(s, 'tgw-sessions').evidence, '169.254.6.2 Established, AWS BgpStatus up; 169.254.6.3 Established, AWS BgpStatus up')
  t.match(one(s, 'vpc-routes').evidence, /EC2: 10\.244\.0\.0\/16 -> tgw-0123456789abcdef0 active in 2 route tables \(rtb-1, rtb-2\)/)
})

t.test('controller pods and leader', async (t) => {
  let h = healthy()
  h.cluster.controllerPods = []
  t.match(one(h.s, 'controller-pods'), { verdict: 'fail', evidence: 'no gsi-controller pod in namespace gsi-system' })
  h = healthy()
  ;(h.cluster.controllerPods as { ready: boolean }[])[1]!.ready = false
  t.match(one(h.s, 'controller-pods'), { verdict: 'warn', evidence: /1 of 2 pods ready/ })
  h = healthy()
  ;(h.cluster as { controllerPods: unknown }).controllerPods = { error: 'pods is forbidden' }
  t.match(one(h.s, 'controller-pods'), { verdict: 'warn', evidence: /cannot list pods in gsi-system: pods is forbidden/ })

  h = healthy()
  h.cluster.lease = { name: 'gsi-controller', holder: 'gsi-controller-a', renewTime: new Date(NOW - 45_000).toISOString(), durationSeconds: 15 }
  t.match(one(h.s, 'controller-leader'), { verdict: 'fail', evidence: /held by gsi-controller-a but renewed 45 s ago \(duration 15 s\): the leader is gone/ })
  h = healthy()
  h.cluster.lease = null
  t.match(one(h.s, 'controller-leader'), { verdict: 'fail', evidence: /no Lease gsi-controller/ })
  h = healthy()
  h.cluster.lease = { name: 'gsi-controller', holder: 'elsewhere-1', renewTime: new Date(NOW).toISOString(), durationSeconds: 15 }
  t.match(one(h.s, 'controller-leader'), { verdict: 'warn', evidence: /held by elsewhere-1.*no controller pod has that name/ })
  t.same(others(h.s, 'controller-leader'), [])
})

t.test('AWS access: the IRSA annotation and the AWSReady condition', async (t) => {
  let h = healthy()
  h.cluster.serviceAccount = { name: 'gsi-controller' }
  t.match(one(h.s, 'aws-identity'), { verdict: 'warn', evidence: /no eks\.amazonaws\.com\/role-arn annotation/, action: /annotate serviceaccount gsi-controller/ })
  h = healthy()
  const tgw = h.cluster.transitGateways[0]!
  tgw.status!.conditions = [{ type: 'AWSReady', status: 'False', reason: 'AwsError', message: 'UnauthorizedOperation: You are not authorized to perform: ec2:CreateRoute', lastTransitionTime: '' }]
  h.cluster.warnings = [{ object: 'TransitGateway/tgw', type: 'Warning', reason: 'AwsError', message: 'CreateRoute: UnauthorizedOperation' }]
  const l = one(h.s, 'aws-access')
  t.equal(l.verdict, 'fail')
  t.equal(l.subject, 'default/tgw')
  t.match(l.evidence, /AWSReady False \(AwsError\): UnauthorizedOperation.*recent events: AwsError: CreateRoute: UnauthorizedOperation/)
  t.match(l.action, /lacks permissions: attach deploy\/iam-policy\.json/)
  h = healthy()
  h.cluster.transitGateways[0]!.status!.conditions = []
  t.match(one(h.s, 'aws-access'), { verdict: 'warn', evidence: /no AWSReady condition yet/ })
})

t.test('TransitGateway state', async (t) => {
  const h = healthy()
  h.cluster.transitGateways[0]!.status!.state = 'pending'
  t.match(one(h.s, 'tgw-state'), { verdict: 'warn', evidence: /tgw-0123456789abcdef0 pending/ })
  h.cluster.transitGateways[0]!.status!.state = 'failed'
  t.match(one(h.s, 'tgw-state'), { verdict: 'fail', evidence: /failed/ })
  h.cluster.transitGateways = []
  t.match(runChecks(h.s).find((r) => r.check === 'tgw-state'), { verdict: 'fail', evidence: 'no TransitGateway object in the cluster' })
})

t.test('a node unlabelled: gateway-nodes and node-daemon name it', async (t) => {
  const h = healthy()
  ;(h.cluster.nodes as { labels: Record<string, string> }[])[0]!.labels = {}
  t.match(one(h.s, 'gateway-nodes'), { verdict: 'fail', evidence: /node1 runs a gateway but is not labelled core\.juniper\.net\/crpd-node \(labelled: none\)/, action: /kubectl label node node1 core\.juniper\.net\/crpd-node=true/ })
  t.match(one(h.s, 'node-daemon'), { verdict: 'fail', evidence: /node not labelled/ })
  // The controller then removes the ConnectedPeer: the running daemon pod still names the node.
  h.cluster.connectedPeers = []
  h.cluster.transitGateways[0]!.status!.peers = []
  t.match(one(h.s, 'gateway-nodes'), { verdict: 'fail', evidence: /node1 runs a gateway but is not labelled/ })
  t.equal(exitStatus(runChecks(h.s)), 1)
})

t.test('the daemon: not ready, unreachable', async (t) => {
  let h = healthy()
  h.report.status = { ...h.report.status, ready: false, notReadyReason: 'waiting for End-of-RIB from 10.0.0.10' }
  t.match(one(h.s, 'node-daemon'), { verdict: 'fail', evidence: /gsi-routerd not ready: waiting for End-of-RIB from 10\.0\.0\.10/ })
  h = healthy()
  ;(h.s.daemons as unknown[])[0] = { node: 'node1', source: 'http://10.0.1.11:9478/status', error: 'ECONNREFUSED' }
  const l = one(h.s, 'node-daemon')
  t.equal(l.verdict, 'warn')
  t.match(l.evidence, /did not answer \(http:\/\/10\.0\.1\.11:9478\/status: ECONNREFUSED\); status\.daemon written 3 s ago/)
  // status.daemon still answers for the GRE link and the TGW sessions; the control-node line cannot tell.
  t.match(one(h.s, 'gre-link'), { verdict: 'ok', evidence: /up \(status\.daemon/ })
  t.match(one(h.s, 'tgw-sessions'), { verdict: 'ok', evidence: /from status\.daemon/ })
  t.match(one(h.s, 'cn2-sessions'), { verdict: 'warn', evidence: /cannot tell/ })
  h = healthy()
  h.cluster.daemonPods = []
  t.match(one(h.s, 'node-daemon'), { verdict: 'fail', evidence: /no gsi-routerd pod on it/ })
})

t.test('GRE link', async (t) => {
  let h = healthy()
  h.report.gre = [{ ...h.report.gre[0]!, state: 'down' }]
  t.match(one(h.s, 'gre-link'), { verdict: 'fail', evidence: 'gsig1 10.0.1.11 -> 192.0.2.100 down mtu 8476', action: /ip -d link show gsig1/ })
  h = healthy()
  h.report.status = { ...h.report.status, dataplane: 'none' }
  h.report.gre = [{ ...h.report.gre[0]!, state: 'missing', mtu: null }]
  t.match(one(h.s, 'gre-link'), { verdict: 'warn', evidence: /missing \(dataplane none: nothing is programmed\)/ })
  h = healthy()
  h.report.gre = [{ ...h.report.gre[0]!, remote: '192.0.2.200' }]
  t.match(one(h.s, 'gre-link'), { verdict: 'fail', evidence: /no GRE link toward 192\.0\.2\.100/ })
})

t.test('a TGW session down, and AWS disagreeing', async (t) => {
  let h = healthy()
  h.report.peers[1] = peer('169.254.6.3', 'tgw', 'Active', 'hold-timer-expired')
  const l = one(h.s, 'tgw-sessions')
  t.equal(l.verdict, 'fail')
  t.match(l.evidence, '169.254.6.2 Established, AWS BgpStatus up; 169.254.6.3 Active (last error hold-timer-expired), AWS BgpStatus up (disagrees)')
  t.match(l.action, /gsictl show bgp neighbor 169\.254\.6\.3 on node1/)
  t.same(others(h.s, 'tgw-sessions'), [], 'tgw-advertised does not judge the down session')
  t.match(one(h.s, 'tgw-advertised').evidence, /169\.254\.6\.3: session down, not judged/)
  h = healthy()
  h.cluster.connectedPeers[0]!.status!.awsBgpStatus![1]!.status = 'down'
  t.match(one(h.s, 'tgw-sessions'), { verdict: 'warn', evidence: /169\.254\.6\.3 Established, AWS BgpStatus down \(disagrees\)/ })
})

t.test('control-node sessions and BGPRouters', async (t) => {
  let h = healthy()
  h.report.peers[2] = peer('10.0.0.10', 'cn2', 'Connect', 'connection-refused')
  t.match(one(h.s, 'cn2-sessions'), { verdict: 'fail', evidence: '10.0.0.10 Connect (last error connection-refused)' })
  h = healthy()
  h.cluster.bgpRouters = (h.cluster.bgpRouters as { metadata: { name: string } }[]).filter((b) => b.metadata.name !== 'gsi-tgw-node1') as never
  t.match(one(h.s, 'cn2-bgprouters'), { verdict: 'fail', evidence: 'missing: our BGPRouter gsi-tgw-node1' })
  // An EKS node name: the controller makes it a DNS label (gsi-tgw-ip-10-0-1-11-ec2-internal); the
  // doctor looked for the raw name and failed every real cluster (found by the lab)
  h = healthy('ip-10-0-1-11.ec2.internal')
  t.match(one(h.s, 'cn2-bgprouters'), { verdict: 'ok', subject: /ip-10-0-1-11\.ec2\.internal/ })
  h.cluster.bgpRouters = (h.cluster.bgpRouters as { metadata: { name: string } }[]).filter((b) => b.metadata.name !== 'gsi-tgw-ip-10-0-1-11-ec2-internal') as never
  t.match(one(h.s, 'cn2-bgprouters'), { verdict: 'fail', evidence: 'missing: our BGPRouter gsi-tgw-ip-10-0-1-11-ec2-internal' })
})

t.test('the VN not exposed, not applied, or without routes', async (t) => {
  let h = healthy()
  h.cluster.connectedPeers[0]!.spec.exposedRouteTargets = []
  h.report.exposed = { routeTargets: [], cidrs: ['10.244.0.0/16'] }
  t.match(one(h.s, 'vn-exposed'), { verdict: 'fail', evidence: /no route target exposed \(CIDRs 10\.244\.0\.0\/16 without one\)/, action: /spec\.exposed\.routeTargets/ })
  h = healthy()
  h.report.exposed = { routeTargets: [], cidrs: [] }
  t.match(one(h.s, 'vn-exposed'), { verdict: 'fail', evidence: `gsi-routerd does not import ${RT} (its config: none)` })
  h = healthy()
  h.report.importedByRouteTarget = [{ routeTarget: RT, routes: 0 }]
  t.match(one(h.s, 'vn-exposed'), { verdict: 'fail', evidence: `${RT}: 0 VPN routes; gateway table 100: 3 routes` })
  h = healthy()
  h.report.gatewayTables = [{ table: 100, routes: 0 }]
  t.match(one(h.s, 'vn-exposed'), { verdict: 'fail', action: /none usable in the gateway table/ })
  t.match(one(healthy().s, 'vn-exposed').evidence, `${RT}: 3 VPN routes; gateway table 100: 3 routes`)
})

t.test('aggregates to the TGW and the quota', async (t) => {
  let h = healthy()
  h.report.advertisedToTgw[1] = { peer: '169.254.6.3', prefixes: [] }
  t.match(one(h.s, 'tgw-advertised'), { verdict: 'fail', evidence: /169\.254\.6\.3: 0 prefixs?, missing 10\.244\.0\.0\/16/ })
  h = healthy()
  h.report.gateway = { tgwAdvertised: 1000, tgwQuota: 1000, tgwRefused: ['10.250.0.0/24', '10.250.1.0/24'] }
  t.match(one(h.s, 'tgw-advertised'), { verdict: 'warn', evidence: /quota 1000 of 1000; 2 prefixs? refused beyond the quota \(first 10\.250\.0\.0\/24\)/ })
  h = healthy()
  h.report.gateway = { tgwAdvertised: 850, tgwQuota: 1000, tgwRefused: [] }
  t.match(one(h.s, 'tgw-advertised'), { verdict: 'warn', action: /above 80 %/ })
})

t.test('VPC routes from EC2, and from Route status without EC2', async (t) => {
  let h = healthy()
  h.aws.routeTables[1]!.routes = []
  t.match(one(h.s, 'vpc-routes'), { verdict: 'fail', evidence: 'EC2: rtb-2 has no route for 10.244.0.0/16' })
  h = healthy()
  h.aws.routeTables[0]!.routes[1]!.state = 'blackhole'
  t.match(one(h.s, 'vpc-routes'), { verdict: 'fail', evidence: 'EC2: rtb-1: 10.244.0.0/16 blackhole' })
  h = healthy()
  delete (h.s as { aws?: unknown }).aws
  t.match(one(h.s, 'vpc-routes'), { verdict: 'warn', evidence: /Route status says 10\.244\.0\.0\/16 active in 1 route table; EC2 not asked \(no --aws\)/, action: /give --aws/ })
  h.cluster.routes[0]!.status = { state: 'blackhole', message: 'the TGW attachment is gone' }
  t.match(one(h.s, 'vpc-routes'), { verdict: 'fail', evidence: /rtb-1: 10\.244\.0\.0\/16 blackhole \(the TGW attachment is gone\)/ })
  h = healthy()
  ;(h.s as { aws: unknown }).aws = { 'default/tgw': { error: 'EC2: CredentialsProviderError: Could not load credentials' } }
  t.match(one(h.s, 'vpc-routes'), { verdict: 'warn', evidence: /EC2 not asked \(EC2: CredentialsProviderError/ })
})

t.test('gsi-sg rules from EC2, unverified without it', async (t) => {
  let h = healthy()
  h.aws.securityGroups[0]!.ingress = [{ protocol: '-1', cidr: '10.244.0.0/16' }]
  const l = one(h.s, 'security-group')
  t.equal(l.verdict, 'fail')
  t.equal(l.evidence, 'EC2: gsi-sg (sg-0aaa) does not admit GRE (47) from 192.0.2.0/24')
  t.match(l.action, /--ip-permissions IpProtocol=47,IpRanges=\[\{CidrIp=192\.0\.2\.0\/24\}\]/)
  h = healthy()
  h.aws.securityGroups[0]!.ingress = [{ protocol: '47', cidr: '192.0.2.0/24' }]
  t.match(one(h.s, 'security-group'), { verdict: 'fail', evidence: /does not admit all traffic from 10\.244\.0\.0\/16/ })
  h = healthy()
  delete (h.s as { aws?: unknown }).aws
  t.match(one(h.s, 'security-group'), { verdict: 'warn', evidence: /sg-0aaa recorded by the controller with AWSReady True.*its rules are not in any status/ })
})

t.test("data-plane probes from each daemon's report: BGP up but data plane dead is a FAIL", async (t) => {
  let h = healthy()
  t.match(one(h.s, 'dataplane-probes'), { verdict: 'ok', subject: 'node1', evidence: 'tgw via tgw-connect-peer-1 -> 169.254.6.2 alive rtt 1.2 ms; tgw via tgw-connect-peer-1 -> 169.254.6.3 alive rtt 1.3 ms' })
  type P = { probes?: { enabled: boolean; targets: Record<string, unknown>[]; connectPeers: Record<string, unknown>[] } }
  const probes = (): NonNullable<P['probes']> => (h.report as unknown as P).probes!
  h = healthy()
  for (const x of probes().targets) Object.assign(x, { state: 'dead', lossRatio: 1 })
  Object.assign(probes().connectPeers[0]!, { state: 'dataplane-dead', withdrawn: true })
  t.match(one(h.s, 'dataplane-probes'), { verdict: 'fail', subject: 'node1', evidence: /^BGP up but data plane dead: tgw-connect-peer-1 \(gsig1, our routes withdrawn from its sessions\); .*169\.254\.6\.2 dead/, action: /gsi-sg admits GRE \(protocol 47\)/ })
  h = healthy()
  // a dual-stack Connect peer: IPv6 dead beside IPv4 up points inside the tunnel, not at GRE
  probes().targets.push({ kind: 'tgw', family: 'ipv6', address: 'fd00:6::2', via: 'tgw-connect-peer-1', state: 'dead', since: NOW, sent: 9, replies: 0, lost: 9, lossRatio: 1 })
  probes().connectPeers.push({ connectPeer: 'tgw-connect-peer-1', family: 'ipv6', link: 'gsig1', state: 'dataplane-dead', since: NOW, withdrawn: false })
  t.match(one(h.s, 'dataplane-probes'), { verdict: 'fail', evidence: /^BGP up but data plane dead: tgw-connect-peer-1 IPv6 \(gsig1\);.*tgw ipv6 via tgw-connect-peer-1 -> fd00:6::2 dead/, action: /IPv4 answers through gsig1 but IPv6 does not/ })
  h = healthy()
  Object.assign(probes().targets[1]!, { state: 'dead' })
  t.match(one(h.s, 'dataplane-probes'), { verdict: 'fail', action: /echoes to 169\.254\.6\.3 through tgw-connect-peer-1 die/ })
  h = healthy()
  Object.assign(probes().targets[0]!, { lossRatio: 0.3 })
  t.match(one(h.s, 'dataplane-probes'), { verdict: 'warn', evidence: /loss 30 %/, action: /partial loss/ })
  h = healthy()
  Object.assign(probes().targets[0]!, { state: 'unavailable', lastError: 'EPERM' })
  t.match(one(h.s, 'dataplane-probes'), { verdict: 'warn', evidence: /unavailable \(EPERM\)/, action: /CAP_NET_RAW/ })
  h = healthy()
  probes().enabled = false
  t.match(one(h.s, 'dataplane-probes'), { verdict: 'warn', evidence: 'probes disabled in the configuration' })
  h = healthy()
  delete (h.report as unknown as P).probes
  t.match(one(h.s, 'dataplane-probes'), { verdict: 'warn', evidence: /^not available/ })
  h = healthy()
  const s: DoctorSnapshot = { ...h.s, daemons: [{ node: 'node1', source: 'x', error: 'connection refused' }] }
  t.match(one(s, 'dataplane-probes'), { verdict: 'warn', evidence: /no gsi-routerd answered/ })
})

t.test('node mode: only the local daemon is judged', async (t) => {
  const h = healthy()
  const s: DoctorSnapshot = { takenAt: NOW, mode: 'node', daemons: h.s.daemons }
  const rs = runChecks(s)
  t.same([...new Set(rs.map((r) => r.check))], ['node-daemon', 'gre-link', 'tgw-sessions', 'cn2-sessions', 'vn-exposed', 'tgw-advertised', 'dataplane-probes'])
  t.same(rs.filter((r) => r.verdict === 'fail'), [])
  h.report.peers[0] = peer('169.254.6.2', 'tgw', 'Idle')
  t.match(runChecks(s).find((r) => r.check === 'tgw-sessions'), { verdict: 'fail', subject: 'node1', evidence: /169\.254\.6\.2 Idle/ })
})

t.test('a check that throws becomes a FAIL line; the text output', async (t) => {
  const { s } = healthy()
  const rs = runChecks(s, [...CHECKS, ['broken', () => { throw new Error('boom') }]])
  t.match(rs.at(-1), { check: 'broken', verdict: 'fail', evidence: 'the check itself failed: boom' })
  t.equal(exitStatus(rs), 1)
  const text = formatDoctor(rs, s)
  t.match(text, /^gsictl doctor: cluster, controller namespace gsi-system; EC2 asked\n/)
  t.match(text, /\nFAIL {2}broken +- +the check itself failed: boom\n +do: report this/)
  t.match(text, /\nok {4}tgw-sessions +tgw\/node1 /)
  t.match(text, /\n16 ok, 0 warn, 1 FAIL\n$/)
})
