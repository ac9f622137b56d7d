/**
 * The RIB's contract with the rest of bgp/: what the speaker, policy, graceful restart and the daemon
 * may rely on. Types only; the implementation is rib.ts (class Rib) with tables in typed arrays
 * (table.ts) and interned attribute sets (attribute-store.ts).
 *
 * Model (RFC 4271 3.2, BIRD's: one table per family holding every peer's paths):
 * - A *table* (Loc-RIB) per family: IPv4/IPv6 unicast, VPN-IPv4/VPN-IPv6 (key = RD + prefix; the
 *   label belongs to the path), and any other family (RTC, labeled unicast) keyed by its NLRI bytes.
 *   A *destination* is one prefix of a table, a small integer (`DestId`) stable while it exists.
 * - A *path* is one route of one peer for one destination (with ADD-PATH, one per path id). The set
 *   of paths of a peer is its Adj-RIB-In: each path keeps the attribute set as received (pre-policy,
 *   so a policy change re-applies without asking the peer: soft reconfiguration) and the set the
 *   import policy produced (or "rejected"). Only accepted paths compete for best.
 * - Attribute sets are interned (`AttrId`): a million routes sharing a thousand sets store a
 *   thousand. A set is the path attributes *and* the next hop.
 * - Changes are batched: ingest marks destinations dirty; `commit()` runs best path on each dirty
 *   destination once and emits the changes (events below). The speaker calls commit after each
 *   socket chunk (many UPDATEs), not per UPDATE.
 */
import type { FamilyKey } from '../codec/afi.js'
import type { PathAttributes } from '../codec/attributes.js'
import type { UpdateSink } from '../codec/bulk.js'
import type { CodecContext } from '../codec/context.js'
import type { Nlri } from '../codec/nlri.js'
import type { UpdateIssue } from '../codec/update.js'
import type { NextHopGuard } from '../session/next-hop.js'

/** A peer's index in the RIB (0 is the RIB's own "local" peer for locally originated routes). */
export type PeerId = number
/** A destination (prefix) of one table. */
export type DestId = number
/** An interned attribute set (attributes + next hop). */
export type AttrId = number

export const LOCAL_PEER: PeerId = 0

/** What best path needs to know of a peer (RFC 4271 9.1.2.2). */
export interface RibPeer {
  /** Text address; the final tie-break prefers the lowest (RFC 4271 9.1.2.2 g). */
  readonly address: string
  /** The peer's AS (neighbouring AS for MED comparison of eBGP routes). */
  readonly asn: number
  /** BGP identifier from its OPEN (uint32); 0 until known. */
  readonly routerId: number
  /** External peer (eBGP over iBGP, 9.1.2.2 d). */
  readonly ebgp: boolean
  /** For logs and events. */
  readonly name?: string
  /** eBGP: routes whose AS_PATH does not start with the peer's AS are not used (RFC 4271 6.3,
   * RFC 7606 7.2); default true, false for route servers. */
  readonly enforceFirstAs?: boolean
}

/** An attribute set as the rest of the program sees it. */
export interface RouteAttributes {
  readonly attrs: PathAttributes
  /** Next hop as text ('192.0.2.1', '2001:db8::1'); for VPN families without the zero RD; for IPv6 a
   * link-local second address as 'global,link-local'. '' for families without one. */
  readonly nextHop: string
}

/** A route for policy evaluation and events: prefix as text plus its numbers. */
export interface RouteInfo {
  readonly family: FamilyKey
  /** Canonical text: '10.0.0.0/24', '2001:db8::/32', '64512:7:10.0.0.0/24' (RD:prefix),
   * 'rtc 64512:rt:64512:7/96' for others as nlriToString writes them (without labels). */
  readonly prefix: string
  /** Prefix address as bytes at family width (4 or 16; for VPN the address part only). */
  readonly address: Uint8Array
  readonly length: number
  /** VPN families: the label (20-bit value) of this path; undefined otherwise. */
  readonly label?: number
  readonly pathId: number
  readonly peer: PeerId
}

/**
 * Import policy (bgp/policy compiles configuration into this). `apply` returns the attributes to
 * store (the same object when unchanged) or null to reject. When `perAttributeSet` is true, the
 * result depends only on the attribute set, never on the prefix, and the RIB caches it per AttrId
 * (so a million routes sharing a thousand sets run the policy a thousand times).
 */
