/**
 * Per-socket IP options for BGP sessions, set through the `sockopt` package (setsockopt on the
 * socket's file descriptor, integer options only):
 *
 * - TTL of what we send (IP_TTL, IPv6: IPV6_UNICAST_HOPS). Multihop eBGP, such as the AWS Transit
 *   Gateway Connect peers two hops away, needs 2 or more.
 * - GTSM (RFC 5082): send with TTL 255 and drop anything that arrives with a TTL below
 *   256 - hops (IP_MINTTL, IPv6: IPV6_MINHOPCOUNT), so a spoofer further away cannot reach the
 *   session.
 *
 * Limitation of doing this from Node's net API: a socket's descriptor only exists once Node has
 * called connect(), so the TCP handshake of an outgoing connection leaves with the system default
 * TTL (64), and only the packets after it carry ours. For GTSM against a peer that enforces a
 * minimum TTL on its listening socket, the SYN must already carry 255: that needs the socket created
 * and configured before connect(), which is what the native addon in native/ is for.
 */
import { createRequire } from 'node:module'
import type { Socket } from 'node:net'

const require = createRequire(import.meta.url)

interface SockoptModule {
  getsockopt(socket: unknown, level: number, option: number): number
  setsockopt(socket: unknown, level: number, option: number, value: number): void
}

let mod: SockoptModule | undefined
function sockopt(): SockoptModule {
  mod ??= require('sockopt') as SockoptModule
  return mod
}

/** Linux constants (uapi in.h, in6.h). */
export const IPPROTO_IP = 0
export const IP_TTL = 2
export const IP_MINTTL = 21
export const IPPROTO_IPV6 = 41
export const IPV6_UNICAST_HOPS = 16
export const IPV6_MINHOPCOUNT = 73

function isV6(socket: Socket): boolean {
  // An IPv4 peer reached over a dual-stack socket shows as ::ffff:a.b.c.d with family IPv6; the
  // IP-level options then still apply to IPv4 packets (Linux honours IP_TTL on v4-mapped sockets).
  const addr = socket.remoteAddress ?? socket.localAddress ?? ''
  return socket.remoteFamily === 'IPv6' && !addr.startsWith('::ffff:')
}

function checkTtl(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1 || v > 255) throw new RangeError(`${name} ${v}: must be an integer 1..255`)
}

/** Sets the TTL (hop limit) of packets the socket sends. */
export function setTtl(socket: Socket, ttl: number): void {
  checkTtl('ttl', ttl)
  if (isV6(socket)) sockopt().setsockopt(socket, IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl)
  else sockopt().setsockopt(socket, IPPROTO_IP, IP_TTL, ttl)
}

export function getTtl(socket: Socket): number {
  return isV6(socket) ? sockopt().getsockopt(socket, IPPROTO_IPV6, IPV6_UNICAST_HOPS) : sockopt().getsockopt(socket, IPPROTO_IP, IP_TTL)
}

/** Drops received packets whose TTL is below `minTtl`. */
export function setMinTtl(socket: Socket, minTtl: number): void {
  checkTtl('minTtl', minTtl)
  if (isV6(socket)) sockopt().setsockopt(socket, IPPROTO_IPV6, IPV6_MINHOPCOUNT, minTtl)
  else sockopt().setsockopt(socket, IPPROTO_IP, IP_MINTTL, minTtl)
}

export function getMinTtl(socket: Socket): number {
  return isV6(socket) ? sockopt().getsockopt(socket, IPPROTO_IPV6, IPV6_MINHOPCOUNT) : sockopt().getsockopt(socket, IPPROTO_IP, IP_MINTTL)
}

/** RFC 5082: a peer `hops` away sends with 255 and arrives with at least 256 - hops. */
export function gtsmMinTtl(hops: number): number {
  if (!Number.isInteger(hops) || hops < 1 || hops > 255) throw new RangeError(`gtsmHops ${hops}: must be an integer 1..255`)
  return 256 - hops
}

/**
 * Why a device name cannot be bound (SO_BINDTODEVICE), or undefined when it can: the kernel's
 * rules for interface names (1..15 bytes, IFNAMSIZ, no '/', ':' or white space, not '.' or '..').
 */
export function deviceNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'must be a non-empty device name'
  if (Buffer.byteLength(name) > 15) return `"${name}" is longer than 15 bytes (IFNAMSIZ)`
  if (name === '.' || name === '..' || /[/:\s]/.test(name)) return `"${name}" is not a valid device name (no '/', ':' or white space)`
  return undefined
}

/** Applies the session's TTL policy to a connected socket: GTSM when configured, else `ttl` if set. */
export function applyTtlPolicy(socket: Socket, policy: { ttl?: number | undefined; gtsmHops?: number | undefined }): void {
  if (policy.gtsmHops !== undefined) {
    setTtl(socket, 255)
    setMinTtl(socket, gtsmMinTtl(policy.gtsmHops))
  } else if (policy.ttl !== undefined) {
    setTtl(socket, policy.ttl)
  }
}

/** TTL of a listening socket (both IPv4 and, on a dual-stack socket, IPv6 hop limit). */
export function setListenerTtl(server: unknown, ttl: number): void {
  checkTtl('ttl', ttl)
  let done = false
  for (const [level, opt] of [[IPPROTO_IP, IP_TTL], [IPPROTO_IPV6, IPV6_UNICAST_HOPS]] as const) {
    try {
      sockopt().setsockopt(server, level, opt, ttl)
      done = true
    } catch {
      // an IPv4 socket has no IPv6 options
    }
  }
  if (!done) throw new Error('could not set the listening socket TTL')
}
