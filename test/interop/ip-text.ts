/**
 * Address text to bytes and back, written independently of the codec so that tests comparing the
 * codec's output with configured values (fixtures manifest, tshark output) do not share its bugs.
 * IPv4 dotted quad; IPv6 per RFC 4291 2.2 (with `::` and a trailing dotted quad) and RFC 5952 output.
 */

export function ipv4Bytes(s: string): Uint8Array {
  const parts = s.split('.')
  if (parts.length !== 4 || parts.some(p => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw new Error(`not an IPv4 address: ${s}`)
  return Uint8Array.from(parts.map(Number))
}

export function ipv4Number(s: string): number {
  const b = ipv4Bytes(s)
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0
}

export function ipv4Text(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`
}

export function ipv6Bytes(s: string): Uint8Array {
  let text = s
  const out = new Uint8Array(16)
  let tail: number[] = []
  const m = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (m) {
    const v4 = ipv4Bytes(m[2]!)
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!]
    text = m[1]!.endsWith('::') ? m[1]! : m[1]!.slice(0, -1)
  }
  const halves = text.split('::')
  if (halves.length > 2) throw new Error(`not an IPv6 address: ${s}`)
  const words = (h: string): number[] => (h === '' ? [] : h.split(':').map(w => {
    if (!/^[0-9a-f]{1,4}$/i.test(w)) throw new Error(`not an IPv6 address: ${s}`)
    return parseInt(w, 16)
  }))
  const head = words(halves[0]!)
  const rest = halves.length === 2 ? [...words(halves[1]!), ...tail] : tail
  const all = halves.length === 2 ? [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest] : [...head, ...rest]
  if (all.length !== 8) throw new Error(`not an IPv6 address: ${s}`)
  all.forEach((w, i) => {
    out[2 * i] = w >> 8
    out[2 * i + 1] = w & 0xff
  })
  return out
}

/** RFC 5952 text: lowercase, longest run of two or more zero words as `::`. */
export function ipv6Text(b: Uint8Array): string {
  const w: number[] = []
  for (let i = 0; i < 16; i += 2) w.push((b[i]! << 8) | b[i + 1]!)
  let bestStart = -1
  let bestLen = 1
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && w[j] === 0) j++
    if (j - i > bestLen) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  const hex = (a: number[]): string => a.map(x => x.toString(16)).join(':')
  if (bestStart < 0) return hex(w)
  return `${hex(w.slice(0, bestStart))}::${hex(w.slice(bestStart + bestLen))}`
}

/** Address text (either family) to bytes. */
export function ipBytes(s: string): Uint8Array {
  return s.includes(':') ? ipv6Bytes(s) : ipv4Bytes(s)
}

/** Address bytes (4 or 16) to text. */
export function ipText(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`
  if (b.length === 16) return ipv6Text(b)
  return `<${b.length} bytes ${Buffer.from(b).toString('hex')}>`
}

/** "10.1.0.0/24" -> prefix bytes at full width, and the length. */
export function parsePrefix(s: string): { bytes: Uint8Array; length: number } {
  const [addr, len] = s.split('/')
  if (addr === undefined || len === undefined || !/^\d+$/.test(len)) throw new Error(`not a prefix: ${s}`)
  return { bytes: ipBytes(addr), length: Number(len) }
}

/** Prefix bytes (any width, bits past `length` ignored) to canonical text at the given family width. */
export function prefixText(bytes: Uint8Array, length: number, width: 4 | 16): string {
  const full = new Uint8Array(width)
  const n = Math.ceil(length / 8)
  full.set(bytes.subarray(0, Math.min(n, width)))
  if (length % 8 && n > 0) full[n - 1]! &= (0xff << (8 - (length % 8))) & 0xff
  return `${ipText(full)}/${length}`
}
