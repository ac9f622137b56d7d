/**
 * Routes between our BgpSpeaker and FRR 8.4 bgpd (eBGP 2-octet AS and iBGP 4-octet AS, loopback
 * high ports), checked on both
 * sides attribute by attribute: FRR's own JSON (`show bgp ipv4 unicast P json`, `show bgp ipv6
 * unicast P json`, `show bgp ipv4 vpn P json`) for what we send, our RIB for what FRR sends.
 * IPv4 and IPv6 unicast and VPNv4 with route targets of the three forms and the RFC 9012
 * encapsulation community (MPLSoUDP, tunnel type 13) both ways; withdrawals both ways; route
 * refresh both ways (we ask and FRR re-sends; FRR asks with `clear bgp ... soft in` and the speaker
 * answers from its Adj-RIB-Out). FRR's route-maps cannot set the encapsulation community, so the
 * FRR-to-us direction of it is a route a second speaker of ours gives FRR, which FRR passes on.
 */
import t from 'tap'
import { Family } from '../../bgp/codec/index.js'
import { startFrr, frrOriginate } from './peers.js'
import { OurSide, extTexts, refreshBothWays, startOurSide, type TestRoute } from './our-peer.js'
import { sleep, waitFor } from '../session/helpers.js'

const FRR = '127.1.2.1'
const US = '127.1.2.2'
const INJECTOR = '127.1.2.3'
const FRR_AS = 65200
const OUR_AS = 65002
const INJ_AS = 65003

const OURS: TestRoute[] = [
  { family: 'ipv4', prefix: '10.2.1.0/24', nextHop: '192.0.2.21', med: 21, communities: ['65002:100'] },
  { family: 'ipv6', prefix: '2001:db8:21::/48', nextHop: '2001:db8::21', med: 22 },
  {
    family: 'vpnv4',
    prefix: '172.16.21.0/24',
    rd: '65002:21',
    label: 2021,
    nextHop: '192.0.2.21',
    extCommunities: ['rt:65002:21', 'rt:10.0.0.1:5', 'rt:4200000001:9', 'encap:udp'],
  },
]
const FRRS: TestRoute[] = [
  { family: 'ipv4', prefix: '10.2.2.0/24', nextHop: '192.0.2.31', med: 31, communities: ['65200:7'] },
  { family: 'ipv6', prefix: '2001:db8:22::/48', nextHop: '2001:db8::31', med: 32 },
  { family: 'vpnv4', prefix: '172.16.22.0/24', rd: '65200:22', label: 2022, nextHop: '192.0.2.31', extCommunities: ['rt:65200:22', 'rt:4200000002:3'] },
]
const INJECTED: TestRoute = { family: 'vpnv4', prefix: '172.16.23.0/24', rd: '65003:23', label: 2023, nextHop: '192.0.2.41', extCommunities: ['rt:65003:23', 'encap:udp'] }

interface FrrPath {
  aspath?: { string: string; segments?: unknown[]; length?: number }
  origin?: string
  metric?: number
  community?: { string: string }
  extendedCommunity?: { string: string }
  remoteLabel?: number
  nexthops?: { ip: string; afi: string }[]
  peer?: { peerId: string; type?: string }
}

