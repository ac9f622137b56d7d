/**
 * The session runner: one BGP peer over node:net, driving the pure state machine of bgp/fsm with
 * real sockets and timers (RFC 4271 section 8), and the codec for every message.
 *
 * - Active and passive peers: outgoing connections bound to an optional local address/port, incoming
 *   ones handed over by a shared BgpListener (dispatched by source address).
 * - Connection collisions (RFC 4271 6.8): an incoming connection that arrives while ours is being
 *   set up gets a machine of its own; when an OPEN arrives and the other connection has one too
 *   (OpenSent with its OPEN known from this very peer, OpenConfirm, or Established when
 *   `collisionDetectEstablishedState`), bgp/fsm's collisionLoser picks the one to close with Cease 7.
 *   An incoming connection while Established is refused (Cease 5) unless collision detection in
 *   Established is configured, or graceful restart was negotiated: then the new connection's OPEN
 *   decides (RFC 4724 4.2). With the R bit the peer restarted and the new connection replaces the
 *   old session (the helper keeps its routes stale); without it this is the peer's side of a
 *   collision and the new connection is closed (Cease 7), while a KEEPALIVE on the old connection
 *   asks whether it still has another end. Never on the TCP connection alone: a live peer's late
 *   connection attempt would flap the session and make a helper flush the routes it kept.
 * - TTL: we send with `ttl` when configured, else 1 on eBGP sessions (directly connected, what every
 *   daemon does by default) and the system default (64) on iBGP. Multihop eBGP (the TGW) sets ttl 2.
 *   GTSM (RFC 5082) when `gtsmHops` is set: TTL 255 out, IP_MINTTL 256 - hops in. See
 *   socket-options.ts for what the handshake packets carry.
 * - Hold timer (BIRD's check): before declaring the peer dead, look for input we have not processed
 *   yet: bytes in the framer or in the socket's buffer mean the peer is talking (postpone by up to
 *   10 s), and one pass through the event loop's poll phase (setImmediate) lets data already queued
 *   in the kernel be read first, since Node runs due timers before it polls sockets.
 * - Errors: a codec BgpError with action `session-reset` becomes the FSM event that sends its
 *   NOTIFICATION (header, OPEN, UPDATE errors); RFC 7606 outcomes that keep the session are handed up
 *   as `update-issues` reports. Administrative shutdown carries an RFC 9003 message.
 * - UPDATEs: handed raw (buffer, offset, length, codec context) to `updateSink` so the RIB can use
 *   the codec's bulk path; without a sink they are decoded here and emitted as `update` events.
 *   End-of-RIB markers (RFC 4724 2) are recognised from the raw bytes and emitted as `end-of-rib`,
 *   not passed to the sink.
 * - Next hops (RFC 4271 6.3, RFC 7606 7.3): every next hop the peer gives us is checked for a martian
 *   (next-hop.ts) by a guard made when the connection is established (it knows our address on it);
 *   the bulk path asks it through the sink, the object path here. A martian makes the UPDATE
 *   treat-as-withdraw and is reported like any other RFC 7606 outcome.
 * - Statistics per peer: messages in/out by type, uptime, flaps, last error, last NOTIFICATION each
 *   way, negotiated capabilities and timers, socket and internal errors.
 * - Logging: through a BgpLogger passed in (session.ts never drops an error silently: socket errors
 *   and our own failures are logged and counted even when nobody listens to 'error').
 */
import { EventEmitter } from 'node:events'
import net from 'node:net'
import { step, collisionLoser, defaultFsmConfig, initialFsmState, States } from '../fsm/index.js'
import type { FsmAction, FsmConfig, FsmEvent, FsmState, State, StopReason, TimerName } from '../fsm/index.js'
import { Family, familyKey, type FamilyKey } from '../codec/afi.js'
import type { CodecContext } from '../codec/context.js'
import { ErrorCode, isBgpError } from '../codec/errors.js'
import { Framer } from '../codec/framer.js'
import { HEADER_LENGTH, MessageType, writeHeader } from '../codec/header.js'
import { KEEPALIVE_BYTES } from '../codec/keepalive.js'
import { chargeRead } from './read-budget.js'
import { decodeFramed, encodeMessage } from '../codec/message.js'
import {
  describeNotification,
  shutdownNotification,
  truncateUtf8,
  type NotificationMessage,
} from '../codec/notification.js'
import type { OpenMessage } from '../codec/open.js'
import type { RouteRefreshMessage } from '../codec/route-refresh.js'
import { BgpFamilyError, type UpdateIssue, type UpdateMessage } from '../codec/update.js'
import { silentLogger, type BgpLogger } from './logger.js'
import { martianIssue, NextHopGuard, type NextHopClass } from './next-hop.js'
import type { BgpListener } from './listener.js'
import { normalizeAddress } from './listener.js'
import { buildOpen, negotiate, summarizeNegotiated } from './negotiate.js'
import type { LocalCapabilities, Negotiated, NegotiatedSummary } from './negotiate.js'
import { applyTtlPolicy, deviceNameProblem, getMinTtl, getTtl, gtsmMinTtl } from './socket-options.js'
import { boundDevice, nativeAvailable, nativeConnect, socketFd } from '../../native/index.js'
import { closeSync } from 'node:fs'

