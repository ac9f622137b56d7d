/**
 * One Loc-RIB table of one family, with every peer's paths (their Adj-RIB-In), in typed arrays.
 *
 * - Destinations: the prefix key as W uint32 words (IPv4 1, VPN-IPv4 3 = RD high, RD low, address,
 *   IPv6 4, VPN-IPv6 6) plus a length byte, found through an open-addressing hash table (linear
 *   probing, a slot holds the key's hash and dest+1) — no string per prefix, no object per route (docs/benchmarks.md). Other
 *   families (RTC, labeled unicast) are few and keyed by their NLRI bytes in a Map.
 *   Destinations are never freed: an id given out in a `changed` event may be queued by Adj-RIB-Out
 *   and must not come to mean another prefix. An emptied destination is reused when its prefix
 *   returns.
 * - Paths: a singly linked list per destination (next index), each path naming its peer, ADD-PATH
 *   id, attribute set as received (pre-policy) and as accepted (post-policy, -1 rejected), flags
 *   (stale, best, in the multipath set) and, on labeled families, its label. Freed slots are reused.
 * - Best path (RFC 4271 9.1.2.2) by staged elimination over the candidates, as the RFC describes it
 *   (so MED, compared only among routes from the same neighbouring AS, is not made non-transitive by
 *   pairwise comparison): highest LOCAL_PREF; locally originated; shortest AS_PATH; lowest ORIGIN;
 *   lowest MED per neighbouring AS (or across all with always-compare-med); eBGP over iBGP. The
 *   survivors are the multipath candidates; the best among them is chosen by lowest ORIGINATOR_ID
 *   or router id, shortest CLUSTER_LIST, lowest peer address, lowest path id. The ECMP set is the
 *   best plus survivors with an equal AS_PATH (equal length only with relax), up to the maximum.
 */
import { Family, type FamilyKey } from '../codec/afi.js'
import { decodeNlri, families, nlriToString, rdToString, parseRd, type Nlri, type RouteDistinguisher } from '../codec/nlri.js'
import { formatIpv4, formatIpv6Words, parseIpv4, parseIpv6Words, wordMask } from '../../src/lib/address.js'
import type { AttrId, BestChange, DestId, PeerId, RibOptions, RibTable, RouteAttributes, RouteEntry, RouteInfo } from './api.js'
import { AttrBits, type AttributeStore } from './attribute-store.js'
import { allocated, grown, growFields, retire, roomAt, StagedGrowth } from './grow.js'
import type { PeerInfoTable } from './peers.js'

export const PathFlag = { Stale: 1, Best: 2, Multipath: 4 } as const
/** What a change did to a destination, as commit() reports it. */
export const ChangeKind = { Add: 0, Replace: 1, Withdraw: 2 } as const
const DestDirty = 1
/** Tables grow ahead of need, an array per turn (StagedGrowth), from this many entries. */
const STAGED_FROM = 65536
const DEST_ARRAYS = ['keys', 'lens', 'first1', 'best1', 'destFlags']
const PATH_ARRAYS = ['pDest', 'pNext1', 'pIn', 'pAcc', 'pPeer', 'pId', 'pFlags']
const DestTouched = 2
const DestBestGone = 4

/** Key layout of a family. */
export type TableKind = 'ipv4' | 'ipv6' | 'vpnv4' | 'vpnv6' | 'raw'

export function tableKind(family: FamilyKey): TableKind {
  switch (family) {
    case Family.Ipv4Unicast:
      return 'ipv4'
    case Family.Ipv6Unicast:
      return 'ipv6'
    case Family.Ipv4Vpn:
      return 'vpnv4'
    case Family.Ipv6Vpn:
      return 'vpnv6'
    default:
      return 'raw'
  }
}

const WORDS: Record<TableKind, number> = { ipv4: 1, ipv6: 4, vpnv4: 3, vpnv6: 6, raw: 0 }

function fmix(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}

/**
 * Hash of an IPv4 prefix that keeps neighbours together: prefixes that differ only in the last three
 * bits of their prefix number (10.0.0.0/24 ... 10.0.7.0/24) land in one run of eight slots, one cache
 * line, while the rest of the number is mixed. Peers send tables in prefix order, so a full-table
 * load touches a new cache line (and page) every eighth prefix instead of every prefix; prefixes in
 * no order hash as well as before (the low bits are as random as the prefixes).
 */
function hash4(a: number, len: number): number {
  const idx = len === 0 ? 0 : a >>> (32 - len)
  return (fmix((idx >>> 3) ^ Math.imul(len + 1, 0x9e3779b1)) & ~7) | (idx & 7)
}

/** Per-peer counters of one table (grown with the peer table). */
class Counters {
  received = new Int32Array(8)
  accepted = new Int32Array(8)
  active = new Int32Array(8)
  stale = new Int32Array(8)
  ensure(peer: PeerId): void {
    if (peer < this.received.length) return
    let n = this.received.length
    while (n <= peer) n *= 2
    this.received = grown(this.received, n)
    this.accepted = grown(this.accepted, n)
    this.active = grown(this.active, n)
    this.stale = grown(this.stale, n)
  }
}

export class Table implements RibTable {
  readonly family: FamilyKey
  readonly kind: TableKind
  private readonly W: number
  private readonly labeled: boolean
  private readonly store: AttributeStore
  private readonly peers: PeerInfoTable
  private readonly options: RibOptions

  // Destinations.
  private destCount = 0
  private destCap: number
  private destGrowth: StagedGrowth | undefined
  /** Where newDest takes its slow path (roomAt). */
  private destRoomAt = 0
  private keys: Uint32Array
  private lens: Uint8Array
  /** First path + 1 and best path + 1 (0 = none): zero-filled arrays need no initialising pass,
   * and untouched pages of a grown array cost no memory (page faults are dear on this kind of VM). */
  private first1: Int32Array
  private best1: Int32Array
  private destFlags: Uint8Array
  private slots: Int32Array
  private slotMask: number
  private readonly rawIndex = new Map<string, DestId>()
  private readonly rawNlri: Nlri[] = []
  private bestCount = 0

