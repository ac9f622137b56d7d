/**
 * rtnetlink and generic netlink message bodies: encoders that append a request to an NlWriter and
 * decoders that turn a kernel message into a plain object. Covers links (gre, ipip in mplsip mode with
 * fou encapsulation, vrf, veth, dummy; linux/if_link.h, if_tunnel.h), addresses (if_addr.h), IPv4/IPv6
 * routes with metrics, multipath (struct rtnexthop) and per-next-hop MPLS label imposition
 * (lwtunnel, mpls_iptunnel.h), AF_MPLS routes (pop, swap; RFC 3032 label entries) and the generic
 * netlink `fou` family (linux/fou.h). Pure: no I/O; interface names are resolved by the caller.
 */
import {
  AF, CTRL_ATTR, CTRL_CMD_GETFAMILY, FOU_ATTR, FOU_CMD, FOU_ENCAP, GENL_ID_CTRL, IFA, IFF, IFLA,
  IFLA_GRE, IFLA_INFO, IFLA_IPTUN, IFLA_VRF_TABLE, IPPROTO, LWTUNNEL_ENCAP_MPLS, MPLS_IPTUNNEL_DST,
  NLM_F, OPERSTATES, RTA, RTAX, RTM, RTN, RTNH_F, RTPROT_GSI, RT_SCOPE, RT_TABLE, TUNNEL_ENCAP, VETH_INFO_PEER,
} from './constants.js'
import { attrBe16, attrString, attrU32, attrU8, readAttrs, type NlWriter } from './codec.js'
import { decodeLabelStack, encodeLabelStack } from './mpls-labels.js'
import { formatAddress as formatIpAddress, parseAddress, parseIpv4Into, parsePrefix, type IpFamily } from '../lib/address.js'

/** Address bytes from the kernel as text; a length that is neither IPv4 nor IPv6 (an AF_MPLS or
 * unknown RTA_VIA) shows as hex rather than failing a whole dump. */
function formatAddress(b: Uint8Array): string {
  return b.length === 4 || b.length === 16 ? formatIpAddress(b) : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
}

/** Resolves an interface name (or passes an index through) to an ifindex; throws if unknown. */
export type IfindexResolver = (dev: string | number, field: string) => number

// ---------------------------------------------------------------- links

export type LinkKind = 'gre' | 'ipip' | 'vrf' | 'veth' | 'dummy'

export interface GreParams {
  /** Local (source) IPv4 address; omitted = any. */
  readonly local?: string
  readonly remote: string
  /** Outer TTL; 0 or omitted = inherit. */
  readonly ttl?: number
  readonly ikey?: number
  readonly okey?: number
  /** Path MTU discovery on the outer header (default on, as the kernel does). */
  readonly pmtudisc?: boolean
}

export interface IpipParams {
  /** 'mplsip' carries MPLS (IP protocol 137) in IPv4, the MPLSoUDP tunnel with fou encapsulation. */
  readonly mode: 'ipip' | 'mplsip' | 'any'
  readonly local?: string
  readonly remote: string
  readonly ttl?: number
  /** fou encapsulation: UDP source port 0 = derived from the flow hash (ECMP entropy). */
  readonly encap?: { readonly type: 'fou'; readonly sport?: number; readonly dport: number; readonly csum?: boolean }
}

export interface LinkSpec {
  readonly name: string
  readonly kind: LinkKind
  readonly mtu?: number
  readonly up?: boolean
  /** Enslave to this device (a VRF). */
  readonly master?: string | number
  readonly gre?: GreParams
  readonly ipip?: IpipParams
  readonly vrf?: { readonly table: number }
  /** veth: the other end's name, created in the same namespace (or in `netnsPid`'s). */
  readonly veth?: { readonly peer: string; readonly peerNetnsPid?: number }
}

/** A change to an existing link; only the fields given are changed. */
export interface LinkChange {
  readonly up?: boolean
  readonly mtu?: number
  /** A VRF to enslave to, or null to release. */
  readonly master?: string | number | null
  /** Move the link into the network namespace of this process. */
  readonly netnsPid?: number
  readonly name?: string
  /** New tunnel parameters (the kind must be given with them). */
  readonly kind?: LinkKind
  readonly gre?: GreParams
  readonly ipip?: IpipParams
}

export interface LinkInfo {
  readonly index: number
  readonly name: string
  readonly kind?: string
  readonly flags: number
  /** Administratively up (IFF_UP). */
  readonly up: boolean
  /** Carrier (IFF_LOWER_UP). */
  readonly lowerUp: boolean
  readonly operstate: string
  readonly mtu?: number
  readonly master?: number
  readonly gre?: { local?: string; remote?: string; ttl: number; ikey?: number; okey?: number }
  readonly ipip?: {
    local?: string; remote?: string; ttl: number; proto: number; mode: 'ipip' | 'mplsip' | 'any' | 'other'
    encap?: { type: 'fou' | 'gue' | 'none'; sport: number; dport: number }
  }
  readonly vrf?: { table: number }
}

