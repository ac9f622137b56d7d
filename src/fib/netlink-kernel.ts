/**
 * The FIB writer's, gre/'s and cleanup's kernel ports (`FibKernel`, `GreKernel`, `CleanupKernel`)
 * over the project's own netlink layer (src/netlink: rtnetlink RFC 3549, batched requests with
 * per-request errors). This is the one production implementation; it works in the network namespace
 * of the calling process (netlink sockets belong to the namespace that opened them).
 *
 * Routes, AF_MPLS routes and VRFs are the FIB's own; the GRE links and the mplsip tunnels with their
 * fou listener belong to gre/ (gre/netlink-gre.ts) and mplsoudp/ (mplsoudp/netlink-tunnels.ts), which
 * this port hands on to over the same netlink socket.
 *
 * Route events come from the rtnetlink multicast groups; their next hops carry interface indexes,
 * named here from a link table kept current by link events.
 */
import type { GreKernel } from '../../gre/index.js'
import type { GreLinkSpec } from '../../gre/config.js'
import { NetlinkGre } from '../../gre/netlink-gre.js'
import type { GreLinkState } from '../../gre/reconcile.js'
import { NetlinkTunnels } from '../../mplsoudp/netlink-tunnels.js'
import type { TunnelOutcome } from '../../mplsoudp/netlink-tunnels.js'
import type { TunnelLink } from '../../mplsoudp/tunnels.js'
import { NetlinkClient, watchKernel } from '../netlink/index.js'
import type { LinkInfo, RouteInfo, RouteSpec } from '../netlink/index.js'
import type { CleanupKernel } from './cleanup.js'
import type { FibKernel, KernelLabelRoute, KernelNextHop, KernelRoute, LabelOp, RouteEvent, RouteOp, VrfLink } from './types.js'

const NOT_OURS_TABLES = new Set([253, 254, 255])

function toSpec(r: KernelRoute): RouteSpec {
  return {
    dst: r.prefix, table: r.table, protocol: r.protocol, metric: r.metric,
    nexthops: r.nexthops.map(h => ({
      dev: h.dev,
      ...(h.gateway !== undefined ? { gateway: h.gateway } : {}),
      ...(h.labels !== undefined ? { labels: h.labels } : {}),
      ...(r.nexthops.length > 1 ? { weight: h.weight } : {}),
    })),
  }
}

function fromInfo(r: RouteInfo, name: (oif: number | undefined, dev: string | undefined) => string): KernelRoute {
  return {
    family: r.family, table: r.table, prefix: r.dst, protocol: r.protocol, metric: r.metric,
    nexthops: r.nexthops.map(h => {
      const k: { dev: string; gateway?: string; labels?: number[]; weight: number } = { dev: name(h.oif, h.dev), weight: r.nexthops.length > 1 ? h.weight : 1 }
      if (h.gateway !== undefined) k.gateway = h.gateway
      if (h.labels !== undefined && h.labels.length > 0) k.labels = [...h.labels]
      return k as KernelNextHop
    }),
  }
}

export class NetlinkKernel implements FibKernel, GreKernel, CleanupKernel {
  readonly nl: NetlinkClient
  readonly gre: NetlinkGre
  readonly tunnels: NetlinkTunnels
  private names = new Map<number, string>()

  constructor(nl?: NetlinkClient) {
    this.nl = nl ?? new NetlinkClient()
    this.gre = new NetlinkGre(this.nl)
    this.tunnels = new NetlinkTunnels(this.nl)
  }

  close(): void {
    this.nl.close()
  }

  private async links(): Promise<LinkInfo[]> {
    const ls = await this.nl.listLinks()
    this.names = new Map(ls.map(l => [l.index, l.name]))
    return ls
  }

  // ---- routes ----------------------------------------------------------------------------------

  async dumpRoutes(protocol: number): Promise<KernelRoute[]> {
    const rs = await this.nl.dumpRoutes({ protocol })
    return rs.filter(r => !NOT_OURS_TABLES.has(r.table) && r.type === 'unicast')
      .map(r => fromInfo(r, (oif, dev) => dev ?? `#${oif ?? 0}`))
  }

  applyRoutes(ops: readonly RouteOp[]): Promise<(Error | undefined)[]> {
    return this.nl.applyRoutes(ops.map(op => op.op === 'delete'
      ? { op: 'delete' as const, route: { dst: op.route.prefix, table: op.route.table, protocol: op.route.protocol, metric: op.route.metric } }
      : { op: op.op, route: toSpec(op.route) }))
  }