  // Paths.
  private pathCap: number
  private pathGrowth: StagedGrowth | undefined
  /** Where newPath takes its slow path (roomAt). */
  private pathRoomAt = 0
  private pathTop = 0
  private freePaths: number[] = []
  pDest: Int32Array
  /** Next path of the same destination + 1 (0 = none). */
  pNext1: Int32Array
  pPeer: Uint16Array
  pId: Uint32Array
  pIn: Int32Array
  /** Accepted set: 0 = the received set (no policy, or the policy left it alone), -1 = rejected,
   * k > 0 = set k - 1. The common case writes nothing, so those pages are never touched. */
  private pAcc: Int32Array
  pFlags: Uint8Array
  pLabel: Uint32Array

  // Dirty destinations since the last commit.
  private dirty = new Int32Array(1024)
  private dirtyCount = 0
  /** Destinations from here on were created since the last commit (implicitly dirty). */
  private newFrom = 0
  readonly counters = new Counters()

  constructor(family: FamilyKey, store: AttributeStore, peers: PeerInfoTable, options: RibOptions) {
    this.family = family
    this.kind = tableKind(family)
    this.W = WORDS[this.kind]
    this.labeled = families.get(family)?.labeled ?? false
    this.store = store
    this.peers = peers
    this.options = options
    this.destCap = 1024
    this.keys = new Uint32Array(this.destCap * Math.max(1, this.W))
    this.lens = new Uint8Array(this.destCap)
    this.first1 = new Int32Array(this.destCap)
    this.best1 = new Int32Array(this.destCap)
    this.destFlags = new Uint8Array(this.destCap)
    this.slots = new Int32Array(this.kind === 'raw' ? 0 : 2 * 2048)
    this.slotMask = 2048 - 1
    this.pathCap = 1024
    this.pDest = new Int32Array(this.pathCap)
    this.pNext1 = new Int32Array(this.pathCap)
    this.pPeer = new Uint16Array(this.pathCap)
    this.pId = new Uint32Array(this.pathCap)
    this.pIn = new Int32Array(this.pathCap)
    this.pAcc = new Int32Array(this.pathCap)
    this.pFlags = new Uint8Array(this.pathCap)
    this.pLabel = new Uint32Array(this.labeled ? this.pathCap : 0)
  }

  /** Destinations with a best path. */
  get size(): number {
    return this.bestCount
  }

  // ---- destinations ----

  private hash(w0: number, w1: number, w2: number, w3: number, w4: number, w5: number, len: number): number {
    let h = fmix(w0 ^ Math.imul(len + 1, 0x9e3779b1))
    const W = this.W
    if (W > 1) {
      h = fmix(h ^ w1)
      h = fmix(h ^ w2)
      if (W > 3) {
        h = fmix(h ^ w3)
        if (W > 4) {
          h = fmix(h ^ w4)
          h = fmix(h ^ w5)
        }
      }
    }
    return h
  }

  private same(d: DestId, w0: number, w1: number, w2: number, w3: number, w4: number, w5: number, len: number): boolean {
    if (this.lens[d] !== len) return false
    const k = this.keys
    const W = this.W
    const o = d * W
    if (k[o] !== w0) return false
    if (W === 1) return true
    if (k[o + 1] !== w1 || k[o + 2] !== w2) return false
    if (W === 3) return true
    if (k[o + 3] !== w3) return false
    if (W === 4) return true
    return k[o + 4] === w4 && k[o + 5] === w5
  }

  /** The destination of a numeric key; created when `create`; -1 when absent. */
  find(w0: number, w1: number, w2: number, w3: number, w4: number, w5: number, len: number, create: boolean): DestId {
    const h = this.W === 1 ? hash4(w0, len) : this.hash(w0, w1, w2, w3, w4, w5, len)
    const slots = this.slots
    const mask = this.slotMask
    // A slot is [hash, dest + 1]: probing compares hashes inside the slot array and reads a key only
    // when the hash matches, so a new prefix costs one cache miss, not three.
    let i = h & mask
    for (;;) {
      const s = slots[2 * i + 1] as number
      if (s === 0) break
      if (slots[2 * i] === h && this.same(s - 1, w0, w1, w2, w3, w4, w5, len)) return s - 1
      i = (i + 1) & mask
    }
    if (!create) return -1
    const d = this.newDest()
    const o = d * this.W
    const k = this.keys
    k[o] = w0
    if (this.W > 1) {
      k[o + 1] = w1
      k[o + 2] = w2
      if (this.W > 3) {
        k[o + 3] = w3
        if (this.W > 4) {
          k[o + 4] = w4
          k[o + 5] = w5
        }
      }
    }
    this.lens[d] = len
    slots[2 * i] = h
    slots[2 * i + 1] = d + 1
    // Keep the load at most 1/2: probes stay short. (Deferring a big table's rehash to the next turn,
    // letting the load pass 1/2 meanwhile, was tried for the CLI's tail: it cost the 500k ingest
    // about a fifth more CPU, and the staged growth of the arrays gave the tail most of what it won.)
    if (this.destCount * 2 > mask + 1) this.rehash()
    return d
  }

  /** The destination of an NLRI given as wire bytes (length octet first), for raw families. */
  findRaw(buf: Uint8Array, start: number, end: number, create: boolean): DestId {
    const key = Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1')
    const found = this.rawIndex.get(key)
    if (found !== undefined) return found
    if (!create) return -1
    const f = families.get(this.family)
    if (f === undefined) throw new RangeError(`family ${this.family} has no codec`)
    const out: Nlri[] = []
    decodeNlri(f, buf, start, end, false, false, out) // created only by announcements
    const n = out[0]
    if (n === undefined) throw new RangeError('findRaw: no NLRI in the bytes')
    const d = this.newDest()
    this.rawIndex.set(key, d)
    this.rawNlri[d] = { family: n.family, prefix: n.prefix, length: n.length, ...(n.rd === undefined ? {} : { rd: n.rd }) }
    this.lens[d] = n.length
    return d
  }

  private newDest(): DestId {
    const d = this.destCount++
    // One comparison here; the rest is destRoom's (see roomAt)
    if (d >= this.destRoomAt) this.destRoom(d)
    return d
  }

