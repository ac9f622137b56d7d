/**
 * Martian next hops (RFC 4271 6.3, RFC 7606 7.3): the session's NextHopGuard classes every form a
 * next hop takes on the wire (NEXT_HOP, MP_REACH_NLRI's IPv4 / IPv6 / global+link-local / VPN forms
 * with their RDs, IPv4-mapped IPv6), honours a peer's allowNextHops, exempts loopback next hops only
 * on a session that itself runs over loopback, and the object path (checkNextHops) turns a martian
 * into treat-as-withdraw of the whole UPDATE. The bulk path is covered end to end in
 * test/speaker/errors.test.ts.
 */
import t from 'tap'
import { Family } from '../../bgp/codec/afi.js'
import { UpdateSubcode } from '../../bgp/codec/errors.js'
import { updateAnnouncements, updateWithdrawals, type UpdateMessage } from '../../bgp/codec/update.js'
import { NextHopGuard } from '../../bgp/session/next-hop.js'
import { checkNextHops } from '../../bgp/session/session.js'

const v4 = (s: string): number[] => s.split('.').map(Number)
const v6 = (s: string): number[] => {
  const [head = '', tail] = s.split('::')
  const h = head === '' ? [] : head.split(':')
  const tl = tail === undefined || tail === '' ? [] : tail.split(':')
  const words = [...h, ...new Array<string>(8 - h.length - tl.length).fill('0'), ...tl]
  return words.flatMap((w) => [parseInt(w, 16) >> 8, parseInt(w, 16) & 0xff])
}
const u32 = (s: string): number => Buffer.from(v4(s)).readUInt32BE(0)

t.test('IPv4 classes on a session between real addresses', async (t) => {
  const g = new NextHopGuard({ localAddresses: ['192.0.2.1'], peerAddress: '192.0.2.2' })
  const cases: [string, string | undefined][] = [
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['224.0.0.5', 'multicast'],
    ['239.255.255.255', 'multicast'],
    ['240.0.0.1', 'class-e'],
    ['255.255.255.255', 'class-e'],
    ['192.0.2.1', 'own-address'],
    ['192.0.2.2', undefined],
    ['10.0.0.1', undefined],
    ['223.255.255.255', undefined],
  ]
  for (const [a, want] of cases) {
    t.equal(g.checkIpv4(u32(a)), want, `${a}: ${want ?? 'accepted'}`)
    t.equal(g.checkField(Uint8Array.from(v4(a)), 0, 4, false), want, `${a} as a 4-byte field`)
    // VPN-IPv4 form: 8-byte RD, then the address (RFC 4364 4.3.2).
    t.equal(g.checkField(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, ...v4(a)]), 0, 12, true), want, `${a} as a 12-byte VPN field`)
    // IPv4-mapped IPv6 is judged by its IPv4 address.
    t.equal(g.checkField(Uint8Array.from(v6(`::ffff:${a.split('.').map((x, i, all) => (i % 2 === 0 ? ((Number(x) << 8) | Number(all[i + 1])).toString(16) : '')).filter(Boolean).join(':')}`)), 0, 16, false), want, `::ffff:${a}`)
  }
})

t.test('IPv6 classes, pairs with link-local, the VPN forms', async (t) => {
  const g = new NextHopGuard({ localAddresses: ['2001:db8::1'], peerAddress: '2001:db8::2' })
  const cases: [string, string | undefined][] = [
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['ff02::5', 'multicast'],
    ['ff0e::1', 'multicast'],
    ['2001:db8::1', 'own-address'],
    ['2001:db8::2', undefined],
    ['fe80::1', undefined],
  ]
  for (const [a, want] of cases) {
    t.equal(g.checkField(Uint8Array.from(v6(a)), 0, 16, false), want, `${a}`)
    t.equal(g.checkField(Uint8Array.from([...v6(a), ...v6('fe80::2')]), 0, 32, false), want, `${a} + link-local: the global decides`)
    t.equal(g.checkField(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, ...v6(a)]), 0, 24, true), want, `${a} in the 24-byte VPN form`)
    t.equal(g.checkField(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, ...v6(a), 0, 0, 0, 0, 0, 0, 0, 0, ...v6('fe80::2')]), 0, 48, true), want, `${a} in the 48-byte VPN form`)
  }
  // A field at an offset inside a larger buffer.
  const buf = Uint8Array.from([9, 9, 9, ...v6('ff02::1'), 9])
  t.equal(g.checkField(buf, 3, 16, false), 'multicast', 'read at its offset')
})

