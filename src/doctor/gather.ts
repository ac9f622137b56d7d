/**
 * Gathering for `gsictl doctor`: reads, never writes. From a laptop (a kubeconfig): the controller's
 * pods, Lease and service account, our custom resources, nodes, the gsi-routerd pods, CN2 BGPRouters
 * and Warning Events, through the official client the controller uses (controller/k8s); then each
 * gateway node's gsi-routerd over HTTP (`GET /status` on 9478, at the node address its ConnectedPeer
 * names). On a node: the local daemon over its API socket (`show.report`), plus the cluster when a
 * kubeconfig is given too. With `aws` set, EC2's own view of the VPC's route tables and security
 * groups (DescribeRouteTables, DescribeSecurityGroups: read-only, with the default credential chain
 * unless credentials are given), since the controller's status records neither the rules nor a route
 * deleted behind its back.
 *
 * Every read that fails is recorded as `{error}` in the snapshot, so the checks say "cannot tell"
 * with the reason instead of the doctor failing as a whole.
 */
import { hostname } from 'node:os'
import { ApiClient } from '../api/client.js'
import type { DaemonReport } from '../api/report.js'
import { BGP_ROUTER_REF, GSI_REF, PEER_REF, ROUTE_REF, TGW_REF } from '../../controller/controller.js'
import { createEc2Api } from '../../controller/aws/ec2.js'
import { apiMessage, isNotFound, NODES, ResourceClient, type KubeConnection, type KubeObject } from '../../controller/k8s/client.js'
import type { Cn2BgpRouter, ConnectedPeer, GatewayServiceInstance, Route, TransitGateway } from '../../controller/types.js'
import { DEFAULT_HTTP_PORT } from '../http/index.js'
import type { AwsSnapshot, ClusterSnapshot, DaemonAnswer, DoctorSnapshot, EventInfo, NodeInfo, PodInfo, ProbeResult, Unreadable } from './snapshot.js'

export const DEFAULT_CONTROLLER_NAMESPACE = 'gsi-system'
const CONTROLLER_SELECTOR = 'app.kubernetes.io/name=gsi-controller'
const DAEMON_SELECTOR = 'app.kubernetes.io/name=gsi-routerd'
const LEASE_NAME = 'gsi-controller'
const SERVICE_ACCOUNT = 'gsi-controller'
const OUR_KINDS = new Set(['TransitGateway', 'GatewayServiceInstance', 'ConnectedPeer', 'Route'])

export interface GatherOptions {
  /** Cluster access; absent on a node without a kubeconfig. */
  readonly kube?: KubeConnection
  /** The controller's namespace (its pods, Lease, service account; the daemon pods too). */
  readonly namespace?: string
  /** Node mode: the local daemon's API socket. */
  readonly socket?: string
  /** Node mode: this node's name (default NODE_NAME, else the host name). */
  readonly nodeName?: string
  /** Cluster mode: where a node's daemon answers (default `http://<peerAddress>:9478/status`). */
  readonly daemonUrl?: (node: string, cp: ConnectedPeer) => string
  /** Ask EC2 (read-only). Absent: the AWS lines rely on the CRs' status. */
  readonly aws?: {
    readonly endpoint?: string
    readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string }
    /** Default: the TransitGateway's status.awsRegion. */
    readonly region?: string
  }
  /** Per request (default 5 s). */
  readonly timeoutMs?: number
  readonly now?: () => number
  /** A data-plane probe source of the caller's; absent: the daemons' own probes from their reports
   * (the line says "not available" when no daemon reports any). */
  readonly probes?: () => Promise<readonly ProbeResult[]>
}

const errorOf = (e: unknown): Unreadable => ({ error: isNotFound(e) ? 'not found (404)' : apiMessage(e) })

async function orError<T>(f: () => Promise<T>): Promise<T | Unreadable> {
  try {
    return await f()
  } catch (e) {
    return errorOf(e)
  }
}

