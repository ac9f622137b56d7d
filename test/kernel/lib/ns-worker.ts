/**
 * Runs TypeScript functions of ours inside a network namespace: one long-lived Node child per
 * namespace (`ip netns exec <ns> node --import tsx ns-worker-child.ts`), so a test pays the Node start
 * once (seconds under qemu TCG) and then calls `worker.call(modulePath, 'fn', ...args)` as often as it
 * likes. Arguments and results cross as JSON. Node cannot setns() itself, and netlink sockets belong to
 * the namespace of the process that opens them: hence a process per namespace.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { Netns, Teardown } from './netns.js'

const childPath = fileURLToPath(new URL('./ns-worker-child.ts', import.meta.url))

export class NsWorkerError extends Error {
  override readonly name = 'NsWorkerError'
  constructor(message: string, readonly code: unknown, readonly remoteName: string) { super(message) }
}

export class NsWorker {
  private nextId = 1
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>()
  private exited: Error | undefined
  private readonly ready: Promise<void>

  private constructor(private readonly child: ChildProcess, readonly ns: string) {
    let readyResolve!: () => void
    let readyReject!: (e: Error) => void
    this.ready = new Promise((res, rej) => { readyResolve = res; readyReject = rej })
    const fd3 = child.stdio[3]
    if (!fd3 || !('on' in fd3)) throw new Error('ns worker: no result pipe')
    const rl = createInterface({ input: fd3 as NodeJS.ReadableStream })
    rl.on('line', line => {
      const msg = JSON.parse(line) as { id: number; ok: boolean; value?: unknown; error?: { message: string; code: unknown; name: string } }
      if (msg.id === 0) { readyResolve(); return }
      const p = this.pending.get(msg.id)
      if (!p) return
      this.pending.delete(msg.id)
      if (msg.ok) p.resolve(msg.value)
      else p.reject(new NsWorkerError(msg.error?.message ?? 'unknown error', msg.error?.code, msg.error?.name ?? 'Error'))
    })
    child.on('exit', (code, sig) => {
      this.exited = new Error(`ns worker in ${ns} exited (${sig ?? code})`)
      readyReject(this.exited)
      for (const p of this.pending.values()) p.reject(this.exited)
      this.pending.clear()
    })
  }

  /** Starts a worker in `ns`; stopped at `t`'s teardown. */
  static async start(ns: Netns, t?: Teardown): Promise<NsWorker> {
    const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '--import', 'tsx', childPath], {
      stdio: ['pipe', 'inherit', 'inherit', 'pipe'],
    })
    const w = new NsWorker(child, ns.name)
    t?.teardown(() => w.stop())
    await w.ready
    return w
  }

  /** Calls exported function `fn` of `module` (absolute path or URL of a .ts/.js file) in the namespace. */
  call<T = unknown>(module: string | URL, fn: string, ...args: unknown[]): Promise<T> {
    if (this.exited) return Promise.reject(this.exited)
    const id = this.nextId++
    const path = module instanceof URL ? fileURLToPath(module) : module
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: v => resolve(v as T), reject })
      this.child.stdin?.write(`${JSON.stringify({ id, module: path, fn, args })}\n`)
    })
  }

  async stop(): Promise<void> {
    if (this.exited) return
    const gone = new Promise<void>(res => this.child.once('exit', () => res()))
    this.child.stdin?.end()
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000)
    await gone
    clearTimeout(timer)
  }
}
