/**
 * The gateway logic between CN2 and the AWS Transit Gateway: two BGP speakers and the gateway table.
 *
 * CN2 -> TGW. The CN2 speaker's best VPN routes (inet-vpn / inet6-vpn, RFC 4364 / RFC 4659) that
 * carry an exposed route target are imported into the gateway table, keyed by their IP prefix (the
 * same pod prefix may come under several RDs, one per vRouter). Toward the TGW speaker each exposed
 * CIDR is originated as an aggregate while at least one imported prefix lies inside it, optionally
 * with the imported prefixes themselves, all with the same attributes on every instance (ORIGIN IGP,
 * empty AS_PATH which the speaker turns into [our AS] toward eBGP, no MED, no communities, next hop
 * self) so the TGW spreads traffic over every instance. The quota guard (quota.ts) caps what is
 * advertised, deterministically.
 *
 * TGW -> CN2. The TGW speaker's best IPv4/IPv6 unicast routes (the VPC CIDRs) are re-originated on
 * the CN2 speaker as VPN routes: RD `<routerId>:<rdIndex>` (type 1), the exposed route targets, one
 * label (the gateway table's, so vRouters' packets pop into its VRF), next hop this node, and the
 * encapsulation extended community udp (RFC 9012, tunnel type 13) so vRouters use MPLS over UDP
 * (RFC 7510). The AS_PATH is empty, not the TGW's: the TGW's default ASN 64512 is CN2's default AS,
 * and control nodes would drop routes carrying it as loops.
 *
 * Kernel. Through the FIB port: per imported prefix a gateway table route with MPLS next hops (the
 * vRouter and the label the control node gave), ECMP over every vRouter holding it; per TGW prefix
 * one via the GRE link of the session(s) that taught it (gateway = that TGW address), ECMP over both
 * sessions and over Connect peers. The table's label route is the FIB's own (setTables).
 *
 * Failover. Both directions follow the RIBs: when a side's sessions drop without graceful restart its
 * routes leave the RIB and what depended on them is withdrawn. Graceful restart keeps them (stale)
 * up to the peer's restart time plus the stale time; so when every session of a side has been down
 * for `cn2LostAfter` / `tgwLostAfter` seconds the side counts as lost and its dependants are
 * withdrawn until a session is back.
 *
 * Our own originated routes come back through the same speakers' `best` events (peer LOCAL_PEER)
 * and are ignored. Listeners must be attached (start()) before the speakers learn routes: the speakers
 * build `best` events only while someone listens.
 *
 * Hot path (docs/gateway.md): no string and no object per imported route. Imports are keyed by the
 * CN2 RIB's destination ids in typed arrays (one int32 row each), their IP prefixes in PrefixTables,
 * vRouters interned; a RIB change is read through its table's numbers (best peer, multipath sets and
 * labels, key words), and pod routes go to the computed FIB in numbers. No closure or promise per
 * route; the FIB is flushed once per batch of changes (a RIB commit's chunk of up to 4,096).
 */
import { Interner } from './interner.js'
import { EventEmitter } from 'node:events'
import { Family, type FamilyKey } from '../../bgp/codec/afi.js'
import type { PathAttributes } from '../../bgp/codec/attributes.js'
import { encapsulation, extCommunityToString, parseExtCommunity, TunnelType, type ExtendedCommunity } from '../../bgp/codec/ext-communities.js'
import { parseRd, type Nlri, type RouteDistinguisher } from '../../bgp/codec/nlri.js'
import { LOCAL_PEER, type BestChange, type RibTable, type RouteAttributes, type RouteEntry } from '../../bgp/rib/index.js'
import type { PeerStateEvent } from '../../bgp/speaker/index.js'
import { checkLabel, checkTable } from '../fib/diff.js'
import type { GreNextHop, MplsNextHop, NextHop } from '../fib/types.js'
import { wordMask } from '../lib/address.js'
import { GatewayConfigError, ipv4NextHop, orderKey, parsePrefix, scanned, scanPrefix, unicastNlri, vpnNlri, vpnPrefixStart, wordsOrderKey, type ParsedPrefix } from './prefix.js'
import { grownInt32, PrefixTable } from './prefix-table.js'
import { QuotaGuard, type QuotaSink } from './quota.js'
import type { Cn2SpeakerPort, FibPort, GatewayEvents, GatewayLogger, GatewayOptions, GatewayStatus, QuotaReport, SpeakerPort } from './types.js'

export const DEFAULT_MAX_PREFIXES_ADVERTISED = 1000
export const DEFAULT_TGW_ROUTES_WARNING = 5000
export const DEFAULT_LOST_AFTER = 360

/** Attributes of every route toward the TGW: identical on every instance. */
const TGW_ATTRS: RouteAttributes = Object.freeze({ attrs: Object.freeze({ origin: 0, asPath: [] }), nextHop: '' })

