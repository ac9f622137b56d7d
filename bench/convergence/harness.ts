/**
 * The convergence benchmark's harness (issue 10, Performance): gsi-routerd, the real program with
 * `dataplane: none`, in a network namespace of its own, a CN2 control node and the Transit Gateway's
 * two BGP peers (.2, .3) in two more, each played by our own Session runner (peer.ts), which takes the
 * time an UPDATE is written and the time the resulting UPDATE is read on CLOCK_MONOTONIC.
 *
 *   cn2 ns (control node) 198.18.1.1/24 ──veth── node ns (gsi-routerd) ──veth── tgw ns (TGW .2, .3)
 *                                            198.18.1.2/24  169.254.6.1/29     169.254.6.2/29, .3/29
 *
 * Every address lives in a namespace made here; teardown (also at exit) kills what runs inside and
 * deletes the namespaces, which deletes the veths (bench/ingest/netns.ts).
 *
 * Steps: start the peers (passive), then the daemon, wait until every session is up; optionally load a background
 * table (`load` VPNv4 /32s, exposed, in an exposed CIDR of their own, 10.64.0.0/10) and wait until the
 * computed FIB holds all of it; then, one change at a time, `spacingMs` apart so each is independent:
 *
 * - CN2 -> TGW: the control node announces a pod /32 inside 10.244.0.0/16, an exposed CIDR that is
 *   empty until then; the sample ends when both TGW sessions have read the aggregate's UPDATE. Then it
 *   withdraws it (the last route leaves) and the sample ends when both have read the withdrawal.
 * - TGW -> CN2: the TGW's .2 announces a VPC /24; the sample ends when the control node reads the
 *   VPNv4 route the daemon re-originates (RD <router id>:1); then the withdrawal, likewise.
 *
 * The first `warmup` pairs of each direction are run the same way and not counted (the first changes
 * after start run code V8 has not compiled yet).
 *
 * "Kernel route changed": with `dataplane: none` the kernel is the computed FIB. The daemon logs each
 * FIB flush that follows route writes at debug level with its CLOCK_MONOTONIC time (ComputedFib in
 * src/daemon/daemon.ts: where the FIB writer would send its netlink batch); a sample's FIB time is
 * the first such line after the change was written. Nothing is asked of the daemon during a sample.
 *
 * A sample not observed within `sampleTimeoutMs` counts as missed (a missed sample is a failure, never
 * a number).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { execFileSync } from 'node:child_process'
import { stringify } from 'yaml'
import { ChildChannel } from '../ingest/channel.js'
import { killAndDeleteNetns } from '../ingest/netns.js'
import { monoMs } from '../ingest/proc.js'
import { shebangNodeArgs } from '../daemon/routerd.js'
import type { PeerArgs } from './peer.js'

const here = dirname(fileURLToPath(import.meta.url))
const fromSource = import.meta.url.endsWith('.ts')
/** The repository root (bench/convergence from source, dist/bench/convergence when built). */
const ROOT = resolve(here, fromSource ? '../..' : '../../..')

export const CONTROL_NODE = '198.18.1.1'
export const NODE_ADDRESS = '198.18.1.2'
export const INSIDE_LOCAL = '169.254.6.1'
export const TGW_PEERS = ['169.254.6.2', '169.254.6.3'] as const
export const CN2_AS = 64512
export const TGW_AS = 64512
export const GSI_AS = 65001
export const ROUTE_TARGET = 'target:64512:8000001'
/** The exposed CIDR the probe routes make go from empty to non-empty. */
export const PROBE_CIDR = '10.244.0.0/16'
/** The exposed CIDR of the background table. */
export const LOAD_CIDR = '10.64.0.0/10'
export const LOAD_BASE = '10.64.0.0'

export type SeriesName =
  | 'cn2-announce-fib' | 'cn2-announce-tgw-first' | 'cn2-announce-tgw'
  | 'cn2-withdraw-fib' | 'cn2-withdraw-tgw-first' | 'cn2-withdraw-tgw'
  | 'tgw-announce-fib' | 'tgw-announce-cn2' | 'tgw-withdraw-fib' | 'tgw-withdraw-cn2'

