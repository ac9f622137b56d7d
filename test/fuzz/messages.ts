/**
 * Long-running fuzzer for the whole-message codec (the CI test test/codec/fuzz-messages.test.ts runs
 * the same oracle on ~105,000 cases; this runs as many as you ask, for hours if you like):
 *
 *   node --import tsx test/fuzz/messages.ts [cases=1000000] [seed=random] [--out DIR]
 *
 * Mixes the four campaigns of the CI test (well-formed round trips, mutations of the seed corpus
 * including UPDATEs and the captured streams, random bodies after a valid header, framed streams cut
 * at random points) in rounds of 10,000, each round with its own seed derived from the run's seed,
 * so any failure is reproducible from the printed round seed. A failing input is shrunk by
 * fast-check and written as hex to DIR (default test/fuzz/crashes/) with the error; the process exits
 * 1 on the first failure, 0 after all cases. Progress is printed every round.
 */
import fc from 'fast-check'
import { mkdirSync, writeFileSync } from 'node:fs'
import { decodeMessage, encodeMessage } from '../../bgp/codec/message.js'
import { checkMessage, checkStream, contexts, hex, messageArb, mutate, mutationArb, seedCorpus, type Tally } from './messages-lib.js'

const args = process.argv.slice(2)
const outIdx = args.indexOf('--out')
const outDir = outIdx >= 0 ? (args.splice(outIdx, 2)[1] ?? 'test/fuzz/crashes') : 'test/fuzz/crashes'
const total = Number(args[0] ?? 1_000_000)
const runSeed = Number(args[1] ?? Math.floor(Math.random() * 0x7fffffff))
if (!Number.isSafeInteger(total) || total <= 0 || !Number.isSafeInteger(runSeed)) {
  console.error('usage: node --import tsx test/fuzz/messages.ts [cases] [seed] [--out DIR]')
  process.exit(2)
}

const corpus = seedCorpus()
const ROUND = 10_000

const roundTrip = fc.property(messageArb, fc.nat(contexts.length - 1), (msg, ci) => {
  const ctx = contexts[ci]!
  const bytes = encodeMessage(msg, ctx)
  const again = encodeMessage(decodeMessage(bytes, 0, ctx), ctx)
  if (hex(again) !== hex(bytes)) throw new Error(`round trip changed the bytes: ${hex(bytes)} -> ${hex(again)}`)
})
const mutation = (tally: Tally): fc.IProperty<[number, Parameters<typeof mutate>[1][], number]> =>
  fc.property(fc.nat(), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), fc.nat(contexts.length - 1), (si, muts, ci) => {
    let b = corpus[si % corpus.length]!
    for (const m of muts) b = mutate(b, m, corpus)
    try {
      checkMessage(b, contexts[ci]!, tally)
    } catch (e) {
      throw new Error(`input ${hex(b)}: ${String(e)}`)
    }
  })
const randomBody = fc.property(fc.constantFrom(1, 2, 3, 4, 5), fc.uint8Array({ maxLength: 600 }), fc.nat(contexts.length - 1), (type, body, ci) => {
  const b = new Uint8Array(19 + body.length)
  b.fill(0xff, 0, 16)
  b[16] = b.length >>> 8
  b[17] = b.length & 0xff
  b[18] = type
  b.set(body, 19)
  try {
    checkMessage(b, contexts[ci]!)
  } catch (e) {
    throw new Error(`input ${hex(b)}: ${String(e)}`)
  }
})
const streams = fc.property(
  fc.array(fc.tuple(fc.nat(), fc.option(mutationArb, { freq: 3 })), { minLength: 1, maxLength: 8 }),
  fc.array(fc.nat(), { maxLength: 16 }),
  fc.nat(contexts.length - 1),
  (picks, cuts, ci) => {
    const parts = picks.map(([si, m]) => (m === null ? corpus[si % corpus.length]! : mutate(corpus[si % corpus.length]!, m, corpus)))
    const stream = new Uint8Array(parts.reduce((s, p) => s + p.length, 0))
    let o = 0
    for (const p of parts) { stream.set(p, o); o += p.length }
    try {
      checkStream(stream, cuts, contexts[ci]!)
    } catch (e) {
      throw new Error(`stream ${hex(stream)} cuts ${JSON.stringify(cuts)}: ${String(e)}`)
    }
  },
)

console.log(`fuzzing ${total.toLocaleString('en')} cases, seed ${runSeed}, ${corpus.length} seed messages`)
const started = Date.now()
const tally: Tally = { decoded: 0, rejected: 0 }
let done = 0
let round = 0
while (done < total) {
  const n = Math.min(ROUND, total - done)
  const seed = (runSeed + round * 7919) | 0
  // 20% round trips, 55% mutations, 15% random bodies, 10% streams.
  const campaign = [
    { name: 'round-trip', prop: roundTrip as unknown as fc.IProperty<unknown[]>, runs: Math.ceil(n * 0.2) },
    { name: 'mutation', prop: mutation(tally) as unknown as fc.IProperty<unknown[]>, runs: Math.ceil(n * 0.55) },
    { name: 'random-body', prop: randomBody as unknown as fc.IProperty<unknown[]>, runs: Math.ceil(n * 0.15) },
    { name: 'stream', prop: streams as unknown as fc.IProperty<unknown[]>, runs: Math.max(1, n - Math.ceil(n * 0.2) - Math.ceil(n * 0.55) - Math.ceil(n * 0.15)) },
  ]
  for (const c of campaign) {
    const details = fc.check(c.prop, { numRuns: c.runs, seed })
    if (details.failed) {
      mkdirSync(outDir, { recursive: true })
      const file = `${outDir}/${c.name}-${seed}.txt`
      const report = `campaign ${c.name}, round seed ${seed} (run seed ${runSeed}, round ${round})\n` +
        `counterexample: ${JSON.stringify(details.counterexample, (_k, v) => (v instanceof Uint8Array ? hex(v) : v))}\n` +
        `error: ${details.errorInstance instanceof Error ? details.errorInstance.stack : String(details.errorInstance)}\n`
      writeFileSync(file, report)
      console.error(report)
      console.error(`written to ${file}`)
      process.exit(1)
    }
    done += c.runs
  }
  round++
  const s = (Date.now() - started) / 1000
  console.log(`${done.toLocaleString('en')} cases, ${s.toFixed(0)} s, ${Math.round(done / s).toLocaleString('en')}/s; mutants decoded ${tally.decoded.toLocaleString('en')}, rejected ${tally.rejected.toLocaleString('en')}`)
}
console.log(`done: ${done.toLocaleString('en')} cases without a failure (seed ${runSeed})`)
