/**
 * Prefixes as the gateway logic needs them: parsed once into words for containment tests (is this
 * imported pod route inside an exposed CIDR?), an order key that sorts by (family, address, length)
 * as plain string comparison (the quota guard's deterministic order), the IP part of a VPN route's
 * text (`RD:prefix`, RFC 4364 4.2 text forms), and unicast / VPN NLRI objects for origination.
 *
 * Text comes from the RIB in canonical form (dotted quads, RFC 5952 IPv6), so equal prefixes are
 * equal strings; configured CIDRs are canonicalised here the same way.
 */
import { Family } from '../../bgp/codec/afi.js'
import { labelEntry, type Nlri, type RouteDistinguisher } from '../../bgp/codec/nlri.js'
import { formatIpv4 as ipv4Text, formatIpv6Words as ipv6Text, parseIpv4, parseIpv6Words as parseIpv6 } from '../lib/address.js'

/** Mask of the top `len` bits of a 32-bit word (clamped to 0..32). */
function wordMaskOf(len: number): number {
  if (len <= 0) return 0
  if (len >= 32) return 0xffffffff
  return (0xffffffff << (32 - len)) >>> 0
}

export class GatewayConfigError extends Error {
  readonly code = 'ERR_GATEWAY_CONFIG'
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`)
    this.name = 'GatewayConfigError'
  }
}

export interface ParsedPrefix {
  /** 4 or 6. */
  readonly family: 4 | 6
  /** Address words, most significant first (one for IPv4, four for IPv6), host bits zeroed. */
  readonly words: readonly number[]
  readonly length: number
  /** Canonical text. */
  readonly text: string
}

/** Parses `a.b.c.d/n` or `v6/n`; throws RangeError naming the text and the reason. Host bits must be zero
 * unless `loose` (the RIB already masks what it holds). */
export function parsePrefix(text: string, loose = false): ParsedPrefix {
  const slash = text.indexOf('/')
  if (slash < 0) throw new RangeError(`"${text}" is not a prefix (expected ADDRESS/LENGTH)`)
  const addr = text.slice(0, slash)
  const lenText = text.slice(slash + 1)
  if (!/^\d{1,3}$/.test(lenText)) throw new RangeError(`"${text}": length "${lenText}" is not a number`)
  const length = Number(lenText)
  const v6 = addr.includes(':')
  const max = v6 ? 128 : 32
  if (length > max) throw new RangeError(`"${text}": length ${length} exceeds ${max}`)
  const raw = v6 ? parseIpv6(addr) : [parseIpv4(addr)]
  const words = raw.map((w, i) => (w & wordMaskOf(length - 32 * i)) >>> 0)
  if (!loose && words.some((w, i) => w !== raw[i])) throw new RangeError(`"${text}": host bits are set (did you mean ${prefixText(v6 ? 6 : 4, words, length)}?)`)
  return { family: v6 ? 6 : 4, words, length, text: prefixText(v6 ? 6 : 4, words, length) }
}

function prefixText(family: 4 | 6, w: readonly number[], length: number): string {
  return family === 4 ? `${ipv4Text(w[0] as number)}/${length}` : `${ipv6Text(w[0] as number, w[1] as number, w[2] as number, w[3] as number)}/${length}`
}

/**
 * A key whose string order is (tier, family, address, length): `tier` first (the quota guard puts
 * aggregates before more-specifics), IPv4 before IPv6, addresses as fixed-width hex, then length.
 */
export function orderKey(tier: 'a' | 'm', p: ParsedPrefix): string {
  return wordsOrderKey(tier, p.family, p.words, p.length)
}

/** orderKey of a prefix given as words (one for IPv4, four for IPv6: the first that many are read). */
export function wordsOrderKey(tier: 'a' | 'm', family: 4 | 6, words: ArrayLike<number>, length: number): string {
  let s = tier + (family === 4 ? '4' : '6')
  for (let i = 0; i < (family === 4 ? 1 : 4); i++) s += ((words[i] as number) + 0x100000000).toString(16).slice(1)
  return s + (length + 1000).toString().slice(1)
}

/** Words of the last scanPrefix(); valid until the next call (no allocation per route). */
export const scanned = { family: 4 as 4 | 6, length: 0, words: new Uint32Array(4) }

/**
 * Parses the canonical prefix text the RIB writes, from `start`, into `scanned` without allocating
 * (IPv4: digits and dots by hand; IPv6 through the RIB's parser). Returns false when it is not a prefix.
 */
export function scanPrefix(text: string, start: number): boolean {
  const w = scanned.words
  const slash = text.indexOf('/', start)
  if (slash < 0) return false
  const length = Number(text.slice(slash + 1))
  if (text.indexOf(':', start) >= 0 && text.indexOf(':', start) < slash) {
    let v: number[]
    try {
      v = parseIpv6(text.slice(start, slash))
    } catch {
      return false
    }
    if (!(length >= 0 && length <= 128)) return false
    for (let i = 0; i < 4; i++) w[i] = ((v[i] as number) & wordMaskOf(length - 32 * i)) >>> 0
    scanned.family = 6
    scanned.length = length
    return true
  }
  let a = 0
  let octet = 0
  let dots = 0
  for (let i = start; i < slash; i++) {
    const ch = text.charCodeAt(i)
    if (ch === 46) {
      a = a * 256 + octet
      octet = 0
      dots++
    } else if (ch >= 48 && ch <= 57) {
      octet = octet * 10 + (ch - 48)
      if (octet > 255) return false
    } else return false
  }
  if (dots !== 3 || !(length >= 0 && length <= 32)) return false
  w[0] = ((a * 256 + octet) & wordMaskOf(length)) >>> 0
  w[1] = w[2] = w[3] = 0
  scanned.family = 4
  scanned.length = length
  return true
}

/** Index just past the route distinguisher of a VPN route's text (`64512:7:10.0.0.0/24`,
 * `10.0.0.1:5:2001:db8::/64`, `type3:1:2:...`): the RD has one colon, or two after `typeN`. */
export function vpnPrefixStart(text: string): number {
  let colons = text.startsWith('type') ? 3 : 2
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) === 58 && --colons === 0) return i + 1
  }
  throw new RangeError(`"${text}" is not a VPN route (expected RD:PREFIX)`)
}

function prefixBytes(p: ParsedPrefix): Uint8Array {
  const b = new Uint8Array(p.family === 4 ? 4 : 16)
  p.words.forEach((w, i) => {
    b[4 * i] = w >>> 24
    b[4 * i + 1] = (w >>> 16) & 0xff
    b[4 * i + 2] = (w >>> 8) & 0xff
    b[4 * i + 3] = w & 0xff
  })
  return b
}

/** IPv4 or IPv6 unicast NLRI of a prefix. */
export function unicastNlri(p: ParsedPrefix): Nlri {
  return { family: p.family === 4 ? Family.Ipv4Unicast : Family.Ipv6Unicast, prefix: prefixBytes(p), length: p.length }
}

/** VPN-IPv4 or VPN-IPv6 NLRI (RFC 4364 4.3.4, RFC 4659) with one label. */
export function vpnNlri(p: ParsedPrefix, rd: RouteDistinguisher, label: number): Nlri {
  return { family: p.family === 4 ? Family.Ipv4Vpn : Family.Ipv6Vpn, prefix: prefixBytes(p), length: p.length, rd, labels: [labelEntry(label)] }
}

/** The IPv4 address a VPN next hop names: itself, or the IPv4 inside an IPv4-mapped IPv6 next hop
 * (`::ffff:a.b.c.d`, how VPN-IPv6 routes carry an IPv4 tunnel endpoint, RFC 4659 3.2.1.1); '' when
 * the next hop is no IPv4 address. The RIB hands next hops out as src/lib/address formats them,
 * which spells the mapped IPv4 part in hex (`::ffff:c612:6401`): both spellings are read. */
export function ipv4NextHop(nextHop: string): string {
  const nh = nextHop.includes(',') ? nextHop.slice(0, nextHop.indexOf(',')) : nextHop
  if (nh.startsWith('::ffff:')) {
    if (nh.includes('.')) return nh.slice(7)
    const m = MAPPED_HEX.exec(nh)
    if (m === null) return ''
    const hi = parseInt(m[1] as string, 16)
    const lo = parseInt(m[2] as string, 16)
    return ipv4Text(((hi << 16) | lo) >>> 0)
  }
  if (!nh.includes(':') && nh.includes('.')) return nh
  return ''
}

const MAPPED_HEX = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/
