/**
 * Graceful restart (RFC 4724) in both roles, with the notification extension (RFC 8538): what
 * happens to a peer's routes when its session goes down and comes back, and when the route
 * selection of a restarting speaker may be considered final. The speaker (speaker.ts) calls the
 * hooks; the RIB (bgp/rib) holds the routes and their stale marks.
 *
 * Helper role ("Receiving Speaker", RFC 4724 4.2), per peer:
 * - `peerDown`: when the peer had advertised the capability and the session ended without a
 *   NOTIFICATION (TCP closed or reset: the peer's control plane died), every path of the families
 *   listed in its capability is kept and marked stale (`rib.markStale`), the others withdrawn, and
 *   the peer's restart timer (the Restart Time it advertised) starts. With the N bit exchanged both
 *   ways (RFC 8538 2), a NOTIFICATION sent or received, or the hold timer's expiry, keeps the routes
 *   too, except a Hard Reset (Cease 9) and the Cease subcodes RFC 8538 5 says to send as one
 *   (maximum prefixes, administrative shutdown, peer de-configured, and by default administrative
 *   reset). A down while routes are already stale (the peer died again before its End-of-RIB)
 *   re-marks everything, as RFC 4724 4.2 asks for consecutive restarts.
 * - The F bit is read from the capability in the *new* OPEN (RFC 4724 4.2): at `peerUp`, stale
 *   routes of a family the peer no longer lists, lists without the F bit, or of every family when
 *   the capability is gone, are swept at once. The rest wait for the family's End-of-RIB
 *   (`endOfRib`: re-advertised paths have lost their mark, the others are swept), bounded by the
 *   stale-routes timer (`staleRoutesTime`, RFC 4724 4.2's "upper bound", 360 s by default, FRR's
 *   stalepath-time). No reconnect within the restart time: everything stale is swept.
 *
 * Restarting role (RFC 4724 4.1), for the whole speaker:
 * - `localCapability(families)` is what each session advertises: our Restart Time, the R bit while
 *   we are restarting (so peers do not wait for our End-of-RIB before sending theirs), the N bit,
 *   and F bits for the families whose forwarding state we kept (the kernel routes survive our
 *   restart: src/fib/writer.ts adopts them).
 * - Phases: `restarting` (route selection deferred: the speaker neither advertises nor lets the FIB
 *   sweep) until every expected peer has sent End-of-RIB for each family negotiated with it, or the
 *   Selection_Deferral_Timer expires (RFC 4724 4.1 leaves its value local; 360 s by default, like
 *   GoBGP and FRR); then `selection` (best paths final: the speaker sends its UPDATEs and End-of-RIB
 *   markers); then, one event-loop turn later, `done` (the daemon may sweep stale kernel state:
 *   FibWriter.markReady). Peers that come up without the capability, or with the R bit set (they
 *   restart too and wait for us), are not waited for (RFC 4724 4.1); expected peers that never come
 *   up hold the selection until the timer. A speaker that did not restart is `done` from the start
 *   (announced with reason `not-restarting` on the next tick). With `holdSelection` the last
 *   End-of-RIB only announces itself ('end-of-rib-complete') and the owner ends the phase
 *   (`release()`), for a router whose speakers advertise each other's routes: the gateway releases
 *   both of its speakers together (src/daemon/daemon.ts).
 *
 * Deliberate departures from the letter of a brief or of other daemons: the F bit of the OPEN that
 * preceded the restart does not decide what is kept (a peer's first OPEN usually carries F=0); the
 * family being listed does, and the F bit of the *new* OPEN decides what survives (RFC 4724 4.2).
 * Our own Cease subcodes 1-4 count as Hard Reset because our sessions send them unwrapped.
 *
 * Timers are unref'd (they never keep the process alive); tests may inject their own.
 */
import { EventEmitter } from 'node:events'
import { familyName, type FamilyKey } from '../codec/afi.js'
import { CeaseSubcode, ErrorCode } from '../codec/errors.js'
import type { StopReason } from '../fsm/index.js'
import type { PeerId, RibApi } from '../rib/api.js'
import type { LocalCapabilities, Negotiated } from '../session/negotiate.js'

