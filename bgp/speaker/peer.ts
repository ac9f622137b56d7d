/**
 * A peer as the speaker holds it (speaker.ts): its configuration, its Session, the RIB peer id, one
 * Adj-RIB-Out per negotiated family (adj-rib-out.ts), the export cache, End-of-RIB and refresh
 * state, RTC filter, maximum-prefix state, timers, and the record of the RFC 7606 outcomes of its
 * UPDATEs: counted per kind, the most recent kept in a small ring (older ones only counted, so a peer
 * that keeps sending malformed UPDATEs costs no memory), logged at most once per kind per interval.
 * Plain state: the speaker and packing.ts act on it.
 */
import type { EventEmitter } from 'node:events'
import { Family, familyName, type FamilyKey } from '../codec/afi.js'
import type { UpdateSink } from '../codec/bulk.js'
import type { CodecContext } from '../codec/context.js'
import type { UpdateIssue } from '../codec/update.js'
import type { PeerId, RibApi, RibEvents, RouteAttributes } from '../rib/api.js'
import type { MaxPrefix, RtcFilter } from '../policy/index.js'
import { LogLimiter, type BgpLogger } from '../session/logger.js'
import type { Negotiated } from '../session/negotiate.js'
import type { NextHopGuard } from '../session/next-hop.js'
import type { Session } from '../session/session.js'
import type { AdjRibOut, AttrRefs } from './adj-rib-out.js'
import type { PeerConfig } from './config.js'

/** The RIB as the speaker drives it: the contract plus its events. */
export type SpeakerRib = RibApi & Pick<EventEmitter<RibEvents>, 'on' | 'off' | 'listenerCount'>

export const VPN_FAMILIES: ReadonlySet<FamilyKey> = new Set([Family.Ipv4Vpn, Family.Ipv6Vpn])
export const BULK_FAMILIES: ReadonlySet<FamilyKey> = new Set([Family.Ipv4Unicast, Family.Ipv6Unicast, Family.Ipv4Vpn, Family.Ipv6Vpn])

/** Export results of one peer and family, keyed by source attribute set * 65536 + source peer. */
export interface ExportCache {
  /** Out attribute set id (-1: not advertised), when the export policy depends on the set only;
   * each id >= 0 holds one RIB reference. */
  readonly ids: Map<number, number>
  /** The export rules' result before the policy (null: not advertised). */
  readonly rules: Map<number, RouteAttributes | null>
  /** Policy results (shared objects) to their interned id, one RIB reference each. */
  readonly objects: Map<RouteAttributes, number>
  /** The source set each key was computed from (ids are reused after the RIB frees a set). */
  readonly src: Map<number, RouteAttributes>
}

/** One RFC 7606 outcome as peerStats() keeps it. */
export interface UpdateIssueRecord {
  readonly at: number
  readonly kind: string
  readonly detail?: string
  readonly action: string
  readonly attributeType: number
  readonly family?: string
  /** The NOTIFICATION data it would have carried, hex, at most 64 bytes. */
  readonly data: string
}

/** RFC 7606 outcomes kept per peer for inspection (older ones only counted). */
const RECENT_ISSUES = 16
/** One log line per peer and issue kind per this many milliseconds. */
const ISSUE_LOG_INTERVAL = 10_000

