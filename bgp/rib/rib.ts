/**
 * The RIB (RFC 4271 3.2): every peer's Adj-RIB-In and the Loc-RIB of each family in one Table per
 * family (table.ts), attribute sets interned once (attribute-store.ts), import policy per peer and
 * family applied on the way in with the received set kept (soft reconfiguration), and best-path
 * changes batched per commit() and handed out as events. See api.ts for the contract.
 *
 * Ingest from the wire goes through a PeerSink: the bulk decoder (codec/bulk.ts) calls it with the
 * attribute section once per UPDATE and then with each prefix as numbers; the sink interns the set
 * once, runs the import policy once per set when the policy does not look at prefixes, and upserts
 * each prefix into the table by its numeric key. No object is made per route.
 */
import { EventEmitter } from 'node:events'
import { Family, type FamilyKey } from '../codec/afi.js'
import type { UpdateSink } from '../codec/bulk.js'
import type { CodecContext } from '../codec/context.js'
import type { Nlri } from '../codec/nlri.js'
import type { UpdateIssue } from '../codec/update.js'
import type { NextHopGuard } from '../session/next-hop.js'
import type {
  AttrId,
  BestChange,
  PeerId,
  PrefixCounts,
  RibApi,
  RibEvents,
  RibOptions,
  RibPeer,
  RibTable,
  RouteAttributes,
  RouteInfo,
  RoutePolicy,
} from './api.js'
import { LOCAL_PEER } from './api.js'
import { AttributeStore } from './attribute-store.js'
import { PeerInfoTable } from './peers.js'
import { ChangeKind, Table, TableBestChange } from './table.js'

const EMPTY = new Uint8Array(0)

/** The bulk decoder's sink for one peer (and one session context). */
class PeerSink implements UpdateSink {
  /** Set of the current UPDATE as received, and as the import policy made it (-1 rejected,
   * -2 decided per route). The sink holds one reference to each until the next UPDATE or commit. */
  private inId = -1
  private accId = -1
  private v4: Table | undefined
  private v6: Table | undefined
  private vpn4: Table | undefined
  private vpn6: Table | undefined
  private policy: RoutePolicy | null = null
  /** RFC 7606 reports of the UPDATE being decoded: the owner takes them after each UPDATE. */
  issues: UpdateIssue[] = []
  /** The session's martian next-hop check (none: every next hop is accepted). */
  nextHops: NextHopGuard | undefined

  constructor(
    private readonly rib: Rib,
    readonly peer: PeerId,
    readonly ctx: CodecContext,
  ) {}

  release(): void {
    const store = this.rib.store
    if (this.inId >= 0) store.release(this.inId)
    if (this.accId >= 0) store.release(this.accId)
    this.inId = -1
    this.accId = -1
  }

  attributes(family: FamilyKey, attrs: Uint8Array, start: number, end: number, nh: Uint8Array, nhStart: number, nhLength: number): void {
    this.release()
    const store = this.rib.store
    this.inId = store.internWire(attrs, start, end, nh, nhStart, nhLength, this.ctx)
    const policy = this.rib.policyOf(this.peer, family)
    this.policy = policy
    if (policy !== null && !policy.perAttributeSet && !this.rib.loops(this.peer, this.inId)) this.accId = -2
    else this.accId = this.rib.admit(this.peer, policy, this.anyRoute(family), this.inId)
  }

  private anyRoute(family: FamilyKey): RouteInfo {
    return { family, prefix: '', address: EMPTY, length: 0, pathId: 0, peer: this.peer }
  }

  /** Takes the references a new path needs and upserts it. */
  private put(t: Table, d: number, pathId: number, label: number): void {
    const store = this.rib.store
    const inId = this.inId
    if (inId < 0) throw new Error('RIB sink: routes before their attributes')
    store.addRef(inId)
    let acc = this.accId
    // A policy that looks at the prefix runs per route (allocates; only with such policies).
    if (acc === -2) acc = this.rib.applyPolicy(this.policy as RoutePolicy, t.routeOf(d, this.peer, pathId, label), inId)
    else if (acc >= 0) store.addRef(acc)
    t.upsert(d, this.peer, pathId, inId, acc, label)
  }

  /** Withdraws the path, or upserts it with the current UPDATE's sets. */
  private route(t: Table, d: number, withdraw: boolean, pathId: number, label: number): void {
    if (withdraw) {
      if (d >= 0) t.remove(d, this.peer, pathId)
    } else this.put(t, d, pathId, label)
  }

  ipv4(withdraw: boolean, pathId: number, addr: number, length: number): void {
    const t = (this.v4 ??= this.rib.tableOf(Family.Ipv4Unicast))
    this.route(t, t.find(addr, 0, 0, 0, 0, 0, length, !withdraw), withdraw, pathId, 0)
  }

