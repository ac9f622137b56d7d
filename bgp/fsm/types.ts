/**
 * Types of the BGP finite state machine (RFC 4271 section 8): states, the events of section 8.1,
 * the actions the machine asks its runner to perform, stop reasons, and the per-peer configuration
 * ("optional session attributes" of 8.1.1).
 *
 * The machine is pure (GoBGP's lesson learnt the hard way: no socket I/O inside the state
 * functions): the runner turns sockets, timers and decoded messages into events and performs the
 * actions it gets back, in order.
 */

export const States = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'] as const
export type State = (typeof States)[number]

export type TimerName = 'ConnectRetry' | 'Hold' | 'Keepalive' | 'DelayOpen' | 'IdleHold' | 'Stable'

/**
 * Why a session left a non-Idle state. Stable strings: log fields and metric labels, never reworded.
 * - `admin-shutdown` / `admin-reset` / `peer-deconfigured`: ManualStop (Cease 2 / 4 / 3).
 * - `automatic-stop`, `max-prefix`: AutomaticStop (Cease 6 / 1).
 * - `hold-timer-expired`: our hold timer ran out (we sent NOTIFICATION 4).
 * - `notification-received`: the peer sent a NOTIFICATION (including version errors).
 * - `notification-sent`: we found a header, OPEN or UPDATE error and sent its NOTIFICATION.
 * - `message-error`: a header or OPEN error before our OPEN went out (no NOTIFICATION sent).
 * - `fsm-error`: an event that is not expected in the state (RFC 6608 NOTIFICATION where one is due).
 * - `connection-refused`: the TCP connect attempt failed.
 * - `tcp-closed`: an open TCP connection failed or was closed by the peer.
 * - `collision`: this connection lost the collision resolution of section 6.8 (Cease 7).
 */
export type StopReason =
  | 'admin-shutdown'
  | 'admin-reset'
  | 'peer-deconfigured'
  | 'automatic-stop'
  | 'max-prefix'
  | 'hold-timer-expired'
  | 'notification-received'
  | 'notification-sent'
  | 'message-error'
  | 'fsm-error'
  | 'connection-refused'
  | 'tcp-closed'
  | 'collision'

/** An error NOTIFICATION to send: code, subcode and data, as a codec BgpError carries them. */
export interface NotificationSpec {
  readonly code: number
  readonly subcode: number
  readonly data?: Uint8Array
}

/**
 * The events of RFC 4271 8.1 (numbers in comments), plus two of ours:
 * `StableTimer_Expires` (resets the idle hold back-off once a session has stayed up, the part of
 * 8.1.1's DampPeerOscillations the RFC leaves to implementations) and `RouteRefreshMsg`
 * (RFC 2918 messages, which 8.1 predates).
 */
export type FsmEvent =
  | { readonly type: 'ManualStart' } // 1
  | {
      readonly type: 'ManualStop' // 2
      /** Cease subcode: 2 administrative shutdown (default), 3 peer de-configured, 4 administrative reset. */
      readonly subcode?: 2 | 3 | 4
      /** RFC 9003 shutdown communication, carried in the Cease NOTIFICATION. */
      readonly message?: string
    }
  | { readonly type: 'AutomaticStart' } // 3
  | { readonly type: 'ManualStart_with_PassiveTcpEstablishment' } // 4
  | { readonly type: 'AutomaticStart_with_PassiveTcpEstablishment' } // 5
  | { readonly type: 'AutomaticStart_with_DampPeerOscillations' } // 6
  | { readonly type: 'AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment' } // 7
  | {
      readonly type: 'AutomaticStop' // 8
      /** `max-prefix` sends Cease 1 (RFC 4486); anything else Cease 6 (other configuration change). */
      readonly reason?: 'max-prefix' | 'automatic-stop'
      readonly data?: Uint8Array
    }
  | { readonly type: 'ConnectRetryTimer_Expires' } // 9
  | { readonly type: 'HoldTimer_Expires' } // 10
  | { readonly type: 'KeepaliveTimer_Expires' } // 11
  | { readonly type: 'DelayOpenTimer_Expires' } // 12
  | { readonly type: 'IdleHoldTimer_Expires' } // 13
  | { readonly type: 'TcpConnection_Valid' } // 14
  | { readonly type: 'Tcp_CR_Invalid' } // 15
  | { readonly type: 'Tcp_CR_Acked' } // 16
  | { readonly type: 'TcpConnectionConfirmed' } // 17
  | { readonly type: 'TcpConnectionFails'; readonly refused?: boolean } // 18
  | {
      readonly type: 'BGPOpen' // 19 (20 when the DelayOpen timer runs: the machine knows)
      /** Negotiated hold time in seconds (0 = no keepalives, no hold timer). */
      readonly holdTime: number
      /** Negotiated keepalive interval; default holdTime / 3 rounded down. */
      readonly keepaliveTime?: number
    }
  | { readonly type: 'BGPOpen_with_DelayOpenTimer_running'; readonly holdTime: number; readonly keepaliveTime?: number } // 20
  | { readonly type: 'BGPHeaderErr'; readonly notification: NotificationSpec } // 21
  | { readonly type: 'BGPOpenMsgErr'; readonly notification: NotificationSpec } // 22
  | { readonly type: 'OpenCollisionDump' } // 23
  | { readonly type: 'NotifMsgVerErr' } // 24
  | { readonly type: 'NotifMsg' } // 25
  | { readonly type: 'KeepAliveMsg' } // 26
  | { readonly type: 'UpdateMsg' } // 27
  | { readonly type: 'UpdateMsgErr'; readonly notification: NotificationSpec } // 28
  | { readonly type: 'RouteRefreshMsg' } // ours (RFC 2918)
  | { readonly type: 'StableTimer_Expires' } // ours (8.1.1 damping)

