/**
 * The BGP speaker: the set of peers, each a Session (bgp/session), joined to one RIB (bgp/rib).
 *
 * In (RFC 4271 9.1): every UPDATE goes raw from the session to the RIB's bulk sink
 * (decodeUpdateBulk, no object per route); the RIB is committed once per batch (setImmediate after
 * the first UPDATE of an event-loop turn, so every socket chunk read in that poll phase shares one
 * best-path run, at most COMMIT_SLICE destinations per turn: a full table is committed over several
 * turns and End-of-RIB acts once it is all in), then maximum-prefix limits are checked (RFC 4486
 * Cease 1 with AFI/SAFI/limit as data, or a warning only).
 *
 * Out (RFC 4271 9.2, 9.1.3): the RIB's `changed` events (destinations whose best path changed) queue
 * those destinations in each established peer's Adj-RIB-Out (adj-rib-out.ts). A flush computes the
 * attribute set to send (export.ts rules, then the peer's export policy), interns it, compares it to
 * what the peer was last sent, groups the differences by attribute set and packs them with the bulk
 * encoder into as few UPDATEs as fit (withdrawals packed too); RTC and other families go through
 * encodeUpdate. The export result is cached per (source attribute set, source peer) while the policy
 * depends on the attribute set only, so a million routes sharing a thousand sets run the rules a
 * thousand times. MRAI applies to withdrawals too (RFC 4271 9.2.1.1: "advertisement and/or
 * withdrawal"), which is what keeps a flapping prefix to one message per interval. Flushes respect the socket's write backlog (pause above `writeBacklogLimit`, resume
 * on 'drain') and the peer's minimum advertisement interval (RFC 4271 9.2.1.1): a change within the
 * interval after the last flush waits for the end of the interval, so a burst leaves as one flush.
 * Withdrawals are copied out as keys at once, while the destination still has its prefix at hand.
 *
 * Session life: on Established the whole table of each negotiated family is queued, and End-of-RIB
 * (RFC 4724 2) follows each family's initial flush. ROUTE-REFRESH received (RFC 2918) re-sends the
 * peer's Adj-RIB-Out for the family, between BoRR and EoRR when enhanced route refresh (RFC 7313) was
 * negotiated; BoRR/EoRR received mark and sweep the peer's routes like a graceful restart of one
 * family. On a session's end the peer's routes are withdrawn, or kept stale by the graceful restart
 * helper (graceful-restart.ts) when the session negotiated it; its Adj-RIB-Out is forgotten.
 *
 * Route-target constraint (RFC 4684): our memberships (route targets we import) are originated as
 * RTC routes of the local peer; a peer that negotiated RTC gets VPN routes only if one of their route
 * targets is among the memberships it advertised, and none before its RTC End-of-RIB (RFC 4684 6),
 * bounded by a timeout.
 *
 * Graceful restart, restarting role: while GracefulRestart.deferring nothing is sent (not even
 * End-of-RIB); on phase 'selection' every peer is flushed and gets its End-of-RIB markers.
 *
 * Modules: peer.ts holds a peer's state (and the record of its RFC 7606 outcomes), packing.ts lays
 * a flush's routes out as UPDATEs; the rest (ingest, RTC, export decisions, refresh, graceful
 * restart wiring) is here.
 *
 * Nothing goes unrecorded: socket errors (counted by the session), RFC 7606 AFI/SAFI disables,
 * routes that could not be encoded for a peer, and errors of our own making are logged (options.logger,
 * a child per peer) and counted in peerStats().errors whether or not anyone listens to 'error'. RFC
 * 7606 outcomes that keep the session (treat-as-withdraw, attribute discard, martian next hops) are
 * counted per peer and kind (peerStats().updateIssues), the most recent kept in a small ring
 * (recentUpdateIssues), and logged at most once per kind per interval.
 */
import { EventEmitter } from 'node:events'
import { Family, familyName, type FamilyKey } from '../codec/afi.js'
import { decodeUpdateBulk } from '../codec/bulk.js'
import type { CodecContext } from '../codec/context.js'
import { type ExtendedCommunity } from '../codec/ext-communities.js'
import { families as familyTable, type Nlri } from '../codec/nlri.js'
import { RouteRefreshSubtype, type RouteRefreshMessage } from '../codec/route-refresh.js'
import { BgpFamilyError, type UpdateIssue } from '../codec/update.js'
import type { State, StopReason } from '../fsm/index.js'
import { Rib } from '../rib/rib.js'
import { heavyGrowthThisTurn } from '../session/heavy-turn.js'
import {
  LOCAL_PEER,
  type BestChange,
  type DestId,
  type PeerId,
  type PrefixCounts,
  type RibTable,
  type RouteAttributes,
  type RoutePolicy,
} from '../rib/api.js'
import { BgpListener, normalizeAddress } from '../session/listener.js'
import type { Negotiated } from '../session/negotiate.js'
import { Session, type SessionConfig, type SessionStats } from '../session/session.js'
import { silentLogger, type BgpLogger } from '../session/logger.js'
import type { NextHopGuard } from '../session/next-hop.js'
import { isIpv4, mappedIpv6 } from '../../src/lib/address.js'
import { AdjRibOut } from './adj-rib-out.js'
import {
  ConfigError,
  defaultMrai,
  parseRouterId,
  validatePeerConfig,
  validateSpeakerOptions,
  type MaxPrefixConfig,
  type PeerConfig,
  type SpeakerOptions,
} from './config.js'
import { exportAttributes, type ExportSource, type ExportTarget } from './export.js'
import { BULK_FAMILIES, Peer, VPN_FAMILIES, type ExportCache, type SpeakerRib, type UpdateIssueRecord } from './peer.js'
import { copyWithdrawal, sendBulk, sendObjects, sendWithdrawals } from './packing.js'

export type { SpeakerRib, UpdateIssueRecord } from './peer.js'
import { downCauseOf, GracefulRestart, type PhaseEvent } from './graceful-restart.js'
import { MaxPrefix, maxPrefixNotificationData, RtcFilter, rtcMembershipNlris } from '../policy/index.js'

export interface PeerStateEvent {
  readonly peer: string
  readonly from: State
  readonly to: State
  readonly reason?: StopReason
}

export interface MaxPrefixEvent {
  readonly peer: string
  readonly family: FamilyKey
  readonly limit: number
  readonly count: number
  /** 'threshold': the warning threshold was reached; 'limit': the limit was exceeded. */
  readonly level: 'threshold' | 'limit'
  /** 'warning': session kept; 'teardown': Cease 1 sent. */
  readonly action: 'warning' | 'teardown'
}

