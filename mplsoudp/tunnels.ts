/**
 * MPLS over UDP toward the vRouters, the kernel way (RFC 7510; docs/domain.md section 4): one ipip tunnel
 * in mplsip mode (IFLA_IPTUN_PROTO 137) with fou encapsulation (source port from the flow hash,
 * destination 6635) per remote vRouter. A tunnel exists while at least one route uses it: `TunnelRefs`
 * counts the next hops that reference each vRouter, so the FIB writer creates a tunnel before the
 * first route through it and removes it after the last one is gone.
 *
 * Tunnel names are derived from the vRouter's address (`gsim` + 8 hex digits), so a restarted daemon
 * finds its tunnels again without any state of its own, and never confuses them with links that are
 * not ours.
 */
import { canonicalAddress, parseAddress, parseIpv4Into } from '../src/lib/address.js'

/** An IPv4 address's canonical text; text that is no address at all says so rather than "not IPv4". */
const parseIpv4Address = (text: string, field: string): string => {
  const a = parseAddress(text, field)
  return a.family === 4 ? a.text : canonicalAddress(text, field, 4)
}

/** Name prefix of every mplsip tunnel we create. */
export const TUNNEL_PREFIX = 'gsim'
/** IANA UDP port for MPLS-in-UDP (RFC 7510). */
export const MPLSOUDP_PORT = 6635
/** IP protocol number of MPLS-in-IP (RFC 4023), what fou hands decapsulated packets to. */
export const IPPROTO_MPLS = 137

/** An mplsip tunnel with fou encapsulation toward one vRouter. */
export interface TunnelLink {
  readonly name: string
  /** Our node address (outer source). */
  readonly local: string
  /** The vRouter (outer destination). */
  readonly remote: string
  readonly ttl: number
  /** fou destination port (6635). The source port is always 0: the kernel picks it from the flow hash. */
  readonly encapDport: number
  readonly up: boolean
}

/** The tunnel's name toward `vrouter` (an IPv4 address): `gsim0a000102` for 10.0.1.2. */
export function tunnelName(vrouter: string): string {
  const b = new Uint8Array(4)
  if (typeof vrouter !== 'string' || !parseIpv4Into(vrouter, b, 0)) throw new Error(`vrouter: "${String(vrouter)}" is not an IPv4 address (MPLSoUDP tunnels are IPv4)`)
  return TUNNEL_PREFIX + Array.from(b, x => x.toString(16).padStart(2, '0')).join('')
}

/** The vRouter address a tunnel name stands for, or undefined when the name is not one of ours. */
export function tunnelRemote(name: string): string | undefined {
  const m = /^gsim([0-9a-f]{8})$/.exec(name)
  if (!m) return undefined
  const n = parseInt(m[1] as string, 16)
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`
}

export function isTunnelName(name: string): boolean {
  return tunnelRemote(name) !== undefined
}

/** The tunnel we want toward `vrouter`. */
export function tunnelSpec(vrouter: string, local: string, ttl = 64, dport = MPLSOUDP_PORT): Omit<TunnelLink, 'up'> {
  const remote = parseIpv4Address(vrouter, 'vrouter')
  return { name: tunnelName(remote), local: parseIpv4Address(local, 'localAddress'), remote, ttl, encapDport: dport }
}

/**
 * Reference counts of vRouters by the routes that use them. `add`/`remove` return true when the
 * count crosses zero (a tunnel must be created / may be removed).
 */
export class TunnelRefs {
  private readonly counts = new Map<string, number>()

  add(vrouter: string): boolean {
    const n = (this.counts.get(vrouter) ?? 0) + 1
    this.counts.set(vrouter, n)
    return n === 1
  }

  remove(vrouter: string): boolean {
    const n = this.counts.get(vrouter)
    if (n === undefined) throw new Error(`TunnelRefs: vRouter ${vrouter} released more often than acquired`)
    if (n === 1) { this.counts.delete(vrouter); return true }
    this.counts.set(vrouter, n - 1)
    return false
  }

  count(vrouter: string): number {
    return this.counts.get(vrouter) ?? 0
  }

  /** vRouters with at least one reference. */
  vrouters(): IterableIterator<string> {
    return this.counts.keys()
  }

  get size(): number {
    return this.counts.size
  }
}

/** What the tunnels need to change: create the missing wanted ones (or fix those that differ), delete
 * ours that nothing wants. */
export function planTunnels(
  wanted: ReadonlyMap<string, Omit<TunnelLink, 'up'>>,
  actual: readonly TunnelLink[],
): { ensure: Omit<TunnelLink, 'up'>[]; remove: string[] } {
  const byName = new Map(actual.map(t => [t.name, t]))
  const ensure: Omit<TunnelLink, 'up'>[] = []
  for (const spec of wanted.values()) {
    const a = byName.get(spec.name)
    if (!a || !a.up || a.local !== spec.local || a.remote !== spec.remote || a.ttl !== spec.ttl || a.encapDport !== spec.encapDport) ensure.push(spec)
  }
  const remove = actual.filter(t => isTunnelName(t.name) && !wanted.has(t.name)).map(t => t.name)
  return { ensure, remove }
}
