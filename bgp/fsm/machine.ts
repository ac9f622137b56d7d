/**
 * The BGP finite state machine of RFC 4271 section 8.2.2 as a pure function:
 * `step(state, event, config) -> { state, actions }`.
 *
 * One machine drives one TCP connection; the session runner keeps a second one while a
 * connection collision (section 6.8) is being resolved and feeds it `OpenCollisionDump` when it
 * loses (see collision.ts).
 *
 * Deliberate readings of the RFC, each marked `// RFC:` below:
 * - RFC 6608: unexpected events in OpenSent, OpenConfirm and Established send NOTIFICATION
 *   code 5 (FSM Error) with subcode 1, 2 and 3.
 * - A BGPHeaderErr always sends its own Message Header Error (section 6.1 is normative; the 8.2.2
 *   Established table lists event 21 among the FSM errors). An OPEN (well-formed or not) on an
 *   OpenConfirm or Established connection is an FSM error (RFC 6608 names that very case).
 * - Damping (8.1.1 leaves the method open): every failure that "performs peer oscillation damping"
 *   doubles the idle hold time up to a ceiling; after `stableTime` seconds in Established it returns
 *   to its first value. With `automaticRestart`, each fall to Idle that was not a ManualStop starts
 *   the IdleHold timer, whose expiry is an AutomaticStart (passive if configured).
 */
import type { FsmAction, FsmConfig, FsmEvent, FsmState, NotificationSpec, State, StepResult, StopReason } from './types.js'

/** NOTIFICATION codes used by the machine itself (RFC 4271 4.5, RFC 6608, RFC 4486). */
const HOLD_TIMER_EXPIRED = 4
const FSM_ERROR = 5
const CEASE = 6
const CEASE_MAX_PREFIX = 1
const CEASE_ADMIN_SHUTDOWN = 2
const CEASE_OTHER_CONFIG_CHANGE = 6
const CEASE_COLLISION = 7
const FSM_SUBCODE: Partial<Record<State, number>> = { OpenSent: 1, OpenConfirm: 2, Established: 3 }

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

class Step {
  readonly actions: FsmAction[] = []
  readonly s: Mutable<FsmState>
  constructor(
    state: FsmState,
    readonly config: FsmConfig,
  ) {
    this.s = { ...state }
  }
  push(a: FsmAction): this {
    this.actions.push(a)
    return this
  }
  start(timer: 'ConnectRetry' | 'Hold' | 'Keepalive' | 'DelayOpen' | 'IdleHold' | 'Stable', seconds: number): this {
    if (timer === 'DelayOpen') this.s.delayOpenRunning = true
    if (timer === 'IdleHold') this.s.idleHoldRunning = true
    return this.push({ type: 'start-timer', timer, seconds })
  }
  stop(timer: 'ConnectRetry' | 'Hold' | 'Keepalive' | 'DelayOpen' | 'IdleHold' | 'Stable'): this {
    if (timer === 'DelayOpen') this.s.delayOpenRunning = false
    if (timer === 'IdleHold') this.s.idleHoldRunning = false
    return this.push({ type: 'stop-timer', timer })
  }
  notify(n: NotificationSpec, shutdownMessage?: string): this {
    const a: Mutable<Extract<FsmAction, { type: 'send-notification' }>> = { type: 'send-notification', code: n.code, subcode: n.subcode }
    if (n.data !== undefined && n.data.length > 0) a.data = n.data
    if (shutdownMessage !== undefined) a.shutdownMessage = shutdownMessage
    return this.push(a)
  }
  result(): StepResult {
    return { state: this.s, actions: this.actions }
  }

  /** Leave for Idle: stop every timer, drop the connection, report why, maybe schedule a restart. */
  toIdle(reason: StopReason, opts: { damp: boolean; counter: 'zero' | 'inc' | 'keep'; admin?: boolean }): StepResult {
    const from = this.s.state
    const established = from === 'Established'
    this.stop('ConnectRetry').stop('Hold').stop('Keepalive').stop('DelayOpen')
    if (established) this.stop('Stable')
    this.push({ type: 'release-resources', deleteRoutes: established })
    this.push({ type: 'drop-connection' })
    if (opts.counter === 'zero') this.s.connectRetryCounter = 0
    else if (opts.counter === 'inc') this.s.connectRetryCounter++
    this.s.state = 'Idle'
    this.s.holdTime = 0
    this.s.keepaliveTime = 0
    this.push({ type: 'down', reason, from, wasEstablished: established })
    if (opts.admin === true) {
      this.s.adminDown = true
      this.stop('IdleHold')
    } else if (this.config.automaticRestart && !this.s.adminDown) {
      this.start('IdleHold', this.s.idleHoldTime)
      if (opts.damp && this.config.dampPeerOscillations) {
        this.s.idleHoldTime = Math.min(Math.max(this.s.idleHoldTime * 2, 1), this.config.idleHoldTimeMax)
      }
    }
    return this.result()
  }