export interface SpeakerEvents {
  'peer-state': [PeerStateEvent]
  /** Best-path changes of one table (the RIB's, re-emitted; built only while someone listens). */
  best: [FamilyKey, readonly BestChange[]]
  'end-of-rib': [{ readonly peer: string; readonly family: FamilyKey }]
  'max-prefix': [MaxPrefixEvent]
  'gr-phase': [PhaseEvent]
  /** Errors of our own making that do not stop the speaker (encoding a route that cannot be sent). */
  error: [Error]
}

export interface FamilyStats {
  readonly family: string
  readonly received: number
  readonly accepted: number
  readonly active: number
  readonly stale: number
  readonly advertised: number
  readonly endOfRibReceived: boolean
  readonly endOfRibSent: boolean
}

/** Errors of one peer that did not stop the speaker; each one was also logged. */
export interface PeerErrorCounts {
  /** Socket errors of the peer's connections (resets, refused or failed connects). */
  readonly socket: number
  /** Families disabled after a malformed UPDATE (RFC 7606 AFI/SAFI disable). */
  readonly familyDisabled: number
  /** Routes that could not be encoded for the peer (forgotten as sent, the session kept). */
  readonly unsendableRoutes: number
  /** Errors of our own making in the peer's session (socket options, ...). */
  readonly internal: number
}

export interface PeerStats {
  readonly name: string
  readonly address: string
  readonly asn: number
  readonly enabled: boolean
  readonly ebgp: boolean
  readonly minimumAdvertisementInterval: number
  readonly session: SessionStats
  readonly families: readonly FamilyStats[]
  /** Flushes (each one or more UPDATEs) sent. */
  readonly flushes: number
  /** Times UPDATE generation paused for the socket to drain (write backlog above the limit). */
  readonly writePauses: number
  /** Set while a max-prefix tear-down keeps the peer down. */
  readonly maxPrefixDown?: { readonly family: string; readonly restartAt?: number }
  readonly errors: PeerErrorCounts
  /** RFC 7606 outcomes that kept the session (treat-as-withdraw, attribute discard, AFI/SAFI
   * disable, martian next hops), counted by kind since the peer was added. */
  readonly updateIssues: Readonly<Record<string, number>>
  /** The most recent of them, oldest first (at most 16). */
  readonly recentUpdateIssues: readonly UpdateIssueRecord[]
}

/** Routes per slice of a flush: large enough to group well, small enough to yield to the socket. */
const SLICE = 65536
const DEFAULT_BACKLOG_LIMIT = 1 << 20

/** Bound on remembered policy result objects per peer and family. */
const OBJECT_CACHE_MAX = 65536
/** Bound on source keys remembered per peer and family before the cache starts afresh. */
const EXPORT_CACHE_MAX = 262144
/** Seconds a peer's routes stay stale after its BoRR without an EoRR (RFC 7313 4.2). */
const ERR_STALE_TIME = 360
/** Destinations committed per turn of the event loop: a full table's changes reach the listeners
 * (Adj-RIB-Out, the daemon's gateway) in slices, so the process keeps answering its sessions and its
 * local API while a table loads. 1,024 VPN routes cost gsi-routerd's gateway about 10-25 ms of CPU
 * on the 2-core test machine (4,096 held its event loop 100 ms and more). */
export const COMMIT_SLICE = 1024

export class BgpSpeaker extends EventEmitter<SpeakerEvents> {
  readonly localAs: number
  readonly routerId: number
  readonly clusterId: number
  readonly rib: SpeakerRib
  readonly gracefulRestart: GracefulRestart | undefined
  private readonly options: SpeakerOptions
  private listener: BgpListener | undefined
  private readonly ownListener: boolean
  private readonly peerMap = new Map<string, Peer>()
  private readonly byId = new Map<PeerId, Peer>()
  private started = false
  private closed = false
  private commitScheduled = false
  /** What waits for the RIB to be committed in full (End-of-RIB actions while a table is committed
   * in slices), in arrival order. */
  private afterCommit: (() => void)[] = []
  private readonly backlogLimit: number
  private readonly memberships = new Map<string, Nlri>()
  private readonly scratch = new Int32Array(SLICE)
  /** References taken by uncached export results during one slice. */
  private readonly sliceRefs: number[] = []
  private bestForward: ((f: FamilyKey, c: readonly BestChange[]) => void) | undefined
  private readonly log: BgpLogger

  constructor(options: SpeakerOptions) {
    super()
    validateSpeakerOptions(options)
    this.options = options
    this.log = options.logger ?? silentLogger
    this.localAs = options.localAs
    this.routerId = parseRouterId('routerId', options.routerId)
    this.clusterId = options.clusterId === undefined ? this.routerId : parseRouterId('clusterId', options.clusterId)
    this.backlogLimit = options.writeBacklogLimit ?? DEFAULT_BACKLOG_LIMIT
    this.rib = new Rib({ ...(options.rib ?? {}), localAs: this.localAs, routerId: this.routerId, clusterId: this.clusterId }) as SpeakerRib
    this.rib.on('changed', (family, dests, count) => this.onChanged(family, dests, count))
    const l = options.listen
    if (l instanceof BgpListener) {
      this.listener = l
      this.ownListener = false
    } else if (l !== undefined) {
      this.listener = new BgpListener({
        ...(l.address !== undefined ? { host: l.address } : {}),
        ...(l.bindDevice !== undefined ? { bindDevice: l.bindDevice } : {}),
        port: l.port ?? 179,
      })
      this.ownListener = true
    } else {
      this.ownListener = false
    }
    const gr = options.gracefulRestart
    if (gr !== undefined) {
      this.gracefulRestart = new GracefulRestart(this.rib, {
        commit: () => this.scheduleCommit(),
        restartTime: gr.restartTime,
        restarting: gr.restarting === true,
        ...(gr.holdSelection !== undefined ? { holdSelection: gr.holdSelection } : {}),
        ...(gr.forwardingFamilies !== undefined ? { forwardingFamilies: gr.forwardingFamilies } : {}),
        ...(gr.deferralTime !== undefined ? { deferralTime: gr.deferralTime } : {}),
        ...(gr.staleRoutesTime !== undefined ? { staleRoutesTime: gr.staleRoutesTime } : {}),
        ...(gr.notification !== undefined ? { notification: gr.notification } : {}),
        ...(gr.helper !== undefined ? { helper: gr.helper } : {}),
      })
      this.gracefulRestart.on('phase', (e) => {
        if (e.phase === 'selection') {
          for (const p of this.peerMap.values()) {
            // Our restart is over: OPENs from now on carry R = 0 (RFC 4724 4.1).
            const gr = this.gracefulRestart
            if (gr !== undefined) p.session.setGracefulRestart(gr.localCapability(p.config.families ?? [Family.Ipv4Unicast]))
            this.scheduleFlush(p, true)
          }
        }
        this.emit('gr-phase', e)
      })
    }
    // 'best' events cost the RIB objects per change: forward them only while someone listens.
    const untyped = this as EventEmitter
    untyped.on('newListener', (event: string | symbol) => {
      if (event === 'best' && this.bestForward === undefined) {
        this.bestForward = (f, c) => this.emit('best', f, c)
        this.rib.on('best', this.bestForward)
      }
    })
    untyped.on('removeListener', (event: string | symbol) => {
      if (event === 'best' && this.listenerCount('best') === 0 && this.bestForward !== undefined) {
        this.rib.off('best', this.bestForward)
        this.bestForward = undefined
      }
    })
    for (const rt of options.importRouteTargets ?? []) this.addMembership(rt)
  }