export type FsmEventType = FsmEvent['type']

/** What the runner must do, in order. */
export type FsmAction =
  | { readonly type: 'start-timer'; readonly timer: TimerName; readonly seconds: number }
  | { readonly type: 'stop-timer'; readonly timer: TimerName }
  /** Initiate the outgoing TCP connection (drops any attempt in progress first). */
  | { readonly type: 'connect' }
  /** Close the TCP connection of this FSM (after any NOTIFICATION queued before it is flushed). */
  | { readonly type: 'drop-connection' }
  /** Reject an incoming connection that arrived while this state refuses them. */
  | { readonly type: 'reject-connection' }
  | { readonly type: 'send-open' }
  | { readonly type: 'send-keepalive' }
  | {
      readonly type: 'send-notification'
      readonly code: number
      readonly subcode: number
      readonly data?: Uint8Array
      /** RFC 9003 shutdown communication (Cease 2 and 4 only). */
      readonly shutdownMessage?: string
    }
  /** Forget what the session learnt (routes of the peer included: "delete all routes"). */
  | { readonly type: 'release-resources'; readonly deleteRoutes: boolean }
  /** Session reached Established with these negotiated timers. */
  | { readonly type: 'established'; readonly holdTime: number; readonly keepaliveTime: number }
  /** Session left a non-Idle state for Idle. */
  | { readonly type: 'down'; readonly reason: StopReason; readonly from: State; readonly wasEstablished: boolean }

/**
 * Per-peer FSM settings (RFC 4271 8.1.1 optional session attributes and 10 for timer defaults).
 * All times in seconds.
 */
export interface FsmConfig {
  readonly connectRetryTime: number
  /** Hold time while waiting for the peer's OPEN (RFC 4271 suggests 4 minutes). */
  readonly largeHoldTime: number
  readonly delayOpen: boolean
  readonly delayOpenTime: number
  /** Never initiate connections: wait for the peer (PassiveTcpEstablishment). */
  readonly passive: boolean
  /** After a failure, restart automatically after the idle hold time (AllowAutomaticStart). */
  readonly automaticRestart: boolean
  /** First idle hold time; also the constant delay when damping is off. */
  readonly idleHoldTime: number
  /** Ceiling of the exponential back-off. */
  readonly idleHoldTimeMax: number
  /** Double the idle hold time after each failure (DampPeerOscillations). */
  readonly dampPeerOscillations: boolean
  /** Time in Established after which the back-off is reset to idleHoldTime; 0 never resets. */
  readonly stableTime: number
  /** Send a NOTIFICATION for header/OPEN errors found before we sent our OPEN (delay open). */
  readonly sendNotificationWithoutOpen: boolean
  /** Resolve collisions against an Established connection too (6.8), rather than refusing the new one. */
  readonly collisionDetectEstablishedState: boolean
}

export const defaultFsmConfig: FsmConfig = {
  connectRetryTime: 120,
  largeHoldTime: 240,
  delayOpen: false,
  delayOpenTime: 5,
  passive: false,
  automaticRestart: true,
  idleHoldTime: 1,
  idleHoldTimeMax: 120,
  dampPeerOscillations: true,
  stableTime: 60,
  sendNotificationWithoutOpen: false,
  collisionDetectEstablishedState: false,
}

/** The machine's memory between events (the "session attributes" of 8 that are not config). */
export interface FsmState {
  readonly state: State
  readonly connectRetryCounter: number
  readonly delayOpenRunning: boolean
  /** An idle hold wait is pending: automatic starts are ignored until it expires. */
  readonly idleHoldRunning: boolean
  /** Next idle hold delay (grows with damping, reset by StableTimer_Expires). */
  readonly idleHoldTime: number
  /** Negotiated in the OPEN exchange. */
  readonly holdTime: number
  readonly keepaliveTime: number
  /** ManualStop happened and no ManualStart since: no automatic restarts. */
  readonly adminDown: boolean
  /** The current run started passive. */
  readonly passive: boolean
}

export function initialFsmState(config: Pick<FsmConfig, 'idleHoldTime'> = defaultFsmConfig): FsmState {
  return {
    state: 'Idle',
    connectRetryCounter: 0,
    delayOpenRunning: false,
    idleHoldRunning: false,
    idleHoldTime: config.idleHoldTime,
    holdTime: 0,
    keepaliveTime: 0,
    adminDown: true,
    passive: false,
  }
}

export interface StepResult {
  readonly state: FsmState
  readonly actions: readonly FsmAction[]
}