/** An exposed CIDR and how many imported prefixes lie inside it. */
interface Aggregate {
  readonly prefix: ParsedPrefix
  readonly key: string
  inside: number
}

/** Paths of a multipath set read at most (the CN2 speaker's multipath maximum is 16). */
const MAX_PATHS = 16

/**
 * The imported routes of one VPN family, indexed by the CN2 RIB's destination id (stable while the
 * RIB lives: it never gives an id to another prefix). One row of four int32 per destination, in one
 * array (one cache line holds four routes; a million routes touch 16 MiB, in huge pages): its gateway
 * prefix id + 1 (0: not imported), the next route (destination + 1) of the same prefix (a prefix
 * held under several RDs is a short list; 0: the last), its one MPLS next hop as vRouter id + 1 and
 * label; vRouter 0 means the route has more next hops, kept in `multi`.
 */
class VpnImports {
  rows: Int32Array = new Int32Array(0)
  readonly multi = new Map<number, readonly MplsNextHop[]>()
  count = 0

  constructor(readonly prefixes: ImportedPrefixes) {}

  has(dest: number): boolean {
    return 4 * dest < this.rows.length && this.rows[4 * dest] !== 0
  }

  ensure(dest: number): void {
    if (4 * dest < this.rows.length) return
    let cap = Math.max(64, this.rows.length / 4)
    while (cap <= dest) cap *= 2
    this.rows = grownInt32(this.rows, 4 * cap)
  }
}

/** The gateway table's prefixes imported from CN2, of one IP family: a PrefixTable and, per prefix,
 * the first route importing it. */
class ImportedPrefixes {
  readonly table: PrefixTable
  /** First route (destination + 1 in the VPN family's VpnImports). */
  head1: Int32Array = new Int32Array(0)
  /** Prefixes the TGW taught (their routes win over imports of the same prefix). */
  readonly tgw: PrefixTable
  constructor(readonly family: 4 | 6) {
    this.table = new PrefixTable(family)
    this.tgw = new PrefixTable(family)
    this.table.onGrow = (cap) => {
      this.head1 = grownInt32(this.head1, cap)
    }
  }
}

interface TgwRoute {
  readonly parsed: ParsedPrefix
  hops: readonly GreNextHop[]
}

export class Gateway extends EventEmitter<GatewayEvents> implements QuotaSink {
  readonly rd: RouteDistinguisher
  readonly routeTargets: readonly ExtendedCommunity[]
  private readonly rtKeys: ReadonlySet<string>
  private readonly table: number
  private readonly label: number
  private readonly aggregates: readonly Aggregate[]
  /** Quota key -> prefix text of every candidate toward the TGW. */
  private readonly candidates = new Map<string, string>()
  private readonly quotaGuard: QuotaGuard
  /** Quota keys currently originated on the TGW speaker. */
  private readonly advertised = new Set<string>()
  private readonly linkOf = new Map<string, string>()
  private readonly vpnAttrs: RouteAttributes
  private readonly vpnAttrs6: RouteAttributes
  private readonly moreSpecifics: boolean
  private readonly tgwWarning: number
  private readonly cn2LostAfterMs: number
  private readonly tgwLostAfterMs: number
  private readonly log: GatewayLogger | undefined

  private readonly prefixes4 = new ImportedPrefixes(4)
  private readonly prefixes6 = new ImportedPrefixes(6)
  private readonly vpn4 = new VpnImports(this.prefixes4)
  private readonly vpn6 = new VpnImports(this.prefixes6)
  /** vRouter addresses by the id the typed arrays hold (interned: each is shared by the routes of
   * all its pods). */
  private readonly vrouters = new Interner()
  private readonly tgwRoutes = new Map<string, TgwRoute>()
  /** Exposed-route-target verdict per interned attribute object. */
  private readonly exposedCache = new WeakMap<PathAttributes, boolean>()
  /** Per attribute set id of the CN2 RIB: the set it was computed for, and its verdict
   * (vRouter id + 1) * 2 + exposed; an id given to another set is recomputed. */
  private readonly setSeen: (RouteAttributes | undefined)[] = []
  private readonly setVerdict: number[] = []
  /** Scratch of one change: its multipath set in numbers, then its usable next hops. */
  private readonly pathSets = new Int32Array(MAX_PATHS)
  private readonly pathLabels = new Int32Array(MAX_PATHS)
  private readonly hopVrouter = new Int32Array(MAX_PATHS)
  private readonly hopLabel = new Int32Array(MAX_PATHS)
  private hopCount = 0
  private readonly keyLength = new Uint8Array(1)
  private readonly keyRd = new Uint32Array(2)
  private readonly words = new Uint32Array(4)
  private aggregatesActive = 0
  private reoriginated = 0
  private unusable = 0
  private fibRefused = 0
  private tgwWarned = false
  private fibDirty = false

