/**
 * Speaker and peer configuration: the types the daemon fills from its config file, their defaults,
 * and validation with errors that name the field and the reason (checked once, at addPeer).
 *
 * Defaults and why:
 * - holdTime 90 s (CN2 control nodes' default and the common one; the TGW offers 30, and the smaller
 *   of both wins, RFC 4271 4.2), keepalive a third of the negotiated hold time.
 * - connectRetryTime 30 s (RFC 4271 suggests 120: too slow to recover a gateway's sessions).
 * - minimumAdvertisementInterval (MRAI, RFC 4271 9.2.1.1): 0 s for iBGP, 1 s for eBGP. RFC 4271
 *   suggests 30 s for eBGP and 5 s for iBGP; that delays every route change toward the TGW by up to
 *   30 s, far too slow for a gateway whose routes follow pods. FRR uses 0 for both; we keep 1 s on
 *   eBGP so a burst of changes (a VN's pods rescheduled) leaves as one flush rather than a stream.
 * - families: IPv4 unicast only (what a speaker without multiprotocol capabilities implies).
 * - passive false, ttl: the session's default (1 on eBGP, 64 on iBGP; the TGW needs ttl 2).
 */
import { ipFamilyOf, isIpv4, isIpv6, parseIpv4 } from '../../src/lib/address.js'
import { Family, familyName, type FamilyKey } from '../codec/afi.js'
import { families as familyTable } from '../codec/nlri.js'
import type { ExtendedCommunity } from '../codec/ext-communities.js'
import type { RibOptions, RoutePolicy } from '../rib/api.js'
import type { BgpListener } from '../session/listener.js'
import { deviceNameProblem } from '../session/socket-options.js'
import type { MaxPrefixOptions } from '../policy/max-prefix.js'
import type { BgpLogger } from '../session/logger.js'
import { NEXT_HOP_CLASSES, type NextHopClass } from '../session/next-hop.js'

/** Maximum prefixes from a peer in one family (bgp/policy's MaxPrefix options): `limit` accepted
 * prefixes, `warningOnly`, `warningThresholdPercent` (default 75), `restartTime` in seconds after a
 * tear-down (absent: stay down until an administrative start). */
export type MaxPrefixConfig = MaxPrefixOptions

export type PerFamily<T> = Readonly<Partial<Record<FamilyKey, T>>>

export interface PeerConfig {
  /** Unique name, for logs, events, statistics. */
  readonly name: string
  /** The peer's address. */
  readonly address: string
  /** The peer's TCP port (default 179; tests use high ports). */
  readonly port?: number
  /** The peer's AS; equal to the speaker's AS makes an iBGP session. */
  readonly asn: number
  /** Source address for outgoing connections (and the next hop when we set next-hop self). */
  readonly localAddress?: string
  readonly passive?: boolean
  /** TTL we send (multihop eBGP: the TGW needs 2). */
  readonly ttl?: number
  /** GTSM (RFC 5082): peer this many hops away. */
  readonly gtsmHops?: number
  /** TCP-MD5 (RFC 2385). */
  readonly md5Password?: string
  /** Device (the gateway VRF) outgoing connections are bound to (SO_BINDTODEVICE); listen with the same. */
  readonly bindDevice?: string
  /** Proposed hold time (s): 0 or 3..65535. Default 90. */
  readonly holdTime?: number
  readonly keepaliveTime?: number
  /** Seconds between connection attempts (default 30; fractions allowed for tests). */
  readonly connectRetryTime?: number
  /** First idle hold time after a failure (seconds, default 1; doubles on flaps up to 120). */
  readonly idleHoldTime?: number
  /** Families offered (default IPv4 unicast). */
  readonly families?: readonly FamilyKey[]
  /** ADD-PATH (RFC 7911) per family. We send only the best path (path id 0). */
  readonly addPath?: readonly { readonly family: FamilyKey; readonly send: boolean; readonly receive: boolean }[]
  readonly importPolicy?: PerFamily<RoutePolicy>
  readonly exportPolicy?: PerFamily<RoutePolicy>
  readonly maxPrefix?: PerFamily<MaxPrefixConfig>
  /** Next hop = our address on iBGP too (eBGP always sets it, RFC 4271 5.1.3). */
  readonly nextHopSelf?: boolean
  /** Our IPv6 next hop for IPv6/VPN-IPv6 routes on an IPv4 session (default ::ffff:<local IPv4>). */
  readonly localIpv6NextHop?: string
  /** Route reflector client (RFC 4456): iBGP routes are reflected to and from it. */
  readonly routeReflectorClient?: boolean
  /** MRAI in seconds (see the module doc): default 0 for iBGP, 1 for eBGP. */
  readonly minimumAdvertisementInterval?: number
  /** Administratively up (default true). */
  readonly enabled?: boolean
  readonly enhancedRouteRefresh?: boolean
  readonly extendedMessage?: boolean
  /** Seconds to wait for the peer's RTC End-of-RIB before sending it the VPN routes that the
   * memberships received so far ask for (RFC 4684 6; default 60; gobgpd 3.10 sends no RTC End-of-RIB). */
  readonly rtcEndOfRibTimeout?: number
  /** Martian next-hop classes accepted from this peer anyway (bgp/session/next-hop.ts: `unspecified`,
   * `multicast`, `loopback`, `class-e`, `own-address`); default none: such routes are treated as
   * withdrawn (RFC 7606 7.3). */
  readonly allowNextHops?: readonly NextHopClass[]
}

