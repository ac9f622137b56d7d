/**
 * Data-plane probes of gsi-routerd: ICMP echo (RFC 792) and ICMPv6 echo (RFC 4443 4.1) over raw
 * sockets (the raw-socket package) through each GRE link to the TGW's two BGP addresses of every
 * Connect peer (.2 and .3 of the inside /29; ::2 and ::3 of the inside /125 when there is one), and
 * through the MPLSoUDP tunnels toward configured targets behind a vRouter. BGP can stay Established
 * while the data plane is dead (a filter on the TGW side, a broken tunnel path): the sessions are one
 * flow, and IPv6 rides the IPv4 sessions, so only an IPv6 echo says whether IPv6 packets pass.
 *
 * - Bounded: one echo per `probes.interval` per target, only toward addresses the daemon has a
 *   tunnel to (its Connect peers' BGP addresses; targets whose vRouter the FIB has a tunnel to),
 *   every timer and socket closed by `stop()`.
 * - One socket per probe kind and IP version, opened only while a target needs it. In kernel mode
 *   every socket is bound to the gateway VRF device (SO_BINDTODEVICE), so the echo is routed by the
 *   gateway table, out of the GRE link or into an MPLSoUDP tunnel; with `dataplane: none` the
 *   ordinary routing table carries it.
 * - The TGW probes take the kernel's source (our inside address on the link); on the IPv6 socket
 *   (IPPROTO_ICMPV6) the kernel also computes the ICMPv6 checksum, whose pseudo-header holds that
 *   source (RFC 3542 3.1). The tunnel probes carry `probes.source` (`probes.sourceIpv6`) in an IP
 *   header of our own (IP_HDRINCL, IPV6_HDRINCL; the ICMPv6 checksum is then ours): the pod's answer
 *   must come back along a route CN2 learned from this gateway (docs/configuration.md, "Data-plane
 *   probes").
 * - Replies are matched by identifier and sequence number and must come from the address echoed.
 * - A target is `alive` after an answer, `dead` after `failAfter` lost echoes in a row. A Connect peer
 *   is judged per IP version: `dataplane-dead` while one of its sessions is Established and all its
 *   probes of that version fail: logged, and with `withdrawOnFailure` our routes of that version
 *   (IPv4 unicast, IPv6 unicast) are withdrawn from its sessions (their export policy for that
 *   family rejects everything) until an answer comes back.
 *
 * The ICMP codec and the per-target bookkeeping are pure (time passed in) so they are tested alone.
 */
import { createRequire } from 'node:module'
import { randomInt } from 'node:crypto'
import { Afi, familyAfi, type FamilyKey } from '../../bgp/codec/afi.js'
import type { RoutePolicy } from '../../bgp/rib/index.js'
import type { ProbesConfig, DaemonConfig } from '../config/model.js'
import { formatIpv4, ipv4Word, parseIpv4, parseIpv6, tryParseAddress } from '../lib/address.js'
import { greLinkName } from '../../gre/index.js'
import type { DaemonLogger } from './daemon.js'
import type { ConnectPeerDataplaneState, ConnectPeerProbeReport, ProbeFamily, ProbeKind, ProbeReport, ProbeTargetReport, ProbeTargetState } from '../api/view.js'

export type { ConnectPeerDataplaneState, ConnectPeerProbeReport, ProbeFamily, ProbeKind, ProbeReport, ProbeTargetReport, ProbeTargetState } from '../api/view.js'

// ---------------------------------------------------------------- ICMP echo, IPv4 header

const ICMP_ECHO_REPLY = 0
const ICMP_ECHO_REQUEST = 8
const IPPROTO_ICMP = 1
/** Marks our echoes (and makes them 24 octets of payload, enough for any middlebox's taste). */
const PAYLOAD = Buffer.from('gsi-routerd probe.......')

/** RFC 1071 Internet checksum over `b`. */
export function internetChecksum(b: Buffer): number {
  let sum = 0
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i)
  if (b.length % 2 === 1) sum += (b[b.length - 1] as number) << 8
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
  return ~sum & 0xffff
}

