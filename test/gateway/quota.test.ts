/**
 * The TGW quota guard (src/gateway/quota.ts): whatever order candidates arrive and leave in, the
 * admitted set is the `limit` smallest keys, and the sink saw exactly the changes that lead there.
 */
import t from 'tap'
import fc from 'fast-check'
import { QuotaGuard } from '../../src/gateway/quota.js'

class Recorder {
  readonly on = new Set<string>()
  admit(k: string): void {
    if (this.on.has(k)) throw new Error(`admitted twice: ${k}`)
    this.on.add(k)
  }
  evict(k: string): void {
    if (!this.on.delete(k)) throw new Error(`evicted while not admitted: ${k}`)
  }
}

const smallest = (keys: Iterable<string>, n: number): string[] => [...keys].sort().slice(0, n)

t.test('admits up to the limit, refuses the excess, reports it once', async (t) => {
  const r = new Recorder()
  const q = new QuotaGuard(2, r)
  for (const k of ['c', 'a', 'd']) q.add(k)
  t.same(q.settle(), ['d'], 'd refused: c and a are smaller')
  t.same([...r.on].sort(), ['a', 'c'])
  q.add('b')
  t.same(q.settle(), ['c'], 'b enters, c (the largest admitted) is evicted and refused')
  t.same([...r.on].sort(), ['a', 'b'])
  t.same(q.refusedKeys(), ['c', 'd'])
  q.remove('a')
  t.same(q.settle(), [], 'a hole is filled without new refusals')
  t.same([...r.on].sort(), ['b', 'c'], 'the smallest refused key fills the hole')
  t.same(q.status(), { limit: 2, candidates: 3, admitted: 2, refused: 1, refusals: 2 }, "d refused at first, c when evicted")
})

t.test('a key above every admitted one waits while a hole is open, and the order holds after settle', async (t) => {
  const r = new Recorder()
  const q = new QuotaGuard(2, r)
  for (const k of ['a', 'b', 'c', 'd']) q.add(k)
  q.settle()
  q.remove('a')
  q.add('e') // 'c' and 'd' are refused and smaller than 'e': 'e' must not take the hole
  q.settle()
  t.same([...r.on].sort(), ['b', 'c'])
  t.same(q.refusedKeys(), ['d', 'e'])
})

t.test('limit 0 admits nothing', async (t) => {
  const r = new Recorder()
  const q = new QuotaGuard(0, r)
  q.add('a')
  t.same(q.settle(), ['a'])
  t.equal(r.on.size, 0)
  t.throws(() => new QuotaGuard(-1, r), /maxPrefixesAdvertised: -1/)
})

t.test('property: after any sequence of adds and removes, admitted = the limit smallest candidates', async (t) => {
  const op = fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 40 }))
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 12 }), fc.array(fc.array(op, { maxLength: 15 }), { maxLength: 12 }), (limit, batches) => {
      const r = new Recorder()
      const q = new QuotaGuard(limit, r)
      const live = new Set<string>()
      for (const batch of batches) {
        for (const [add, n] of batch) {
          const k = `k${String(n).padStart(3, '0')}`
          if (add) { q.add(k); live.add(k) } else { q.remove(k); live.delete(k) }
        }
        q.settle()
        const want = smallest(live, limit)
        if (JSON.stringify([...r.on].sort()) !== JSON.stringify(want)) return false
        if (q.status().refused !== live.size - want.length) return false
      }
      return true
    }),
    { numRuns: 2000 },
  )
  t.pass('2,000 random sequences')
})

t.test('property: two guards fed the same candidates in different orders admit the same set', async (t) => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 5000 }), { maxLength: 80 }), fc.integer({ min: 1, max: 30 }), fc.integer(), (ns, limit, seed) => {
      const keys = ns.map((n) => `k${String(n).padStart(5, '0')}`)
      const shuffled = [...keys]
      let s = seed >>> 0
      for (let i = shuffled.length - 1; i > 0; i--) {
        s = (s * 1103515245 + 12345) >>> 0
        const j = s % (i + 1)
        ;[shuffled[i], shuffled[j]] = [shuffled[j] as string, shuffled[i] as string]
      }
      const [r1, r2] = [new Recorder(), new Recorder()]
      const [q1, q2] = [new QuotaGuard(limit, r1), new QuotaGuard(limit, r2)]
      keys.forEach((k, i) => { q1.add(k); if (i % 7 === 0) q1.settle() })
      shuffled.forEach((k, i) => { q2.add(k); if (i % 3 === 0) q2.settle() })
      q1.settle()
      q2.settle()
      return JSON.stringify([...r1.on].sort()) === JSON.stringify([...r2.on].sort()) && JSON.stringify(q1.refusedKeys()) === JSON.stringify(q2.refusedKeys())
    }),
    { numRuns: 1000 },
  )
  t.pass('1,000 random candidate sets')
})
