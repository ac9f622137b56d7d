/**
 * Test harness for the controller scenarios: the Kubernetes API emulator (our CRDs loaded from
 * deploy/crds) and the EC2 emulator (controller-aws's), both on loopback ports, driven only through
 * the real clients (@kubernetes/client-node, @aws-sdk/client-ec2); controller replicas with fast
 * timers; helpers to create nodes, a GSI and a TransitGateway in a unique namespace; `waitFor`.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pino, type Logger } from 'pino'
import { KubeEmulator } from '../../controller/emulator/kube/server.js'
import { startEc2Emulator, type Ec2Emulator, type Ec2EmulatorOptions } from '../../controller/emulator/ec2/server.js'
import { createEc2Api, type Ec2Api } from '../../controller/aws/ec2.js'
import { isConflict, KubeConnection, makeKubeConfig, ResourceClient, NODES, type KubeObject } from '../../controller/k8s/index.js'
import { BGP_ROUTER_REF, ControllerReplica, GSI_REF, PEER_REF, ROUTE_REF, TGW_REF, VN_REF, SUBNET_REF } from '../../controller/controller.js'
import { ControllerMetrics } from '../../controller/metrics.js'
import { API_VERSION, type Cn2BgpRouter, type ConnectedPeer, type GatewayServiceInstance, type Route, type TransitGateway } from '../../controller/types.js'

export const CRD_DIR = join(import.meta.dirname, '..', '..', 'deploy', 'crds')
export function crdTexts(): string[] {
  return readdirSync(CRD_DIR).filter(f => f.endsWith('.yaml')).sort().map(f => readFileSync(join(CRD_DIR, f), 'utf8'))
}

export const VPC = 'vpc-0a1b2c3d4e5f60001'
export const REGION = 'us-east-1'

export function testLog(): Logger {
  return pino({ level: process.env.GSI_TEST_LOG ?? 'silent' })
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, everyMs = 25): Promise<T> {
  const t0 = Date.now()
  let last: unknown
  while (Date.now() - t0 < timeoutMs) {
    try {
      const v = await fn()
      if (v !== undefined && v !== false) return v
    } catch (e) { last = e }
    await new Promise(r => setTimeout(r, everyMs))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`)
}

type K<T> = T & KubeObject

export class World {
  kube!: KubeEmulator
  ec2!: Ec2Emulator
  conn!: KubeConnection
  ns = `t-${Math.random().toString(36).slice(2, 8)}`
  readonly replicas: ControllerReplica[] = []
  readonly log = testLog()
  nodes!: ResourceClient<KubeObject>
  gsis!: ResourceClient<K<GatewayServiceInstance>>
  tgws!: ResourceClient<K<TransitGateway>>
  peers!: ResourceClient<K<ConnectedPeer>>
  routes!: ResourceClient<K<Route>>
  vns!: ResourceClient<KubeObject>
  subnets!: ResourceClient<KubeObject>
  bgpRouters!: ResourceClient<K<Cn2BgpRouter>>
  readonly ec2Clients = new Map<string, Ec2Api>()

  async start(ec2Opts: Ec2EmulatorOptions = {}, kubeOpts: { historyLimit?: number } = {}): Promise<this> {
    this.kube = new KubeEmulator({ crds: crdTexts(), ...kubeOpts })
    const url = await this.kube.start()
    this.ec2 = await startEc2Emulator({ availableDelayMs: 30, deletingDelayMs: 20, ...ec2Opts })
    this.conn = new KubeConnection(makeKubeConfig({ server: url }))
    this.nodes = new ResourceClient(this.conn, NODES)
    this.gsis = new ResourceClient(this.conn, GSI_REF)
    this.tgws = new ResourceClient(this.conn, TGW_REF)
    this.peers = new ResourceClient(this.conn, PEER_REF)
    this.routes = new ResourceClient(this.conn, ROUTE_REF)
    this.vns = new ResourceClient(this.conn, VN_REF)
    this.subnets = new ResourceClient(this.conn, SUBNET_REF)
    this.bgpRouters = new ResourceClient(this.conn, BGP_ROUTER_REF)
    await this.conn.core.createNamespace({ body: { metadata: { name: this.ns } } })
    return this
  }

  replica(identity: string, metrics = new ControllerMetrics(), extra: { leaseDurationMs?: number; wrapEc2?: (api: Ec2Api) => Ec2Api; conn?: KubeConnection } = {}): ControllerReplica {
    const r = new ControllerReplica({
      conn: extra.conn ?? this.conn, log: this.log.child({ replica: identity }), metrics, identity,
      leaseNamespace: this.ns, leaseName: 'gsi-controller', namespace: this.ns,
      leaseDurationMs: extra.leaseDurationMs ?? 1500, renewDeadlineMs: 1000, retryPeriodMs: 200,
      ec2For: region => (extra.wrapEc2 ?? (a => a))(this.ec2For(region, metrics)),
      aws: { minRequeueMs: 30, maxRequeueMs: 150, errorRequeueMs: 100 },
      queueBaseDelayMs: 20, queueMaxDelayMs: 500, informerBackoffMs: 50, resyncMs: 2000,
    })
    this.replicas.push(r)
    return r
  }

  ec2For(region: string, metrics: ControllerMetrics): Ec2Api {
    return createEc2Api({
      region, endpoint: this.ec2.endpoint, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
      retry: { baseDelayMs: 2, maxDelayMs: 20 }, onCall: metrics.onEc2Call,
    })
  }

  async addNode(name: string, ip: string, labelled = true, ready = true): Promise<void> {
    await this.nodes.create({
      apiVersion: 'v1', kind: 'Node',
      metadata: { name, labels: labelled ? { 'core.juniper.net/crpd-node': '', [`test/${this.ns}`]: '' } : { [`test/${this.ns}`]: '' } },
      status: {
        addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }],
        conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
      },
    } as KubeObject)
  }

  async gsi(name = 'gsi', asn = 65010, extra: Partial<GatewayServiceInstance['spec']> = {}): Promise<void> {
    await this.gsis.create({ apiVersion: API_VERSION, kind: 'GatewayServiceInstance', metadata: { name, namespace: this.ns }, spec: { awsRegion: REGION, vpcID: VPC, asn, ...extra } } as K<GatewayServiceInstance>)
  }

  /** Creates a namespace unless it exists (the CN2 one is shared by the tests of one emulator). */
  async namespace(name: string): Promise<void> {
    try {
      await this.conn.core.createNamespace({ body: { metadata: { name } } })
    } catch (e) {
      if (!isConflict(e)) throw e
    }
  }

  /** A CN2 BGPRouter as CN2 writes one per control node (routerType control-node) or for another router. */
  async cn2Router(name: string, address: string, o: { asn?: number; namespace?: string; routerType?: string } = {}): Promise<K<Cn2BgpRouter>> {
    const namespace = o.namespace ?? 'contrail'
    await this.namespace(namespace)
    return this.bgpRouters.create({
      apiVersion: 'core.contrail.juniper.net/v1alpha1', kind: 'BGPRouter', metadata: { name, namespace },
      spec: {
        parent: { apiVersion: 'core.contrail.juniper.net/v1alpha1', kind: 'RoutingInstance', namespace, name: 'default' },
        bgpRouterParameters: {
          routerType: o.routerType ?? 'control-node', vendor: 'contrail', address, identifier: address, port: 179,
          ...(o.asn !== undefined ? { autonomousSystem: o.asn } : {}),
          addressFamilies: { family: ['route-target', 'inet-vpn', 'e-vpn', 'erm-vpn', 'inet6-vpn'] },
        },
        fqName: ['default-domain', 'default-project', 'ip-fabric', 'default', name],
      },
    } as K<Cn2BgpRouter>)
  }

  async tgw(name = 'tgw', spec: Partial<TransitGateway['spec']> = {}): Promise<K<TransitGateway>> {
    return this.tgws.create({
      apiVersion: API_VERSION, kind: 'TransitGateway', metadata: { name, namespace: this.ns },
      spec: { gatewayServiceInstance: 'gsi', transitGatewayCidrBlock: '100.64.0.0/24', exposed: { routeTargets: ['target:64512:100'], cidrs: ['10.100.0.0/16'] }, ...spec },
    } as K<TransitGateway>)
  }

  async get(name = 'tgw'): Promise<K<TransitGateway> | undefined> { return this.tgws.get(this.ns, name) }

  async readyTgw(name = 'tgw', timeoutMs = 60_000): Promise<K<TransitGateway>> {
    return waitFor(`TransitGateway ${name} Ready`, async () => {
      const t = await this.get(name)
      return t?.status?.conditions?.find(c => c.type === 'Ready')?.status === 'True' && t.status.observedGeneration === t.metadata.generation ? t : undefined
    }, timeoutMs)
  }

  async peerList(): Promise<K<ConnectedPeer>[]> { return (await this.peers.list(this.ns)).items }
  async routeList(): Promise<K<Route>[]> { return (await this.routes.list(this.ns)).items }

  /** Live (not deleted) EC2 resources, by kind. */
  aws(): { tgws: string[]; vpcAtt: string[]; connects: string[]; peers: { id: string; node: string; inside: string[]; state: string }[]; routes: string[]; sgs: string[] } {
    const w = this.ec2.world
    const t = Date.now() + w.timeOffsetMs
    const gone = (v: { state: string; next?: string; until?: number }): boolean => v.state === 'deleted' || (v.next === 'deleted' && (v.until ?? Infinity) <= t)
    const live = <T extends { state: string }>(m: Map<string, T>): [string, T][] => [...m].filter(([, v]) => !gone(v))
    const routes: string[] = []
    for (const rt of w.routeTables.values()) for (const r of rt.routes) if ((r as { transitGatewayId?: string }).transitGatewayId) routes.push(`${rt.id} ${(r as { destinationCidrBlock?: string }).destinationCidrBlock ?? ''}`)
    return {
      tgws: live(w.transitGateways).map(([k]) => k),
      vpcAtt: live(w.vpcAttachments).map(([k]) => k),
      connects: live(w.connectAttachments).map(([k]) => k),
      peers: live(w.connectPeers).map(([k, v]) => ({ id: k, node: v.tags.find(t => t.Key === 'gsi-router.io/node')?.Value ?? '', inside: v.insideCidrBlocks, state: v.state })),
      routes: routes.sort(),
      sgs: [...w.securityGroups.values()].filter(s => s.name !== 'default').map(s => s.id),
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.replicas.map(r => r.stop().catch(() => undefined)))
    await this.kube?.stop()
    await this.ec2?.close()
  }
}
