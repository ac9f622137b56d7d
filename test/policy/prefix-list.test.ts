/**
 * Prefix lists (bgp/policy/prefix-list.ts): entry parsing with ge/le and its edge cases (/0, /32,
 * /128, ge > le rejected, host bits), trie matching for IPv4 and IPv6, and a property test against a
 * naive matcher (compare the first `len` bits, check ge <= n <= le) over random lists and routes.
 */
import t from 'tap'
import fc from 'fast-check'
import { ra, route } from './helpers.js'
import { compilePolicy } from '../../bgp/policy/compile.js'
import { PrefixMatcher, parsePrefixEntry, type PrefixEntry } from '../../bgp/policy/prefix-list.js'
import { tryParseAddress } from '../../src/lib/address.js'

const bytes = (s: string): Uint8Array => {
  const b = tryParseAddress(s)?.bytes
  if (b === undefined) throw new Error(s)
  return b
}
const matcher = (...entries: string[]): PrefixMatcher => new PrefixMatcher(entries.map((e) => parsePrefixEntry(e)))
const m = (pm: PrefixMatcher, p: string): boolean => {
  const [a = '', l = ''] = p.split('/')
  return pm.matches(bytes(a), Number(l))
}

t.test('entry parsing: ge/le defaults and ranges', async (t) => {
  t.match(parsePrefixEntry('10.0.0.0/8'), { length: 8, ge: 8, le: 8 })
  t.match(parsePrefixEntry('10.0.0.0/8 le 24'), { length: 8, ge: 8, le: 24 })
  t.match(parsePrefixEntry('10.0.0.0/8 ge 16'), { length: 8, ge: 16, le: 32 })
  t.match(parsePrefixEntry('10.0.0.0/8 ge 16 le 24'), { length: 8, ge: 16, le: 24 })
  t.match(parsePrefixEntry('0.0.0.0/0 le 32'), { length: 0, ge: 0, le: 32 })
  t.match(parsePrefixEntry('2001:db8::/32 ge 48'), { length: 32, ge: 48, le: 128 })
  t.match(parsePrefixEntry('::/0 ge 128'), { length: 0, ge: 128, le: 128 })
  t.match(parsePrefixEntry('192.0.2.1/32'), { length: 32, ge: 32, le: 32 })
  t.match(parsePrefixEntry('10.0.0.0/8', 12, 20), { ge: 12, le: 20 })
})

t.test('entry parsing: what is rejected and why', async (t) => {
  t.throws(() => parsePrefixEntry('10.0.0.0/33'), /prefix length 33 exceeds 32/)
  t.throws(() => parsePrefixEntry('2001:db8::/129'), /prefix length 129 exceeds 128/)
  t.throws(() => parsePrefixEntry('10.0.0.0/8 ge 24 le 16'), /ge 24 is greater than le 16/)
  t.throws(() => parsePrefixEntry('10.0.0.0/16 ge 8'), /ge 8 is shorter than the prefix length 16/)
  t.throws(() => parsePrefixEntry('10.0.0.0/16 le 8'), /le 8 is shorter than the prefix length 16/)
  t.throws(() => parsePrefixEntry('10.0.0.0/8 le 33'), /le 33 is outside 0..32/)
  t.throws(() => parsePrefixEntry('10.1.0.0/8'), /host bits set past \/8/)
  t.throws(() => parsePrefixEntry('10.0.0.0'), /expected ADDRESS\/LENGTH/)
  t.throws(() => parsePrefixEntry('10.0.0.256/32'), /not an IPv4 or IPv6 address/)
  t.throws(() => parsePrefixEntry('10.0.0.0/8 lt 9'), /expected "ge N" and\/or "le N"/)
  t.throws(() => parsePrefixEntry('10.0.0.0/8 le 9 le 10'), /le given twice/)
  t.throws(() => parsePrefixEntry('10.0.0.0/8 le 9', undefined, 10), /le given twice/)
})

t.test('IPv4 matching: exact, le, ge, /0 and /32', async (t) => {
  const exact = matcher('10.0.0.0/8')
  t.ok(m(exact, '10.0.0.0/8'))
  t.notOk(m(exact, '10.0.0.0/9'), 'longer prefix not matched without le')
  t.notOk(m(exact, '11.0.0.0/8'))
  const le = matcher('10.0.0.0/8 le 24')
  t.ok(m(le, '10.1.2.0/24'))
  t.ok(m(le, '10.0.0.0/8'))
  t.notOk(m(le, '10.1.2.0/25'))
  t.notOk(m(le, '10.0.0.0/7'))
  const ge = matcher('10.0.0.0/8 ge 30')
  t.ok(m(ge, '10.9.9.9/32'))
  t.ok(m(ge, '10.9.9.8/30'))
  t.notOk(m(ge, '10.9.9.0/29'))
  const dflt = matcher('0.0.0.0/0')
  t.ok(m(dflt, '0.0.0.0/0'), '/0 exact matches only the default route')
  t.notOk(m(dflt, '10.0.0.0/8'))
  const any = matcher('0.0.0.0/0 le 32')
  t.ok(m(any, '0.0.0.0/0'))
  t.ok(m(any, '255.255.255.255/32'))
  t.ok(m(any, '128.0.0.0/1'))
  const host = matcher('255.255.255.255/32')
  t.ok(m(host, '255.255.255.255/32'))
  t.notOk(m(host, '255.255.255.254/32'))
  t.notOk(m(host, '2001:db8::/32'), 'IPv4 list does not match IPv6 routes')
  const several = matcher('10.0.0.0/8', '10.0.0.0/8 ge 16 le 16', '192.168.0.0/16 le 24')
  t.ok(m(several, '10.0.0.0/8'))
  t.ok(m(several, '10.5.0.0/16'))
  t.notOk(m(several, '10.5.0.0/17'))
  t.ok(m(several, '192.168.1.0/24'))
})