interface RawPod {
  metadata?: { name?: string }
  spec?: { nodeName?: string }
  status?: { phase?: string; conditions?: { type?: string; status?: string }[]; containerStatuses?: { restartCount?: number }[] }
}

function podInfo(p: RawPod): PodInfo {
  const restarts = (p.status?.containerStatuses ?? []).reduce((a, c) => a + (c.restartCount ?? 0), 0)
  return {
    name: p.metadata?.name ?? '?',
    ...(p.spec?.nodeName !== undefined ? { node: p.spec.nodeName } : {}),
    ...(p.status?.phase !== undefined ? { phase: p.status.phase } : {}),
    ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    ...(restarts > 0 ? { restarts } : {}),
  }
}

async function listPods(kube: KubeConnection, namespace: string, labelSelector: string): Promise<PodInfo[]> {
  const r = await kube.core.listNamespacedPod({ namespace, labelSelector })
  return (r.items as RawPod[]).map(podInfo)
}

const iso = (v: unknown): string | undefined => (v instanceof Date ? v.toISOString() : typeof v === 'string' ? v : undefined)

export async function gatherCluster(kube: KubeConnection, namespace: string): Promise<ClusterSnapshot> {
  // Our own resources are the doctor's ground: without them there is nothing to judge, so a failure
  // to list them ends the run with the reason.
  const list = async <T>(ref: typeof TGW_REF): Promise<T[]> => {
    try {
      return (await new ResourceClient<KubeObject>(kube, ref).list()).items as unknown as T[]
    } catch (e) {
      throw new Error(`cannot list ${ref.plural}.${ref.group}: ${apiMessage(e)} (are the CRDs installed, and may this kubeconfig list them?)`)
    }
  }
  const [controllerPods, daemonPods, lease, serviceAccount, gsis, tgws, cps, routes, nodes, bgpRouters] = await Promise.all([
    orError(() => listPods(kube, namespace, CONTROLLER_SELECTOR)),
    orError(() => listPods(kube, namespace, DAEMON_SELECTOR)),
    orError(async () => {
      try {
        const l = await kube.coordination.readNamespacedLease({ namespace, name: LEASE_NAME })
        const renew = iso(l.spec?.renewTime)
        return {
          name: LEASE_NAME,
          ...(l.spec?.holderIdentity !== undefined ? { holder: l.spec.holderIdentity } : {}),
          ...(renew !== undefined ? { renewTime: renew } : {}),
          ...(l.spec?.leaseDurationSeconds !== undefined ? { durationSeconds: l.spec.leaseDurationSeconds } : {}),
        }
      } catch (e) {
        if (isNotFound(e)) return null
        throw e
      }
    }),
    orError(async () => {
      try {
        const sa = await kube.core.readNamespacedServiceAccount({ namespace, name: SERVICE_ACCOUNT })
        const arn = sa.metadata?.annotations?.['eks.amazonaws.com/role-arn']
        return { name: SERVICE_ACCOUNT, ...(arn !== undefined ? { roleArn: arn } : {}) }
      } catch (e) {
        if (isNotFound(e)) return null
        throw e
      }
    }),
    list<GatewayServiceInstance>(GSI_REF),
    list<TransitGateway>(TGW_REF),
    list<ConnectedPeer>(PEER_REF),
    list<Route>(ROUTE_REF),
    orError(async () => (await new ResourceClient<KubeObject>(kube, NODES).list()).items.map((n): NodeInfo => {
      const conds = (n as { status?: { conditions?: { type?: string; status?: string }[] } }).status?.conditions ?? []
      return { name: n.metadata.name, labels: { ...(n.metadata.labels ?? {}) }, ready: conds.some((c) => c.type === 'Ready' && c.status === 'True') }
    })),
    orError(() => list<Cn2BgpRouter>(BGP_ROUTER_REF)),
  ])
  // Warning Events about our objects, in the namespaces that hold them.
  const warnings: EventInfo[] = []
  for (const ns of new Set(tgws.map((t) => t.metadata.namespace ?? 'default'))) {
    try {
      const r = await kube.core.listNamespacedEvent({ namespace: ns })
      for (const e of r.items) {
        const kind = e.involvedObject?.kind ?? ''
        if (e.type !== 'Warning' || !OUR_KINDS.has(kind)) continue
        const last = iso(e.lastTimestamp) ?? iso(e.eventTime)
        warnings.push({ object: `${kind}/${e.involvedObject?.name ?? ''}`, type: e.type, reason: e.reason ?? '', message: e.message ?? '', ...(last !== undefined ? { lastTimestamp: last } : {}) })
      }
    } catch {
      // Events are evidence only; the lines stand without them.
    }
  }
  warnings.sort((a, b) => (a.lastTimestamp ?? '').localeCompare(b.lastTimestamp ?? ''))
  return {
    namespace, controllerPods, daemonPods, lease, serviceAccount,
    gatewayServiceInstances: gsis, transitGateways: tgws, connectedPeers: cps, routes, nodes, bgpRouters, warnings,
  }
}

