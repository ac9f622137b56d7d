/**
 * A DaemonView over plain data, for the metrics, HTTP, local API and gsictl tests: two Transit
 * Gateway sessions (one Established, one Active after a hold-timer expiry), one CN2 control node with
 * VPN routes, GRE links, MPLSoUDP tunnels, a FIB, a gateway quota. Route listing filters and pages
 * for real over its route list (the same semantics the runtime's view must have), and clear / set
 * log-level record what they were asked.
 */
import type { FibCounters } from '../../src/fib/writer.js'
import { fibRoutePage } from '../../src/api/fib-routes.js'
import type { ClearResult, DaemonStatus, DaemonView, FibQuery, FibRouteView, FibView, GatewayStatus, PeerView, RoutePage, RouteQuery, RouteView, TunnelsView } from '../../src/api/view.js'
import type { MessageCounts, SessionStats } from '../../bgp/session/session.js'

export const NOW = Date.now()

const counts = (open: number, update: number, notification: number, keepalive: number, routeRefresh: number): MessageCounts => ({ open, update, notification, keepalive, routeRefresh })

function session(name: string, peerAddress: string, s: Partial<SessionStats>): SessionStats {
  return {
    name, peerAddress, state: 'Idle', stateSince: NOW - 1000, uptimeMs: 0, flaps: 0, connectRetryCounter: 0,
    messagesIn: counts(0, 0, 0, 0, 0), messagesOut: counts(0, 0, 0, 0, 0), collisions: 0, errors: { socket: 0, internal: 0 }, ...s,
  }
}

/** No errors and no RFC 7606 outcomes. */
const quiet = { errors: { socket: 0, familyDisabled: 0, unsendableRoutes: 0, internal: 0 }, updateIssues: {}, recentUpdateIssues: [] }

export function fakePeers(): PeerView[] {
  return [
    {
      name: 'tgw-a', address: '169.254.6.2', asn: 64513, side: 'tgw', enabled: true, ebgp: true, minimumAdvertisementInterval: 1, flushes: 4, writePauses: 0, ...quiet,
      session: session('tgw-a', '169.254.6.2', {
        state: 'Established', stateSince: NOW - 3_723_000, establishedAt: NOW - 3_723_000, uptimeMs: 3_723_000, flaps: 2,
        messagesIn: counts(3, 40, 1, 370, 0), messagesOut: counts(3, 12, 1, 372, 1),
        negotiated: {
          holdTime: 30, keepaliveTime: 10, peerAs: 64513, peerId: '169.254.6.2', ebgp: true, as4: true, families: ['ipv4-unicast'],
          addPath: [], extendedMessage: false, extendedNextHop: [], routeRefresh: true, enhancedRouteRefresh: false,
          gracefulRestart: { restartTime: 120, restarting: false, notification: true, families: [{ family: 'ipv4-unicast', forwarding: true }] },
        },
        connection: { direction: 'outgoing', localAddress: '169.254.6.1', localPort: 41234, remotePort: 179, ttl: 2, minTtl: 0, device: '' },
        lastError: { reason: 'hold-timer-expired', at: NOW - 3_800_000 },
        lastNotificationSent: { code: 4, subcode: 0, description: 'Hold Timer Expired', at: NOW - 3_800_000 },
      }),
      families: [{ family: 'ipv4-unicast', received: 3, accepted: 2, active: 2, stale: 0, advertised: 2, endOfRibReceived: true, endOfRibSent: true }],
    },
    {
      name: 'tgw-b', address: '169.254.6.3', asn: 64513, side: 'tgw', enabled: true, ebgp: true, minimumAdvertisementInterval: 1, flushes: 0, writePauses: 0, ...quiet,
      session: session('tgw-b', '169.254.6.3', {
        state: 'Active', stateSince: NOW - 95_000, flaps: 5, connectRetryCounter: 7,
        messagesIn: counts(5, 20, 0, 100, 0), messagesOut: counts(6, 10, 5, 101, 0),
        lastError: { reason: 'notification-received', at: NOW - 95_000, detail: 'Cease/Administrative Shutdown' },
        lastNotificationReceived: { code: 6, subcode: 2, description: 'Cease/Administrative Shutdown', message: 'maintenance', at: NOW - 95_000 },
      }),
      families: [{ family: 'ipv4-unicast', received: 0, accepted: 0, active: 0, stale: 0, advertised: 0, endOfRibReceived: false, endOfRibSent: false }],
    },
    {
      name: 'cn2-1', address: '10.0.0.10', asn: 64512, side: 'cn2', enabled: true, ebgp: false, minimumAdvertisementInterval: 0, flushes: 9, writePauses: 1, ...quiet,
      session: session('cn2-1', '10.0.0.10', {
        state: 'Established', stateSince: NOW - 9 * 86_400_000 - 3_600_000, establishedAt: NOW - 9 * 86_400_000 - 3_600_000, uptimeMs: 9 * 86_400_000 + 3_600_000,
        messagesIn: counts(1, 1500, 0, 40000, 0), messagesOut: counts(1, 30, 0, 40001, 0),
        negotiated: {
          holdTime: 90, keepaliveTime: 30, peerAs: 64512, peerId: '10.0.0.10', ebgp: false, as4: true, families: ['l3vpn-ipv4-unicast', 'l3vpn-ipv6-unicast', 'rtc'],
          addPath: [], extendedMessage: false, extendedNextHop: [], routeRefresh: true, enhancedRouteRefresh: true,
        },
        connection: { direction: 'incoming', localAddress: '10.0.0.5', localPort: 179, remotePort: 50001, ttl: 64, minTtl: 0, device: '' },
      }),
      families: [
        { family: 'l3vpn-ipv4-unicast', received: 3, accepted: 3, active: 3, stale: 0, advertised: 2, endOfRibReceived: true, endOfRibSent: true },
        { family: 'l3vpn-ipv6-unicast', received: 0, accepted: 0, active: 0, stale: 0, advertised: 0, endOfRibReceived: true, endOfRibSent: true },
        { family: 'rtc', received: 2, accepted: 2, active: 2, stale: 0, advertised: 1, endOfRibReceived: true, endOfRibSent: true },
      ],
    },
  ]
}

