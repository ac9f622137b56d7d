/**
 * Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection package:
 * spec.holderIdentity, leaseDurationSeconds, acquireTime, renewTime (MicroTime, RFC 3339 with
 * microseconds) and leaseTransitions. A candidate takes the lease when it is free (no holder) or when
 * the holder has not renewed for leaseDuration as measured on the candidate's own clock from the
 * moment it last saw the record change (client-go's observedTime, immune to clock skew between
 * replicas). Every write is an update carrying the resourceVersion read, so two candidates racing for
 * an expired lease cannot both win (the loser gets 409 Conflict). The leader renews every retryPeriod
 * and steps down if it could not renew within renewDeadline; on stop it releases the lease
 * (holderIdentity cleared) so a successor takes over at once instead of after leaseDuration.
 */
import type { Logger } from 'pino'
import type { V1Lease } from '@kubernetes/client-node'
import { isConflict, isNotFound, type KubeConnection } from './client.js'

export interface LeaderElectionOptions {
  namespace: string
  name: string
  identity: string
  leaseDurationMs?: number
  renewDeadlineMs?: number
  retryPeriodMs?: number
  log: Logger
  /** Called when this candidate becomes leader; the signal aborts when leadership is lost. */
  onStartedLeading(signal: AbortSignal): void
  onStoppedLeading(): void
  onNewLeader?(identity: string): void
}

/** MicroTime as kube-apiserver parses it: RFC 3339 with exactly six fractional digits. */
export function microTime(d = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')
}

export class LeaderElector {
  private readonly leaseMs: number
  private readonly renewDeadlineMs: number
  private readonly retryMs: number
  private observedRecord = ''
  private observedAt = 0
  private leading = false
  private lastRenew = 0
  private stopped = false
  private timer: NodeJS.Timeout | undefined
  /** The acquire/renew request on the wire, if any (stop() waits for it before releasing). */
  private inflight: Promise<void> | undefined
  private abort: AbortController | undefined
  private currentLeader = ''

  constructor(private readonly conn: KubeConnection, private readonly o: LeaderElectionOptions) {
    this.leaseMs = o.leaseDurationMs ?? 15_000
    this.renewDeadlineMs = o.renewDeadlineMs ?? 10_000
    this.retryMs = o.retryPeriodMs ?? 2_000
    if (!(this.leaseMs > this.renewDeadlineMs && this.renewDeadlineMs > this.retryMs)) {
      throw new Error('leader election: need leaseDuration > renewDeadline > retryPeriod')
    }
  }

  get isLeader(): boolean { return this.leading }
  get leader(): string { return this.currentLeader }

  start(): void {
    void this.tick()
  }

  /** Stops at once without releasing the lease (a crash, as far as the others can tell). */
  abandon(): void {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.lose()
  }

  /** Stops campaigning; a leader releases the lease first. */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    // A renewal already on the wire would land after the release (and take the Lease back, or make the
    // release fail with 409 Conflict): let it finish first.
    await this.inflight
    if (this.leading) {
      // Retried on conflict: a release that fails leaves the successor waiting a whole leaseDuration.
      for (let attempt = 1; attempt <= 3; attempt++) {
        try {
          const lease = await this.conn.coordination.readNamespacedLease({ namespace: this.o.namespace, name: this.o.name })
          if (lease.spec?.holderIdentity === this.o.identity) {
            lease.spec.holderIdentity = undefined as unknown as string
            lease.spec.leaseDurationSeconds = 1
            lease.spec.renewTime = microTime() as unknown as Date
            await this.conn.coordination.replaceNamespacedLease({ namespace: this.o.namespace, name: this.o.name, body: lease })
          }
          break
        } catch (e) {
          if (attempt === 3) this.o.log.warn({ err: e }, 'could not release the lease')
        }
      }
      this.lose()
    }
  }

  private schedule(): void {
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.retryMs)
  }

  private lose(): void {
    if (!this.leading) return
    this.leading = false
    this.abort?.abort()
    this.abort = undefined
    this.o.log.info({ lease: this.o.name, identity: this.o.identity }, 'stopped leading')
    this.o.onStoppedLeading()
  }

  private async tick(): Promise<void> {
    if (this.stopped) return
    let ok = false
    const attempt = this.tryAcquireOrRenew()
    this.inflight = attempt.then(() => undefined, () => undefined)
    try {
      ok = await attempt
    } catch (e) {
      this.o.log.warn({ err: e, lease: this.o.name }, 'lease update failed')
    } finally {
      this.inflight = undefined
    }
    if (this.stopped) return
    const now = Date.now()
    if (ok) {
      this.lastRenew = now
      if (!this.leading) {
        this.leading = true
        this.abort = new AbortController()
        this.o.log.info({ lease: this.o.name, identity: this.o.identity }, 'became leader')
        this.o.onStartedLeading(this.abort.signal)
      }
    } else if (this.leading && now - this.lastRenew > this.renewDeadlineMs) {
      this.lose()
    }
    this.schedule()
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const ns = this.o.namespace, name = this.o.name
    const now = new Date()
    let lease: V1Lease
    try {
      lease = await this.conn.coordination.readNamespacedLease({ namespace: ns, name })
    } catch (e) {
      if (!isNotFound(e)) throw e
      try {
        await this.conn.coordination.createNamespacedLease({
          namespace: ns,
          body: {
            apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: ns },
            spec: {
              holderIdentity: this.o.identity, leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
              acquireTime: microTime(now) as unknown as Date, renewTime: microTime(now) as unknown as Date, leaseTransitions: 0,
            },
          },
        })
        this.setLeader(this.o.identity)
        return true
      } catch (e2) {
        if (isConflict(e2)) return false
        throw e2
      }
    }
    const spec = lease.spec ?? {}
    const holder = spec.holderIdentity ?? ''
    const record = JSON.stringify([holder, String(spec.renewTime ?? ''), spec.leaseDurationSeconds])
    if (record !== this.observedRecord) {
      this.observedRecord = record
      this.observedAt = Date.now()
    }
    if (holder) this.setLeader(holder)
    // Lease duration of the record as written by its holder (may differ from ours).
    const durMs = (spec.leaseDurationSeconds ?? Math.ceil(this.leaseMs / 1000)) * 1000
    const held = holder !== '' && holder !== this.o.identity
    if (held && this.observedAt + durMs > Date.now()) return false
    const transitions = spec.leaseTransitions ?? 0
    const mine = holder === this.o.identity
    lease.spec = {
      ...spec,
      holderIdentity: this.o.identity,
      leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
      renewTime: microTime(now) as unknown as Date,
      acquireTime: (mine && spec.acquireTime ? toMicro(spec.acquireTime) : microTime(now)) as unknown as Date,
      leaseTransitions: mine ? transitions : transitions + 1,
    }
    try {
      await this.conn.coordination.replaceNamespacedLease({ namespace: ns, name, body: lease })
    } catch (e) {
      if (isConflict(e)) return false
      throw e
    }
    this.observedRecord = ''
    this.setLeader(this.o.identity)
    return true
  }

  private setLeader(id: string): void {
    if (id !== this.currentLeader) {
      this.currentLeader = id
      this.o.onNewLeader?.(id)
    }
  }
}

/** The client deserializes MicroTime into a Date; write it back with microseconds. */
function toMicro(v: unknown): string {
  if (v instanceof Date) return microTime(v)
  return String(v)
}