  private readonly cn2Up = new Set<string>()
  private readonly tgwUp = new Set<string>()
  private cn2LostTimer: NodeJS.Timeout | undefined
  private tgwLostTimer: NodeJS.Timeout | undefined
  private cn2Lost = false
  private tgwLost = false
  private started = false

  // Bound once: the speakers' listeners.
  private readonly onCn2Best = (family: FamilyKey, changes: readonly BestChange[]): void => this.cn2Changes(family, changes)
  private readonly onTgwBest = (family: FamilyKey, changes: readonly BestChange[]): void => this.tgwChanges(family, changes)
  private readonly onCn2State = (e: PeerStateEvent): void => this.peerState('cn2', e)
  private readonly onTgwState = (e: PeerStateEvent): void => this.peerState('tgw', e)

  constructor(
    private readonly cn2: Cn2SpeakerPort,
    private readonly tgw: SpeakerPort,
    private readonly fib: FibPort,
    options: GatewayOptions,
  ) {
    super()
    const o = options
    let rd: RouteDistinguisher
    try {
      rd = parseRd(`${o.routerId}:${o.rdIndex ?? 1}`)
    } catch (e) {
      throw new GatewayConfigError(o.rdIndex !== undefined ? 'rdIndex' : 'routerId', (e as Error).message)
    }
    if (rd.type !== 1) throw new GatewayConfigError('routerId', `"${o.routerId}" is not an IPv4 address (the RD is <routerId>:<rdIndex>, type 1)`)
    this.rd = rd
    if (ipv4NextHop(o.nodeAddress) !== o.nodeAddress) throw new GatewayConfigError('nodeAddress', `"${o.nodeAddress}" is not an IPv4 address`)
    if (o.exposedRouteTargets.length === 0) throw new GatewayConfigError('exposedRouteTargets', 'at least one route target is required')
    this.routeTargets = o.exposedRouteTargets.map((rt, i) => {
      let c: ExtendedCommunity
      try {
        c = typeof rt === 'string' ? parseExtCommunity(rt) : rt
      } catch (e) {
        throw new GatewayConfigError(`exposedRouteTargets[${i}]`, (e as Error).message)
      }
      if (c.kind !== 'route-target') throw new GatewayConfigError(`exposedRouteTargets[${i}]`, `${extCommunityToString(c)} is not a route target`)
      return c
    })
    this.rtKeys = new Set(this.routeTargets.map(extCommunityToString))
    const aggs: Aggregate[] = []
    o.exposedCidrs.forEach((text, i) => {
      let p: ParsedPrefix
      try {
        p = parsePrefix(text)
      } catch (e) {
        throw new GatewayConfigError(`exposedCidrs[${i}]`, (e as Error).message)
      }
      if (aggs.some((a) => a.prefix.text === p.text)) throw new GatewayConfigError(`exposedCidrs[${i}]`, `${p.text} is listed twice`)
      aggs.push({ prefix: p, key: orderKey('a', p), inside: 0 })
    })
    this.aggregates = aggs
    try {
      checkTable(o.table.table, 'table.table')
      checkLabel(o.table.label, 'table.label')
    } catch (e) {
      throw new GatewayConfigError('table', (e as Error).message)
    }
    this.table = o.table.table
    this.label = o.table.label
    o.connectPeers.forEach((cp, i) => {
      if (typeof cp.link !== 'string' || cp.link === '') throw new GatewayConfigError(`connectPeers[${i}].link`, 'a GRE link name is required')
      cp.peers.forEach((addr, j) => {
        if (this.linkOf.has(addr)) throw new GatewayConfigError(`connectPeers[${i}].peers[${j}]`, `${addr} is already a peer of link ${this.linkOf.get(addr)}`)
        this.linkOf.set(addr, cp.link)
      })
    })
    const limit = o.maxPrefixesAdvertised ?? DEFAULT_MAX_PREFIXES_ADVERTISED
    if (!Number.isInteger(limit) || limit < 0 || limit > DEFAULT_MAX_PREFIXES_ADVERTISED) {
      throw new GatewayConfigError('maxPrefixesAdvertised', `${limit} is not an integer 0..${DEFAULT_MAX_PREFIXES_ADVERTISED} (the TGW accepts at most 1,000 routes per Connect peer)`)
    }
    this.quotaGuard = new QuotaGuard(limit, this)
    this.moreSpecifics = o.advertiseMoreSpecifics === true
    this.tgwWarning = positive(o.tgwRoutesWarning ?? DEFAULT_TGW_ROUTES_WARNING, 'tgwRoutesWarning')
    this.cn2LostAfterMs = positive(o.cn2LostAfter ?? DEFAULT_LOST_AFTER, 'cn2LostAfter') * 1000
    this.tgwLostAfterMs = positive(o.tgwLostAfter ?? DEFAULT_LOST_AFTER, 'tgwLostAfter') * 1000
    this.log = o.log
    const ext = Object.freeze([...this.routeTargets, encapsulation(TunnelType.udp)])
    const attrs = Object.freeze({ origin: 0, asPath: [], extCommunities: ext })
    this.vpnAttrs = Object.freeze({ attrs, nextHop: o.nodeAddress })
    // VPN-IPv6 routes carry an IPv4 next hop as IPv4-mapped IPv6 (RFC 4659 3.2.1.1).
    this.vpnAttrs6 = Object.freeze({ attrs, nextHop: `::ffff:${o.nodeAddress}` })
  }

