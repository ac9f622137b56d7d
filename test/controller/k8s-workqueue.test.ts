/**
 * The keyed work queue: de-duplication, one worker per key at a time (a key re-added while in flight
 * runs again after), exponential backoff per key until forget, earliest addAfter wins, shutdown.
 */
import t from 'tap'
import { WorkQueue, runWorkers } from '../../controller/k8s/workqueue.js'

t.test('de-duplicates queued keys', async t => {
  const q = new WorkQueue()
  q.add('a'); q.add('b'); q.add('a')
  t.equal(q.length, 2)
  t.equal(await q.get(), 'a')
  t.equal(await q.get(), 'b')
  q.shutdown()
  t.equal(await q.get(), undefined, 'undefined after shutdown')
})

t.test('one reconcile in flight per key; a re-add during it runs once more after', async t => {
  const q = new WorkQueue()
  const running = new Set<string>()
  let overlap = false
  const runs: string[] = []
  let release!: () => void
  const gate = new Promise<void>(r => { release = r })
  const done = runWorkers(q, 4, async key => {
    if (running.has(key)) overlap = true
    running.add(key)
    runs.push(key)
    if (runs.length === 1) await gate
    running.delete(key)
  }, () => undefined)
  q.add('k')
  await new Promise(r => setTimeout(r, 20))
  q.add('k'); q.add('k'); q.add('k') // while in flight: collapses into one more run
  t.equal(q.length, 0, 'not handed to another worker while in flight')
  release()
  await new Promise(r => setTimeout(r, 50))
  t.same(runs, ['k', 'k'], 'ran twice: the first and one for all re-adds')
  t.notOk(overlap, 'never two at once')
  q.shutdown()
  await done
})

t.test('exponential backoff per key, reset by forget', async t => {
  const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 80 })
  t.same([q.addRateLimited('x'), q.addRateLimited('x'), q.addRateLimited('x'), q.addRateLimited('x'), q.addRateLimited('x')], [10, 20, 40, 80, 80])
  t.equal(q.addRateLimited('y'), 10, 'per key')
  q.forget('x')
  t.equal(q.addRateLimited('x'), 10, 'forget resets')
  q.shutdown()
})

t.test('failures are retried with backoff until they succeed', async t => {
  const q = new WorkQueue({ baseDelayMs: 5, maxDelayMs: 50 })
  const times: number[] = []
  let n = 0
  const errors: number[] = []
  const done = runWorkers(q, 1, async () => {
    times.push(Date.now())
    if (++n < 4) throw new Error('boom')
  }, (_k, _e, ms) => errors.push(ms))
  q.add('z')
  await new Promise(r => setTimeout(r, 300))
  t.equal(n, 4, 'ran until success')
  t.same(errors, [5, 10, 20], 'backoff doubled on each failure')
  t.equal(q.failureCount('z'), 0, 'success forgets the failures')
  for (let i = 1; i < times.length; i++) t.ok(times[i]! - times[i - 1]! >= errors[i - 1]! - 2, `waited before retry ${i}`)
  q.shutdown()
  await done
})

t.test('addAfter keeps the earliest deadline; requeueAfterMs from a reconcile', async t => {
  const q = new WorkQueue()
  const t0 = Date.now()
  q.addAfter('a', 200)
  q.addAfter('a', 20)
  q.addAfter('a', 300)
  t.equal(await q.get(), 'a')
  const dt = Date.now() - t0
  t.ok(dt >= 15 && dt < 150, `earliest deadline used (${dt} ms)`)
  q.done('a')
  let runs = 0
  const done = runWorkers(q, 1, async () => (++runs < 3 ? { requeueAfterMs: 10 } : undefined), () => undefined)
  q.add('b')
  await new Promise(r => setTimeout(r, 150))
  t.equal(runs, 3, 'requeued twice by the reconcile result')
  q.shutdown()
  await done
})