export interface GracefulRestartOptions {
  /** Restart time we advertise (s, 0..4095). */
  readonly restartTime: number
  /** We are restarting now (R bit) and defer our UPDATEs until peers' End-of-RIB. */
  readonly restarting?: boolean
  /** Families whose forwarding state we keep across a restart (F bit). */
  readonly forwardingFamilies?: readonly FamilyKey[]
  /** Seconds we wait for End-of-RIB from every peer when restarting (RFC 4724 4.1 selection_deferral_timer). */
  readonly deferralTime?: number
  /** Helper: upper bound on keeping a returned peer's stale routes until its End-of-RIB (s, default 360). */
  readonly staleRoutesTime?: number
  /** Advertise the N bit (RFC 8538; default true). */
  readonly notification?: boolean
  /** Helper role on (default true). */
  readonly helper?: boolean
  /** Restarting: the owner ends route selection (GracefulRestart.release) once every expected
   * End-of-RIB is in, see bgp/speaker/graceful-restart.ts. Default false. */
  readonly holdSelection?: boolean
}

export interface SpeakerOptions {
  readonly localAs: number
  /** BGP identifier as dotted quad or uint32. */
  readonly routerId: string | number
  /** Listening socket: address/port to bind (port 0 = ephemeral), or a listener the caller owns;
   * absent: no listener (active peers only, no passive peers). */
  readonly listen?: { readonly address?: string; readonly port?: number; readonly bindDevice?: string } | BgpListener
  readonly rib?: Omit<RibOptions, 'localAs' | 'routerId'>
  readonly gracefulRestart?: GracefulRestartOptions
  /** Route reflector cluster id (default the router id). */
  readonly clusterId?: string | number
  /** Route targets we import: advertised as RTC memberships (RFC 4684) to RTC peers. */
  readonly importRouteTargets?: readonly ExtendedCommunity[]
  /** Bytes queued on a socket above which UPDATE generation pauses until 'drain' (default 1 MiB). */
  readonly writeBacklogLimit?: number
  /** Where the speaker and its sessions log (a pino logger fits; a child per peer binds `peer`).
   * Default: nothing is written; the counters in peerStats() count either way. */
  readonly logger?: BgpLogger
}

export class ConfigError extends Error {
  readonly code = 'ERR_BGP_CONFIG'
  constructor(readonly field: string, reason: string) {
    super(`${field}: ${reason}`)
    this.name = 'ConfigError'
  }
}

function int(field: string, v: unknown, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(field, `${JSON.stringify(v)} is not an integer ${min}..${max}`)
  }
}