t.test('allowNextHops and the loopback session', async (t) => {
  const allow = new NextHopGuard({ localAddresses: ['192.0.2.1'], peerAddress: '192.0.2.2', allow: ['multicast', 'own-address'] })
  t.equal(allow.checkIpv4(u32('224.0.0.5')), undefined, 'multicast allowed')
  t.equal(allow.checkIpv4(u32('192.0.2.1')), undefined, 'own address allowed')
  t.equal(allow.checkIpv4(u32('0.0.0.0')), 'unspecified', 'the others still martian')
  t.throws(() => new NextHopGuard({ localAddresses: [], peerAddress: '192.0.2.2', allow: ['nonsense' as never] }), /allowNextHops: "nonsense" is not one of/)

  const lo = new NextHopGuard({ localAddresses: ['127.0.0.1'], peerAddress: '127.0.0.2' })
  t.equal(lo.checkIpv4(u32('127.0.0.2')), undefined, 'a loopback peer may give its loopback address')
  t.equal(lo.checkIpv4(u32('127.0.0.1')), 'own-address', 'but not ours')
  t.equal(lo.checkIpv4(u32('0.0.0.0')), 'unspecified')
  const lo6 = new NextHopGuard({ localAddresses: ['::1'], peerAddress: '::1' })
  t.equal(lo6.checkField(Uint8Array.from(v6('::1')), 0, 16, false), 'own-address', 'IPv6 loopback session: our own address is still ours')
})

t.test('issue(): the RFC 7606 report of a martian', async (t) => {
  const g = new NextHopGuard({ localAddresses: ['192.0.2.1'], peerAddress: '192.0.2.2' })
  const nh = Uint8Array.from(v4('224.0.0.5'))
  t.same(g.issue(Family.Ipv4Unicast, nh, 0, 4, true), {
    kind: 'martian-next-hop', detail: 'multicast', code: 3, subcode: UpdateSubcode.InvalidNextHopAttribute, action: 'treat-as-withdraw', attributeType: 3, data: nh,
  }, 'NEXT_HOP: Invalid NEXT_HOP Attribute')
  const vpn = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, ...v4('0.0.0.0')])
  t.match(g.issue(Family.Ipv4Vpn, vpn, 0, 12, false), { detail: 'unspecified', subcode: UpdateSubcode.OptionalAttributeError, attributeType: 14 }, 'MP_REACH (VPN form)')
  t.equal(g.issue(Family.Ipv4Vpn, Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, ...v4('192.0.2.9')]), 0, 12, false), null, 'a good VPN next hop')
})

t.test('object path: a martian makes the whole UPDATE treat-as-withdraw', async (t) => {
  const g = new NextHopGuard({ localAddresses: ['192.0.2.1'], peerAddress: '192.0.2.2' })
  const v4Nlri = { family: Family.Ipv4Unicast, prefix: Uint8Array.of(10, 1, 0, 0), length: 16 }
  const v6Nlri = { family: Family.Ipv6Unicast, prefix: Uint8Array.from(v6('2001:db8:1::')), length: 48 }
  const attrs = { origin: 0, asPath: [] }
  const msg = (nextHop: number, mpNextHop: string): UpdateMessage => ({
    type: 'update', withdrawn: [], attributes: { ...attrs, nextHop }, nlri: [v4Nlri],
    mpReach: { family: Family.Ipv6Unicast, nextHop: [Uint8Array.from(v6(mpNextHop))], nlri: [v6Nlri] },
  })
  const good = msg(u32('192.0.2.2'), '2001:db8::2')
  t.equal(checkNextHops(good, g), good, 'good next hops: the message as it was')
  for (const [m, what] of [[msg(u32('0.0.0.0'), '2001:db8::2'), 'NEXT_HOP'], [msg(u32('192.0.2.2'), 'ff02::1'), 'MP_REACH']] as const) {
    const out = checkNextHops(m, g)
    t.equal(out.treatAsWithdraw, true, `${what}: treat-as-withdraw`)
    t.same(updateAnnouncements(out), [], `${what}: nothing announced`)
    t.equal(updateWithdrawals(out).length, 2, `${what}: both families' routes withdrawn`)
    t.equal(out.report?.[0]?.kind, 'martian-next-hop')
  }
  const noNlri: UpdateMessage = { type: 'update', withdrawn: [], attributes: { ...attrs, nextHop: 0 }, nlri: [], mpReach: good.mpReach! }
  t.equal(checkNextHops(noNlri, g), noNlri, 'NEXT_HOP without NLRI in the field is not used, so not judged (RFC 4760)')
})
