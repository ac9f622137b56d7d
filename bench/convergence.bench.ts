/**
 * Convergence of gsi-routerd (issue 10, Performance): how long a route change takes to cross the
 * gateway, per change, in milliseconds (p50, p99, max), at idle and with a background table of VPN
 * routes loaded beforehand. The daemon is the real built program as the image runs it (dist/bundle/gsi-routerd.mjs) with
 * `dataplane: none`, in a network namespace; the CN2 control node and the TGW's two BGP peers are our
 * own Session runner in namespaces of their own, which take the time an UPDATE is written and the
 * time the resulting UPDATE is read (CLOCK_MONOTONIC, shared by every process). Method:
 * bench/convergence/harness.ts.
 *
 * - CN2 -> TGW, announce: the control node announces a VPNv4 pod /32 (exposed route target) that makes
 *   an exposed CIDR go from empty to non-empty -> the computed FIB changes -> both TGW sessions read
 *   the aggregate's UPDATE. Withdraw: the last route leaves -> both read the withdrawal.
 * - TGW -> CN2: the TGW announces (withdraws) a VPC prefix -> the control node reads the VPNv4 UPDATE
 *   the daemon re-originates.
 * - "kernel route changed" is, with `dataplane: none`, the computed FIB's flush: the daemon logs it at
 *   debug level with its CLOCK_MONOTONIC time (ComputedFib, src/daemon/daemon.ts).
 *
 *   npm run build && npm run bench -- convergence
 *   CONVERGENCE_SAMPLES=200        changes per direction and kind (an announce and its withdrawal each)
 *   CONVERGENCE_SPACING_MS=30      pause between two changes
 *   CONVERGENCE_WARMUP=5           pairs per direction run first and not counted (V8 compiles on first use)
 *   CONVERGENCE_LOADS=0,100000     background VPNv4 routes per run (0 = idle)
 *   CONVERGENCE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p"   extra node flags for the daemon
 *   CONVERGENCE_REALTIME=1         daemon and peers under SCHED_FIFO (chrt -f 10): a diagnostic that takes
 *                                  the machine's other load out, to tell the daemon's delays from CPU waits
 *   CONVERGENCE_SAMPLE_TIMEOUT_MS=2000, CONVERGENCE_START_TIMEOUT_MS=30000   bounds (raise them in the VM)
 *   CONVERGENCE_WHERE="host kernel"   what the table's title says ran it ("VM, TCG: emulated" in the VM)
 *   CONVERGENCE_KEEP_LOGS=1        keep the daemon's log and config (the path is printed)
 */
import { percentile, runConvergence, SERIES, type ConvergenceResult, type SeriesName } from './convergence/harness.js'

