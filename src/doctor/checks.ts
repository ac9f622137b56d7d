/**
 * `gsictl doctor`'s judgement: each check a small pure function of one DoctorSnapshot (snapshot.ts)
 * returning checklist lines (ok / warn / fail, the evidence, what to do). They walk the path a packet
 * and a route take, in the order an operator would: the controller and its AWS access, the Transit
 * Gateway, each gateway node and its gsi-routerd, the GRE link, the BGP sessions to the TGW (and
 * AWS's own BgpStatus for them) and to the CN2 control nodes, the exposed VN, the aggregates sent to
 * the TGW under its 1,000-prefix quota, the VPC route tables, the gsi-sg security group and the
 * data-plane probes.
 *
 * A check never guesses: when its input could not be read it says so (warn, with the reason). Where
 * the doctor could not ask EC2 itself, the VPC route and security-group lines fall back on what the
 * controller recorded (Route status) or say that the rules were not verified.
 */
import { bgpRouterName } from '../../controller/names.js'
import { DEFAULT_NODE_LABEL, TRANSIT_GATEWAY_LABEL, type ConnectedPeer, type GatewayServiceInstance, type TransitGateway } from '../../controller/types.js'
import { routeTargetKey } from '../api/report.js'
import { canonicalPrefix } from '../lib/address.js'
import { unreadable, type AwsSnapshot, type CheckResult, type DaemonAnswer, type DoctorSnapshot, type Verdict } from './snapshot.js'

/** A check: one snapshot in, zero or more lines out (none when it does not apply to the mode). */
export type Check = (s: DoctorSnapshot) => CheckResult[]

/** Lease older than this many lease durations counts as expired (no leader). */
const LEASE_GRACE = 1
/** Share of the TGW quota above which the quota line warns (the alert uses the same 80 %). */
const QUOTA_WARN_SHARE = 0.8
const IRSA_ANNOTATION = 'eks.amazonaws.com/role-arn'

const line = (check: string, verdict: Verdict, evidence: string, action?: string, subject?: string): CheckResult => ({
  check, verdict, evidence, ...(action !== undefined && verdict !== 'ok' ? { action } : {}), ...(subject !== undefined ? { subject } : {}),
})
const worst = (vs: readonly Verdict[]): Verdict => (vs.includes('fail') ? 'fail' : vs.includes('warn') ? 'warn' : 'ok')
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`
const keyOf = (o: { metadata: { name: string; namespace?: string } }): string => `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`

function prefixKey(p: string): string {
  try {
    return canonicalPrefix(p)
  } catch {
    return p
  }
}

function gsiOf(s: DoctorSnapshot, tgw: TransitGateway): GatewayServiceInstance | undefined {
  return s.cluster?.gatewayServiceInstances.find((g) => g.metadata.name === tgw.spec.gatewayServiceInstance && (g.metadata.namespace ?? 'default') === (tgw.metadata.namespace ?? 'default'))
}

function tgwOf(s: DoctorSnapshot, cp: ConnectedPeer): TransitGateway | undefined {
  return s.cluster?.transitGateways.find((t) => t.metadata.name === cp.spec.transitGateway && (t.metadata.namespace ?? 'default') === (cp.metadata.namespace ?? 'default'))
}

const nodeLabelOf = (s: DoctorSnapshot, tgw: TransitGateway | undefined): string => (tgw !== undefined ? gsiOf(s, tgw)?.spec.nodeLabel : undefined) ?? DEFAULT_NODE_LABEL

/** A node's gateway work: its ConnectedPeer (cluster mode) and its daemon as the doctor reached it. */
interface Gateway {
  readonly node: string
  readonly cp?: ConnectedPeer
  readonly daemon?: DaemonAnswer
}

/** Cluster mode: one per ConnectedPeer; node mode: one per daemon reached. */
function gateways(s: DoctorSnapshot): Gateway[] {
  if (s.cluster === undefined) return s.daemons.map((d) => ({ node: d.node, daemon: d }))
  return s.cluster.connectedPeers.map((cp) => {
    const daemon = s.daemons.find((d) => d.node === cp.spec.nodeName)
    return { node: cp.spec.nodeName, cp, ...(daemon !== undefined ? { daemon } : {}) }
  })
}

const subjectOf = (g: Gateway): string => (g.cp !== undefined ? `${g.cp.spec.transitGateway}/${g.node}` : g.node)

/** What to do when a daemon did not answer: depends on how the doctor asked it. */
function reachAction(s: DoctorSnapshot, g: Gateway): string {
  if (s.mode === 'node') return 'start gsi-routerd (systemctl / the DaemonSet pod), or give its socket with --socket'
  return `open the daemon's HTTP port (9478) from here to ${g.node}, or run gsictl doctor on the node`
}

function unreachable(g: Gateway): string {
  if (g.daemon === undefined) return `gsi-routerd on ${g.node} was not asked`
  return `gsi-routerd on ${g.node} did not answer (${g.daemon.source}: ${g.daemon.error ?? 'no report'})`
}

// ---------------------------------------------------------------- controller

