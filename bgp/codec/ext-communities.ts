/**
 * EXTENDED_COMMUNITIES (RFC 4360), typed where gsi-router cares, opaque otherwise.
 *
 * Typed kinds: route target and route origin (RFC 4360 3.1-3.2, RFC 5668 4-octet AS form), tunnel
 * encapsulation (RFC 9012 4.1, type 0x03 subtype 0x0c, tunnel type in the last two octets), and the
 * Contrail (Tungsten Fabric) ones a CN2 control node attaches: security group (0x80/0x04, 0x82/0x04
 * for 4-octet AS), origin VN (0x80/0x71), tag (0x80/0x84) and load balance (0x03/0xaa, kept as bytes).
 * Everything else, and any typed-looking value whose reserved bytes are not zero, stays an `opaque`
 * 8-byte value so it re-encodes unchanged.
 *
 * Text forms follow GoBGP where it has one: `rt:64512:100`, `rt:10.0.0.1:5`, `rt:4200000000:7`
 * (`rt:100L:7` for a small ASN in the 4-octet form, Junos's spelling), `soo:...`, `encap:udp`,
 * `sg:64512:8000001`, `origin-vn:64512:5`, `tag:64512:3`, `lb:<12 hex digits>`, `raw:<16 hex digits>`.
 */
import { formatIpv4, parseIpv4 } from '../../src/lib/address.js'

export type AsForm = 'as2' | 'ipv4' | 'as4'

export type ExtendedCommunity =
  | { readonly kind: 'route-target' | 'route-origin'; readonly form: AsForm; readonly admin: number; readonly assigned: number }
  | { readonly kind: 'encapsulation'; readonly tunnelType: number }
  | { readonly kind: 'security-group'; readonly as4: boolean; readonly as: number; readonly id: number }
  | { readonly kind: 'origin-vn'; readonly as: number; readonly vnIndex: number }
  | { readonly kind: 'tag'; readonly as: number; readonly tag: number }
  | { readonly kind: 'load-balance'; readonly value: Uint8Array }
  | { readonly kind: 'opaque'; readonly bytes: Uint8Array }

/** RFC 9012 / IANA "BGP Tunnel Encapsulation Attribute Tunnel Types" (the ones CN2 knows). */
export const TunnelType = {
  gre: 2,
  vxlan: 8,
  nvgre: 9,
  mpls: 10,
  'mpls-o-gre': 11,
  'vxlan-gpe': 12,
  udp: 13, // MPLS over UDP (RFC 7510); CN2's "udp"
  native: 16,
} as const
const tunnelName = new Map<number, string>(Object.entries(TunnelType).map(([k, v]) => [v, k]))

const formType: Record<AsForm, number> = { as2: 0x00, ipv4: 0x01, as4: 0x02 }

/** Common builders. */
export function routeTarget(admin: number | string, assigned: number, form?: AsForm): ExtendedCommunity {
  if (typeof admin === 'string') return { kind: 'route-target', form: 'ipv4', admin: parseIpv4(admin, 'route target administrator'), assigned }
  return { kind: 'route-target', form: form ?? (admin > 0xffff ? 'as4' : 'as2'), admin, assigned }
}
export function encapsulation(tunnelType: number): ExtendedCommunity {
  return { kind: 'encapsulation', tunnelType }
}

