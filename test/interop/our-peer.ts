/**
 * Our side of a route interop test: a BgpSpeaker (bgp/speaker) with one peer, the real daemon.
 * Routes are plain data (`TestRoute`): `announce` originates them in the speaker's RIB
 * (speaker.originate), so they leave through the speaker's Adj-RIB-Out and packed UPDATEs (RFC 4271
 * 9.2, RFC 4760 MP_REACH for every family but IPv4 unicast, RFC 4364/4659 RD and label, RFC 4684
 * RTC memberships); what the daemon sends is read back from the RIB (Loc-RIB best path per prefix).
 * Route refresh both ways (RFC 2918) goes through the speaker too: `refresh` asks the daemon, and a
 * daemon's ROUTE-REFRESH is answered by the speaker from its Adj-RIB-Out.
 */
import { BgpListener, type Session } from '../../bgp/session/index.js'
import { BgpSpeaker, type PeerConfig, type PeerStats } from '../../bgp/speaker/index.js'
import {
  Family,
  labelEntry,
  parseExtCommunity,
  parseRd,
  type ExtendedCommunity,
  type FamilyKey,
  type Nlri,
  type PathAttributes,
} from '../../bgp/codec/index.js'
import type { RouteEntry } from '../../bgp/rib/api.js'
import { ipv4Text, parsePrefix } from './ip-text.js'
import { waitFor } from '../session/helpers.js'
import type { Test } from 'tap'

export type TestFamily = 'ipv4' | 'ipv6' | 'vpnv4' | 'vpnv6' | 'rtc'

export const FAMILY: Record<TestFamily, FamilyKey> = {
  ipv4: Family.Ipv4Unicast,
  ipv6: Family.Ipv6Unicast,
  vpnv4: Family.Ipv4Vpn,
  vpnv6: Family.Ipv6Vpn,
  rtc: Family.RouteTarget,
}

/** A route as the tests write it. */
export interface TestRoute {
  readonly family: TestFamily
  /** '10.1.0.0/24', '2001:db8:1::/48'. */
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
  /** AS_PATH of the route before our AS is prepended (eBGP). */
  readonly asPath?: readonly number[]
  /** 0 IGP (default), 1 EGP, 2 INCOMPLETE. */
  readonly origin?: number
}

/** A route the speaker learned, as the tests look at it. */
export interface LearnedRoute {
  readonly nextHop: string
  readonly label?: number
  readonly attrs: PathAttributes
  readonly peerAddress: string
}

export function nlriOf(r: TestRoute): Nlri {
  const family = FAMILY[r.family]
  const { bytes, length } = parsePrefix(r.prefix)
  if (r.family === 'vpnv4' || r.family === 'vpnv6') {
    if (r.rd === undefined || r.label === undefined) throw new RangeError(`route ${r.prefix}: VPN routes need rd and label`)
    return { family, prefix: bytes, length, labels: [labelEntry(r.label)], rd: parseRd(r.rd) }
  }
  return { family, prefix: bytes, length }
}

function attributesOf(r: TestRoute): PathAttributes {
  const ext: ExtendedCommunity[] = (r.extCommunities ?? []).map(parseExtCommunity)
  return {
    origin: r.origin ?? 0,
    asPath: r.asPath?.length ? [{ type: 2, asns: [...r.asPath] }] : [],
    ...(r.med !== undefined ? { med: r.med } : {}),
    ...(r.localPref !== undefined ? { localPref: r.localPref } : {}),
    ...(r.communities?.length ? { communities: r.communities.map((c) => c.split(':').map(Number)).map(([a = 0, b = 0]) => ((a << 16) | b) >>> 0) } : {}),
    ...(ext.length ? { extCommunities: ext } : {}),
  }
}

/** Route targets and encapsulation of an attribute set as text ('rt:65001:7', 'encap:13'). */
export function extTexts(attrs: PathAttributes): string[] {
  return (attrs.extCommunities ?? []).map((c) => {
    if (c.kind === 'route-target') return `rt:${c.form === 'ipv4' ? ipv4Text(c.admin) : c.admin}:${c.assigned}`
    if (c.kind === 'encapsulation') return `encap:${c.tunnelType}`
    return c.kind
  })
}

export interface OurSideOptions {
  localAs: number
  routerId: string
  /** The daemon. */
  peer: Omit<PeerConfig, 'name'>
  /** Listen on peer.localAddress:port for a daemon that connects (both active). */
  listenPort?: number
  /** Route targets we import (RTC memberships, RFC 4684). */
  importRouteTargets?: readonly string[]
}

