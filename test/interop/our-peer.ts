/**
 * Our side of an interop test: one bgp/session Session to a real daemon, with a small Adj-RIB-Out
 * and Adj-RIB-In of its own so the tests can announce, withdraw and look at what arrived by prefix.
 *
 * - Routes to send are plain data (`TestRoute`); each becomes one UPDATE built by our codec
 *   (IPv4 unicast in the RFC 4271 NLRI field with NEXT_HOP, every other family in MP_REACH_NLRI,
 *   RFC 4760; VPN routes with RD and label, RFC 4364/4659; RTC routes, RFC 4684).
 * - Adj-RIB-Out is kept per route key: it is (re)sent when the session comes up and answered from
 *   when the peer sends a ROUTE-REFRESH for its family (RFC 2918 3), followed by End-of-RIB.
 * - What the peer sends is decoded (no updateSink: the session decodes and emits `update`) and kept
 *   in `received` by route key; withdrawals (withdrawn routes, MP_UNREACH_NLRI) delete.
 *
 * The speaker of bgp/speaker does the same for the daemon; this driver exists so the interop suite
 * checks the session and the codec against the daemons on its own (see the README's interop matrix).
 */
import { BgpListener, Session, type SessionConfig } from '../../bgp/session/index.js'
import {
  Family,
  encodeMessage,
  labelEntry,
  labelValue,
  nlriToString,
  parseExtCommunity,
  parseRd,
  rdToString,
  type ExtendedCommunity,
  type FamilyKey,
  type Nlri,
  type PathAttributes,
  type UpdateMessage,
} from '../../bgp/codec/index.js'
import { ipBytes, ipText, ipv4Number, ipv4Text, parsePrefix, prefixText } from './ip-text.js'

export type TestFamily = 'ipv4' | 'ipv6' | 'vpnv4' | 'vpnv6' | 'rtc'

export const FAMILY: Record<TestFamily, FamilyKey> = {
  ipv4: Family.Ipv4Unicast,
  ipv6: Family.Ipv6Unicast,
  vpnv4: Family.Ipv4Vpn,
  vpnv6: Family.Ipv6Vpn,
  rtc: Family.RouteTarget,
}
const familyOfKey = new Map<FamilyKey, TestFamily>(Object.entries(FAMILY).map(([k, v]) => [v, k as TestFamily]))

/** A route as the tests write it. */
export interface TestRoute {
  readonly family: TestFamily
  /** '10.1.0.0/24', '2001:db8:1::/48'; for RTC the route target ('rt:65001:7'). */
  readonly prefix: string
  readonly nextHop: string
  /** VPN families: '65001:7'. */
  readonly rd?: string
  /** VPN families: the label value (20 bits). */
  readonly label?: number
  /** parseExtCommunity forms: 'rt:65001:7', 'rt:4200000001:9', 'rt:10.0.0.1:5', 'encap:udp'. */
  readonly extCommunities?: readonly string[]
  /** 'ASN:VALUE'. */
  readonly communities?: readonly string[]
  readonly med?: number
  readonly localPref?: number
  /** AS_PATH as sent (default: our AS on eBGP, empty on iBGP). */
  readonly asPath?: readonly number[]
  /** 0 IGP (default), 1 EGP, 2 INCOMPLETE. */
  readonly origin?: number
}

/** A route as it arrived from the peer. */
export interface ReceivedRoute {
  readonly family: TestFamily
  readonly prefix: string
  readonly rd?: string
  readonly label?: number
  readonly nextHop: string
  readonly attrs: PathAttributes
}

/** The key both maps use: 'vpnv4 65001:7:172.16.5.0/24', 'ipv4 10.1.0.0/24'. */
export function routeKey(family: TestFamily, prefix: string, rd?: string): string {
  return `${family} ${rd !== undefined ? `${rd}:` : ''}${prefix}`
}

