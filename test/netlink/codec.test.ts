/**
 * Pure netlink encode/decode (no kernel): addresses and prefixes, RFC 3032 label stacks, route
 * messages (multipath with per-next-hop MPLS encap, metrics, RFC 5549 gateway) and link messages
 * round-tripped through our own decoders, message framing of a batch, and error texts.
 */
import t from 'tap'
import fc from 'fast-check'
import {
  NlWriter, readMessages, encodeLabelStack, decodeLabelStack,
  encodeRoute, decodeRoute, encodeMplsRoute, decodeMplsRoute, encodeCreateLink, decodeLink, NetlinkError,
  RTPROT_GSI, type IfindexResolver,
} from '../../src/netlink/index.js'
import { parseAddress, parsePrefix, formatAddress } from '../../src/lib/address.js'

const names: Record<string, number> = { t1: 7, t2: 8, gre0: 9, vrf1: 10 }
const ifx: IfindexResolver = (dev, field) => {
  if (typeof dev === 'number') return dev
  const i = names[dev]
  if (i === undefined) throw new Error(`${field}: unknown ${dev}`)
  return i
}

t.test('addresses', async t => {
  t.equal(formatAddress(parseAddress('10.1.2.3').bytes), '10.1.2.3')
  t.equal(formatAddress(parseAddress('2001:db8:0:0:1:0:0:1').bytes), '2001:db8::1:0:0:1', 'RFC 5952: first longest zero run')
  t.equal(formatAddress(parseAddress('::ffff:10.0.0.1').bytes), '::ffff:a00:1')
  t.equal(formatAddress(parseAddress('::').bytes), '::')
  for (const bad of ['10.1.2', '10.1.2.256', '01.1.1.1', '1::2::3', 'x', '1.2.3.4.5', '12345::']) {
    t.throws(() => parseAddress(bad, 'gw'), new RegExp(`gw: "${bad.replace(/\./g, '\\.')}" is not`), bad)
  }
  t.throws(() => parsePrefix('10.1.0.1/16'), /host bits/)
  t.throws(() => parsePrefix('10.1.0.0/33'), /prefix length/)
  t.equal(parsePrefix('10.1.2.3', 'dst', { bareAddress: true }).length, 32)
  fc.assert(fc.property(fc.ipV4(), a => formatAddress(parseAddress(a).bytes) === a))
  fc.assert(fc.property(fc.ipV6(), a => {
    const b = parseAddress(a).bytes
    return Buffer.compare(Buffer.from(parseAddress(formatAddress(b)).bytes), Buffer.from(b)) === 0
  }))
})

t.test('label stack (RFC 3032)', async t => {
  const b = encodeLabelStack([16, 1048575])
  t.same([...b], [0x00, 0x01, 0x00, 0x00, 0xff, 0xff, 0xf1, 0x00], 'bottom of stack on the last entry only')
  t.same(decodeLabelStack(b), [16, 1048575])
  t.throws(() => encodeLabelStack([1 << 20]), /not in 0-1048575/)
  t.throws(() => encodeLabelStack([]), /at least one label/)
})

t.test('route round trip', async t => {
  const w = new NlWriter(64) // small on purpose: the writer must grow
  encodeRoute(w, 5, 'replace', {
    dst: '10.244.9.0/24', table: 70000, metric: 20, metrics: { mtu: 1400 },
    nexthops: [{ dev: 't1', labels: [31], weight: 2 }, { dev: 't2', labels: [32, 33] }],
  }, ifx, 1)
  encodeRoute(w, 6, 'add', { dst: '10.60.0.0/16', table: 100, nexthops: [{ dev: 'gre0', gateway: 'fe80::1' }] }, ifx, 1)
  encodeRoute(w, 7, 'delete', { dst: 'fd00::/8', table: 100 }, ifx, 1)
  const msgs = [...readMessages(w.bytes())]
  t.equal(msgs.length, 3, 'three messages back to back in one buffer')
  t.same(msgs.map(m => [m.type, m.seq]), [[24, 5], [24, 6], [25, 7]])
  t.equal(msgs[0]?.flags, 1 | 0x400 | 0x100, 'replace = REQUEST|CREATE|REPLACE')
  t.equal(msgs[1]?.flags, 1 | 0x400 | 0x200, 'add = REQUEST|CREATE|EXCL')
  const r0 = decodeRoute(msgs[0]!.payload)
  t.same(r0 && { ...r0 }, {
    family: 4, table: 70000, dst: '10.244.9.0/24', protocol: RTPROT_GSI, metric: 20, type: 'unicast', scope: 0,
    metrics: { mtu: 1400 },
    nexthops: [{ weight: 2, flags: 0, oif: 7, labels: [31] }, { weight: 1, flags: 0, oif: 8, labels: [32, 33] }],
  })
  const r1 = decodeRoute(msgs[1]!.payload)
  t.same(r1?.nexthops, [{ weight: 1, flags: 0, oif: 9, gateway: 'fe80::1' }], 'IPv6 gateway of an IPv4 route as RTA_VIA')
  const r2 = decodeRoute(msgs[2]!.payload)
  t.equal(r2?.dst, 'fd00::/8')
  t.equal(r2?.protocol, RTPROT_GSI, 'delete carries our protocol so only our routes match')
  t.equal(r2?.scope, 255, 'delete uses scope nowhere')
})

