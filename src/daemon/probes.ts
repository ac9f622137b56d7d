/**
 * Data-plane probes of gsi-routerd: ICMP echo (RFC 792) over raw sockets (the raw-socket package)
 * through each GRE link to the TGW's two BGP addresses of every Connect peer, and through the
 * MPLSoUDP tunnels toward configured targets behind a vRouter. BGP can stay Established while the
 * data plane is dead (a filter on the TGW side, a broken tunnel path): the sessions are one flow.
 *
 * - Bounded: one echo per `probes.interval` per target, only toward addresses the daemon has a
 *   tunnel to (its Connect peers' BGP addresses; targets whose vRouter the FIB has a tunnel to),
 *   every timer and socket closed by `stop()`.
 * - In kernel mode both sockets are bound to the gateway VRF device (SO_BINDTODEVICE), so the echo is
 *   routed by the gateway table, out of the GRE link or into an MPLSoUDP tunnel; with `dataplane:
 *   none` the ordinary routing table carries it.
 * - The TGW probes take the kernel's source (our inside address on the link). The tunnel probes
 *   carry `probes.source` in an IP header of our own (IP_HDRINCL): the pod's answer must come back
 *   along a route CN2 learned from this gateway (docs/configuration.md, "Data-plane probes").
 * - A target is `alive` after an answer, `dead` after `failAfter` lost echoes in a row. A Connect peer
 *   is `dataplane-dead` while one of its sessions is Established and all its probes fail: logged,
 *   and with `withdrawOnFailure` our routes are withdrawn from its sessions (their export policy
 *   rejects everything) until an answer comes back.
 *
 * The ICMP codec and the per-target bookkeeping are pure (time passed in) so they are tested alone.
 */
import { createRequire } from 'node:module'
import { randomInt } from 'node:crypto'
import type { FamilyKey } from '../../bgp/codec/afi.js'
import type { RoutePolicy } from '../../bgp/rib/index.js'
import type { ProbesConfig, DaemonConfig } from '../config/model.js'
import { formatIpv4, ipv4Word, parseIpv4 } from '../lib/address.js'
import { greLinkName } from '../../gre/index.js'
import type { DaemonLogger } from './daemon.js'
import type { ConnectPeerDataplaneState, ProbeKind, ProbeReport, ProbeTargetReport, ProbeTargetState } from '../api/view.js'

export type { ConnectPeerDataplaneState, ConnectPeerProbeReport, ProbeKind, ProbeReport, ProbeTargetReport, ProbeTargetState } from '../api/view.js'

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

