/**
 * Routes between our BgpSpeaker and BIRD 2 (eBGP, loopback high ports), checked in `birdc show
 * route all` and in our RIB: IPv4 and IPv6 unicast and VPNv4 with a route target and the RFC 9012
 * encapsulation community (MPLSoUDP, tunnel type 13) both ways; route refresh both ways (we ask and
 * BIRD re-sends; `birdc reload in` makes BIRD ask and we answer from Adj-RIB-Out); withdrawals both
 * ways. BIRD's
 * routes are static device routes on "lo" (a static route is exported only once its next hop
 * resolves), so BIRD advertises itself as next hop (eBGP).
 */
import t from 'tap'
import { Family } from '../../bgp/codec/index.js'
import { startBird, birdOriginate } from './peers.js'
import { OurSide, extTexts, refreshBothWays, type TestRoute } from './our-peer.js'
import { waitFor } from '../session/helpers.js'

const BIRD = '127.1.5.1'
const US = '127.1.5.2'

const OURS: TestRoute[] = [
  { family: 'ipv4', prefix: '10.5.1.0/24', nextHop: '192.0.2.51', med: 51 },
  { family: 'ipv6', prefix: '2001:db8:51::/48', nextHop: '2001:db8::51' },
  { family: 'vpnv4', prefix: '172.16.51.0/24', rd: '65005:51', label: 5051, nextHop: '192.0.2.51', extCommunities: ['rt:65005:51', 'encap:udp'] },
]
const THEIRS: TestRoute[] = [
  { family: 'ipv4', prefix: '10.5.2.0/24', nextHop: 'lo', med: 52, communities: ['65500:2'] },
  { family: 'ipv6', prefix: '2001:db8:52::/48', nextHop: 'lo', med: 53 },
  { family: 'vpnv4', prefix: '172.16.52.0/24', rd: '65500:52', label: 5052, nextHop: 'lo', extCommunities: ['rt:65500:52', 'encap:udp'] },
]

t.test('BIRD and our speaker exchange IPv4, IPv6 and VPNv4 routes', async (t) => {
  const bird = await startBird(t, { name: 'bird-routes', address: BIRD, asn: 65500, routerId: '10.5.5.1', holdTime: 9, neighbor: { address: US, asn: 65005, families: ['ipv4', 'ipv6', 'vpnv4'] } }, birdOriginate(THEIRS))
  const us = new OurSide({ localAs: 65005, routerId: '10.5.5.2', peer: { address: BIRD, port: bird.port, asn: 65500, localAddress: US, holdTime: 9, families: [Family.Ipv4Unicast, Family.Ipv6Unicast, Family.Ipv4Vpn] } })
  t.teardown(() => us.stop())
  us.announce(OURS)
  await us.start()
  await waitFor(() => us.session.state === 'Established', 10_000, 'session to BIRD')

  await t.test('ours in BIRD', async (t) => {
    const show = (net: string, table = ''): string => bird.birdc(`show route ${net}${table} all`)
    await waitFor(() => show('10.5.1.0/24').includes('BGP.as_path') && show('2001:db8:51::/48').includes('BGP.as_path') && show('65005:51 172.16.51.0/24', ' table vtab4').includes('BGP.as_path'), 10_000, 'BIRD to learn our routes')
    const v4 = show('10.5.1.0/24')
    t.match(v4, /BGP\.as_path: 65005\b/, 'IPv4: AS_PATH')
    t.match(v4, /BGP\.next_hop: 192\.0\.2\.51/, 'IPv4: NEXT_HOP')
    t.match(v4, /BGP\.med: 51/, 'IPv4: MED')
    t.match(show('2001:db8:51::/48'), /BGP\.next_hop: 2001:db8::51/, 'IPv6: next hop')
    const vpn = show('65005:51 172.16.51.0/24', ' table vtab4')
    t.match(vpn, /BGP\.mpls_label_stack: 5051/, 'VPNv4: label')
    t.match(vpn, /BGP\.ext_community: .*\(rt, 65005, 51\)/, 'VPNv4: route target')
    t.match(vpn, /BGP\.ext_community: .*\(generic, 0x30c0000, 0xd\)/, 'VPNv4: encapsulation 0x030c tunnel type 13')
  })

  await t.test("BIRD's in our RIB, attribute by attribute", async (t) => {
    await waitFor(() => us.learned('ipv4').length + us.learned('ipv6').length + us.learned('vpnv4').length === 3, 10_000, 'routes from BIRD')
    const v4 = us.get('ipv4', '10.5.2.0/24')
    t.equal(v4?.attrs.med, undefined, 'IPv4: no MED (BIRD does not pass its bgp_med to an eBGP peer)')
    t.same(v4?.attrs.communities, [((65500 << 16) | 2) >>> 0], 'IPv4: COMMUNITIES')
    t.same(v4?.attrs.asPath, [{ type: 2, asns: [65500] }], 'IPv4: AS_PATH')
    t.equal(v4?.nextHop, BIRD, 'IPv4: NEXT_HOP (BIRD itself)')
    const v6 = us.get('ipv6', '2001:db8:52::/48')
    t.equal(v6?.nextHop, '2001:db8:ffff::1', 'IPv6: next hop BIRD was told to use')
    const vpn = us.get('vpnv4', '172.16.52.0/24', '65500:52')
    // the static route's `mpls 5052` is BIRD's outgoing stack; for its own routes BIRD advertises
    // label 3 (implicit null, RFC 3032)
    t.equal(vpn?.label, 3, 'VPNv4: label (implicit null)')
    t.same(extTexts(vpn?.attrs ?? {}), ['rt:65500:52', 'encap:13'], 'VPNv4: route target and encapsulation MPLSoUDP')
    t.same(vpn?.attrs.asPath, [{ type: 2, asns: [65500] }], 'VPNv4: AS_PATH')
  })

  await t.test('route refresh both ways', async (t) => {
    // `reload in` makes BIRD ask us with ROUTE-REFRESH (we advertised the capability).
    await refreshBothWays(t, us, 'ipv4', ['10.5.2.0/24'], () => bird.birdc('reload in peer1'))
    t.match(bird.birdc('show route 10.5.1.0/24 all'), /BGP\.next_hop: 192\.0\.2\.51/, 'BIRD still has our route')
    t.equal(us.session.state, 'Established')
    t.equal(us.stats().session.flaps, 0, 'no session reset')
  })

  await t.test('withdrawals both ways', async (t) => {
    us.withdraw(OURS)
    const has = (cmd: string, what: string): boolean => {
      try {
        return bird.birdc(cmd).includes(what)
      } catch {
        return false // birdc exits non-zero for "network not found"
      }
    }
    await waitFor(() => !has('show route 10.5.1.0/24', '10.5.1.0/24') && !has('show route 65005:51 172.16.51.0/24 table vtab4', '172.16.51.0'), 5000, 'BIRD to drop our routes')
    t.pass('BIRD dropped them')
    bird.birdc('disable st_vpnv4')
    bird.birdc('disable st_ipv4')
    await waitFor(() => us.learned('ipv4').length + us.learned('vpnv4').length === 0, 5000, 'BIRD withdrawals')
    t.same(us.learned('ipv6'), ['2001:db8:52::/48'], 'only the routes of the disabled protocols were withdrawn')
    t.equal(us.stats().session.flaps, 0, 'session stayed up')
  })
})