export interface SessionConfig extends LocalCapabilities {
  /** For logs and metrics; default the peer address. */
  readonly name?: string
  readonly peerAddress: string
  readonly peerAs: number
  /** Default 179. */
  readonly peerPort?: number
  /** Source address of outgoing connections. */
  readonly localAddress?: string
  /** Source port of outgoing connections (default ephemeral). */
  readonly localPort?: number
  /** Never connect; wait for the peer (needs a listener). */
  readonly passive?: boolean
  /** TTL we send; default 1 for eBGP, system default for iBGP. Ignored with gtsmHops. */
  readonly ttl?: number
  /** GTSM (RFC 5082): the peer is this many hops away; we send 255 and require 256 - hops. */
  readonly gtsmHops?: number
  /** RFC 2385 TCP-MD5 password (at most 80 bytes); needs the native addon. */
  readonly md5Password?: string
  /**
   * Bind outgoing connections to this device (SO_BINDTODEVICE, before connect(); needs the native
   * addon): a session to the TGW runs inside the gateway VRF, so its SYN must be routed by the VRF's
   * table. Incoming connections come bound through a listener with the same `bindDevice`.
   */
  readonly bindDevice?: string
  readonly minHoldTime?: number
  readonly allowHoldTimeZero?: boolean
  readonly keepaliveTime?: number
  /** Seconds; fractions allowed (tests). Default 30 (RFC 4271 suggests 120; too slow for a gateway). */
  readonly connectRetryTime?: number
  readonly delayOpen?: boolean
  readonly delayOpenTime?: number
  readonly idleHoldTime?: number
  readonly idleHoldTimeMax?: number
  readonly stableTime?: number
  readonly collisionDetectEstablishedState?: boolean
  /** BIRD's unread-input check before the hold timer fires (default true; off only to test it). */
  readonly holdTimerInputCheck?: boolean
  /** Martian next-hop classes accepted from this peer anyway (next-hop.ts; default none). */
  readonly allowNextHops?: readonly NextHopClass[]
  /** Addresses of ours besides the connection's local one that a received next hop may not be
   * (our configured IPv6 next hop). */
  readonly localNextHops?: readonly string[]
  /** Raw UPDATE consumer (see the module doc). May throw BgpError; may return RFC 7606 reports.
   * `nextHops` judges the UPDATE's next hops (pass it to the bulk decoder's sink). */
  readonly updateSink?: (buf: Uint8Array, offset: number, length: number, ctx: CodecContext, nextHops: NextHopGuard) => readonly UpdateIssue[] | void
}

export type MessageKind = 'open' | 'update' | 'notification' | 'keepalive' | 'routeRefresh'
export type MessageCounts = Record<MessageKind, number>

export interface NotificationRecord {
  readonly code: number
  readonly subcode: number
  readonly description: string
  readonly message?: string
  readonly at: number
}

export interface SessionStats {
  readonly name: string
  readonly peerAddress: string
  readonly state: State
  /** Milliseconds since the epoch of the last state change. */
  readonly stateSince: number
  readonly establishedAt?: number
  readonly uptimeMs: number
  readonly flaps: number
  readonly connectRetryCounter: number
  readonly messagesIn: MessageCounts
  readonly messagesOut: MessageCounts
  readonly lastError?: { readonly reason: StopReason; readonly at: number; readonly detail?: string }
  readonly lastNotificationSent?: NotificationRecord
  readonly lastNotificationReceived?: NotificationRecord
  readonly negotiated?: NegotiatedSummary
  /** Of the established (or most advanced) connection. */
  readonly connection?: {
    readonly direction: 'outgoing' | 'incoming'
    readonly localAddress: string
    readonly localPort: number
    readonly remotePort: number
    /** TTL we send and the minimum we accept, read back from the kernel (getsockopt). */
    readonly ttl: number
    readonly minTtl: number
    /** The device the socket is bound to (SO_BINDTODEVICE read back); '' when none or unknown. */
    readonly device: string
  }
  /** Connections closed by collision resolution. */
  readonly collisions: number
  /** Socket errors (resets, refused and failed connects) and errors of our own making. */
  readonly errors: { readonly socket: number; readonly internal: number }
}

export interface SessionEvents {
  state: [{ from: State; to: State; reason?: StopReason }]
  established: [Negotiated]
  down: [{ reason: StopReason; from: State; wasEstablished: boolean; detail?: string }]
  /** Decoded UPDATE, when no updateSink is configured. */
  update: [UpdateMessage]
  'update-issues': [readonly UpdateIssue[]]
  'end-of-rib': [FamilyKey]
  'route-refresh': [RouteRefreshMessage]
  'notification-received': [NotificationMessage]
  'notification-sent': [NotificationMessage]
  /**
   * One of two colliding connections was closed (6.8): by comparing BGP identifiers, or because the
   * other one was already Established (and collision detection in Established is off).
   */
  collision: [{ closed: 'outgoing' | 'incoming'; by: 'identifier' | 'established' }]
  /** The established connection's socket buffer drained (see writeBacklog). */
  drain: []
  /** Errors of our own making (a listener of this event keeps them from being thrown). */
  error: [Error]
}

type Direction = 'outgoing' | 'incoming'

/** One TCP connection and the state machine that drives it. */
class Connection {
  fsm: FsmState
  socket: net.Socket | undefined
  direction: Direction
  framer = new Framer()
  readonly timers = new Map<TimerName, NodeJS.Timeout>()
  /** Bumped on every (re)start of a timer: a deferred hold check compares it. */
  holdGeneration = 0
  negotiated: Negotiated | undefined
  /** Martian next-hop check, made when the connection is established. */
  nextHops: NextHopGuard | undefined
  peerOpen: OpenMessage | undefined
  connected = false
  /** A native connect is in flight (no socket yet); its id, to ignore results of older attempts. */
  pendingAttempt = 0
  attempt = 0
  constructor(fsm: FsmState, direction: Direction) {
    this.fsm = fsm
    this.direction = direction
  }
}

const zeroCounts = (): MessageCounts => ({ open: 0, update: 0, notification: 0, keepalive: 0, routeRefresh: 0 })
const rank = (s: State): number => States.indexOf(s)

const kindOfType: Record<number, MessageKind> = {
  [MessageType.Open]: 'open',
  [MessageType.Update]: 'update',
  [MessageType.Notification]: 'notification',
  [MessageType.Keepalive]: 'keepalive',
  [MessageType.RouteRefresh]: 'routeRefresh',
}

export class Session extends EventEmitter<SessionEvents> {
  readonly config: SessionConfig
  readonly fsmConfig: FsmConfig
  readonly name: string
  readonly peerAddress: string
  private ourOpen: OpenMessage
  private readonly ebgp: boolean
  private conns: Connection[]
  private readonly listener: BgpListener | undefined
  private stateValue: State = 'Idle'
  private stateSince = Date.now()
  private establishedAt: number | undefined
  private flaps = 0
  private collisions = 0
  private readonly messagesIn = zeroCounts()
  private readonly messagesOut = zeroCounts()
  private lastError: SessionStats['lastError']
  private lastNotificationSent: NotificationRecord | undefined
  private lastNotificationReceived: NotificationRecord | undefined
  private destroyed = false
  private idleWaiters: (() => void)[] = []
  private readonly log: BgpLogger
  private socketErrors = 0
  private internalErrors = 0

