#!/usr/bin/env node
/**
 * gsi-routerd: the gsi-router node daemon. BGP to the CN2 control nodes and the AWS Transit Gateway,
 * the kernel data plane between them (src/daemon/daemon.ts). Entry point: the only place that reads
 * argv and the environment, handles signals and exits.
 *
 * Signals: SIGHUP re-reads the config file (a bad one is refused, logged and counted, the running one
 * stays); SIGTERM/SIGINT stop as `shutdownPolicy` says (default graceful: kernel state kept, no
 * NOTIFICATION, so a rolling update is hitless).
 */
import { pino, type Level } from 'pino'
import { ApiClient, ApiServer, DaemonNotRunningError } from '../api/index.js'
import { ConfigError, loadConfigFile } from '../config/load.js'
import type { DaemonConfig } from '../config/model.js'
import { GatewayDaemon } from '../daemon/daemon.js'
import { RuntimeView } from '../daemon/view.js'
import { cleanup, NetlinkKernel } from '../fib/index.js'
import { serveHttp } from '../http/index.js'
import { runCommandLine } from '../lib/args.js'
import { DaemonMetrics } from '../metrics/index.js'
import { version } from '../version.js'

const usage = `usage: gsi-routerd --config FILE        run with a configuration file (SIGHUP reloads it)
       gsi-routerd --check-config FILE  validate a configuration file: exit 0, or 1 with one line per problem
       gsi-routerd --cleanup            remove everything gsi-routerd put in the kernel (stop the daemon first)
       gsi-routerd --shutdown [--socket PATH]
                                        ask the running daemon to shut down for good: Cease to every peer,
                                        routes withdrawn, kernel state removed

the gsi-router node daemon: BGP to the CN2 control nodes and the AWS Transit Gateway, kernel data plane

  -c, --config FILE        configuration (YAML; every field in docs/configuration.md)
      --check-config FILE  validate FILE and exit
      --cleanup            remove our kernel state (routes of protocol 201, gsig*/gsim*/gsiv* links, fou 6635)
      --shutdown           stop the running daemon, withdrawing everything
      --socket PATH        the running daemon's API socket (default: the config's api.socket, else
                           /run/gsi-router/gsi-routerd.sock)
  -h, --help               this text
  -V, --version            the version`

const options = {
  config: { type: 'string', short: 'c' },
  'check-config': { type: 'string' },
  cleanup: { type: 'boolean' },
  shutdown: { type: 'boolean' },
  socket: { type: 'string' },
} as const

const DEFAULT_SOCKET = '/run/gsi-router/gsi-routerd.sock'