const checkName = (name: string, field: string): void => {
  if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > 15 || /[\s/:]/.test(name)) {
    throw new Error(`${field}: "${name}" is not a valid interface name (1-15 bytes, no spaces, "/" or ":")`)
  }
}
const v4 = (text: string, field: string): Uint8Array => {
  const b = new Uint8Array(4)
  if (!parseIpv4Into(text, b, 0)) throw new Error(`${field}: "${text}" is not an IPv4 address`)
  return b
}
const checkU = (v: number, max: number, field: string): number => {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new Error(`${field}: ${v} is not an integer in 0-${max}`)
  return v
}

function ifinfomsg(w: NlWriter, index: number, flags: number, change: number): void {
  w.u8(AF.UNSPEC); w.u8(0); w.u16(0); w.i32(index); w.u32(flags); w.u32(change)
}

function encodeLinkData(w: NlWriter, kind: LinkKind, spec: LinkSpec | LinkChange, field: string): void {
  w.nestBegin(IFLA.LINKINFO)
  w.attrString(IFLA_INFO.KIND, kind)
  if (kind === 'gre') {
    const g = spec.gre
    if (!g) throw new Error(`${field}.gre: a gre link needs its parameters (remote, local, ttl)`)
    w.nestBegin(IFLA_INFO.DATA)
    if (g.local !== undefined) w.attrBytes(IFLA_GRE.LOCAL, v4(g.local, `${field}.gre.local`))
    w.attrBytes(IFLA_GRE.REMOTE, v4(g.remote, `${field}.gre.remote`))
    w.attrU8(IFLA_GRE.TTL, checkU(g.ttl ?? 0, 255, `${field}.gre.ttl`))
    w.attrU8(IFLA_GRE.PMTUDISC, g.pmtudisc === false ? 0 : 1)
    if (g.ikey !== undefined) { w.attrBe16(IFLA_GRE.IFLAGS, 0x2000); w.attrBe32(IFLA_GRE.IKEY, g.ikey) }
    if (g.okey !== undefined) { w.attrBe16(IFLA_GRE.OFLAGS, 0x2000); w.attrBe32(IFLA_GRE.OKEY, g.okey) }
    w.nestEnd()
  } else if (kind === 'ipip') {
    const p = spec.ipip
    if (!p) throw new Error(`${field}.ipip: an ipip link needs its parameters (mode, remote)`)
    w.nestBegin(IFLA_INFO.DATA)
    if (p.local !== undefined) w.attrBytes(IFLA_IPTUN.LOCAL, v4(p.local, `${field}.ipip.local`))
    w.attrBytes(IFLA_IPTUN.REMOTE, v4(p.remote, `${field}.ipip.remote`))
    w.attrU8(IFLA_IPTUN.TTL, checkU(p.ttl ?? 0, 255, `${field}.ipip.ttl`))
    w.attrU8(IFLA_IPTUN.PROTO, p.mode === 'mplsip' ? IPPROTO.MPLS : p.mode === 'any' ? 0 : IPPROTO.IPIP)
    w.attrU8(IFLA_IPTUN.PMTUDISC, 1)
    if (p.encap) {
      w.attrU16(IFLA_IPTUN.ENCAP_TYPE, TUNNEL_ENCAP.FOU)
      w.attrU16(IFLA_IPTUN.ENCAP_FLAGS, p.encap.csum ? 1 : 0)
      w.attrBe16(IFLA_IPTUN.ENCAP_SPORT, checkU(p.encap.sport ?? 0, 65535, `${field}.ipip.encap.sport`))
      w.attrBe16(IFLA_IPTUN.ENCAP_DPORT, checkU(p.encap.dport, 65535, `${field}.ipip.encap.dport`))
    } else {
      w.attrU16(IFLA_IPTUN.ENCAP_TYPE, TUNNEL_ENCAP.NONE)
    }
    w.nestEnd()
  } else if (kind === 'vrf') {
    const s = spec as LinkSpec
    if (!s.vrf) throw new Error(`${field}.vrf: a vrf link needs its table`)
    const t = s.vrf.table
    if (!Number.isInteger(t) || t < 1 || t > 0xffffffff || t === RT_TABLE.MAIN || t === RT_TABLE.LOCAL) {
      throw new Error(`${field}.vrf.table: ${t} is not a usable table id (1-4294967295, not 254 or 255)`)
    }
    w.nestBegin(IFLA_INFO.DATA)
    w.attrU32(IFLA_VRF_TABLE, t)
    w.nestEnd()
  } else if (kind === 'veth') {
    const s = spec as LinkSpec
    if (!s.veth) throw new Error(`${field}.veth: a veth link needs its peer's name`)
    checkName(s.veth.peer, `${field}.veth.peer`)
    w.nestBegin(IFLA_INFO.DATA)
    w.nestBegin(VETH_INFO_PEER)
    ifinfomsg(w, 0, 0, 0)
    w.attrString(IFLA.IFNAME, s.veth.peer)
    if (s.veth.peerNetnsPid !== undefined) w.attrU32(IFLA.NET_NS_PID, s.veth.peerNetnsPid)
    w.nestEnd()
    w.nestEnd()
  } else if (kind !== 'dummy') {
    throw new Error(`${field}.kind: "${String(kind)}" is not one of gre, ipip, vrf, veth, dummy`)
  }
  w.nestEnd()
}