function rtcNlri(rt: string, originAs: number): Nlri {
  const c = parseExtCommunity(rt)
  if (c.kind !== 'route-target') throw new RangeError(`RTC route "${rt}": not a route target`)
  const b = new Uint8Array(12)
  const v = new DataView(b.buffer)
  v.setUint32(0, originAs)
  const form = c.form
  b[4] = form === 'as2' ? 0x00 : form === 'ipv4' ? 0x01 : 0x02
  b[5] = 0x02
  if (form === 'as2') {
    v.setUint16(6, c.admin)
    v.setUint32(8, c.assigned)
  } else {
    v.setUint32(6, c.admin)
    v.setUint16(10, c.assigned)
  }
  return { family: Family.RouteTarget, prefix: b, length: 96 }
}

export interface OurPeerOptions {
  /** Send an End-of-RIB for each family after the initial announcement (default true). */
  endOfRib?: boolean
}

export class OurPeer {
  readonly session: Session
  readonly out = new Map<string, TestRoute>()
  readonly received = new Map<string, ReceivedRoute>()
  /** ROUTE-REFRESH messages the peer sent, by family name. */
  readonly refreshesReceived: TestFamily[] = []
  readonly endOfRib = new Set<TestFamily>()
  /** UPDATE messages decoded from the peer (each counts once). */
  updates = 0
  private readonly sendEor: boolean

  constructor(config: SessionConfig, listener?: BgpListener, opts: OurPeerOptions = {}) {
    this.sendEor = opts.endOfRib ?? true
    this.session = new Session(config, listener ? { listener } : {})
    this.session.on('update', (u) => this.onUpdate(u))
    this.session.on('end-of-rib', (f) => {
      const name = familyOfKey.get(f)
      if (name) this.endOfRib.add(name)
    })
    this.session.on('route-refresh', (m) => {
      const name = familyOfKey.get((m.afi << 8) | m.safi)
      if (!name) return
      this.refreshesReceived.push(name)
      // RFC 2918 3: re-advertise the Adj-RIB-Out of that family.
      this.sendFamily(name)
    })
    this.session.on('established', () => {
      this.received.clear()
      this.endOfRib.clear()
      for (const f of this.families()) this.sendFamily(f)
    })
  }

  private families(): TestFamily[] {
    return this.session.config.families.map((k) => familyOfKey.get(k)).filter((f): f is TestFamily => f !== undefined)
  }

  private sendFamily(f: TestFamily): void {
    if (this.session.state !== 'Established') return
    for (const r of this.out.values()) if (r.family === f) this.session.sendUpdate(this.encode(r, false))
    if (this.sendEor) this.session.sendEndOfRib(FAMILY[f])
  }

  start(): void {
    this.session.start()
  }

  /** Adds the routes to Adj-RIB-Out and sends them now if Established. */
  announce(routes: readonly TestRoute[]): void {
    for (const r of routes) {
      this.out.set(routeKey(r.family, r.prefix, r.rd), r)
      if (this.session.state === 'Established') this.session.sendUpdate(this.encode(r, false))
    }
  }

  withdraw(routes: readonly TestRoute[]): void {
    for (const r of routes) {
      this.out.delete(routeKey(r.family, r.prefix, r.rd))
      if (this.session.state === 'Established') this.session.sendUpdate(this.encode(r, true))
    }
  }

  /** Asks the peer to re-send a family (RFC 2918). False when the peer lacks the capability. */
  refresh(f: TestFamily): boolean {
    return this.session.sendRouteRefresh(FAMILY[f])
  }

  private nlriOf(r: TestRoute): Nlri {
    const family = FAMILY[r.family]
    if (r.family === 'rtc') return rtcNlri(r.prefix, this.session.config.localAs)
    const { bytes, length } = parsePrefix(r.prefix)
    if (r.family === 'vpnv4' || r.family === 'vpnv6') {
      if (r.rd === undefined || r.label === undefined) throw new RangeError(`route ${r.prefix}: VPN routes need rd and label`)
      return { family, prefix: bytes, length, labels: [labelEntry(r.label)], rd: parseRd(r.rd) }
    }
    return { family, prefix: bytes, length }
  }

