/**
 * Adj-RIB-Out of one peer for one family (RFC 4271 3.2), dense and keyed by the RIB's DestId:
 *
 * - `adv[dest]` = attribute set id + 1 of what the peer was last sent for dest, 0 = not advertised;
 *   `label[dest]` the label + 1 for labeled families (VPN routes change label without changing
 *   attributes).
 * - A FIFO of destinations to (re)consider, de-duplicated by `flag[dest]` (1 queued, 2 queued and
 *   must be re-sent even when unchanged: route refresh).
 * - Withdrawals whose destination may disappear from the RIB before the next flush are copied out
 *   at once as keys (`WithdrawBuffer`), so a DestId reused for another prefix is never confused
 *   with the one we withdraw.
 *
 * - Attribute sets are reference counted by the RIB (an id freed at zero is reused): the table holds
 *   one RIB reference per attribute set it uses, counting its own uses per id (`uses`), so a
 *   million advertised routes sharing a set cost one reference, not a million.
 *
 * Typed arrays only: a million advertised routes cost 8 MB here (adv + flag + queue), no objects.
 */
import type { FamilyKey } from '../codec/afi.js'
import type { Nlri } from '../codec/nlri.js'
import type { DestId } from '../rib/api.js'

function grow<T extends Int32Array | Uint8Array | Uint32Array>(a: T, need: number, make: (n: number) => T): T {
  if (need <= a.length) return a
  let n = a.length === 0 ? 1024 : a.length
  while (n < need) n *= 2
  const b = make(n)
  b.set(a)
  return b
}

/** Keys of routes to withdraw, as the bulk encoder's RouteBatch arrays (or NLRI objects). */
export class WithdrawBuffer {
  addr = new Uint32Array(0)
  length = new Uint8Array(0)
  rd = new Uint32Array(0)
  count = 0
  /** Families the bulk encoder does not take (RTC, labeled unicast). */
  objects: Nlri[] = []

  reserve(): number {
    const i = this.count
    this.addr = grow(this.addr, 4 * (i + 1), (n) => new Uint32Array(n))
    this.length = grow(this.length, i + 1, (n) => new Uint8Array(n))
    this.rd = grow(this.rd, 2 * (i + 1), (n) => new Uint32Array(n))
    this.count = i + 1
    return i
  }

  get size(): number {
    return this.count + this.objects.length
  }

  clear(): void {
    this.count = 0
    this.objects = []
  }
}

/** Takes and drops the RIB's references to attribute sets. */
export interface AttrRefs {
  acquire(id: number): void
  release(id: number): void
}

export class AdjRibOut {
  adv = new Int32Array(0)
  /** Uses per attribute set id by this table. */
  private uses = new Int32Array(0)
  label: Int32Array | undefined
  flag = new Uint8Array(0)
  private queue = new Int32Array(1024)
  private head = 0
  private tail = 0
  /** Destinations currently advertised. */
  advertised = 0
  readonly withdrawals = new WithdrawBuffer()

  constructor(readonly family: FamilyKey, labeled: boolean, private readonly refs: AttrRefs) {
    if (labeled) this.label = new Int32Array(0)
  }

  private ensure(dest: DestId): void {
    if (dest < this.adv.length) return
    this.adv = grow(this.adv, dest + 1, (n) => new Int32Array(n))
    this.flag = grow(this.flag, dest + 1, (n) => new Uint8Array(n))
    if (this.label !== undefined) this.label = grow(this.label, dest + 1, (n) => new Int32Array(n))
  }

  /** Queues dest; `force` re-sends it even when unchanged. */
  enqueue(dest: DestId, force = false): void {
    this.ensure(dest)
    const f = this.flag[dest] as number
    if (f !== 0) {
      if (force) this.flag[dest] = 2
      return
    }
    this.flag[dest] = force ? 2 : 1
    if (this.tail === this.queue.length) {
      if (this.head > this.queue.length >>> 1) {
        this.queue.copyWithin(0, this.head, this.tail)
        this.tail -= this.head
        this.head = 0
      } else {
        this.queue = grow(this.queue, this.queue.length * 2, (n) => new Int32Array(n))
      }
    }
    this.queue[this.tail++] = dest
  }

  get pending(): number {
    return this.tail - this.head
  }

  /** Moves up to `max` queued destinations into `out` (forced ones as ~dest); returns how many. */
  take(out: Int32Array, max: number): number {
    let n = 0
    while (n < max && this.head < this.tail) {
      const d = this.queue[this.head++] as number
      const f = this.flag[d] as number
      this.flag[d] = 0
      out[n++] = f === 2 ? ~d : d
    }
    if (this.head === this.tail) this.head = this.tail = 0
    return n
  }

  /** Attribute id advertised for dest, or -1. */
  advertisedAttr(dest: DestId): number {
    return dest < this.adv.length ? (this.adv[dest] as number) - 1 : -1
  }

  advertisedLabel(dest: DestId): number {
    return this.label !== undefined && dest < this.label.length ? (this.label[dest] as number) - 1 : -1
  }

  private use(id: number): void {
    if (id >= this.uses.length) this.uses = grow(this.uses, id + 1, (n) => new Int32Array(n))
    const u = this.uses[id] as number
    if (u === 0) this.refs.acquire(id)
    this.uses[id] = u + 1
  }

  private unuse(id: number): void {
    const u = (this.uses[id] as number) - 1
    this.uses[id] = u
    if (u === 0) this.refs.release(id)
  }

  set(dest: DestId, attrId: number, label: number): void {
    this.ensure(dest)
    const was = this.adv[dest] as number
    if (was === 0) this.advertised++
    if (was !== attrId + 1) {
      this.use(attrId)
      if (was !== 0) this.unuse(was - 1)
    }
    this.adv[dest] = attrId + 1
    if (this.label !== undefined) this.label[dest] = label + 1
  }

  unset(dest: DestId): void {
    if (dest >= this.adv.length || this.adv[dest] === 0) return
    this.unuse((this.adv[dest] as number) - 1)
    this.adv[dest] = 0
    if (this.label !== undefined) this.label[dest] = 0
    this.advertised--
  }

  /** Attribute set id last sent for dest, or -1. */
  attrOf(dest: DestId): number {
    return dest < this.adv.length ? (this.adv[dest] as number) - 1 : -1
  }

  /** Label last sent for dest (labeled families), or undefined. */
  labelOf(dest: DestId): number | undefined {
    if (this.label === undefined || dest >= this.label.length || this.label[dest] === 0) return undefined
    return (this.label[dest] as number) - 1
  }

  /** Calls fn for every advertised destination. */
  forEachAdvertised(fn: (dest: DestId) => void): void {
    const a = this.adv
    for (let d = 0; d < a.length; d++) if (a[d] !== 0) fn(d)
  }

  /** Forgets everything (session down). */
  reset(): void {
    for (let id = 0; id < this.uses.length; id++) if (this.uses[id] !== 0) this.refs.release(id)
    this.uses = new Int32Array(0)
    this.adv = new Int32Array(0)
    if (this.label !== undefined) this.label = new Int32Array(0)
    this.flag = new Uint8Array(0)
    this.queue = new Int32Array(1024)
    this.head = this.tail = 0
    this.advertised = 0
    this.withdrawals.clear()
  }
}
