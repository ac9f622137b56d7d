/**
 * RFC 4271 8.2.2 transition table, every state x every event, written out from the RFC (with the
 * deliberate readings documented in bgp/fsm/machine.ts: RFC 6608 subcodes, header errors sending
 * their own NOTIFICATION, NotifMsg in OpenSent not answered), then checked against `step`.
 *
 * Actions are summarised as strings; stop-timer actions are left out of the table (checked on
 * their own below) so that the table reads like the RFC text.
 */
import t from 'tap'
import { step, defaultFsmConfig, initialFsmState } from '../../bgp/fsm/index.js'
import type { FsmAction, FsmEvent, FsmEventType, FsmState, State } from '../../bgp/fsm/index.js'

const config = defaultFsmConfig

export function summarize(actions: readonly FsmAction[], withStops = false): string[] {
  const out: string[] = []
  for (const a of actions) {
    switch (a.type) {
      case 'start-timer':
        out.push(`start:${a.timer}:${a.seconds}`)
        break
      case 'stop-timer':
        if (withStops) out.push(`stop:${a.timer}`)
        break
      case 'connect':
        out.push('connect')
        break
      case 'drop-connection':
        out.push('drop')
        break
      case 'reject-connection':
        out.push('reject')
        break
      case 'send-open':
        out.push('send-open')
        break
      case 'send-keepalive':
        out.push('send-keepalive')
        break
      case 'send-notification':
        out.push(`notify:${a.code}/${a.subcode}`)
        break
      case 'release-resources':
        out.push(a.deleteRoutes ? 'release:routes' : 'release')
        break
      case 'established':
        out.push('established')
        break
      case 'down':
        out.push(`down:${a.reason}`)
        break
    }
  }
  return out
}

/** A state as the machine would hold it after reaching `name` the usual way. */
function stateIn(name: State): FsmState {
  const base = initialFsmState(config)
  if (name === 'Idle') return { ...base, adminDown: false }
  const negotiated = name === 'OpenConfirm' || name === 'Established'
  return { ...base, state: name, adminDown: false, holdTime: negotiated ? 90 : 0, keepaliveTime: negotiated ? 30 : 0 }
}

const events: Record<FsmEventType, FsmEvent> = {
  ManualStart: { type: 'ManualStart' },
  ManualStop: { type: 'ManualStop' },
  AutomaticStart: { type: 'AutomaticStart' },
  ManualStart_with_PassiveTcpEstablishment: { type: 'ManualStart_with_PassiveTcpEstablishment' },
  AutomaticStart_with_PassiveTcpEstablishment: { type: 'AutomaticStart_with_PassiveTcpEstablishment' },
  AutomaticStart_with_DampPeerOscillations: { type: 'AutomaticStart_with_DampPeerOscillations' },
  AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment: {
    type: 'AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment',
  },
  AutomaticStop: { type: 'AutomaticStop' },
  ConnectRetryTimer_Expires: { type: 'ConnectRetryTimer_Expires' },
  HoldTimer_Expires: { type: 'HoldTimer_Expires' },
  KeepaliveTimer_Expires: { type: 'KeepaliveTimer_Expires' },
  DelayOpenTimer_Expires: { type: 'DelayOpenTimer_Expires' },
  IdleHoldTimer_Expires: { type: 'IdleHoldTimer_Expires' },
  TcpConnection_Valid: { type: 'TcpConnection_Valid' },
  Tcp_CR_Invalid: { type: 'Tcp_CR_Invalid' },
  Tcp_CR_Acked: { type: 'Tcp_CR_Acked' },
  TcpConnectionConfirmed: { type: 'TcpConnectionConfirmed' },
  TcpConnectionFails: { type: 'TcpConnectionFails', refused: true },
  BGPOpen: { type: 'BGPOpen', holdTime: 90 },
  BGPOpen_with_DelayOpenTimer_running: { type: 'BGPOpen_with_DelayOpenTimer_running', holdTime: 90 },
  BGPHeaderErr: { type: 'BGPHeaderErr', notification: { code: 1, subcode: 2 } },
  BGPOpenMsgErr: { type: 'BGPOpenMsgErr', notification: { code: 2, subcode: 2 } },
  OpenCollisionDump: { type: 'OpenCollisionDump' },
  NotifMsgVerErr: { type: 'NotifMsgVerErr' },
  NotifMsg: { type: 'NotifMsg' },
  KeepAliveMsg: { type: 'KeepAliveMsg' },
  UpdateMsg: { type: 'UpdateMsg' },
  UpdateMsgErr: { type: 'UpdateMsgErr', notification: { code: 3, subcode: 1 } },
  RouteRefreshMsg: { type: 'RouteRefreshMsg' },
  StableTimer_Expires: { type: 'StableTimer_Expires' },
}