  constructor(config: SessionConfig, options: { listener?: BgpListener; logger?: BgpLogger } = {}) {
    super()
    if (net.isIP(config.peerAddress) === 0) throw new RangeError(`peerAddress ${JSON.stringify(config.peerAddress)}: not an IP address`)
    if (config.localAddress !== undefined && net.isIP(config.localAddress) === 0) {
      throw new RangeError(`localAddress ${JSON.stringify(config.localAddress)}: not an IP address`)
    }
    if (!Number.isInteger(config.peerAs) || config.peerAs < 1 || config.peerAs > 0xffffffff) throw new RangeError(`peerAs ${config.peerAs}: must be 1..4294967295`)
    if (config.passive === true && options.listener === undefined) throw new Error('a passive session needs a listener')
    this.config = config
    this.name = config.name ?? config.peerAddress
    this.log = options.logger ?? silentLogger
    // Fails here, at configuration, rather than at the first UPDATE.
    if (config.allowNextHops !== undefined) new NextHopGuard({ localAddresses: [], peerAddress: config.peerAddress, allow: config.allowNextHops })
    this.peerAddress = normalizeAddress(config.peerAddress)
    this.ebgp = config.peerAs !== config.localAs
    this.ourOpen = buildOpen(config) // validates hold time, families, GR
    this.fsmConfig = {
      ...defaultFsmConfig,
      connectRetryTime: config.connectRetryTime ?? 30,
      passive: config.passive === true,
      delayOpen: config.delayOpen === true,
      delayOpenTime: config.delayOpenTime ?? defaultFsmConfig.delayOpenTime,
      idleHoldTime: config.idleHoldTime ?? defaultFsmConfig.idleHoldTime,
      idleHoldTimeMax: config.idleHoldTimeMax ?? defaultFsmConfig.idleHoldTimeMax,
      stableTime: config.stableTime ?? defaultFsmConfig.stableTime,
      collisionDetectEstablishedState: config.collisionDetectEstablishedState === true,
    }
    this.conns = [new Connection(initialFsmState(this.fsmConfig), 'outgoing')]
    if (config.md5Password !== undefined && Buffer.byteLength(config.md5Password) > 80) {
      throw new RangeError('md5Password: at most 80 bytes (TCP_MD5SIG_MAXKEYLEN)')
    }
    if (config.bindDevice !== undefined) {
      const problem = deviceNameProblem(config.bindDevice)
      if (problem !== undefined) throw new RangeError(`bindDevice: ${problem}`)
    }
    this.listener = options.listener
    this.listener?.register(this)
    if (config.md5Password !== undefined) this.listener?.setMd5(config.peerAddress, config.md5Password)
  }

  /** Current state of the session: its most advanced connection's. */
  get state(): State {
    return this.stateValue
  }

  /** What was negotiated on the established connection. */
  get negotiated(): Negotiated | undefined {
    return this.conns.find((c) => c.fsm.state === 'Established')?.negotiated
  }

  /**
   * Changes the graceful restart capability of the OPENs we send from now on (RFC 4724): the
   * restarting speaker clears its R bit once its restart is over, and sets F bits only for the
   * forwarding state it really kept. The established connection keeps what it negotiated.
   */
  setGracefulRestart(gr: SessionConfig['gracefulRestart']): void {
    const { gracefulRestart: _old, ...rest } = this.config
    this.ourOpen = buildOpen(gr === undefined ? rest : { ...rest, gracefulRestart: gr })
  }

  /** Administrative up (ManualStart). */
  start(): void {
    if (this.destroyed) throw new Error(`session ${this.name}: destroyed`)
    this.feed(this.primary(), { type: 'ManualStart' })
  }

  /**
   * Administrative down (ManualStop): Cease / Administrative Shutdown (or Reset, subcode 4) with an
   * RFC 9003 message, cut to 255 bytes of UTF-8. Resolves once every connection is closed.
   */
  async stop(message?: string, subcode: 2 | 3 | 4 = 2): Promise<void> {
    const ev: FsmEvent = message === undefined ? { type: 'ManualStop', subcode } : { type: 'ManualStop', subcode, message: truncateUtf8(message) }
    for (const c of [...this.conns]) this.feed(c, ev)
    await this.whenClosed()
  }

  /** AutomaticStop, e.g. when the peer exceeds its maximum prefixes (Cease 1). */
  automaticStop(reason: 'max-prefix' | 'automatic-stop' = 'automatic-stop', data?: Uint8Array): void {
    const c = this.established()
    if (c !== undefined) this.feed(c, data === undefined ? { type: 'AutomaticStop', reason } : { type: 'AutomaticStop', reason, data })
  }

  /** Stops everything without telling the peer more than ManualStop does, and leaves the listener. */
  async destroy(message?: string): Promise<void> {
    if (this.destroyed) return
    await this.stop(message)
    this.destroyed = true
    for (const c of this.conns) {
      this.clearTimers(c)
      c.attempt++
    }
    this.listener?.unregister(this)
    if (this.config.md5Password !== undefined) {
      try {
        this.listener?.setMd5(this.config.peerAddress, '')
      } catch {
        // the listener may be closed already
      }
    }
  }

  /** Sends pre-encoded UPDATE message(s) (one or more whole messages back to back). */
  sendUpdate(bytes: Uint8Array, count = 1): boolean {
    const c = this.established()
    if (c === undefined) return false
    this.write(c, bytes)
    this.messagesOut.update += count
    // RFC 4271 4.4: each UPDATE sent restarts the keepalive timer.
    if (c.fsm.keepaliveTime > 0) this.startTimer(c, 'Keepalive', c.fsm.keepaliveTime)
    return true
  }

  /**
   * Bytes written to the established connection that the kernel has not taken yet. The RIB pauses
   * its UPDATE generation above a threshold and resumes on the `drain` event.
   */
  get writeBacklog(): number {
    return this.established()?.socket?.writableLength ?? 0
  }

  /** End-of-RIB for a family (RFC 4724 2). */
  sendEndOfRib(family: FamilyKey): boolean {
    return this.sendUpdate(endOfRibBytes(family))
  }

  /** ROUTE-REFRESH for a family, when the peer advertised the capability. */
  sendRouteRefresh(family: FamilyKey, subtype = 0): boolean {
    const c = this.established()
    if (c === undefined || c.negotiated?.routeRefresh !== true) return false
    const msg: RouteRefreshMessage = { type: 'route-refresh', afi: family >>> 8, safi: family & 0xff, subtype }
    this.write(c, encodeMessage(msg))
    this.messagesOut.routeRefresh++
    return true
  }