/** `GET url` for a DaemonReport, bounded by `timeoutMs`. */
export async function fetchReport(url: string, timeoutMs: number): Promise<DaemonReport> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
  if (!res.ok) throw new Error(`HTTP ${res.status}`)
  return (await res.json()) as DaemonReport
}

function fetchError(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } }
  if (err.name === 'TimeoutError') return 'timed out'
  return err.cause?.code ?? err.cause?.message ?? err.message
}

async function askDaemonHttp(node: string, url: string, timeoutMs: number): Promise<DaemonAnswer> {
  try {
    return { node, source: url, report: await fetchReport(url, timeoutMs) }
  } catch (e) {
    return { node, source: url, error: fetchError(e) }
  }
}

export async function askDaemonSocket(node: string, socket: string, timeoutMs: number): Promise<DaemonAnswer> {
  let client: ApiClient | undefined
  try {
    client = await ApiClient.connect(socket, { timeoutMs })
    return { node, source: socket, report: await client.call('show.report', {}) as DaemonReport }
  } catch (e) {
    return { node, source: socket, error: (e as Error).message }
  } finally {
    client?.close()
  }
}

function hostPart(address: string): string {
  return address.includes(':') ? `[${address}]` : address
}

export async function gatherAws(tgw: TransitGateway, o: NonNullable<GatherOptions['aws']>): Promise<AwsSnapshot | Unreadable> {
  const region = o.region ?? tgw.status?.awsRegion
  const vpcId = tgw.status?.vpcID
  if (region === undefined || vpcId === undefined) return { error: 'the TransitGateway status names no region or VPC yet' }
  try {
    const ec2 = createEc2Api({
      region, retry: { maxAttempts: 2 }, requestTimeoutMs: 10_000,
      ...(o.endpoint !== undefined ? { endpoint: o.endpoint } : {}),
      ...(o.credentials !== undefined ? { credentials: { ...o.credentials } } : {}),
    })
    const byVpc = [{ Name: 'vpc-id', Values: [vpcId] }]
    const [rts, sgs] = await Promise.all([ec2.describeRouteTables({ Filters: byVpc }), ec2.describeSecurityGroups({ Filters: byVpc })])
    return {
      region, vpcId,
      routeTables: (rts.RouteTables ?? []).map((t) => ({
        id: t.RouteTableId ?? '?',
        routes: (t.Routes ?? []).map((r) => ({
          destination: r.DestinationCidrBlock ?? r.DestinationIpv6CidrBlock ?? '',
          ...(r.TransitGatewayId !== undefined ? { transitGatewayId: r.TransitGatewayId } : {}),
          ...(r.State !== undefined ? { state: r.State } : {}),
        })),
      })),
      securityGroups: (sgs.SecurityGroups ?? []).map((g) => ({
        id: g.GroupId ?? '?', name: g.GroupName ?? '',
        ingress: (g.IpPermissions ?? []).flatMap((p) => [
          ...(p.IpRanges ?? []).map((r) => ({ protocol: p.IpProtocol ?? '-1', cidr: r.CidrIp ?? '' })),
          ...(p.Ipv6Ranges ?? []).map((r) => ({ protocol: p.IpProtocol ?? '-1', cidr: r.CidrIpv6 ?? '' })),
        ]),
      })),
    }
  } catch (e) {
    const err = e as Error & { Code?: string; name?: string }
    return { error: `EC2: ${err.Code ?? err.name}: ${err.message}` }
  }
}

