/**
 * Address arithmetic for the AWS reconciler: IPv4 CIDRs as numbers, the Connect peer inside blocks
 * (AWS TGW guide "tgw-connect": a /29 of 169.254.0.0/16 minus 169.254.0.0/29-169.254.5.0/29 and
 * 169.254.169.248/29, optionally a /125 of fd00::/8; appliance = first address, TGW = second and
 * third), and the allocator that picks free blocks on a transit gateway. Address text is
 * src/lib/address.ts's; the numbers here are for the allocator's arithmetic.
 */
import { AddressError, formatIpv4, ipv4Word, nthAddress, parsePrefix, type IpFamily, type IpPrefix } from '../../src/lib/address.js'

/** An IPv4 CIDR block as numbers, for the allocator's arithmetic over 169.254.0.0/16. */
export interface Cidr4 { base: number, len: number }

/** Parses "a.b.c.d/len"; undefined unless well formed and aligned (no host bits set). */
export function parseCidr4(s: string): Cidr4 | undefined {
  const p = prefixOrUndefined(s, 4)
  return p === undefined ? undefined : { base: ipv4Word(p.bytes), len: p.length }
}

export function cidrContains(c: Cidr4, addr: number): boolean {
  return addr >= c.base && addr < c.base + 2 ** (32 - c.len)
}

export function cidrOverlap(a: Cidr4, b: Cidr4): boolean {
  return cidrContains(a, b.base) || cidrContains(b, a.base)
}

export const LINK_LOCAL: Cidr4 = { base: 0xa9fe0000, len: 16 }

/** The /29s AWS refuses as Connect peer inside blocks. */
export const RESERVED_INSIDE_CIDRS: readonly string[] = [
  '169.254.0.0/29', '169.254.1.0/29', '169.254.2.0/29', '169.254.3.0/29', '169.254.4.0/29', '169.254.5.0/29',
  '169.254.169.248/29',
]

/** Why an IPv4 inside block is unacceptable, or undefined if AWS would take it. */
export function insideCidr4Problem(s: string): string | undefined {
  const c = parseCidr4(s)
  if (c === undefined) return `"${s}" is not an IPv4 CIDR block (a.b.c.d/29, no host bits set)`
  if (c.len !== 29) return `"${s}" must be a /29`
  if (!cidrContains(LINK_LOCAL, c.base)) return `"${s}" must lie in 169.254.0.0/16`
  if (RESERVED_INSIDE_CIDRS.includes(s)) {
    return `"${s}" is reserved by AWS (169.254.0.0/29 through 169.254.5.0/29 and 169.254.169.248/29 cannot be used)`
  }
  return undefined
}

/** Why an IPv6 inside block is unacceptable, or undefined. */
export function insideCidr6Problem(s: string): string | undefined {
  const loose = prefixOrUndefined(s, 6, true)
  if (loose === undefined) return `"${s}" is not an IPv6 CIDR block`
  if (loose.length !== 125) return `"${s}" must be a /125`
  if (prefixOrUndefined(s, 6) === undefined) return `"${s}" has host bits set`
  if (loose.bytes[0] !== 0xfd) return `"${s}" must lie in fd00::/8`
  return undefined
}

/** Canonical text of an IPv6 block (so "fd00:0::/125" and "fd00::/125" compare equal). */
export function canonicalCidr6(s: string): string {
  return parsePrefix(s, 'insideCidrIpv6', { family: 6 }).text
}

/** Appliance (.1) and TGW (.2, .3) inside addresses of an IPv4 /29. */
export function insideAddresses4(cidr: string): { appliance: string, tgw: string[] } {
  const p = prefixOrUndefined(cidr, 4)
  if (p === undefined) return { appliance: '', tgw: [] }
  return { appliance: nthAddress(p, 1), tgw: [nthAddress(p, 2), nthAddress(p, 3)] }
}

/** Appliance (::1) and TGW (::2, ::3) inside addresses of an IPv6 /125. */
export function insideAddresses6(cidr: string): { appliance: string, tgw: string[] } {
  const p = parsePrefix(cidr, 'insideCidrIpv6', { family: 6, clearHostBits: true })
  return { appliance: nthAddress(p, 1), tgw: [nthAddress(p, 2), nthAddress(p, 3)] }
}

/** Where allocation starts: above 169.254.0.0-169.254.5.255, whose /29s at .0 AWS reserves; the other
 * /29s in those /24s are allowed by AWS, but skipping the whole range keeps clear of any reading of
 * "169.254.0.0/29 through 169.254.5.0/29" (a user may still ask for one explicitly). */
const ALLOCATION_START = 0xa9fe0600

/**
 * The lowest free IPv4 inside /29 on a TGW, scanning from 169.254.6.0 upward and skipping the
 * reserved ones and `used` (the canonical strings of every block in use on that TGW). Lowest-first
 * makes the choice deterministic, so two controllers (or a restarted one) agree.
 */
export function allocateInside4(used: ReadonlySet<string>): string | undefined {
  for (let b = ALLOCATION_START; b < LINK_LOCAL.base + 65536; b += 8) {
    const s = `${formatIpv4(b)}/29`
    if (!used.has(s) && !RESERVED_INSIDE_CIDRS.includes(s)) return s
  }
  return undefined
}

/** The lowest free IPv6 inside /125 in fd00::/120 (plenty for 4 peers per attachment). */
export function allocateInside6(used: ReadonlySet<string>): string | undefined {
  const base = parsePrefix('fd00::/8', 'allocation base')
  for (let k = 0; k < 2 ** 20; k++) {
    const s = `${nthAddress(base, k * 8)}/125`
    if (!used.has(s)) return s
  }
  return undefined
}

/** A prefix of that family, or undefined when `s` is none (the callers word their own reasons). */
function prefixOrUndefined(s: string, family: IpFamily, clearHostBits = false): IpPrefix | undefined {
  try {
    return parsePrefix(s, 'cidr', { family, clearHostBits })
  } catch (e) {
    if (e instanceof AddressError) return undefined
    throw e
  }
}