export const controllerPods: Check = (s) => {
  const c = s.cluster
  if (c === undefined) return []
  const pods = c.controllerPods
  if (unreadable(pods)) return [line('controller-pods', 'warn', `cannot list pods in ${c.namespace}: ${pods.error}`, 'give the doctor a kubeconfig that may list pods, or check --namespace')]
  if (pods.length === 0) return [line('controller-pods', 'fail', `no gsi-controller pod in namespace ${c.namespace}`, `kubectl -n ${c.namespace} describe deployment gsi-controller (or give --namespace)`)]
  const ready = pods.filter((p) => p.ready)
  const desc = pods.map((p) => `${p.name} ${p.phase ?? '?'}${p.ready ? ' ready' : ' not ready'}${p.node !== undefined ? ` on ${p.node}` : ''}${p.restarts ? `, ${plural(p.restarts, 'restart')}` : ''}`).join('; ')
  if (ready.length === 0) return [line('controller-pods', 'fail', `no gsi-controller pod ready: ${desc}`, `kubectl -n ${c.namespace} logs deployment/gsi-controller`)]
  if (ready.length < pods.length) return [line('controller-pods', 'warn', `${ready.length} of ${pods.length} pods ready: ${desc}`, `kubectl -n ${c.namespace} describe pod ${pods.find((p) => !p.ready)?.name ?? ''}`)]
  return [line('controller-pods', 'ok', desc)]
}

export const controllerLeader: Check = (s) => {
  const c = s.cluster
  if (c === undefined) return []
  const l = c.lease
  if (unreadable(l)) return [line('controller-leader', 'warn', `cannot read the Lease in ${c.namespace}: ${l.error}`, 'give the doctor a kubeconfig that may get leases')]
  if (l === null) return [line('controller-leader', 'fail', `no Lease gsi-controller in ${c.namespace}: no controller has ever led`, 'check the controller pods and their --lease-namespace')]
  if (l.holder === undefined || l.holder === '') return [line('controller-leader', 'fail', `Lease ${c.namespace}/${l.name} has no holder: no leader`, `kubectl -n ${c.namespace} logs deployment/gsi-controller`)]
  const renewed = l.renewTime !== undefined ? Date.parse(l.renewTime) : NaN
  const age = Number.isFinite(renewed) ? Math.max(0, (s.takenAt - renewed) / 1000) : undefined
  const dur = l.durationSeconds ?? 15
  const ageText = age !== undefined ? `renewed ${age.toFixed(0)} s ago` : 'never renewed'
  if (age === undefined || age > dur * (1 + LEASE_GRACE)) {
    return [line('controller-leader', 'fail', `Lease held by ${l.holder} but ${ageText} (duration ${dur} s): the leader is gone`, `kubectl -n ${c.namespace} get pods; a ready replica takes over within ${dur} s of expiry`)]
  }
  const pods = c.controllerPods
  if (!unreadable(pods) && pods.length > 0 && !pods.some((p) => p.name === l.holder)) {
    return [line('controller-leader', 'warn', `Lease held by ${l.holder}, ${ageText}, but no controller pod has that name (${pods.map((p) => p.name).join(', ')})`, 'a replica outside this namespace leads: check for a second controller deployment')]
  }
  return [line('controller-leader', 'ok', `one leader: ${l.holder}, ${ageText} (duration ${dur} s)`)]
}

function condition(tgw: TransitGateway, type: string): { status: string; reason: string; message: string } | undefined {
  return tgw.status?.conditions?.find((x) => x.type === type)
}

export const awsAccess: Check = (s) => {
  const c = s.cluster
  if (c === undefined) return []
  const out: CheckResult[] = []
  const sa = c.serviceAccount
  let identity: string
  if (unreadable(sa)) {
    identity = `service account not read (${sa.error})`
    out.push(line('aws-identity', 'warn', identity, 'give the doctor a kubeconfig that may get serviceaccounts'))
  } else if (sa === null) {
    identity = 'no gsi-controller service account'
    out.push(line('aws-identity', 'fail', `no service account gsi-controller in ${c.namespace}`, 'kubectl apply -k deploy/ creates it (deploy/rbac.yaml)'))
  } else if (sa.roleArn === undefined || sa.roleArn === '') {
    identity = `${sa.name} has no ${IRSA_ANNOTATION}`
    out.push(line('aws-identity', 'warn', `service account ${c.namespace}/${sa.name} has no ${IRSA_ANNOTATION} annotation: on EKS the controller has no AWS role (IRSA)`, `kubectl -n ${c.namespace} annotate serviceaccount ${sa.name} ${IRSA_ANNOTATION}=arn:aws:iam::<account>:role/<role> and restart the controller`))
  } else {
    identity = `role ${sa.roleArn}`
    out.push(line('aws-identity', 'ok', `service account ${c.namespace}/${sa.name} assumes ${sa.roleArn}`))
  }
  for (const tgw of c.transitGateways) {
    const k = keyOf(tgw)
    const cond = condition(tgw, 'AWSReady')
    const warnings = c.warnings.filter((e) => e.object === `TransitGateway/${tgw.metadata.name}`).slice(-2).map((e) => `${e.reason}: ${e.message}`)
    const recent = warnings.length > 0 ? `; recent events: ${warnings.join(' | ')}` : ''
    if (cond === undefined) out.push(line('aws-access', 'warn', `no AWSReady condition yet${recent}`, 'the controller has not reconciled this TransitGateway: check controller-leader', k))
    else if (cond.status === 'True') out.push(line('aws-access', 'ok', `AWSReady True (${cond.reason}) with ${identity}`, undefined, k))
    else {
      const denied = /unauthori[sz]ed|accessdenied|not authorized|credential/i.test(`${cond.reason} ${cond.message}`)
      out.push(line('aws-access', cond.status === 'False' ? 'fail' : 'warn', `AWSReady ${cond.status} (${cond.reason}): ${cond.message}${recent}`,
        denied ? `the controller's AWS identity (${identity}) lacks permissions: attach deploy/iam-policy.json to the role` : 'act on the condition message; kubectl describe transitgateway shows the Events', k))
    }
  }
  return out
}