function u32(b: Uint8Array, p: number): number {
  return (((b[p] as number) << 24) | ((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number)) >>> 0
}
function u16(b: Uint8Array, p: number): number {
  return ((b[p] as number) << 8) | (b[p + 1] as number)
}

/** Decodes one 8-byte extended community at `p`. */
export function decodeExtCommunity(b: Uint8Array, p: number): ExtendedCommunity {
  const type = b[p] as number
  const sub = b[p + 1] as number
  if ((sub === 0x02 || sub === 0x03) && type <= 0x02) {
    const kind = sub === 0x02 ? 'route-target' : 'route-origin'
    if (type === 0x00) return { kind, form: 'as2', admin: u16(b, p + 2), assigned: u32(b, p + 4) }
    return { kind, form: type === 0x01 ? 'ipv4' : 'as4', admin: u32(b, p + 2), assigned: u16(b, p + 6) }
  }
  if (type === 0x03 && sub === 0x0c && b[p + 2] === 0 && b[p + 3] === 0 && b[p + 4] === 0 && b[p + 5] === 0) {
    return { kind: 'encapsulation', tunnelType: u16(b, p + 6) }
  }
  if (type === 0x03 && sub === 0xaa) return { kind: 'load-balance', value: b.slice(p + 2, p + 8) }
  if (type === 0x80 && sub === 0x04) return { kind: 'security-group', as4: false, as: u16(b, p + 2), id: u32(b, p + 4) }
  if (type === 0x82 && sub === 0x04) return { kind: 'security-group', as4: true, as: u32(b, p + 2), id: u16(b, p + 6) }
  if (type === 0x80 && sub === 0x71) return { kind: 'origin-vn', as: u16(b, p + 2), vnIndex: u32(b, p + 4) }
  if (type === 0x80 && sub === 0x84) return { kind: 'tag', as: u16(b, p + 2), tag: u32(b, p + 4) }
  return { kind: 'opaque', bytes: b.slice(p, p + 8) }
}

function put16(b: Uint8Array, p: number, v: number): void {
  b[p] = (v >>> 8) & 0xff
  b[p + 1] = v & 0xff
}
function put32(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24
  b[p + 1] = (v >>> 16) & 0xff
  b[p + 2] = (v >>> 8) & 0xff
  b[p + 3] = v & 0xff
}
function asLocal(b: Uint8Array, p: number, type: number, sub: number, two: boolean, hi: number, lo: number): void {
  b[p] = type
  b[p + 1] = sub
  if (two) {
    put16(b, p + 2, hi)
    put32(b, p + 4, lo)
  } else {
    put32(b, p + 2, hi)
    put16(b, p + 6, lo)
  }
}

/** Writes one extended community (8 bytes) at `p`. */
export function writeExtCommunity(c: ExtendedCommunity, b: Uint8Array, p: number): void {
  switch (c.kind) {
    case 'route-target':
    case 'route-origin':
      asLocal(b, p, formType[c.form], c.kind === 'route-target' ? 0x02 : 0x03, c.form === 'as2', c.admin, c.assigned)
      return
    case 'encapsulation':
      b[p] = 0x03
      b[p + 1] = 0x0c
      put32(b, p + 2, 0)
      put16(b, p + 6, c.tunnelType)
      return
    case 'load-balance':
      b[p] = 0x03
      b[p + 1] = 0xaa
      b.set(c.value.subarray(0, 6), p + 2)
      return
    case 'security-group':
      asLocal(b, p, c.as4 ? 0x82 : 0x80, 0x04, !c.as4, c.as, c.id)
      return
    case 'origin-vn':
      asLocal(b, p, 0x80, 0x71, true, c.as, c.vnIndex)
      return
    case 'tag':
      asLocal(b, p, 0x80, 0x84, true, c.as, c.tag)
      return
    case 'opaque':
      b.set(c.bytes.subarray(0, 8), p)
      return
  }
}

export function decodeExtCommunities(buf: Uint8Array, start: number, len: number): ExtendedCommunity[] {
  const out: ExtendedCommunity[] = []
  for (let p = start; p + 8 <= start + len; p += 8) out.push(decodeExtCommunity(buf, p))
  return out
}

export function writeExtCommunities(cs: readonly ExtendedCommunity[], buf: Uint8Array, offset: number): number {
  for (let i = 0; i < cs.length; i++) writeExtCommunity(cs[i] as ExtendedCommunity, buf, offset + i * 8)
  return cs.length * 8
}

/** The 8 wire bytes of one community (handy as a map key after hex, or for comparison). */
export function extCommunityBytes(c: ExtendedCommunity): Uint8Array {
  const b = new Uint8Array(8)
  writeExtCommunity(c, b, 0)
  return b
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

function adminToString(form: AsForm, admin: number): string {
  if (form === 'ipv4') return formatIpv4(admin)
  if (form === 'as4' && admin <= 0xffff) return `${admin}L`
  return String(admin)
}

export function extCommunityToString(c: ExtendedCommunity): string {
  switch (c.kind) {
    case 'route-target':
      return `rt:${adminToString(c.form, c.admin)}:${c.assigned}`
    case 'route-origin':
      return `soo:${adminToString(c.form, c.admin)}:${c.assigned}`
    case 'encapsulation':
      return `encap:${tunnelName.get(c.tunnelType) ?? c.tunnelType}`
    case 'security-group':
      return `sg:${c.as}${c.as4 && c.as <= 0xffff ? 'L' : ''}:${c.id}`
    case 'origin-vn':
      return `origin-vn:${c.as}:${c.vnIndex}`
    case 'tag':
      return `tag:${c.as}:${c.tag}`
    case 'load-balance':
      return `lb:${hex(c.value)}`
    case 'opaque':
      return `raw:${hex(c.bytes)}`
  }
}

function num(text: string, field: string, max: number, whole: string): number {
  if (!/^\d+$/.test(text) || Number(text) > max) throw new RangeError(`extended community "${whole}": ${field} must be 0..${max}`)
  return Number(text)
}

/** Parses the forms extCommunityToString writes. Throws RangeError naming the part that is wrong. */
export function parseExtCommunity(text: string): ExtendedCommunity {
  const s = text.trim()
  const colon = s.indexOf(':')
  const prefix = colon < 0 ? '' : s.slice(0, colon).toLowerCase()
  const rest = s.slice(colon + 1)
  switch (prefix) {
    case 'rt':
    case 'target':
    case 'soo':
    case 'origin': {
      const kind = prefix === 'rt' || prefix === 'target' ? 'route-target' : 'route-origin'
      const i = rest.lastIndexOf(':')
      if (i < 0) throw new RangeError(`extended community "${text}": expected ${prefix}:ADMIN:NUMBER`)
      const adminText = rest.slice(0, i)
      const local = rest.slice(i + 1)
      if (adminText.includes('.')) {
        return { kind, form: 'ipv4', admin: parseIpv4(adminText, `extended community "${text}"`), assigned: num(local, 'assigned number', 0xffff, text) }
      }
      const long = adminText.endsWith('L') || adminText.endsWith('l')
      const admin = num(long ? adminText.slice(0, -1) : adminText, 'AS number', 0xffffffff, text)
      if (long || admin > 0xffff) return { kind, form: 'as4', admin, assigned: num(local, 'assigned number', 0xffff, text) }
      return { kind, form: 'as2', admin, assigned: num(local, 'assigned number', 0xffffffff, text) }
    }
    case 'encap': {
      const t = (TunnelType as Record<string, number>)[rest.toLowerCase()]
      return { kind: 'encapsulation', tunnelType: t ?? num(rest, 'tunnel type', 0xffff, text) }
    }
    case 'sg': {
      const [a = '', id = ''] = rest.split(':')
      const long = a.endsWith('L')
      const as = num(long ? a.slice(0, -1) : a, 'AS number', 0xffffffff, text)
      if (long || as > 0xffff) return { kind: 'security-group', as4: true, as, id: num(id, 'security group id', 0xffff, text) }
      return { kind: 'security-group', as4: false, as, id: num(id, 'security group id', 0xffffffff, text) }
    }
    case 'origin-vn': {
      const [a = '', v = ''] = rest.split(':')
      return { kind: 'origin-vn', as: num(a, 'AS number', 0xffff, text), vnIndex: num(v, 'VN index', 0xffffffff, text) }
    }
    case 'tag': {
      const [a = '', v = ''] = rest.split(':')
      return { kind: 'tag', as: num(a, 'AS number', 0xffff, text), tag: num(v, 'tag', 0xffffffff, text) }
    }
    case 'lb':
    case 'raw': {
      const want = prefix === 'lb' ? 12 : 16
      if (!new RegExp(`^[0-9a-fA-F]{${want}}$`).test(rest)) throw new RangeError(`extended community "${text}": expected ${want} hex digits`)
      const bytes = Uint8Array.from(Buffer.from(rest, 'hex'))
      return prefix === 'lb' ? { kind: 'load-balance', value: bytes } : decodeOpaque(bytes)
    }
    default:
      throw new RangeError(`extended community "${text}": unknown kind "${prefix}" (rt, soo, encap, sg, origin-vn, tag, lb, raw)`)
  }
}

/** A `raw:` value decodes to whatever type its bytes are, so text round trips stay canonical. */
function decodeOpaque(bytes: Uint8Array): ExtendedCommunity {
  return decodeExtCommunity(bytes, 0)
}
