/**
 * RIB ingest in one process, without sockets (the end-to-end figure with TCP and the other daemons
 * is ingest.bench.ts): packed UPDATEs as docs/benchmarks.md describes them (at most 4,096 bytes, a new
 * attribute set every 1,000 prefixes) for 1,000,000 IPv4 unicast and 500,000 VPN-IPv4 routes (RD,
 * label, route target, encapsulation), decoded by the bulk path into a Rib with one peer and
 * committed (best path run on every destination).
 *
 * Reported: wall and CPU time from the first UPDATE to all routes in Loc-RIB, the share of that in
 * commit(), and bytes per route of Adj-RIB-In plus Loc-RIB (heap + array buffers growth, and RSS
 * growth), against the targets (100 B IPv4, 150 B VPNv4) and BIRD's figures.
 * Each scenario runs in a fresh child process so one does not inherit the other's heap.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { loadavg } from 'node:os'
import { Family } from '../bgp/codec/afi.js'
import { encodeAttributes, type PathAttributes } from '../bgp/codec/attributes.js'
import { decodeUpdateBulk, encodeUpdatesBulk } from '../bgp/codec/bulk.js'
import { defaultContext } from '../bgp/codec/context.js'
import { encapsulation, routeTarget } from '../bgp/codec/ext-communities.js'
import { externalOfTables, Rib } from '../bgp/rib/index.js'

interface Result {
  scenario: string
  routes: number
  wallMs: number
  cpuMs: number
  commitMs: number
  heapPerRoute: number
  rssPerRoute: number
  sets: number
}

async function run(vpn: boolean, routes: number): Promise<Result> {
  const ctx = defaultContext({ families: new Set([Family.Ipv4Unicast, Family.Ipv4Vpn]), ebgp: true })
  const family = vpn ? Family.Ipv4Vpn : Family.Ipv4Unicast
  const msgs: Uint8Array[] = []
  for (let i = 0; i < routes; i += 1000) {
    const n = Math.min(1000, routes - i)
    const addr = new Uint32Array(n)
    const length = new Uint8Array(n)
    const rd = new Uint32Array(2 * n)
    const label = new Uint32Array(n)
    for (let k = 0; k < n; k++) {
      // /24s spread over the space as a full table is (the hash must not profit from order).
      const x = i + k
      addr[k] = ((((x * 2654435761) >>> 0) & 0xffffff00) | 0) >>> 0
      length[k] = 24
      rd[2 * k] = 64512
      rd[2 * k + 1] = 1 + (x % 7)
      label[k] = 16 + (x % 100000)
    }
    const set = i / 1000
    const attrs: PathAttributes = {
      origin: 0,
      asPath: [{ type: 2, asns: [64512, 65000 + (set % 500)] }],
      med: set,
      ...(vpn ? { extCommunities: [routeTarget(64512, 1 + (set % 50)), encapsulation(13)] } : { nextHop: 0xc0000201 }),
    }
    encodeUpdatesBulk(ctx, { family, count: n, addr, length, ...(vpn ? { rd, label } : {}) }, encodeAttributes(attrs, ctx), vpn ? new Uint8Array([192, 0, 2, 1]) : null, msgs)
  }
  // Distinct addresses can collide after masking; count what the table must hold.
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  gc?.()
  const m0 = process.memoryUsage()
  const e0 = externalOfTables(m0.external)
  const rib = new Rib({ localAs: 64496, routerId: 1 }) // not in any AS_PATH below (that would be a loop)
  const peer = rib.addPeer({ address: '192.0.2.1', asn: 64512, routerId: 2, ebgp: true })
  const sink = rib.sink(peer, ctx)
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  for (const m of msgs) decodeUpdateBulk(m, 0, m.length, ctx, sink)
  const t1 = performance.now()
  rib.commit()
  const t2 = performance.now()
  const c1 = process.cpuUsage(c0)
  // Collect the arrays that growth left behind; huge-page buffers are unmapped by finalizers that
  // run on a later turn of the event loop, so let a few turns pass before reading RSS.
  for (let i = 0; i < 3; i++) {
    gc?.()
    await new Promise((r) => setTimeout(r, 10))
  }
  const m1 = process.memoryUsage()
  const size = rib.table(family).size
  // external covers array buffers, V8's own and the addon's (the arena counted by what is in it).
  const heap = m1.heapUsed + externalOfTables(m1.external) - (m0.heapUsed + e0)
  return {
    scenario: vpn ? 'VPNv4' : 'IPv4',
    routes: size,
    wallMs: t2 - t0,
    cpuMs: (c1.user + c1.system) / 1000,
    commitMs: t2 - t1,
    heapPerRoute: heap / size,
    rssPerRoute: (m1.rss - m0.rss) / size,
    sets: rib.attributeSets,
  }
}

const self = fileURLToPath(import.meta.url)
const child = process.argv[2]
if (child !== undefined) {
  const r = await run(child === 'vpn', child === 'vpn' ? 500_000 : 1_000_000)
  process.stdout.write(JSON.stringify(r))
} else {
  const runs = Number(process.env.BENCH_RUNS ?? 3)
  const rows: string[] = []
  for (const kind of ['ipv4', 'vpn']) {
    const results: Result[] = []
    for (let i = 0; i < runs; i++) {
      const out = spawnSync(process.execPath, ['--expose-gc', self, kind], { encoding: 'utf8' })
      if (out.status !== 0) throw new Error(`rib bench child failed: ${out.stderr}`)
      results.push(JSON.parse(out.stdout) as Result)
    }
    results.sort((a, b) => a.wallMs - b.wallMs)
    const r = results[Math.floor(results.length / 2)] as Result
    const target = kind === 'vpn' ? 150 : 100
    rows.push(
      `| ${r.routes.toLocaleString('en')} ${r.scenario} | ${(r.wallMs / 1000).toFixed(2)} s | ${(r.cpuMs / 1000).toFixed(2)} s | ${(r.commitMs / 1000).toFixed(2)} s | ${((r.routes / r.wallMs) * 1000 / 1e6).toFixed(2)} M/s | ${r.heapPerRoute.toFixed(0)} B | ${r.rssPerRoute.toFixed(0)} B | ≤ ${target} B | ${r.sets} |`,
    )
  }
  console.log(`RIB ingest in process (decode + Adj-RIB-In + Loc-RIB + best path), median of ${runs}, load average ${loadavg()[0]?.toFixed(1)}\n`)
  console.log('| Routes | Wall | CPU | of which commit | Rate | Heap/route | RSS/route | Target | Attribute sets |')
  console.log('|---|---|---|---|---|---|---|---|---|')
  for (const r of rows) console.log(r)
}