/** An echo request of either version (the layout is shared): type, code 0, checksum 0, identifier, sequence number, payload. */
function echoRequest(type: number, id: number, seq: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(8 + payload.length)
  b[0] = type
  b.writeUInt16BE(id & 0xffff, 4)
  b.writeUInt16BE(seq & 0xffff, 6)
  payload.copy(b, 8)
  return b
}

/** An ICMP echo request (RFC 792): type 8, code 0, checksum, identifier, sequence number, payload. */
export function encodeEchoRequest(id: number, seq: number, payload: Buffer = PAYLOAD): Buffer {
  const b = echoRequest(ICMP_ECHO_REQUEST, id, seq, payload)
  b.writeUInt16BE(internetChecksum(b), 2)
  return b
}

/**
 * An IPv4 header (RFC 791) for IP_HDRINCL: the kernel fills in the total length, the checksum and the
 * identification when zero; we set the source, which is why we write it at all.
 */
export function ipv4Header(source: string, destination: string, ttl = 64): Buffer {
  const b = Buffer.alloc(20)
  b[0] = 0x45
  b[8] = ttl
  b[9] = IPPROTO_ICMP
  b.writeUInt32BE(parseIpv4(source, 'probes.source') >>> 0, 12)
  b.writeUInt32BE(parseIpv4(destination, 'probes.targets[].address') >>> 0, 16)
  return b
}

export interface EchoReply {
  readonly source: string
  readonly id: number
  readonly seq: number
}

/** An IPv4 packet as a raw ICMP socket hands it over (IP header included): an echo reply, or undefined. */
export function decodeEchoReply(packet: Buffer): EchoReply | undefined {
  if (packet.length < 20 || packet[0]! >> 4 !== 4) return undefined
  const ihl = (packet[0]! & 0x0f) * 4
  if (packet[9] !== IPPROTO_ICMP || packet.length < ihl + 8) return undefined
  if (packet[ihl] !== ICMP_ECHO_REPLY || packet[ihl + 1] !== 0) return undefined
  return { source: formatIpv4(ipv4Word(packet, 12)), id: packet.readUInt16BE(ihl + 4), seq: packet.readUInt16BE(ihl + 6) }
}

// ---------------------------------------------------------------- ICMPv6 echo, IPv6 header

const ICMPV6_ECHO_REQUEST = 128
const ICMPV6_ECHO_REPLY = 129
const IPPROTO_ICMPV6 = 58
const IPV6_HEADER_LENGTH = 40

/**
 * An ICMPv6 echo request (RFC 4443 4.1): type 128, code 0, checksum, identifier, sequence number,
 * payload. The checksum is left 0: its pseudo-header holds the source address, which only the
 * kernel's route lookup knows, and a raw IPPROTO_ICMPV6 socket has the kernel fill it in (RFC 3542
 * 3.1); `ipv6Packet` fills it where we write the header ourselves.
 */
export function encodeEchoRequest6(id: number, seq: number, payload: Buffer = PAYLOAD): Buffer {
  return echoRequest(ICMPV6_ECHO_REQUEST, id, seq, payload)
}

/**
 * The ICMPv6 checksum (RFC 4443 2.3): the Internet checksum over the IPv6 pseudo-header (RFC 8200
 * 8.1: source, destination, upper-layer length, next header 58) and the message, whose own checksum
 * field must be 0 (or the result checks the message: 0 when it is right).
 */
export function icmpv6Checksum(source: Uint8Array, destination: Uint8Array, message: Buffer): number {
  const pseudo = Buffer.alloc(40)
  pseudo.set(source, 0)
  pseudo.set(destination, 16)
  pseudo.writeUInt32BE(message.length, 32)
  pseudo[39] = IPPROTO_ICMPV6
  return internetChecksum(Buffer.concat([pseudo, message]))
}