  /** Attaches to both speakers, advertises our route-target memberships and sets the gateway table. */
  start(): void {
    if (this.started) throw new Error('gateway already started')
    this.started = true
    this.fib.setTables([{ table: this.table, label: this.label }])
    this.cn2.setImportRouteTargets(this.routeTargets)
    for (const p of this.cn2.peers()) if (p.session.state === 'Established') this.cn2Up.add(p.name)
    for (const p of this.tgw.peers()) if (p.session.state === 'Established') this.tgwUp.add(p.name)
    this.cn2.on('best', this.onCn2Best)
    this.cn2.on('peer-state', this.onCn2State)
    this.tgw.on('best', this.onTgwBest)
    this.tgw.on('peer-state', this.onTgwState)
    if (this.cn2Up.size === 0) this.armLost('cn2')
    if (this.tgwUp.size === 0) this.armLost('tgw')
  }

  /** Detaches and stops the timers; originated and kernel routes stay (the daemon decides: a hitless
   * restart keeps them, a shutdown withdraws through the speakers and the FIB cleanup). */
  stop(): void {
    this.cn2.off('best', this.onCn2Best)
    this.cn2.off('peer-state', this.onCn2State)
    this.tgw.off('best', this.onTgwBest)
    this.tgw.off('peer-state', this.onTgwState)
    clearTimeout(this.cn2LostTimer)
    clearTimeout(this.tgwLostTimer)
    this.cn2LostTimer = this.tgwLostTimer = undefined
  }

  // ---------------------------------------------------------------- CN2 -> gateway table -> TGW

  private cn2Changes(family: FamilyKey, changes: readonly BestChange[]): void {
    if (family !== Family.Ipv4Vpn && family !== Family.Ipv6Vpn) return
    const f = family === Family.Ipv4Vpn ? this.vpn4 : this.vpn6
    for (let i = 0; i < changes.length; i++) this.cn2Change(f, changes[i] as BestChange)
    this.settle()
  }

  /** One VPN best-path change: imported, changed, or no longer imported. The RIB's own changes are
   * read through their table's numbers; hand-built ones (replays, tests) through their objects. */
  private cn2Change(f: VpnImports, c: BestChange): void {
    const dest = c.dest
    const prev = f.has(dest)
    const usable = c.table !== undefined ? this.hopsOfTable(c.table, c) : this.hopsOfEntries(c)
    if (usable === 0) {
      if (prev) this.dropImported(f, dest)
      return
    }
    if (usable < 0) {
      if (!prev) this.unusable++
      else this.dropImported(f, dest)
      return
    }
    if (prev) {
      this.storeHops(f, dest)
      this.writePrefix(f.prefixes, (f.rows[4 * dest] as number) - 1)
      return
    }
    const pt = f.prefixes.table
    let length: number
    if (c.table !== undefined) {
      c.table.writeKey(dest, pt.key, this.keyLength, this.keyRd, 0)
      length = this.keyLength[0] as number
    } else {
      if (!scanPrefix(c.prefix, vpnPrefixStart(c.prefix)) || scanned.family !== f.prefixes.family) throw new RangeError(`"${c.prefix}" is not a VPN-IPv${f.prefixes.family} route`)
      length = pt.loadScanned()
    }
    const id = pt.insert(length)
    if (pt.added) this.prefixAdded(f.prefixes, id)
    f.ensure(dest)
    f.rows[4 * dest] = id + 1
    f.rows[4 * dest + 1] = f.prefixes.head1[id] as number
    f.prefixes.head1[id] = dest + 1
    f.count++
    this.storeHops(f, dest)
    this.writePrefix(f.prefixes, id)
  }

