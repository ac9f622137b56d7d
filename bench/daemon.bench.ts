/**
 * Whole-daemon benchmarks of issue 10 (Performance; convergence is bench/convergence.bench.ts): the
 * real built gsi-routerd as the image runs it (dist/bundle/gsi-routerd.mjs, `dataplane: none`: the gateway logic imports
 * every route and computes the FIB, nothing is programmed) with an injector acting as the CN2 control
 * node and two BIRD processes as the Transit Gateway's BGP peers (bench/daemon/routerd.ts), measured
 * by the ingest harness (bench/ingest/, the method of docs/benchmarks.md) in the same run as BIRD's
 * RIB-only cell on the same scenario, so the ratios compare like with like:
 *
 * 1. ingest: 500,000 VPN-IPv4 routes (RD, label, route target, RFC 9012 encapsulation) whose route
 *    targets the daemon exposes: busy-end seconds (first UPDATE -> CPU idle) and CPU seconds (utime +
 *    stime from /proc) beside BIRD; the daemon's counts are checked through gsictl --json (every route
 *    accepted, one FIB route per prefix, the aggregates advertised and held by both TGW peers);
 * 2. memory: VmRSS after the ingest settles and VmHWM with 32,000 VPN routes and 1,000 prefixes to the
 *    TGW (advertiseMoreSpecifics, quota 1,000: the aggregates and 995 more-specifics), target < 96 MB;
 *    and with 1,000,000 VPN routes, target < 512 MB;
 * 3. CLI: while the 500,000 routes load, `show.bgp.summary` (what `gsictl show bgp summary --json`
 *    asks) every 50 ms over a fresh Unix-socket connection each, timed from the client until the
 *    table is complete as the CLI sees it: p50, p99, max; target < 100 ms. A separate cell, so the
 *    queries do not touch the ingest figures.
 *
 *   npm run build && npm run bench -- daemon
 *   DAEMON_VPNV4=500000               ingest and CLI cells' routes
 *   DAEMON_MEMORY=32000,1000000       memory cells' routes (targets: 96 MB up to 32,000, 512 MB above)
 *   DAEMON_CELLS=ingest,cli,memory    a subset (ingest runs BIRD's cell too)
 *   DAEMON_RUNS=1                     runs of the ingest cells, the median (by seconds) shown
 *   DAEMON_TIMEOUT_MS=300000          bound of one cell's ingest
 *   DAEMON_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p"   extra node flags for gsi-routerd (a profiler
 *                                     keeps it ticking: its cells end when the CLI shows the whole table)
 */
import { DAEMON_VERSIONS } from './ingest/daemons.js'
import { runCell, type CellOptions, type CellResult } from './ingest/harness.js'
import { scenario, type Scenario } from './ingest/scenario.js'
import type { BgpSummary } from '../src/api/handlers.js'
import { apiCall, CliProbe, cn2Accepted, ROOT, ROUTERD, routerdStarter, type RouterdHandle, type RouterdOptions } from './daemon/routerd.js'
import { relative } from 'node:path'
import type { FibView } from '../src/api/view.js'
import { monoMs } from './ingest/proc.js'

