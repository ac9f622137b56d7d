/**
 * Routes from our BgpSpeaker to BIRD 2 (eBGP, loopback high ports), checked in `birdc show route
 * all`: IPv4 and IPv6 unicast and VPNv4 with a route target and the RFC 9012 encapsulation
 * community (MPLSoUDP, tunnel type 13); withdrawals. (BIRD to us is not covered here: BIRD's static
 * routes need a reachable next hop before they are exported, which loopback-only tests lack.)
 */
import t from 'tap'
import { Family } from '../../bgp/codec/index.js'
import { startBird } from './peers.js'
import { OurSide, type TestRoute } from './our-peer.js'
import { waitFor } from '../session/helpers.js'

const BIRD = '127.1.5.1'
const US = '127.1.5.2'

const OURS: TestRoute[] = [
  { family: 'ipv4', prefix: '10.5.1.0/24', nextHop: '192.0.2.51', med: 51 },
  { family: 'ipv6', prefix: '2001:db8:51::/48', nextHop: '2001:db8::51' },
  { family: 'vpnv4', prefix: '172.16.51.0/24', rd: '65005:51', label: 5051, nextHop: '192.0.2.51', extCommunities: ['rt:65005:51', 'encap:udp'] },
]
t.test('our IPv4, IPv6 and VPNv4 routes in BIRD', async (t) => {
  const bird = await startBird(t, { name: 'bird-routes', address: BIRD, asn: 65500, routerId: '10.5.5.1', holdTime: 9, neighbor: { address: US, asn: 65005, families: ['ipv4', 'ipv6', 'vpnv4'] } })
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

  await t.test('withdrawals of ours', async (t) => {
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
  })
})
