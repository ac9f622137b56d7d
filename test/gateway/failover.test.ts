/**
 * Between real BgpSpeakers on loopback (127.0.7.x): what the RIB alone does not decide.
 * - Graceful restart keeps a dead control node's routes (stale) for its restart time; the gateway
 *   withdraws its aggregates from the TGW after `cn2LostAfter` anyway, and advertises them again
 *   when the control node is back.
 * - The quota guard at a real TGW session: never more than the limit, the session stays up, and the
 *   refused prefixes are reported.
 */
import t from 'tap'
import { Family } from '../../bgp/codec/afi.js'
import { parseExtCommunity } from '../../bgp/codec/ext-communities.js'
import { parseRd } from '../../bgp/codec/nlri.js'
import { Gateway, RecordingFib, localRoutesOnly, type FailoverEvent, type QuotaEvent } from '../../src/gateway/index.js'
import { best, link, relay, sleep, startSpeaker, vpnv4, waitEstablished, waitFor } from '../speaker/helpers.js'
import { RT } from './helpers.js'

const VPN = [Family.Ipv4Vpn, Family.RouteTarget]
const common = { holdTime: 9, connectRetryTime: 0.5, idleHoldTime: 0.2 }
const podAttrs = { attrs: { origin: 0, asPath: [], extCommunities: [parseExtCommunity(RT), parseExtCommunity('encap:udp')] }, nextHop: '192.0.2.11' }

t.test('graceful restart keeps a dead control node\'s routes; after cn2LostAfter the aggregates leave the TGW anyway', async (t) => {
  const control = await startSpeaker(64512, '10.8.0.1', '127.0.7.1', { gracefulRestart: { restartTime: 60 }, importRouteTargets: [parseExtCommunity(RT)] })
  const cn2 = await startSpeaker(64512, '10.9.0.1', '127.0.7.11', { gracefulRestart: { restartTime: 60 } })
  const tgw = await startSpeaker(65100, '10.9.0.1', '127.0.7.21')
  const tgwA = await startSpeaker(64512, '10.7.0.2', '127.0.7.2')
  const r = await relay('127.0.7.3', cn2.address, control.address, control.port)
  t.teardown(async () => {
    await Promise.all([control, cn2, tgw, tgwA].map((s) => s.stop()))
    await r.close()
  })
  const g = new Gateway(cn2, tgw, new RecordingFib(), {
    routerId: '10.9.0.1', nodeAddress: cn2.address, exposedRouteTargets: [RT], exposedCidrs: ['10.244.0.0/16'],
    table: { table: 100, label: 30 }, connectPeers: [{ link: 'gsig1', peers: [tgwA.address] }], cn2LostAfter: 1,
  })
  g.start()
  t.teardown(() => g.stop())
  const failovers: FailoverEvent[] = []
  g.on('failover', (e) => failovers.push(e))
  control.addPeer({ name: 'gw', address: cn2.address, asn: 64512, passive: true, localAddress: control.address, families: VPN, ...common })
  cn2.addPeer({ name: 'cn', address: '127.0.7.3', port: r.port, asn: 64512, localAddress: cn2.address, families: VPN, ...common })
  link(tgw, tgwA, [Family.Ipv4Unicast], { minimumAdvertisementInterval: 0, exportPolicy: { [Family.Ipv4Unicast]: localRoutesOnly } })
  control.originate(vpnv4(parseRd('192.0.2.11:1'), '10.244.1.5/32', 25), podAttrs)
  await waitEstablished(cn2, 'cn')
  await waitFor(() => best(tgwA, Family.Ipv4Unicast, '10.244.0.0/16') !== undefined, 5000, 'aggregate at the TGW')
  t.ok(cn2.session('cn').stats().negotiated?.gracefulRestart, 'graceful restart negotiated with the control node')

  await r.close() // the control node dies without NOTIFICATION and cannot come back
  const downAt = Date.now()
  await waitFor(() => cn2.session('cn').state !== 'Established', 3000, 'control-node session down')
  t.ok(best(cn2, Family.Ipv4Vpn, '192.0.2.11:1:10.244.1.5/32')?.stale, 'the RIB keeps the pod route, stale (restart time 60 s)')
  t.equal(g.status().importedRoutes, 1)
  await sleep(300)
  t.ok(best(tgwA, Family.Ipv4Unicast, '10.244.0.0/16'), 'within cn2LostAfter the aggregate stays (the control node may come back)')
  await waitFor(() => best(tgwA, Family.Ipv4Unicast, '10.244.0.0/16') === undefined, 5000, 'aggregate withdrawn from the TGW')
  t.ok(Date.now() - downAt >= 900, `withdrawn after cn2LostAfter (${Date.now() - downAt} ms after the session went down)`)
  t.ok(best(cn2, Family.Ipv4Vpn, '192.0.2.11:1:10.244.1.5/32')?.stale, 'while the RIB still holds the stale route')
  t.match(g.status(), { cn2Lost: true, importedRoutes: 1, aggregatesActive: 1, advertisedToTgw: 0 })
  t.equal(tgw.session(tgwA.address).state, 'Established', 'the TGW session stays up')

  // The control node comes back (a new relay on the same address would need the same port: peer it directly).
  await cn2.removePeer('cn')
  cn2.addPeer({ name: 'cn2', address: control.address, port: control.port, asn: 64512, localAddress: cn2.address, families: VPN, ...common })
  await waitEstablished(cn2, 'cn2')
  await waitFor(() => best(tgwA, Family.Ipv4Unicast, '10.244.0.0/16') !== undefined, 5000, 'aggregate back at the TGW')
  t.same(failovers, [{ side: 'cn2', lost: true }, { side: 'cn2', lost: false }])
})