t.test('FRR and our speaker exchange IPv4, IPv6 and VPNv4 routes', async (t) => {
  const origin = frrOriginate(FRRS, 'x')
  const frr = await startFrr(
    t,
    { name: 'frr-routes', address: FRR, asn: FRR_AS, routerId: '10.2.2.1', holdTime: 9, neighbor: { address: US, asn: OUR_AS, families: ['ipv4', 'ipv6', 'vpnv4'] } },
    [` neighbor ${INJECTOR} remote-as ${INJ_AS}`, ` neighbor ${INJECTOR} passive`, ' address-family ipv4 vpn', `  neighbor ${INJECTOR} activate`, ' exit-address-family'],
  )
  const us = await startOurSide(
    t,
    {
      localAs: OUR_AS,
      routerId: '10.2.2.2',
      peer: { address: FRR, port: frr.port, asn: FRR_AS, localAddress: US, holdTime: 9, families: [Family.Ipv4Unicast, Family.Ipv6Unicast, Family.Ipv4Vpn] },
    },
    OURS,
    'FRR',
  )
  t.same([...(us.stats().session.negotiated?.families ?? [])].sort(), ['ipv4-unicast', 'ipv6-unicast', 'l3vpn-ipv4-unicast'], 'three families negotiated')

  const frrPath = (show: string): FrrPath | undefined => {
    const j = frr.json<{ paths?: FrrPath[]; [rd: string]: unknown }>(show)
    if (j.paths) return j.paths[0]
    for (const v of Object.values(j)) if (v && typeof v === 'object' && 'paths' in v) return (v as { paths: FrrPath[] }).paths[0]
    return undefined
  }

  await t.test('ours in FRR, attribute by attribute', async (t) => {
    await waitFor(() => frrPath('show bgp ipv4 vpn 172.16.21.0/24') !== undefined && frrPath('show bgp ipv6 unicast 2001:db8:21::/48') !== undefined && frrPath('show bgp ipv4 unicast 10.2.1.0/24') !== undefined, 10_000, 'FRR to learn our routes')
    const v4 = frrPath('show bgp ipv4 unicast 10.2.1.0/24')
    t.equal(v4?.aspath?.string, '65002', 'IPv4: AS_PATH')
    t.equal(v4?.origin, 'IGP', 'IPv4: ORIGIN')
    t.equal(v4?.metric, 21, 'IPv4: MED')
    t.equal(v4?.community?.string, '65002:100', 'IPv4: COMMUNITIES')
    t.equal(v4?.nexthops?.[0]?.ip, '192.0.2.21', 'IPv4: NEXT_HOP')
    t.equal(v4?.peer?.peerId, US, 'IPv4: from our session')
    const v6 = frrPath('show bgp ipv6 unicast 2001:db8:21::/48')
    t.equal(v6?.aspath?.string, '65002', 'IPv6: AS_PATH')
    t.equal(v6?.metric, 22, 'IPv6: MED')
    t.equal(v6?.nexthops?.[0]?.ip, '2001:db8::21', 'IPv6: MP_REACH next hop')
    const j = frr.json<Record<string, { paths?: FrrPath[] }>>('show bgp ipv4 vpn 172.16.21.0/24')
    t.same(Object.keys(j), ['65002:21'], 'VPNv4: route distinguisher')
    const vpn = j['65002:21']?.paths?.[0]
    t.equal(vpn?.aspath?.string, '65002', 'VPNv4: AS_PATH')
    t.equal(vpn?.remoteLabel, 2021, 'VPNv4: label')
    t.equal(vpn?.nexthops?.[0]?.ip, '192.0.2.21', 'VPNv4: next hop')
    t.equal(vpn?.extendedCommunity?.string, 'RT:65002:21 RT:10.0.0.1:5 RT:4200000001:9 ET:13', 'VPNv4: route targets (2-octet AS, IPv4, 4-octet AS) and encapsulation MPLSoUDP (ET:13)')
  })

  await t.test("FRR's in our RIB, attribute by attribute", async (t) => {
    frr.vtysh('configure terminal', ...origin.routeMaps, `router bgp ${FRR_AS}`, ...origin.router)
    await waitFor(() => us.learned('ipv4').length > 0 && us.learned('ipv6').length > 0 && us.learned('vpnv4').length > 0, 10_000, 'routes from FRR')
    t.same(us.learned('ipv4'), ['10.2.2.0/24'])
    t.same(us.learned('ipv6'), ['2001:db8:22::/48'])
    t.same(us.learned('vpnv4'), ['65200:22:172.16.22.0/24'])
    const v4 = us.get('ipv4', '10.2.2.0/24')
    // FRR sets itself as next hop toward an eBGP peer (RFC 4271 5.1.3), whatever the route-map set
    t.equal(v4?.nextHop, FRR, 'IPv4: NEXT_HOP (FRR itself on eBGP)')
    t.equal(v4?.attrs.med, 31, 'IPv4: MED')
    t.same(v4?.attrs.communities, [((65200 << 16) | 7) >>> 0], 'IPv4: COMMUNITIES')
    t.same(v4?.attrs.asPath, [{ type: 2, asns: [FRR_AS] }], 'IPv4: AS_PATH')
    t.equal(v4?.attrs.origin, 0, 'IPv4: ORIGIN IGP')
    const v6 = us.get('ipv6', '2001:db8:22::/48')
    t.ok(['::ffff:127.1.2.1', '::ffff:7f01:201'].includes(v6?.nextHop ?? ''), `IPv6: next hop FRR's IPv4-mapped address (${v6?.nextHop})`)
    t.equal(v6?.attrs.med, 32, 'IPv6: MED')
    const vpn = us.get('vpnv4', '172.16.22.0/24', '65200:22')
    t.equal(vpn?.label, 2022, 'VPNv4: label')
    t.same(extTexts(vpn?.attrs ?? {}), ['rt:65200:22', 'rt:4200000002:3'], 'VPNv4: route targets')
    t.same(vpn?.attrs.asPath, [{ type: 2, asns: [FRR_AS] }], 'VPNv4: AS_PATH')
    t.ok(vpn?.nextHop, `VPNv4: next hop ${vpn?.nextHop}`)
  })

  await t.test('encapsulation community from FRR (passed on from another peer)', async (t) => {
    const inj = new OurSide({
      localAs: INJ_AS,
      routerId: '10.2.2.3',
      peer: { address: FRR, port: frr.port, asn: FRR_AS, localAddress: INJECTOR, holdTime: 9, families: [Family.Ipv4Vpn] },
    })
    t.teardown(() => inj.stop())
    inj.announce([INJECTED])
    await inj.start()
    await waitFor(() => us.get('vpnv4', INJECTED.prefix, INJECTED.rd) !== undefined, 10_000, 'the injected route via FRR')
    const r = us.get('vpnv4', INJECTED.prefix, INJECTED.rd)
    t.same(extTexts(r?.attrs ?? {}), ['rt:65003:23', 'encap:13'], 'route target and encapsulation MPLSoUDP')
    t.same(r?.attrs.asPath, [{ type: 2, asns: [FRR_AS, INJ_AS] }], 'AS_PATH through FRR')
    t.equal(r?.label, 2023, 'label kept')
    await inj.stop()
    await waitFor(() => us.get('vpnv4', INJECTED.prefix, INJECTED.rd) === undefined, 10_000, 'withdrawn when the injector leaves')
  })

  await t.test('route refresh both ways', async (t) => {
    await refreshBothWays(t, us, 'vpnv4', ['65200:22:172.16.22.0/24'], () => frr.vtysh(`clear bgp ipv4 unicast ${US} soft in`))
    await sleep(300)
    t.equal(frrPath('show bgp ipv4 unicast 10.2.1.0/24')?.nexthops?.[0]?.ip, '192.0.2.21', 'FRR still has our route')
    t.equal(us.session.state, 'Established')
  })

  await t.test('withdrawals both ways', async (t) => {
    us.withdraw(OURS)
    await waitFor(() => {
      const s = frr.json<{ routes?: Record<string, unknown> }>('show bgp ipv4 unicast')
      return s.routes?.['10.2.1.0/24'] === undefined
    }, 5000, 'FRR to drop our IPv4 route')
    await waitFor(() => Object.keys(frr.json('show bgp ipv4 vpn 172.16.21.0/24')).length === 0, 5000, 'FRR to drop our VPNv4 route')
    await waitFor(() => Object.keys(frr.json('show bgp ipv6 unicast 2001:db8:21::/48')).length === 0, 5000, 'FRR to drop our IPv6 route')
    t.pass('FRR dropped all three')
    frr.vtysh(
      'configure terminal',
      `router bgp ${FRR_AS}`,
      'address-family ipv4 unicast',
      'no network 10.2.2.0/24',
      'exit-address-family',
      'address-family ipv6 unicast',
      'no network 2001:db8:22::/48',
      'exit-address-family',
      'address-family ipv4 vpn',
      'no network 172.16.22.0/24 rd 65200:22 label 2022',
      'exit-address-family',
    )
    await waitFor(() => us.learned('ipv4').length + us.learned('ipv6').length + us.learned('vpnv4').length === 0, 5000, 'FRR withdrawals')
    t.pass('we dropped all three')
    t.equal(us.session.state, 'Established', 'session stayed up throughout')
    t.equal(us.stats().session.flaps, 0)
  })
})

