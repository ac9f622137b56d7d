/**
 * The session runner against itself over loopback TCP: establishment (eBGP and iBGP, 2- and
 * 4-octet AS), keepalives, statistics, TTL, administrative shutdown with an RFC 9003 message,
 * OPEN errors answered with the right NOTIFICATION, UPDATE and End-of-RIB delivery, UPDATE errors,
 * route refresh, and connection collisions with both sides active.
 */
import t from 'tap'
import net from 'node:net'
import { Family } from '../../bgp/codec/afi.js'
import { encodeMessage } from '../../bgp/codec/message.js'
import { writeHeader } from '../../bgp/codec/header.js'
import { BgpListener, Session, endOfRibBytes, endOfRibOf } from '../../bgp/session/index.js'
import type { UpdateMessage } from '../../bgp/codec/update.js'
import type { FamilyKey } from '../../bgp/codec/afi.js'
import { makePair, sleep, waitFor, waitState } from './helpers.js'

t.test('eBGP session comes up, keeps up on keepalives, reports stats', async (t) => {
  const p = await makePair({ holdTime: 3 }, { ttl: 2 })
  t.teardown(() => p.close())
  const established: string[] = []
  p.a.on('established', () => established.push('A'))
  p.b.on('established', () => established.push('B'))
  p.b.start()
  p.a.start()
  await waitState(p.a, 'Established')
  await waitState(p.b, 'Established')
  t.same(established.sort(), ['A', 'B'])
  await sleep(3500) // longer than the hold time: only keepalives keep it up
  t.equal(p.a.state, 'Established')
  t.equal(p.b.state, 'Established')
  const sa = p.a.stats()
  t.ok(sa.messagesIn.keepalive >= 3, `keepalives in: ${sa.messagesIn.keepalive}`)
  t.ok(sa.messagesOut.keepalive >= 3)
  t.equal(sa.messagesIn.open, 1)
  t.equal(sa.negotiated?.holdTime, 3)
  t.equal(sa.negotiated?.keepaliveTime, 1)
  t.equal(sa.negotiated?.ebgp, true)
  t.equal(sa.negotiated?.peerId, '2.2.2.2')
  t.same(sa.negotiated?.families, ['ipv4-unicast'])
  t.ok(sa.uptimeMs >= 3000)
  t.equal(sa.flaps, 0)
  t.equal(sa.connection?.direction, 'outgoing')
  t.equal(sa.connection?.localAddress, '127.0.0.1')
  t.equal(sa.connection?.ttl, 2, 'configured multihop TTL read back from the socket')
  t.equal(p.b.stats().connection?.direction, 'incoming')
  t.equal(p.b.stats().connection?.ttl, 1, 'eBGP default TTL 1')
  t.same(JSON.parse(JSON.stringify(sa)).negotiated, sa.negotiated)
})

t.test('iBGP with 4-octet AS and GTSM', async (t) => {
  const p = await makePair(
    { holdTime: 6 },
    { localAs: 4200000001, peerAs: 4200000001, gtsmHops: 1 },
    { localAs: 4200000001, peerAs: 4200000001, gtsmHops: 1 },
  )
  t.teardown(() => p.close())
  p.b.start()
  p.a.start()
  await waitState(p.a, 'Established')
  await waitState(p.b, 'Established')
  const s = p.a.stats()
  t.equal(s.negotiated?.ebgp, false)
  t.equal(s.negotiated?.as4, true)
  t.equal(s.negotiated?.peerAs, 4200000001)
  t.equal(s.connection?.ttl, 255)
  t.equal(s.connection?.minTtl, 255)
  t.equal(p.b.stats().connection?.minTtl, 255)
})

