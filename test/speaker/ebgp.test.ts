/**
 * Two BgpSpeakers over loopback, eBGP: locally originated routes reach the other side's Loc-RIB with
 * the eBGP export rules applied (AS_PATH prepended, next hop self, LOCAL_PREF not sent), withdrawals,
 * IPv4/IPv6/VPNv4, no route sent back to its source, End-of-RIB for every family, and update packing.
 */
import t from 'tap'
import { Family } from '../../bgp/codec/afi.js'
import { AsSegment } from '../../bgp/codec/as-path.js'
import { encapsulation, routeTarget } from '../../bgp/codec/ext-communities.js'
import { parseIpv6 } from '../../src/lib/address.js'
import { Session } from '../../bgp/session/index.js'
import { best, ipv4, ipv6, makeSpeakers, sleep, vpnv4, waitBest, waitFor } from './helpers.js'

const families = [Family.Ipv4Unicast, Family.Ipv6Unicast, Family.Ipv4Vpn]

t.test('eBGP: routes, attributes, withdrawals, split horizon, End-of-RIB', async (t) => {
  const eors: string[] = []
  const p = await makeSpeakers({ families, noWait: true })
  t.teardown(() => p.close())
  p.b.on('end-of-rib', (e) => eors.push(`${e.peer}:${e.family}`))
  await waitFor(() => eors.length === 3, 5000, 'End-of-RIB for three families')
  t.same(eors.sort(), families.map((f) => `A:${f}`).sort(), 'B got End-of-RIB for every family from A')
  t.same(p.a.peerStats('B').families.map((f) => f.endOfRibSent), [true, true, true])

  p.a.originate(ipv4('10.1.0.0/16'), { attrs: { origin: 0, asPath: [], med: 5, localPref: 300, communities: [0xfde80001] }, nextHop: '' })
  p.a.originate(ipv6('2001:db8::/32'), { attrs: { origin: 0, asPath: [] }, nextHop: '' })
  const rd = { type: 0, admin: 65001, assigned: 7 }
  p.a.originate(vpnv4(rd, '10.9.0.0/24', 1234), {
    attrs: { origin: 0, asPath: [], extCommunities: [routeTarget(65001, 7), encapsulation(13)] },
    nextHop: '',
  })
  await waitBest(p.b, Family.Ipv4Unicast, '10.1.0.0/16')
  const r4 = best(p.b, Family.Ipv4Unicast, '10.1.0.0/16')
  t.same(r4?.attrs.asPath, [{ type: AsSegment.Sequence, asns: [65001] }], 'AS_PATH prepended with the local AS')
  t.equal(r4?.nextHop, '127.0.0.1', 'next hop self (our session address)')
  t.equal(r4?.attrs.localPref, undefined, 'LOCAL_PREF not sent to eBGP')
  t.equal(r4?.attrs.med, 5, 'MED of a locally originated route is sent')
  t.same(r4?.attrs.communities, [0xfde80001], 'communities pass')
  t.equal(r4?.peerAddress, '127.0.0.1')

  await waitBest(p.b, Family.Ipv6Unicast, '2001:db8::/32')
  const r6 = best(p.b, Family.Ipv6Unicast, '2001:db8::/32')
  t.same(parseIpv6(r6?.nextHop ?? '::'), parseIpv6('::ffff:127.0.0.1'), `IPv6 over an IPv4 session: IPv4-mapped next hop (${r6?.nextHop})`)
  t.same(r6?.attrs.asPath, [{ type: AsSegment.Sequence, asns: [65001] }])

  await waitBest(p.b, Family.Ipv4Vpn, '65001:7:10.9.0.0/24')
  const rv = best(p.b, Family.Ipv4Vpn, '65001:7:10.9.0.0/24')
  t.equal(rv?.label, 1234, 'VPN label carried')
  t.equal(rv?.nextHop, '127.0.0.1')
  t.same(rv?.attrs.extCommunities, [routeTarget(65001, 7), encapsulation(13)], 'route target and encapsulation pass')

  // B originates one of its own: A learns it and must not send it back to B.
  p.b.originate(ipv4('10.2.0.0/16'), { attrs: { origin: 0, asPath: [] }, nextHop: '' })
  await waitBest(p.a, Family.Ipv4Unicast, '10.2.0.0/16')
  t.same(best(p.a, Family.Ipv4Unicast, '10.2.0.0/16')?.attrs.asPath, [{ type: AsSegment.Sequence, asns: [65002] }])
  await waitFor(() => p.a.peerStats('B').families[0]?.advertised === 1, 2000, 'A advertises one IPv4 route to B')
  const aStats = p.a.peerStats('B')
  t.equal(aStats.families[0]?.advertised, 1, 'A advertised only its own route (not B\'s back)')
  t.equal(aStats.families[0]?.received, 1, 'A received one IPv4 route from B')
  t.equal(aStats.families[0]?.accepted, 1)
  t.equal(aStats.families[0]?.active, 1)
  t.equal(p.b.peerStats('A').families.find((f) => f.family === 'ipv4-unicast')?.received, 1, 'B has exactly one IPv4 route from A')

  p.a.withdrawOriginated(ipv4('10.1.0.0/16'))
  p.a.withdrawOriginated(vpnv4(rd, '10.9.0.0/24', 1234))
  await waitBest(p.b, Family.Ipv4Unicast, '10.1.0.0/16', false)
  await waitBest(p.b, Family.Ipv4Vpn, '65001:7:10.9.0.0/24', false)
  t.ok(best(p.b, Family.Ipv6Unicast, '2001:db8::/32'), 'the IPv6 route stays')
  t.equal(p.a.peerStats('B').families[0]?.advertised, 0)
})

