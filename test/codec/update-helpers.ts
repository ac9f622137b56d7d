/**
 * Test helpers for the UPDATE codec tests: session contexts, the round-trip codec triplet for
 * UPDATEs, and raw builders for hand-made (often malformed) UPDATEs and attributes.
 */
import { Family, type FamilyKey } from '../../bgp/codec/afi.js'
import { defaultContext, type CodecContext } from '../../bgp/codec/context.js'
import { decodeUpdate, encodeUpdate, splitNextHop, updateEncodingLength, type UpdateIssue, type UpdateMessage } from '../../bgp/codec/update.js'
import { decodeAttributeBytes, nlriToObject, type UpdateSink } from '../../bgp/codec/bulk.js'
import { families, writeRd, type Nlri } from '../../bgp/codec/nlri.js'
import type { PathAttributes } from '../../bgp/codec/attributes.js'
import type { Codec } from '../helpers/round-trip.js'

export const allFamilies: FamilyKey[] = [
  Family.Ipv4Unicast,
  Family.Ipv6Unicast,
  Family.Ipv4Labeled,
  Family.Ipv6Labeled,
  Family.Ipv4Vpn,
  Family.Ipv6Vpn,
  Family.RouteTarget,
]

export function ctxWith(over: Partial<CodecContext> = {}): CodecContext {
  return defaultContext({ families: new Set(allFamilies), ...over })
}

export function updateCodec(ctx: CodecContext): Codec<UpdateMessage> {
  return {
    encode: (m, b, o) => encodeUpdate(m, ctx, b, o),
    decode: (b, o, l) => decodeUpdate(b, o, l, ctx),
    encodingLength: (m) => updateEncodingLength(m, ctx),
  }
}

export function encode(msg: UpdateMessage, ctx: CodecContext): Uint8Array {
  const b = new Uint8Array(updateEncodingLength(msg, ctx))
  encodeUpdate(msg, ctx, b, 0)
  return b
}

export function bytes(...parts: (number | ArrayLike<number>)[]): Uint8Array {
  const out: number[] = []
  for (const p of parts) {
    if (typeof p === 'number') out.push(p)
    else out.push(...Array.from(p))
  }
  return Uint8Array.from(out)
}

export function u16(n: number): number[] {
  return [(n >>> 8) & 0xff, n & 0xff]
}
export function u32(n: number): number[] {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]
}

/** One path attribute; extended length chosen by the flags given. */
export function attr(flags: number, type: number, value: ArrayLike<number>): Uint8Array {
  const v = Array.from(value)
  if (flags & 0x10) return bytes(flags, type, u16(v.length), v)
  return bytes(flags, type, v.length, v)
}

/** A raw UPDATE: header, withdrawn routes, attributes, NLRI (lengths computed). */
export function rawUpdate(withdrawn: ArrayLike<number>, attrs: ArrayLike<number>, nlri: ArrayLike<number>): Uint8Array {
  const len = 19 + 2 + withdrawn.length + 2 + attrs.length + nlri.length
  return bytes(new Array<number>(16).fill(0xff), u16(len), 2, u16(withdrawn.length), withdrawn, u16(attrs.length), attrs, nlri)
}

/** The attributes every announcement needs: ORIGIN IGP, AS_PATH [65001] (4-octet), NEXT_HOP 192.0.2.1. */
export function mandatory(as4 = true): Uint8Array {
  return bytes(
    attr(0x40, 1, [0]),
    attr(0x40, 2, as4 ? [2, 1, ...u32(65001)] : [2, 1, ...u16(65001)]),
    attr(0x40, 3, [192, 0, 2, 1]),
  )
}

export const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

// ---- Route keys: one string per route, the same whichever decode path produced it ----


function maskedWords(prefix: Uint8Array, length: number, words: number): number[] {
  const out: number[] = []
  for (let w = 0; w < words; w++) {
    let v = 0
    for (let k = 0; k < 4; k++) v = (v << 8) | (prefix[w * 4 + k] ?? 0)
    const bits = length - w * 32
    const m = bits >= 32 ? 0xffffffff : bits <= 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
    out.push((v & m) >>> 0)
  }
  return out
}

function genericKey(w: boolean, n: Nlri, pathId: number): string {
  return `${w ? '-' : '+'} obj ${n.family} ${pathId} ${(n.labels ?? []).join('/')} ${n.rd ? `${n.rd.type}:${n.rd.admin}:${n.rd.assigned}` : ''} ${hex(n.prefix)}/${n.length}`
}

