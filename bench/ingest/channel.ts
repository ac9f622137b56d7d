/**
 * The line protocol between the ingest benchmark's harness and its child processes (the injector and
 * our receiver): the child writes one JSON object per line on stdout (`{"event": ...}`), the harness
 * writes one command word per line on the child's stdin. Child stderr is kept for error messages.
 */
import type { ChildProcess } from 'node:child_process'
import { appendFileSync } from 'node:fs'
import { createInterface } from 'node:readline'

/** INGEST_CHILD_LOG=file: every line a child writes that is not an event (e.g. --trace-gc) goes there. */
const childLog = process.env.INGEST_CHILD_LOG

function keep(what: string, text: string): void {
  if (childLog !== undefined && childLog !== '') appendFileSync(childLog, text.split('\n').filter(Boolean).map((l) => `${what}: ${l}\n`).join(''))
}

export interface ChildEvent {
  readonly event: string
  readonly [k: string]: unknown
}

/** Child side: report an event. */
export function report(e: ChildEvent): void {
  process.stdout.write(`${JSON.stringify(e)}\n`)
}

/** Child side: calls `fn` for each command line; `onEnd` when the harness closes stdin. */
export function onCommands(fn: (cmd: string) => void, onEnd: () => void): void {
  const rl = createInterface({ input: process.stdin })
  rl.on('line', (l) => fn(l.trim()))
  rl.on('close', onEnd)
}

/** Harness side: the events of one child, awaitable by name. */
export class ChildChannel {
  readonly events: ChildEvent[] = []
  stderr = ''
  private waiters: { name: string; resolve: (e: ChildEvent) => void }[] = []
  private exitInfo: string | undefined
  private failWaiters: ((e: Error) => void)[] = []

  constructor(readonly what: string, readonly proc: ChildProcess) {
    if (proc.stdout === null || proc.stdin === null) throw new Error(`${what}: child needs piped stdin and stdout`)
    createInterface({ input: proc.stdout }).on('line', (l) => {
      let e: ChildEvent
      try {
        e = JSON.parse(l) as ChildEvent
      } catch {
        this.stderr += `${l}\n`
        keep(what, l)
        return
      }
      this.events.push(e)
      for (const w of this.waiters.filter((x) => x.name === e.event)) w.resolve(e)
      this.waiters = this.waiters.filter((x) => x.name !== e.event)
    })
    proc.stderr?.on('data', (d: Buffer) => {
      keep(what, d.toString())
      this.stderr = (this.stderr + d.toString()).slice(-8000)
    })
    proc.stdin.on('error', () => undefined) // the child may be gone
    proc.once('exit', (code, signal) => {
      this.exitInfo = `${what} exited (${signal ?? code})${this.stderr ? `: ${this.stderr.trim().slice(-2000)}` : ''}`
      for (const f of this.failWaiters) f(new Error(this.exitInfo))
      this.failWaiters = []
    })
  }

  get exited(): boolean {
    return this.exitInfo !== undefined
  }

  send(cmd: string): void {
    if (this.proc.stdin?.writable === true) this.proc.stdin.write(`${cmd}\n`)
  }

  find(name: string): ChildEvent | undefined {
    return this.events.find((e) => e.event === name)
  }

  /** The first event `name` (past or future); rejects on timeout, on the child's exit, or on an
   * `error` event from it. */
  wait(name: string, timeoutMs: number): Promise<ChildEvent> {
    const have = this.find(name)
    if (have !== undefined) return Promise.resolve(have)
    const err = this.find('error')
    if (err !== undefined) return Promise.reject(new Error(`${this.what}: ${String(err.message)}`))
    if (this.exitInfo !== undefined) return Promise.reject(new Error(this.exitInfo))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.what}: no "${name}" within ${timeoutMs} ms${this.stderr ? `; stderr: ${this.stderr.trim().slice(-2000)}` : ''}`)), timeoutMs)
      const done = (e: ChildEvent): void => {
        clearTimeout(timer)
        if (e.event === 'error') reject(new Error(`${this.what}: ${String(e.message)}`))
        else resolve(e)
      }
      this.waiters.push({ name, resolve: done }, { name: 'error', resolve: done })
      this.failWaiters.push((e) => {
        clearTimeout(timer)
        reject(e)
      })
    })
  }
}
