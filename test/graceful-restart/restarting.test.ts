/**
 * Graceful restart, restarting role (RFC 4724 4.1): we restarted, our Sessions advertise the R and
 * F bits, and route selection stays deferred until every expected peer has sent End-of-RIB (peers
 * without the capability, or restarting themselves, are not waited for), or until the
 * Selection_Deferral_Timer. Real Sessions over loopback high ports (ours active, the peers passive
 * behind one listener) and a real Rib.
 */
import t from 'tap'
import type { Test } from 'tap'
import { Family } from '../../bgp/codec/afi.js'
import { BgpListener, Session } from '../../bgp/session/index.js'
import type { Negotiated, SessionConfig } from '../../bgp/session/index.js'
import { Rib } from '../../bgp/rib/index.js'
import type { PeerId } from '../../bgp/rib/index.js'
import { GracefulRestart } from '../../bgp/speaker/graceful-restart.js'
import type { GracefulRestartOptions, PhaseEvent } from '../../bgp/speaker/graceful-restart.js'
import { ribSink, waitFor, wire, type Wired } from './harness.js'
import { sendRoutes } from './updates.js'

const PEERS_AT = '127.0.0.61'
const V4 = Family.Ipv4Unicast

interface Remote {
  /** The peer's session (passive, in this process). */
  readonly session: Session
  /** What the peer negotiated with us. */
  negotiated: Negotiated | undefined
  /** Our side. */
  readonly ours: Wired
  readonly id: PeerId
}

interface Setup {
  rib: Rib
  gr: GracefulRestart
  phases: PhaseEvent[]
  phaseAt: number[]
  /** When the GracefulRestart (and its deferral timer) was created. */
  createdAt: number
  /** A peer at 127.0.0.61 that our session from `ourAddress` reaches; `gr` is its capability (null: none). */
  remote(ourAddress: string, asn: number, gr: SessionConfig['gracefulRestart'] | null): Remote
  start(): void
}

async function setup(t: Test, options: GracefulRestartOptions): Promise<Setup> {
  const listener = new BgpListener({ host: PEERS_AT, port: 0 })
  const port = await listener.listen()
  t.teardown(() => listener.close())
  const rib = new Rib({ localAs: 65001, routerId: 0x0a3d3d3d })
  const createdAt = Date.now()
  const gr = new GracefulRestart(rib, options)
  t.teardown(() => gr.close())
  const phases: PhaseEvent[] = []
  const phaseAt: number[] = []
  gr.on('phase', (p) => {
    phases.push(p)
    phaseAt.push(Date.now())
  })
  const sessions: Session[] = []
  t.teardown(() => Promise.all(sessions.map((s) => s.destroy())))
  return {
    rib,
    gr,
    phases,
    phaseAt,
    createdAt,
    remote(ourAddress, asn, cap) {
      const peerSession = new Session(
        {
          name: `peer-${ourAddress}`,
          localAs: asn,
          localId: 0x0a3e0000 + sessions.length,
          peerAs: 65001,
          peerAddress: ourAddress,
          localAddress: PEERS_AT,
          holdTime: 9,
          families: [V4],
          passive: true,
          ...(cap !== null && cap !== undefined ? { gracefulRestart: cap } : {}),
        },
        { listener },
      )
      const id = rib.addPeer({ address: PEERS_AT, asn, routerId: 0, ebgp: asn !== 65001, name: ourAddress })
      const session = new Session({
        name: `us-${ourAddress}`,
        localAs: 65001,
        localId: 0x0a3d3d3d,
        peerAs: asn,
        peerAddress: PEERS_AT,
        peerPort: port,
        localAddress: ourAddress,
        holdTime: 9,
        families: [V4],
        connectRetryTime: 0.3,
        gracefulRestart: gr.localCapability([V4]),
        updateSink: ribSink(rib, () => id),
      })
      sessions.push(peerSession, session)
      const r: Remote = { session: peerSession, negotiated: undefined, ours: wire(session, rib, gr, id), id }
      peerSession.on('established', (n) => {
        r.negotiated = n
      })
      peerSession.on('error', () => {})
      gr.expectPeer(id, [V4])
      return r
    },
    start() {
      for (const s of sessions) s.start()
    },
  }
}

