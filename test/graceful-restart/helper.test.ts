/**
 * Graceful restart, helper role (RFC 4724 4.2, RFC 8538), with real parts: our Session (passive,
 * on a loopback high port) feeding a real Rib through the bulk sink, and the restarting peer another
 * of our Sessions in a child process, killed with SIGKILL so its TCP connection closes without a
 * NOTIFICATION, then started again with the R bit. Checked in the RIB: paths kept and marked
 * stale, re-advertised ones unmarked, End-of-RIB sweeping the rest; the restart timer and the
 * stale-routes timer sweeping; a new OPEN without the capability or without the F bit flushing at
 * once; hard reset (our administrative shutdown) flushing; hold timer expiry kept with the N bit and
 * flushed without it; a peer without the capability flushed at once.
 */
import t from 'tap'
import type { Test } from 'tap'
import { Family } from '../../bgp/codec/afi.js'
import { BgpListener } from '../../bgp/session/index.js'
import type { SessionConfig } from '../../bgp/session/index.js'
import { Rib } from '../../bgp/rib/index.js'
import type { PeerId } from '../../bgp/rib/index.js'
import { GracefulRestart } from '../../bgp/speaker/graceful-restart.js'
import type { GracefulRestartOptions, PeerFlushedEvent, PeerStaleEvent, PeerSweptEvent } from '../../bgp/speaker/graceful-restart.js'
import { passiveSession, ribSink, startPeer, waitFor, wire, type PeerProcess, type PeerSpec, type Wired } from './harness.js'

const US = '127.0.0.51'
const PEER = '127.0.0.52'
const V4 = Family.Ipv4Unicast

const routes = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `10.${from + i}.0.0/16`)

interface Setup {
  rib: Rib
  gr: GracefulRestart
  peerId: PeerId
  w: Wired
  port: number
  stale: PeerStaleEvent[]
  swept: PeerSweptEvent[]
  flushed: PeerFlushedEvent[]
  /** Starts a peer process (killed at teardown). */
  peer(opts: { routes: string[]; eor: boolean; gr?: SessionConfig['gracefulRestart'] | null; restarting?: boolean; holdTime?: number }): PeerProcess
  counts(): { received: number; stale: number }
  staleOf(prefix: string): boolean | undefined
}

async function setup(t: Test, grOptions: GracefulRestartOptions, ours: Partial<SessionConfig> = {}): Promise<Setup> {
  const listener = new BgpListener({ host: US, port: 0 })
  const port = await listener.listen()
  t.teardown(() => listener.close())
  const rib = new Rib({ localAs: 65001, routerId: 0x0a333333 })
  const peerId = rib.addPeer({ address: PEER, asn: 65002, routerId: 0, ebgp: true, name: 'restarter' })
  const gr = new GracefulRestart(rib, grOptions)
  t.teardown(() => gr.close())
  const stale: PeerStaleEvent[] = []
  const swept: PeerSweptEvent[] = []
  const flushed: PeerFlushedEvent[] = []
  gr.on('peer-stale', (e) => stale.push(e))
  gr.on('peer-swept', (e) => swept.push(e))
  gr.on('peer-flushed', (e) => flushed.push(e))
  const session = passiveSession(
    {
      name: 'us',
      localAs: 65001,
      localId: 0x0a333333,
      peerAs: 65002,
      peerAddress: PEER,
      localAddress: US,
      holdTime: 9,
      families: [V4],
      idleHoldTime: 0.05,
      gracefulRestart: gr.localCapability([V4]),
      updateSink: ribSink(rib, () => peerId),
      ...ours,
    },
    listener,
  )
  t.teardown(() => session.destroy())
  const w = wire(session, rib, gr, peerId)
  session.start()
  const procs: PeerProcess[] = []
  t.teardown(async () => {
    for (const p of procs) {
      try {
        p.proc.kill('SIGCONT')
      } catch {
        // gone
      }
      await p.kill()
    }
  })
  return {
    rib,
    gr,
    peerId,
    w,
    port,
    stale,
    swept,
    flushed,
    peer(opts) {
      const grCap = opts.gr === null ? undefined : opts.gr ?? { restartTime: 30, notification: true, forwarding: [V4], restarting: opts.restarting === true }
      const spec: PeerSpec = {
        session: {
          name: 'restarter',
          localAs: 65002,
          localId: 0x0a343434,
          peerAs: 65001,
          peerAddress: US,
          peerPort: port,
          localAddress: PEER,
          holdTime: opts.holdTime ?? 9,
          families: [V4],
          connectRetryTime: 0.3,
          idleHoldTime: 0.1,
          ...(grCap !== undefined ? { gracefulRestart: grCap } : {}),
        },
        routes: opts.routes,
        nextHop: PEER,
        eor: opts.eor,
      }
      const p = startPeer(spec)
      procs.push(p)
      return p
    },
    counts() {
      const c = rib.counts(peerId, V4)
      return { received: c.received, stale: c.stale }
    },
    staleOf(prefix) {
      const table = rib.table(V4)
      const d = table.lookup(prefix)
      return d < 0 ? undefined : table.best(d)?.stale
    },
  }
}

