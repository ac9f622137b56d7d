/**
 * Errors the speaker survives are never silent: a bare Session ('raw') sends the speaker martian next
 * hops in every family that carries one (treat-as-withdraw, RFC 7606 7.3; allowNextHops per peer),
 * malformed UPDATEs in a stream (counted per kind, the most recent kept in a bounded ring, logged at
 * most once per kind per interval), an AFI/SAFI disable and a refused connection, all with no
 * 'error' listener attached: each is counted in peerStats() and logged through a pino logger.
 */
import t from 'tap'
import { pino } from 'pino'
import { Family } from '../../bgp/codec/afi.js'
import { HEADER_LENGTH, MessageType, writeHeader } from '../../bgp/codec/header.js'
import type { CodecContext } from '../../bgp/codec/context.js'
import type { UpdateMessage } from '../../bgp/codec/update.js'
import { BgpSpeaker } from '../../bgp/speaker/index.js'
import type { BgpLogger } from '../../bgp/session/logger.js'
import { best, encode, ipv4, ipv6, rawPeer, sleep, vpnv4, waitBest, waitFor } from './helpers.js'

interface LogLine {
  level: number
  msg: string
  peer?: string
  kind?: string
  detail?: string
  suppressed?: number
  [k: string]: unknown
}

/** A real pino logger writing JSON lines into an array (a pino logger must fit BgpLogger as it is). */
function memoryLogger(): { logger: BgpLogger; lines: LogLine[] } {
  const lines: LogLine[] = []
  const logger: BgpLogger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) })
  return { logger, lines }
}

const AS = 65171
const RAW_AS = 65172
const attrs = { origin: 0, asPath: [{ type: 2 as const, asns: [RAW_AS] }] }
const v6 = (s: string): Uint8Array => {
  const [head = '', tail] = s.split('::')
  const h = head === '' ? [] : head.split(':')
  const tl = tail === undefined || tail === '' ? [] : tail.split(':')
  const words = [...h, ...new Array<string>(8 - h.length - tl.length).fill('0'), ...tl]
  return Uint8Array.from(words.flatMap((w) => [parseInt(w, 16) >> 8, parseInt(w, 16) & 0xff]))
}
const u32 = (s: string): number => Buffer.from(s.split('.').map(Number)).readUInt32BE(0)

function ipv4Update(prefix: string, nextHop: string): UpdateMessage {
  return { type: 'update', withdrawn: [], attributes: { ...attrs, nextHop: u32(nextHop) }, nlri: [ipv4(prefix)] }
}