  async dumpLabelRoutes(protocol: number): Promise<KernelLabelRoute[]> {
    const rs = await this.nl.dumpMplsRoutes({ protocol })
    return rs.map(r => ({ label: r.label, protocol: r.protocol, dev: r.nexthops[0]?.dev ?? '' }))
  }

  applyLabelRoutes(ops: readonly LabelOp[]): Promise<(Error | undefined)[]> {
    return this.nl.applyMplsRoutes(ops.map(op => op.op === 'delete'
      ? { op: 'delete' as const, route: { label: op.route.label, protocol: op.route.protocol } }
      : { op: op.op, route: { label: op.route.label, protocol: op.route.protocol, nexthops: [{ dev: op.route.dev }] } }))
  }

  watchRoutes(onEvent: (ev: RouteEvent) => void, onError: (err: Error) => void): () => void {
    // Events are handled in order; one whose next hop names an unknown ifindex waits for a link
    // table refresh (the link event may not have been seen yet).
    let chain: Promise<void> = this.links().then(() => undefined, e => onError(e as Error))
    const stop = watchKernel(['link', 'ipv4-route', 'ipv6-route'], ev => {
      if (ev.kind === 'link') {
        if (ev.action === 'new') this.names.set(ev.link.index, ev.link.name)
        else this.names.delete(ev.link.index)
        return
      }
      if (ev.kind !== 'route') return
      const r = ev.route
      chain = chain.then(async () => {
        // A failed refresh is reported, and the event still goes out with the index as its name.
        if (r.nexthops.some(h => h.oif !== undefined && !this.names.has(h.oif))) await this.links().catch(e => onError(e as Error))
        onEvent({ type: ev.action, route: fromInfo(r, oif => this.names.get(oif ?? 0) ?? `#${oif ?? 0}`) })
      }).catch(e => onError(e as Error))
    }, onError)
    return stop
  }

  // ---- links -----------------------------------------------------------------------------------

  async listVrfs(prefix: string): Promise<VrfLink[]> {
    return (await this.links()).filter(l => l.kind === 'vrf' && l.name.startsWith(prefix)).map(l => ({ name: l.name, table: l.vrf?.table ?? 0, up: l.up }))
  }

  async ensureVrf(name: string, table: number): Promise<void> {
    const have = await this.nl.getLink(name)
    const good = have !== undefined && have.kind === 'vrf' && have.vrf?.table === table
    if (have && !good) await this.nl.deleteLink(name)
    if (!good) await this.nl.createLink({ name, kind: 'vrf', vrf: { table }, up: true })
    else if (!have.up) await this.nl.setLinkUp(name, true)
  }

  async deleteLink(name: string): Promise<void> {
    await this.nl.deleteLink(name)
  }

  async listLinkNames(prefixes: readonly string[]): Promise<string[]> {
    return (await this.links()).map(l => l.name).filter(n => prefixes.some(p => n.startsWith(p)))
  }

  // ---- mplsoudp/'s tunnels and listener, gre/'s links ------------------------------------------

  listTunnels(prefix: string): Promise<TunnelLink[]> { return this.tunnels.listTunnels(prefix) }
  ensureTunnel(t: Omit<TunnelLink, 'up'>): Promise<TunnelOutcome> { return this.tunnels.ensureTunnel(t) }
  ensureMplsoudpListener(port: number, platformLabels: number): Promise<void> { return this.tunnels.ensureMplsoudpListener(port, platformLabels) }
  removeMplsoudpListener(port: number): Promise<boolean> { return this.tunnels.removeMplsoudpListener(port) }

  listGreLinks(): Promise<GreLinkState[]> { return this.gre.listGreLinks() }
  createGre(spec: GreLinkSpec): Promise<void> { return this.gre.createGre(spec) }
  changeGre(spec: GreLinkSpec): Promise<void> { return this.gre.changeGre(spec) }
  setMtu(name: string, mtu: number): Promise<void> { return this.gre.setMtu(name, mtu) }
  setMaster(name: string, master: string | null): Promise<void> { return this.gre.setMaster(name, master) }
  setUp(name: string): Promise<void> { return this.gre.setUp(name) }
  addAddress(name: string, cidr: string): Promise<void> { return this.gre.addAddress(name, cidr) }
  delAddress(name: string, cidr: string): Promise<void> { return this.gre.delAddress(name, cidr) }
}