  /**
   * The usable next hops of a change into hopVrouter/hopLabel: 1 when there are some, 0 when the
   * change imports nothing (withdrawn, ours, no exposed route target), -1 when it would import but
   * no path names an IPv4 vRouter with a usable label.
   */
  private hopsOfTable(table: RibTable, c: BestChange): number {
    this.hopCount = 0
    if (c.kind === 'withdraw') return 0
    const peer = table.bestPeer(c.dest)
    if (peer < 0 || peer === LOCAL_PEER) return 0
    const n = table.multipathSets(c.dest, this.pathSets, this.pathLabels)
    for (let i = 0; i < n; i++) {
      const id = this.pathSets[i] as number
      let v: number
      if (this.setSeen[id] === table.attributeSet(id)) v = this.setVerdict[id] as number
      else {
        const set = table.attributeSet(id)
        const vrouter = ipv4NextHop(set.nextHop)
        v = (vrouter === '' ? 0 : (this.vrouters.id(vrouter) + 1) * 2) + (this.exposed(set.attrs) ? 1 : 0)
        this.setSeen[id] = set
        this.setVerdict[id] = v
      }
      // The best path decides the import; every path of the set may add a next hop.
      if (i === 0 && (v & 1) === 0) return 0
      if (v >= 2) this.addHop((v >>> 1) - 1, this.pathLabels[i] as number)
    }
    return this.hopCount > 0 ? 1 : -1
  }

  private hopsOfEntries(c: BestChange): number {
    this.hopCount = 0
    const best = c.best
    if (c.kind === 'withdraw' || best === undefined || best.peer === LOCAL_PEER || !this.exposed(best.attrs)) return 0
    for (const e of c.multipath) {
      const vrouter = ipv4NextHop(e.nextHop)
      if (vrouter !== '' && e.label !== undefined) this.addHop(this.vrouters.id(vrouter), e.label)
    }
    return this.hopCount > 0 ? 1 : -1
  }

  /** Adds one MPLS next hop to the change's, once. Labels 0-15 are reserved (RFC 3032): no vRouter
   * assigns one to a pod route. */
  private addHop(vrouter: number, label: number): void {
    if (label < 16) return
    for (let i = 0; i < this.hopCount; i++) if (this.hopVrouter[i] === vrouter && this.hopLabel[i] === label) return
    this.hopVrouter[this.hopCount] = vrouter
    this.hopLabel[this.hopCount] = label
    this.hopCount++
  }

  private storeHops(f: VpnImports, dest: number): void {
    if (this.hopCount === 1) {
      f.rows[4 * dest + 2] = (this.hopVrouter[0] as number) + 1
      f.rows[4 * dest + 3] = this.hopLabel[0] as number
      f.multi.delete(dest)
      return
    }
    f.rows[4 * dest + 2] = 0
    const hops: MplsNextHop[] = []
    for (let i = 0; i < this.hopCount; i++) hops.push({ kind: 'mpls', vrouter: this.vrouters.at(this.hopVrouter[i] as number), label: this.hopLabel[i] as number })
    f.multi.set(dest, hops)
  }


  private exposed(attrs: PathAttributes): boolean {
    const known = this.exposedCache.get(attrs)
    if (known !== undefined) return known
    let yes = false
    for (const c of attrs.extCommunities ?? []) if (c.kind === 'route-target' && this.rtKeys.has(extCommunityToString(c))) yes = true
    this.exposedCache.set(attrs, yes)
    return yes
  }

  /** Whether exposed CIDR `a` contains gateway prefix `id` (or is it). */
  private contains(a: Aggregate, p: ImportedPrefixes, id: number): boolean {
    const o = a.prefix
    if (o.family !== p.family || p.table.length(id) < o.length) return false
    for (let i = 0; i < o.words.length; i++) {
      const m = wordMask(o.length - 32 * i)
      if (m === 0) break
      if (((p.table.word(id, i) & m) >>> 0) !== o.words[i]) return false
    }
    return true
  }

  /** Quota key of a gateway prefix advertised as a more-specific, or '' when it is none (more-
   * specifics off, inside no exposed CIDR, or equal to one). */
  private moreSpecificKey(p: ImportedPrefixes, id: number): string {
    if (!this.moreSpecifics) return ''
    let inside = false
    for (const a of this.aggregates) {
      if (!this.contains(a, p, id)) continue
      if (a.prefix.length === p.table.length(id)) return ''
      inside = true
    }
    return inside ? wordsOrderKey('m', p.family, this.wordsOf(p, id), p.table.length(id)) : ''
  }

  /** A new gateway prefix: the aggregates it lies in count it, and it may be a quota candidate. */
  private prefixAdded(p: ImportedPrefixes, id: number): void {
    for (const a of this.aggregates) {
      if (this.contains(a, p, id) && a.inside++ === 0) {
        this.aggregatesActive++
        this.candidates.set(a.key, a.prefix.text)
        this.quotaGuard.add(a.key)
      }
    }
    const key = this.moreSpecificKey(p, id)
    if (key !== '') {
      this.candidates.set(key, p.table.text(id))
      this.quotaGuard.add(key)
    }
  }

