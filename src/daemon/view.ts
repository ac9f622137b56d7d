/**
 * The running daemon as gsictl, /metrics and /readyz see it: `DaemonView` (src/api/view.ts)
 * implemented over the GatewayDaemon's two speakers, their RIBs and Adj-RIBs-Out, the FIB, the GRE
 * links and the gateway logic.
 *
 * Cheap where it is called often (status, peers, counts: state already at hand); route listings are
 * paged, the RIB views by destination id (src/api/rib-routes.ts), the advertised view by count.
 */
import { familyName, type FamilyKey } from '../../bgp/codec/afi.js'
import { LOCAL_PEER } from '../../bgp/rib/index.js'
import type { BgpSpeaker } from '../../bgp/speaker/speaker.js'
import { greLinkName } from '../../gre/index.js'
import { tunnelName } from '../../mplsoudp/index.js'
import {
  DEFAULT_ROUTE_PAGE, MAX_ROUTE_PAGE, routeView, type ClearResult, type DaemonStatus, type DaemonView, type FamilyCount, type FibQuery, type FibRouteView, type FibView,
  type GatewayStatus, type PeerView, type RoutePage, type RouteQuery, type RouteView, type TunnelsView,
} from '../api/view.js'
import { ApiError, ErrorCode } from '../api/protocol.js'
import { ribRoutes, speakerRouteSource } from '../api/rib-routes.js'
import { FibPageSelector } from '../api/fib-routes.js'
import type { DesiredRoute } from '../fib/index.js'
import { prefixContains, tryParseAddress, parsePrefix } from '../lib/address.js'
import { version } from '../version.js'
import type { GatewayDaemon } from './daemon.js'
import type { Side } from './peers.js'

export interface LevelControl {
  get(): string
  set(level: string): void
}

export class RuntimeView implements DaemonView {
  constructor(private readonly d: GatewayDaemon, private readonly level: LevelControl, readonly shutdown?: () => Promise<{ readonly stopping: boolean }>) {}

  private speaker(side: Side): BgpSpeaker {
    return side === 'cn2' ? this.d.speakers.cn2 : this.d.speakers.tgw
  }

  status(): DaemonStatus {
    const r = this.d.ready()
    const c = this.d.config
    return {
      version, routerId: c.routerId, localAs: c.controlNodes.localAsn,
      ...(c.tgw.localAsn !== c.controlNodes.localAsn ? { tgwLocalAs: c.tgw.localAsn } : {}),
      startedAt: this.d.startedAt, ready: r.ready,
      ...(r.ready ? {} : { notReadyReason: r.reasons.join('; ') }),
      logLevel: this.level.get(), dataplane: c.dataplane,
    }
  }

  peers(): readonly PeerView[] {
    return this.d.peerList().map((p) => {
      const diagnosis = p.side === 'cn2' ? this.d.md5Diagnosis(p.config.name) : undefined
      return { ...this.speaker(p.side).peerStats(p.config.name), side: p.side, ...(diagnosis !== undefined ? { diagnosis } : {}) }
    })
  }

