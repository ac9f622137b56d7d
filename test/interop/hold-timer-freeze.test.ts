/**
 * Hold-timer expiry against real daemons (RFC 4271 section 6.5, section 8 event 10): our Session
 * reaches Established with the daemon (hold time 3 s, keepalives every second), then the daemon is
 * frozen with SIGSTOP. One test, run for BIRD 2, gobgpd 3.10 and FRR 8.4 bgpd:
 *
 * - our side goes down with `hold-timer-expired` 2 to 3 s after the last keepalive (checked as
 *   1.5 to 5 s after the freeze, to allow for a loaded machine), and nothing else;
 * - it sends NOTIFICATION Hold Timer Expired (code 4, subcode 0);
 * - the daemon, thawed, leaves Established on that connection (read through its own CLI): the
 *   NOTIFICATION or the close reached it. Our session is destroyed first, so it cannot reconnect
 *   and make the daemon look Established again.
 *
 * Loopback only: each daemon on its own pair of 127.1.9.x addresses, high ports, killed in teardown.
 */
import t from 'tap'
import type { Test } from 'tap'
import { Session } from '../../bgp/session/index.js'
import { Family } from '../../bgp/codec/index.js'
import { startBird, startFrr, startGobgp, type PeerSpec, type RunningPeer } from './peers.js'
import { waitFor, waitState } from '../session/helpers.js'

const HOLD = 3
const OUR_AS = 65001

interface FreezeCase<P extends RunningPeer> {
  readonly daemon: string
  readonly address: string
  readonly ours: string
  readonly asn: number
  readonly start: (t: Test, spec: PeerSpec) => Promise<P>
  /** The daemon's own view of its session with us, through its CLI. */
  readonly established: (peer: P, ours: string) => boolean
}

const GOBGP_ESTABLISHED = 6 // GoBGP API: SessionState ESTABLISHED

const bird: FreezeCase<Awaited<ReturnType<typeof startBird>>> = {
  daemon: 'BIRD', address: '127.1.9.1', ours: '127.1.9.2', asn: 65030, start: (t, s) => startBird(t, s),
  established: (p) => /BGP state:\s+Established/.test(p.birdc('show protocols all peer1')),
}
const gobgp: FreezeCase<Awaited<ReturnType<typeof startGobgp>>> = {
  daemon: 'gobgpd', address: '127.1.9.3', ours: '127.1.9.4', asn: 65010, start: startGobgp,
  established: (p, ours) => p.json<{ state?: { session_state?: number } }>(['neighbor', ours])?.state?.session_state === GOBGP_ESTABLISHED,
}
const frr: FreezeCase<Awaited<ReturnType<typeof startFrr>>> = {
  daemon: 'FRR bgpd', address: '127.1.9.5', ours: '127.1.9.6', asn: 65100, start: (t, s) => startFrr(t, s),
  established: (p) => p.neighbor().bgpState === 'Established',
}

async function holdTimerFreeze<P extends RunningPeer>(t: Test, c: FreezeCase<P>): Promise<void> {
  const peer = await c.start(t, {
    name: `freeze-${c.daemon.split(' ')[0]!.toLowerCase()}`,
    address: c.address,
    asn: c.asn,
    routerId: '10.9.9.9',
    holdTime: HOLD,
    neighbor: { address: c.ours, asn: OUR_AS, families: ['ipv4'] },
  })
  const session = new Session({
    name: c.daemon,
    localAs: OUR_AS,
    localId: 0x0a090902,
    peerAs: c.asn,
    peerAddress: c.address,
    peerPort: peer.port,
    localAddress: c.ours,
    holdTime: HOLD,
    families: [Family.Ipv4Unicast],
    connectRetryTime: 1,
    idleHoldTime: 0.5,
  })
  t.teardown(() => session.destroy())
  session.start()
  await waitState(session, 'Established', 10_000)
  t.equal(session.stats().negotiated?.holdTime, HOLD, 'hold time negotiated')
  await waitFor(() => c.established(peer, c.ours), 5000, `${c.daemon} to show Established`)
  t.ok(c.established(peer, c.ours), `${c.daemon}'s CLI shows the session Established`)

  const downs: string[] = []
  session.on('down', (d) => downs.push(d.reason))
  const frozenAt = Date.now()
  peer.daemon.freeze()
  t.teardown(() => peer.daemon.thaw())
  await waitFor(() => downs.length > 0, 8000, 'hold timer expiry')
  const after = Date.now() - frozenAt
  await session.destroy()
  peer.daemon.thaw()
  t.same(downs, ['hold-timer-expired'], 'down for the hold timer, once')
  t.ok(after >= 1500 && after <= 5000, `expired ${after} ms after the freeze (hold time ${HOLD} s)`)
  t.match(session.stats().lastNotificationSent, { code: 4, subcode: 0 }, 'NOTIFICATION Hold Timer Expired sent')
  await waitFor(() => !c.established(peer, c.ours), 5000, `${c.daemon} to leave Established once thawed`)
  t.notOk(c.established(peer, c.ours), `${c.daemon}, thawed, left Established`)
}

t.test(`hold timer expires when ${bird.daemon} freezes (SIGSTOP)`, (t) => holdTimerFreeze(t, bird))
t.test(`hold timer expires when ${gobgp.daemon} freezes (SIGSTOP)`, (t) => holdTimerFreeze(t, gobgp))
t.test(`hold timer expires when ${frr.daemon} freezes (SIGSTOP)`, (t) => holdTimerFreeze(t, frr))