  /** Elements per destination of a destination array: the key's words, one for the rest. */
  private readonly destWidth = (f: string): number => (f === 'keys' ? Math.max(1, this.W) : 1)

  /** The path arrays this table has (labels on labeled families only). */
  private pathArrays(): readonly string[] {
    return this.labeled ? [...PATH_ARRAYS, 'pLabel'] : PATH_ARRAYS
  }

  private destRoom(d: number): void {
    if (d >= this.destCap) this.growDests()
    else if (this.destGrowth === undefined && d >= roomAt(this.destCap, false, STAGED_FROM)) {
      // three quarters full: the arrays grow one per turn from now (StagedGrowth, grow.ts)
      const n = this.destCap * 4
      this.destGrowth = new StagedGrowth(this, DEST_ARRAYS, this.destWidth, n, () => {
        this.destCap = n
        this.destGrowth = undefined
        this.destRoomAt = roomAt(n, false, STAGED_FROM)
      })
    }
    this.destRoomAt = roomAt(this.destCap, this.destGrowth !== undefined, STAGED_FROM)
  }

  private growDests(): void {
    if (this.destGrowth !== undefined) return this.destGrowth.finish()
    // Grow by four: copying touches memory, and touching new memory is what costs here.
    const n = this.destCap * 4
    growFields(this, DEST_ARRAYS, this.destWidth, n)
    this.destCap = n
  }

  private rehash(): void {
    // Double: every slot gets touched (hashes scatter), so slack here is resident memory.
    const old = this.slots
    const slots = allocated(old, old.length * 2)
    const mask = slots.length / 2 - 1
    // The stored hashes make this a pass over the old slots with no key read.
    for (let j = 0; j < old.length; j += 2) {
      const s = old[j + 1] as number
      if (s === 0) continue
      const h = old[j] as number
      let i = h & mask
      while (slots[2 * i + 1] !== 0) i = (i + 1) & mask
      slots[2 * i] = h
      slots[2 * i + 1] = s
    }
    this.slots = slots
    retire(old)
    this.slotMask = mask
  }

  // ---- paths ----

  private newPath(): number {
    const p = this.freePaths.pop()
    if (p !== undefined) return p
    if (this.pathTop >= this.pathRoomAt) this.pathRoom()
    return this.pathTop++
  }

  private pathRoom(): void {
    if (this.pathTop >= this.pathCap) this.growPaths()
    else if (this.pathGrowth === undefined && this.pathTop >= roomAt(this.pathCap, false, STAGED_FROM)) {
      const n = this.pathCap * 4
      this.pathGrowth = new StagedGrowth(this, this.pathArrays(), () => 1, n, () => {
        this.pathCap = n
        this.pathGrowth = undefined
        this.pathRoomAt = roomAt(n, false, STAGED_FROM)
      })
    }
    this.pathRoomAt = roomAt(this.pathCap, this.pathGrowth !== undefined, STAGED_FROM)
  }

  private growPaths(): void {
    if (this.pathGrowth !== undefined) return this.pathGrowth.finish()
    const n = this.pathCap * 4
    growFields(this, this.pathArrays(), () => 1, n)
    this.pathCap = n
  }

  /** Accepted attribute set of path p, or -1 when rejected. */
  acc(p: number): AttrId {
    const v = this.pAcc[p] as number
    return v === 0 ? (this.pIn[p] as number) : v > 0 ? v - 1 : -1
  }

  private setAcc(p: number, id: AttrId): void {
    this.pAcc[p] = id === this.pIn[p] ? 0 : id < 0 ? -1 : id + 1
  }

  /** The next path of the same destination, or -1. */
  next(p: number): number {
    return (this.pNext1[p] as number) - 1
  }

  private markDirty(d: DestId): void {
    // Destinations created since the last commit are all dirty by construction: a full-table load
    // keeps no list at all.
    if (d >= this.newFrom) return
    const f = this.destFlags[d] as number
    if ((f & DestDirty) !== 0) return
    this.destFlags[d] = f | DestDirty
    if (this.dirtyCount >= this.dirty.length) this.dirty = grown(this.dirty, this.dirty.length * 2)
    this.dirty[this.dirtyCount++] = d
  }

  /**
   * Adds or replaces the path (peer, pathId) of `d`. Takes over one reference to `inId` and, when
   * >= 0, to `accId` (the caller took them).
   */
  upsert(d: DestId, peer: PeerId, pathId: number, inId: AttrId, accId: AttrId, label: number): void {
    const store = this.store
    const c = this.counters
    for (let p = ((this.first1[d] as number) - 1); p >= 0; p = this.next(p)) {
      if (this.pPeer[p] !== peer || this.pId[p] !== pathId) continue
      const oldIn = this.pIn[p] as number
      const oldAcc = this.acc(p)
      const flags = this.pFlags[p] as number
      const sameLabel = !this.labeled || this.pLabel[p] === label
      if (oldIn === inId && oldAcc === accId && sameLabel) {
        // Re-announced unchanged (e.g. after a route refresh or a restart): drop the extra references
        // and clear a stale mark; best path need not run.
        store.release(inId)
        if (accId >= 0) store.release(accId)
        if ((flags & PathFlag.Stale) !== 0) {
          this.pFlags[p] = flags & ~PathFlag.Stale
          c.stale[peer] = (c.stale[peer] as number) - 1
          if ((flags & (PathFlag.Best | PathFlag.Multipath)) !== 0) {
            this.destFlags[d] = (this.destFlags[d] as number) | DestTouched
            this.markDirty(d)
          }
        }
        return
      }
      store.release(oldIn)
      if (oldAcc >= 0) store.release(oldAcc)
      if (oldAcc >= 0 && accId < 0) c.accepted[peer] = (c.accepted[peer] as number) - 1
      else if (oldAcc < 0 && accId >= 0) c.accepted[peer] = (c.accepted[peer] as number) + 1
      if ((flags & PathFlag.Stale) !== 0) c.stale[peer] = (c.stale[peer] as number) - 1
      this.pIn[p] = inId
      this.setAcc(p, accId)
      this.pFlags[p] = flags & ~PathFlag.Stale
      if (this.labeled) this.pLabel[p] = label
      if ((flags & (PathFlag.Best | PathFlag.Multipath)) !== 0) this.destFlags[d] = (this.destFlags[d] as number) | DestTouched
      this.markDirty(d)
      return
    }
    // A new path: its slot is all zeros but pDest, so zeros (no next path, path id 0, accepted =
    // received) are not written and those pages are never touched in a plain full-table load.
    const p = this.newPath()
    this.pDest[p] = d
    const first = this.first1[d] as number
    if (first !== 0) this.pNext1[p] = first
    this.first1[d] = p + 1
    this.pPeer[p] = peer
    if (pathId !== 0) this.pId[p] = pathId
    this.pIn[p] = inId
    if (accId !== inId) this.pAcc[p] = accId < 0 ? -1 : accId + 1
    if (this.labeled) this.pLabel[p] = label
    c.ensure(peer)
    c.received[peer] = (c.received[peer] as number) + 1
    if (accId >= 0) c.accepted[peer] = (c.accepted[peer] as number) + 1
    this.markDirty(d)
  }

