// Hand-built doctor snapshots: one healthy Gateway Service Instance (one TransitGateway, one gateway
// node with its ConnectedPeer, its gsi-routerd's report, EC2's route table and gsi-sg) that each test
// breaks in one place. Values follow what gsi-controller and gsi-routerd really write.
import type { DaemonReport } from '../../src/api/report.js'
import type { PeerSummary } from '../../src/api/handlers.js'
import type { AwsSnapshot, ClusterSnapshot, DaemonAnswer, DoctorSnapshot } from '../../src/doctor/index.js'
import { API_VERSION, type ConnectedPeer, type TransitGateway } from '../../controller/types.js'
import { bgpRouterName, connectedPeerName } from '../../controller/names.js'

export const NOW = Date.parse('2026-12-01T10:00:00Z')
export const RT = 'target:64512:8000001'
export const CIDR = '10.244.0.0/16'
export const TGW_ID = 'tgw-0123456789abcdef0'
export const SG_ID = 'sg-0aaa'

type Mutable<T> = T extends readonly (infer U)[] ? Mutable<U>[] : T extends object ? { -readonly [K in keyof T]: Mutable<T[K]> } : T

export function peer(address: string, side: 'tgw' | 'cn2', state = 'Established', lastError?: string): Mutable<PeerSummary> {
  return {
    name: `${side}-${address}`, address, asn: side === 'tgw' ? 64512 : 64512, side, enabled: true, state, stateSince: NOW - 60_000, flaps: 0,
    messagesReceived: 10, messagesSent: 10, prefixes: [], ...(lastError !== undefined ? { lastError } : {}),
  }
}

export function report(): Mutable<DaemonReport> {
  return {
    status: { version: '0.1.0', routerId: '10.0.1.11', localAs: 64512, tgwLocalAs: 65001, startedAt: NOW - 600_000, ready: true, logLevel: 'info', dataplane: 'kernel' },
    peers: [peer('169.254.6.2', 'tgw'), peer('169.254.6.3', 'tgw'), peer('10.0.0.10', 'cn2')],
    gateway: { tgwAdvertised: 1, tgwQuota: 1000, tgwRefused: [] },
    gre: [{ peerId: 'tgw-connect-peer-1', name: 'gsig1', state: 'up', local: '10.0.1.11', remote: '192.0.2.100', mtu: 8476, addresses: ['169.254.6.1/29'], tgwPeers: ['169.254.6.2', '169.254.6.3'], inSync: true }],
    gatewayTables: [{ table: 100, routes: 3 }],
    exposed: { routeTargets: [RT], cidrs: [CIDR] },
    importedByRouteTarget: [{ routeTarget: RT, routes: 3 }],
    importedCapped: false,
    advertisedToTgw: [{ peer: '169.254.6.2', prefixes: [CIDR] }, { peer: '169.254.6.3', prefixes: [CIDR] }],
    probes: {
      enabled: true, intervalSeconds: 1,
      targets: [
        { kind: 'tgw', family: 'ipv4', address: '169.254.6.2', via: 'tgw-connect-peer-1', state: 'alive', since: NOW - 60_000, sent: 60, replies: 60, lost: 0, lossRatio: 0, rttMs: 1.2 },
        { kind: 'tgw', family: 'ipv4', address: '169.254.6.3', via: 'tgw-connect-peer-1', state: 'alive', since: NOW - 60_000, sent: 60, replies: 60, lost: 0, lossRatio: 0, rttMs: 1.3 },
      ],
      connectPeers: [{ connectPeer: 'tgw-connect-peer-1', family: 'ipv4', link: 'gsig1', state: 'up', since: NOW - 60_000, withdrawn: false }],
    },
  } as unknown as Mutable<DaemonReport>
}

export function transitGateway(node = 'node1'): TransitGateway {
  return {
    apiVersion: API_VERSION, kind: 'TransitGateway', metadata: { name: 'tgw', namespace: 'default' },
    spec: { gatewayServiceInstance: 'gsi', transitGatewayCidrBlock: '192.0.2.0/24', exposed: { routeTargets: [RT], cidrs: [CIDR] } },
    status: {
      state: 'available', transitGatewayID: TGW_ID, awsRegion: 'us-east-1', vpcID: 'vpc-1', securityGroupID: SG_ID, activePeers: 1,
      exposedCidrs: [CIDR], exposedRouteTargets: [RT], peers: [{ node, role: 'active' }],
      conditions: [
        { type: 'AWSReady', status: 'True', reason: 'Reconciled', message: 'all AWS resources exist', lastTransitionTime: '2026-12-01T09:00:00Z' },
      ],
    },
  }
}

