/**
 * Tables that grow ahead of need, one array per turn of the event loop (StagedGrowth in
 * bgp/rib/grow.ts): the RIB's tables and the gateway's PrefixTable lose nothing written while their
 * arrays grow in stages, the growth starts before the room is needed and ends without any insert
 * asking for it, and a table that fills faster than the turns pass grows at once.
 */
import t from 'tap'
import { Rib } from '../../bgp/rib/rib.js'
import { Family } from '../../bgp/codec/afi.js'
import type { Nlri } from '../../bgp/codec/nlri.js'
import { PrefixTable, grownInt32 } from '../../src/gateway/prefix-table.js'

const turn = (): Promise<void> => new Promise((r) => setImmediate(r))
const N = 300_000

function prefixOf(i: number): Uint8Array {
  return new Uint8Array([10, (i >>> 16) & 255, (i >>> 8) & 255, i & 255])
}

t.test('RIB: 300,000 routes from two peers, turns passing while the arrays grow, nothing lost', async (t) => {
  const r = new Rib({ localAs: 65000, routerId: 1 })
  const p = r.addPeer({ address: '192.0.2.1', asn: 65001, routerId: 2, ebgp: true })
  const q = r.addPeer({ address: '192.0.2.2', asn: 65002, routerId: 3, ebgp: true })
  const attrs = (asn: number): { attrs: { origin: 0; asPath: { type: 2; asns: number[] }[] }; nextHop: string } => ({ attrs: { origin: 0, asPath: [{ type: 2, asns: [asn] }] }, nextHop: asn === 65001 ? '192.0.2.1' : '192.0.2.2' })
  const n = (i: number): Nlri => ({ family: Family.Ipv4Unicast, prefix: prefixOf(i), length: 32 })
  for (let i = 0; i < N; i++) {
    r.announce(p, n(i), attrs(65001))
    // the second peer on every third prefix: paths outnumber destinations
    if (i % 3 === 0) r.announce(q, n(i), attrs(65002))
    if (i % 4000 === 0) {
      r.commit()
      await turn()
    }
  }
  r.commit()
  const tb = r.table(Family.Ipv4Unicast)
  t.equal(tb.size, N, 'every destination')
  t.same(r.counts(p, Family.Ipv4Unicast).accepted, N)
  t.same(r.counts(q, Family.Ipv4Unicast).accepted, N / 3)
  let missing = 0
  for (let i = 0; i < N; i++) {
    const d = tb.lookup(`10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}/32`)
    if (d < 0 || tb.best(d) === undefined) missing++
  }
  t.equal(missing, 0, 'each found, with a best path')
  t.equal(r.withdrawAll(p), N, 'withdrawn by the first peer: all of its paths are there to withdraw')
  r.commit()
  t.equal(tb.size, N / 3, "the second peer's destinations remain")
})

t.test('PrefixTable: grows ahead in stages, its owners\' arrays last, nothing lost', async (t) => {
  const pt = new PrefixTable(4)
  let owner: Int32Array = new Int32Array(0)
  const grows: number[] = []
  pt.onGrow = (cap) => {
    grows.push(cap)
    owner = grownInt32(owner, cap)
  }
  const put = (i: number): number => {
    pt.key[0] = (0x0a000000 | i) >>> 0
    const id = pt.insert(32)
    owner[id] = i + 7
    return id
  }
  // fill to just under three quarters of a capacity of 131,072 ids without a turn passing
  let i = 0
  while (pt.capacity < 131072) put(i++)
  while (i < 131072 - 131072 / 4) put(i++)
  t.equal(pt.capacity, 131072)
  put(i++)
  t.equal(pt.capacity, 131072, 'three quarters full: the growth has begun, the capacity not yet')
  const before = grows.length
  for (let k = 0; k < 6; k++) await turn()
  t.equal(pt.capacity, 262144, 'a few turns later it has doubled, though no insert needed the room')
  t.equal(grows.length, before + 1, 'the owners grew once, at the end')
  // the rest: far faster than turns pass (each stage is overtaken by need) and with turns
  for (; i < N; i++) {
    put(i)
    if (i % 5000 === 0) await turn()
  }
  for (let k = 0; k < 6; k++) await turn()
  t.equal(pt.size, N)
  let bad = 0
  for (let j = 0; j < N; j++) {
    pt.key[0] = (0x0a000000 | j) >>> 0
    const id = pt.find(32)
    if (id < 0 || owner[id] !== j + 7) bad++
  }
  t.equal(bad, 0, 'every prefix found, its owner\'s value intact')
})

t.test('PrefixTable: filled faster than the turns pass, it grows at once', async (t) => {
  const pt = new PrefixTable(4)
  for (let i = 0; i < N; i++) {
    pt.key[0] = (0x0b000000 | i) >>> 0
    pt.insert(32)
  }
  t.equal(pt.size, N)
  t.ok(pt.capacity >= N, `capacity ${pt.capacity}`)
  let bad = 0
  for (let j = 0; j < N; j += 7) {
    pt.key[0] = (0x0b000000 | j) >>> 0
    if (pt.find(32) < 0) bad++
  }
  t.equal(bad, 0)
})