  /** TCP is up and we speak first: OPEN, then wait up to the large hold time for theirs (8.2.2). */
  sendOpen(): StepResult {
    this.stop('ConnectRetry').stop('DelayOpen')
    this.push({ type: 'send-open' })
    this.start('Hold', this.config.largeHoldTime)
    this.s.state = 'OpenSent'
    return this.result()
  }

  /** Adopt the negotiated hold time; start keepalives and the hold timer unless it is zero. */
  negotiated(holdTime: number, keepaliveTime: number | undefined): void {
    this.s.holdTime = holdTime
    this.s.keepaliveTime = holdTime === 0 ? 0 : (keepaliveTime ?? Math.floor(holdTime / 3))
    if (holdTime === 0) {
      this.stop('Hold').stop('Keepalive')
    } else {
      this.start('Keepalive', this.s.keepaliveTime).start('Hold', holdTime)
    }
  }
}

function reasonOfManualStop(subcode: 2 | 3 | 4 | undefined): StopReason {
  return subcode === 3 ? 'peer-deconfigured' : subcode === 4 ? 'admin-reset' : 'admin-shutdown'
}

/** Start a run from Idle (events 1 and 3-7, and 13 which behaves as an automatic start). */
function start(st: Step, passive: boolean, manual: boolean): StepResult {
  const s = st.s
  if (manual) {
    s.adminDown = false
  } else if (s.adminDown) {
    return st.result() // an administratively stopped peer stays down until ManualStart
  }
  st.stop('IdleHold')
  s.connectRetryCounter = 0
  s.passive = passive
  st.push({ type: 'release-resources', deleteRoutes: false }) // "initializes all BGP resources"
  st.start('ConnectRetry', st.config.connectRetryTime)
  if (passive) {
    s.state = 'Active'
  } else {
    st.push({ type: 'connect' })
    s.state = 'Connect'
  }
  return st.result()
}

function idle(st: Step, e: FsmEvent): StepResult {
  const s = st.s
  switch (e.type) {
    case 'ManualStart':
      return start(st, st.config.passive, true)
    case 'ManualStart_with_PassiveTcpEstablishment':
      return start(st, true, true)
    case 'AutomaticStart':
    case 'AutomaticStart_with_DampPeerOscillations':
      // With damping, automatic starts wait for the idle hold timer (8.1.1 DampPeerOscillations).
      if (s.idleHoldRunning) return st.result()
      return start(st, st.config.passive, false)
    case 'AutomaticStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment':
      if (s.idleHoldRunning) return st.result()
      return start(st, true, false)
    case 'IdleHoldTimer_Expires':
      s.idleHoldRunning = false
      return start(st, st.config.passive, false)
    case 'ManualStop':
      // Already Idle: only cancel a pending automatic restart.
      s.adminDown = true
      if (s.idleHoldRunning) st.stop('IdleHold')
      return st.result()
    case 'TcpConnection_Valid':
    case 'TcpConnectionConfirmed':
    case 'Tcp_CR_Acked':
      // RFC: "refuses all incoming BGP connections" in Idle.
      return st.push({ type: 'reject-connection' }).result()
    default:
      return st.result() // 8.2.2 Idle: other events cause no change
  }
}

