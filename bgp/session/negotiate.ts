/**
 * Capability negotiation (RFC 5492) and OPEN checks that need the peer's configuration: pure
 * functions from our OPEN and the peer's to what the session and the codec use afterwards.
 *
 * - Families: multiprotocol capabilities intersected (RFC 4760; a speaker that sends none implies
 *   IPv4 unicast only). No family in common: OPEN Message Error / Unsupported Capability (RFC 5492 5)
 *   with our multiprotocol capabilities as data.
 * - 4-octet AS (RFC 6793): both sides must send the capability. The peer's AS is the capability's
 *   when present; My AS must then be that AS (if it fits 2 octets) or AS_TRANS; AS_TRANS without the
 *   capability is never a valid AS. A mismatch with the configured peer AS: Bad Peer AS (2/2).
 * - BGP Identifier equal to ours on an iBGP session: Bad BGP Identifier (2/3, RFC 6286 2.2).
 * - Hold time: the smaller of both (RFC 4271 4.2), 0 allowed; below our configured minimum (when not
 *   0): Unacceptable Hold Time (2/6). The codec already refuses 1 and 2. Keepalive: the configured
 *   interval capped at a third of the hold time.
 * - ADD-PATH (RFC 7911 4): per negotiated family, we receive path identifiers when we advertised
 *   receive and the peer send, and send them when we advertised send and the peer receive.
 * - Graceful restart (RFC 4724): the peer's restart time, R and N bits and per-family F bits, kept
 *   when both sides advertise the capability.
 * - Extended message (RFC 8654), extended next hop (RFC 8950, entries both sides list), route refresh
 *   (RFC 2918, code 2 or the Cisco 128) and enhanced route refresh (RFC 7313).
 */
import { Family, familyKey, familyName, type FamilyKey } from '../codec/afi.js'
import type { Capability, GracefulRestartCapability } from '../codec/capabilities.js'
import { encodeCapability, capabilityEncodingLength } from '../codec/capabilities.js'
import type { CodecContext } from '../codec/context.js'
import { BgpError, ErrorCode, OpenSubcode } from '../codec/errors.js'
import { MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH } from '../codec/header.js'
import { AS_TRANS, bgpIdToString, makeOpen, type OpenMessage } from '../codec/open.js'

/** What we offer in our OPEN (the capability part of a peer's configuration). */
export interface LocalCapabilities {
  readonly localAs: number
  readonly localId: number
  /** Seconds we propose; 0 or at least 3. */
  readonly holdTime: number
  readonly families: readonly FamilyKey[]
  /** Per family: we can send and/or receive ADD-PATH identifiers. */
  readonly addPath?: readonly { readonly family: FamilyKey; readonly send: boolean; readonly receive: boolean }[]
  readonly extendedMessage?: boolean
  /** NLRI family and next-hop AFI pairs (RFC 8950), e.g. IPv4 unicast over an IPv6 next hop. */
  readonly extendedNextHop?: readonly { readonly family: FamilyKey; readonly nextHopAfi: number }[]
  /** Default true. */
  readonly routeRefresh?: boolean
  readonly enhancedRouteRefresh?: boolean
  readonly gracefulRestart?: {
    readonly restartTime: number
    /** R bit: we are restarting (RFC 4724 3). */
    readonly restarting?: boolean
    /** N bit (RFC 8538). */
    readonly notification?: boolean
    /** Families for which we keep forwarding state across a restart (F bit); default none. */
    readonly forwarding?: readonly FamilyKey[]
  }
}

/** Checks against the peer's configuration. */
export interface PeerExpectations {
  readonly peerAs: number
  /** Reject a negotiated hold time below this (unless 0). Default 3. */
  readonly minHoldTime?: number
  /** Accept a peer's hold time 0 (no keepalives at all; RFC 4271 allows it). Default true. */
  readonly allowHoldTimeZero?: boolean
  /** Keepalive interval we would like; capped at hold time / 3. Default hold time / 3. */
  readonly keepaliveTime?: number
}

export interface PeerGracefulRestart {
  readonly restartTime: number
  readonly restarting: boolean
  readonly notification: boolean
  /** Families the peer preserves forwarding state for, with its F bit. */
  readonly families: readonly { readonly family: FamilyKey; readonly forwarding: boolean }[]
}

