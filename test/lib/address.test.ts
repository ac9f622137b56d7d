// src/lib/address.ts: canonical text (RFC 5952, held to ip-address's own canonical form), strict
// parsing with errors naming the field, host-bit checks, containment, n-th addresses, the family test,
// and the numeric forms the RIB and the netlink encoder use. Also the src/fib/prefix.ts names kept
// for gre/ and mplsoudp/.
import t from 'tap'
import fc from 'fast-check'
import { Address6 } from 'ip-address'
import {
  AddressError, canonicalPrefix, formatAddress, formatIpv4, formatIpv6, formatIpv6Words, ipFamilyOf, ipv4Bytes,
  isIpv4, isIpv6, nthAddress, parseAddress, parseIpv4, parseIpv6, parseIpv6Words, parsePrefix, prefixContains,
  prefixesOverlap, wordMask,
} from '../../src/lib/address.js'
import { parseIPv4, parseIPv4Address, parsePrefix as fibParsePrefix } from '../../src/fib/prefix.js'

t.test('IPv4 parsing refuses what is not a dotted quad', async t => {
  t.equal(parseIpv4('10.0.1.2'), 0x0a000102)
  t.equal(parseIpv4('255.255.255.255'), 0xffffffff)
  for (const bad of ['10.0.1', '10.0.1.256', '010.0.0.1', '1.2.3.4.5', '', 'a.b.c.d', '1..2.3', ' 1.2.3.4', '1.2.3.4/32']) {
    t.throws(() => parseIpv4(bad, 'peers[0].address'), { name: 'AddressError', message: `peers[0].address: ${JSON.stringify(bad)} is not an IPv4 address` }, bad)
    t.notOk(isIpv4(bad), bad)
  }
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), n => parseIpv4(formatIpv4(n)) === n))
  fc.assert(fc.property(fc.ipV4(), a => formatIpv4(parseIpv4(a)) === a && isIpv4(a)))
})

t.test('IPv6 canonical text follows RFC 5952', async t => {
  const cases: [string, string][] = [
    ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // first of two equal runs
    ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group stays
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'], // the longer run wins
    ['::', '::'],
    ['::ffff:10.1.2.3', '::ffff:a01:203'],
    ['1::', '1::'],
  ]
  for (const [input, want] of cases) t.equal(parseAddress(input, 'x').text, want, input)
  for (const bad of ['1:2:3:4:5:6:7:8:9', '1::2::3', ':::', 'g::1', '1:2:3:4:5:6:7', 'fe80::1%eth0', '2001:db8::/32', '1.2.3.4']) {
    t.throws(() => parseIpv6(bad, 'nextHop'), { message: `nextHop: ${JSON.stringify(bad)} is not an IPv6 address` }, bad)
    t.notOk(isIpv6(bad), bad)
  }
})

t.test('IPv6 formatting agrees with ip-address and round-trips, bytes and words', async t => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.boolean(), (bytes, sparse) => {
    // Sparse inputs make the zero runs (the interesting part of RFC 5952) common.
    const b = sparse ? bytes.map((x, i) => ((x >> (i % 8)) & 1) === 1 ? x : 0) : bytes
    const text = formatIpv6(b)
    const words = [0, 4, 8, 12].map(i => ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0) as [number, number, number, number]
    return text === Address6.fromUnsignedByteArray(Array.from(b)).correctForm() &&
      Buffer.from(parseIpv6(text)).equals(Buffer.from(b)) &&
      formatIpv6Words(...words) === text && parseIpv6Words(text).every((w, i) => w === words[i])
  }), { numRuns: 3000 })
  fc.assert(fc.property(fc.ipV6(), a => formatAddress(parseIpv6(a)) === parseAddress(formatAddress(parseIpv6(a))).text))
  t.equal(formatAddress(Uint8Array.of(9, 10, 1, 2, 3, 4), 2, 4), '1.2.3.4', 'offset and length')
  t.throws(() => formatAddress(new Uint8Array(12)), /12 bytes is neither IPv4 nor IPv6/)
})

t.test('family test', async t => {
  t.equal(ipFamilyOf('10.0.0.0/8'), 4)
  t.equal(ipFamilyOf('169.254.6.1'), 4)
  t.equal(ipFamilyOf('fd00::/125'), 6)
  t.equal(ipFamilyOf('::ffff:1.2.3.4'), 6)
  t.equal(ipFamilyOf('10.0.0'), undefined)
  t.equal(ipFamilyOf('vpc-1234'), undefined)
})