const num = (name: string, dflt: number, min: number, max: number): number => {
  const raw = process.env[name]
  const v = raw === undefined || raw === '' ? dflt : Number(raw)
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${name} ${JSON.stringify(raw)}: must be an integer ${min}..${max}`)
  return v
}
const ALL_CELLS = ['ingest', 'cli', 'memory'] as const
type CellName = (typeof ALL_CELLS)[number]
const cells = (process.env.DAEMON_CELLS ?? ALL_CELLS.join(',')).split(',').map((x) => x.trim()).filter(Boolean) as CellName[]
for (const c of cells) if (!ALL_CELLS.includes(c)) throw new RangeError(`DAEMON_CELLS: ${JSON.stringify(c)} is not one of ${ALL_CELLS.join(', ')}`)
const routes = num('DAEMON_VPNV4', 500_000, 1, 2_000_000)
const memorySizes = (process.env.DAEMON_MEMORY ?? '32000,1000000').split(',').filter(Boolean).map((x) => {
  const v = Number(x)
  if (!Number.isInteger(v) || v < 1 || v > 2_000_000) throw new RangeError(`DAEMON_MEMORY: ${JSON.stringify(x)} must be an integer 1..2000000`)
  return v
})
const runs = num('DAEMON_RUNS', 1, 1, 9)
const timeoutMs = num('DAEMON_TIMEOUT_MS', 300_000, 10_000, 3_600_000)
const nodeArgs = (process.env.DAEMON_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)
const profiling = nodeArgs.some((a) => a.includes('prof'))
const log = (l: string): void => console.error(`  ${l}`)
const memoryTargetMb = (n: number): number => (n <= 32_000 ? 96 : 512)

type Result<T> = { ok: true; value: T } | { ok: false; error: string }

async function attempt<T>(what: string, fn: () => Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await fn() }
  } catch (e) {
    const error = (e as Error).message
    console.error(`  ${what}: FAILED: ${error}`)
    return { ok: false, error }
  }
}

/** One gsi-routerd cell; with a profiler on, a slow probe ends it when the CLI shows the whole table. */
async function routerdCell(s: Scenario, o: RouterdOptions, extra: CellOptions = {}): Promise<{ res: CellResult; h: RouterdHandle }> {
  let h: RouterdHandle | undefined
  let watch: ProfiledEnd | undefined
  const opts: CellOptions = {
    timeoutMs,
    log,
    injectorListens: true,
    startReceiver: routerdStarter({ ...o, nodeArgs, onStart: (x) => { h = x; o.onStart?.(x) } }),
    ...(profiling && extra.endAt === undefined
      ? {
          onGo: () => { watch = new ProfiledEnd((h as RouterdHandle).socket, s.routes); watch.start() },
          endAt: () => watch?.endedAt,
        }
      : {}),
    ...extra,
  }
  try {
    const res = await runCell('gsi-routerd', s, opts)
    return { res, h: h as RouterdHandle }
  } finally {
    watch?.stop()
  }
}

/**
 * The end of a profiled cell: a profiler keeps the daemon ticking, so no quiet window comes. The
 * summary is asked every 250 ms until every route is accepted, then `show.fib` every 5 s (it lists
 * the FIB to count it, seconds at 500,000 routes: rarely, and its cost shows in the profile under
 * the API's handler) until the FIB is complete; that answer ends the cell.
 */
class ProfiledEnd {
  endedAt: number | undefined
  private timer: NodeJS.Timeout | undefined
  private accepted = false
  private busy = false
  private fibAskedAt = -Infinity

  constructor(readonly socket: string, readonly routes: number) {}

  start(): void {
    this.timer = setInterval(() => void this.poll(), 250)
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }

  private async poll(): Promise<void> {
    if (this.busy) return
    this.busy = true
    try {
      if (!this.accepted) {
        const sum = await apiCall<BgpSummary>(this.socket, 'show.bgp.summary').catch(() => undefined)
        this.accepted = sum !== undefined && cn2Accepted(sum) >= this.routes
      } else if (monoMs() - this.fibAskedAt >= 5000) {
        this.fibAskedAt = monoMs()
        const fib = await apiCall<FibView>(this.socket, 'show.fib', 120_000).catch(() => undefined)
        if (fib !== undefined && fib.state.desiredRoutes >= this.routes + 1) {
          this.endedAt = monoMs()
          this.stop()
        }
      }
    } finally {
      this.busy = false
    }
  }
}

const median = (xs: CellResult[]): CellResult => [...xs].sort((a, b) => a.seconds - b.seconds)[xs.length >> 1] as CellResult

async function repeated(what: string, fn: () => Promise<CellResult>): Promise<Result<{ med: CellResult; all: CellResult[] }>> {
  return attempt(what, async () => {
    const all: CellResult[] = []
    for (let i = 0; i < runs; i++) all.push(await fn())
    return { med: median(all), all }
  })
}

const started = new Date()
const ingestScenario = scenario('vpnv4', routes)
let bird: Result<{ med: CellResult; all: CellResult[] }> | undefined
let ours: Result<{ med: CellResult; all: CellResult[] }> | undefined
let oursChecked: RouterdHandle['checked']
if (cells.includes('ingest')) {
  bird = await repeated('BIRD ingest', () => runCell('bird', ingestScenario, { timeoutMs, log }))
  ours = await repeated('gsi-routerd ingest', async () => {
    const { res, h } = await routerdCell(ingestScenario, {})
    oursChecked = h.checked
    return res
  })
}

let cli: Result<{ res: CellResult; probe: CliProbe }> | undefined
if (cells.includes('cli')) {
  cli = await attempt('gsi-routerd CLI during ingest', async () => {
    let probe: CliProbe | undefined
    let socket = ''
    const { res } = await routerdCell(ingestScenario, { onStart: (h) => { socket = h.socket } }, {
      onGo: () => { probe = new CliProbe(socket, routes, routes + 1, 50); probe.start() },
      endAt: () => (probe?.finished === true ? probe.fibCompleteAt : undefined),
    })
    const p = probe as CliProbe
    p.stop()
    if (p.errors.length > 0) throw new Error(`${p.errors.length} queries failed, e.g. ${p.errors[0] ?? ''}`)
    return { res, probe: p }
  })
}

const memory: { routes: number; r: Result<{ res: CellResult; h: RouterdHandle }> }[] = []
if (cells.includes('memory')) {
  for (const n of memorySizes) {
    memory.push({ routes: n, r: await attempt(`gsi-routerd memory ${n}`, () => routerdCell(scenario('vpnv4', n), { advertiseMoreSpecifics: true, maxPrefixesAdvertised: 1000 })) })
  }
}

// --- report
const mb = (kb: number): string => `${(kb / 1024).toFixed(0)} MB`
const s2 = (x: number): string => x.toFixed(2)
const load = (await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')
console.log(`Whole gsi-routerd (${relative(ROOT, ROUTERD)}, dataplane none) with an injector as the CN2 control node (eBGP, packed UPDATEs of at most 4,096 bytes, a new attribute set every 1,000 routes) and two BIRD processes as the TGW peers, over veth pairs between network namespaces; ${started.toISOString()}, load average ${load} at the end (the machine is shared: compare only within one run).${profiling ? ` PROFILING (${nodeArgs.join(' ')}): the daemon's cells end when its CLI shows every route accepted and the FIB complete, not at busy-end; figures are for the profile only.` : ''}\n`)

if (bird !== undefined && ours !== undefined) {
  console.log(`### Full-daemon ingest: ${ingestScenario.label}\n`)
  console.log(`| Receiver | busy-end s${runs > 1 ? ' (each run)' : ''} | CPU s | RSS before → after | peak RSS | counts checked |`)
  console.log('|---|---|---|---|---|---|')
  const row = (title: string, r: typeof bird, counts: string): void => {
    if (r === undefined) return
    if (!r.ok) { console.log(`| ${title} | **FAILED** | | | | ${r.error.replaceAll('|', '/')} |`); return }
    const x = r.value.med
    console.log(`| ${title} | ${r.value.all.map((a) => s2(a.seconds)).join(' / ')} | ${s2(x.cpuSeconds)} | ${mb(x.rssBeforeKb)} → ${mb(x.rssAfterKb)} | ${mb(x.peakRssKb)} | ${counts} |`)
  }
  row(`${DAEMON_VERSIONS.bird}, RIB only`, bird, bird.ok ? `birdc: ${bird.value.med.count.toLocaleString('en-US')} routes` : '')
  const c = oursChecked
  row('gsi-routerd: gateway import + computed FIB + TGW advertisement', ours, c === undefined ? '' : `gsictl --json: ${c.cn2Accepted.toLocaleString('en-US')} accepted, FIB ${c.fibRoutes.toLocaleString('en-US')} routes, ${c.tgwAdvertised} advertised to the TGW; birdc at the TGW: ${c.tgwBird.join(' and ')}`)
  if (bird.ok && ours.ok) {
    const b = bird.value.med
    const o = ours.value.med
    console.log(`\n- gsi-routerd vs BIRD: busy-end ${s2(o.seconds)} s vs ${s2(b.seconds)} s (${s2(o.seconds / b.seconds)}x), CPU ${s2(o.cpuSeconds)} s vs ${s2(b.cpuSeconds)} s (${s2(o.cpuSeconds / b.cpuSeconds)}x); target: no slower than BIRD in either: ${o.seconds <= b.seconds && o.cpuSeconds <= b.cpuSeconds ? 'met' : '**MISSED**'}`)
  }
  console.log('')
}