/**
 * An IPv6 packet (RFC 8200 3) around an ICMPv6 message, for IPV6_HDRINCL: the kernel sends those
 * bytes as they are (unlike IPv4's IP_HDRINCL it fills in nothing), so the payload length and the
 * ICMPv6 checksum are ours. The source is why we write the header at all.
 */
export function ipv6Packet(source: string, destination: string, message: Buffer, hopLimit = 64): Buffer {
  const s = parseIpv6(source, 'probes.sourceIpv6')
  const d = parseIpv6(destination, 'probes.targets[].address')
  const b = Buffer.alloc(IPV6_HEADER_LENGTH + message.length)
  b[0] = 0x60 // version 6, traffic class and flow label 0
  b.writeUInt16BE(message.length, 4)
  b[6] = IPPROTO_ICMPV6
  b[7] = hopLimit
  b.set(s, 8)
  b.set(d, 24)
  message.copy(b, IPV6_HEADER_LENGTH)
  b.writeUInt16BE(0, IPV6_HEADER_LENGTH + 2)
  b.writeUInt16BE(icmpv6Checksum(s, d, b.subarray(IPV6_HEADER_LENGTH)), IPV6_HEADER_LENGTH + 2)
  return b
}

/**
 * An ICMPv6 message as a raw IPv6 socket hands it over (without the IPv6 header, RFC 3542 3: the
 * sender comes from recvfrom, `source`): an echo reply, or undefined. The kernel has checked the
 * checksum before delivering it.
 */
export function decodeEchoReply6(message: Buffer, source: string): EchoReply | undefined {
  if (message.length < 8 || message[0] !== ICMPV6_ECHO_REPLY || message[1] !== 0) return undefined
  // raw-socket formats the sender with inet_ntop; canonical text (RFC 5952) to compare with ours
  const from = tryParseAddress(source, 6)
  if (from === undefined) return undefined
  return { source: from.text, id: message.readUInt16BE(4), seq: message.readUInt16BE(6) }
}

/** The IP version of an address in canonical text. */
export function probeFamilyOf(address: string): ProbeFamily {
  return address.includes(':') ? 'ipv6' : 'ipv4'
}

// ---------------------------------------------------------------- bookkeeping (pure)

/** The echoes of one target: sent, answered, lost; the state follows from them. */
export class ProbeTarget {
  state: ProbeTargetState = 'pending'
  readonly family: ProbeFamily
  since: number
  sent = 0
  replies = 0
  lost = 0
  rttMs: number | undefined
  lastError: string | undefined
  private consecutiveLost = 0
  /** true = answered, false = lost; the last `window` decided echoes. */
  private readonly results: boolean[] = []

  constructor(readonly kind: ProbeKind, readonly address: string, readonly via: string, now: number, private window: number, private failAfter: number) {
    this.family = probeFamilyOf(address)
    this.since = now
  }

  setLimits(window: number, failAfter: number): void {
    this.window = window
    this.failAfter = failAfter
    this.results.splice(0, Math.max(0, this.results.length - window))
  }

  private set(state: ProbeTargetState, now: number): void {
    if (state === this.state) return
    this.state = state
    this.since = now
  }

  private record(ok: boolean): void {
    this.results.push(ok)
    if (this.results.length > this.window) this.results.shift()
  }

  /** Nothing can be sent (no tunnel, no socket): the target is that, and its run of losses starts over. */
  idle(state: 'no-tunnel' | 'unavailable', now: number): void {
    this.consecutiveLost = 0
    this.set(state, now)
  }

  sentEcho(now: number): void {
    this.sent++
    if (this.state === 'no-tunnel' || this.state === 'unavailable') this.set('pending', now)
  }

  answered(rttMs: number, now: number): void {
    this.replies++
    this.rttMs = rttMs
    this.consecutiveLost = 0
    this.lastError = undefined
    this.record(true)
    this.set('alive', now)
  }

