/**
 * gre/'s kernel port (`GreKernel`) over the project's netlink layer (src/netlink: rtnetlink,
 * RFC 3549; GRE links are RFC 2784 tunnels of kind "gre", IFLA_INFO_DATA carrying IFLA_GRE_*).
 * Works in the network namespace of the calling process.
 *
 * A change of a link's tunnel parameters (local, remote, TTL, keys) is one RTM_NEWLINK on the
 * existing ifindex, without NLM_F_CREATE|NLM_F_EXCL: the link keeps its ifindex, its addresses, its
 * VRF and every route through it, so the BGP sessions over it never notice. The kernel refuses a few
 * changes in place (EINVAL: a link created without a remote is not point-to-point, and a change may
 * not turn it into one); `changeGre` then throws, and gre/index.ts recreates the link.
 */
import type { NetlinkClient } from '../src/netlink/index.js'
import type { GreLinkSpec } from './config.js'
import type { GreKernel } from './index.js'
import type { GreLinkState } from './reconcile.js'
import { GRE_PREFIX } from './config.js'

export class NetlinkGre implements GreKernel {
  constructor(private readonly nl: NetlinkClient) {}

  async listGreLinks(): Promise<GreLinkState[]> {
    const links = await this.nl.listLinks()
    const gre = links.filter(l => l.kind === 'gre' || l.name.startsWith(GRE_PREFIX))
    if (gre.length === 0) return []
    const names = new Map(links.map(l => [l.index, l.name]))
    const addrs = await this.nl.listAddresses()
    return gre.map(l => {
      const s: GreLinkState = {
        name: l.name, kind: l.kind ?? '', local: l.gre?.local ?? '', remote: l.gre?.remote ?? '', ttl: l.gre?.ttl ?? 0,
        ikey: l.gre?.ikey ?? 0, okey: l.gre?.okey ?? 0, mtu: l.mtu ?? 0, up: l.up, running: l.lowerUp,
        addresses: addrs.filter(a => a.index === l.index).map(a => `${a.address}/${a.prefixLength}`),
        index: l.index,
      }
      const master = l.master !== undefined ? names.get(l.master) : undefined
      return master !== undefined ? { ...s, master } : s
    })
  }

  async createGre(spec: GreLinkSpec): Promise<void> {
    await this.nl.createLink({ name: spec.name, kind: 'gre', gre: { local: spec.local, remote: spec.remote, ttl: spec.ttl } })
  }

  /**
   * In place: RTM_NEWLINK on the existing link with IFLA_INFO_KIND gre and the whole IFLA_INFO_DATA.
   * The kernel takes the data as the complete new parameters, so keys we do not send are cleared.
   * IFLA_MTU goes with it, or the kernel would recompute the MTU from the new route to the remote.
   */
  async changeGre(spec: GreLinkSpec): Promise<void> {
    await this.nl.changeLink(spec.name, { kind: 'gre', gre: { local: spec.local, remote: spec.remote, ttl: spec.ttl }, mtu: spec.mtu })
  }

  async deleteLink(name: string): Promise<void> {
    await this.nl.deleteLink(name)
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