/** RTM_NEWLINK creating `spec` (NLM_F_CREATE|NLM_F_EXCL: an existing link is an error). */
export function encodeCreateLink(w: NlWriter, seq: number, spec: LinkSpec, ifindex: IfindexResolver, flags: number): void {
  checkName(spec.name, 'link.name')
  w.begin(RTM.NEWLINK, flags | NLM_F.CREATE | NLM_F.EXCL, seq)
  ifinfomsg(w, 0, spec.up ? IFF.UP : 0, spec.up ? IFF.UP : 0)
  w.attrString(IFLA.IFNAME, spec.name)
  if (spec.mtu !== undefined) w.attrU32(IFLA.MTU, checkU(spec.mtu, 65535, 'link.mtu'))
  if (spec.master !== undefined) w.attrU32(IFLA.MASTER, ifindex(spec.master, 'link.master'))
  encodeLinkData(w, spec.kind, spec, 'link')
  w.end()
}

/** RTM_NEWLINK without NLM_F_CREATE on an existing index: changes only what `change` names. */
export function encodeChangeLink(w: NlWriter, seq: number, index: number, change: LinkChange, ifindex: IfindexResolver, flags: number): void {
  w.begin(RTM.NEWLINK, flags, seq)
  const upMask = change.up === undefined ? 0 : IFF.UP
  ifinfomsg(w, index, change.up ? IFF.UP : 0, upMask)
  if (change.name !== undefined) { checkName(change.name, 'change.name'); w.attrString(IFLA.IFNAME, change.name) }
  if (change.mtu !== undefined) w.attrU32(IFLA.MTU, checkU(change.mtu, 65535, 'change.mtu'))
  if (change.master !== undefined) w.attrU32(IFLA.MASTER, change.master === null ? 0 : ifindex(change.master, 'change.master'))
  if (change.netnsPid !== undefined) w.attrU32(IFLA.NET_NS_PID, change.netnsPid)
  if (change.kind !== undefined) encodeLinkData(w, change.kind, change, 'change')
  w.end()
}

export function encodeDeleteLink(w: NlWriter, seq: number, index: number, flags: number): void {
  w.begin(RTM.DELLINK, flags, seq)
  ifinfomsg(w, index, 0, 0)
  w.end()
}

export function encodeGetLink(w: NlWriter, seq: number, name: string | undefined, flags: number): void {
  w.begin(RTM.GETLINK, flags | (name === undefined ? NLM_F.DUMP : 0), seq)
  ifinfomsg(w, 0, 0, 0)
  if (name !== undefined) w.attrString(IFLA.IFNAME, name)
  w.end()
}

export function decodeLink(payload: Buffer): LinkInfo {
  const index = payload.readInt32LE(4)
  const flags = payload.readUInt32LE(8)
  const a = readAttrs(payload, 16)
  const info = a.get(IFLA.LINKINFO)
  const li = info ? readAttrs(info) : undefined
  const kind = li ? attrString(li, IFLA_INFO.KIND) : undefined
  const data = li?.get(IFLA_INFO.DATA)
  const d = data ? readAttrs(data) : undefined
  const addr = (b: Buffer | undefined): string | undefined => (b && b.length === 4 && b.readUInt32BE(0) !== 0 ? formatAddress(b) : undefined)
  const opst = attrU8(a, IFLA.OPERSTATE) ?? 0
  const master = attrU32(a, IFLA.MASTER)
  const mtu = attrU32(a, IFLA.MTU)
  const out: { -readonly [K in keyof LinkInfo]: LinkInfo[K] } = {
    index, name: attrString(a, IFLA.IFNAME) ?? '', flags,
    up: (flags & IFF.UP) !== 0, lowerUp: (flags & IFF.LOWER_UP) !== 0,
    operstate: OPERSTATES[opst] ?? String(opst),
  }
  if (kind !== undefined) out.kind = kind
  if (mtu !== undefined) out.mtu = mtu
  if (master !== undefined && master !== 0) out.master = master
  if (d && kind === 'gre') {
    const g: NonNullable<LinkInfo['gre']> = { ttl: attrU8(d, IFLA_GRE.TTL) ?? 0 }
    const l = addr(d.get(IFLA_GRE.LOCAL)); if (l) g.local = l
    const r = addr(d.get(IFLA_GRE.REMOTE)); if (r) g.remote = r
    const ik = d.get(IFLA_GRE.IKEY); if (ik && ik.length >= 4 && ((attrBe16(d, IFLA_GRE.IFLAGS) ?? 0) & 0x2000)) g.ikey = ik.readUInt32BE(0)
    const ok = d.get(IFLA_GRE.OKEY); if (ok && ok.length >= 4 && ((attrBe16(d, IFLA_GRE.OFLAGS) ?? 0) & 0x2000)) g.okey = ok.readUInt32BE(0)
    out.gre = g
  } else if (d && kind === 'ipip') {
    const proto = attrU8(d, IFLA_IPTUN.PROTO) ?? IPPROTO.IPIP
    const p: NonNullable<LinkInfo['ipip']> = {
      ttl: attrU8(d, IFLA_IPTUN.TTL) ?? 0, proto,
      mode: proto === IPPROTO.MPLS ? 'mplsip' : proto === IPPROTO.IPIP ? 'ipip' : proto === 0 ? 'any' : 'other',
    }
    const l = addr(d.get(IFLA_IPTUN.LOCAL)); if (l) p.local = l
    const r = addr(d.get(IFLA_IPTUN.REMOTE)); if (r) p.remote = r
    const et = d.get(IFLA_IPTUN.ENCAP_TYPE)?.readUInt16LE(0) ?? 0
    if (et !== TUNNEL_ENCAP.NONE) {
      p.encap = {
        type: et === TUNNEL_ENCAP.FOU ? 'fou' : et === TUNNEL_ENCAP.GUE ? 'gue' : 'none',
        sport: attrBe16(d, IFLA_IPTUN.ENCAP_SPORT) ?? 0, dport: attrBe16(d, IFLA_IPTUN.ENCAP_DPORT) ?? 0,
      }
    }
    out.ipip = p
  } else if (d && kind === 'vrf') {
    out.vrf = { table: attrU32(d, IFLA_VRF_TABLE) ?? 0 }
  }
  return out
}