export const transitGatewayState: Check = (s) => {
  const c = s.cluster
  if (c === undefined) return []
  if (c.transitGateways.length === 0) return [line('tgw-state', 'fail', 'no TransitGateway object in the cluster', 'kubectl apply -f a TransitGateway (deploy/examples/transitgateway.yaml)')]
  return c.transitGateways.map((tgw) => {
    const st = tgw.status
    const id = st?.transitGatewayID ?? 'no id yet'
    if (st?.state === 'available') return line('tgw-state', 'ok', `${id} available, ${plural(st.activePeers ?? 0, 'active peer')}`, undefined, keyOf(tgw))
    if (st?.state === 'pending' || st?.state === 'modifying') return line('tgw-state', 'warn', `${id} ${st.state}: ${st.message ?? ''}`.trim(), 'wait: AWS takes minutes to make a transit gateway available', keyOf(tgw))
    return line('tgw-state', 'fail', `${id} ${st?.state ?? 'has no state'}${st?.message !== undefined ? `: ${st.message}` : ''}`, 'see the aws-access line and kubectl describe transitgateway', keyOf(tgw))
  })
}

// ---------------------------------------------------------------- gateway nodes

/** Per TransitGateway: the labelled nodes, and nodes that run a gateway but lost the label. */
export const gatewayNodes: Check = (s) => {
  const c = s.cluster
  if (c === undefined) return []
  if (unreadable(c.nodes)) return [line('gateway-nodes', 'warn', `cannot list nodes: ${c.nodes.error}`, 'give the doctor a kubeconfig that may list nodes')]
  const nodes = c.nodes
  return c.transitGateways.map((tgw) => {
    const label = nodeLabelOf(s, tgw)
    const labelled = nodes.filter((n) => label in n.labels).map((n) => n.name)
    const cps = c.connectedPeers.filter((cp) => cp.spec.transitGateway === tgw.metadata.name)
    const wanted = new Set([...cps.map((cp) => cp.spec.nodeName), ...(tgw.status?.peers ?? []).map((p) => p.node)])
    const daemonNodes = unreadable(c.daemonPods) ? [] : c.daemonPods.map((p) => p.node).filter((n): n is string => n !== undefined)
    for (const d of s.daemons) daemonNodes.push(d.node)
    const lost = [...new Set([...wanted, ...daemonNodes])].filter((n) => !labelled.includes(n)).sort()
    if (lost.length > 0) {
      return line('gateway-nodes', 'fail', `${lost.join(', ')} ${lost.length === 1 ? 'runs' : 'run'} a gateway but ${lost.length === 1 ? 'is' : 'are'} not labelled ${label} (labelled: ${labelled.join(', ') || 'none'})`,
        `kubectl label node ${lost[0] ?? ''} ${label}=true (or, if it was meant to leave, drain it)`, keyOf(tgw))
    }
    if (labelled.length === 0) return line('gateway-nodes', 'fail', `no node is labelled ${label}`, `kubectl label node <node> ${label}=true`, keyOf(tgw))
    const standby = tgw.status?.standbyNodes ?? []
    return line('gateway-nodes', 'ok', `${plural(labelled.length, 'node')} labelled ${label}: ${labelled.join(', ')}${standby.length > 0 ? ` (standby: ${standby.join(', ')})` : ''}`, undefined, keyOf(tgw))
  })
}

