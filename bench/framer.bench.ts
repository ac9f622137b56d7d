/**
 * Framer throughput on one core (bgp/codec/framer.ts): a stream of BGP messages cut into chunks the
 * way TCP reads arrive, framed into (buf, offset, length) without decoding bodies. Scenarios: full
 * 4,096-byte UPDATEs in 64 KiB reads (the bulk-transfer case: a packed UPDATE holds ~800 IPv4
 * prefixes, so 1 M messages/s frames ~800 M prefixes/s), small 60-byte UPDATEs in 64 KiB reads
 * (header work dominates), and 4,096-byte UPDATEs in 1,448-byte reads (one MSS: every message
 * straddles chunks and is copied once). Median of several runs after a warm-up; markdown table.
 */
import { Framer } from '../bgp/codec/framer.js'
import { MessageType, writeHeader } from '../bgp/codec/header.js'

const RUNS = Number(process.env.BENCH_RUNS ?? 7)
const STREAM_BYTES = 64 * 1024 * 1024

function stream(messageLength: number): Uint8Array {
  const count = Math.floor(STREAM_BYTES / messageLength)
  const s = new Uint8Array(count * messageLength)
  for (let i = 0; i < count; i++) {
    writeHeader(s, i * messageLength, messageLength, MessageType.Update)
    s.fill(i & 0xff, i * messageLength + 19, (i + 1) * messageLength)
  }
  return s
}

function chunks(s: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let p = 0; p < s.length; p += size) out.push(s.subarray(p, Math.min(s.length, p + size)))
  return out
}

function run(parts: Uint8Array[]): { messages: number; seconds: number; checksum: number } {
  const f = new Framer(65535)
  let messages = 0
  let checksum = 0
  const t0 = process.hrtime.bigint()
  for (const c of parts) {
    f.push(c)
    while (f.next()) {
      messages++
      checksum = (checksum + f.buf[f.offset + 19]! + f.length) | 0
    }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  return { messages, seconds, checksum }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

const scenarios = [
  { name: '4,096-byte UPDATEs, 64 KiB reads', length: 4096, chunk: 65536 },
  { name: '60-byte UPDATEs, 64 KiB reads', length: 60, chunk: 65536 },
  { name: '4,096-byte UPDATEs, 1,448-byte reads (all copied)', length: 4096, chunk: 1448 },
]

console.log('| Scenario | messages/s | MB/s | stream |')
console.log('|---|---:|---:|---:|')
for (const sc of scenarios) {
  const parts = chunks(stream(sc.length), sc.chunk)
  run(parts) // warm-up
  const rates: number[] = []
  const bytesPerS: number[] = []
  let messages = 0
  for (let i = 0; i < RUNS; i++) {
    ;(globalThis as { gc?: () => void }).gc?.()
    const r = run(parts)
    messages = r.messages
    rates.push(r.messages / r.seconds)
    bytesPerS.push((r.messages * sc.length) / r.seconds)
  }
  console.log(`| ${sc.name} | ${Math.round(median(rates)).toLocaleString('en')} | ${Math.round(median(bytesPerS) / 1e6).toLocaleString('en')} | ${messages.toLocaleString('en')} msgs |`)
}
