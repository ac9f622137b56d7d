/**
 * The gateway logic's cost per imported route (src/gateway): N VPN-IPv4 pod routes (100k, 500k, 1M)
 * with an exposed route target, fed as gsi-routerd feeds them. A real BgpSpeaker (the CN2 side, with
 * the daemon's multipath 16) ingests packed UPDATEs through its RIB's bulk sink and commits once, so
 * its `best` events come in the RIB's chunks of 4,096 changes; the gateway is attached as the daemon
 * attaches it (GatewayHost from src/daemon/gateway-host.ts, over the ComputedFib of `dataplane: none`).
 *
 * Each size runs three ways, each in a fresh child process so none inherits another's heap:
 * - `rib`: the speaker alone (nobody listens to `best`);
 * - `events`: a listener that does nothing, i.e. what the RIB spends building `best` events;
 * - `gateway`: the gateway and the computed FIB attached.
 * The gateway's cost is `gateway` minus `rib` (CPU seconds, heap and RSS growth), the events' share of
 * it is `events` minus `rib`. Heap = heapUsed + external (array buffers) after a forced collection.
 * Median of BENCH_RUNS runs (3); GATEWAY_BENCH_SIZES (100000,500000,1000000) picks the sizes.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { loadavg } from 'node:os'
import { Family } from '../bgp/codec/afi.js'
import { encodeAttributes, type PathAttributes } from '../bgp/codec/attributes.js'
import { decodeUpdateBulk, encodeUpdatesBulk } from '../bgp/codec/bulk.js'
import { defaultContext } from '../bgp/codec/context.js'
import { encapsulation, routeTarget } from '../bgp/codec/ext-communities.js'
import { externalOfTables } from '../bgp/rib/index.js'
import { BgpSpeaker } from '../bgp/speaker/index.js'
import { ComputedFib } from '../src/daemon/daemon.js'
import { GatewayHost } from '../src/daemon/gateway-host.js'

type Mode = 'rib' | 'events' | 'gateway'

interface Result {
  mode: Mode
  routes: number
  cpuMs: number
  wallMs: number
  heapBytes: number
  rssBytes: number
  imported: number
  fibRoutes: number
}

const ROUTES_PER_SET = 1000
const EXPOSED_RT = routeTarget(64512, 8000001)

/** Packed UPDATEs of `routes` pod /32s in 10.0.0.0/8: a vRouter (RD <vRouter>:1, its next hop) per
 * attribute set of 1,000 routes, a label per route, the exposed route target and encapsulation udp. */
function updates(routes: number): { msgs: Uint8Array[]; ctx: ReturnType<typeof defaultContext> } {
  const ctx = defaultContext({ families: new Set([Family.Ipv4Vpn]), ebgp: false })
  const msgs: Uint8Array[] = []
  for (let i = 0; i < routes; i += ROUTES_PER_SET) {
    const n = Math.min(ROUTES_PER_SET, routes - i)
    const set = i / ROUTES_PER_SET
    const vrouter = (0x64400000 + set + 1) >>> 0 // 100.64.x.y, one per set
    const addr = new Uint32Array(n)
    const length = new Uint8Array(n)
    const rd = new Uint32Array(2 * n)
    const label = new Uint32Array(n)
    for (let k = 0; k < n; k++) {
      addr[k] = (0x0a000000 + i + k) >>> 0
      length[k] = 32
      // Type 1 RD <vRouter>:1: words (type << 16 | address high), (address low << 16 | 1).
      rd[2 * k] = ((1 << 16) | (vrouter >>> 16)) >>> 0
      rd[2 * k + 1] = (((vrouter & 0xffff) << 16) | 1) >>> 0
      label[k] = 16 + ((i + k) % 100000)
    }
    const attrs: PathAttributes = { origin: 2, asPath: [], localPref: 100, extCommunities: [EXPOSED_RT, encapsulation(13)] }
    const nh = new Uint8Array([vrouter >>> 24, (vrouter >>> 16) & 0xff, (vrouter >>> 8) & 0xff, vrouter & 0xff])
    encodeUpdatesBulk(ctx, { family: Family.Ipv4Vpn, count: n, addr, length, rd, label }, encodeAttributes(attrs, ctx), nh, msgs)
  }
  return { msgs, ctx }
}

async function settleGc(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc
  // Huge-page buffers are unmapped by finalizers on a later turn: let a few turns pass.
  for (let i = 0; i < 3; i++) {
    gc?.()
    await new Promise((r) => setTimeout(r, 10))
  }
}