export const nodeAndDaemon: Check = (s) => gateways(s).map((g) => {
  const c = s.cluster
  const subject = subjectOf(g)
  const parts: string[] = []
  const verdicts: Verdict[] = []
  let action: string | undefined
  if (c !== undefined && g.cp !== undefined) {
    if (!unreadable(c.nodes)) {
      const n = c.nodes.find((x) => x.name === g.node)
      const label = nodeLabelOf(s, tgwOf(s, g.cp))
      if (n === undefined) { verdicts.push('fail'); parts.push(`node ${g.node} does not exist`); action ??= 'the controller removes its ConnectedPeer on its next pass; check controller-leader' }
      else {
        if (!(label in n.labels)) { verdicts.push('fail'); parts.push(`node not labelled ${label}`); action ??= `kubectl label node ${g.node} ${label}=true` }
        if (!n.ready) { verdicts.push('fail'); parts.push('node NotReady'); action ??= `kubectl describe node ${g.node}` }
        else parts.push('node Ready')
      }
    }
    if (!unreadable(c.daemonPods)) {
      const pod = c.daemonPods.find((p) => p.node === g.node)
      if (pod === undefined) { verdicts.push('fail'); parts.push('no gsi-routerd pod on it'); action ??= `kubectl -n ${c.namespace} describe daemonset gsi-routerd (its nodeSelector must match the node label)` }
      else if (!pod.ready) { verdicts.push('fail'); parts.push(`pod ${pod.name} ${pod.phase ?? ''} not ready`); action ??= `kubectl -n ${c.namespace} logs ${pod.name}` }
      else parts.push(`pod ${pod.name} ready`)
    }
  }
  const r = g.daemon?.report
  if (r !== undefined) {
    if (r.status.ready) parts.push(`gsi-routerd ${r.status.version} ready (router id ${r.status.routerId}, dataplane ${r.status.dataplane})`)
    else { verdicts.push('fail'); parts.push(`gsi-routerd not ready: ${r.status.notReadyReason ?? 'no reason given'}`); action ??= `gsictl show bgp summary on ${g.node}` }
  } else {
    const upd = g.cp?.status?.daemon?.updatedAt
    const age = upd !== undefined ? (s.takenAt - Date.parse(upd)) / 1000 : undefined
    verdicts.push('warn')
    parts.push(`${unreachable(g)}${age !== undefined ? `; status.daemon written ${age.toFixed(0)} s ago` : '; no status.daemon'}`)
    action ??= reachAction(s, g)
  }
  return line('node-daemon', worst(verdicts), parts.join('; '), action, subject)
})

// ---------------------------------------------------------------- GRE and BGP

export const greLink: Check = (s) => gateways(s).map((g) => {
  const subject = subjectOf(g)
  const r = g.daemon?.report
  if (r !== undefined) {
    const links = g.cp !== undefined ? r.gre.filter((l) => l.remote === g.cp?.spec.transitGatewayAddress) : r.gre
    if (links.length === 0) return line('gre-link', 'fail', `no GRE link toward ${g.cp?.spec.transitGatewayAddress ?? 'the TGW'} in gsi-routerd's config`, 'the daemon has not applied the ConnectedPeer: check its log for a rejected reload', subject)
    const desc = links.map((l) => `${l.name} ${l.local} -> ${l.remote} ${l.state}${l.mtu !== null ? ` mtu ${l.mtu}` : ''}`).join('; ')
    if (links.every((l) => l.state === 'up')) return line('gre-link', 'ok', desc, undefined, subject)
    if (r.status.dataplane === 'none' && links.every((l) => l.state === 'missing')) {
      return line('gre-link', 'warn', `${desc} (dataplane none: nothing is programmed)`, 'run gsi-routerd with dataplane: kernel to carry packets', subject)
    }
    return line('gre-link', 'fail', desc, `ip -d link show ${links[0]?.name ?? ''} on ${g.node}; the kernel needs ip_gre`, subject)
  }
  const up = g.cp?.status?.daemon?.greLinkUp
  if (up === true) return line('gre-link', 'ok', `up (status.daemon; ${unreachable(g)})`, undefined, subject)
  if (up === false) return line('gre-link', 'fail', `down (status.daemon; ${unreachable(g)})`, `ip -d link show on ${g.node}`, subject)
  return line('gre-link', 'warn', `cannot tell: ${unreachable(g)}, and no greLinkUp in status.daemon`, reachAction(s, g), subject)
})

export const tgwSessions: Check = (s) => gateways(s).map((g) => {
  const subject = subjectOf(g)
  const r = g.daemon?.report
  if (r === undefined && g.cp === undefined) return line('tgw-sessions', 'warn', `cannot tell: ${unreachable(g)}`, reachAction(s, g), subject)
  const tgwPeers = r?.peers.filter((p) => p.side === 'tgw') ?? []
  const addresses = g.cp?.spec.bgpPeerAddresses ?? tgwPeers.map((p) => p.address)
  if (addresses.length === 0) return line('tgw-sessions', 'fail', 'no TGW BGP peer configured', 'check the ConnectedPeer of this node', subject)
  const verdicts: Verdict[] = []
  let action: string | undefined
  const parts = addresses.map((addr) => {
    const p = tgwPeers.find((x) => x.address === addr)
    const st = g.cp?.status?.daemon?.sessions.find((x) => x.peerAddress === addr)
    const state = p?.state ?? st?.state
    const lastError = p?.lastError ?? st?.lastError
    const aws = g.cp?.status?.awsBgpStatus?.find((b) => b.transitGatewayAddress === addr)?.status
    let text = `${addr} ${state ?? 'unknown'}`
    if (state !== 'Established' && lastError !== undefined) text += ` (last error ${lastError})`
    if (g.cp !== undefined) text += `, AWS BgpStatus ${aws ?? 'not reported'}`
    if (state === undefined) { verdicts.push('warn'); action ??= reachAction(s, g) }
    else if (state !== 'Established') { verdicts.push('fail'); action ??= `gsictl show bgp neighbor ${addr} on ${g.node}; check the gre-link and gsi-sg lines (GRE from the TGW CIDR block)` }
    else if (g.cp !== undefined && aws !== 'up') { verdicts.push('warn'); action ??= 'AWS does not see the session up yet: its BgpStatus is read on the controller\'s pass; if it stays down, the Connect peer\'s addresses or ASNs differ from the daemon\'s' }
    if (state !== undefined && aws !== undefined && (state === 'Established') !== (aws === 'up')) text += ' (disagrees)'
    return text
  })
  const source = r !== undefined ? '' : ` (from status.daemon; ${unreachable(g)})`
  return line('tgw-sessions', worst(verdicts), parts.join('; ') + source, action, subject)
})

