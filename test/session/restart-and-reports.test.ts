/**
 * The session runner's part of graceful restart: the capability changed between connections (the
 * R bit cleared after a restart, RFC 4724 3), Hard Reset wrapping of our Cease NOTIFICATIONs when
 * the N bit was exchanged (RFC 8538 5), and a restarted peer's new connection replacing a session
 * that still looked Established (RFC 4724 4.2). Our sessions over loopback; the restarted peer of
 * the last test is a hand-driven TCP client speaking real encoded messages. Also what listeners see:
 * the state inside 'established', and the family named by an AFI/SAFI-disable report.
 */
import t, { type Test } from 'tap'
import net from 'node:net'
import { Family } from '../../bgp/codec/afi.js'
import { Framer } from '../../bgp/codec/framer.js'
import { KEEPALIVE_BYTES } from '../../bgp/codec/keepalive.js'
import { decodeFramed, encodeMessage, type BgpMessage } from '../../bgp/codec/message.js'
import type { NotificationMessage } from '../../bgp/codec/notification.js'
import { BgpListener, Session } from '../../bgp/session/index.js'
import { buildOpen } from '../../bgp/session/negotiate.js'
import { makePair, waitFor, waitState } from './helpers.js'

const gr = (restarting: boolean, notification = true) => ({ restartTime: 30, restarting, notification, forwarding: [Family.Ipv4Unicast] })

t.test('the R bit can be cleared for the next connection', async (t) => {
  const p = await makePair({ holdTime: 9 }, { gracefulRestart: gr(true) }, { gracefulRestart: gr(false) })
  t.teardown(() => p.close())
  p.b.start()
  p.a.start()
  await waitState(p.b, 'Established')
  t.equal(p.b.negotiated?.gracefulRestart?.restarting, true, 'first OPEN carries R=1')
  p.a.setGracefulRestart(gr(false))
  t.equal(p.b.negotiated?.gracefulRestart?.restarting, true, 'the established connection keeps what it negotiated')
  await p.a.stop('reconnect')
  await waitFor(() => p.b.state !== 'Established', 5000, 'B to see A go')
  p.a.start()
  await waitState(p.b, 'Established', 8000)
  t.equal(p.b.negotiated?.gracefulRestart?.restarting, false, 'the next OPEN carries R=0')
  t.equal(p.b.negotiated?.gracefulRestart?.families[0]?.forwarding, true)
})

for (const nBit of [true, false]) {
  t.test(`administrative shutdown ${nBit ? 'is wrapped in a Hard Reset with' : 'stays a plain Cease without'} the N bit`, async (t) => {
    const p = await makePair({ holdTime: 9 }, { gracefulRestart: gr(false, nBit) }, { gracefulRestart: gr(false, true) })
    t.teardown(() => p.close())
    const got: NotificationMessage[] = []
    p.b.on('notification-received', (n) => got.push(n))
    p.b.start()
    p.a.start()
    await waitState(p.b, 'Established')
    await p.a.stop('maintenance')
    await waitFor(() => got.length > 0, 5000, 'B to receive the NOTIFICATION')
    const n = got[0] as NotificationMessage
    if (nBit) {
      t.same([n.code, n.subcode], [6, 9], 'Cease / Hard Reset')
      t.same([n.data[0], n.data[1]], [6, 2], 'carrying Cease / Administrative Shutdown')
      t.equal(Buffer.from(n.data.subarray(3)).toString(), 'maintenance', 'and its RFC 9003 message')
      t.same([p.a.stats().lastNotificationSent?.code, p.a.stats().lastNotificationSent?.subcode], [6, 9])
    } else {
      t.same([n.code, n.subcode], [6, 2], 'Cease / Administrative Shutdown as is')
    }
  })
}

/** What a raw peer's connection does after TCP: an OPEN with the R bit, one without, or nothing. */
type SecondOpen = 'restarting' | 'not-restarting' | 'none'

/**
 * A minimal peer over a raw socket: sends our codec's OPEN (unless `send` is 'none'), answers
 * OPENs with a KEEPALIVE, and records every message it receives.
 */
async function rawPeer(port: number, localAddress: string, send: SecondOpen = 'restarting'): Promise<{ socket: net.Socket; established: Promise<void>; got: BgpMessage[] }> {
  const open = buildOpen({ localAs: 65001, localId: 0x01010101, holdTime: 30, families: [Family.Ipv4Unicast], gracefulRestart: gr(send === 'restarting') })
  const got: BgpMessage[] = []
  const socket = net.connect({ host: '127.0.0.2', port, localAddress })
  socket.on('error', () => {})
  const framer = new Framer()
  const established = new Promise<void>((resolve) => {
    socket.on('data', (chunk) => {
      framer.push(chunk)
      while (framer.next()) {
        const m = decodeFramed(framer.type, framer.buf, framer.offset, framer.length)
        got.push(m)
        if (m.type === 'open') socket.write(KEEPALIVE_BYTES)
        if (m.type === 'keepalive') resolve()
      }
    })
  })
  await new Promise<void>((r) => socket.once('connect', () => r()))
  if (send !== 'none') socket.write(encodeMessage(open))
  return { socket, established, got }
}

/**
 * A passive session B (with or without graceful restart) and a raw peer established with it; the
 * second connection from the same address is opened, and `check` looks at what B did.
 */
