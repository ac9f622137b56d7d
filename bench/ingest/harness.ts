/**
 * One cell of the ingest benchmark (the method of docs/benchmarks.md): a receiver (ours or a daemon) in one
 * network namespace, the injector in another, a veth pair between them.
 *
 *   1. start the receiver; start the injector, which builds every UPDATE before it connects;
 *   2. wait for Established, let the receiver settle, read its VmRSS (our receiver first collects
 *      garbage and reports its heap) and start sampling its CPU every 25 ms;
 *   3. `go`: the injector writes the whole stream and End-of-RIB; t0 = just before the write;
 *   4. once the injector's socket has drained, wait for a quiet window; busy-end (proc.ts) - t0 is
 *      the time; VmRSS then minus VmRSS before is the growth; VmHWM is the peak;
 *   5. only then ask the receiver how many routes it holds (its CLI; ours reports its table size);
 *      a count short of the routes sent fails the cell with an error, never a number.
 * Everything (children, daemons, namespaces, temp directory) is cleaned up in every case.
 */
import { mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ChildProcess } from 'node:child_process'
import { ChildChannel } from './channel.js'
import { startDaemon, type DaemonHandle, type DaemonKind } from './daemons.js'
import { NetPair } from './netns.js'
import { CpuSampler, memStatus, minorFaults, QUIET_MS, ticksPerSecond } from './proc.js'
import type { Scenario } from './scenario.js'

export type ReceiverKind = 'ours' | DaemonKind

/** A receiver the caller starts itself (bench/daemon/: the whole gsi-routerd), inside the pair's
 * receiver namespace, with its count read by its own means. */
export type ReceiverStarter = (pair: NetPair, s: Scenario, dir: string) => Promise<DaemonHandle>

export interface CellResult {
  readonly receiver: ReceiverKind | 'gsi-routerd'
  readonly scenario: Scenario
  /** Busy-end minus the first UPDATE, seconds. */
  readonly seconds: number
  /** CPU the receiver spent from the first UPDATE to busy-end, seconds. */
  readonly cpuSeconds: number
  readonly rssBeforeKb: number
  readonly rssAfterKb: number
  readonly peakRssKb: number
  /** Minor page faults from the baseline to busy-end. */
  readonly minorFaults: number
  readonly bytesPerRoute: number
  /** Routes the receiver reported holding at the end. */
  readonly count: number
  /** Injector: messages and bytes; time until the kernel had taken every byte. */
  readonly messages: number
  readonly bytes: number
  readonly writtenSeconds: number
  /** Ours only: the receiver's own clock from the first UPDATE byte to the table's full size, and
   * the heap (heapUsed + external) growth after a full GC. */
  readonly ours?: { readonly mode: 'speaker' | 'rib'; readonly selfSeconds: number; readonly heapBytesPerRoute: number; readonly attributeSets: number; readonly received: number; readonly accepted: number }
}

const here = dirname(fileURLToPath(import.meta.url))
const fromSource = import.meta.url.endsWith('.ts')

/** Node arguments to run a sibling module of this one as a child process (tsx when from source). */
function nodeArgs(module: string): string[] {
  const file = join(here, `${module}.${fromSource ? 'ts' : 'js'}`)
  if (!existsSync(file)) throw new Error(`${file} is missing (run npm run build)`)
  const extra = (process.env.INGEST_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)
  return [...(fromSource ? ['--import', 'tsx'] : []), '--expose-gc', ...(module === 'receiver' ? extra : []), file]
}

function killChild(p: ChildProcess | undefined): void {
  if (p === undefined || p.exitCode !== null || p.signalCode !== null) return
  try {
    p.kill('SIGKILL')
  } catch {
    // gone
  }
}

function exitWithin(p: ChildProcess, ms: number): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms)
    p.once('exit', () => {
      clearTimeout(t)
      resolve()
    })
  })
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export interface CellOptions {
  /** Upper bound for the whole ingest (default 300 s: GoBGP needs over 100 s for 1M routes on a
   * crowded 2-core machine). */
  readonly timeoutMs?: number
  /** Called with progress lines (default none). */
  readonly log?: (line: string) => void
  /** Tests only: the injector sends this many routes instead of the scenario's (the cell must then
   * fail on the count). */
  readonly sendRoutes?: number
  /** Our receiver: BgpSpeaker (default; env INGEST_OURS=rib changes it) or a bare Session + Rib. */
  readonly oursMode?: 'speaker' | 'rib'
  /** Pause between Established and the baseline reading (default 1,000 ms). */
  readonly settleMs?: number
  /** Receiver 'gsi-routerd' only: starts it (bench/daemon/routerd.ts). */
  readonly startReceiver?: ReceiverStarter
  /** The injector also listens on 198.18.0.1:179 (a receiver that connects itself: gsi-routerd). */
  readonly injectorListens?: boolean
  /** Called just after the injector is told to go (bench/daemon: the CLI queries start). */
  readonly onGo?: () => void
  /** When it returns a CLOCK_MONOTONIC time, the cell ends at the first CPU sample after it instead
   * of at busy-end: for runs that keep the receiver ticking (a profiler, queries every 50 ms), whose
   * own end is "everything counted" as the caller saw it. */
  readonly endAt?: () => number | undefined
}