/**
 * The daemons' own probe targets as probe results (those that sent an echo or have a verdict; a
 * target with no tunnel yet says nothing), or undefined when no daemon reports enabled probes.
 */
export function probesOfDaemons(daemons: readonly DaemonAnswer[]): ProbeResult[] | undefined {
  let any = false
  const out: ProbeResult[] = []
  for (const d of daemons) {
    const p = d.report?.probes
    if (p === undefined || !p.enabled) continue
    any = true
    const links = new Map(p.connectPeers.map((c) => [c.connectPeer, c.link]))
    for (const x of p.targets) {
      if (x.sent === 0 && x.state !== 'alive' && x.state !== 'dead') continue
      const via = x.kind === 'tgw' ? `gre ${links.get(x.via) ?? x.via}` : `mplsoudp ${x.via}`
      out.push({
        node: d.node, target: `${via} -> ${x.address}`, sent: x.sent, received: x.replies, family: x.family, state: x.state, lossRatio: x.lossRatio,
        ...(x.rttMs !== undefined ? { rttMs: x.rttMs } : {}),
      })
    }
  }
  return any ? out : undefined
}

/** Gathers the whole snapshot: the cluster (if any), the daemons, EC2 (if asked), the probes. */
export async function gatherSnapshot(o: GatherOptions): Promise<DoctorSnapshot> {
  const now = o.now ?? Date.now
  const takenAt = now() // before the reads: lease ages are measured from here, never flattered
  const timeoutMs = o.timeoutMs ?? 5000
  const namespace = o.namespace ?? DEFAULT_CONTROLLER_NAMESPACE
  const cluster = o.kube !== undefined ? await gatherCluster(o.kube, namespace) : undefined
  const daemons: DaemonAnswer[] = []
  if (o.socket !== undefined) {
    daemons.push(await askDaemonSocket(o.nodeName ?? process.env.NODE_NAME ?? hostname(), o.socket, timeoutMs))
  } else if (cluster !== undefined) {
    const url = o.daemonUrl ?? ((_node: string, cp: ConnectedPeer) => `http://${hostPart(cp.spec.peerAddress)}:${DEFAULT_HTTP_PORT}/status`)
    const seen = new Set<string>()
    const asks: Promise<DaemonAnswer>[] = []
    for (const cp of cluster.connectedPeers) {
      if (seen.has(cp.spec.nodeName)) continue
      seen.add(cp.spec.nodeName)
      asks.push(askDaemonHttp(cp.spec.nodeName, url(cp.spec.nodeName, cp), timeoutMs))
    }
    daemons.push(...await Promise.all(asks))
  }
  let aws: Record<string, AwsSnapshot | Unreadable> | undefined
  if (o.aws !== undefined && cluster !== undefined) {
    aws = {}
    for (const tgw of cluster.transitGateways) aws[`${tgw.metadata.namespace ?? 'default'}/${tgw.metadata.name}`] = await gatherAws(tgw, o.aws)
  }
  const probes = o.probes !== undefined ? await o.probes() : probesOfDaemons(daemons)
  return {
    takenAt,
    mode: o.socket !== undefined ? 'node' : 'cluster',
    ...(cluster !== undefined ? { cluster } : {}),
    daemons,
    ...(aws !== undefined ? { aws } : {}),
    ...(probes !== undefined ? { probes } : {}),
  }
}
