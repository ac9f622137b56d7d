/**
 * gsictl as a function: options parsed with node:util parseArgs (unknown flags refused), the command
 * words parsed by commands.ts, one local-API call (several for `--all` pages) over the daemon's Unix
 * socket, the answer printed as text (format.ts) or, with --json, as the API returned it.
 *
 * Exit status: 0 done; 1 the daemon is not running or refused the request (the message names the
 * socket path, or the field and the reason); 2 a usage error. src/bin/gsictl.ts is the entry point.
 */
import { parseArgs } from 'node:util'
import { ApiClient, DaemonNotRunningError } from '../api/client.js'
import type { BgpSummary } from '../api/handlers.js'
import { ApiError, DEFAULT_SOCKET_PATH } from '../api/protocol.js'
import { DEFAULT_ROUTE_PAGE, MAX_ROUTE_PAGE, type ClearResult, type FibRouteView, type FibView, type GatewayStatus, type PeerView, type RoutePage, type RouteView, type TunnelsView } from '../api/view.js'
import { version } from '../version.js'
import { COMMAND_LINES, parseCommand, UsageError, type Command } from './commands.js'
import { formatClear, formatConfig, formatFib, formatGateway, formatLogLevel, formatNeighbors, formatRoutes, formatSummary, formatTunnels } from './format.js'

export const USAGE = `usage: gsictl [--socket PATH] [--json] COMMAND

the gsi-router operator CLI: asks the running gsi-routerd over its local socket

commands (keywords may be shortened: sh bgp sum, sh bgp n 10.0.0.10):
${COMMAND_LINES.map(l => `  ${l}`).join('\n')}
  doctor [--kubeconfig FILE] [--aws] [--json] ...   the whole gateway checked (gsictl doctor --help)

FAMILY: ipv4 | inet, ipv6 | inet6, vpnv4 | inet-vpn, vpnv6 | inet6-vpn, rtc | route-target
        (or the canonical ipv4-unicast, l3vpn-ipv4-unicast, ...)

options:
  --socket PATH   the daemon's API socket (default ${DEFAULT_SOCKET_PATH}; env GSICTL_SOCKET)
  --json          print the daemon's answer as JSON (every command)
  --rd RD         show bgp route: only this route distinguisher (64512:7, 10.0.0.5:1)
  --limit N       show bgp route, show fib: at most N paths / routes (default ${DEFAULT_ROUTE_PAGE}, at most ${MAX_ROUTE_PAGE})
  --all           show bgp route, show fib: every path / route, page after page
  --timeout S     seconds to wait for an answer (default 10)
  -h, --help      this text
  -V, --version   gsictl's version
`

export interface GsictlIo {
  readonly stdout: { write(s: string): unknown }
  readonly stderr: { write(s: string): unknown }
  readonly env?: Readonly<Record<string, string | undefined>>
  /** ms since the epoch (tests fix it, so ages print the same every run). */
  readonly now?: () => number
}

interface Options {
  readonly socket: string
  readonly json: boolean
  readonly rd: string | undefined
  readonly limit: number | undefined
  readonly all: boolean
  readonly timeoutMs: number
}

function parseOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): { opts: Options; words: string[]; help: boolean; version: boolean } {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        socket: { type: 'string' },
        json: { type: 'boolean' },
        rd: { type: 'string' },
        limit: { type: 'string' },
        all: { type: 'boolean' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
    })
  } catch (e) {
    // parseArgs' messages name the flag ("Unknown option '--jsn'"); keep them, drop its hint text.
    throw new UsageError((e as Error).message.split('. ')[0] as string)
  }
  const v = parsed.values
  let limit: number | undefined
  if (v.limit !== undefined) {
    limit = Number(v.limit)
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_ROUTE_PAGE) throw new UsageError(`--limit ${v.limit}: must be an integer 1..${MAX_ROUTE_PAGE}`)
  }
  let timeoutMs = 10_000
  if (v.timeout !== undefined) {
    const s = Number(v.timeout)
    if (!Number.isFinite(s) || s <= 0) throw new UsageError(`--timeout ${v.timeout}: must be a positive number of seconds`)
    timeoutMs = s * 1000
  }
  if (v.socket === '') throw new UsageError('--socket: empty path')
  return {
    opts: {
      socket: v.socket ?? env.GSICTL_SOCKET ?? DEFAULT_SOCKET_PATH,
      json: v.json === true,
      rd: v.rd,
      limit,
      all: v.all === true,
      timeoutMs,
    },
    words: parsed.positionals,
    help: v.help === true,
    version: v.version === true,
  }
}

function isRouteListing(c: Command): boolean {
  return c.method === 'show.bgp.route'
}

function isFibListing(c: Command): boolean {
  return c.method === 'show.fib'
}

/** Index of the command word `doctor` when it is the command (options and their values may come
 * first), else -1. */
