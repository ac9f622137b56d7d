/**
 * The whole gsi-routerd as a receiver of the ingest harness (bench/ingest/harness.ts), for
 * bench/daemon.bench.ts (issue 10, Performance): the real built program as the image runs it, dist/bundle/gsi-routerd.mjs,
 * with `dataplane: none` (the gateway logic imports every route and computes the FIB, nothing is
 * programmed) in the pair's receiver namespace, where the injector plays the CN2 control node.
 *
 *   injector ns                 receiver ns (gsi-routerd)             TGW ns (two BIRD processes)
 *   198.18.0.1 ──veth── 198.18.0.2                169.254.6.1/29 ──veth── 169.254.6.2, 169.254.6.3
 *
 * The TGW side is a sink with the TGW's two BGP peers (.2 and .3 of the Connect peer's inside /29,
 * RFC 4271 eBGP, AS 64512), one BIRD process per address as BIRD holds one session per neighbour
 * address; each announces one VPC route (so the TGW -> CN2 re-origination runs too) and imports what
 * the daemon advertises, which `birdc` counts.
 *
 * The injector's session is eBGP (AS 64512 to our 64600, `controlNodes.localAsn`): the scenario's
 * AS_PATH starts with the injector's AS, which an iBGP receiver in that AS would discard as a loop,
 * and BIRD's cell gets the very same bytes.
 *
 * Counts are not trusted blindly: after the ingest the daemon's API (what `gsictl --json` shows) must
 * report every route accepted from the control node, the computed FIB must hold one route per
 * imported prefix plus the VPC route, the gateway must advertise what the scenario implies (the
 * exposed CIDRs holding routes, or with advertiseMoreSpecifics the quota's worth) and both BIRD TGW
 * peers must hold exactly that; any shortfall fails the cell.
 */
import { execFileSync, type ChildProcess } from 'node:child_process'
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stringify } from 'yaml'
import { ApiClient } from '../../src/api/client.js'
import type { BgpSummary } from '../../src/api/handlers.js'
import type { FibView } from '../../src/api/view.js'
import { formatIpv4, parseAddress, parsePrefix, prefixContains } from '../../src/lib/address.js'
import type { DaemonHandle } from '../ingest/daemons.js'
import type { ReceiverStarter } from '../ingest/harness.js'
import { killAndDeleteNetns, type NetPair } from '../ingest/netns.js'
import { monoMs } from '../ingest/proc.js'
import { INJECTOR_ADDRESS, INJECTOR_AS, RECEIVER_ADDRESS, RECEIVER_AS, routeBatch, type Scenario } from '../ingest/scenario.js'

const here = dirname(fileURLToPath(import.meta.url))
/** The repository root, from bench/daemon/ (source) or dist/bench/daemon/ (built). */
export const ROOT = import.meta.url.endsWith('.ts') ? join(here, '..', '..') : join(here, '..', '..', '..')
/** The programs as the image runs them: bundled (scripts/bundle.mjs). DAEMON_ROUTERD names another
 * build of the daemon (dist/src/bin/gsi-routerd.js, module by module) to compare. */
export const ROUTERD = join(ROOT, process.env.DAEMON_ROUTERD ?? 'dist/bundle/gsi-routerd.mjs')
export const GSICTL = join(ROOT, 'dist/bundle/gsictl.mjs')

/** Our AS toward the TGW, the TGW's (AWS default Amazon-side ASN), and the Connect peer's addresses. */
export const GSI_TGW_AS = 65000
export const TGW_AS = 64512
const INSIDE_CIDR = '169.254.6.0/29'
const INSIDE_LOCAL = '169.254.6.1'
export const TGW_PEERS = ['169.254.6.2', '169.254.6.3'] as const
/** The VPC CIDR each TGW peer announces (re-originated toward CN2, one FIB route). */
export const VPC_CIDR = '172.31.0.0/16'

/** The route targets the scenario's VPN routes carry (bench/ingest/scenario.ts: target:64512:1..50):
 * the daemon exposes all of them, so every route is imported. A mismatch shows as a short count. */
export const EXPOSED_ROUTE_TARGETS = Array.from({ length: 50 }, (_, i) => `target:${INJECTOR_AS}:${i + 1}`)
/** Exposed VN subnets covering every scenario prefix up to 2,000,000 routes (the /32s from
 * 10.0.0.0, the /24s from 20.0.0.0 up to 36.x): the aggregates advertised to the TGW. */
