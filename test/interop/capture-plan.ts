/**
 * What each real daemon is configured to advertise to the fixture recorder, and what that
 * configuration therefore obliges it to put on the wire: the single source from which the daemon
 * configs (test/interop/daemons.ts) are written AND the fixture manifest
 * (test/fixtures/captured/manifest.json) is derived. The manifest never comes from our decoder.
 *
 * Per daemon: ASN, router id, hold time, families, and routes in configuration terms. Per session
 * (eBGP and iBGP) the expected wire form follows RFC 4271 5.1: on eBGP the daemon prepends its own
 * AS to AS_PATH (RFC 4271 5.1.2), omits LOCAL_PREF (5.1.5) and sets itself as next hop (5.1.3; the
 * per-daemon rule for IPv6 and VPN next hops is spelled out with each daemon below); on iBGP it
 * leaves AS_PATH and next hop as configured and sends LOCAL_PREF.
 */

export type FamilyName = 'ipv4-unicast' | 'ipv6-unicast' | 'vpnv4' | 'vpnv6' | 'rtc'

export const FAMILY_AFI_SAFI: Record<FamilyName, [number, number]> = {
  'ipv4-unicast': [1, 1],
  'ipv6-unicast': [2, 1],
  vpnv4: [1, 128],
  vpnv6: [2, 128],
  rtc: [1, 132],
}

export type RouteDistinguisher =
  | { type: 0; admin: number; assigned: number } // 2-octet AS : 4-octet number
  | { type: 1; admin: string; assigned: number } // IPv4 : 2-octet number
  | { type: 2; admin: number; assigned: number } // 4-octet AS : 2-octet number

/** A route target as configured: `type` is the extended community high-order type (RFC 4360,
 * RFC 5668): 0x00 2-octet AS, 0x01 IPv4, 0x02 4-octet AS; subtype 0x02. */
export interface RouteTargetSpec {
  type: 0 | 1 | 2
  admin: number | string
  assigned: number
}

export interface RouteSpec {
  family: FamilyName
  /** IP prefix (unicast and VPN families). */
  prefix?: string
  rd?: RouteDistinguisher
  labels?: number[]
  /** Next hop as configured at the origin (iBGP sends it unchanged). */
  nextHop?: string
  origin: 'igp' | 'egp' | 'incomplete'
  /** AS_PATH as configured at the origin (AS_SEQUENCE); eBGP prepends the daemon's AS. */
  asPath?: number[]
  med?: number
  /** LOCAL_PREF as configured; on iBGP the daemon's default (100) when unset. */
  localPref?: number
  /** Standard communities as "high:low". */
  communities?: string[]
  /** Large communities as "global:local1:local2". */
  largeCommunities?: string[]
  routeTargets?: RouteTargetSpec[]
  /** RFC 9012 encapsulation extended community tunnel type (13 = MPLS in UDP). */
  encapsulation?: number
  /** Route-target membership NLRI (RFC 4684): origin AS and route target. */
  rtc?: { originAs: number; routeTarget: RouteTargetSpec }
}

export interface SessionPlan {
  /** Also the fixture file's suffix: `<daemon>-<name>.bin`. */
  name: string
  ebgp: boolean
  families: FamilyName[]
  /** The recorder offers the 4-octet AS capability (default true). */
  as4?: boolean
  /** The recorder offers ADD-PATH receive for these families, and the daemon is configured to send
   * all paths for them (path identifiers are the daemon's choice: only their presence is expected). */
  addPath?: FamilyName[]
}

export type DaemonName = 'gobgp' | 'frr' | 'bird' | 'exabgp'

