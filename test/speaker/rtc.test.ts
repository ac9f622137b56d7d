/**
 * Route-target constraint (RFC 4684) between two of our speakers: the gateway (B) advertises the
 * route targets it imports as RTC memberships; the other side (A) then sends it only the VPN routes
 * carrying one of them, and follows membership changes. A peer without RTC gets every VPN route.
 */
import t from 'tap'
import { Family } from '../../bgp/codec/afi.js'
import { routeTarget } from '../../bgp/codec/ext-communities.js'
import { BgpListener, Session } from '../../bgp/session/index.js'
import { rtcMembershipNlris } from '../../bgp/policy/index.js'
import type { CodecContext } from '../../bgp/codec/context.js'
import { encodeUpdate, updateEncodingLength, type UpdateMessage } from '../../bgp/codec/update.js'
import { best, link, sleep, startSpeaker, vpnv4, waitBest, waitEstablished, waitFor } from './helpers.js'

const vpn = Family.Ipv4Vpn
const rd = { type: 0, admin: 64512, assigned: 1 }

t.test('VPN routes follow the peer\'s route-target memberships', async (t) => {
  const a = await startSpeaker(64512, '10.2.0.1', '127.0.3.1')
  const b = await startSpeaker(64512, '10.2.0.2', '127.0.3.2', { importRouteTargets: [routeTarget(64512, 7)] })
  const c = await startSpeaker(64512, '10.2.0.3', '127.0.3.3') // no RTC with A
  t.teardown(() => Promise.all([a, b, c].map((s) => s.stop())))
  for (const [i, n] of [[7, '10.7.0.0/24'], [8, '10.8.0.0/24'], [9, '10.9.0.0/24']] as const) {
    a.originate(vpnv4(rd, n, 100 + i), { attrs: { origin: 0, asPath: [], extCommunities: [routeTarget(64512, i)] }, nextHop: '' })
  }
  link(b, a, [vpn, Family.RouteTarget], {}, { routeReflectorClient: true })
  link(c, a, [vpn], {}, { routeReflectorClient: true })
  await Promise.all([waitEstablished(a, b.address), waitEstablished(a, c.address)])

  await waitBest(b, vpn, '64512:1:10.7.0.0/24')
  await waitFor(() => b.peerStats(a.address).families.find((f) => f.family === 'l3vpn-ipv4-unicast')?.endOfRibReceived === true, 3000, 'VPN End-of-RIB at B')
  t.equal(best(b, vpn, '64512:1:10.7.0.0/24')?.label, 107)
  t.equal(best(b, vpn, '64512:1:10.8.0.0/24'), undefined, 'route target 8 not sent: not a membership')
  t.equal(best(b, vpn, '64512:1:10.9.0.0/24'), undefined)
  t.equal(b.peerStats(a.address).families.find((f) => f.family === 'rtc')?.endOfRibReceived, true)
  const aToB = a.peerStats(b.address).families
  t.equal(aToB.find((f) => f.family === 'rtc')?.received, 1, 'A holds B\'s one membership')
  t.equal(aToB.find((f) => f.family === 'l3vpn-ipv4-unicast')?.advertised, 1)

  await waitBest(c, vpn, '64512:1:10.9.0.0/24')
  t.equal(c.rib.table(vpn).size, 3, 'a peer without RTC gets every VPN route')

  b.setImportRouteTargets([routeTarget(64512, 7), routeTarget(64512, 8)])
  await waitBest(b, vpn, '64512:1:10.8.0.0/24')
  t.pass('new membership: route target 8 sent')
  b.setImportRouteTargets([routeTarget(64512, 8)])
  await waitBest(b, vpn, '64512:1:10.7.0.0/24', false)
  t.ok(best(b, vpn, '64512:1:10.8.0.0/24'), 'membership withdrawn: route target 7 withdrawn, 8 kept')
  await sleep(100)
  t.equal(best(b, vpn, '64512:1:10.9.0.0/24'), undefined)
})

t.test('a peer with RTC and no memberships gets no VPN routes', async (t) => {
  const a = await startSpeaker(64513, '10.3.0.1', '127.0.3.4')
  const b = await startSpeaker(64513, '10.3.0.2', '127.0.3.5')
  t.teardown(() => Promise.all([a, b].map((s) => s.stop())))
  a.originate(vpnv4(rd, '10.7.0.0/24', 7), { attrs: { origin: 0, asPath: [], extCommunities: [routeTarget(64512, 7)] }, nextHop: '' })
  link(b, a, [vpn, Family.RouteTarget])
  await waitEstablished(a, b.address)
  await waitFor(() => b.peerStats(a.address).families.every((f) => f.endOfRibReceived), 3000, 'End-of-RIB for both families')
  t.equal(best(b, vpn, '64512:1:10.7.0.0/24'), undefined, 'nothing sent')
  t.equal(a.peerStats(b.address).families.find((f) => f.family === 'l3vpn-ipv4-unicast')?.advertised, 0)
})

t.test('a peer that never sends the RTC End-of-RIB: after the timeout its memberships still filter', async (t) => {
  const sp = await startSpeaker(64514, '10.3.1.1', '127.0.3.6')
  for (const [i, n] of [[7, '10.7.0.0/24'], [8, '10.8.0.0/24']] as const) {
    sp.originate(vpnv4(rd, n, 100 + i), { attrs: { origin: 0, asPath: [], extCommunities: [routeTarget(64512, i)] }, nextHop: '' })
  }
  const families = [vpn, Family.RouteTarget]
  sp.addPeer({ name: 'raw', address: '127.0.3.7', asn: 64515, passive: true, families, holdTime: 9, rtcEndOfRibTimeout: 0.5 })
  const listener = new BgpListener({ host: '127.0.3.7', port: 0 })
  await listener.listen()
  const raw = new Session(
    { name: 'raw', localAs: 64515, localId: 0x0a030107, peerAs: 64514, peerAddress: sp.address, peerPort: sp.port, localAddress: '127.0.3.7', holdTime: 9, families, connectRetryTime: 0.5 },
    { listener },
  )
  const got: string[] = []
  raw.on('update', (u) => {
    for (const n of u.mpReach?.nlri ?? []) if (n.family === vpn) got.push(`${n.prefix.join('.')}/${n.length}`)
  })
  t.teardown(async () => {
    await raw.destroy()
    await sp.stop()
    await listener.close()
  })
  raw.start()
  await waitFor(() => raw.state === 'Established', 5000, 'Established')
  const ctx = raw.negotiated?.context as CodecContext
  // One membership (route target 8), and no End-of-RIB for RTC ever.
  const msg: UpdateMessage = {
    type: 'update', withdrawn: [], nlri: [],
    attributes: { origin: 0, asPath: [{ type: 2, asns: [64515] }] },
    mpReach: { family: Family.RouteTarget, nextHop: [Uint8Array.of(127, 0, 3, 7)], nlri: rtcMembershipNlris(64515, [routeTarget(64512, 8)]) },
  }
  const b = new Uint8Array(updateEncodingLength(msg, ctx))
  encodeUpdate(msg, ctx, b, 0)
  raw.sendUpdate(b)
  await sleep(300)
  t.same(got, [], 'nothing before the timeout')
  await waitFor(() => got.length > 0, 3000, 'VPN routes after the timeout')
  await sleep(200)
  t.same(got, ['10.8.0.0/24'], 'only the route the membership asks for')
})