export interface RoutePolicy {
  readonly perAttributeSet: boolean
  apply(route: RouteInfo, attrs: RouteAttributes): RouteAttributes | null
}

/** One path as events and queries show it. */
export interface RouteEntry {
  readonly peer: PeerId
  readonly peerAddress: string
  readonly pathId: number
  readonly label?: number
  readonly attrId: AttrId
  readonly nextHop: string
  readonly attrs: PathAttributes
  /** Kept from before a peer's restart (graceful restart helper), not yet re-advertised. */
  readonly stale: boolean
}

/** A best-path change of one destination. */
export interface BestChange {
  readonly family: FamilyKey
  readonly dest: DestId
  readonly prefix: string
  readonly kind: 'add' | 'replace' | 'withdraw'
  /** Absent on withdraw. */
  readonly best?: RouteEntry | undefined
  /** The whole ECMP set, best first; empty on withdraw; [best] without multipath. */
  readonly multipath: readonly RouteEntry[]
  /** The table the change comes from, on the RIB's own changes: its numeric accessors (bestPeer,
   * multipathSets, writeKey) read the change without the text and entry objects above, which the
   * RIB builds only when they are read. Absent on changes built by hand. */
  readonly table?: RibTable
}

export interface RibOptions {
  readonly localAs: number
  readonly routerId: number
  /** Multipath: up to `maximum` paths (default 1 = off) equal down to the router-id step; with
   * `relaxAsPath` the AS_PATHs need only equal length, not equal content. */
  readonly multipath?: { readonly maximum: number; readonly relaxAsPath?: boolean }
  /** Compare MED between routes from different neighbouring ASes (default false: same AS only). */
  readonly alwaysCompareMed?: boolean
  /** A missing MED is the worst (2^32-1) instead of 0 (default false, as RFC 4271). */
  readonly missingMedWorst?: boolean
  /** Route reflection cluster id (default the router id): iBGP routes whose CLUSTER_LIST holds it, or
   * whose ORIGINATOR_ID is our router id, loop (RFC 4456 8) and are not used. */
  readonly clusterId?: number
  /** Times our AS may appear in a received AS_PATH before the route counts as a loop (default 0;
   * "allowas-in" for hub-and-spoke designs). */
  readonly allowOwnAs?: number
}

export interface RibEvents {
  /** During commit(): best-path changes of one table, in chunks of at most 4,096 (built only when
   * someone listens). A change's prefix text and entries are built when first read and describe the
   * table as it is then: read them during the event (or keep what was read). */
  best: [FamilyKey, readonly BestChange[]]
  /** During commit(): destinations whose best path or multipath set changed (cheap; for
   * Adj-RIB-Out), in chunks of at most 4,096: the array is reused, read it before returning. */
  changed: [FamilyKey, Int32Array, number]
}

/** A per-peer, per-family count. */
export interface PrefixCounts {
  /** Paths in Adj-RIB-In (pre-policy). */
  readonly received: number
  /** Of those, accepted: not looping (our AS, ORIGINATOR_ID, CLUSTER_LIST), starting with the AS of
   * an eBGP peer, and let in by import policy. */
  readonly accepted: number
  /** Of those, best (or in the multipath set) in Loc-RIB. */
  readonly active: number
  /** Of those, marked stale (graceful restart). */
  readonly stale: number
}

