/**
 * TGW Connect peers as the GRE side of the kernel needs them (AWS Transit Gateway guide,
 * "tgw-connect"; docs/domain.md section 2): validate a peer's addresses and inside CIDRs, and derive the
 * GRE link we want for it: a deterministic name, outer local (this node) and remote (the TGW's GRE
 * address), TTL, MTU (8,500 bytes that the TGW carries minus 24 of GRE over IPv4 = 8476), no key,
 * and the appliance's inside addresses (the first host of the /29 and of the optional /125).
 *
 * Pure: no I/O. Errors name the peer and the field.
 */
import { createHash } from 'node:crypto'
import { canonicalAddress, nthAddress, parseAddress, parsePrefix, prefixContains, type IpPrefix as ParsedPrefix } from '../src/lib/address.js'

/** An IPv4 address's canonical text; text that is no address at all says so rather than "not IPv4". */
const parseIpv4Address = (text: string, field: string): string => {
  const a = parseAddress(text, field)
  return a.family === 4 ? a.text : canonicalAddress(text, field, 4)
}
const formatPrefix = (p: ParsedPrefix): string => p.text

/** Name prefix of every GRE link we create. */
export const GRE_PREFIX = 'gsig'
/** 8,500 (the TGW's MTU) minus 24 (outer IPv4 20 + GRE 4). */
export const DEFAULT_GRE_MTU = 8476
export const DEFAULT_GRE_TTL = 255