export type GracefulRestartPhase = 'restarting' | 'selection' | 'done'
export type PhaseReason = 'all-end-of-rib' | 'deferral-timer' | 'not-restarting'

/** Why stale routes left the RIB (events, logs, metrics labels). */
export type SweepReason =
  | 'end-of-rib' // the family's End-of-RIB arrived: what was not re-advertised goes
  | 'restart-timer' // the peer did not come back within its Restart Time
  | 'stale-timer' // it came back but sent no End-of-RIB within staleRoutesTime
  | 'no-capability' // its new OPEN has no graceful restart capability
  | 'no-forwarding-state' // its new OPEN lists the family without the F bit, or not at all
  | 'family-not-negotiated' // the family is not negotiated on the new session
  | 'removed' // forget(): the peer was de-configured

/** Why a down did not keep the peer's routes. */
export type FlushReason =
  | 'no-capability' // the session had no graceful restart (one side did not advertise it)
  | 'notification' // a NOTIFICATION ended the session and the N bit was not exchanged both ways
  | 'hard-reset' // RFC 8538 Hard Reset, or a Cease subcode sent as one
  | 'helper-disabled'

/** The NOTIFICATION that ended a session, as the session records it (stats().lastNotification*). */
export interface DownNotification {
  /** We sent it (true) or the peer did (false). */
  readonly sent: boolean
  readonly code: number
  readonly subcode: number
}

/** How a session ended: the session's stop reason and the NOTIFICATION involved, if any. */
export interface DownCause {
  readonly reason: StopReason
  readonly notification?: DownNotification
}

export interface TimerApi {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export interface GracefulRestartOptions {
  /** We are restarting (the daemon found our kernel routes from a previous run). Default false. */
  readonly restarting?: boolean
  /**
   * Every expected End-of-RIB in does not end the restarting phase by itself: it is announced
   * ('end-of-rib-complete', `endOfRibComplete`) and the owner ends the phase with `release()`. For a
   * speaker whose UPDATEs carry routes learned by another speaker (the gateway re-originates each
   * side's routes on the other): selection is final only when every source is in. The deferral
   * timer still ends the phase. Default false.
   */
  readonly holdSelection?: boolean
  /** Restart Time we advertise, seconds (0..4095). Default 120. */
  readonly restartTime?: number
  /** Selection_Deferral_Timer, seconds (fractions allowed). Default 360. */
  readonly deferralTime?: number
  /** Upper bound on keeping a returned peer's stale routes while waiting for its End-of-RIB, seconds. Default 360. */
  readonly staleRoutesTime?: number
  /** Advertise the N bit (RFC 8538). Default true. */
  readonly notification?: boolean
  /** Set the F bits when restarting (our forwarding state survived). Default true. */
  readonly forwarding?: boolean
  /** Only these families get the F bit when restarting (default: every family of the session). */
  readonly forwardingFamilies?: readonly FamilyKey[]
  /** Helper role on (keep a restarting peer's routes). Default true. */
  readonly helper?: boolean
  /** Treat our Cease/Administrative Reset (subcode 4) as a Hard Reset (RFC 8538 5: "user control"). Default true. */
  readonly adminResetIsHard?: boolean
  /** Timer functions (tests); default the global ones, unref'd. */
  readonly timers?: TimerApi
  /**
   * Commits the RIB after a peer's routes were withdrawn, marked or swept (not the selection at the
   * end of our own restart, which commits at once). Default: rib.commit() at once. The speaker
   * passes its sliced commit: a full table's withdrawal (a control node lost with 500,000 routes)
   * would otherwise hold the event loop for half a second in one turn.
   */
  readonly commit?: () => void
}

export interface PeerStaleEvent {
  readonly peer: PeerId
  /** Paths marked stale. */
  readonly count: number
  readonly families: readonly FamilyKey[]
  /** The peer's advertised Restart Time: how long we wait for it (seconds). */
  readonly restartTime: number
}

export interface PeerSweptEvent {
  readonly peer: PeerId
  readonly family: FamilyKey
  /** Stale paths withdrawn. */
  readonly count: number
  readonly reason: SweepReason
}

export interface PeerFlushedEvent {
  readonly peer: PeerId
  /** Paths withdrawn. */
  readonly count: number
  readonly reason: FlushReason
}

export interface PhaseEvent {
  readonly phase: GracefulRestartPhase
  readonly reason: PhaseReason
}

export interface GracefulRestartEvents {
  'peer-stale': [PeerStaleEvent]
  'peer-swept': [PeerSweptEvent]
  'peer-flushed': [PeerFlushedEvent]
  phase: [PhaseEvent]
  /** holdSelection: every expected End-of-RIB is in; `release()` ends the phase. */
  'end-of-rib-complete': []
}

/** What a down did with the peer's routes. */
export interface PeerDownResult {
  /** Families whose routes are kept, marked stale. */
  readonly retained: readonly FamilyKey[]
  readonly stale: number
  /** Paths withdrawn now (families not kept, or everything). */
  readonly withdrawn: number
  /** Set when nothing was kept. */
  readonly flushReason?: FlushReason
}

/** A peer's graceful-restart state as `status()` shows it (gsictl, logs). */
export interface HelperStatus {
  readonly peer: PeerId
  /** `down`: waiting for the peer to return (restart timer); `relearning`: back, waiting for End-of-RIB (stale timer). */
  readonly state: 'down' | 'relearning'
  readonly families: readonly string[]
  /** Milliseconds until the running timer sweeps everything left. */
  readonly sweepInMs: number
}

interface HelperState {
  state: 'down' | 'relearning'
  /** Families whose stale paths are still in the RIB. */
  readonly families: Set<FamilyKey>
  timer: unknown
  deadline: number
}

interface ExpectedPeer {
  /** Families we wait for End-of-RIB of: the configured ones until the session is up, then the negotiated ones. */
  families: readonly FamilyKey[]
  /** Families whose End-of-RIB arrived (on any session of this restart). */
  readonly seen: Set<FamilyKey>
  /** A session has been established since we started. */
  up: boolean
  /** Not waited for: came up without the capability, or restarting itself (R bit). */
  excluded: boolean
}

const defaultTimers: TimerApi = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms)
    t.unref()
    return t
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout)
  },
}

