/**
 * Graceful restart decisions without sockets: which session ends keep a peer's routes (RFC 4724
 * 4.2, RFC 8538 N bit and Hard Reset), the cause read back from a session's statistics, the
 * capability we advertise (R, N and F bits, checked through our OPEN and the peer's negotiation),
 * option checks, the phase of a speaker that did not restart, and the owner's hold on the end of
 * selection (holdSelection, release).
 */
import t from 'tap'
import { Family } from '../../bgp/codec/afi.js'
import { buildOpen, negotiate } from '../../bgp/session/index.js'
import { Rib } from '../../bgp/rib/index.js'
import { GracefulRestart, downCauseOf, flushReasonOf } from '../../bgp/speaker/graceful-restart.js'
import type { PhaseEvent } from '../../bgp/speaker/graceful-restart.js'
import type { Negotiated } from '../../bgp/session/index.js'

t.test('which ends keep the routes: RFC 4724 alone and with the N bit (RFC 8538)', async (t) => {
  // The TCP connection just ended (the peer died): kept, with or without the N bit.
  t.equal(flushReasonOf({ reason: 'tcp-closed' }, false), undefined)
  t.equal(flushReasonOf({ reason: 'tcp-closed' }, true), undefined)
  // Without the N bit every NOTIFICATION ends graceful restart, hold timer expiry included.
  t.equal(flushReasonOf({ reason: 'hold-timer-expired' }, false), 'notification')
  t.equal(flushReasonOf({ reason: 'notification-received', notification: { sent: false, code: 6, subcode: 4 } }, false), 'notification')
  t.equal(flushReasonOf({ reason: 'notification-sent', notification: { sent: true, code: 3, subcode: 1 } }, false), 'notification')
  // With it: hold timer expiry and error NOTIFICATIONs keep them (RFC 8538 4).
  t.equal(flushReasonOf({ reason: 'hold-timer-expired' }, true), undefined)
  t.equal(flushReasonOf({ reason: 'notification-sent', notification: { sent: true, code: 3, subcode: 1 } }, true), undefined)
  t.equal(flushReasonOf({ reason: 'notification-received', notification: { sent: false, code: 3, subcode: 3 } }, true), undefined)
  // Hard Reset either way flushes.
  t.equal(flushReasonOf({ reason: 'notification-received', notification: { sent: false, code: 6, subcode: 9 } }, true), 'hard-reset')
  t.equal(flushReasonOf({ reason: 'notification-sent', notification: { sent: true, code: 6, subcode: 9 } }, true), 'hard-reset')
  // A bare Cease the peer sent: it would have wrapped a hard one, so it is soft.
  t.equal(flushReasonOf({ reason: 'notification-received', notification: { sent: false, code: 6, subcode: 2 } }, true), undefined)
  // Our own administrative ends are hard (RFC 8538 5), read from the stop reason when not given.
  t.equal(flushReasonOf({ reason: 'admin-shutdown' }, true), 'hard-reset')
  t.equal(flushReasonOf({ reason: 'peer-deconfigured' }, true), 'hard-reset')
  t.equal(flushReasonOf({ reason: 'max-prefix' }, true), 'hard-reset')
  t.equal(flushReasonOf({ reason: 'admin-reset' }, true), 'hard-reset')
  t.equal(flushReasonOf({ reason: 'admin-reset' }, true, false), undefined, 'administrative reset: user control')
  // Collision resolution and other soft Cease subcodes keep them.
  t.equal(flushReasonOf({ reason: 'collision' }, true), undefined)
  t.equal(flushReasonOf({ reason: 'notification-sent', notification: { sent: true, code: 6, subcode: 8 } }, true), undefined)
})

t.test('the cause of a down from the session statistics', async (t) => {
  const at = Date.now()
  const stats = {
    lastNotificationSent: { code: 4, subcode: 0, at },
    lastNotificationReceived: { code: 6, subcode: 9, at },
  }
  t.same(downCauseOf({ reason: 'notification-received' }, stats), { reason: 'notification-received', notification: { sent: false, code: 6, subcode: 9 } })
  t.same(downCauseOf({ reason: 'hold-timer-expired' }, stats), { reason: 'hold-timer-expired', notification: { sent: true, code: 4, subcode: 0 } })
  t.same(downCauseOf({ reason: 'tcp-closed' }, stats), { reason: 'tcp-closed' }, 'a closed connection carries no NOTIFICATION')
  t.same(downCauseOf({ reason: 'notification-received' }, stats, at + 1), { reason: 'notification-received' }, 'older records are ignored')
})

const families = [Family.Ipv4Unicast, Family.Ipv6Unicast]

/** Our OPEN with the capability `gr` produces, as the peer negotiates it. */
function asPeerSees(gr: GracefulRestart): ReturnType<typeof negotiate>['gracefulRestart'] {
  const ours = buildOpen({ localAs: 65001, localId: 0x01010101, holdTime: 90, families, gracefulRestart: gr.localCapability(families) })
  const theirs = buildOpen({ localAs: 65002, localId: 0x02020202, holdTime: 90, families, gracefulRestart: { restartTime: 60 } })
  return negotiate(theirs, ours, { peerAs: 65001 }).gracefulRestart
}