  /** An echo got no answer within the timeout (or could not be sent: `error`). */
  timedOut(now: number, error?: string): void {
    this.lost++
    this.consecutiveLost++
    if (error !== undefined) this.lastError = error
    this.record(false)
    if (this.consecutiveLost >= this.failAfter) this.set('dead', now)
  }

  report(): ProbeTargetReport {
    const lostInWindow = this.results.filter((r) => !r).length
    return {
      kind: this.kind, family: this.family, address: this.address, via: this.via, state: this.state, since: this.since,
      sent: this.sent, replies: this.replies, lost: this.lost,
      lossRatio: this.results.length === 0 ? 0 : lostInWindow / this.results.length,
      ...(this.rttMs !== undefined ? { rttMs: this.rttMs } : {}),
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    }
  }
}

/** A Connect peer's data-plane state from its sessions and its probes. */
export function connectPeerState(bgpUp: boolean, targets: readonly ProbeTargetState[]): ConnectPeerDataplaneState {
  if (targets.length === 0 || targets.every((s) => s === 'unavailable')) return 'unavailable'
  if (targets.some((s) => s === 'alive')) return 'up'
  if (!bgpUp) return 'bgp-down'
  return targets.every((s) => s === 'dead') ? 'dataplane-dead' : 'pending'
}

/** Worst first: what a Connect peer's IP versions add up to where only one state fits (status.daemon). */
const OVERALL_ORDER: readonly ConnectPeerDataplaneState[] = ['dataplane-dead', 'bgp-down', 'pending', 'up', 'unavailable']

/**
 * One state for a Connect peer from its per-IP-version states: the worst, so an IPv6 data plane dead
 * beside a live IPv4 one still reads `dataplane-dead`; `since` the latest change, withdrawn if any is.
 */
export function connectPeerOverall(perFamily: readonly ConnectPeerProbeReport[]): { state: ConnectPeerDataplaneState; since: number; withdrawn: boolean } | undefined {
  if (perFamily.length === 0) return undefined
  const state = OVERALL_ORDER.find((o) => perFamily.some((f) => f.state === o)) ?? 'pending'
  return { state, since: Math.max(...perFamily.map((f) => f.since)), withdrawn: perFamily.some((f) => f.withdrawn) }
}

// ---------------------------------------------------------------- the runner

/** What raw-socket exports, as far as we use it (it ships no types). */
export interface RawSocket {
  on(event: 'message', f: (b: Buffer, source: string) => void): void
  on(event: 'error', f: (e: Error) => void): void
  send(b: Buffer, offset: number, length: number, address: string, cb: (e: Error | null) => void): void
  setOption(level: number, option: number, value: Buffer | number, length?: number): void
  close(): void
}
export interface RawSocketModule {
  createSocket(o: { protocol: number; addressFamily?: number }): RawSocket
  Protocol: { ICMP: number; ICMPv6: number }
  AddressFamily: { IPv4: number; IPv6: number }
  SocketLevel: { SOL_SOCKET: number; IPPROTO_IP: number; IPPROTO_IPV6: number }
  SocketOption: { IP_HDRINCL: number }
}
/** Linux's SO_BINDTODEVICE (asm-generic/socket.h); raw-socket passes any option number through. */
const SO_BINDTODEVICE = 25
/** Linux's IPV6_HDRINCL (linux/in6.h, since 4.5); raw-socket names it only on Windows. */
const IPV6_HDRINCL = 36

/** What the runner needs of the daemon: session states, the tunnels it has, and the TGW speaker. */
export interface ProbeHost {
  /** Whether one of the Connect peer's BGP sessions is Established. */
  bgpUp(connectPeer: string): boolean
  /** Whether the daemon has the Connect peer's GRE link now (always true with dataplane none). */
  hasGreLink(connectPeer: string): boolean
  /** vRouters the FIB has an MPLSoUDP tunnel to. */
  vrouters(): ReadonlySet<string>
  /** The TGW speaker sessions of a Connect peer (name and families), to withdraw from and restore. */
  sessionsOf(connectPeer: string): readonly { readonly name: string; readonly families: readonly FamilyKey[] }[]
  setExportPolicy(session: string, family: FamilyKey, policy: RoutePolicy): void
  /** The export policy the session normally has (what a withdrawal is undone to). */
  normalExportPolicy: RoutePolicy
}