/** Stop reasons on which we sent a NOTIFICATION ourselves, with the one we sent when the caller did not say. */
const SENT_BY_REASON: Partial<Record<StopReason, DownNotification>> = {
  'admin-shutdown': { sent: true, code: ErrorCode.Cease, subcode: CeaseSubcode.AdministrativeShutdown },
  'admin-reset': { sent: true, code: ErrorCode.Cease, subcode: CeaseSubcode.AdministrativeReset },
  'peer-deconfigured': { sent: true, code: ErrorCode.Cease, subcode: CeaseSubcode.PeerDeconfigured },
  'max-prefix': { sent: true, code: ErrorCode.Cease, subcode: CeaseSubcode.MaximumPrefixesReached },
  'automatic-stop': { sent: true, code: ErrorCode.Cease, subcode: CeaseSubcode.Unspecific },
  'hold-timer-expired': { sent: true, code: ErrorCode.HoldTimerExpired, subcode: 0 },
  collision: { sent: true, code: ErrorCode.Cease, subcode: CeaseSubcode.ConnectionCollisionResolution },
}

/** Stop reasons that involve no NOTIFICATION at all: the TCP connection just ended. */
const NO_NOTIFICATION: ReadonlySet<StopReason> = new Set<StopReason>(['tcp-closed', 'connection-refused'])

/**
 * Whether a session that ended this way keeps the peer's routes (RFC 4724 4.2 with RFC 8538 3-5).
 * `nBit`: the N bit was exchanged both ways. Returns the flush reason, or undefined to keep them.
 */
