/**
 * gsi-controller's reconcilers: GatewayServiceInstance and TransitGateway objects (plus the labelled
 * Nodes and CN2 VirtualNetworks/Subnets they depend on) become an AwsDesired, handed to the AWS
 * reconciler (controller/aws: reconcileTransitGatewayAws / deleteTransitGatewayAws); what it observes
 * is written back as TransitGateway status and conditions (Ready, AWSReady, PeersReady), one
 * ConnectedPeer per active node (the daemon's contract, controller/types.ts) and one Route per VPC
 * route-table entry, with Kubernetes Events for what a user must see.
 *
 * Shape (client-go style): informers (list then watch) feed a keyed work queue; one reconcile per key
 * in flight; each reconcile reads the caches, computes the desired state, calls AWS, writes status;
 * errors requeue with exponential backoff, pending AWS states requeue after the delay AWS suggests.
 * Only the Lease holder runs a GsiController (see ControllerReplica).
 *
 * Nodes: a node is eligible when it carries the GSI's label key (default core.juniper.net/crpd-node),
 * has an IPv4 InternalIP, is not being deleted and its Ready condition is not False/Unknown. Active
 * nodes are kept stable (a node with a ConnectedPeer stays active while eligible); free slots (up to
 * maxInstances, at most 4) go to the oldest eligible nodes; the rest are standby, listed in
 * status.standbyNodes / status.peers[].role, and one of them takes over as soon as an active node
 * stops being eligible.
 *
 * Exposed networks: spec.exposed.routeTargets and .cidrs, plus CN2 VirtualNetworks in the TGW's
 * namespace matching spec.exposed.virtualNetworkSelector: their spec.routeTargetList and
 * spec.exportRouteTargetList (route targets), and the spec.cidr of the Subnets named by
 * spec.v4SubnetReference / spec.v6SubnetReference. IPv4 CIDRs go to the VPC route tables and the
 * security group; IPv4 and IPv6 go to the daemon (ConnectedPeer.spec.exposedCidrs).
 *
 * CN2 registration: Contrail control nodes accept BGP only from routers in their configuration, so
 * each active node gets a CN2 BGPRouter (`gsi-<tgw>-<node>`, in the control nodes' namespace, GSI
 * spec.cn2.namespace, default `contrail`): child of the RoutingInstance `default`, routerType `router`,
 * address and identifier the node IP, the AS toward CN2, families route-target, inet-vpn, inet6-vpn,
 * hold time 90, and a reference to every control node's BGPRouter (routerType `control-node`). The
 * control nodes' addresses and AS go into each ConnectedPeer (spec.controlNodes). Ours carry the labels
 * transit-gateway, transit-gateway-namespace and node (an ownerReference cannot cross namespaces); a
 * BGPRouter without them is never changed. With no control node in that namespace nothing is written
 * (CN2 absent: nobody to register with) and ours are removed.
 *
 * Deletion: the finalizer gsi.gsi-router.io/aws-resources is on every TransitGateway before any AWS
 * call; on deletion the AWS resources go in reverse order, then the ConnectedPeers, our BGPRouters and
 * the Routes, then the finalizer. A GatewayServiceInstance carries gsi.gsi-router.io/transit-gateways while TransitGateways
 * refer to it, so its region and VPC stay known until they are gone.
 */
import { bgpRouterName, connectedPeerName, routeName } from './names.js'
import type { Logger } from 'pino'
import {
  deleteTransitGatewayAws, reconcileTransitGatewayAws, type AwsReconcileOptions,
} from './aws/reconcile.js'
import type { AwsDesired, AwsDesiredNode, AwsObserved, ObservedConnectPeer, ObservedRoute } from './aws/types.js'
import type { Ec2Api } from './aws/ec2.js'
import {
  apiMessage, EventRecorder, Informer, isConflict, isNotFound, KubeConnection, LeaderElector, NODES, objectKey,
  ResourceClient, runWorkers, splitKey, WorkQueue, matchesSelector, type KubeObject, type ResourceRef,
} from './k8s/index.js'
import type { ControllerMetrics } from './metrics.js'
import { ipFamilyOf } from '../src/lib/address.js'
import {
  API_VERSION, AWS_FINALIZER, CN2_GROUP, CN2_VERSION, DEFAULT_AMAZON_SIDE_ASN, DEFAULT_NODE_LABEL, GROUP,
  MAX_INSTANCES, NODE_NAME_LABEL, PLURALS, TRANSIT_GATEWAY_LABEL, TRANSIT_GATEWAY_NAMESPACE_LABEL, VERSION,
  type Cn2BgpRouter, type Cn2RegistrationSpec, type Cn2Reference, type Cn2Subnet, type Cn2VirtualNetwork, type Condition, type ConditionType, type ConnectedPeer,
  type ConnectedPeerSpec, type GatewayServiceInstance, type PeerSummary, type Route, type TransitGateway,
  type TransitGatewayStatus, type TransitGatewayState,
} from './types.js'

export const GSI_FINALIZER = `${GROUP}/transit-gateways`
/** TGW MTU 8500 minus GRE over IPv4 (20 + 4). */
export const GRE_MTU = 8476

const ref = (kind: keyof typeof PLURALS): ResourceRef => ({ group: GROUP, version: VERSION, plural: PLURALS[kind], kind, namespaced: true })
export const GSI_REF = ref('GatewayServiceInstance')
export const TGW_REF = ref('TransitGateway')
export const PEER_REF = ref('ConnectedPeer')
export const ROUTE_REF = ref('Route')
export const VN_REF: ResourceRef = { group: CN2_GROUP, version: CN2_VERSION, plural: 'virtualnetworks', kind: 'VirtualNetwork', namespaced: true }
export const SUBNET_REF: ResourceRef = { group: CN2_GROUP, version: CN2_VERSION, plural: 'subnets', kind: 'Subnet', namespaced: true }
export const BGP_ROUTER_REF: ResourceRef = { group: CN2_GROUP, version: CN2_VERSION, plural: 'bgprouters', kind: 'BGPRouter', namespaced: true }
const CN2_API_VERSION = `${CN2_GROUP}/${CN2_VERSION}`

/** CN2 defaults behind GatewayServiceInstance spec.cn2 (CN2 installs its control nodes in `contrail`). */
export const CN2_DEFAULTS: Required<Omit<Cn2RegistrationSpec, 'autonomousSystem'>> = {
  namespace: 'contrail', routerType: 'router', controlNodeRouterType: 'control-node', parentName: 'default', holdTime: 90,
}
/** CN2's default AS (GlobalSystemConfig autonomousSystem), used when a control node's BGPRouter names none. */
export const CN2_DEFAULT_ASN = 64512
/** The families the daemon carries toward CN2: RT constraint (RFC 4684), VPNv4 and VPNv6 (RFC 4364, 4659). */
export const CN2_FAMILIES = ['route-target', 'inet-vpn', 'inet6-vpn']

