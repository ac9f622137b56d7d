/**
 * The policy compiler (bgp/policy/compile.ts) against the RoutePolicy contract: every match
 * (family, prefix list incl. VPN with and without RD, route targets, communities, large and extended
 * communities with anyOf/allOf/noneOf/regex, AS_PATH regex anchors and length, next hop, MED,
 * local preference, origin), every action (local preference, MED value/add/subtract, next hop self
 * and address, AS_PATH prepend, community/large/extended/route-target add/remove/set), term flow
 * (accept, reject, fall-through, default), perAttributeSet, frozen results, and the same object back
 * when nothing changed.
 */
import t from 'tap'
import { Family } from '../../bgp/codec/afi.js'
import type { PathAttributes } from '../../bgp/codec/attributes.js'
import { WellKnownCommunity, parseCommunity } from '../../bgp/codec/communities.js'
import { encapsulation, parseExtCommunity, routeTarget } from '../../bgp/codec/ext-communities.js'
import { compilePolicy, type PolicyDef } from '../../bgp/policy/index.js'
import type { RouteAttributes, RouteInfo } from '../../bgp/rib/api.js'
import { basic, ra, route } from './helpers.js'

const r4 = route('10.1.2.0/24')
const accepts = (def: PolicyDef, r: RouteInfo, a: RouteAttributes): boolean => compilePolicy(def, 'p').apply(r, a) !== null
/** A policy that accepts only what `match` matches. */
const only = (match: object): PolicyDef => ({ terms: [{ match, action: 'accept' }], default: 'reject' })
const withAttrs = (extra: PathAttributes): RouteAttributes => ra({ ...basic, ...extra })

t.test('term flow: accept, reject, fall-through with changes, default', async (t) => {
  const a = ra(basic)
  t.equal(compilePolicy({}, 'p').apply(r4, a), a, 'empty policy accepts unchanged (import default accept)')
  t.equal(compilePolicy({ default: 'reject' }, 'p').apply(r4, a), null)
  const p = compilePolicy(
    {
      terms: [
        { match: { med: 10 }, set: { localPref: 200 } }, // falls through (action next) keeping the change
        { match: { localPref: 200 }, action: 'reject' }, // sees the change
        { action: 'accept' },
      ],
    },
    'p',
  )
  t.equal(p.apply(r4, a), null, 'second term sees the first term\'s change')
  const other = withAttrs({ med: 11 })
  t.equal(p.apply(r4, other), other, 'first term did not match: unchanged, accepted by the last term')
  const q = compilePolicy({ terms: [{ match: { med: 10 }, set: { localPref: 300 } }], default: 'accept' }, 'p')
  t.equal(q.apply(r4, a)?.attrs.localPref, 300, 'changes of a fall-through term survive to the default accept')
  const r = compilePolicy({ terms: [{ match: { med: 10 }, set: { localPref: 300 } }], default: 'reject' }, 'p')
  t.equal(r.apply(r4, a), null, 'default reject after a fall-through term')
  t.equal(q.defaultVerdict, 'accept')
  t.equal(q.terms, 1)
  t.equal(q.where, 'p')
})

t.test('match family (names and CN2 aliases)', async (t) => {
  const a = ra(basic)
  t.ok(accepts(only({ family: 'ipv4-unicast' }), r4, a))
  t.notOk(accepts(only({ family: 'ipv6-unicast' }), r4, a))
  t.ok(accepts(only({ family: ['inet6', 'inet'] }), r4, a))
  const vpn = route('64512:7:10.0.0.0/24', Family.Ipv4Vpn)
  t.ok(accepts(only({ family: 'inet-vpn' }), vpn, a))
  t.ok(accepts(only({ family: 'l3vpn-ipv4-unicast' }), vpn, a))
  t.notOk(accepts(only({ family: 'inet' }), vpn, a))
})

