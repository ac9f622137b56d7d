/**
 * Address and prefix text for the RIB: IPv4 dotted quads from a uint32, IPv6 in RFC 5952 canonical
 * form from four uint32 words (most significant first), and the parsers back, for lookups by text.
 * The RIB keeps addresses as numbers; text is made only when a route is shown or sent to an event.
 */

export function ipv4Text(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`
}

/** RFC 5952: lowercase hex, no leading zeros, the longest run (first if tied) of two or more zero
 * groups as "::". */
export function ipv6Text(w0: number, w1: number, w2: number, w3: number): string {
  const g = [w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff]
  let bestStart = -1
  let bestLen = 1
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLen) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':')
  if (bestStart < 0) return hex(g)
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`
}

/** Address bytes (4 or 16) as text. */
export function addressBytesText(b: Uint8Array, offset = 0, length = b.length - offset): string {
  const w = (i: number): number => (((b[offset + i] as number) << 24) | ((b[offset + i + 1] as number) << 16) | ((b[offset + i + 2] as number) << 8) | (b[offset + i + 3] as number)) >>> 0
  if (length === 4) return ipv4Text(w(0))
  if (length === 16) return ipv6Text(w(0), w(4), w(8), w(12))
  throw new RangeError(`an address of ${length} bytes is neither IPv4 nor IPv6`)
}

export function parseIpv4(text: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text)
  if (m === null) throw new RangeError(`"${text}" is not an IPv4 address`)
  let v = 0
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i])
    if (o > 255) throw new RangeError(`"${text}" is not an IPv4 address (octet ${o} > 255)`)
    v = v * 256 + o
  }
  return v
}

/** IPv6 text (with optional embedded IPv4 tail) to four words. */
export function parseIpv6(text: string): [number, number, number, number] {
  const bad = (why: string): never => {
    throw new RangeError(`"${text}" is not an IPv6 address (${why})`)
  }
  let s = text.toLowerCase()
  const groups: number[] = []
  const v4 = /(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(s)
  let tail: number[] = []
  if (v4 !== null && s.includes(':')) {
    const a = parseIpv4(v4[1] as string)
    tail = [a >>> 16, a & 0xffff]
    s = s.slice(0, s.length - (v4[1] as string).length)
    if (s.endsWith(':') && !s.endsWith('::')) s = s.slice(0, -1)
  }
  const halves = s.split('::')
  if (halves.length > 2) bad('more than one "::"')
  const parse = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').map((x) => {
          if (!/^[0-9a-f]{1,4}$/.test(x)) bad(`group "${x}"`)
          return parseInt(x, 16)
        })
  const head = parse(halves[0] as string)
  const rest = halves.length === 2 ? parse(halves[1] as string) : []
  const have = head.length + rest.length + tail.length
  if (halves.length === 2) {
    if (have > 7) bad('too many groups')
    groups.push(...head, ...new Array<number>(8 - have).fill(0), ...rest, ...tail)
  } else {
    if (have !== 8) bad('expected 8 groups')
    groups.push(...head, ...tail)
  }
  const w = (i: number): number => (((groups[2 * i] as number) << 16) | (groups[2 * i + 1] as number)) >>> 0
  return [w(0), w(1), w(2), w(3)]
}

/** Mask of the top `len` bits of a 32-bit word (len may be outside 0..32: clamped). */
export function wordMask(len: number): number {
  if (len <= 0) return 0
  if (len >= 32) return 0xffffffff
  return (0xffffffff << (32 - len)) >>> 0
}
