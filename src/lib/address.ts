/**
 * IP addresses and prefixes, the one module for them: parse and validate IPv4 (RFC 791 dotted quad)
 * and IPv6 (RFC 4291 2.2 text forms, `::` and an embedded dotted quad) text, format canonical text
 * (RFC 5952 for IPv6: lower case, no leading zeros, the longest run of two or more zero groups as
 * `::`, the first one on a tie), prefixes `address/length`, the family test, containment and the n-th
 * address of a prefix.
 *
 * IPv6 text is parsed by the `ip-address` package, which knows every RFC 4291 form. IPv4 text and
 * all formatting are written out here without regular expressions or BigInt, because the netlink
 * encoder and the RIB's route display run them per route (a million routes at a time); the tests hold
 * the formatter to `ip-address`'s own canonical form.
 *
 * Numeric forms for hot paths: an IPv4 address as a uint32 (`parseIpv4`, `formatIpv4`), an IPv6
 * address as four uint32 words, most significant first (`parseIpv6Words`, `formatIpv6Words`), as the
 * RIB keys them. Everything else is network-order bytes (4 or 16).
 *
 * Layer: src/lib is the leaf of the repository; this file imports nothing from the repo. Errors are
 * `AddressError`s naming the field and the reason, e.g. `gateway: "10.0.0.256" is not an IPv4 address`.
 */
import { Address6 } from 'ip-address'

/** The IP version of an address or prefix (not BGP's AFI/SAFI, which bgp/ calls `Family`). */
export type IpFamily = 4 | 6

export class AddressError extends Error {
  readonly code = 'ERR_ADDRESS'
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`)
    this.name = 'AddressError'
  }
}

export interface IpAddress {
  readonly family: IpFamily
  /** Network-order bytes: 4 or 16. */
  readonly bytes: Uint8Array
  /** Canonical text: dotted quad or RFC 5952. */
  readonly text: string
}

export interface IpPrefix extends IpAddress {
  /** Prefix length: 0-32 or 0-128. `bytes` holds the network address (host bits zero). */
  readonly length: number
  /** Canonical `address/length`. */
  readonly text: string
}

// ---------------------------------------------------------------- family test

/** Whether `text` is a dotted-quad IPv4 address (four decimal octets, no leading zeros). */
export function isIpv4(text: string): boolean {
  return parseIpv4Into(text, scratch4, 0)
}

/** Whether `text` is an IPv6 address in any RFC 4291 text form (no zone, no prefix length). */
export function isIpv6(text: string): boolean {
  return ipv6OrUndefined(text) !== undefined
}

/**
 * The IP version of an address or a prefix's text (`10.0.0.0/8`, `fd00::1`), or undefined when it is
 * neither. Only the address part is checked, not the length.
 */
export function ipFamilyOf(text: string): IpFamily | undefined {
  const slash = text.indexOf('/')
  const address = slash < 0 ? text : text.slice(0, slash)
  if (isIpv4(address)) return 4
  if (isIpv6(address)) return 6
  return undefined
}

// ---------------------------------------------------------------- IPv4

const scratch4 = new Uint8Array(4)

/**
 * Parses a dotted quad into `out[offset..offset+3]`; false when `text` is not one. Leading zeros are
 * refused, since some parsers read them as octal. For encoders that write straight into a message.
 */
export function parseIpv4Into(text: string, out: Uint8Array, offset: number): boolean {
  let part = 0
  let digits = 0
  let n = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 46) {
      if (digits === 0 || part === 3) return false
      out[offset + part++] = n
      n = 0
      digits = 0
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && n === 0) return false
      n = n * 10 + c - 48
      if (++digits > 3 || n > 255) return false
    } else {
      return false
    }
  }
  if (digits === 0 || part !== 3) return false
  out[offset + 3] = n
  return true
}

/** IPv4 text to a uint32; throws an AddressError naming `field`. */
export function parseIpv4(text: string, field = 'address'): number {
  if (typeof text !== 'string' || !parseIpv4Into(text, scratch4, 0)) throw notAn(field, text, 'an IPv4 address')
  return ipv4Word(scratch4, 0)
}

/** A uint32 IPv4 address as a dotted quad. */
export function formatIpv4(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`
}

/** Four bytes at `offset` as a uint32. */
export function ipv4Word(b: Uint8Array, offset = 0): number {
  return (((b[offset] as number) << 24) | ((b[offset + 1] as number) << 16) | ((b[offset + 2] as number) << 8) | (b[offset + 3] as number)) >>> 0
}

/** A uint32 IPv4 address as four network-order bytes. */
export function ipv4Bytes(a: number): Uint8Array {
  return Uint8Array.of(a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff)
}