/** The outcome of a successful OPEN exchange. */
export interface Negotiated {
  /** What the codec needs for every UPDATE of this session. */
  readonly context: CodecContext
  readonly holdTime: number
  readonly keepaliveTime: number
  readonly localAs: number
  readonly peerAs: number
  readonly peerId: number
  readonly ebgp: boolean
  readonly as4: boolean
  readonly families: readonly FamilyKey[]
  readonly addPath: readonly { readonly family: FamilyKey; readonly send: boolean; readonly receive: boolean }[]
  readonly extendedMessage: boolean
  readonly extendedNextHop: readonly { readonly family: FamilyKey; readonly nextHopAfi: number }[]
  readonly routeRefresh: boolean
  readonly enhancedRouteRefresh: boolean
  /** Present when both sides advertised graceful restart: the peer's side of it. */
  readonly gracefulRestart?: PeerGracefulRestart
}

/** A JSON-friendly summary for statistics, logs and `gsictl show bgp neighbor`. */
export interface NegotiatedSummary {
  readonly holdTime: number
  readonly keepaliveTime: number
  readonly peerAs: number
  readonly peerId: string
  readonly ebgp: boolean
  readonly as4: boolean
  readonly families: readonly string[]
  readonly addPath: readonly { readonly family: string; readonly send: boolean; readonly receive: boolean }[]
  readonly extendedMessage: boolean
  readonly extendedNextHop: readonly { readonly family: string; readonly nextHopAfi: number }[]
  readonly routeRefresh: boolean
  readonly enhancedRouteRefresh: boolean
  readonly gracefulRestart?: {
    readonly restartTime: number
    readonly restarting: boolean
    readonly notification: boolean
    readonly families: readonly { readonly family: string; readonly forwarding: boolean }[]
  }
}

const afiOf = (k: FamilyKey): number => k >>> 8
const safiOf = (k: FamilyKey): number => k & 0xff

/** Our OPEN, from what we offer. Capabilities in a stable order (one per optional parameter). */
export function buildOpen(local: LocalCapabilities): OpenMessage {
  const caps: Capability[] = []
  for (const f of local.families) caps.push({ type: 'multiprotocol', afi: afiOf(f), safi: safiOf(f) })
  if (local.routeRefresh !== false) caps.push({ type: 'route-refresh', code: 2 })
  if (local.enhancedRouteRefresh === true) caps.push({ type: 'enhanced-route-refresh' })
  if (local.extendedMessage === true) caps.push({ type: 'extended-message' })
  if (local.extendedNextHop !== undefined && local.extendedNextHop.length > 0) {
    caps.push({
      type: 'extended-next-hop',
      entries: local.extendedNextHop.map((e) => ({ afi: afiOf(e.family), safi: safiOf(e.family), nextHopAfi: e.nextHopAfi })),
    })
  }
  const gr = local.gracefulRestart
  if (gr !== undefined) {
    if (!Number.isInteger(gr.restartTime) || gr.restartTime < 0 || gr.restartTime > 4095) {
      throw new RangeError(`gracefulRestart.restartTime ${gr.restartTime}: must be an integer 0..4095 (12 bits)`)
    }
    const fwd = new Set(gr.forwarding ?? [])
    caps.push({
      type: 'graceful-restart',
      restarting: gr.restarting === true,
      notification: gr.notification === true,
      restartTime: gr.restartTime,
      families: local.families.map((f) => ({ afi: afiOf(f), safi: safiOf(f), forwarding: fwd.has(f) })),
    })
  }
  caps.push({ type: 'as4', asn: local.localAs })
  const addPath = (local.addPath ?? []).filter((a) => a.send || a.receive)
  if (addPath.length > 0) {
    caps.push({
      type: 'add-path',
      families: addPath.map((a) => ({ afi: afiOf(a.family), safi: safiOf(a.family), send: a.send, receive: a.receive })),
    })
  }
  if (local.holdTime !== 0 && (local.holdTime < 3 || local.holdTime > 0xffff || !Number.isInteger(local.holdTime))) {
    throw new RangeError(`holdTime ${local.holdTime}: must be 0 or an integer 3..65535`)
  }
  return makeOpen({ asn: local.localAs, holdTime: local.holdTime, bgpId: local.localId, capabilities: caps })
}

function familiesOf(o: OpenMessage): Set<FamilyKey> {
  const out = new Set<FamilyKey>()
  let any = false
  for (const c of o.capabilities) {
    if (c.type === 'multiprotocol') {
      any = true
      out.add(familyKey(c.afi, c.safi))
    }
  }
  // RFC 4760 8: a speaker without multiprotocol capabilities speaks IPv4 unicast only.
  if (!any) out.add(Family.Ipv4Unicast)
  return out
}