  private dropImported(f: VpnImports, dest: number): void {
    const p = f.prefixes
    const r = f.rows
    const id = (r[4 * dest] as number) - 1
    // Unlink the route from its prefix's list (one or a few RDs).
    if (p.head1[id] === dest + 1) p.head1[id] = r[4 * dest + 1] as number
    else {
      let q = (p.head1[id] as number) - 1
      while (q >= 0 && r[4 * q + 1] !== dest + 1) q = (r[4 * q + 1] as number) - 1
      if (q >= 0) r[4 * q + 1] = r[4 * dest + 1] as number
    }
    r.fill(0, 4 * dest, 4 * dest + 4)
    f.multi.delete(dest)
    f.count--
    if (p.head1[id] !== 0) {
      this.writePrefix(p, id)
      return
    }
    // A TGW route of the same prefix is the FIB's route and stays; a route the FIB keeps by our id
    // goes in any case, before the id is freed below.
    const tgw = this.tgwHas(p, id)
    if (this.fib.deleteRouteOf !== undefined) {
      if (this.fib.deleteRouteOf(this.table, p.table, id, tgw) || !tgw) this.fibDirty = true
    } else if (!tgw) {
      this.fib.deleteRoute(this.table, p.table.text(id))
      this.fibDirty = true
    }
    const key = this.moreSpecificKey(p, id)
    if (key !== '') {
      this.quotaGuard.remove(key)
      this.candidates.delete(key)
    }
    for (const a of this.aggregates) {
      if (this.contains(a, p, id) && --a.inside === 0) {
        this.aggregatesActive--
        this.quotaGuard.remove(a.key)
        this.candidates.delete(a.key)
      }
    }
    p.table.delete(id)
  }

  /** Whether the TGW taught gateway prefix `id` too. */
  private tgwHas(p: ImportedPrefixes, id: number): boolean {
    return p.tgw.size > 0 && p.tgw.findOf(p.table, id) >= 0
  }

  /** The prefix's kernel route: ECMP over every vRouter of every RD holding it. A TGW route for the
   * same prefix wins: another gateway instance's re-originated VPC routes reach us through the control
   * nodes too, and the VPC is reached through our own GRE links, not through that instance. */
  private writePrefix(p: ImportedPrefixes, id: number): void {
    if (this.tgwHas(p, id)) return
    const f = p === this.prefixes4 ? this.vpn4 : this.vpn6
    const r = f.rows
    const first = (p.head1[id] as number) - 1
    const vrouter1 = r[4 * first + 2] as number
    if (r[4 * first + 1] === 0 && vrouter1 !== 0 && this.fib.setMplsRouteOf !== undefined) {
      // The common case, a pod behind one vRouter: the computed FIB takes it by our prefix id.
      try {
        this.fib.setMplsRouteOf(this.table, p.table, id, this.vrouters.at(vrouter1 - 1), r[4 * first + 3] as number)
      } catch (e) {
        this.refused(e)
        return
      }
      this.fibDirty = true
      return
    }
    let nexthops: readonly NextHop[]
    if (r[4 * first + 1] === 0) nexthops = this.hopsOf(f, first)
    else {
      const seen = new Map<string, MplsNextHop>()
      for (let d = first; d >= 0; d = (r[4 * d + 1] as number) - 1) for (const h of this.hopsOf(f, d)) seen.set(`${h.vrouter}/${h.label}`, h)
      nexthops = [...seen.keys()].sort().map((k) => seen.get(k) as MplsNextHop)
    }
    this.setFibRoute(p.table.text(id), nexthops)
  }

  /** A gateway prefix's words in `words` (scratch). */
  private wordsOf(p: ImportedPrefixes, id: number): Uint32Array {
    for (let i = 0; i < p.table.W; i++) this.words[i] = p.table.word(id, i)
    return this.words
  }

  private hopsOf(f: VpnImports, dest: number): readonly MplsNextHop[] {
    const v = f.rows[4 * dest + 2] as number
    if (v === 0) return f.multi.get(dest) ?? []
    return [{ kind: 'mpls', vrouter: this.vrouters.at(v - 1), label: f.rows[4 * dest + 3] as number }]
  }

  /** The gateway prefix of a text (TGW routes meet imports here), or -1. */
  private importedPrefix(text: string): { p: ImportedPrefixes; id: number } | undefined {
    if (!scanPrefix(text, 0)) return undefined
    const p = scanned.family === 4 ? this.prefixes4 : this.prefixes6
    const id = p.table.find(p.table.loadScanned())
    return id < 0 ? undefined : { p, id }
  }

  /** One gateway table route. The FIB validates what it is given (labels, addresses); a route it
   * refuses is reported and counted, never thrown into the speaker that emitted the change. */
  private setFibRoute(prefix: string, nexthops: readonly NextHop[]): void {
    try {
      this.fib.setRoute({ table: this.table, prefix, nexthops })
    } catch (e) {
      this.refused(e)
      return
    }
    this.fibDirty = true
  }

  private refused(e: unknown): void {
    this.fibRefused++
    if (this.fibRefused <= 10 || this.fibRefused % 1000 === 0) this.emitError(e)
  }

  /** QuotaSink: a candidate enters the advertised set. */
  admit(key: string): void {
    if (this.cn2Lost) return
    this.advertised.add(key)
    this.tgw.originate(this.tgwNlri(key), TGW_ATTRS)
  }