export interface DaemonPlan {
  daemon: DaemonName
  asn: number
  routerId: string
  holdTime: number
  /** Families the routes below use. */
  families: FamilyName[]
  /** Sessions to record, in order, each with the families configured for that neighbor. */
  sessions: SessionPlan[]
  /** MULTI_EXIT_DISC the daemon puts on routes configured without one (undefined: none). */
  defaultMed?: number
  /** Whether the daemon sends End-of-RIB (RFC 4724) for each family to this recorder. */
  sendsEndOfRib: boolean
  /** The daemon's address inside the namespace. */
  address: string
  /** Use the veth addressing (VETH) instead of loopback addresses. */
  veth?: boolean
  /** Wait this long for the daemon's routes after the last message when it sends no End-of-RIB. */
  quietMs?: number
  /** The daemon drops MULTI_EXIT_DISC toward eBGP peers unless an export filter sets it. */
  ebgpStripsMed?: boolean
  /** On eBGP the daemon sends a configured AS_PATH as written (prepending its AS only to an empty one). */
  ebgpKeepsConfiguredAsPath?: boolean
  /** MPLS label the daemon advertises on eBGP VPN routes when it sets itself as next hop. */
  ebgpVpnLabel?: number
  /** How the recorder meets it: the daemon is passive (recorder connects) or active (it listens). */
  recorderMode: 'connect' | 'listen'
  routes: RouteSpec[]
  /** Hostname the daemon announces in the FQDN capability (FRR). */
  hostname?: string
  /** Text of the RFC 9003 shutdown communication the daemon is told to send at the end, if any. */
  shutdownMessage?: string
  /** Capabilities the configuration turns on beyond multiprotocol/route refresh/4-octet AS, by code. */
  extraCapabilities?: Record<string, unknown>
  /** eBGP next hop the daemon sets for each family (its documented next-hop-self behaviour). */
  ebgpNextHop: Partial<Record<FamilyName, string>>
  /** iBGP next hop when it differs from the configured one (e.g. locally originated statics). */
  ibgpNextHop?: Partial<Record<FamilyName, string>>
  /** Things this daemon cannot be configured to send (reported in the manifest). */
  limitations: string[]
}

export const DAEMON_ADDRESS = '127.0.0.2'
/** The recorder's side: eBGP sessions use AS 65100, iBGP ones the daemon's AS. Session i of a plan
 * uses address 127.0.0.(11 + i), which is also its BGP identifier. */
export const RECORDER_EBGP_ASN = 65100
export const RECORDER_HOLD_TIME = 90
export function recorderAddress(sessionIndex: number, plan?: DaemonPlan): string {
  return plan?.veth ? `198.51.100.${11 + sessionIndex}` : `127.0.0.${11 + sessionIndex}`
}

/** Addressing of a `veth` plan (daemons that refuse loopback peers): a veth pair inside the
 * namespace, the daemon's end `fx0` with these, the recorder's end `fx1` with 198.51.100.11, .12... */
export const VETH = {
  daemon: '198.51.100.2',
  daemon6: '2001:db8:ffff::2',
  prefixLength: 24,
  prefixLength6: 64,
  /** A next-hop address on fx0's subnet (static routes need an on-link gateway). */
  gateway: '198.51.100.103',
  gateway6: '2001:db8:ffff::103',
} as const

const ALL: FamilyName[] = ['ipv4-unicast', 'ipv6-unicast', 'vpnv4', 'vpnv6', 'rtc']