export const SERIES: readonly SeriesName[] = [
  'cn2-announce-fib', 'cn2-announce-tgw-first', 'cn2-announce-tgw', 'cn2-withdraw-fib', 'cn2-withdraw-tgw-first', 'cn2-withdraw-tgw',
  'tgw-announce-fib', 'tgw-announce-cn2', 'tgw-withdraw-fib', 'tgw-withdraw-cn2',
]

export interface ConvergenceOptions {
  /** Samples per direction and kind (each announce is followed by its withdrawal). */
  readonly samples: number
  /** Pause between two changes, ms. */
  readonly spacingMs: number
  /** Background VPNv4 routes loaded before the samples (0: idle). */
  readonly load: number
  /** The daemon: the built program as the image runs it (dist/bundle/gsi-routerd.mjs) or the source through tsx. Default:
   * built when this harness runs built, source when it runs from source (the smoke test). */
  readonly daemon?: 'built' | 'source'
  /** Announce/withdraw pairs per direction run first and not counted: the first changes after start
   * run code V8 has not compiled yet (tens of ms once). Default 5. */
  readonly warmup?: number
  /** Extra node flags for the daemon (`--cpu-prof --cpu-prof-dir=DIR`, `--trace-gc`). */
  readonly daemonNodeArgs?: readonly string[]
  /** Run the daemon and the peers under SCHED_FIFO (chrt -f 10): a diagnostic that takes the
   * machine's other load out of the figures, to tell the daemon's own delays from waiting for a CPU. */
  readonly realtime?: boolean
  readonly sampleTimeoutMs?: number
  /** Bound of each start-up step (peers listening, daemon started, sessions up); default 30 s (the
   * emulated VM needs more). */
  readonly startTimeoutMs?: number
  /** false: leave the probes' CIDR out of the exposed CIDRs, so no aggregate ever reaches the TGW
   * (the smoke test's proof that a change never seen is counted as missed). Default true. */
  readonly exposeProbeCidr?: boolean
  readonly log?: (line: string) => void
}

export interface Series {
  /** Milliseconds per observed sample, in sample order. */
  readonly ms: number[]
  readonly missed: number
}

export interface ConvergenceResult {
  readonly load: number
  readonly samples: number
  /** Pairs run before counting, and how many of their observations were missed (a failure too). */
  readonly warmup: number
  readonly warmupMissed: number
  readonly series: Record<SeriesName, Series>
  /** Seconds from the load's first UPDATE to the computed FIB holding all of it (0 without load). */
  readonly loadSeconds: number
  /** Routes in the computed FIB before the samples. */
  readonly fibRoutes: number
}

/** Nearest-rank percentile of `ms` (p in 0..100); NaN when empty. */
export function percentile(ms: readonly number[], p: number): number {
  if (ms.length === 0) return NaN
  const sorted = [...ms].sort((a, b) => a - b)
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[rank - 1] as number
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

// ---------------------------------------------------------------- the network

let counter = 0
const ip = (args: string[]): void => {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 })
}

/** The three namespaces and two veth pairs of the picture above. */
export class ConvergenceNet {
  readonly cn2: string
  readonly tgw: string
  readonly node: string
  private readonly made: string[] = []
  private destroyed = false
  private readonly onExit = (): void => this.destroy()

