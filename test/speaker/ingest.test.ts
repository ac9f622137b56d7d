/**
 * Ingest from a peer that is not one of our speakers (a bare Session sending hand-made UPDATEs):
 * RFC 7606 AFI/SAFI disable removes the peer's routes of that family and ignores later ones while the
 * session and the other families stay; a peer's routes arrive in the RIB with one commit per batch.
 */
import t from 'tap'
import { Family } from '../../bgp/codec/afi.js'
import { HEADER_LENGTH, MessageType, writeHeader } from '../../bgp/codec/header.js'
import type { CodecContext } from '../../bgp/codec/context.js'
import { BgpSpeaker } from '../../bgp/speaker/index.js'
import { best, encode, ipv4, ipv6, rawPeer, sleep, waitBest, waitFor } from './helpers.js'

/** An UPDATE whose IPv6 MP_REACH_NLRI has a 4-byte next hop (RFC 7606 7.11: AFI/SAFI disable). */
function badIpv6Update(peerAs: number): Uint8Array {
  const attrs = [
    0x40, 1, 1, 0, // ORIGIN IGP
    0x40, 2, 6, 2, 1, peerAs >>> 24, (peerAs >>> 16) & 0xff, (peerAs >>> 8) & 0xff, peerAs & 0xff, // AS_PATH
    0x80, 14, 14, 0, 2, 1, 4, 192, 0, 2, 1, 0, 32, 0x20, 0x01, 0x0d, 0xb9, // MP_REACH, bad next hop
  ]
  const b = new Uint8Array(HEADER_LENGTH + 4 + attrs.length)
  const p = writeHeader(b, 0, b.length, MessageType.Update)
  b[p + 2] = attrs.length >>> 8
  b[p + 3] = attrs.length & 0xff
  b.set(attrs, p + 4)
  return b
}

t.test('AFI/SAFI disable (RFC 7606) drops one family of one peer, the session stays', async (t) => {
  const sp = new BgpSpeaker({ localAs: 65151, routerId: '10.6.0.1', listen: { address: '127.0.6.1', port: 0 } })
  const port = await sp.start()
  const errors: string[] = []
  sp.on('error', (e) => errors.push(e.message))
  const families = [Family.Ipv4Unicast, Family.Ipv6Unicast]
  sp.addPeer({ name: 'raw', address: '127.0.6.2', asn: 65152, passive: true, families, holdTime: 9 })
  const raw = await rawPeer(t, sp, { name: 'raw', localAs: 65152, localId: 0x0a060002, peerAs: 65151, peerAddress: '127.0.6.1', peerPort: port, localAddress: '127.0.6.2', holdTime: 9, families, connectRetryTime: 0.5 })
  const ctx = raw.negotiated?.context as CodecContext
  const attributes = { origin: 0, asPath: [{ type: 2 as const, asns: [65152] }] }
  raw.sendUpdate(encode({ type: 'update', withdrawn: [], attributes: { ...attributes, nextHop: 0xc0000201 }, nlri: [ipv4('10.20.0.0/16')] }, ctx))
  raw.sendUpdate(encode({ type: 'update', withdrawn: [], attributes, nlri: [], mpReach: { family: Family.Ipv6Unicast, nextHop: [Uint8Array.from([0x20, 1, 0xd, 0xb8, ...new Array<number>(11).fill(0), 1])], nlri: [ipv6('2001:db8:20::/48')] } }, ctx))
  await waitBest(sp, Family.Ipv6Unicast, '2001:db8:20::/48')
  await waitBest(sp, Family.Ipv4Unicast, '10.20.0.0/16')
  t.equal(best(sp, Family.Ipv4Unicast, '10.20.0.0/16')?.nextHop, '192.0.2.1')

  raw.sendUpdate(badIpv6Update(65152))
  await waitBest(sp, Family.Ipv6Unicast, '2001:db8:20::/48', false)
  t.ok(best(sp, Family.Ipv4Unicast, '10.20.0.0/16'), 'IPv4 routes stay')
  t.equal(sp.session('raw').state, 'Established', 'the session stays')
  t.match(errors, [/ipv6-unicast disabled/])

  // Later IPv6 routes of this peer are ignored; IPv4 still flows.
  raw.sendUpdate(encode({ type: 'update', withdrawn: [], attributes, nlri: [], mpReach: { family: Family.Ipv6Unicast, nextHop: [Uint8Array.from([0x20, 1, 0xd, 0xb8, ...new Array<number>(11).fill(0), 1])], nlri: [ipv6('2001:db8:21::/48')] } }, ctx))
  raw.sendUpdate(encode({ type: 'update', withdrawn: [], attributes: { ...attributes, nextHop: 0xc0000201 }, nlri: [ipv4('10.21.0.0/16')] }, ctx))
  await waitBest(sp, Family.Ipv4Unicast, '10.21.0.0/16')
  await sleep(50)
  t.equal(best(sp, Family.Ipv6Unicast, '2001:db8:21::/48'), undefined, 'IPv6 ignored after the disable')
  t.equal(sp.peerStats('raw').families[1]?.received, 0)
})

t.test('enhanced route refresh received (RFC 7313): what the peer does not re-send between BoRR and EoRR goes', async (t) => {
  const sp = new BgpSpeaker({ localAs: 65161, routerId: '10.6.1.1', listen: { address: '127.0.6.3', port: 0 } })
  const port = await sp.start()
  const families = [Family.Ipv4Unicast]
  sp.addPeer({ name: 'raw', address: '127.0.6.4', asn: 65162, passive: true, families, holdTime: 9, enhancedRouteRefresh: true })
  const raw = await rawPeer(t, sp, { name: 'raw', localAs: 65162, localId: 0x0a060104, peerAs: 65161, peerAddress: '127.0.6.3', peerPort: port, localAddress: '127.0.6.4', holdTime: 9, families, connectRetryTime: 0.5, enhancedRouteRefresh: true })
  const ctx = raw.negotiated?.context as CodecContext
  t.equal(raw.negotiated?.enhancedRouteRefresh, true)
  const attributes = { origin: 0, asPath: [{ type: 2 as const, asns: [65162] }], nextHop: 0xc0000201 }
  raw.sendUpdate(encode({ type: 'update', withdrawn: [], attributes, nlri: [ipv4('10.50.0.0/16'), ipv4('10.51.0.0/16')] }, ctx))
  await waitFor(() => sp.peerStats('raw').families[0]?.received === 2, 3000, 'two routes')
  raw.sendRouteRefresh(Family.Ipv4Unicast, 1) // BoRR
  raw.sendUpdate(encode({ type: 'update', withdrawn: [], attributes, nlri: [ipv4('10.50.0.0/16')] }, ctx))
  await waitFor(() => sp.peerStats('raw').families[0]?.stale === 1, 3000, 'the one not re-sent is stale')
  t.ok(best(sp, Family.Ipv4Unicast, '10.51.0.0/16')?.stale, 'kept (stale) until EoRR')
  raw.sendRouteRefresh(Family.Ipv4Unicast, 2) // EoRR
  await waitBest(sp, Family.Ipv4Unicast, '10.51.0.0/16', false)
  t.equal(best(sp, Family.Ipv4Unicast, '10.50.0.0/16')?.stale, false, 're-sent route fresh')
  t.equal(sp.peerStats('raw').families[0]?.received, 1)
})