export const PLANS: DaemonPlan[] = [
  {
    daemon: 'gobgp',
    asn: 4200000001,
    routerId: '192.0.2.1',
    holdTime: 90,
    families: ALL,
    sessions: [
      { name: 'ebgp', ebgp: true, families: ['ipv4-unicast', 'ipv6-unicast', 'vpnv4', 'vpnv6'] },
      { name: 'ibgp', ebgp: false, families: ['ipv4-unicast', 'ipv6-unicast', 'vpnv4', 'vpnv6'] },
      // GoBGP 3.10 sends no unicast routes at all to a peer with route-target constraint negotiated
      // (only RTC, then the VPN routes that peer's memberships admit), so RTC gets a session of its own
      { name: 'ibgp-rtc', ebgp: false, families: ['vpnv4', 'rtc'] },
      // a peer without the 4-octet AS capability: AS_PATH carries AS_TRANS, AS4_PATH the real path
      { name: 'ebgp-as2', ebgp: true, as4: false, families: ['ipv4-unicast', 'vpnv4'] },
    ],
    sendsEndOfRib: false,
    address: DAEMON_ADDRESS,
    recorderMode: 'connect',
    shutdownMessage: 'gsi-router fixture capture done',
    routes: [
      { family: 'ipv4-unicast', prefix: '10.1.1.0/24', nextHop: '192.0.2.101', origin: 'igp', med: 10, localPref: 200, communities: ['65001:100', '65001:101'] },
      { family: 'ipv4-unicast', prefix: '10.1.2.0/25', nextHop: '192.0.2.101', origin: 'egp', asPath: [64999], largeCommunities: ['4200000001:1:2'] },
      { family: 'ipv6-unicast', prefix: '2001:db8:1::/48', nextHop: '2001:db8::1:1', origin: 'incomplete', communities: ['65535:0'] },
      {
        family: 'vpnv4', prefix: '172.16.1.0/24', rd: { type: 1, admin: '192.0.2.1', assigned: 5 }, labels: [1001], nextHop: '192.0.2.1', origin: 'igp', med: 5,
        routeTargets: [{ type: 0, admin: 65001, assigned: 7 }, { type: 1, admin: '192.0.2.1', assigned: 9 }], encapsulation: 13,
      },
      {
        family: 'vpnv4', prefix: '172.16.2.0/24', rd: { type: 2, admin: 4200000001, assigned: 100 }, labels: [1003], nextHop: '192.0.2.1', origin: 'igp',
        routeTargets: [{ type: 2, admin: 4200000001, assigned: 100 }], encapsulation: 13,
      },
      {
        family: 'vpnv4', prefix: '172.16.3.0/24', rd: { type: 0, admin: 65001, assigned: 100 }, labels: [1004], nextHop: '192.0.2.1', origin: 'igp', communities: ['65001:300'],
        routeTargets: [{ type: 0, admin: 65001, assigned: 100 }], encapsulation: 13,
      },
      {
        family: 'vpnv6', prefix: '2001:db8:1001::/64', rd: { type: 0, admin: 65001, assigned: 300 }, labels: [1002], nextHop: '2001:db8::1:1', origin: 'igp',
        routeTargets: [{ type: 0, admin: 65001, assigned: 7 }], encapsulation: 13,
      },
      // from `gobgp vrf add red ... rt both 65001:200` and `vrf add blue ... rt import 192.0.2.1:77`
      { family: 'rtc', origin: 'igp', rtc: { originAs: 4200000001, routeTarget: { type: 0, admin: 65001, assigned: 200 } } },
      { family: 'rtc', origin: 'igp', rtc: { originAs: 4200000001, routeTarget: { type: 1, admin: '192.0.2.1', assigned: 77 } } },
    ],
    // GoBGP keeps the configured next hop of a locally originated route even on eBGP (table/path.go
    // UpdatePathAttrs only rewrites an unspecified one); RTC routes from VRFs have next hop 0.0.0.0 in
    // the RIB, which goes out as the session's local address on both kinds of session.
    ebgpNextHop: { rtc: DAEMON_ADDRESS },
    ibgpNextHop: { rtc: DAEMON_ADDRESS },
    limitations: [
      'gobgp CLI parses route targets and RDs with a 4-octet AS in plain notation as 65535 (type 0); asdot (64086.59905) is used instead',
      'gobgp CLI cannot inject RTC routes directly; they come from VRF import route targets',
      'gobgpd 3.10 sends no IPv4/IPv6 unicast routes to a peer that negotiated route-target constraint: RTC is captured on a session of its own (ibgp-rtc)',
      'gobgpd sends End-of-RIB only when graceful restart is negotiated (the recorder does not offer it)',
    ],
  },
  {
    daemon: 'frr',
    asn: 65002,
    routerId: '192.0.2.2',
    holdTime: 60,
    families: ['ipv4-unicast', 'ipv6-unicast', 'vpnv4', 'vpnv6'],
    sessions: [
      { name: 'ebgp', ebgp: true, families: ['ipv4-unicast', 'ipv6-unicast', 'vpnv4', 'vpnv6'] },
      { name: 'ibgp', ebgp: false, families: ['ipv4-unicast', 'ipv6-unicast', 'vpnv4', 'vpnv6'] },
      { name: 'ibgp-addpath', ebgp: false, families: ['ipv4-unicast', 'vpnv4'], addPath: ['ipv4-unicast', 'vpnv4'] },
    ],
    // FRR sends End-of-RIB only when graceful restart is negotiated in both directions
    sendsEndOfRib: false,
    // FRR puts the route's IGP metric (0 without zebra) into MULTI_EXIT_DISC of `network` routes
    defaultMed: 0,
    address: DAEMON_ADDRESS,
    recorderMode: 'connect',
    hostname: 'gsifx-frr',
    shutdownMessage: 'frr fixture capture done',
    routes: [
      { family: 'ipv4-unicast', prefix: '10.2.1.0/24', nextHop: '192.0.2.102', origin: 'igp', med: 20, localPref: 250, communities: ['65002:100', '65002:101'] },
      { family: 'ipv4-unicast', prefix: '10.2.2.0/25', nextHop: '192.0.2.102', origin: 'egp', asPath: [64999], largeCommunities: ['65002:1:2'] },
      { family: 'ipv6-unicast', prefix: '2001:db8:2::/48', nextHop: '2001:db8::2:1', origin: 'incomplete', communities: ['65535:0'] },
      {
        family: 'vpnv4', prefix: '172.16.20.0/24', rd: { type: 0, admin: 65002, assigned: 100 }, labels: [2001], nextHop: DAEMON_ADDRESS, origin: 'igp', med: 5,
        routeTargets: [{ type: 0, admin: 65002, assigned: 7 }, { type: 1, admin: '192.0.2.2', assigned: 9 }],
      },
      {
        family: 'vpnv4', prefix: '172.16.21.0/24', rd: { type: 1, admin: '192.0.2.2', assigned: 5 }, labels: [2003], nextHop: DAEMON_ADDRESS, origin: 'igp',
        routeTargets: [{ type: 0, admin: 65002, assigned: 7 }],
      },
      {
        family: 'vpnv6', prefix: '2001:db8:2001::/64', rd: { type: 0, admin: 65002, assigned: 300 }, labels: [2002], nextHop: `::ffff:${DAEMON_ADDRESS}`, origin: 'igp',
        routeTargets: [{ type: 0, admin: 65002, assigned: 7 }],
      },
    ],
    // FRR: the VPN `network ... rd ... label` statics have no next hop of their own, so both kinds
    // of session get the local address (IPv4-mapped for VPNv6 over an IPv4 session); unicast routes
    // carry the next hop their route-map sets, kept on iBGP and replaced by self on eBGP (IPv4-mapped
    // for IPv6 unicast: the session is IPv4 and the namespace has no global IPv6 address).
    ebgpNextHop: { 'ipv4-unicast': DAEMON_ADDRESS, 'ipv6-unicast': `::ffff:${DAEMON_ADDRESS}` },
    extraCapabilities: { fqdn: { hostname: 'gsifx-frr', domain: '' } },
    limitations: [
      'FRR 8.4 route-maps cannot set an arbitrary extended community: no encapsulation (MPLSoUDP) community on its VPN routes',
      'FRR 8.4 has no route-target constraint (SAFI 132)',
      'FRR sends End-of-RIB only when graceful restart is negotiated, and puts MED 0 on `network` routes configured without a metric',
      'FRR VPN `network ... rd ... label` statics have no next hop of their own: they go out with the session address (IPv4-mapped for VPNv6)',
    ],
  },
  {
    daemon: 'bird',
    asn: 65003,
    routerId: '192.0.2.3',
    holdTime: 240,
    families: ['ipv4-unicast', 'ipv6-unicast', 'vpnv4', 'vpnv6'],
    sessions: [
      { name: 'ebgp', ebgp: true, families: ['ipv4-unicast', 'ipv6-unicast', 'vpnv4', 'vpnv6'] },
      { name: 'ibgp', ebgp: false, families: ['ipv4-unicast', 'ipv6-unicast', 'vpnv4', 'vpnv6'] },
    ],
    sendsEndOfRib: true,
    shutdownMessage: 'bird fixture capture done',
    // BIRD refuses loopback neighbours ("Invalid remote address 127.0.0.11"): veth addressing
    address: VETH.daemon,
    veth: true,
    recorderMode: 'connect',
    // BIRD starts feeding a new session's routes only after a second or two
    quietMs: 6000,
    routes: [
      { family: 'ipv4-unicast', prefix: '10.3.1.0/24', nextHop: VETH.gateway, origin: 'igp', med: 30, localPref: 300, communities: ['65003:100', '65003:101'] },
      { family: 'ipv4-unicast', prefix: '10.3.2.0/25', nextHop: VETH.gateway, origin: 'egp', asPath: [64999], largeCommunities: ['65003:1:2'] },
      { family: 'ipv6-unicast', prefix: '2001:db8:3::/48', nextHop: VETH.gateway6, origin: 'incomplete', communities: ['65535:0'] },
      {
        family: 'vpnv4', prefix: '172.16.30.0/24', rd: { type: 0, admin: 65003, assigned: 100 }, labels: [3001], nextHop: VETH.gateway, origin: 'igp', med: 5,
        routeTargets: [{ type: 0, admin: 65003, assigned: 7 }, { type: 1, admin: '192.0.2.3', assigned: 9 }], encapsulation: 13,
      },
      {
        family: 'vpnv4', prefix: '172.16.31.0/24', rd: { type: 1, admin: '192.0.2.3', assigned: 5 }, labels: [3003], nextHop: VETH.gateway, origin: 'igp',
        routeTargets: [{ type: 0, admin: 65003, assigned: 7 }], encapsulation: 13,
      },
      {
        family: 'vpnv6', prefix: '2001:db8:3001::/64', rd: { type: 0, admin: 65003, assigned: 300 }, labels: [3002], nextHop: VETH.gateway6, origin: 'igp',
        routeTargets: [{ type: 0, admin: 65003, assigned: 7 }], encapsulation: 13,
      },
    ],
    // BIRD: next hop self on eBGP (its IPv6 next hop is fx0's global IPv6 address), and with itself
    // as next hop it advertises the implicit-null label 3 (RFC 3032) instead of the static's label;
    // MED from a static route is not passed to eBGP peers (only an export filter can set it there).
    ebgpNextHop: { 'ipv4-unicast': VETH.daemon, 'ipv6-unicast': VETH.daemon6, vpnv4: VETH.daemon, vpnv6: VETH.daemon6 },
    ebgpStripsMed: true,
    ebgpVpnLabel: 3,
    limitations: [
      'BIRD 2.0.12 has no route-target constraint (SAFI 132)',
      'BIRD refuses 127.0.0.0/8 neighbours: its captures use a veth pair (198.51.100.0/24) inside the namespace',
      'BIRD advertises VPN routes to eBGP peers with next hop self and label 3 (implicit null), not the configured label',
    ],
  },
  {
    daemon: 'exabgp',
    asn: 65004,
    routerId: '192.0.2.4',
    holdTime: 180,
    families: ['ipv4-unicast', 'ipv6-unicast', 'vpnv4', 'vpnv6'],
    sessions: [
      { name: 'ebgp', ebgp: true, families: ['ipv4-unicast', 'ipv6-unicast', 'vpnv4', 'vpnv6'] },
      { name: 'ibgp', ebgp: false, families: ['ipv4-unicast', 'ipv6-unicast', 'vpnv4', 'vpnv6'] },
    ],
    sendsEndOfRib: true,
    address: DAEMON_ADDRESS,
    // ExaBGP connects out; the recorder listens
    recorderMode: 'listen',
    routes: [
      { family: 'ipv4-unicast', prefix: '10.4.1.0/24', nextHop: '192.0.2.104', origin: 'igp', med: 40, localPref: 400, communities: ['65004:100', '65004:101'] },
      { family: 'ipv4-unicast', prefix: '10.4.2.0/25', nextHop: '192.0.2.104', origin: 'egp', asPath: [64999], largeCommunities: ['65004:1:2'] },
      { family: 'ipv6-unicast', prefix: '2001:db8:4::/48', nextHop: '2001:db8::4:1', origin: 'incomplete', communities: ['65535:0'] },
      {
        family: 'vpnv4', prefix: '172.16.40.0/24', rd: { type: 0, admin: 65004, assigned: 100 }, labels: [4001], nextHop: '192.0.2.4', origin: 'igp', med: 5,
        routeTargets: [{ type: 0, admin: 65004, assigned: 7 }, { type: 1, admin: '192.0.2.4', assigned: 9 }], encapsulation: 13,
      },
      {
        family: 'vpnv4', prefix: '172.16.41.0/24', rd: { type: 1, admin: '192.0.2.4', assigned: 5 }, labels: [4003, 4004], nextHop: '192.0.2.4', origin: 'igp',
        routeTargets: [{ type: 2, admin: 4200000004, assigned: 7 }], encapsulation: 13, communities: ['65004:300'],
      },
      {
        family: 'vpnv6', prefix: '2001:db8:4001::/64', rd: { type: 2, admin: 4200000004, assigned: 300 }, labels: [4002], nextHop: '2001:db8::4:1', origin: 'igp',
        routeTargets: [{ type: 0, admin: 65004, assigned: 7 }], encapsulation: 13,
      },
    ],
    // ExaBGP sends the configured next hop on every session, and on eBGP prepends its AS only to an
    // empty AS_PATH: a configured as-path goes out as written
    ebgpNextHop: {},
    ebgpKeepsConfiguredAsPath: true,
    limitations: [
      'ExaBGP 4.2 has no route-target constraint family in its configuration (`ipv4 rtc` is refused)',
      'ExaBGP 4.2.21 encodes `target:192.0.2.4:9` as a 2-octet-AS route target (type 0x00, 49152:33816585): the IPv4-form route target is configured as raw hex instead',
      'ExaBGP prepends its own AS on eBGP only when no as-path is configured',
    ],
  },
]

