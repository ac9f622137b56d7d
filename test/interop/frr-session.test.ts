/**
 * Our session runner against FRR 8.4 bgpd (standalone, no zebra) on loopback high ports: eBGP with
 * 2-octet AS and iBGP with 4-octet AS come up and stay up; NOTIFICATIONs both ways (our RFC 9003
 * shutdown message in FRR's `show bgp neighbors json`, FRR's `neighbor shutdown message` and FRR
 * going down in our stats); connection collision with both sides active; TCP-MD5 (RFC 2385): the
 * right password comes up, a wrong one never does. Hold-timer expiry with bgpd frozen:
 * test/interop/hold-timer-freeze.test.ts.
 */
import t from 'tap'
import type { Test } from 'tap'
import { BgpListener, Session, type SessionConfig } from '../../bgp/session/index.js'
import { Family } from '../../bgp/codec/index.js'
import { freePort } from './daemons.js'
import { startFrr, type FrrPeer, type PeerSpec } from './peers.js'
import { sleep, waitFor, waitState } from '../session/helpers.js'

const FRR = '127.1.1.1'
const US = '127.1.1.2'

interface Setup {
  frr: FrrPeer
  session: Session
}

async function withFrr(
  t: Test,
  o: { frrAs: number; ourAs: number; holdTime?: number; frrActive?: boolean; frrMd5?: string; session?: Partial<SessionConfig> },
): Promise<Setup> {
  const hold = o.holdTime ?? 3
  let listener: BgpListener | undefined
  let ourPort: number | undefined
  if (o.frrActive === true) {
    ourPort = await freePort(US)
    listener = new BgpListener({ host: US, port: ourPort })
    await listener.listen()
    const l = listener
    t.teardown(() => l.close())
  }
  const spec: PeerSpec = {
    name: 'frr-session',
    address: FRR,
    asn: o.frrAs,
    routerId: '10.1.1.1',
    holdTime: hold,
    passive: o.frrActive !== true,
    neighbor: { address: US, asn: o.ourAs, families: ['ipv4'], ...(ourPort !== undefined ? { port: ourPort } : {}), ...(o.frrMd5 !== undefined ? { md5: o.frrMd5 } : {}) },
  }
  const frr = await startFrr(t, spec)
  const session = new Session(
    {
      name: 'frr',
      localAs: o.ourAs,
      localId: 0x0a010102,
      peerAs: o.frrAs,
      peerAddress: FRR,
      peerPort: frr.port,
      localAddress: US,
      holdTime: hold,
      families: [Family.Ipv4Unicast],
      connectRetryTime: 1,
      idleHoldTime: 0.5,
      ...o.session,
    },
    listener ? { listener } : {},
  )
  t.teardown(() => session.destroy())
  return { frr, session }
}

t.test('eBGP, 2-octet AS: up, stays up, our RFC 9003 shutdown message in FRR', async (t) => {
  const { frr, session } = await withFrr(t, { frrAs: 65100, ourAs: 65001 })
  session.start()
  await waitState(session, 'Established', 10_000)
  await sleep(3500) // past the 3 s hold time: keepalives both ways
  t.equal(session.state, 'Established')
  const n = frr.neighbor()
  t.equal(n.bgpState, 'Established', 'FRR: Established')
  t.equal(n.remoteAs, 65001, 'FRR: our AS')
  t.equal(n.localAs, 65100)
  const st = session.stats()
  t.ok(st.messagesIn.keepalive >= 3, `keepalives from FRR: ${st.messagesIn.keepalive}`)
  t.equal(st.negotiated?.holdTime, 3)
  t.equal(st.negotiated?.ebgp, true)
  t.equal(st.negotiated?.peerAs, 65100)
  t.equal(st.negotiated?.peerId, '10.1.1.1')
  await session.stop('gsi-router maintenance 17')
  await waitFor(() => frr.neighbor().bgpState !== 'Established', 5000, 'FRR to leave Established')
  const after = frr.neighbor()
  t.comment(JSON.stringify({ lastNotificationReason: after.lastNotificationReason, lastShutdownDescription: after.lastShutdownDescription, lastResetDueTo: after.lastResetDueTo }))
  t.match(after.lastNotificationReason, /Cease\/Administrative Shutdown/, 'FRR: Cease / Administrative Shutdown received')
  t.equal(after.lastShutdownDescription, 'gsi-router maintenance 17', 'FRR: our shutdown communication (RFC 9003)')
})

t.test('iBGP, 4-octet AS', async (t) => {
  const { frr, session } = await withFrr(t, { frrAs: 4200000100, ourAs: 4200000100 })
  session.start()
  await waitState(session, 'Established', 10_000)
  await sleep(1200)
  t.equal(session.state, 'Established')
  const neg = session.stats().negotiated
  t.equal(neg?.ebgp, false)
  t.equal(neg?.as4, true)
  t.equal(neg?.peerAs, 4200000100)
  const n = frr.neighbor()
  t.equal(n.bgpState, 'Established')
  t.equal(n.remoteAs, 4200000100, 'FRR sees our 4-octet AS')
  t.equal(n.nbrInternalLink, true, 'FRR: internal link')
  const caps = n.neighborCapabilities as Record<string, unknown> | undefined
  t.equal(caps?.['4byteAs'], 'advertisedAndReceived', 'FRR: 4-octet AS capability both ways')
})

