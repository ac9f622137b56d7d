/**
 * Fuzzing the whole-message codec with fast-check (the long runs: test/fuzz/messages.ts):
 * - property: arbitrary well-formed OPEN (every capability kind, any grouping, RFC 9072 form),
 *   NOTIFICATION, KEEPALIVE and ROUTE-REFRESH messages round trip to the same value and bytes;
 * - mutation: byte flips, truncations, length-field edits, insertions, deletions and splices of a seed
 *   corpus (generated messages, UPDATEs, the captured streams of real daemons, the malformed
 *   fixtures), decoded under several session contexts: every input gives a message or a BgpError,
 *   nothing else, and decoded non-UPDATE messages re-encode stably;
 * - streams: mutated message sequences cut into random chunks through the framer.
 * 100,000+ cases in all; the seed is printed by fast-check on failure.
 */
import t from 'tap'
import fc from 'fast-check'
import { decodeMessage, encodeMessage } from '../../bgp/codec/message.js'
import { checkMessage, checkStream, contexts, hex, messageArb, mutate, mutationArb, seedCorpus, type Tally } from '../fuzz/messages-lib.js'

const corpus = seedCorpus()

t.test('seed corpus', async (t) => {
  t.ok(corpus.length >= 100, `${corpus.length} seeds`)
  t.ok(corpus.some((s) => s[18] === 2), 'UPDATEs among the seeds')
})

t.test('property: well-formed messages round trip (20,000 cases)', async (t) => {
  let n = 0
  fc.assert(fc.property(messageArb, fc.nat(contexts.length - 1), (msg, ci) => {
    const ctx = contexts[ci]!
    const bytes = encodeMessage(msg, ctx)
    const back = decodeMessage(bytes, 0, ctx)
    n++
    // Deep equality via the re-encoding plus the fields that identify the message.
    return hex(encodeMessage(back, ctx)) === hex(bytes) && JSON.stringify(back, replacer) === JSON.stringify(msg, replacer)
  }), { numRuns: 20000 })
  t.equal(n, 20000)
})

function replacer(_k: string, v: unknown): unknown {
  return v instanceof Uint8Array ? hex(v) : v
}

t.test('mutation: any bytes give a message or a BgpError (70,000 cases)', async (t) => {
  const tally: Tally = { decoded: 0, rejected: 0 }
  fc.assert(fc.property(fc.nat(), fc.array(mutationArb, { minLength: 1, maxLength: 3 }), fc.nat(contexts.length - 1), (si, muts, ci) => {
    let b = corpus[si % corpus.length]!
    for (const m of muts) b = mutate(b, m, corpus)
    checkMessage(b, contexts[ci]!, tally)
  }), { numRuns: 70000 })
  t.equal(tally.decoded + tally.rejected, 70000, `${tally.decoded} decoded, ${tally.rejected} rejected with a BgpError`)
  // The mutations must reach both outcomes, or the fuzz is not exploring.
  t.ok(tally.decoded > 3000, 'many mutants still decode')
  t.ok(tally.rejected > 3000, 'many mutants are rejected')
})

t.test('random bytes after a valid header (10,000 cases)', async (t) => {
  fc.assert(fc.property(fc.constantFrom(1, 2, 3, 4, 5), fc.uint8Array({ maxLength: 300 }), fc.nat(contexts.length - 1), (type, body, ci) => {
    const b = new Uint8Array(19 + body.length)
    b.fill(0xff, 0, 16)
    b[16] = b.length >>> 8
    b[17] = b.length & 0xff
    b[18] = type
    b.set(body, 19)
    checkMessage(b, contexts[ci]!)
  }), { numRuns: 10000 })
  t.pass('no exception other than BgpError')
})

t.test('streams of mutated messages through the framer (5,000 cases)', async (t) => {
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.nat(), fc.option(mutationArb, { freq: 3 })), { minLength: 1, maxLength: 6 }),
    fc.array(fc.nat(), { maxLength: 12 }),
    fc.nat(contexts.length - 1),
    (picks, cuts, ci) => {
      const parts = picks.map(([si, m]) => (m === null ? corpus[si % corpus.length]! : mutate(corpus[si % corpus.length]!, m, corpus)))
      const stream = new Uint8Array(parts.reduce((s, p) => s + p.length, 0))
      let o = 0
      for (const p of parts) { stream.set(p, o); o += p.length }
      checkStream(stream, cuts, contexts[ci]!)
    },
  ), { numRuns: 5000 })
  t.pass('no exception other than BgpError')
})
