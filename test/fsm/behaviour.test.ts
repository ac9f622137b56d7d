/**
 * FSM behaviour beyond single cells of the table: ConnectRetryCounter rules, idle hold back-off
 * (damp peer oscillations), administrative stop, passive peers, DelayOpen, hold time zero, the
 * RFC 9003 shutdown message, max-prefix, collision resolution, and random event sequences.
 */
import t from 'tap'
import fc from 'fast-check'
import { step, defaultFsmConfig, initialFsmState, collisionLoser, States } from '../../bgp/fsm/index.js'
import type { FsmConfig, FsmEvent, FsmState } from '../../bgp/fsm/index.js'

function run(events: FsmEvent[], config: FsmConfig = defaultFsmConfig, from: FsmState = initialFsmState(config)) {
  let s = from
  const all = []
  for (const e of events) {
    const r = step(s, e, config)
    s = r.state
    all.push(...r.actions)
  }
  return { state: s, actions: all }
}

const toEstablished: FsmEvent[] = [
  { type: 'ManualStart' },
  { type: 'TcpConnectionConfirmed' },
  { type: 'BGPOpen', holdTime: 9 },
  { type: 'KeepAliveMsg' },
]

t.test('a normal session comes up and negotiates timers', async (t) => {
  const r = run(toEstablished)
  t.equal(r.state.state, 'Established')
  t.equal(r.state.holdTime, 9)
  t.equal(r.state.keepaliveTime, 3)
  t.same(r.actions.find((a) => a.type === 'established'), { type: 'established', holdTime: 9, keepaliveTime: 3 })
  const explicit = run([...toEstablished.slice(0, 2), { type: 'BGPOpen', holdTime: 30, keepaliveTime: 5 }])
  t.equal(explicit.state.keepaliveTime, 5)
})

t.test('hold time zero runs neither keepalive nor hold timer', async (t) => {
  const r = run([{ type: 'ManualStart' }, { type: 'TcpConnectionConfirmed' }, { type: 'BGPOpen', holdTime: 0 }, { type: 'KeepAliveMsg' }])
  t.equal(r.state.state, 'Established')
  const afterOpen = r.actions.slice(r.actions.findIndex((a) => a.type === 'send-keepalive'))
  t.notOk(afterOpen.some((a) => a.type === 'start-timer' && (a.timer === 'Hold' || a.timer === 'Keepalive')))
  const ka = step(r.state, { type: 'KeepaliveTimer_Expires' }, defaultFsmConfig)
  t.notOk(ka.actions.some((a) => a.type === 'start-timer'), 'no keepalive restart')
})

t.test('ConnectRetryCounter follows 8.2.2', async (t) => {
  const cfg = { ...defaultFsmConfig, automaticRestart: false }
  // Connect + TcpConnectionFails (no DelayOpen): counter unchanged.
  t.equal(run([{ type: 'ManualStart' }, { type: 'TcpConnectionFails' }], cfg).state.connectRetryCounter, 0)
  // Active + TcpConnectionFails: incremented.
  const active = run([{ type: 'ManualStart_with_PassiveTcpEstablishment' }, { type: 'TcpConnectionFails' }], cfg)
  t.equal(active.state.connectRetryCounter, 1)
  // Hold timer in OpenSent: incremented; ManualStop: zeroed.
  const held = run([{ type: 'ManualStart' }, { type: 'TcpConnectionConfirmed' }, { type: 'HoldTimer_Expires' }], cfg)
  t.equal(held.state.connectRetryCounter, 1)
  const stopped = run([{ type: 'ManualStart' }, { type: 'TcpConnectionConfirmed' }, { type: 'ManualStop' }], cfg)
  t.equal(stopped.state.connectRetryCounter, 0)
  // NotifMsgVerErr in OpenSent: unchanged.
  t.equal(run([{ type: 'ManualStart' }, { type: 'TcpConnectionConfirmed' }, { type: 'NotifMsgVerErr' }], cfg).state.connectRetryCounter, 0)
})

