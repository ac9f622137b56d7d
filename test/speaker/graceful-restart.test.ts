/**
 * Graceful restart (RFC 4724) wired through the speaker, between two of our speakers:
 * - helper: the TCP connection dies without a NOTIFICATION (a loopback proxy resets it); the other
 *   side keeps the routes, marked stale, until the session returns and End-of-RIB sweeps what was
 *   not re-advertised;
 * - restarting: a speaker started with `restarting` sends no UPDATE (not even End-of-RIB) until it
 *   has its peer's End-of-RIB, then everything.
 */
import t from 'tap'
import { Family } from '../../bgp/codec/afi.js'
import type { PhaseEvent } from '../../bgp/speaker/index.js'
import { best, ipv4, link, relay, startSpeaker, waitBest, waitEstablished, waitFor } from './helpers.js'

const v4 = Family.Ipv4Unicast

t.test('helper: routes kept stale across a dead connection, swept by End-of-RIB', async (t) => {
  const a = await startSpeaker(65131, '10.4.0.1', '127.0.5.1', { gracefulRestart: { restartTime: 30 } })
  const b = await startSpeaker(65132, '10.4.0.2', '127.0.5.2', { gracefulRestart: { restartTime: 30 } })
  const r = await relay('127.0.5.3', a.address, b.address, b.port)
  t.teardown(async () => {
    await Promise.all([a.stop(), b.stop()])
    await r.close()
  })
  const common = { holdTime: 9, connectRetryTime: 0.5, idleHoldTime: 0.2, families: [v4] }
  b.addPeer({ name: 'A', address: a.address, asn: 65131, passive: true, localAddress: b.address, ...common })
  a.addPeer({ name: 'B', address: '127.0.5.3', port: r.port, asn: 65132, localAddress: a.address, ...common })
  await waitEstablished(a, 'B')
  a.originate(ipv4('10.14.0.0/16'), { attrs: { origin: 0, asPath: [] }, nextHop: '' })
  a.originate(ipv4('10.15.0.0/16'), { attrs: { origin: 0, asPath: [] }, nextHop: '' })
  await waitFor(() => b.peerStats('A').families[0]?.received === 2, 3000, 'two routes at B')
  t.ok(b.session('A').stats().negotiated?.gracefulRestart, 'graceful restart negotiated')

  // While the connection is dead, A drops one of its routes: it will not re-advertise it.
  r.reset()
  await waitFor(() => b.session('A').state !== 'Established' && a.session('B').state !== 'Established', 3000, 'both sides see the connection die')
  a.withdrawOriginated(ipv4('10.15.0.0/16'))
  t.equal(b.peerStats('A').families[0]?.stale, 2, 'B keeps both routes, stale')
  t.ok(best(b, v4, '10.14.0.0/16')?.stale, 'still best, marked stale')
  t.equal(b.session('A').stats().lastNotificationReceived, undefined, 'no NOTIFICATION was involved')

  await waitEstablished(b, 'A', 5000)
  await waitFor(() => b.peerStats('A').families[0]?.endOfRibReceived === true, 5000, 'End-of-RIB from A')
  await waitBest(b, v4, '10.15.0.0/16', false)
  const f = b.peerStats('A').families[0]
  t.equal(f?.received, 1, 'the route A did not re-advertise was swept')
  t.equal(f?.stale, 0, 'the re-advertised one is fresh')
  t.equal(best(b, v4, '10.14.0.0/16')?.stale, false)
})

t.test('restarting: no UPDATE before the peer\'s End-of-RIB', async (t) => {
  const a = await startSpeaker(65141, '10.5.0.1', '127.0.5.4', { gracefulRestart: { restartTime: 30 } })
  const phases: PhaseEvent[] = []
  const rs = await startSpeaker(65142, '10.5.0.2', '127.0.5.5', { gracefulRestart: { restartTime: 30, restarting: true, deferralTime: 10 } })
  rs.on('gr-phase', (e) => phases.push(e))
  t.teardown(() => Promise.all([a.stop(), rs.stop()]))
  t.equal(rs.gracefulRestart?.deferring, true)
  rs.originate(ipv4('10.16.0.0/16'), { attrs: { origin: 0, asPath: [] }, nextHop: '' })
  a.originate(ipv4('10.17.0.0/16'), { attrs: { origin: 0, asPath: [] }, nextHop: '' })
  let updatesBeforeEor = -1
  rs.on('end-of-rib', () => {
    updatesBeforeEor = rs.session(a.address).stats().messagesOut.update
  })
  link(rs, a, [v4])
  await waitEstablished(a, rs.address)
  t.equal(a.session(rs.address).stats().negotiated?.gracefulRestart?.restarting, true, 'R bit seen by the peer')
  await waitBest(a, v4, '10.16.0.0/16')
  t.equal(updatesBeforeEor, 0, 'nothing sent before the peer\'s End-of-RIB')
  t.ok(best(rs, v4, '10.17.0.0/16'), 'the peer\'s route learned')
  t.match(phases, [{ phase: 'selection', reason: 'all-end-of-rib' }, { phase: 'done', reason: 'all-end-of-rib' }])
  await waitFor(() => a.peerStats(rs.address).families[0]?.endOfRibReceived === true, 3000, 'End-of-RIB from the restarting side')

  // The restart is over: the next session's OPEN says so (R bit clear).
  await rs.setPeerEnabled(a.address, false)
  await waitFor(() => a.session(rs.address).state !== 'Established', 3000, 'the peer sees the session end')
  await rs.setPeerEnabled(a.address, true)
  await waitEstablished(a, rs.address)
  t.equal(a.session(rs.address).stats().negotiated?.gracefulRestart?.restarting, false, 'R bit clear after the restart')
  await waitBest(a, v4, '10.16.0.0/16')
})