export const cn2Sessions: Check = (s) => gateways(s).flatMap((g) => {
  const subject = subjectOf(g)
  const out: CheckResult[] = []
  const r = g.daemon?.report
  if (r === undefined) out.push(line('cn2-sessions', 'warn', `cannot tell: ${unreachable(g)} (status.daemon carries only the TGW sessions)`, reachAction(s, g), subject))
  else {
    const peers = r.peers.filter((p) => p.side === 'cn2')
    if (peers.length === 0) out.push(line('cn2-sessions', 'fail', 'no control-node peer configured', 'the controller fills spec.controlNodes from the control nodes\' BGPRouters: check cn2-bgprouters', subject))
    else {
      const down = peers.filter((p) => p.state !== 'Established')
      const desc = peers.map((p) => `${p.address} ${p.state}${p.state !== 'Established' && p.lastError !== undefined ? ` (last error ${p.lastError})` : ''}`).join('; ')
      out.push(line('cn2-sessions', down.length === 0 ? 'ok' : 'fail', desc, `gsictl show bgp neighbor ${down[0]?.address ?? ''} on ${g.node}; a control node accepts us only with our BGPRouter (cn2-bgprouters)`, subject))
    }
  }
  const c = s.cluster
  if (c !== undefined && g.cp !== undefined) {
    if (unreadable(c.bgpRouters)) out.push(line('cn2-bgprouters', 'warn', `cannot list BGPRouters: ${c.bgpRouters.error}`, 'give the doctor a kubeconfig that may list bgprouters.core.contrail.juniper.net', subject))
    else {
      // the controller's own naming: node names such as ip-10-0-1-11.ec2.internal become DNS labels
      const name = bgpRouterName(g.cp.spec.transitGateway, g.node)
      const ours = c.bgpRouters.find((b) => b.metadata.name === name)
      const controls = c.bgpRouters.filter((b) => b.metadata.labels?.[TRANSIT_GATEWAY_LABEL] === undefined && b.spec?.bgpRouterParameters?.routerType !== 'router')
      const missing: string[] = []
      if (ours === undefined) missing.push(`our BGPRouter ${name}`)
      if (controls.length === 0) missing.push('any control-node BGPRouter')
      if (missing.length > 0) out.push(line('cn2-bgprouters', 'fail', `missing: ${missing.join(', ')}`, 'the controller writes ours once the node is active and the control nodes\' BGPRouters exist: check controller-leader and its log', subject))
      else out.push(line('cn2-bgprouters', 'ok', `${name} (${ours?.spec?.bgpRouterParameters?.address ?? '?'}) and ${plural(controls.length, 'control node')}: ${controls.map((b) => b.spec?.bgpRouterParameters?.address ?? b.metadata.name).join(', ')}`, undefined, subject))
    }
  }
  return out
})

// ---------------------------------------------------------------- exposure and advertisement

export const vnExposed: Check = (s) => gateways(s).map((g) => {
  const subject = subjectOf(g)
  if (g.daemon?.report === undefined && g.cp === undefined) return line('vn-exposed', 'warn', `cannot tell: ${unreachable(g)}`, reachAction(s, g), subject)
  const wantRts = g.cp?.spec.exposedRouteTargets ?? g.daemon?.report?.exposed.routeTargets ?? []
  const wantCidrs = g.cp?.spec.exposedCidrs ?? g.daemon?.report?.exposed.cidrs ?? []
  if (wantRts.length === 0) {
    return line('vn-exposed', 'fail', `no route target exposed${wantCidrs.length > 0 ? ` (CIDRs ${wantCidrs.join(', ')} without one)` : ''}: no VN route is imported`,
      'list the VN\'s route target in the TransitGateway\'s spec.exposed.routeTargets, or label its VirtualNetwork for spec.exposed.virtualNetworkSelector', subject)
  }
  const r = g.daemon?.report
  if (r === undefined) return line('vn-exposed', 'warn', `exposes ${wantRts.join(', ')}; cannot tell what was imported: ${unreachable(g)}`, reachAction(s, g), subject)
  const have = new Set(r.exposed.routeTargets.map(routeTargetKey))
  const notApplied = wantRts.filter((rt) => !have.has(routeTargetKey(rt)))
  if (notApplied.length > 0) return line('vn-exposed', 'fail', `gsi-routerd does not import ${notApplied.join(', ')} (its config: ${r.exposed.routeTargets.join(', ') || 'none'})`, `the daemon has not applied its ConnectedPeer: check its log on ${g.node} for a rejected reload`, subject)
  const counts = wantRts.map((rt) => ({ rt, n: r.importedByRouteTarget.find((x) => routeTargetKey(x.routeTarget) === routeTargetKey(rt))?.routes ?? 0 }))
  const tableRoutes = r.gatewayTables.reduce((a, t) => a + t.routes, 0)
  const desc = `${counts.map((x) => `${x.rt}: ${x.n}${r.importedCapped ? '+' : ''} VPN route${x.n === 1 && !r.importedCapped ? '' : 's'}`).join(', ')}; gateway table ${r.gatewayTables.map((t) => t.table).join(',') || '-'}: ${plural(tableRoutes, 'route')}`
  const empty = counts.filter((x) => x.n === 0)
  if (empty.length > 0) return line('vn-exposed', 'fail', desc, `no route with ${empty[0]?.rt ?? ''} from the control nodes: check that the VN's route target is exactly this, and the cn2-sessions line`, subject)
  if (tableRoutes === 0) return line('vn-exposed', 'fail', desc, 'VPN routes imported but none usable in the gateway table (no vRouter next hop or label): gsictl show bgp route vpnv4', subject)
  return line('vn-exposed', 'ok', desc, undefined, subject)
})