t.test('packing: 10,000 prefixes sharing attributes leave in a handful of UPDATEs', async (t) => {
  const p = await makeSpeakers({ asA: 65011, asB: 65012 })
  t.teardown(() => p.close())
  await waitFor(() => p.a.peerStats('B').families[0]?.endOfRibSent === true, 3000, 'initial End-of-RIB')
  const before = p.a.session('B').stats().messagesOut.update
  for (let i = 0; i < 10000; i++) {
    p.a.originate(ipv4(`10.${i >> 8}.${i & 0xff}.0/24`), { attrs: { origin: 0, asPath: [], communities: [0xfde80002] }, nextHop: '' })
  }
  await waitFor(() => p.b.peerStats('A').families[0]?.received === 10000, 10000, 'B received 10,000 prefixes')
  const sent = p.a.session('B').stats().messagesOut.update - before
  // 4 bytes per /24 in a 4,096-byte message: about 1,000 per UPDATE.
  t.ok(sent >= 10 && sent <= 12, `10,000 prefixes in ${sent} UPDATEs`)
  t.equal(p.b.session('A').stats().messagesIn.update - 1, sent, 'B counted the same UPDATEs (plus one End-of-RIB)')
  t.equal(p.a.peerStats('B').families[0]?.advertised, 10000)
  // received counts at ingest; Loc-RIB follows within a few turns (the commit goes in slices)
  await waitBest(p.b, Family.Ipv4Unicast, '10.39.15.0/24')
  const r = best(p.b, Family.Ipv4Unicast, '10.39.15.0/24')
  t.same(r?.attrs.communities, [0xfde80002])

  // Withdraw them all: packed too.
  const w0 = p.a.session('B').stats().messagesOut.update
  for (let i = 0; i < 10000; i++) p.a.withdrawOriginated(ipv4(`10.${i >> 8}.${i & 0xff}.0/24`))
  await waitFor(() => p.b.peerStats('A').families[0]?.received === 0, 10000, 'B has none left')
  const w = p.a.session('B').stats().messagesOut.update - w0
  t.ok(w >= 10 && w <= 12, `10,000 withdrawals in ${w} UPDATEs`)
})

t.test('UPDATE generation pauses while the socket backlog is over the limit and resumes on drain', async (t) => {
  const N = 100000
  const p = await makeSpeakers({ asA: 65013, asB: 65014, speakerA: { writeBacklogLimit: 65536 } })
  t.teardown(() => p.close())
  await p.a.setPeerEnabled('B', false)
  for (let i = 0; i < N; i++) {
    const x = 0x0b000000 + i * 64
    p.a.originate({ family: Family.Ipv4Unicast, prefix: Uint8Array.of(x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255), length: 26 }, { attrs: { origin: 0, asPath: [], med: i % 7 }, nextHop: '' })
  }
  // Fault injection: the session reports a full socket until we say otherwise (loopback buffers
  // would swallow this table whole); everything else is the real socket.
  const session = p.a.session('B')
  const real = Object.getOwnPropertyDescriptor(Session.prototype, 'writeBacklog')?.get as () => number
  let full = true
  Object.defineProperty(session, 'writeBacklog', { get: () => (full ? 1 << 30 : real.call(session)) })
  await p.a.setPeerEnabled('B', true)
  await waitFor(() => p.a.peerStats('B').writePauses > 0, 5000, 'a pause')
  await sleep(300)
  t.equal(p.b.peerStats('A').families[0]?.received, 0, 'nothing sent while the backlog is over the limit')
  t.equal(p.a.peerStats('B').families[0]?.endOfRibSent, false, 'End-of-RIB waits too')
  full = false
  session.emit('drain')
  await waitFor(() => p.b.peerStats('A').families[0]?.received === N, 30000, `B received ${N} routes`)
  const s = p.a.peerStats('B')
  t.equal(s.families[0]?.advertised, N)
  const sent = s.session.messagesOut.update
  t.ok(sent < N / 700, `${N} routes in ${sent} UPDATEs`)
  await waitFor(() => p.a.peerStats('B').families[0]?.endOfRibSent === true, 3000, 'End-of-RIB after the whole table')
})
