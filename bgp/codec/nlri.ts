/**
 * NLRI per address family, table-driven (BIRD's `bgp_af_desc`): one entry per AFI/SAFI says how wide
 * the address is, whether a label stack and a route distinguisher precede it, the longest valid
 * prefix, and which next-hop lengths MP_REACH_NLRI may carry (RFC 4760 3).
 *
 * Families: IPv4/IPv6 unicast (RFC 4271 4.3, RFC 4760, RFC 2545), labeled unicast (SAFI 4, RFC 8277),
 * VPN-IPv4/VPN-IPv6 (SAFI 128, RFC 4364 4.3, RFC 4659), route-target constraint (SAFI 132, RFC 4684 4,
 * prefix length 0 for the default route target or 32..96), each optionally preceded by an ADD-PATH
 * path identifier (RFC 7911 3). Next hops: IPv4, IPv6 global (16) or global+link-local (32), the VPN
 * form with an 8-byte zero RD (12, 24, 48), and IPv6 next hops for IPv4 NLRI (RFC 8950).
 *
 * Labels are kept as the 3-byte wire value (label << 4 | TC << 1 | bottom-of-stack). A stack ends at
 * the bottom-of-stack bit; only in a withdrawal (MP_UNREACH_NLRI) does one of the compatibility
 * values RFC 8277 2.4 allows there (0x800000, the RFC 3107 value, or 0x000000) end it too. In an
 * announcement label 0 without the bottom-of-stack bit is a real entry (the IPv4 Explicit NULL label,
 * RFC 3032) with more labels after it, so the `withdrawal` flag of the readers says which section
 * the bytes came from.
 *
 * Decoding is two-step so both the object path and the bulk path (bulk.ts) share the validation:
 * `checkNlri` walks a section without allocating and reports the first problem; decoders then trust it.
 */
import { Afi, Family, Safi, familyKey, familyName, type FamilyKey } from './afi.js'
import { formatIpv4, isIpv4, parseIpv4 } from '../../src/lib/address.js'

/** A route distinguisher (RFC 4364 4.2). Type 0: admin = 2-octet AS, assigned = 4 octets;
 * types 1 (IPv4 admin) and 2 (4-octet AS admin), and any other type: admin = 4 octets, assigned = 2. */
export interface RouteDistinguisher {
  readonly type: number
  readonly admin: number
  readonly assigned: number
}

export interface Nlri {
  readonly family: FamilyKey
  /** ADD-PATH path identifier (RFC 7911), present when negotiated for the family and direction. */
  readonly pathId?: number
  /** Address bytes at the full width of the family (4, 16; 12 = origin AS + route target for RTC);
   * bits past `length` are as received (a sender should zero them). */
  readonly prefix: Uint8Array
  /** Prefix length in bits, of the address part only (without labels and RD). */
  readonly length: number
  /** Label stack, 3-byte wire values; on labeled and VPN families. */
  readonly labels?: readonly number[]
  readonly rd?: RouteDistinguisher
}

export interface FamilyCodec {
  readonly key: FamilyKey
  readonly name: string
  readonly afi: number
  readonly safi: number
  /** Width of the address part in bytes. */
  readonly addressBytes: number
  readonly maxBits: number
  readonly labeled: boolean
  readonly rd: boolean
  /** RFC 4684: length 0 or 32..96 only. */
  readonly rtc: boolean
  /** Next-hop lengths MP_REACH_NLRI may carry for this family. */
  readonly nextHopLengths: readonly number[]
  /** Next hops carry an 8-byte RD before each address (RFC 4364 4.3.2, RFC 4659 3.2.1). */
  readonly vpnNextHop: boolean
}

function family(afi: number, safi: number, over: Partial<FamilyCodec>): FamilyCodec {
  const key = familyKey(afi, safi)
  const addressBytes = over.addressBytes ?? (afi === Afi.Ipv4 ? 4 : 16)
  const vpnNextHop = over.vpnNextHop ?? false
  const base = afi === Afi.Ipv4 ? [4, 16, 32] : [16, 32]
  return {
    key,
    name: familyName(key),
    afi,
    safi,
    addressBytes,
    maxBits: addressBytes * 8,
    labeled: false,
    rd: false,
    rtc: false,
    nextHopLengths: vpnNextHop ? base.map((n) => (n === 32 ? 48 : n + 8)) : base,
    vpnNextHop,
    ...over,
  }
}