  /** Removes the path (peer, pathId) of `d`; false when there was none. */
  remove(d: DestId, peer: PeerId, pathId: number): boolean {
    let prev = -1
    for (let p = ((this.first1[d] as number) - 1); p >= 0; prev = p, p = this.next(p)) {
      if (this.pPeer[p] !== peer || this.pId[p] !== pathId) continue
      this.unlink(d, p, prev)
      return true
    }
    return false
  }

  private unlink(d: DestId, p: number, prev: number): void {
    const next = this.next(p)
    if (prev < 0) this.first1[d] = next + 1
    else this.pNext1[prev] = next + 1
    const peer = this.pPeer[p] as number
    const c = this.counters
    const flags = this.pFlags[p] as number
    c.received[peer] = (c.received[peer] as number) - 1
    const acc = this.acc(p)
    if (acc >= 0) {
      c.accepted[peer] = (c.accepted[peer] as number) - 1
      this.store.release(acc)
    }
    this.store.release(this.pIn[p] as number)
    if ((flags & PathFlag.Stale) !== 0) c.stale[peer] = (c.stale[peer] as number) - 1
    if ((flags & (PathFlag.Best | PathFlag.Multipath)) !== 0) {
      c.active[peer] = (c.active[peer] as number) - 1
      this.destFlags[d] = (this.destFlags[d] as number) | DestTouched
      if (this.best1[d] === p + 1) {
        // The best path is gone; commit must see a change even if the slot is reused right away.
        this.best1[d] = 0
        this.destFlags[d] = (this.destFlags[d] as number) | DestBestGone
      }
    }
    this.pDest[p] = -1
    // A free slot is all zeros but for pDest, so a new path writes only what is not zero.
    this.pFlags[p] = 0
    this.pNext1[p] = 0
    this.pAcc[p] = 0
    this.pId[p] = 0
    this.freePaths.push(p)
    this.markDirty(d)
  }

  /** Calls fn(path, dest) for every path of `peer` (all of them when peer < 0). */
  forEachPath(peer: PeerId, fn: (p: number, d: DestId) => void): void {
    for (let p = 0; p < this.pathTop; p++) {
      const d = this.pDest[p] as number
      if (d < 0 || (peer >= 0 && this.pPeer[p] !== peer)) continue
      fn(p, d)
    }
  }

  /** Withdraws every path of a peer (of those with `flagMask` set, when given). */
  removePeerPaths(peer: PeerId, flagMask = 0): number {
    let n = 0
    for (let d = 0; d < this.destCount; d++) {
      let prev = -1
      for (let p = ((this.first1[d] as number) - 1); p >= 0; ) {
        const next = this.next(p)
        if (this.pPeer[p] === peer && (flagMask === 0 || ((this.pFlags[p] as number) & flagMask) !== 0)) {
          this.unlink(d, p, prev)
          n++
        } else prev = p
        p = next
      }
    }
    return n
  }

  markPeerStale(peer: PeerId): number {
    let n = 0
    const c = this.counters
    for (let p = 0; p < this.pathTop; p++) {
      if (this.pDest[p] === -1 || this.pPeer[p] !== peer) continue
      const f = this.pFlags[p] as number
      if ((f & PathFlag.Stale) !== 0) continue
      this.pFlags[p] = f | PathFlag.Stale
      c.stale[peer] = (c.stale[peer] as number) + 1
      n++
      if ((f & (PathFlag.Best | PathFlag.Multipath)) !== 0) {
        const d = this.pDest[p] as number
        this.destFlags[d] = (this.destFlags[d] as number) | DestTouched
        this.markDirty(d)
      }
    }
    return n
  }

  /** Makes best path run again on d at the next commit (a peer's router id or kind changed). */
  touch(d: DestId): void {
    if (d >= this.newFrom) return
    this.destFlags[d] = (this.destFlags[d] as number) | DestTouched
    this.markDirty(d)
  }

  /** Sets the accepted attribute set of path p (policy re-applied); takes over the reference. */
  setAccepted(p: number, accId: AttrId): void {
    const old = this.acc(p)
    const peer = this.pPeer[p] as number
    if (old === accId) {
      if (accId >= 0) this.store.release(accId)
      return
    }
    if (old >= 0) this.store.release(old)
    const c = this.counters
    if (old >= 0 && accId < 0) c.accepted[peer] = (c.accepted[peer] as number) - 1
    else if (old < 0 && accId >= 0) c.accepted[peer] = (c.accepted[peer] as number) + 1
    this.setAcc(p, accId)
    const d = this.pDest[p] as number
    if (((this.pFlags[p] as number) & (PathFlag.Best | PathFlag.Multipath)) !== 0) this.destFlags[d] = (this.destFlags[d] as number) | DestTouched
    this.markDirty(d)
  }

  // ---- best path ----

  private cand = new Int32Array(64)
  private lastKind: number = ChangeKind.Add

  private readonly outDests = new Int32Array(4096)
  private readonly outKinds = new Uint8Array(4096)

