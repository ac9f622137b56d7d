/**
 * DaemonView.routes() over a real RIB (bgp/rib Rib): the Loc-RIB with its multipath sets, a peer's
 * Adj-RIB-In with policy-rejected routes marked, filters by family, exact prefix, containing address
 * and RD, pages that never exceed the limit and together return every path once; and gsictl's text
 * of a real RIB route.
 */
import t from 'tap'
import { Family } from '../../bgp/codec/afi.js'
import type { AsPath } from '../../bgp/codec/as-path.js'
import { routeTarget, encapsulation } from '../../bgp/codec/ext-communities.js'
import { labelEntry, type Nlri } from '../../bgp/codec/nlri.js'
import { Rib } from '../../bgp/rib/index.js'
import { BgpSpeaker } from '../../bgp/speaker/index.js'
import { ribRoutes, speakerRouteSource, type RibRouteSource } from '../../src/api/rib-routes.js'
import { ApiError, type RouteView } from '../../src/api/index.js'
import { formatRoutes } from '../../src/cli/format.js'

const seq = (...asns: number[]): AsPath => [{ type: 2, asns }]
const v4 = (a: number, b: number, len: number): Nlri => ({ family: Family.Ipv4Unicast, prefix: new Uint8Array([10, a, b, 0]), length: len })
const vpn = (assigned: number, b: number, label: number): Nlri => ({
  family: Family.Ipv4Vpn, prefix: new Uint8Array([10, 244, b, 0]), length: 24, rd: { type: 0, admin: 64512, assigned }, labels: [labelEntry(label)],
})

function setup(): { rib: Rib; src: RibRouteSource } {
  const rib = new Rib({ localAs: 64512, routerId: 0x0a000005, multipath: { maximum: 4 } })
  const a = rib.addPeer({ address: '169.254.6.2', asn: 64513, routerId: 1, ebgp: true, name: 'tgw-a' })
  const b = rib.addPeer({ address: '169.254.6.3', asn: 64513, routerId: 2, ebgp: true, name: 'tgw-b' })
  const c = rib.addPeer({ address: '10.0.0.10', asn: 64512, routerId: 3, ebgp: false, name: 'cn2-1' })
  // tgw-a rejects 10.3.0.0/16 by import policy (kept in its Adj-RIB-In, pre-policy).
  rib.setImportPolicy(a, Family.Ipv4Unicast, { perAttributeSet: false, apply: (r, attrs) => (r.prefix === '10.3.0.0/16' ? null : attrs) })
  for (let i = 0; i < 4; i++) rib.announce(a, v4(i, 0, 16), { attrs: { origin: 0, asPath: seq(64513), med: 0 }, nextHop: '169.254.6.2' })
  rib.announce(b, v4(1, 0, 16), { attrs: { origin: 0, asPath: seq(64513), med: 0 }, nextHop: '169.254.6.3' })
  rib.announce(a, v4(1, 2, 24), { attrs: { origin: 2, asPath: seq(64513, 65010), communities: [0xfc010064] }, nextHop: '169.254.6.2' })
  const ext = [routeTarget(64512, 7), encapsulation(13)]
  rib.announce(c, vpn(7, 1, 17), { attrs: { origin: 0, asPath: [], localPref: 100, extCommunities: ext }, nextHop: '10.0.1.2' })
  rib.announce(c, vpn(7, 2, 18), { attrs: { origin: 0, asPath: [], localPref: 100, extCommunities: ext }, nextHop: '10.0.1.3' })
  rib.announce(c, vpn(8, 2, 19), { attrs: { origin: 0, asPath: [], localPref: 100, extCommunities: [routeTarget(64512, 8)] }, nextHop: '10.0.1.4' })
  rib.commit()
  const peers = [{ id: a, name: 'tgw-a', address: '169.254.6.2' }, { id: b, name: 'tgw-b', address: '169.254.6.3' }, { id: c, name: 'cn2-1', address: '10.0.0.10' }]
  return { rib, src: { rib, peers: () => peers } }
}