export function flushReasonOf(cause: DownCause, nBit: boolean, adminResetIsHard = true): FlushReason | undefined {
  if (NO_NOTIFICATION.has(cause.reason) && cause.notification === undefined) return undefined
  const n = cause.notification ?? SENT_BY_REASON[cause.reason]
  // RFC 4724 alone: any NOTIFICATION (hold timer expiry included) ends graceful restart.
  if (!nBit) return 'notification'
  if (n === undefined) return undefined // a NOTIFICATION of unknown content: RFC 8538 3 keeps the routes
  if (n.code !== ErrorCode.Cease) return undefined
  if (n.subcode === CeaseSubcode.HardReset) return 'hard-reset'
  if (!n.sent) return undefined // the peer would have wrapped a hard one in Hard Reset (RFC 8538 5)
  // RFC 8538 5: Cease subcodes to send as Hard Reset. Our sessions send them bare, so we apply the
  // meaning ourselves (and the peer, with the N bit, may keep our routes: see the module doc).
  switch (n.subcode) {
    case CeaseSubcode.MaximumPrefixesReached:
    case CeaseSubcode.AdministrativeShutdown:
    case CeaseSubcode.PeerDeconfigured:
      return 'hard-reset'
    case CeaseSubcode.AdministrativeReset:
      return adminResetIsHard ? 'hard-reset' : undefined
    default:
      return undefined
  }
}

/**
 * The cause of a session's down from its 'down' event and its stats: the session records the
 * NOTIFICATION it sent or received (stats().lastNotificationSent/Received) before it emits 'down'.
 */
export function downCauseOf(
  down: { readonly reason: StopReason },
  stats: { readonly lastNotificationSent?: { code: number; subcode: number; at: number }; readonly lastNotificationReceived?: { code: number; subcode: number; at: number } },
  since = 0,
): DownCause {
  const rcv = stats.lastNotificationReceived
  const snt = stats.lastNotificationSent
  if (down.reason === 'notification-received' && rcv !== undefined && rcv.at >= since) {
    return { reason: down.reason, notification: { sent: false, code: rcv.code, subcode: rcv.subcode } }
  }
  if (!NO_NOTIFICATION.has(down.reason) && down.reason !== 'notification-received' && snt !== undefined && snt.at >= since) {
    return { reason: down.reason, notification: { sent: true, code: snt.code, subcode: snt.subcode } }
  }
  return { reason: down.reason }
}

function checkSeconds(name: string, v: number | undefined, def: number, max = Infinity): number {
  if (v === undefined) return def
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max) {
    throw new RangeError(`gracefulRestart.${name} ${String(v)}: must be a number of seconds 0..${max}`)
  }
  return v
}

export class GracefulRestart extends EventEmitter<GracefulRestartEvents> {
  readonly restarting: boolean
  private readonly holdSelection: boolean
  private complete = false
  readonly restartTime: number
  readonly deferralTime: number
  readonly staleRoutesTime: number
  readonly notification: boolean
  readonly forwarding: boolean
  readonly forwardingFamilies: ReadonlySet<FamilyKey> | undefined
  readonly helper: boolean
  readonly adminResetIsHard: boolean
  private readonly rib: RibApi
  private readonly commit: () => void
  private readonly timers: TimerApi
  private readonly helpers = new Map<PeerId, HelperState>()
  private readonly expected = new Map<PeerId, ExpectedPeer>()
  private phaseValue: GracefulRestartPhase
  private deferralTimer: unknown
  private deferralDeadline = 0
  private closed = false

  constructor(rib: RibApi, options: GracefulRestartOptions = {}) {
    super()
    this.rib = rib
    this.commit = options.commit ?? (() => rib.commit())
    this.restarting = options.restarting === true
    this.holdSelection = options.holdSelection === true
    const rt = checkSeconds('restartTime', options.restartTime, 120, 4095)
    if (!Number.isInteger(rt)) throw new RangeError(`gracefulRestart.restartTime ${rt}: must be an integer (12 bits on the wire)`)
    this.restartTime = rt
    this.deferralTime = checkSeconds('deferralTime', options.deferralTime, 360)
    this.staleRoutesTime = checkSeconds('staleRoutesTime', options.staleRoutesTime, 360)
    this.notification = options.notification !== false
    this.forwarding = options.forwarding !== false
    this.forwardingFamilies = options.forwardingFamilies === undefined ? undefined : new Set(options.forwardingFamilies)
    this.helper = options.helper !== false
    this.adminResetIsHard = options.adminResetIsHard !== false
    this.timers = options.timers ?? defaultTimers
    if (this.restarting) {
      this.phaseValue = 'restarting'
      this.deferralDeadline = Date.now() + this.deferralTime * 1000
      this.deferralTimer = this.timers.setTimeout(() => {
        this.deferralTimer = undefined
        this.select('deferral-timer')
      }, this.deferralTime * 1000)
    } else {
      this.phaseValue = 'done'
      process.nextTick(() => {
        if (!this.closed) this.emit('phase', { phase: 'done', reason: 'not-restarting' })
      })
    }
  }