type Row = [State, ...string[]]
const RESTART = 'start:IdleHold:1'
/** Going to Idle after a failure: optional NOTIFICATION, release, drop, report, restart later. */
const down = (reason: string, opts: { notify?: string; routes?: boolean; admin?: boolean } = {}): Row => [
  'Idle',
  ...(opts.notify ? [`notify:${opts.notify}`] : []),
  opts.routes === true ? 'release:routes' : 'release',
  'drop',
  `down:${reason}`,
  ...(opts.admin === true ? [] : [RESTART]),
]
const stay = (s: State, ...a: string[]): Row => [s, ...a]
const START_ACTIVE: Row = ['Connect', 'release', 'start:ConnectRetry:120', 'connect']
const START_PASSIVE: Row = ['Active', 'release', 'start:ConnectRetry:120']
const starts = (s: State) => ({
  ManualStart: stay(s),
  AutomaticStart: stay(s),
  ManualStart_with_PassiveTcpEstablishment: stay(s),
  AutomaticStart_with_PassiveTcpEstablishment: stay(s),
  AutomaticStart_with_DampPeerOscillations: stay(s),
  AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment: stay(s),
})
const OPEN_SENT: Row = ['OpenSent', 'send-open', 'start:Hold:240']
const OPEN_CONFIRM_DELAYED: Row = ['OpenConfirm', 'send-open', 'send-keepalive', 'start:Keepalive:30', 'start:Hold:90']

