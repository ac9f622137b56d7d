/**
 * What `gsictl doctor` gathers before it judges anything: one snapshot of the cluster (the
 * controller's pods and Lease, its service account, our custom resources, the nodes, the daemon pods,
 * the CN2 BGPRouters, recent Warning Events), of each node's gsi-routerd (its DaemonReport, read over
 * HTTP on 9478 or the local socket) and, when the doctor may call EC2 itself, of the VPC's route
 * tables and security groups. Gathering (gather.ts) is separate from judging (checks.ts), so tests
 * build snapshots by hand and every check is a function of one.
 *
 * Plain JSON data: `gsictl doctor --json` prints it beside the results, and a lab can store it.
 */
import type { DaemonReport } from '../api/report.js'
import type { Cn2BgpRouter, ConnectedPeer, GatewayServiceInstance, Route, TransitGateway } from '../../controller/types.js'

export type Verdict = 'ok' | 'warn' | 'fail'

/** One line of the checklist. */
export interface CheckResult {
  /** The check's id (CHECKS' key): `controller-pods`, `tgw-sessions`, ... */
  readonly check: string
  /** What the line is about: a TransitGateway, a node, a ConnectedPeer; absent for cluster-wide lines. */
  readonly subject?: string
  readonly verdict: Verdict
  /** What was seen, with the values that decided. */
  readonly evidence: string
  /** What to do (absent on ok). */
  readonly action?: string
}

export interface PodInfo {
  readonly name: string
  readonly node?: string
  /** status.phase: Running, Pending, ... */
  readonly phase?: string
  /** The Ready condition. */
  readonly ready: boolean
  readonly restarts?: number
}

export interface LeaseInfo {
  readonly name: string
  readonly holder?: string
  /** RFC 3339 (microseconds allowed). */
  readonly renewTime?: string
  readonly durationSeconds?: number
}

export interface NodeInfo {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly ready: boolean
}

export interface EventInfo {
  /** Kind/name of the object the event is about. */
  readonly object: string
  readonly type: string
  readonly reason: string
  readonly message: string
  readonly lastTimestamp?: string
}

/** A list the doctor could not read: the reason, so the line says "cannot tell" instead of judging. */
export interface Unreadable { readonly error: string }

export interface ClusterSnapshot {
  /** The controller's namespace (its pods, Lease and service account). */
  readonly namespace: string
  readonly controllerPods: readonly PodInfo[] | Unreadable
  readonly lease: LeaseInfo | null | Unreadable
  /** The controller's service account and its IRSA role annotation (eks.amazonaws.com/role-arn). */
  readonly serviceAccount: { readonly name: string; readonly roleArn?: string } | null | Unreadable
  readonly gatewayServiceInstances: readonly GatewayServiceInstance[]
  readonly transitGateways: readonly TransitGateway[]
  readonly connectedPeers: readonly ConnectedPeer[]
  readonly routes: readonly Route[]
  readonly nodes: readonly NodeInfo[] | Unreadable
  readonly daemonPods: readonly PodInfo[] | Unreadable
  readonly bgpRouters: readonly Cn2BgpRouter[] | Unreadable
  /** Warning Events about our objects (newest last). */
  readonly warnings: readonly EventInfo[]
}

/** One node's gsi-routerd, as the doctor reached it. */
export interface DaemonAnswer {
  readonly node: string
  /** `http://<node>:9478/status` or the socket path. */
  readonly source: string
  readonly report?: DaemonReport
  /** Why there is no report (connection refused, timeout, HTTP status). */
  readonly error?: string
}

/** What EC2 itself says, when the doctor had credentials to ask (read-only Describe calls). */
export interface AwsSnapshot {
  readonly region: string
  readonly vpcId: string
  readonly routeTables: readonly { readonly id: string; readonly routes: readonly { readonly destination: string; readonly transitGatewayId?: string; readonly state?: string }[] }[]
  readonly securityGroups: readonly { readonly id: string; readonly name: string; readonly ingress: readonly { readonly protocol: string; readonly cidr: string }[] }[]
}

/**
 * A data-plane probe result: one target of a daemon's own probes (ICMP or ICMPv6 echo, from its
 * report), or of a probe source the caller passes.
 */
export interface ProbeResult {
  readonly node: string
  /** What was probed: `gre gsig... -> 169.254.6.2`, `gre gsig... -> fd00:6::2`, `mplsoudp 198.18.100.1 -> 10.244.1.5`. */
  readonly target: string
  readonly sent: number
  readonly received: number
  readonly rttMs?: number
  /** ipv4 (ICMP) or ipv6 (ICMPv6), when the source says. */
  readonly family?: 'ipv4' | 'ipv6'
  /** The daemon's verdict (alive, dead, pending, ...): judged on it rather than on counts since start. */
  readonly state?: string
  /** Lost over the daemon's last probes.lossWindow echoes (0..1). */
  readonly lossRatio?: number
}

export interface DoctorSnapshot {
  /** ms since the epoch. */
  readonly takenAt: number
  /** cluster: from a kubeconfig; node: the local daemon only (and the cluster too when reachable). */
  readonly mode: 'cluster' | 'node'
  readonly cluster?: ClusterSnapshot
  readonly daemons: readonly DaemonAnswer[]
  /** Per VPC (by TransitGateway): what EC2 answered, or why it could not be asked. */
  readonly aws?: Readonly<Record<string, AwsSnapshot | Unreadable>>
  /** Absent: no probe source (the line says "not available"). */
  readonly probes?: readonly ProbeResult[]
}

export function unreadable(v: unknown): v is Unreadable {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as Unreadable).error === 'string' && Object.keys(v).length === 1
}