t.test('match prefix list: IPv4, IPv6, VPN address part, RD', async (t) => {
  const a = ra(basic)
  const def = only({ prefixList: ['10.0.0.0/8 le 24', '2001:db8::/32 ge 48 le 64'] })
  t.ok(accepts(def, r4, a))
  t.notOk(accepts(def, route('10.1.2.128/25'), a))
  t.ok(accepts(def, route('2001:db8:1::/48'), a))
  t.notOk(accepts(def, route('2001:db8::/32'), a))
  t.ok(accepts(def, route('64512:7:10.9.0.0/16', Family.Ipv4Vpn), a), 'VPN route matched by its address part')
  t.ok(accepts(def, route('64512:7:2001:db8:5::/56', Family.Ipv6Vpn), a))
  const rd = only({ prefixList: [{ prefix: '10.0.0.0/8', le: 24, rd: '64512:7' }, { prefix: '2001:db8::/32', le: 64, rd: '10.0.0.1:5' }] })
  t.ok(accepts(rd, route('64512:7:10.9.0.0/16', Family.Ipv4Vpn), a))
  t.notOk(accepts(rd, route('64512:8:10.9.0.0/16', Family.Ipv4Vpn), a), 'other RD')
  t.notOk(accepts(rd, r4, a), 'RD entries never match non-VPN routes')
  t.ok(accepts(rd, route('10.0.0.1:5:2001:db8:1::/48', Family.Ipv6Vpn), a))
  t.notOk(accepts(rd, route('10.0.0.2:5:2001:db8:1::/48', Family.Ipv6Vpn), a))
  const rd4 = only({ prefixList: [{ prefix: '10.0.0.0/8', ge: 8, le: 32, rd: '4200000000:9' }] })
  t.ok(accepts(rd4, route('4200000000:9:10.0.0.0/8', Family.Ipv4Vpn), a))
  t.ok(accepts(only({ prefixList: [{ prefix: '10.0.0.0/8', le: 24, rd: '100L:9' }] }), route('100L:9:10.1.0.0/16', Family.Ipv4Vpn), a))
})

t.test('match route targets: 2-octet AS, IPv4 and 4-octet AS forms; anyOf/allOf/noneOf/regex', async (t) => {
  const rts = withAttrs({ extCommunities: [routeTarget(64512, 100), routeTarget('10.0.0.1', 5), routeTarget(4200000000, 7), encapsulation(13)] })
  const none = ra(basic)
  const vpn = route('64512:1:10.0.0.0/24', Family.Ipv4Vpn)
  t.ok(accepts(only({ routeTarget: ['64512:100'] }), vpn, rts), 'bare AS:N is a route target')
  t.ok(accepts(only({ routeTarget: ['target:10.0.0.1:5'] }), vpn, rts))
  t.ok(accepts(only({ routeTarget: ['rt:4200000000:7'] }), vpn, rts))
  t.notOk(accepts(only({ routeTarget: ['rt:64512:101'] }), vpn, rts))
  t.notOk(accepts(only({ routeTarget: ['rt:64512L:100'] }), vpn, rts), 'the 4-octet form of 64512:100 is another route target')
  t.notOk(accepts(only({ routeTarget: ['rt:64512:100'] }), vpn, none))
  t.ok(accepts(only({ routeTarget: { allOf: ['rt:64512:100', 'rt:10.0.0.1:5'] } }), vpn, rts))
  t.notOk(accepts(only({ routeTarget: { allOf: ['rt:64512:100', 'rt:10.0.0.1:6'] } }), vpn, rts))
  t.ok(accepts(only({ routeTarget: { noneOf: ['rt:1:1'] } }), vpn, rts))
  t.notOk(accepts(only({ routeTarget: { noneOf: ['rt:1:1', 'rt:64512:100'] } }), vpn, rts))
  t.ok(accepts(only({ routeTarget: { regex: '^rt:10\\.0\\.0\\.1:' } }), vpn, rts))
  t.notOk(accepts(only({ routeTarget: { regex: '^encap' } }), vpn, rts), 'regex sees route targets only')
})

