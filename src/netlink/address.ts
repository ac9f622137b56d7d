/**
 * IPv4/IPv6 address and prefix text <-> bytes, as rtnetlink carries them (network order), and MPLS
 * label stack entries (RFC 3032 section 2.1: label 20 bits, TC 3, bottom-of-stack 1, TTL 8).
 * Written for the bulk path: no regular expressions, no intermediate arrays for IPv4.
 */

export type IpFamily = 4 | 6

export interface ParsedAddress {
  readonly family: IpFamily
  readonly bytes: Uint8Array
}

export interface ParsedPrefix extends ParsedAddress {
  readonly length: number
}

/** Parses dotted-quad IPv4 into `out` at `offset`; returns false if `text` is not one. */
export function parseIpv4Into(text: string, out: Uint8Array, offset: number): boolean {
  let part = 0
  let digits = 0
  let n = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 46) {
      if (digits === 0 || part === 3) return false
      out[offset + part++] = n
      n = 0
      digits = 0
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && n === 0) return false // no leading zeros (they mean octal to some parsers)
      n = n * 10 + c - 48
      if (++digits > 3 || n > 255) return false
    } else {
      return false
    }
  }
  if (digits === 0 || part !== 3) return false
  out[offset + 3] = n
  return true
}

/** Parses IPv6 text (with `::` and an optional trailing dotted quad) into 16 bytes, or undefined. */
export function parseIpv6(text: string): Uint8Array | undefined {
  const out = new Uint8Array(16)
  const dbl = text.indexOf('::')
  if (dbl !== text.lastIndexOf('::')) return undefined
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return []
    const groups: number[] = []
    const parts = s.split(':')
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] as string
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = new Uint8Array(4)
        if (!parseIpv4Into(p, v4, 0)) return undefined
        groups.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number))
        continue
      }
      if (p.length === 0 || p.length > 4 || !/^[0-9a-fA-F]+$/.test(p)) return undefined
      groups.push(parseInt(p, 16))
    }
    return groups
  }
  let groups: number[]
  if (dbl >= 0) {
    const head = parseGroups(text.slice(0, dbl))
    const tail = parseGroups(text.slice(dbl + 2))
    if (!head || !tail || head.length + tail.length > 7) return undefined
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail]
  } else {
    const g = parseGroups(text)
    if (!g || g.length !== 8) return undefined
    groups = g
  }
  for (let i = 0; i < 8; i++) {
    out[i * 2] = (groups[i] as number) >> 8
    out[i * 2 + 1] = (groups[i] as number) & 0xff
  }
  return out
}

/** Parses an IPv4 or IPv6 address; throws an Error naming `field` when it is not one. */
export function parseAddress(text: string, field = 'address'): ParsedAddress {
  // Configuration read from YAML or JSON may hand over a number or nothing where text belongs.
  if (typeof text !== 'string') throw new Error(`${field}: expected an address string, got ${typeof text}`)
  if (text.includes(':')) {
    const b = parseIpv6(text)
    if (b) return { family: 6, bytes: b }
  } else {
    const b = new Uint8Array(4)
    if (parseIpv4Into(text, b, 0)) return { family: 4, bytes: b }
  }
  throw new Error(`${field}: "${text}" is not an IPv4 or IPv6 address`)
}

/** Parses "a.b.c.d/len" or "x::/len" (a bare address is a host prefix); host bits must be zero. */
export function parsePrefix(text: string, field = 'prefix'): ParsedPrefix {
  const slash = text.indexOf('/')
  const addr = parseAddress(slash < 0 ? text : text.slice(0, slash), field)
  const max = addr.family === 4 ? 32 : 128
  let length = max
  if (slash >= 0) {
    const l = text.slice(slash + 1)
    length = /^\d{1,3}$/.test(l) ? Number(l) : -1
    if (length < 0 || length > max) throw new Error(`${field}: "${text}" has a bad prefix length (0-${max})`)
  }
  for (let bit = length; bit < max; bit++) {
    if (((addr.bytes[bit >> 3] as number) >> (7 - (bit & 7))) & 1) {
      throw new Error(`${field}: "${text}" has host bits set beyond /${length}`)
    }
  }
  return { family: addr.family, bytes: addr.bytes, length }
}

/** Formats network-order address bytes (4 or 16) as text; IPv6 in RFC 5952 canonical form. */
export function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`
  if (bytes.length !== 16) return Buffer.from(bytes).toString('hex')
  const g: number[] = []
  for (let i = 0; i < 8; i++) g.push(((bytes[i * 2] as number) << 8) | (bytes[i * 2 + 1] as number))
  // Longest run of two or more zero groups becomes "::" (first one on a tie).
  let best = -1
  let bestLen = 1
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLen) { best = i; bestLen = j - i }
    i = j
  }
  const hex = (a: number[]): string => a.map(x => x.toString(16)).join(':')
  if (best < 0) return hex(g)
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`
}

/** Parses an IPv4 address into canonical dotted-quad text; throws naming `field` when it is not one. */
export function parseIpv4Address(text: string, field = 'address'): string {
  const a = parseAddress(text, field)
  if (a.family !== 4) throw new Error(`${field}: "${text}" is not an IPv4 address`)
  return formatAddress(a.bytes)
}

/** Canonical `address/length` text of a parsed prefix. */
export function formatPrefix(p: ParsedPrefix): string {
  return `${formatAddress(p.bytes)}/${p.length}`
}

/** The n-th address inside a prefix (n = 1 for the first host), as canonical text. */
export function nthAddress(p: ParsedPrefix, n: number): string {
  const bytes = p.bytes.slice()
  let carry = n
  for (let i = bytes.length - 1; i >= 0 && carry > 0; i--) {
    const v = (bytes[i] as number) + (carry & 0xff)
    bytes[i] = v & 0xff
    carry = Math.floor(carry / 256) + (v >> 8)
  }
  return formatAddress(bytes)
}

/** Whether `inner` lies inside `outer` (same family, longer or equal length, same leading bits). */
export function prefixContains(outer: ParsedPrefix, inner: ParsedPrefix): boolean {
  if (outer.family !== inner.family || inner.length < outer.length) return false
  for (let bit = 0; bit < outer.length; bit++) {
    const byte = bit >> 3
    const mask = 0x80 >> (bit & 7)
    if ((((outer.bytes[byte] as number) ^ (inner.bytes[byte] as number)) & mask) !== 0) return false
  }
  return true
}

export const MPLS_LABEL_MAX = 0xfffff

/** Encodes a label stack (outermost first) as RFC 3032 entries, bottom-of-stack on the last. */
export function encodeLabelStack(labels: readonly number[], field = 'labels'): Uint8Array {
  if (labels.length === 0) throw new Error(`${field}: an MPLS label stack needs at least one label`)
  const out = new Uint8Array(labels.length * 4)
  const view = new DataView(out.buffer)
  labels.forEach((l, i) => {
    if (!Number.isInteger(l) || l < 0 || l > MPLS_LABEL_MAX) throw new Error(`${field}: label ${l} is not in 0-${MPLS_LABEL_MAX}`)
    view.setUint32(i * 4, ((l << 12) | (i === labels.length - 1 ? 0x100 : 0)) >>> 0)
  })
  return out
}

/** Decodes RFC 3032 label stack entries (TC and TTL dropped). */
export function decodeLabelStack(bytes: Uint8Array): number[] {
  const labels: number[] = []
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  for (let i = 0; i + 4 <= bytes.length; i += 4) labels.push(view.getUint32(i) >>> 12)
  return labels
}