  stats(): SessionStats {
    const now = Date.now()
    const best = this.bestConnection()
    const sock = best?.socket
    const neg = best?.negotiated
    const s: SessionStats = {
      name: this.name,
      peerAddress: this.peerAddress,
      state: this.stateValue,
      stateSince: this.stateSince,
      ...(this.establishedAt !== undefined ? { establishedAt: this.establishedAt } : {}),
      uptimeMs: this.establishedAt !== undefined ? now - this.establishedAt : 0,
      flaps: this.flaps,
      connectRetryCounter: this.primary().fsm.connectRetryCounter,
      messagesIn: { ...this.messagesIn },
      messagesOut: { ...this.messagesOut },
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      ...(this.lastNotificationSent !== undefined ? { lastNotificationSent: this.lastNotificationSent } : {}),
      ...(this.lastNotificationReceived !== undefined ? { lastNotificationReceived: this.lastNotificationReceived } : {}),
      ...(neg !== undefined && best?.fsm.state === 'Established' ? { negotiated: summarizeNegotiated(neg) } : {}),
      ...(best !== undefined && sock !== undefined && best.connected
        ? {
            connection: {
              direction: best.direction,
              localAddress: normalizeAddress(sock.localAddress ?? ''),
              localPort: sock.localPort ?? 0,
              remotePort: sock.remotePort ?? 0,
              ttl: safe(() => getTtl(sock)),
              minTtl: safe(() => getMinTtl(sock)),
              device: socketDevice(sock),
            },
          }
        : {}),
      collisions: this.collisions,
      errors: { socket: this.socketErrors, internal: this.internalErrors },
    }
    return s
  }

  /** Called by the listener for a connection from our peer's address. */
  acceptIncoming(socket: net.Socket): void {
    const p = this.primary()
    const state = p.fsm.state
    if (this.destroyed || state === 'Idle') {
      socket.destroy() // RFC 4271 8.2.2: Idle refuses all incoming connections
      return
    }
    if (state === 'Active' && p.socket === undefined) {
      this.attach(p, socket, 'incoming')
      this.feed(p, { type: 'TcpConnectionConfirmed' })
      return
    }
    const est = this.established()
    const graceful = est !== undefined && est.negotiated?.gracefulRestart !== undefined && this.conns.length === 1
    if (est !== undefined && graceful) {
      // A new connection while the session is Established with graceful restart: either the peer
      // restarted before we saw the old connection die (RFC 4724 4.2), or it is the peer's own
      // connection attempt from a collision it has already settled (it closes it, or sends an OPEN
      // without the R bit). Which one is decided by the new connection's OPEN (onOpen), never by the
      // TCP connection alone: ending the session here would flap a live session, and a peer that is
      // a graceful-restart helper would then flush the routes it kept stale. Meanwhile a KEEPALIVE on
      // the old connection asks whether its other end still exists: a rebooted host answers with a
      // reset, which ends the old session at once.
      this.probe(est)
    }
    if (this.conns.length >= 2 || (state === 'Established' && !graceful && !this.fsmConfig.collisionDetectEstablishedState)) {
      // RFC 4271 6.8: a new connection against an Established one is closed (Cease 5, RFC 4486).
      const n: NotificationMessage = { type: 'notification', code: ErrorCode.Cease, subcode: 5, data: new Uint8Array(0) }
      socket.on('error', () => {}) // a reset from the refused peer must not become an uncaught error
      socket.resume()
      socket.end(encodeMessage(n))
      setTimeout(() => socket.destroy(), 1000).unref()
      this.messagesOut.notification++
      this.recordSent(n)
      return
    }
    // A second connection while ours is being set up: give it a machine of its own (6.8).
    const started = step(initialFsmState(this.fsmConfig), { type: 'ManualStart_with_PassiveTcpEstablishment' }, this.fsmConfig)
    const c = new Connection(started.state, 'incoming')
    this.conns.push(c)
    this.run(c, started.actions.filter((a) => a.type !== 'release-resources'))
    this.attach(c, socket, 'incoming')
    this.feed(c, { type: 'TcpConnectionConfirmed' })
  }

  // ------------------------------------------------------------------ machine plumbing

  private primary(): Connection {
    return this.conns[0] as Connection
  }

  private established(): Connection | undefined {
    return this.conns.find((c) => c.fsm.state === 'Established')
  }

  private bestConnection(): Connection | undefined {
    let best: Connection | undefined
    for (const c of this.conns) if (best === undefined || rank(c.fsm.state) > rank(best.fsm.state)) best = c
    return best
  }

  /** Steps the connection's machine and performs the actions. */
  private feed(c: Connection, event: FsmEvent): void {
    if (!this.conns.includes(c)) return
    const r = step(c.fsm, event, this.fsmConfig)
    c.fsm = r.state
    let actions = r.actions
    const orphan = c.socket === undefined && c.pendingAttempt === 0 && (c.fsm.state === 'Connect' || c.fsm.state === 'Active')
    if ((c.fsm.state === 'Idle' || orphan) && this.conns.length > 1) {
      // Another connection carries on: this one just goes away, without a session-level "down"
      // unless it was the Established one (a restarted peer's new connection replaced it).
      actions = actions.filter((a) => !(a.type === 'down' && !a.wasEstablished) && !(a.type === 'start-timer' && a.timer === 'IdleHold'))
      this.run(c, actions)
      this.clearTimers(c)
      this.conns = this.conns.filter((x) => x !== c)
    } else {
      this.run(c, actions)
    }
    this.updateState(r.actions)
    this.checkClosed()
  }

  private updateState(actions: readonly FsmAction[]): void {
    const best = this.bestConnection()
    const next = best?.fsm.state ?? 'Idle'
    if (next === this.stateValue) return
    const from = this.stateValue
    this.stateValue = next
    this.stateSince = Date.now()
    const down = actions.find((a) => a.type === 'down')
    this.emit('state', down?.type === 'down' && next === 'Idle' ? { from, to: next, reason: down.reason } : { from, to: next })
  }