  /** QuotaSink: a candidate leaves the advertised set. */
  evict(key: string): void {
    if (!this.advertised.delete(key)) return
    this.tgw.withdrawOriginated(this.tgwNlri(key))
  }

  private tgwNlri(key: string): Nlri {
    return unicastNlri(parsePrefix(this.candidates.get(key) as string))
  }

  // ---------------------------------------------------------------- TGW -> gateway table -> CN2

  private tgwChanges(family: FamilyKey, changes: readonly BestChange[]): void {
    if (family !== Family.Ipv4Unicast && family !== Family.Ipv6Unicast) return
    for (let i = 0; i < changes.length; i++) this.tgwChange(changes[i] as BestChange)
    if (this.tgwRoutes.size > this.tgwWarning && !this.tgwWarned) {
      this.tgwWarned = true
      this.log?.warn({ count: this.tgwRoutes.size, threshold: this.tgwWarning }, 'gateway: more routes from the TGW than expected (AWS sends at most 5,000)')
      this.emit('tgw-routes-warning', { count: this.tgwRoutes.size, threshold: this.tgwWarning })
    } else if (this.tgwRoutes.size <= this.tgwWarning) this.tgwWarned = false
    this.settle()
  }

  private tgwChange(c: BestChange): void {
    const prev = this.tgwRoutes.get(c.prefix)
    const best = c.best
    const hops = c.kind === 'withdraw' || best === undefined || best.peer === LOCAL_PEER ? null : this.greHops(c.multipath, c.prefix.includes(':'))
    if (hops === null) {
      if (prev === undefined) return
      this.tgwRoutes.delete(c.prefix)
      this.tgwPrefixes(prev.parsed, false)
      const imported = this.importedPrefix(c.prefix)
      if (imported !== undefined) this.writePrefix(imported.p, imported.id)
      else {
        this.fib.deleteRoute(this.table, c.prefix)
        this.fibDirty = true
      }
      if (!this.tgwLost) this.withdrawVpn(prev)
      return
    }
    this.setFibRoute(c.prefix, hops)
    if (prev !== undefined) {
      prev.hops = hops
      return
    }
    const r: TgwRoute = { parsed: parsePrefix(c.prefix, true), hops }
    this.tgwRoutes.set(c.prefix, r)
    this.tgwPrefixes(r.parsed, true)
    if (!this.tgwLost) this.originateVpn(r)
  }

  /** Adds or removes a TGW prefix where imports look for it (ImportedPrefixes.tgw). */
  private tgwPrefixes(parsed: ParsedPrefix, add: boolean): void {
    const t = (parsed.family === 4 ? this.prefixes4 : this.prefixes6).tgw
    parsed.words.forEach((w, i) => {
      t.key[i] = w
    })
    if (add) t.insert(parsed.length)
    else {
      const id = t.find(parsed.length)
      if (id >= 0) t.delete(id)
    }
  }

  /** GRE next hops of a TGW route: one per session in the multipath set, via its Connect peer's link. */
  private greHops(multipath: readonly RouteEntry[], v6: boolean): GreNextHop[] | null {
    const out: GreNextHop[] = []
    for (const e of multipath) {
      const link = this.linkOf.get(e.peerAddress)
      if (link === undefined) continue
      // IPv4 routes: the session's address (.2/.3). IPv6 routes: the next hop the TGW sent (its /125
      // address); one without a global IPv6 next hop cannot be forwarded.
      const nh = e.nextHop.includes(',') ? e.nextHop.slice(0, e.nextHop.indexOf(',')) : e.nextHop
      const gateway = v6 ? (nh.includes(':') && !nh.startsWith('::ffff:') ? nh : '') : e.peerAddress
      if (gateway === '') continue
      out.push({ kind: 'gre', link, gateway })
    }
    return out.length > 0 ? out : null
  }

  private originateVpn(r: TgwRoute): void {
    this.cn2.originate(vpnNlri(r.parsed, this.rd, this.label), r.parsed.family === 4 ? this.vpnAttrs : this.vpnAttrs6)
    this.reoriginated++
  }

  private withdrawVpn(r: TgwRoute): void {
    this.cn2.withdrawOriginated(vpnNlri(r.parsed, this.rd, this.label))
    this.reoriginated--
  }

  // ---------------------------------------------------------------- batches, failover

  /** End of a batch: fill the quota's holes, report refusals, write the FIB. */
  private settle(): void {
    const fresh = this.quotaGuard.settle()
    if (fresh.length > 0) {
      const s = this.quotaGuard.status()
      const newlyRefused = fresh.map((k) => this.candidates.get(k) as string)
      this.log?.warn({ limit: s.limit, candidates: s.candidates, refused: s.refused, newlyRefused: newlyRefused.slice(0, 20) }, 'gateway: TGW quota reached, prefixes refused')
      this.emit('quota', { limit: s.limit, candidates: s.candidates, advertised: this.advertised.size, refused: s.refused, newlyRefused })
    }
    if (this.fibDirty) {
      this.fibDirty = false
      this.fib.flush().catch((e: unknown) => this.emitError(e))
    }
  }

