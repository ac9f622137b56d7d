/**
 * Netlink framing (RFC 3549 section 2.2; linux/netlink.h): a writer that appends many messages into
 * one growable buffer (so a whole batch goes out in one sendmsg), with attributes (struct nlattr,
 * 4-byte aligned TLVs) and nested attributes patched in place; and zero-copy readers that walk the
 * messages of a received datagram and the attributes of a message. Pure: no I/O.
 */
import { NLA_F_NESTED, NLA_TYPE_MASK } from './constants.js'

const align4 = (n: number): number => (n + 3) & ~3

/** Header of one netlink message as read from the kernel. */
export interface NlMessage {
  readonly type: number
  readonly flags: number
  readonly seq: number
  readonly pid: number
  /** The payload after the 16-byte header (a view into the datagram). */
  readonly payload: Buffer
}

/** Appends netlink messages to one buffer. Reused across batches via `reset()`. */
export class NlWriter {
  buf: Buffer
  off = 0
  private msgStart = -1
  private readonly nests: number[] = []

  constructor(initialSize = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialSize)
  }

  reset(): void {
    this.off = 0
    this.msgStart = -1
    this.nests.length = 0
  }

  /** Bytes written so far (a view, valid until the next write). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.off)
  }

  private ensure(n: number): void {
    if (this.off + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.off + n) size *= 2
    const next = Buffer.allocUnsafe(size)
    this.buf.copy(next, 0, 0, this.off)
    this.buf = next
  }

  /** Starts a message; its length is patched by `end()`. Returns the message's offset. */
  begin(type: number, flags: number, seq: number): number {
    this.ensure(16)
    const start = this.off
    this.msgStart = start
    this.buf.writeUInt32LE(0, start)
    this.buf.writeUInt16LE(type, start + 4)
    this.buf.writeUInt16LE(flags, start + 6)
    this.buf.writeUInt32LE(seq >>> 0, start + 8)
    this.buf.writeUInt32LE(0, start + 12)
    this.off += 16
    return start
  }

  end(): void {
    if (this.nests.length) throw new Error('netlink writer: unclosed nested attribute')
    this.buf.writeUInt32LE(this.off - this.msgStart, this.msgStart)
    this.msgStart = -1
  }

  /** Discards the message being written (used when encoding it threw). */
  abort(start: number): void {
    this.off = start
    this.msgStart = -1
    this.nests.length = 0
  }

  /** Raw fixed header bytes (ifinfomsg, rtmsg, ...), zero-padded to 4. */
  zeros(n: number): number {
    this.ensure(align4(n))
    const at = this.off
    this.buf.fill(0, at, at + align4(n))
    this.off += align4(n)
    return at
  }

  u8(v: number): void { this.ensure(1); this.buf[this.off++] = v }
  u16(v: number): void { this.ensure(2); this.buf.writeUInt16LE(v, this.off); this.off += 2 }
  u32(v: number): void { this.ensure(4); this.buf.writeUInt32LE(v >>> 0, this.off); this.off += 4 }
  i32(v: number): void { this.ensure(4); this.buf.writeInt32LE(v, this.off); this.off += 4 }
  bytesRaw(b: Uint8Array): void { this.ensure(b.length); this.buf.set(b, this.off); this.off += b.length }
  pad(): void { const p = align4(this.off) - this.off; this.ensure(p); this.buf.fill(0, this.off, this.off + p); this.off += p }

  attrBytes(type: number, data: Uint8Array): void {
    const len = 4 + data.length
    this.ensure(align4(len))
    this.buf.writeUInt16LE(len, this.off)
    this.buf.writeUInt16LE(type, this.off + 2)
    this.buf.set(data, this.off + 4)
    this.off += 4 + data.length
    this.pad()
  }
  attrU8(type: number, v: number): void { this.attrHead(type, 1); this.u8(v); this.pad() }
  attrU16(type: number, v: number): void { this.attrHead(type, 2); this.u16(v); this.pad() }
  /** Network-order 16 bits (UDP ports in fou and ip tunnel attributes). */
  attrBe16(type: number, v: number): void {
    this.attrHead(type, 2); this.ensure(2); this.buf.writeUInt16BE(v, this.off); this.off += 2; this.pad()
  }
  attrU32(type: number, v: number): void { this.attrHead(type, 4); this.u32(v) }
  attrBe32(type: number, v: number): void {
    this.attrHead(type, 4); this.ensure(4); this.buf.writeUInt32BE(v >>> 0, this.off); this.off += 4
  }
  attrString(type: number, s: string): void {
    const n = Buffer.byteLength(s)
    this.attrHead(type, n + 1)
    this.ensure(n + 1)
    this.buf.write(s, this.off)
    this.buf[this.off + n] = 0
    this.off += n + 1
    this.pad()
  }
  attrFlag(type: number): void { this.attrHead(type, 0) }

  private attrHead(type: number, dataLen: number): void {
    this.ensure(4)
    this.buf.writeUInt16LE(4 + dataLen, this.off)
    this.buf.writeUInt16LE(type, this.off + 2)
    this.off += 4
  }

  /** Opens a nested attribute; close with `nestEnd()`. `nested` sets NLA_F_NESTED (strict parsers). */
  nestBegin(type: number, nested = false): void {
    this.ensure(4)
    this.nests.push(this.off)
    this.buf.writeUInt16LE(0, this.off)
    this.buf.writeUInt16LE(type | (nested ? NLA_F_NESTED : 0), this.off + 2)
    this.off += 4
  }
  nestEnd(): void {
    const at = this.nests.pop()
    if (at === undefined) throw new Error('netlink writer: nestEnd without nestBegin')
    this.buf.writeUInt16LE(this.off - at, at)
  }
  /** For non-attribute nested structures (struct rtnexthop): returns the offset to patch. */
  mark(): number { return this.off }
}

/** Walks the netlink messages of one datagram. Stops at a truncated message. */
export function* readMessages(buf: Buffer): Generator<NlMessage> {
  let off = 0
  while (off + 16 <= buf.length) {
    const len = buf.readUInt32LE(off)
    if (len < 16 || off + len > buf.length) return
    yield {
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      payload: buf.subarray(off + 16, off + len),
    }
    off += align4(len)
  }
}

/** Attributes of a region, as a map from type (flags masked off) to value view. Last one wins. */
export function readAttrs(buf: Buffer, start = 0, end = buf.length): Map<number, Buffer> {
  const out = new Map<number, Buffer>()
  let off = start
  while (off + 4 <= end) {
    const len = buf.readUInt16LE(off)
    if (len < 4 || off + len > end) break
    out.set(buf.readUInt16LE(off + 2) & NLA_TYPE_MASK, buf.subarray(off + 4, off + len))
    off += align4(len)
  }
  return out
}

export const attrU32 = (a: Map<number, Buffer>, t: number): number | undefined => {
  const b = a.get(t)
  return b && b.length >= 4 ? b.readUInt32LE(0) : undefined
}
export const attrU8 = (a: Map<number, Buffer>, t: number): number | undefined => {
  const b = a.get(t)
  return b && b.length >= 1 ? b[0] : undefined
}
export const attrBe16 = (a: Map<number, Buffer>, t: number): number | undefined => {
  const b = a.get(t)
  return b && b.length >= 2 ? b.readUInt16BE(0) : undefined
}
export const attrString = (a: Map<number, Buffer>, t: number): string | undefined => {
  const b = a.get(t)
  if (!b) return undefined
  const z = b.indexOf(0)
  return b.toString('utf8', 0, z < 0 ? b.length : z)
}