export const tgwAdvertised: Check = (s) => gateways(s).map((g) => {
  const subject = subjectOf(g)
  const r = g.daemon?.report
  if (r === undefined) return line('tgw-advertised', 'warn', `cannot tell: ${unreachable(g)}`, reachAction(s, g), subject)
  const cidrs = (g.cp?.spec.exposedCidrs ?? r.exposed.cidrs).map(prefixKey)
  const up = new Set(r.peers.filter((p) => p.side === 'tgw' && p.state === 'Established').map((p) => p.address))
  const verdicts: Verdict[] = []
  let action: string | undefined
  const parts: string[] = []
  for (const a of r.advertisedToTgw) {
    if (!up.has(a.peer)) { parts.push(`${a.peer}: session down, not judged`); continue }
    const sent = new Set(a.prefixes.map(prefixKey))
    const missing = cidrs.filter((c) => !sent.has(c))
    parts.push(`${a.peer}: ${plural(a.prefixes.length, 'prefix')}${missing.length > 0 ? `, missing ${missing.join(', ')}` : ''}`)
    if (missing.length > 0) { verdicts.push('fail'); action ??= 'an aggregate is sent only while an imported route lies inside it: check vn-exposed; gsictl show gateway' }
  }
  if (up.size === 0) { verdicts.push('fail'); action ??= 'no TGW session is Established: see tgw-sessions' }
  const q = r.gateway
  parts.push(`quota ${q.tgwAdvertised} of ${q.tgwQuota}`)
  if (q.tgwRefused.length > 0) { verdicts.push('warn'); parts.push(`${plural(q.tgwRefused.length, 'prefix')} refused beyond the quota (first ${q.tgwRefused[0] ?? ''})`); action ??= 'expose fewer or shorter prefixes: AWS accepts 1,000 per Connect peer' }
  else if (q.tgwQuota > 0 && q.tgwAdvertised > q.tgwQuota * QUOTA_WARN_SHARE) { verdicts.push('warn'); action ??= 'above 80 % of the TGW quota: aggregate the exposed CIDRs' }
  return line('tgw-advertised', worst(verdicts), parts.join('; '), action, subject)
})

// ---------------------------------------------------------------- AWS side

function exposedCidrsOf(s: DoctorSnapshot, tgw: TransitGateway): string[] {
  const fromCps = (s.cluster?.connectedPeers ?? []).filter((cp) => cp.spec.transitGateway === tgw.metadata.name).flatMap((cp) => cp.spec.exposedCidrs)
  return [...new Set((tgw.status?.exposedCidrs ?? fromCps).map(prefixKey))]
}

function awsOf(s: DoctorSnapshot, tgw: TransitGateway): AwsSnapshot | { error: string } | undefined {
  return s.aws?.[keyOf(tgw)]
}

