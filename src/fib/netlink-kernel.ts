/**
 * The FIB writer's, gre/'s and cleanup's kernel ports (`FibKernel`, `GreKernel`, `CleanupKernel`)
 * over the project's own netlink layer (src/netlink: rtnetlink RFC 3549, generic netlink fou,
 * batched requests with per-request errors). This is the production implementation; it works in the
 * network namespace of the calling process (netlink sockets belong to the namespace that opened them).
 *
 * Route events come from the rtnetlink multicast groups; their next hops carry interface indexes,
 * named here from a link table kept current by link events.
 */
import type { GreKernel } from '../../gre/index.js'
import type { GreLinkSpec } from '../../gre/config.js'
import type { GreLinkState } from '../../gre/reconcile.js'
import { IPPROTO_MPLS } from '../../mplsoudp/tunnels.js'
import type { TunnelLink } from '../../mplsoudp/tunnels.js'
import {
  getMplsPlatformLabels, NetlinkClient, NetlinkError, setMplsInput, setMplsPlatformLabels, setRpFilter, watchKernel,
} from '../netlink/index.js'
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
  private names = new Map<number, string>()

  constructor(nl?: NetlinkClient) {
    this.nl = nl ?? new NetlinkClient()
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
        if (r.nexthops.some(h => h.oif !== undefined && !this.names.has(h.oif))) await this.links().catch(() => undefined)
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

  async listTunnels(prefix: string): Promise<TunnelLink[]> {
    return (await this.links()).filter(l => l.kind === 'ipip' && l.name.startsWith(prefix)).map(l => ({
      name: l.name, local: l.ipip?.local ?? '', remote: l.ipip?.remote ?? '', ttl: l.ipip?.ttl ?? 0,
      encapDport: l.ipip?.mode === 'mplsip' && l.ipip.encap?.type === 'fou' ? l.ipip.encap.dport : 0, up: l.up,
    }))
  }

  async ensureTunnel(t: Omit<TunnelLink, 'up'>): Promise<void> {
    const have = await this.nl.getLink(t.name)
    const i = have?.ipip
    const good = have !== undefined && have.kind === 'ipip' && i !== undefined && i.mode === 'mplsip' && i.local === t.local && i.remote === t.remote
      && i.ttl === t.ttl && i.encap?.type === 'fou' && i.encap.dport === t.encapDport
    if (have && !good) await this.nl.deleteLink(t.name)
    if (!good) {
      await this.nl.createLink({ name: t.name, kind: 'ipip', ipip: { mode: 'mplsip', local: t.local, remote: t.remote, ttl: t.ttl, encap: { type: 'fou', sport: 0, dport: t.encapDport } } })
    }
    // MPLS input on the tunnel (labelled packets come back over it); no reverse-path filter: with
    // ECMP, replies may arrive over another tunnel than the route's.
    await setMplsInput(t.name, true)
    await setRpFilter(t.name, 0)
    await this.nl.setLinkUp(t.name, true)
  }

  async ensureMplsoudpListener(port: number, platformLabels: number): Promise<void> {
    let current: number
    try {
      current = await getMplsPlatformLabels()
    } catch (e) {
      throw new Error(`net.mpls.platform_labels: ${(e as Error).message}: kernel module mpls_router is missing (modprobe mpls_router)`)
    }
    if (current < platformLabels) await setMplsPlatformLabels(platformLabels)
    try {
      await this.nl.addFou({ port, ipproto: IPPROTO_MPLS })
    } catch (e) {
      // A listener already on the port answers EADDRINUSE (Linux 6.1), EEXIST on some kernels. Our
      // netlink layer has no fou dump to check its protocol: the port is the one RFC 7510 assigns to
      // MPLS, so a listener there is taken to be ours (a previous run's).
      if (!(e instanceof NetlinkError && (e.code === 'EEXIST' || e.code === 'EADDRINUSE'))) throw e
    }
  }

  async removeMplsoudpListener(port: number): Promise<boolean> {
    try { await this.nl.deleteFou({ port, ipproto: IPPROTO_MPLS }); return true } catch { return false }
  }

  // ---- GRE -------------------------------------------------------------------------------------

  async listGreLinks(): Promise<GreLinkState[]> {
    const links = await this.links()
    const gre = links.filter(l => l.kind === 'gre' || l.name.startsWith('gsig'))
    if (gre.length === 0) return []
    const addrs = await this.nl.listAddresses()
    return gre.map(l => {
      const s: GreLinkState = {
        name: l.name, kind: l.kind ?? '', local: l.gre?.local ?? '', remote: l.gre?.remote ?? '', ttl: l.gre?.ttl ?? 0,
        ikey: l.gre?.ikey ?? 0, okey: l.gre?.okey ?? 0, mtu: l.mtu ?? 0, up: l.up, running: l.lowerUp,
        addresses: addrs.filter(a => a.index === l.index).map(a => `${a.address}/${a.prefixLength}`),
      }
      const master = l.master !== undefined ? this.names.get(l.master) : undefined
      return master !== undefined ? { ...s, master } : s
    })
  }

  async createGre(spec: GreLinkSpec): Promise<void> {
    await this.nl.createLink({ name: spec.name, kind: 'gre', gre: { local: spec.local, remote: spec.remote, ttl: spec.ttl } })
  }

  /** Recreates the link with everything the spec says (keys cannot be cleared in place). */
  async changeGre(spec: GreLinkSpec): Promise<void> {
    await this.nl.deleteLink(spec.name)
    await this.nl.createLink({ name: spec.name, kind: 'gre', gre: { local: spec.local, remote: spec.remote, ttl: spec.ttl }, mtu: spec.mtu, ...(spec.vrf !== undefined ? { master: spec.vrf } : {}) })
    for (const a of spec.addresses) await this.nl.addAddress({ dev: spec.name, address: a })
    await this.nl.setLinkUp(spec.name, true)
  }

  async setMtu(name: string, mtu: number): Promise<void> {
    await this.nl.changeLink(name, { mtu })
  }

  async setMaster(name: string, master: string | null): Promise<void> {
    await this.nl.changeLink(name, { master })
  }

  async setUp(name: string): Promise<void> {
    await this.nl.setLinkUp(name, true)
  }

  async addAddress(name: string, cidr: string): Promise<void> {
    await this.nl.addAddress({ dev: name, address: cidr })
  }

  async delAddress(name: string, cidr: string): Promise<void> {
    await this.nl.deleteAddress({ dev: name, address: cidr })
  }
}