  /** Starts listening (resolves with the bound port, 0 without a listener) and the enabled peers. */
  async start(): Promise<number> {
    if (this.closed) throw new Error('speaker: closed')
    let port = 0
    if (this.listener !== undefined) port = this.ownListener ? await this.listener.listen() : this.listener.port
    this.started = true
    for (const p of this.peerMap.values()) if (p.enabled) p.session.start()
    return port
  }

  /** The listening port (0 without a listener). */
  get port(): number {
    return this.listener?.port ?? 0
  }

  /** Stops every session (Cease, administrative shutdown with `message`) and the listener. */
  async stop(message = 'speaker shutting down'): Promise<void> {
    if (this.closed) return
    this.closed = true
    await Promise.all([...this.peerMap.values()].map(async (p) => {
      this.clearPeerTimers(p)
      await p.session.destroy(message)
    }))
    this.gracefulRestart?.close()
    if (this.ownListener) await this.listener?.close()
  }

  // ---------------------------------------------------------------- configuration

  addPeer(config: PeerConfig): void {
    validatePeerConfig(config, this.localAs)
    if (this.closed) throw new Error('speaker: closed')
    if (this.peerMap.has(config.name)) throw new ConfigError(`peer ${JSON.stringify(config.name)}: name`, 'already configured')
    for (const p of this.peerMap.values()) {
      if (normalizeAddress(p.config.address) === normalizeAddress(config.address)) {
        throw new ConfigError(`peer ${JSON.stringify(config.name)}: address`, `${config.address} is already the address of peer ${JSON.stringify(p.name)}`)
      }
    }
    if (config.passive === true && this.listener === undefined) throw new ConfigError(`peer ${JSON.stringify(config.name)}: passive`, 'needs the speaker to listen (options.listen)')
    const families = config.families ?? [Family.Ipv4Unicast]
    const maxPrefix = new Map<FamilyKey, MaxPrefix>()
    for (const [k, v] of Object.entries(config.maxPrefix ?? {}) as [string, MaxPrefixConfig | undefined][]) {
      // validatePeerConfig checked every field (as ConfigError): this cannot throw.
      if (v !== undefined) maxPrefix.set(Number(k), new MaxPrefix(v, `peer ${JSON.stringify(config.name)}: maxPrefix[${familyName(Number(k))}]`))
    }
    const ebgp = config.asn !== this.localAs
    const id = this.rib.addPeer({ address: config.address, asn: config.asn, routerId: 0, ebgp, name: config.name })
    const grCap = this.gracefulRestart?.localCapability(families)
    const sc: SessionConfig = {
      name: config.name,
      peerAddress: config.address,
      peerAs: config.asn,
      localAs: this.localAs,
      localId: this.routerId,
      holdTime: config.holdTime ?? 90,
      families,
      connectRetryTime: config.connectRetryTime ?? 30,
      ...(config.port !== undefined ? { peerPort: config.port } : {}),
      ...(config.localAddress !== undefined ? { localAddress: config.localAddress } : {}),
      ...(config.passive === true ? { passive: true } : {}),
      ...(config.ttl !== undefined ? { ttl: config.ttl } : {}),
      ...(config.gtsmHops !== undefined ? { gtsmHops: config.gtsmHops } : {}),
      ...(config.md5Password !== undefined ? { md5Password: config.md5Password } : {}),
      ...(config.bindDevice !== undefined ? { bindDevice: config.bindDevice } : {}),
      ...(config.keepaliveTime !== undefined ? { keepaliveTime: config.keepaliveTime } : {}),
      ...(config.idleHoldTime !== undefined ? { idleHoldTime: config.idleHoldTime } : {}),
      ...(config.addPath !== undefined ? { addPath: config.addPath } : {}),
      ...(config.enhancedRouteRefresh === true ? { enhancedRouteRefresh: true } : {}),
      ...(config.extendedMessage === true ? { extendedMessage: true } : {}),
      ...(grCap !== undefined ? { gracefulRestart: grCap } : {}),
      ...(config.allowNextHops !== undefined ? { allowNextHops: config.allowNextHops } : {}),
      ...(config.localIpv6NextHop !== undefined ? { localNextHops: [config.localIpv6NextHop] } : {}),
      updateSink: (buf, offset, length, ctx, nextHops) => this.ingest(peer, buf, offset, length, ctx, nextHops),
    }
    const log = this.log.child({ peer: config.name })
    let session: Session
    try {
      session = new Session(sc, { ...(this.listener !== undefined ? { listener: this.listener } : {}), logger: log })
    } catch (e) {
      this.rib.removePeer(id)
      throw new ConfigError(`peer ${JSON.stringify(config.name)}`, (e as Error).message)
    }
    const peer = new Peer(config.name, config, session, id, ebgp, defaultMrai(config, this.localAs), log)
    for (const [f, m] of maxPrefix) peer.maxPrefix.set(f, m)
    peer.refs = {
      acquire: (a) => {
        this.rib.addRef(a)
      },
      release: (a) => {
        peer.attrBytes.delete(a)
        this.rib.release(a)
      },
    }
    this.peerMap.set(config.name, peer)
    this.byId.set(id, peer)
    for (const [f, pol] of Object.entries(config.importPolicy ?? {})) if (pol !== undefined) this.rib.setImportPolicy(id, Number(f), pol)
    this.wireSession(peer)
    this.gracefulRestart?.expectPeer(id, families)
    if (this.started && peer.enabled) session.start()
  }

  /** De-configures a peer: Cease / Peer De-configured (RFC 4486 3), its routes withdrawn. */
  async removePeer(name: string): Promise<void> {
    const p = this.peer(name)
    this.peerMap.delete(name)
    this.clearPeerTimers(p)
    await p.session.stop(undefined, 3)
    await p.session.destroy()
    this.gracefulRestart?.forget(p.id)
    this.byId.delete(p.id)
    this.rib.removePeer(p.id)
    this.rib.commit()
  }