/** An ICMP echo request (RFC 792): type 8, code 0, checksum, identifier, sequence number, payload. */
export function encodeEchoRequest(id: number, seq: number, payload: Buffer = PAYLOAD): Buffer {
  const b = Buffer.alloc(8 + payload.length)
  b[0] = ICMP_ECHO_REQUEST
  b.writeUInt16BE(id & 0xffff, 4)
  b.writeUInt16BE(seq & 0xffff, 6)
  payload.copy(b, 8)
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

// ---------------------------------------------------------------- bookkeeping (pure)

/** The echoes of one target: sent, answered, lost; the state follows from them. */
export class ProbeTarget {
  state: ProbeTargetState = 'pending'
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
      kind: this.kind, address: this.address, via: this.via, state: this.state, since: this.since,
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
  Protocol: { ICMP: number }
  AddressFamily: { IPv4: number }
  SocketLevel: { SOL_SOCKET: number; IPPROTO_IP: number }
  SocketOption: { IP_HDRINCL: number }
}
/** Linux's SO_BINDTODEVICE (asm-generic/socket.h); raw-socket passes any option number through. */
const SO_BINDTODEVICE = 25

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
  private readonly cpStates = new Map<string, { state: ConnectPeerDataplaneState; since: number; withdrawn: boolean }>()
  private tgwSocket: RawSocket | undefined
  private vnSocket: RawSocket | undefined
  private socketError: string | undefined
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
    this.config = next
    this.syncTargets()
    if (this.stopped) return
    if (!next.probes.enabled) { this.stopProbing(); return }
    // the tunnel socket exists only while there are tunnel targets
    const vnSocketWanted = next.probes.targets.length > 0 && this.socketError === undefined
    if (!prev.probes.enabled || this.timer === undefined || vnSocketWanted !== (this.vnSocket !== undefined)) { this.stopProbing(); this.start(); return }
    if (prev.probes.interval !== next.probes.interval) this.schedule()
    this.evaluate()
  }

  /** Sessions were re-created (a reload resets peers with their configured export policy): a
   * withdrawal in force is applied to them again. */
  reapplyWithdrawals(): void {
    for (const [cp, s] of this.cpStates) if (s.withdrawn) this.setWithdrawn(cp, true)
  }

  stop(): void {
    this.stopped = true
    this.stopProbing()
  }

  private stopProbing(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    for (const s of [this.tgwSocket, this.vnSocket]) {
      try { s?.close() } catch { /* already closed */ }
    }
    this.tgwSocket = undefined
    this.vnSocket = undefined
    this.inFlight.clear()
  }

  /** The wanted targets: the Connect peers' IPv4 BGP addresses and `probes.targets`; kept ones keep their counts. */
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
    for (const cp of this.config.tgw.connectPeers) for (const a of cp.bgpPeerAddresses) if (!a.includes(':')) keep('tgw', a, cp.id)
    for (const x of p.targets) keep('vn', x.address, x.vrouter)
    this.targets = next
    for (const [seq, f] of this.inFlight) if (![...next.values()].includes(f.target)) this.inFlight.delete(seq)
    const cps = new Set(this.config.tgw.connectPeers.map((cp) => cp.id))
    for (const cp of [...this.cpStates.keys()]) if (!cps.has(cp)) this.cpStates.delete(cp)
  }

  private openSockets(): void {
    if (this.raw === undefined) { this.socketError = 'the raw-socket package did not load'; return }
    const vrf = this.config.dataplane === 'kernel' ? this.config.gatewayTable.vrf : undefined
    try {
      this.tgwSocket = this.openSocket(this.raw, vrf, false)
      if (this.probes.targets.length > 0) this.vnSocket = this.openSocket(this.raw, vrf, true)
      this.socketError = undefined
    } catch (e) {
      this.socketError = (e as Error).message
      this.log.error({ err: e, ...(vrf !== undefined ? { vrf } : {}) }, 'data-plane probes unavailable: no raw ICMP socket (CAP_NET_RAW needed)')
    }
  }

  private openSocket(raw: RawSocketModule, vrf: string | undefined, headerIncluded: boolean): RawSocket {
    const s = raw.createSocket({ protocol: raw.Protocol.ICMP, addressFamily: raw.AddressFamily.IPv4 })
    if (vrf !== undefined) {
      const name = Buffer.from(`${vrf}\0`)
      s.setOption(raw.SocketLevel.SOL_SOCKET, SO_BINDTODEVICE, name, name.length)
    }
    if (headerIncluded) s.setOption(raw.SocketLevel.IPPROTO_IP, raw.SocketOption.IP_HDRINCL, 1)
    s.on('message', (b) => this.onPacket(b))
    s.on('error', (e) => this.log.warn({ err: e }, 'probe socket error'))
    return s
  }

  private onPacket(b: Buffer): void {
    const r = decodeEchoReply(b)
    if (r === undefined || r.id !== this.id) return
    const f = this.inFlight.get(r.seq)
    // both sockets see every echo reply: the first one to arrive settles it
    if (f === undefined || f.target.address !== r.source) return
    this.inFlight.delete(r.seq)
    const rttMs = this.monotonic() - f.sentAt
    const was = f.target.state
    f.target.answered(rttMs, this.now())
    if (was !== 'alive') this.log.info({ kind: f.target.kind, target: f.target.address, via: f.target.via, rttMs }, 'probe target answers')
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
      const socket = t.kind === 'tgw' ? this.tgwSocket : this.vnSocket
      if (socket === undefined) { t.idle('unavailable', now); continue }
      const tunnel = t.kind === 'tgw' ? this.host.hasGreLink(t.via) : vrouters.has(t.via)
      if (!tunnel) { t.idle('no-tunnel', now); continue }
      // at most one echo in flight per target: a timeout above the interval slows the probes down
      if ([...this.inFlight.values()].some((f) => f.target === t)) continue
      this.send(socket, t, now, mono)
    }
    this.evaluate()
  }

  private send(socket: RawSocket, t: ProbeTarget, now: number, mono: number): void {
    this.seq = (this.seq + 1) & 0xffff
    const seq = this.seq
    const echo = encodeEchoRequest(this.id, seq)
    const source = this.probes.source
    const packet = t.kind === 'vn' && source !== undefined ? Buffer.concat([ipv4Header(source, t.address), echo]) : echo
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
    if (was !== 'dead' && t.state === 'dead') this.log.warn({ kind: t.kind, target: t.address, via: t.via, lost: this.probes.failAfter, ...(error !== undefined ? { error } : {}) }, 'probe target stopped answering')
  }

  /** Connect peers' states from their sessions and probes; logs transitions, withdraws and restores. */
  private evaluate(): void {
    const now = this.now()
    for (const cp of this.config.tgw.connectPeers) {
      const states = [...this.targets.values()].filter((t) => t.kind === 'tgw' && t.via === cp.id).map((t) => t.state)
      const state = this.probes.enabled ? connectPeerState(this.host.bgpUp(cp.id), states) : 'unavailable'
      const prev = this.cpStates.get(cp.id)
      const link = greLinkName(cp.id)
      if (prev === undefined || prev.state !== state) {
        if (state === 'dataplane-dead') this.log.warn({ connectPeer: cp.id, link, targets: cp.bgpPeerAddresses.filter((a) => !a.includes(':')) }, 'BGP up but data plane dead: no probe through the Connect peer answers')
        else if (prev?.state === 'dataplane-dead') this.log.info({ connectPeer: cp.id, link, state }, 'Connect peer data plane no longer dead')
        this.cpStates.set(cp.id, { state, since: now, withdrawn: prev?.withdrawn ?? false })
      }
      // withdrawn while every probe fails (whatever BGP does), back at the first answer
      const wantWithdrawn = this.probes.enabled && this.probes.withdrawOnFailure && states.length > 0 && states.every((s) => s === 'dead')
      const cur = this.cpStates.get(cp.id)!
      if (cur.withdrawn !== wantWithdrawn) {
        this.setWithdrawn(cp.id, wantWithdrawn)
        cur.withdrawn = wantWithdrawn
        if (wantWithdrawn) this.log.warn({ connectPeer: cp.id, link }, 'routes withdrawn from the Connect peer\'s sessions while its probes fail')
        else this.log.info({ connectPeer: cp.id, link }, 'routes advertised to the Connect peer again: its probes answer')
      }
    }
  }

  private setWithdrawn(connectPeer: string, withdrawn: boolean): void {
    for (const s of this.host.sessionsOf(connectPeer)) {
      for (const f of s.families) this.host.setExportPolicy(s.name, f, withdrawn ? rejectAll : this.host.normalExportPolicy)
    }
  }

  report(): ProbeReport {
    const targets = [...this.targets.values()].map((t) => {
      const r = t.report()
      return this.socketError !== undefined && r.state === 'unavailable' ? { ...r, lastError: this.socketError } : r
    })
    return {
      enabled: this.probes.enabled,
      intervalSeconds: this.probes.interval,
      targets,
      connectPeers: this.config.tgw.connectPeers.map((cp) => {
        const s = this.cpStates.get(cp.id)
        return { connectPeer: cp.id, link: greLinkName(cp.id), state: s?.state ?? 'pending', since: s?.since ?? this.now(), withdrawn: s?.withdrawn ?? false }
      }),
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