  private run(c: Connection, actions: readonly FsmAction[]): void {
    for (const a of actions) {
      switch (a.type) {
        case 'start-timer':
          this.startTimer(c, a.timer, a.seconds)
          break
        case 'stop-timer':
          this.stopTimer(c, a.timer)
          break
        case 'connect':
          this.connect(c)
          break
        case 'drop-connection':
          this.drop(c)
          break
        case 'reject-connection':
          break // incoming connections in Idle are refused in acceptIncoming
        case 'send-open':
          this.write(c, encodeMessage(this.ourOpen))
          this.messagesOut.open++
          break
        case 'send-keepalive':
          this.write(c, KEEPALIVE_BYTES)
          this.messagesOut.keepalive++
          break
        case 'send-notification': {
          let n: NotificationMessage =
            a.shutdownMessage !== undefined && (a.subcode === 2 || a.subcode === 4) && a.code === ErrorCode.Cease
              ? shutdownNotification(a.subcode, a.shutdownMessage)
              : { type: 'notification', code: a.code, subcode: a.subcode, data: a.data ?? new Uint8Array(0) }
          if (this.wantsHardReset(c, n)) n = hardReset(n)
          this.write(c, encodeMessage(n))
          this.messagesOut.notification++
          this.recordSent(n)
          break
        }
        case 'release-resources':
          if (a.deleteRoutes) c.negotiated = undefined
          break
        case 'established':
          this.establishedAt = Date.now()
          c.nextHops = new NextHopGuard({
            localAddresses: [...(c.socket?.localAddress !== undefined ? [normalizeAddress(c.socket.localAddress)] : []), ...(this.config.localAddress !== undefined ? [this.config.localAddress] : []), ...(this.config.localNextHops ?? [])],
            peerAddress: this.config.peerAddress,
            ...(this.config.allowNextHops !== undefined ? { allow: this.config.allowNextHops } : {}),
          })
          this.log.info({ direction: c.direction, holdTime: c.negotiated?.holdTime }, 'BGP session established')
          // The session's state says Established before listeners of 'established' run.
          this.updateState([])
          if (c.negotiated !== undefined) this.emit('established', c.negotiated)
          break
        case 'down':
          if (a.wasEstablished) {
            this.flaps++
            this.establishedAt = undefined
          }
        {
          const detail = this.pendingDetail
          this.pendingDetail = undefined
          this.lastError = detail === undefined ? { reason: a.reason, at: Date.now() } : { reason: a.reason, at: Date.now(), detail }
          if (a.wasEstablished) this.log.warn({ reason: a.reason, ...(detail !== undefined ? { detail } : {}) }, 'BGP session down')
          else this.log.debug({ reason: a.reason, from: a.from, ...(detail !== undefined ? { detail } : {}) }, 'BGP connection attempt ended')
          this.emit('down', detail === undefined
            ? { reason: a.reason, from: a.from, wasEstablished: a.wasEstablished }
            : { reason: a.reason, from: a.from, wasEstablished: a.wasEstablished, detail })
        }
          break
      }
    }
  }

  /**
   * RFC 8538 5: with the N bit exchanged, a NOTIFICATION would let the peer keep our routes as if we
   * restarted; the Cease subcodes that mean "really down" (maximum prefixes, administrative shutdown,
   * peer de-configured, administrative reset) go out wrapped in a Hard Reset so it flushes them.
   */
  private wantsHardReset(c: Connection, n: NotificationMessage): boolean {
    if (n.code !== ErrorCode.Cease || n.subcode < 1 || n.subcode > 4) return false
    const peerN = c.negotiated?.gracefulRestart?.notification === true
    const ourN = this.ourOpen.capabilities.some((cap) => cap.type === 'graceful-restart' && cap.notification === true)
    return peerN && ourN
  }

  private recordSent(n: NotificationMessage): void {
    this.lastNotificationSent = record(n)
    this.emit('notification-sent', n)
  }

  // ------------------------------------------------------------------ timers

  private startTimer(c: Connection, timer: TimerName, seconds: number): void {
    this.stopTimer(c, timer)
    if (timer === 'Hold') c.holdGeneration++
    const t = setTimeout(() => {
      c.timers.delete(timer)
      this.onTimer(c, timer)
    }, Math.max(0, seconds * 1000))
    c.timers.set(timer, t)
  }

  private stopTimer(c: Connection, timer: TimerName): void {
    const t = c.timers.get(timer)
    if (t !== undefined) {
      clearTimeout(t)
      c.timers.delete(timer)
    }
    if (timer === 'Hold') c.holdGeneration++
  }

  private clearTimers(c: Connection): void {
    for (const t of c.timers.values()) clearTimeout(t)
    c.timers.clear()
    c.holdGeneration++
  }

  private onTimer(c: Connection, timer: TimerName): void {
    switch (timer) {
      case 'ConnectRetry':
        return this.feed(c, { type: 'ConnectRetryTimer_Expires' })
      case 'Keepalive':
        return this.feed(c, { type: 'KeepaliveTimer_Expires' })
      case 'DelayOpen':
        return this.feed(c, { type: 'DelayOpenTimer_Expires' })
      case 'IdleHold':
        return this.feed(c, { type: 'IdleHoldTimer_Expires' })
      case 'Stable':
        return this.feed(c, { type: 'StableTimer_Expires' })
      case 'Hold':
        return this.onHoldTimer(c)
    }
  }

  /** BIRD's check (see the module doc) before HoldTimer_Expires. */
  private onHoldTimer(c: Connection): void {
    if (this.config.holdTimerInputCheck === false) return this.feed(c, { type: 'HoldTimer_Expires' })
    const pending = c.framer.hasBufferedInput() || (c.socket !== undefined && c.socket.readableLength > 0)
    if (pending) {
      // The peer is mid-message or we are behind: give it (and us) a little longer.
      this.startTimer(c, 'Hold', Math.min(10, Math.max(1, c.fsm.holdTime)))
      return
    }
    const generation = c.holdGeneration
    setImmediate(() => {
      // Input that waited in the kernel was read in the poll phase; a message restarted the timer.
      if (c.holdGeneration !== generation || !this.conns.includes(c)) return
      this.feed(c, { type: 'HoldTimer_Expires' })
    })
  }

  // ------------------------------------------------------------------ sockets