// ---------------------------------------------------------------- addresses

export interface AddressSpec {
  readonly dev: string | number
  /** "10.0.0.1/29" or "fd00::1/64". */
  readonly address: string
}

export interface AddressInfo {
  readonly index: number
  readonly family: IpFamily
  readonly address: string
  readonly prefixLength: number
  readonly label?: string
}

export function encodeAddress(w: NlWriter, seq: number, op: 'add' | 'delete', spec: AddressSpec, ifindex: IfindexResolver, flags: number): void {
  const slash = spec.address.indexOf('/')
  const a = parseAddress(slash < 0 ? spec.address : spec.address.slice(0, slash), 'address.address')
  const max = a.family === 4 ? 32 : 128
  const len = slash < 0 ? max : Number(spec.address.slice(slash + 1))
  if (!Number.isInteger(len) || len < 0 || len > max) throw new Error(`address.address: "${spec.address}" has a bad prefix length`)
  const index = ifindex(spec.dev, 'address.dev')
  w.begin(op === 'add' ? RTM.NEWADDR : RTM.DELADDR, flags | (op === 'add' ? NLM_F.CREATE | NLM_F.EXCL : 0), seq)
  w.u8(a.family === 4 ? AF.INET : AF.INET6); w.u8(len); w.u8(0); w.u8(RT_SCOPE.UNIVERSE); w.u32(index)
  w.attrBytes(IFA.LOCAL, a.bytes)
  w.attrBytes(IFA.ADDRESS, a.bytes)
  w.end()
}

export function encodeGetAddresses(w: NlWriter, seq: number, flags: number): void {
  w.begin(RTM.GETADDR, flags | NLM_F.DUMP, seq)
  w.u8(AF.UNSPEC); w.u8(0); w.u8(0); w.u8(0); w.u32(0)
  w.end()
}

export function decodeAddress(payload: Buffer): AddressInfo | undefined {
  const fam = payload[0]
  if (fam !== AF.INET && fam !== AF.INET6) return undefined
  const a = readAttrs(payload, 8)
  const bytes = a.get(IFA.LOCAL) ?? a.get(IFA.ADDRESS)
  if (!bytes) return undefined
  const out: { -readonly [K in keyof AddressInfo]: AddressInfo[K] } = {
    index: payload.readUInt32LE(4), family: fam === AF.INET ? 4 : 6,
    address: formatAddress(bytes), prefixLength: payload[1] ?? 0,
  }
  const label = attrString(a, IFA.LABEL)
  if (label !== undefined) out.label = label
  return out
}

// ---------------------------------------------------------------- IPv4 / IPv6 routes

export interface NextHopSpec {
  /** Gateway address; may be IPv6 for an IPv4 route (RFC 5549, sent as RTA_VIA). */
  readonly gateway?: string
  /** Output device (name or ifindex). */
  readonly dev?: string | number
  /** MPLS labels to push (lwtunnel MPLS encapsulation), outermost first. */
  readonly labels?: readonly number[]
  /** ECMP weight 1-256 (default 1). */
  readonly weight?: number
  /** Gateway is reachable on `dev` without a connected route. */
  readonly onlink?: boolean
}

export type RouteType = 'unicast' | 'blackhole' | 'unreachable' | 'prohibit'
const ROUTE_TYPES: Record<RouteType, number> = {
  unicast: RTN.UNICAST, blackhole: RTN.BLACKHOLE, unreachable: RTN.UNREACHABLE, prohibit: RTN.PROHIBIT,
}

export interface RouteMetrics {
  readonly mtu?: number
  readonly advmss?: number
  readonly hoplimit?: number
  readonly initcwnd?: number
  readonly window?: number
}