async function run(mode: Mode, routes: number): Promise<Result> {
  const { msgs, ctx } = updates(routes)
  const cn2 = new BgpSpeaker({ localAs: 64512, routerId: '10.9.0.5', rib: { multipath: { maximum: 16 } } })
  const tgw = new BgpSpeaker({ localAs: 65100, routerId: '10.9.0.5', rib: { multipath: { maximum: 8 } } })
  const fib = new ComputedFib('10.9.0.5')
  fib.setTables([{ table: 100, label: 30 }])
  let host: GatewayHost | undefined
  if (mode === 'events') cn2.on('best', () => {})
  if (mode === 'gateway') {
    host = new GatewayHost({ cn2, tgw }, fib, {
      routerId: '10.9.0.5', nodeAddress: '10.9.0.5', exposedRouteTargets: ['target:64512:8000001'],
      exposedCidrs: ['10.0.0.0/8'], table: { table: 100, label: 30 },
      connectPeers: [{ link: 'gsig0', peers: ['169.254.6.2', '169.254.6.3'] }],
    }, { attach: () => {} })
  }
  // The control node: an iBGP peer of the CN2 speaker's RIB, as a session would add it.
  const peer = cn2.rib.addPeer({ address: '198.18.1.1', asn: 64512, routerId: 0xc6120101, ebgp: false })
  const sink = cn2.rib.sink(peer, ctx)
  await settleGc()
  const m0 = process.memoryUsage()
  const e0 = externalOfTables(m0.external)
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  // The session hands the RIB a socket read's UPDATEs and the speaker commits once per turn: one
  // commit per 64 KiB of UPDATEs, as a full socket read would bring.
  let bytes = 0
  for (const m of msgs) {
    decodeUpdateBulk(m, 0, m.length, ctx, sink)
    bytes += m.length
    if (bytes >= 65536) {
      cn2.rib.commit()
      bytes = 0
    }
  }
  cn2.rib.commit()
  const wallMs = performance.now() - t0
  const c1 = process.cpuUsage(c0)
  await settleGc()
  const m1 = process.memoryUsage()
  const status = host?.status()
  const result: Result = {
    mode, routes: cn2.rib.table(Family.Ipv4Vpn).size,
    cpuMs: (c1.user + c1.system) / 1000, wallMs,
    heapBytes: m1.heapUsed + externalOfTables(m1.external) - (m0.heapUsed + e0),
    rssBytes: m1.rss - m0.rss,
    imported: status?.importedRoutes ?? 0,
    fibRoutes: fib.size,
  }
  if (mode === 'gateway' && (result.imported !== routes || result.fibRoutes !== routes)) {
    throw new Error(`gateway imported ${result.imported} routes and the FIB holds ${result.fibRoutes}, expected ${routes}`)
  }
  host?.stop()
  return result
}

function median(rs: Result[], f: (r: Result) => number): number {
  const v = rs.map(f).sort((a, b) => a - b)
  return v[Math.floor(v.length / 2)] as number
}

const self = fileURLToPath(import.meta.url)
const [childMode, childRoutes] = process.argv.slice(2)
if (childMode !== undefined) {
  process.stdout.write(JSON.stringify(await run(childMode as Mode, Number(childRoutes))))
} else {
  const runs = Number(process.env.BENCH_RUNS ?? 3)
  const sizes = (process.env.GATEWAY_BENCH_SIZES ?? '100000,500000,1000000').split(',').map(Number)
  const rows: string[] = []
  for (const n of sizes) {
    const by: Record<Mode, Result[]> = { rib: [], events: [], gateway: [] }
    for (let i = 0; i < runs; i++) {
      for (const mode of ['rib', 'events', 'gateway'] as const) {
        const out = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv.filter((a) => a !== '--expose-gc'), self, mode, String(n)], { encoding: 'utf8', maxBuffer: 1 << 20 })
        if (out.status !== 0) throw new Error(`gateway bench child (${mode}, ${n}) failed: ${out.stderr}`)
        by[mode].push(JSON.parse(out.stdout) as Result)
      }
    }
    const cpu = (m: Mode): number => median(by[m], (r) => r.cpuMs)
    const heap = (m: Mode): number => median(by[m], (r) => r.heapBytes)
    const rss = (m: Mode): number => median(by[m], (r) => r.rssBytes)
    const gwCpu = cpu('gateway') - cpu('rib')
    const evCpu = cpu('events') - cpu('rib')
    rows.push(`| ${n.toLocaleString('en')} | ${(cpu('rib') / 1000).toFixed(2)} s | ${(cpu('gateway') / 1000).toFixed(2)} s | ${(gwCpu / 1000).toFixed(2)} s | ${((gwCpu * 1000) / n).toFixed(2)} µs | ${((evCpu * 1000) / n).toFixed(2)} µs | ${((heap('gateway') - heap('rib')) / n).toFixed(0)} B | ${((rss('gateway') - rss('rib')) / n).toFixed(0)} B | ${(rss('gateway') / 1e6).toFixed(0)} MB |`)
  }
  console.log(`Gateway logic + computed FIB per imported VPN-IPv4 route (CN2 speaker's RIB commit -> best events -> GatewayHost -> ComputedFib), median of ${runs}, load average ${loadavg()[0]?.toFixed(1)}\n`)
  console.log('| Routes | CPU, RIB alone | CPU, RIB + gateway | gateway + FIB | per route | of which best events | heap/route | RSS/route | RSS growth, all |')
  console.log('|---|---|---|---|---|---|---|---|---|')
  for (const r of rows) console.log(r)
}