  private connect(c: Connection): void {
    this.drop(c)
    if (this.config.md5Password !== undefined || this.config.gtsmHops !== undefined || this.config.bindDevice !== undefined) {
      return this.connectNative(c)
    }
    const opts: net.NetConnectOpts = { host: this.config.peerAddress, port: this.config.peerPort ?? 179, noDelay: true }
    if (this.config.localAddress !== undefined) opts.localAddress = this.config.localAddress
    if (this.config.localPort !== undefined) opts.localPort = this.config.localPort
    const socket = net.connect(opts)
    this.attach(c, socket, 'outgoing')
    socket.once('connect', () => {
      if (c.socket !== socket) return
      c.connected = true
      if (!this.applySocketOptions(c, socket)) return
      this.feed(c, { type: 'Tcp_CR_Acked' })
    })
  }

  /**
   * Outgoing connection through the native addon: TCP-MD5 key, GTSM TTL and the bound device are on
   * the socket before the SYN leaves (Node's net API only gives a descriptor after connect()).
   */
  private connectNative(c: Connection): void {
    const id = ++c.attempt
    c.pendingAttempt = id
    const gtsm = this.config.gtsmHops
    nativeConnect({
      remoteAddress: this.config.peerAddress,
      remotePort: this.config.peerPort ?? 179,
      ...(this.config.localAddress !== undefined ? { localAddress: this.config.localAddress } : {}),
      ...(this.config.localPort !== undefined ? { localPort: this.config.localPort } : {}),
      ...(this.config.md5Password !== undefined ? { md5Key: this.config.md5Password } : {}),
      ...(gtsm !== undefined ? { ttl: 255, minTtl: gtsmMinTtl(gtsm) } : {}),
      ...(this.config.bindDevice !== undefined ? { bindDevice: this.config.bindDevice } : {}),
      timeoutMs: Math.max(1000, Math.round(this.fsmConfig.connectRetryTime * 1000)),
    }).then(
      (fd) => {
        if (c.attempt !== id || !this.conns.includes(c) || c.fsm.state !== 'Connect') {
          closeSync(fd)
          return
        }
        c.pendingAttempt = 0
        const socket = new net.Socket({ fd, readable: true, writable: true })
        this.attach(c, socket, 'outgoing')
        c.connected = true
        if (!this.applySocketOptions(c, socket)) return
        this.feed(c, { type: 'Tcp_CR_Acked' })
      },
      (err: NodeJS.ErrnoException) => {
        if (c.attempt !== id) return
        c.pendingAttempt = 0
        this.socketError(err, 'outgoing')
        this.pendingDetail = err.code ?? err.message
        this.feed(c, { type: 'TcpConnectionFails', refused: true })
      },
    )
  }