export const vpcRoutes: Check = (s) => (s.cluster?.transitGateways ?? []).map((tgw) => {
  const k = keyOf(tgw)
  const cidrs = exposedCidrsOf(s, tgw)
  const tgwId = tgw.status?.transitGatewayID
  if (cidrs.length === 0) return line('vpc-routes', 'warn', 'no exposed CIDR: nothing to route', 'see vn-exposed', k)
  const aws = awsOf(s, tgw)
  if (aws !== undefined && !unreadable(aws)) {
    const tables = tgw.spec.vpcRouteTableIDs !== undefined ? aws.routeTables.filter((t) => tgw.spec.vpcRouteTableIDs?.includes(t.id)) : aws.routeTables
    const bad: string[] = []
    for (const t of tables) {
      for (const cidr of cidrs) {
        const r = t.routes.find((x) => prefixKey(x.destination) === cidr)
        if (r === undefined) bad.push(`${t.id} has no route for ${cidr}`)
        else if (r.transitGatewayId !== tgwId) bad.push(`${t.id}: ${cidr} goes to ${r.transitGatewayId ?? 'another target'}, not ${tgwId ?? 'the TGW'}`)
        else if (r.state !== undefined && r.state !== 'active') bad.push(`${t.id}: ${cidr} ${r.state}`)
      }
    }
    if (tables.length === 0) return line('vpc-routes', 'fail', `EC2 lists no route table in ${aws.vpcId}`, 'check spec.vpcRouteTableIDs', k)
    if (bad.length > 0) return line('vpc-routes', 'fail', `EC2: ${bad.join('; ')}`, 'the controller re-creates its routes on its next pass (resync); a route of another owner is reported, not overwritten: see aws-access', k)
    return line('vpc-routes', 'ok', `EC2: ${cidrs.join(', ')} -> ${tgwId ?? '?'} active in ${plural(tables.length, 'route table')} (${tables.map((t) => t.id).join(', ')})`, undefined, k)
  }
  // Without EC2: what the controller wrote after its last pass.
  const routes = (s.cluster?.routes ?? []).filter((r) => r.spec.transitGateway === tgw.metadata.name && (r.metadata.namespace ?? 'default') === (tgw.metadata.namespace ?? 'default'))
  const tables = [...new Set(tgw.spec.vpcRouteTableIDs ?? routes.map((r) => r.spec.routeTableID))].sort()
  const why = aws !== undefined && unreadable(aws) ? `EC2 not asked (${aws.error})` : 'EC2 not asked (no --aws)'
  if (tables.length === 0) return line('vpc-routes', 'fail', `no Route object for ${cidrs.join(', ')} (${why})`, 'the controller writes them once the TGW is available: see tgw-state', k)
  const bad: string[] = []
  for (const t of tables) {
    for (const cidr of cidrs) {
      const r = routes.find((x) => x.spec.routeTableID === t && prefixKey(x.spec.destinationCidrBlock) === cidr)
      if (r === undefined) bad.push(`${t} has no Route for ${cidr}`)
      else if (r.status?.state !== 'active') bad.push(`${t}: ${cidr} ${r.status?.state ?? 'no state'}${r.status?.message !== undefined ? ` (${r.status.message})` : ''}`)
    }
  }
  if (bad.length > 0) return line('vpc-routes', 'fail', `Route status: ${bad.join('; ')} (${why})`, 'see aws-access; kubectl get routes.gsi.gsi-router.io', k)
  return line('vpc-routes', 'warn', `Route status says ${cidrs.join(', ')} active in ${plural(tables.length, 'route table')}; ${why}, so a route deleted in AWS since the controller's last pass would not show`, 'give --aws (read-only EC2 credentials) to check the route tables themselves', k)
})

export const securityGroup: Check = (s) => (s.cluster?.transitGateways ?? []).map((tgw) => {
  const k = keyOf(tgw)
  const cidrs = exposedCidrsOf(s, tgw)
  const want = [...cidrs.map((c) => ({ protocol: '-1', cidr: c, what: `all traffic from ${c}` })), { protocol: '47', cidr: prefixKey(tgw.spec.transitGatewayCidrBlock), what: `GRE (47) from ${tgw.spec.transitGatewayCidrBlock}` }]
  const aws = awsOf(s, tgw)
  const sgId = tgw.status?.securityGroupID
  if (aws !== undefined && !unreadable(aws)) {
    const sg = aws.securityGroups.find((g) => g.id === sgId) ?? aws.securityGroups.find((g) => g.name === 'gsi-sg')
    if (sg === undefined) return line('security-group', 'fail', `EC2: no security group ${sgId ?? 'gsi-sg'} in ${aws.vpcId}`, 'the controller creates gsi-sg on its next pass: see aws-access', k)
    const missing = want.filter((w) => !sg.ingress.some((r) => prefixKey(r.cidr) === w.cidr && (r.protocol === w.protocol || r.protocol === '-1')))
    if (missing.length > 0) return line('security-group', 'fail', `EC2: ${sg.name} (${sg.id}) does not admit ${missing.map((m) => m.what).join(', ')}`, `the controller re-adds its rules on its next pass; meanwhile: aws ec2 authorize-security-group-ingress --group-id ${sg.id} --ip-permissions IpProtocol=${missing[0]?.protocol ?? ''},IpRanges=[{CidrIp=${missing[0]?.cidr ?? ''}}]`, k)
    return line('security-group', 'ok', `EC2: ${sg.name} (${sg.id}) admits ${want.map((w) => w.what).join(', ')}`, undefined, k)
  }
  const why = aws !== undefined && unreadable(aws) ? `EC2 not asked (${aws.error})` : 'EC2 not asked (no --aws)'
  if (sgId === undefined) return line('security-group', 'fail', `the controller records no security group (${why})`, 'see aws-access and tgw-state', k)
  const awsReady = condition(tgw, 'AWSReady')?.status === 'True'
  return line('security-group', 'warn', `${sgId} recorded by the controller${awsReady ? ' with AWSReady True at its last pass' : ''}; its rules are not in any status and ${why}`, `give --aws (read-only EC2 credentials) to check it admits ${want.map((w) => w.what).join(', ')}`, k)
})

// ---------------------------------------------------------------- data plane

/**
 * Each daemon's own probe report (show.report / GET /status): a Connect peer whose sessions are up
 * while every echo through its GRE link dies is "BGP up but data plane dead", the state the probes
 * exist to catch; a dead target is a FAIL too, loss or an unavailable raw socket a warning. Judged
 * by the targets' current state, not by counts since the daemon started.
 */
