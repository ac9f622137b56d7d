/**
 * UPDATE codec throughput on one core (docs/benchmarks.md): streams of packed UPDATEs (at most 4,096
 * bytes, a new attribute set every 1,000 prefixes) for 1,000,000 IPv4 unicast prefixes and
 * 1,000,000 VPN-IPv4 routes (RD, label, route target, encapsulation community).
 *
 * Measured: bulk decode (numbers to a sink, bgp/codec/bulk.ts), bulk encode (one allocation per
 * message), and, for honesty, the object decoder and encoder (bgp/codec/update.ts). Each figure is
 * the median of several runs after a warm-up; printed as a markdown table. Targets: 5 M IPv4
 * prefixes/s and 2 M VPN-IPv4 routes/s decoded (GoBGP's codec: 13.1 M/s and 4.19 M/s).
 */
import { Family, type FamilyKey } from '../bgp/codec/afi.js'
import { encodeAttributes, type PathAttributes } from '../bgp/codec/attributes.js'
import { decodeUpdateBulk, encodeUpdatesBulk, type RouteBatch, type UpdateSink } from '../bgp/codec/bulk.js'
import { defaultContext } from '../bgp/codec/context.js'
import { encapsulation, routeTarget } from '../bgp/codec/ext-communities.js'
import { checkHeader } from '../bgp/codec/header.js'
import { decodeUpdate, encodeUpdate, updateEncodingLength, type UpdateMessage } from '../bgp/codec/update.js'
import type { UpdateIssue } from '../bgp/codec/update.js'
import { cpus, loadavg } from 'node:os'

const ROUTES = 1_000_000
const PER_SET = 1_000
const RUNS = Number(process.env.BENCH_RUNS ?? 7)

const ctx = defaultContext({ families: new Set([Family.Ipv4Unicast, Family.Ipv4Vpn]) })

function attrsFor(set: number, vpn: boolean): PathAttributes {
  const base: PathAttributes = {
    origin: 0,
    asPath: [{ type: 2, asns: [64512, 65000 + (set % 500), 4200000000 + set] }],
    med: set,
    localPref: 100,
    communities: [(64512 << 16) | (set & 0xffff)],
  }
  if (vpn) return { ...base, extCommunities: [routeTarget(64512, 1 + (set % 50)), encapsulation(13)] }
  return { ...base, nextHop: (10 << 24) | set }
}

/** IPv4 batch: a spread of /16../24 prefixes, mostly /24 as in a full table. */
function ipv4Batch(): RouteBatch {
  const addr = new Uint32Array(ROUTES)
  const length = new Uint8Array(ROUTES)
  for (let i = 0; i < ROUTES; i++) {
    const len = i % 10 < 6 ? 24 : 16 + (i % 8)
    length[i] = len
    addr[i] = ((0x01000000 + i * 256) & (0xffffffff << (32 - len))) >>> 0
  }
  return { family: Family.Ipv4Unicast, count: ROUTES, addr, length }
}

function vpnBatch(): RouteBatch {
  const addr = new Uint32Array(ROUTES)
  const length = new Uint8Array(ROUTES)
  const rd = new Uint32Array(ROUTES * 2)
  const label = new Uint32Array(ROUTES)
  for (let i = 0; i < ROUTES; i++) {
    length[i] = i % 4 === 0 ? 24 : 32
    addr[i] = length[i] === 24 ? ((0x0a000000 + i * 256) & 0xffffff00) >>> 0 : (0x0a000000 + i) >>> 0
    rd[2 * i] = (0 << 16) | 64512 // type 0, admin 64512
    rd[2 * i + 1] = 1 + (i % 100)
    label[i] = 16 + (i % 1000)
  }
  return { family: Family.Ipv4Vpn, count: ROUTES, addr, length, rd, label }
}

function encodeStream(batch: RouteBatch, vpn: boolean): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let from = 0, set = 0; from < batch.count; from += PER_SET, set++) {
    const attrs = encodeAttributes(attrsFor(set, vpn), ctx)
    encodeUpdatesBulk(ctx, batch, attrs, vpn ? Uint8Array.of(192, 0, 2, 1) : null, out, from, Math.min(batch.count, from + PER_SET))
  }
  return out
}

function concat(msgs: Uint8Array[]): Uint8Array {
  let n = 0
  for (const m of msgs) n += m.length
  const b = new Uint8Array(n)
  let p = 0
  for (const m of msgs) {
    b.set(m, p)
    p += m.length
  }
  return b
}

class CountingSink implements UpdateSink {
  routes = 0
  sets = 0
  check = 0
  attributes(_f: FamilyKey, _a: Uint8Array, start: number, end: number): void {
    this.sets++
    this.check ^= end - start
  }
  ipv4(_w: boolean, _id: number, addr: number, length: number): void {
    this.routes++
    this.check ^= addr + length
  }
  ipv6(): void {
    this.routes++
  }
  vpnv4(_w: boolean, _id: number, _rh: number, rdLow: number, label: number, addr: number, length: number): void {
    this.routes++
    this.check ^= rdLow + label + addr + length
  }
  vpnv6(): void {
    this.routes++
  }
  nlri(): void {
    this.routes++
  }
  issue(_i: UpdateIssue): void {
    throw new Error('benchmark stream should be clean')
  }
}

