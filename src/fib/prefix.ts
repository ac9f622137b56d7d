/**
 * IP addresses and prefixes as the FIB writer, gre/ and mplsoudp/ need them: parse, validate,
 * canonicalise (RFC 5952 text for IPv6, so that a prefix read back from the kernel compares equal to
 * the one we asked for), and the little arithmetic the Connect peer's inside CIDRs need (first host).
 *
 * Pure: no I/O. Errors are `AddressError`s naming the field and the reason.
 */

import { formatAddress as formatNetlinkAddress, parseIpv4Into, parseIpv6 } from '../netlink/address.js'

export class AddressError extends Error {
  readonly code = 'ERR_ADDRESS'
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`)
    this.name = 'AddressError'
  }
}

export type Family = 4 | 6

export interface Prefix {
  readonly family: Family
  /** Network address bytes (4 or 16), host bits zero. */
  readonly bytes: Uint8Array
  readonly length: number
  /** Canonical text: `a.b.c.d/n` or RFC 5952 `x::y/n`. */
  readonly text: string
}

// Address text <-> bytes is src/netlink/address.ts's (one parser for the whole data plane); these
// names are the FIB's view of it.

/** Parses dotted-quad IPv4 into 4 bytes, or undefined when it is not one (leading zeros refused). */
export function parseIPv4(text: string): Uint8Array | undefined {
  const out = new Uint8Array(4)
  return parseIpv4Into(text, out, 0) ? out : undefined
}

/** Parses IPv6 text (with `::` and an optional trailing dotted quad) into 16 bytes. */
export const parseIPv6: (text: string) => Uint8Array | undefined = parseIpv6

export const formatIPv4: (b: Uint8Array) => string = formatNetlinkAddress

/** RFC 5952: lower case, no leading zeros, the longest run (>= 2) of zero groups as `::`. */
export const formatIPv6: (b: Uint8Array) => string = formatNetlinkAddress

export const formatAddress: (b: Uint8Array) => string = formatNetlinkAddress

export function parseAddress(text: string, field: string): { family: Family; bytes: Uint8Array; text: string } {
  if (typeof text !== 'string') throw new AddressError(field, `expected an IP address string, got ${typeof text}`)
  const v4 = parseIPv4(text)
  if (v4) return { family: 4, bytes: v4, text: formatIPv4(v4) }
  const v6 = parseIPv6(text)
  if (v6) return { family: 6, bytes: v6, text: formatIPv6(v6) }
  throw new AddressError(field, `"${text}" is not an IPv4 or IPv6 address`)
}

export function parseIPv4Address(text: string, field: string): string {
  const a = parseAddress(text, field)
  if (a.family !== 4) throw new AddressError(field, `"${text}" is not an IPv4 address`)
  return a.text
}

/**
 * Parses `addr/len`. With `strict` (the default) host bits must be zero, as a route's destination
 * must; otherwise they are cleared.
 */
export function parsePrefix(text: string, field: string, strict = true): Prefix {
  if (typeof text !== 'string') throw new AddressError(field, `expected a prefix string, got ${typeof text}`)
  const slash = text.indexOf('/')
  if (slash < 0) throw new AddressError(field, `"${text}" has no prefix length (expected address/length)`)
  const addr = parseAddress(text.slice(0, slash), field)
  const lenText = text.slice(slash + 1)
  const max = addr.family === 4 ? 32 : 128
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText) || Number(lenText) > max) {
    throw new AddressError(field, `"${text}" has a bad prefix length (0-${max})`)
  }
  const length = Number(lenText)
  const bytes = addr.bytes.slice()
  const hostBits = clearHostBits(bytes, length)
  if (hostBits && strict) throw new AddressError(field, `"${text}" has host bits set (network is ${formatAddress(bytes)}/${length})`)
  return { family: addr.family, bytes, length, text: `${formatAddress(bytes)}/${length}` }
}

/** Clears bits after `length` in place; returns whether any were set. */
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

// First-host arithmetic and containment are src/netlink/address.ts's, shared with gre/.
export { nthAddress, prefixContains } from '../netlink/address.js'