export interface RouteSpec {
  /** Destination prefix, e.g. "10.1.0.0/16", "fd00::/64", "0.0.0.0/0". */
  readonly dst: string
  /** Routing table id (default 254, main). */
  readonly table?: number
  /** rtm_protocol (default RTPROT_GSI). On delete it restricts the delete to routes of that protocol. */
  readonly protocol?: number
  /** Route metric (RTA_PRIORITY). */
  readonly metric?: number
  readonly type?: RouteType
  readonly prefsrc?: string
  readonly metrics?: RouteMetrics
  /** One next hop, or several for ECMP (RTA_MULTIPATH). Not for blackhole/unreachable/prohibit. */
  readonly nexthops?: readonly NextHopSpec[]
}

export interface NextHopInfo {
  readonly oif?: number
  /** Interface name, filled in by the client from its link table. */
  dev?: string
  readonly gateway?: string
  readonly labels?: readonly number[]
  readonly weight: number
  readonly flags: number
}

export interface RouteInfo {
  readonly family: IpFamily
  readonly table: number
  /** Canonical CIDR text. */
  readonly dst: string
  readonly protocol: number
  readonly metric: number
  readonly type: RouteType | 'local' | 'broadcast' | 'multicast' | 'anycast' | 'other'
  readonly scope: number
  readonly prefsrc?: string
  readonly metrics?: RouteMetrics
  readonly nexthops: NextHopInfo[]
}

export type RouteOp = 'add' | 'replace' | 'append' | 'delete'

function encodeEncap(w: NlWriter, labels: readonly number[], field: string): void {
  w.attrU16(RTA.ENCAP_TYPE, LWTUNNEL_ENCAP_MPLS)
  w.nestBegin(RTA.ENCAP)
  w.attrBytes(MPLS_IPTUNNEL_DST, encodeLabelStack(labels, field))
  w.nestEnd()
}

/**
 * Opens one `struct rtnexthop` inside RTA_MULTIPATH (IP and MPLS routes alike): length (patched by
 * endRtnexthop), flags, hops = weight - 1, ifindex. Returns where it starts.
 */
function beginRtnexthop(w: NlWriter, field: string, weight: number | undefined, flags: number, ifIndex: () => number): number {
  const at = w.mark()
  const wt = weight ?? 1
  if (!Number.isInteger(wt) || wt < 1 || wt > 256) throw new Error(`${field}.weight: ${wt} is not in 1-256`)
  // The interface is looked up after the weight check, so a bad weight is the error reported first.
  w.u16(0); w.u8(flags); w.u8(wt - 1); w.i32(ifIndex())
  return at
}

/** Writes the length of the rtnexthop opened at `at`, now that its attributes are written. */
function endRtnexthop(w: NlWriter, at: number): void {
  w.buf.writeUInt16LE(w.off - at, at)
}

function encodeGateway(w: NlWriter, routeFamily: IpFamily, gw: string, field: string): void {
  const g = parseAddress(gw, field)
  if (g.family === routeFamily) {
    w.attrBytes(RTA.GATEWAY, g.bytes)
  } else {
    if (routeFamily === 6) throw new Error(`${field}: an IPv6 route cannot have the IPv4 gateway ${gw}`)
    const via = new Uint8Array(2 + g.bytes.length)
    new DataView(via.buffer).setUint16(0, AF.INET6, true)
    via.set(g.bytes, 2)
    w.attrBytes(RTA.VIA, via)
  }
}