  /** Administrative up/down: down sends Cease / Administrative Shutdown with an RFC 9003 message. */
  async setPeerEnabled(name: string, enabled: boolean, message?: string): Promise<void> {
    const p = this.peer(name)
    p.enabled = enabled
    if (p.maxPrefixTimer !== undefined) clearTimeout(p.maxPrefixTimer)
    p.maxPrefixTimer = undefined
    p.maxPrefixDown = undefined
    if (enabled) {
      if (this.started) p.session.start()
    } else {
      await p.session.stop(message ?? 'administratively down')
    }
  }

  /** Replaces a peer's import policy for a family and re-applies it to its Adj-RIB-In now. */
  setImportPolicy(name: string, family: FamilyKey, policy: RoutePolicy | null): void {
    const p = this.peer(name)
    const imp: Partial<Record<FamilyKey, RoutePolicy>> = { ...(p.config.importPolicy ?? {}) }
    if (policy === null) delete imp[family]
    else imp[family] = policy
    p.config = { ...p.config, importPolicy: imp }
    this.rib.setImportPolicy(p.id, family, policy)
    this.scheduleCommit()
  }

  /** Replaces a peer's export policy for a family: every route of the family is re-evaluated. */
  setExportPolicy(name: string, family: FamilyKey, policy: RoutePolicy | null): void {
    const p = this.peer(name)
    const exp: Partial<Record<FamilyKey, RoutePolicy>> = { ...(p.config.exportPolicy ?? {}) }
    if (policy === null) delete exp[family]
    else exp[family] = policy
    p.config = { ...p.config, exportPolicy: exp }
    this.reevaluate(p, family)
  }

  /** Soft reconfiguration inbound: re-applies the import policies to the kept Adj-RIB-In (no refresh needed). */
  softReconfigure(name: string, family?: FamilyKey): void {
    const p = this.peer(name)
    for (const f of family !== undefined ? [family] : (p.config.families ?? [Family.Ipv4Unicast])) {
      this.rib.setImportPolicy(p.id, f, p.config.importPolicy?.[f] ?? null)
    }
    this.scheduleCommit()
  }

  /** Asks the peer to send its routes of a family again (ROUTE-REFRESH, RFC 2918). */
  refreshInbound(name: string, family: FamilyKey): boolean {
    return this.peer(name).session.sendRouteRefresh(family)
  }

  // ---------------------------------------------------------------- local routes

  /** Announces (or replaces) a locally originated route. An empty next hop means "ours" per peer. */
  originate(nlri: Nlri, attrs: RouteAttributes): void {
    this.rib.announce(LOCAL_PEER, nlri, attrs)
    this.scheduleCommit()
  }

  withdrawOriginated(nlri: Nlri): void {
    this.rib.withdraw(LOCAL_PEER, nlri)
    this.scheduleCommit()
  }

  /** Route targets we import (RTC memberships, RFC 4684): replaces the set. */
  setImportRouteTargets(rts: readonly ExtendedCommunity[]): void {
    const want = new Map<string, ExtendedCommunity>()
    for (const rt of rts) want.set(rtKey(this.localAs, rt), rt)
    for (const [k, n] of this.memberships) {
      if (!want.has(k)) {
        this.memberships.delete(k)
        this.rib.withdraw(LOCAL_PEER, n)
      }
    }
    for (const [k, rt] of want) if (!this.memberships.has(k)) this.addMembership(rt)
    this.scheduleCommit()
  }

  private addMembership(rt: ExtendedCommunity): void {
    if (rt.kind !== 'route-target') throw new ConfigError('importRouteTargets', `${rt.kind} is not a route target`)
    const n = rtcMembershipNlris(this.localAs, [rt])[0] as Nlri
    this.memberships.set(rtKey(this.localAs, rt), n)
    this.rib.announce(LOCAL_PEER, n, { attrs: { origin: 0, asPath: [] }, nextHop: '' })
    this.scheduleCommit()
  }

  // ---------------------------------------------------------------- statistics

  peerNames(): string[] {
    return [...this.peerMap.keys()]
  }

  peers(): PeerStats[] {
    return [...this.peerMap.keys()].map((n) => this.peerStats(n))
  }

  /**
   * What the peer was last sent in a family (its Adj-RIB-Out, RFC 4271 3.2): prefix text, the
   * attributes as sent (post export policy) and the label for VPN families. For gsictl; walks the table.
   */
  advertised(name: string, family: FamilyKey, fn: (prefix: string, attrs: RouteAttributes, label: number | undefined) => void): void {
    const p = this.peer(name)
    const out = p.out.get(family)
    if (out === undefined) return
    const table = this.rib.table(family)
    out.forEachAdvertised((d) => {
      const id = out.attrOf(d)
      if (id < 0) return
      const label = out.labelOf(d)
      fn(table.prefixText(d), this.rib.attributes(id), label)
    })
  }

  peerStats(name: string): PeerStats {
    const p = this.peer(name)
    const fams: FamilyStats[] = []
    for (const f of p.config.families ?? [Family.Ipv4Unicast]) {
      const c: PrefixCounts = this.rib.families().includes(f) ? this.rib.counts(p.id, f) : { received: 0, accepted: 0, active: 0, stale: 0 }
      fams.push({
        family: familyName(f),
        received: c.received,
        accepted: c.accepted,
        active: c.active,
        stale: c.stale,
        advertised: p.out.get(f)?.advertised ?? 0,
        endOfRibReceived: p.eorReceived.has(f),
        endOfRibSent: p.eorSent.has(f),
      })
    }
    const session = p.session.stats()
    const s: PeerStats = {
      name: p.name,
      address: p.config.address,
      asn: p.config.asn,
      enabled: p.enabled,
      ebgp: p.ebgp,
      minimumAdvertisementInterval: p.mrai,
      session,
      families: fams,
      flushes: p.flushes,
      writePauses: p.writePauses,
      errors: { socket: session.errors.socket, familyDisabled: p.familyDisabled, unsendableRoutes: p.unsendableRoutes, internal: session.errors.internal },
      updateIssues: Object.fromEntries(p.issueCounts),
      recentUpdateIssues: [...p.recentIssues.slice(p.issueNext), ...p.recentIssues.slice(0, p.issueNext)],
    }
    if (p.maxPrefixDown === undefined) return s
    const d = p.maxPrefixDown
    return { ...s, maxPrefixDown: d.restartAt !== undefined ? { family: familyName(d.family), restartAt: d.restartAt } : { family: familyName(d.family) } }
  }

  /** The session of a peer (tests, the daemon's CLI). */
  session(name: string): Session {
    return this.peer(name).session
  }

  /** The RIB peer id of a peer. */
  peerId(name: string): PeerId {
    return this.peer(name).id
  }

