/**
 * Martian next hops (RFC 4271 6.3, RFC 7606 7.3): the session's check of every next hop a peer
 * gives it, in the NEXT_HOP attribute and in MP_REACH_NLRI (every family, the VPN form with its RD
 * included, IPv6 next hops for IPv4 routes per RFC 8950).
 *
 * RFC 4271 6.3 calls a NEXT_HOP that cannot be a forwarding address "semantically incorrect"; RFC
 * 7606 7.3 turns that error into treat-as-withdraw. The check lives here and not in the codec because
 * two of its answers depend on the session: our own address (the one this connection uses), and the
 * peer's configuration (`allowNextHops`, for setups that need an unusual next hop). The codec only
 * checks a next hop's length; the bulk decoder asks the sink (UpdateSink.checkNextHop) before it
 * hands out a route, so a martian costs no route object.
 *
 * Classes (one name each, for configuration, logs and counters):
 * - `unspecified`: IPv4 0.0.0.0/8 ("this network", RFC 1122 3.2.1.3: never a destination), IPv6 ::.
 * - `multicast`: IPv4 224.0.0.0/4, IPv6 ff00::/8 (RFC 4291 2.7).
 * - `loopback`: IPv4 127.0.0.0/8, IPv6 ::1: the peer's own host, which we cannot forward to; except
 *   on a session that itself runs over loopback, where the peer is on our host and its loopback
 *   addresses are reachable (tests and a co-located route server).
 * - `class-e`: IPv4 240.0.0.0/4 (RFC 1112 4: reserved), which includes the limited broadcast address.
 * - `own-address`: the local address of this session's connection (or our configured IPv6 next hop):
 *   a route through ourselves loops.
 * IPv4-mapped IPv6 next hops (::ffff:a.b.c.d, what we and others send for IPv6 routes over IPv4
 * sessions) are classed by their IPv4 address. Of a global + link-local pair (RFC 2545 3) the
 * global address is checked: it is the one routes resolve through.
 */
import type { FamilyKey } from '../codec/afi.js'
import { ErrorCode, UpdateSubcode } from '../codec/errors.js'
import type { UpdateIssue } from '../codec/update.js'
import { families } from '../codec/nlri.js'
import net from 'node:net'

export type NextHopClass = 'unspecified' | 'multicast' | 'loopback' | 'class-e' | 'own-address'

export const NEXT_HOP_CLASSES: readonly NextHopClass[] = ['unspecified', 'multicast', 'loopback', 'class-e', 'own-address']

export interface NextHopGuardOptions {
  /** Our addresses on this session: the connection's local address, our configured IPv6 next hop. */
  readonly localAddresses: readonly string[]
  /** The peer's address (a loopback peer may use loopback next hops). */
  readonly peerAddress: string
  /** Classes accepted from this peer anyway (PeerConfig.allowNextHops). */
  readonly allow?: readonly NextHopClass[]
}

/** IPv4 text to a uint32 (the text is known to be IPv4). */
function v4(text: string): number {
  const p = text.split('.')
  return ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0
}

/** IPv6 text to 16 bytes (the text is known to be IPv6). */
function v6(text: string): Uint8Array {
  const s = text.toLowerCase().split('%')[0] as string
  const [head = '', tail] = s.split('::') as [string, string | undefined]
  const words = (part: string): number[] =>
    part === '' ? [] : part.split(':').flatMap((g) => (g.includes('.') ? [v4(g) >>> 16, v4(g) & 0xffff] : [parseInt(g, 16)]))
  const h = words(head)
  const t = tail === undefined ? [] : words(tail)
  const all = [...h, ...new Array<number>(Math.max(0, 8 - h.length - t.length)).fill(0), ...t]
  const b = new Uint8Array(16)
  all.forEach((w, i) => {
    b[2 * i] = w >>> 8
    b[2 * i + 1] = w & 0xff
  })
  return b
}

