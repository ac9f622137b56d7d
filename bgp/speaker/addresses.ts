/**
 * Next-hop text to wire bytes for the export side: IPv4 dotted quad (4 bytes), IPv6 (16 bytes, RFC
 * 4291 2.2 text forms including `::` and an embedded dotted quad), and the RIB's `global,link-local`
 * pair (32 bytes, RFC 2545 3). No I/O; the speaker caches results per attribute set.
 */
import net from 'node:net'

/** IPv4 text to a uint32, or -1 when not an IPv4 address. */
export function ipv4ToUint32(text: string): number {
  if (net.isIPv4(text) === false) return -1
  const p = text.split('.')
  return ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0
}

/** IPv6 text to 16 bytes; throws RangeError naming the text when it is not IPv6. */
export function ipv6ToBytes(text: string): Uint8Array {
  if (!net.isIPv6(text)) throw new RangeError(`${JSON.stringify(text)}: not an IPv6 address`)
  let s = text.toLowerCase()
  const pct = s.indexOf('%')
  if (pct >= 0) s = s.slice(0, pct)
  const words: number[] = []
  const tail: number[] = []
  const expand = (part: string, out: number[]): void => {
    if (part === '') return
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const v = ipv4ToUint32(g)
        out.push(v >>> 16, v & 0xffff)
      } else out.push(parseInt(g, 16))
    }
  }
  const dbl = s.indexOf('::')
  if (dbl >= 0) {
    expand(s.slice(0, dbl), words)
    expand(s.slice(dbl + 2), tail)
    while (words.length + tail.length < 8) words.push(0)
    words.push(...tail)
  } else expand(s, words)
  const b = new Uint8Array(16)
  for (let i = 0; i < 8; i++) {
    const w = words[i] ?? 0
    b[2 * i] = w >>> 8
    b[2 * i + 1] = w & 0xff
  }
  return b
}

/**
 * Next-hop text (as RouteAttributes.nextHop holds it) to the bytes MP_REACH_NLRI carries: 4 for
 * IPv4, 16 for IPv6, 32 for `global,link-local`. Throws RangeError on anything else.
 */
export function nextHopBytes(text: string): Uint8Array {
  const comma = text.indexOf(',')
  if (comma >= 0) {
    const b = new Uint8Array(32)
    b.set(ipv6ToBytes(text.slice(0, comma)), 0)
    b.set(ipv6ToBytes(text.slice(comma + 1)), 16)
    return b
  }
  const v4 = ipv4ToUint32(text)
  if (v4 >= 0) return Uint8Array.of(v4 >>> 24, (v4 >>> 16) & 0xff, (v4 >>> 8) & 0xff, v4 & 0xff)
  return ipv6ToBytes(text)
}

/** An IPv4 address as IPv4-mapped IPv6 text (`::ffff:a.b.c.d`, RFC 4291 2.5.5.2), the usual next hop
 * for IPv6 and VPN-IPv6 routes over an IPv4-only session (RFC 4659 3.2.1.1 for VPN-IPv6). */
export function mappedIpv6(v4: string): string {
  return `::ffff:${v4}`
}
