/**
 * The FIB writer's, gre/'s and mplsoudp/'s names for IP addresses and prefixes. The work is done by
 * src/lib/address.ts (the repository's one address module); this file only keeps the names these
 * folders already import, so moving them does not touch every importer at once. New code imports
 * src/lib/address.ts directly.
 */
import {
  canonicalAddress, parseAddress as parseIpAddress, parsePrefix as parseIpPrefix, parseIpv4Into, type IpFamily,
  type IpPrefix,
} from '../lib/address.js'

export { AddressError, formatAddress, nthAddress, prefixContains, type IpFamily } from '../lib/address.js'

export type Prefix = IpPrefix

/** Dotted-quad IPv4 to 4 bytes, or undefined when it is not one (leading zeros refused). */
export function parseIPv4(text: string): Uint8Array | undefined {
  const out = new Uint8Array(4)
  return parseIpv4Into(text, out, 0) ? out : undefined
}

export function parseAddress(text: string, field: string): { family: IpFamily; bytes: Uint8Array; text: string } {
  return parseIpAddress(text, field)
}

/** An IPv4 address's canonical text; an AddressError naming `field` otherwise. */
export function parseIPv4Address(text: string, field: string): string {
  // Any address first, so text that is no address at all says so rather than "not IPv4".
  const a = parseIpAddress(text, field)
  return a.family === 4 ? a.text : canonicalAddress(text, field, 4)
}

/** `addr/len`; with `strict` (the default) host bits must be zero, otherwise they are cleared. */
export function parsePrefix(text: string, field: string, strict = true): Prefix {
  return parseIpPrefix(text, field, { clearHostBits: !strict })
}