async function secondConnection(
  t: Test,
  withGr: boolean,
  check: (b: Session, first: RawPeer, second: RawPeer, downs: { reason: string; detail?: string }[]) => Promise<void>,
  secondOpen: SecondOpen = 'restarting',
): Promise<void> {
  const listener = new BgpListener({ host: '127.0.0.2', port: 0 })
  const port = await listener.listen()
  const b = new Session(
    {
      name: 'B',
      localAs: 65002,
      localId: 0x02020202,
      peerAs: 65001,
      peerAddress: '127.0.0.1',
      localAddress: '127.0.0.2',
      holdTime: 30,
      families: [Family.Ipv4Unicast],
      passive: true,
      ...(withGr ? { gracefulRestart: gr(false) } : {}),
    },
    { listener },
  )
  const downs: { reason: string; detail?: string }[] = []
  b.on('down', (d) => downs.push(d))
  const sockets: net.Socket[] = []
  t.teardown(async () => {
    for (const s of sockets) s.destroy()
    await b.destroy()
    await listener.close()
  })
  b.start()
  const first = await rawPeer(port, '127.0.0.1')
  sockets.push(first.socket)
  await first.established
  await waitState(b, 'Established')
  // The old connection stays open (the peer's host died without a FIN); a new one arrives.
  const second = await rawPeer(port, '127.0.0.1', secondOpen)
  sockets.push(second.socket)
  await check(b, first, second, downs)
}

type RawPeer = Awaited<ReturnType<typeof rawPeer>>

t.test('a restarted peer connecting again (R bit) replaces the session that still looked Established', async (t) => {
  await secondConnection(t, true, async (b, _first, second, downs) => {
    await waitFor(() => downs.length > 0, 5000, 'the old session to end')
    t.match(downs[0], { reason: 'tcp-closed', detail: /RFC 4724/ })
    await waitFor(() => b.state === 'Established' && b.stats().connection?.remotePort === second.socket.localPort, 5000, 'the new connection to be the session')
    t.equal(b.stats().connection?.remotePort, second.socket.localPort, 'the new connection is the session now')
    t.equal(b.stats().flaps, 1)
    await second.established
  })
})

t.test("a live peer's late connection (OPEN without the R bit) is closed by collision, the session stays", async (t) => {
  await secondConnection(t, true, async (b, first, second, downs) => {
    await waitFor(() => second.got.some((m) => m.type === 'notification'), 5000, 'a NOTIFICATION on the new connection')
    const n = second.got.find((m): m is NotificationMessage => m.type === 'notification')
    t.same([n?.code, n?.subcode], [6, 7], 'Cease / Connection Collision Resolution')
    t.equal(b.state, 'Established')
    t.equal(b.stats().connection?.remotePort, first.socket.localPort, 'the old connection is still the session')
    t.same(downs, [], 'no session-level down')
    t.equal(b.stats().flaps, 0)
    t.ok(first.got.filter((m) => m.type === 'keepalive').length >= 2, 'the old connection got a KEEPALIVE probe besides the OPEN handshake one')
  }, 'not-restarting')
})

t.test('a new connection that never sends an OPEN changes nothing', async (t) => {
  await secondConnection(t, true, async (b, first, second, downs) => {
    await waitFor(() => second.got.some((m) => m.type === 'open'), 5000, 'our OPEN on the new connection')
    second.socket.destroy()
    await new Promise((r) => setTimeout(r, 300))
    t.equal(b.state, 'Established')
    t.equal(b.stats().connection?.remotePort, first.socket.localPort, 'the old connection is still the session')
    t.same(downs, [], 'no session-level down')
    t.equal(b.stats().flaps, 0)
  }, 'none')
})

t.test('without graceful restart the new connection is refused (Cease 5) and the session stays', async (t) => {
  await secondConnection(t, false, async (b, first) => {
    await waitFor(() => b.stats().lastNotificationSent?.subcode === 5, 5000, 'Cease 5 on the new connection')
    t.equal(b.state, 'Established')
    t.equal(b.stats().connection?.remotePort, first.socket.localPort)
  })
})

t.test("listeners of 'established' see the session Established", async (t) => {
  const p = await makePair({ holdTime: 9 })
  t.teardown(() => p.close())
  const seen: string[] = []
  p.a.on('established', () => seen.push(`${p.a.state} ${p.a.stats().state}`))
  p.b.start()
  p.a.start()
  await waitState(p.a, 'Established')
  t.same(seen, ['Established Established'])
})

t.test('an UPDATE error that disables one family (RFC 7606 7.11) names the family in its report', async (t) => {
  const p = await makePair({ holdTime: 9, families: [Family.Ipv4Unicast, Family.Ipv6Unicast] })
  t.teardown(() => p.close())
  const reports: { action: string; family?: number }[] = []
  p.b.on('update-issues', (list) => reports.push(...list))
  p.b.start()
  p.a.start()
  await waitState(p.a, 'Established')
  await waitState(p.b, 'Established')
  const ctx = p.a.negotiated?.context
  if (ctx === undefined) throw new Error('no context')
  const msg = encodeMessage(
    {
      type: 'update',
      withdrawn: [],
      attributes: { origin: 0, asPath: [{ type: 2, asns: [65001] }] },
      mpReach: { family: Family.Ipv6Unicast, nextHop: [new Uint8Array(16).fill(1)], nlri: [{ family: Family.Ipv6Unicast, prefix: new Uint8Array(16).fill(0x20), length: 32 }] },
      nlri: [],
    },
    ctx,
  )
  // AFI 2, SAFI 1, next-hop length 16: make the length 5, which no IPv6 next hop has.
  const at = Buffer.from(msg).indexOf(Buffer.from([0, 2, 1, 16]))
  t.ok(at > 0, 'found the MP_REACH header')
  msg[at + 3] = 5
  t.ok(p.a.sendUpdate(msg))
  await waitFor(() => reports.length > 0, 5000, 'the report')
  t.match(reports[0], { action: 'afi-safi-disable', family: Family.Ipv6Unicast })
  t.equal(p.b.state, 'Established', 'the session stays up')
})