async function checkConfig(path: string): Promise<number> {
  try {
    const { warnings } = await loadConfigFile(path)
    for (const w of warnings) process.stdout.write(`warning: ${w}\n`)
    process.stdout.write(`${path}: ok\n`)
    return 0
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`)
      return 1
    }
    process.stderr.write(`${path}: ${(e as Error).message}\n`)
    return 1
  }
}

async function shutdownRunning(socket: string): Promise<number> {
  let client: ApiClient | undefined
  try {
    client = await ApiClient.connect(socket)
    await client.call('shutdown', {})
    process.stdout.write(`gsi-routerd at ${socket}: shutting down (Cease sent, routes withdrawn, kernel state removed)\n`)
    return 0
  } catch (e) {
    if (e instanceof DaemonNotRunningError) {
      process.stderr.write(`${e.message}\n`)
      return 1
    }
    throw e
  } finally {
    client?.close()
  }
}

async function runCleanup(): Promise<number> {
  const k = new NetlinkKernel()
  try {
    const r = await cleanup(k)
    process.stdout.write(`removed ${r.routes} routes, ${r.labelRoutes} label routes, links [${r.links.join(', ')}]${r.fouListener ? ', the fou listener' : ''}${r.nftTable ? ', the nftables table' : ''}\n`)
    for (const e of r.errors) process.stderr.write(`error: ${e}\n`)
    return r.errors.length === 0 ? 0 : 1
  } finally {
    k.close()
  }
}

async function run(configPath: string): Promise<number> {
  let loaded
  try {
    loaded = await loadConfigFile(configPath)
  } catch (e) {
    process.stderr.write(`gsi-routerd: ${(e as Error).message}\n`)
    return 1
  }
  let config: DaemonConfig = loaded.config
  // Every child logger (one per peer, per part) is remembered so `gsictl set log-level` reaches them
  // all: a pino child keeps the level it was created with.
  const children = new Set<pino.Logger>()
  const log = pino({
    level: config.log.level, base: { daemon: 'gsi-routerd', ...(config.nodeName !== undefined ? { node: config.nodeName } : {}) },
    onChild: (child) => { children.add(child) },
  })
  for (const w of loaded.warnings) log.warn({ config: configPath }, String(w))
  const daemon = new GatewayDaemon({
    config, log,
    md5: async (c) => {
      const m = c.controlNodes.md5
      if (m === undefined) return undefined
      if ('file' in m) return (await import('node:fs/promises')).readFile(m.file, 'utf8').then((t) => t.replace(/\r?\n$/, ''))
      throw new Error(`controlNodes.md5.secretRef: Secrets are read in Kubernetes mode only; with --config use controlNodes.md5.file`)
    },
  })
  const levels = { get: () => log.level, set: (l: string) => { for (const x of [log, ...children]) x.level = l as Level } }
  const view = new RuntimeView(daemon, levels, async () => {
    setImmediate(() => { void stop('withdraw', 'gsi-routerd --shutdown').then(exit) })
    return { stopping: true }
  })
  const metrics = new DaemonMetrics({ view })
  daemon.on('reload', (r) => metrics.configReloaded(r.ok ? 'ok' : 'rejected'))
  await daemon.start()
  const http = await serveHttp({ metrics, view, port: config.http.port, host: config.http.address })
  let stopping: Promise<number> | undefined
  const stop = (mode: 'graceful' | 'withdraw', why: string): Promise<number> => {
    stopping ??= (async () => {
      log.info({ why, mode }, 'shutting down')
      await daemon.stop(mode, mode === 'withdraw' ? `gsi-routerd on ${config.nodeName ?? config.nodeAddress} shut down by the operator` : undefined)
      await api.close()
      await http.close()
      return 0
    })()
    return stopping
  }
  const api = await ApiServer.start({
    path: config.api.socket, view,
    onError: (err, method) => log.error({ err, method }, 'API request failed'),
  })
  log.info({ http: `${config.http.address}:${http.port}`, api: config.api.socket }, 'serving /metrics, /healthz, /readyz and the local API')
  const exit = (code: number): void => {
    log.flush()
    process.exit(code)
  }
  process.on('SIGHUP', () => {
    void (async () => {
      try {
        const next = await loadConfigFile(configPath)
        for (const w of next.warnings) log.warn({ config: configPath }, String(w))
        const r = await daemon.reload(next.config)
        if (r.ok) config = next.config
      } catch (e) {
        metrics.configReloaded('rejected')
        daemon.reloads.rejected++
        log.error({ config: configPath, problems: e instanceof ConfigError ? e.lines : [(e as Error).message] }, 'configuration refused: the running configuration stays')
      }
    })()
  })
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => { void stop(config.shutdownPolicy, sig).then(exit) })
  }
  return new Promise<number>(() => { /* runs until a signal or --shutdown */ })
}

const code = await runCommandLine({ program: 'gsi-routerd', usage, options, version }, process.argv.slice(2), async (v) => {
  if (v['check-config'] !== undefined) return checkConfig(v['check-config'])
  if (v.cleanup === true) return runCleanup()
  if (v.shutdown === true) {
    let socket = v.socket
    if (socket === undefined && v.config !== undefined) socket = (await loadConfigFile(v.config)).config.api.socket
    return shutdownRunning(socket ?? DEFAULT_SOCKET)
  }
  if (v.config === undefined) {
    process.stderr.write(`gsi-routerd: --config FILE is required (or run in Kubernetes with NODE_NAME set: not yet)\n${usage}\n`)
    return 2
  }
  return run(v.config)
})
process.exitCode = code