  constructor(prefix = 'gsicv') {
    const id = `${process.pid % 100000}x${counter++}`
    this.cn2 = `${prefix}c${id}`
    this.tgw = `${prefix}t${id}`
    this.node = `${prefix}n${id}`
    process.on('exit', this.onExit)
    try {
      for (const ns of [this.cn2, this.tgw, this.node]) {
        ip(['netns', 'add', ns])
        this.made.push(ns)
        ip(['-n', ns, 'link', 'set', 'lo', 'up'])
      }
      // created inside the node namespace, the far ends moved: nothing appears in the root namespace
      ip(['-n', this.node, 'link', 'add', 'cn', 'type', 'veth', 'peer', 'name', 'node'])
      ip(['-n', this.node, 'link', 'set', 'node', 'netns', this.cn2])
      ip(['-n', this.node, 'link', 'add', 'tgw', 'type', 'veth', 'peer', 'name', 'nodet'])
      ip(['-n', this.node, 'link', 'set', 'nodet', 'netns', this.tgw])
      const addrs: [string, string, string][] = [
        [this.node, 'cn', `${NODE_ADDRESS}/24`], [this.cn2, 'node', `${CONTROL_NODE}/24`],
        [this.node, 'tgw', `${INSIDE_LOCAL}/29`], ...TGW_PEERS.map((a): [string, string, string] => [this.tgw, 'nodet', `${a}/29`]),
      ]
      for (const [ns, dev, a] of addrs) ip(['-n', ns, 'addr', 'add', a, 'dev', dev])
      for (const [ns, dev] of [[this.node, 'cn'], [this.node, 'tgw'], [this.cn2, 'node'], [this.tgw, 'nodet']] as const) ip(['-n', ns, 'link', 'set', dev, 'up'])
    } catch (e) {
      this.destroy()
      throw new Error(`convergence namespaces: ${(e as Error).message}`)
    }
  }

  /** Every namespace made. */
  get namespaces(): string[] {
    return [...this.made]
  }

  /** Spawns `cmd args` inside a namespace (ip netns exec and chrt exec it: the child's pid is cmd's). */
  spawnIn(ns: string, cmd: string, args: string[], realtime = false): ChildProcess {
    const sched = realtime ? ['chrt', '-f', '10'] : []
    return spawn('ip', ['netns', 'exec', ns, ...sched, cmd, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
  }

  /** Kills everything inside the namespaces and deletes them. Never throws. */
  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    process.off('exit', this.onExit)
    for (const ns of this.made) killAndDeleteNetns(ns, 1000)
  }
}

// ---------------------------------------------------------------- event streams

interface Line {
  readonly [k: string]: unknown
}

/** JSON lines of one child's stdout, kept in order, awaitable by predicate from a position on. */
class LineTap {
  readonly lines: Line[] = []
  private waiters: { from: number; match: (l: Line) => boolean; resolve: (l: Line | undefined) => void; timer: NodeJS.Timeout }[] = []

  constructor(proc: ChildProcess, private logFile?: string) {
    if (proc.stdout === null) throw new Error('child needs piped stdout')
    createInterface({ input: proc.stdout }).on('line', (text) => {
      this.keep(text)
      if (!text.startsWith('{')) return
      let l: Line
      try {
        l = JSON.parse(text) as Line
      } catch {
        return
      }
      this.lines.push(l)
      const i = this.lines.length - 1
      for (const w of [...this.waiters]) {
        if (i >= w.from && w.match(l)) {
          clearTimeout(w.timer)
          this.waiters.splice(this.waiters.indexOf(w), 1)
          w.resolve(l)
        }
      }
    })
  }

  /** Appends to the log file until `closeLog()` (lines may still arrive while the run is torn down). */
  keep(text: string): void {
    if (this.logFile !== undefined) appendFileSync(this.logFile, text.endsWith('\n') ? text : `${text}\n`)
  }

  closeLog(): void {
    this.logFile = undefined
  }

  /** The first line at or after position `from` that matches, or undefined after `timeoutMs`. */
  next(from: number, match: (l: Line) => boolean, timeoutMs: number): Promise<Line | undefined> {
    for (let i = from; i < this.lines.length; i++) if (match(this.lines[i] as Line)) return Promise.resolve(this.lines[i])
    return new Promise((resolve) => {
      const w = { from, match, resolve, timer: setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1)
        resolve(undefined)
      }, timeoutMs) }
      this.waiters.push(w)
    })
  }
}

// ---------------------------------------------------------------- the run

function nodeArgsFor(module: string): string[] {
  const file = join(here, `${module}.${fromSource ? 'ts' : 'js'}`)
  if (!existsSync(file)) throw new Error(`${file} is missing (run npm run build)`)
  return [...(fromSource ? ['--import', 'tsx'] : []), file]
}