const base = { multipath: false, communities: [], largeCommunities: [], extCommunities: [], stale: false } as const

export function fakeRoutes(): RouteView[] {
  return [
    { ...base, family: 'ipv4-unicast', prefix: '10.1.0.0/16', best: true, multipath: true, peer: 'tgw-a', peerAddress: '169.254.6.2', nextHop: '169.254.6.2', origin: 'IGP', asPath: '64513', med: 0 },
    { ...base, family: 'ipv4-unicast', prefix: '10.2.0.0/16', best: true, peer: 'tgw-a', peerAddress: '169.254.6.2', nextHop: '169.254.6.2', origin: 'IGP', asPath: '64513 65010', communities: ['64513:100'] },
    { ...base, family: 'ipv4-unicast', prefix: '10.244.0.0/16', best: true, peer: 'local', peerAddress: '', nextHop: '', origin: 'IGP', asPath: '' },
    { ...base, family: 'l3vpn-ipv4-unicast', prefix: '64512:7:10.244.1.0/24', best: true, peer: 'cn2-1', peerAddress: '10.0.0.10', nextHop: '10.0.1.2', label: 17, origin: 'IGP', asPath: '', localPref: 100, extCommunities: ['rt:64512:7', 'encap:udp'] },
    { ...base, family: 'l3vpn-ipv4-unicast', prefix: '64512:7:10.244.2.0/24', best: true, peer: 'cn2-1', peerAddress: '10.0.0.10', nextHop: '10.0.1.3', label: 18, origin: 'IGP', asPath: '', localPref: 100, extCommunities: ['rt:64512:7', 'encap:udp'] },
    { ...base, family: 'l3vpn-ipv4-unicast', prefix: '64512:8:10.244.2.0/24', best: true, peer: 'cn2-1', peerAddress: '10.0.0.10', nextHop: '10.0.1.4', label: 19, origin: 'Incomplete', asPath: '', localPref: 100, extCommunities: ['rt:64512:8'], stale: true },
  ]
}

