/**
 * The two ingest scenarios of docs/benchmarks.md and issue 3 (bench/ingest.bench.ts): 1,000,000 IPv4
 * unicast routes and 500,000 VPN-IPv4 routes (RFC 4364: RD, one label, route target, and the RFC 9012
 * encapsulation extended community, tunnel type 13 = MPLS over UDP), encoded once by the injector
 * as packed UPDATEs (bgp/codec/bulk.ts encodeUpdatesBulk, at most 4,096 bytes each) with a new
 * attribute set every 1,000 prefixes (different MED, community, AS_PATH and, for VPN, route target).
 *
 * Every prefix is distinct (so the count a RIB reports must equal the count sent):
 * - IPv4: /24s from 11.0.0.0 upwards (1,000,000 of them end in 26.65.x.0), none covering the
 *   injector's next hop 198.18.0.1;
 * - VPN-IPv4: three in four are /32s from 10.0.0.0, one in four a /24 from 20.0.0.0, with RDs
 *   64512:1..100 (type 0); labels 16 and up, one per attribute set by default (BIRD keeps the label
 *   in its shared route attributes, so a label per route costs it an attribute block per route:
 *   `labels: 'per-route'` measures that case).
 */
import { Family, type FamilyKey } from '../../bgp/codec/afi.js'
import { encodeAttributes, type PathAttributes } from '../../bgp/codec/attributes.js'
import { encodeUpdatesBulk, type RouteBatch } from '../../bgp/codec/bulk.js'
import { defaultContext, type CodecContext } from '../../bgp/codec/context.js'
import { encapsulation, routeTarget } from '../../bgp/codec/ext-communities.js'
import { parseIpv4 } from '../../src/lib/address.js'

export type ScenarioName = 'ipv4' | 'vpnv4'

/** Addresses and ASes of the two ends (inside the benchmark's own namespaces only). */
export const INJECTOR_ADDRESS = '198.18.0.1'
export const RECEIVER_ADDRESS = '198.18.0.2'
export const INJECTOR_AS = 64512
export const RECEIVER_AS = 64600
/** Prefixes per attribute set (docs/benchmarks.md). */
export const PER_SET = 1000

/** VPN labels: one per attribute set (the routes of a set share their label), or one per route. */
export type LabelMode = 'per-set' | 'per-route'

export interface Scenario {
  readonly name: ScenarioName
  readonly family: FamilyKey
  readonly routes: number
  readonly label: string
  readonly labels: LabelMode
}

export function scenario(name: ScenarioName, routes: number, labels: LabelMode = 'per-set'): Scenario {
  if (!Number.isInteger(routes) || routes < 1 || routes > 2_000_000) throw new RangeError(`routes ${routes}: must be an integer 1..2000000`)
  if (labels !== 'per-set' && labels !== 'per-route') throw new RangeError(`labels ${JSON.stringify(labels)}: must be per-set or per-route`)
  if (name === 'ipv4') return { name, family: Family.Ipv4Unicast, routes, label: `${routes.toLocaleString('en-US')} IPv4 unicast`, labels }
  if (name === 'vpnv4') {
    const l = `${routes.toLocaleString('en-US')} VPNv4 (RD, label, RT, encapsulation)${labels === 'per-route' ? ', a label per route' : ''}`
    return { name, family: Family.Ipv4Vpn, routes, label: l, labels }
  }
  throw new RangeError(`scenario ${JSON.stringify(name)}: must be ipv4 or vpnv4`)
}

/** The codec context of the injector's session: 4-octet AS, 4,096-byte messages, the one family. */
export function injectorContext(s: Scenario): CodecContext {
  return defaultContext({ as4: true, ebgp: true, maxMessageLength: 4096, families: new Set([s.family]) })
}

function attrsFor(set: number, vpn: boolean): PathAttributes {
  const base: PathAttributes = {
    origin: 0,
    // eBGP: the first AS is the injector's (FRR and GoBGP enforce it); none is the receiver's.
    asPath: [{ type: 2, asns: [INJECTOR_AS, 65000 + (set % 500), 4200000000 + set] }],
    med: set,
    communities: [((INJECTOR_AS << 16) | (set & 0xffff)) >>> 0],
  }
  if (vpn) return { ...base, extCommunities: [routeTarget(INJECTOR_AS, 1 + (set % 50)), encapsulation(13)] }
  return { ...base, nextHop: parseIpv4(INJECTOR_ADDRESS) }
}

export function routeBatch(s: Scenario): RouteBatch {
  const n = s.routes
  const addr = new Uint32Array(n)
  const length = new Uint8Array(n)
  if (s.name === 'ipv4') {
    for (let i = 0; i < n; i++) {
      addr[i] = (0x0b000000 + i * 256) >>> 0
      length[i] = 24
    }
    return { family: s.family, count: n, addr, length }
  }
  const rd = new Uint32Array(2 * n)
  const label = new Uint32Array(n)
  for (let i = 0; i < n; i++) {
    const wide = i % 4 === 0
    length[i] = wide ? 24 : 32
    addr[i] = wide ? (0x14000000 + i * 256) >>> 0 : (0x0a000000 + i) >>> 0
    rd[2 * i] = INJECTOR_AS // type 0 (2 bytes) and administrator 64512 (2 bytes)
    rd[2 * i + 1] = 1 + (i % 100)
    label[i] = 16 + (s.labels === 'per-route' ? i % 100000 : Math.floor(i / PER_SET))
  }
  return { family: s.family, count: n, addr, length, rd, label }
}

export interface Stream {
  /** Every UPDATE back to back. */
  readonly bytes: Uint8Array
  readonly messages: number
  readonly attributeSets: number
}

/** Encodes the scenario's routes as packed UPDATEs (one slab, written with one socket write). */
export function encodeStream(s: Scenario): Stream {
  const ctx = injectorContext(s)
  const batch = routeBatch(s)
  const vpn = s.name === 'vpnv4'
  const nextHop = vpn ? Uint8Array.from(INJECTOR_ADDRESS.split('.').map(Number)) : null
  const parts: Uint8Array[] = []
  let sets = 0
  for (let from = 0; from < batch.count; from += PER_SET, sets++) {
    encodeUpdatesBulk(ctx, batch, encodeAttributes(attrsFor(sets, vpn), ctx), nextHop, parts, from, Math.min(batch.count, from + PER_SET))
  }
  let total = 0
  for (const p of parts) total += p.length
  const bytes = new Uint8Array(total)
  let o = 0
  for (const p of parts) {
    bytes.set(p, o)
    o += p.length
  }
  return { bytes, messages: parts.length, attributeSets: sets }
}