  /**
   * Runs best path on every dirty destination and hands the ones whose best path or multipath set
   * changed to `chunk`, at most 4,096 at a time in reused arrays (a full-table load does not build a
   * million-entry list); returns how many changed. `chunk` may read the table; changes it makes to
   * the table are picked up by this commit or the next.
   *
   * `limit` bounds the destinations decided in this call (the rest stay pending, in order, for the
   * next): a full table's changes then reach the listeners over several turns of the event loop
   * instead of one, so the daemon keeps answering while a table loads.
   */
  commit(chunk: (dests: Int32Array, kinds: Uint8Array, n: number) => void, limit = Infinity): number {
    const out = this.outDests
    const kinds = this.outKinds
    let n = 0
    let total = 0
    const report = (d: DestId): void => {
      kinds[n] = this.lastKind
      out[n++] = d
      if (n === out.length) {
        total += n
        chunk(out, kinds, n)
        n = 0
      }
    }
    const flags = this.destFlags
    // dirtyCount is read again each time round: destinations a listener marks meanwhile are decided
    // in this call too, within the limit
    let fromDirty = 0
    for (; fromDirty < this.dirtyCount && fromDirty < limit; fromDirty++) {
      const d = this.dirty[fromDirty] as number
      const f = flags[d] as number
      flags[d] = 0
      if (this.decide(d, (f & DestTouched) !== 0, (f & DestBestGone) !== 0)) report(d)
    }
    if (fromDirty < this.dirtyCount) this.dirty.copyWithin(0, fromDirty, this.dirtyCount)
    this.dirtyCount -= fromDirty
    // New destinations are decided in creation order; newFrom moves as they are, so one created by
    // a listener meanwhile stays pending (implicitly dirty) for this call or the next.
    let budget = limit - fromDirty
    while (this.newFrom < this.destCount && budget > 0) {
      const d = this.newFrom++
      budget--
      if (this.decide(d, false, false)) report(d)
    }
    if (this.dirtyCount === 0 && this.dirty.length > 65536) this.dirty = new Int32Array(1024)
    if (n > 0) {
      total += n
      chunk(out, kinds, n)
    }
    return total
  }

  get pending(): number {
    return this.dirtyCount + this.destCount - this.newFrom
  }

  /** Best path and multipath set of d; true when what Loc-RIB shows changed. */
  private decide(d: DestId, touched: boolean, gone: boolean): boolean {
    const oldBest = gone ? -2 : (this.best1[d] as number) - 1
    let cand = this.cand
    let n = 0
    for (let p = ((this.first1[d] as number) - 1); p >= 0; p = this.next(p)) {
      if (this.acc(p) < 0) continue
      if (n >= cand.length) cand = this.cand = grown(cand, cand.length * 2)
      cand[n++] = p
    }
    let best = -1
    let mpCount = 0
    if (n === 1) {
      best = cand[0] as number
      mpCount = 1
    } else if (n > 1) {
      n = this.eliminate(cand, n)
      best = this.tieBreak(cand, n)
      mpCount = this.multipathSet(cand, n, best)
    }
    // Apply flags; note whether the multipath set changed.
    let changed = touched || best !== oldBest
    const c = this.counters
    for (let p = ((this.first1[d] as number) - 1); p >= 0; p = this.next(p)) {
      const old = this.pFlags[p] as number
      let nf = old & PathFlag.Stale
      if (p === best) nf |= PathFlag.Best | PathFlag.Multipath
      else if (mpCount > 1) {
        for (let k = 0; k < mpCount; k++) {
          if (cand[k] === p) {
            nf |= PathFlag.Multipath
            break
          }
        }
      }
      if (nf !== old) {
        const was = (old & PathFlag.Multipath) !== 0
        const is = (nf & PathFlag.Multipath) !== 0
        if (was !== is) {
          changed = true
          const peer = this.pPeer[p] as number
          c.active[peer] = (c.active[peer] as number) + (is ? 1 : -1)
        }
        this.pFlags[p] = nf
      }
    }
    if (oldBest === -1 && best < 0) return false
    if (oldBest === -1) {
      this.bestCount++
      this.lastKind = ChangeKind.Add
    } else if (best < 0) {
      this.bestCount--
      this.lastKind = ChangeKind.Withdraw
    } else this.lastKind = ChangeKind.Replace
    this.best1[d] = best + 1
    return changed
  }

  /** RFC 4271 9.1.2.2 a-e over cand[0..n); returns how many survive (compacted to the front). */
  private eliminate(cand: Int32Array, n: number): number {
    const s = this.store
    const pPeer = this.pPeer
    // a. highest degree of preference (LOCAL_PREF).
    let max = 0
    for (let i = 0; i < n; i++) max = Math.max(max, s.localPref[this.acc(cand[i] as number)] as number)
    n = keep(cand, n, (p) => s.localPref[this.acc(p)] === max)
    if (n === 1) return 1
    // Locally originated routes before learned ones (as FRR, Junos).
    if (anyOf(cand, n, (p) => pPeer[p] === 0)) n = keep(cand, n, (p) => pPeer[p] === 0)
    // b. shortest AS_PATH.
    let min = Infinity
    for (let i = 0; i < n; i++) min = Math.min(min, s.asPathLength[this.acc(cand[i] as number)] as number)
    n = keep(cand, n, (p) => s.asPathLength[this.acc(p)] === min)
    if (n === 1) return 1
    // c. lowest ORIGIN.
    min = Infinity
    for (let i = 0; i < n; i++) min = Math.min(min, s.origin[this.acc(cand[i] as number)] as number)
    n = keep(cand, n, (p) => s.origin[this.acc(p)] === min)
    if (n === 1) return 1
    // d. MED, among routes from the same neighbouring AS (all routes with always-compare-med).
    const always = this.options.alwaysCompareMed === true
    const worst = this.options.missingMedWorst === true
    const med = (p: number): number => {
      const a = this.acc(p)
      return ((s.bits[a] as number) & AttrBits.HasMed) !== 0 ? (s.med[a] as number) : worst ? 0xffffffff : 0
    }
    const nbr = (p: number): number => {
      const a = s.neighborAs[this.acc(p)] as number
      // An empty AS_PATH (a route from our own AS) has our AS as its neighbouring AS.
      return a === 0 ? this.options.localAs : a
    }
    const snapshot = Array.from(cand.subarray(0, n))
    n = keep(cand, n, (p) => {
      const m = med(p)
      const as = nbr(p)
      for (const q of snapshot) if (q !== p && (always || nbr(q) === as) && med(q) < m) return false
      return true
    })
    if (n === 1) return 1
    // e. eBGP over iBGP (locally originated routes count as eBGP here).
    const ext = (p: number): boolean => pPeer[p] === 0 || this.peers.ebgp[pPeer[p] as number] === 1
    if (anyOf(cand, n, ext) && !allOf(cand, n, ext)) n = keep(cand, n, ext)
    return n
  }

