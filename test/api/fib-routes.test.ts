/**
 * The FIB listing's page selection (src/api/fib-routes.ts): pages picked while the routes stream by
 * must be exactly what sorting and filtering the whole list gives. The reference here is that naive
 * way, over random FIBs of IPv4 and IPv6 routes in several tables, with every filter and cursor.
 */
import t from 'tap'
import { fibCursor, fibRoutePage } from '../../src/api/fib-routes.js'
import type { FibQuery, FibRouteView } from '../../src/api/view.js'
import { parsePrefix, prefixContains, tryParseAddress, type IpPrefix } from '../../src/lib/address.js'

/** A deterministic generator (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

function randomPrefix(r: () => number): string {
  if (r() < 0.2) {
    const len = Math.floor(r() * 129)
    const words = Array.from({ length: 8 }, () => Math.floor(r() * 65536))
    const p = parsePrefix(`${words.map((w) => w.toString(16)).join(':')}/128`, 'p')
    const bytes = p.bytes.slice()
    for (let i = 0; i < 16; i++) {
      const keep = Math.max(0, Math.min(8, len - i * 8))
      bytes[i] = (bytes[i] as number) & ((0xff << (8 - keep)) & 0xff)
    }
    const hex = Array.from({ length: 8 }, (_, i) => (((bytes[2 * i] as number) << 8) | (bytes[2 * i + 1] as number)).toString(16))
    return parsePrefix(`${hex.join(':')}/${len}`, 'p').text
  }
  const len = [0, 8, 9, 16, 24, 24, 24, 31, 32, 32][Math.floor(r() * 10)] as number
  const addr = Math.floor(r() * 2 ** 32)
  const net = len === 0 ? 0 : addr - (addr % 2 ** (32 - len))
  return `${Math.floor(net / 16777216)}.${Math.floor(net / 65536) % 256}.${Math.floor(net / 256) % 256}.${net % 256}/${len}`
}

function cmp(a: FibRouteView, b: FibRouteView): number {
  if (a.table !== b.table) return a.table - b.table
  const pa = parsePrefix(a.prefix, 'a')
  const pb = parsePrefix(b.prefix, 'b')
  if (pa.family !== pb.family) return pa.family - pb.family
  for (let i = 0; i < pa.bytes.length; i++) {
    const d = (pa.bytes[i] as number) - (pb.bytes[i] as number)
    if (d !== 0) return d
  }
  return pa.length - pb.length
}

/** The naive page: filter everything, sort everything, cut. */
function reference(routes: FibRouteView[], q: FibQuery): { routes: FibRouteView[]; next?: string } {
  const limit = q.limit ?? 1000
  let after: FibRouteView | undefined
  if (q.after !== undefined) {
    const [table, prefix] = q.after.split(' ')
    after = { table: Number(table), prefix: prefix as string, nexthops: [] }
  }
  const all = routes.filter((r) => {
    if (q.table !== undefined && r.table !== q.table) return false
    if (q.prefix !== undefined) {
      const p = parsePrefix(r.prefix, 'r')
      if (q.prefix.includes('/')) { if (cmp(r, { table: r.table, prefix: q.prefix, nexthops: [] }) !== 0) return false }
      else if (!prefixContains(p, tryParseAddress(q.prefix) as NonNullable<ReturnType<typeof tryParseAddress>>)) return false
    }
    return after === undefined || cmp(r, after) > 0
  }).sort(cmp)
  const page = all.slice(0, limit)
  const last = page[page.length - 1]
  return { routes: page, ...(all.length > limit && last !== undefined ? { next: fibCursor(last) } : {}) }
}

t.test('pages picked from a stream are the naive sort-filter-cut, for every filter and cursor', async (t) => {
  let cases = 0
  for (let seed = 1; seed <= 15; seed++) {
    const r = rng(seed)
    const seen = new Set<string>()
    const routes: FibRouteView[] = []
    const n = 1 + Math.floor(r() * 300)
    for (let i = 0; i < n; i++) {
      const table = [100, 100, 100, 7, 4_000_000_000][Math.floor(r() * 5)] as number
      const prefix = randomPrefix(r)
      if (seen.has(`${table} ${prefix}`)) continue
      seen.add(`${table} ${prefix}`)
      routes.push({ table, prefix, nexthops: [{ kind: 'gre', via: '169.254.6.2', dev: 'gsi-gre-a', weight: 1 }] })
    }
    const pick = routes[Math.floor(r() * routes.length)] as FibRouteView
    const inside = parsePrefix(pick.prefix, 'p') as IpPrefix
    const queries: FibQuery[] = [
      {}, { limit: 1 }, { limit: 7 }, { limit: 10_000 }, { table: 100, limit: 5 }, { table: 12345 },
      { prefix: pick.prefix }, { prefix: inside.text.split('/')[0] as string, limit: 3 },
      { after: fibCursor(pick), limit: 11 }, { table: pick.table, after: fibCursor(pick) },
    ]
    for (const q of queries) {
      // walk every page: the cursor of one is the start of the next
      let query: FibQuery = q
      for (let pages = 0; pages < 200; pages++) {
        const got = fibRoutePage(routes, query)
        const want = reference(routes, query)
        cases++
        if (JSON.stringify(got) !== JSON.stringify(want)) {
          t.same(got, want, `seed ${seed}, query ${JSON.stringify(query)}`)
          return
        }
        if (got.next === undefined || q.limit === 10_000) break
        query = { ...q, after: got.next }
      }
    }
  }
  t.ok(cases > 300, `${cases} pages compared with the naive way`)
})

t.test('numeric order, not text: 10.9.0.0/16 before 10.10.0.0/16, a shorter prefix first', async (t) => {
  const routes = ['10.10.0.0/16', '10.9.0.0/16', '10.9.0.0/24', '10.0.0.0/8', '0.0.0.0/0', '::/0', '9.255.255.255/32', '10.9.0.0/8']
    .map((prefix): FibRouteView => ({ table: 100, prefix, nexthops: [] }))
  t.same(fibRoutePage(routes, {}).routes.map((r) => r.prefix), ['0.0.0.0/0', '9.255.255.255/32', '10.0.0.0/8', '10.9.0.0/16', '10.9.0.0/24', '10.10.0.0/16', '::/0'], 'and 10.9.0.0/8, with host bits, is no prefix: left out')
  t.same(fibRoutePage(routes, { prefix: '10.9.0.7' }).routes.map((r) => r.prefix), ['0.0.0.0/0', '10.0.0.0/8', '10.9.0.0/16', '10.9.0.0/24'], 'the routes holding an address')
})

t.test('a bad cursor or prefix names the parameter', async (t) => {
  t.throws(() => fibRoutePage([], { after: 'x' }), /params\.after: "x" is not a FIB cursor/)
  t.throws(() => fibRoutePage([], { prefix: '10.0.0.1/8' }), /params\.prefix: "10\.0\.0\.1\/8" is not a prefix/)
  t.throws(() => fibRoutePage([], { prefix: 'ten' }), /params\.prefix: "ten" is not an IP address/)
})
