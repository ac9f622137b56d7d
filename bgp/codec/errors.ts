/**
 * BGP codec errors: one class, carrying everything the session needs to answer the peer.
 *
 * RFC 4271 section 6 says which NOTIFICATION (code, subcode, data) each failure calls for; RFC 7606
 * says which UPDATE failures are *not* worth a session reset, and what to do instead. Every failure
 * the codec finds is a BgpError carrying both, so the session layer never has to guess.
 *
 * The codec is pure: it throws BgpError (never another exception) for any byte sequence, or, for the
 * RFC 7606 cases that keep the session, returns the damage as a report next to the decoded message.
 */

/** NOTIFICATION error codes (RFC 4271 4.5, RFC 6608, RFC 7313, RFC 9687). */
export const ErrorCode = {
  MessageHeader: 1,
  OpenMessage: 2,
  UpdateMessage: 3,
  HoldTimerExpired: 4,
  FsmError: 5,
  Cease: 6,
  RouteRefreshMessage: 7,
  SendHoldTimerExpired: 8,
} as const
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

/** Message Header Error subcodes (RFC 4271 6.1). */
export const HeaderSubcode = {
  Unspecific: 0,
  ConnectionNotSynchronized: 1,
  BadMessageLength: 2,
  BadMessageType: 3,
} as const

/** OPEN Message Error subcodes (RFC 4271 6.2, RFC 5492, RFC 9234). Subcode 5 is deprecated. */
export const OpenSubcode = {
  Unspecific: 0,
  UnsupportedVersionNumber: 1,
  BadPeerAs: 2,
  BadBgpIdentifier: 3,
  UnsupportedOptionalParameter: 4,
  UnacceptableHoldTime: 6,
  UnsupportedCapability: 7,
  RoleMismatch: 11,
} as const

/** UPDATE Message Error subcodes (RFC 4271 6.3). Subcode 7 is deprecated. */
export const UpdateSubcode = {
  Unspecific: 0,
  MalformedAttributeList: 1,
  UnrecognizedWellKnownAttribute: 2,
  MissingWellKnownAttribute: 3,
  AttributeFlagsError: 4,
  AttributeLengthError: 5,
  InvalidOriginAttribute: 6,
  InvalidNextHopAttribute: 8,
  OptionalAttributeError: 9,
  InvalidNetworkField: 10,
  MalformedAsPath: 11,
} as const

/** Finite State Machine Error subcodes (RFC 6608). */
export const FsmSubcode = {
  Unspecified: 0,
  UnexpectedInOpenSent: 1,
  UnexpectedInOpenConfirm: 2,
  UnexpectedInEstablished: 3,
} as const

/** Cease subcodes (RFC 4486, RFC 8538). */
export const CeaseSubcode = {
  Unspecific: 0,
  MaximumPrefixesReached: 1,
  AdministrativeShutdown: 2,
  PeerDeconfigured: 3,
  AdministrativeReset: 4,
  ConnectionRejected: 5,
  OtherConfigurationChange: 6,
  ConnectionCollisionResolution: 7,
  OutOfResources: 8,
  HardReset: 9,
  BfdDown: 10,
} as const

/** ROUTE-REFRESH Message Error subcodes (RFC 7313). */
export const RouteRefreshSubcode = {
  Reserved: 0,
  InvalidMessageLength: 1,
} as const

/**
 * What the receiver does about an error (RFC 7606 section 2 and 3, plus the RFC 4271 default).
 * - `session-reset`: send the NOTIFICATION and close (RFC 4271; RFC 7606 keeps it for the header,
 *   OPEN, and the few UPDATE errors that make the rest of the message unreadable).
 * - `afi-safi-disable`: stop using that family with this peer (RFC 7606 7.3 allows it instead of reset).
 * - `treat-as-withdraw`: every NLRI in the UPDATE is withdrawn.
 * - `attribute-discard`: drop the attribute, use the rest of the UPDATE.
 */
export type ErrorAction = 'session-reset' | 'afi-safi-disable' | 'treat-as-withdraw' | 'attribute-discard'

/** Stable string codes for logs and metric labels. */
export type BgpErrorKind = string

export class BgpError extends Error {
  override readonly name = 'BgpError'
  constructor(
    /** Stable machine-readable reason, e.g. `bad-marker`, `attribute-flags`, `malformed-as-path`. */
    readonly kind: BgpErrorKind,
    readonly code: ErrorCode,
    readonly subcode: number,
    /** The NOTIFICATION data field RFC 4271 asks for (often the offending attribute). */
    readonly data: Uint8Array = new Uint8Array(0),
    readonly action: ErrorAction = 'session-reset',
    message?: string,
  ) {
    super(message ?? kind)
  }
}

/** True for any value the codec may throw. Anything else escaping the codec is a bug. */
export function isBgpError(e: unknown): e is BgpError {
  return e instanceof BgpError
}
