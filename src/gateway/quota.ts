/**
 * The quota guard toward the Transit Gateway: AWS accepts at most 1,000 dynamic routes from an
 * appliance on a Connect peer (exceeding it is not a soft limit we can count on), so the gateway never
 * advertises more than `limit` prefixes. Beyond it the excess is refused, not the session.
 *
 * The choice must be the same on every gateway instance whatever order routes arrived in, or the TGW
 * would see different sets from different instances and ECMP would break. So the advertised set is a
 * function of the candidate set alone: the `limit` smallest candidate keys (orderKey in prefix.ts:
 * aggregates before more-specifics, then family, address, length). Invariant: every admitted key sorts
 * before every refused key.
 *
 * Cost: admitted keys live in a sorted array (at most `limit`, binary search + splice); refused keys in
 * a set. Removing an admitted key while others are refused leaves a hole that `settle()` fills (one
 * scan of the refused set per batch, not per route); until then only keys below the largest admitted
 * key may enter, which keeps the invariant.
 */

/** Newly refused keys reported per batch at most (a full table over the quota refuses ~everything). */
const FRESH_MAX = 1000

/** Told of every change in the admitted set, synchronously. */
export interface QuotaSink {
  admit(key: string): void
  evict(key: string): void
}

export interface QuotaStatus {
  readonly limit: number
  readonly candidates: number
  readonly admitted: number
  readonly refused: number
  /** Times a candidate was refused or evicted over the quota since start. */
  readonly refusals: number
}

export class QuotaGuard {
  private readonly admitted: string[] = []
  private readonly admittedSet = new Set<string>()
  private readonly refused = new Set<string>()
  private refusals = 0
  /** Keys refused since the last settle() (for the report; the first FRESH_MAX only). */
  private fresh: string[] = []

  constructor(readonly limit: number, private readonly sink: QuotaSink) {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`maxPrefixesAdvertised: ${limit} is not a non-negative integer`)
  }

  get size(): number {
    return this.admitted.length + this.refused.size
  }

  has(key: string): boolean {
    return this.admittedSet.has(key)
  }

  add(key: string): void {
    if (this.admittedSet.has(key) || this.refused.has(key)) return
    const n = this.admitted.length
    const last = n > 0 ? (this.admitted[n - 1] as string) : undefined
    // Room and nothing waiting: admit. Otherwise only a key below the largest admitted one may enter
    // (everything refused sorts above that key, so the order is kept).
    const enters = this.refused.size === 0 ? n < this.limit || (last !== undefined && key < last) : last !== undefined && key < last
    if (!enters) {
      this.refuse(key)
      return
    }
    this.admitted.splice(this.insertionPoint(key), 0, key)
    this.admittedSet.add(key)
    this.sink.admit(key)
    if (this.admitted.length > this.limit) {
      const out = this.admitted.pop() as string
      this.admittedSet.delete(out)
      this.sink.evict(out)
      this.refuse(out)
    }
  }

  remove(key: string): void {
    if (this.refused.delete(key)) return
    if (!this.admittedSet.delete(key)) return
    this.admitted.splice(this.insertionPoint(key), 1)
    this.sink.evict(key)
  }

  /** Fills the holes left by removals with the smallest refused keys; returns the keys refused since
   * the last call that are still refused (at most the first 1,000). */
  settle(): string[] {
    const room = this.limit - this.admitted.length
    if (room > 0 && this.refused.size > 0) {
      // The `room` smallest refused keys, by one scan keeping a sorted window.
      const pick: string[] = []
      for (const k of this.refused) {
        if (pick.length === room && k >= (pick[room - 1] as string)) continue
        let lo = 0
        let hi = pick.length
        while (lo < hi) {
          const mid = (lo + hi) >>> 1
          if ((pick[mid] as string) < k) lo = mid + 1
          else hi = mid
        }
        pick.splice(lo, 0, k)
        if (pick.length > room) pick.pop()
      }
      for (const k of pick) {
        this.refused.delete(k)
        this.admitted.push(k) // all above every admitted key: appending keeps the order
        this.admittedSet.add(k)
        this.sink.admit(k)
      }
    }
    const fresh = this.fresh.filter((k) => this.refused.has(k))
    this.fresh = []
    return fresh
  }

  /** Admitted keys in order. */
  admittedKeys(): readonly string[] {
    return this.admitted
  }

  /** Refused keys in order, at most `max`. */
  refusedKeys(max = Infinity): string[] {
    const all = [...this.refused].sort()
    return all.length > max ? all.slice(0, max) : all
  }

  status(): QuotaStatus {
    return { limit: this.limit, candidates: this.size, admitted: this.admitted.length, refused: this.refused.size, refusals: this.refusals }
  }

  private refuse(key: string): void {
    this.refused.add(key)
    this.refusals++
    if (this.fresh.length < FRESH_MAX) this.fresh.push(key)
  }

  private insertionPoint(key: string): number {
    const a = this.admitted
    let lo = 0
    let hi = a.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((a[mid] as string) < key) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