/** Read access to a table for the export side (Adj-RIB-Out, the daemon, gsictl). */
export interface RibTable {
  readonly family: FamilyKey
  /** Destinations with a best path. */
  readonly size: number
  /** Best path's entry of a destination, or undefined. */
  best(dest: DestId): RouteEntry | undefined
  /** The ECMP set, best first ([] when none). */
  multipath(dest: DestId): RouteEntry[]
  /** Best path's attribute set id, or -1: the hot path of Adj-RIB-Out. */
  bestAttrId(dest: DestId): AttrId
  /** Best path's peer, or -1. */
  bestPeer(dest: DestId): PeerId
  /** Best path's label (VPN families), or -1. */
  bestLabel(dest: DestId): number
  /**
   * The ECMP set in numbers, best first as multipath() orders it: each path's accepted attribute
   * set id and label (-1 on families without labels) into `attrIds` and `labels`, at most their
   * length; returns how many. No object per path: the hot path of the gateway logic.
   */
  multipathSets(dest: DestId, attrIds: Int32Array, labels: Int32Array): number
  /** An interned attribute set by id (attribute set ids from bestAttrId or multipathSets). */
  attributeSet(id: AttrId): RouteAttributes
  route(dest: DestId, pathId?: number): RouteInfo
  prefixText(dest: DestId): string
  /** The destination of a prefix text (same forms as RouteInfo.prefix), or -1. */
  lookup(prefix: string): DestId
  /**
   * Writes dest's key into a codec RouteBatch-shaped set of arrays at index i (addr at i or 4i,
   * length, rd at 2i/2i+1) for encodeUpdatesBulk. Only for IPv4/IPv6/VPNv4/VPNv6 tables.
   */
  writeKey(dest: DestId, addr: Uint32Array, length: Uint8Array, rd: Uint32Array | undefined, i: number): void
  /** NLRI object of dest (for families the bulk encoder does not take: RTC and others). */
  nlri(dest: DestId): Nlri
  /** Calls fn for every destination with a best path, in table order. */
  forEachBest(fn: (dest: DestId) => void): void
}

/** The RIB as the speaker uses it. Implemented by class Rib (rib.ts). */
export interface RibApi {
  readonly options: RibOptions
  addPeer(peer: RibPeer): PeerId
  /** Router id known at OPEN, AS/eBGP on reconfiguration. */
  updatePeer(id: PeerId, peer: Partial<RibPeer>): void
  /** Withdraws every path of the peer (then commit) and frees the id. */
  removePeer(id: PeerId): void
  /** Import policy of a peer for a family (null = accept all); re-applies to its Adj-RIB-In now. */
  setImportPolicy(id: PeerId, family: FamilyKey, policy: RoutePolicy | null): void

  /**
   * A reusable bulk sink that ingests the peer's UPDATEs decoded with `ctx` (codec/bulk.ts);
   * `nextHops` is the session's martian next-hop check. The RFC 7606 reports of each UPDATE collect
   * in `issues` until its owner takes them (the speaker does after every UPDATE).
   */
  sink(id: PeerId, ctx: CodecContext, nextHops?: NextHopGuard): UpdateSink & { issues: UpdateIssue[] }
  /** Object API (local routes, tests): announce or replace one path; withdraw one. */
  announce(id: PeerId, nlri: Nlri, attrs: RouteAttributes): void
  withdraw(id: PeerId, nlri: Nlri): void
  /** Withdraws all of a peer's paths of one family (AFI/SAFI disable, session down without GR). */
  withdrawAll(id: PeerId, family?: FamilyKey): number

  /** Graceful restart helper: mark every path of the peer (in a family) stale; a re-announcement
   * clears the mark. Returns how many were marked. */
  markStale(id: PeerId, family?: FamilyKey): number
  /** Withdraws the peer's paths still stale; returns how many. */
  sweepStale(id: PeerId, family?: FamilyKey): number

  /** Runs best path on every dirty destination and emits `changed` and `best`; with `limit`, on at
   * most that many (the rest stay pending for the next call, `pending` says how many). */
  commit(limit?: number): void
  /** Destinations waiting for commit() (all tables). */
  readonly pending: number

  table(family: FamilyKey): RibTable
  /** Families that have a table. */
  families(): FamilyKey[]
  /** Interned attribute set. */
  attributes(id: AttrId): RouteAttributes
  /** Interns an attribute set (export side: post-policy sets for Adj-RIB-Out), taking one reference. */
  intern(attrs: RouteAttributes): AttrId
  /** Takes one more reference to a live set (an Adj-RIB-Out entry keeping what it sent). */
  addRef(id: AttrId): void
  /** Drops one reference taken by intern() or addRef() (an Adj-RIB-Out entry replaced or withdrawn). */
  release(id: AttrId): void
  counts(id: PeerId, family: FamilyKey): PrefixCounts
  /** Adj-RIB-In of a peer: every path, with pre- and post-policy attributes (post undefined = rejected). */
  adjRibIn(id: PeerId, family: FamilyKey, fn: (route: RouteInfo, received: RouteAttributes, accepted: RouteAttributes | undefined, stale: boolean) => void): void
  /** Interned attribute sets alive (for tests of interning and for metrics). */
  readonly attributeSets: number
}