t.test('match communities: standard, well-known names, large, extended', async (t) => {
  const a = withAttrs({
    communities: [parseCommunity('65000:100'), WellKnownCommunity.NO_EXPORT],
    largeCommunities: [{ global: 65000, local1: 1, local2: 2 }],
    extCommunities: [encapsulation(13), routeTarget(64512, 1)],
  })
  t.ok(accepts(only({ community: ['no-export'] }), r4, a))
  t.ok(accepts(only({ community: ['NO_EXPORT', '1:1'] }), r4, a))
  t.notOk(accepts(only({ community: ['no-advertise'] }), r4, a))
  t.ok(accepts(only({ community: { allOf: ['65000:100', 'no-export'] } }), r4, a))
  t.notOk(accepts(only({ community: { allOf: ['65000:100', 'no-peer'] } }), r4, a))
  t.ok(accepts(only({ community: { regex: '^65000:1\\d\\d$' } }), r4, a))
  t.notOk(accepts(only({ community: { regex: '^65001:' } }), r4, a))
  t.ok(accepts(only({ community: { regex: '^no-export$' } }), r4, a), 'regex sees well-known names')
  t.notOk(accepts(only({ community: { anyOf: ['65000:100'], noneOf: ['no-export'] } }), r4, a), 'every key must hold')
  t.ok(accepts(only({ community: { noneOf: ['1:1'] } }), r4, ra(basic)), 'noneOf holds on a route without communities')
  t.ok(accepts(only({ largeCommunity: ['65000:1:2'] }), r4, a))
  t.notOk(accepts(only({ largeCommunity: ['65000:1:3'] }), r4, a))
  t.ok(accepts(only({ largeCommunity: { regex: '^65000:1:' } }), r4, a))
  t.ok(accepts(only({ extCommunity: ['encap:udp'] }), r4, a))
  t.ok(accepts(only({ extCommunity: ['rt:64512:1'] }), r4, a), 'route targets are extended communities too')
  t.notOk(accepts(only({ extCommunity: ['encap:gre'] }), r4, a))
  t.ok(accepts(only({ extCommunity: { allOf: ['encap:13', 'target:64512:1'] } }), r4, a), 'numeric and alias spellings canonicalised')
  t.ok(accepts(only({ extCommunity: { regex: '^encap:' } }), r4, a))
})

t.test('match AS_PATH regex (anchors, _ separators, sets) and length', async (t) => {
  const p = (asns: number[], set?: number[]): RouteAttributes =>
    withAttrs({ asPath: set === undefined ? [{ type: 2, asns }] : [{ type: 2, asns }, { type: 1, asns: set }] })
  const path = p([65001, 65002, 65003])
  t.ok(accepts(only({ asPath: '^65001_' }), r4, path), 'first AS')
  t.notOk(accepts(only({ asPath: '^65002_' }), r4, path))
  t.ok(accepts(only({ asPath: '_65003$' }), r4, path), 'origin AS')
  t.notOk(accepts(only({ asPath: '_65002$' }), r4, path))
  t.ok(accepts(only({ asPath: '_65002_' }), r4, path), 'anywhere, whole ASN')
  t.notOk(accepts(only({ asPath: '_5002_' }), r4, p([65002])), '_ does not match inside an ASN')
  t.notOk(accepts(only({ asPath: '_6500_' }), r4, path))
  t.ok(accepts(only({ asPath: '^65001_65002_65003$' }), r4, path), 'exact path with consuming separators')
  t.ok(accepts(only({ asPath: '^65001 65002 65003$' }), r4, path))
  t.ok(accepts(only({ asPath: '^$' }), r4, ra({ origin: 0 })), 'empty path: no AS_PATH attribute')
  t.ok(accepts(only({ asPath: '^$' }), r4, withAttrs({ asPath: [] })))
  t.notOk(accepts(only({ asPath: '^$' }), r4, path))
  t.ok(accepts(only({ asPath: '^(65001_)+65003$' }), r4, p([65001, 65001, 65003])), 'prepended path')
  t.ok(accepts(only({ asPath: '_64999_' }), r4, p([65001], [64998, 64999])), 'ASN inside an AS_SET {..}')
  t.ok(accepts(only({ asPath: '[_]' }), r4, withAttrs({ asPath: [{ type: 2, asns: [1] }] })) === false, '_ in a class is literal')
  t.ok(accepts(only({ asPathLength: { min: 3 } }), r4, path))
  t.notOk(accepts(only({ asPathLength: { min: 4 } }), r4, path))
  t.ok(accepts(only({ asPathLength: { max: 3 } }), r4, path))
  t.notOk(accepts(only({ asPathLength: { max: 2 } }), r4, path))
  t.ok(accepts(only({ asPathLength: { min: 2, max: 2 } }), r4, p([65001], [1, 2, 3])), 'a set counts 1')
  t.ok(accepts(only({ asPathLength: { max: 0 } }), r4, ra({})), 'no AS_PATH: length 0')
})