  /** One UPDATE announcing or withdrawing `r`, encoded with the session's negotiated context. */
  encode(r: TestRoute, withdraw: boolean): Uint8Array {
    const ctx = this.session.negotiated?.context
    if (!ctx) throw new Error('encode: session not established')
    const nlri = this.nlriOf(r)
    const family = FAMILY[r.family]
    if (withdraw) {
      const msg: UpdateMessage =
        r.family === 'ipv4'
          ? { type: 'update', withdrawn: [nlri], attributes: {}, nlri: [] }
          : { type: 'update', withdrawn: [], attributes: {}, nlri: [], mpUnreach: { family, nlri: [nlri] } }
      return encodeMessage(msg, ctx)
    }
    const ebgp = this.session.config.peerAs !== this.session.config.localAs
    const ext: ExtendedCommunity[] = (r.extCommunities ?? []).map(parseExtCommunity)
    const attributes: PathAttributes = {
      origin: r.origin ?? 0,
      asPath: (r.asPath ?? (ebgp ? [this.session.config.localAs] : [])).length > 0 ? [{ type: 2, asns: [...(r.asPath ?? [this.session.config.localAs])] }] : [],
      ...(r.med !== undefined ? { med: r.med } : {}),
      ...(!ebgp ? { localPref: r.localPref ?? 100 } : {}),
      ...(r.communities?.length ? { communities: r.communities.map((c) => c.split(':').map(Number)).map(([a = 0, b = 0]) => ((a << 16) | b) >>> 0) } : {}),
      ...(ext.length ? { extCommunities: ext } : {}),
      ...(r.family === 'ipv4' ? { nextHop: ipv4Number(r.nextHop) } : {}),
    }
    const msg: UpdateMessage =
      r.family === 'ipv4'
        ? { type: 'update', withdrawn: [], attributes, nlri: [nlri] }
        : { type: 'update', withdrawn: [], attributes, nlri: [], mpReach: { family, nextHop: [ipBytes(r.nextHop)], nlri: [nlri] } }
    return encodeMessage(msg, ctx)
  }

  private onUpdate(u: UpdateMessage): void {
    this.updates++
    const del = (n: Nlri): void => {
      const r = describe(n)
      if (r) this.received.delete(routeKey(r.family, r.prefix, r.rd))
    }
    u.withdrawn.forEach(del)
    u.mpUnreach?.nlri.forEach(del)
    const add = (n: Nlri, nextHop: string): void => {
      const r = describe(n)
      if (!r) return
      this.received.set(routeKey(r.family, r.prefix, r.rd), { ...r, nextHop, attrs: u.attributes })
    }
    for (const n of u.nlri) add(n, u.attributes.nextHop !== undefined ? ipv4Text(u.attributes.nextHop) : '')
    if (u.mpReach) {
      const nh = u.mpReach.nextHop[0]
      for (const n of u.mpReach.nlri) add(n, nh ? ipText(nh.length === 12 || nh.length === 24 ? nh.subarray(8, nh.length === 12 ? 12 : 24) : nh.subarray(0, nh.length === 32 ? 16 : nh.length)) : '')
    }
  }

  /** A received route by family and prefix (and RD), or undefined. */
  get(family: TestFamily, prefix: string, rd?: string): ReceivedRoute | undefined {
    return this.received.get(routeKey(family, prefix, rd))
  }

  stop(message?: string): Promise<void> {
    return this.session.stop(message)
  }

  destroy(): Promise<void> {
    return this.session.destroy()
  }
}

function describe(n: Nlri): { family: TestFamily; prefix: string; rd?: string; label?: number } | undefined {
  const family = familyOfKey.get(n.family)
  if (!family) return undefined
  if (family === 'rtc') return { family, prefix: nlriToString(n) }
  const prefix = prefixText(n.prefix, n.length, family === 'ipv4' || family === 'vpnv4' ? 4 : 16)
  return {
    family,
    prefix,
    ...(n.rd !== undefined ? { rd: rdToString(n.rd) } : {}),
    ...(n.labels?.[0] !== undefined ? { label: labelValue(n.labels[0]) } : {}),
  }
}

/** Route targets and the encapsulation tunnel type of a received route, as text ('rt:65001:7', 'encap:13'). */
export function extTexts(r: ReceivedRoute): string[] {
  return (r.attrs.extCommunities ?? []).map((c) => {
    if (c.kind === 'route-target') return `rt:${c.form === 'ipv4' ? ipv4Text(c.admin) : c.admin}:${c.assigned}`
    if (c.kind === 'encapsulation') return `encap:${c.tunnelType}`
    return c.kind
  })
}