/** Mask of the top `length` bits of a 32-bit word (lengths outside 0..32 are clamped). */
export function wordMask(length: number): number {
  if (length <= 0) return 0
  if (length >= 32) return 0xffffffff
  return (0xffffffff << (32 - length)) >>> 0
}

/** An IPv4 address as IPv4-mapped IPv6 text (`::ffff:a.b.c.d`, RFC 4291 2.5.5.2). */
export function mappedIpv6(ipv4: string): string {
  return `::ffff:${ipv4}`
}

// ---------------------------------------------------------------- IPv6

function ipv6OrUndefined(text: string): Uint8Array | undefined {
  // ip-address also takes "addr/len" and "addr%zone"; an address here is neither.
  if (typeof text !== 'string' || !text.includes(':') || text.includes('/') || text.includes('%')) return undefined
  let parsed: Address6
  try {
    parsed = new Address6(text)
  } catch {
    return undefined
  }
  // The eight groups as the parser found them (an embedded dotted quad already turned into two).
  // Reading them skips Address6.isValid (a second parse) and toUnsignedByteArray (BigInt): several
  // times cheaper, and the netlink encoder parses every IPv6 route's destination and gateway.
  const groups = parsed.parsedAddress
  if (groups.length !== 8) return undefined
  const out = new Uint8Array(16)
  for (let i = 0; i < 8; i++) {
    const g = groups[i] as string
    const v = parseInt(g, 16)
    if (g.length === 0 || g.length > 4 || !(v >= 0 && v <= 0xffff)) return undefined
    out[2 * i] = v >> 8
    out[2 * i + 1] = v & 0xff
  }
  return out
}

/** IPv6 text (any RFC 4291 2.2 form) to 16 bytes; throws an AddressError naming `field`. */
export function parseIpv6(text: string, field = 'address'): Uint8Array {
  const b = ipv6OrUndefined(text)
  if (b === undefined) throw notAn(field, text, 'an IPv6 address')
  return b
}

/** IPv6 text to four uint32 words, most significant first (the RIB's key form). */
export function parseIpv6Words(text: string, field = 'address'): [number, number, number, number] {
  const b = parseIpv6(text, field)
  return [ipv4Word(b, 0), ipv4Word(b, 4), ipv4Word(b, 8), ipv4Word(b, 12)]
}

/** Four uint32 words (most significant first) as RFC 5952 text. */
export function formatIpv6Words(w0: number, w1: number, w2: number, w3: number): string {
  return formatGroups([w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff])
}

/** 16 bytes at `offset` as RFC 5952 text. */
export function formatIpv6(b: Uint8Array, offset = 0): string {
  const g: number[] = []
  for (let i = 0; i < 8; i++) g.push(((b[offset + 2 * i] as number) << 8) | (b[offset + 2 * i + 1] as number))
  return formatGroups(g)
}