t.test('idle hold time backs off exponentially and resets once stable', async (t) => {
  const cfg: FsmConfig = { ...defaultFsmConfig, idleHoldTime: 2, idleHoldTimeMax: 30 }
  let s: FsmState = run([{ type: 'ManualStart' }], cfg).state
  const delays: number[] = []
  for (let i = 0; i < 6; i++) {
    const r = step(s, { type: 'TcpConnectionFails', refused: true }, cfg)
    const hold = r.actions.find((a) => a.type === 'start-timer' && a.timer === 'IdleHold')
    t.ok(hold, 'restart scheduled')
    if (hold?.type === 'start-timer') delays.push(hold.seconds)
    t.equal(r.state.state, 'Idle')
    // Automatic starts wait for the idle hold timer.
    t.equal(step(r.state, { type: 'AutomaticStart_with_DampPeerOscillations' }, cfg).state.state, 'Idle')
    s = step(r.state, { type: 'IdleHoldTimer_Expires' }, cfg).state
    t.equal(s.state, 'Connect')
  }
  t.same(delays, [2, 4, 8, 16, 30, 30])
  // Up for stableTime: back to the first value.
  const up = run([{ type: 'TcpConnectionConfirmed' }, { type: 'BGPOpen', holdTime: 90 }, { type: 'KeepAliveMsg' }], cfg, s)
  t.equal(up.state.idleHoldTime, 30)
  const stable = step(up.state, { type: 'StableTimer_Expires' }, cfg)
  t.equal(stable.state.idleHoldTime, 2)
  const flap = step(stable.state, { type: 'NotifMsg' }, cfg)
  t.match(flap.actions.find((a) => a.type === 'down'), { reason: 'notification-received', wasEstablished: true })
  t.ok(flap.actions.some((a) => a.type === 'start-timer' && a.timer === 'IdleHold' && a.seconds === 2))
  // Without damping the delay stays constant.
  const flat = { ...cfg, dampPeerOscillations: false }
  let f = run([{ type: 'ManualStart' }], flat).state
  for (let i = 0; i < 3; i++) {
    const r = step(f, { type: 'TcpConnectionFails' }, flat)
    t.ok(r.actions.some((a) => a.type === 'start-timer' && a.timer === 'IdleHold' && a.seconds === 2))
    f = step(r.state, { type: 'IdleHoldTimer_Expires' }, flat).state
  }
})

t.test('administrative stop: no automatic restart until ManualStart', async (t) => {
  const r = run([...toEstablished, { type: 'ManualStop', message: 'maintenance until 18:00' }])
  t.equal(r.state.state, 'Idle')
  t.equal(r.state.adminDown, true)
  const notify = r.actions.find((a) => a.type === 'send-notification')
  t.match(notify, { code: 6, subcode: 2, shutdownMessage: 'maintenance until 18:00' })
  t.notOk(r.actions.slice(-3).some((a) => a.type === 'start-timer' && a.timer === 'IdleHold'))
  t.equal(step(r.state, { type: 'AutomaticStart' }, defaultFsmConfig).state.state, 'Idle', 'automatic start ignored')
  t.equal(step(r.state, { type: 'IdleHoldTimer_Expires' }, defaultFsmConfig).state.state, 'Idle', 'stale idle hold ignored')
  t.equal(step(r.state, { type: 'ManualStart' }, defaultFsmConfig).state.state, 'Connect')
  const reset = run([...toEstablished, { type: 'ManualStop', subcode: 4 }])
  t.match(reset.actions.find((a) => a.type === 'send-notification'), { code: 6, subcode: 4 })
  t.ok(reset.actions.some((a) => a.type === 'down' && a.reason === 'admin-reset'))
  // ManualStop in Idle cancels a pending restart.
  const failed = run([{ type: 'ManualStart' }, { type: 'TcpConnectionFails' }])
  t.equal(failed.state.idleHoldRunning, true)
  const cancelled = step(failed.state, { type: 'ManualStop' }, defaultFsmConfig)
  t.same(cancelled.actions, [{ type: 'stop-timer', timer: 'IdleHold' }])
})

