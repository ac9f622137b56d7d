/**
 * Kubernetes Events (core/v1) for what a user must see in `kubectl describe`: reason (CamelCase),
 * message, type Normal or Warning, the involved object, source component. Like client-go's recorder
 * it aggregates: the same (object, type, reason, message) again within the aggregation window patches
 * count and lastTimestamp of the existing Event instead of creating another. Recording never throws
 * and never blocks a reconcile (failures are logged).
 */
import type { Logger } from 'pino'
import { ResourceClient, EVENTS, type KubeConnection, type KubeObject } from './client.js'

export type EventType = 'Normal' | 'Warning'

export class EventRecorder {
  private readonly events: ResourceClient<KubeObject>
  private readonly seen = new Map<string, { name: string; namespace: string; count: number; at: number }>()
  private pending: Promise<unknown> = Promise.resolve()

  constructor(conn: KubeConnection, private readonly component: string, private readonly log: Logger,
    private readonly host = '', private readonly windowMs = 10 * 60_000) {
    this.events = new ResourceClient(conn, EVENTS)
  }

  /** Resolves when every event recorded so far has been written (tests, shutdown). */
  flush(): Promise<unknown> { return this.pending }

  record(obj: KubeObject, type: EventType, reason: string, message: string): void {
    this.pending = this.pending.then(() => this.write(obj, type, reason, message)).catch((e: unknown) => {
      this.log.warn({ err: e, reason }, 'could not record event')
    })
  }

  private async write(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const namespace = obj.metadata.namespace ?? 'default'
    const key = `${obj.metadata.uid ?? obj.metadata.name}|${type}|${reason}|${message}`
    const now = new Date()
    const ts = now.toISOString().replace(/\.\d+Z$/, 'Z')
    const prev = this.seen.get(key)
    if (prev && now.getTime() - prev.at < this.windowMs) {
      prev.count++
      prev.at = now.getTime()
      try {
        await this.events.mergePatch(prev.namespace, prev.name, { count: prev.count, lastTimestamp: ts })
        return
      } catch { /* gone: create anew */ }
    }
    const name = `${obj.metadata.name}.${now.getTime().toString(16)}${Math.floor(Math.random() * 0x10000).toString(16)}`
    await this.events.create({
      apiVersion: 'v1', kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace,
        uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion,
      },
      reason, message, type, count: 1, firstTimestamp: ts, lastTimestamp: ts,
      source: { component: this.component, ...(this.host ? { host: this.host } : {}) },
      reportingComponent: this.component, reportingInstance: this.host,
    })
    this.seen.set(key, { name, namespace, count: 1, at: now.getTime() })
    if (this.seen.size > 4096) this.seen.delete(this.seen.keys().next().value as string)
  }
}
