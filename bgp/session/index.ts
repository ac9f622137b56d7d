/**
 * BGP sessions: the runner of one peer over node:net (RFC 4271 section 8 with bgp/fsm, RFC 6.8
 * collisions, RFC 9003 shutdown messages, RFC 5082 GTSM, RFC 4724 End-of-RIB), the shared listener,
 * capability negotiation (RFC 5492 and the capabilities it lists), socket TTL options. Public face
 * of bgp/session.
 */
export { Session, checkNextHops, endOfRibBytes, endOfRibOf } from './session.js'
export type { SessionConfig, SessionEvents, SessionStats, MessageCounts, MessageKind, NotificationRecord } from './session.js'
export { BgpListener, normalizeAddress } from './listener.js'
export type { ListenerOptions, IncomingHandler } from './listener.js'
export { buildOpen, negotiate, peerAsOf, summarizeNegotiated } from './negotiate.js'
export type { LocalCapabilities, Negotiated, NegotiatedSummary, PeerExpectations, PeerGracefulRestart } from './negotiate.js'
export { applyTtlPolicy, deviceNameProblem, setTtl, getTtl, setMinTtl, getMinTtl, gtsmMinTtl } from './socket-options.js'
export { LogLimiter, silentLogger } from './logger.js'
export type { BgpLogger } from './logger.js'
export { NextHopGuard, NEXT_HOP_CLASSES, martianIssue } from './next-hop.js'
export type { NextHopClass, NextHopGuardOptions } from './next-hop.js'
