/**
 * DaemonReport: everything `gsictl doctor` needs to know of one running gsi-routerd, in one JSON
 * answer, so the doctor asks each node once whichever way it reaches it: the local API
 * (`show.report`, on the node) or the HTTP endpoint (`GET /status` on 9478, from a laptop).
 *
 * Built from cheap view calls only (it answers on the daemon's event loop): the summary, the GRE
 * report, the FIB's per-table counts, the gateway's quota figures, what went to each TGW session (at
 * most the quota, 1,000 prefixes), one page of the VPN tables to count the exposed route targets'
 * routes, and the data-plane probes' report. No secrets: the running config contributes only its
 * exposed route targets and CIDRs.
 */
import type { GreLinkReport } from '../../gre/reconcile.js'
import { peerSummary, type PeerSummary } from './handlers.js'
import { MAX_ROUTE_PAGE, type DaemonStatus, type DaemonView, type GatewayStatus, type ProbeReport } from './view.js'

export interface DaemonReport {
  readonly status: DaemonStatus
  readonly peers: readonly PeerSummary[]
  readonly gateway: GatewayStatus
  /** One GRE link per Connect peer ('missing' with dataplane none: nothing is programmed). */
  readonly gre: readonly GreLinkReport[]
  /** Routes the FIB holds per gateway table (computed even with dataplane none). */
  readonly gatewayTables: readonly { readonly table: number; readonly routes: number }[]
  /** What the running config exposes (after the last reload). */
  readonly exposed: { readonly routeTargets: readonly string[]; readonly cidrs: readonly string[] }
  /** Per exposed route target: VPN routes learned from the control nodes that carry it. `capped`
   * when the VPN tables held more than one page (the counts are then lower bounds). */
  readonly importedByRouteTarget: readonly { readonly routeTarget: string; readonly routes: number }[]
  readonly importedCapped: boolean
  /** Per TGW peer: the prefixes in its Adj-RIB-Out. */
  readonly advertisedToTgw: readonly { readonly peer: string; readonly prefixes: readonly string[] }[]
  /** The data-plane probes (ICMP and ICMPv6) and each Connect peer's data plane per IP version;
   * absent from daemons without them. */
  readonly probes?: ProbeReport
}

const VPN_FAMILIES = ['l3vpn-ipv4-unicast', 'l3vpn-ipv6-unicast'] as const

/** `target:64512:7` and `rt:64512:7` are one route target; the codec prints the second form. */
export function routeTargetKey(rt: string): string {
  return rt.trim().toLowerCase().replace(/^(target|rt):/, '')
}

function exposedOf(config: unknown): { routeTargets: string[]; cidrs: string[] } {
  const e = (config as { exposed?: { routeTargets?: unknown; cidrs?: unknown } } | null)?.exposed
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])
  return { routeTargets: strings(e?.routeTargets), cidrs: strings(e?.cidrs) }
}

export function daemonReport(view: DaemonView): DaemonReport {
  const status = view.status()
  const peers = view.peers()
  const exposed = exposedOf(view.config())
  const counts = new Map(exposed.routeTargets.map((rt) => [routeTargetKey(rt), 0]))
  let capped = false
  for (const family of VPN_FAMILIES) {
    let page
    try {
      page = view.routes({ family, limit: MAX_ROUTE_PAGE })
    } catch {
      continue // family not configured on this daemon
    }
    if (page.next !== undefined) capped = true
    for (const r of page.routes) {
      if (!r.best || r.peer === 'local') continue // re-originated TGW routes carry the exposed targets too
      for (const ec of r.extCommunities) {
        const k = routeTargetKey(ec)
        const n = counts.get(k)
        if (n !== undefined) counts.set(k, n + 1)
      }
    }
  }
  const advertisedToTgw = peers.filter((p) => p.side === 'tgw').map((p) => {
    const prefixes = view.routes({ view: 'advertised', peer: p.address, limit: MAX_ROUTE_PAGE }).routes.map((r) => r.prefix)
    return { peer: p.address, prefixes }
  })
  const fib = view.fib({ limit: 0 }) // counts only, no route listing
  const tunnels = view.tunnels()
  return {
    status,
    peers: peers.map(peerSummary),
    gateway: view.gateway(),
    gre: tunnels.gre,
    gatewayTables: fib.routesByTable,
    exposed,
    importedByRouteTarget: exposed.routeTargets.map((rt) => ({ routeTarget: rt, routes: counts.get(routeTargetKey(rt)) ?? 0 })),
    importedCapped: capped,
    advertisedToTgw,
    ...(tunnels.probes !== undefined ? { probes: tunnels.probes } : {}),
  }
}