function decodeStreamBulk(stream: Uint8Array, sink: CountingSink): number {
  let p = 0
  while (p < stream.length) {
    const { length } = checkHeader(stream, p, ctx.maxMessageLength)
    decodeUpdateBulk(stream, p, length, ctx, sink)
    p += length
  }
  return sink.routes
}

function decodeStreamObjects(stream: Uint8Array): number {
  let p = 0
  let routes = 0
  while (p < stream.length) {
    const { length } = checkHeader(stream, p, ctx.maxMessageLength)
    const m = decodeUpdate(stream, p, length, ctx)
    routes += m.nlri.length + (m.mpReach?.nlri.length ?? 0)
    p += length
  }
  return routes
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[s.length >> 1] as number
}

/**
 * Median wall time and median CPU time (user + system of this process) of several runs after a
 * warm-up. On a shared machine wall time includes waiting for a core; CPU time is what the codec
 * itself spent, so rates are given for both.
 */
function time(fn: () => number): { ms: number; cpuMs: number; result: number } {
  fn() // warm-up
  const ms: number[] = []
  const cpu: number[] = []
  let result = 0
  for (let i = 0; i < RUNS; i++) {
    globalThis.gc?.()
    const c0 = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    result = fn()
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6)
    const c = process.cpuUsage(c0)
    cpu.push((c.user + c.system) / 1000)
  }
  return { ms: median(ms), cpuMs: median(cpu), result }
}

interface Row {
  what: string
  routes: number
  messages: number
  ms: number
  cpuMs: number
}
const rows: Row[] = []

for (const vpn of [false, true]) {
  const name = vpn ? 'VPN-IPv4 (RD, label, RT, encap)' : 'IPv4 unicast'
  const batch = vpn ? vpnBatch() : ipv4Batch()
  const msgs = encodeStream(batch, vpn)
  const stream = concat(msgs)

  const dec = time(() => decodeStreamBulk(stream, new CountingSink()))
  if (dec.result !== ROUTES) throw new Error(`bulk decode of ${name} gave ${dec.result} routes, expected ${ROUTES}`)
  rows.push({ what: `${name}: bulk decode`, routes: ROUTES, messages: msgs.length, ms: dec.ms, cpuMs: dec.cpuMs })

  const enc = time(() => encodeStream(batch, vpn).length)
  rows.push({ what: `${name}: bulk encode`, routes: ROUTES, messages: enc.result, ms: enc.ms, cpuMs: enc.cpuMs })

  const obj = time(() => decodeStreamObjects(stream))
  if (obj.result !== ROUTES) throw new Error(`object decode of ${name} gave ${obj.result} routes`)
  rows.push({ what: `${name}: object decode`, routes: ROUTES, messages: msgs.length, ms: obj.ms, cpuMs: obj.cpuMs })

  // Object encoder: re-encode the decoded messages (decode cost excluded).
  const decoded: UpdateMessage[] = []
  for (let p = 0; p < stream.length; ) {
    const { length } = checkHeader(stream, p, ctx.maxMessageLength)
    decoded.push(decodeUpdate(stream, p, length, ctx))
    p += length
  }
  const oenc = time(() => {
    let bytes = 0
    for (const m of decoded) {
      const b = new Uint8Array(updateEncodingLength(m, ctx))
      bytes += encodeUpdate(m, ctx, b, 0)
    }
    if (bytes !== stream.length) throw new Error(`object encode of ${name} gave ${bytes} bytes, expected ${stream.length}`)
    return bytes
  })
  rows.push({ what: `${name}: object encode`, routes: ROUTES, messages: decoded.length, ms: oenc.ms, cpuMs: oenc.cpuMs })
}

const load = loadavg()[0] ?? 0
console.log(`Node ${process.version}, ${cpus().length} cores, load average ${load.toFixed(1)}; one core used; median of ${RUNS} runs after a warm-up; max message 4,096 bytes, new attribute set every ${PER_SET} prefixes.`)
console.log('Routes/s from CPU time (what the codec spent) and from wall time (includes waiting for a core on a busy machine).\n')
console.log('| Stream | Routes | UPDATEs | CPU time | Routes/s (CPU) | Wall time | Routes/s (wall) |')
console.log('|---|---:|---:|---:|---:|---:|---:|')
for (const r of rows) {
  const rate = (ms: number) => `${(r.routes / ms / 1000).toFixed(2)} M`
  console.log(`| ${r.what} | ${r.routes.toLocaleString('en-US')} | ${r.messages.toLocaleString('en-US')} | ${r.cpuMs.toFixed(1)} ms | ${rate(r.cpuMs)} | ${r.ms.toFixed(1)} ms | ${rate(r.ms)} |`)
}