function doctorWord(argv: readonly string[]): number {
  const flags = new Set(['--json', '--aws', '--all', '--help', '-h', '--version', '-V'])
  let i = 0
  while (i < argv.length) {
    const a = argv[i] as string
    if (a === 'doctor') return i
    if (!a.startsWith('-')) return -1
    i += flags.has(a) || a.includes('=') ? 1 : 2
  }
  return -1
}

/** Runs gsictl with `argv` (without node and the script); returns the exit status. */
export async function runGsictl(argv: readonly string[], io: GsictlIo): Promise<number> {
  // `doctor` has options of its own (kubeconfig, AWS): it parses them itself. It is loaded only when
  // asked for: it brings the Kubernetes client, the heaviest module by far, which every other command
  // (one per `gsictl show`, often in a loop) would otherwise load for nothing.
  const at = doctorWord(argv)
  if (at >= 0) {
    const { runDoctorCli } = await import('./doctor.js')
    return runDoctorCli([...argv.slice(0, at), ...argv.slice(at + 1)], io)
  }
  const env = io.env ?? {}
  let command: Command
  let opts: Options
  try {
    const p = parseOptions(argv, env)
    if (p.help) {
      io.stdout.write(USAGE)
      return 0
    }
    if (p.version) {
      io.stdout.write(`gsictl ${version}\n`)
      return 0
    }
    if (p.words.length === 0) throw new UsageError('no command given')
    opts = p.opts
    command = parseCommand(p.words)
    if (!isRouteListing(command) && opts.rd !== undefined) throw new UsageError('--rd: only for show bgp route')
    if (!isRouteListing(command) && !isFibListing(command) && (opts.limit !== undefined || opts.all)) {
      throw new UsageError(`${opts.limit !== undefined ? '--limit' : '--all'}: only for show bgp route and show fib`)
    }
    if (opts.all && opts.limit !== undefined) throw new UsageError('--all and --limit: give one or the other')
  } catch (e) {
    if (!(e instanceof UsageError)) throw e
    io.stderr.write(`gsictl: ${e.message}\n(gsictl --help lists the commands)\n`)
    return 2
  }

  let client: ApiClient | undefined
  try {
    client = await ApiClient.connect(opts.socket, { timeoutMs: opts.timeoutMs })
    const now = (io.now ?? Date.now)()
    io.stdout.write(await run(client, command, opts, now))
    return 0
  } catch (e) {
    if (e instanceof DaemonNotRunningError) io.stderr.write(`gsictl: ${e.message}\n`)
    else if (e instanceof ApiError) io.stderr.write(`gsictl: ${e.message}\n`)
    else io.stderr.write(`gsictl: ${(e as Error).message}\n`)
    return 1
  } finally {
    client?.close()
  }
}

async function run(client: ApiClient, c: Command, o: Options, now: number): Promise<string> {
  const json = (v: unknown): string => JSON.stringify(v, null, 2) + '\n'
  if (isRouteListing(c)) {
    const params = { ...c.params, ...(o.rd !== undefined ? { rd: o.rd } : {}), limit: o.all ? MAX_ROUTE_PAGE : (o.limit ?? DEFAULT_ROUTE_PAGE) }
    let page = await client.call(c.method, params) as RoutePage
    const routes: RouteView[] = [...page.routes]
    while (o.all && page.next !== undefined) {
      page = await client.call(c.method, { ...params, after: page.next }) as RoutePage
      routes.push(...page.routes)
    }
    if (o.json) return json(o.all ? { families: page.families, routes } : page)
    const title = c.kind === 'received-from' ? `Routes received from ${String(c.params.peer)}` : c.kind === 'advertised-to' ? `Routes advertised to ${String(c.params.peer)}` : ''
    return formatRoutes(page, routes, page.next !== undefined, title)
  }
  if (isFibListing(c)) {
    const params = { ...c.params, limit: o.all ? MAX_ROUTE_PAGE : (o.limit ?? DEFAULT_ROUTE_PAGE) }
    let page = await client.call(c.method, params) as FibView
    const routes: FibRouteView[] = [...page.routes]
    while (o.all && page.next !== undefined) {
      page = await client.call(c.method, { ...params, after: page.next }) as FibView
      routes.push(...page.routes)
    }
    const whole: FibView = { state: page.state, counters: page.counters, routesByTable: page.routesByTable, routes, ...(page.next !== undefined ? { next: page.next } : {}) }
    return o.json ? json(whole) : formatFib(whole, now)
  }
  const result = await client.call(c.method, c.params)
  if (o.json) return json(result)
  switch (c.kind) {
    case 'summary': return formatSummary(result as BgpSummary, now)
    case 'neighbor': return formatNeighbors(result as PeerView[], now)
    case 'tunnels': return formatTunnels(result as TunnelsView)
    case 'config': return formatConfig(result)
    case 'gateway': return formatGateway(result as GatewayStatus)
    case 'clear': return formatClear(result as ClearResult)
    case 'log-level': return formatLogLevel(result as { level: string; previous: string })
    default: return json(result)
  }
}