/** One RTM_NEWROUTE / RTM_DELROUTE for `route`. */
export function encodeRoute(w: NlWriter, seq: number, op: RouteOp, route: RouteSpec, ifindex: IfindexResolver, flags: number): void {
  const p = parsePrefix(route.dst, 'route.dst', { bareAddress: true })
  const table = route.table ?? RT_TABLE.MAIN
  if (!Number.isInteger(table) || table < 1 || table > 0xffffffff) throw new Error(`route.table: ${table} is not a table id (1-4294967295)`)
  const type = route.type ?? 'unicast'
  const rtnType = ROUTE_TYPES[type]
  if (rtnType === undefined) throw new Error(`route.type: "${String(type)}" is not one of ${Object.keys(ROUTE_TYPES).join(', ')}`)
  const nhs = route.nexthops ?? []
  if (op !== 'delete' && type === 'unicast' && nhs.length === 0) throw new Error(`route ${route.dst}: a unicast route needs at least one next hop`)
  let f = flags
  if (op === 'add') f |= NLM_F.CREATE | NLM_F.EXCL
  else if (op === 'replace') f |= NLM_F.CREATE | NLM_F.REPLACE
  else if (op === 'append') f |= NLM_F.CREATE | NLM_F.APPEND
  const start = w.begin(op === 'delete' ? RTM.DELROUTE : RTM.NEWROUTE, f, seq)
  try {
    const onlyDev = nhs.length === 1 && nhs[0]?.gateway === undefined && nhs[0]?.labels === undefined
    const scope = op === 'delete' ? RT_SCOPE.NOWHERE
      : type !== 'unicast' || !onlyDev ? RT_SCOPE.UNIVERSE : RT_SCOPE.LINK
    w.u8(p.family === 4 ? AF.INET : AF.INET6); w.u8(p.length); w.u8(0); w.u8(0)
    w.u8(table < 256 ? table : RT_TABLE.UNSPEC)
    w.u8(route.protocol ?? RTPROT_GSI)
    w.u8(scope)
    w.u8(op === 'delete' && route.type === undefined ? RTN.UNSPEC : rtnType)
    w.u32(0)
    w.attrU32(RTA.TABLE, table)
    if (p.length > 0) w.attrBytes(RTA.DST, p.bytes.subarray(0, p.family === 4 ? 4 : 16))
    if (route.metric !== undefined) w.attrU32(RTA.PRIORITY, checkU(route.metric, 0xffffffff, 'route.metric'))
    if (route.prefsrc !== undefined) w.attrBytes(RTA.PREFSRC, parseAddress(route.prefsrc, 'route.prefsrc').bytes)
    if (route.metrics) {
      const m = route.metrics
      w.nestBegin(RTA.METRICS)
      if (m.mtu !== undefined) w.attrU32(RTAX.MTU, m.mtu)
      if (m.window !== undefined) w.attrU32(RTAX.WINDOW, m.window)
      if (m.advmss !== undefined) w.attrU32(RTAX.ADVMSS, m.advmss)
      if (m.hoplimit !== undefined) w.attrU32(RTAX.HOPLIMIT, m.hoplimit)
      if (m.initcwnd !== undefined) w.attrU32(RTAX.INITCWND, m.initcwnd)
      w.nestEnd()
    }
    if (nhs.length === 1) {
      const nh = nhs[0] as NextHopSpec
      if (nh.dev !== undefined) w.attrU32(RTA.OIF, ifindex(nh.dev, 'route.nexthops[0].dev'))
      if (nh.gateway !== undefined) encodeGateway(w, p.family, nh.gateway, 'route.nexthops[0].gateway')
      if (nh.labels !== undefined) encodeEncap(w, nh.labels, 'route.nexthops[0].labels')
    } else if (nhs.length > 1) {
      w.nestBegin(RTA.MULTIPATH)
      nhs.forEach((nh, i) => {
        const field = `route.nexthops[${i}]`
        const at = beginRtnexthop(w, field, nh.weight, nh.onlink ? RTNH_F.ONLINK : 0, () => (nh.dev === undefined ? 0 : ifindex(nh.dev, `${field}.dev`)))
        if (nh.gateway !== undefined) encodeGateway(w, p.family, nh.gateway, `${field}.gateway`)
        if (nh.labels !== undefined) encodeEncap(w, nh.labels, `${field}.labels`)
        endRtnexthop(w, at)
      })
      w.nestEnd()
    }
    if (nhs.length === 1 && nhs[0]?.onlink) w.buf[start + 16 + 8] = RTNH_F.ONLINK // rtm_flags
    w.end()
  } catch (e) {
    w.abort(start)
    throw e
  }
}

export function encodeGetRoutes(w: NlWriter, seq: number, family: number, flags: number): void {
  w.begin(RTM.GETROUTE, flags | NLM_F.DUMP, seq)
  w.zeros(12)
  w.buf[w.off - 12] = family
  w.end()
}

function decodeNextHopAttrs(a: Map<number, Buffer>, nh: { gateway?: string; labels?: number[] }): void {
  const gw = a.get(RTA.GATEWAY)
  if (gw) nh.gateway = formatAddress(gw)
  const via = a.get(RTA.VIA)
  if (via && via.length > 2) nh.gateway = formatAddress(via.subarray(2))
  const et = a.get(RTA.ENCAP_TYPE)
  const enc = a.get(RTA.ENCAP)
  if (et && enc && et.readUInt16LE(0) === LWTUNNEL_ENCAP_MPLS) {
    const dst = readAttrs(enc).get(MPLS_IPTUNNEL_DST)
    if (dst) nh.labels = decodeLabelStack(dst)
  }
}

const TYPE_NAMES: Record<number, RouteInfo['type']> = {
  [RTN.UNICAST]: 'unicast', [RTN.LOCAL]: 'local', [RTN.BROADCAST]: 'broadcast', [RTN.ANYCAST]: 'anycast',
  [RTN.MULTICAST]: 'multicast', [RTN.BLACKHOLE]: 'blackhole', [RTN.UNREACHABLE]: 'unreachable', [RTN.PROHIBIT]: 'prohibit',
}