t.test('iBGP, 4-octet AS: a VPNv4 route each way', async (t) => {
  const AS = 4200000200
  const theirs: TestRoute = { family: 'vpnv4', prefix: '172.16.24.0/24', rd: '10.2.2.1:24', label: 2024, nextHop: '192.0.2.32', localPref: 300, extCommunities: ['rt:4200000200:24'] }
  const ours: TestRoute = { family: 'vpnv4', prefix: '172.16.25.0/24', rd: '4200000002:25', label: 2025, nextHop: '192.0.2.22', localPref: 250, extCommunities: ['rt:4200000002:25', 'encap:udp'] }
  const origin = frrOriginate([theirs], 'i')
  const frr = await startFrr(
    t,
    { name: 'frr-ibgp', address: FRR, asn: AS, routerId: '10.2.2.1', holdTime: 9, neighbor: { address: US, asn: AS, families: ['vpnv4'] } },
  )
  frr.vtysh('configure terminal', ...origin.routeMaps, `router bgp ${AS}`, ...origin.router)
  const us = await startOurSide(t, { localAs: AS, routerId: '10.2.2.2', peer: { address: FRR, port: frr.port, asn: AS, localAddress: US, holdTime: 9, families: [Family.Ipv4Vpn] } }, [ours], 'FRR (iBGP)')
  t.equal(us.stats().session.negotiated?.ebgp, false)
  t.equal(us.stats().session.negotiated?.as4, true)
  await waitFor(() => us.get('vpnv4', theirs.prefix, theirs.rd)?.attrs.localPref === 300, 10_000, "FRR's iBGP route with its LOCAL_PREF")
  const r = us.get('vpnv4', theirs.prefix, theirs.rd)
  t.same(r?.attrs.asPath ?? [], [], 'empty AS_PATH on iBGP')
  t.equal(r?.label, 2024, 'label')
  t.same(extTexts(r?.attrs ?? {}), ['rt:4200000200:24'], '4-octet AS route target')
  await waitFor(() => Object.keys(frr.json(`show bgp ipv4 vpn ${ours.prefix}`)).length > 0, 10_000, 'FRR to learn our route')
  const j = frr.json<Record<string, { paths?: (FrrPath & { locPrf?: number })[] }>>(`show bgp ipv4 vpn ${ours.prefix}`)
  t.same(Object.keys(j), ['4200000002:25'], 'RD type 2 (4-octet AS)')
  const p = j['4200000002:25']?.paths?.[0]
  t.equal(p?.locPrf, 250, 'LOCAL_PREF')
  t.match(p?.aspath, { string: 'Local', segments: [], length: 0 }, 'empty AS_PATH (FRR: "Local")')
  t.equal(p?.remoteLabel, 2025, 'label')
  t.equal(p?.nexthops?.[0]?.ip, '192.0.2.22', 'next hop kept on iBGP')
  t.equal(p?.extendedCommunity?.string, 'RT:4200000002:25 ET:13', 'route target and encapsulation')
  t.equal(p?.peer?.type, 'internal', 'FRR: learned over iBGP')
})