/** Rejects every route: a Connect peer's sessions get it while its data plane is dead. */
export const rejectAll: RoutePolicy = Object.freeze({ perAttributeSet: true, apply: () => null })

/** An echo awaiting its answer; `sentAt` on the monotonic clock. */
interface InFlight { readonly target: ProbeTarget; readonly sentAt: number }

/** One raw socket per probe kind and IP version: `tgw/ipv4`, `tgw/ipv6`, `vn/ipv4`, `vn/ipv6`. */
type SocketKey = `${ProbeKind}/${ProbeFamily}`
interface ProbeSocket { readonly socket?: RawSocket; readonly error?: string }

/** The BGP families whose routes follow the probes of one IP version (the TGW sessions carry unicast). */
function familyOfBgp(f: FamilyKey): ProbeFamily {
  return familyAfi(f) === Afi.Ipv6 ? 'ipv6' : 'ipv4'
}

export interface ProbeRunnerOptions {
  readonly config: DaemonConfig
  readonly host: ProbeHost
  readonly log: DaemonLogger
  /** Wall clock for state times (ms since the epoch). */
  readonly now?: () => number
  /** Monotonic clock for round trips and timeouts (ms, sub-millisecond: RTTs inside a VPC are tens of µs). */
  readonly monotonic?: () => number
  /** The raw-socket module; tests of the bookkeeping pass a fake. */
  readonly raw?: RawSocketModule
}

interface ConnectPeerFamilyState { state: ConnectPeerDataplaneState; since: number; withdrawn: boolean }

export class ProbeRunner {
  private config: DaemonConfig
  private readonly log: DaemonLogger
  private readonly host: ProbeHost
  private readonly now: () => number
  private readonly monotonic: () => number
  private readonly raw: RawSocketModule | undefined
  private readonly id = randomInt(1, 0xffff)
  private seq = 0
  private readonly inFlight = new Map<number, InFlight>()
  private targets = new Map<string, ProbeTarget>()
  /** Keyed `connectPeer|family`. */
  private readonly cpStates = new Map<string, ConnectPeerFamilyState>()
  private readonly sockets = new Map<SocketKey, ProbeSocket>()
  private timer: NodeJS.Timeout | undefined
  private stopped = false

  constructor(o: ProbeRunnerOptions) {
    this.config = o.config
    this.host = o.host
    this.log = o.log
    this.now = o.now ?? Date.now
    this.monotonic = o.monotonic ?? (() => performance.now())
    this.raw = o.raw ?? loadRawSocket()
    this.syncTargets()
  }

  private get probes(): ProbesConfig {
    return this.config.probes
  }

  start(): void {
    if (!this.probes.enabled || this.stopped) return
    this.openSockets()
    this.schedule()
    this.tick()
  }

  private schedule(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    // unref: the probes never keep a stopping daemon alive
    this.timer = setInterval(() => this.tick(), this.probes.interval * 1000)
    this.timer.unref()
  }

  /** A new configuration: targets follow the Connect peers and `probes.targets`; timers the interval. */
  reconfigure(next: DaemonConfig): void {
    const prev = this.config
    const socketsBefore = this.wantedSockets().join()
    this.config = next
    this.syncTargets()
    if (this.stopped) return
    if (!next.probes.enabled) { this.stopProbing(); return }
    // a socket exists only while a target needs it: a change in that set opens them anew
    if (!prev.probes.enabled || this.timer === undefined || this.wantedSockets().join() !== socketsBefore) { this.stopProbing(); this.start(); return }
    if (prev.probes.interval !== next.probes.interval) this.schedule()
    this.evaluate()
  }