/** Connect and Active share most of their table. */
function connectOrActive(st: Step, e: FsmEvent): StepResult {
  const s = st.s
  const inConnect = s.state === 'Connect'
  switch (e.type) {
    case 'ManualStart':
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_DampPeerOscillations':
    case 'AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment':
      return st.result()
    case 'ManualStop':
      if (!inConnect && s.delayOpenRunning && st.config.sendNotificationWithoutOpen) {
        st.notify({ code: CEASE, subcode: e.subcode ?? CEASE_ADMIN_SHUTDOWN }, e.message)
      }
      return st.toIdle(reasonOfManualStop(e.subcode), { damp: false, counter: 'zero', admin: true })
    case 'ConnectRetryTimer_Expires':
      st.stop('DelayOpen')
      if (s.passive) {
        // A passive peer never initiates: keep waiting (8.2.1.5 PassiveTcpEstablishment).
        st.start('ConnectRetry', st.config.connectRetryTime)
        return st.result()
      }
      if (inConnect) st.push({ type: 'drop-connection' })
      st.start('ConnectRetry', st.config.connectRetryTime)
      st.push({ type: 'connect' })
      s.state = 'Connect'
      return st.result()
    case 'DelayOpenTimer_Expires':
      return st.sendOpen()
    case 'TcpConnection_Valid':
    case 'Tcp_CR_Invalid':
      return st.result()
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      if (st.config.delayOpen) {
        st.stop('ConnectRetry')
        st.start('DelayOpen', st.config.delayOpenTime)
        return st.result()
      }
      return st.sendOpen()
    case 'TcpConnectionFails':
      if (inConnect && s.delayOpenRunning) {
        st.start('ConnectRetry', st.config.connectRetryTime)
        st.stop('DelayOpen')
        st.push({ type: 'drop-connection' })
        s.state = 'Active'
        return st.result()
      }
      return st.toIdle(e.refused === true ? 'connection-refused' : 'tcp-closed', { damp: true, counter: inConnect ? 'keep' : 'inc' })
    case 'BGPOpen':
      if (!s.delayOpenRunning) return st.toIdle('fsm-error', { damp: true, counter: 'inc' })
      return openWithDelayOpen(st, e.holdTime, e.keepaliveTime)
    case 'BGPOpen_with_DelayOpenTimer_running':
      return openWithDelayOpen(st, e.holdTime, e.keepaliveTime)
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      if (st.config.sendNotificationWithoutOpen) st.notify(e.notification)
      return st.toIdle(st.config.sendNotificationWithoutOpen ? 'notification-sent' : 'message-error', { damp: true, counter: 'inc' })
    case 'NotifMsgVerErr':
      if (s.delayOpenRunning) return st.toIdle('notification-received', { damp: false, counter: 'keep' })
      return st.toIdle('notification-received', { damp: true, counter: 'inc' })
    case 'NotifMsg':
      return st.toIdle('notification-received', { damp: true, counter: 'inc' })
    case 'AutomaticStop':
      return st.toIdle(e.reason ?? 'automatic-stop', { damp: true, counter: 'inc' })
    case 'HoldTimer_Expires':
    case 'KeepaliveTimer_Expires':
    case 'IdleHoldTimer_Expires':
    case 'OpenCollisionDump':
    case 'KeepAliveMsg':
    case 'UpdateMsg':
    case 'UpdateMsgErr':
    case 'RouteRefreshMsg':
      return st.toIdle('fsm-error', { damp: true, counter: 'inc' })
    case 'StableTimer_Expires':
      return st.result() // handled in step()
  }
}

/** Events 19/20 with the DelayOpen timer running (Connect and Active): answer OPEN and KEEPALIVE. */
function openWithDelayOpen(st: Step, holdTime: number, keepaliveTime: number | undefined): StepResult {
  st.stop('ConnectRetry').stop('DelayOpen')
  st.push({ type: 'send-open' }).push({ type: 'send-keepalive' })
  st.negotiated(holdTime, keepaliveTime)
  st.s.state = 'OpenConfirm'
  return st.result()
}

/** Stop with a Cease: ManualStop and AutomaticStop in OpenSent, OpenConfirm and Established. */
function ceaseStop(st: Step, e: Extract<FsmEvent, { type: 'ManualStop' | 'AutomaticStop' }>): StepResult {
  if (e.type === 'ManualStop') {
    st.notify({ code: CEASE, subcode: e.subcode ?? CEASE_ADMIN_SHUTDOWN }, e.message)
    return st.toIdle(reasonOfManualStop(e.subcode), { damp: false, counter: 'zero', admin: true })
  }
  const maxPrefix = e.reason === 'max-prefix'
  st.notify({ code: CEASE, subcode: maxPrefix ? CEASE_MAX_PREFIX : CEASE_OTHER_CONFIG_CHANGE, ...(e.data ? { data: e.data } : {}) })
  return st.toIdle(maxPrefix ? 'max-prefix' : 'automatic-stop', { damp: true, counter: 'inc' })
}

/** RFC 6608: an event the state does not expect earns FSM Error with the state's subcode. */
function fsmError(st: Step): StepResult {
  st.notify({ code: FSM_ERROR, subcode: FSM_SUBCODE[st.s.state] ?? 0 })
  return st.toIdle('fsm-error', { damp: true, counter: 'inc' })
}