t.test('match next hop, MED, local preference, origin', async (t) => {
  const a = ra(basic, '192.0.2.1')
  t.ok(accepts(only({ nextHop: '192.0.2.0/24' }), r4, a))
  t.ok(accepts(only({ nextHop: ['198.51.100.0/24', '192.0.2.1'] }), r4, a))
  t.notOk(accepts(only({ nextHop: '192.0.3.0/24' }), r4, a))
  const v6 = ra(basic, '2001:db8::1,fe80::1')
  t.ok(accepts(only({ nextHop: '2001:db8::/32' }), r4, v6), 'global address of global,link-local')
  t.notOk(accepts(only({ nextHop: 'fe80::/10' }), r4, v6))
  t.notOk(accepts(only({ nextHop: '0.0.0.0/0' }), r4, ra(basic, '')), 'no next hop never matches')
  t.ok(accepts(only({ med: 10 }), r4, a))
  t.notOk(accepts(only({ med: 11 }), r4, a))
  t.notOk(accepts(only({ med: 0 }), r4, ra({})), 'missing MED is not 0')
  t.ok(accepts(only({ localPref: 100 }), r4, a))
  t.notOk(accepts(only({ localPref: 101 }), r4, a))
  t.ok(accepts(only({ origin: 'igp' }), r4, a))
  t.notOk(accepts(only({ origin: 'incomplete' }), r4, a))
  t.ok(accepts(only({ origin: 'egp' }), r4, withAttrs({ origin: 1 })))
  t.ok(accepts(only({ med: 10, localPref: 100, origin: 'igp', asPath: '_65002$' }), r4, a), 'all conditions hold')
  t.notOk(accepts(only({ med: 10, localPref: 101 }), r4, a), 'one condition fails')
})

const change = (set: object, a: RouteAttributes = ra(basic), r: RouteInfo = r4, options = {}): RouteAttributes => {
  const out = compilePolicy({ terms: [{ set, action: 'accept' }] }, 'p', options).apply(r, a)
  if (out === null) throw new Error('rejected')
  return out
}

t.test('set local preference and MED (value, add, subtract, clamped)', async (t) => {
  t.equal(change({ localPref: 250 }).attrs.localPref, 250)
  t.equal(change({ med: 77 }).attrs.med, 77)
  t.equal(change({ med: { add: 5 } }).attrs.med, 15)
  t.equal(change({ med: { subtract: 4 } }).attrs.med, 6)
  t.equal(change({ med: { subtract: 40 } }).attrs.med, 0, 'clamped at 0')
  t.equal(change({ med: { add: 10 } }, withAttrs({ med: 0xfffffffa })).attrs.med, 0xffffffff, 'clamped at 2^32-1')
  t.equal(change({ med: { add: 3 } }, ra({ origin: 0 })).attrs.med, 3, 'missing MED counts 0')
  const out = change({ localPref: 250, med: 1 })
  t.equal(out.attrs.origin, 0, 'other attributes kept')
  t.same(out.attrs.asPath, basic.asPath)
})

