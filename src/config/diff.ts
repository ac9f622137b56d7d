/**
 * What changed between two validated configs, at the granularity the daemon runtime needs to apply
 * only the difference on reload (SIGHUP, a ConnectedPeer update) without resetting sessions whose
 * parameters did not change.
 *
 * A BGP session must be reset when something it negotiated in its OPEN changes (RFC 4271 4.2: AS,
 * hold time, BGP identifier; RFC 4724: the graceful restart capability) or its transport does
 * (address, port, TCP-MD5 key, TTL). Everything else is policy and is re-evaluated in place: exposed
 * route targets (an RTC membership update, RFC 4684, and re-import), exposed CIDRs (re-aggregation),
 * the TGW quota guard, the route distinguisher or label of routes sent to CN2 (re-advertisement).
 * A Connect peer change may touch only its GRE link (TGW GRE address, MTU), only its sessions (ASNs,
 * TTL), or both (inside CIDRs: the link's address and the sessions' peers move together).
 *
 * Pure: both configs are `DaemonConfig`s from load.ts, whose defaults are filled in, so a field
 * written out explicitly with its default value is no change.
 */
import type { ConnectPeerConfig, ControlNodePeerConfig, DaemonConfig } from './model.js'

export interface ControlNodeChange {
  readonly address: string
  readonly old: ControlNodePeerConfig
  readonly new: ControlNodePeerConfig
  /** Field paths that changed, e.g. `asn`, `controlNodes.holdTime`. */
  readonly fields: readonly string[]
  /** True when the session must be torn down and re-established. */
  readonly reset: boolean
}

export interface ConnectPeerChange {
  readonly id: string
  readonly old: ConnectPeerConfig
  readonly new: ConnectPeerConfig
  readonly fields: readonly string[]
  /** The GRE link must be changed (remote address, MTU, inside addresses). */
  readonly gre: boolean
  /** Its BGP sessions (to .2 and .3) must be reset. */
  readonly resetSessions: boolean
}

export interface ListDelta<T> {
  readonly added: readonly T[]
  readonly removed: readonly T[]
}

export interface ConfigDiff {
  /** Nothing to do. */
  readonly empty: boolean
  /** Fields the running daemon cannot change; it keeps running on the old values and says so. */
  readonly restartRequired: readonly string[]
  readonly controlNodes: {
    readonly added: readonly ControlNodePeerConfig[]
    readonly removed: readonly ControlNodePeerConfig[]
    readonly changed: readonly ControlNodeChange[]
  }
  readonly connectPeers: {
    readonly added: readonly ConnectPeerConfig[]
    readonly removed: readonly ConnectPeerConfig[]
    readonly changed: readonly ConnectPeerChange[]
  }
  /** Exposed VNs changed: re-import, RTC membership update, re-aggregation; no session reset. */
  readonly exposed?: { readonly routeTargets: ListDelta<string>; readonly cidrs: ListDelta<string> }
  /** Changed fields of policy that is re-evaluated in place (no reset): `advertiseMoreSpecifics`,
   * `tgw.maxPrefixesAdvertised`, `tgw.maxPrefixesReceived`, `routeDistinguisherIndex`. */
  readonly policy: readonly string[]
  /** Changed `gatewayTable.*` fields: VRF/table/label move; routes to CN2 re-advertised with the new label. */
  readonly gatewayTable: readonly string[]
  /** Changed `gracefulRestart.*` timers: used from the next session or restart, nothing reset. */
  readonly gracefulRestart: readonly string[]
  /** Changed `listen.*`: the BGP listener is re-bound (established sessions stay). */
  readonly listen: readonly string[]
  /** Changed `http.*`: the metrics/health server is re-bound. */
  readonly http: readonly string[]
  /** `api.socket` changed: the local API moves. */
  readonly api: boolean
  /** `log.level` changed: applied at once. */
  readonly log: boolean
  readonly shutdownPolicy: boolean
  /** Changed `probes.*` fields: the probes follow at once (targets kept keep their counts). */
  readonly probes: readonly string[]
  /** One line per change, for the reload log line and `gsictl show config`. */
  readonly summary: readonly string[]
}