  /**
   * Routes of both speakers, one after the other (CN2 side first). The Loc-RIB and a peer's
   * Adj-RIB-In come from src/api/rib-routes.ts (`ribRoutes`, paged by destination id); the cursor
   * says which speaker it continues in (`cn2|...`, `tgw|...`). What was advertised to a peer comes
   * from that speaker's Adj-RIB-Out, which the RIB does not hold, paged by count.
   */
  routes(q: RouteQuery): RoutePage {
    const limit = Math.min(q.limit ?? DEFAULT_ROUTE_PAGE, MAX_ROUTE_PAGE)
    const peer = q.peer !== undefined ? this.d.peerList().find((p) => p.config.address === q.peer || p.config.name === q.peer) : undefined
    if (q.peer !== undefined && peer === undefined) throw new ApiError(ErrorCode.NotFound, `params.peer: no neighbor ${JSON.stringify(q.peer)}`)
    if (q.view === 'advertised') {
      if (peer === undefined) throw new ApiError(ErrorCode.InvalidParams, 'params.peer: the advertised view needs a peer')
      return this.advertised(peer.side, peer.config.name, peer.config.address, q, limit)
    }
    if (q.view === 'received' && peer === undefined) throw new ApiError(ErrorCode.InvalidParams, 'params.peer: the received view needs a peer')
    const sides: Side[] = peer !== undefined ? [peer.side] : ['cn2', 'tgw']
    let start = 0
    let inner: string | undefined
    if (q.after !== undefined) {
      const m = /^(cn2|tgw)\|(.*)$/.exec(q.after)
      start = m !== null ? sides.indexOf(m[1] as Side) : -1
      if (m === null || start < 0) throw new ApiError(ErrorCode.InvalidParams, `params.after: ${JSON.stringify(q.after)} is not a cursor this listing returned`)
      inner = m[2] === '' ? undefined : m[2]
    }
    const families: FamilyCount[] = []
    const routes: RouteView[] = []
    let next: string | undefined
    for (let i = 0; i < sides.length; i++) {
      const side = sides[i] as Side
      const s = this.speaker(side)
      const wantedFamily = q.family === undefined || s.rib.families().some((f) => familyName(f) === q.family)
      // Every side's counts are shown on every page; only the sides from the cursor on are walked.
      const walk = i >= start && next === undefined && wantedFamily
      const sub: { -readonly [K in keyof RouteQuery]: RouteQuery[K] } = { view: q.view === 'received' ? 'received' : 'best', limit: walk ? Math.max(limit - routes.length, 1) : 1 }
      for (const k of ['family', 'prefix', 'rd'] as const) if (q[k] !== undefined) sub[k] = q[k]
      if (q.view === 'received' && peer !== undefined) sub.peer = peer.config.name
      if (walk && i === start && inner !== undefined) sub.after = inner
      const page = wantedFamily ? ribRoutes(speakerRouteSource(s), sub) : { families: [], routes: [] }
      families.push(...page.families)
      if (!walk) continue
      if (routes.length >= limit) { next = `${side}|`; continue }
      const own = peer !== undefined && q.view !== 'received' ? page.routes.filter((r) => r.peerAddress === peer.config.address) : page.routes
      routes.push(...own)
      if (page.next !== undefined) next = `${side}|${page.next}`
    }
    return { families, routes, ...(next !== undefined ? { next } : {}) }
  }

  /** What `side`'s speaker sent to one peer (its Adj-RIB-Out), paged by count (`after` = paths skipped). */
  private advertised(side: Side, name: string, address: string, q: RouteQuery, limit: number): RoutePage {
    const s = this.speaker(side)
    const skip = q.after !== undefined ? Number(q.after) : 0
    if (!Number.isInteger(skip) || skip < 0) throw new ApiError(ErrorCode.InvalidParams, `params.after: ${JSON.stringify(q.after)} is not a cursor this listing returned`)
    const routes: RouteView[] = []
    const families: FamilyCount[] = []
    let seen = 0
    let more = false
    for (const family of s.rib.families()) {
      const fname = familyName(family)
      if (q.family !== undefined && q.family !== fname) continue
      const vpn = fname.startsWith('l3vpn-')
      let count = 0
      s.advertised(name, family, (prefix, attrs, label) => {
        count++
        if (!matchesQuery(q, prefix, vpn)) return
        if (seen++ < skip) return
        if (routes.length >= limit) { more = true; return }
        routes.push(routeView(fname, prefix, {
          peer: LOCAL_PEER, peerAddress: address, pathId: 0, ...(label !== undefined ? { label } : {}), attrId: -1, nextHop: attrs.nextHop, attrs: attrs.attrs, stale: false,
        }, { best: true, multipath: false, peerName: 'local' }))
      })
      families.push({ family: fname, destinations: count, paths: count })
    }
    return { families, routes, ...(more ? { next: String(skip + routes.length) } : {}) }
  }

  tunnels(): TunnelsView {
    // dataplane none: no link exists; the report says so (state missing) with what would be built
    const gre: TunnelsView['gre'] = this.d.gre?.links ?? this.d.config.tgw.connectPeers.map((cp) => ({
      peerId: cp.id, name: greLinkName(cp.id), state: 'missing' as const, inSync: false,
      addresses: cp.localInsideAddresses.map((a, i) => `${a}/${(cp.insideCidrBlocks[i] ?? '/29').split('/')[1] ?? ''}`),
      tgwPeers: [...cp.bgpPeerAddresses], mtu: null, local: this.d.config.nodeAddress, remote: cp.transitGatewayAddress,
    }))
    const st = this.d.fib.state()
    const probes = this.d.probeReport()
    return {
      gre,
      mplsoudp: st.tunnels.map((t) => ({ name: t.name, vrouter: t.vrouter, routes: t.routes, state: this.d.config.dataplane === 'none' ? 'missing' : 'up' })),
      ...(probes !== undefined ? { probes } : {}),
    }
  }