t.test('max-prefix AutomaticStop sends Cease 1', async (t) => {
  const r = run([...toEstablished, { type: 'AutomaticStop', reason: 'max-prefix' }])
  t.match(r.actions.find((a) => a.type === 'send-notification'), { code: 6, subcode: 1 })
  t.ok(r.actions.some((a) => a.type === 'down' && a.reason === 'max-prefix'))
})

t.test('passive peers never connect', async (t) => {
  const cfg = { ...defaultFsmConfig, passive: true }
  const r = run([{ type: 'ManualStart' }, { type: 'ConnectRetryTimer_Expires' }, { type: 'ConnectRetryTimer_Expires' }], cfg)
  t.equal(r.state.state, 'Active')
  t.notOk(r.actions.some((a) => a.type === 'connect'))
  const up = run([{ type: 'TcpConnectionConfirmed' }, { type: 'BGPOpen', holdTime: 90 }, { type: 'KeepAliveMsg' }], cfg, r.state)
  t.equal(up.state.state, 'Established')
  // Restart after failure stays passive.
  const down = run([{ type: 'HoldTimer_Expires' }, { type: 'IdleHoldTimer_Expires' }], cfg, up.state)
  t.equal(down.state.state, 'Active')
})

t.test('DelayOpen: wait for the peer to speak first', async (t) => {
  const cfg = { ...defaultFsmConfig, delayOpen: true, delayOpenTime: 7 }
  const c = run([{ type: 'ManualStart' }, { type: 'Tcp_CR_Acked' }], cfg)
  t.equal(c.state.state, 'Connect')
  t.equal(c.state.delayOpenRunning, true)
  t.ok(c.actions.some((a) => a.type === 'start-timer' && a.timer === 'DelayOpen' && a.seconds === 7))
  t.notOk(c.actions.some((a) => a.type === 'send-open'))
  // The plain BGPOpen event is taken as event 20 while the timer runs.
  const o = step(c.state, { type: 'BGPOpen', holdTime: 30 }, cfg)
  t.equal(o.state.state, 'OpenConfirm')
  t.same(
    o.actions.filter((a) => a.type === 'send-open' || a.type === 'send-keepalive').map((a) => a.type),
    ['send-open', 'send-keepalive'],
  )
  t.equal(o.state.delayOpenRunning, false)
  // Timer expiry: we speak.
  const e = step(c.state, { type: 'DelayOpenTimer_Expires' }, cfg)
  t.equal(e.state.state, 'OpenSent')
  // TCP fails while the DelayOpen timer runs in Connect: back to Active, keep listening.
  const f = step(c.state, { type: 'TcpConnectionFails' }, cfg)
  t.equal(f.state.state, 'Active')
  t.notOk(f.actions.some((a) => a.type === 'down'))
  // Header error before our OPEN: NOTIFICATION only with SendNOTIFICATIONwithoutOPEN.
  const hdr: FsmEvent = { type: 'BGPHeaderErr', notification: { code: 1, subcode: 1 } }
  t.notOk(step(c.state, hdr, cfg).actions.some((a) => a.type === 'send-notification'))
  const loud = { ...cfg, sendNotificationWithoutOpen: true }
  t.match(step(c.state, hdr, loud).actions.find((a) => a.type === 'send-notification'), { code: 1, subcode: 1 })
})

