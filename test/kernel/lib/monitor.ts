/**
 * Records `ip monitor` output inside a namespace (e.g. to show that a restart deleted and re-added
 * no route): start it, do things, then read the lines or wait for one matching a pattern.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import type { Netns, Teardown } from './netns.js'

export class IpMonitor {
  readonly lines: string[] = []
  private buf = ''
  private waiters: { re: RegExp; resolve(line: string): void }[] = []
  private readonly child: ChildProcess

  private constructor(ns: Netns, objects: readonly string[]) {
    this.child = spawn('ip', ['-n', ns.name, 'monitor', ...objects], { stdio: ['ignore', 'pipe', 'inherit'] })
    this.child.stdout?.setEncoding('utf8')
    this.child.stdout?.on('data', (d: string) => {
      this.buf += d
      let nl
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl)
        this.buf = this.buf.slice(nl + 1)
        this.lines.push(line)
        this.waiters = this.waiters.filter(w => (w.re.test(line) ? (w.resolve(line), false) : true))
      }
    })
  }

  /** Starts `ip -n <ns> monitor <objects...>` (e.g. ['route'], ['link', 'route', 'mroute']); stopped at teardown.
   * Waits a moment so that the subscription is in place before the caller acts. */
  static async start(ns: Netns, objects: readonly string[], t?: Teardown): Promise<IpMonitor> {
    const m = new IpMonitor(ns, objects)
    t?.teardown(() => m.stop())
    await new Promise(r => setTimeout(r, 300))
    return m
  }

  /** Lines matching `re` seen so far. */
  matching(re: RegExp): string[] {
    return this.lines.filter(l => re.test(l))
  }

  /** Resolves with the first line (already seen or coming) that matches `re`; rejects after `timeoutMs`. */
  waitFor(re: RegExp, timeoutMs = 10_000): Promise<string> {
    const seen = this.lines.find(l => re.test(l))
    if (seen !== undefined) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`ip monitor: no line matching ${re} within ${timeoutMs} ms; saw:\n${this.lines.join('\n')}`)), timeoutMs)
      this.waiters.push({ re, resolve: l => { clearTimeout(timer); resolve(l) } })
    })
  }

  async stop(): Promise<string[]> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const gone = new Promise(r => this.child.once('exit', r))
      this.child.kill('SIGTERM')
      await gone
    }
    return this.lines
  }
}