  /** Adopts a socket for a connection and wires its events to the machine. */
  private attach(c: Connection, socket: net.Socket, direction: Direction): void {
    c.socket = socket
    c.direction = direction
    c.framer = new Framer()
    c.negotiated = undefined
    c.peerOpen = undefined
    c.connected = direction === 'incoming'
    socket.on('data', (chunk: Buffer) => {
      if (c.socket !== socket) return
      chargeRead(socket, chunk.length)
      this.onData(c, chunk)
    })
    socket.on('drain', () => {
      if (c.socket === socket && c.fsm.state === 'Established') this.emit('drain')
    })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (c.socket !== socket) return
      this.socketError(err, c.direction)
      this.lastErrorDetail(err.code ?? err.message)
    })
    socket.on('close', () => {
      if (c.socket !== socket) return
      const wasConnected = c.connected
      c.socket = undefined
      c.connected = false
      this.feed(c, { type: 'TcpConnectionFails', refused: !wasConnected })
    })
    if (direction === 'incoming') {
      // A failure destroys the socket; its close event then tells the machine.
      if (!this.applySocketOptions(c, socket)) return
      socket.setNoDelay(true)
      socket.resume()
    }
  }

  private applySocketOptions(c: Connection, socket: net.Socket): boolean {
    try {
      const ttl = this.config.ttl ?? (this.ebgp ? 1 : undefined)
      applyTtlPolicy(socket, { ttl, gtsmHops: this.config.gtsmHops })
      return true
    } catch (e) {
      this.emitError(new Error(`session ${this.name}: setting socket options failed: ${(e as Error).message}`))
      socket.destroy()
      return false
    }
  }

  private lastErrorDetail(detail: string): void {
    this.pendingDetail = detail
  }
  private pendingDetail: string | undefined

  /** Closes the connection's socket after what was queued (a NOTIFICATION) is flushed. */
  private drop(c: Connection): void {
    if (c.pendingAttempt !== 0) {
      c.attempt++ // a native connect in flight: its result will be closed on arrival
      c.pendingAttempt = 0
    }
    const socket = c.socket
    if (socket === undefined) return
    c.socket = undefined
    c.connected = false
    socket.removeAllListeners('data')
    socket.on('error', () => {})
    this.closing.add(socket)
    socket.end()
    const t = setTimeout(() => socket.destroy(), 1000)
    t.unref()
    socket.once('close', () => {
      clearTimeout(t)
      this.closing.delete(socket)
      this.checkClosed()
    })
    if (socket.closed) {
      this.closing.delete(socket)
    }
  }

  /** Sockets being closed after a drop (their NOTIFICATION still flushing). */
  private readonly closing = new Set<net.Socket>()

  private isClosed(): boolean {
    return this.stateValue === 'Idle' && this.closing.size === 0 && this.conns.every((x) => x.socket === undefined)
  }

  private checkClosed(): void {
    if (this.idleWaiters.length > 0 && this.isClosed()) this.flushIdleWaiters()
  }

  /** An extra KEEPALIVE (harmless, RFC 4271 4.4) to learn whether the connection's other end still exists. */
  private probe(c: Connection): void {
    this.write(c, KEEPALIVE_BYTES)
    this.messagesOut.keepalive++
  }

  private write(c: Connection, bytes: Uint8Array): void {
    const s = c.socket
    if (s === undefined || s.destroyed || !s.writable) return
    s.write(bytes)
  }

  private whenClosed(): Promise<void> {
    if (this.isClosed()) return Promise.resolve()
    return new Promise((r) => this.idleWaiters.push(r))
  }

  private flushIdleWaiters(): void {
    const w = this.idleWaiters
    this.idleWaiters = []
    for (const f of w) setImmediate(f)
  }

  /** Every socket error is counted and logged (the FSM sees the close that follows). */
  private socketError(err: NodeJS.ErrnoException, direction: Direction): void {
    this.socketErrors++
    this.log.warn({ err: { code: err.code, message: err.message }, direction, state: this.stateValue }, 'BGP socket error')
  }

  /** Errors of our own making: counted and logged always, emitted when someone listens. */
  private emitError(e: Error): void {
    this.internalErrors++
    this.log.error({ err: { message: e.message } }, 'BGP session error')
    if (this.listenerCount('error') > 0) this.emit('error', e)
  }

  // ------------------------------------------------------------------ messages in

  private onData(c: Connection, chunk: Buffer): void {
    c.framer.push(chunk)
    try {
      while (c.socket !== undefined && c.framer.next()) {
        this.onMessage(c, c.framer.type, c.framer.buf, c.framer.offset, c.framer.length)
      }
    } catch (e) {
      if (!isBgpError(e)) throw e
      this.feed(c, { type: 'BGPHeaderErr', notification: e })
    }
  }

  private onMessage(c: Connection, type: number, buf: Uint8Array, offset: number, length: number): void {
    const kind = kindOfType[type]
    if (kind !== undefined) this.messagesIn[kind]++
    switch (type) {
      case MessageType.Open:
        return this.onOpen(c, buf, offset, length)
      case MessageType.Keepalive:
        return this.feed(c, { type: 'KeepAliveMsg' })
      case MessageType.Notification: {
        const n = decodeFramed(type, buf, offset, length) as NotificationMessage
        this.lastNotificationReceived = record(n)
        this.emit('notification-received', n)
        const versionError = n.code === ErrorCode.OpenMessage && n.subcode === 1
        return this.feed(c, { type: versionError ? 'NotifMsgVerErr' : 'NotifMsg' })
      }
      case MessageType.Update:
        return this.onUpdate(c, buf, offset, length)
      case MessageType.RouteRefresh:
        return this.onRouteRefresh(c, buf, offset, length)
    }
  }

  private onOpen(c: Connection, buf: Uint8Array, offset: number, length: number): void {
    const st = c.fsm.state
    if (st !== 'OpenSent' && !((st === 'Connect' || st === 'Active') && c.fsm.delayOpenRunning)) {
      // Unexpected here: the machine answers with the right FSM error.
      return this.feed(c, { type: 'BGPOpen', holdTime: 0 })
    }
    let open: OpenMessage
    let neg: Negotiated
    try {
      open = decodeFramed(MessageType.Open, buf, offset, length) as OpenMessage
      const expect = {
        peerAs: this.config.peerAs,
        ...(this.config.minHoldTime !== undefined ? { minHoldTime: this.config.minHoldTime } : {}),
        ...(this.config.allowHoldTimeZero !== undefined ? { allowHoldTimeZero: this.config.allowHoldTimeZero } : {}),
        ...(this.config.keepaliveTime !== undefined ? { keepaliveTime: this.config.keepaliveTime } : {}),
      }
      neg = negotiate(this.ourOpen, open, expect)
    } catch (e) {
      if (!isBgpError(e)) throw e
      this.pendingDetail = e.message
      return this.feed(c, { type: e.code === ErrorCode.MessageHeader ? 'BGPHeaderErr' : 'BGPOpenMsgErr', notification: e })
    }
    c.peerOpen = open
    c.negotiated = neg
    // Collision detection (6.8) against the other connection, if it knows the peer's identifier.
    const other = this.conns.find((x) => x !== c)
    if (other !== undefined && other.fsm.state === 'Established' && other.negotiated?.gracefulRestart !== undefined && neg.gracefulRestart?.restarting === true) {
      // RFC 4724 4.2: the peer restarted (its new OPEN carries the R bit) before we saw the old
      // connection die. End the old session as if its TCP connection failed, so the helper keeps
      // the peer's routes stale, and carry on with the new connection.
      this.pendingDetail = 'the peer opened a new connection with the R bit set: it restarted (RFC 4724 4.2)'
      this.feed(other, { type: 'TcpConnectionFails' })
    } else if (other !== undefined && (other.peerOpen !== undefined || other.fsm.state === 'Established')) {
      const inEstablished = other.fsm.state === 'Established'
      const loserDirection = collisionLoser(this.config.localId, neg.peerId, this.config.localAs, neg.peerAs)
      const byEstablished = inEstablished && !this.fsmConfig.collisionDetectEstablishedState
      // Two connections of the same direction (the peer opened twice): keep the older one.
      const loser = byEstablished ? c : other.direction === loserDirection ? other : c
      this.collisions++
      this.emit('collision', { closed: loser.direction, by: byEstablished ? 'established' : 'identifier' })
      this.feed(loser, { type: 'OpenCollisionDump' })
      if (loser === c) return
    }
    c.framer.maxMessageLength = neg.context.maxMessageLength
    this.feed(c, { type: 'BGPOpen', holdTime: neg.holdTime, keepaliveTime: neg.keepaliveTime })
  }

  private onUpdate(c: Connection, buf: Uint8Array, offset: number, length: number): void {
    if (c.fsm.state !== 'Established' || c.negotiated === undefined) return this.feed(c, { type: 'UpdateMsg' })
    const ctx = c.negotiated.context
    const eor = endOfRibOf(buf, offset, length)
    if (eor !== undefined) {
      this.feed(c, { type: 'UpdateMsg' })
      this.emit('end-of-rib', eor)
      return
    }
    const nextHops = c.nextHops ?? new NextHopGuard({ localAddresses: [], peerAddress: this.config.peerAddress })
    try {
      let issues: readonly UpdateIssue[] | void
      if (this.config.updateSink !== undefined) {
        issues = this.config.updateSink(buf, offset, length, ctx, nextHops)
      } else {
        const msg = checkNextHops(decodeFramed(MessageType.Update, buf, offset, length, ctx) as UpdateMessage, nextHops)
        issues = msg.report
        this.emit('update', msg)
      }
      if (issues !== undefined && issues.length > 0) this.emit('update-issues', issues)
    } catch (e) {
      if (!isBgpError(e)) throw e
      if (e.action === 'session-reset') {
        this.pendingDetail = e.message
        return this.feed(c, { type: 'UpdateMsgErr', notification: e })
      }
      // RFC 7606 outcomes that keep the session: report them, keep going.
      const family = e instanceof BgpFamilyError ? { family: e.family } : {}
      this.emit('update-issues', [{ kind: e.kind, code: e.code, subcode: e.subcode, action: e.action, attributeType: 0, data: e.data, ...family }])
    }
    this.feed(c, { type: 'UpdateMsg' })
  }

  private onRouteRefresh(c: Connection, buf: Uint8Array, offset: number, length: number): void {
    let rr: RouteRefreshMessage
    try {
      rr = decodeFramed(MessageType.RouteRefresh, buf, offset, length) as RouteRefreshMessage
    } catch (e) {
      if (!isBgpError(e)) throw e
      // RFC 7313 5: ROUTE-REFRESH Message Error / Invalid Message Length resets the session.
      return this.feed(c, { type: 'UpdateMsgErr', notification: e })
    }
    this.feed(c, { type: 'RouteRefreshMsg' })
    // RFC 2918 4: ignore a refresh for a family that was not negotiated.
    if (c.fsm.state === 'Established' && c.negotiated?.families.includes(familyKey(rr.afi, rr.safi)) === true) {
      this.emit('route-refresh', rr)
    }
  }
}