export function connectedPeer(node = 'node1'): ConnectedPeer {
  return {
    apiVersion: API_VERSION, kind: 'ConnectedPeer', metadata: { name: connectedPeerName('tgw', node), namespace: 'default' },
    spec: {
      transitGateway: 'tgw', nodeName: node, peerAddress: '10.0.1.11', transitGatewayAddress: '192.0.2.100', insideCidrBlocks: ['169.254.6.0/29'],
      localInsideAddresses: ['169.254.6.1'], bgpPeerAddresses: ['169.254.6.2', '169.254.6.3'], peerAsn: 65001, transitGatewayAsn: 64512,
      exposedRouteTargets: [RT], exposedCidrs: [CIDR], mtu: 8476, controlNodes: [{ address: '10.0.0.10', asn: 64512 }],
    },
    status: {
      connectPeerID: 'tgw-connect-peer-1', state: 'available',
      awsBgpStatus: [{ transitGatewayAddress: '169.254.6.2', peerAddress: '169.254.6.1', status: 'up' }, { transitGatewayAddress: '169.254.6.3', peerAddress: '169.254.6.1', status: 'up' }],
      daemon: { updatedAt: new Date(NOW - 3000).toISOString(), greLinkUp: true, sessions: [{ peerAddress: '169.254.6.2', state: 'Established' }, { peerAddress: '169.254.6.3', state: 'Established' }] },
    },
  }
}

export function cluster(node = 'node1'): Mutable<ClusterSnapshot> {
  return {
    namespace: 'gsi-system',
    controllerPods: [{ name: 'gsi-controller-a', node: 'cp1', phase: 'Running', ready: true }, { name: 'gsi-controller-b', node: 'cp2', phase: 'Running', ready: true }],
    lease: { name: 'gsi-controller', holder: 'gsi-controller-a', renewTime: new Date(NOW - 2000).toISOString(), durationSeconds: 15 },
    serviceAccount: { name: 'gsi-controller', roleArn: 'arn:aws:iam::123456789012:role/gsi-controller' },
    gatewayServiceInstances: [{ apiVersion: API_VERSION, kind: 'GatewayServiceInstance', metadata: { name: 'gsi', namespace: 'default' }, spec: { awsRegion: 'us-east-1', vpcID: 'vpc-1', asn: 65001 } }],
    transitGateways: [transitGateway(node)],
    connectedPeers: [connectedPeer(node)],
    routes: [{ apiVersion: API_VERSION, kind: 'Route', metadata: { name: 'tgw-rtb-1-10.244.0.0-16', namespace: 'default' }, spec: { transitGateway: 'tgw', routeTableID: 'rtb-1', destinationCidrBlock: CIDR }, status: { state: 'active', transitGatewayID: TGW_ID } }],
    nodes: [{ name: node, labels: { 'core.juniper.net/crpd-node': 'true' }, ready: true }, { name: 'cp1', labels: {}, ready: true }],
    daemonPods: [{ name: 'gsi-routerd-x7k2p', node, phase: 'Running', ready: true }],
    bgpRouters: [
      { apiVersion: 'core.contrail.juniper.net/v1alpha1', kind: 'BGPRouter', metadata: { name: 'cn1', namespace: 'contrail' }, spec: { bgpRouterParameters: { routerType: 'control-node', address: '10.0.0.10' } } },
      { apiVersion: 'core.contrail.juniper.net/v1alpha1', kind: 'BGPRouter', metadata: { name: bgpRouterName('tgw', node), namespace: 'contrail', labels: { 'gsi.gsi-router.io/transit-gateway': 'tgw' } }, spec: { bgpRouterParameters: { routerType: 'router', address: '10.0.1.11' } } },
    ],
    warnings: [],
  } as unknown as Mutable<ClusterSnapshot>
}

export function aws(): Mutable<AwsSnapshot> {
  return {
    region: 'us-east-1', vpcId: 'vpc-1',
    routeTables: [{ id: 'rtb-1', routes: [{ destination: '10.0.0.0/16', state: 'active' }, { destination: CIDR, transitGatewayId: TGW_ID, state: 'active' }] }, { id: 'rtb-2', routes: [{ destination: CIDR, transitGatewayId: TGW_ID, state: 'active' }] }],
    securityGroups: [{ id: SG_ID, name: 'gsi-sg', ingress: [{ protocol: '-1', cidr: CIDR }, { protocol: '47', cidr: '192.0.2.0/24' }] }],
  } as unknown as Mutable<AwsSnapshot>
}

export interface Healthy {
  s: DoctorSnapshot
  cluster: Mutable<ClusterSnapshot>
  report: Mutable<DaemonReport>
  aws: Mutable<AwsSnapshot>
}

/** A healthy snapshot and handles on its parts (mutating them changes the snapshot). */
/** A healthy gateway of one node (named `node`: EKS names look like ip-10-0-1-11.ec2.internal). */
export function healthy(node = 'node1'): Healthy {
  const c = cluster(node)
  const r = report()
  const a = aws()
  const daemon: DaemonAnswer = { node, source: 'http://10.0.1.11:9478/status', report: r as unknown as DaemonReport }
  const s: DoctorSnapshot = { takenAt: NOW, mode: 'cluster', cluster: c as unknown as ClusterSnapshot, daemons: [daemon], aws: { 'default/tgw': a as unknown as AwsSnapshot } }
  return { s, cluster: c, report: r, aws: a }
}