const key = (r: RouteView): string => `${r.prefix} ${r.peer}${r.best ? ' best' : ''}`

t.test('Loc-RIB: every destination with its multipath set, best first; counts per family', async t => {
  const { src } = setup()
  const page = ribRoutes(src, {})
  t.same(page.routes.map(key), [
    '10.0.0.0/16 tgw-a best',
    '10.1.0.0/16 tgw-a best', '10.1.0.0/16 tgw-b',
    '10.2.0.0/16 tgw-a best',
    '10.1.2.0/24 tgw-a best',
    '64512:7:10.244.1.0/24 cn2-1 best', '64512:7:10.244.2.0/24 cn2-1 best', '64512:8:10.244.2.0/24 cn2-1 best',
  ])
  t.same(page.families, [
    { family: 'ipv4-unicast', destinations: 4, paths: 5 },
    { family: 'l3vpn-ipv4-unicast', destinations: 3, paths: 3 },
  ])
  t.equal(page.next, undefined)
  const ecmp = page.routes.filter(r => r.prefix === '10.1.0.0/16')
  t.same(ecmp.map(r => r.multipath), [true, true])
  t.match(page.routes.find(r => r.prefix === '10.1.2.0/24'), { origin: 'Incomplete', asPath: '64513 65010', communities: ['64513:100'], nextHop: '169.254.6.2' })
  t.match(page.routes.find(r => r.prefix === '64512:7:10.244.1.0/24'), { label: 17, nextHop: '10.0.1.2', localPref: 100, extCommunities: ['rt:64512:7', 'encap:udp'] })
})

t.test('filters: family, exact prefix, containing address, RD', async t => {
  const { src } = setup()
  t.same(ribRoutes(src, { family: 'l3vpn-ipv4-unicast', prefix: '10.244.2.0/24' }).routes.map(key), ['64512:7:10.244.2.0/24 cn2-1 best', '64512:8:10.244.2.0/24 cn2-1 best'])
  t.same(ribRoutes(src, { family: 'l3vpn-ipv4-unicast', prefix: '10.244.2.0/24', rd: '64512:8' }).routes.map(key), ['64512:8:10.244.2.0/24 cn2-1 best'])
  t.same(ribRoutes(src, { prefix: '10.1.2.9' }).routes.map(key), ['10.1.0.0/16 tgw-a best', '10.1.0.0/16 tgw-b', '10.1.2.0/24 tgw-a best'], 'every prefix containing the address')
  t.same(ribRoutes(src, { prefix: '10.1.0.0/16' }).routes.map(key), ['10.1.0.0/16 tgw-a best', '10.1.0.0/16 tgw-b'])
  t.same(ribRoutes(src, { family: 'ipv6-unicast' }).routes, [])
  t.same(ribRoutes(src, { prefix: '10.1.2.0/23' }).routes, [], 'an exact prefix that is not there (host bits cleared: 10.1.2.0/23)')
  t.same(ribRoutes(src, { prefix: '10.244.1.0/24', rd: '64512:7' }).routes.map(key), ['64512:7:10.244.1.0/24 cn2-1 best'], 'VPN prefix with RD: one lookup')
  t.same(ribRoutes(src, { prefix: '10.244.1.0/24', rd: '64512:8' }).routes, [])
})

