/**
 * Minimum route advertisement interval (RFC 4271 9.2.1.1): changes within the interval after a
 * flush wait for its end and leave together; with MRAI 0 (the iBGP default) each change leaves at once.
 */
import t from 'tap'
import { Family } from '../../bgp/codec/afi.js'
import { ipv4, makeSpeakers, sleep, waitFor } from './helpers.js'

t.test('eBGP default MRAI 1 s: a burst within the interval leaves as one flush', async (t) => {
  const p = await makeSpeakers({ asA: 65081, asB: 65082 })
  t.teardown(() => p.close())
  t.equal(p.a.peerStats('B').minimumAdvertisementInterval, 1, 'eBGP default 1 s')
  await waitFor(() => p.a.peerStats('B').families[0]?.endOfRibSent === true, 3000, 'initial End-of-RIB')
  await sleep(1100) // the interval since the initial flush has passed
  const f0 = p.a.peerStats('B').flushes
  const u0 = p.a.session('B').stats().messagesOut.update
  const start = Date.now()
  p.a.originate(ipv4('10.8.0.0/24'), { attrs: { origin: 0, asPath: [] }, nextHop: '' })
  await waitFor(() => p.b.peerStats('A').families[0]?.received === 1, 2000, 'the first change')
  t.ok(Date.now() - start < 500, 'first change after a quiet interval leaves at once')
  const firstAt = Date.now()
  for (let i = 1; i < 5; i++) {
    await sleep(100)
    p.a.originate(ipv4(`10.8.${i}.0/24`), { attrs: { origin: 0, asPath: [], med: i }, nextHop: '' })
  }
  await sleep(100)
  t.equal(p.b.peerStats('A').families[0]?.received, 1, 'the burst waits for the end of the interval')
  await waitFor(() => p.b.peerStats('A').families[0]?.received === 5, 3000, 'the burst arrives')
  t.ok(Date.now() - firstAt >= 850, `burst left ${Date.now() - firstAt} ms after the first flush (interval 1 s)`)
  t.equal(p.a.peerStats('B').flushes - f0, 2, 'two flushes: the first change, then the whole burst')
  t.equal(p.a.session('B').stats().messagesOut.update - u0, 5, 'five UPDATEs (five attribute sets)')
})

t.test('iBGP default MRAI 0: every change leaves at once', async (t) => {
  const p = await makeSpeakers({ asA: 65090, asB: 65090 })
  t.teardown(() => p.close())
  t.equal(p.a.peerStats('B').minimumAdvertisementInterval, 0, 'iBGP default 0')
  await waitFor(() => p.a.peerStats('B').families[0]?.endOfRibSent === true, 3000, 'initial End-of-RIB')
  const f0 = p.a.peerStats('B').flushes
  for (let i = 0; i < 5; i++) {
    p.a.originate(ipv4(`10.9.${i}.0/24`), { attrs: { origin: 0, asPath: [] }, nextHop: '' })
    await waitFor(() => p.b.peerStats('A').families[0]?.received === i + 1, 1000, `change ${i} at B`)
    await sleep(50)
  }
  t.equal(p.a.peerStats('B').flushes - f0, 5, 'five flushes')
  t.equal(p.b.rib.table(Family.Ipv4Unicast).size, 5)
})

t.test('configured MRAI 0 on eBGP and 2 s override', async (t) => {
  const p = await makeSpeakers({ asA: 65101, asB: 65102, peerOfA: { minimumAdvertisementInterval: 0 }, peerOfB: { minimumAdvertisementInterval: 2 } })
  t.teardown(() => p.close())
  t.equal(p.a.peerStats('B').minimumAdvertisementInterval, 0)
  t.equal(p.b.peerStats('A').minimumAdvertisementInterval, 2)
  await waitFor(() => p.a.peerStats('B').families[0]?.endOfRibSent === true, 3000, 'initial End-of-RIB')
  const start = Date.now()
  p.a.originate(ipv4('10.10.0.0/24'), { attrs: { origin: 0, asPath: [] }, nextHop: '' })
  await waitFor(() => p.b.peerStats('A').families[0]?.received === 1, 1000, 'immediate with MRAI 0')
  t.ok(Date.now() - start < 500)
})