  /** Sessions were re-created (a reload resets peers with their configured export policy): a
   * withdrawal in force is applied to them again. */
  reapplyWithdrawals(): void {
    for (const [key, s] of this.cpStates) {
      if (!s.withdrawn) continue
      // the family is the part after the last '|': a Connect peer id is the operator's text
      const at = key.lastIndexOf('|')
      this.setWithdrawn(key.slice(0, at), key.slice(at + 1) as ProbeFamily, true)
    }
  }

  stop(): void {
    this.stopped = true
    this.stopProbing()
  }

  private stopProbing(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    for (const { socket } of this.sockets.values()) {
      try { socket?.close() } catch { /* already closed */ }
    }
    this.sockets.clear()
    this.inFlight.clear()
  }

  /**
   * The wanted targets: the Connect peers' BGP addresses (IPv4, and IPv6 with a /125) and
   * `probes.targets`; kept ones keep their counts.
   */
  private syncTargets(): void {
    const now = this.now()
    const next = new Map<string, ProbeTarget>()
    const p = this.probes
    const keep = (kind: ProbeKind, address: string, via: string): void => {
      const key = `${kind}|${via}|${address}`
      const t = this.targets.get(key) ?? new ProbeTarget(kind, address, via, now, p.lossWindow, p.failAfter)
      t.setLimits(p.lossWindow, p.failAfter)
      next.set(key, t)
    }
    for (const cp of this.config.tgw.connectPeers) for (const a of cp.bgpPeerAddresses) keep('tgw', a, cp.id)
    for (const x of p.targets) keep('vn', x.address, x.vrouter)
    this.targets = next
    for (const [seq, f] of this.inFlight) if (![...next.values()].includes(f.target)) this.inFlight.delete(seq)
    const wanted = new Set(this.config.tgw.connectPeers.flatMap((cp) => this.familiesOf(cp.id).map((f) => `${cp.id}|${f}`)))
    for (const key of [...this.cpStates.keys()]) if (!wanted.has(key)) this.cpStates.delete(key)
  }

  /** The IP versions a Connect peer is probed in: IPv4 always, IPv6 when it has an inside /125. */
  private familiesOf(connectPeer: string): ProbeFamily[] {
    const cp = this.config.tgw.connectPeers.find((c) => c.id === connectPeer)
    return cp?.bgpPeerAddresses.some((a) => a.includes(':')) === true ? ['ipv4', 'ipv6'] : ['ipv4']
  }

  /** The sockets the targets need; the IPv4 TGW socket always (as before IPv6, even with no Connect peer). */
  private wantedSockets(): SocketKey[] {
    const keys = new Set<SocketKey>(['tgw/ipv4'])
    for (const t of this.targets.values()) keys.add(`${t.kind}/${t.family}`)
    return (['tgw/ipv4', 'tgw/ipv6', 'vn/ipv4', 'vn/ipv6'] as const).filter((k) => keys.has(k))
  }

  private openSockets(): void {
    const vrf = this.config.dataplane === 'kernel' ? this.config.gatewayTable.vrf : undefined
    for (const key of this.wantedSockets()) {
      if (this.raw === undefined) { this.sockets.set(key, { error: 'the raw-socket package did not load' }); continue }
      try {
        this.sockets.set(key, { socket: this.openSocket(this.raw, key, vrf) })
      } catch (e) {
        // one IP version failing (IPv6 disabled on the node) leaves the other's probes running
        this.sockets.set(key, { error: (e as Error).message })
        this.log.error({ err: e, socket: key, ...(vrf !== undefined ? { vrf } : {}) }, 'data-plane probes unavailable: no raw ICMP socket (CAP_NET_RAW needed)')
      }
    }
  }