t.test('peer killed: routes kept stale, re-advertised ones unmarked, End-of-RIB sweeps the rest', async (t) => {
  const s = await setup(t, { restartTime: 60, staleRoutesTime: 30 })
  const first = s.peer({ routes: routes(0, 10), eor: true })
  await waitFor(() => s.counts().received === 10 && s.w.eors.length === 1, 15_000, 'the first 10 routes and End-of-RIB')
  t.same(s.counts(), { received: 10, stale: 0 })
  t.equal(s.w.negotiated?.gracefulRestart?.restartTime, 30, "the peer's Restart Time")
  await first.kill()
  await waitFor(() => s.w.downs.length === 1, 5000, 'our session to see the connection close')
  t.same(s.w.downs, ['tcp-closed'], 'no NOTIFICATION: the peer died')
  t.same(s.counts(), { received: 10, stale: 10 }, 'all kept, all stale')
  t.equal(s.staleOf('10.3.0.0/16'), true, 'still best, marked stale')
  t.same(s.stale, [{ peer: s.peerId, count: 10, families: [V4], restartTime: 30 }])
  t.match(s.gr.status(), [{ peer: s.peerId, state: 'down', families: ['ipv4-unicast'] }])

  const second = s.peer({ routes: routes(0, 6), eor: false, restarting: true })
  await second.waitEvent('sent', 15_000)
  await waitFor(() => s.counts().stale === 4, 5000, 're-advertised routes to lose their stale mark')
  t.equal(s.w.negotiated?.gracefulRestart?.restarting, true, 'the peer came back with the R bit')
  t.same(s.counts(), { received: 10, stale: 4 })
  t.equal(s.staleOf('10.2.0.0/16'), false, 're-advertised: fresh')
  t.equal(s.staleOf('10.8.0.0/16'), true, 'not yet re-advertised: still stale, still used')
  t.match(s.gr.status(), [{ state: 'relearning' }])
  t.same(s.swept, [], 'nothing swept before End-of-RIB')

  second.send({ eor: true })
  await waitFor(() => s.swept.length === 1, 5000, 'the sweep on End-of-RIB')
  t.same(s.swept, [{ peer: s.peerId, family: V4, count: 4, reason: 'end-of-rib' }])
  t.same(s.counts(), { received: 6, stale: 0 })
  t.equal(s.staleOf('10.8.0.0/16'), undefined, 'swept from Loc-RIB')
  t.equal(s.staleOf('10.5.0.0/16'), false)
  t.same(s.gr.status(), [], 'nothing retained any more')
  t.same(s.flushed, [])
})

t.test("restart timer: the peer does not come back within its Restart Time, everything is swept", async (t) => {
  const s = await setup(t, { restartTime: 60 })
  const first = s.peer({ routes: routes(20, 28), eor: true, gr: { restartTime: 1, notification: true, forwarding: [V4] } })
  await waitFor(() => s.counts().received === 8, 15_000, '8 routes')
  const killedAt = Date.now()
  await first.kill()
  await waitFor(() => s.counts().stale === 8, 5000, 'routes marked stale')
  await waitFor(() => s.swept.length === 1, 4000, 'the restart timer to sweep')
  const after = Date.now() - killedAt
  t.ok(after >= 900 && after < 5000, `swept after the 1 s Restart Time (${after} ms)`)
  t.same(s.swept, [{ peer: s.peerId, family: V4, count: 8, reason: 'restart-timer' }])
  t.same(s.counts(), { received: 0, stale: 0 })
  t.equal(s.rib.table(V4).size, 0)
})

t.test('stale-routes timer: the peer comes back but sends no End-of-RIB', async (t) => {
  const s = await setup(t, { restartTime: 60, staleRoutesTime: 1 })
  const first = s.peer({ routes: routes(30, 35), eor: true })
  await waitFor(() => s.counts().received === 5, 15_000, '5 routes')
  await first.kill()
  await waitFor(() => s.counts().stale === 5, 5000, 'routes marked stale')
  const second = s.peer({ routes: routes(30, 32), eor: false, restarting: true })
  await second.waitEvent('sent', 15_000)
  await waitFor(() => s.counts().stale === 3, 5000, 'two re-advertised')
  t.same(s.swept, [])
  await waitFor(() => s.swept.length === 1, 4000, 'the stale-routes timer')
  t.same(s.swept, [{ peer: s.peerId, family: V4, count: 3, reason: 'stale-timer' }])
  t.same(s.counts(), { received: 2, stale: 0 })
})

