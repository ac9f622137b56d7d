/**
 * AS_PATH and AS4_PATH (RFC 4271 4.3 and 5.1.2, RFC 5065 confederation segments, RFC 6793 4-octet AS
 * numbers) as segment lists, with the RFC 6793 section 4.2.3 merge of AS_PATH with AS4_PATH.
 *
 * The wire form depends on the session: 2-octet ASNs unless both sides sent the 4-octet AS
 * capability (CodecContext.as4). In memory every ASN is a plain number (0..2^32-1); toward a 2-octet
 * peer the encoder writes AS_TRANS (23456) for ASNs that do not fit and the caller adds AS4_PATH.
 *
 * Validation follows RFC 7606 7.2: a segment overrunning the attribute, a single trailing octet, a
 * zero segment length, or an unknown segment type makes the AS_PATH malformed.
 */

export const AsSegment = {
  Set: 1,
  Sequence: 2,
  ConfedSequence: 3, // RFC 5065
  ConfedSet: 4,
} as const
export type AsSegmentType = (typeof AsSegment)[keyof typeof AsSegment]

/** AS_TRANS (RFC 6793): stands for a 4-octet ASN toward a 2-octet speaker. */
export const AS_TRANS = 23456

export interface AsPathSegment {
  readonly type: AsSegmentType
  readonly asns: readonly number[]
}
export type AsPath = readonly AsPathSegment[]

/** Why an AS_PATH failed validation, or 0 when it is well formed. */
export const AsPathProblem = {
  None: 0,
  Overrun: 1,
  TrailingOctet: 2,
  ZeroLength: 3,
  BadSegmentType: 4,
} as const

/**
 * Checks the segments of an AS_PATH value of `len` bytes at `start` without allocating; returns an
 * AsPathProblem (0 when fine). `confed` is set to 1 in `out[0]` when confederation segments occur.
 */
export function checkAsPath(buf: Uint8Array, start: number, len: number, asnBytes: number, out?: Int32Array): number {
  const end = start + len
  let p = start
  let confed = 0
  while (p < end) {
    if (end - p < 2) return AsPathProblem.TrailingOctet
    const type = buf[p] as number
    const n = buf[p + 1] as number
    if (type < 1 || type > 4) return AsPathProblem.BadSegmentType
    if (n === 0) return AsPathProblem.ZeroLength
    if (type >= 3) confed = 1
    p += 2 + n * asnBytes
    if (p > end) return AsPathProblem.Overrun
  }
  if (out !== undefined) out[0] = confed
  return AsPathProblem.None
}

/** Decodes a value already accepted by checkAsPath. */
export function decodeAsPath(buf: Uint8Array, start: number, len: number, asnBytes: number): AsPath {
  const end = start + len
  const segs: AsPathSegment[] = []
  let p = start
  while (p < end) {
    const type = buf[p] as AsSegmentType
    const n = buf[p + 1] as number
    p += 2
    const asns = new Array<number>(n)
    if (asnBytes === 4) {
      for (let i = 0; i < n; i++, p += 4) {
        asns[i] = (((buf[p] as number) << 24) | ((buf[p + 1] as number) << 16) | ((buf[p + 2] as number) << 8) | (buf[p + 3] as number)) >>> 0
      }
    } else {
      for (let i = 0; i < n; i++, p += 2) asns[i] = ((buf[p] as number) << 8) | (buf[p + 1] as number)
    }
    segs.push({ type, asns })
  }
  return segs
}

/** Bytes the path takes on the wire; segments longer than 255 ASNs are split (RFC 4271 5.1.2). */
export function asPathLength(path: AsPath, asnBytes: number): number {
  let len = 0
  for (const s of path) {
    const n = s.asns.length
    if (n === 0) continue
    len += Math.ceil(n / 255) * 2 + n * asnBytes
  }
  return len
}

/**
 * Writes the path; ASNs above 65535 become AS_TRANS when `asnBytes` is 2. `skipConfed` leaves out
 * confederation segments (AS4_PATH must not carry them, RFC 6793 section 3).
 */