const table: Record<State, Record<FsmEventType, Row>> = {
  Idle: {
    ManualStart: START_ACTIVE,
    ManualStop: stay('Idle'),
    AutomaticStart: START_ACTIVE,
    ManualStart_with_PassiveTcpEstablishment: START_PASSIVE,
    AutomaticStart_with_PassiveTcpEstablishment: START_PASSIVE,
    AutomaticStart_with_DampPeerOscillations: START_ACTIVE,
    AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment: START_PASSIVE,
    AutomaticStop: stay('Idle'),
    ConnectRetryTimer_Expires: stay('Idle'),
    HoldTimer_Expires: stay('Idle'),
    KeepaliveTimer_Expires: stay('Idle'),
    DelayOpenTimer_Expires: stay('Idle'),
    IdleHoldTimer_Expires: START_ACTIVE,
    TcpConnection_Valid: stay('Idle', 'reject'),
    Tcp_CR_Invalid: stay('Idle'),
    Tcp_CR_Acked: stay('Idle', 'reject'),
    TcpConnectionConfirmed: stay('Idle', 'reject'),
    TcpConnectionFails: stay('Idle'),
    BGPOpen: stay('Idle'),
    BGPOpen_with_DelayOpenTimer_running: stay('Idle'),
    BGPHeaderErr: stay('Idle'),
    BGPOpenMsgErr: stay('Idle'),
    OpenCollisionDump: stay('Idle'),
    NotifMsgVerErr: stay('Idle'),
    NotifMsg: stay('Idle'),
    KeepAliveMsg: stay('Idle'),
    UpdateMsg: stay('Idle'),
    UpdateMsgErr: stay('Idle'),
    RouteRefreshMsg: stay('Idle'),
    StableTimer_Expires: stay('Idle'),
  },
  Connect: {
    ...starts('Connect'),
    ManualStop: down('admin-shutdown', { admin: true }),
    AutomaticStop: down('automatic-stop'),
    ConnectRetryTimer_Expires: stay('Connect', 'drop', 'start:ConnectRetry:120', 'connect'),
    HoldTimer_Expires: down('fsm-error'),
    KeepaliveTimer_Expires: down('fsm-error'),
    DelayOpenTimer_Expires: OPEN_SENT,
    IdleHoldTimer_Expires: down('fsm-error'),
    TcpConnection_Valid: stay('Connect'),
    Tcp_CR_Invalid: stay('Connect'),
    Tcp_CR_Acked: OPEN_SENT,
    TcpConnectionConfirmed: OPEN_SENT,
    TcpConnectionFails: down('connection-refused'),
    BGPOpen: down('fsm-error'),
    BGPOpen_with_DelayOpenTimer_running: OPEN_CONFIRM_DELAYED,
    BGPHeaderErr: down('message-error'),
    BGPOpenMsgErr: down('message-error'),
    OpenCollisionDump: down('fsm-error'),
    NotifMsgVerErr: down('notification-received'),
    NotifMsg: down('notification-received'),
    KeepAliveMsg: down('fsm-error'),
    UpdateMsg: down('fsm-error'),
    UpdateMsgErr: down('fsm-error'),
    RouteRefreshMsg: down('fsm-error'),
    StableTimer_Expires: stay('Connect'),
  },
  Active: {
    ...starts('Active'),
    ManualStop: down('admin-shutdown', { admin: true }),
    AutomaticStop: down('automatic-stop'),
    ConnectRetryTimer_Expires: stay('Connect', 'start:ConnectRetry:120', 'connect'),
    HoldTimer_Expires: down('fsm-error'),
    KeepaliveTimer_Expires: down('fsm-error'),
    DelayOpenTimer_Expires: OPEN_SENT,
    IdleHoldTimer_Expires: down('fsm-error'),
    TcpConnection_Valid: stay('Active'),
    Tcp_CR_Invalid: stay('Active'),
    Tcp_CR_Acked: OPEN_SENT,
    TcpConnectionConfirmed: OPEN_SENT,
    TcpConnectionFails: down('connection-refused'),
    BGPOpen: down('fsm-error'),
    BGPOpen_with_DelayOpenTimer_running: OPEN_CONFIRM_DELAYED,
    BGPHeaderErr: down('message-error'),
    BGPOpenMsgErr: down('message-error'),
    OpenCollisionDump: down('fsm-error'),
    NotifMsgVerErr: down('notification-received'),
    NotifMsg: down('notification-received'),
    KeepAliveMsg: down('fsm-error'),
    UpdateMsg: down('fsm-error'),
    UpdateMsgErr: down('fsm-error'),
    RouteRefreshMsg: down('fsm-error'),
    StableTimer_Expires: stay('Active'),
  },
  OpenSent: {
    ...starts('OpenSent'),
    ManualStop: down('admin-shutdown', { notify: '6/2', admin: true }),
    AutomaticStop: down('automatic-stop', { notify: '6/6' }),
    ConnectRetryTimer_Expires: down('fsm-error', { notify: '5/1' }),
    HoldTimer_Expires: down('hold-timer-expired', { notify: '4/0' }),
    KeepaliveTimer_Expires: down('fsm-error', { notify: '5/1' }),
    DelayOpenTimer_Expires: down('fsm-error', { notify: '5/1' }),
    IdleHoldTimer_Expires: down('fsm-error', { notify: '5/1' }),
    TcpConnection_Valid: stay('OpenSent'),
    Tcp_CR_Invalid: stay('OpenSent'),
    Tcp_CR_Acked: stay('OpenSent'),
    TcpConnectionConfirmed: stay('OpenSent'),
    TcpConnectionFails: stay('Active', 'drop', 'start:ConnectRetry:120'),
    BGPOpen: stay('OpenConfirm', 'send-keepalive', 'start:Keepalive:30', 'start:Hold:90'),
    BGPOpen_with_DelayOpenTimer_running: down('fsm-error', { notify: '5/1' }),
    BGPHeaderErr: down('notification-sent', { notify: '1/2' }),
    BGPOpenMsgErr: down('notification-sent', { notify: '2/2' }),
    OpenCollisionDump: down('collision', { notify: '6/7' }),
    NotifMsgVerErr: down('notification-received'),
    NotifMsg: down('notification-received'),
    KeepAliveMsg: down('fsm-error', { notify: '5/1' }),
    UpdateMsg: down('fsm-error', { notify: '5/1' }),
    UpdateMsgErr: down('fsm-error', { notify: '5/1' }),
    RouteRefreshMsg: down('fsm-error', { notify: '5/1' }),
    StableTimer_Expires: stay('OpenSent'),
  },
  OpenConfirm: {
    ...starts('OpenConfirm'),
    ManualStop: down('admin-shutdown', { notify: '6/2', admin: true }),
    AutomaticStop: down('automatic-stop', { notify: '6/6' }),
    ConnectRetryTimer_Expires: down('fsm-error', { notify: '5/2' }),
    HoldTimer_Expires: down('hold-timer-expired', { notify: '4/0' }),
    KeepaliveTimer_Expires: stay('OpenConfirm', 'send-keepalive', 'start:Keepalive:30'),
    DelayOpenTimer_Expires: down('fsm-error', { notify: '5/2' }),
    IdleHoldTimer_Expires: down('fsm-error', { notify: '5/2' }),
    TcpConnection_Valid: stay('OpenConfirm'),
    Tcp_CR_Invalid: stay('OpenConfirm'),
    Tcp_CR_Acked: stay('OpenConfirm'),
    TcpConnectionConfirmed: stay('OpenConfirm'),
    TcpConnectionFails: down('tcp-closed'),
    BGPOpen: down('fsm-error', { notify: '5/2' }),
    BGPOpen_with_DelayOpenTimer_running: down('fsm-error', { notify: '5/2' }),
    BGPHeaderErr: down('notification-sent', { notify: '1/2' }),
    BGPOpenMsgErr: down('fsm-error', { notify: '5/2' }),
    OpenCollisionDump: down('collision', { notify: '6/7' }),
    NotifMsgVerErr: down('notification-received'),
    NotifMsg: down('notification-received'),
    KeepAliveMsg: stay('Established', 'start:Hold:90', 'start:Stable:60', 'established'),
    UpdateMsg: down('fsm-error', { notify: '5/2' }),
    UpdateMsgErr: down('fsm-error', { notify: '5/2' }),
    RouteRefreshMsg: down('fsm-error', { notify: '5/2' }),
    StableTimer_Expires: stay('OpenConfirm'),
  },
  Established: {
    ...starts('Established'),
    ManualStop: down('admin-shutdown', { notify: '6/2', routes: true, admin: true }),
    AutomaticStop: down('automatic-stop', { notify: '6/6', routes: true }),
    ConnectRetryTimer_Expires: down('fsm-error', { notify: '5/3', routes: true }),
    HoldTimer_Expires: down('hold-timer-expired', { notify: '4/0', routes: true }),
    KeepaliveTimer_Expires: stay('Established', 'send-keepalive', 'start:Keepalive:30'),
    DelayOpenTimer_Expires: down('fsm-error', { notify: '5/3', routes: true }),
    IdleHoldTimer_Expires: down('fsm-error', { notify: '5/3', routes: true }),
    TcpConnection_Valid: stay('Established'),
    Tcp_CR_Invalid: stay('Established'),
    Tcp_CR_Acked: stay('Established'),
    TcpConnectionConfirmed: stay('Established'),
    TcpConnectionFails: down('tcp-closed', { routes: true }),
    BGPOpen: down('fsm-error', { notify: '5/3', routes: true }),
    BGPOpen_with_DelayOpenTimer_running: down('fsm-error', { notify: '5/3', routes: true }),
    BGPHeaderErr: down('notification-sent', { notify: '1/2', routes: true }),
    BGPOpenMsgErr: down('fsm-error', { notify: '5/3', routes: true }),
    OpenCollisionDump: down('fsm-error', { notify: '5/3', routes: true }),
    NotifMsgVerErr: down('notification-received', { routes: true }),
    NotifMsg: down('notification-received', { routes: true }),
    KeepAliveMsg: stay('Established', 'start:Hold:90'),
    UpdateMsg: stay('Established', 'start:Hold:90'),
    UpdateMsgErr: down('notification-sent', { notify: '3/1', routes: true }),
    RouteRefreshMsg: stay('Established', 'start:Hold:90'),
    StableTimer_Expires: stay('Established'),
  },
}

let cells = 0
for (const [stateName, row] of Object.entries(table) as [State, Record<FsmEventType, Row>][]) {
  t.test(`state ${stateName}`, async (t) => {
    for (const [eventName, expected] of Object.entries(row) as [FsmEventType, Row][]) {
      const before = Object.freeze(stateIn(stateName))
      const r = step(before, events[eventName], config)
      const [next, ...actions] = expected
      t.equal(r.state.state, next, `${stateName} x ${eventName}: next state`)
      t.same(summarize(r.actions), actions, `${stateName} x ${eventName}: actions`)
      cells++
    }
  })
}

t.test('the table covers every state and every event', async (t) => {
  t.equal(cells, 6 * Object.keys(events).length)
})