type K<T> = T & KubeObject
interface NodeObj extends KubeObject {
  status?: { addresses?: { type: string; address: string }[]; conditions?: { type: string; status: string }[] }
}

export interface GsiControllerOptions {
  conn: KubeConnection
  log: Logger
  metrics: ControllerMetrics
  events: EventRecorder
  /** EC2 client for a region (cached by the caller or here). */
  ec2For(region: string): Ec2Api
  /** Watch only this namespace (undefined: all namespaces). */
  namespace?: string
  workers?: number
  /** Requeue every TransitGateway this often even when nothing changed (drift from AWS). */
  resyncMs?: number
  aws?: AwsReconcileOptions
  queueBaseDelayMs?: number
  queueMaxDelayMs?: number
  informerBackoffMs?: number
}

function now(): string { return new Date().toISOString().replace(/\.\d+Z$/, 'Z') }
// Everything that is not IPv6 counts as IPv4 here, so a malformed block reaches the AWS validation
// and is reported there rather than silently dropped.
function isIpv4Cidr(c: string): boolean { return ipFamilyOf(c) !== 6 }
export { bgpRouterName, connectedPeerName, routeName } from './names.js'

/** Condition list with lastTransitionTime kept when the status did not change. */
function setCondition(list: Condition[], prev: Condition[] | undefined, c: Omit<Condition, 'lastTransitionTime'>): void {
  const old = prev?.find(p => p.type === c.type)
  list.push({ ...c, lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : now() })
}

interface Selection { active: { name: string; ip: string }[]; standby: string[]; ineligible: string[] }

export class GsiController {
  readonly gsis: Informer<K<GatewayServiceInstance>>
  readonly tgws: Informer<K<TransitGateway>>
  readonly peers: Informer<K<ConnectedPeer>>
  readonly routes: Informer<K<Route>>
  readonly nodes: Informer<NodeObj>
  readonly vns: Informer<K<Cn2VirtualNetwork>>
  readonly subnets: Informer<K<Cn2Subnet>>
  readonly bgpRouters: Informer<K<Cn2BgpRouter>>
  readonly queue: WorkQueue
  private readonly gsiApi: ResourceClient<K<GatewayServiceInstance>>
  private readonly tgwApi: ResourceClient<K<TransitGateway>>
  private readonly peerApi: ResourceClient<K<ConnectedPeer>>
  private readonly routeApi: ResourceClient<K<Route>>
  private readonly bgpRouterApi: ResourceClient<K<Cn2BgpRouter>>
  private readonly log: Logger
  private workersDone: Promise<void> | undefined
  private started = false

  constructor(private readonly o: GsiControllerOptions) {
    this.log = o.log
    const c = o.conn
    this.gsiApi = new ResourceClient(c, GSI_REF)
    this.tgwApi = new ResourceClient(c, TGW_REF)
    this.peerApi = new ResourceClient(c, PEER_REF)
    this.routeApi = new ResourceClient(c, ROUTE_REF)
    this.bgpRouterApi = new ResourceClient(c, BGP_ROUTER_REF)
    this.queue = new WorkQueue({ baseDelayMs: o.queueBaseDelayMs ?? 200, maxDelayMs: o.queueMaxDelayMs ?? 60_000 })
    o.metrics.queueDepth = () => this.queue.length
    const inf = <T extends KubeObject>(r: ResourceRef, h: ConstructorParameters<typeof Informer<T>>[2], extra: { labelSelector?: string; optional?: boolean; clusterScoped?: boolean } = {}): Informer<T> =>
      new Informer<T>(new ResourceClient<T>(c, r), {
        log: this.log, backoffMs: o.informerBackoffMs ?? 200,
        ...(o.namespace !== undefined && !extra.clusterScoped ? { namespace: o.namespace } : {}),
        ...(extra.labelSelector ? { labelSelector: extra.labelSelector } : {}),
        ...(extra.optional ? { optional: true } : {}),
        onRelist: cause => o.metrics.relists.inc({ resource: r.plural, cause }),
      }, h)
    const tgwChanged = (old: KubeObject | undefined, obj: KubeObject): boolean => !old ||
      old.metadata.generation !== obj.metadata.generation ||
      old.metadata.deletionTimestamp !== obj.metadata.deletionTimestamp ||
      JSON.stringify(old.metadata.finalizers ?? []) !== JSON.stringify(obj.metadata.finalizers ?? [])
    this.tgws = inf<K<TransitGateway>>(TGW_REF, {
      add: t => this.enqueueTgw(t),
      update: (old, t) => { if (tgwChanged(old, t)) this.enqueueTgw(t) },
      delete: t => this.enqueueGsi(t.metadata.namespace ?? '', t.spec?.gatewayServiceInstance ?? ''),
    })
    this.gsis = inf<K<GatewayServiceInstance>>(GSI_REF, {
      add: g => this.onGsi(g),
      update: (old, g) => { if (tgwChanged(old, g)) this.onGsi(g) },
      delete: g => this.onGsi(g),
    })
    const owner = (o2: KubeObject): void => {
      const t = o2.metadata.labels?.[TRANSIT_GATEWAY_LABEL]
      if (t && o2.metadata.namespace) this.queue.add(`tgw:${o2.metadata.namespace}/${t}`)
    }
    const ownedHandlers = { add: owner, delete: owner, update: (old: KubeObject, n: KubeObject) => { if (tgwChanged(old, n)) owner(n) } }
    this.peers = inf<K<ConnectedPeer>>(PEER_REF, ownedHandlers, { labelSelector: TRANSIT_GATEWAY_LABEL })
    this.routes = inf<K<Route>>(ROUTE_REF, ownedHandlers, { labelSelector: TRANSIT_GATEWAY_LABEL })
    const nodeKey = (n: NodeObj): string => JSON.stringify([n.metadata.labels, n.status?.addresses, n.status?.conditions?.find(x => x.type === 'Ready')?.status, n.metadata.deletionTimestamp])
    this.nodes = inf<NodeObj>(NODES, {
      add: () => this.enqueueAllTgws(),
      delete: () => this.enqueueAllTgws(),
      update: (old, n) => { if (nodeKey(old) !== nodeKey(n)) this.enqueueAllTgws() },
    }, { clusterScoped: true })
    const nsChange = (x: KubeObject): void => this.enqueueAllTgws(x.metadata.namespace)
    this.vns = inf<K<Cn2VirtualNetwork>>(VN_REF, { add: nsChange, delete: nsChange, update: (_o, n) => nsChange(n) }, { optional: true })
    this.subnets = inf<K<Cn2Subnet>>(SUBNET_REF, { add: nsChange, delete: nsChange, update: (_o, n) => nsChange(n) }, { optional: true })
    // All namespaces: the control nodes' namespace is per GSI and usually not the TGW's. A change to one
    // of ours concerns its TransitGateway; any other (a control node added, moved, removed) may concern all.
    const routerChange = (r: K<Cn2BgpRouter>): void => {
      const l = r.metadata.labels ?? {}
      const t = l[TRANSIT_GATEWAY_LABEL], ns = l[TRANSIT_GATEWAY_NAMESPACE_LABEL]
      if (t && ns) this.queue.add(`tgw:${ns}/${t}`)
      else this.enqueueAllTgws()
    }
    this.bgpRouters = inf<K<Cn2BgpRouter>>(BGP_ROUTER_REF, {
      add: routerChange, delete: routerChange,
      update: (old, n) => { if (JSON.stringify([old.metadata.labels, old.spec]) !== JSON.stringify([n.metadata.labels, n.spec])) routerChange(n) },
    }, { optional: true, clusterScoped: true })
  }