t.test('martian next hops are treated as withdrawn in every family, counted, logged once per interval', async (t) => {
  const { logger, lines } = memoryLogger()
  const families = [Family.Ipv4Unicast, Family.Ipv6Unicast, Family.Ipv4Vpn]
  const sp = new BgpSpeaker({ localAs: AS, routerId: '10.9.0.1', listen: { address: '127.0.9.1', port: 0 }, logger })
  const port = await sp.start()
  sp.addPeer({ name: 'raw', address: '127.0.9.2', asn: RAW_AS, passive: true, families, holdTime: 9 })
  const raw = await rawPeer(t, sp, { name: 'raw', localAs: RAW_AS, localId: 0x0a090002, peerAs: AS, peerAddress: '127.0.9.1', peerPort: port, localAddress: '127.0.9.2', holdTime: 9, families, connectRetryTime: 0.5 })
  const ctx = raw.negotiated?.context as CodecContext

  // A good route first, then the same prefix with a martian next hop: treat-as-withdraw removes it.
  raw.sendUpdate(encode(ipv4Update('10.40.0.0/16', '192.0.2.1'), ctx))
  await waitBest(sp, Family.Ipv4Unicast, '10.40.0.0/16')
  raw.sendUpdate(encode(ipv4Update('10.40.0.0/16', '0.0.0.0'), ctx))
  await waitBest(sp, Family.Ipv4Unicast, '10.40.0.0/16', false)

  const martians: [string, string][] = [['10.41.0.0/16', '224.0.0.5'], ['10.42.0.0/16', '240.0.0.1'], ['10.43.0.0/16', '127.0.9.1']]
  for (const [prefix, nh] of martians) raw.sendUpdate(encode(ipv4Update(prefix, nh), ctx))
  const mp = (family: number, nextHop: Uint8Array, nlri: UpdateMessage['nlri']): UpdateMessage => ({ type: 'update', withdrawn: [], attributes: attrs, nlri: [], mpReach: { family, nextHop: [nextHop], nlri } })
  raw.sendUpdate(encode(mp(Family.Ipv6Unicast, v6('ff02::5'), [ipv6('2001:db8:41::/48')]), ctx))
  raw.sendUpdate(encode(mp(Family.Ipv6Unicast, v6('::'), [ipv6('2001:db8:42::/48')]), ctx))
  // VPN-IPv4: the next hop goes out in the RD-prefixed form (the encoder adds the zero RD).
  const rd = { type: 0, admin: 64512, assigned: 7 }
  raw.sendUpdate(encode(mp(Family.Ipv4Vpn, Uint8Array.of(0, 0, 0, 0), [vpnv4(rd, '10.44.0.0/16', 100)]), ctx))
  // The good ones after the martians: once they are in, every earlier UPDATE was processed.
  raw.sendUpdate(encode(mp(Family.Ipv6Unicast, v6('2001:db8::2'), [ipv6('2001:db8:43::/48')]), ctx))
  raw.sendUpdate(encode(mp(Family.Ipv4Vpn, Uint8Array.of(192, 0, 2, 1), [vpnv4(rd, '10.45.0.0/16', 100)]), ctx))
  raw.sendUpdate(encode(ipv4Update('10.46.0.0/16', '192.0.2.1'), ctx))
  await waitBest(sp, Family.Ipv4Unicast, '10.46.0.0/16')
  await waitBest(sp, Family.Ipv6Unicast, '2001:db8:43::/48')
  await waitFor(() => sp.peerStats('raw').families[2]?.received === 1, 5000, 'the good VPN route')

  for (const [prefix] of martians) t.equal(best(sp, Family.Ipv4Unicast, prefix), undefined, `${prefix} not in Loc-RIB`)
  t.equal(best(sp, Family.Ipv6Unicast, '2001:db8:41::/48'), undefined, 'IPv6 multicast next hop: not in Loc-RIB')
  t.equal(best(sp, Family.Ipv6Unicast, '2001:db8:42::/48'), undefined, 'IPv6 unspecified next hop: not in Loc-RIB')
  const st = sp.peerStats('raw')
  t.same(st.families.map((f) => f.received), [1, 1, 1], 'only the good routes were received, one per family')
  t.equal(st.updateIssues['martian-next-hop'], 7, 'seven martians counted')
  t.same(st.recentUpdateIssues.map((r) => r.detail), ['unspecified', 'multicast', 'class-e', 'own-address', 'multicast', 'unspecified', 'unspecified'], 'classes in order')
  t.same(st.recentUpdateIssues.map((r) => r.attributeType), [3, 3, 3, 3, 14, 14, 14], 'NEXT_HOP, then MP_REACH_NLRI')
  t.equal(st.recentUpdateIssues[6]?.data, '0000000000000000' + '00000000', 'the VPN next-hop field as on the wire, RD included')
  t.equal(sp.session('raw').state, 'Established', 'the session stays')
  const logged = lines.filter((l) => l.kind === 'martian-next-hop')
  t.equal(logged.length, 1, 'one log line per kind per interval')
  t.match(logged[0], { level: 40, peer: 'raw', detail: 'unspecified', action: 'treat-as-withdraw' })
})

t.test('allowNextHops: a peer may be allowed a class; the others stay martian', async (t) => {
  const sp = new BgpSpeaker({ localAs: AS, routerId: '10.9.0.1', listen: { address: '127.0.9.3', port: 0 } })
  const port = await sp.start()
  sp.addPeer({ name: 'raw', address: '127.0.9.4', asn: RAW_AS, passive: true, holdTime: 9, allowNextHops: ['multicast'] })
  const raw = await rawPeer(t, sp, { name: 'raw', localAs: RAW_AS, localId: 0x0a090004, peerAs: AS, peerAddress: '127.0.9.3', peerPort: port, localAddress: '127.0.9.4', holdTime: 9, families: [Family.Ipv4Unicast], connectRetryTime: 0.5 })
  const ctx = raw.negotiated?.context as CodecContext
  raw.sendUpdate(encode(ipv4Update('10.50.0.0/16', '0.0.0.0'), ctx))
  raw.sendUpdate(encode(ipv4Update('10.51.0.0/16', '224.0.0.5'), ctx))
  await waitBest(sp, Family.Ipv4Unicast, '10.51.0.0/16')
  t.equal(best(sp, Family.Ipv4Unicast, '10.51.0.0/16')?.nextHop, '224.0.0.5', 'multicast accepted from this peer')
  t.equal(best(sp, Family.Ipv4Unicast, '10.50.0.0/16'), undefined, 'unspecified still treated as withdraw')
  t.same(sp.peerStats('raw').updateIssues, { 'martian-next-hop': 1 })
  t.throws(() => sp.addPeer({ name: 'bad', address: '192.0.2.77', asn: 65001, allowNextHops: ['anything' as never] }), /peer "bad": allowNextHops\[0\]: "anything" is not one of/)
})