t.test('collision: the connection of the higher identifier survives', async (t) => {
  t.equal(collisionLoser(0x0a000001, 0x0a000002, 65000, 65001), 'outgoing', 'we are lower: close ours')
  t.equal(collisionLoser(0x0a000002, 0x0a000001, 65000, 65001), 'incoming')
  // Unsigned comparison: 200.0.0.1 > 10.0.0.1.
  t.equal(collisionLoser(0xc8000001, 0x0a000001, 1, 2), 'incoming')
  t.equal(collisionLoser(0x0a000001 | 0, 0xc8000001 | 0, 1, 2), 'outgoing')
  // RFC 6286: equal identifiers, larger AS wins.
  t.equal(collisionLoser(7, 7, 65000, 4200000000), 'outgoing')
  t.equal(collisionLoser(7, 7, 4200000000, 65000), 'incoming')
  // Both sides agree on the connection to close.
  fc.assert(
    fc.property(fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(0xffffffff), (a, b, asA, asB) => {
      fc.pre(a !== b || asA !== asB)
      const mine = collisionLoser(a, b, asA, asB)
      const theirs = collisionLoser(b, a, asB, asA)
      return mine !== theirs // my outgoing is their incoming: closing the same connection
    }),
  )
})

t.test('random event sequences keep the invariants', async (t) => {
  const eventArb = fc.oneof(
    ...(
      [
        'ManualStart', 'AutomaticStart', 'ManualStart_with_PassiveTcpEstablishment', 'ConnectRetryTimer_Expires',
        'HoldTimer_Expires', 'KeepaliveTimer_Expires', 'DelayOpenTimer_Expires', 'IdleHoldTimer_Expires',
        'TcpConnection_Valid', 'Tcp_CR_Invalid', 'Tcp_CR_Acked', 'TcpConnectionConfirmed', 'TcpConnectionFails',
        'OpenCollisionDump', 'NotifMsgVerErr', 'NotifMsg', 'KeepAliveMsg', 'UpdateMsg', 'RouteRefreshMsg',
        'StableTimer_Expires', 'AutomaticStop',
      ] as const
    ).map((type) => fc.constant({ type } as FsmEvent)),
    fc.constant<FsmEvent>({ type: 'ManualStop' }),
    fc.nat(300).map<FsmEvent>((h) => ({ type: 'BGPOpen', holdTime: h < 3 ? 0 : h })),
    fc.constant<FsmEvent>({ type: 'BGPHeaderErr', notification: { code: 1, subcode: 3 } }),
    fc.constant<FsmEvent>({ type: 'UpdateMsgErr', notification: { code: 3, subcode: 5 } }),
  )
  const cfgArb = fc.record({ delayOpen: fc.boolean(), passive: fc.boolean(), automaticRestart: fc.boolean() })
  fc.assert(
    fc.property(cfgArb, fc.array(eventArb, { maxLength: 60 }), (over, evs) => {
      const cfg = { ...defaultFsmConfig, ...over }
      let s = initialFsmState(cfg)
      for (const e of evs) {
        const frozen = Object.freeze({ ...s })
        const r = step(frozen, e, cfg)
        const downs = r.actions.filter((a) => a.type === 'down')
        // A 'down' exactly when leaving a non-Idle state for Idle.
        const left = s.state !== 'Idle' && r.state.state === 'Idle'
        if (downs.length !== (left ? 1 : 0)) return false
        // 'established' exactly on OpenConfirm -> Established.
        const est = r.actions.filter((a) => a.type === 'established').length
        if (est !== (s.state === 'OpenConfirm' && r.state.state === 'Established' ? 1 : 0)) return false
        if (!States.includes(r.state.state)) return false
        // Idle holds no negotiated timers and never sends.
        if (r.state.state === 'Idle' && (r.state.holdTime !== 0 || r.state.keepaliveTime !== 0)) return false
        if (s.state === 'Idle' && r.actions.some((a) => a.type.startsWith('send-'))) return false
        // A passive run never connects.
        if (r.state.passive && r.actions.some((a) => a.type === 'connect')) return false
        s = r.state
      }
      return true
    }),
    { numRuns: 2000 },
  )
  t.pass('invariants held')
})