  private enqueueTgw(t: KubeObject): void { this.queue.add(`tgw:${objectKey(t)}`) }
  private enqueueGsi(ns: string, name: string): void { if (name) this.queue.add(`gsi:${ns}/${name}`) }
  private enqueueAllTgws(namespace?: string): void {
    for (const t of this.tgws.list()) if (namespace === undefined || t.metadata.namespace === namespace) this.enqueueTgw(t)
  }
  private onGsi(g: K<GatewayServiceInstance>): void {
    this.enqueueGsi(g.metadata.namespace ?? '', g.metadata.name)
    for (const t of this.tgws.list()) {
      if (t.metadata.namespace === g.metadata.namespace && t.spec?.gatewayServiceInstance === g.metadata.name) this.enqueueTgw(t)
    }
  }

  /** Starts the informers, waits for their first lists, then runs the workers until stop(). */
  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    const all = [this.gsis, this.tgws, this.peers, this.routes, this.nodes, this.vns, this.subnets, this.bgpRouters]
    await Promise.all(all.map(i => i.start()))
    if (this.queue.isShuttingDown()) return
    this.log.info('caches synced; reconciling')
    this.workersDone = runWorkers(this.queue, this.o.workers ?? 2, key => this.reconcileKey(key), (key, err, ms) => {
      this.log.warn({ key, err, retryInMs: ms }, 'reconcile failed')
    })
  }

  async stop(): Promise<void> {
    this.queue.shutdown()
    for (const i of [this.gsis, this.tgws, this.peers, this.routes, this.nodes, this.vns, this.subnets, this.bgpRouters]) i.stop()
    await this.workersDone
    await this.o.events.flush()
  }

  private async reconcileKey(qkey: string): Promise<{ requeueAfterMs?: number } | void> {
    const kind = qkey.startsWith('gsi:') ? 'GatewayServiceInstance' : 'TransitGateway'
    const key = qkey.slice(4)
    const end = this.o.metrics.reconcileDuration.startTimer({ kind })
    try {
      const r = kind === 'TransitGateway' ? await this.reconcileTgw(key) : await this.reconcileGsi(key)
      this.o.metrics.reconciles.inc({ kind, result: r?.requeueAfterMs !== undefined ? 'requeue' : 'success' })
      return r
    } catch (e) {
      this.o.metrics.reconciles.inc({ kind, result: isConflict(e) ? 'conflict' : 'error' })
      throw e
    } finally {
      end()
    }
  }

  // ---------------------------------------------------------------- GatewayServiceInstance

  private async reconcileGsi(key: string): Promise<{ requeueAfterMs?: number } | void> {
    const gsi = this.gsis.get(key)
    if (!gsi) return
    const { namespace, name } = splitKey(key)
    const users = this.tgws.list().filter(t => t.metadata.namespace === namespace && t.spec?.gatewayServiceInstance === name).map(t => t.metadata.name).sort()
    const fins = gsi.metadata.finalizers ?? []
    if (gsi.metadata.deletionTimestamp) {
      if (users.length === 0 && fins.includes(GSI_FINALIZER)) await this.removeFinalizer(this.gsiApi, gsi, GSI_FINALIZER)
      else if (users.length > 0) {
        this.o.events.record(gsi, 'Warning', 'InUse', `Deletion waits for TransitGateways ${users.join(', ')}: delete them first (their AWS resources need this GSI's region and VPC).`)
      }
      return
    }
    if (users.length > 0 && !fins.includes(GSI_FINALIZER)) {
      await this.gsiApi.jsonPatch(namespace, name, [
        { op: 'test', path: '/metadata/resourceVersion', value: gsi.metadata.resourceVersion },
        fins.length ? { op: 'add', path: '/metadata/finalizers/-', value: GSI_FINALIZER } : { op: 'add', path: '/metadata/finalizers', value: [GSI_FINALIZER] },
      ])
    } else if (users.length === 0 && fins.includes(GSI_FINALIZER)) {
      await this.removeFinalizer(this.gsiApi, gsi, GSI_FINALIZER)
    }
    const conditions: Condition[] = []
    setCondition(conditions, gsi.status?.conditions, {
      type: 'Ready', status: 'True', reason: 'Accepted',
      message: users.length ? `Used by TransitGateways ${users.join(', ')}.` : 'No TransitGateway refers to this GatewayServiceInstance yet.',
      observedGeneration: gsi.metadata.generation ?? 1,
    })
    const status = { observedGeneration: gsi.metadata.generation ?? 1, transitGateways: users, conditions }
    if (JSON.stringify(status) !== JSON.stringify(gsi.status)) await this.gsiApi.mergePatchStatus(namespace, name, { status })
  }

  // ---------------------------------------------------------------- TransitGateway

  private gsiOf(tgw: K<TransitGateway>): K<GatewayServiceInstance> | undefined {
    return this.gsis.get(`${tgw.metadata.namespace}/${tgw.spec.gatewayServiceInstance}`)
  }

  /** Eligible labelled nodes, split into active (keeping current ones) and standby. */
  selectNodes(tgw: K<TransitGateway>, gsi: K<GatewayServiceInstance>): Selection {
    const label = gsi.spec.nodeLabel ?? DEFAULT_NODE_LABEL
    const max = Math.min(gsi.spec.maxInstances ?? MAX_INSTANCES, MAX_INSTANCES)
    const eligible = new Map<string, { name: string; ip: string; created: string }>()
    const ineligible: string[] = []
    for (const n of this.nodes.list()) {
      if (!(label in (n.metadata.labels ?? {}))) continue
      const ip = n.status?.addresses?.find(a => a.type === 'InternalIP' && /^\d+\.\d+\.\d+\.\d+$/.test(a.address))?.address
      const ready = n.status?.conditions?.find(c => c.type === 'Ready')?.status
      if (!ip || n.metadata.deletionTimestamp || ready === 'False' || ready === 'Unknown') { ineligible.push(n.metadata.name); continue }
      eligible.set(n.metadata.name, { name: n.metadata.name, ip, created: String(n.metadata.creationTimestamp ?? '') })
    }
    const current = this.peers.list()
      .filter(p => p.metadata.namespace === tgw.metadata.namespace && p.metadata.labels?.[TRANSIT_GATEWAY_LABEL] === tgw.metadata.name)
      .map(p => p.spec.nodeName).filter(n => eligible.has(n)).sort()
    const active = current.slice(0, max)
    const rest = [...eligible.values()].filter(n => !active.includes(n.name))
      .sort((a, b) => a.created.localeCompare(b.created) || a.name.localeCompare(b.name))
    for (const n of rest) if (active.length < max) active.push(n.name)
    return {
      active: active.map(n => ({ name: n, ip: eligible.get(n)!.ip })),
      standby: rest.map(n => n.name).filter(n => !active.includes(n)),
      ineligible: ineligible.sort(),
    }
  }

  /** Route targets and CIDRs from the spec and from the selected CN2 VirtualNetworks. */
  exposure(tgw: K<TransitGateway>): { routeTargets: string[]; cidrs: string[] } {
    const rts = new Set(tgw.spec.exposed?.routeTargets ?? [])
    const cidrs = new Set(tgw.spec.exposed?.cidrs ?? [])
    const sel = tgw.spec.exposed?.virtualNetworkSelector
    if (sel) {
      for (const vn of this.vns.list()) {
        if (vn.metadata.namespace !== tgw.metadata.namespace || !matchesSelector(sel, vn.metadata.labels)) continue
        for (const rt of [...(vn.spec?.routeTargetList ?? []), ...(vn.spec?.exportRouteTargetList ?? [])]) rts.add(rt)
        for (const r of [vn.spec?.v4SubnetReference, vn.spec?.v6SubnetReference]) {
          if (!r) continue
          const sn = this.subnets.get(`${r.namespace ?? vn.metadata.namespace}/${r.name}`)
          if (sn?.spec?.cidr) cidrs.add(sn.spec.cidr)
        }
      }
    }
    return { routeTargets: [...rts].sort(), cidrs: [...cidrs].sort() }
  }

  buildDesired(tgw: K<TransitGateway>, region: string, vpcId: string, nodes: AwsDesiredNode[], cidrs: string[]): AwsDesired {
    const s = tgw.spec
    return {
      owner: { namespace: tgw.metadata.namespace ?? '', name: tgw.metadata.name, uid: tgw.metadata.uid ?? '' },
      region, vpcId,
      ...(s.transitGatewayID ? { transitGatewayId: s.transitGatewayID } : {}),
      amazonSideAsn: s.amazonSideAsn ?? DEFAULT_AMAZON_SIDE_ASN,
      transitGatewayCidrBlock: s.transitGatewayCidrBlock,
      ...(s.vpcAttachmentSubnetIDs?.length ? { vpcAttachmentSubnetIds: s.vpcAttachmentSubnetIDs } : {}),
      ...(s.vpcRouteTableIDs?.length ? { routeTableIds: s.vpcRouteTableIDs } : {}),
      exposedCidrs: cidrs.filter(isIpv4Cidr),
      nodes,
      ...(s.ipv6InsideCidr ? { ipv6Inside: true } : {}),
    }
  }

  private async reconcileTgw(key: string): Promise<{ requeueAfterMs?: number } | void> {
    let tgw = this.tgws.get(key)
    if (!tgw) return
    const log = this.log.child({ transitGateway: key })
    if (tgw.metadata.deletionTimestamp) return this.finalizeTgw(tgw, log)
    const { namespace, name } = splitKey(key)
    if (!(tgw.metadata.finalizers ?? []).includes(AWS_FINALIZER)) {
      const fins = tgw.metadata.finalizers ?? []
      tgw = await this.tgwApi.jsonPatch(namespace, name, [
        { op: 'test', path: '/metadata/resourceVersion', value: tgw.metadata.resourceVersion },
        fins.length ? { op: 'add', path: '/metadata/finalizers/-', value: AWS_FINALIZER } : { op: 'add', path: '/metadata/finalizers', value: [AWS_FINALIZER] },
      ])
    }
    const gen = tgw.metadata.generation ?? 1
    const gsi = this.gsiOf(tgw)
    if (!gsi || gsi.metadata.deletionTimestamp) {
      const msg = `GatewayServiceInstance "${tgw.spec.gatewayServiceInstance}" ${gsi ? 'is being deleted' : 'not found'} in namespace ${namespace}: create it (spec.gatewayServiceInstance names it).`
      await this.writeStatus(tgw, { state: tgw.status?.state ?? 'pending' }, 'GatewayServiceInstanceNotFound', msg, undefined, undefined)
      this.o.events.record(tgw, 'Warning', 'GatewayServiceInstanceNotFound', msg)
      return
    }
    this.enqueueGsi(namespace ?? '', gsi.metadata.name) // its finalizer follows its users
    const amazonAsn = tgw.spec.amazonSideAsn ?? DEFAULT_AMAZON_SIDE_ASN
    const peerAsn = tgw.spec.peerAsn ?? gsi.spec.asn
    if (peerAsn === amazonAsn) {
      const msg = `The gateway's ASN ${peerAsn} (${tgw.spec.peerAsn !== undefined ? 'spec.peerAsn' : `GatewayServiceInstance ${gsi.metadata.name} spec.asn`}) equals the TGW's amazonSideAsn ${amazonAsn}: the sessions would be iBGP and the TGW installs no iBGP-learned routes. Change one of them.`
      await this.writeStatus(tgw, { state: 'invalid' }, 'InvalidSpec', msg, undefined, undefined)
      this.o.events.record(tgw, 'Warning', 'InvalidSpec', msg)
      return
    }
    const sel = this.selectNodes(tgw, gsi)
    const exposed = this.exposure(tgw)
    const existing = new Map(this.ownedPeers(tgw).map(p => [p.spec.nodeName, p]))
    const pool = [...(tgw.spec.insideCidrBlocks ?? [])]
    const taken = new Set(sel.active.map(n => existing.get(n.name)?.spec.insideCidrBlocks.find(isIpv4Cidr)).filter((c): c is string => !!c))
    const nodes: AwsDesiredNode[] = sel.active.map(n => {
      const keep = existing.get(n.name)?.spec.insideCidrBlocks.find(isIpv4Cidr)
      let inside = keep
      if (!inside && pool.length) {
        inside = pool.find(c => !taken.has(c))
        if (inside) taken.add(inside)
      }
      return { name: n.name, nodeIp: n.ip, peerAsn, ...(inside ? { insideCidr: inside } : {}) }
    })
    const desired = this.buildDesired(tgw, gsi.spec.awsRegion, gsi.spec.vpcID, nodes, exposed.cidrs)
    const ec2 = this.o.ec2For(gsi.spec.awsRegion)
    // Record where the resources go before creating any, so deletion works even without the GSI.
    if (tgw.status?.awsRegion !== gsi.spec.awsRegion || tgw.status?.vpcID !== gsi.spec.vpcID) {
      tgw = await this.tgwApi.mergePatchStatus(namespace, name, { status: { awsRegion: gsi.spec.awsRegion, vpcID: gsi.spec.vpcID } })
    }
    const observed = await reconcileTransitGatewayAws(desired, ec2, log, this.o.aws ?? {})
    for (const a of observed.actions) this.o.events.record(tgw, 'Normal', 'AwsChanged', a)
    if (observed.reason === 'InvalidSpec') this.o.events.record(tgw, 'Warning', 'InvalidSpec', observed.message)
    else if (!observed.ready && (observed.reason === 'AwsError' || observed.reason === 'Conflict' || observed.reason === 'NotOwned')) {
      this.o.events.record(tgw, 'Warning', observed.reason, observed.message)
    }
    const cn2 = this.cn2Of(gsi)
    const controlNodes = this.controlNodes(cn2)
    await this.syncPeers(tgw, observed, exposed, controlNodes.map(r => r.node), log)
    await this.syncBgpRouters(tgw, sel, cn2, controlNodes, log)
    await this.syncRoutes(tgw, observed)
    await this.writeStatus(tgw, this.statusFrom(observed, sel, exposed), observed.reason, observed.message, observed, sel, gen)
    if (observed.requeueAfterMs !== undefined) return { requeueAfterMs: observed.requeueAfterMs }
    if (observed.reason === 'InvalidSpec') return
    return { requeueAfterMs: this.o.resyncMs ?? 5 * 60_000 }
  }

  private ownedPeers(tgw: K<TransitGateway>): K<ConnectedPeer>[] {
    return this.peers.list().filter(p => p.metadata.namespace === tgw.metadata.namespace && p.metadata.labels?.[TRANSIT_GATEWAY_LABEL] === tgw.metadata.name)
  }
  private ownedRoutes(tgw: K<TransitGateway>): K<Route>[] {
    return this.routes.list().filter(p => p.metadata.namespace === tgw.metadata.namespace && p.metadata.labels?.[TRANSIT_GATEWAY_LABEL] === tgw.metadata.name)
  }

  private ownerRef(tgw: K<TransitGateway>): NonNullable<KubeObject['metadata']['ownerReferences']>[number] {
    return { apiVersion: API_VERSION, kind: 'TransitGateway', name: tgw.metadata.name, uid: tgw.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }
  }

  private statusFrom(o: AwsObserved, sel: Selection, exposed: { routeTargets: string[]; cidrs: string[] }): TransitGatewayStatus {
    const byNode = new Map(o.peers.map(p => [p.node, p]))
    const peers: PeerSummary[] = [
      ...sel.active.map(n => {
        const p = byNode.get(n.name)
        return {
          node: n.name, role: 'active' as const, peerAddress: n.ip,
          ...(p ? { connectPeerID: p.connectPeerId, insideCidrBlocks: p.insideCidrBlocks, state: p.state } : { state: 'creating' }),
        }
      }),
      ...sel.standby.map(n => ({ node: n, role: 'standby' as const })),
    ]
    const st: TransitGatewayStatus = {
      state: (o.transitGateway?.state ?? (o.reason === 'InvalidSpec' ? 'invalid' : 'pending')) as TransitGatewayState,
      exposedCidrs: exposed.cidrs, exposedRouteTargets: exposed.routeTargets,
      activePeers: o.peers.filter(p => p.state === 'available').length,
      peers, standbyNodes: sel.standby,
    }
    if (o.transitGateway) { st.transitGatewayID = o.transitGateway.id; st.amazonSideAsn = o.transitGateway.asn }
    if (o.vpcAttachment) st.vpcAttachmentID = o.vpcAttachment.id
    if (o.connectAttachment) st.connectAttachmentID = o.connectAttachment.id
    if (o.securityGroup) st.securityGroupID = o.securityGroup.id
    return st
  }

  /**
   * Writes status: AWSReady from the AWS reconciler, PeersReady from the active nodes' Connect peers,
   * Ready = both. Without `observed` (spec problems found before AWS) AWSReady/PeersReady are Unknown
   * or False with the same reason.
   */
  private async writeStatus(tgw: K<TransitGateway>, partial: TransitGatewayStatus, reason: string, message: string,
    observed: AwsObserved | undefined, sel: Selection | undefined, gen = tgw.metadata.generation ?? 1): Promise<void> {
    const prev = tgw.status?.conditions
    const conditions: Condition[] = []
    const cond = (type: ConditionType, ok: boolean | undefined, r: string, m: string): void =>
      setCondition(conditions, prev, { type, status: ok === undefined ? 'Unknown' : ok ? 'True' : 'False', reason: r, message: m, observedGeneration: gen })
    let ready = false, readyReason = reason, readyMsg = message
    if (!observed || !sel) {
      const spec = reason === 'InvalidSpec'
      cond('AWSReady', spec ? false : undefined, reason, message)
      cond('PeersReady', undefined, reason, 'Waits for the spec to be fixed.')
    } else {
      cond('AWSReady', observed.ready, observed.ready ? 'Available' : observed.reason, observed.ready
        ? `Transit gateway ${observed.transitGateway?.id ?? ''}, VPC attachment, Connect attachment, routes and security group are available.`
        : observed.message)
      const byNode = new Map(observed.peers.map(p => [p.node, p]))
      const label = this.gsiOf(tgw)?.spec.nodeLabel ?? DEFAULT_NODE_LABEL
      let pr: [boolean, string, string]
      if (sel.active.length === 0) {
        pr = [false, 'NoGatewayNodes', `No eligible node: label nodes with ${label} (kubectl label node NAME ${label}=) and make sure they are Ready with an InternalIP${sel.ineligible.length ? `; not eligible now: ${sel.ineligible.join(', ')}` : ''}.`]
      } else {
        const missing = sel.active.filter(n => byNode.get(n.name)?.state !== 'available').map(n => `${n.name} (${byNode.get(n.name)?.state ?? 'no Connect peer yet'})`)
        const up = observed.peers.reduce((s, p) => s + p.bgp.filter(b => b.bgpStatus === 'up').length, 0)
        const standby = sel.standby.length ? `; standby: ${sel.standby.join(', ')}` : ''
        pr = missing.length === 0
          ? [true, 'PeersAvailable', `${sel.active.length} Connect peer(s) available (${sel.active.map(n => n.name).join(', ')}); AWS reports ${up} of ${observed.peers.length * 2} BGP sessions up${standby}.`]
          : [false, 'PeersPending', `Waiting for Connect peers of ${missing.join(', ')}${standby}.`]
      }
      cond('PeersReady', pr[0], pr[1], pr[2])
      ready = observed.ready && pr[0]
      if (ready) { readyReason = 'Ready'; readyMsg = 'Transit gateway and Connect peers are available.' }
      else if (observed.ready) { readyReason = pr[1]; readyMsg = pr[2] }
      else { readyReason = observed.reason; readyMsg = observed.message }
    }
    setCondition(conditions, prev, { type: 'Ready', status: ready ? 'True' : 'False', reason: readyReason, message: readyMsg, observedGeneration: gen })
    conditions.sort((a, b) => a.type.localeCompare(b.type))
    const status: TransitGatewayStatus = { ...tgw.status, ...partial, observedGeneration: gen, message: readyMsg, conditions }
    if (JSON.stringify(status) === JSON.stringify(tgw.status)) return
    const patch: Record<string, unknown> = { ...status }
    for (const k of Object.keys(tgw.status ?? {})) if (!(k in status)) patch[k] = null
    try {
      await this.tgwApi.mergePatchStatus(tgw.metadata.namespace, tgw.metadata.name, { status: patch })
    } catch (e) {
      if (!isNotFound(e)) throw e
    }
    const was = prev?.find(c => c.type === 'Ready')
    if (ready && was?.status !== 'True') this.o.events.record(tgw, 'Normal', 'Ready', readyMsg)
  }

  private peerSpec(tgw: K<TransitGateway>, p: ObservedConnectPeer, exposed: { routeTargets: string[]; cidrs: string[] }, controlNodes: { address: string; asn: number }[]): ConnectedPeerSpec {
    return {
      transitGateway: tgw.metadata.name,
      nodeName: p.node,
      peerAddress: p.peerAddress,
      transitGatewayAddress: p.transitGatewayAddresses[0] ?? '',
      insideCidrBlocks: p.insideCidrBlocks,
      localInsideAddresses: [p.applianceInsideAddress, ...(p.applianceInsideAddressIpv6 ? [p.applianceInsideAddressIpv6] : [])],
      bgpPeerAddresses: [...p.transitGatewayInsideAddresses, ...(p.transitGatewayInsideAddressesIpv6 ?? [])],
      peerAsn: p.peerAsn,
      transitGatewayAsn: p.transitGatewayAsn,
      exposedRouteTargets: exposed.routeTargets,
      exposedCidrs: exposed.cidrs,
      mtu: GRE_MTU,
      // Always present, [] included: a merge patch leaves out nothing it does not name.
      controlNodes,
    }
  }

  /** One ConnectedPeer per Connect peer AWS reports; the others of this TGW are deleted. */
  private async syncPeers(tgw: K<TransitGateway>, o: AwsObserved, exposed: { routeTargets: string[]; cidrs: string[] }, controlNodes: { address: string; asn: number }[], log: Logger): Promise<void> {
    const ns = tgw.metadata.namespace
    const want = new Set<string>()
    for (const p of o.peers) {
      if (!p.transitGatewayAddresses[0] || p.insideCidrBlocks.length === 0) continue
      const name = connectedPeerName(tgw.metadata.name, p.node)
      want.add(name)
      const spec = this.peerSpec(tgw, p, exposed, controlNodes)
      const cur = this.peers.get(`${ns}/${name}`)
      const status = {
        connectPeerID: p.connectPeerId, state: p.state,
        awsBgpStatus: p.bgp.map(b => ({ transitGatewayAddress: b.transitGatewayAddress, peerAddress: b.peerAddress, status: b.bgpStatus })),
      }
      let obj = cur
      if (!cur) {
        try {
          obj = await this.peerApi.create({
            apiVersion: API_VERSION, kind: 'ConnectedPeer',
            metadata: { name, namespace: ns, labels: { [TRANSIT_GATEWAY_LABEL]: tgw.metadata.name, [NODE_NAME_LABEL]: p.node }, ownerReferences: [this.ownerRef(tgw)] },
            spec,
          } as K<ConnectedPeer>)
          this.o.events.record(tgw, 'Normal', 'ConnectedPeerCreated', `ConnectedPeer ${name} for node ${p.node} (${p.connectPeerId}, inside ${p.insideCidrBlocks.join(', ')})`)
        } catch (e) {
          if (!isConflict(e)) throw new Error(`creating ConnectedPeer ${name}: ${apiMessage(e)}`)
          obj = await this.peerApi.get(ns, name)
        }
      } else if (JSON.stringify(cur.spec) !== JSON.stringify(spec)) {
        obj = await this.peerApi.mergePatch(ns, name, { spec })
      }
      const curStatus = obj?.status
      if (obj && JSON.stringify({ connectPeerID: curStatus?.connectPeerID, state: curStatus?.state, awsBgpStatus: curStatus?.awsBgpStatus }) !== JSON.stringify(status)) {
        await this.peerApi.mergePatchStatus(ns, name, { status })
      }
    }
    for (const p of this.ownedPeers(tgw)) {
      if (!want.has(p.metadata.name)) {
        log.info({ connectedPeer: p.metadata.name, node: p.spec.nodeName }, 'deleting ConnectedPeer')
        if (await this.peerApi.delete(ns, p.metadata.name)) {
          this.o.events.record(tgw, 'Normal', 'ConnectedPeerDeleted', `ConnectedPeer ${p.metadata.name} of node ${p.spec.nodeName} removed`)
        }
      }
    }
  }

  private cn2Of(gsi: K<GatewayServiceInstance>): Cn2RegistrationSpec & typeof CN2_DEFAULTS {
    return { ...CN2_DEFAULTS, ...gsi.spec.cn2 }
  }

  /** True when a BGPRouter carries our ownership labels for this TransitGateway. */
  private ownsRouter(tgw: K<TransitGateway>, r: KubeObject): boolean {
    const l = r.metadata.labels ?? {}
    return l[TRANSIT_GATEWAY_LABEL] === tgw.metadata.name && l[TRANSIT_GATEWAY_NAMESPACE_LABEL] === tgw.metadata.namespace
  }

  /**
   * The control nodes' BGPRouters in the CN2 namespace (routerType control-node, an address, not one of
   * ours), by name; `node` is what the daemon needs of each (address, AS).
   */
  controlNodes(cn2: ReturnType<GsiController['cn2Of']>): { name: string; node: { address: string; asn: number } }[] {
    const out: { name: string; node: { address: string; asn: number } }[] = []
    for (const r of this.bgpRouters.list()) {
      const p = r.spec?.bgpRouterParameters
      if (r.metadata.namespace !== cn2.namespace || p?.routerType !== cn2.controlNodeRouterType || !p.address) continue
      if (r.metadata.labels?.[TRANSIT_GATEWAY_LABEL] !== undefined) continue
      out.push({ name: r.metadata.name, node: { address: p.address, asn: typeof p.autonomousSystem === 'number' ? p.autonomousSystem : CN2_DEFAULT_ASN } })
    }
    return out.sort((a, b) => a.name.localeCompare(b.name))
  }

  /** The spec of our BGPRouter for one active node. */
  private bgpRouterSpec(ip: string, cn2: ReturnType<GsiController['cn2Of']>, controlNodes: { name: string; node: { asn: number } }[]): NonNullable<Cn2BgpRouter['spec']> {
    return {
      parent: { apiVersion: CN2_API_VERSION, kind: 'RoutingInstance', namespace: cn2.namespace, name: cn2.parentName },
      bgpRouterParameters: {
        routerType: cn2.routerType, address: ip, identifier: ip,
        // iBGP in the control nodes' AS unless configured (what the daemon uses toward CN2).
        autonomousSystem: cn2.autonomousSystem ?? controlNodes[0]?.node.asn ?? CN2_DEFAULT_ASN,
        addressFamilies: { family: [...CN2_FAMILIES] },
        holdTime: cn2.holdTime,
      },
      bgpRouterReferences: controlNodes.map(c => ({ apiVersion: CN2_API_VERSION, kind: 'BGPRouter', namespace: cn2.namespace, name: c.name })),
    }
  }

  /**
   * One BGPRouter per active node while control nodes exist; ours that are no longer wanted (node gone,
   * standby took over, CN2 namespace changed, no control node left) are deleted. Only the fields we set
   * are compared and replaced: CN2 may fill others (fqName, reference attributes), which are kept.
   */
  private async syncBgpRouters(tgw: K<TransitGateway>, sel: Selection, cn2: ReturnType<GsiController['cn2Of']>,
    controlNodes: { name: string; node: { address: string; asn: number } }[], log: Logger): Promise<void> {
    if (!this.bgpRouters.available) return // CN2 not installed: no BGPRouter kind to write
    const want = new Set<string>()
    if (controlNodes.length > 0) {
      for (const n of sel.active) {
        const name = bgpRouterName(tgw.metadata.name, n.name)
        const key = `${cn2.namespace}/${name}`
        want.add(key)
        const spec = this.bgpRouterSpec(n.ip, cn2, controlNodes)
        const labels = { [TRANSIT_GATEWAY_LABEL]: tgw.metadata.name, [TRANSIT_GATEWAY_NAMESPACE_LABEL]: tgw.metadata.namespace ?? '', [NODE_NAME_LABEL]: n.name, 'app.kubernetes.io/managed-by': 'gsi-controller' }
        let cur = this.bgpRouters.get(key)
        if (!cur) {
          try {
            await this.bgpRouterApi.create({ apiVersion: CN2_API_VERSION, kind: 'BGPRouter', metadata: { name, namespace: cn2.namespace, labels }, spec } as K<Cn2BgpRouter>)
            this.o.events.record(tgw, 'Normal', 'BGPRouterCreated', `CN2 BGPRouter ${cn2.namespace}/${name} for node ${n.name} (${n.ip}, AS ${spec.bgpRouterParameters?.autonomousSystem}, ${controlNodes.length} control node(s))`)
            continue
          } catch (e) {
            if (!isConflict(e)) throw new Error(`creating CN2 BGPRouter ${cn2.namespace}/${name}: ${apiMessage(e)}`)
            cur = await this.bgpRouterApi.get(cn2.namespace, name)
            if (!cur) continue // deleted in between: the next pass creates it
          }
        }
        if (!this.ownsRouter(tgw, cur)) {
          this.o.events.record(tgw, 'Warning', 'BGPRouterConflict', `CN2 BGPRouter ${cn2.namespace}/${name} exists and is not ours (labels ${TRANSIT_GATEWAY_LABEL}, ${TRANSIT_GATEWAY_NAMESPACE_LABEL}); node ${n.name} stays unregistered until it is renamed or removed.`)
          continue
        }
        const p = cur.spec?.bgpRouterParameters ?? {}
        const ours = (s: Cn2BgpRouter['spec']): unknown => [s?.parent && { apiVersion: s.parent.apiVersion, kind: s.parent.kind, namespace: s.parent.namespace, name: s.parent.name },
          Object.fromEntries(Object.keys(spec.bgpRouterParameters ?? {}).map(k => [k, s?.bgpRouterParameters?.[k]])),
          (s?.bgpRouterReferences ?? []).map((r: Cn2Reference) => ({ apiVersion: r.apiVersion, kind: r.kind, namespace: r.namespace, name: r.name }))]
        if (JSON.stringify(ours(cur.spec)) === JSON.stringify(ours(spec))) continue
        log.info({ bgpRouter: key, node: n.name }, 'updating CN2 BGPRouter')
        // Update (PUT) with the cached resourceVersion: a concurrent change answers 409 and we retry.
        await this.bgpRouterApi.replace({ ...cur, spec: { ...cur.spec, parent: spec.parent, bgpRouterParameters: { ...p, ...spec.bgpRouterParameters }, bgpRouterReferences: spec.bgpRouterReferences } } as K<Cn2BgpRouter>)
      }
    }
    for (const r of this.bgpRouters.list()) {
      if (!this.ownsRouter(tgw, r) || want.has(objectKey(r))) continue
      log.info({ bgpRouter: objectKey(r), node: r.metadata.labels?.[NODE_NAME_LABEL] }, 'deleting CN2 BGPRouter')
      if (await this.bgpRouterApi.delete(r.metadata.namespace, r.metadata.name)) {
        this.o.events.record(tgw, 'Normal', 'BGPRouterDeleted', `CN2 BGPRouter ${objectKey(r)} of node ${r.metadata.labels?.[NODE_NAME_LABEL] ?? '?'} removed`)
      }
    }
  }

  /** One Route per VPC route-table entry AWS reports; the others of this TGW are deleted. */
  private async syncRoutes(tgw: K<TransitGateway>, o: AwsObserved): Promise<void> {
    const ns = tgw.metadata.namespace
    const want = new Set<string>()
    for (const r of o.routes) {
      const name = routeName(tgw.metadata.name, r.routeTableId, r.destinationCidrBlock)
      want.add(name)
      const status = {
        transitGatewayID: o.transitGateway?.id ?? '', state: r.state,
        message: routeMessage(r),
      }
      let obj = this.routes.get(`${ns}/${name}`)
      if (!obj) {
        try {
          obj = await this.routeApi.create({
            apiVersion: API_VERSION, kind: 'Route',
            metadata: { name, namespace: ns, labels: { [TRANSIT_GATEWAY_LABEL]: tgw.metadata.name }, ownerReferences: [this.ownerRef(tgw)] },
            spec: { transitGateway: tgw.metadata.name, routeTableID: r.routeTableId, destinationCidrBlock: r.destinationCidrBlock },
          } as K<Route>)
        } catch (e) {
          if (!isConflict(e)) throw new Error(`creating Route ${name}: ${apiMessage(e)}`)
          obj = await this.routeApi.get(ns, name)
        }
      }
      if (obj && JSON.stringify(obj.status ?? {}) !== JSON.stringify(status)) await this.routeApi.mergePatchStatus(ns, name, { status })
    }
    for (const r of this.ownedRoutes(tgw)) if (!want.has(r.metadata.name)) await this.routeApi.delete(ns, r.metadata.name)
  }

  private async finalizeTgw(tgw: K<TransitGateway>, log: Logger): Promise<{ requeueAfterMs?: number } | void> {
    if (!(tgw.metadata.finalizers ?? []).includes(AWS_FINALIZER)) return
    const gsi = this.gsiOf(tgw)
    const region = tgw.status?.awsRegion ?? gsi?.spec.awsRegion
    const vpcId = tgw.status?.vpcID ?? gsi?.spec.vpcID
    if (!region || !vpcId) {
      // Nothing was ever created (the region is recorded before the first AWS call).
      await this.cleanupOwned(tgw)
      await this.removeFinalizer(this.tgwApi, tgw, AWS_FINALIZER)
      return
    }
    const desired = this.buildDesired(tgw, region, vpcId, [], [])
    const r = await deleteTransitGatewayAws(desired, this.o.ec2For(region), log, this.o.aws ?? {})
    for (const a of r.actions) this.o.events.record(tgw, 'Normal', 'AwsDeleted', a)
    if (!r.done) {
      const st: TransitGatewayStatus = { state: 'deleting' }
      await this.writeStatus(tgw, st, r.reason, r.message, undefined, undefined)
      if (r.reason === 'Conflict' || r.reason === 'AwsError') this.o.events.record(tgw, 'Warning', r.reason, r.message)
      return { requeueAfterMs: r.requeueAfterMs ?? 2000 }
    }
    await this.cleanupOwned(tgw)
    this.o.events.record(tgw, 'Normal', 'Deleted', r.message)
    await this.removeFinalizer(this.tgwApi, tgw, AWS_FINALIZER)
    if (gsi) this.enqueueGsi(gsi.metadata.namespace ?? '', gsi.metadata.name)
  }

  private async cleanupOwned(tgw: K<TransitGateway>): Promise<void> {
    const ns = tgw.metadata.namespace
    const sel = `${TRANSIT_GATEWAY_LABEL}=${tgw.metadata.name}`
    for (const p of (await this.peerApi.list(ns, sel)).items) await this.peerApi.delete(ns, p.metadata.name)
    // Our BGPRouters, after the ConnectedPeers (the daemons stop using them first), in any namespace.
    let routers: K<Cn2BgpRouter>[] = []
    try {
      routers = (await this.bgpRouterApi.list(undefined, `${sel},${TRANSIT_GATEWAY_NAMESPACE_LABEL}=${ns ?? ''}`)).items
    } catch (e) {
      if (!isNotFound(e)) throw e // no BGPRouter kind served: CN2 not installed, nothing of ours
    }
    for (const r of routers) await this.bgpRouterApi.delete(r.metadata.namespace, r.metadata.name)
    for (const r of (await this.routeApi.list(ns, sel)).items) await this.routeApi.delete(ns, r.metadata.name)
  }

  /** Removes one finalizer with a JSON patch guarded by `test` (a concurrent change answers 409). */
  private async removeFinalizer<T extends KubeObject>(api: ResourceClient<T>, obj: T, fin: string): Promise<void> {
    const fins = obj.metadata.finalizers ?? []
    if (!fins.includes(fin)) return
    try {
      await api.jsonPatch(obj.metadata.namespace, obj.metadata.name, [
        { op: 'test', path: '/metadata/finalizers', value: fins },
        { op: 'replace', path: '/metadata/finalizers', value: fins.filter(f => f !== fin) },
      ])
    } catch (e) {
      if (!isNotFound(e)) throw e
    }
  }
}