  private peerState(side: 'cn2' | 'tgw', e: PeerStateEvent): void {
    const up = side === 'cn2' ? this.cn2Up : this.tgwUp
    if (e.to === 'Established') {
      up.add(e.peer)
      this.disarmLost(side)
      if (side === 'cn2' ? this.cn2Lost : this.tgwLost) this.setLost(side, false)
    } else if (e.from === 'Established' && up.delete(e.peer) && up.size === 0) {
      this.armLost(side)
    }
  }

  private armLost(side: 'cn2' | 'tgw'): void {
    this.disarmLost(side)
    const ms = side === 'cn2' ? this.cn2LostAfterMs : this.tgwLostAfterMs
    const t = setTimeout(() => this.setLost(side, true), ms)
    t.unref()
    if (side === 'cn2') this.cn2LostTimer = t
    else this.tgwLostTimer = t
  }

  private disarmLost(side: 'cn2' | 'tgw'): void {
    if (side === 'cn2') {
      clearTimeout(this.cn2LostTimer)
      this.cn2LostTimer = undefined
    } else {
      clearTimeout(this.tgwLostTimer)
      this.tgwLostTimer = undefined
    }
  }

  /** A side lost (every session down beyond its time) or back: withdraw or restore what depends on it. */
  private setLost(side: 'cn2' | 'tgw', lost: boolean): void {
    if (side === 'cn2') {
      this.cn2LostTimer = undefined
      if (this.cn2Lost === lost) return
      this.cn2Lost = lost
      if (lost) {
        for (const k of this.advertised) this.tgw.withdrawOriginated(this.tgwNlri(k))
        this.advertised.clear()
      } else {
        for (const k of this.quotaGuard.admittedKeys()) this.admit(k)
      }
    } else {
      this.tgwLostTimer = undefined
      if (this.tgwLost === lost) return
      this.tgwLost = lost
      for (const r of this.tgwRoutes.values()) {
        if (lost) this.withdrawVpn(r)
        else this.originateVpn(r)
      }
    }
    this.log?.[lost ? 'warn' : 'info']({ side }, lost ? `gateway: every ${side} session lost, withdrawing what depends on it` : `gateway: ${side} back, advertising again`)
    this.emit('failover', { side, lost })
  }

  private emitError(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e))
    if (this.listenerCount('error') > 0) this.emit('error', err)
    else this.log?.warn({ err: err.message }, 'gateway: FIB error')
  }

  // ---------------------------------------------------------------- status

  quota(): QuotaReport {
    const s = this.quotaGuard.status()
    return {
      limit: s.limit,
      candidates: s.candidates,
      advertised: this.advertised.size,
      refused: s.refused,
      refusedPrefixes: this.quotaGuard.refusedKeys(1000).map((k) => this.candidates.get(k) as string),
      refusals: s.refusals,
    }
  }

  status(): GatewayStatus {
    return {
      importedRoutes: this.vpn4.count + this.vpn6.count,
      importedPrefixes: this.prefixes4.table.size + this.prefixes6.table.size,
      aggregatesActive: this.aggregatesActive,
      advertisedToTgw: this.advertised.size,
      quota: this.quota(),
      tgwRoutes: this.tgwRoutes.size,
      reoriginatedVpnRoutes: this.reoriginated,
      unusableRoutes: this.unusable,
      fibRefused: this.fibRefused,
      cn2Lost: this.cn2Lost,
      tgwLost: this.tgwLost,
    }
  }

  /** Calls fn with every gateway table route this gateway wants in the FIB (imported prefixes and
   * TGW routes): on a reload, what the next gateway does not want too is deleted. */
  forEachFibRoute(fn: (table: number, prefix: string) => void): void {
    for (const p of [this.prefixes4, this.prefixes6]) p.table.forEach((id) => fn(this.table, p.table.text(id)))
    for (const prefix of this.tgwRoutes.keys()) if (this.importedPrefix(prefix) === undefined) fn(this.table, prefix)
  }

  /** Whether this gateway wants a route for `prefix` in `table` (canonical text). */
  wantsFibRoute(table: number, prefix: string): boolean {
    return table === this.table && (this.tgwRoutes.has(prefix) || this.importedPrefix(prefix) !== undefined)
  }

  /** Prefixes advertised to the TGW, in the quota guard's order. */
  advertisedPrefixes(): string[] {
    return [...this.advertised].sort().map((k) => this.candidates.get(k) as string)
  }
}

function positive(v: number, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new GatewayConfigError(field, `${v} is not a non-negative number`)
  return v
}