/** Decodes an RTM_NEWROUTE/DELROUTE for AF_INET/AF_INET6; undefined for other families. */
export function decodeRoute(payload: Buffer): RouteInfo | undefined {
  const fam = payload[0]
  if (fam !== AF.INET && fam !== AF.INET6) return undefined
  const family: IpFamily = fam === AF.INET ? 4 : 6
  const dstLen = payload[1] ?? 0
  const a = readAttrs(payload, 12)
  const dstBytes = a.get(RTA.DST) ?? new Uint8Array(family === 4 ? 4 : 16)
  const nexthops: NextHopInfo[] = []
  const mp = a.get(RTA.MULTIPATH)
  if (mp) {
    let off = 0
    while (off + 8 <= mp.length) {
      const len = mp.readUInt16LE(off)
      if (len < 8 || off + len > mp.length) break
      const nh: { -readonly [K in keyof NextHopInfo]: NextHopInfo[K] } & { gateway?: string; labels?: number[] } = {
        weight: (mp[off + 3] ?? 0) + 1, flags: mp[off + 2] ?? 0,
      }
      const oif = mp.readInt32LE(off + 4)
      if (oif) nh.oif = oif
      decodeNextHopAttrs(readAttrs(mp, off + 8, off + len), nh)
      nexthops.push(nh)
      off += (len + 3) & ~3
    }
  } else {
    const nh: { -readonly [K in keyof NextHopInfo]: NextHopInfo[K] } & { gateway?: string; labels?: number[] } = {
      weight: 1, flags: payload.readUInt32LE(8) & 0xff,
    }
    const oif = attrU32(a, RTA.OIF)
    if (oif !== undefined) nh.oif = oif
    decodeNextHopAttrs(a, nh)
    if (nh.oif !== undefined || nh.gateway !== undefined) nexthops.push(nh)
  }
  const out: { -readonly [K in keyof RouteInfo]: RouteInfo[K] } = {
    family,
    table: attrU32(a, RTA.TABLE) ?? payload[4] ?? 0,
    dst: `${formatAddress(dstBytes)}/${dstLen}`,
    protocol: payload[5] ?? 0,
    metric: attrU32(a, RTA.PRIORITY) ?? 0,
    type: TYPE_NAMES[payload[7] ?? 0] ?? 'other',
    scope: payload[6] ?? 0,
    nexthops,
  }
  const ps = a.get(RTA.PREFSRC)
  if (ps) out.prefsrc = formatAddress(ps)
  const met = a.get(RTA.METRICS)
  if (met) {
    const m = readAttrs(met)
    const mo: { -readonly [K in keyof RouteMetrics]: RouteMetrics[K] } = {}
    const mtu = attrU32(m, RTAX.MTU); if (mtu !== undefined) mo.mtu = mtu
    const advmss = attrU32(m, RTAX.ADVMSS); if (advmss !== undefined) mo.advmss = advmss
    const hl = attrU32(m, RTAX.HOPLIMIT); if (hl !== undefined) mo.hoplimit = hl
    const ic = attrU32(m, RTAX.INITCWND); if (ic !== undefined) mo.initcwnd = ic
    const wi = attrU32(m, RTAX.WINDOW); if (wi !== undefined) mo.window = wi
    out.metrics = mo
  }
  return out
}

// ---------------------------------------------------------------- AF_MPLS routes

export interface MplsNextHopSpec {
  /** Output device. For a pop into a VRF, the VRF device (the packet is routed in its table); `lo`
   * pops into the namespace's main table. */
  readonly dev: string | number
  /** Neighbour to send to (omitted for a pop to a local device). */
  readonly via?: string
  /** Labels to swap in (outermost first); omitted = pop. */
  readonly newLabels?: readonly number[]
  readonly weight?: number
}

export interface MplsRouteSpec {
  /** Incoming label, 16-1048575 (0-15 are reserved by RFC 3032). */
  readonly label: number
  readonly protocol?: number
  readonly nexthops?: readonly MplsNextHopSpec[]
}

export interface MplsRouteInfo {
  readonly label: number
  readonly protocol: number
  readonly nexthops: { oif?: number; dev?: string; via?: string; newLabels?: number[]; weight: number; flags: number }[]
}

function encodeVia(w: NlWriter, via: string, field: string): void {
  const g = parseAddress(via, field)
  const b = new Uint8Array(2 + g.bytes.length)
  new DataView(b.buffer).setUint16(0, g.family === 4 ? AF.INET : AF.INET6, true)
  b.set(g.bytes, 2)
  w.attrBytes(RTA.VIA, b)
}