  ipv6(withdraw: boolean, pathId: number, a0: number, a1: number, a2: number, a3: number, length: number): void {
    const t = (this.v6 ??= this.rib.tableOf(Family.Ipv6Unicast))
    this.route(t, t.find(a0, a1, a2, a3, 0, 0, length, !withdraw), withdraw, pathId, 0)
  }

  vpnv4(withdraw: boolean, pathId: number, rdHigh: number, rdLow: number, label: number, addr: number, length: number): void {
    const t = (this.vpn4 ??= this.rib.tableOf(Family.Ipv4Vpn))
    this.route(t, t.find(rdHigh, rdLow, addr, 0, 0, 0, length, !withdraw), withdraw, pathId, label)
  }

  vpnv6(withdraw: boolean, pathId: number, rdHigh: number, rdLow: number, label: number, a0: number, a1: number, a2: number, a3: number, length: number): void {
    const t = (this.vpn6 ??= this.rib.tableOf(Family.Ipv6Vpn))
    this.route(t, t.find(rdHigh, rdLow, a0, a1, a2, a3, length, !withdraw), withdraw, pathId, label)
  }

  nlri(withdraw: boolean, family: FamilyKey, pathId: number, buf: Uint8Array, start: number, end: number): void {
    const t = this.rib.tableOf(family)
    this.route(t, t.findRaw(buf, start, end, !withdraw), withdraw, pathId, 0)
  }

  issue(issue: UpdateIssue): void {
    this.issues.push(issue)
  }

  checkNextHop(family: FamilyKey, buf: Uint8Array, start: number, length: number, nextHopAttribute: boolean): UpdateIssue | null {
    return this.nextHops === undefined ? null : this.nextHops.issue(family, buf, start, length, nextHopAttribute)
  }
}


export class Rib extends EventEmitter<RibEvents> implements RibApi {
  readonly options: RibOptions
  readonly store = new AttributeStore()
  private readonly peerTable = new PeerInfoTable()
  private readonly tables = new Map<FamilyKey, Table>()
  private readonly policies = new Map<number, RoutePolicy>()
  private readonly sinks = new Set<PeerSink>()

  constructor(options: RibOptions) {
    super()
    if (!Number.isInteger(options.localAs) || options.localAs < 1 || options.localAs > 0xffffffff) {
      throw new RangeError(`rib.localAs: ${options.localAs} is not an AS number (1..4294967295)`)
    }
    const max = options.multipath?.maximum
    if (max !== undefined && (!Number.isInteger(max) || max < 1 || max > 64)) {
      throw new RangeError(`rib.multipath.maximum: ${max} must be an integer from 1 to 64`)
    }
    this.options = options
    // Peer 0 is the RIB itself: locally originated routes.
    this.peerTable.add({ address: '', asn: options.localAs, routerId: options.routerId, ebgp: false, name: 'local' })
  }

  // ---- peers and policy ----

  addPeer(peer: RibPeer): PeerId {
    if (this.peerTable.peers.length >= 0xffff) throw new RangeError('rib: at most 65,535 peers')
    return this.peerTable.add(peer)
  }

  updatePeer(id: PeerId, peer: Partial<RibPeer>): void {
    const old = this.peerTable.get(id)
    this.peerTable.set(id, { ...old, ...peer })
    // Router id and eBGP-ness take part in best path: re-run it where the peer has paths.
    for (const t of this.tables.values()) t.forEachPath(id, (_p, d) => t.touch(d))
    this.commit()
  }

  private retain(id: AttrId): AttrId {
    if (id >= 0) this.store.addRef(id)
    return id
  }

  removePeer(id: PeerId): void {
    if (id === LOCAL_PEER) throw new RangeError('rib: the local peer cannot be removed')
    this.peerTable.get(id)
    this.withdrawAll(id)
    for (const s of this.sinks) if (s.peer === id) this.sinks.delete(s)
    for (const key of [...this.policies.keys()]) if (Math.floor(key / 0x10000) === id) this.policies.delete(key)
    this.commit()
    this.peerTable.remove(id)
  }

  policyOf(id: PeerId, family: FamilyKey): RoutePolicy | null {
    return this.policies.get(id * 0x10000 + family) ?? null
  }

  setImportPolicy(id: PeerId, family: FamilyKey, policy: RoutePolicy | null): void {
    this.peerTable.get(id)
    const key = id * 0x10000 + family
    if (policy === null) this.policies.delete(key)
    else this.policies.set(key, policy)
    const t = this.tables.get(family)
    if (t === undefined) return
    // Re-apply to the kept Adj-RIB-In (soft reconfiguration); per-set policies run once per set.
    const cache = new Map<AttrId, AttrId>()
    t.forEachPath(id, (p) => {
      const inId = t.pIn[p] as number
      let acc: AttrId
      if (policy === null || policy.perAttributeSet) {
        const hit = cache.get(inId)
        if (hit !== undefined) acc = this.retain(hit)
        else {
          acc = this.admit(id, policy, t.pathRoute(p), inId)
          cache.set(inId, acc)
          this.retain(acc) // the cache's own reference, dropped below
        }
      } else acc = this.admit(id, policy, t.pathRoute(p), inId)
      t.setAccepted(p, acc)
    })
    for (const acc of cache.values()) if (acc >= 0) this.store.release(acc)
    this.commit()
  }