function num(field: string, v: unknown, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new ConfigError(field, `${JSON.stringify(v)} is not a number ${min}..${max}`)
  }
}

function ip(field: string, v: unknown): void {
  if (typeof v !== 'string' || !(isIpv4(v) || isIpv6(v))) throw new ConfigError(field, `${JSON.stringify(v)} is not an IP address`)
}

function family(field: string, f: unknown): void {
  if (typeof f !== 'number' || !familyTable.has(f)) throw new ConfigError(field, `${JSON.stringify(f)} is not a known address family`)
}

function policies(field: string, p: PerFamily<RoutePolicy> | undefined, offered: ReadonlySet<FamilyKey>): void {
  if (p === undefined) return
  for (const [k, v] of Object.entries(p)) {
    const f = Number(k)
    family(`${field}[${k}]`, f)
    if (!offered.has(f)) throw new ConfigError(`${field}[${familyName(f)}]`, 'family is not in families')
    if (v === undefined || typeof (v as RoutePolicy).apply !== 'function') throw new ConfigError(`${field}[${familyName(f)}]`, 'not a RoutePolicy (apply missing)')
  }
}

/** Parses a BGP identifier / cluster id. */
export function parseRouterId(field: string, v: string | number): number {
  if (typeof v === 'number') {
    int(field, v, 1, 0xffffffff)
    return v >>> 0
  }
  if (!isIpv4(v)) throw new ConfigError(field, `${JSON.stringify(v)} is not a dotted-quad identifier`)
  const id = parseIpv4(v, field)
  if (id === 0) throw new ConfigError(field, '0.0.0.0 is not a valid BGP identifier (RFC 6286)')
  return id
}

export function validateSpeakerOptions(o: SpeakerOptions): void {
  int('localAs', o.localAs, 1, 0xffffffff)
  parseRouterId('routerId', o.routerId)
  if (o.clusterId !== undefined) parseRouterId('clusterId', o.clusterId)
  const gr = o.gracefulRestart
  if (gr !== undefined) {
    int('gracefulRestart.restartTime', gr.restartTime, 0, 4095)
    if (gr.deferralTime !== undefined) num('gracefulRestart.deferralTime', gr.deferralTime, 0, 3600)
    if (gr.staleRoutesTime !== undefined) num('gracefulRestart.staleRoutesTime', gr.staleRoutesTime, 0, 3600)
    gr.forwardingFamilies?.forEach((f, i) => family(`gracefulRestart.forwardingFamilies[${i}]`, f))
  }
  if (o.writeBacklogLimit !== undefined) int('writeBacklogLimit', o.writeBacklogLimit, 4096, 2 ** 31 - 1)
  const l = o.listen
  if (l !== undefined && !('listen' in l && typeof l.listen === 'function')) {
    const a = l as { address?: string; port?: number; bindDevice?: string }
    if (a.address !== undefined) ip('listen.address', a.address)
    const problem = a.bindDevice !== undefined ? deviceNameProblem(a.bindDevice) : undefined
    if (problem !== undefined) throw new ConfigError('listen.bindDevice', problem)
    if (a.port !== undefined) int('listen.port', a.port, 0, 65535)
  }
}