t.test('set next hop: address, self (one or per family), NEXT_HOP attribute follows', async (t) => {
  const a = ra(basic, '192.0.2.1')
  const out = change({ nextHop: '198.51.100.7' }, a)
  t.equal(out.nextHop, '198.51.100.7')
  t.equal(out.attrs.nextHop, 0xc6336407, 'IPv4 NEXT_HOP attribute updated too')
  t.equal(change({ nextHop: '2001:0db8::0001' }, a).nextHop, '2001:db8::1', 'canonical text')
  t.equal(change({ nextHop: '2001:db8::1' }, a).attrs.nextHop, basic.nextHop, 'an IPv6 hop leaves the IPv4 attribute alone')
  t.equal(change({ nextHop: 'self' }, a, r4, { selfNextHop: '169.254.6.1' }).nextHop, '169.254.6.1')
  const per = { selfNextHop: { ipv4: '169.254.6.1', ipv6: 'fd00::1' } }
  t.equal(change({ nextHop: 'self' }, a, r4, per).nextHop, '169.254.6.1')
  t.equal(change({ nextHop: 'self' }, ra({}, '2001:db8::9'), route('2001:db8::/32'), per).nextHop, 'fd00::1')
  t.equal(change({ nextHop: 'self' }, ra({}, '10.0.0.9'), route('64512:1:2001:db8::/32', Family.Ipv6Vpn), per).nextHop, 'fd00::1')
  t.equal(change({ nextHop: 'self' }, ra({}, '10.0.0.9'), route('64512:1:10.0.0.0/8', Family.Ipv4Vpn), per).nextHop, '169.254.6.1')
  t.equal(change({ nextHop: 'SELF' }, a, r4, { selfNextHop: { ipv6: 'fd00::1' } }).nextHop, 'fd00::1', 'one family given serves both')
  t.equal(change({ nextHop: '192.0.2.1' }, a), a, 'same next hop: unchanged, same object')
})

t.test('set AS_PATH prepend', async (t) => {
  t.same(change({ asPathPrepend: 64512 }).attrs.asPath, [{ type: 2, asns: [64512, 65001, 65002] }])
  t.same(change({ asPathPrepend: { asn: 64512, count: 3 } }).attrs.asPath, [{ type: 2, asns: [64512, 64512, 64512, 65001, 65002] }])
  t.same(change({ asPathPrepend: { count: 2 } }, ra(basic), r4, { localAs: 4200000001 }).attrs.asPath, [{ type: 2, asns: [4200000001, 4200000001, 65001, 65002] }], 'localAs default')
  t.same(change({ asPathPrepend: 7 }, ra({})).attrs.asPath, [{ type: 2, asns: [7] }], 'no AS_PATH: a new sequence')
  t.same(change({ asPathPrepend: 7 }, withAttrs({ asPath: [{ type: 1, asns: [1, 2] }] })).attrs.asPath, [{ type: 2, asns: [7] }, { type: 1, asns: [1, 2] }], 'before a leading AS_SET')
  t.same(basic.asPath, [{ type: 2, asns: [65001, 65002] }], 'input not modified')
})

