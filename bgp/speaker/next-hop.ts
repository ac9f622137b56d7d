/**
 * Next-hop text to the bytes MP_REACH_NLRI carries, for the export side: an IPv4 address (4 bytes),
 * an IPv6 address (16), and the RIB's `global,link-local` pair (32, RFC 2545 3). Address text itself
 * is src/lib/address.ts's. No I/O; the speaker caches results per attribute set.
 */
import { ipv4Bytes, isIpv4, parseIpv4, parseIpv6 } from '../../src/lib/address.js'

/** An IPv6 next hop's 16 bytes. A zone (`fe80::1%eth0`, as a socket reports a link-local local
 * address) is ours only: it never goes on the wire. */
function ipv6NextHop(text: string): Uint8Array {
  const zone = text.indexOf('%')
  return parseIpv6(zone < 0 ? text : text.slice(0, zone), 'nextHop')
}

/**
 * Next-hop text (as RouteAttributes.nextHop holds it) to the bytes MP_REACH_NLRI carries: 4 for
 * IPv4, 16 for IPv6, 32 for `global,link-local`. Throws an AddressError on anything else.
 */
export function nextHopBytes(text: string): Uint8Array {
  const comma = text.indexOf(',')
  if (comma >= 0) {
    const b = new Uint8Array(32)
    b.set(ipv6NextHop(text.slice(0, comma)), 0)
    b.set(ipv6NextHop(text.slice(comma + 1)), 16)
    return b
  }
  if (isIpv4(text)) return ipv4Bytes(parseIpv4(text, 'nextHop'))
  return ipv6NextHop(text)
}