/** An UPDATE carrying ATOMIC_AGGREGATE with the Optional bit (RFC 7606 7.6: attribute discard). */
function discardUpdate(i: number): Uint8Array {
  const attrBytes = [
    0x40, 1, 1, 0,
    0x40, 2, 6, 2, 1, ...Buffer.from(Uint32Array.of(RAW_AS).buffer).reverse(),
    0x40, 3, 4, 192, 0, 2, 1,
    0xc0, 6, 0,
  ]
  const nlri = [24, 10, 60, i]
  const b = new Uint8Array(HEADER_LENGTH + 4 + attrBytes.length + nlri.length)
  const p = writeHeader(b, 0, b.length, MessageType.Update)
  b[p + 3] = attrBytes.length
  b.set(attrBytes, p + 4)
  b.set(nlri, p + 4 + attrBytes.length)
  return b
}

/** An UPDATE whose IPv6 MP_REACH_NLRI has a 4-byte next hop (RFC 7606 7.11: AFI/SAFI disable). */
function badIpv6Update(): Uint8Array {
  const attrBytes = [
    0x40, 1, 1, 0,
    0x40, 2, 6, 2, 1, ...Buffer.from(Uint32Array.of(RAW_AS).buffer).reverse(),
    0x80, 14, 14, 0, 2, 1, 4, 192, 0, 2, 1, 0, 32, 0x20, 0x01, 0x0d, 0xb9,
  ]
  const b = new Uint8Array(HEADER_LENGTH + 4 + attrBytes.length)
  const p = writeHeader(b, 0, b.length, MessageType.Update)
  b[p + 3] = attrBytes.length
  b.set(attrBytes, p + 4)
  return b
}

t.test('no error listener: reports bounded, AFI/SAFI disable and socket errors logged and counted', async (t) => {
  const { logger, lines } = memoryLogger()
  const families = [Family.Ipv4Unicast, Family.Ipv6Unicast]
  const sp = new BgpSpeaker({ localAs: AS, routerId: '10.9.0.1', listen: { address: '127.0.9.5', port: 0 }, logger })
  const port = await sp.start()
  t.equal(sp.listenerCount('error'), 0, 'nobody listens to errors')
  sp.addPeer({ name: 'raw', address: '127.0.9.6', asn: RAW_AS, passive: true, families, holdTime: 9 })
  const raw = await rawPeer(t, sp, { name: 'raw', localAs: RAW_AS, localId: 0x0a090006, peerAs: AS, peerAddress: '127.0.9.5', peerPort: port, localAddress: '127.0.9.6', holdTime: 9, families, connectRetryTime: 0.5 })

  // 20 UPDATEs with a discarded attribute: all counted, the 16 most recent kept, one log line.
  for (let i = 0; i < 20; i++) raw.sendUpdate(discardUpdate(i))
  await waitBest(sp, Family.Ipv4Unicast, '10.60.19.0/24')
  let st = sp.peerStats('raw')
  t.equal(st.updateIssues['attribute-flags'], 20, 'every report counted')
  t.equal(st.recentUpdateIssues.length, 16, 'the ring keeps 16')
  t.ok(st.recentUpdateIssues.every((r) => r.kind === 'attribute-flags' && r.action === 'attribute-discard' && r.data === 'c00600'), 'as reported')
  t.ok(st.recentUpdateIssues.every((r, i, all) => i === 0 || r.at >= (all[i - 1] as typeof r).at), 'oldest first')
  t.equal(lines.filter((l) => l.kind === 'attribute-flags').length, 1, 'logged once in the interval')

  // AFI/SAFI disable: counted and logged at error level though nobody listens.
  raw.sendUpdate(badIpv6Update())
  await waitFor(() => sp.peerStats('raw').errors.familyDisabled === 1, 5000, 'family disabled')
  st = sp.peerStats('raw')
  t.equal(st.updateIssues['mp-reach-next-hop'], 1, 'the disable is an RFC 7606 outcome too')
  t.match(lines.find((l) => l.level === 50 && /ipv6-unicast disabled/.test(l.msg)), { peer: 'raw', family: 'ipv6-unicast' }, 'logged at error level')

  // A peer whose connections are refused: socket errors counted and logged.
  sp.addPeer({ name: 'nobody', address: '127.0.9.7', port: 9, asn: 65009, holdTime: 9, connectRetryTime: 0.1, idleHoldTime: 0.05 })
  await waitFor(() => sp.peerStats('nobody').errors.socket >= 1, 5000, 'a socket error')
  t.match(lines.find((l) => l.peer === 'nobody' && l.msg === 'BGP socket error'), { level: 40, err: { code: 'ECONNREFUSED' } }, 'logged with the errno name')
  await sleep(10)
})
