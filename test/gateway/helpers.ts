/**
 * Helpers for gateway tests: a speaker-shaped stand-in that records what the gateway originates and
 * lets a test emit `best` and `peer-state` events as a BgpSpeaker would, and builders of BestChange
 * events for VPN and unicast routes (one shared attribute object per route-target set, as the RIB's
 * interned sets are; one destination id per prefix, as the RIB's tables give them).
 */
import { EventEmitter } from 'node:events'
import { Family, type FamilyKey } from '../../bgp/codec/afi.js'
import type { PathAttributes } from '../../bgp/codec/attributes.js'
import { parseExtCommunity, type ExtendedCommunity } from '../../bgp/codec/ext-communities.js'
import { nlriToString, type Nlri } from '../../bgp/codec/nlri.js'
import type { BestChange, RouteAttributes, RouteEntry } from '../../bgp/rib/index.js'
import type { PeerStateEvent, SpeakerEvents } from '../../bgp/speaker/index.js'
import type { GatewayOptions } from '../../src/gateway/index.js'

/** The route target the gateway tests expose, and one they do not. */
export const RT = 'target:64512:8000001'
export const OTHER = 'target:64512:8000002'

/** Gateway options of the unit tests: two exposed IPv4 CIDRs and one IPv6, two Connect peers. */
export const BASE_OPTIONS: GatewayOptions = {
  routerId: '10.9.0.5',
  nodeAddress: '10.9.0.5',
  exposedRouteTargets: [RT],
  exposedCidrs: ['10.244.0.0/16', '10.245.0.0/16', 'fd00:244::/48'],
  table: { table: 100, label: 30 },
  connectPeers: [
    { link: 'gsig0', peers: ['169.254.6.2', '169.254.6.3'] },
    { link: 'gsig1', peers: ['169.254.6.10', '169.254.6.11'] },
  ],
}

export class PortSpeaker extends EventEmitter<SpeakerEvents> {
  readonly originated = new Map<string, { nlri: Nlri; attrs: RouteAttributes }>()
  importRouteTargets: readonly ExtendedCommunity[] = []
  sessions: { name: string; session: { state: string } }[] = []
  originations = 0
  constructor(readonly localAs: number) {
    super()
  }
  peers(): { name: string; session: { state: string } }[] {
    return this.sessions
  }
  originate(nlri: Nlri, attrs: RouteAttributes): void {
    this.originations++
    this.originated.set(nlriToString(nlri), { nlri, attrs })
  }
  withdrawOriginated(nlri: Nlri): void {
    this.originated.delete(nlriToString(nlri))
  }
  setImportRouteTargets(rts: readonly ExtendedCommunity[]): void {
    this.importRouteTargets = rts
  }
  keys(): string[] {
    return [...this.originated.keys()].sort()
  }
  best(family: FamilyKey, changes: readonly BestChange[]): void {
    this.emit('best', family, changes)
  }
  state(peer: string, from: PeerStateEvent['from'], to: PeerStateEvent['to']): void {
    this.emit('peer-state', { peer, from, to })
  }
}

const attrCache = new Map<string, PathAttributes>()
/** One attribute object per route-target list (the RIB interns sets the same way). */
export function vpnAttrs(rts: readonly string[]): PathAttributes {
  const k = rts.join(' ')
  let a = attrCache.get(k)
  if (a === undefined) {
    a = { origin: 0, asPath: [], extCommunities: [...rts.map(parseExtCommunity), parseExtCommunity('encap:udp')] }
    attrCache.set(k, a)
  }
  return a
}

/** Destination ids as a RIB gives them: one per prefix of a family, never reused for another. */
const destIds = new Map<string, number>()
export function destOf(family: FamilyKey, prefix: string): number {
  const k = `${family} ${prefix}`
  let d = destIds.get(k)
  if (d === undefined) {
    d = destIds.size
    destIds.set(k, d)
  }
  return d
}

export function entry(peer: number, peerAddress: string, nextHop: string, attrs: PathAttributes, label?: number): RouteEntry {
  return { peer, peerAddress, pathId: 0, attrId: 0, nextHop, attrs, stale: false, ...(label !== undefined ? { label } : {}) }
}

/** A VPN best change: `prefix` is RD:prefix; paths are [vRouter, label] pairs (the multipath set). */
export function vpn(prefix: string, paths: readonly (readonly [string, number])[], rts: readonly string[], kind: BestChange['kind'] = 'add', peer = 1): BestChange {
  const family = prefix.split(':').length > 3 ? Family.Ipv6Vpn : Family.Ipv4Vpn
  const dest = destOf(family, prefix)
  if (kind === 'withdraw') return { family, dest, prefix, kind, multipath: [] }
  const a = vpnAttrs(rts)
  const mp = paths.map(([nh, label]) => entry(peer, '10.0.0.1', nh, a, label))
  return { family, dest, prefix, kind, best: mp[0] as RouteEntry, multipath: mp }
}

const tgwAttrs: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [64512] }] }
/** A unicast best change from TGW sessions (peer addresses), multipath over all of them. */
export function unicast(prefix: string, peers: readonly string[], kind: BestChange['kind'] = 'add', peer = 1): BestChange {
  const family = prefix.includes(':') ? Family.Ipv6Unicast : Family.Ipv4Unicast
  const dest = destOf(family, prefix)
  if (kind === 'withdraw') return { family, dest, prefix, kind, multipath: [] }
  const mp = peers.map((p, i) => entry(peer + i, p, p, tgwAttrs))
  return { family, dest, prefix, kind, best: mp[0] as RouteEntry, multipath: mp }
}