  // ---------------------------------------------------------------- restarting role

  get phase(): GracefulRestartPhase {
    return this.phaseValue
  }

  /** Route selection deferred (RFC 4724 4.1): the speaker must not advertise yet. */
  get deferring(): boolean {
    return this.phaseValue === 'restarting'
  }

  /**
   * The capability for a session's OPEN (LocalCapabilities.gracefulRestart): R bit while we are
   * restarting, F bits for `families` when restarting with our forwarding state kept.
   */
  localCapability(families: readonly FamilyKey[]): NonNullable<LocalCapabilities['gracefulRestart']> {
    const restarting = this.phaseValue === 'restarting'
    return {
      restartTime: this.restartTime,
      restarting,
      notification: this.notification,
      // F bits only after a restart (RFC 4724 3: "preserved during the previous BGP restart").
      forwarding: this.restarting && this.forwarding ? families.filter((f) => this.forwardingFamilies?.has(f) ?? true) : [],
    }
  }

  /**
   * A configured peer whose End-of-RIB we wait for while restarting (call for each peer before
   * its session starts). `families`: the families configured for it; once it is up, the
   * negotiated ones count instead.
   */
  expectPeer(peer: PeerId, families: readonly FamilyKey[]): void {
    if (this.phaseValue !== 'restarting') return
    this.expected.set(peer, { families: [...families], seen: new Set(), up: false, excluded: false })
  }

  /** Milliseconds until the Selection_Deferral_Timer ends the restarting phase (0 when not restarting). */
  get deferralRemainingMs(): number {
    return this.phaseValue === 'restarting' ? Math.max(0, this.deferralDeadline - Date.now()) : 0
  }

  /** Peers we still wait for (restarting phase), with the families still missing their End-of-RIB. */
  waitingFor(): { peer: PeerId; families: string[]; up: boolean }[] {
    const out: { peer: PeerId; families: string[]; up: boolean }[] = []
    if (this.phaseValue !== 'restarting') return out
    for (const [peer, e] of this.expected) {
      if (e.excluded) continue
      const missing = e.families.filter((f) => !e.seen.has(f))
      if (!e.up || missing.length > 0) out.push({ peer, families: missing.map(familyName), up: e.up })
    }
    return out
  }

  private checkSelection(): void {
    if (this.phaseValue !== 'restarting' || this.complete) return
    for (const e of this.expected.values()) {
      if (e.excluded) continue
      if (!e.up || e.families.some((f) => !e.seen.has(f))) return
    }
    if (!this.holdSelection) {
      this.select('all-end-of-rib')
      return
    }
    this.complete = true
    this.emit('end-of-rib-complete')
  }

  /** With `holdSelection`: every expected End-of-RIB is in (or the phase is over). */
  get endOfRibComplete(): boolean {
    return this.complete || this.phaseValue !== 'restarting'
  }

  /**
   * With `holdSelection`: ends the restarting phase once every expected End-of-RIB is in (false,
   * and nothing happens, before that; the deferral timer ends it regardless).
   */
  release(): boolean {
    if (this.phaseValue !== 'restarting') return true
    if (!this.complete) return false
    this.select('all-end-of-rib')
    return true
  }

  /**
   * With `holdSelection`, at start: whether every expected End-of-RIB is already in (a speaker
   * expecting no peer is complete at once). Call after the peers were expected.
   */
  recheck(): void {
    this.checkSelection()
  }

