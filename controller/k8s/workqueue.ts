/**
 * Keyed work queue after client-go's workqueue: a key is queued at most once (de-duplicated), at
 * most one worker holds a key at a time (a key added while in flight is queued again when its worker
 * calls done), delayed adds (addAfter) keep the earliest deadline, and failures back off
 * exponentially per key (base * 2^failures, capped) until `forget`.
 */

export interface WorkQueueOptions {
  baseDelayMs?: number
  maxDelayMs?: number
  /** Called whenever the number of queued (not in-flight) keys changes. */
  onDepth?(depth: number): void
}

export class WorkQueue {
  private readonly queue: string[] = []
  private readonly dirty = new Set<string>()
  private readonly processing = new Set<string>()
  private readonly failures = new Map<string, number>()
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>()
  private waiters: ((key: string | undefined) => void)[] = []
  private shuttingDown = false
  private readonly base: number
  private readonly max: number

  constructor(private readonly opts: WorkQueueOptions = {}) {
    this.base = opts.baseDelayMs ?? 100
    this.max = opts.maxDelayMs ?? 60_000
  }

  get length(): number { return this.queue.length }
  get inFlight(): number { return this.processing.size }
  isShuttingDown(): boolean { return this.shuttingDown }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return
    this.dirty.add(key)
    if (this.processing.has(key)) return
    this.push(key)
  }

  private push(key: string): void {
    const w = this.waiters.shift()
    if (w) {
      this.dirty.delete(key)
      this.processing.add(key)
      w(key)
    } else {
      this.queue.push(key)
      this.opts.onDepth?.(this.queue.length)
    }
  }

  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return
    if (ms <= 0) return this.add(key)
    const at = Date.now() + ms
    const t = this.timers.get(key)
    if (t && t.at <= at) return
    if (t) clearTimeout(t.timer)
    const timer = setTimeout(() => {
      this.timers.delete(key)
      this.add(key)
    }, ms)
    this.timers.set(key, { at, timer })
  }

  /** Requeues after this key's next backoff delay; returns that delay. */
  addRateLimited(key: string): number {
    const n = this.failures.get(key) ?? 0
    this.failures.set(key, n + 1)
    const delay = Math.min(this.base * 2 ** n, this.max)
    this.addAfter(key, delay)
    return delay
  }

  failureCount(key: string): number { return this.failures.get(key) ?? 0 }
  forget(key: string): void { this.failures.delete(key) }

  /** The next key, waiting for one; undefined once shut down. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined)
    const key = this.queue.shift()
    if (key !== undefined) {
      this.opts.onDepth?.(this.queue.length)
      this.dirty.delete(key)
      this.processing.add(key)
      return Promise.resolve(key)
    }
    return new Promise(resolve => this.waiters.push(resolve))
  }

  done(key: string): void {
    this.processing.delete(key)
    if (this.dirty.has(key) && !this.shuttingDown) {
      this.push(key)
    }
  }

  shutdown(): void {
    this.shuttingDown = true
    for (const t of this.timers.values()) clearTimeout(t.timer)
    this.timers.clear()
    for (const w of this.waiters) w(undefined)
    this.waiters = []
  }
}

export interface ReconcileResult { requeueAfterMs?: number }

/**
 * Runs `workers` loops over the queue until shutdown: success forgets the key's backoff (and requeues
 * it after `requeueAfterMs` when asked, for polling AWS states); a throw requeues with backoff.
 */
export async function runWorkers(queue: WorkQueue, workers: number, fn: (key: string) => Promise<ReconcileResult | void>,
  onError: (key: string, err: unknown, retryInMs: number) => void): Promise<void> {
  const loop = async (): Promise<void> => {
    while (true) {
      const key = await queue.get()
      if (key === undefined) return
      try {
        const r = await fn(key)
        queue.forget(key)
        if (r && r.requeueAfterMs !== undefined) queue.addAfter(key, r.requeueAfterMs)
      } catch (e) {
        const ms = queue.isShuttingDown() ? 0 : queue.addRateLimited(key)
        onError(key, e, ms)
      } finally {
        queue.done(key)
      }
    }
  }
  await Promise.all(Array.from({ length: workers }, loop))
}