  private peer(name: string): Peer {
    const p = this.peerMap.get(name)
    if (p === undefined) throw new RangeError(`no peer named ${JSON.stringify(name)}`)
    return p
  }

  // ---------------------------------------------------------------- sessions

  private wireSession(p: Peer): void {
    const s = p.session
    // The session logged and counted it already; pass it on to whoever listens.
    s.on('error', (e) => {
      if (this.listenerCount('error') > 0) this.emit('error', e)
    })
    s.on('update-issues', (issues) => p.recordIssues(issues))
    s.on('state', (e) => this.emit('peer-state', { peer: p.name, from: e.from, to: e.to, ...(e.reason !== undefined ? { reason: e.reason } : {}) }))
    s.on('established', (n) => this.onEstablished(p, n))
    s.on('down', (d) => this.onDown(p, d))
    s.on('end-of-rib', (f) => this.onEndOfRib(p, f))
    s.on('route-refresh', (rr) => this.onRouteRefresh(p, rr))
    s.on('drain', () => {
      if (p.waitingDrain) {
        p.waitingDrain = false
        this.flush(p)
      }
    })
  }

  private onEstablished(p: Peer, n: Negotiated): void {
    p.negotiated = n
    p.remoteId = n.peerId
    p.upSince = Date.now()
    p.sink = undefined
    p.sinkCtx = undefined
    this.rib.updatePeer(p.id, { routerId: n.peerId })
    const local = p.session.stats().connection?.localAddress ?? p.config.localAddress ?? ''
    if (isIpv4(local)) {
      p.selfV4 = local
      p.selfV6 = p.config.localIpv6NextHop ?? mappedIpv6(local)
    } else {
      p.selfV4 = ''
      p.selfV6 = p.config.localIpv6NextHop ?? local
    }
    p.eorPending.clear()
    p.eorSent.clear()
    p.eorReceived.clear()
    p.eorrPending.clear()
    this.clearExportCache(p)
    p.attrBytes.clear()
    for (const mp of p.maxPrefix.values()) mp.reset()
    p.disabled.clear()
    p.rtc = n.families.includes(Family.RouteTarget) ? new RtcFilter() : undefined
    p.rtcSignature = ''
    p.rtcWaiting = p.rtc !== undefined && n.families.some((f) => VPN_FAMILIES.has(f))
    if (p.rtcWaiting) {
      p.rtcTimer = setTimeout(() => {
        p.rtcTimer = undefined
        if (!p.rtcWaiting) return
        // No End-of-RIB for RTC (gobgpd 3.10 sends none): stop waiting, but keep filtering by the
        // memberships that did arrive (RFC 4684 4: a peer that negotiated RTC wants only those).
        p.rtcWaiting = false
        this.updateRtcFilter(p, true)
        this.scheduleFlush(p, true)
      }, (p.config.rtcEndOfRibTimeout ?? 60) * 1000)
      p.rtcTimer.unref()
    }
    const tables = new Set(this.rib.families())
    for (const f of n.families) {
      const out = new AdjRibOut(f, familyTable.get(f)?.labeled === true, p.refs)
      p.out.set(f, out)
      p.eorPending.add(f)
      if (tables.has(f)) this.enqueueTable(this.rib.table(f), out)
    }
    this.gracefulRestart?.peerUp(p.id, n)
    this.scheduleFlush(p, true)
  }

  private onDown(p: Peer, d: { reason: StopReason; wasEstablished: boolean }): void {
    const n = p.negotiated
    p.negotiated = undefined
    p.sink = undefined
    p.sinkCtx = undefined
    // A refresh in progress ends with the session (its routes are withdrawn or kept by GR below).
    for (const t of p.borrTimers.values()) clearTimeout(t)
    p.borrTimers.clear()
    for (const o of p.out.values()) o.reset()
    p.out.clear()
    this.clearExportCache(p)
    p.attrBytes.clear()
    p.waitingDrain = false
    p.rtc = undefined
    p.rtcWaiting = false
    if (p.rtcTimer !== undefined) clearTimeout(p.rtcTimer)
    p.rtcTimer = undefined
    if (p.flushTimer !== undefined) clearTimeout(p.flushTimer)
    if (p.flushImmediate !== undefined) clearImmediate(p.flushImmediate)
    p.flushTimer = undefined
    p.flushImmediate = undefined
    if (!d.wasEstablished && n === undefined) {
      this.gracefulRestart?.peerDown(p.id, undefined, d.reason)
      return
    }
    // Routes already decoded but not yet committed belong to this session: commit them first.
    this.commitNow()
    if (this.gracefulRestart !== undefined) {
      this.gracefulRestart.peerDown(p.id, n, downCauseOf(d, p.session.stats(), p.upSince))
    } else {
      this.rib.withdrawAll(p.id)
      // in slices, like an ingest: a full table withdrawn in one turn held the loop for 0.4-0.6 s
      this.scheduleCommit()
    }
  }

  private onEndOfRib(p: Peer, family: FamilyKey): void {
    // What came before the marker must be in the RIB before anyone acts on the marker: with a
    // commit due (the scheduled one, in slices for a full table) the marker's actions wait for it.
    if (this.commitScheduled) this.afterCommit.push(() => this.endOfRibCommitted(p, family))
    else this.endOfRibCommitted(p, family)
  }

  private endOfRibCommitted(p: Peer, family: FamilyKey): void {
    p.eorReceived.add(family)
    this.emit('end-of-rib', { peer: p.name, family })
    this.gracefulRestart?.endOfRib(p.id, family)
    if (family === Family.RouteTarget && p.rtcWaiting) {
      p.rtcWaiting = false
      if (p.rtcTimer !== undefined) clearTimeout(p.rtcTimer)
      p.rtcTimer = undefined
      this.updateRtcFilter(p, true)
      this.scheduleFlush(p, true)
    }
  }

  private onRouteRefresh(p: Peer, rr: RouteRefreshMessage): void {
    const family = (rr.afi << 8) | rr.safi
    if (rr.subtype === RouteRefreshSubtype.BeginningOfRibRefresh) {
      // RFC 7313 4: the peer re-sends its routes; what it does not re-send by EoRR goes, or when
      // no EoRR comes within the stale-path time (RFC 7313 4.2 leaves it local: GR's 360 s).
      this.commitNow()
      this.rib.markStale(p.id, family)
      const old = p.borrTimers.get(family)
      if (old !== undefined) clearTimeout(old)
      const timer = setTimeout(() => this.endRibRefresh(p, family), ERR_STALE_TIME * 1000)
      timer.unref()
      p.borrTimers.set(family, timer)
      return
    }
    if (rr.subtype === RouteRefreshSubtype.EndOfRibRefresh) {
      this.endRibRefresh(p, family)
      return
    }
    const out = p.out.get(family)
    if (out === undefined) return
    if (p.negotiated?.enhancedRouteRefresh === true) {
      p.session.sendRouteRefresh(family, RouteRefreshSubtype.BeginningOfRibRefresh)
      p.eorrPending.add(family)
    }
    out.forEachAdvertised((d) => out.enqueue(d, true))
    // A refresh answers now, not after the MRAI (RFC 2918 does not subject it to the interval).
    this.scheduleFlush(p, true)
  }