t.test('set communities: add, remove, set, well-known names; large and extended; route targets', async (t) => {
  const a = withAttrs({ communities: [parseCommunity('65000:1'), parseCommunity('65000:2')] })
  t.same(change({ community: { add: ['no-export', '65000:1'] } }, a).attrs.communities, [parseCommunity('65000:1'), parseCommunity('65000:2'), WellKnownCommunity.NO_EXPORT], 'no duplicates')
  t.same(change({ community: { remove: ['65000:1'] } }, a).attrs.communities, [parseCommunity('65000:2')])
  t.equal(change({ community: { remove: ['65000:1', '65000:2'] } }, a).attrs.communities, undefined, 'empty list drops the attribute')
  t.same(change({ community: { set: ['1:1'], add: ['2:2'] } }, a).attrs.communities, [parseCommunity('1:1'), parseCommunity('2:2')])
  t.equal(change({ community: { set: [] } }, a).attrs.communities, undefined)
  t.same(change({ community: { add: [65536] } }, ra({})).attrs.communities, [65536], 'a plain number from YAML')
  const l = change({ largeCommunity: { add: ['65000:1:2'] } }, withAttrs({ largeCommunities: [{ global: 1, local1: 2, local2: 3 }] })).attrs.largeCommunities
  t.same(l, [{ global: 1, local1: 2, local2: 3 }, { global: 65000, local1: 1, local2: 2 }])
  t.equal(change({ largeCommunity: { remove: ['1:2:3'] } }, withAttrs({ largeCommunities: [{ global: 1, local1: 2, local2: 3 }] })).attrs.largeCommunities, undefined)
  const ext = withAttrs({ extCommunities: [routeTarget(64512, 1), encapsulation(2)] })
  t.same(change({ extCommunity: { remove: ['encap:gre'], add: ['encap:udp'] } }, ext).attrs.extCommunities, [routeTarget(64512, 1), encapsulation(13)])
  t.same(change({ routeTarget: { add: ['64512:2'], remove: ['rt:64512:1'] } }, ext).attrs.extCommunities, [encapsulation(2), routeTarget(64512, 2)])
  t.same(change({ routeTarget: { set: ['rt:10.0.0.1:3'] } }, ext).attrs.extCommunities, [encapsulation(2), parseExtCommunity('rt:10.0.0.1:3')], 'set replaces route targets, keeps the rest')
  t.same(change({ extCommunity: { set: ['rt:1:1'] } }, ext).attrs.extCommunities, [routeTarget(1, 1)], 'extCommunity set replaces all')
})

t.test('results: same object when unchanged, new frozen objects when modified', async (t) => {
  const a = ra(basic)
  t.equal(change({ localPref: 100 }, a), a, 'set to the current value')
  t.equal(change({ med: 10 }, a), a)
  t.equal(change({ community: { remove: ['1:1'] } }, a), a, 'removing an absent community')
  const c = withAttrs({ communities: [1] })
  t.equal(change({ community: { add: ['0:1'] } }, c), c, 'adding a present community')
  t.equal(change({ routeTarget: { set: [] } }, a), a)
  const out = change({ localPref: 5, community: { add: ['1:1'] }, asPathPrepend: 1 }, a)
  t.not(out, a)
  t.ok(Object.isFrozen(out), 'RouteAttributes frozen')
  t.ok(Object.isFrozen(out.attrs), 'PathAttributes frozen')
  t.ok(Object.isFrozen(out.attrs.communities), 'changed list frozen')
  t.ok(Object.isFrozen(out.attrs.asPath) && Object.isFrozen(out.attrs.asPath?.[0]), 'new AS_PATH frozen')
  t.equal(a.attrs.localPref, 100, 'input untouched')
  t.equal(a.attrs.communities, undefined)
  const p = compilePolicy({ terms: [{ match: { med: 10 }, set: { localPref: 1 } }, { match: { localPref: 1 }, set: { localPref: 100 } }] }, 'p')
  const back = p.apply(r4, a)
  t.equal(back?.attrs.localPref, 100)
  t.not(back, a, 'changed and changed back still counts as changed (a new equal object, never wrong)')
  t.ok(Object.isFrozen(compilePolicy({}, 'p')), 'the policy itself is frozen')
})