t.test('bad input names the field and leaves the writer clean', async t => {
  const w = new NlWriter()
  encodeRoute(w, 1, 'add', { dst: '10.0.0.0/8', nexthops: [{ dev: 't1' }] }, ifx, 1)
  const before = w.off
  t.throws(() => encodeRoute(w, 2, 'add', { dst: '10.0.0.0/8', nexthops: [{ dev: 't1', weight: 0 }, { dev: 't2' }] }, ifx, 1), /route\.nexthops\[0\]\.weight: 0 is not in 1-256/)
  t.equal(w.off, before, 'the half-written message was discarded')
  t.throws(() => encodeRoute(w, 2, 'add', { dst: '10.0.0.0/8' }, ifx, 1), /needs at least one next hop/)
  t.throws(() => encodeRoute(w, 2, 'add', { dst: '10.0.0.0/8', table: 0, nexthops: [{ dev: 't1' }] }, ifx, 1), /route\.table/)
  t.throws(() => encodeMplsRoute(w, 2, 'add', { label: 15, nexthops: [{ dev: 'vrf1' }] }, ifx, 1), /label: 15 is not in 16-1048575/)
  t.equal([...readMessages(w.bytes())].length, 1)
})

t.test('mpls route round trip', async t => {
  const w = new NlWriter()
  encodeMplsRoute(w, 1, 'add', { label: 100, nexthops: [{ dev: 'vrf1' }] }, ifx, 1)
  encodeMplsRoute(w, 2, 'add', { label: 201, nexthops: [{ dev: 't1', via: '192.0.2.50', newLabels: [301] }, { dev: 't2', via: '192.0.2.51', newLabels: [302, 303] }] }, ifx, 1)
  const [a, b] = [...readMessages(w.bytes())].map(m => decodeMplsRoute(m.payload))
  t.same(a, { label: 100, protocol: RTPROT_GSI, nexthops: [{ weight: 1, flags: 0, oif: 10 }] })
  t.same(b, {
    label: 201, protocol: RTPROT_GSI, nexthops: [
      { weight: 1, flags: 0, oif: 7, via: '192.0.2.50', newLabels: [301] },
      { weight: 1, flags: 0, oif: 8, via: '192.0.2.51', newLabels: [302, 303] },
    ],
  })
})

t.test('link round trip', async t => {
  const w = new NlWriter()
  encodeCreateLink(w, 1, { name: 'gsi-t1', kind: 'ipip', mtu: 1480, ipip: { mode: 'mplsip', local: '192.0.2.1', remote: '192.0.2.11', ttl: 64, encap: { type: 'fou', dport: 6635 } } }, ifx, 1)
  encodeCreateLink(w, 2, { name: 'gsi-gre', kind: 'gre', gre: { local: '192.0.2.1', remote: '198.51.100.7', ttl: 255, okey: 42 } }, ifx, 1)
  encodeCreateLink(w, 3, { name: 'gsi-vrf', kind: 'vrf', vrf: { table: 1000 }, up: true }, ifx, 1)
  const [a, b, c] = [...readMessages(w.bytes())].map(m => decodeLink(m.payload))
  t.same(a?.ipip, { ttl: 64, proto: 137, mode: 'mplsip', local: '192.0.2.1', remote: '192.0.2.11', encap: { type: 'fou', sport: 0, dport: 6635 } })
  t.equal(a?.mtu, 1480)
  t.same(b?.gre, { ttl: 255, local: '192.0.2.1', remote: '198.51.100.7', okey: 42 })
  t.same(c?.vrf, { table: 1000 })
  t.equal(c?.up, true)
  t.throws(() => encodeCreateLink(w, 4, { name: 'x'.repeat(16), kind: 'dummy' }, ifx, 1), /not a valid interface name/)
  t.throws(() => encodeCreateLink(w, 4, { name: 'v', kind: 'vrf', vrf: { table: 254 } }, ifx, 1), /vrf\.table: 254/)
})

t.test('error messages', async t => {
  t.match(new NetlinkError(17, { op: 'add', object: 'route 10.0.0.0/8 table 5' }).message, /^cannot add route 10\.0\.0\.0\/8 table 5: it already exists \(EEXIST\)/)
  t.match(new NetlinkError(95, { op: 'create', object: 'gre link g', module: 'ip_gre' }).message, /modprobe ip_gre/)
  t.match(new NetlinkError(97, { op: 'add', object: 'MPLS route', module: 'mpls_router' }).message, /EAFNOSUPPORT.*modprobe mpls_router/)
  t.match(new NetlinkError(1, { op: 'add', object: 'x' }).message, /CAP_NET_ADMIN/)
  t.equal(new NetlinkError(19, { op: 'add', object: 'x' }).code, 'ENODEV')
})