export function planFor(daemon: DaemonName): DaemonPlan {
  const p = PLANS.find(x => x.daemon === daemon)
  if (!p) throw new Error(`no capture plan for ${daemon}`)
  return p
}

/** A route as it must appear on one session's wire. */
export interface ExpectedRoute extends RouteSpec {
  family: FamilyName
}

export function expectedRoutes(plan: DaemonPlan, session: SessionPlan): ExpectedRoute[] {
  return plan.routes
    .filter(r => session.families.includes(r.family))
    .map(r => {
      const e: ExpectedRoute = { ...r }
      if (e.med === undefined && plan.defaultMed !== undefined && r.family !== 'rtc') e.med = plan.defaultMed
      if (session.ebgp) {
        e.asPath = plan.ebgpKeepsConfiguredAsPath && r.asPath?.length ? r.asPath : [plan.asn, ...(r.asPath ?? [])]
        delete e.localPref
        if (plan.ebgpStripsMed) delete e.med
        if (plan.ebgpVpnLabel !== undefined && e.labels) e.labels = [plan.ebgpVpnLabel]
        const nh = plan.ebgpNextHop[r.family]
        if (nh !== undefined) e.nextHop = nh
      } else {
        e.asPath = r.asPath ?? []
        e.localPref = r.localPref ?? 100
        const nh = plan.ibgpNextHop?.[r.family]
        if (nh !== undefined) e.nextHop = nh
      }
      return e
    })
}