export async function runCell(receiver: ReceiverKind | 'gsi-routerd', s: Scenario, opts: CellOptions = {}): Promise<CellResult> {
  const timeoutMs = opts.timeoutMs ?? Number(process.env.INGEST_TIMEOUT_MS ?? 300_000)
  const oursMode = opts.oursMode ?? (process.env.INGEST_OURS === 'rib' ? 'rib' : 'speaker')
  const profiling = receiver === 'ours' && (process.env.INGEST_NODE_ARGS ?? '').includes('prof')
  const log = opts.log ?? (() => undefined)
  const pair = new NetPair()
  const dir = mkdtempSync(join(tmpdir(), `gsib-${receiver}-`))
  let daemon: DaemonHandle | undefined
  let ours: ChildChannel | undefined
  let injector: ChildChannel | undefined
  let sampler: CpuSampler | undefined
  try {
    // 1. receiver, then injector
    let pid: number
    if (receiver === 'ours') {
      const p = pair.spawnIn(pair.receiverNs, process.execPath, [...nodeArgs('receiver'), JSON.stringify({ family: s.family, expected: s.routes, mode: oursMode })], {
        stdio: ['pipe', 'pipe', 'pipe'],
        cwd: process.cwd(),
      })
      ours = new ChildChannel('our receiver', p)
      await ours.wait('ready', 30_000)
      if (p.pid === undefined) throw new Error('our receiver: no pid')
      pid = p.pid
    } else if (receiver === 'gsi-routerd') {
      if (opts.startReceiver === undefined) throw new Error('receiver gsi-routerd: no startReceiver (bench/daemon/routerd.ts)')
      daemon = await opts.startReceiver(pair, s, dir)
      pid = daemon.pid
    } else {
      daemon = await startDaemon(receiver, pair, s, dir)
      pid = daemon.pid
    }
    const ip = pair.spawnIn(pair.injectorNs, process.execPath, [...nodeArgs('injector'), JSON.stringify({ scenario: s.name, routes: opts.sendRoutes ?? s.routes, labels: s.labels, listen: opts.injectorListens === true })], {
      stdio: ['pipe', 'pipe', 'pipe'],
      cwd: process.cwd(),
    })
    injector = new ChildChannel('injector', ip)
    const built = await injector.wait('built', 60_000)
    await injector.wait('established', 30_000)
    log(`${receiver} ${s.name}: established, ${String(built.messages)} UPDATEs (${String(built.bytes)} bytes) ready`)

    // 2. settle, baseline
    await sleep(opts.settleMs ?? 1000)
    if (ours !== undefined) {
      ours.send('baseline')
      await ours.wait('baseline', 30_000)
      await sleep(200)
    }
    const before = memStatus(pid)
    const faultsBefore = minorFaults(pid)
    sampler = new CpuSampler(pid)
    sampler.start()
    await sleep(100)

    // 3. go
    injector.send('go')
    opts.onGo?.()
    const t0 = Number((await injector.wait('first-update', 30_000)).t)
    const deadline = Date.now() + timeoutMs
    let written: number | undefined
    let end: ReturnType<CpuSampler['busyEnd']>
    for (;;) {
      await sleep(100)
      if (sampler.exited) throw new Error(`${receiver} exited during the ingest${daemon ? `: ${daemon.log()}` : ours ? `: ${ours.stderr}` : ''}`)
      if (injector.exited) throw new Error(`injector exited during the ingest: ${injector.stderr}`)
      const w = injector.find('written')
      if (w !== undefined && written === undefined) written = Number(w.t)
      if (written !== undefined) {
        end = sampler.busyEnd(t0, written)
        if (end !== undefined) break
      }
      // Profiling (--cpu-prof) keeps our receiver ticking: no quiet window ever comes, so its own
      // "all in Loc-RIB" ends the cell (the figures of such a run are for the profile only).
      const doneEv = profiling ? ours?.find('done') : undefined
      const endAt = opts.endAt?.()
      if (doneEv !== undefined || endAt !== undefined) {
        const dt = endAt ?? Number(doneEv?.t)
        const at = sampler.samples.find((x) => x.t >= dt)
        if (at !== undefined) {
          end = { ...at, quietFrom: at.t }
          log(endAt !== undefined ? 'the end is the caller\'s endAt, not busy-end' : 'profiling run: the end is our receiver\'s own done time, not busy-end')
          break
        }
      }
      if (Date.now() > deadline) {
        const xs = sampler.samples
        const lastS = xs[xs.length - 1]
        const recent = xs.find((x) => lastS !== undefined && x.t >= lastS.t - QUIET_MS)
        const used = lastS === undefined ? 0 : (lastS.ticks - (xs[0]?.ticks ?? 0)) / ticksPerSecond()
        const busyNow = lastS === undefined || recent === undefined ? '?' : String(lastS.ticks - recent.ticks)
        throw new Error(
          `${receiver} ${s.name}: no busy-end within ${timeoutMs} ms (${written === undefined ? 'the injector has not written everything yet; ' : ''}` +
            `${used.toFixed(1)} CPU-s used, ${busyNow} ticks in the last ${QUIET_MS} ms)`,
        )
      }
    }
    if (end === undefined) throw new Error('unreachable: no busy-end')
    // 4. measurements at busy-end, before any CLI call
    const after = memStatus(pid)
    const faults = minorFaults(pid) - faultsBefore
    sampler.stop()
    const first = [...sampler.samples].reverse().find((x) => x.t <= t0) ?? end
    const cpuSeconds = (end.ticks - first.ticks) / ticksPerSecond()

    // 5. counts
    let count: number
    let oursExtra: CellResult['ours']
    if (ours !== undefined) {
      const done = await ours.wait('done', 10_000).catch(() => undefined)
      ours.send('measure')
      const m = await ours.wait('measure', 30_000)
      const base = ours.find('baseline') as unknown as { heap: number }
      count = Number(m.size)
      if (done === undefined) throw new Error(`our receiver never reached ${s.routes} routes (table holds ${count}, received ${String(m.received)})`)
      oursExtra = {
        mode: oursMode,
        // From the injector's write (t0) to the receiver's table reaching its size, both on
        // CLOCK_MONOTONIC: the veth adds microseconds, and it works the same in both modes.
        selfSeconds: (Number(done.t) - t0) / 1000,
        heapBytesPerRoute: (Number(m.heap) - base.heap) / s.routes,
        attributeSets: Number(m.attributeSets),
        received: Number(m.received),
        accepted: Number(m.accepted),
      }
    } else {
      count = (daemon as DaemonHandle).count()
    }
    if (count !== s.routes) {
      throw new Error(`${receiver} ${s.name}: ${count} of ${s.routes} routes in the RIB after busy-end; the row is void`)
    }
    const res: CellResult = {
      receiver,
      scenario: s,
      seconds: (end.t - t0) / 1000,
      cpuSeconds,
      rssBeforeKb: before.rssKb,
      rssAfterKb: after.rssKb,
      peakRssKb: after.hwmKb,
      minorFaults: faults,
      bytesPerRoute: ((after.rssKb - before.rssKb) * 1024) / s.routes,
      count,
      messages: Number(built.messages),
      bytes: Number(built.bytes),
      writtenSeconds: ((written as number) - t0) / 1000,
      ...(oursExtra !== undefined ? { ours: oursExtra } : {}),
    }
    log(`${receiver} ${s.name}: ${res.seconds.toFixed(2)} s, ${(res.peakRssKb / 1024).toFixed(0)} MB peak, ${res.bytesPerRoute.toFixed(0)} B/route, ${count} routes`)
    return res
  } finally {
    sampler?.stop()
    injector?.send('stop')
    ours?.send('stop')
    // Let them exit on their own (a --cpu-prof profile is written at exit), then make sure.
    await Promise.all([injector?.proc, ours?.proc].map((p) => (p === undefined ? undefined : exitWithin(p, 3000))))
    if (daemon?.stop !== undefined) await Promise.race([daemon.stop().catch(() => undefined), sleep(60_000)])
    killChild(injector?.proc)
    killChild(ours?.proc)
    killChild(daemon?.proc)
    daemon?.cleanup?.()
    pair.destroy()
    rmSync(dir, { recursive: true, force: true })
  }
}
