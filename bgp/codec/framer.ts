/**
 * The BGP message framer: cuts the TCP byte stream into whole messages (RFC 4271 4.1 header: marker,
 * length, type), an explicit state machine over a list of received chunks in the style of the ws
 * receiver.
 *
 * - A message split across any number of reads, or many messages in one read, frame the same.
 * - Zero copy when a message lies inside one chunk: the caller gets (buf, offset, length) into that
 *   chunk. One copy when it straddles chunks, into a slab shared by many such messages (never
 *   overwritten), or into a buffer of its own above 32 KiB.
 * - Every header is checked before its body is awaited: marker, length within [19, maxMessageLength]
 *   (4,096, or 65,535 once RFC 8654 extended messages are negotiated), known type, the type's own
 *   length rules (OPEN and KEEPALIVE never above 4,096). Errors are BgpError Message Header Errors;
 *   after one the framer stays failed (the session sends the NOTIFICATION and closes).
 * - No allocation per message on the zero-copy path and no closures: `next()` returns a boolean and
 *   leaves the message in fields, so a session loop is
 *     framer.push(chunk)
 *     while (framer.next()) handle(framer.type, framer.buf, framer.offset, framer.length)
 *   `offset`/`length` cover the whole message, header included; the body starts at offset + 19.
 *
 * Views handed out point into the caller's chunks (or the framer's one-off copy); the framer never
 * writes into a chunk, so they stay valid as long as the caller does not reuse its buffers.
 */
import { BgpError, ErrorCode, HeaderSubcode } from './errors.js'
import { checkHeaderLength, HEADER_LENGTH, MAX_MESSAGE_LENGTH } from './header.js'

const EMPTY = new Uint8Array(0)
/** Copies of straddling messages are carved from slabs of this size (an allocation per 16+ messages
 * of 4,096 bytes instead of one per message). */
const SLAB_SIZE = 256 * 1024

const State = {
  /** Waiting for the 19 header bytes of the next message. */
  Header: 0,
  /** Header checked; waiting for `pendingLength` bytes (header included) from the read position. */
  Body: 1,
  /** A header error was thrown; every later call rethrows it. */
  Failed: 2,
} as const
type State = (typeof State)[keyof typeof State]

export class Framer {
  /** Largest message accepted: 4,096, or 65,535 after RFC 8654. May be raised once OPENs are exchanged. */
  maxMessageLength: number

  /** The last framed message: `buf[offset .. offset+length)`, header included, and its type. */
  buf: Uint8Array = EMPTY
  offset = 0
  length = 0
  type = 0

  /** Received chunks not yet fully consumed; `chunks[head]` is read from `headOffset`. */
  private chunks: Uint8Array[] = []
  private head = 0
  private headOffset = 0
  /** Unconsumed bytes across all chunks. */
  private buffered = 0
  private state: State = State.Header
  private pendingLength = 0
  private pendingType = 0
  private failure: BgpError | undefined
  /** Scratch for a header that straddles chunks (allocated once). */
  private readonly scratch = new Uint8Array(HEADER_LENGTH)
  /** Where straddling messages are copied (see next()). */
  private slab: Uint8Array = EMPTY
  private slabOffset = 0

  constructor(maxMessageLength: number = MAX_MESSAGE_LENGTH) {
    this.maxMessageLength = maxMessageLength
  }

  /** Adds received bytes. The framer keeps a reference, not a copy: do not reuse the chunk. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return
    this.chunks.push(chunk)
    this.buffered += chunk.length
  }

  /** Bytes received and not yet handed out as messages (a partial message, or messages not yet read). */
  get bufferedBytes(): number {
    return this.buffered
  }

  /**
   * True when bytes are waiting: before declaring the hold timer expired, the session checks this
   * (as BIRD does), since our own event loop may be the slow one, not the peer.
   */
  hasBufferedInput(): boolean {
    return this.buffered > 0
  }

  /**
   * Frames the next message. Returns true and sets buf/offset/length/type when a whole message is
   * available; false when more bytes are needed. Throws BgpError on a bad header.
   */
  next(): boolean {
    if (this.state === State.Failed) throw this.failure as BgpError
    if (this.state === State.Header) {
      if (this.buffered < HEADER_LENGTH) return false
      const chunk = this.chunks[this.head] as Uint8Array
      let length: number
      try {
        if (chunk.length - this.headOffset >= HEADER_LENGTH) {
          length = checkHeaderLength(chunk, this.headOffset, this.maxMessageLength)
          this.pendingType = chunk[this.headOffset + 18] as number
        } else {
          this.copyOut(this.scratch, 0, HEADER_LENGTH)
          length = checkHeaderLength(this.scratch, 0, this.maxMessageLength)
          this.pendingType = this.scratch[18] as number
        }
      } catch (e) {
        this.state = State.Failed
        this.failure = e instanceof BgpError ? e
          : new BgpError('framing', ErrorCode.MessageHeader, HeaderSubcode.Unspecific, EMPTY, 'session-reset', String(e))
        throw this.failure
      }
      this.pendingLength = length
      this.state = State.Body
    }
    const length = this.pendingLength
    if (this.buffered < length) return false
    const chunk = this.chunks[this.head] as Uint8Array
    if (chunk.length - this.headOffset >= length) {
      // Zero-copy: the whole message lies in the head chunk.
      this.buf = chunk
      this.offset = this.headOffset
      this.headOffset += length
      this.buffered -= length
      if (this.headOffset === chunk.length) this.dropHead()
    } else {
      // Straddles chunks: copy once. Small and medium messages go into a shared slab (allocating an
      // ArrayBuffer per message costs more than the copy itself); the slab only moves forward, so
      // views handed out earlier are never overwritten. Large ones get their own buffer.
      let out: Uint8Array
      let at: number
      if (length > SLAB_SIZE / 8) {
        out = new Uint8Array(length)
        at = 0
      } else {
        if (this.slab.length - this.slabOffset < length) {
          this.slab = new Uint8Array(SLAB_SIZE)
          this.slabOffset = 0
        }
        out = this.slab
        at = this.slabOffset
        this.slabOffset += length
      }
      this.copyOut(out, at, length)
      this.consume(length)
      this.buf = out
      this.offset = at
    }
    this.length = length
    this.type = this.pendingType
    this.state = State.Header
    return true
  }

  /** The next message as a view (header included), or null; allocates the view object. */
  nextMessage(): Uint8Array | null {
    return this.next() ? this.buf.subarray(this.offset, this.offset + this.length) : null
  }

  /** Copies the first `n` unconsumed bytes into `out` at `at` without consuming them. */
  private copyOut(out: Uint8Array, at: number, n: number): void {
    let copied = 0
    let i = this.head
    let from = this.headOffset
    while (copied < n) {
      const c = this.chunks[i] as Uint8Array
      const take = Math.min(c.length - from, n - copied)
      out.set(c.subarray(from, from + take), at + copied)
      copied += take
      i++
      from = 0
    }
  }

  /** Drops the first `n` unconsumed bytes. */
  private consume(n: number): void {
    this.buffered -= n
    while (n > 0) {
      const c = this.chunks[this.head] as Uint8Array
      const left = c.length - this.headOffset
      if (left > n) {
        this.headOffset += n
        return
      }
      n -= left
      this.dropHead()
    }
  }

  private dropHead(): void {
    this.head++
    this.headOffset = 0
    if (this.head === this.chunks.length) {
      // Common case: everything consumed; reuse the array.
      this.chunks.length = 0
      this.head = 0
    } else if (this.head >= 32) {
      this.chunks = this.chunks.slice(this.head)
      this.head = 0
    }
  }
}