  /**
   * Whether a peer's received set loops back to us and so may not be used (kept in Adj-RIB-In):
   * our AS in its AS_PATH (RFC 4271 9.1.2; `allowOwnAs` times allowed), or, from iBGP, our router id
   * as ORIGINATOR_ID or our cluster id in CLUSTER_LIST (RFC 4456 8). Our own routes never loop.
   */
  loops(peer: PeerId, inId: AttrId): boolean {
    if (peer === LOCAL_PEER) return false
    const s = this.store
    if (s.ownAsCount(inId, this.options.localAs) > (this.options.allowOwnAs ?? 0)) return true
    if (this.peerTable.ebgp[peer] === 1) {
      // RFC 4271 6.3 / RFC 7606 7.2: from an external peer the leftmost AS must be the peer's
      // (unless it is a route server, which does not add its AS): else treat as withdrawn.
      const peerInfo = this.peerTable.peers[peer]
      return peerInfo?.enforceFirstAs !== false && s.neighborAs[inId] !== this.peerTable.asn[peer]
    }
    const a = s.get(inId).attrs
    if (a.originatorId !== undefined && a.originatorId === this.options.routerId >>> 0) return true
    const cluster = (this.options.clusterId ?? this.options.routerId) >>> 0
    return a.clusterList?.includes(cluster) === true
  }

  /** The accepted set of a path with received set `inId` (reference taken), or -1 if it loops or
   * the policy rejects it. */
  admit(peer: PeerId, policy: RoutePolicy | null, route: RouteInfo, inId: AttrId): AttrId {
    if (this.loops(peer, inId)) return -1
    if (policy === null) {
      this.store.addRef(inId)
      return inId
    }
    return this.applyPolicy(policy, route, inId)
  }

  /** Runs `policy` on set `inId`; returns the accepted set with a reference taken, or -1. */
  applyPolicy(policy: RoutePolicy, route: RouteInfo, inId: AttrId): AttrId {
    const set = this.store.get(inId)
    const out = policy.apply(route, set)
    if (out === null) return -1
    if (out === set) {
      this.store.addRef(inId)
      return inId
    }
    return this.store.intern(out)
  }

  // ---- ingest ----

  /** The bulk decoder's sink for a peer's session (`ctx`); `nextHops` judges its next hops. */
  sink(id: PeerId, ctx: CodecContext, nextHops?: NextHopGuard): UpdateSink & { issues: UpdateIssue[] } {
    this.peerTable.get(id)
    for (const s of this.sinks) {
      if (s.peer === id && s.ctx === ctx) {
        s.nextHops = nextHops
        return s
      }
    }
    for (const s of this.sinks) if (s.peer === id) {
      s.release()
      this.sinks.delete(s)
    }
    const s = new PeerSink(this, id, ctx)
    s.nextHops = nextHops
    this.sinks.add(s)
    return s
  }

  tableOf(family: FamilyKey): Table {
    let t = this.tables.get(family)
    if (t === undefined) {
      t = new Table(family, this.store, this.peerTable, this.options)
      this.tables.set(family, t)
    }
    return t
  }

  announce(id: PeerId, nlri: Nlri, attrs: RouteAttributes): void {
    this.peerTable.get(id)
    const t = this.tableOf(nlri.family)
    const d = t.findNlri(nlri, true)
    const inId = this.store.intern(attrs)
    const pathId = nlri.pathId ?? 0
    const label = nlri.labels?.[0] !== undefined ? nlri.labels[0] >>> 4 : 0
    const acc = this.admit(id, this.policyOf(id, nlri.family), t.routeOf(d, id, pathId, label), inId)
    t.upsert(d, id, pathId, inId, acc, label)
  }

  withdraw(id: PeerId, nlri: Nlri): void {
    const t = this.tables.get(nlri.family)
    if (t === undefined) return
    const d = t.findNlri(nlri, false)
    if (d >= 0) t.remove(d, id, nlri.pathId ?? 0)
  }

  withdrawAll(id: PeerId, family?: FamilyKey): number {
    let n = 0
    for (const t of this.tables.values()) if (family === undefined || t.family === family) n += t.removePeerPaths(id)
    return n
  }

  markStale(id: PeerId, family?: FamilyKey): number {
    let n = 0
    for (const t of this.tables.values()) if (family === undefined || t.family === family) n += t.markPeerStale(id)
    return n
  }