t.test('restarting: R bit, N bit and F bits on the wire until selection, R off after', async (t) => {
  const rib = new Rib({ localAs: 65001, routerId: 0x01010101 })
  const gr = new GracefulRestart(rib, { restarting: true, restartTime: 90, deferralTime: 0.2, forwardingFamilies: [Family.Ipv4Unicast] })
  t.teardown(() => gr.close())
  const phases: PhaseEvent[] = []
  gr.on('phase', (p) => phases.push(p))
  t.equal(gr.phase, 'restarting')
  t.equal(gr.deferring, true)
  const seen = asPeerSees(gr)
  t.same(seen, {
    restartTime: 90,
    restarting: true,
    notification: true,
    families: [
      { family: Family.Ipv4Unicast, forwarding: true },
      { family: Family.Ipv6Unicast, forwarding: false },
    ],
  })
  gr.expectPeer(7, [Family.Ipv4Unicast]) // never comes up: only the timer ends the wait
  await new Promise((r) => setTimeout(r, 400))
  t.same(phases, [
    { phase: 'selection', reason: 'deferral-timer' },
    { phase: 'done', reason: 'deferral-timer' },
  ])
  t.equal(gr.deferring, false)
  const after = asPeerSees(gr)
  t.equal(after?.restarting, false, 'sessions opened after the restart clear the R bit')
  t.same(after?.families.map((f) => f.forwarding), [true, false], 'F bits still say what survived the restart')
})

t.test('a speaker that did not restart: done at once, no R or F bits', async (t) => {
  const rib = new Rib({ localAs: 65001, routerId: 0x01010101 })
  const gr = new GracefulRestart(rib, { restartTime: 120, notification: false })
  t.teardown(() => gr.close())
  const phases: PhaseEvent[] = []
  gr.on('phase', (p) => phases.push(p))
  t.equal(gr.phase, 'done')
  t.equal(gr.deferring, false)
  await new Promise((r) => setImmediate(r))
  t.same(phases, [{ phase: 'done', reason: 'not-restarting' }])
  const seen = asPeerSees(gr)
  t.same(seen, {
    restartTime: 120,
    restarting: false,
    notification: false,
    families: [
      { family: Family.Ipv4Unicast, forwarding: false },
      { family: Family.Ipv6Unicast, forwarding: false },
    ],
  })
})

t.test('options are checked with errors naming the field', async (t) => {
  const rib = new Rib({ localAs: 65001, routerId: 1 })
  t.throws(() => new GracefulRestart(rib, { restartTime: 4096 }), /gracefulRestart\.restartTime 4096/)
  t.throws(() => new GracefulRestart(rib, { restartTime: 1.5 }), /gracefulRestart\.restartTime 1\.5: must be an integer/)
  t.throws(() => new GracefulRestart(rib, { deferralTime: -1 }), /gracefulRestart\.deferralTime -1/)
  t.throws(() => new GracefulRestart(rib, { staleRoutesTime: Number.NaN }), /gracefulRestart\.staleRoutesTime NaN/)
})

t.test('holdSelection: every End-of-RIB in is announced, and only release() ends the restarting phase', async (t) => {
  const rib = new Rib({ localAs: 65001, routerId: 0x01010101 })
  const gr = new GracefulRestart(rib, { restarting: true, restartTime: 90, deferralTime: 30, holdSelection: true })
  t.teardown(() => gr.close())
  const phases: PhaseEvent[] = []
  gr.on('phase', (p) => phases.push(p))
  let complete = 0
  gr.on('end-of-rib-complete', () => { complete++ })
  gr.expectPeer(7, [Family.Ipv4Unicast])
  gr.recheck()
  t.equal(gr.endOfRibComplete, false, 'a peer is still expected')
  t.equal(gr.release(), false, 'release before every End-of-RIB: refused')
  t.equal(gr.phase, 'restarting')
  // the peer comes up with the capability (not restarting itself), then sends its End-of-RIB
  gr.peerUp(7, { families: [Family.Ipv4Unicast], gracefulRestart: { restartTime: 120, restarting: false, notification: true, families: [{ family: Family.Ipv4Unicast, forwarding: true }] } } as unknown as Negotiated)
  t.equal(complete, 0)
  gr.endOfRib(7, Family.Ipv4Unicast)
  t.equal(complete, 1, 'announced once')
  t.equal(gr.endOfRibComplete, true)
  t.equal(gr.phase, 'restarting', 'still deferring: the owner has not released it')
  t.equal(gr.deferring, true)
  t.same(phases, [])
  t.equal(gr.release(), true)
  await new Promise((r) => setImmediate(r))
  t.same(phases, [{ phase: 'selection', reason: 'all-end-of-rib' }, { phase: 'done', reason: 'all-end-of-rib' }])
  t.equal(gr.release(), true, 'a release after the phase is a no-op')
  t.equal(complete, 1)

  // expecting nobody: complete at the first check; without holdSelection the same ends the phase
  const idle = new GracefulRestart(rib, { restarting: true, restartTime: 90, deferralTime: 30, holdSelection: true })
  t.teardown(() => idle.close())
  idle.recheck()
  t.equal(idle.endOfRibComplete, true)
  t.equal(idle.phase, 'restarting')
  const plain = new GracefulRestart(rib, { restarting: true, restartTime: 90, deferralTime: 30 })
  t.teardown(() => plain.close())
  plain.expectPeer(8, [Family.Ipv4Unicast])
  plain.peerUp(8, { families: [Family.Ipv4Unicast], gracefulRestart: { restartTime: 120, restarting: false, notification: true, families: [{ family: Family.Ipv4Unicast, forwarding: true }] } } as unknown as Negotiated)
  plain.endOfRib(8, Family.Ipv4Unicast)
  t.equal(plain.phase, 'selection', 'without holdSelection the last End-of-RIB ends the phase itself')
})