t.test('selection after End-of-RIB from every peer; a peer without the capability is not waited for', async (t) => {
  const s = await setup(t, { restarting: true, restartTime: 120, deferralTime: 30 })
  const a = s.remote('127.0.0.62', 65002, { restartTime: 60, notification: true })
  const b = s.remote('127.0.0.63', 65003, { restartTime: 60, notification: true })
  const c = s.remote('127.0.0.64', 65004, null)
  s.start()
  await waitFor(() => [a, b, c].every((r) => r.negotiated !== undefined && r.ours.established === 1), 10_000, 'three sessions up')
  // What the peers saw in our OPEN.
  t.same(a.negotiated?.gracefulRestart, { restartTime: 120, restarting: true, notification: true, families: [{ family: V4, forwarding: true }] })
  t.equal(c.negotiated?.gracefulRestart, undefined)
  t.equal(s.gr.deferring, true)
  t.same(s.gr.waitingFor().map((w) => w.peer).sort(), [a.id, b.id], 'c has no capability: not waited for')

  t.ok(sendRoutes(a.session, ['10.61.0.0/16', '10.62.0.0/16'], PEERS_AT))
  t.ok(a.session.sendEndOfRib(V4))
  t.ok(sendRoutes(c.session, ['10.64.0.0/16'], PEERS_AT))
  await waitFor(() => a.ours.eors.length === 1, 5000, "a's End-of-RIB")
  t.equal(s.gr.phase, 'restarting', 'still waiting for b')
  t.same(s.gr.waitingFor(), [{ peer: b.id, families: ['ipv4-unicast'], up: true }])
  t.same(s.phases, [])

  t.ok(sendRoutes(b.session, ['10.63.0.0/16'], PEERS_AT))
  t.ok(b.session.sendEndOfRib(V4))
  await waitFor(() => s.phases.length === 2, 5000, 'selection and done')
  t.same(s.phases, [
    { phase: 'selection', reason: 'all-end-of-rib' },
    { phase: 'done', reason: 'all-end-of-rib' },
  ])
  t.equal(s.gr.deferring, false)
  t.equal(s.gr.phase, 'done')
  // Everything learned before the last End-of-RIB is in Loc-RIB at selection.
  t.equal(s.rib.counts(a.id, V4).received, 2)
  t.equal(s.rib.counts(b.id, V4).received, 1)
  t.ok(s.rib.table(V4).lookup('10.63.0.0/16') >= 0)
})

t.test('the Selection_Deferral_Timer ends the wait for a peer that never comes up', async (t) => {
  const s = await setup(t, { restarting: true, restartTime: 120, deferralTime: 1.5 })
  const a = s.remote('127.0.0.65', 65002, { restartTime: 60, notification: true })
  const ghost = s.rib.addPeer({ address: '127.0.0.99', asn: 65009, routerId: 0, ebgp: true })
  s.gr.expectPeer(ghost, [V4]) // configured, never connects
  s.start()
  await waitFor(() => a.negotiated !== undefined, 10_000, 'session up')
  t.ok(a.session.sendEndOfRib(V4))
  await waitFor(() => a.ours.eors.length === 1, 5000, 'End-of-RIB')
  t.equal(s.gr.phase, 'restarting')
  t.same(s.gr.waitingFor(), [{ peer: ghost, families: ['ipv4-unicast'], up: false }])
  await waitFor(() => s.phases.length === 2, 5000, 'the deferral timer')
  t.same(s.phases.map((p) => `${p.phase}/${p.reason}`), ['selection/deferral-timer', 'done/deferral-timer'])
  const elapsed = (s.phaseAt[0] ?? 0) - s.createdAt
  t.ok(elapsed >= 1450 && elapsed < 5000, `selection after the 1.5 s timer (${elapsed} ms)`)
})

t.test('a peer restarting too (R bit) is not waited for; one that went down before its End-of-RIB is', async (t) => {
  const s = await setup(t, { restarting: true, restartTime: 120, deferralTime: 30 })
  const a = s.remote('127.0.0.66', 65002, { restartTime: 60, notification: true })
  const both = s.remote('127.0.0.67', 65003, { restartTime: 60, notification: true, restarting: true })
  s.start()
  // up on both sides: the peer's side can be Established before ours has read its KEEPALIVE, and our
  // side is where the R bit is learned (a CI run caught the check below in between)
  await waitFor(() => [a, both].every((r) => r.negotiated !== undefined && r.ours.established === 1), 10_000, 'sessions up')
  t.same(s.gr.waitingFor().map((w) => w.peer), [a.id], 'the restarting peer waits for us, not we for it')
  // a goes down before its End-of-RIB, comes back, and only then sends it.
  await a.session.stop('flap')
  await waitFor(() => a.ours.downs.length === 1, 5000, 'a down')
  t.equal(s.gr.phase, 'restarting')
  a.session.start()
  await waitFor(() => a.ours.established === 2, 10_000, 'a back')
  t.equal(s.gr.phase, 'restarting')
  t.ok(a.session.sendEndOfRib(V4))
  await waitFor(() => s.phases.length === 2, 5000, 'selection')
  t.same(s.phases[0], { phase: 'selection', reason: 'all-end-of-rib' })
})