t.test('address family restriction and canonical text', async t => {
  t.same(parseAddress('10.0.0.1', 'a', 4), { family: 4, bytes: Uint8Array.of(10, 0, 0, 1), text: '10.0.0.1' })
  t.throws(() => parseAddress('fd00::1', 'tgwAddress', 4), { message: 'tgwAddress: "fd00::1" is not an IPv4 address' })
  t.throws(() => parseAddress('10.0.0.1', 'inside6', 6), { message: 'inside6: "10.0.0.1" is not an IPv6 address' })
  t.throws(() => parseAddress(7 as unknown as string, 'peer'), { message: 'peer: expected an IP address string, got number' })
  t.equal(parseIPv4Address('10.0.0.1', 'x'), '10.0.0.1', 'the fib name keeps working')
  t.same(Array.from(parseIPv4('10.0.1.2') ?? []), [10, 0, 1, 2])
  t.equal(parseIPv4('10.0.1.256'), undefined)
  t.same(Array.from(ipv4Bytes(0xc0000201)), [192, 0, 2, 1])
})

t.test('prefixes: host bits, lengths, containment', async t => {
  t.equal(parsePrefix('10.1.0.0/16', 'p').text, '10.1.0.0/16')
  t.throws(() => parsePrefix('10.1.0.1/16', 'route.prefix'), /route\.prefix: "10\.1\.0\.1\/16" has host bits set \(network is 10\.1\.0\.0\/16\)/)
  t.equal(parsePrefix('10.1.0.1/16', 'p', { clearHostBits: true }).text, '10.1.0.0/16')
  t.equal(fibParsePrefix('10.1.0.1/16', 'p', false).text, '10.1.0.0/16', 'the fib name keeps its strict flag')
  for (const bad of ['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/08', '10.0.0.0/x', '::/129']) t.throws(() => parsePrefix(bad, 'p'), /bad prefix length/, bad)
  t.throws(() => parsePrefix('10.0.0.0', 'p'), /no prefix length/)
  t.equal(parsePrefix('10.0.0.1', 'p', { bareAddress: true }).length, 32)
  t.throws(() => parsePrefix('fd00::/125', 'insideCidr', { family: 4 }), { message: 'insideCidr: "fd00::" is not an IPv4 address' })
  t.equal(canonicalPrefix('2001:DB8::/32'), '2001:db8::/32')
  t.equal(canonicalPrefix('fd00:0::/125'), 'fd00::/125')
  t.ok(prefixContains(parsePrefix('169.254.0.0/16', 'a'), parsePrefix('169.254.6.0/29', 'b')))
  t.ok(prefixContains(parsePrefix('169.254.0.0/16', 'a'), parseAddress('169.254.6.1')), 'an address')
  t.notOk(prefixContains(parsePrefix('169.254.0.0/16', 'a'), parsePrefix('169.253.6.0/29', 'b')))
  t.notOk(prefixContains(parsePrefix('10.0.0.0/24', 'a'), parsePrefix('10.0.0.0/16', 'b')))
  t.notOk(prefixContains(parsePrefix('::/0', 'a'), parsePrefix('10.0.0.0/8', 'b')), 'families differ')
  t.ok(prefixesOverlap(parsePrefix('10.0.0.0/24', 'a'), parsePrefix('10.0.0.0/16', 'b')))
  t.notOk(prefixesOverlap(parsePrefix('10.0.1.0/24', 'a'), parsePrefix('10.0.0.0/24', 'b')))
  t.equal(wordMask(0), 0)
  t.equal(wordMask(24), 0xffffff00)
  t.equal(wordMask(40), 0xffffffff)
})

t.test('n-th address of a prefix', async t => {
  t.equal(nthAddress(parsePrefix('169.254.6.0/29', 'p'), 1), '169.254.6.1')
  t.equal(nthAddress(parsePrefix('169.254.6.248/29', 'p'), 3), '169.254.6.251')
  t.equal(nthAddress(parsePrefix('fd00:0:0:1::/125', 'p'), 2), 'fd00:0:0:1::2')
  t.equal(nthAddress(parsePrefix('10.0.0.0/8', 'p'), 256), '10.0.1.0')
  t.equal(nthAddress(parsePrefix('fd00::/8', 'p'), 8 * 2 ** 20), 'fd00::80:0')
  t.throws(() => nthAddress(parsePrefix('169.254.6.0/29', 'p'), 8, 'insideCidr'), { message: 'insideCidr: address number 8 is outside 169.254.6.0/29' })
  t.throws(() => nthAddress(parsePrefix('169.254.6.0/29', 'p'), -1), AddressError)
})