export function encodeMplsRoute(w: NlWriter, seq: number, op: RouteOp, route: MplsRouteSpec, ifindex: IfindexResolver, flags: number): void {
  if (!Number.isInteger(route.label) || route.label < 16 || route.label > 0xfffff) {
    throw new Error(`mplsRoute.label: ${route.label} is not in 16-1048575 (0-15 are reserved)`)
  }
  const nhs = route.nexthops ?? []
  if (op !== 'delete' && nhs.length === 0) throw new Error(`mpls route ${route.label}: needs at least one next hop`)
  let f = flags
  if (op === 'add') f |= NLM_F.CREATE | NLM_F.EXCL
  else if (op === 'replace') f |= NLM_F.CREATE | NLM_F.REPLACE
  else if (op === 'append') throw new Error('mpls route: append is not supported by the kernel for AF_MPLS')
  const start = w.begin(op === 'delete' ? RTM.DELROUTE : RTM.NEWROUTE, f, seq)
  try {
    w.u8(AF.MPLS); w.u8(20); w.u8(0); w.u8(0)
    w.u8(RT_TABLE.MAIN); w.u8(route.protocol ?? RTPROT_GSI); w.u8(RT_SCOPE.UNIVERSE); w.u8(RTN.UNICAST)
    w.u32(0)
    w.attrBytes(RTA.DST, encodeLabelStack([route.label], 'mplsRoute.label'))
    if (nhs.length === 1) {
      const nh = nhs[0] as MplsNextHopSpec
      w.attrU32(RTA.OIF, ifindex(nh.dev, 'mplsRoute.nexthops[0].dev'))
      if (nh.via !== undefined) encodeVia(w, nh.via, 'mplsRoute.nexthops[0].via')
      if (nh.newLabels?.length) w.attrBytes(RTA.NEWDST, encodeLabelStack(nh.newLabels, 'mplsRoute.nexthops[0].newLabels'))
    } else if (nhs.length > 1) {
      w.nestBegin(RTA.MULTIPATH)
      nhs.forEach((nh, i) => {
        const field = `mplsRoute.nexthops[${i}]`
        const at = beginRtnexthop(w, field, nh.weight, 0, () => ifindex(nh.dev, `${field}.dev`))
        if (nh.via !== undefined) encodeVia(w, nh.via, `${field}.via`)
        if (nh.newLabels?.length) w.attrBytes(RTA.NEWDST, encodeLabelStack(nh.newLabels, `${field}.newLabels`))
        endRtnexthop(w, at)
      })
      w.nestEnd()
    }
    w.end()
  } catch (e) {
    w.abort(start)
    throw e
  }
}

export function decodeMplsRoute(payload: Buffer): MplsRouteInfo | undefined {
  if (payload[0] !== AF.MPLS) return undefined
  const a = readAttrs(payload, 12)
  const dst = a.get(RTA.DST)
  if (!dst || dst.length < 4) return undefined
  const nexthops: MplsRouteInfo['nexthops'] = []
  const fill = (at: Map<number, Buffer>, nh: MplsRouteInfo['nexthops'][number]): void => {
    const via = at.get(RTA.VIA)
    if (via && via.length > 2) nh.via = formatAddress(via.subarray(2))
    const nd = at.get(RTA.NEWDST)
    if (nd) nh.newLabels = decodeLabelStack(nd)
  }
  const mp = a.get(RTA.MULTIPATH)
  if (mp) {
    let off = 0
    while (off + 8 <= mp.length) {
      const len = mp.readUInt16LE(off)
      if (len < 8 || off + len > mp.length) break
      const nh: MplsRouteInfo['nexthops'][number] = { weight: (mp[off + 3] ?? 0) + 1, flags: mp[off + 2] ?? 0 }
      const oif = mp.readInt32LE(off + 4)
      if (oif) nh.oif = oif
      fill(readAttrs(mp, off + 8, off + len), nh)
      nexthops.push(nh)
      off += (len + 3) & ~3
    }
  } else {
    const nh: MplsRouteInfo['nexthops'][number] = { weight: 1, flags: payload.readUInt32LE(8) & 0xff }
    const oif = attrU32(a, RTA.OIF)
    if (oif !== undefined) nh.oif = oif
    fill(a, nh)
    nexthops.push(nh)
  }
  return { label: dst.readUInt32BE(0) >>> 12, protocol: payload[5] ?? 0, nexthops }
}

// ---------------------------------------------------------------- generic netlink: fou

export interface FouSpec {
  /** UDP port to listen on (6635 for MPLS over UDP, RFC 7510). */
  readonly port: number
  /** IP protocol carried directly in the UDP payload (137 = MPLS). */
  readonly ipproto: number
  /** Listening socket family (default 4). */
  readonly family?: IpFamily
}

/** CTRL_CMD_GETFAMILY for a generic netlink family name. */
export function encodeGetFamily(w: NlWriter, seq: number, name: string, flags: number): void {
  w.begin(GENL_ID_CTRL, flags, seq)
  w.u8(CTRL_CMD_GETFAMILY); w.u8(1); w.u16(0)
  w.attrString(CTRL_ATTR.FAMILY_NAME, name)
  w.end()
}

export function decodeFamilyId(payload: Buffer): number | undefined {
  const b = readAttrs(payload, 4).get(CTRL_ATTR.FAMILY_ID)
  return b && b.length >= 2 ? b.readUInt16LE(0) : undefined
}

export function encodeFou(w: NlWriter, seq: number, familyId: number, op: 'add' | 'delete', spec: FouSpec, flags: number): void {
  checkU(spec.port, 65535, 'fou.port')
  checkU(spec.ipproto, 255, 'fou.ipproto')
  w.begin(familyId, flags, seq)
  w.u8(op === 'add' ? FOU_CMD.ADD : FOU_CMD.DEL); w.u8(1); w.u16(0)
  w.attrBe16(FOU_ATTR.PORT, spec.port)
  w.attrU8(FOU_ATTR.AF, (spec.family ?? 4) === 4 ? AF.INET : AF.INET6)
  w.attrU8(FOU_ATTR.IPPROTO, spec.ipproto)
  w.attrU8(FOU_ATTR.TYPE, FOU_ENCAP.DIRECT)
  w.end()
}