export const EXPOSED_CIDRS = ['10.0.0.0/8', '20.0.0.0/6', '24.0.0.0/5', '32.0.0.0/6', '36.0.0.0/8']

export interface RouterdOptions {
  /** Advertise the imported more-specifics too (candidates for the TGW quota). Default false. */
  readonly advertiseMoreSpecifics?: boolean
  /** tgw.maxPrefixesAdvertised (default 1,000, the AWS quota). */
  readonly maxPrefixesAdvertised?: number
  /** Extra node flags for the daemon (e.g. --cpu-prof --cpu-prof-dir=DIR). */
  readonly nodeArgs?: readonly string[]
  /** Started daemons are reported here (the bench reads their API socket). */
  readonly onStart?: (d: RouterdHandle) => void
}

export interface RouterdHandle extends DaemonHandle {
  readonly socket: string
  /** What the TGW must receive: prefixes advertised by the gateway. */
  readonly expectedAdvertised: number
  /** The checked counts of the last count() call. */
  readonly checked: { cn2Accepted: number; fibRoutes: number; tgwAdvertised: number; tgwBird: number[] } | undefined
}

/** Prefixes the gateway advertises to each TGW session for this scenario (computed from the routes
 * the injector sends, not asked of the daemon): the exposed CIDRs holding at least one route, plus
 * with advertiseMoreSpecifics every route, capped by the quota. */
export function expectedAdvertised(s: Scenario, o: RouterdOptions): number {
  const b = routeBatch(s)
  const cidrs = EXPOSED_CIDRS.map((c) => parsePrefix(c))
  const held = new Set<number>()
  for (let i = 0; i < b.count; i++) {
    const addr = parseAddress(formatIpv4(b.addr[i] as number))
    cidrs.forEach((c, k) => { if (prefixContains(c, addr)) held.add(k) })
    if (held.size === cidrs.length) break
    if (held.size === cidrs.length) break
  }
  const candidates = held.size + (o.advertiseMoreSpecifics === true ? b.count : 0)
  return Math.min(candidates, o.maxPrefixesAdvertised ?? 1000)
}

/** The daemon's configuration file (docs/configuration.md) for the benchmark. */
export function routerdConfig(dir: string, o: RouterdOptions): Record<string, unknown> {
  return {
    nodeName: 'gsib-node',
    nodeAddress: RECEIVER_ADDRESS,
    routerId: RECEIVER_ADDRESS,
    dataplane: 'none',
    exposed: { routeTargets: EXPOSED_ROUTE_TARGETS, cidrs: EXPOSED_CIDRS },
    advertiseMoreSpecifics: o.advertiseMoreSpecifics ?? false,
    tgw: {
      localAsn: GSI_TGW_AS,
      maxPrefixesAdvertised: o.maxPrefixesAdvertised ?? 1000,
      holdTime: 240,
      connectPeers: [{ id: 'cp-gsib', transitGatewayAddress: '192.0.2.100', insideCidrBlocks: [INSIDE_CIDR], transitGatewayAsn: TGW_AS }],
    },
    // eBGP toward the injector (see the module note); a long hold time as in the ingest cells
    controlNodes: { localAsn: RECEIVER_AS, peers: [{ address: INJECTOR_ADDRESS, asn: INJECTOR_AS }], holdTime: 240 },
    listen: { address: RECEIVER_ADDRESS, port: 179 },
    http: { address: '127.0.0.1', port: 9478 },
    api: { socket: join(dir, 'api.sock') },
    log: { level: process.env.DAEMON_LOG_LEVEL ?? 'warn' },
  }
}

function birdTgwConf(dir: string, local: string): string {
  return [
    `router id ${local};`,
    `log "${join(dir, `bird-${local}.log`)}" { warning, error, fatal, bug };`,
    'protocol device { scan time 60; }',
    `protocol static vpc { ipv4; route ${VPC_CIDR} blackhole; }`,
    'protocol bgp gsi {',
    `  local ${local} as ${TGW_AS};`,
    `  neighbor ${INSIDE_LOCAL} as ${GSI_TGW_AS};`,
    // the two processes share the namespace: each listens on its own address only
    '  multihop 2; strict bind on;',
    '  hold time 240; connect retry time 1; connect delay time 1;',
    '  ipv4 { import all; export where proto = "vpc"; };',
    '}',
    '',
  ].join('\n')
}