function find<T extends Capability['type']>(o: OpenMessage, type: T): Extract<Capability, { type: T }> | undefined {
  return o.capabilities.find((c) => c.type === type) as Extract<Capability, { type: T }> | undefined
}

function openError(kind: string, subcode: number, message: string, data: Uint8Array = new Uint8Array(0)): BgpError {
  return new BgpError(kind, ErrorCode.OpenMessage, subcode, data, 'session-reset', message)
}

function encodeCaps(caps: readonly Capability[]): Uint8Array {
  const len = caps.reduce((s, c) => s + capabilityEncodingLength(c), 0)
  const out = new Uint8Array(len)
  let p = 0
  for (const c of caps) p += encodeCapability(c, out, p)
  return out
}

/** The peer's real AS per RFC 6793, checking My AS against the 4-octet AS capability. Throws BgpError. */
export function peerAsOf(peer: OpenMessage): number {
  const as4 = find(peer, 'as4')
  if (as4 === undefined) {
    if (peer.myAs === AS_TRANS) throw openError('bad-peer-as', OpenSubcode.BadPeerAs, `peer's My AS is AS_TRANS (${AS_TRANS}) without a 4-octet AS capability`, u16(peer.myAs))
    return peer.myAs
  }
  const expectedMyAs = as4.asn > 0xffff ? AS_TRANS : as4.asn
  if (peer.myAs !== expectedMyAs) {
    throw openError('bad-peer-as', OpenSubcode.BadPeerAs, `peer's My AS ${peer.myAs} disagrees with its 4-octet AS ${as4.asn} (expected ${expectedMyAs})`, u16(peer.myAs))
  }
  return as4.asn
}

function u16(n: number): Uint8Array {
  return Uint8Array.of((n >>> 8) & 0xff, n & 0xff)
}

/**
 * Negotiates a session from our OPEN and the peer's (both as decoded by the codec). Throws the
 * BgpError whose NOTIFICATION answers the peer when the OPEN is unacceptable for this session.
 */
