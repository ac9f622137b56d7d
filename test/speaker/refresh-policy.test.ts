/**
 * Route refresh (RFC 2918, enhanced RFC 7313) answered from Adj-RIB-Out, export policy changes
 * re-evaluating what a peer was sent, and import policy changes applied to the kept Adj-RIB-In
 * (soft reconfiguration, no refresh needed).
 */
import t from 'tap'
import { Family } from '../../bgp/codec/afi.js'
import type { RoutePolicy } from '../../bgp/rib/api.js'
import { best, ipv4, makeSpeakers, sleep, waitBest, waitFor } from './helpers.js'

const v4 = Family.Ipv4Unicast

function rejectPrefix(prefix: string): RoutePolicy {
  return { perAttributeSet: false, apply: (route, attrs) => (route.prefix === prefix ? null : attrs) }
}
function setMed(med: number): RoutePolicy {
  return { perAttributeSet: true, apply: (_route, a) => ({ attrs: { ...a.attrs, med }, nextHop: a.nextHop }) }
}

t.test('route refresh re-sends the Adj-RIB-Out; enhanced refresh wraps it in BoRR/EoRR', async (t) => {
  for (const enhanced of [false, true]) {
    const p = await makeSpeakers({ asA: 65021, asB: 65022, peerOfA: { enhancedRouteRefresh: enhanced }, peerOfB: { enhancedRouteRefresh: enhanced } })
    t.teardown(() => p.close())
    p.a.originate(ipv4('10.1.0.0/16'), { attrs: { origin: 0, asPath: [] }, nextHop: '' })
    p.a.originate(ipv4('10.2.0.0/16'), { attrs: { origin: 0, asPath: [], med: 1 }, nextHop: '' })
    await waitFor(() => p.b.peerStats('A').families[0]?.received === 2, 3000, 'two routes at B')
    await sleep(50)
    const out0 = p.a.session('B').stats().messagesOut
    t.ok(p.b.refreshInbound('A', v4), 'ROUTE-REFRESH sent')
    await waitFor(() => p.a.session('B').stats().messagesOut.update >= out0.update + 2, 3000, 'A re-sends its two routes')
    const out1 = p.a.session('B').stats().messagesOut
    t.equal(p.a.session('B').stats().messagesIn.routeRefresh, 1, 'A received one ROUTE-REFRESH')
    t.equal(out1.update - out0.update, 2, 'two UPDATEs (two attribute sets) re-sent')
    t.equal(out1.routeRefresh - out0.routeRefresh, enhanced ? 2 : 0, enhanced ? 'BoRR and EoRR sent' : 'no BoRR/EoRR without enhanced refresh')
    await sleep(100)
    t.equal(p.b.peerStats('A').families[0]?.received, 2, 'B still has both routes after the refresh')
    t.equal(p.b.peerStats('A').families[0]?.stale, 0, 'nothing left stale')
    await p.close()
  }
})

t.test('export policy change re-evaluates what the peer was sent', async (t) => {
  const p = await makeSpeakers({ asA: 65031, asB: 65032 })
  t.teardown(() => p.close())
  p.a.originate(ipv4('10.1.0.0/16'), { attrs: { origin: 0, asPath: [] }, nextHop: '' })
  p.a.originate(ipv4('10.2.0.0/16'), { attrs: { origin: 0, asPath: [] }, nextHop: '' })
  await waitBest(p.b, v4, '10.2.0.0/16')
  await waitBest(p.b, v4, '10.1.0.0/16')

  p.a.setExportPolicy('B', v4, rejectPrefix('10.1.0.0/16'))
  await waitBest(p.b, v4, '10.1.0.0/16', false)
  t.ok(best(p.b, v4, '10.2.0.0/16'), 'the other route stays')
  t.equal(p.a.peerStats('B').families[0]?.advertised, 1)

  p.a.setExportPolicy('B', v4, setMed(42))
  await waitFor(() => best(p.b, v4, '10.1.0.0/16')?.attrs.med === 42 && best(p.b, v4, '10.2.0.0/16')?.attrs.med === 42, 3000, 'MED 42 on both')
  t.pass('per-attribute-set export policy applied to both routes')

  p.a.setExportPolicy('B', v4, null)
  await waitFor(() => best(p.b, v4, '10.1.0.0/16')?.attrs.med === undefined && best(p.b, v4, '10.2.0.0/16')?.attrs.med === undefined, 3000, 'MED gone')
  t.pass('policy removed: routes as before')
})

t.test('import policy change applies to the kept Adj-RIB-In without a refresh', async (t) => {
  const p = await makeSpeakers({ asA: 65041, asB: 65042 })
  t.teardown(() => p.close())
  p.a.originate(ipv4('10.1.0.0/16'), { attrs: { origin: 0, asPath: [] }, nextHop: '' })
  p.a.originate(ipv4('10.2.0.0/16'), { attrs: { origin: 0, asPath: [] }, nextHop: '' })
  await waitFor(() => p.b.peerStats('A').families[0]?.accepted === 2, 3000, 'two routes accepted')
  const sent = p.a.session('B').stats().messagesOut.update
  p.b.setImportPolicy('A', v4, rejectPrefix('10.2.0.0/16'))
  await waitBest(p.b, v4, '10.2.0.0/16', false)
  const f = p.b.peerStats('A').families[0]
  t.equal(f?.received, 2, 'both still received (pre-policy)')
  t.equal(f?.accepted, 1, 'one accepted')
  t.equal(p.b.session('A').stats().messagesOut.routeRefresh, 0, 'no ROUTE-REFRESH needed')
  t.equal(p.a.session('B').stats().messagesOut.update, sent, 'A sent nothing again')
  p.b.setImportPolicy('A', v4, null)
  await waitBest(p.b, v4, '10.2.0.0/16')
  p.b.softReconfigure('A')
  await sleep(50)
  t.equal(p.b.peerStats('A').families[0]?.accepted, 2, 'soft reconfiguration keeps both')
})

t.test('an attribute set id the RIB frees and reuses does not confuse the export cache', async (t) => {
  const p = await makeSpeakers({ asA: 65051, asB: 65052, peerOfA: { minimumAdvertisementInterval: 0 } })
  t.teardown(() => p.close())
  p.a.originate(ipv4('10.40.0.0/24'), { attrs: { origin: 0, asPath: [], med: 1 }, nextHop: '' })
  await waitBest(p.b, v4, '10.40.0.0/24')
  const first = best(p.a, v4, '10.40.0.0/24')?.attrId
  p.a.withdrawOriginated(ipv4('10.40.0.0/24'))
  await waitBest(p.b, v4, '10.40.0.0/24', false)
  p.a.originate(ipv4('10.41.0.0/24'), { attrs: { origin: 0, asPath: [], med: 2, communities: [7] }, nextHop: '' })
  await waitBest(p.b, v4, '10.41.0.0/24')
  const second = best(p.a, v4, '10.41.0.0/24')?.attrId
  t.comment(`source set ids: ${first} then ${second}${first === second ? ' (reused)' : ''}`)
  const r = best(p.b, v4, '10.41.0.0/24')
  t.equal(r?.attrs.med, 2, 'the new set\'s MED, not the freed one\'s')
  t.same(r?.attrs.communities, [7])
})