/** Validates a peer's configuration; throws ConfigError naming the field. */
export function validatePeerConfig(c: PeerConfig, localAs: number): void {
  const at = (f: string): string => `peer ${JSON.stringify(c.name)}: ${f}`
  if (typeof c.name !== 'string' || c.name.length === 0) throw new ConfigError('name', 'must be a non-empty string')
  ip(at('address'), c.address)
  if (c.port !== undefined) int(at('port'), c.port, 1, 65535)
  int(at('asn'), c.asn, 1, 0xffffffff)
  if (c.localAddress !== undefined) {
    ip(at('localAddress'), c.localAddress)
    if (ipFamilyOf(c.localAddress) !== ipFamilyOf(c.address)) throw new ConfigError(at('localAddress'), 'not of the same IP version as address')
  }
  if (c.ttl !== undefined) int(at('ttl'), c.ttl, 1, 255)
  if (c.gtsmHops !== undefined) int(at('gtsmHops'), c.gtsmHops, 1, 254)
  if (c.md5Password !== undefined && (typeof c.md5Password !== 'string' || Buffer.byteLength(c.md5Password) > 80 || c.md5Password.length === 0)) {
    throw new ConfigError(at('md5Password'), 'must be 1..80 bytes')
  }
  if (c.bindDevice !== undefined) {
    const problem = deviceNameProblem(c.bindDevice)
    if (problem !== undefined) throw new ConfigError(at('bindDevice'), problem)
  }
  if (c.holdTime !== undefined && c.holdTime !== 0) int(at('holdTime'), c.holdTime, 3, 65535)
  if (c.keepaliveTime !== undefined) int(at('keepaliveTime'), c.keepaliveTime, 1, 21845)
  if (c.connectRetryTime !== undefined) num(at('connectRetryTime'), c.connectRetryTime, 0.05, 65535)
  if (c.idleHoldTime !== undefined) num(at('idleHoldTime'), c.idleHoldTime, 0, 3600)
  const fams = c.families ?? [Family.Ipv4Unicast]
  if (fams.length === 0) throw new ConfigError(at('families'), 'must list at least one family')
  fams.forEach((f, i) => family(at(`families[${i}]`), f))
  const offered = new Set(fams)
  c.addPath?.forEach((a, i) => {
    family(at(`addPath[${i}].family`), a.family)
    if (!offered.has(a.family)) throw new ConfigError(at(`addPath[${i}].family`), 'family is not in families')
  })
  policies(at('importPolicy'), c.importPolicy, offered)
  policies(at('exportPolicy'), c.exportPolicy, offered)
  if (c.maxPrefix !== undefined) {
    for (const [k, v] of Object.entries(c.maxPrefix)) {
      const f = Number(k)
      family(at(`maxPrefix[${k}]`), f)
      const name = at(`maxPrefix[${familyName(f)}]`)
      if (!offered.has(f)) throw new ConfigError(name, 'family is not in families')
      if (v === undefined) continue
      // Every field is checked here, so building the peer's MaxPrefix cannot fail later.
      int(`${name}.limit`, v.limit, 1, 0xffffffff)
      if (v.warningThresholdPercent !== undefined) int(`${name}.warningThresholdPercent`, v.warningThresholdPercent, 1, 100)
      if (v.restartTime !== undefined) int(`${name}.restartTime`, v.restartTime, 1, 0xffffffff)
      if (v.warningOnly !== undefined && typeof v.warningOnly !== 'boolean') throw new ConfigError(`${name}.warningOnly`, `${JSON.stringify(v.warningOnly)} is not a boolean`)
    }
  }
  c.allowNextHops?.forEach((h, i) => {
    if (!NEXT_HOP_CLASSES.includes(h)) throw new ConfigError(at(`allowNextHops[${i}]`), `${JSON.stringify(h)} is not one of ${NEXT_HOP_CLASSES.join(', ')}`)
  })
  if (c.localIpv6NextHop !== undefined && !isIpv6(c.localIpv6NextHop)) throw new ConfigError(at('localIpv6NextHop'), `${JSON.stringify(c.localIpv6NextHop)} is not an IPv6 address`)
  if (c.minimumAdvertisementInterval !== undefined) num(at('minimumAdvertisementInterval'), c.minimumAdvertisementInterval, 0, 600)
  if (c.rtcEndOfRibTimeout !== undefined) num(at('rtcEndOfRibTimeout'), c.rtcEndOfRibTimeout, 0, 3600)
  if (c.routeReflectorClient === true && c.asn !== localAs) throw new ConfigError(at('routeReflectorClient'), 'only an iBGP peer can be a route reflector client')
}

/** MRAI default (see the module doc). */
export function defaultMrai(c: PeerConfig, localAs: number): number {
  return c.minimumAdvertisementInterval ?? (c.asn === localAs ? 0 : 1)
}