  private select(reason: PhaseReason): void {
    if (this.phaseValue !== 'restarting' || this.closed) return
    if (this.deferralTimer !== undefined) {
      this.timers.clearTimeout(this.deferralTimer)
      this.deferralTimer = undefined
    }
    this.expected.clear()
    // Best paths of everything learned so far, before anyone reads them as final: at once, not in
    // slices (the `commit` option), since 'done' follows one turn later and the daemon then sweeps
    // the kernel routes the FIB no longer holds.
    this.rib.commit()
    this.phaseValue = 'selection'
    this.emit('phase', { phase: 'selection', reason })
    // 'done' one turn later: listeners of 'selection' (the speaker sending its UPDATEs and
    // End-of-RIB, the FIB writer installing the final routes) have run and queued their work.
    setImmediate(() => {
      if (this.closed) return
      this.phaseValue = 'done'
      this.emit('phase', { phase: 'done', reason })
    })
  }

  // ---------------------------------------------------------------- hooks from the speaker

  /**
   * A peer's established session ended. Call it instead of withdrawing the peer's routes: it keeps
   * them stale (graceful restart) or withdraws them, and commits. `negotiated`: what the session
   * had negotiated (undefined if it never reached Established: then only a pending restart timer
   * keeps running). `cause`: the session's stop reason, with the NOTIFICATION when one was
   * involved (see downCauseOf).
   */
  peerDown(peer: PeerId, negotiated: Negotiated | undefined, cause: DownCause | StopReason): PeerDownResult {
    const c: DownCause = typeof cause === 'string' ? { reason: cause } : cause
    if (negotiated === undefined) {
      // A connection attempt failed while the peer restarts: its timer keeps running.
      const h = this.helpers.get(peer)
      return { retained: h === undefined ? [] : [...h.families], stale: 0, withdrawn: 0 }
    }
    const gr = negotiated.gracefulRestart
    let flush: FlushReason | undefined
    if (!this.helper) flush = 'helper-disabled'
    else if (gr === undefined) flush = 'no-capability'
    else flush = flushReasonOf(c, this.notification && gr.notification, this.adminResetIsHard)

    const previous = this.helpers.get(peer)
    if (previous !== undefined) this.stopTimer(previous)

    if (flush !== undefined || gr === undefined) {
      this.helpers.delete(peer)
      const withdrawn = this.rib.withdrawAll(peer)
      this.commit()
      const reason = flush ?? 'no-capability'
      this.emit('peer-flushed', { peer, count: withdrawn, reason })
      return { retained: [], stale: 0, withdrawn, flushReason: reason }
    }

    // RFC 4724 4.2: keep the families listed in the capability (F bit or not: the F bit that
    // counts is the one in the OPEN of the next session), withdraw the others.
    const listed = new Set(gr.families.map((f) => f.family))
    const families = new Set<FamilyKey>()
    let withdrawn = 0
    let stale = 0
    for (const f of negotiated.families) {
      if (listed.has(f)) {
        families.add(f)
        stale += this.rib.markStale(peer, f)
      } else {
        withdrawn += this.rib.withdrawAll(peer, f)
      }
    }
    // Families still stale from a previous restart that this session did not negotiate.
    if (previous !== undefined) {
      for (const f of previous.families) {
        if (!families.has(f)) {
          families.add(f)
          stale += this.rib.markStale(peer, f)
        }
      }
    }
    this.commit()
    if (families.size === 0) {
      this.helpers.delete(peer)
      return { retained: [], stale: 0, withdrawn }
    }
    const h: HelperState = { state: 'down', families, timer: undefined, deadline: 0 }
    this.helpers.set(peer, h)
    this.startTimer(peer, h, gr.restartTime, 'restart-timer')
    this.emit('peer-stale', { peer, count: stale, families: [...families], restartTime: gr.restartTime })
    return { retained: [...families], stale, withdrawn }
  }