  private openSocket(raw: RawSocketModule, key: SocketKey, vrf: string | undefined): RawSocket {
    const v6 = key.endsWith('ipv6')
    const s = v6
      ? raw.createSocket({ protocol: raw.Protocol.ICMPv6, addressFamily: raw.AddressFamily.IPv6 })
      : raw.createSocket({ protocol: raw.Protocol.ICMP, addressFamily: raw.AddressFamily.IPv4 })
    try {
      if (vrf !== undefined) {
        const name = Buffer.from(`${vrf}\0`)
        s.setOption(raw.SocketLevel.SOL_SOCKET, SO_BINDTODEVICE, name, name.length)
      }
      // the tunnel probes write their own IP header, for the source the pods answer to
      if (key === 'vn/ipv4') s.setOption(raw.SocketLevel.IPPROTO_IP, raw.SocketOption.IP_HDRINCL, 1)
      if (key === 'vn/ipv6') s.setOption(raw.SocketLevel.IPPROTO_IPV6, IPV6_HDRINCL, 1)
    } catch (e) {
      try { s.close() } catch { /* never opened */ }
      throw e
    }
    s.on('message', (b, source) => this.onPacket(v6, b, source))
    s.on('error', (e) => this.log.warn({ err: e, socket: key }, 'probe socket error'))
    return s
  }

  private onPacket(v6: boolean, b: Buffer, source: string): void {
    const r = v6 ? decodeEchoReply6(b, source) : decodeEchoReply(b)
    if (r === undefined || r.id !== this.id) return
    const f = this.inFlight.get(r.seq)
    // both sockets of a version see every echo reply: the first one to arrive settles it
    if (f === undefined || f.target.address !== r.source) return
    this.inFlight.delete(r.seq)
    const rttMs = this.monotonic() - f.sentAt
    const was = f.target.state
    f.target.answered(rttMs, this.now())
    if (was !== 'alive') this.log.info({ kind: f.target.kind, family: f.target.family, target: f.target.address, via: f.target.via, rttMs }, 'probe target answers')
    this.evaluate()
  }

  /** One round: echoes past the timeout count as lost, then one echo per target that may be probed. */
  tick(): void {
    const now = this.now()
    const mono = this.monotonic()
    const timeoutMs = this.probes.timeout * 1000
    for (const [seq, f] of this.inFlight) {
      if (mono - f.sentAt < timeoutMs) continue
      this.inFlight.delete(seq)
      this.lose(f.target, now)
    }
    // the FIB's tunnels are asked for only when a target needs them (ComputedFib walks its routes)
    const vrouters = this.probes.targets.length > 0 ? this.host.vrouters() : new Set<string>()
    for (const t of this.targets.values()) {
      const socket = this.sockets.get(`${t.kind}/${t.family}`)?.socket
      if (socket === undefined) { t.idle('unavailable', now); continue }
      const tunnel = t.kind === 'tgw' ? this.host.hasGreLink(t.via) : vrouters.has(t.via)
      if (!tunnel) { t.idle('no-tunnel', now); continue }
      // at most one echo in flight per target: a timeout above the interval slows the probes down
      if ([...this.inFlight.values()].some((f) => f.target === t)) continue
      this.send(socket, t, now, mono)
    }
    this.evaluate()
  }

  /** The bytes sent to a target: the echo alone, or inside our own IP header for the tunnel probes. */
  private packetFor(t: ProbeTarget, seq: number): Buffer {
    if (t.family === 'ipv6') {
      const echo = encodeEchoRequest6(this.id, seq)
      const source = this.probes.sourceIpv6
      return t.kind === 'vn' && source !== undefined ? ipv6Packet(source, t.address, echo) : echo
    }
    const echo = encodeEchoRequest(this.id, seq)
    const source = this.probes.source
    return t.kind === 'vn' && source !== undefined ? Buffer.concat([ipv4Header(source, t.address), echo]) : echo
  }

  private send(socket: RawSocket, t: ProbeTarget, now: number, mono: number): void {
    this.seq = (this.seq + 1) & 0xffff
    const seq = this.seq
    const packet = this.packetFor(t, seq)
    t.sentEcho(now)
    this.inFlight.set(seq, { target: t, sentAt: mono })
    socket.send(packet, 0, packet.length, t.address, (e) => {
      if (e === null || e === undefined) return
      // not sent (no route, ...): lost now, not after the timeout
      if (this.inFlight.get(seq)?.target !== t) return
      this.inFlight.delete(seq)
      this.lose(t, this.now(), e.message)
      this.evaluate()
    })
  }

