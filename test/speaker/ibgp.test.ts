/**
 * iBGP export rules between our own speakers over loopback: LOCAL_PREF 100 added, next hop kept for
 * eBGP-learned routes (and set with next-hop-self), iBGP routes not passed to other iBGP peers
 * except by route reflection (RFC 4456: ORIGINATOR_ID and CLUSTER_LIST), and iBGP-learned routes
 * going out to eBGP with our AS prepended and next hop self.
 */
import t from 'tap'
import { Family } from '../../bgp/codec/afi.js'
import { AsSegment } from '../../bgp/codec/as-path.js'
import { best, ipv4, link, sleep, startSpeaker, waitBest, waitEstablished } from './helpers.js'

const v4 = [Family.Ipv4Unicast]
const seq = (...asns: number[]): unknown => [{ type: AsSegment.Sequence, asns }]

t.test('eBGP-learned to iBGP, iBGP-learned to eBGP, no iBGP to iBGP without reflection', async (t) => {
  // C (AS 65003, eBGP) -- A (AS 65100) -- B and D (AS 65100, iBGP, not clients).
  const a = await startSpeaker(65100, '10.0.0.1', '127.0.1.1')
  const b = await startSpeaker(65100, '10.0.0.2', '127.0.1.2')
  const c = await startSpeaker(65003, '10.0.0.3', '127.0.1.3')
  const d = await startSpeaker(65100, '10.0.0.4', '127.0.1.4')
  t.teardown(() => Promise.all([a, b, c, d].map((s) => s.stop())))
  link(c, a, v4)
  link(b, a, v4)
  link(d, a, v4)
  await Promise.all([waitEstablished(a, c.address), waitEstablished(a, b.address), waitEstablished(a, d.address)])

  c.originate(ipv4('192.0.2.0/24'), { attrs: { origin: 0, asPath: [], med: 7 }, nextHop: '' })
  await waitBest(b, Family.Ipv4Unicast, '192.0.2.0/24')
  const atB = best(b, Family.Ipv4Unicast, '192.0.2.0/24')
  t.equal(atB?.attrs.localPref, 100, 'LOCAL_PREF 100 added toward iBGP')
  t.equal(atB?.nextHop, c.address, 'eBGP next hop kept on iBGP (no next-hop-self)')
  t.same(atB?.attrs.asPath, seq(65003), 'AS_PATH unchanged on iBGP')
  t.equal(atB?.attrs.med, 7, 'MED from the neighbouring AS kept inside our AS')
  t.equal(atB?.attrs.originatorId, undefined, 'not reflected: no ORIGINATOR_ID')

  b.originate(ipv4('198.51.100.0/24'), { attrs: { origin: 0, asPath: [], med: 9, localPref: 250 }, nextHop: '' })
  await waitBest(c, Family.Ipv4Unicast, '198.51.100.0/24')
  const atC = best(c, Family.Ipv4Unicast, '198.51.100.0/24')
  t.same(atC?.attrs.asPath, seq(65100), 'AS_PATH prepended toward eBGP')
  t.equal(atC?.nextHop, a.address, 'next hop self toward eBGP')
  t.equal(atC?.attrs.localPref, undefined)
  t.equal(atC?.attrs.med, undefined, 'MED learned from another peer not sent to eBGP')
  t.equal(best(a, Family.Ipv4Unicast, '198.51.100.0/24')?.attrs.localPref, 250, 'A kept B\'s LOCAL_PREF')

  // D is an iBGP non-client: it gets C's route (eBGP-learned) but not B's (iBGP-learned).
  await waitBest(d, Family.Ipv4Unicast, '192.0.2.0/24')
  await sleep(300)
  t.equal(best(d, Family.Ipv4Unicast, '198.51.100.0/24'), undefined, 'iBGP route not passed to another iBGP peer')
  t.equal(a.peerStats(d.address).families[0]?.advertised, 1)
})

t.test('route reflection and next-hop-self', async (t) => {
  // A reflects: B is a client, D is not; E is a client with next-hop-self set on A.
  const a = await startSpeaker(65200, '10.1.0.1', '127.0.2.1')
  const b = await startSpeaker(65200, '10.1.0.2', '127.0.2.2')
  const d = await startSpeaker(65200, '10.1.0.4', '127.0.2.4')
  const e = await startSpeaker(65200, '10.1.0.5', '127.0.2.5')
  t.teardown(() => Promise.all([a, b, d, e].map((s) => s.stop())))
  link(b, a, v4, {}, { routeReflectorClient: true })
  link(d, a, v4)
  link(e, a, v4, {}, { routeReflectorClient: true, nextHopSelf: true })
  await Promise.all([waitEstablished(a, b.address), waitEstablished(a, d.address), waitEstablished(a, e.address)])

  b.originate(ipv4('203.0.113.0/24'), { attrs: { origin: 0, asPath: [] }, nextHop: '' })
  await waitBest(d, Family.Ipv4Unicast, '203.0.113.0/24')
  const atD = best(d, Family.Ipv4Unicast, '203.0.113.0/24')
  t.equal(atD?.attrs.originatorId, 0x0a010002, 'ORIGINATOR_ID = the client\'s BGP identifier')
  t.same(atD?.attrs.clusterList, [0x0a010001], 'CLUSTER_LIST = our cluster id (router id)')
  t.equal(atD?.nextHop, b.address, 'reflected next hop unchanged')
  await waitBest(e, Family.Ipv4Unicast, '203.0.113.0/24')
  t.equal(best(e, Family.Ipv4Unicast, '203.0.113.0/24')?.nextHop, a.address, 'next-hop-self on a reflected route')
  t.equal(a.peerStats(b.address).families[0]?.advertised, 0, 'not reflected back to the client it came from')

  // From the non-client D: reflected to clients B and E only.
  d.originate(ipv4('203.0.114.0/24'), { attrs: { origin: 0, asPath: [] }, nextHop: '' })
  await waitBest(b, Family.Ipv4Unicast, '203.0.114.0/24')
  t.same(best(b, Family.Ipv4Unicast, '203.0.114.0/24')?.attrs.clusterList, [0x0a010001])
  await waitBest(e, Family.Ipv4Unicast, '203.0.114.0/24')
})