/** The family table. A new family is one entry here. */
export const families: ReadonlyMap<FamilyKey, FamilyCodec> = new Map(
  [
    family(Afi.Ipv4, Safi.Unicast, {}),
    family(Afi.Ipv6, Safi.Unicast, {}),
    family(Afi.Ipv4, Safi.Labeled, { labeled: true }),
    family(Afi.Ipv6, Safi.Labeled, { labeled: true }),
    family(Afi.Ipv4, Safi.MplsVpn, { labeled: true, rd: true, vpnNextHop: true }),
    family(Afi.Ipv6, Safi.MplsVpn, { labeled: true, rd: true, vpnNextHop: true }),
    family(Afi.Ipv4, Safi.RouteTarget, { addressBytes: 12, rtc: true, nextHopLengths: [4, 16, 32] }),
  ].map((f) => [f.key, f]),
)

export const ipv4Unicast = families.get(Family.Ipv4Unicast) as FamilyCodec

/** What went wrong in an NLRI section, or 0. */
export const NlriProblem = {
  None: 0,
  Overrun: 1,
  BadLength: 2,
} as const

const LABEL_WITHDRAW_COMPAT = 0x800000

/**
 * Whether label entry `l` is the last of its stack: the bottom-of-stack bit, or, in a withdrawal
 * only, one of RFC 8277 2.4's compatibility values (0x800000, 0x000000), which carry no such bit.
 */
export function endsLabelStack(l: number, withdrawal: boolean): boolean {
  return (l & 1) !== 0 || (withdrawal && (l === LABEL_WITHDRAW_COMPAT || l === 0))
}

/**
 * Walks an NLRI section [pos, end) of family `f` without allocating: returns 0 when every entry is
 * well formed (RFC 7606 5.3), else an NlriProblem. `withdrawal`: the section is MP_UNREACH_NLRI (or
 * Withdrawn Routes), where the compatibility label values end a stack. `count[0]` receives the
 * number of entries.
 */
export function checkNlri(f: FamilyCodec, buf: Uint8Array, pos: number, end: number, addPath: boolean, withdrawal: boolean, count?: Int32Array): number {
  let p = pos
  let n = 0
  while (p < end) {
    if (addPath) {
      p += 4
      if (p >= end) return NlriProblem.Overrun
    }
    let bits = buf[p++] as number
    if (f.labeled) {
      for (;;) {
        if (bits < 24) return NlriProblem.BadLength
        if (p + 3 > end) return NlriProblem.Overrun
        const l = ((buf[p] as number) << 16) | ((buf[p + 1] as number) << 8) | (buf[p + 2] as number)
        p += 3
        bits -= 24
        if (endsLabelStack(l, withdrawal)) break
      }
    }
    if (f.rd) {
      if (bits < 64) return NlriProblem.BadLength
      bits -= 64
      p += 8
    }
    if (bits > f.maxBits || (f.rtc && bits > 0 && bits < 32)) return NlriProblem.BadLength
    p += (bits + 7) >>> 3
    if (p > end) return NlriProblem.Overrun
    n++
  }
  if (count !== undefined) count[0] = n
  return NlriProblem.None
}

function readRd(buf: Uint8Array, p: number): RouteDistinguisher {
  const type = ((buf[p] as number) << 8) | (buf[p + 1] as number)
  if (type === 0) {
    return {
      type,
      admin: ((buf[p + 2] as number) << 8) | (buf[p + 3] as number),
      assigned: (((buf[p + 4] as number) << 24) | ((buf[p + 5] as number) << 16) | ((buf[p + 6] as number) << 8) | (buf[p + 7] as number)) >>> 0,
    }
  }
  return {
    type,
    admin: (((buf[p + 2] as number) << 24) | ((buf[p + 3] as number) << 16) | ((buf[p + 4] as number) << 8) | (buf[p + 5] as number)) >>> 0,
    assigned: ((buf[p + 6] as number) << 8) | (buf[p + 7] as number),
  }
}

