/**
 * bench/daemon.bench.ts's harness at CI size, so it cannot rot: 2,000 VPN-IPv4 routes from the
 * injector (the CN2 control node) into the real built gsi-routerd (dist/bundle/, dataplane none), with two
 * BIRD processes as the TGW peers, each cell in namespaces of its own. What is asserted is behaviour,
 * never a timing (meaningless at this size): every route is accepted, the computed FIB holds one route
 * per prefix plus the TGW's VPC route, the TGW peers hold what the gateway advertises (by their own
 * birdc), the quota caps more-specifics at 1,000, the CLI probe gets its answers, a short count voids
 * the cell, and the namespaces go in every case. Needs `npm run build` (the daemon under test is the
 * built program).
 */
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { runCell } from '../../bench/ingest/harness.js'
import { scenario } from '../../bench/ingest/scenario.js'
import { CliProbe, expectedAdvertised, routerdStarter, type RouterdHandle } from '../../bench/daemon/routerd.js'

const ROUTES = 2000
const s = scenario('vpnv4', ROUTES)

function nsNames(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`gsib-${process.pid}-`))
}

t.test('expected advertisement: the exposed CIDRs holding routes, or the quota with more-specifics', async (t) => {
  // 2,000 routes: /32s in 10.0.0.0/8 and /24s in 20.0.0.0/6 (bench/ingest/scenario.ts)
  t.equal(expectedAdvertised(s, {}), 2, 'two aggregates')
  t.equal(expectedAdvertised(s, { advertiseMoreSpecifics: true, maxPrefixesAdvertised: 1000 }), 1000, 'capped by the quota')
  t.equal(expectedAdvertised(scenario('vpnv4', 10), { advertiseMoreSpecifics: true }), 12, 'below the quota: aggregates and every route')
})

t.test('ingest: 2,000 VPN routes imported, the FIB computed, the aggregates at both TGW peers', async (t) => {
  let h: RouterdHandle | undefined
  const r = await runCell('gsi-routerd', s, { timeoutMs: 60_000, settleMs: 300, injectorListens: true, startReceiver: routerdStarter({ onStart: (x) => { h = x } }) })
  t.equal(r.count, ROUTES, 'every route accepted from the control node (gsictl --json)')
  t.same(h?.checked, { cn2Accepted: ROUTES, fibRoutes: ROUTES + 1, tgwAdvertised: 2, tgwBird: [2, 2] }, 'FIB: each prefix and the VPC route; two aggregates at each TGW peer (birdc)')
  t.equal(r.messages, 8, '8 packed UPDATEs of 4,096 bytes at most')
  t.ok(r.rssAfterKb > 0 && r.peakRssKb >= r.rssAfterKb, `RSS read from the daemon's pid (${r.rssAfterKb} KiB, peak ${r.peakRssKb} KiB)`)
  t.comment(`figures at this size are not checked: busy-end ${r.seconds} s, CPU ${r.cpuSeconds} s`)
  t.same(nsNames(), [], 'namespaces removed (the TGW one too)')
})

t.test('memory cell: more-specifics fill the quota of 1,000 at both TGW peers', async (t) => {
  let h: RouterdHandle | undefined
  const r = await runCell('gsi-routerd', s, {
    timeoutMs: 60_000, settleMs: 300, injectorListens: true,
    startReceiver: routerdStarter({ advertiseMoreSpecifics: true, maxPrefixesAdvertised: 1000, onStart: (x) => { h = x } }),
  })
  t.equal(r.count, ROUTES, 'every route accepted')
  t.same(h?.checked?.tgwBird, [1000, 1000], 'each TGW peer holds 1,000 prefixes (birdc)')
  t.equal(h?.checked?.tgwAdvertised, 1000, 'the gateway reports 1,000 advertised')
})

t.test('CLI probe: show.bgp.summary answered during the ingest until the table is complete', async (t) => {
  let probe: CliProbe | undefined
  let socket = ''
  const r = await runCell('gsi-routerd', s, {
    timeoutMs: 60_000, settleMs: 300, injectorListens: true,
    startReceiver: routerdStarter({ onStart: (x) => { socket = x.socket } }),
    onGo: () => { probe = new CliProbe(socket, ROUTES, ROUTES + 1, 50); probe.start() },
    endAt: () => (probe?.finished === true ? probe.fibCompleteAt : undefined),
  })
  const p = probe as CliProbe
  t.equal(r.count, ROUTES, 'every route accepted')
  t.same(p.errors, [], 'no query failed')
  t.ok(p.allAcceptedAt !== undefined && p.fibCompleteAt !== undefined && p.fibCompleteAt >= p.allAcceptedAt, 'the probe saw every route accepted, then the FIB complete')
  const q = p.summary()
  t.ok(q.n >= 2, `answers timed (${q.n})`)
  t.ok(q.p50 > 0 && q.p50 <= q.p99 && q.p99 <= q.max, `p50 ${q.p50.toFixed(1)} <= p99 ${q.p99.toFixed(1)} <= max ${q.max.toFixed(1)} ms`)
  t.same(nsNames(), [], 'namespaces removed')
})

t.test('a daemon short of routes voids the cell', async (t) => {
  await t.rejects(
    runCell('gsi-routerd', s, { timeoutMs: 60_000, settleMs: 300, injectorListens: true, sendRoutes: ROUTES - 100, startReceiver: routerdStarter() }),
    /control node: 1900 of 2000 routes accepted; computed FIB: 1901 routes, not 2001/,
  )
  t.same(nsNames(), [], 'namespaces removed after a failure')
})