export class OurSide {
  readonly speaker: BgpSpeaker
  private readonly listener: BgpListener | undefined

  constructor(o: OurSideOptions) {
    if (o.listenPort !== undefined) this.listener = new BgpListener({ ...(o.peer.localAddress !== undefined ? { host: o.peer.localAddress } : {}), port: o.listenPort })
    this.speaker = new BgpSpeaker({
      localAs: o.localAs,
      routerId: o.routerId,
      ...(this.listener ? { listen: this.listener } : {}),
      ...(o.importRouteTargets ? { importRouteTargets: o.importRouteTargets.map(parseExtCommunity) } : {}),
    })
    this.speaker.addPeer({ connectRetryTime: 1, idleHoldTime: 0.5, minimumAdvertisementInterval: 0, ...o.peer, name: 'daemon' })
  }

  async start(): Promise<void> {
    if (this.listener) await this.listener.listen()
    await this.speaker.start()
  }

  get session(): Session {
    return this.speaker.session('daemon')
  }

  stats(): PeerStats {
    return this.speaker.peerStats('daemon')
  }

  announce(routes: readonly TestRoute[]): void {
    for (const r of routes) this.speaker.originate(nlriOf(r), { attrs: attributesOf(r), nextHop: r.nextHop })
  }

  withdraw(routes: readonly TestRoute[]): void {
    for (const r of routes) this.speaker.withdrawOriginated(nlriOf(r))
  }

  /** Asks the daemon to re-send a family (ROUTE-REFRESH). */
  refresh(f: TestFamily): boolean {
    return this.speaker.refreshInbound('daemon', FAMILY[f])
  }

  /** The best path the speaker holds for a prefix ('10.1.0.0/24', VPN: rd given), learned from the daemon. */
  get(family: TestFamily, prefix: string, rd?: string): LearnedRoute | undefined {
    const t = this.speaker.rib.table(FAMILY[family])
    const d = t.lookup(rd !== undefined ? `${rd}:${prefix}` : prefix)
    if (d < 0) return undefined
    const e: RouteEntry | undefined = t.best(d)
    if (e === undefined || e.peer === 0) return undefined
    return { nextHop: e.nextHop, attrs: e.attrs, peerAddress: e.peerAddress, ...(e.label !== undefined ? { label: e.label } : {}) }
  }

  /** Prefixes (text) learned from the daemon in a family. */
  learned(family: TestFamily): string[] {
    const out: string[] = []
    const t = this.speaker.rib.table(FAMILY[family])
    t.forEachBest((d) => {
      if (t.bestPeer(d) !== 0) out.push(t.prefixText(d))
    })
    return out.sort()
  }

  stop(): Promise<void> {
    return this.speaker.stop('interop test done').then(() => this.listener?.close())
  }
}

/**
 * An OurSide announcing `routes` from the start, Established with the daemon (`what` names it in
 * the timeout error) within 10 s, and stopped at teardown.
 */
export async function startOurSide(t: { teardown(fn: () => unknown): void }, o: OurSideOptions, routes: readonly TestRoute[], what: string): Promise<OurSide> {
  const us = new OurSide(o)
  t.teardown(() => us.stop())
  us.announce(routes)
  await us.start()
  await waitFor(() => us.session.state === 'Established', 10_000, `session to ${what}`)
  return us
}

/**
 * Route refresh both ways (RFC 2918) with a daemon: we send ROUTE-REFRESH for `family` and it re-sends
 * (our routes of that family stay `expected`), then `askPeer` makes the daemon ask us and we answer
 * from Adj-RIB-Out. The caller checks afterwards that the daemon still holds our routes.
 */
export async function refreshBothWays(
  t: Test,
  us: OurSide,
  family: TestFamily,
  expected: readonly string[],
  askPeer: () => void,
): Promise<void> {
  const before = us.stats().session
  t.ok(us.refresh(family), 'ROUTE-REFRESH sent (the daemon advertised the capability)')
  await waitFor(() => us.stats().session.messagesIn.update > before.messagesIn.update, 5000, 'the daemon to re-send')
  t.equal(us.stats().session.messagesOut.routeRefresh, before.messagesOut.routeRefresh + 1)
  t.same(us.learned(family), expected, 'routes unchanged after the refresh')
  const out0 = us.stats().session.messagesOut.update
  const rr0 = us.stats().session.messagesIn.routeRefresh
  askPeer()
  await waitFor(() => us.stats().session.messagesIn.routeRefresh > rr0, 5000, 'ROUTE-REFRESH from the daemon')
  await waitFor(() => us.stats().session.messagesOut.update > out0, 5000, 'our answer from Adj-RIB-Out')
}