  private lose(t: ProbeTarget, now: number, error?: string): void {
    const was = t.state
    t.timedOut(now, error)
    if (was !== 'dead' && t.state === 'dead') this.log.warn({ kind: t.kind, family: t.family, target: t.address, via: t.via, lost: this.probes.failAfter, ...(error !== undefined ? { error } : {}) }, 'probe target stopped answering')
  }

  /** Connect peers' states per IP version from their sessions and probes; logs transitions, withdraws and restores. */
  private evaluate(): void {
    const now = this.now()
    for (const cp of this.config.tgw.connectPeers) {
      const link = greLinkName(cp.id)
      for (const family of this.familiesOf(cp.id)) {
        const targets = [...this.targets.values()].filter((t) => t.kind === 'tgw' && t.via === cp.id && t.family === family)
        const states = targets.map((t) => t.state)
        const state = this.probes.enabled ? connectPeerState(this.host.bgpUp(cp.id), states) : 'unavailable'
        const key = `${cp.id}|${family}`
        const prev = this.cpStates.get(key)
        if (prev === undefined || prev.state !== state) {
          if (state === 'dataplane-dead') this.log.warn({ connectPeer: cp.id, family, link, targets: targets.map((t) => t.address) }, 'BGP up but data plane dead: no probe through the Connect peer answers')
          else if (prev?.state === 'dataplane-dead') this.log.info({ connectPeer: cp.id, family, link, state }, 'Connect peer data plane no longer dead')
          this.cpStates.set(key, { state, since: now, withdrawn: prev?.withdrawn ?? false })
        }
        // withdrawn while every probe of this version fails (whatever BGP does), back at the first answer
        const wantWithdrawn = this.probes.enabled && this.probes.withdrawOnFailure && states.length > 0 && states.every((s) => s === 'dead')
        const cur = this.cpStates.get(key)!
        if (cur.withdrawn !== wantWithdrawn) {
          this.setWithdrawn(cp.id, family, wantWithdrawn)
          cur.withdrawn = wantWithdrawn
          if (wantWithdrawn) this.log.warn({ connectPeer: cp.id, family, link }, 'routes withdrawn from the Connect peer\'s sessions while its probes fail')
          else this.log.info({ connectPeer: cp.id, family, link }, 'routes advertised to the Connect peer again: its probes answer')
        }
      }
    }
  }

  /** The export policy of the sessions' BGP families of one IP version (IPv4 unicast or IPv6 unicast). */
  private setWithdrawn(connectPeer: string, family: ProbeFamily, withdrawn: boolean): void {
    for (const s of this.host.sessionsOf(connectPeer)) {
      for (const f of s.families) if (familyOfBgp(f) === family) this.host.setExportPolicy(s.name, f, withdrawn ? rejectAll : this.host.normalExportPolicy)
    }
  }

  report(): ProbeReport {
    const targets = [...this.targets.values()].map((t) => {
      const r = t.report()
      const error = this.sockets.get(`${t.kind}/${t.family}`)?.error
      return error !== undefined && r.state === 'unavailable' ? { ...r, lastError: error } : r
    })
    return {
      enabled: this.probes.enabled,
      intervalSeconds: this.probes.interval,
      targets,
      connectPeers: this.config.tgw.connectPeers.flatMap((cp) => this.familiesOf(cp.id).map((family) => {
        const s = this.cpStates.get(`${cp.id}|${family}`)
        return { connectPeer: cp.id, family, link: greLinkName(cp.id), state: s?.state ?? 'pending', since: s?.since ?? this.now(), withdrawn: s?.withdrawn ?? false }
      })),
    }
  }
}

function loadRawSocket(): RawSocketModule | undefined {
  try {
    return createRequire(import.meta.url)('raw-socket') as RawSocketModule
  } catch {
    return undefined
  }
}