export const dataPlaneProbes: Check = (s) => {
  const answering = s.daemons.filter((d) => d.report !== undefined)
  if (answering.length === 0) return [line('dataplane-probes', 'warn', 'no gsi-routerd answered: no probe report to judge', 'see node-daemon')]
  return answering.map((d) => {
    const p = d.report?.probes
    if (p === undefined) return line('dataplane-probes', 'warn', 'not available: this gsi-routerd reports no data-plane probes', 'run a gsi-routerd with probes (show tunnels lists them)', d.node)
    if (!p.enabled) return line('dataplane-probes', 'warn', 'probes disabled in the configuration', 'set probes.enabled: true so a dead data plane is noticed before the users do', d.node)
    if (p.targets.length === 0) return line('dataplane-probes', 'warn', 'no probe target (no Connect peer inside address, no probes.targets)', 'configure probes.targets toward a pod per vRouter or VN', d.node)
    const desc = p.targets.map((t) => {
      const extra = t.state === 'alive'
        ? `${t.rttMs !== undefined ? ` rtt ${t.rttMs.toFixed(1)} ms` : ''}${t.lossRatio > 0 ? ` loss ${Math.round(t.lossRatio * 100)} %` : ''}`
        : t.lastError !== undefined ? ` (${t.lastError})` : ''
      return `${t.kind}${t.family === 'ipv6' ? ' ipv6' : ''} via ${t.via} -> ${t.address} ${t.state}${extra}`
    }).join('; ')
    const deadPeers = p.connectPeers.filter((c) => c.state === 'dataplane-dead')
    if (deadPeers.length > 0) {
      const c = deadPeers[0] as (typeof deadPeers)[number]
      const names = deadPeers.map((x) => `${x.connectPeer}${x.family === 'ipv6' ? ' IPv6' : ''} (${x.link}${x.withdrawn ? ', our routes withdrawn from its sessions' : ''})`).join(', ')
      // Only IPv6 dies while IPv4 answers through the same link: not the GRE path itself
      const v6Only = deadPeers.every((x) => x.family === 'ipv6') && p.connectPeers.some((x) => x.family === 'ipv4' && x.state === 'up')
      const action = v6Only
        ? `IPv4 answers through ${c.link} but IPv6 does not: check what filters ICMPv6 or IPv6 inside the tunnel (the TGW side, the inside /125)`
        : `packets die in ${c.link}: check that the GRE link is up, gsi-sg admits GRE (protocol 47) from the TGW CIDR block, and the TGW Connect attachment`
      return line('dataplane-probes', 'fail', `BGP up but data plane dead: ${names}; ${desc}`, action, d.node)
    }
    const dead = p.targets.filter((t) => t.state === 'dead')
    if (dead.length > 0) {
      const t = dead[0] as (typeof dead)[number]
      return line('dataplane-probes', 'fail', desc, t.kind === 'tgw' ? `echoes to ${t.address} through ${t.via} die: check the GRE link and gsi-sg (protocol 47)` : `echoes to ${t.address} through the MPLSoUDP tunnel to ${t.via} die: check UDP 6635 to the vRouter and the pod`, d.node)
    }
    if (p.targets.some((t) => t.state === 'unavailable')) return line('dataplane-probes', 'warn', desc, 'the daemon cannot send probes (raw socket): it needs CAP_NET_RAW', d.node)
    if (p.targets.some((t) => t.state === 'alive' && t.lossRatio > 0)) return line('dataplane-probes', 'warn', desc, 'partial loss: check MTU (8476 on GRE) and the node\'s load', d.node)
    if (p.targets.every((t) => t.state === 'alive')) return line('dataplane-probes', 'ok', desc, undefined, d.node)
    return line('dataplane-probes', 'warn', desc, 'some targets have no tunnel yet or no answer decided: look again in a few seconds', d.node)
  })
}

/** The checklist, in the order it is printed. */
export const CHECKS: readonly (readonly [string, Check])[] = [
  ['controller', (s) => [...controllerPods(s), ...controllerLeader(s)]],
  ['aws', awsAccess],
  ['tgw-state', transitGatewayState],
  ['gateway-nodes', gatewayNodes],
  ['node-daemon', nodeAndDaemon],
  ['gre-link', greLink],
  ['tgw-sessions', tgwSessions],
  ['cn2', cn2Sessions],
  ['vn-exposed', vnExposed],
  ['tgw-advertised', tgwAdvertised],
  ['vpc-routes', vpcRoutes],
  ['security-group', securityGroup],
  ['dataplane-probes', dataPlaneProbes],
]

/** Runs every check on the snapshot; a check that throws becomes a fail line naming it (a bug of ours
 * must not hide the other lines). */
export function runChecks(s: DoctorSnapshot, checks: readonly (readonly [string, Check])[] = CHECKS): CheckResult[] {
  return checks.flatMap(([name, check]) => {
    try {
      return check(s)
    } catch (e) {
      return [line(name, 'fail', `the check itself failed: ${e instanceof Error ? e.message : String(e)}`, 'report this with gsictl doctor --json output')]
    }
  })
}

/** Exit status: 1 when any line failed. */
export const exitStatus = (results: readonly CheckResult[]): number => (results.some((r) => r.verdict === 'fail') ? 1 : 0)
