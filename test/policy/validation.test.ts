/**
 * Policy configuration errors (bgp/policy/compile.ts): each bad configuration throws PolicyError whose
 * `field` is the full path from `where` and whose message is `field: reason`.
 */
import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { PolicyError, compilePolicy, importRouteTargets } from '../../bgp/policy/index.js'

const where = 'peers[0].import'
const cases: Array<[string, unknown, string, RegExp]> = [
  ['prefix length too long', { terms: [{}, {}, { match: { prefixList: ['10.0.0.0/8', '10.0.0.0/33'] } }] }, 'peers[0].import.terms[2].match.prefixList[1]', /^"10\.0\.0\.0\/33": prefix length 33 exceeds 32$/],
  ['ge greater than le', { terms: [{ match: { prefixList: ['10.0.0.0/8 ge 24 le 16'] } }] }, 'peers[0].import.terms[0].match.prefixList[0]', /ge 24 is greater than le 16/],
  ['ge/le object form out of range', { terms: [{ match: { prefixList: [{ prefix: '2001:db8::/32', le: 129 }] } }] }, 'peers[0].import.terms[0].match.prefixList[0].le', /129 is outside 0\.\.128/],
  ['le over the IPv4 maximum in object form', { terms: [{ match: { prefixList: [{ prefix: '10.0.0.0/8', le: 40 }] } }] }, 'peers[0].import.terms[0].match.prefixList[0]', /le 40 is outside 0\.\.32/],
  ['host bits', { terms: [{ match: { prefixList: ['10.0.0.1/8'] } }] }, 'peers[0].import.terms[0].match.prefixList[0]', /host bits set past \/8/],
  ['bad RD', { terms: [{ match: { prefixList: [{ prefix: '10.0.0.0/8', rd: '64512' }] } }] }, 'peers[0].import.terms[0].match.prefixList[0].rd', /route distinguisher "64512": expected ADMIN:NUMBER/],
  ['unknown match field (typo)', { terms: [{ match: { comunity: ['1:1'] } }] }, 'peers[0].import.terms[0].match.comunity', /unknown field \(known: family, prefixList/],
  ['unknown top-level field', { term: [] }, 'peers[0].import.term', /unknown field/],
  ['bad community', { terms: [{ match: { community: ['65536:1'] } }] }, 'peers[0].import.terms[0].match.community[0]', /both halves must be 0\.\.65535/],
  ['bad community in anyOf', { terms: [{ match: { community: { anyOf: ['1:1', 'no-such-name'] } } }] }, 'peers[0].import.terms[0].match.community.anyOf[1]', /expected AS:value/],
  ['bad large community', { terms: [{ set: { largeCommunity: { add: ['1:2'] } } }] }, 'peers[0].import.terms[0].set.largeCommunity.add[0]', /expected global:local1:local2/],
  ['bad extended community', { terms: [{ match: { extCommunity: ['foo:1'] } }] }, 'peers[0].import.terms[0].match.extCommunity[0]', /unknown kind "foo"/],
  ['route origin is not a route target', { routeTargetImport: ['soo:1:1'] }, 'peers[0].import.routeTargetImport[0]', /not a route target/],
  ['bad route target number', { routeTargetExport: ['10.0.0.1:70000'] }, 'peers[0].import.routeTargetExport[0]', /assigned number must be 0\.\.65535/],
  ['empty route target import', { routeTargetImport: [] }, 'peers[0].import.routeTargetImport', /empty list/],
  ['bad AS_PATH regex', { terms: [{ match: { asPath: '^(65001' } }] }, 'peers[0].import.terms[0].match.asPath', /"\^\(65001": not a valid regular expression/],
  ['bad community regex', { terms: [{ match: { community: { regex: '[' } } }] }, 'peers[0].import.terms[0].match.community.regex', /not a valid regular expression/],
  ['AS_PATH length min > max', { terms: [{ match: { asPathLength: { min: 5, max: 2 } } }] }, 'peers[0].import.terms[0].match.asPathLength', /min 5 is greater than max 2/],
  ['local preference not an integer', { terms: [{ set: { localPref: '100' } }] }, 'peers[0].import.terms[0].set.localPref', /expected an integer, got "100"/],
  ['MED out of range', { terms: [{ set: { med: 2 ** 32 } }] }, 'peers[0].import.terms[0].set.med', /4294967296 is outside 0\.\.4294967295/],
  ['MED add and subtract at once', { terms: [{ set: { med: { add: 1, subtract: 1 } } }] }, 'peers[0].import.terms[0].set.med', /give a value, \{ add: N \} or \{ subtract: N \}/],
  ['next hop self without the compile option', { terms: [{ set: { nextHop: 'self' } }] }, 'peers[0].import.terms[0].set.nextHop', /selfNextHop compile option/],
  ['next hop not an address', { terms: [{ set: { nextHop: '10.0.0' } }] }, 'peers[0].import.terms[0].set.nextHop', /"10\.0\.0" is not an IPv4 or IPv6 address/],
  ['prepend count too large', { terms: [{ set: { asPathPrepend: { asn: 1, count: 33 } } }] }, 'peers[0].import.terms[0].set.asPathPrepend.count', /33 is outside 1\.\.32/],
  ['prepend without asn or localAs', { terms: [{ set: { asPathPrepend: { count: 2 } } }] }, 'peers[0].import.terms[0].set.asPathPrepend.asn', /no asn given and no localAs/],
  ['unknown family', { terms: [{ match: { family: ['inet', 'evpn-typo'] } }] }, 'peers[0].import.terms[0].match.family[1]', /unknown family "evpn-typo"/],
  ['unknown action', { terms: [{ action: 'permit' }] }, 'peers[0].import.terms[0].action', /"permit" is not an action \(accept, reject, next\)/],
  ['bad default', { default: 'deny' }, 'peers[0].import.default', /"deny" is not accept or reject/],
  ['unknown origin', { terms: [{ match: { origin: 'bgp' } }] }, 'peers[0].import.terms[0].match.origin', /"bgp" is not an origin/],
  ['terms not a list', { terms: { match: {} } }, 'peers[0].import.terms', /expected a list, got an object/],
  ['term not an object', { terms: ['accept'] }, 'peers[0].import.terms[0]', /expected an object, got "accept"/],
  ['empty prefix list', { terms: [{ match: { prefixList: [] } }] }, 'peers[0].import.terms[0].match.prefixList', /empty prefix list never matches/],
  ['add and remove the same community', { terms: [{ set: { community: { add: ['no-export'], remove: ['NO_EXPORT'] } } }] }, 'peers[0].import.terms[0].set.community.add[0]', /also in remove/],
  ['empty list edit', { terms: [{ set: { routeTarget: {} } }] }, 'peers[0].import.terms[0].set.routeTarget', /give set, add or remove/],
  ['next hop match bad prefix', { terms: [{ match: { nextHop: ['192.0.2.0/24', '192.0.2.0/40'] } }] }, 'peers[0].import.terms[0].match.nextHop[1]', /prefix length 40 exceeds 32/],
]

for (const [name, def, field, reason] of cases) {
  t.test(name, async (t) => {
    let err: unknown
    try {
      compilePolicy(def, where)
    } catch (e) {
      err = e
    }
    t.ok(err instanceof PolicyError, 'PolicyError thrown')
    const pe = err as PolicyError
    t.equal(pe.field, field, 'field path')
    t.match(pe.reason, reason, 'reason')
    t.equal(pe.message, `${pe.field}: ${pe.reason}`, 'message is field: reason')
  })
}

t.test('the example message from the brief, exactly', async (t) => {
  const def = { terms: [{}, {}, { match: { prefixList: ['10.0.0.0/8', '10.0.0.0/33'] } }] }
  t.throws(() => compilePolicy(def, 'peers[0].import'), { message: 'peers[0].import.terms[2].match.prefixList[1]: "10.0.0.0/33": prefix length 33 exceeds 32' })
})

t.test('a policy read from YAML compiles; where may be empty', async (t) => {
  const def = parseYaml(`
terms:
  - name: no-bogons
    match:
      prefixList: [0.0.0.0/0 ge 25, 10.0.0.0/8 le 32]
    action: reject
  - match: { community: [65000:100] }
    set: { localPref: 200, community: { remove: [65000:100] } }
    action: accept
default: accept
`)
  const p = compilePolicy(def, '')
  t.equal(p.terms, 2)
  t.throws(() => compilePolicy({ terms: [{ set: { med: -1 } }] }, ''), /^terms\[0\]\.set\.med: -1 is outside/)
})

t.test('importRouteTargets validates too', async (t) => {
  t.throws(() => importRouteTargets({ routeTargetImport: ['x'] }, 'vrf'), /^vrf\.routeTargetImport\[0\]: /)
})
