/**
 * Process measurements from /proc (proc(5)), as docs/benchmarks.md defines them for the ingest
 * benchmark, the same for every receiver (ours and the daemons):
 *
 * - CPU: utime + stime of /proc/<pid>/stat (all threads of the process, in clock ticks, 10 ms on
 *   Linux), sampled every 25 ms with the CLOCK_MONOTONIC time of each sample (process.hrtime, the
 *   same clock in every process and namespace of the machine, so times from the injector compare).
 * - "Busy-end": the receiver stopped burning CPU after the first UPDATE. Once the injector has
 *   written everything, we wait for a quiet window (QUIET_MS with at most QUIET_TICKS ticks, since
 *   timers and runtimes tick a little when idle, and none in its first STILL_MS); busy-end is then
 *   the first sample after the first UPDATE whose CPU count had reached the count at the window's
 *   start (the work ended between that sample and the one before it: an upper bound, at most one
 *   sample interval above).
 * - Memory: VmRSS (resident now) and VmHWM (peak resident) of /proc/<pid>/status, in KiB.
 */
import { readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'

export const SAMPLE_MS = 25
export const QUIET_MS = 1500
export const QUIET_TICKS = 3
export const STILL_MS = 250

let clkTck = 0
/** Clock ticks per second (USER_HZ). */
export function ticksPerSecond(): number {
  if (clkTck === 0) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      clkTck = 100
    }
  }
  return clkTck
}

/** Now on CLOCK_MONOTONIC, in milliseconds (fractional). */
export function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6
}

/** utime + stime of the process (every thread), in ticks. Throws when the process is gone. */
export function cpuTicks(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // comm (field 2) may hold spaces and parentheses: fields after the last ')' start at field 3.
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
  return Number(f[11]) + Number(f[12])
}

/** Minor page faults of the process so far (field 10 of /proc/<pid>/stat): first touches of fresh
 * memory, which are dear on a VM. */
export function minorFaults(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[7])
}

export interface MemStatus {
  readonly rssKb: number
  readonly hwmKb: number
}

export function memStatus(pid: number): MemStatus {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(s)
    if (m === null) throw new Error(`/proc/${pid}/status has no ${key}`)
    return Number(m[1])
  }
  return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') }
}

export interface Sample {
  readonly t: number
  readonly ticks: number
}

/** Samples a process's CPU every SAMPLE_MS until stopped. */
export class CpuSampler {
  readonly samples: Sample[] = []
  private timer: NodeJS.Timeout | undefined
  private gone = false

  constructor(readonly pid: number) {}

  start(): void {
    this.take()
    this.timer = setInterval(() => this.take(), SAMPLE_MS)
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }

  get exited(): boolean {
    return this.gone
  }

  take(): void {
    try {
      this.samples.push({ t: monoMs(), ticks: cpuTicks(this.pid) })
    } catch {
      this.gone = true
    }
  }

  /**
   * Busy-end after `t0` (ms, monotonic), once a quiet window after `notBefore` exists; undefined
   * while the process is still busy.
   */
  busyEnd(t0: number, notBefore: number): { t: number; ticks: number; quietFrom: number } | undefined {
    return findBusyEnd(this.samples, t0, notBefore)
  }
}

/** The busy-end rule on a list of samples (exported for the smoke test). */
export function findBusyEnd(samples: readonly Sample[], t0: number, notBefore: number): { t: number; ticks: number; quietFrom: number } | undefined {
  const last = samples[samples.length - 1]
  if (last === undefined) return undefined
  // Earliest window start q (at or after notBefore) with [q, last] at least QUIET_MS long, no tick
  // at all in its first STILL_MS (a busy process gets some CPU in 250 ms even on a crowded machine)
  // and at most QUIET_TICKS over the whole window (idle timers and runtimes tick now and then).
  let q = -1
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i] as Sample
    if (s.t < notBefore || s.t < t0) continue
    if (last.t - s.t < QUIET_MS) break
    let j = i
    let still = true
    while (j + 1 < samples.length && (samples[j + 1] as Sample).t - s.t <= QUIET_MS) {
      j++
      const x = samples[j] as Sample
      if (x.t - s.t <= STILL_MS && x.ticks !== s.ticks) still = false
    }
    if (still && (samples[j] as Sample).ticks - s.ticks <= QUIET_TICKS) {
      q = i
      break
    }
  }
  if (q < 0) return undefined
  const quiet = samples[q] as Sample
  for (const s of samples) {
    if (s.t < t0) continue
    if (s.ticks >= quiet.ticks) return { t: s.t, ticks: s.ticks, quietFrom: quiet.t }
  }
  return { t: quiet.t, ticks: quiet.ticks, quietFrom: quiet.t }
}