function daemonArgs(kind: 'built' | 'source', configFile: string, nodeArgs: readonly string[]): string[] {
  const built = join(ROOT, 'dist/bundle/gsi-routerd.mjs')
  if (kind === 'built') {
    if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build (npm run bench does)`)
    return [...shebangNodeArgs(built), ...nodeArgs, built, '--config', configFile]
  }
  const source = join(ROOT, 'src/bin/gsi-routerd.ts')
  return [...shebangNodeArgs(source), ...nodeArgs, '--import', 'tsx', source, '--config', configFile]
}

/** The daemon's configuration: one control node, one Connect peer, two exposed CIDRs, computed FIB. */
export function daemonConfig(dir: string, exposeProbeCidr = true): Record<string, unknown> {
  return {
    nodeName: 'convergence-node',
    nodeAddress: NODE_ADDRESS,
    dataplane: 'none',
    exposed: { routeTargets: [ROUTE_TARGET], cidrs: exposeProbeCidr ? [LOAD_CIDR, PROBE_CIDR] : [LOAD_CIDR] },
    advertiseMoreSpecifics: false,
    tgw: {
      localAsn: GSI_AS,
      holdTime: 90,
      connectPeers: [{ id: 'cp-convergence', transitGatewayAddress: '192.0.2.100', insideCidrBlocks: ['169.254.6.0/29'], transitGatewayAsn: TGW_AS }],
    },
    controlNodes: { peers: [{ address: CONTROL_NODE, asn: CN2_AS }], holdTime: 90 },
    http: { address: '127.0.0.1', port: 9478 },
    api: { socket: join(dir, 'api.sock') },
    // debug: the computed FIB's change lines (ComputedFib); nothing logs per route at this level
    log: { level: 'debug' },
  }
}

const isFibChange = (l: Line): boolean => l.msg === 'computed FIB changed' && typeof l.monotonicMs === 'number'

export async function runConvergence(o: ConvergenceOptions): Promise<ConvergenceResult> {
  if (!Number.isInteger(o.samples) || o.samples < 1) throw new RangeError(`samples ${o.samples}: must be a positive integer`)
  if (!Number.isInteger(o.load) || o.load < 0 || o.load > 1_000_000) throw new RangeError(`load ${o.load}: must be an integer 0..1000000`)
  if (o.samples + (o.warmup ?? 5) > 256) throw new RangeError(`samples ${o.samples} + warmup ${o.warmup ?? 5}: at most 256 (one probe prefix each in ${PROBE_CIDR} and 172.16.0.0/16)`)
  if (o.warmup !== undefined && (!Number.isInteger(o.warmup) || o.warmup < 0)) throw new RangeError(`warmup ${o.warmup}: must be a non-negative integer`)
  const log = o.log ?? ((): void => undefined)
  const timeout = o.sampleTimeoutMs ?? 2000
  const startTimeout = o.startTimeoutMs ?? 30_000
  const dir = mkdtempSync(join(tmpdir(), 'gsi-convergence-'))
  const net = new ConvergenceNet()
  const children: ChildProcess[] = []
  const taps: LineTap[] = []
  const configFile = join(dir, 'gsi-routerd.yaml')
  const daemonLog = join(dir, 'gsi-routerd.log')
  try {
    writeFileSync(configFile, stringify(daemonConfig(dir, o.exposeProbeCidr ?? true)))
    const startPeer = (what: string, ns: string, a: PeerArgs): { ch: ChildChannel; tap: LineTap } => {
      const p = net.spawnIn(ns, process.execPath, [...nodeArgsFor('peer'), JSON.stringify(a)], o.realtime === true)
      children.push(p)
      return { ch: new ChildChannel(what, p), tap: new LineTap(p) }
    }
    const cn2 = startPeer('control node', net.cn2, { role: 'cn2', local: [CONTROL_NODE], daemon: NODE_ADDRESS, localAs: CN2_AS, daemonAs: CN2_AS, routeTarget: ROUTE_TARGET, probeRd: `${CN2_AS}:9999`, loadBase: LOAD_BASE })
    const tgw = startPeer('TGW peers', net.tgw, { role: 'tgw', local: [...TGW_PEERS], daemon: INSIDE_LOCAL, localAs: TGW_AS, daemonAs: GSI_AS })
    await Promise.all([cn2.ch.wait('listening', startTimeout), tgw.ch.wait('listening', startTimeout)])
    const dproc = net.spawnIn(net.node, process.execPath, daemonArgs(o.daemon ?? (fromSource ? 'source' : 'built'), configFile, o.daemonNodeArgs ?? []), o.realtime === true)
    children.push(dproc)
    const daemon = new LineTap(dproc, daemonLog)
    taps.push(daemon)
    dproc.stderr?.on('data', (d: Buffer) => daemon.keep(d.toString()))
    let daemonExit = ''
    dproc.once('exit', (code, sig) => { daemonExit = `gsi-routerd exited (${sig ?? code}); its log: ${daemonLog}` })

    const started = await daemon.next(0, (l) => l.msg === 'gsi-routerd started', startTimeout)
    if (started === undefined) throw new Error(`gsi-routerd did not start within ${startTimeout / 1000} s${daemonExit !== '' ? `: ${daemonExit}` : ` (log: ${daemonLog})`}`)
    await Promise.all([cn2.ch.wait('ready', startTimeout), tgw.ch.wait('ready', startTimeout)]).catch((e: unknown) => {
      const last = (t: LineTap): string => JSON.stringify(t.lines.slice(-8))
      throw new Error(`${(e as Error).message}; control node's last events ${last(cn2.tap)}, TGW's ${last(tgw.tap)}${daemonExit !== '' ? `; ${daemonExit}` : ''}`)
    })
    log(`sessions up: control node ${CONTROL_NODE}, TGW ${TGW_PEERS.join(', ')}`)
    // every peer's End-of-RIB and the daemon's route-target membership settle
    await sleep(500)

    let loadSeconds = 0
    let fibRoutes = 0
    if (o.load > 0) {
      const from = daemon.lines.length
      const t0 = monoMs()
      cn2.ch.send(`load ${o.load}`)
      const loadTimeout = startTimeout * 2 + o.load
      const full = await daemon.next(from, (l) => isFibChange(l) && Number(l.routes) >= o.load, loadTimeout)
      if (full === undefined) throw new Error(`the computed FIB did not reach ${o.load} routes within ${loadTimeout / 1000} s (log: ${daemonLog})`)
      loadSeconds = (Number(full.monotonicMs) - t0) / 1000
      fibRoutes = Number(full.routes)
      // wait for the daemon to go quiet (the aggregate toward the TGW, the collector)
      await tgw.tap.next(0, (l) => l.event === 'update' && (l.announced as string[]).includes(LOAD_CIDR), startTimeout)
      await sleep(2000)
      log(`loaded ${o.load} VPNv4 routes: computed FIB holds ${fibRoutes} after ${loadSeconds.toFixed(2)} s`)
    }

    let series = Object.fromEntries(SERIES.map((s) => [s, { ms: [] as number[], missed: 0 }])) as Record<SeriesName, { ms: number[]; missed: number }>
    const record = (name: SeriesName, ms: number | undefined): void => {
      if (ms === undefined) series[name].missed++
      else series[name].ms.push(ms)
    }

    /** One change: write it, wait for the far side to read the result (on every session listed) and
     * for the daemon's FIB line after it. */
    const sample = async (
      from: { ch: ChildChannel; tap: LineTap }, to: LineTap, cmd: string, seq: string,
      sees: (l: Line) => boolean, sessions: readonly string[], fibName: SeriesName, firstName: SeriesName | undefined, allName: SeriesName,
    ): Promise<void> => {
      const sentFrom = from.tap.lines.length
      const toFrom = to.lines.length
      const dFrom = daemon.lines.length
      from.ch.send(`${cmd} ${seq}`)
      const sent = await from.tap.next(sentFrom, (l) => l.event === 'sent' && l.seq === seq.split(' ')[0], timeout)
      if (sent === undefined) throw new Error(`${cmd} ${seq}: the peer did not send it${daemonExit !== '' ? `; ${daemonExit}` : ''}`)
      const t0 = Number(sent.t)
      const seen = await Promise.all(sessions.map((s) => to.next(toFrom, (l) => l.event === 'update' && l.peer === s && sees(l), timeout)))
      const times = seen.map((l) => (l === undefined ? undefined : Number(l.t) - t0))
      if (firstName !== undefined) {
        const got = times.filter((x): x is number => x !== undefined)
        record(firstName, got.length > 0 ? Math.min(...got) : undefined)
      }
      record(allName, times.some((x) => x === undefined) ? undefined : Math.max(...(times as number[])))
      const fib = await daemon.next(dFrom, (l) => isFibChange(l) && Number(l.monotonicMs) >= t0, timeout)
      record(fibName, fib === undefined ? undefined : Number(fib.monotonicMs) - t0)
    }

    const announced = (prefix: string) => (l: Line): boolean => (l.announced as string[]).includes(prefix)
    const withdrawn = (prefix: string) => (l: Line): boolean => (l.withdrawn as string[]).includes(prefix)
    const vpnAnnounced = (prefix: string) => (l: Line): boolean => (l.announced as string[]).some((n) => n.startsWith(`${NODE_ADDRESS}:1:${prefix}`))
    const vpnWithdrawn = (prefix: string) => (l: Line): boolean => (l.withdrawn as string[]).some((n) => n.startsWith(`${NODE_ADDRESS}:1:${prefix}`))

    const warmup = o.warmup ?? 5
    const counted = series
    const scratch = Object.fromEntries(SERIES.map((s) => [s, { ms: [] as number[], missed: 0 }])) as typeof series
    for (let i = -warmup; i < o.samples; i++) {
      series = i < 0 ? scratch : counted
      const j = i + warmup
      const pod = `10.244.${j}.${1 + (j % 250)}/32`
      await sample(cn2, tgw.tap, 'announce', `a${i} ${pod}`, announced(PROBE_CIDR), TGW_PEERS, 'cn2-announce-fib', 'cn2-announce-tgw-first', 'cn2-announce-tgw')
      await sleep(o.spacingMs)
      await sample(cn2, tgw.tap, 'withdraw', `w${i} ${pod}`, withdrawn(PROBE_CIDR), TGW_PEERS, 'cn2-withdraw-fib', 'cn2-withdraw-tgw-first', 'cn2-withdraw-tgw')
      await sleep(o.spacingMs)
    }
    log(`CN2 -> TGW: ${o.samples} announce/withdraw pairs done`)
    for (let i = -warmup; i < o.samples; i++) {
      series = i < 0 ? scratch : counted
      const vpc = `172.16.${i + warmup}.0/24`
      await sample(tgw, cn2.tap, 'announce', `a${i} ${vpc}`, vpnAnnounced(vpc), [CONTROL_NODE], 'tgw-announce-fib', undefined, 'tgw-announce-cn2')
      await sleep(o.spacingMs)
      await sample(tgw, cn2.tap, 'withdraw', `w${i} ${vpc}`, vpnWithdrawn(vpc), [CONTROL_NODE], 'tgw-withdraw-fib', undefined, 'tgw-withdraw-cn2')
      await sleep(o.spacingMs)
    }
    log(`TGW -> CN2: ${o.samples} announce/withdraw pairs done`)
    if (daemonExit !== '') throw new Error(daemonExit)
    for (const c of [cn2, tgw]) c.ch.send('stop')
    return { load: o.load, samples: o.samples, warmup, warmupMissed: SERIES.reduce((a, s) => a + scratch[s].missed, 0), series: counted, loadSeconds, fibRoutes }
  } finally {
    for (const tap of taps) tap.closeLog()
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) {
        try {
          c.kill('SIGKILL')
        } catch {
          // gone
        }
      }
    }
    net.destroy()
    if (process.env.CONVERGENCE_KEEP_LOGS !== '1') rmSync(dir, { recursive: true, force: true })
    else log(`logs kept in ${dir}`)
  }
}