function formatGroups(g: number[]): string {
  let bestStart = -1
  let bestLength = 1 // RFC 5952 4.2.2: a single zero group is not shortened
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLength) {
      bestStart = i
      bestLength = j - i
    }
    i = j
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':')
  if (bestStart < 0) return hex(g)
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLength))}`
}

// ---------------------------------------------------------------- either family

/** Address bytes (4 or 16, from `offset`) as canonical text; throws RangeError on another length. */
export function formatAddress(b: Uint8Array, offset = 0, length = b.length - offset): string {
  if (length === 4) return formatIpv4(ipv4Word(b, offset))
  if (length === 16) return formatIpv6(b, offset)
  throw new RangeError(`an address of ${length} bytes is neither IPv4 nor IPv6`)
}

/** Parses an IPv4 or IPv6 address; `family` restricts it to one version. */
export function parseAddress(text: string, field = 'address', family?: IpFamily): IpAddress {
  if (typeof text !== 'string') throw new AddressError(field, `expected an IP address string, got ${typeof text}`)
  const address = tryParseAddress(text, family)
  if (address !== undefined) return address
  throw notAn(field, text, family === 4 ? 'an IPv4 address' : family === 6 ? 'an IPv6 address' : 'an IPv4 or IPv6 address')
}

/** `parseAddress` for callers that word their own error: undefined when `text` is not an address. */
export function tryParseAddress(text: string, family?: IpFamily): IpAddress | undefined {
  if (typeof text !== 'string') return undefined
  if (family !== 6) {
    const v4 = new Uint8Array(4)
    if (parseIpv4Into(text, v4, 0)) return { family: 4, bytes: v4, text: formatIpv4(ipv4Word(v4)) }
  }
  if (family !== 4) {
    const v6 = ipv6OrUndefined(text)
    if (v6 !== undefined) return { family: 6, bytes: v6, text: formatIpv6(v6) }
  }
  return undefined
}

/** The canonical text of an address (so `2001:DB8:0::1` and `2001:db8::1` compare equal). */
export function canonicalAddress(text: string, field = 'address', family?: IpFamily): string {
  return parseAddress(text, field, family).text
}

export interface ParsePrefixOptions {
  /** A bare address is a host prefix (/32, /128). Default false: the length is required. */
  readonly bareAddress?: boolean
  /** Clear host bits past the length instead of refusing them (default false: a route's
   * destination, a CIDR block or a prefix-list entry must not have any). */
  readonly clearHostBits?: boolean
  /** Only this IP version. */
  readonly family?: IpFamily
}

/** Parses `address/length` (IPv4 or IPv6); host bits must be zero unless `clearHostBits`. */
export function parsePrefix(text: string, field = 'prefix', options: ParsePrefixOptions = {}): IpPrefix {
  if (typeof text !== 'string') throw new AddressError(field, `expected a prefix string, got ${typeof text}`)
  const slash = text.indexOf('/')
  if (slash < 0 && options.bareAddress !== true) throw new AddressError(field, `"${text}" has no prefix length (expected address/length)`)
  const address = parseAddress(slash < 0 ? text : text.slice(0, slash), field, options.family)
  const max = address.family === 4 ? 32 : 128
  let length = max
  if (slash >= 0) {
    const lengthText = text.slice(slash + 1)
    if (!isDecimal(lengthText) || Number(lengthText) > max) throw new AddressError(field, `"${text}" has a bad prefix length (0-${max})`)
    length = Number(lengthText)
  }
  const bytes = address.bytes
  if (clearHostBits(bytes, length) && options.clearHostBits !== true) {
    throw new AddressError(field, `"${text}" has host bits set (network is ${formatAddress(bytes)}/${length})`)
  }
  return { family: address.family, bytes, length, text: `${formatAddress(bytes)}/${length}` }
}

/** The canonical text of a prefix (`fd00:0::/125` -> `fd00::/125`). */
export function canonicalPrefix(text: string, field = 'prefix', options: ParsePrefixOptions = {}): string {
  return parsePrefix(text, field, options).text
}

/** Whether `inner` (a prefix or an address) lies inside `outer`: same family, at least as long, and
 * the same first `outer.length` bits. */
export function prefixContains(outer: IpPrefix, inner: IpPrefix | IpAddress): boolean {
  const innerLength = 'length' in inner ? inner.length : inner.bytes.length * 8
  if (outer.family !== inner.family || innerLength < outer.length) return false
  const copy = inner.bytes.slice()
  clearHostBits(copy, outer.length)
  return copy.every((b, i) => b === outer.bytes[i])
}

/** Whether two prefixes share any address (one contains the other). */
export function prefixesOverlap(a: IpPrefix, b: IpPrefix): boolean {
  return prefixContains(a, b) || prefixContains(b, a)
}

/**
 * The `n`-th address of a prefix, counting the network address as 0 (n = 1 is the first host), as
 * canonical text. Throws an AddressError when n is not an integer inside the prefix.
 */
export function nthAddress(prefix: IpPrefix, n: number, field = 'prefix'): string {
  const hostBits = prefix.bytes.length * 8 - prefix.length
  if (!Number.isSafeInteger(n) || n < 0 || (hostBits < 53 && n >= 2 ** hostBits)) {
    throw new AddressError(field, `address number ${n} is outside ${prefix.text}`)
  }
  const bytes = prefix.bytes.slice()
  let carry = n
  for (let i = bytes.length - 1; i >= 0 && carry > 0; i--) {
    const v = (bytes[i] as number) + (carry % 256)
    bytes[i] = v & 0xff
    carry = Math.floor(carry / 256) + (v >> 8)
  }
  return formatAddress(bytes)
}

// ---------------------------------------------------------------- helpers

/** Clears the bits after `length` in place; returns whether any was set. */
function clearHostBits(bytes: Uint8Array, length: number): boolean {
  let any = false
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, length - 8 * i))
    const mask = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff
    if (((bytes[i] as number) & ~mask & 0xff) !== 0) any = true
    bytes[i] = (bytes[i] as number) & mask
  }
  return any
}

/** 0 or a decimal without leading zeros, at most three digits. */
function isDecimal(s: string): boolean {
  if (s.length === 0 || s.length > 3 || (s.length > 1 && s.charCodeAt(0) === 48)) return false
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return false
  }
  return true
}

function notAn(field: string, text: unknown, what: string): AddressError {
  return new AddressError(field, `${JSON.stringify(text)} is not ${what}`)
}
