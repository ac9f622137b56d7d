/**
 * COMMUNITIES (RFC 1997) and LARGE_COMMUNITY (RFC 8092): values, the well-known communities by name
 * (RFC 1997, RFC 3765 NO_PEER, RFC 7999 BLACKHOLE, RFC 8326 GRACEFUL_SHUTDOWN, RFC 9494 LLGR_STALE and
 * NO_LLGR, RFC 7611 ACCEPT_OWN), and their text forms (`65000:100`, `no-export`, `65000:1:2`).
 *
 * A standard community is one uint32 (AS in the high 16 bits); a large community is three uint32.
 */

export const WellKnownCommunity = {
  GRACEFUL_SHUTDOWN: 0xffff0000,
  ACCEPT_OWN: 0xffff0001,
  LLGR_STALE: 0xffff0006,
  NO_LLGR: 0xffff0007,
  BLACKHOLE: 0xffff029a,
  NO_EXPORT: 0xffffff01,
  NO_ADVERTISE: 0xffffff02,
  NO_EXPORT_SUBCONFED: 0xffffff03,
  NO_PEER: 0xffffff04,
} as const

const nameOf = new Map<number, string>(
  Object.entries(WellKnownCommunity).map(([k, v]) => [v, k.toLowerCase().replace(/_/g, '-')]),
)
const valueOf = new Map<string, number>([...nameOf].map(([v, k]) => [k, v]))

/** `no-export` for well-known values, else `AS:value`. */
export function communityToString(c: number): string {
  return nameOf.get(c) ?? `${c >>> 16}:${c & 0xffff}`
}

/** Parses `65000:100`, a well-known name (`no-export`, `NO_EXPORT`) or a plain number. */
export function parseCommunity(text: string): number {
  const s = text.trim()
  const named = valueOf.get(s.toLowerCase().replace(/_/g, '-'))
  if (named !== undefined) return named
  const m = /^(\d+):(\d+)$/.exec(s)
  if (m) {
    const hi = Number(m[1])
    const lo = Number(m[2])
    if (hi > 0xffff || lo > 0xffff) throw new RangeError(`community "${text}": both halves must be 0..65535`)
    return ((hi << 16) | lo) >>> 0
  }
  if (/^\d+$/.test(s) && Number(s) <= 0xffffffff) return Number(s)
  throw new RangeError(`community "${text}": expected AS:value (0..65535 each), a number, or a well-known name`)
}

export interface LargeCommunity {
  readonly global: number
  readonly local1: number
  readonly local2: number
}

export function largeCommunityToString(c: LargeCommunity): string {
  return `${c.global}:${c.local1}:${c.local2}`
}

export function parseLargeCommunity(text: string): LargeCommunity {
  const m = /^(\d+):(\d+):(\d+)$/.exec(text.trim())
  const parts = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : []
  const [global, local1, local2] = parts
  if (global === undefined || local1 === undefined || local2 === undefined || parts.some((x) => x > 0xffffffff)) {
    throw new RangeError(`large community "${text}": expected global:local1:local2, each 0..4294967295`)
  }
  return { global, local1, local2 }
}

export function readU32(buf: Uint8Array, p: number): number {
  return (((buf[p] as number) << 24) | ((buf[p + 1] as number) << 16) | ((buf[p + 2] as number) << 8) | (buf[p + 3] as number)) >>> 0
}

export function writeU32(buf: Uint8Array, p: number, v: number): void {
  buf[p] = v >>> 24
  buf[p + 1] = (v >>> 16) & 0xff
  buf[p + 2] = (v >>> 8) & 0xff
  buf[p + 3] = v & 0xff
}

export function decodeCommunities(buf: Uint8Array, start: number, len: number): number[] {
  const out = new Array<number>(len >>> 2)
  for (let i = 0; i < out.length; i++) out[i] = readU32(buf, start + i * 4)
  return out
}

export function writeCommunities(cs: readonly number[], buf: Uint8Array, offset: number): number {
  for (let i = 0; i < cs.length; i++) writeU32(buf, offset + i * 4, cs[i] as number)
  return cs.length * 4
}

export function decodeLargeCommunities(buf: Uint8Array, start: number, len: number): LargeCommunity[] {
  const out: LargeCommunity[] = []
  for (let p = start; p < start + len; p += 12) {
    out.push({ global: readU32(buf, p), local1: readU32(buf, p + 4), local2: readU32(buf, p + 8) })
  }
  return out
}

export function writeLargeCommunities(cs: readonly LargeCommunity[], buf: Uint8Array, offset: number): number {
  let p = offset
  for (const c of cs) {
    writeU32(buf, p, c.global)
    writeU32(buf, p + 4, c.local1)
    writeU32(buf, p + 8, c.local2)
    p += 12
  }
  return p - offset
}
