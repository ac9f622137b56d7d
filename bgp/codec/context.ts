/**
 * What the codec must know of a session to read and write its messages: the outcome of capability
 * negotiation (RFC 5492), passed explicitly to every decode and encode call (no hidden state).
 */
import type { FamilyKey } from './afi.js'

export interface CodecContext {
  /** Both sides sent the 4-octet AS capability (RFC 6793): AS_PATH and AGGREGATOR carry 4-octet ASNs. */
  readonly as4: boolean
  /** Families for which we *receive* ADD-PATH path identifiers (RFC 7911). */
  readonly addPathReceive: ReadonlySet<FamilyKey>
  /** Families for which we *send* ADD-PATH path identifiers. */
  readonly addPathSend: ReadonlySet<FamilyKey>
  /** Largest message either side may send: 4,096, or 65,535 with extended messages (RFC 8654). */
  readonly maxMessageLength: number
  /** Families negotiated in both directions (RFC 4760); MP_REACH/MP_UNREACH for others is an error. */
  readonly families: ReadonlySet<FamilyKey>
  /** Peer is external (eBGP): LOCAL_PREF from it is ignored, RFC 7606 rules differ slightly. */
  readonly ebgp: boolean
}

/** The context of a session before OPENs are exchanged, and of tests that want the plain case. */
export function defaultContext(overrides: Partial<CodecContext> = {}): CodecContext {
  return {
    as4: true,
    addPathReceive: new Set(),
    addPathSend: new Set(),
    maxMessageLength: 4096,
    families: new Set(),
    ebgp: false,
    ...overrides,
  }
}