export function writeRd(rd: RouteDistinguisher, buf: Uint8Array, p: number): void {
  buf[p] = (rd.type >>> 8) & 0xff
  buf[p + 1] = rd.type & 0xff
  if (rd.type === 0) {
    buf[p + 2] = (rd.admin >>> 8) & 0xff
    buf[p + 3] = rd.admin & 0xff
    buf[p + 4] = rd.assigned >>> 24
    buf[p + 5] = (rd.assigned >>> 16) & 0xff
    buf[p + 6] = (rd.assigned >>> 8) & 0xff
    buf[p + 7] = rd.assigned & 0xff
  } else {
    buf[p + 2] = rd.admin >>> 24
    buf[p + 3] = (rd.admin >>> 16) & 0xff
    buf[p + 4] = (rd.admin >>> 8) & 0xff
    buf[p + 5] = rd.admin & 0xff
    buf[p + 6] = (rd.assigned >>> 8) & 0xff
    buf[p + 7] = rd.assigned & 0xff
  }
}

/** Decodes a section already accepted by checkNlri (with the same `withdrawal`), appending to `out`. */
export function decodeNlri(f: FamilyCodec, buf: Uint8Array, pos: number, end: number, addPath: boolean, withdrawal: boolean, out: Nlri[]): void {
  let p = pos
  while (p < end) {
    let pathId = -1
    if (addPath) {
      pathId = (((buf[p] as number) << 24) | ((buf[p + 1] as number) << 16) | ((buf[p + 2] as number) << 8) | (buf[p + 3] as number)) >>> 0
      p += 4
    }
    let bits = buf[p++] as number
    let labels: number[] | undefined
    if (f.labeled) {
      labels = []
      for (;;) {
        const l = ((buf[p] as number) << 16) | ((buf[p + 1] as number) << 8) | (buf[p + 2] as number)
        labels.push(l)
        p += 3
        bits -= 24
        if (endsLabelStack(l, withdrawal)) break
      }
    }
    let rd: RouteDistinguisher | undefined
    if (f.rd) {
      rd = readRd(buf, p)
      p += 8
      bits -= 64
    }
    const prefix = new Uint8Array(f.addressBytes)
    const nb = (bits + 7) >>> 3
    prefix.set(buf.subarray(p, p + nb))
    p += nb
    const n: { -readonly [K in keyof Nlri]: Nlri[K] } = { family: f.key, prefix, length: bits }
    if (pathId >= 0) n.pathId = pathId
    if (labels !== undefined) n.labels = labels
    if (rd !== undefined) n.rd = rd
    out.push(n)
  }
}

/** Bytes one NLRI takes on the wire (path id included when `addPath`). */
export function nlriLength(f: FamilyCodec, n: Nlri, addPath: boolean): number {
  return (addPath ? 4 : 0) + 1 + (f.labeled ? 3 * Math.max(1, n.labels?.length ?? 0) : 0) + (f.rd ? 8 : 0) + ((n.length + 7) >>> 3)
}

/** Writes one NLRI; returns bytes written. A labeled NLRI without labels gets the withdraw form 0x800000. */
export function writeNlri(f: FamilyCodec, n: Nlri, addPath: boolean, buf: Uint8Array, offset: number): number {
  let p = offset
  if (addPath) {
    const id = n.pathId ?? 0
    buf[p] = id >>> 24
    buf[p + 1] = (id >>> 16) & 0xff
    buf[p + 2] = (id >>> 8) & 0xff
    buf[p + 3] = id & 0xff
    p += 4
  }
  const labels = f.labeled ? (n.labels !== undefined && n.labels.length > 0 ? n.labels : [LABEL_WITHDRAW_COMPAT]) : []
  buf[p++] = labels.length * 24 + (f.rd ? 64 : 0) + n.length
  for (const l of labels) {
    buf[p++] = (l >>> 16) & 0xff
    buf[p++] = (l >>> 8) & 0xff
    buf[p++] = l & 0xff
  }
  if (f.rd) {
    writeRd(n.rd ?? { type: 0, admin: 0, assigned: 0 }, buf, p)
    p += 8
  }
  const nb = (n.length + 7) >>> 3
  for (let i = 0; i < nb; i++) buf[p++] = n.prefix[i] ?? 0
  return p - offset
}