t.test('NOTIFICATION from FRR: its shutdown message in our stats; FRR going down too', async (t) => {
  const { frr, session } = await withFrr(t, { frrAs: 65100, ourAs: 65001, holdTime: 9 })
  session.start()
  await waitState(session, 'Established', 10_000)
  const downs: string[] = []
  session.on('down', (d) => downs.push(d.reason))
  frr.configure([`neighbor ${US} shutdown message bye from frr`])
  await waitFor(() => downs.length > 0, 5000, 'our session to go down')
  t.same(downs, ['notification-received'])
  t.match(session.stats().lastNotificationReceived, { code: 6, subcode: 2, message: 'bye from frr' }, 'Cease/Administrative Shutdown with the message')
  t.equal(session.stats().flaps, 1)
  // back up, then stop bgpd itself (SIGTERM): FRR says goodbye with a Cease
  frr.configure([`no neighbor ${US} shutdown`])
  await waitState(session, 'Established', 10_000)
  frr.daemon.proc.kill('SIGTERM')
  await waitFor(() => downs.length > 1, 5000, 'our session to go down with FRR')
  t.equal(downs[1], 'notification-received', 'FRR sent a NOTIFICATION on its way down')
  t.match(session.stats().lastNotificationReceived, { code: 6 }, `Cease (${session.stats().lastNotificationReceived?.description})`)
  t.equal(session.stats().flaps, 2)
})

t.test('both sides active: settles on one connection, collisions resolved by RFC 4271 6.8', async (t) => {
  // We start first, while nothing listens on FRR's port yet; bgpd then starts with the session
  // active and connects to us too. Whether the two connections meet at OPEN time is up to timing:
  // measured here, bgpd connects at start-up and then every ~1 s, but stops trying as soon as it has
  // accepted our connection (even with DelayOpen on both sides), so in our runs the two never met
  // and this checks that both-active settles on one connection. A collision, when one happens, must
  // be resolved as RFC 4271 6.8 says (our collision logic itself is covered in
  // test/session/loopback.test.ts and bgp/fsm's tests).
  const ourPort = await freePort(US)
  const frrPort = await freePort(FRR)
  const listener = new BgpListener({ host: US, port: ourPort })
  await listener.listen()
  t.teardown(() => listener.close())
  const session = new Session(
    { name: 'frr', localAs: 65001, localId: 0x0a010102, peerAs: 65100, peerAddress: FRR, peerPort: frrPort, localAddress: US, holdTime: 9, families: [Family.Ipv4Unicast], connectRetryTime: 1, idleHoldTime: 0.5 },
    { listener },
  )
  t.teardown(() => session.destroy())
  const collisions: string[] = []
  session.on('collision', (c) => collisions.push(`${c.closed} by ${c.by}`))
  session.start()
  await sleep(600)
  const frr = await startFrr(t, {
    name: 'frr-collision',
    address: FRR,
    port: frrPort,
    asn: 65100,
    routerId: '10.1.1.1',
    holdTime: 9,
    passive: false,
    neighbor: { address: US, asn: 65001, families: ['ipv4'], port: ourPort },
  })
  await waitState(session, 'Established', 15_000)
  await sleep(2500)
  t.equal(session.state, 'Established', 'settled on one connection')
  t.equal(frr.neighbor().bgpState, 'Established', 'FRR: Established')
  const kept = session.stats().connection?.direction
  t.comment(`collisions seen: ${collisions.join(', ') || 'none'}; kept ${kept}`)
  // Our identifier 10.1.1.2 is above FRR's 10.1.1.1: when both OPENs meet, the connection we
  // initiated survives; against an Established one, the new connection goes.
  for (const c of collisions) {
    if (c.endsWith('by identifier')) t.equal(c, 'incoming by identifier', 'we closed the connection FRR initiated')
    else t.not(c.split(' ')[0], kept, 'we closed the new connection, kept the established one')
  }
  t.equal(session.stats().flaps, 0, 'no flap after settling')
})

t.test('TCP-MD5: right password up, wrong password never up', async (t) => {
  for (const [ours, up] of [['frr-md5-key', true], ['not-the-key', false]] as const) {
    await t.test(up ? 'right password' : 'wrong password', async (t) => {
      const { frr, session } = await withFrr(t, { frrAs: 65100, ourAs: 65001, holdTime: 6, frrMd5: 'frr-md5-key', session: { md5Password: ours } })
      const states = new Set<string>()
      session.on('state', (e) => states.add(e.to))
      session.start()
      if (up) {
        await waitState(session, 'Established', 10_000)
        t.equal(frr.neighbor().bgpState, 'Established', 'FRR: Established with MD5')
      } else {
        await sleep(3500)
        t.notOk(states.has('OpenSent'), `never past Connect (saw ${[...states].join(', ')})`)
        t.not(frr.neighbor().bgpState, 'Established')
        t.equal(frr.daemon.proc.exitCode, null, 'bgpd still running')
      }
    })
  }
})