function u32(b: Uint8Array, p: number): number {
  return (((b[p] as number) << 24) | ((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number)) >>> 0
}

export class NextHopGuard {
  private readonly allowed: ReadonlySet<NextHopClass>
  private readonly own4: number[] = []
  private readonly own6: Uint8Array[] = []
  private readonly loopbackSession: boolean

  constructor(o: NextHopGuardOptions) {
    const allowed = new Set<NextHopClass>(o.allow ?? [])
    for (const c of allowed) if (!NEXT_HOP_CLASSES.includes(c)) throw new RangeError(`allowNextHops: ${JSON.stringify(c)} is not one of ${NEXT_HOP_CLASSES.join(', ')}`)
    this.loopbackSession = NextHopGuard.isLoopbackText(o.peerAddress)
    if (this.loopbackSession) allowed.add('loopback')
    this.allowed = allowed
    for (const a of o.localAddresses) {
      const plain = a.toLowerCase().startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a
      if (net.isIPv4(plain)) this.own4.push(v4(plain))
      else if (net.isIPv6(plain)) this.own6.push(v6(plain))
    }
  }

  private static isLoopbackText(a: string): boolean {
    const plain = a.toLowerCase().startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a
    if (net.isIPv4(plain)) return v4(plain) >>> 24 === 127
    return net.isIPv6(plain) && v6(plain).every((b, i) => b === (i === 15 ? 1 : 0))
  }

  /** The class of an IPv4 next hop (uint32) when it is martian and not allowed, else undefined. */
  checkIpv4(a: number): NextHopClass | undefined {
    const first = a >>> 24
    let c: NextHopClass | undefined
    if (first === 0) c = 'unspecified'
    else if (first === 127) c = 'loopback'
    else if (first >= 224 && first <= 239) c = 'multicast'
    else if (first >= 240) c = 'class-e'
    if (c !== undefined && !this.allowed.has(c)) return c
    // Our own address is checked after the ranges: on a loopback session it is a loopback address.
    return this.own4.includes(a) && !this.allowed.has('own-address') ? 'own-address' : undefined
  }

  /** The class of the IPv6 address at buf[p..p+16) when martian and not allowed, else undefined. */
  checkIpv6(buf: Uint8Array, p: number): NextHopClass | undefined {
    let zeros = 0
    while (zeros < 10 && buf[p + zeros] === 0) zeros++
    if (zeros === 10 && buf[p + 10] === 0xff && buf[p + 11] === 0xff) return this.checkIpv4(u32(buf, p + 12)) // IPv4-mapped
    let c: NextHopClass | undefined
    if (buf[p] === 0xff) c = 'multicast'
    else if (zeros === 10 && u32(buf, p + 8) === 0 && u32(buf, p + 12) <= 1) c = u32(buf, p + 12) === 0 ? 'unspecified' : 'loopback'
    if (c !== undefined && !this.allowed.has(c)) return c
    if (this.allowed.has('own-address')) return undefined
    return this.own6.some((o) => o.every((x, i) => x === buf[p + i])) ? 'own-address' : undefined
  }

  /**
   * The class of a next-hop field as it is on the wire (NEXT_HOP's 4 bytes, or MP_REACH_NLRI's
   * field: 4, 16, 32, or with `vpn` an 8-byte RD before each address: 12, 24, 48), when martian and
   * not allowed; else undefined. The first address decides (the global one of a pair).
   */
  checkField(buf: Uint8Array, start: number, length: number, vpn: boolean): NextHopClass | undefined {
    const p = vpn ? start + 8 : start
    const addrLength = vpn ? (length === 12 ? 4 : 16) : length === 4 ? 4 : 16
    return addrLength === 4 ? this.checkIpv4(u32(buf, p)) : this.checkIpv6(buf, p)
  }

  /**
   * The RFC 7606 report for a martian next hop of `family` (the NEXT_HOP attribute for IPv4 unicast
   * NLRI when `nextHopAttribute`, else MP_REACH_NLRI's field), or null when it is acceptable.
   */
  issue(family: FamilyKey, buf: Uint8Array, start: number, length: number, nextHopAttribute: boolean): UpdateIssue | null {
    const vpn = !nextHopAttribute && families.get(family)?.vpnNextHop === true
    const c = this.checkField(buf, start, length, vpn)
    if (c === undefined) return null
    return martianIssue(c, nextHopAttribute, buf.slice(start, start + length))
  }
}

/**
 * The report of a martian next hop: treat-as-withdraw (RFC 7606 7.3); subcode Invalid NEXT_HOP
 * Attribute (8, RFC 4271 6.3) for NEXT_HOP, Optional Attribute Error (9) for MP_REACH_NLRI; the
 * data is the next-hop field as on the wire (from the object path, whose decoded MP_REACH next hops
 * have lost their VPN RDs, the addresses).
 */
export function martianIssue(c: NextHopClass, nextHopAttribute: boolean, field: Uint8Array): UpdateIssue {
  return {
    kind: 'martian-next-hop',
    detail: c,
    code: ErrorCode.UpdateMessage,
    subcode: nextHopAttribute ? UpdateSubcode.InvalidNextHopAttribute : UpdateSubcode.OptionalAttributeError,
    action: 'treat-as-withdraw',
    attributeType: nextHopAttribute ? 3 : 14,
    data: field,
  }
}