  sweepStale(id: PeerId, family?: FamilyKey): number {
    let n = 0
    for (const t of this.tables.values()) if (family === undefined || t.family === family) n += t.removePeerPaths(id, 1)
    return n
  }

  /** Destinations waiting for commit() (all tables). */
  get pending(): number {
    let n = 0
    for (const t of this.tables.values()) n += t.pending
    return n
  }

  commit(limit = Infinity): void {
    for (const s of this.sinks) s.release()
    let budget = limit
    for (const t of this.tables.values()) {
      if (t.pending === 0) continue
      if (budget <= 0) break
      const before = t.pending
      const changed = this.listenerCount('changed') > 0
      const best = this.listenerCount('best') > 0
      t.commit((dests, kinds, n) => {
        if (changed) this.emit('changed', t.family, dests, n)
        if (best) this.emit('best', t.family, this.bestChanges(t, dests, kinds, n))
      }, budget)
      // listeners may add destinations meanwhile; what was decided is at least what left the table
      budget -= Math.max(1, before - t.pending)
    }
  }

  private bestChanges(t: Table, dests: Int32Array, kinds: Uint8Array, n: number): BestChange[] {
    const list: BestChange[] = new Array(n)
    for (let i = 0; i < n; i++) {
      const k = kinds[i] as number
      list[i] = new TableBestChange(t, dests[i] as number, k === ChangeKind.Add ? 'add' : k === ChangeKind.Replace ? 'replace' : 'withdraw')
    }
    return list
  }

  // ---- queries ----

  table(family: FamilyKey): RibTable {
    return this.tableOf(family)
  }

  families(): FamilyKey[] {
    return [...this.tables.keys()]
  }

  attributes(id: AttrId): RouteAttributes {
    return this.store.get(id)
  }

  intern(attrs: RouteAttributes): AttrId {
    return this.store.intern(attrs)
  }

  addRef(id: AttrId): void {
    this.store.addRef(id)
  }

  /** Drops a reference taken by intern() or addRef() (Adj-RIB-Out entries that go away). */
  release(id: AttrId): void {
    this.store.release(id)
  }

  counts(id: PeerId, family: FamilyKey): PrefixCounts {
    const t = this.tables.get(family)
    if (t === undefined) return { received: 0, accepted: 0, active: 0, stale: 0 }
    const c = t.counters
    return { received: c.received[id] ?? 0, accepted: c.accepted[id] ?? 0, active: c.active[id] ?? 0, stale: c.stale[id] ?? 0 }
  }

  adjRibIn(
    id: PeerId,
    family: FamilyKey,
    fn: (route: RouteInfo, received: RouteAttributes, accepted: RouteAttributes | undefined, stale: boolean) => void,
  ): void {
    const t = this.tables.get(family)
    if (t === undefined) return
    t.forEachPath(id, (p) => {
      const acc = t.acc(p)
      fn(t.pathRoute(p), this.store.get(t.pIn[p] as number), acc >= 0 ? this.store.get(acc) : undefined, ((t.pFlags[p] as number) & 1) !== 0)
    })
  }

  get attributeSets(): number {
    return this.store.size
  }
}

/**
 * Gives the lookup's rare branches type feedback before any table is hot. A lookup whose hash
 * matches a slot's compares the keys (`same`); in a load of new prefixes that happens only on a hash
 * collision, tens of times in 500,000 routes, and V8's optimized lookup had never seen it: the first
 * one deoptimized `find` and the decoder loop it is inlined into, mid-ingest (seen with
 * --trace-deopt-verbose), which then ran unoptimized until recompiled. V8 records feedback only from
 * a function's ninth call or so (lazy feedback allocation), so a branch taken in the first calls of
 * a run counts for nothing: this runs each table kind's lookup 64 times, with hits, misses and
 * creations, on scratch tables the collector takes back (a lookup touches neither the attribute
 * store nor the peers, so the four share one of each). It costs 2-3 ms once, at load, measured.
 */
function primeLookups(): void {
  const store = new AttributeStore()
  const peers = new PeerInfoTable()
  for (const family of [Family.Ipv4Unicast, Family.Ipv6Unicast, Family.Ipv4Vpn, Family.Ipv6Vpn]) {
    const t = new Table(family, store, peers, { localAs: 1, routerId: 1 })
    for (let i = 0; i < 64; i++) {
      const len = family === Family.Ipv4Unicast || family === Family.Ipv4Vpn ? 32 : 128
      t.find(i, i + 1, i + 2, i + 3, i + 4, i + 5, len, true)
      t.find(i, i + 1, i + 2, i + 3, i + 4, i + 5, len, false) // a hit: the keys compared
      t.find(i, i + 1, i + 2, i + 3, i + 4, i + 5, len - 1, false) // a miss
    }
  }
}
primeLookups()