t.test('the new OPEN has no graceful restart capability: stale routes flushed at once', async (t) => {
  const s = await setup(t, { restartTime: 60 })
  const first = s.peer({ routes: routes(40, 46), eor: true })
  await waitFor(() => s.counts().received === 6, 15_000, '6 routes')
  await first.kill()
  await waitFor(() => s.counts().stale === 6, 5000, 'routes marked stale')
  const second = s.peer({ routes: routes(40, 42), eor: false, gr: null })
  await second.waitEvent('established', 15_000)
  await waitFor(() => s.swept.length === 1, 3000, 'the flush')
  t.same(s.swept, [{ peer: s.peerId, family: V4, count: 6, reason: 'no-capability' }], 'swept before any UPDATE of the new session')
  await second.waitEvent('sent', 5000)
  await waitFor(() => s.counts().received === 2, 3000, 'the new routes')
  t.same(s.counts(), { received: 2, stale: 0 })
})

t.test('the new OPEN lists the family without the F bit: its stale routes flushed at once', async (t) => {
  const s = await setup(t, { restartTime: 60 })
  const first = s.peer({ routes: routes(50, 54), eor: true })
  await waitFor(() => s.counts().received === 4, 15_000, '4 routes')
  await first.kill()
  await waitFor(() => s.counts().stale === 4, 5000, 'routes marked stale')
  const second = s.peer({ routes: [], eor: false, gr: { restartTime: 30, notification: true, restarting: true, forwarding: [] } })
  await second.waitEvent('established', 15_000)
  await waitFor(() => s.swept.length === 1, 3000, 'the flush')
  t.same(s.swept, [{ peer: s.peerId, family: V4, count: 4, reason: 'no-forwarding-state' }])
  t.same(s.counts(), { received: 0, stale: 0 })
})

t.test('hard reset: our administrative shutdown with the N bit flushes', async (t) => {
  const s = await setup(t, { restartTime: 60 })
  s.peer({ routes: routes(60, 63), eor: true })
  await waitFor(() => s.counts().received === 3, 15_000, '3 routes')
  t.equal(s.w.negotiated?.gracefulRestart?.notification, true, 'N bit exchanged')
  await s.w.session.stop('maintenance')
  await waitFor(() => s.flushed.length === 1, 3000, 'the flush')
  t.same(s.w.downs, ['admin-shutdown'])
  t.same(s.flushed, [{ peer: s.peerId, count: 3, reason: 'hard-reset' }])
  t.same(s.stale, [])
  t.same(s.counts(), { received: 0, stale: 0 })
})

t.test('hold timer expiry (peer frozen): kept with the N bit (RFC 8538), flushed without it (RFC 4724)', async (t) => {
  for (const nBit of [true, false]) {
    await t.test(`N bit ${nBit ? 'on' : 'off'}`, async (t) => {
      const s = await setup(t, { restartTime: 60, notification: nBit }, { holdTime: 3 })
      const p = s.peer({ routes: routes(70, 74), eor: true, holdTime: 3 })
      await waitFor(() => s.counts().received === 4, 15_000, '4 routes')
      p.proc.kill('SIGSTOP')
      await waitFor(() => s.w.downs.length === 1, 8000, 'our hold timer to expire')
      t.same(s.w.downs, ['hold-timer-expired'])
      if (nBit) {
        t.same(s.counts(), { received: 4, stale: 4 }, 'kept, stale')
        t.same(s.flushed, [])
      } else {
        t.same(s.counts(), { received: 0, stale: 0 }, 'flushed')
        t.same(s.flushed, [{ peer: s.peerId, count: 4, reason: 'notification' }])
      }
      p.proc.kill('SIGCONT')
    })
  }
})

t.test('a peer without the capability: routes withdrawn at once on a kill', async (t) => {
  const s = await setup(t, { restartTime: 60 })
  const first = s.peer({ routes: routes(80, 83), eor: true, gr: null })
  await waitFor(() => s.counts().received === 3, 15_000, '3 routes')
  t.equal(s.w.negotiated?.gracefulRestart, undefined)
  await first.kill()
  await waitFor(() => s.flushed.length === 1, 5000, 'the flush')
  t.same(s.flushed, [{ peer: s.peerId, count: 3, reason: 'no-capability' }])
  t.same(s.counts(), { received: 0, stale: 0 })
})
