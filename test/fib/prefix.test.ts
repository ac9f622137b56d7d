// Addresses and prefixes: canonical text (RFC 5952), host-bit checks, first hosts of inside CIDRs.
import t from 'tap'
import fc from 'fast-check'
import { formatIPv6, nthAddress, parseAddress, parseIPv4, parseIPv6, parsePrefix, prefixContains } from '../../src/fib/prefix.js'

t.test('IPv4 parsing refuses what is not a dotted quad', async t => {
  t.same(Array.from(parseIPv4('10.0.1.2') ?? []), [10, 0, 1, 2])
  for (const bad of ['10.0.1', '10.0.1.256', '010.0.0.1', '1.2.3.4.5', '', 'a.b.c.d', '1..2.3']) t.equal(parseIPv4(bad), undefined, bad)
})

t.test('IPv6 canonical text follows RFC 5952', async t => {
  const cases: [string, string][] = [
    ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::', '::'],
    ['::ffff:10.1.2.3', '::ffff:a01:203'],
    ['1::', '1::'],
  ]
  for (const [input, want] of cases) t.equal(parseAddress(input, 'x').text, want, input)
  for (const bad of ['1:2:3:4:5:6:7:8:9', '1::2::3', ':::', 'g::1', '1:2:3:4:5:6:7']) t.equal(parseIPv6(bad), undefined, bad)
})

t.test('IPv6 format/parse round trip on random addresses', async t => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), bytes => {
    const text = formatIPv6(bytes)
    const back = parseIPv6(text)
    return back !== undefined && Buffer.from(back).equals(Buffer.from(bytes)) && formatIPv6(back) === text
  }), { numRuns: 2000 })
  t.pass('round trip holds')
})

t.test('prefixes: host bits, lengths, containment', async t => {
  t.equal(parsePrefix('10.1.0.0/16', 'p').text, '10.1.0.0/16')
  t.throws(() => parsePrefix('10.1.0.1/16', 'route.prefix'), /route\.prefix: "10\.1\.0\.1\/16" has host bits set \(network is 10\.1\.0\.0\/16\)/)
  t.equal(parsePrefix('10.1.0.1/16', 'p', false).text, '10.1.0.0/16')
  t.throws(() => parsePrefix('10.0.0.0/33', 'p'), /bad prefix length/)
  t.throws(() => parsePrefix('10.0.0.0', 'p'), /no prefix length/)
  t.equal(parsePrefix('2001:DB8::/32', 'p').text, '2001:db8::/32')
  t.ok(prefixContains(parsePrefix('169.254.0.0/16', 'a'), parsePrefix('169.254.6.0/29', 'b')))
  t.notOk(prefixContains(parsePrefix('169.254.0.0/16', 'a'), parsePrefix('169.253.6.0/29', 'b')))
  t.notOk(prefixContains(parsePrefix('10.0.0.0/24', 'a'), parsePrefix('10.0.0.0/16', 'b')))
  t.equal(nthAddress(parsePrefix('169.254.6.0/29', 'p'), 1), '169.254.6.1')
  t.equal(nthAddress(parsePrefix('169.254.6.248/29', 'p'), 3), '169.254.6.251')
  t.equal(nthAddress(parsePrefix('fd00:0:0:1::/125', 'p'), 2), 'fd00:0:0:1::2')
  t.equal(nthAddress(parsePrefix('10.0.0.0/8', 'p'), 256), '10.0.1.0')
})