/** One configured peer: its session, its Adj-RIB-Out per family and the state of its exports. */
export class Peer {
  readonly name: string
  config: PeerConfig
  readonly session: Session
  readonly id: PeerId
  enabled: boolean
  readonly ebgp: boolean
  mrai: number
  negotiated: Negotiated | undefined
  /** The peer's BGP identifier from its last OPEN (kept while its routes are kept stale). */
  remoteId = 0
  sink: (UpdateSink & { issues: UpdateIssue[] }) | undefined
  sinkCtx: CodecContext | undefined
  sinkNextHops: NextHopGuard | undefined
  readonly out = new Map<FamilyKey, AdjRibOut>()
  selfV4 = ''
  selfV6 = ''
  /** Families whose End-of-RIB still follows their initial flush. */
  readonly eorPending = new Set<FamilyKey>()
  readonly eorSent = new Set<FamilyKey>()
  readonly eorReceived = new Set<FamilyKey>()
  /** Families whose refresh (enhanced) awaits EoRR after the flush. */
  readonly eorrPending = new Set<FamilyKey>()
  /** RTC: the peer's membership filter (undefined: RTC not negotiated, every VPN route goes). */
  rtc: RtcFilter | undefined
  rtcSignature = ''
  rtcWaiting = false
  rtcTimer: NodeJS.Timeout | undefined
  /** Export results per family (see ExportCache). */
  readonly exportCache = new Map<FamilyKey, ExportCache>()
  /** Encoded attribute sections per out attrId (session-specific: 2- or 4-octet AS). */
  readonly attrBytes = new Map<number, Uint8Array>()
  flushTimer: NodeJS.Timeout | undefined
  flushImmediate: NodeJS.Immediate | undefined
  lastFlush = 0
  flushes = 0
  writePauses = 0
  waitingDrain = false
  ingested = false
  /** Enhanced route refresh (RFC 7313) received BoRR, waiting for EoRR, per family. */
  readonly borrTimers = new Map<FamilyKey, NodeJS.Timeout>()
  /** Families disabled by RFC 7606 until the session restarts. */
  readonly disabled = new Set<FamilyKey>()
  /** Maximum-prefix state per family (bgp/policy's MaxPrefix: edge-triggered reports). */
  readonly maxPrefix = new Map<FamilyKey, MaxPrefix>()
  maxPrefixDown: { family: FamilyKey; restartAt?: number } | undefined
  maxPrefixTimer: NodeJS.Timeout | undefined
  /** When the current session came up (NOTIFICATIONs before it do not explain its end). */
  upSince = 0
  /** RIB references of this peer's Adj-RIB-Out tables (set by the speaker). */
  refs: AttrRefs = { acquire: () => {}, release: () => {} }
  readonly log: BgpLogger
  familyDisabled = 0
  unsendableRoutes = 0
  readonly issueCounts = new Map<string, number>()
  /** Ring of the most recent RFC 7606 outcomes: `issueNext` is where the next one goes. */
  readonly recentIssues: UpdateIssueRecord[] = []
  issueNext = 0
  readonly issueLog = new LogLimiter(ISSUE_LOG_INTERVAL)

  constructor(name: string, config: PeerConfig, session: Session, id: PeerId, ebgp: boolean, mrai: number, log: BgpLogger) {
    this.name = name
    this.log = log
    this.config = config
    this.session = session
    this.id = id
    this.enabled = config.enabled !== false
    this.ebgp = ebgp
    this.mrai = mrai
  }

  /** Between the session's 'established' and 'down' events (its state may lag inside the first). */
  get established(): boolean {
    return this.negotiated !== undefined
  }

  /** Counts, keeps (bounded) and logs (rate-limited) RFC 7606 outcomes of a peer's UPDATEs. */
  recordIssues(issues: readonly UpdateIssue[]): void {
    const now = Date.now()
    for (const i of issues) {
      this.issueCounts.set(i.kind, (this.issueCounts.get(i.kind) ?? 0) + 1)
      const r: UpdateIssueRecord = {
        at: now,
        kind: i.kind,
        ...(i.detail !== undefined ? { detail: i.detail } : {}),
        action: i.action,
        attributeType: i.attributeType,
        ...(i.family !== undefined ? { family: familyName(i.family) } : {}),
        data: Buffer.from(i.data.subarray(0, 64)).toString('hex'),
      }
      if (this.recentIssues.length < RECENT_ISSUES) this.recentIssues.push(r)
      else this.recentIssues[this.issueNext] = r
      this.issueNext = (this.issueNext + 1) % RECENT_ISSUES
      const suppressed = this.issueLog.admit(i.kind)
      if (suppressed >= 0) {
        const { at: _at, ...fields } = r
        this.log.warn({ ...fields, ...(suppressed > 0 ? { suppressed } : {}) }, `UPDATE error handled without a reset (RFC 7606 ${i.action})`)
      }
    }
  }
}