  /** 9.1.2.2 f-g: the best of equal candidates (the order also ranks the multipath set). */
  private before(p: number, q: number): boolean {
    const s = this.store
    const a = this.acc(p)
    const b = this.acc(q)
    const pp = this.pPeer[p] as number
    const qp = this.pPeer[q] as number
    const idP = ((s.bits[a] as number) & AttrBits.HasOriginatorId) !== 0 ? (s.originatorId[a] as number) : (this.peers.routerId[pp] as number)
    const idQ = ((s.bits[b] as number) & AttrBits.HasOriginatorId) !== 0 ? (s.originatorId[b] as number) : (this.peers.routerId[qp] as number)
    if (idP !== idQ) return idP < idQ
    const cl = (s.clusterListLength[a] as number) - (s.clusterListLength[b] as number)
    if (cl !== 0) return cl < 0
    const ka = this.peers.addressKey[pp] ?? ''
    const kb = this.peers.addressKey[qp] ?? ''
    if (ka !== kb) return ka < kb
    return (this.pId[p] as number) < (this.pId[q] as number)
  }

  private tieBreak(cand: Int32Array, n: number): number {
    let best = cand[0] as number
    for (let i = 1; i < n; i++) {
      const p = cand[i] as number
      if (this.before(p, best)) best = p
    }
    return best
  }

  /** Orders the multipath set into cand[0..k): best first, then in tie-break order; returns k. */
  private multipathSet(cand: Int32Array, n: number, best: number): number {
    const max = this.options.multipath?.maximum ?? 1
    if (max <= 1 || n === 1) {
      cand[0] = best
      return 1
    }
    const relax = this.options.multipath?.relaxAsPath === true
    const s = this.store
    const bestPath = s.asPathKey[this.acc(best)]
    const others: number[] = []
    for (let i = 0; i < n; i++) {
      const p = cand[i] as number
      if (p === best) continue
      // Without relax the AS_PATHs must be the same; with it equal length (already so after b).
      if (!relax && s.asPathKey[this.acc(p)] !== bestPath) continue
      // Routes of different kinds (eBGP and iBGP) never share an ECMP set; e. made them one kind.
      others.push(p)
    }
    others.sort((x, y) => (this.before(x, y) ? -1 : 1))
    cand[0] = best
    let k = 1
    for (const p of others) {
      if (k >= max) break
      cand[k++] = p
    }
    return k
  }

  // ---- read access (RibTable) ----

  entry(p: number): RouteEntry {
    const peer = this.pPeer[p] as number
    const acc = this.acc(p)
    const set = this.store.get(acc >= 0 ? acc : (this.pIn[p] as number))
    return {
      peer,
      peerAddress: this.peers.peers[peer]?.address ?? '',
      pathId: this.pId[p] as number,
      ...(this.labeled ? { label: this.pLabel[p] as number } : {}),
      attrId: acc,
      nextHop: set.nextHop,
      attrs: set.attrs,
      stale: ((this.pFlags[p] as number) & PathFlag.Stale) !== 0,
    }
  }

  best(dest: DestId): RouteEntry | undefined {
    const p = (this.best1[dest] ?? 0) - 1
    return p >= 0 ? this.entry(p) : undefined
  }

  multipath(dest: DestId): RouteEntry[] {
    const best = (this.best1[dest] ?? 0) - 1
    if (best < 0) return []
    const rest: number[] = []
    for (let p = ((this.first1[dest] as number) - 1); p >= 0; p = this.next(p)) {
      if (p !== best && ((this.pFlags[p] as number) & PathFlag.Multipath) !== 0) rest.push(p)
    }
    rest.sort((x, y) => (this.before(x, y) ? -1 : 1))
    return [best, ...rest].map((p) => this.entry(p))
  }

  multipathSets(dest: DestId, attrIds: Int32Array, labels: Int32Array): number {
    const best = (this.best1[dest] ?? 0) - 1
    if (best < 0 || attrIds.length === 0) return 0
    attrIds[0] = this.acc(best)
    labels[0] = this.labeled ? (this.pLabel[best] as number) : -1
    let n = 1
    let more = false
    for (let p = ((this.first1[dest] as number) - 1); p >= 0; p = this.next(p)) {
      if (p !== best && ((this.pFlags[p] as number) & PathFlag.Multipath) !== 0) {
        more = true
        break
      }
    }
    if (!more) return n
    // More than one path: multipath() builds the order (rare enough to allocate).
    const rest: number[] = []
    for (let p = ((this.first1[dest] as number) - 1); p >= 0; p = this.next(p)) {
      if (p !== best && ((this.pFlags[p] as number) & PathFlag.Multipath) !== 0) rest.push(p)
    }
    rest.sort((x, y) => (this.before(x, y) ? -1 : 1))
    for (const p of rest) {
      if (n >= attrIds.length || n >= labels.length) break
      attrIds[n] = this.acc(p)
      labels[n] = this.labeled ? (this.pLabel[p] as number) : -1
      n++
    }
    return n
  }

  attributeSet(id: AttrId): RouteAttributes {
    return this.store.get(id)
  }

  bestAttrId(dest: DestId): AttrId {
    const p = (this.best1[dest] ?? 0) - 1
    return p >= 0 ? (this.acc(p)) : -1
  }

  bestPeer(dest: DestId): PeerId {
    const p = (this.best1[dest] ?? 0) - 1
    return p >= 0 ? (this.pPeer[p] as number) : -1
  }