  /** EoRR received (or its timer ran out): the peer's routes of the family still stale go. */
  private endRibRefresh(p: Peer, family: FamilyKey): void {
    const t = p.borrTimers.get(family)
    if (t !== undefined) clearTimeout(t)
    p.borrTimers.delete(family)
    this.commitNow()
    this.rib.sweepStale(p.id, family)
    this.rib.commit()
  }

  // ---------------------------------------------------------------- ingest

  private ingest(p: Peer, buf: Uint8Array, offset: number, length: number, ctx: CodecContext, nextHops: NextHopGuard): readonly UpdateIssue[] | undefined {
    let sink = p.sink
    if (sink === undefined || p.sinkCtx !== ctx || p.sinkNextHops !== nextHops) {
      sink = p.sink = this.rib.sink(p.id, ctx, nextHops)
      p.sinkCtx = ctx
      p.sinkNextHops = nextHops
    }
    p.ingested = true
    this.scheduleCommit()
    try {
      decodeUpdateBulk(buf, offset, length, ctx, sink)
    } catch (e) {
      sink.issues = [] // the error itself is the report (the session emits it, or resets)
      if (e instanceof BgpFamilyError) this.disableFamily(p, e.family)
      throw e
    }
    if (sink.issues.length === 0) return undefined
    // The UPDATE's RFC 7606 reports go back to the session, which emits them ('update-issues'):
    // the sink keeps nothing between UPDATEs.
    const issues = sink.issues
    sink.issues = []
    return issues
  }

  /**
   * RFC 7606 AFI/SAFI disable (RFC 4760 7): the peer's routes of the family go, later ones are
   * ignored (withdrawn again at each commit), and we send it nothing more of the family, until the
   * session restarts.
   */
  private disableFamily(p: Peer, family: FamilyKey): void {
    if (p.disabled.has(family)) return
    p.disabled.add(family)
    this.rib.withdrawAll(p.id, family)
    const out = p.out.get(family)
    if (out !== undefined) {
      out.reset()
      p.out.delete(family)
    }
    p.eorPending.delete(family)
    p.familyDisabled++
    this.emitError(p, new Error(`peer ${p.name}: ${familyName(family)} disabled after a malformed UPDATE (RFC 7606)`), { family: familyName(family) })
  }

  private scheduleCommit(): void {
    if (this.commitScheduled) return
    this.commitScheduled = true
    setImmediate(() => this.commitSlice())
  }

  /** The scheduled commit: one slice, unless this turn already paid for a big table's growth
   * (bgp/session/heavy-turn.ts), when the slice waits for the next turn. */
  private commitSlice(): void {
    if (this.commitScheduled && !this.closed && heavyGrowthThisTurn()) {
      setImmediate(() => this.commitSlice())
      return
    }
    this.commitNow(COMMIT_SLICE)
  }

  /**
   * Commits the RIB if a commit is due: everything, or at most `limit` destinations, the rest at
   * the next turn of the event loop (so a full table's best-path changes, and what listeners do with
   * them, never hold the loop for long: sessions, timers and the local API get their turns between
   * slices). Each slice checks the peers that sent UPDATEs; once nothing is pending, what waited for
   * the commit runs.
   */
  private commitNow(limit = Infinity): void {
    if (!this.commitScheduled) return
    this.commitScheduled = false
    if (this.closed) return
    for (const p of this.peerMap.values()) {
      if (p.ingested && p.disabled.size > 0) for (const f of p.disabled) this.rib.withdrawAll(p.id, f)
    }
    this.rib.commit(limit)
    const more = this.rib.pending > 0
    for (const p of this.peerMap.values()) {
      if (!p.ingested) continue
      if (!more) p.ingested = false
      this.checkMaxPrefix(p)
      if (p.rtc !== undefined && !p.rtcWaiting) this.updateRtcFilter(p, false)
    }
    if (more) {
      this.scheduleCommit()
      return
    }
    const waiting = this.afterCommit
    this.afterCommit = []
    for (const f of waiting) f()
  }

  private checkMaxPrefix(p: Peer): void {
    if (p.maxPrefix.size === 0 || !p.established) return
    const tables = this.rib.families()
    for (const [family, mp] of p.maxPrefix) {
      if (!tables.includes(family)) continue
      const count = this.rib.counts(p.id, family).accepted
      const r = mp.check(count)
      if (r === 'ok') continue
      if (r === 'exceeded' && mp.tearDown) {
        this.emit('max-prefix', { peer: p.name, family, limit: mp.limit, count, level: 'limit', action: 'teardown' })
        this.maxPrefixTeardown(p, family, mp)
        return
      }
      this.emit('max-prefix', { peer: p.name, family, limit: mp.limit, count, level: r === 'exceeded' ? 'limit' : 'threshold', action: 'warning' })
    }
  }

  private maxPrefixTeardown(p: Peer, family: FamilyKey, cfg: MaxPrefix): void {
    // RFC 4486 4: data = AFI (2), SAFI (1), the upper bound (4).
    p.session.automaticStop('max-prefix', maxPrefixNotificationData(family, cfg.limit))
    // The machine would restart after its idle hold time; the peer stays down for restartTime
    // instead (or until an administrative start), as FRR's "maximum-prefix N restart M" does.
    const restartAt = cfg.restartTime !== undefined && cfg.restartTime > 0 ? Date.now() + cfg.restartTime * 1000 : undefined
    p.maxPrefixDown = restartAt !== undefined ? { family, restartAt } : { family }
    void p.session.stop().then(() => {
      if (restartAt === undefined || p.maxPrefixDown === undefined || this.closed) return
      p.maxPrefixTimer = setTimeout(() => {
        p.maxPrefixTimer = undefined
        p.maxPrefixDown = undefined
        if (p.enabled && !this.closed && this.peerMap.get(p.name) === p) p.session.start()
      }, Math.max(0, restartAt - Date.now()))
      p.maxPrefixTimer.unref()
    })
  }

  // ---------------------------------------------------------------- RTC

