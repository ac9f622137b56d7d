/**
 * The malformed corpus for the message header, OPEN and ROUTE-REFRESH (RFC 4271 6.1 and 6.2, RFC 5492,
 * RFC 7607, RFC 8654, RFC 9072, RFC 7313 5): one file per case in test/fixtures/malformed/, hex with
 * comments naming the RFC section and the exact expected outcome:
 *   # expect: <action> <code> <subcode> [data hex]   the decoder must throw that BgpError
 *   # expect: decodes <type>                        the bytes are valid for the codec (the session
 *                                                  may still reject them; the comment says why)
 *   # max-message-length: N                         the negotiated maximum (default 4,096)
 * Each case runs twice: through decodeMessage on the whole buffer, and through the framer fed one
 * byte at a time then decodeFramed (what the session does); both must give the same outcome.
 */
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { defaultContext } from '../../bgp/codec/context.js'
import { BgpError } from '../../bgp/codec/errors.js'
import { Framer } from '../../bgp/codec/framer.js'
import { decodeFramed, decodeMessage, type BgpMessage } from '../../bgp/codec/message.js'
import { fromHex, toHex } from '../helpers/round-trip.js'

const dir = new URL('../fixtures/malformed/', import.meta.url)
const files = readdirSync(dir).filter((f) => /^(header|open|route-refresh|notification|keepalive)-.*\.hex$/.test(f)).sort()

interface Case { file: string; rfc: string; expect: string[]; max: number; bytes: Uint8Array }

function load(file: string): Case {
  const text = readFileSync(new URL(file, dir), 'utf8')
  const rfc = /^#\s*(RFC[^\n]*)/m.exec(text)?.[1]
  const expect = /^#\s*expect:\s*([^\n]*)/m.exec(text)?.[1]?.trim().split(/\s+/)
  const max = Number(/^#\s*max-message-length:\s*(\d+)/m.exec(text)?.[1] ?? 4096)
  if (rfc === undefined || expect === undefined) throw new Error(`${file}: needs an "# RFC ..." line and an "# expect:" line`)
  return { file, rfc, expect, max, bytes: fromHex(text) }
}

type Outcome = { error: { kind: string; action: string; code: number; subcode: number; data: string } } | { message: BgpMessage }

function outcome(fn: () => BgpMessage): Outcome {
  try {
    return { message: fn() }
  } catch (e) {
    if (!(e instanceof BgpError)) throw e
    return { error: { kind: e.kind, action: e.action, code: e.code, subcode: e.subcode, data: toHex(e.data) } }
  }
}

function viaFramer(bytes: Uint8Array, max: number): BgpMessage {
  const ctx = defaultContext({ maxMessageLength: max })
  const framer = new Framer(max)
  let last: BgpMessage | undefined
  for (let i = 0; i < bytes.length; i++) {
    framer.push(bytes.subarray(i, i + 1))
    while (framer.next()) last = decodeFramed(framer.type, framer.buf, framer.offset, framer.length, ctx)
  }
  if (last === undefined) throw new Error('framer produced no message')
  return last
}

t.ok(files.length >= 30, `corpus has ${files.length} header/OPEN/ROUTE-REFRESH cases`)

for (const file of files) {
  const c = load(file)
  t.test(`${file}: ${c.rfc}`, async (t) => {
    const ctx = defaultContext({ maxMessageLength: c.max })
    const direct = outcome(() => decodeMessage(c.bytes, 0, ctx))
    if (c.expect[0] === 'decodes') {
      t.ok('message' in direct && direct.message.type === c.expect[1], `decodes as ${c.expect[1]}`)
    } else {
      const [action, code, subcode, data] = c.expect
      t.ok('error' in direct, 'throws a BgpError')
      if ('error' in direct) {
        t.same(
          { action: direct.error.action, code: direct.error.code, subcode: direct.error.subcode, data: direct.error.data },
          { action, code: Number(code), subcode: Number(subcode), data: data ?? '' },
          `action ${action}, code ${code}, subcode ${subcode}, data ${data ?? '(none)'}`,
        )
      }
    }
    // The framer path (header checked by the framer, body by decodeFramed) reaches the same outcome.
    const framed = outcome(() => viaFramer(c.bytes, c.max))
    if ('error' in direct) t.same('error' in framed ? framed.error : framed, direct.error, 'framer path gives the same error')
    else t.same(framed, direct, 'framer path gives the same message')
  })
}