export interface DiffOptions {
  /** The TCP-MD5 key's value changed (the model holds where it comes from, not the secret itself). */
  readonly md5KeyChanged?: boolean
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

/** Keys of `a` and `b` (plain objects) whose values differ, prefixed. */
function changedFields(prefix: string, a: object, b: object, keys?: readonly string[]): string[] {
  const ra = a as Record<string, unknown>
  const rb = b as Record<string, unknown>
  const all = keys ?? [...new Set([...Object.keys(ra), ...Object.keys(rb)])]
  return all.filter(k => !same(ra[k], rb[k])).map(k => prefix + k)
}

function listDelta<T>(a: readonly T[], b: readonly T[]): ListDelta<T> {
  return { added: b.filter(x => !a.includes(x)), removed: a.filter(x => !b.includes(x)) }
}

/** Connect peer fields that live on the GRE link, and those that live in its BGP sessions. */
const GRE_FIELDS = new Set(['transitGatewayAddress', 'mtu', 'insideCidrBlocks', 'localInsideAddresses'])
const BGP_FIELDS = new Set(['insideCidrBlocks', 'localInsideAddresses', 'bgpPeerAddresses', 'transitGatewayAsn', 'peerAsn', 'ttl'])

export function diffConfig(old: DaemonConfig, next: DaemonConfig, opts: DiffOptions = {}): ConfigDiff {
  const summary: string[] = []
  // The node's identity: GRE and MPLSoUDP sources, next hop toward CN2, BGP identifier of every
  // session, and whether the kernel is programmed at all. These change with a new node, not a reload.
  const restartRequired = changedFields('', old, next, ['nodeAddress', 'routerId', 'dataplane'])
  for (const f of restartRequired) summary.push(`${f}: ${String((old as unknown as Record<string, unknown>)[f])} -> ${String((next as unknown as Record<string, unknown>)[f])} (needs a restart; not applied)`)

  // ---- control nodes: keyed by address; side-wide session parameters reset every kept session
  const cnSide = changedFields('controlNodes.', old.controlNodes, next.controlNodes, ['localAsn', 'md5', 'holdTime', 'gracefulRestart'])
  if (opts.md5KeyChanged && !cnSide.includes('controlNodes.md5')) cnSide.push('controlNodes.md5')
  const oldCn = new Map(old.controlNodes.peers.map(p => [p.address, p]))
  const newCn = new Map(next.controlNodes.peers.map(p => [p.address, p]))
  const cnAdded = next.controlNodes.peers.filter(p => !oldCn.has(p.address))
  const cnRemoved = old.controlNodes.peers.filter(p => !newCn.has(p.address))
  const cnChanged: ControlNodeChange[] = []
  for (const p of next.controlNodes.peers) {
    const o = oldCn.get(p.address)
    if (!o) continue
    const fields = [...changedFields('', o, p, ['asn', 'port']), ...cnSide]
    // Every control-node field is part of the session (AS and port of the peer, OPEN parameters, MD5).
    if (fields.length > 0) cnChanged.push({ address: p.address, old: o, new: p, fields, reset: true })
  }
  for (const p of cnAdded) summary.push(`control node ${p.address} (AS ${p.asn}) added`)
  for (const p of cnRemoved) summary.push(`control node ${p.address} removed`)
  for (const c of cnChanged) summary.push(`control node ${c.address}: ${c.fields.join(', ')} changed (session reset)`)

  // ---- Connect peers: keyed by id
  const tgwSide = changedFields('tgw.', old.tgw, next.tgw, ['holdTime', 'gracefulRestart'])
  const oldCp = new Map(old.tgw.connectPeers.map(p => [p.id, p]))
  const newCp = new Map(next.tgw.connectPeers.map(p => [p.id, p]))
  const cpAdded = next.tgw.connectPeers.filter(p => !oldCp.has(p.id))
  const cpRemoved = old.tgw.connectPeers.filter(p => !newCp.has(p.id))
  const cpChanged: ConnectPeerChange[] = []
  for (const p of next.tgw.connectPeers) {
    const o = oldCp.get(p.id)
    if (!o) continue
    const own = changedFields('', o, p)
    const fields = [...own, ...tgwSide]
    if (fields.length === 0) continue
    const gre = own.some(f => GRE_FIELDS.has(f))
    const resetSessions = tgwSide.length > 0 || own.some(f => BGP_FIELDS.has(f))
    cpChanged.push({ id: p.id, old: o, new: p, fields, gre, resetSessions })
  }
  for (const p of cpAdded) summary.push(`Connect peer ${p.id} (${p.insideCidrBlocks.join(', ')}) added`)
  for (const p of cpRemoved) summary.push(`Connect peer ${p.id} removed`)
  for (const c of cpChanged) {
    const what = c.gre && c.resetSessions ? 'GRE link and sessions' : c.gre ? 'GRE link only, sessions kept' : c.resetSessions ? 'sessions reset' : 'no reset'
    summary.push(`Connect peer ${c.id}: ${c.fields.join(', ')} changed (${what})`)
  }

  // ---- exposed VNs and policy: re-evaluated in place
  let exposed: ConfigDiff['exposed']
  const rt = listDelta(old.exposed.routeTargets, next.exposed.routeTargets)
  const cidrs = listDelta(old.exposed.cidrs, next.exposed.cidrs)
  if (rt.added.length + rt.removed.length + cidrs.added.length + cidrs.removed.length > 0) {
    exposed = { routeTargets: rt, cidrs }
    const parts = [
      ...rt.added.map(x => `+${x}`), ...rt.removed.map(x => `-${x}`),
      ...cidrs.added.map(x => `+${x}`), ...cidrs.removed.map(x => `-${x}`),
    ]
    summary.push(`exposed: ${parts.join(' ')} (re-evaluated, no reset)`)
  }
  const policy = [
    ...changedFields('', old, next, ['advertiseMoreSpecifics', 'routeDistinguisherIndex']),
    ...changedFields('tgw.', old.tgw, next.tgw, ['maxPrefixesAdvertised', 'maxPrefixesReceived']),
  ]
  if (policy.length > 0) summary.push(`${policy.join(', ')} changed (re-evaluated, no reset)`)
  const gatewayTable = changedFields('gatewayTable.', old.gatewayTable, next.gatewayTable, ['table', 'label', 'labelRange', 'vrf'])
  if (gatewayTable.length > 0) summary.push(`${gatewayTable.join(', ')} changed (gateway table moved, routes re-advertised)`)
  const gracefulRestart = changedFields('gracefulRestart.', old.gracefulRestart, next.gracefulRestart)
  if (gracefulRestart.length > 0) summary.push(`${gracefulRestart.join(', ')} changed (used from the next session)`)
  const listen = changedFields('listen.', old.listen, next.listen, ['address', 'port'])
  const http = changedFields('http.', old.http, next.http, ['address', 'port'])
  const api = old.api.socket !== next.api.socket
  const log = old.log.level !== next.log.level
  const shutdownPolicy = old.shutdownPolicy !== next.shutdownPolicy
  for (const f of [...listen, ...http, ...(api ? ['api.socket'] : []), ...(log ? ['log.level'] : []), ...(shutdownPolicy ? ['shutdownPolicy'] : [])]) summary.push(`${f} changed`)
  const probes = changedFields('probes.', old.probes, next.probes)
  if (probes.length > 0) summary.push(`${probes.join(', ')} changed (probes follow at once)`)

  return {
    empty: summary.length === 0,
    restartRequired,
    controlNodes: { added: cnAdded, removed: cnRemoved, changed: cnChanged },
    connectPeers: { added: cpAdded, removed: cpRemoved, changed: cpChanged },
    ...(exposed ? { exposed } : {}),
    policy, gatewayTable, gracefulRestart, listen, http, api, log, shutdownPolicy, probes,
    summary,
  }
}