  /** Rebuilds a peer's RTC filter from its membership routes; re-evaluates VPN routes if it changed. */
  private updateRtcFilter(p: Peer, force: boolean): void {
    if (p.rtc === undefined && !force) return
    const f = new RtcFilter()
    const keys: string[] = []
    if (this.rib.families().includes(Family.RouteTarget)) {
      this.rib.adjRibIn(p.id, Family.RouteTarget, (route, _received, accepted) => {
        if (accepted === undefined) return
        f.add({ family: Family.RouteTarget, prefix: route.address, length: route.length })
        keys.push(`${Buffer.from(route.address).toString('hex')}/${route.length}`)
      })
    }
    const sig = keys.sort().join(',')
    p.rtc = f
    if (sig === p.rtcSignature && !force) return
    p.rtcSignature = sig
    for (const fam of VPN_FAMILIES) if (p.out.has(fam)) this.reevaluate(p, fam)
  }

  // ---------------------------------------------------------------- export

  /** Queues every route of a family for re-evaluation toward a peer (policy or filter changed). */
  private reevaluate(p: Peer, family: FamilyKey): void {
    this.clearExportCache(p, family)
    const out = p.out.get(family)
    if (out === undefined) return
    out.forEachAdvertised((d) => out.enqueue(d))
    if (this.rib.families().includes(family)) this.enqueueTable(this.rib.table(family), out)
    this.scheduleFlush(p, true)
  }

  /**
   * Queues every destination of a table that has a best path, ordered by its best path's attribute
   * set: a flush takes the queue in slices and packs per slice, so routes sharing a set must sit
   * together for a million routes to leave in as few UPDATEs as their sets allow.
   */
  private enqueueTable(table: RibTable, out: AdjRibOut): void {
    let keys = new Float64Array(Math.max(16, table.size))
    let n = 0
    table.forEachBest((d) => {
      if (n === keys.length) {
        const k = new Float64Array(keys.length * 2)
        k.set(keys)
        keys = k
      }
      keys[n++] = table.bestAttrId(d) * 4294967296 + d
    })
    const sorted = keys.subarray(0, n).sort()
    for (let i = 0; i < n; i++) out.enqueue((sorted[i] as number) % 4294967296)
  }

  private onChanged(family: FamilyKey, dests: Int32Array, count: number): void {
    if (this.peerMap.size === 0) return
    let table: RibTable | undefined
    for (const p of this.peerMap.values()) {
      const out = p.out.get(family)
      if (out === undefined || !p.established) continue
      table ??= this.rib.table(family)
      for (let i = 0; i < count; i++) {
        const d = dests[i] as number
        if (table.bestAttrId(d) < 0) {
          // Gone from Loc-RIB: withdraw now, while the destination still names this prefix.
          if (out.advertisedAttr(d) >= 0) {
            copyWithdrawal(table, out, d)
            out.unset(d)
          }
        } else if (table.bestPeer(d) !== p.id || out.advertisedAttr(d) >= 0) {
          out.enqueue(d)
        }
        // else: the best path came from this very peer and it holds nothing of ours for the
        // destination: a route never goes back to its source (eBGP: its AS is first in the path;
        // iBGP and reflection: never to the originator), so there is nothing to send. Skipping it
        // here keeps a full table from one peer out of that peer's Adj-RIB-Out queue entirely.
      }
      this.scheduleFlush(p, false)
    }
  }

  /**
   * Schedules a flush: at once (next turn) when `now` or the MRAI has passed since the last flush,
   * else at the end of the interval (one timer per peer: a burst inside the interval coalesces).
   */
  private scheduleFlush(p: Peer, now: boolean): void {
    if (!p.established || this.closed) return
    if (p.flushImmediate !== undefined) return
    const wait = now ? 0 : p.lastFlush + p.mrai * 1000 - Date.now()
    if (wait <= 0) {
      if (p.flushTimer !== undefined) {
        clearTimeout(p.flushTimer)
        p.flushTimer = undefined
      }
      p.flushImmediate = setImmediate(() => {
        p.flushImmediate = undefined
        this.flush(p)
      })
      return
    }
    if (p.flushTimer !== undefined) return
    p.flushTimer = setTimeout(() => {
      p.flushTimer = undefined
      this.flush(p)
    }, wait)
  }

  /** Whether routes of `family` must wait before going to the peer. */
  private held(p: Peer, family: FamilyKey): boolean {
    return VPN_FAMILIES.has(family) && p.rtcWaiting
  }

  private flush(p: Peer): void {
    if (!p.established || this.closed || p.waitingDrain) return
    if (this.gracefulRestart?.deferring === true) return // restarting: nothing until selection
    const n = p.negotiated as Negotiated
    let sent = false
    for (const family of n.families) {
      const out = p.out.get(family)
      if (out === undefined || this.held(p, family)) continue
      for (;;) {
        if (p.session.writeBacklog > this.backlogLimit) {
          p.waitingDrain = true
          p.writePauses++
          if (sent) this.flushed(p)
          return
        }
        if (out.withdrawals.size > 0) {
          sendWithdrawals(p, out)
          sent = true
          continue
        }
        const k = out.take(this.scratch, SLICE)
        if (k === 0) break
        if (this.exportSlice(p, out, k)) sent = true
      }
      if (p.eorPending.has(family)) {
        p.eorPending.delete(family)
        p.eorSent.add(family)
        p.session.sendEndOfRib(family)
        sent = true
      }
      if (p.eorrPending.has(family)) {
        p.eorrPending.delete(family)
        p.session.sendRouteRefresh(family, RouteRefreshSubtype.EndOfRibRefresh)
      }
    }
    if (sent) this.flushed(p)
  }

  private flushed(p: Peer): void {
    p.lastFlush = Date.now()
    p.flushes++
  }

  private exportSource(srcPeer: PeerId): ExportSource {
    if (srcPeer === LOCAL_PEER) return { local: true, ebgp: false, routeReflectorClient: false, routerId: this.routerId }
    const sp = this.byId.get(srcPeer)
    return {
      local: false,
      ebgp: sp?.ebgp ?? true,
      routeReflectorClient: sp?.config.routeReflectorClient === true,
      routerId: sp?.remoteId ?? 0,
    }
  }

  private exportTarget(p: Peer, family: FamilyKey): ExportTarget {
    const v6 = family >>> 8 === 2
    return {
      family,
      ebgp: p.ebgp,
      routeReflectorClient: p.config.routeReflectorClient === true,
      localAs: this.localAs,
      clusterId: this.clusterId,
      nextHopSelf: p.config.nextHopSelf === true,
      selfNextHop: v6 ? p.selfV6 : p.selfV4 !== '' ? p.selfV4 : p.selfV6,
      ipv6NextHopForIpv4: p.negotiated?.extendedNextHop.some((e) => e.family === family && e.nextHopAfi === 2) === true,
    }
  }