t.test('administrative shutdown carries the RFC 9003 message', async (t) => {
  const p = await makePair({ holdTime: 9 })
  t.teardown(() => p.close())
  p.b.start()
  p.a.start()
  await waitState(p.b, 'Established')
  await waitState(p.a, 'Established')
  const downs: string[] = []
  p.b.on('down', (d) => downs.push(d.reason))
  await p.a.stop('maintenance: moving to rack 7 \u2713')
  t.equal(p.a.state, 'Idle')
  await waitFor(() => p.b.state !== 'Established', 3000, 'B to notice')
  t.same(downs, ['notification-received'])
  const rx = p.b.stats().lastNotificationReceived
  t.equal(rx?.code, 6)
  t.equal(rx?.subcode, 2)
  t.equal(rx?.message, 'maintenance: moving to rack 7 \u2713')
  t.equal(p.a.stats().lastNotificationSent?.message, 'maintenance: moving to rack 7 \u2713')
  t.equal(p.a.stats().lastError?.reason, 'admin-shutdown')
  t.equal(p.b.stats().flaps, 1)
  // A stays down (admin), B waits passively: no reconnection.
  await sleep(600)
  t.equal(p.a.state, 'Idle')
  t.not(p.b.state, 'Established')
  // Admin up again.
  p.a.start()
  await waitState(p.a, 'Established')
  await waitState(p.b, 'Established')
})

t.test('wrong peer AS: OPEN Message Error / Bad Peer AS, both sides back off', async (t) => {
  const p = await makePair({ holdTime: 9, idleHoldTime: 5 }, {}, { peerAs: 65099 })
  t.teardown(() => p.close())
  const aDown: string[] = []
  const bDown: string[] = []
  p.a.on('down', (d) => aDown.push(d.reason))
  p.b.on('down', (d) => bDown.push(d.reason))
  p.b.start()
  p.a.start()
  await waitFor(() => aDown.length > 0 && bDown.length > 0, 3000, 'both sides down')
  t.same(aDown, ['notification-received'])
  t.same(bDown, ['notification-sent'])
  t.match(p.a.stats().lastNotificationReceived, { code: 2, subcode: 2 })
  t.match(p.b.stats().lastError, { reason: 'notification-sent', detail: /peer AS 65001, configured 65099/ })
  t.equal(p.a.state, 'Idle', 'waiting out the idle hold time')
})

t.test('UPDATEs, End-of-RIB and UPDATE errors', async (t) => {
  const p = await makePair({ holdTime: 9, families: [Family.Ipv4Unicast, Family.Ipv6Unicast] })
  t.teardown(() => p.close())
  p.b.start()
  p.a.start()
  await waitState(p.a, 'Established')
  await waitState(p.b, 'Established')
  const updates: UpdateMessage[] = []
  const eors: FamilyKey[] = []
  p.b.on('update', (u) => updates.push(u))
  p.b.on('end-of-rib', (f) => eors.push(f))
  const ctx = p.a.negotiated?.context
  t.ok(ctx)
  const update: UpdateMessage = {
    type: 'update',
    withdrawn: [],
    attributes: { origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: Uint8Array.of(127, 0, 0, 1) },
    nlri: [{ prefix: Uint8Array.of(10, 1, 0, 0), length: 16 }],
  } as unknown as UpdateMessage
  t.ok(p.a.sendUpdate(encodeMessage(update, ctx)))
  t.ok(p.a.sendEndOfRib(Family.Ipv4Unicast))
  t.ok(p.a.sendEndOfRib(Family.Ipv6Unicast))
  await waitFor(() => eors.length === 2, 3000, 'End-of-RIB markers')
  t.equal(updates.length, 1)
  t.same(eors, [Family.Ipv4Unicast, Family.Ipv6Unicast])
  t.equal(p.b.stats().messagesIn.update, 3)
  // A malformed UPDATE (withdrawn length runs past the message): NOTIFICATION 3/1, session reset.
  const bad = new Uint8Array(19 + 4)
  writeHeader(bad, 0, bad.length, 2)
  bad[19] = 0
  bad[20] = 9
  const aDown: string[] = []
  p.a.on('down', (d) => aDown.push(d.reason))
  p.a.sendUpdate(bad)
  await waitFor(() => aDown.length > 0, 3000, 'A to be reset')
  t.same(aDown, ['notification-received'])
  t.match(p.a.stats().lastNotificationReceived, { code: 3, subcode: 1 })
  t.equal(p.b.stats().lastError?.reason, 'notification-sent')
  // Both come back on their own (idle hold 0.2 s, connect retry 1 s).
  await waitState(p.a, 'Established', 8000)
  await waitState(p.b, 'Established', 8000)
  t.equal(p.a.stats().flaps, 1)
})