function routeMessage(r: ObservedRoute): string {
  const why = r.purpose === 'tgw-cidr-block' ? 'TGW CIDR block (GRE from the nodes)' : 'exposed CIDR'
  if (r.state === 'conflict') return `${why}: ${r.destinationCidrBlock} already points to ${r.conflictTarget ?? 'another target'} in ${r.routeTableId}; remove that route to let the gateway take it.`
  if (r.state === 'missing') return `${why}: not in ${r.routeTableId} yet.`
  return why
}

// ---------------------------------------------------------------- one replica with leader election

export interface ReplicaOptions extends Omit<GsiControllerOptions, 'events'> {
  identity: string
  leaseNamespace: string
  leaseName: string
  leaseDurationMs?: number
  renewDeadlineMs?: number
  retryPeriodMs?: number
  /** Called when leadership is lost (the binary exits so a fresh process starts clean). */
  onLostLeadership?(): void
}

/** A controller process: campaigns for the Lease, runs a GsiController while it holds it. */
export class ControllerReplica {
  readonly elector: LeaderElector
  readonly events: EventRecorder
  controller: GsiController | undefined
  private running: Promise<void> | undefined
  /** The stop of the controller that lost the Lease, for stop() to wait on: releasing the Lease
   * in stop() ends leadership first, and its in-flight reconcile may still call AWS. */
  private stopping: Promise<void> | undefined

