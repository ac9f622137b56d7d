/**
 * Address arithmetic for the AWS reconciler: IPv4 CIDRs as numbers, the Connect peer inside blocks
 * (AWS TGW guide "tgw-connect": a /29 of 169.254.0.0/16 minus 169.254.0.0/29-169.254.5.0/29 and
 * 169.254.169.248/29, optionally a /125 of fd00::/8; appliance = first address, TGW = second and
 * third), and the allocator that picks free blocks on a transit gateway.
 */
import { isIPv4 } from 'node:net'
import { Address6 } from 'ip-address'

export interface Cidr4 { base: number, len: number }

export function parseIpv4(s: string): number | undefined {
  if (!isIPv4(s)) return undefined
  return s.split('.').reduce((a, o) => a * 256 + Number(o), 0)
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
}

/** Parses "a.b.c.d/len"; undefined unless well formed and aligned (no host bits set). */
export function parseCidr4(s: string): Cidr4 | undefined {
  const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(s)
  if (m === null) return undefined
  const base = parseIpv4(m[1] as string)
  const len = Number(m[2])
  if (base === undefined || len > 32) return undefined
  if (base % 2 ** (32 - len) !== 0) return undefined
  return { base, len }
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
  let a: Address6
  try { a = new Address6(s) } catch { return `"${s}" is not an IPv6 CIDR block` }
  if (!s.includes('/') || a.subnetMask !== 125) return `"${s}" must be a /125`
  const n = a.bigInt()
  if ((n & 7n) !== 0n) return `"${s}" has host bits set`
  if (n >> 120n !== 0xfdn) return `"${s}" must lie in fd00::/8`
  return undefined
}

/** Canonical text of an IPv6 /125 (so "fd00:0::/125" and "fd00::/125" compare equal). */
export function canonicalCidr6(s: string): string {
  return `${new Address6(s).correctForm()}/125`
}

/** Appliance (.1) and TGW (.2, .3) inside addresses of an IPv4 /29. */
export function insideAddresses4(cidr: string): { appliance: string, tgw: string[] } {
  const c = parseCidr4(cidr)
  if (c === undefined) return { appliance: '', tgw: [] }
  return { appliance: formatIpv4(c.base + 1), tgw: [formatIpv4(c.base + 2), formatIpv4(c.base + 3)] }
}

/** Appliance (::1) and TGW (::2, ::3) inside addresses of an IPv6 /125. */
export function insideAddresses6(cidr: string): { appliance: string, tgw: string[] } {
  const base = new Address6(cidr).bigInt()
  const at = (k: bigint): string => Address6.fromBigInt(base + k).correctForm()
  return { appliance: at(1n), tgw: [at(2n), at(3n)] }
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
  const base = 0xfdn << 120n
  for (let k = 0n; k < 1n << 20n; k++) {
    const s = `${Address6.fromBigInt(base + k * 8n).correctForm()}/125`
    if (!used.has(s)) return s
  }
  return undefined
}