export class GreConfigError extends Error {
  readonly code = 'ERR_GRE_CONFIG'
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`)
    this.name = 'GreConfigError'
  }

  /** Retypes an error whose message already names `field` (the address parser's). */
  static wrapping(field: string, cause: Error): GreConfigError {
    const e = new GreConfigError(field, '')
    e.message = cause.message
    e.cause = cause
    return e
  }
}

export interface ConnectPeer {
  /** AWS Connect peer id (tgw-connect-peer-0123456789abcdef0) or any stable identifier. */
  readonly id: string
  /** This node's address: the Connect peer's PeerAddress, outer source of GRE. */
  readonly localAddress: string
  /** The TGW's GRE address (TransitGatewayAddress, from the TGW CIDR block). */
  readonly remoteAddress: string
  /** /29 from 169.254.0.0/16, not one of the forbidden ones. */
  readonly insideCidr: string
  /** Optional /125 from fd00::/8. */
  readonly insideCidr6?: string
  readonly ttl?: number
  readonly mtu?: number
  /** VRF device to enslave the link to (the gateway table's VRF), so that what arrives over GRE is
   * routed in the gateway table and the inside subnet stays out of the main table. */
  readonly vrf?: string
}

/** The GRE link we want in the kernel for one Connect peer. */
export interface GreLinkSpec {
  readonly peerId: string
  readonly name: string
  readonly local: string
  readonly remote: string
  readonly ttl: number
  readonly mtu: number
  /** Appliance addresses with their prefix length: `169.254.6.1/29`, `fd00::1/125`. */
  readonly addresses: readonly string[]
  /** The TGW's BGP peers inside the tunnel (.2 and .3, and ::2/::3 of the /125). */
  readonly tgwPeers: readonly string[]
  readonly vrf?: string
}

/** An inside CIDR: `address/length` with the length written out (a bare address is refused, since
 * it would read as a host prefix), host bits zero. */
function parseCidr(text: string, field: string): ParsedPrefix {
  if (typeof text === 'string' && !text.includes('/')) throw new Error(`${field}: "${text}" has no prefix length (expected address/length)`)
  return parsePrefix(text, field)
}

const LINK_LOCAL = parsePrefix('169.254.0.0/16', 'internal')
const ULA_FD = parsePrefix('fd00::/8', 'internal')
/** AWS reserves these /29s (169.254.0.0/29-169.254.5.0/29 and 169.254.169.248/29). */
const FORBIDDEN_29 = new Set([0, 1, 2, 3, 4, 5].map(i => `169.254.${i}.0/29`).concat('169.254.169.248/29'))

/**
 * Deterministic link name for a Connect peer: `gsig` + 8 hex digits. For an AWS id the digits are
 * the id's own last 8 (readable next to `aws ec2 describe-transit-gateway-connect-peers`); for any
 * other id, the first 8 of its SHA-256. Linux allows 15 characters; this is 12.
 */
export function greLinkName(peerId: string): string {
  const m = /^tgw-connect-peer-[0-9a-f]{8,}$/.exec(peerId)
  const hex = m ? peerId.slice(-8) : createHash('sha256').update(peerId).digest('hex').slice(0, 8)
  return GRE_PREFIX + hex
}

export function isGreLinkName(name: string): boolean {
  return /^gsig[0-9a-f]{8}$/.test(name)
}

function intIn(v: unknown, lo: number, hi: number, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw new GreConfigError(field, `${String(v)} is not an integer in ${lo}-${hi}`)
  return v
}

/** Validates one Connect peer and derives its link. */
export function greLinkSpec(peer: ConnectPeer, index = 0): GreLinkSpec {
  const at = `connectPeers[${index}]`
  if (typeof peer.id !== 'string' || peer.id.length === 0) throw new GreConfigError(`${at}.id`, 'a non-empty Connect peer id is required')
  const f = (x: string): string => `${at} (${peer.id}).${x}`
  // The address parser names the field it is given in its message: keep that, retype the error.
  const wrap = <T>(field: string, fn: (field: string) => T): T => {
    try { return fn(field) } catch (e) {
      throw e instanceof Error ? GreConfigError.wrapping(field, e) : e
    }
  }
  const local = wrap(f('localAddress'), x => parseIpv4Address(peer.localAddress, x))
  const remote = wrap(f('remoteAddress'), x => parseIpv4Address(peer.remoteAddress, x))
  if (local === remote) throw new GreConfigError(f('remoteAddress'), `equals localAddress ${local}`)
  const inside = wrap(f('insideCidr'), x => parseCidr(peer.insideCidr, x))
  const insideText = formatPrefix(inside)
  if (inside.family !== 4 || inside.length !== 29 || !prefixContains(LINK_LOCAL, inside)) throw new GreConfigError(f('insideCidr'), `${insideText} must be a /29 inside 169.254.0.0/16`)
  if (FORBIDDEN_29.has(insideText)) throw new GreConfigError(f('insideCidr'), `${insideText} is reserved by AWS (169.254.0.0/29-169.254.5.0/29 and 169.254.169.248/29)`)
  const addresses = [`${nthAddress(inside, 1)}/29`]
  const tgwPeers = [nthAddress(inside, 2), nthAddress(inside, 3)]
  if (peer.insideCidr6 !== undefined) {
    const in6 = wrap(f('insideCidr6'), x => parseCidr(peer.insideCidr6 as string, x))
    if (in6.family !== 6 || in6.length !== 125 || !prefixContains(ULA_FD, in6)) throw new GreConfigError(f('insideCidr6'), `${formatPrefix(in6)} must be a /125 inside fd00::/8`)
    addresses.push(`${nthAddress(in6, 1)}/125`)
    tgwPeers.push(nthAddress(in6, 2), nthAddress(in6, 3))
  }
  const ttl = peer.ttl === undefined ? DEFAULT_GRE_TTL : intIn(peer.ttl, 1, 255, f('ttl'))
  const mtu = peer.mtu === undefined ? DEFAULT_GRE_MTU : intIn(peer.mtu, 1280, DEFAULT_GRE_MTU, f('mtu'))
  if (peer.vrf !== undefined && (typeof peer.vrf !== 'string' || peer.vrf.length === 0 || peer.vrf.length > 15)) throw new GreConfigError(f('vrf'), `"${String(peer.vrf)}" is not a device name (1-15 characters)`)
  const spec: GreLinkSpec = { peerId: peer.id, name: greLinkName(peer.id), local, remote, ttl, mtu, addresses, tgwPeers }
  return peer.vrf === undefined ? spec : { ...spec, vrf: peer.vrf }
}

/** Validates all peers: names, inside CIDRs and (local, remote) pairs must be unique (GRE without a
 * key is demultiplexed by its outer addresses alone). At most 4 per Connect attachment (AWS quota),
 * but a node may serve several attachments, so no limit here. */
export function greLinkSpecs(peers: readonly ConnectPeer[]): GreLinkSpec[] {
  const specs = peers.map((p, i) => greLinkSpec(p, i))
  const seen = new Map<string, number>()
  specs.forEach((s, i) => {
    for (const [what, key] of [['id', `id ${s.peerId}`], ['id', `name ${s.name}`], ['insideCidr', `inside ${s.addresses[0]}`], ['remoteAddress', `pair ${s.local} ${s.remote}`]] as const) {
      const j = seen.get(key)
      if (j !== undefined) throw new GreConfigError(`connectPeers[${i}].${what}`, `conflicts with connectPeers[${j}] (${key})`)
      seen.set(key, i)
    }
  })
  return specs
}