/** The TGW namespace beside the pair's receiver namespace: a veth with the inside /29, two BIRDs. */
class TgwSide {
  readonly ns: string
  readonly birds: { proc: ChildProcess; sock: string; address: string }[] = []
  private gone = false

  constructor(readonly pair: NetPair, readonly dir: string) {
    this.ns = pair.receiverNs.replace(/-rcv$/, '-tgw')
    const ip = (args: string[]): void => { execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 }) }
    process.once('exit', () => this.destroy())
    try {
      ip(['netns', 'add', this.ns])
      ip(['-n', this.ns, 'link', 'set', 'lo', 'up'])
      ip(['-n', pair.receiverNs, 'link', 'add', 'tgw0', 'type', 'veth', 'peer', 'name', 'gsi0', 'netns', this.ns])
      ip(['-n', pair.receiverNs, 'addr', 'add', `${INSIDE_LOCAL}/29`, 'dev', 'tgw0'])
      ip(['-n', pair.receiverNs, 'link', 'set', 'tgw0', 'up'])
      for (const a of TGW_PEERS) ip(['-n', this.ns, 'addr', 'add', `${a}/29`, 'dev', 'gsi0'])
      ip(['-n', this.ns, 'link', 'set', 'gsi0', 'up'])
      for (const a of TGW_PEERS) {
        const conf = join(dir, `bird-${a}.conf`)
        writeFileSync(conf, birdTgwConf(dir, a))
        const sock = join(dir, `bird-${a}.ctl`)
        const fd = openSync(join(dir, `bird-${a}.out`), 'a')
        const proc = pair.spawnIn(this.ns, 'bird', ['-f', '-c', conf, '-s', sock, '-P', join(dir, `bird-${a}.pid`)], { stdio: ['ignore', fd, fd], cwd: dir })
        closeSync(fd)
        this.birds.push({ proc, sock, address: a })
      }
    } catch (e) {
      this.destroy()
      throw new Error(`TGW namespace: ${(e as Error).message}`)
    }
  }

  /** Routes each TGW peer imported from the daemon (its own CLI): everything but its VPC route. */
  counts(): number[] {
    return this.birds.map((b) => {
      const out = this.pair.execIn(this.ns, 'birdc', ['-s', b.sock, 'show', 'route', 'count', 'protocol', 'gsi'], 30_000)
      const m = /(\d+) of (\d+) routes for (\d+) networks/.exec(out)
      if (m === null) throw new Error(`TGW ${b.address}: birdc show route count: unexpected output ${JSON.stringify(out.slice(0, 300))}`)
      return Number(m[1])
    })
  }

  /** Both BIRDs answer their CLI (the harness starts the injector after this). */
  async ready(): Promise<void> {
    const deadline = Date.now() + 15_000
    for (const b of this.birds) {
      for (;;) {
        try {
          this.pair.execIn(this.ns, 'birdc', ['-s', b.sock, 'show', 'status'], 5000)
          break
        } catch (e) {
          if (Date.now() > deadline) throw new Error(`TGW ${b.address}: birdc does not answer (${(e as Error).message})`)
          await new Promise((r) => setTimeout(r, 150))
        }
      }
    }
  }

  destroy(): void {
    if (this.gone) return
    this.gone = true
    killAndDeleteNetns(this.ns, 1000)
  }
}

/**
 * The node flags gsi-routerd's first line gives (`#!/usr/bin/env -S node FLAGS`), which the DaemonSet's
 * `gsi-routerd` command runs with: the benchmark starts the program with the very same flags.
 */
export function shebangNodeArgs(file: string): string[] {
  const first = readFileSync(file, 'utf8').split('\n', 1)[0] ?? ''
  const m = /^#!\S*env(?: -S)? node((?: \S+)*)\s*$/.exec(first)
  if (m === null) throw new Error(`${file}: first line ${JSON.stringify(first)} is not "#!/usr/bin/env [-S] node [FLAGS]"`)
  return (m[1] ?? '').split(' ').filter(Boolean)
}

/** One call of the local API over a fresh connection, as gsictl makes it. */
export async function apiCall<T>(socket: string, method: string, timeoutMs = 30_000, params: Record<string, unknown> = {}): Promise<T> {
  const c = await ApiClient.connect(socket, { timeoutMs })
  try {
    return (await c.call(method, params)) as T
  } finally {
    c.close()
  }
}