  /**
   * The out attribute set id for dest toward p, or -1 when it is not to be advertised. Cached per
   * (source attribute set, source peer) unless the export policy looks at prefixes.
   */
  private outAttr(p: Peer, table: RibTable, family: FamilyKey, d: DestId, cache: ExportCache, target: () => ExportTarget): number {
    const src = table.bestAttrId(d)
    if (src < 0) return -1
    const srcPeer = table.bestPeer(d)
    if (srcPeer === p.id) return -1 // never back to where it came from
    const policy = p.config.exportPolicy?.[family]
    const cacheable = policy === undefined || policy.perAttributeSet
    const key = src * 65536 + srcPeer
    // Set ids are reused once the RIB frees them: an entry is valid only for the very set object it
    // was computed from.
    const srcAttrs = this.rib.attributes(src)
    if (cache.src.get(key) !== srcAttrs) {
      const stale = cache.ids.get(key)
      if (stale !== undefined && stale >= 0) p.refs.release(stale)
      cache.ids.delete(key)
      cache.rules.delete(key)
      cache.src.set(key, srcAttrs)
    }
    if (cacheable) {
      const hit = cache.ids.get(key)
      if (hit !== undefined) return hit
    }
    // The rules (and the RTC filter) never look at the prefix: their result is cached per key even
    // for a policy that does, so that policy sees one input object per set (and can memoise).
    let pre = cache.rules.get(key)
    if (pre === undefined) {
      const rtcOk = p.rtc === undefined || !VPN_FAMILIES.has(family) || p.rtc.allows(srcAttrs.attrs)
      pre = rtcOk ? exportAttributes(srcAttrs, this.exportSource(srcPeer), target()) : null
      cache.rules.set(key, pre)
    }
    let result = -1
    if (cacheable) {
      const a = pre === null || policy === undefined ? pre : policy.apply(table.route(d), pre)
      if (a !== null) result = this.rib.intern(a) // the cache's reference
      cache.ids.set(key, result)
      return result
    }
    const a = pre === null ? null : (policy as RoutePolicy).apply(table.route(d), pre)
    if (a === null) return -1
    const known = cache.objects.get(a)
    if (known !== undefined) return known
    result = this.rib.intern(a)
    // Policies hand back shared result objects: remember them (one reference each), up to a bound
    // in case one makes a new object per route; past it the reference lives until the slice ends.
    if (cache.objects.size < OBJECT_CACHE_MAX) cache.objects.set(a, result)
    else this.sliceRefs.push(result)
    return result
  }

  /** Exports one slice of queued destinations; returns whether anything was sent. */
  private exportSlice(p: Peer, out: AdjRibOut, k: number): boolean {
    const family = out.family
    if (!this.rib.families().includes(family)) return false
    const table = this.rib.table(family)
    let cache = p.exportCache.get(family)
    if (cache !== undefined && cache.src.size > EXPORT_CACHE_MAX) {
      // Attribute sets come and go (MED or community churn): start afresh rather than grow forever.
      this.clearExportCache(p, family)
      cache = undefined
    }
    if (cache === undefined) {
      cache = { ids: new Map(), rules: new Map(), objects: new Map(), src: new Map() }
      p.exportCache.set(family, cache)
    }
    let tgt: ExportTarget | undefined
    const target = (): ExportTarget => (tgt ??= this.exportTarget(p, family))
    const groups = new Map<number, DestId[]>()
    const labeled = out.label !== undefined
    for (let i = 0; i < k; i++) {
      let d = this.scratch[i] as number
      let force = false
      if (d < 0) {
        d = ~d
        force = true
      }
      const a = this.outAttr(p, table, family, d, cache, target)
      const label = labeled ? table.bestLabel(d) : -1
      const was = out.advertisedAttr(d)
      if (a < 0) {
        if (was >= 0) {
          copyWithdrawal(table, out, d)
          out.unset(d)
        }
        continue
      }
      if (!force && was === a && (!labeled || out.advertisedLabel(d) === label)) continue
      out.set(d, a, label)
      let g = groups.get(a)
      if (g === undefined) {
        g = []
        groups.set(a, g)
      }
      g.push(d)
    }
    for (const id of this.sliceRefs) p.refs.release(id)
    this.sliceRefs.length = 0
    if (groups.size === 0) return false
    const ctx = (p.negotiated as Negotiated).context
    for (const [attrId, dests] of groups) {
      try {
        if (BULK_FAMILIES.has(family)) sendBulk(this.rib, p, ctx, table, family, attrId, dests)
        else sendObjects(this.rib, p, ctx, table, family, attrId, dests)
      } catch (e) {
        // A route we cannot encode for this session (say an IPv6 next hop on IPv4 unicast without
        // extended next hop): report it, forget it was sent, keep the session.
        for (const d of dests) out.unset(d)
        p.unsendableRoutes += dests.length
        this.emitError(p, new Error(`peer ${p.name}: cannot send ${dests.length} ${familyName(family)} route(s): ${(e as Error).message}`), { family: familyName(family), routes: dests.length })
      }
    }
    return true
  }

  /** Drops a peer's export cache (one RIB reference per entry) for a family, or all families. */
  private clearExportCache(p: Peer, family?: FamilyKey): void {
    for (const [f, cache] of p.exportCache) {
      if (family !== undefined && f !== family) continue
      for (const id of cache.ids.values()) if (id >= 0) p.refs.release(id)
      for (const id of cache.objects.values()) p.refs.release(id)
      p.exportCache.delete(f)
    }
  }

  private clearPeerTimers(p: Peer): void {
    for (const t of p.borrTimers.values()) clearTimeout(t)
    p.borrTimers.clear()
    for (const t of [p.flushTimer, p.rtcTimer, p.maxPrefixTimer]) if (t !== undefined) clearTimeout(t)
    if (p.flushImmediate !== undefined) clearImmediate(p.flushImmediate)
    p.flushTimer = p.rtcTimer = p.maxPrefixTimer = undefined
    p.flushImmediate = undefined
  }

  /** An error of a peer that does not stop the speaker: the caller counted it; it is logged, and
   * emitted as 'error' when someone listens (an EventEmitter throws an unheard 'error'). */
  private emitError(p: Peer, e: Error, fields: object): void {
    p.log.error({ ...fields, err: { message: e.message } }, e.message)
    if (this.listenerCount('error') > 0) this.emit('error', e)
  }
}

function rtKey(localAs: number, rt: ExtendedCommunity): string {
  if (rt.kind !== 'route-target') throw new ConfigError('importRouteTargets', `${rt.kind} is not a route target`)
  const n = rtcMembershipNlris(localAs, [rt])[0] as Nlri
  return Buffer.from(n.prefix).toString('hex')
}
