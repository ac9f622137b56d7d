/**
 * The BGP peers gsi-routerd runs, derived from its configuration (pure: no I/O):
 *
 * - toward each CN2 control node, one session on the CN2 speaker: inet-vpn, inet6-vpn and
 *   route-target (RFC 4364, RFC 4659, RFC 4684), next hop self (the node address: vRouters send
 *   MPLS over UDP to it), TCP-MD5 when configured (RFC 2385);
 * - toward each Transit Gateway Connect peer, two sessions on the TGW speaker, from the inside .1 to
 *   the TGW's .2 and .3 (AWS runs two BGP peers per Connect peer for redundancy), eBGP multihop with
 *   TTL 2, IPv4 unicast and, when the Connect peer has an inside /125, IPv6 unicast over the same
 *   session (AWS carries IPv6 prefixes on the IPv4 session, MP-BGP); in the kernel data plane the
 *   sockets are bound to the gateway VRF device, where the GRE link and its inside addresses live.
 *
 * Peer names are stable and readable (`cn2-<address>`, `tgw-<connect peer id>-<address>`): they key
 * the reload diff (a peer whose derived config is unchanged is never touched) and label metrics.
 */
import { Family, type FamilyKey } from '../../bgp/codec/afi.js'
import type { PeerConfig } from '../../bgp/speaker/config.js'
import type { ConnectPeerConfig, DaemonConfig } from '../config/model.js'
import { localRoutesOnly } from '../gateway/policy.js'

/** Seconds between connection attempts: a gateway must recover its sessions quickly. */
const CONNECT_RETRY = 5

export type Side = 'cn2' | 'tgw'

/** A peer as the daemon runs it: which speaker, and for the TGW side which Connect peer. */
export interface DaemonPeer {
  readonly side: Side
  readonly config: PeerConfig & { readonly bindDevice?: string }
  /** TGW side: the Connect peer the session belongs to. */
  readonly connectPeer?: string
}

export function cn2PeerName(address: string): string {
  return `cn2-${address}`
}

export function tgwPeerName(connectPeerId: string, address: string): string {
  return `tgw-${connectPeerId}-${address}`
}

/** Control-node sessions. `md5Password` is resolved by the caller (file or Secret). */
export function controlNodePeers(c: DaemonConfig, md5Password?: string): DaemonPeer[] {
  const families: FamilyKey[] = [Family.Ipv4Vpn, Family.Ipv6Vpn, Family.RouteTarget]
  return c.controlNodes.peers.map((p) => ({
    side: 'cn2' as const,
    config: {
      name: cn2PeerName(p.address),
      address: p.address,
      port: p.port,
      asn: p.asn,
      localAddress: c.nodeAddress,
      families,
      holdTime: c.controlNodes.holdTime,
      connectRetryTime: CONNECT_RETRY,
      // vRouters must tunnel toward this node, whatever the route's origin (the TGW's routes carry
      // the TGW inside address as next hop)
      nextHopSelf: true,
      // only what the gateway re-originates goes to CN2 (the RTC memberships are ours too)
      exportPolicy: Object.fromEntries(families.map((f) => [f, localRoutesOnly])),
      ...(md5Password !== undefined ? { md5Password } : {}),
    },
  }))
}

/** The two sessions of one Connect peer (four with an IPv6 /125: AWS offers ::2 and ::3 too, but
 * IPv6 rides the IPv4 sessions, so only the IPv4 peers are used). */
export function connectPeerPeers(c: DaemonConfig, cp: ConnectPeerConfig): DaemonPeer[] {
  const v4Local = cp.localInsideAddresses[0] as string
  const v6Local = cp.localInsideAddresses.find((a) => a.includes(':'))
  const families: FamilyKey[] = v6Local !== undefined ? [Family.Ipv4Unicast, Family.Ipv6Unicast] : [Family.Ipv4Unicast]
  const bind = c.dataplane === 'kernel' ? { bindDevice: c.gatewayTable.vrf } : {}
  return cp.bgpPeerAddresses.filter((a) => !a.includes(':')).map((address) => ({
    side: 'tgw' as const,
    connectPeer: cp.id,
    config: {
      name: tgwPeerName(cp.id, address),
      address,
      asn: cp.transitGatewayAsn,
      localAddress: v4Local,
      ttl: cp.ttl,
      families,
      holdTime: c.tgw.holdTime,
      connectRetryTime: CONNECT_RETRY,
      ...(v6Local !== undefined ? { localIpv6NextHop: v6Local } : {}),
      // Only the gateway's aggregates go to the TGW: eBGP would otherwise pass one TGW session's
      // routes to the other (RFC 4271 allows it), spending the TGW's 1,000-route quota behind the
      // quota guard's back.
      exportPolicy: Object.fromEntries(families.map((f) => [f, localRoutesOnly])),
      // No MRAI toward the TGW: a pod route's change reaches the TGW at once (the gateway already
      // batches per RIB commit); the RFC's 30 s, or even 1 s, would dominate convergence.
      minimumAdvertisementInterval: 0,
      // AWS: 5,000 routes from a Connect peer; above it we warn and keep the session (the TGW would
      // not send more than its quota anyway)
      maxPrefix: Object.fromEntries(families.map((f) => [f, { limit: c.tgw.maxPrefixesReceived, warningOnly: true }])),
      ...bind,
    },
  }))
}

export function tgwPeers(c: DaemonConfig): DaemonPeer[] {
  return c.tgw.connectPeers.flatMap((cp) => connectPeerPeers(c, cp))
}

/** Every peer of the configuration, CN2 side first. */
export function daemonPeers(c: DaemonConfig, md5Password?: string): DaemonPeer[] {
  return [...controlNodePeers(c, md5Password), ...tgwPeers(c)]
}

/** Canonical text of a peer's config, to tell whether a reload changed it (key order fixed). */
export function peerSignature(p: DaemonPeer): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort)
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]))
    return v
  }
  return JSON.stringify(sort(p))
}

export interface PeerPlan {
  readonly add: DaemonPeer[]
  readonly remove: DaemonPeer[]
  /** Same name, different parameters: removed and added again (the session resets). */
  readonly change: DaemonPeer[]
  readonly unchanged: DaemonPeer[]
}

/** What a reload does to the sessions: peers whose parameters did not change are left alone. */
export function planPeers(running: readonly DaemonPeer[], wanted: readonly DaemonPeer[]): PeerPlan {
  const have = new Map(running.map((p) => [p.config.name, p]))
  const plan: PeerPlan = { add: [], remove: [], change: [], unchanged: [] }
  const seen = new Set<string>()
  for (const w of wanted) {
    seen.add(w.config.name)
    const h = have.get(w.config.name)
    if (h === undefined) plan.add.push(w)
    else if (peerSignature(h) !== peerSignature(w)) plan.change.push(w)
    else plan.unchanged.push(w)
  }
  for (const h of running) if (!seen.has(h.config.name)) plan.remove.push(h)
  return plan
}