  bestLabel(dest: DestId): number {
    const p = (this.best1[dest] ?? 0) - 1
    return p >= 0 && this.labeled ? (this.pLabel[p] as number) : -1
  }

  rd(dest: DestId): RouteDistinguisher | undefined {
    if (this.kind === 'vpnv4' || this.kind === 'vpnv6') {
      const o = dest * this.W
      return rdFromWords(this.keys[o] as number, this.keys[o + 1] as number)
    }
    return this.rawNlri[dest]?.rd
  }

  addressBytes(dest: DestId): Uint8Array {
    if (this.kind === 'raw') return (this.rawNlri[dest] as Nlri).prefix
    const o = dest * this.W
    const off = this.kind === 'vpnv4' || this.kind === 'vpnv6' ? 2 : 0
    const words = this.kind === 'ipv4' || this.kind === 'vpnv4' ? 1 : 4
    const b = new Uint8Array(words * 4)
    const dv = new DataView(b.buffer)
    for (let i = 0; i < words; i++) dv.setUint32(i * 4, this.keys[o + off + i] as number)
    return b
  }

  prefixText(dest: DestId): string {
    const o = dest * this.W
    const k = this.keys
    const len = this.lens[dest] as number
    switch (this.kind) {
      case 'ipv4':
        return `${formatIpv4(k[o] as number)}/${len}`
      case 'ipv6':
        return `${formatIpv6Words(k[o] as number, k[o + 1] as number, k[o + 2] as number, k[o + 3] as number)}/${len}`
      case 'vpnv4':
        return `${rdToString(rdFromWords(k[o] as number, k[o + 1] as number))}:${formatIpv4(k[o + 2] as number)}/${len}`
      case 'vpnv6':
        return `${rdToString(rdFromWords(k[o] as number, k[o + 1] as number))}:${formatIpv6Words(k[o + 2] as number, k[o + 3] as number, k[o + 4] as number, k[o + 5] as number)}/${len}`
      case 'raw':
        return nlriToString(this.rawNlri[dest] as Nlri)
    }
  }

  route(dest: DestId, pathId?: number): RouteInfo {
    const bp = (this.best1[dest] ?? 0) - 1
    let p = bp
    if (pathId !== undefined) {
      p = -1
      for (let q = ((this.first1[dest] as number) - 1); q >= 0; q = this.next(q)) if (this.pId[q] === pathId) p = q
    }
    return {
      family: this.family,
      prefix: this.prefixText(dest),
      address: this.addressBytes(dest),
      length: this.lens[dest] as number,
      ...(this.labeled && p >= 0 ? { label: this.pLabel[p] as number } : {}),
      pathId: p >= 0 ? (this.pId[p] as number) : (pathId ?? 0),
      peer: p >= 0 ? (this.pPeer[p] as number) : -1,
    }
  }

  /** RouteInfo of a path of dest that may not exist yet (policy evaluation before the upsert). */
  routeOf(dest: DestId, peer: PeerId, pathId: number, label: number): RouteInfo {
    return {
      family: this.family,
      prefix: this.prefixText(dest),
      address: this.addressBytes(dest),
      length: this.lens[dest] as number,
      ...(this.labeled ? { label } : {}),
      pathId,
      peer,
    }
  }

  /** RouteInfo of path p (policy evaluation of one path). */
  pathRoute(p: number): RouteInfo {
    return this.routeOf(this.pDest[p] as number, this.pPeer[p] as number, this.pId[p] as number, this.labeled ? (this.pLabel[p] as number) : 0)
  }


  lookup(prefix: string): DestId {
    const k = parsePrefixKey(this.kind, prefix)
    if (k === undefined) {
      for (let d = 0; d < this.destCount; d++) if (this.prefixText(d) === prefix) return d
      return -1
    }
    return this.find(k[0], k[1], k[2], k[3], k[4], k[5], k[6], false)
  }

  /** Numeric key of an NLRI object (for announce/withdraw by object). */
  findNlri(n: Nlri, create: boolean): DestId {
    if (this.kind === 'raw') {
      const f = families.get(this.family)
      if (f === undefined) throw new RangeError(`family ${this.family} has no codec`)
      const nb = (n.length + 7) >>> 3
      const b = new Uint8Array(1 + (f.rd ? 8 : 0) + nb)
      b[0] = n.length + (f.rd ? 64 : 0)
      let p = 1
      if (f.rd && n.rd !== undefined) {
        writeRdWords(n.rd, b, 1)
        p = 9
      }
      b.set(n.prefix.subarray(0, nb), p)
      maskTail(b, p, n.length)
      return this.findRaw(b, 0, b.length, create)
    }
    const w = new Uint32Array(6)
    const dv = new DataView(n.prefix.buffer, n.prefix.byteOffset, n.prefix.byteLength)
    const v6 = this.kind === 'ipv6' || this.kind === 'vpnv6'
    const words = v6 ? 4 : 1
    const off = this.kind === 'vpnv4' || this.kind === 'vpnv6' ? 2 : 0
    for (let i = 0; i < words; i++) w[off + i] = n.prefix.length >= (i + 1) * 4 ? dv.getUint32(i * 4) : 0
    maskWords(w, off, words, n.length)
    if (off === 2) {
      if (n.rd === undefined) throw new RangeError(`a ${this.kind} route needs a route distinguisher`)
      const rb = new Uint8Array(8)
      writeRdWords(n.rd, rb, 0)
      const rdv = new DataView(rb.buffer)
      w[0] = rdv.getUint32(0)
      w[1] = rdv.getUint32(4)
    }
    return this.find(w[0] as number, w[1] as number, w[2] as number, w[3] as number, w[4] as number, w[5] as number, n.length, create)
  }