t.test('IPv6 matching: /0, /128, ge/le', async (t) => {
  const pm = matcher('2001:db8::/32 le 64', '::/0', 'fd00::1/128')
  t.ok(m(pm, '2001:db8:1::/48'))
  t.ok(m(pm, '2001:db8::/32'))
  t.notOk(m(pm, '2001:db8::/65'))
  t.notOk(m(pm, '2001:db9::/48'))
  t.ok(m(pm, '::/0'))
  t.notOk(m(pm, '::/1'))
  t.ok(m(pm, 'fd00::1/128'))
  t.notOk(m(pm, 'fd00::2/128'))
  t.notOk(m(pm, '10.0.0.0/8'), 'IPv6 list does not match IPv4 routes')
  const all = matcher('::/0 le 128')
  t.ok(m(all, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128'))
  t.notOk(new PrefixMatcher([]).matches(new Uint8Array(12), 96), 'RTC-width addresses never match')
})

/** The obvious matcher the trie must agree with. */
function naive(entries: readonly PrefixEntry[], addr: Uint8Array, len: number): boolean {
  return entries.some((e) => {
    if (e.bytes.length !== addr.length || len < e.ge || len > e.le || len < e.length) return false
    for (let i = 0; i < e.length; i++) {
      const bit = (b: Uint8Array): number => ((b[i >> 3] as number) >> (7 - (i & 7))) & 1
      if (bit(e.bytes) !== bit(addr)) return false
    }
    return true
  })
}

function masked(b: Uint8Array, len: number): Uint8Array {
  const out = Uint8Array.from(b)
  for (let i = len; i < b.length * 8; i++) out[i >> 3] = (out[i >> 3] as number) & ~(0x80 >> (i & 7))
  return out
}

for (const width of [4, 16] as const) {
  const max = width * 8
  // Few distinct address bits so that random routes often fall under random entries.
  const addrArb = fc.uint8Array({ minLength: width, maxLength: width }).map((b) => {
    const out = new Uint8Array(width)
    out[0] = (b[0] as number) & 0xc3
    out[1] = (b[1] as number) & 0x81
    if (width === 16) out[15] = (b[15] as number) & 0x01
    if (width === 4) out[3] = (b[3] as number) & 0x01
    return out
  })
  const entryArb = fc
    .tuple(addrArb, fc.integer({ min: 0, max }), fc.integer({ min: 0, max }), fc.integer({ min: 0, max }))
    .map(([a, len, x, y]): PrefixEntry => {
      const ge = Math.max(len, Math.min(x, y))
      const le = Math.max(len, Math.max(x, y))
      return { bytes: masked(a, len), length: len, ge, le }
    })
  t.test(`property: trie agrees with the naive matcher (${max}-bit)`, async (t) => {
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 12 }), fc.array(fc.tuple(addrArb, fc.integer({ min: 0, max })), { minLength: 1, maxLength: 20 }), (entries, routes) => {
        const pm = new PrefixMatcher(entries)
        for (const [a, len] of routes) {
          const addr = masked(a, len)
          if (pm.matches(addr, len) !== naive(entries, addr, len)) return false
        }
        return true
      }),
      { numRuns: 400 },
    )
    t.pass('400 random lists agree')
  })
}

t.test('property: prefix lists in configuration text, through compilePolicy, agree with the naive matcher', async (t) => {
  const octet = fc.constantFrom(0, 10, 128, 192, 255)
  const v4 = fc.tuple(octet, octet, fc.constantFrom(0, 1), fc.constantFrom(0, 1)).map((o) => Uint8Array.from(o))
  const entry = fc.tuple(v4, fc.integer({ min: 0, max: 32 }), fc.option(fc.integer({ min: 0, max: 32 })), fc.option(fc.integer({ min: 0, max: 32 }))).map(([a, len, x, y]) => {
    let ge = x ?? undefined
    let le = y ?? undefined
    if (ge !== undefined && ge < len) ge = len
    if (le !== undefined && le < (ge ?? len)) le = ge ?? len
    const b = masked(a, len)
    const text = `${b.join('.')}/${len}${ge !== undefined ? ` ge ${ge}` : ''}${le !== undefined ? ` le ${le}` : ''}`
    const e: PrefixEntry = { bytes: b, length: len, ge: ge ?? len, le: le ?? (ge !== undefined ? 32 : len) }
    return { text, e }
  })
  fc.assert(
    fc.property(fc.array(entry, { minLength: 1, maxLength: 8 }), fc.array(fc.tuple(v4, fc.integer({ min: 0, max: 32 })), { minLength: 1, maxLength: 20 }), (entries, routes) => {
      const p = compilePolicy({ terms: [{ match: { prefixList: entries.map((x) => x.text) }, action: 'accept' }], default: 'reject' }, 'p')
      for (const [a, len] of routes) {
        const addr = masked(a, len)
        const r = route(`${addr.join('.')}/${len}`)
        const got = p.apply(r, ra({})) !== null
        if (got !== naive(entries.map((x) => x.e), addr, len)) return false
      }
      return true
    }),
    { numRuns: 300 },
  )
  t.pass('300 random configurations agree')
})