t.test('Adj-RIB-In of a peer: pre-policy, rejected marked, best where it won', async t => {
  const { src } = setup()
  const page = ribRoutes(src, { view: 'received', peer: '169.254.6.3' })
  t.same(page.routes.map(key), ['10.1.0.0/16 tgw-b'], 'tgw-b lost the tie-break to tgw-a (lower address)')
  const a = ribRoutes(src, { view: 'received', peer: 'tgw-a', family: 'ipv4-unicast' })
  t.same(a.routes.map(r => `${r.prefix}${r.rejected === true ? ' rejected' : ''}`), ['10.0.0.0/16', '10.1.0.0/16', '10.2.0.0/16', '10.3.0.0/16 rejected', '10.1.2.0/24'])
  t.same(a.families, [{ family: 'ipv4-unicast', destinations: 5, paths: 5 }])
  t.throws(() => ribRoutes(src, { view: 'received', peer: '192.0.2.1' }), { code: 'not-found' })
  t.throws(() => ribRoutes(src, { view: 'advertised', peer: 'tgw-a' }), { code: 'unsupported' })
  const paged: string[] = []
  let after: string | undefined
  do {
    const p = ribRoutes(src, { view: 'received', peer: 'tgw-a', limit: 2, ...(after !== undefined ? { after } : {}) })
    t.ok(p.routes.length <= 2)
    paged.push(...p.routes.map(r => r.prefix))
    after = p.next
  } while (after !== undefined && paged.length < 20)
  t.same(paged, ['10.0.0.0/16', '10.1.0.0/16', '10.2.0.0/16', '10.3.0.0/16', '10.1.2.0/24'], 'received pages too')
  t.throws(() => ribRoutes(src, { view: 'received', peer: 'tgw-a', after: `b:${Family.Ipv4Unicast}:0` }), { code: 'invalid-params' }, 'a Loc-RIB cursor is not an Adj-RIB-In cursor')
})

t.test('pages: at most the limit, whole destinations, together every path exactly once, across families', async t => {
  const { src } = setup()
  const whole = ribRoutes(src, {}).routes.map(key)
  for (const limit of [1, 2, 3, 5, 7]) {
    const got: string[] = []
    let after: string | undefined
    let pages = 0
    do {
      const page = ribRoutes(src, { limit, ...(after !== undefined ? { after } : {}) })
      // A destination is never split: the 2-path ECMP one alone makes a page of 2 when the limit is 1.
      t.ok(page.routes.length <= Math.max(limit, 2), `page of ${page.routes.length}`)
      t.ok(page.routes.length > 0)
      got.push(...page.routes.map(key))
      after = page.next
      pages++
    } while (after !== undefined && pages < 20)
    t.same(got, whole, `limit ${limit}: ${pages} pages`)
  }
  const e = (() => { try { ribRoutes(src, { after: 'x' }) } catch (x) { return x } })()
  t.ok(e instanceof ApiError)
  t.equal((e as ApiError).message, 'params.after: "x" is not a cursor this listing returned')
})

t.test('gsictl shows a RIB route the Junos way', async t => {
  const { src } = setup()
  const page = ribRoutes(src, { prefix: '10.1.0.0/16' })
  t.equal(formatRoutes(page, page.routes, false), `ipv4-unicast: 4 destinations, 5 paths
l3vpn-ipv4-unicast: 3 destinations, 3 paths
+ = best path, * = in the multipath set, S = stale (graceful restart)

IPv4 Unicast (ipv4-unicast):

10.1.0.0/16
    + [BGP] from 169.254.6.2 (tgw-a), MED 0
          AS path: 64513 I
        > to 169.254.6.2
    * [BGP] from 169.254.6.3 (tgw-b), MED 0
          AS path: 64513 I
        > to 169.254.6.3
`)
})

t.test('over a real BgpSpeaker: originated routes and configured peers', async t => {
  const speaker = new BgpSpeaker({ localAs: 64512, routerId: '10.0.0.5' })
  t.teardown(() => speaker.stop())
  speaker.addPeer({ name: 'tgw-a', address: '127.0.0.1', asn: 64513, port: 1, families: [Family.Ipv4Unicast] })
  speaker.originate(v4(244, 0, 16), { attrs: { origin: 0, asPath: [] }, nextHop: '' })
  await new Promise(r => setImmediate(r))
  speaker.rib.commit()
  const src = speakerRouteSource(speaker)
  t.same(src.peers().map(p => [p.name, p.address]), [['tgw-a', '127.0.0.1']])
  const page = ribRoutes(src, {})
  t.same(page.routes.map(key), ['10.244.0.0/16 local best'])
  t.same(ribRoutes(src, { view: 'received', peer: 'tgw-a' }).routes, [], 'the peer never connected: nothing received')
})