  writeKey(dest: DestId, addr: Uint32Array, length: Uint8Array, rd: Uint32Array | undefined, i: number): void {
    const o = dest * this.W
    const k = this.keys
    length[i] = this.lens[dest] as number
    switch (this.kind) {
      case 'ipv4':
        addr[i] = k[o] as number
        return
      case 'ipv6':
        addr[4 * i] = k[o] as number
        addr[4 * i + 1] = k[o + 1] as number
        addr[4 * i + 2] = k[o + 2] as number
        addr[4 * i + 3] = k[o + 3] as number
        return
      case 'vpnv4':
        if (rd !== undefined) {
          rd[2 * i] = k[o] as number
          rd[2 * i + 1] = k[o + 1] as number
        }
        addr[i] = k[o + 2] as number
        return
      case 'vpnv6':
        if (rd !== undefined) {
          rd[2 * i] = k[o] as number
          rd[2 * i + 1] = k[o + 1] as number
        }
        for (let j = 0; j < 4; j++) addr[4 * i + j] = k[o + 2 + j] as number
        return
      case 'raw':
        throw new RangeError(`writeKey: family ${this.family} is not a bulk-encoded family; use nlri()`)
    }
  }

  nlri(dest: DestId): Nlri {
    if (this.kind === 'raw') return this.rawNlri[dest] as Nlri
    const rd = this.rd(dest)
    return {
      family: this.family,
      prefix: this.addressBytes(dest),
      length: this.lens[dest] as number,
      ...(rd === undefined ? {} : { rd }),
    }
  }

  forEachBest(fn: (dest: DestId) => void): void {
    for (let d = 0; d < this.destCount; d++) if ((this.best1[d] as number) > 0) fn(d)
  }
}

function keep(cand: Int32Array, n: number, pred: (p: number) => boolean): number {
  let k = 0
  for (let i = 0; i < n; i++) {
    const p = cand[i] as number
    if (pred(p)) cand[k++] = p
  }
  return k
}

function anyOf(cand: Int32Array, n: number, pred: (p: number) => boolean): boolean {
  for (let i = 0; i < n; i++) if (pred(cand[i] as number)) return true
  return false
}

function allOf(cand: Int32Array, n: number, pred: (p: number) => boolean): boolean {
  for (let i = 0; i < n; i++) if (!pred(cand[i] as number)) return false
  return true
}

/** RD from its two wire words: type in the top 16 bits of the first. */
export function rdFromWords(hi: number, lo: number): RouteDistinguisher {
  const type = hi >>> 16
  if (type === 0) return { type, admin: hi & 0xffff, assigned: lo >>> 0 }
  return { type, admin: (((hi & 0xffff) << 16) | (lo >>> 16)) >>> 0, assigned: lo & 0xffff }
}

function writeRdWords(rd: RouteDistinguisher, b: Uint8Array, p: number): void {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
  dv.setUint16(p, rd.type)
  if (rd.type === 0) {
    dv.setUint16(p + 2, rd.admin)
    dv.setUint32(p + 4, rd.assigned)
  } else {
    dv.setUint32(p + 2, rd.admin)
    dv.setUint16(p + 6, rd.assigned)
  }
}

function maskWords(w: Uint32Array, off: number, words: number, len: number): void {
  for (let i = 0; i < words; i++) {
    w[off + i] = ((w[off + i] as number) & wordMask(len - i * 32)) >>> 0
  }
}

function maskTail(b: Uint8Array, p: number, len: number): void {
  const nb = (len + 7) >>> 3
  if (len % 8 !== 0) b[p + nb - 1] = (b[p + nb - 1] as number) & ((0xff << (8 - (len % 8))) & 0xff)
}

/** Parses the text forms of RouteInfo.prefix into [w0..w5, len]; undefined for raw families. */
export function parsePrefixKey(kind: TableKind, text: string): [number, number, number, number, number, number, number] | undefined {
  if (kind === 'raw') return undefined
  let rest = text.trim()
  const out: [number, number, number, number, number, number, number] = [0, 0, 0, 0, 0, 0, 0]
  let off = 0
  if (kind === 'vpnv4' || kind === 'vpnv6') {
    // RD:prefix, the RD being ADMIN:NUMBER (ADMIN an AS or an IPv4 address).
    const i = rest.indexOf(':')
    const j = rest.indexOf(':', i + 1)
    if (i < 0 || j < 0) throw new RangeError(`"${text}": expected RD:prefix`)
    const rd = parseRd(rest.slice(0, j))
    const b = new Uint8Array(8)
    writeRdWords(rd, b, 0)
    const dv = new DataView(b.buffer)
    out[0] = dv.getUint32(0)
    out[1] = dv.getUint32(4)
    off = 2
    rest = rest.slice(j + 1)
  }
  const slash = rest.lastIndexOf('/')
  if (slash < 0) throw new RangeError(`"${text}": expected ADDRESS/LENGTH`)
  const len = Number(rest.slice(slash + 1))
  const addr = rest.slice(0, slash)
  const v6 = kind === 'ipv6' || kind === 'vpnv6'
  if (!Number.isInteger(len) || len < 0 || len > (v6 ? 128 : 32)) throw new RangeError(`"${text}": bad prefix length`)
  const w = new Uint32Array(6)
  if (v6) {
    const a = parseIpv6Words(addr, 'prefix')
    for (let i = 0; i < 4; i++) w[off + i] = a[i] as number
    maskWords(w, off, 4, len)
  } else {
    w[off] = parseIpv4(addr, 'prefix')
    maskWords(w, off, 1, len)
  }
  for (let i = off; i < 6; i++) out[i] = w[i] as number
  out[6] = len
  return out
}

/**
 * A best-path change as the RIB emits it: family, destination and kind at once; the prefix text and
 * the entries only when read (then kept), so a listener that reads the table's numbers instead
 * (`table`, the gateway logic) costs no string and no entry object per change.
 */
export class TableBestChange implements BestChange {
  private text: string | undefined
  private paths: readonly RouteEntry[] | undefined
  constructor(readonly table: RibTable, readonly dest: DestId, readonly kind: BestChange['kind']) {}

  get family(): FamilyKey {
    return this.table.family
  }

  get prefix(): string {
    return (this.text ??= this.table.prefixText(this.dest))
  }

  get multipath(): readonly RouteEntry[] {
    return (this.paths ??= this.kind === 'withdraw' ? [] : this.table.multipath(this.dest))
  }

  get best(): RouteEntry | undefined {
    return this.multipath[0]
  }
}