if (memory.length > 0) {
  console.log('### Memory of the whole daemon (advertiseMoreSpecifics, quota 1,000: the aggregates and more-specifics up to 1,000 prefixes to each TGW peer)\n')
  console.log('| VPN routes from the control node | advertised to the TGW (birdc) | VmRSS before | VmRSS after the ingest settles | VmHWM (peak) | target | verdict |')
  console.log('|---|---|---|---|---|---|---|')
  for (const m of memory) {
    const target = memoryTargetMb(m.routes)
    if (!m.r.ok) { console.log(`| ${m.routes.toLocaleString('en-US')} | **FAILED** | | | | < ${target} MB | ${m.r.error.replaceAll('|', '/')} |`); continue }
    const { res, h } = m.r.value
    const ok = res.rssAfterKb / 1024 < target && res.peakRssKb / 1024 < target
    console.log(`| ${m.routes.toLocaleString('en-US')} | ${h.checked?.tgwBird.join(' and ') ?? '?'} | ${mb(res.rssBeforeKb)} | ${mb(res.rssAfterKb)} | ${mb(res.peakRssKb)} | < ${target} MB | ${ok ? 'met' : '**MISSED**'}${ok ? '' : res.rssAfterKb / 1024 < target ? ' (peak)' : ''} |`)
  }
  console.log('')
}

if (cli !== undefined) {
  console.log(`### CLI during the ingest of ${ingestScenario.label}: show.bgp.summary every 50 ms, a new connection each, timed from the client\n`)
  console.log('| queries | p50 ms | p99 ms | max ms | target | verdict | whole table (routes and FIB) as the CLI shows it, s after the first UPDATE |')
  console.log('|---|---|---|---|---|---|---|')
  if (!cli.ok) console.log(`| **FAILED** | | | | < 100 ms | | ${cli.error.replaceAll('|', '/')} |`)
  else {
    const q = cli.value.probe.summary()
    console.log(`| ${q.n} | ${q.p50.toFixed(1)} | ${q.p99.toFixed(1)} | ${q.max.toFixed(1)} | < 100 ms | ${q.max < 100 && q.p99 < 100 ? 'met' : '**MISSED**'} | ${s2(cli.value.res.seconds)} |`)
  }
  console.log('')
}

const failed = [bird, ours, cli, ...memory.map((m) => m.r)].filter((r) => r !== undefined && !r.ok)
for (const f of failed) if (!f.ok) console.log(`FAILED: ${f.error}`)
process.exit(failed.length > 0 ? 1 : 0)