function openSentConfirmEstablished(st: Step, e: FsmEvent): StepResult {
  const s = st.s
  const state = s.state
  switch (e.type) {
    case 'ManualStart':
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_DampPeerOscillations':
    case 'AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment':
      return st.result()
    case 'ManualStop':
    case 'AutomaticStop':
      return ceaseStop(st, e)
    case 'HoldTimer_Expires':
      st.notify({ code: HOLD_TIMER_EXPIRED, subcode: 0 })
      // RFC: Established's hold expiry does not list damping; OpenSent/OpenConfirm do. We damp all:
      // a peer that keeps going silent is oscillating as much as one that keeps resetting.
      return st.toIdle('hold-timer-expired', { damp: true, counter: 'inc' })
    case 'TcpConnection_Valid':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
    case 'Tcp_CR_Invalid':
      // A second connection: the runner tracks it with its own machine (6.8); nothing here.
      return st.result()
    case 'TcpConnectionFails':
      if (state === 'OpenSent') {
        // RFC: OpenSent falls back to Active and keeps listening.
        st.push({ type: 'drop-connection' })
        st.stop('Hold')
        st.start('ConnectRetry', st.config.connectRetryTime)
        s.state = 'Active'
        return st.result()
      }
      return st.toIdle('tcp-closed', { damp: true, counter: 'inc' })
    case 'NotifMsgVerErr':
      return st.toIdle('notification-received', { damp: false, counter: state === 'Established' ? 'inc' : 'keep' })
    case 'NotifMsg':
      // RFC: 8.2.2 lists event 25 among OpenSent's "other events" (FSM Error back). A peer refusing
      // our OPEN is the common case; answering a NOTIFICATION on a closing connection helps nobody,
      // and RFC 6608's unexpected messages are KEEPALIVE, UPDATE and ROUTE-REFRESH.
      return st.toIdle('notification-received', { damp: true, counter: 'inc' })
    case 'BGPHeaderErr':
      st.notify(e.notification)
      return st.toIdle('notification-sent', { damp: true, counter: 'inc' })
    case 'BGPOpenMsgErr':
      if (state !== 'OpenSent') return fsmError(st) // an OPEN after the OPEN exchange (RFC 6608)
      st.notify(e.notification)
      return st.toIdle('notification-sent', { damp: true, counter: 'inc' })
    case 'OpenCollisionDump':
      if (state === 'Established' && !st.config.collisionDetectEstablishedState) return fsmError(st)
      st.notify({ code: CEASE, subcode: CEASE_COLLISION })
      return st.toIdle('collision', { damp: true, counter: 'inc' })
    case 'BGPOpen':
      if (state !== 'OpenSent') return fsmError(st)
      st.stop('DelayOpen').stop('ConnectRetry')
      st.push({ type: 'send-keepalive' })
      st.negotiated(e.holdTime, e.keepaliveTime)
      s.state = 'OpenConfirm'
      return st.result()
    case 'KeepaliveTimer_Expires':
      if (state === 'OpenSent') return fsmError(st)
      st.push({ type: 'send-keepalive' })
      if (s.keepaliveTime > 0) st.start('Keepalive', s.keepaliveTime)
      return st.result()
    case 'KeepAliveMsg':
      if (state === 'OpenSent') return fsmError(st)
      if (s.holdTime > 0) st.start('Hold', s.holdTime)
      if (state === 'OpenConfirm') {
        s.state = 'Established'
        if (st.config.stableTime > 0) st.start('Stable', st.config.stableTime)
        st.push({ type: 'established', holdTime: s.holdTime, keepaliveTime: s.keepaliveTime })
      }
      return st.result()
    case 'UpdateMsg':
    case 'RouteRefreshMsg':
      if (state !== 'Established') return fsmError(st)
      if (s.holdTime > 0) st.start('Hold', s.holdTime)
      return st.result()
    case 'UpdateMsgErr':
      if (state !== 'Established') return fsmError(st)
      st.notify(e.notification)
      return st.toIdle('notification-sent', { damp: true, counter: 'inc' })
    case 'ConnectRetryTimer_Expires':
    case 'DelayOpenTimer_Expires':
    case 'IdleHoldTimer_Expires':
    case 'BGPOpen_with_DelayOpenTimer_running':
      return fsmError(st)
    case 'StableTimer_Expires':
      return st.result() // handled in step()
  }
}

/** One transition of RFC 4271 8.2.2. Never throws; never mutates its inputs. */
export function step(state: FsmState, event: FsmEvent, config: FsmConfig): StepResult {
  const st = new Step(state, config)
  if (event.type === 'StableTimer_Expires') {
    // Our damping extension: only meaningful in Established; a stray expiry elsewhere is harmless.
    if (state.state === 'Established') st.s.idleHoldTime = config.idleHoldTime
    return st.result()
  }
  switch (state.state) {
    case 'Idle':
      return idle(st, event)
    case 'Connect':
    case 'Active':
      return connectOrActive(st, event)
    case 'OpenSent':
    case 'OpenConfirm':
    case 'Established':
      return openSentConfirmEstablished(st, event)
  }
}