/** Bottom-of-stack label entry for a label value (TC 0). */
export function labelEntry(label: number, bottom = true): number {
  return ((label & 0xfffff) << 4) | (bottom ? 1 : 0)
}
/** The 20-bit label value of a wire entry. */
export function labelValue(entry: number): number {
  return entry >>> 4
}

/** `64512:100` (type 0), `10.0.0.1:5` (type 1), `4200000000:5` / `100L:5` (type 2), `type:N:admin:assigned` else. */
export function rdToString(rd: RouteDistinguisher): string {
  const a = rd.admin
  if (rd.type === 0) return `${a}:${rd.assigned}`
  if (rd.type === 1) return `${formatIpv4(a)}:${rd.assigned}`
  if (rd.type === 2) return `${a}${a <= 0xffff ? 'L' : ''}:${rd.assigned}`
  return `type${rd.type}:${a}:${rd.assigned}`
}

export function parseRd(text: string): RouteDistinguisher {
  const s = text.trim()
  const i = s.lastIndexOf(':')
  const admin = s.slice(0, i)
  const assigned = Number(s.slice(i + 1))
  const bad = (why: string): never => {
    throw new RangeError(`route distinguisher "${text}": ${why}`)
  }
  if (i < 0 || !/^\d+$/.test(s.slice(i + 1))) bad('expected ADMIN:NUMBER')
  if (admin.includes('.')) {
    if (!isIpv4(admin)) bad('bad IPv4 address')
    if (assigned > 0xffff) bad('assigned number must be 0..65535 with an IPv4 admin')
    return { type: 1, admin: parseIpv4(admin), assigned }
  }
  const long = admin.endsWith('L')
  const asText = long ? admin.slice(0, -1) : admin
  if (!/^\d+$/.test(asText) || Number(asText) > 0xffffffff) bad('admin must be an AS number or an IPv4 address')
  const as = Number(asText)
  if (long || as > 0xffff) {
    if (assigned > 0xffff) bad('assigned number must be 0..65535 with a 4-octet AS')
    return { type: 2, admin: as, assigned }
  }
  if (assigned > 0xffffffff) bad('assigned number must fit 32 bits')
  return { type: 0, admin: as, assigned }
}

function addressToString(afi: number, b: Uint8Array): string {
  if (afi === Afi.Ipv4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`
  const words: string[] = []
  for (let i = 0; i < 16; i += 2) words.push((((b[i] as number) << 8) | (b[i + 1] as number)).toString(16))
  return words.join(':').replace(/(^|:)0(:0)+(:|$)/, '::').replace(/:{3,}/, '::')
}

/** Text form for logs and the CLI: `10.0.0.0/8`, `64512:1:10.0.0.0/24 label 100`, `rtc 64512:rt:64512:7/96`. */
export function nlriToString(n: Nlri): string {
  const f = families.get(n.family)
  const afi = f?.afi ?? Afi.Ipv4
  let s: string
  if (f?.rtc) {
    if (n.length === 0) s = 'rtc default'
    else {
      const b = n.prefix
      const as = (((b[0] as number) << 24) | ((b[1] as number) << 16) | ((b[2] as number) << 8) | (b[3] as number)) >>> 0
      s = `rtc ${as}:${Buffer.from(b.subarray(4, 12)).toString('hex')}/${n.length}`
    }
  } else {
    s = `${addressToString(afi, n.prefix)}/${n.length}`
  }
  if (n.rd !== undefined) s = `${rdToString(n.rd)}:${s}`
  if (n.labels !== undefined && n.labels.length > 0) s += ` label ${n.labels.map(labelValue).join('/')}`
  if (n.pathId !== undefined) s += ` path-id ${n.pathId}`
  return s
}