/** `gsictl --socket S ARGS --json` (the built program), parsed. */
function gsictlJson<T>(socket: string, args: string[]): T {
  const out = execFileSync(process.execPath, [GSICTL, '--socket', socket, ...args, '--json'], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 })
  return JSON.parse(out) as T
}

/** Prefixes accepted from the control node (the injector), from the summary. */
export function cn2Accepted(sum: BgpSummary): number {
  const p = sum.peers.find((x) => x.side === 'cn2' && x.address === INJECTOR_ADDRESS)
  return p?.prefixes.find((f) => f.family === 'l3vpn-ipv4-unicast')?.accepted ?? 0
}

/** The harness's starter for gsi-routerd with these options. */
export function routerdStarter(o: RouterdOptions = {}): ReceiverStarter {
  return async (pair: NetPair, s: Scenario, dir: string): Promise<DaemonHandle> => {
    if (!existsSync(ROUTERD) || !existsSync(GSICTL)) throw new Error(`${ROUTERD} or ${GSICTL} is missing (run npm run build)`)
    if (s.name !== 'vpnv4') throw new Error(`gsi-routerd cell: scenario ${s.name}: the control node sends VPN routes (vpnv4 only)`)
    const advertised = expectedAdvertised(s, o)
    const tgw = new TgwSide(pair, dir)
    let proc: ChildProcess | undefined
    try {
      await tgw.ready()
      const config = join(dir, 'gsi-routerd.yaml')
      const cfg = routerdConfig(dir, o)
      writeFileSync(config, stringify(cfg))
      const socket = (cfg.api as { socket: string }).socket
      const logFile = join(dir, 'gsi-routerd.log')
      const fd = openSync(logFile, 'a')
      proc = pair.spawnIn(pair.receiverNs, process.execPath, [...shebangNodeArgs(ROUTERD), ...(o.nodeArgs ?? []), ROUTERD, '--config', config], { stdio: ['ignore', fd, fd], cwd: dir })
      closeSync(fd)
      const log = (): string => { try { return readFileSync(logFile, 'utf8').slice(-3000) } catch { return '' } }
      // ready: the API answers and both TGW sessions are Established (the advertisement path runs)
      const deadline = Date.now() + 30_000
      for (;;) {
        if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`gsi-routerd exited at start: ${log()}`)
        const sum = await apiCall<BgpSummary>(socket, 'show.bgp.summary', 2000).catch(() => undefined)
        if (sum !== undefined && sum.peers.filter((p) => p.side === 'tgw' && p.state === 'Established').length === TGW_PEERS.length) break
        if (Date.now() > deadline) throw new Error(`gsi-routerd: API or TGW sessions not up after 30 s (${JSON.stringify(sum?.peers.map((p) => [p.address, p.state]) ?? 'no API')}); log: ${log()}`)
        await new Promise((r) => setTimeout(r, 200))
      }
      if (proc.pid === undefined) throw new Error('gsi-routerd: no pid')
      const p = proc
      const h: RouterdHandle = {
        kind: 'gsi-routerd',
        proc: p,
        pid: p.pid as number,
        logFile,
        socket,
        expectedAdvertised: advertised,
        checked: undefined,
        log,
        // What gsictl --json shows, checked against the scenario and the TGW's own CLI.
        count(): number {
          const sum = gsictlJson<BgpSummary>(socket, ['show', 'bgp', 'summary'])
          const fib = gsictlJson<FibView>(socket, ['show', 'fib'])
          const accepted = cn2Accepted(sum)
          const bird = tgw.counts()
          const checked = { cn2Accepted: accepted, fibRoutes: fib.state.desiredRoutes, tgwAdvertised: sum.gateway.tgwAdvertised, tgwBird: bird }
          ;(h as { checked: RouterdHandle['checked'] }).checked = checked
          const want = accepted === s.routes ? '' : `control node: ${accepted} of ${s.routes} routes accepted; `
          const fibWant = s.routes + 1
          const problems = [
            want,
            fib.state.desiredRoutes === fibWant ? '' : `computed FIB: ${fib.state.desiredRoutes} routes, not ${fibWant} (every imported prefix and the VPC route); `,
            sum.gateway.tgwAdvertised === advertised ? '' : `gateway: ${sum.gateway.tgwAdvertised} prefixes advertised to the TGW, not ${advertised}; `,
            bird.every((n) => n === advertised) ? '' : `TGW peers hold ${bird.join(' and ')} of the ${advertised} advertised prefixes; `,
          ].join('')
          if (problems !== '') throw new Error(`gsi-routerd ${s.name}: ${problems}the cell is void`)
          return accepted
        },
        cleanup: () => tgw.destroy(),
        // SIGTERM (graceful stop), so a --cpu-prof profile is written at exit
        stop: () => new Promise<void>((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve()
          p.once('exit', () => resolve())
          p.kill('SIGTERM')
        }),
      }
      o.onStart?.(h)
      return h
    } catch (e) {
      if (proc !== undefined && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
      tgw.destroy()
      throw e
    }
  }
}