const intEnv = (name: string, dflt: number, min: number, max: number): number => {
  const raw = process.env[name]
  const v = raw === undefined || raw === '' ? dflt : Number(raw)
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${name} ${JSON.stringify(raw)}: must be an integer ${min}..${max}`)
  return v
}
const samples = intEnv('CONVERGENCE_SAMPLES', 200, 1, 250)
const spacingMs = intEnv('CONVERGENCE_SPACING_MS', 30, 0, 10_000)
const warmup = intEnv('CONVERGENCE_WARMUP', 5, 0, 50)
const realtime = process.env.CONVERGENCE_REALTIME === '1'
const sampleTimeoutMs = intEnv('CONVERGENCE_SAMPLE_TIMEOUT_MS', 2000, 100, 600_000)
const startTimeoutMs = intEnv('CONVERGENCE_START_TIMEOUT_MS', 30_000, 1000, 3_600_000)
const where = process.env.CONVERGENCE_WHERE ?? 'host kernel'
const daemonNodeArgs = (process.env.CONVERGENCE_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)
const loads = (process.env.CONVERGENCE_LOADS ?? '0,100000').split(',').map((x) => x.trim()).filter(Boolean).map((x) => {
  const n = Number(x)
  if (!Number.isInteger(n) || n < 0 || n > 1_000_000) throw new RangeError(`CONVERGENCE_LOADS: ${JSON.stringify(x)} is not an integer 0..1000000`)
  return n
})

const LABEL: Record<SeriesName, string> = {
  'cn2-announce-fib': 'CN2 announce -> FIB changed',
  'cn2-announce-tgw-first': 'CN2 announce -> first TGW session reads the aggregate',
  'cn2-announce-tgw': 'CN2 announce -> both TGW sessions read the aggregate',
  'cn2-withdraw-fib': 'CN2 withdraw -> FIB changed',
  'cn2-withdraw-tgw-first': 'CN2 withdraw -> first TGW session reads the withdrawal',
  'cn2-withdraw-tgw': 'CN2 withdraw -> both TGW sessions read the withdrawal',
  'tgw-announce-fib': 'TGW announce -> FIB changed',
  'tgw-announce-cn2': 'TGW announce -> control node reads the VPNv4 route',
  'tgw-withdraw-fib': 'TGW withdraw -> FIB changed',
  'tgw-withdraw-cn2': 'TGW withdraw -> control node reads the withdrawal',
}

const results: ConvergenceResult[] = []
let failed = false
for (const load of loads) {
  try {
    results.push(await runConvergence({ samples, spacingMs, load, warmup, daemonNodeArgs, realtime, sampleTimeoutMs, startTimeoutMs, log: (l) => console.error(`  ${l}`) }))
  } catch (e) {
    failed = true
    console.error(`  load ${load}: FAILED: ${(e as Error).message}`)
  }
}

const ms = (v: number): string => (Number.isNaN(v) ? '-' : v.toFixed(2))
const cond = (r: ConvergenceResult): string => (r.load === 0 ? 'idle' : `${r.load.toLocaleString('en-US')} VPN routes loaded`)
console.log(`Convergence of gsi-routerd (dataplane none, ${where}${realtime ? ', daemon and peers under SCHED_FIFO' : ''}), ${samples} changes per row, ${spacingMs} ms apart, after ${warmup} uncounted pairs per direction; ms from the UPDATE written by one peer to the result (p50 / p99 / max). Target: p99 < 10 ms at idle.\n`)
console.log(`| Change | ${results.map((r) => `${cond(r)}: p50 | p99 | max | missed`).join(' | ')} |`)
console.log(`|---|${results.map(() => '---:|---:|---:|---:').join('|')}|`)
for (const s of SERIES) {
  console.log(`| ${LABEL[s]} | ${results.map((r) => {
    const x = r.series[s]
    return `${ms(percentile(x.ms, 50))} | ${ms(percentile(x.ms, 99))} | ${ms(percentile(x.ms, 100))} | ${x.missed}`
  }).join(' | ')} |`)
}
for (const r of results) {
  if (r.load > 0) console.log(`\n${r.load.toLocaleString('en-US')} VPNv4 routes loaded in ${r.loadSeconds.toFixed(2)} s (computed FIB: ${r.fibRoutes.toLocaleString('en-US')} routes)`)
  const idle = r.load === 0 ? r.series['cn2-announce-tgw'] : undefined
  if (idle !== undefined) {
    const p99 = Math.max(percentile(r.series['cn2-announce-tgw'].ms, 99), percentile(r.series['cn2-withdraw-tgw'].ms, 99))
    console.log(`\nIdle CN2 -> TGW p99 (announce and withdraw, both sessions): ${ms(p99)} ms: ${p99 < 10 ? 'meets' : 'MISSES'} the 10 ms target`)
  }
  const missed = SERIES.reduce((a, s) => a + r.series[s].missed, 0) + r.warmupMissed
  if (missed > 0) {
    failed = true
    console.log(`\n${cond(r)}: ${missed} samples not observed within the time limit`)
  }
}
process.exit(failed ? 1 : 0)
