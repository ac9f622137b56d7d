/**
 * Test helpers for the UPDATE codec tests: session contexts, the round-trip codec triplet for
 * UPDATEs, and raw builders for hand-made (often malformed) UPDATEs and attributes.
 */
import { Family, type FamilyKey } from '../../bgp/codec/afi.js'
import { defaultContext, type CodecContext } from '../../bgp/codec/context.js'
import { decodeUpdate, encodeUpdate, updateEncodingLength, type UpdateMessage } from '../../bgp/codec/update.js'
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