export function writeAsPath(path: AsPath, asnBytes: number, buf: Uint8Array, offset: number, skipConfed = false): number {
  let p = offset
  for (const s of path) {
    if (skipConfed && s.type >= 3) continue
    const n = s.asns.length
    for (let from = 0; from < n; from += 255) {
      const chunk = Math.min(255, n - from)
      buf[p++] = s.type
      buf[p++] = chunk
      for (let i = from; i < from + chunk; i++) {
        const a = s.asns[i] as number
        if (asnBytes === 4) {
          buf[p++] = a >>> 24
          buf[p++] = (a >>> 16) & 0xff
          buf[p++] = (a >>> 8) & 0xff
          buf[p++] = a & 0xff
        } else {
          const v = a > 0xffff ? AS_TRANS : a
          buf[p++] = v >>> 8
          buf[p++] = v & 0xff
        }
      }
    }
  }
  return p - offset
}

/** Path without its confederation segments (what AS4_PATH carries). */
export function withoutConfed(path: AsPath): AsPath {
  return path.filter((s) => s.type !== AsSegment.ConfedSequence && s.type !== AsSegment.ConfedSet)
}

/** True when some ASN needs 4 octets, i.e. a 2-octet peer needs AS4_PATH as well. */
export function needsAs4(path: AsPath): boolean {
  for (const s of path) for (const a of s.asns) if (a > 0xffff) return true
  return false
}

/** Path length for best-path selection and the RFC 6793 merge: a set counts 1, confed segments 0. */
export function asPathCount(path: AsPath): number {
  let n = 0
  for (const s of path) {
    if (s.type === AsSegment.Sequence) n += s.asns.length
    else if (s.type === AsSegment.Set) n += 1
  }
  return n
}

/**
 * RFC 6793 4.2.3: reconstructs the true path from AS_PATH (with AS_TRANS) and AS4_PATH. When AS_PATH
 * holds fewer ASNs than AS4_PATH, AS4_PATH is ignored. Otherwise the leading ASNs of AS_PATH that
 * AS4_PATH lacks are kept in front of it; leading confederation segments of AS_PATH are kept too
 * (AS4_PATH never carries them, and they count zero).
 */
export function mergeAs4Path(asPath: AsPath, as4Path: AsPath): AsPath {
  const as4 = withoutConfed(as4Path)
  const diff = asPathCount(asPath) - asPathCount(as4)
  if (diff < 0) return asPath
  const out: AsPathSegment[] = []
  let need = diff
  for (const s of asPath) {
    if (s.type === AsSegment.ConfedSequence || s.type === AsSegment.ConfedSet) {
      out.push(s)
      continue
    }
    if (need === 0) break
    if (s.type === AsSegment.Set) {
      out.push(s)
      need -= 1
    } else if (s.asns.length <= need) {
      out.push(s)
      need -= s.asns.length
    } else {
      out.push({ type: s.type, asns: s.asns.slice(0, need) })
      need = 0
    }
  }
  // At the junction a sequence taken from AS_PATH and the first sequence of AS4_PATH are one
  // sequence (the old speakers prepended to it); the AS4_PATH segments themselves stay as sent.
  const first = as4[0]
  const last = out[out.length - 1]
  if (first !== undefined && last !== undefined && last.type === AsSegment.Sequence && first.type === AsSegment.Sequence) {
    out[out.length - 1] = { type: AsSegment.Sequence, asns: [...last.asns, ...first.asns] }
    out.push(...as4.slice(1))
  } else {
    out.push(...as4)
  }
  return out
}

/** Text form for logs and the CLI: `64512 65000 {1 2} (65001)`, confed segments in () and [] . */
export function asPathToString(path: AsPath): string {
  return path
    .map((s) => {
      const body = s.asns.join(' ')
      switch (s.type) {
        case AsSegment.Sequence:
          return body
        case AsSegment.Set:
          return `{${body}}`
        case AsSegment.ConfedSequence:
          return `(${body})`
        case AsSegment.ConfedSet:
          return `[${body}]`
      }
    })
    .join(' ')
}
