/**
 * List-then-watch informer (client-go's Reflector + Indexer, kubernetes-client/javascript ListWatch):
 * list the resource, keep the returned items in a cache keyed `namespace/name`, then watch from the
 * list's resourceVersion. A watch that ends (server timeout, client inactivity timeout, connection
 * loss) is resumed from the last resourceVersion seen; a 410 Gone (as an HTTP status or as an ERROR
 * event carrying a Status with code 410, which is how kube-apiserver reports an expired version) means
 * that version has left the server's history: list again and emit the differences as adds, updates
 * and deletes so handlers see a consistent picture. BOOKMARK events only move the resourceVersion.
 *
 * An `optional` informer (a CRD that may not be installed, e.g. CN2's VirtualNetwork) treats 404 on
 * list as an empty, synced cache and retries later.
 */
import type { Logger } from 'pino'
import { httpCode, objectKey, type KubeObject, type ResourceClient } from './client.js'

export interface InformerHandlers<T> {
  add?(obj: T): void
  update?(old: T, obj: T): void
  delete?(obj: T): void
}

export interface InformerOptions {
  namespace?: string
  labelSelector?: string
  log: Logger
  optional?: boolean
  /** First retry delay after an error, doubled up to maxBackoffMs. */
  backoffMs?: number
  maxBackoffMs?: number
  /** Called on each relist with its cause (metrics). */
  onRelist?(cause: 'initial' | 'gone' | 'error' | 'absent'): void
}

export class Informer<T extends KubeObject> {
  private readonly cache = new Map<string, T>()
  private rv = ''
  private stopped = false
  private abort: AbortController | undefined
  private retryTimer: NodeJS.Timeout | undefined
  private failures = 0
  private syncedResolve!: () => void
  /** Resolves after the first list has filled the cache. */
  readonly synced: Promise<void>
  private isSynced = false
  /** False while an optional resource is not served. */
  available = true

  constructor(readonly client: ResourceClient<T>, private readonly opts: InformerOptions, private readonly handlers: InformerHandlers<T> = {}) {
    this.synced = new Promise(resolve => { this.syncedResolve = resolve })
  }

  get hasSynced(): boolean { return this.isSynced }
  get resourceVersion(): string { return this.rv }

  start(): Promise<void> {
    void this.relist('initial')
    return this.synced
  }

  stop(): void {
    this.stopped = true
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.abort?.abort()
  }

  list(): T[] { return [...this.cache.values()] }
  get(key: string): T | undefined { return this.cache.get(key) }

  private retry(fn: () => void): void {
    if (this.stopped) return
    const base = this.opts.backoffMs ?? 200
    const delay = Math.min(base * 2 ** this.failures, this.opts.maxBackoffMs ?? 30_000)
    this.failures++
    this.retryTimer = setTimeout(fn, delay)
  }

  private async relist(cause: 'initial' | 'gone' | 'error' | 'absent'): Promise<void> {
    if (this.stopped) return
    this.opts.onRelist?.(cause)
    let r: { items: T[]; resourceVersion: string }
    try {
      r = await this.client.list(this.opts.namespace, this.opts.labelSelector)
    } catch (e) {
      if (this.opts.optional && httpCode(e) === 404) {
        if (this.available) this.opts.log.info({ resource: this.client.ref.plural }, 'resource not served; treated as empty')
        this.available = false
        this.replace([])
        this.markSynced()
        this.retry(() => void this.relist('absent'))
        return
      }
      this.opts.log.warn({ err: e, resource: this.client.ref.plural }, 'list failed; retrying')
      this.retry(() => void this.relist('error'))
      return
    }
    if (this.stopped) return
    this.available = true
    this.failures = 0
    this.replace(r.items)
    this.rv = r.resourceVersion
    this.markSynced()
    void this.watch()
  }

  private markSynced(): void {
    if (!this.isSynced) {
      this.isSynced = true
      this.syncedResolve()
    }
  }

  /** Makes the cache equal `items`, emitting the differences. */
  private replace(items: T[]): void {
    const seen = new Set<string>()
    for (const o of items) {
      const k = objectKey(o)
      seen.add(k)
      this.upsert(k, o)
    }
    for (const [k, o] of [...this.cache]) {
      if (!seen.has(k)) {
        this.cache.delete(k)
        this.handlers.delete?.(o)
      }
    }
  }

  private upsert(k: string, o: T): void {
    const old = this.cache.get(k)
    this.cache.set(k, o)
    if (!old) this.handlers.add?.(o)
    else if (old.metadata.resourceVersion !== o.metadata.resourceVersion) this.handlers.update?.(old, o)
  }

  private async watch(): Promise<void> {
    if (this.stopped) return
    let gone = false
    const query: Record<string, string | boolean> = { resourceVersion: this.rv, allowWatchBookmarks: true }
    if (this.opts.labelSelector) query.labelSelector = this.opts.labelSelector
    const onEvent = (type: string, obj: unknown): void => {
      if (this.stopped) return
      if (type === 'ERROR') {
        const code = (obj as { code?: number } | undefined)?.code
        if (code === 410) gone = true
        else this.opts.log.warn({ status: obj, resource: this.client.ref.plural }, 'watch error event')
        return
      }
      const o = obj as T
      if (o?.metadata?.resourceVersion) this.rv = o.metadata.resourceVersion
      if (type === 'BOOKMARK') return
      this.failures = 0
      const k = objectKey(o)
      if (type === 'DELETED') {
        const old = this.cache.get(k)
        this.cache.delete(k)
        this.handlers.delete?.(old ?? o)
      } else this.upsert(k, o)
    }
    const onDone = (err: unknown): void => {
      this.abort = undefined
      if (this.stopped) return
      if (gone || httpCode(err) === 410) {
        this.opts.log.debug({ resource: this.client.ref.plural, rv: this.rv }, 'watch expired (410 Gone); relisting')
        void this.relist('gone')
      } else if (err && (err as { name?: string }).name !== 'TimeoutError' && (err as { name?: string }).name !== 'AbortError') {
        this.opts.log.debug({ err, resource: this.client.ref.plural }, 'watch failed; resuming after backoff')
        this.retry(() => void this.watch())
      } else {
        void this.watch()
      }
    }
    try {
      this.abort = await this.client.conn.watcher.watch(this.client.watchPath(this.opts.namespace), query, onEvent, onDone)
      if (this.stopped) this.abort.abort()
    } catch (e) {
      onDone(e)
    }
  }
}
