/**
 * mplsoudp/'s kernel objects over the project's netlink layer (src/netlink): the mplsip tunnels
 * (kind "ipip", IFLA_IPTUN_PROTO 137, RFC 4023) with fou encapsulation toward each vRouter
 * (RFC 7510, UDP 6635), their per-device sysctls, and the fou listener (generic netlink "fou").
 * Works in the network namespace of the calling process.
 *
 * A tunnel whose local address, TTL or fou port differs is changed in place (RTM_NEWLINK on its
 * ifindex), so the routes through it stay; only a link of another kind or mode under our name is
 * deleted and created again, and the caller is told so (`recreated`), because the kernel removed the
 * routes through the old link with it.
 */
import { existsSync } from 'node:fs'
import { getMplsPlatformLabels, NetlinkError, setMplsInput, setMplsPlatformLabels, setRpFilter, setSysctl } from '../src/netlink/index.js'
import type { IpipParams, NetlinkClient } from '../src/netlink/index.js'
import { IPPROTO_MPLS } from './tunnels.js'
import type { TunnelLink } from './tunnels.js'

const NO_LISTENER = new Set(['ENOENT', 'ESRCH', 'EINVAL', 'EOPNOTSUPP'])

/** What `ensureTunnel` had to do. */
export type TunnelOutcome = 'unchanged' | 'created' | 'changed' | 'recreated'

function params(t: Omit<TunnelLink, 'up'>): IpipParams {
  return { mode: 'mplsip', local: t.local, remote: t.remote, ttl: t.ttl, encap: { type: 'fou', sport: 0, dport: t.encapDport } }
}

export class NetlinkTunnels {
  constructor(private readonly nl: NetlinkClient) {}

  /** ipip tunnels whose name starts with `prefix` (their mode and fou port as the kernel holds them). */
  async listTunnels(prefix: string): Promise<TunnelLink[]> {
    return (await this.nl.listLinks()).filter(l => l.kind === 'ipip' && l.name.startsWith(prefix)).map(l => ({
      name: l.name, local: l.ipip?.local ?? '', remote: l.ipip?.remote ?? '', ttl: l.ipip?.ttl ?? 0,
      encapDport: l.ipip?.mode === 'mplsip' && l.ipip.encap?.type === 'fou' ? l.ipip.encap.dport : 0, up: l.up,
    }))
  }

  /** Creates the tunnel, or corrects it in place; sets MPLS input on and rp_filter off on it and
   * brings it up. */
  async ensureTunnel(t: Omit<TunnelLink, 'up'>): Promise<TunnelOutcome> {
    const have = await this.nl.getLink(t.name)
    const i = have?.ipip
    let outcome: TunnelOutcome = 'unchanged'
    if (have === undefined) {
      await this.nl.createLink({ name: t.name, kind: 'ipip', ipip: params(t) })
      outcome = 'created'
    } else if (have.kind !== 'ipip' || i === undefined || i.mode !== 'mplsip' || i.remote === undefined) {
      // Another kind, another mode or no remote (not point-to-point): the kernel cannot turn it
      // into our tunnel in place.
      await this.nl.deleteLink(t.name)
      await this.nl.createLink({ name: t.name, kind: 'ipip', ipip: params(t) })
      outcome = 'recreated'
    } else if (i.local !== t.local || i.remote !== t.remote || i.ttl !== t.ttl || i.encap?.type !== 'fou' || i.encap.dport !== t.encapDport) {
      try {
        await this.nl.changeLink(t.name, { kind: 'ipip', ipip: params(t) })
        outcome = 'changed'
      } catch (e) {
        // EINVAL / EOPNOTSUPP: the kernel will not make this change in place; a new link takes it.
        if (!(e instanceof NetlinkError && (e.code === 'EINVAL' || e.code === 'EOPNOTSUPP'))) throw e
        await this.nl.deleteLink(t.name)
        await this.nl.createLink({ name: t.name, kind: 'ipip', ipip: params(t) })
        outcome = 'recreated'
      }
    }
    // MPLS input on the tunnel (labelled packets come back over it); no reverse-path filter: with
    // ECMP, replies may arrive over another tunnel than the route's.
    await setMplsInput(t.name, true)
    await setRpFilter(t.name, 0)
    // No IPv6 link-local address on the tunnel (addr_gen_mode 1 = none, set before it goes up): the
    // kernel would otherwise add an fe80::/64 route for it to the node's main table, which is not ours
    // to change. IPv6 stays enabled on it, so IPv6 pod routes still leave through it.
    // (A node without IPv6 has no /proc/sys/net/ipv6 at all: nothing to prevent there.)
    if (existsSync('/proc/sys/net/ipv6/conf')) await setSysctl(['net', 'ipv6', 'conf', t.name, 'addr_gen_mode'], 1)
    await this.nl.setLinkUp(t.name, true)
    return outcome
  }

  /** fou listener for IP protocol 137 on `port`, and net.mpls.platform_labels >= `platformLabels`. */
  async ensureMplsoudpListener(port: number, platformLabels: number): Promise<void> {
    let current: number
    try {
      current = await getMplsPlatformLabels()
    } catch (e) {
      throw new Error(`net.mpls.platform_labels: ${(e as Error).message}: kernel module mpls_router is missing (modprobe mpls_router)`, { cause: e })
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

  /** Removes the fou listener; false when there was none, any other failure throws. */
  async removeMplsoudpListener(port: number): Promise<boolean> {
    try {
      await this.nl.deleteFou({ port, ipproto: IPPROTO_MPLS })
      return true
    } catch (e) {
      // fou answers EINVAL for a port it does not listen on (Linux 6.1 fou_destroy); without the fou
      // module (EOPNOTSUPP from the family lookup) there is no listener either.
      if (e instanceof NetlinkError && NO_LISTENER.has(e.code)) return false
      throw e
    }
  }
}
