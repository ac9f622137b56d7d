/**
 * VPN route targets in policy (bgp/policy/compile.ts, route-targets.ts): the `routeTargetImport`
 * shortcut (a VPN route needs one of the targets, other families pass), `routeTargetExport` (adds
 * targets to accepted VPN routes only, after the terms), `importRouteTargets` (what to ask peers for
 * with RTC), and the numeric keys of the three route-target forms.
 */
import t from 'tap'
import { Family } from '../../bgp/codec/afi.js'
import { encapsulation, extCommunityToString, routeTarget } from '../../bgp/codec/ext-communities.js'
import { compilePolicy, importRouteTargets, parseRouteTarget, routeTargetKey, routeTargetsOf, rtcMembershipNlris } from '../../bgp/policy/index.js'
import { basic, ra, route } from './helpers.js'

const vpn4 = route('64512:1:10.0.0.0/24', Family.Ipv4Vpn)
const vpn6 = route('64512:1:2001:db8::/48', Family.Ipv6Vpn)
const plain = route('10.0.0.0/24')
const withRts = (...rts: ReturnType<typeof routeTarget>[]) => ra({ ...basic, extCommunities: [encapsulation(13), ...rts] })

t.test('route target keys: three forms, distinct, parsed from every spelling', async (t) => {
  const keys = ['rt:64512:100', 'target:64512:100', '64512:100', 'rt:64512L:100', 'rt:10.0.0.1:100', 'rt:4200000000:100'].map((s) => routeTargetKey(parseRouteTarget(s)))
  t.equal(keys[0], keys[1])
  t.equal(keys[0], keys[2])
  t.equal(new Set(keys).size, 4, 'as2, as4 (small ASN), ipv4 and as4 are distinct')
  t.equal(routeTargetKey(parseRouteTarget('65535:4294967295')), 0xffff * 2 ** 32 + 0xffffffff, 'as2 keeps 48 bits')
  t.ok(Number.isSafeInteger(routeTargetKey(parseRouteTarget('4294967295:65535'))))
  t.equal(extCommunityToString(parseRouteTarget(' 10.0.0.1:5 ')), 'rt:10.0.0.1:5')
  t.throws(() => parseRouteTarget('soo:1:1'), /not a route target/)
  t.same(routeTargetsOf({ extCommunities: [encapsulation(2), routeTarget(1, 2)] }), [routeTarget(1, 2)])
})

t.test('routeTargetImport: VPN routes need one of the targets; other families pass', async (t) => {
  const p = compilePolicy({ routeTargetImport: ['64512:100', 'rt:10.0.0.1:5'] }, 'vrf')
  const hit = withRts(routeTarget(64512, 7), routeTarget('10.0.0.1', 5))
  t.equal(p.apply(vpn4, hit), hit, 'imported unchanged')
  t.equal(p.apply(vpn6, hit), hit)
  t.equal(p.apply(vpn4, withRts(routeTarget(64512, 7))), null, 'no matching target')
  t.equal(p.apply(vpn4, ra(basic)), null, 'no targets at all')
  const a = ra(basic)
  t.equal(p.apply(plain, a), a, 'IPv4 unicast not affected')
  t.equal(p.perAttributeSet, true)
  // With terms: the shortcut runs first, the terms see only imported routes.
  const q = compilePolicy({ routeTargetImport: ['64512:100'], terms: [{ match: { community: ['no-export'] }, action: 'reject' }, { set: { localPref: 200 }, action: 'accept' }] }, 'vrf')
  t.equal(q.apply(vpn4, withRts(routeTarget(64512, 100)))?.attrs.localPref, 200)
  t.equal(q.apply(vpn4, withRts(routeTarget(64512, 101))), null)
})

t.test('routeTargetExport: adds targets to accepted VPN routes, after the terms', async (t) => {
  const p = compilePolicy(
    {
      routeTargetExport: ['64512:100', 'rt:64512:200'],
      terms: [
        { match: { community: ['no-export'] }, action: 'reject' },
        { match: { routeTarget: ['64512:1'] }, set: { routeTarget: { remove: ['64512:1'] } } },
      ],
    },
    'vrf',
  )
  const out = p.apply(vpn4, withRts(routeTarget(64512, 1)))
  t.same(out?.attrs.extCommunities, [encapsulation(13), routeTarget(64512, 100), routeTarget(64512, 200)], 'term removed one, export added two')
  t.ok(Object.isFrozen(out?.attrs.extCommunities))
  const already = withRts(routeTarget(64512, 100), routeTarget(64512, 200))
  t.equal(p.apply(vpn4, already), already, 'targets already there: same object')
  t.equal(p.apply(vpn4, ra({ ...basic, communities: [0xffffff01] })), null, 'rejected routes get nothing')
  const a = ra(basic)
  t.equal(p.apply(plain, a), a, 'IPv4 unicast untouched')
  const v6 = p.apply(vpn6, ra(basic))
  t.same(v6?.attrs.extCommunities, [routeTarget(64512, 100), routeTarget(64512, 200)], 'created on a route without extended communities')
  // An export policy for a VRF: import and export targets together, as CN2's vrf-target does.
  const vrf = compilePolicy({ routeTargetImport: ['64512:100'], routeTargetExport: ['64512:100'] }, 'vrf')
  t.equal(vrf.apply(vpn4, withRts(routeTarget(64512, 9))), null)
})

t.test('importRouteTargets: what RTC should ask for', async (t) => {
  t.same(importRouteTargets({ routeTargetImport: ['64512:100', '10.0.0.1:5'] }), [routeTarget(64512, 100), routeTarget('10.0.0.1', 5)])
  t.equal(importRouteTargets({}), undefined, 'accept-all policy: everything (default membership)')
  t.equal(importRouteTargets({ terms: [{ match: { routeTarget: ['1:1'] }, action: 'accept' }] }), undefined, 'default accept: everything')
  t.same(
    importRouteTargets({
      default: 'reject',
      terms: [
        { match: { routeTarget: ['1:1', '1:2'] }, action: 'accept' },
        { match: { routeTarget: { allOf: ['1:3'] }, community: ['2:2'] }, action: 'accept' },
        { match: { community: ['no-export'] }, action: 'reject' },
        { match: { routeTarget: ['1:1'] }, set: { localPref: 5 } },
      ],
    }),
    [routeTarget(1, 1), routeTarget(1, 2), routeTarget(1, 3)],
    'default reject, every accepting term needs targets: their union',
  )
  t.equal(importRouteTargets({ default: 'reject', terms: [{ match: { community: ['2:2'] }, action: 'accept' }] }), undefined, 'a term accepting without targets')
  t.equal(
    importRouteTargets({ default: 'reject', terms: [{ set: { routeTarget: { add: ['1:9'] } } }, { match: { routeTarget: ['1:9'] }, action: 'accept' }] }),
    undefined,
    'targets added before matching: cannot narrow',
  )
  t.equal(importRouteTargets({ default: 'reject', terms: [{ match: { routeTarget: { noneOf: ['1:1'] } }, action: 'accept' }] }), undefined, 'noneOf does not narrow')
  const nlris = rtcMembershipNlris(64512, importRouteTargets({ routeTargetImport: ['64512:100'] }) ?? [])
  t.equal(nlris.length, 1, 'feeds rtcMembershipNlris')
})