/** SO_BINDTODEVICE of a session's socket, read back; '' without the addon or on failure. */
function socketDevice(sock: net.Socket): string {
  if (!nativeAvailable()) return ''
  const fd = socketFd(sock)
  if (fd < 0) return ''
  try { return boundDevice(fd) } catch { return '' }
}

/**
 * The object path's martian next-hop check (the bulk path asks through UpdateSink.checkNextHop):
 * a martian in MP_REACH_NLRI or, with NLRI in the message, in NEXT_HOP makes the whole UPDATE
 * treat-as-withdraw (RFC 7606 7.3), reported with the other RFC 7606 outcomes.
 */
export function checkNextHops(msg: UpdateMessage, guard: NextHopGuard): UpdateMessage {
  if (msg.treatAsWithdraw === true) return msg
  let issue: UpdateIssue | undefined
  const reach = msg.mpReach
  const first = reach?.nextHop[0]
  if (reach !== undefined && reach.nlri.length > 0 && first !== undefined) {
    const c = first.length === 4 ? guard.checkIpv4(readU32(first)) : guard.checkIpv6(first, 0)
    if (c !== undefined) issue = martianIssue(c, false, Uint8Array.from(reach.nextHop.flatMap((a) => [...a])))
  }
  const nh = msg.attributes.nextHop
  if (issue === undefined && msg.nlri.length > 0 && nh !== undefined) {
    const c = guard.checkIpv4(nh)
    if (c !== undefined) issue = martianIssue(c, true, Uint8Array.of(nh >>> 24, (nh >>> 16) & 0xff, (nh >>> 8) & 0xff, nh & 0xff))
  }
  if (issue === undefined) return msg
  return { ...msg, attributes: {}, treatAsWithdraw: true, report: [...(msg.report ?? []), issue] }
}

function readU32(b: Uint8Array): number {
  return (((b[0] as number) << 24) | ((b[1] as number) << 16) | ((b[2] as number) << 8) | (b[3] as number)) >>> 0
}

function safe(f: () => number): number {
  try {
    return f()
  } catch {
    return -1
  }
}

/** The Hard Reset (Cease 9, RFC 8538 4) carrying `n`: its code and subcode, then its data. */
export function hardReset(n: NotificationMessage): NotificationMessage {
  const data = new Uint8Array(2 + n.data.length)
  data[0] = n.code
  data[1] = n.subcode
  data.set(n.data, 2)
  return { type: 'notification', code: ErrorCode.Cease, subcode: 9, data }
}

function record(n: NotificationMessage): NotificationRecord {
  const r: NotificationRecord = { code: n.code, subcode: n.subcode, description: describeNotification(n), at: Date.now() }
  return n.message !== undefined ? { ...r, message: n.message } : r
}

/** The End-of-RIB UPDATE for a family, as bytes (RFC 4724 2). */
export function endOfRibBytes(family: FamilyKey): Uint8Array {
  if (family === Family.Ipv4Unicast) {
    const b = new Uint8Array(HEADER_LENGTH + 4)
    writeHeader(b, 0, b.length, MessageType.Update)
    return b
  }
  // Withdrawn length 0, attribute length 6, MP_UNREACH_NLRI (optional, type 15, length 3): AFI, SAFI.
  const b = new Uint8Array(HEADER_LENGTH + 4 + 6)
  let p = writeHeader(b, 0, b.length, MessageType.Update)
  b[p++] = 0
  b[p++] = 0
  b[p++] = 0
  b[p++] = 6
  b[p++] = 0x80
  b[p++] = 15
  b[p++] = 3
  const afi = family >>> 8
  b[p++] = afi >>> 8
  b[p++] = afi & 0xff
  b[p++] = family & 0xff
  return b
}

/**
 * Recognises an End-of-RIB UPDATE from its bytes (whole message at offset): the empty UPDATE
 * (IPv4 unicast) or one holding only an MP_UNREACH_NLRI with AFI/SAFI and no NLRI.
 */
export function endOfRibOf(buf: Uint8Array, offset: number, length: number): FamilyKey | undefined {
  const body = offset + HEADER_LENGTH
  const bodyLength = length - HEADER_LENGTH
  if (bodyLength < 4) return undefined
  const withdrawnLength = ((buf[body] as number) << 8) | (buf[body + 1] as number)
  if (withdrawnLength !== 0) return undefined
  const attrLength = ((buf[body + 2] as number) << 8) | (buf[body + 3] as number)
  if (bodyLength === 4 && attrLength === 0) return Family.Ipv4Unicast
  if (bodyLength !== 4 + attrLength) return undefined // NLRI follow: not an End-of-RIB
  const a = body + 4
  const flags = buf[a] as number
  if (buf[a + 1] !== 15) return undefined
  const extended = (flags & 0x10) !== 0
  const valueLength = extended ? ((buf[a + 2] as number) << 8) | (buf[a + 3] as number) : (buf[a + 2] as number)
  const header = extended ? 4 : 3
  if (valueLength !== 3 || attrLength !== header + 3) return undefined
  const v = a + header
  return familyKey(((buf[v] as number) << 8) | (buf[v + 1] as number), buf[v + 2] as number)
}