  /** State and counters, and one page of the desired routes: the listing visits the FIB port's
   * routes (whatever its storage) once, keeping only the page's worth in order (FibPageSelector),
   * and turns only those into views. */
  fib(q: FibQuery = {}): FibView {
    const state = this.d.fib.state()
    const counters = { ...this.d.fib.counters() }
    // One gateway table (today's configuration): its count is the FIB's, no walk needed
    const single = state.tables.length === 1 ? new Map([[(state.tables[0] as { table: number }).table, state.desiredRoutes]]) : undefined
    if (q.limit === 0 && single !== undefined) {
      // /metrics: state and counts only, at every scrape, whatever the FIB's size
      return { state, counters, routesByTable: state.tables.map((t) => ({ table: t.table, routes: single.get(t.table) ?? 0 })), routes: [] }
    }
    const perTable = new Map<number, number>()
    const pick = q.limit === 0 ? undefined : new FibPageSelector<DesiredRoute>(q)
    this.d.fib.visitDesired((r) => {
      perTable.set(r.table, (perTable.get(r.table) ?? 0) + 1)
      pick?.offer(r.table, r.prefix, r)
    })
    const chosen = pick?.page()
    // Only the page's routes become views
    const page = chosen === undefined ? { routes: [] } : {
      routes: chosen.items.map((r): FibRouteView => ({
        table: r.table, prefix: r.prefix,
        nexthops: r.nexthops.map((nh) => nh.kind === 'mpls'
          ? { kind: 'mpls' as const, via: nh.vrouter, label: nh.label, dev: tunnelName(nh.vrouter), weight: nh.weight ?? 1 }
          : { kind: 'gre' as const, via: nh.gateway, dev: nh.link, weight: nh.weight ?? 1 }),
      })),
      ...(chosen.next !== undefined ? { next: chosen.next } : {}),
    }
    return { state, counters, routesByTable: state.tables.map((t) => ({ table: t.table, routes: perTable.get(t.table) ?? 0 })), ...page }
  }

  config(): unknown {
    return this.d.config
  }

  gateway(): GatewayStatus {
    const g = this.d.gatewayStatus()
    return {
      tgwAdvertised: g.quota.advertised, tgwQuota: g.quota.limit, tgwRefused: [...g.quota.refusedPrefixes],
      tgwReceived: g.tgwRoutes, tgwReceivedCap: this.d.config.tgw.maxPrefixesReceived,
    }
  }

  async clearNeighbor(key: string, soft: boolean): Promise<ClearResult> {
    const p = this.d.peerList().find((x) => x.config.name === key || x.config.address === key)
    if (p === undefined) throw new Error(`no neighbor ${key}`)
    const s = this.speaker(p.side)
    if (soft) {
      const fams = (p.config.families ?? []) as readonly FamilyKey[]
      const sent = fams.filter((f) => s.refreshInbound(p.config.name, f))
      return { peer: p.config.address, soft, action: sent.length > 0 ? `route refresh sent for ${sent.map(familyName).join(', ')}` : 'session not established: nothing sent' }
    }
    const session = s.session(p.config.name)
    // Cease / Administrative Reset (RFC 4486), then connect again at once
    await session.stop('cleared by operator (gsictl clear bgp neighbor)', 4)
    session.start()
    return { peer: p.config.address, soft, action: 'session reset (Cease, administrative reset)' }
  }

  setLogLevel(level: string): string {
    const prev = this.level.get()
    this.level.set(level)
    return prev
  }
}

const tryParsePrefix = (text: string): ReturnType<typeof parsePrefix> | undefined => {
  try { return parsePrefix(text, 'prefix', { clearHostBits: true }) } catch { return undefined }
}

/** The IP prefix of a VPN prefix text `RD:prefix` (the RD is `asn:n` or `ip:n`: one colon). */
function ipPart(prefix: string): string {
  const first = prefix.indexOf(':')
  return prefix.slice(prefix.indexOf(':', first + 1) + 1)
}

/** Whether an advertised prefix (RIB text, `RD:prefix` for VPN) passes the query's RD and prefix filters. */
function matchesQuery(q: RouteQuery, prefix: string, vpn: boolean): boolean {
  if (q.rd !== undefined && !(vpn && prefix.startsWith(`${q.rd}:`))) return false
  if (q.prefix === undefined) return true
  const ip = vpn ? ipPart(prefix) : prefix
  if (q.prefix.includes('/')) return ip === q.prefix
  const p = tryParsePrefix(ip)
  const a = tryParseAddress(q.prefix)
  return p !== undefined && a !== undefined && prefixContains(p, a)
}