  constructor(private readonly o: ReplicaOptions) {
    this.events = new EventRecorder(o.conn, 'gsi-controller', o.log, o.identity)
    this.elector = new LeaderElector(o.conn, {
      namespace: o.leaseNamespace, name: o.leaseName, identity: o.identity, log: o.log,
      ...(o.leaseDurationMs !== undefined ? { leaseDurationMs: o.leaseDurationMs } : {}),
      ...(o.renewDeadlineMs !== undefined ? { renewDeadlineMs: o.renewDeadlineMs } : {}),
      ...(o.retryPeriodMs !== undefined ? { retryPeriodMs: o.retryPeriodMs } : {}),
      onStartedLeading: () => {
        const c = new GsiController({ ...o, events: this.events })
        this.controller = c
        this.running = c.start().catch((e: unknown) => o.log.error({ err: e }, 'controller failed'))
      },
      onStoppedLeading: () => {
        const c = this.controller
        this.controller = undefined
        if (c) this.stopping = c.stop()
        o.onLostLeadership?.()
      },
      onNewLeader: id => o.log.info({ leader: id }, 'leader is ' + id),
    })
    o.metrics.isLeader = () => this.elector.isLeader
  }

  get isLeader(): boolean { return this.elector.isLeader }

  start(): void { this.elector.start() }

  async stop(): Promise<void> {
    await this.elector.stop()
    const c = this.controller
    this.controller = undefined
    await c?.stop()
    await this.stopping
    await this.running
    await this.events.flush()
  }

  /** Stops without releasing the Lease or finishing anything: a crash, for tests. */
  async kill(): Promise<void> {
    this.elector.abandon()
    const c = this.controller
    this.controller = undefined
    await c?.stop()
  }
}