/** What we sent each peer (the 'advertised' view). */
export function fakeAdvertised(): Map<string, RouteView[]> {
  return new Map([
    ['169.254.6.2', [{ ...base, family: 'ipv4-unicast', prefix: '10.244.0.0/16', best: true, peer: 'tgw-a', peerAddress: '169.254.6.2', nextHop: '169.254.6.1', origin: 'IGP', asPath: '64512' }]],
    ['10.0.0.10', [{ ...base, family: 'l3vpn-ipv4-unicast', prefix: '10.0.0.5:1:10.1.0.0/16', best: true, peer: 'cn2-1', peerAddress: '10.0.0.10', nextHop: '10.0.0.5', label: 100, origin: 'IGP', asPath: '', localPref: 100, extCommunities: ['rt:64512:7', 'encap:udp'] }]],
  ])
}

export function fakeCounters(): FibCounters {
  return {
    routesAdded: 12, routesReplaced: 3, routesDeleted: 2, labelRoutesAdded: 1, labelRoutesReplaced: 0, labelRoutesDeleted: 0,
    tunnelsCreated: 2, tunnelsDeleted: 0, routesAdopted: 5, driftRepairs: 1, errors: 4, errorsByErrno: { ENODEV: 4 }, retries: 4, syncs: 30, lastSyncAt: NOW - 2000, lastSyncDurationMs: 7, lastError: 'RTM_NEWROUTE 10.9.0.0/16 table 100: No such device (ENODEV)',
  }
}

function prefixOf(r: RouteView): string {
  // VPN prefixes carry their RD in front: 'RD:address/len' where the RD has one colon.
  if (!r.family.startsWith('l3vpn-')) return r.prefix
  const parts = r.prefix.split(':')
  return parts.slice(2).join(':')
}

function rdOf(r: RouteView): string | undefined {
  if (!r.family.startsWith('l3vpn-')) return undefined
  return r.prefix.split(':').slice(0, 2).join(':')
}

export class FakeDaemonView implements DaemonView {
  ready = true
  logLevel = 'info'
  peerList = fakePeers()
  routeList = fakeRoutes()
  advertised = fakeAdvertised()
  cleared: { peer: string; soft: boolean }[] = []
  /** Counted so tests can see one view read per scrape. */
  calls = { status: 0, peers: 0, routes: 0 }
  gatewayStatus: GatewayStatus = { tgwAdvertised: 2, tgwQuota: 1000, tgwRefused: ['10.250.0.0/24', '10.250.1.0/24'], tgwReceived: 3, tgwReceivedCap: 5000 }
  configObject: unknown = {
    nodeName: 'node-1', routerId: '10.0.0.5', dataplane: 'none',
    cn2: { asn: 64512, controlNodes: [{ address: '10.0.0.10', asn: 64512 }] },
    tgw: { asn: 64512, connectPeers: [{ insideCidr: '169.254.6.0/29', tgwAddress: '100.64.0.1', peers: ['169.254.6.2', '169.254.6.3'] }] },
  }

  status(): DaemonStatus {
    this.calls.status++
    return {
      version: '0.1.0', routerId: '10.0.0.5', localAs: 64512, tgwLocalAs: 64512, startedAt: NOW - 10 * 86_400_000, ready: this.ready,
      logLevel: this.logLevel, dataplane: 'none',
      ...(this.ready ? {} : { notReadyReason: 'waiting for End-of-RIB from 169.254.6.3' }),
    }
  }

  peers(): readonly PeerView[] {
    this.calls.peers++
    return this.peerList
  }