t.test('route refresh is delivered for negotiated families only', async (t) => {
  const p = await makePair({ holdTime: 9 })
  t.teardown(() => p.close())
  p.b.start()
  p.a.start()
  await waitState(p.b, 'Established')
  await waitState(p.a, 'Established')
  const got: number[] = []
  p.b.on('route-refresh', (r) => got.push((r.afi << 8) | r.safi))
  t.ok(p.a.sendRouteRefresh(Family.Ipv6Unicast))
  t.ok(p.a.sendRouteRefresh(Family.Ipv4Unicast))
  await waitFor(() => p.b.stats().messagesIn.routeRefresh === 2, 3000, 'two refreshes')
  t.same(got, [Family.Ipv4Unicast])
  t.equal(p.b.state, 'Established')
})

t.test('End-of-RIB bytes recognised, and nothing else', async (t) => {
  for (const f of [Family.Ipv4Unicast, Family.Ipv6Unicast, Family.Ipv4Vpn, Family.RouteTarget]) {
    const b = endOfRibBytes(f)
    t.equal(endOfRibOf(b, 0, b.length), f)
  }
  // Extended-length MP_UNREACH form.
  const ext = new Uint8Array(19 + 4 + 7)
  writeHeader(ext, 0, ext.length, 2)
  ext.set([0, 0, 0, 7, 0x90, 15, 0, 3, 0, 2, 1], 19)
  t.equal(endOfRibOf(ext, 0, ext.length), Family.Ipv6Unicast)
  // An MP_UNREACH with a prefix is no End-of-RIB.
  const withdraw = new Uint8Array(19 + 4 + 8)
  writeHeader(withdraw, 0, withdraw.length, 2)
  withdraw.set([0, 0, 0, 8, 0x80, 15, 5, 0, 2, 1, 8, 10], 19)
  t.equal(endOfRibOf(withdraw, 0, withdraw.length), undefined)
})

t.test('collision: both sides active, one connection survives on both', async (t) => {
  const p = await makePair({ holdTime: 9, idleHoldTime: 0.3, connectRetryTime: 2 }, {}, {}, { bothActive: true })
  t.teardown(() => p.close())
  const collisions: string[] = []
  let byEstablished = false
  p.a.on('collision', (c) => {
    collisions.push(`A closed ${c.closed}`)
    byEstablished ||= c.by === 'established'
  })
  p.b.on('collision', (c) => {
    collisions.push(`B closed ${c.closed}`)
    byEstablished ||= c.by === 'established'
  })
  p.a.start()
  p.b.start()
  await waitState(p.a, 'Established', 8000)
  await waitState(p.b, 'Established', 8000)
  await sleep(500) // let the losing connection finish closing
  t.equal(p.a.state, 'Established')
  t.equal(p.b.state, 'Established')
  const ca = p.a.stats().connection
  const cb = p.b.stats().connection
  t.ok(ca && cb)
  // The same TCP connection on both sides.
  t.equal(ca?.localPort, cb?.remotePort)
  t.equal(ca?.remotePort, cb?.localPort)
  t.ok(collisions.length > 0, `collision resolved: ${collisions.join(', ')}`)
  if (p.a.stats().flaps === 0 && p.b.stats().flaps === 0 && !byEstablished) {
    // B has the higher identifier (2.2.2.2): the connection B initiated survives (RFC 4271 6.8).
    t.equal(cb?.direction, 'outgoing')
    t.equal(ca?.direction, 'incoming')
    t.ok(collisions.includes('A closed outgoing') || collisions.includes('B closed incoming'))
  }
})