  /**
   * A peer's session reached Established. Helper: sweeps now the stale families its new OPEN does
   * not preserve (RFC 4724 4.2) and bounds the wait for the others' End-of-RIB. Restarting: the
   * peer now counts with its negotiated families, or not at all (no capability, or R bit).
   */
  peerUp(peer: PeerId, negotiated: Negotiated): void {
    const h = this.helpers.get(peer)
    if (h !== undefined) {
      this.stopTimer(h)
      const gr = negotiated.gracefulRestart
      const forwarding = new Map<FamilyKey, boolean>()
      for (const f of gr?.families ?? []) forwarding.set(f.family, f.forwarding)
      for (const f of [...h.families]) {
        let reason: SweepReason | undefined
        if (gr === undefined) reason = 'no-capability'
        else if (forwarding.get(f) !== true) reason = 'no-forwarding-state'
        else if (!negotiated.families.includes(f)) reason = 'family-not-negotiated'
        if (reason !== undefined) this.sweep(peer, h, f, reason)
      }
      this.commit()
      if (h.families.size === 0) {
        this.helpers.delete(peer)
      } else {
        h.state = 'relearning'
        this.startTimer(peer, h, this.staleRoutesTime, 'stale-timer')
      }
    }

    const e = this.expected.get(peer)
    if (e !== undefined && this.phaseValue === 'restarting') {
      const gr = negotiated.gracefulRestart
      e.up = true
      // RFC 4724 4.1: a peer without the capability sends no End-of-RIB we could wait for; one with
      // the R bit restarts too and waits for ours first.
      e.excluded = gr === undefined || gr.restarting
      e.families = negotiated.families
      this.checkSelection()
    }
  }

  /** End-of-RIB from a peer for a family (the session's 'end-of-rib' event). */
  endOfRib(peer: PeerId, family: FamilyKey): void {
    const h = this.helpers.get(peer)
    if (h !== undefined && h.state === 'relearning' && h.families.has(family)) {
      this.sweep(peer, h, family, 'end-of-rib')
      this.commit()
      if (h.families.size === 0) {
        this.stopTimer(h)
        this.helpers.delete(peer)
      }
    }
    const e = this.expected.get(peer)
    if (e !== undefined && this.phaseValue === 'restarting') {
      e.seen.add(family)
      this.checkSelection()
    }
  }

  /** A peer was de-configured: its stale routes go, and the restarting phase no longer waits for it. */
  forget(peer: PeerId): void {
    const h = this.helpers.get(peer)
    if (h !== undefined) {
      this.stopTimer(h)
      for (const f of [...h.families]) this.sweep(peer, h, f, 'removed')
      this.helpers.delete(peer)
      this.commit()
    }
    if (this.expected.delete(peer)) this.checkSelection()
  }

  /** Whether the peer's routes are being kept (down or relearning). */
  isRetaining(peer: PeerId): boolean {
    return this.helpers.has(peer)
  }

  status(): HelperStatus[] {
    const now = Date.now()
    return [...this.helpers].map(([peer, h]) => ({
      peer,
      state: h.state,
      families: [...h.families].map(familyName),
      sweepInMs: Math.max(0, h.deadline - now),
    }))
  }

  /** Stops every timer (the speaker shuts down). Stale routes stay as they are. */
  close(): void {
    this.closed = true
    for (const h of this.helpers.values()) this.stopTimer(h)
    this.helpers.clear()
    if (this.deferralTimer !== undefined) this.timers.clearTimeout(this.deferralTimer)
    this.deferralTimer = undefined
    this.expected.clear()
  }

  // ---------------------------------------------------------------- helper internals

  private sweep(peer: PeerId, h: HelperState, family: FamilyKey, reason: SweepReason): void {
    const count = this.rib.sweepStale(peer, family)
    h.families.delete(family)
    this.emit('peer-swept', { peer, family, count, reason })
  }

  private startTimer(peer: PeerId, h: HelperState, seconds: number, reason: SweepReason): void {
    h.deadline = Date.now() + seconds * 1000
    h.timer = this.timers.setTimeout(() => {
      h.timer = undefined
      if (this.helpers.get(peer) !== h) return
      for (const f of [...h.families]) this.sweep(peer, h, f, reason)
      this.helpers.delete(peer)
      this.commit()
    }, seconds * 1000)
  }

  private stopTimer(h: HelperState): void {
    if (h.timer !== undefined) this.timers.clearTimeout(h.timer)
    h.timer = undefined
  }
}
