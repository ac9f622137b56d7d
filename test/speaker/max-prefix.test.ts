/**
 * Maximum prefixes per peer and family (RFC 4486): a warning that keeps the session, and a
 * tear-down with Cease / Maximum Number of Prefixes Reached (subcode 1, data AFI, SAFI, limit) that
 * the other side sees, the routes withdrawn, and the session back after the restart time.
 */
import t from 'tap'
import { Family } from '../../bgp/codec/afi.js'
import type { MaxPrefixEvent } from '../../bgp/speaker/index.js'
import { ipv4, makeSpeakers, sleep, waitFor } from './helpers.js'

const v4 = Family.Ipv4Unicast

t.test('warning only: threshold and limit reported once each, session stays', async (t) => {
  const p = await makeSpeakers({ asA: 65051, asB: 65052, peerOfB: { maxPrefix: { [v4]: { limit: 5, warningOnly: true, warningThresholdPercent: 60 } } } })
  t.teardown(() => p.close())
  const events: MaxPrefixEvent[] = []
  p.b.on('max-prefix', (e) => events.push(e))
  const add = async (from: number, to: number): Promise<void> => {
    for (let i = from; i < to; i++) p.a.originate(ipv4(`10.0.${i}.0/24`), { attrs: { origin: 0, asPath: [] }, nextHop: '' })
    await waitFor(() => p.b.peerStats('A').families[0]?.accepted === to, 3000, `${to} routes`)
    await sleep(50)
  }
  await add(0, 2)
  t.equal(events.length, 0, 'below the threshold (3): nothing')
  await add(2, 3)
  t.match(events, [{ peer: 'A', family: v4, limit: 5, count: 3, level: 'threshold', action: 'warning' }], 'threshold reached')
  await add(3, 5)
  t.equal(events.length, 1, 'up to the limit: nothing new')
  await add(5, 8)
  t.match(events[1], { level: 'limit', action: 'warning', limit: 5 })
  t.ok((events[1]?.count ?? 0) > 5)
  await sleep(200)
  t.equal(p.b.session('A').state, 'Established', 'session kept')
  t.equal(events.length, 2, 'reported once while over the limit')
  t.equal(p.b.peerStats('A').families[0]?.accepted, 8, 'routes kept')
})

t.test('tear-down: Cease 1 with AFI/SAFI/limit, routes withdrawn, restart after restartTime', async (t) => {
  const p = await makeSpeakers({ asA: 65061, asB: 65062, peerOfB: { maxPrefix: { [v4]: { limit: 3, restartTime: 1, warningThresholdPercent: 100 } } } })
  t.teardown(() => p.close())
  const events: MaxPrefixEvent[] = []
  p.b.on('max-prefix', (e) => events.push(e))
  for (let i = 0; i < 3; i++) p.a.originate(ipv4(`10.1.${i}.0/24`), { attrs: { origin: 0, asPath: [] }, nextHop: '' })
  await waitFor(() => p.b.peerStats('A').families[0]?.accepted === 3, 3000, 'three routes')
  const data: number[][] = []
  p.a.session('B').on('notification-received', (n) => data.push([...n.data]))
  const downAt = Date.now()
  p.a.originate(ipv4('10.1.9.0/24'), { attrs: { origin: 0, asPath: [] }, nextHop: '' })
  await waitFor(() => p.a.session('B').stats().lastNotificationReceived !== undefined, 3000, 'A receives a NOTIFICATION')
  const n = p.a.session('B').stats().lastNotificationReceived
  t.equal(n?.code, 6, 'Cease')
  t.equal(n?.subcode, 1, 'Maximum Number of Prefixes Reached')
  t.same(data, [[0, 1, 1, 0, 0, 0, 3]], 'data: AFI 1, SAFI 1, limit 3 (RFC 4486 4)')
  const sent = p.b.session('A').stats().lastNotificationSent
  t.equal(sent?.subcode, 1)
  t.match(events.filter((e) => e.action === 'teardown'), [{ peer: 'A', action: 'teardown', level: 'limit', limit: 3, count: 4 }])
  await waitFor(() => p.b.session('A').state === 'Idle', 2000, 'B\'s session Idle')
  t.equal(p.b.peerStats('A').families[0]?.received, 0, 'routes from A withdrawn')
  t.equal(p.b.peerStats('A').maxPrefixDown?.family, 'ipv4-unicast')
  // Back within the limit for when the session returns.
  p.a.withdrawOriginated(ipv4('10.1.9.0/24'))
  await sleep(500)
  t.not(p.b.session('A').state, 'Established', 'still down within the restart time')
  await waitFor(() => p.b.session('A').state === 'Established', 5000, 're-established after the restart time')
  t.ok(Date.now() - downAt >= 1000, 'not before restartTime')
  t.equal(p.b.peerStats('A').maxPrefixDown, undefined)
  await waitFor(() => p.b.peerStats('A').families[0]?.accepted === 3, 3000, 'the three routes again')
  await sleep(200)
  t.equal(p.b.session('A').state, 'Established', 'within the limit: stays up')
})

t.test('tear-down without restartTime stays down until enabled again', async (t) => {
  const p = await makeSpeakers({ asA: 65071, asB: 65072, peerOfB: { maxPrefix: { [v4]: { limit: 1 } } } })
  t.teardown(() => p.close())
  p.a.originate(ipv4('10.2.0.0/24'), { attrs: { origin: 0, asPath: [] }, nextHop: '' })
  p.a.originate(ipv4('10.2.1.0/24'), { attrs: { origin: 0, asPath: [] }, nextHop: '' })
  await waitFor(() => p.b.session('A').stats().lastNotificationSent?.subcode === 1, 3000, 'Cease 1 sent')
  p.a.withdrawOriginated(ipv4('10.2.1.0/24'))
  await sleep(1500)
  t.equal(p.b.session('A').state, 'Idle', 'stays down')
  await p.b.setPeerEnabled('A', true)
  await waitFor(() => p.b.session('A').state === 'Established', 5000, 'up again after an administrative start')
  await waitFor(() => p.b.peerStats('A').families[0]?.accepted === 1, 3000, 'one route again')
  t.equal(p.b.peerStats('A').maxPrefixDown, undefined, 'administrative start clears the max-prefix hold')
})
