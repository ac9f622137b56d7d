/**
 * The ingest benchmark's harness (bench/ingest/) at CI size, so it cannot rot: 20,000 IPv4 routes
 * from the injector to our receiver (bgp/session + bgp/rib) and to BIRD, each in its own pair of
 * network namespaces. What is asserted is behaviour, not how plausible a timing looks (a timing at
 * this size says nothing): every route arrives, is accepted and counted by the receiver's own
 * means (our table, birdc), in the expected number of packed UPDATEs and attribute sets; BIRD's
 * resident memory, read from its own pid, grows with the routes it holds; the namespaces go in every
 * case. A cell whose receiver ends up short of routes must fail (the injector sends fewer than
 * announced), and the busy-end rule is checked on made-up /proc samples.
 */
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { runCell } from '../../bench/ingest/harness.js'
import { findBusyEnd, QUIET_MS, SAMPLE_MS, type Sample } from '../../bench/ingest/proc.js'
import { scenario } from '../../bench/ingest/scenario.js'

const ROUTES = 20_000

function nsNames(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`gsib-${process.pid}-`))
}

t.test('busy-end: the first sample at the CPU count where a quiet window begins', async (t) => {
  const samples: Sample[] = []
  // idle until 100 ms, busy (a tick every sample) until 600 ms, then idle with one stray tick
  let ticks = 50
  for (let ms = 0; ms <= 600 + QUIET_MS + 500; ms += SAMPLE_MS) {
    if (ms > 100 && ms <= 600) ticks++
    if (ms === 1200) ticks++
    samples.push({ t: ms, ticks })
  }
  const end = findBusyEnd(samples, 100, 300)
  t.ok(end, 'found')
  t.equal(end?.t, 600, 'busy-end at the last busy sample')
  t.equal((end?.ticks ?? 0) - 50, 20, 'CPU ticks counted')
  t.equal(findBusyEnd(samples.filter((s) => s.t <= 1000), 100, 300), undefined, 'no quiet window yet: undefined')
})

t.test('our receiver: 20,000 IPv4 routes, all in Loc-RIB, measured', async (t) => {
  const r = await runCell('ours', scenario('ipv4', ROUTES), { timeoutMs: 60_000, settleMs: 300 })
  t.equal(r.count, ROUTES, 'table size')
  t.equal(r.ours?.received, ROUTES, 'Adj-RIB-In count')
  t.equal(r.ours?.accepted, ROUTES, 'every route accepted')
  t.equal(r.ours?.attributeSets, ROUTES / 1000, 'one attribute set per 1,000 prefixes')
  t.equal(r.messages, 20, '20 packed UPDATEs of 4,096 bytes at most')
  t.comment(`figures at this size are not checked: busy-end ${r.seconds} s, CPU ${r.cpuSeconds} s, ${r.bytesPerRoute.toFixed(0)} B/route`)
  t.same(nsNames(), [], 'namespaces removed')
})

t.test('BIRD: 20,000 IPv4 routes counted by birdc', async (t) => {
  const r = await runCell('bird', scenario('ipv4', ROUTES), { timeoutMs: 60_000, settleMs: 300 })
  t.equal(r.count, ROUTES, 'birdc count')
  t.equal(r.messages, 20, '20 packed UPDATEs of 4,096 bytes at most')
  t.ok(r.rssAfterKb > r.rssBeforeKb, `BIRD's resident memory grew with its table (${r.rssBeforeKb} -> ${r.rssAfterKb} KiB)`)
  t.same(nsNames(), [], 'namespaces removed')
})

t.test('a receiver short of routes fails the cell', async (t) => {
  await t.rejects(runCell('bird', scenario('ipv4', ROUTES), { timeoutMs: 60_000, settleMs: 300, sendRoutes: ROUTES - 1000 }), /19000 of 20000 routes/)
  t.same(nsNames(), [], 'namespaces removed after a failure')
})
