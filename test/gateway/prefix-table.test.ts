/**
 * src/gateway/prefix-table.ts against a Map of prefix text: random inserts and deletes over a small
 * address space (so runs of the hash table collide, wrap around and shift back on deletion), for
 * IPv4 and IPv6; ids reused after deletion; text canonical; scan() refusing the other family.
 */
import t from 'tap'
import fc from 'fast-check'
import { PrefixTable } from '../../src/gateway/prefix-table.js'

function textOf(family: 4 | 6, w: readonly number[], length: number): string {
  if (family === 4) return `${w[0]! >>> 24}.${(w[0]! >>> 16) & 255}.${(w[0]! >>> 8) & 255}.${w[0]! & 255}/${length}`
  const groups: string[] = []
  for (const x of w) groups.push((x >>> 16).toString(16), (x & 0xffff).toString(16))
  return `${groups.join(':')}/${length}`
}

for (const family of [4, 6] as const) {
  t.test(`IPv${family}: random inserts and deletes agree with a Map`, async (t) => {
    const op = fc.record({ del: fc.boolean(), n: fc.integer({ min: 0, max: 300 }), len: family === 4 ? fc.constantFrom(24, 32) : fc.constantFrom(120, 128) })
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 3000 }), (ops) => {
        const pt = new PrefixTable(family)
        const model = new Map<string, number>()
        const ids = new Set<number>()
        for (const { del, n, len } of ops) {
          // Addresses in one /16 (IPv4) or one /112 (IPv6): neighbours, as pods are numbered.
          const words = family === 4 ? [(0x0af40000 | (n << 8)) >>> 0] : [0xfd000244, 0, 0, n << 8]
          words.forEach((w, i) => (pt.key[i] = w))
          const key = textOf(family, words, len)
          if (del) {
            const id = pt.find(len)
            if ((id >= 0) !== model.has(key)) return false
            if (id >= 0) {
              if (model.get(key) !== id) return false
              pt.delete(id)
              model.delete(key)
              ids.delete(id)
            }
          } else {
            const id = pt.insert(len)
            if (pt.added === model.has(key)) return false
            if (pt.added) {
              if (ids.has(id)) return false // an id in use given out again
              ids.add(id)
              model.set(key, id)
            } else if (model.get(key) !== id) return false
          }
        }
        if (pt.size !== model.size) return false
        for (const [key, id] of model) {
          if (pt.scan(key) < 0 || pt.find(pt.scan(key)) !== id || !pt.has(id)) return false
        }
        let seen = 0
        pt.forEach(() => seen++)
        return seen === model.size
      }),
      { numRuns: 200, seed: 20261206 },
    )
    t.pass('every operation agreed')
  })
}

t.test('text is canonical; scan masks host bits and refuses the other family', async (t) => {
  const v4 = new PrefixTable(4)
  t.equal(v4.scan('10.244.1.7/24'), 24)
  const id = v4.insert(24)
  t.equal(v4.text(id), '10.244.1.0/24', 'host bits zeroed')
  t.equal(v4.scan('fd00::/64'), -1, 'IPv6 is not of an IPv4 table')
  t.equal(v4.scan('10.0.0.0'), -1, 'no length')
  const v6 = new PrefixTable(6)
  v6.scan('FD00:0244:0:0::1/128')
  t.equal(v6.text(v6.insert(128)), 'fd00:244::1/128', 'RFC 5952 text')
  // Ids come back after deletion, and 100,000 prefixes grow and rehash the table.
  for (let i = 0; i < 100_000; i++) {
    v4.key[0] = (0x0a000000 + i) >>> 0
    v4.insert(32)
  }
  t.equal(v4.size, 100_001)
  v4.key[0] = 0x0a000005
  const five = v4.find(32)
  v4.delete(five)
  t.equal(v4.find(32), -1)
  t.equal(v4.size, 100_000)
  v4.key[0] = 0x0b000000
  t.equal(v4.insert(32), five, 'the freed id is given out again')
  let found = 0
  for (let i = 0; i < 100_000; i++) {
    v4.key[0] = (0x0a000000 + i) >>> 0
    if (v4.find(32) >= 0) found++
  }
  t.equal(found, 99_999, 'every other prefix still found after growth and a deletion')
})
