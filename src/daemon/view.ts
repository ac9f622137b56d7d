/**
 * The running daemon as gsictl, /metrics and /readyz see it: `DaemonView` (src/api/view.ts)
 * implemented over the GatewayDaemon's two speakers, their RIBs and Adj-RIBs-Out, the FIB, the GRE
 * links and the gateway logic.
 *
 * Cheap where it is called often (status, peers, counts: state already at hand); route listings walk
 * a table and are paged (`limit`, `after` = how many matching paths the previous pages held).
 */
import { familyName, type FamilyKey } from '../../bgp/codec/afi.js'
import { LOCAL_PEER, type RouteEntry } from '../../bgp/rib/index.js'
import type { BgpSpeaker } from '../../bgp/speaker/speaker.js'
import { greLinkName } from '../../gre/index.js'
import {
  DEFAULT_ROUTE_PAGE, MAX_ROUTE_PAGE, routeView, type ClearResult, type DaemonStatus, type DaemonView, type FamilyCount, type FibView,
  type GatewayStatus, type PeerView, type RoutePage, type RouteQuery, type RouteView, type TunnelsView,
} from '../api/view.js'
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
    return this.d.peerList().map((p) => ({ ...this.speaker(p.side).peerStats(p.config.name), side: p.side }))
  }

  /** Peer id -> configured name, per speaker (for the route listing). */
  private names(side: Side): Map<number, string> {
    const s = this.speaker(side)
    const m = new Map<number, string>([[LOCAL_PEER, 'local']])
    for (const p of this.d.peerList()) if (p.side === side) m.set(s.peerId(p.config.name), p.config.name)
    return m
  }

  routes(q: RouteQuery): RoutePage {
    const limit = Math.min(q.limit ?? DEFAULT_ROUTE_PAGE, MAX_ROUTE_PAGE)
    const skip = q.after !== undefined ? Number(q.after) : 0
    const routes: RouteView[] = []
    const families: FamilyCount[] = []
    let seen = 0
    let more = false
    const peer = q.peer !== undefined ? this.d.peerList().find((p) => p.config.address === q.peer || p.config.name === q.peer) : undefined
    const sides: Side[] = peer !== undefined ? [peer.side] : ['cn2', 'tgw']
    const matches = (prefix: string, vpn: boolean): boolean => {
      if (q.rd !== undefined && !(vpn && prefix.startsWith(`${q.rd}:`))) return false
      if (q.prefix === undefined) return true
      const ip = vpn ? ipPart(prefix) : prefix
      return q.prefix.includes('/') ? ip === q.prefix : prefixHolds(ip, q.prefix)
    }
    const take = (v: RouteView): void => {
      if (seen++ < skip) return
      if (routes.length < limit) routes.push(v)
      else more = true
    }
    for (const side of sides) {
      const s = this.speaker(side)
      const names = this.names(side)
      for (const family of s.rib.families()) {
        const name = familyName(family)
        if (q.family !== undefined && q.family !== name) continue
        const table = s.rib.table(family)
        const vpn = name.startsWith('l3vpn-')
        let paths = 0
        if ((q.view ?? 'best') === 'best') {
          table.forEachBest((d) => {
            const mp = table.multipath(d)
            paths += mp.length
            const prefix = table.prefixText(d)
            if (!matches(prefix, vpn)) return
            mp.forEach((e: RouteEntry, i) => {
              if (peer !== undefined && e.peerAddress !== peer.config.address) return
              take(routeView(name, prefix, e, { best: i === 0, multipath: true, peerName: names.get(e.peer) ?? String(e.peer) }))
            })
          })
          families.push({ family: name, destinations: table.size, paths })
        } else if (q.view === 'received' && peer !== undefined) {
          let count = 0
          s.rib.adjRibIn(s.peerId(peer.config.name), family, (r, received, accepted, stale) => {
            count++
            if (!matches(r.prefix, vpn)) return
            take(routeView(name, r.prefix, {
              peer: r.peer, peerAddress: peer.config.address, pathId: r.pathId, ...(r.label !== undefined ? { label: r.label } : {}),
              attrId: -1, nextHop: (accepted ?? received).nextHop, attrs: (accepted ?? received).attrs, stale,
            }, { best: false, multipath: false, peerName: peer.config.name, rejected: accepted === undefined }))
          })
          families.push({ family: name, destinations: count, paths: count })
        } else if (q.view === 'advertised' && peer !== undefined) {
          let count = 0
          s.advertised(peer.config.name, family, (prefix, attrs, label) => {
            count++
            if (!matches(prefix, vpn)) return
            take(routeView(name, prefix, {
              peer: LOCAL_PEER, peerAddress: '', pathId: 0, ...(label !== undefined ? { label } : {}), attrId: -1, nextHop: attrs.nextHop, attrs: attrs.attrs, stale: false,
            }, { best: true, multipath: false, peerName: 'local' }))
          })
          families.push({ family: name, destinations: count, paths: count })
        }
      }
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
    return {
      gre,
      mplsoudp: st.tunnels.map((t) => ({ name: t.name, vrouter: t.vrouter, routes: t.routes, state: this.d.config.dataplane === 'none' ? 'missing' : 'up' })),
    }
  }

  fib(): FibView {
    const state = this.d.fib.state()
    return { state, counters: { ...this.d.fib.counters() }, routesByTable: state.tables.map((t) => ({ table: t.table, routes: state.desiredRoutes })) }
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

/** Whether `prefix` (CIDR text from the RIB) holds the address `addr` (the query's, validated). */
function prefixHolds(prefix: string, addr: string): boolean {
  const p = tryParsePrefix(prefix)
  const a = tryParseAddress(addr)
  return p !== undefined && a !== undefined && prefixContains(p, a)
}