t.test('listener: unknown sources refused; a second connection while Established gets Cease 5', async (t) => {
  const p = await makePair({ holdTime: 9 })
  t.teardown(() => p.close())
  p.b.start()
  p.a.start()
  await waitState(p.b, 'Established')
  await waitState(p.a, 'Established')
  const readAll = (localAddress: string): Promise<Buffer> =>
    new Promise((resolve) => {
      const chunks: Buffer[] = []
      const s = net.connect({ host: '127.0.0.2', port: p.listenerB.port, localAddress })
      s.on('data', (d: Buffer) => chunks.push(d))
      s.on('error', () => {})
      s.on('close', () => resolve(Buffer.concat(chunks)))
      setTimeout(() => s.destroy(), 3000).unref()
    })
  const stranger = await readAll('127.0.0.9')
  t.equal(stranger.length, 0, 'closed without a word')
  t.equal(p.listenerB.refused, 1)
  const again = await readAll('127.0.0.1')
  t.equal(again.length, 21, 'one NOTIFICATION')
  t.equal(again[18], 3)
  t.equal(again[19], 6, 'Cease')
  t.equal(again[20], 5, 'Connection Rejected')
  t.equal(p.b.state, 'Established', 'the established session is untouched')
})

t.test('DelayOpen on the passive side', async (t) => {
  const p = await makePair({ holdTime: 9 }, {}, { delayOpen: true, delayOpenTime: 5 })
  t.teardown(() => p.close())
  const seen: string[] = []
  p.b.on('state', (s) => seen.push(s.to))
  p.b.start()
  p.a.start()
  await waitState(p.b, 'Established')
  // B answered A's OPEN right away (OpenConfirm), without passing through OpenSent.
  t.same(seen, ['Active', 'OpenConfirm', 'Established'])
})

t.test('IPv6 session over ::1, with back-pressure visible', async (t) => {
  const listener = new BgpListener({ host: '::1', port: 0 })
  const port = await listener.listen()
  const common = { holdTime: 9, families: [Family.Ipv6Unicast], connectRetryTime: 1, idleHoldTime: 0.2 }
  const a = new Session({ ...common, name: 'A6', localAs: 65001, localId: 0x01010101, peerAs: 65002, peerAddress: '::1', peerPort: port, localAddress: '::1' })
  const b = new Session({ ...common, name: 'B6', localAs: 65002, localId: 0x02020202, peerAs: 65001, peerAddress: '::1', passive: true, ttl: 5 }, { listener })
  t.teardown(async () => {
    await Promise.all([a.destroy(), b.destroy()])
    await listener.close()
  })
  b.start()
  a.start()
  await waitState(a, 'Established')
  await waitState(b, 'Established')
  t.same(a.stats().negotiated?.families, ['ipv6-unicast'])
  t.equal(a.stats().connection?.ttl, 1, 'eBGP hop limit 1 on IPv6')
  t.equal(b.stats().connection?.ttl, 5, 'configured hop limit on the accepted IPv6 socket')
  // 8 MB of End-of-RIB markers in one write: more than the socket takes at once.
  const one = endOfRibBytes(Family.Ipv6Unicast)
  const burst = new Uint8Array(one.length * 300_000)
  for (let i = 0; i < 300_000; i++) burst.set(one, i * one.length)
  let eors = 0
  b.on('end-of-rib', () => eors++)
  const drained = new Promise<void>((r) => a.once('drain', () => r()))
  a.sendUpdate(burst, 300_000)
  t.ok(a.writeBacklog > 0, `backlog after a large write: ${a.writeBacklog} bytes`)
  await drained
  await waitFor(() => eors === 300_000, 20_000, 'all markers')
  t.equal(a.writeBacklog, 0)
  t.equal(b.stats().messagesIn.update, 300_000)
})