  routes(q: RouteQuery): RoutePage {
    this.calls.routes++
    const which = q.view ?? 'best'
    let all = which === 'advertised' ? (this.advertised.get(q.peer ?? '') ?? []) : this.routeList
    if (which === 'received') all = all.filter(r => r.peerAddress === q.peer)
    const families = [...new Set(all.map(r => r.family))].map(family => {
      const rs = all.filter(r => r.family === family)
      return { family, destinations: new Set(rs.map(r => r.prefix)).size, paths: rs.length }
    })
    const match = all.filter(r =>
      (q.family === undefined || r.family === q.family) &&
      (q.prefix === undefined || prefixOf(r) === q.prefix) &&
      (q.rd === undefined || rdOf(r) === q.rd))
    const start = q.after !== undefined ? Number(q.after) : 0
    const limit = q.limit ?? 1000
    const page = match.slice(start, start + limit)
    const next = start + limit < match.length ? String(start + limit) : undefined
    return { families: q.family !== undefined ? families.filter(f => f.family === q.family) : families, routes: page, ...(next !== undefined ? { next } : {}) }
  }

  tunnels(): TunnelsView {
    return {
      gre: [
        { peerId: 'node-1-0', name: 'gsig64000100', state: 'up', local: '10.0.0.5', remote: '100.64.0.1', mtu: 8476, addresses: ['169.254.6.1/29'], tgwPeers: ['169.254.6.2', '169.254.6.3'], inSync: true },
        { peerId: 'node-1-1', name: 'gsig64000200', state: 'missing', local: '10.0.0.5', remote: '100.64.0.2', mtu: null, addresses: ['169.254.6.9/29'], tgwPeers: ['169.254.6.10', '169.254.6.11'], inSync: false },
      ],
      mplsoudp: [
        { name: 'gsim0a000102', vrouter: '10.0.1.2', routes: 1, state: 'up' },
        { name: 'gsim0a000103', vrouter: '10.0.1.3', routes: 2, state: 'down' },
      ],
    }
  }

  /** The desired routes behind fib(): toward pods over two tunnels (one IPv6), toward the VPC over
   * two GRE links, one ECMP over the TGW's .2 and .3; deliberately not in listing order. */
  fibRoutes: FibRouteView[] = [
    { table: 100, prefix: '10.244.2.0/24', nexthops: [{ kind: 'mpls', via: '10.0.1.3', label: 18, dev: 'gsim0a000103', weight: 1 }] },
    { table: 100, prefix: '10.0.0.0/16', nexthops: [{ kind: 'gre', via: '169.254.6.2', dev: 'gsig64000100', weight: 1 }, { kind: 'gre', via: '169.254.6.3', dev: 'gsig64000100', weight: 1 }] },
    { table: 100, prefix: 'fd00:244::/64', nexthops: [{ kind: 'mpls', via: '10.0.1.3', label: 20, dev: 'gsim0a000103', weight: 1 }] },
    { table: 100, prefix: '10.244.1.0/24', nexthops: [{ kind: 'mpls', via: '10.0.1.2', label: 17, dev: 'gsim0a000102', weight: 2 }] },
    { table: 100, prefix: '10.9.0.0/16', nexthops: [{ kind: 'gre', via: '169.254.6.10', dev: 'gsig64000200', weight: 1 }] },
  ]

  fib(q: FibQuery = {}): FibView {
    return {
      state: { ready: this.ready, desiredRoutes: 5, installedRoutes: 4, tables: [{ table: 100, label: 100, vrf: 'gsiv100' }], tunnels: [{ name: 'gsim0a000102', vrouter: '10.0.1.2', routes: 1 }, { name: 'gsim0a000103', vrouter: '10.0.1.3', routes: 2 }] },
      counters: fakeCounters(),
      routesByTable: [{ table: 100, routes: 5 }],
      ...fibRoutePage(this.fibRoutes, q),
    }
  }

  config(): unknown {
    return this.configObject
  }

  gateway(): GatewayStatus {
    return this.gatewayStatus
  }

  async clearNeighbor(peer: string, soft: boolean): Promise<ClearResult> {
    this.cleared.push({ peer, soft })
    return { peer, soft, action: soft ? 'route refresh sent, Adj-RIB-Out re-sent' : 'session reset (Cease/Administrative Reset)' }
  }

  setLogLevel(level: string): string {
    const was = this.logLevel
    this.logLevel = level
    return was
  }
}