t.test('perAttributeSet: true exactly when no term matches on the prefix', async (t) => {
  t.equal(compilePolicy({}, 'p').perAttributeSet, true)
  t.equal(compilePolicy({ terms: [{ match: { community: ['1:1'], asPath: '_1_', family: 'inet' }, set: { localPref: 1 } }], routeTargetImport: ['1:1'], routeTargetExport: ['1:2'] }, 'p').perAttributeSet, true)
  t.equal(compilePolicy({ terms: [{ match: { prefixList: ['10.0.0.0/8'] }, action: 'reject' }] }, 'p').perAttributeSet, false)
  t.equal(compilePolicy({ terms: [{ set: { med: 1 } }, { match: { prefixList: [{ prefix: '10.0.0.0/8', rd: '1:1' }] } }] }, 'p').perAttributeSet, false)
  // What perAttributeSet promises: for a cacheable policy, routes sharing attributes get one answer.
  const p = compilePolicy({ terms: [{ match: { community: ['1:1'] }, set: { localPref: 9 }, action: 'accept' }], default: 'reject' }, 'p')
  const a = withAttrs({ communities: [0x10001] })
  const x = p.apply(route('10.0.0.0/8'), a)
  const y = p.apply(route('192.168.0.0/16'), a)
  t.same(x, y)
})

t.test('next hop only changed: new RouteAttributes, the attribute object shared and not frozen by us', async (t) => {
  const attrs = { origin: 0 }
  const a = ra(attrs, '192.0.2.1')
  const out = change({ nextHop: '2001:db8::1' }, a)
  t.equal(out.nextHop, '2001:db8::1')
  t.equal(out.attrs, attrs, 'no NEXT_HOP attribute to follow: same PathAttributes')
  t.notOk(Object.isFrozen(attrs), 'the caller\'s object is not frozen behind its back')
  t.ok(Object.isFrozen(out))
})

t.test('memoised results: routes sharing an attribute set share the result object; the family keys next-hop self', async (t) => {
  const p = compilePolicy(
    {
      terms: [
        { match: { prefixList: ['10.0.0.0/8 le 32'] }, set: { localPref: 300, community: { add: ['1:1'] } }, action: 'accept' },
        { match: { prefixList: ['192.168.0.0/16 le 32'] }, set: { asPathPrepend: 65000 }, action: 'accept' },
      ],
    },
    'p',
  )
  const a = ra(basic)
  const x = p.apply(route('10.1.0.0/16'), a)
  const y = p.apply(route('10.2.0.0/16'), a)
  const z = p.apply(route('192.168.1.0/24'), a)
  t.equal(x, y, 'same path through the terms: the very same object')
  t.not(x, z, 'another path: another result')
  t.equal(x?.attrs.localPref, 300)
  t.same(z?.attrs.asPath, [{ type: 2, asns: [65000, 65001, 65002] }])
  t.same(p.apply(route('192.168.2.0/24'), a)?.attrs.asPath, [{ type: 2, asns: [65000, 65001, 65002] }], 'prepend is not applied twice from the memo')
  t.equal(p.apply(route('172.16.0.0/12'), a), a, 'no term matched: the input itself')
  const b = ra({ ...basic })
  t.not(p.apply(route('10.1.0.0/16'), b), x, 'an equal but distinct input set gets its own (equal) result')
  t.same(p.apply(route('10.1.0.0/16'), b), x)
  const self = compilePolicy({ terms: [{ set: { nextHop: 'self' } }] }, 'p', { selfNextHop: { ipv4: '169.254.6.1', ipv6: 'fd00::1' } })
  const shared = ra({ origin: 0 }, '10.9.9.9')
  t.equal(self.apply(route('64512:1:10.0.0.0/8', Family.Ipv4Vpn), shared)?.nextHop, '169.254.6.1')
  t.equal(self.apply(route('64512:1:2001:db8::/32', Family.Ipv6Vpn), shared)?.nextHop, 'fd00::1', 'same input set, other family: not served from the IPv4 memo')
})

t.test('set lists each value once', async (t) => {
  t.same(change({ community: { set: ['1:1', '65537', 'no-export', 'NO_EXPORT'] } }).attrs.communities, [0x10001, WellKnownCommunity.NO_EXPORT])
})