/** The key the bulk path would produce for an object-path route. */
export function routeKey(withdraw: boolean, n: Nlri): string {
  const id = n.pathId ?? 0
  const s = withdraw ? '-' : '+'
  if (n.family === Family.Ipv4Unicast) return `${s} v4 ${id} ${maskedWords(n.prefix, n.length, 1).join('.')}/${n.length}`
  if (n.family === Family.Ipv6Unicast) return `${s} v6 ${id} ${maskedWords(n.prefix, n.length, 4).join('.')}/${n.length}`
  if ((n.family === Family.Ipv4Vpn || n.family === Family.Ipv6Vpn) && n.labels?.length === 1) {
    const rd = new Uint8Array(8)
    writeRd(n.rd!, rd, 0)
    const [hi, lo] = maskedWords(rd, 64, 2)
    const words = maskedWords(n.prefix, n.length, n.family === Family.Ipv4Vpn ? 1 : 4)
    return `${s} vpn ${n.family} ${id} ${hi}:${lo} ${n.labels[0]! >>> 4} ${words.join('.')}/${n.length}`
  }
  return genericKey(withdraw, n, id)
}

function attrKey(a: PathAttributes): string {
  const { order: _o, extendedLength, ...rest } = a
  const ext = (extendedLength ?? []).filter((x) => x !== 14 && x !== 15)
  return JSON.stringify({ ...rest, ...(ext.length > 0 ? { extendedLength: ext } : {}) }, (_k, v) => (v instanceof Uint8Array ? hex(v) : v))
}

/** Everything an object-path decode amounts to, in the bulk sink's order. */
export function objectKeys(m: UpdateMessage): string[] {
  const out: string[] = []
  for (const i of m.report ?? []) out.push(`issue ${i.kind} ${i.subcode} ${i.action} ${i.attributeType} ${hex(i.data)}`)
  for (const n of m.withdrawn) out.push(routeKey(true, n))
  for (const n of m.mpUnreach?.nlri ?? []) out.push(routeKey(true, n))
  const taw = m.treatAsWithdraw === true
  if (m.mpReach !== undefined && m.mpReach.nlri.length > 0) {
    if (!taw) out.push(`attrs ${m.mpReach.family} ${attrKey(m.attributes)} nh ${m.mpReach.nextHop.map(hex).join(',')}`)
    for (const n of m.mpReach.nlri) out.push(routeKey(taw, n))
  }
  if (m.nlri.length > 0) {
    if (!taw) out.push(`attrs ${Family.Ipv4Unicast} ${attrKey(m.attributes)} nh ${hex(Uint8Array.of(...u32(m.attributes.nextHop!)))}`)
    for (const n of m.nlri) out.push(routeKey(taw, n))
  }
  return out
}

/** A sink that writes the same keys from the bulk path. */
export class KeySink implements UpdateSink {
  keys: string[] = []
  constructor(private readonly ctx: CodecContext) {}
  attributes(family: FamilyKey, attrs: Uint8Array, start: number, end: number, nh: Uint8Array, nhStart: number, nhLength: number): void {
    const a = decodeAttributeBytes(attrs, start, end, this.ctx)
    const hop = splitNextHop(families.get(family)!, nh, nhStart, nhLength).map(hex).join(',')
    this.keys.push(`attrs ${family} ${attrKey(a)} nh ${hop}`)
  }
  ipv4(w: boolean, id: number, addr: number, len: number): void {
    this.keys.push(`${w ? '-' : '+'} v4 ${id} ${addr}/${len}`)
  }
  ipv6(w: boolean, id: number, a0: number, a1: number, a2: number, a3: number, len: number): void {
    this.keys.push(`${w ? '-' : '+'} v6 ${id} ${[a0, a1, a2, a3].join('.')}/${len}`)
  }
  vpnv4(w: boolean, id: number, hi: number, lo: number, label: number, addr: number, len: number): void {
    this.keys.push(`${w ? '-' : '+'} vpn ${Family.Ipv4Vpn} ${id} ${hi}:${lo} ${label} ${addr}/${len}`)
  }
  vpnv6(w: boolean, id: number, hi: number, lo: number, label: number, a0: number, a1: number, a2: number, a3: number, len: number): void {
    this.keys.push(`${w ? '-' : '+'} vpn ${Family.Ipv6Vpn} ${id} ${hi}:${lo} ${label} ${[a0, a1, a2, a3].join('.')}/${len}`)
  }
  nlri(w: boolean, family: FamilyKey, id: number, buf: Uint8Array, start: number, end: number): void {
    this.keys.push(genericKey(w, nlriToObject(family, undefined, buf, start, end, w), id))
  }
  issue(i: UpdateIssue): void {
    this.keys.push(`issue ${i.kind} ${i.subcode} ${i.action} ${i.attributeType} ${hex(i.data)}`)
  }
}
