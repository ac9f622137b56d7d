/**
 * The convergence benchmark's harness (bench/convergence/) at CI size, so it cannot rot: gsi-routerd
 * (from source here; the benchmark runs the built program) between our control node and TGW peers in
 * namespaces of their own, 10 changes per direction and kind, no background table. What is asserted is
 * behaviour, not how plausible a timing looks: every change is observed where it must be (both TGW
 * sessions, the control node, the daemon's FIB line), each FIB change comes before the UPDATE it
 * causes is read (one clock for every process), a daemon that never advertises the aggregate shows
 * up as missed samples rather than numbers, and the namespaces go in every case.
 */
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { percentile, runConvergence, SERIES } from '../../bench/convergence/harness.js'

const SAMPLES = 10

function nsNames(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`gsicv`) && n.includes(`${process.pid % 100000}x`))
}

t.test('percentile: nearest rank', async (t) => {
  const v = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6]
  t.equal(percentile(v, 50), 5)
  t.equal(percentile(v, 99), 10)
  t.equal(percentile(v, 100), 10)
  t.equal(percentile(v, 0), 1)
  t.ok(Number.isNaN(percentile([], 50)), 'no samples: NaN, never 0')
})

t.test('every change observed, both directions', async (t) => {
  const r = await runConvergence({ samples: SAMPLES, spacingMs: 20, load: 0, warmup: 2 })
  t.equal(r.warmupMissed, 0, 'warm-up changes observed too')
  for (const s of SERIES) {
    t.equal(r.series[s].missed, 0, `${s}: nothing missed`)
    t.equal(r.series[s].ms.length, SAMPLES, `${s}: ${SAMPLES} samples`)
    t.ok(r.series[s].ms.every((x) => Number.isFinite(x) && x > 0), `${s}: positive times`)
  }
  for (const [fib, far] of [['cn2-announce-fib', 'cn2-announce-tgw-first'], ['cn2-withdraw-fib', 'cn2-withdraw-tgw-first'], ['tgw-announce-fib', 'tgw-announce-cn2'], ['tgw-withdraw-fib', 'tgw-withdraw-cn2']] as const) {
    const a = r.series[fib].ms
    const b = r.series[far].ms
    t.ok(a.every((x, i) => x < (b[i] as number)), `${fib} before ${far} in every sample (the FIB is written before the UPDATE leaves)`)
  }
  for (const [first, both] of [['cn2-announce-tgw-first', 'cn2-announce-tgw'], ['cn2-withdraw-tgw-first', 'cn2-withdraw-tgw']] as const) {
    t.ok(r.series[first].ms.every((x, i) => x <= (r.series[both].ms[i] as number)), `${first} <= ${both}`)
  }
  t.comment(`figures at this size are not checked: CN2 -> TGW announce p50 ${percentile(r.series['cn2-announce-tgw'].ms, 50).toFixed(2)} ms`)
  t.same(nsNames(), [], 'namespaces removed')
})

t.test('an aggregate that never comes is counted as missed, not timed', async (t) => {
  const r = await runConvergence({ samples: 2, spacingMs: 10, load: 0, warmup: 0, sampleTimeoutMs: 500, exposeProbeCidr: false })
  for (const s of ['cn2-announce-tgw-first', 'cn2-announce-tgw', 'cn2-withdraw-tgw-first', 'cn2-withdraw-tgw'] as const) {
    t.equal(r.series[s].missed, 2, `${s}: both missed`)
    t.same(r.series[s].ms, [], `${s}: no number`)
  }
  t.equal(r.series['cn2-announce-fib'].missed, 0, 'the pod route still reaches the FIB (its route target is exposed)')
  t.equal(r.series['tgw-announce-cn2'].missed, 0, 'the other direction is unaffected')
  t.same(nsNames(), [], 'namespaces removed')
})