t.test('quota guard at a real TGW session: at most the limit, the session stays up, the excess reported', async (t) => {
  const control = await startSpeaker(64512, '10.8.0.1', '127.0.7.31', { importRouteTargets: [parseExtCommunity(RT)] })
  const cn2 = await startSpeaker(64512, '10.9.0.1', '127.0.7.41')
  const tgw = await startSpeaker(65100, '10.9.0.1', '127.0.7.51')
  const tgwA = await startSpeaker(64512, '10.7.0.2', '127.0.7.32')
  t.teardown(() => Promise.all([control, cn2, tgw, tgwA].map((s) => s.stop())))
  const g = new Gateway(cn2, tgw, new RecordingFib(), {
    routerId: '10.9.0.1', nodeAddress: cn2.address, exposedRouteTargets: [RT], exposedCidrs: ['10.244.0.0/16', '10.246.0.0/16'],
    table: { table: 100, label: 30 }, connectPeers: [{ link: 'gsig1', peers: [tgwA.address] }],
    advertiseMoreSpecifics: true, maxPrefixesAdvertised: 10,
  })
  g.start()
  t.teardown(() => g.stop())
  const reports: QuotaEvent[] = []
  g.on('quota', (e) => reports.push(e))
  link(cn2, control, VPN)
  link(tgw, tgwA, [Family.Ipv4Unicast], { minimumAdvertisementInterval: 0, exportPolicy: { [Family.Ipv4Unicast]: localRoutesOnly } })
  // 30 pod routes, announced from the top address down (the guard must not keep the first arrivals).
  for (let i = 29; i >= 0; i--) control.originate(vpnv4(parseRd('192.0.2.11:1'), `10.${i < 15 ? 244 : 246}.0.${i}/32`, 100 + i), podAttrs)
  await waitEstablished(tgw, tgwA.address)
  await waitFor(() => g.status().importedRoutes === 30, 5000, '30 routes imported')
  const received = (): number => tgwA.peerStats(tgw.address).families[0]?.received ?? -1
  await waitFor(() => received() === 10, 5000, '10 prefixes at the TGW')
  await sleep(200)
  t.equal(received(), 10, 'never more than the limit')
  const want = ['10.244.0.0/16', '10.246.0.0/16', ...Array.from({ length: 8 }, (_, i) => `10.244.0.${i}/32`)]
  for (const p of want) t.ok(best(tgwA, Family.Ipv4Unicast, p), `${p} advertised (aggregates, then the lowest addresses)`)
  t.equal(tgw.session(tgwA.address).state, 'Established', 'the session stays up')
  const q = g.quota()
  t.match(q, { limit: 10, candidates: 32, advertised: 10, refused: 22 })
  t.same(q.refusedPrefixes.slice(0, 3), ['10.244.0.8/32', '10.244.0.9/32', '10.244.0.10/32'])
  t.ok(reports.length > 0 && reports.at(-1)?.refused === 22, 'reported as a quota event')

  // A withdrawal makes room: the next prefix in order takes it.
  control.withdrawOriginated(vpnv4(parseRd('192.0.2.11:1'), '10.244.0.3/32', 103))
  await waitFor(() => best(tgwA, Family.Ipv4Unicast, '10.244.0.8/32') !== undefined && best(tgwA, Family.Ipv4Unicast, '10.244.0.3/32') === undefined, 5000, '10.244.0.8/32 replaces 10.244.0.3/32')
  t.equal(received(), 10)
})
