/**
 * The BGP speaker (RFC 4271 9: the decision process and update sending between sessions and the
 * RIB), with graceful restart (RFC 4724, RFC 8538) and route-target constraint (RFC 4684). Public
 * face of bgp/speaker.
 */
export { BgpSpeaker } from './speaker.js'
export type { SpeakerRib, SpeakerEvents, PeerStateEvent, MaxPrefixEvent, PeerStats, FamilyStats, PeerErrorCounts, UpdateIssueRecord } from './speaker.js'
export type { BgpLogger } from '../session/logger.js'
export type { NextHopClass } from '../session/next-hop.js'
export { ConfigError, defaultMrai, parseRouterId, validatePeerConfig, validateSpeakerOptions } from './config.js'
export type { PeerConfig, SpeakerOptions, MaxPrefixConfig, GracefulRestartOptions as SpeakerGracefulRestartOptions, PerFamily } from './config.js'
export { exportAttributes, prependAs, DEFAULT_LOCAL_PREF } from './export.js'
export type { ExportSource, ExportTarget } from './export.js'
export { GracefulRestart, flushReasonOf, downCauseOf } from './graceful-restart.js'
export type { GracefulRestartPhase, PhaseEvent, GracefulRestartOptions, PeerDownResult } from './graceful-restart.js'