/** Local-API queries (`show.bgp.summary`, what `gsictl show bgp summary --json` asks) every
 * `everyMs`, each over its own connection as gsictl makes it and timed from the client: connect,
 * request, answer. Each is sent on time whether or not the previous one has been answered, so a
 * blocked event loop shows as the full wait of every query caught behind it.
 *
 * It stops by itself `afterMs` after the daemon shows the whole table as the CLI sees it: every
 * route accepted from the control node (the summary) and the computed FIB complete (`show.fib` with
 * limit 0, the count /metrics reads, asked once the routes are all accepted, at most every 500 ms,
 * not timed). An earlier version listed the whole FIB to count it: seconds of the daemon's loop per
 * ask at 500,000 routes, which the timed queries then waited behind. */
export class CliProbe {
  readonly latencies: number[] = []
  readonly errors: string[] = []
  /** CLOCK_MONOTONIC times of the first answers showing every route accepted, and the FIB complete. */
  allAcceptedAt: number | undefined
  fibCompleteAt: number | undefined
  private timer: NodeJS.Timeout | undefined
  private inFlight = 0
  private fibAsking = false
  private fibAskedAt = -Infinity

  constructor(readonly socket: string, readonly routes: number, readonly fibRoutes: number, readonly everyMs = 50, readonly afterMs = 500) {}

  start(): void {
    this.timer = setInterval(() => this.query(), this.everyMs)
    this.query()
  }

  /** True once the probe has stopped by itself and every query has been answered. */
  get finished(): boolean {
    return this.timer === undefined && this.inFlight === 0
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }

  private query(): void {
    const t = monoMs()
    this.inFlight++
    apiCall<BgpSummary>(this.socket, 'show.bgp.summary')
      .then((sum) => {
        const now = monoMs()
        this.latencies.push(now - t)
        if (process.env.CLI_TRACE) process.stderr.write(`q at ${(t % 100000).toFixed(0)} took ${(now - t).toFixed(1)} accepted=${cn2Accepted(sum)}\n`)
        if (this.allAcceptedAt === undefined && cn2Accepted(sum) >= this.routes) this.allAcceptedAt = now
        // the FIB's count (show.fib with limit 0: state and counts, no listing), at most every 500 ms
        if (this.allAcceptedAt !== undefined && this.fibCompleteAt === undefined && !this.fibAsking && now - this.fibAskedAt >= 500) this.askFib()
        if (this.fibCompleteAt !== undefined && now - this.fibCompleteAt >= this.afterMs) this.stop()
      })
      .catch((e: unknown) => { this.errors.push(e instanceof Error ? e.message : String(e)) })
      .finally(() => { this.inFlight-- })
  }

  private askFib(): void {
    this.fibAsking = true
    this.fibAskedAt = monoMs()
    this.inFlight++
    apiCall<FibView>(this.socket, 'show.fib', 30_000, { limit: 0 })
      .then((f) => { if (f.state.desiredRoutes >= this.fibRoutes) this.fibCompleteAt = monoMs() })
      .catch((e: unknown) => { this.errors.push(e instanceof Error ? e.message : String(e)) })
      .finally(() => { this.inFlight--; this.fibAsking = false })
  }

  /** Latency of the timed queries in ms: count, p50, p99, max. */
  summary(): { n: number; p50: number; p99: number; max: number } {
    const xs = [...this.latencies].sort((a, b) => a - b)
    const at = (q: number): number => xs[Math.min(xs.length - 1, Math.max(0, Math.ceil(q * xs.length) - 1))] ?? NaN
    return { n: xs.length, p50: at(0.5), p99: at(0.99), max: xs[xs.length - 1] ?? NaN }
  }
}