export function negotiate(ours: OpenMessage, peer: OpenMessage, expect: PeerExpectations): Negotiated {
  const localAs = find(ours, 'as4')?.asn ?? ours.myAs
  const peerAs = peerAsOf(peer)
  if (peerAs !== expect.peerAs) {
    // RFC 4271 6.2: data is the 2-octet My AS field as received.
    throw openError('bad-peer-as', OpenSubcode.BadPeerAs, `peer AS ${peerAs}, configured ${expect.peerAs}`, u16(peer.myAs))
  }
  const ebgp = peerAs !== localAs
  if (!ebgp && peer.bgpId >>> 0 === ours.bgpId >>> 0) {
    throw openError('bad-bgp-identifier', OpenSubcode.BadBgpIdentifier, `iBGP peer uses our own BGP identifier ${bgpIdToString(peer.bgpId)}`,
      Uint8Array.of(peer.bgpId >>> 24, (peer.bgpId >>> 16) & 0xff, (peer.bgpId >>> 8) & 0xff, peer.bgpId & 0xff))
  }

  const holdTime = Math.min(ours.holdTime, peer.holdTime)
  const minHold = expect.minHoldTime ?? 3
  if (holdTime !== 0 && holdTime < minHold) {
    throw openError('unacceptable-hold-time', OpenSubcode.UnacceptableHoldTime, `hold time ${holdTime} is below our minimum ${minHold}`)
  }
  if (holdTime === 0 && ours.holdTime !== 0 && expect.allowHoldTimeZero === false) {
    throw openError('unacceptable-hold-time', OpenSubcode.UnacceptableHoldTime, 'hold time 0 offered, and this peer must send keepalives')
  }
  const third = Math.floor(holdTime / 3)
  const keepaliveTime = holdTime === 0 ? 0 : Math.max(1, Math.min(expect.keepaliveTime ?? third, third))

  const ourFamilies = familiesOf(ours)
  const theirFamilies = familiesOf(peer)
  const families = [...ourFamilies].filter((f) => theirFamilies.has(f)).sort((a, b) => a - b)
  if (families.length === 0) {
    const mp = ours.capabilities.filter((c) => c.type === 'multiprotocol')
    throw openError('unsupported-capability', OpenSubcode.UnsupportedCapability,
      `no address family in common: we offer ${[...ourFamilies].map(familyName).join(', ')}, the peer ${[...theirFamilies].map(familyName).join(', ')}`,
      encodeCaps(mp))
  }
  const familySet = new Set(families)

  const as4 = find(ours, 'as4') !== undefined && find(peer, 'as4') !== undefined

  const ourAddPath = new Map<FamilyKey, { send: boolean; receive: boolean }>()
  for (const e of find(ours, 'add-path')?.families ?? []) ourAddPath.set(familyKey(e.afi, e.safi), e)
  const addPath: { family: FamilyKey; send: boolean; receive: boolean }[] = []
  for (const e of find(peer, 'add-path')?.families ?? []) {
    const f = familyKey(e.afi, e.safi)
    const mine = ourAddPath.get(f)
    if (mine === undefined || !familySet.has(f)) continue
    const send = mine.send && e.receive
    const receive = mine.receive && e.send
    if (send || receive) addPath.push({ family: f, send, receive })
  }
  addPath.sort((a, b) => a.family - b.family)

  const extendedMessage = find(ours, 'extended-message') !== undefined && find(peer, 'extended-message') !== undefined

  const ourEnh = new Set((find(ours, 'extended-next-hop')?.entries ?? []).map((e) => `${familyKey(e.afi, e.safi)}/${e.nextHopAfi}`))
  const extendedNextHop = (find(peer, 'extended-next-hop')?.entries ?? [])
    .filter((e) => ourEnh.has(`${familyKey(e.afi, e.safi)}/${e.nextHopAfi}`) && familySet.has(familyKey(e.afi, e.safi)))
    .map((e) => ({ family: familyKey(e.afi, e.safi), nextHopAfi: e.nextHopAfi }))

  const routeRefresh = find(ours, 'route-refresh') !== undefined && find(peer, 'route-refresh') !== undefined
  const enhancedRouteRefresh = routeRefresh && find(ours, 'enhanced-route-refresh') !== undefined && find(peer, 'enhanced-route-refresh') !== undefined

  let gracefulRestart: PeerGracefulRestart | undefined
  const theirGr: GracefulRestartCapability | undefined = find(peer, 'graceful-restart')
  if (theirGr !== undefined && find(ours, 'graceful-restart') !== undefined) {
    gracefulRestart = {
      restartTime: theirGr.restartTime,
      restarting: theirGr.restarting,
      notification: theirGr.notification,
      families: theirGr.families.map((e) => ({ family: familyKey(e.afi, e.safi), forwarding: e.forwarding })),
    }
  }

  const context: CodecContext = {
    as4,
    addPathReceive: new Set(addPath.filter((a) => a.receive).map((a) => a.family)),
    addPathSend: new Set(addPath.filter((a) => a.send).map((a) => a.family)),
    maxMessageLength: extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH,
    families: familySet,
    ebgp,
  }
  const out: Negotiated = {
    context, holdTime, keepaliveTime, localAs, peerAs, peerId: peer.bgpId >>> 0, ebgp, as4, families, addPath,
    extendedMessage, extendedNextHop, routeRefresh, enhancedRouteRefresh,
  }
  return gracefulRestart === undefined ? out : { ...out, gracefulRestart }
}

export function summarizeNegotiated(n: Negotiated): NegotiatedSummary {
  const base: NegotiatedSummary = {
    holdTime: n.holdTime,
    keepaliveTime: n.keepaliveTime,
    peerAs: n.peerAs,
    peerId: bgpIdToString(n.peerId),
    ebgp: n.ebgp,
    as4: n.as4,
    families: n.families.map(familyName),
    addPath: n.addPath.map((a) => ({ family: familyName(a.family), send: a.send, receive: a.receive })),
    extendedMessage: n.extendedMessage,
    extendedNextHop: n.extendedNextHop.map((e) => ({ family: familyName(e.family), nextHopAfi: e.nextHopAfi })),
    routeRefresh: n.routeRefresh,
    enhancedRouteRefresh: n.enhancedRouteRefresh,
  }
  const gr = n.gracefulRestart
  if (gr === undefined) return base
  return {
    ...base,
    gracefulRestart: {
      restartTime: gr.restartTime,
      restarting: gr.restarting,
      notification: gr.notification,
      families: gr.families.map((f) => ({ family: familyName(f.family), forwarding: f.forwarding })),
    },
  }
}
