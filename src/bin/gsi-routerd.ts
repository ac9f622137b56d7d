#!/usr/bin/env -S node --max-semi-space-size=2
/**
 * gsi-routerd: the gsi-router node daemon. BGP to the CN2 control nodes and the AWS Transit Gateway,
 * the kernel data plane between them (src/daemon/daemon.ts). Entry point: the only place that reads
 * argv and the environment, handles signals and exits.
 *
 * Signals: SIGHUP re-reads the config file (a bad one is refused, logged and counted, the running one
 * stays); SIGTERM/SIGINT stop as `shutdownPolicy` says (default graceful: kernel state kept, no
 * NOTIFICATION, so a rolling update is hitless).
 *
 * The first line runs Node with a young generation of 2 MB semi-spaces instead of 16: the daemon's
 * garbage is short-lived and small (decoded messages), and the larger nursery only added resident
 * memory (8 MB at idle and with 32,000 routes, bench/daemon.bench.ts) without making the ingest faster.
 */
import { pino, type Level } from 'pino'
import { ApiClient, ApiServer, DaemonNotRunningError } from '../api/index.js'
import { checkConfigFile } from '../config/check.js'
import { ConfigError, loadConfigFile, readMd5File } from '../config/load.js'
import type { DaemonConfig } from '../config/model.js'
import { configPathOf, GatewayDaemon, gatewayProblem, gatewayProblems } from '../daemon/daemon.js'
import { GatewayConfigError } from '../gateway/index.js'
import { RuntimeView } from '../daemon/view.js'
import { connectPeerOverall } from '../daemon/probes.js'
import { cleanup, NetlinkKernel } from '../fib/index.js'
import { serveHttp } from '../http/index.js'
import { runCommandLine, UsageError } from '../lib/args.js'
import { readFile } from 'node:fs/promises'
import { parse } from 'yaml'
// Types only: the Kubernetes client (the heaviest module by far) is loaded in Kubernetes mode alone,
// so a file-mode start, --help and --check-config stay quick.
import type { KubeConnection, KubeConnectOptions } from '../../controller/k8s/index.js'
import type { DaemonStatusWriter, KubeBaseConfig, KubeConfigSource, KubeConfigUpdate } from '../config/kube.js'
import { DaemonMetrics } from '../metrics/index.js'
import { version } from '../version.js'
import type { ProbeReport } from '../api/view.js'
import type { DaemonDataplaneStatus } from '../../controller/types.js'

const usage = `usage: gsi-routerd --config FILE        run with a configuration file (SIGHUP reloads it)
       gsi-routerd [--base FILE] [--in-cluster | --kubeconfig FILE | --server URL]
                                        Kubernetes mode (NODE_NAME set, as the DaemonSet does): run this
                                        node's ConnectedPeer objects, write their status.daemon
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
      --base FILE          Kubernetes mode: what the ConnectedPeer does not carry (gateway table, timers,
                           listeners, MD5 key source...): the file's fields, all optional
      --in-cluster         Kubernetes mode: the pod's service account (default when NODE_NAME is set
                           and no other source is given)
      --kubeconfig FILE    Kubernetes mode: a kubeconfig file
      --server URL         Kubernetes mode: a bare API server URL (the lab's emulator)
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
  base: { type: 'string' },
  'in-cluster': { type: 'boolean' },
  kubeconfig: { type: 'string' },
  server: { type: 'string' },
} as const

const DEFAULT_SOCKET = '/run/gsi-router/gsi-routerd.sock'

function checkConfig(path: string): number {
  // the loader's checks, then the gateway logic's (what a start would refuse)
  const r = checkConfigFile(path, gatewayProblems)
  const out = r.ok ? process.stdout : process.stderr
  for (const m of r.messages) out.write(`${m}\n`)
  return r.ok ? 0 : 1
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

/** Where the configuration comes from: a file (SIGHUP reloads it) or this node's ConnectedPeers. */
type Source =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'kube'; readonly nodeName: string; readonly base?: string; readonly connect: KubeConnectOptions }

async function run(source: Source): Promise<number> {
  let first: { config: DaemonConfig; warnings: readonly string[] }
  let kube: { conn: KubeConnection; src: KubeConfigSource; status: DaemonStatusWriter } | undefined
  const bootLog = pino({ base: { daemon: 'gsi-routerd' } })
  if (source.kind === 'file') {
    try {
      first = await loadConfigFile(source.path)
    } catch (e) {
      process.stderr.write(`gsi-routerd: ${(e as Error).message}\n`)
      return 1
    }
  } else {
    let base: KubeBaseConfig = {}
    if (source.base !== undefined) base = parse(await readFile(source.base, 'utf8')) as KubeBaseConfig
    const { KubeConnection, makeKubeConfig } = await import('../../controller/k8s/index.js')
    const { DaemonStatusWriter, KubeConfigSource } = await import('../config/kube.js')
    const conn = new KubeConnection(makeKubeConfig(source.connect))
    const src = new KubeConfigSource({ conn, nodeName: source.nodeName, base, log: bootLog.child({ part: 'kubernetes' }) })
    const ready = new Promise<KubeConfigUpdate>((resolve) => src.once('config', resolve))
    src.on('invalid', (e) => bootLog.error({ problems: e.lines }, 'ConnectedPeer objects do not make a valid configuration: the running one stays'))
    await src.start()
    bootLog.info({ node: source.nodeName }, 'watching this node\'s ConnectedPeer objects')
    first = await ready
    kube = { conn, src, status: new DaemonStatusWriter({ conn, log: bootLog.child({ part: 'status' }), intervalMs: 5000 }) }
  }
  let config: DaemonConfig = first.config
  // Every child logger (one per peer, per part) is remembered so `gsictl set log-level` reaches them
  // all: a pino child keeps the level it was created with.
  const children = new Set<pino.Logger>()
  const log = pino({
    level: config.log.level, base: { daemon: 'gsi-routerd', ...(config.nodeName !== undefined ? { node: config.nodeName } : {}) },
    onChild: (child) => { children.add(child) },
  })
  for (const w of first.warnings) log.warn({ source: source.kind }, String(w))
  const daemon = new GatewayDaemon({
    config, log,
    md5: async (c) => {
      const m = c.controlNodes.md5
      if (m === undefined) return undefined
      if ('file' in m) return readMd5File(m.file)
      if (kube === undefined) throw new Error('controlNodes.md5.secretRef: Secrets are read in Kubernetes mode only; with --config use controlNodes.md5.file')
      const { readMd5Key } = await import('../config/kube.js')
      return readMd5Key(m, { conn: kube.conn, namespace: process.env.POD_NAMESPACE ?? 'gsi-system' })
    },
  })
  const levels = { get: () => log.level, set: (l: string) => { for (const x of [log, ...children]) x.level = l as Level } }
  const view = new RuntimeView(daemon, levels, async () => {
    setImmediate(() => { void stop('withdraw', 'gsi-routerd --shutdown').then(exit) })
    return { stopping: true }
  })
  const metrics = new DaemonMetrics({ view })
  daemon.on('reload', (r) => metrics.configReloaded(r.ok ? 'ok' : 'rejected'))
  try {
    await daemon.start()
  } catch (e) {
    if (!(e instanceof GatewayConfigError)) throw e
    // The gateway logic refused what the configuration loader let through: say it in the
    // configuration's own terms, as a loader problem would be said, and exit (the DaemonSet restarts us)
    process.stderr.write(`gsi-routerd: ${source.kind === 'file' ? source.path : 'configuration from the ConnectedPeers'}: ${gatewayProblem(e)}\n`)
    log.error({ field: configPathOf(e.field), reason: e.message }, 'gsi-routerd could not start: the gateway logic refused the configuration')
    await daemon.stop('graceful').catch(() => {})
    return 1
  }
  const http = await serveHttp({ metrics, view, port: config.http.port, host: config.http.address })
  let stopping: Promise<number> | undefined
  const stop = (mode: 'graceful' | 'withdraw', why: string): Promise<number> => {
    stopping ??= (async () => {
      log.info({ why, mode }, 'shutting down')
      if (kube !== undefined) {
        kube.src.stop()
        reportStatus()
        await kube.status.flush().catch(() => undefined)
        kube.status.stop()
      }
      await daemon.stop(mode, mode === 'withdraw' ? `gsi-routerd on ${config.nodeName ?? config.nodeAddress} shut down by the operator` : undefined)
      await api.close()
      await http.close()
      return 0
    })()
    return stopping
  }
  const api = await ApiServer.start({ path: config.api.socket, view, onError: (err, method) => log.error({ err, method }, 'API request failed') })
  log.info({ http: `${config.http.address}:${http.port}`, api: config.api.socket }, 'serving /metrics, /healthz, /readyz and the local API')
  const exit = (code: number): void => {
    log.flush()
    process.exit(code)
  }
  const apply = async (next: DaemonConfig, what: string): Promise<void> => {
    const r = await daemon.reload(next)
    if (r.ok) config = next
    else log.error({ source: what }, r.message)
  }
  /** status.daemon of every ConnectedPeer: the GRE link and both TGW sessions of its Connect peer. */
  const reportStatus = (): void => {
    if (kube === undefined) return
    const objects = kube.src.current?.objects ?? []
    const sessions = daemon.sessions()
    const probes = daemon.probeReport()
    for (const ref of objects) {
      const cp = config.tgw.connectPeers[ref.connectPeer]
      if (cp === undefined) continue
      const link = daemon.gre?.links.find((l) => l.peerId === cp.id)
      kube.status.report(ref.namespace, ref.name, {
        observedGeneration: ref.generation,
        ...(process.env.POD_NAME !== undefined ? { podName: process.env.POD_NAME } : {}),
        ...(config.dataplane === 'kernel' ? { greLinkUp: link?.state === 'up' } : {}),
        sessions: sessions.filter((x) => x.connectPeer === cp.id).map((x) => ({
          peerAddress: x.address, state: x.state, since: new Date(x.since).toISOString(),
          prefixesReceived: x.prefixesReceived, prefixesAdvertised: x.prefixesAdvertised,
          ...(x.lastError !== undefined ? { lastError: x.lastError } : {}),
        })),
        ...dataplaneStatus(probes, cp.id),
      })
    }
  }
  if (kube !== undefined) {
    const k = kube
    k.src.on('config', (u) => { void apply(u.config, 'kubernetes').then(reportStatus) })
    k.src.on('invalid', () => { metrics.configReloaded('rejected'); daemon.reloads.rejected++ })
    // A change that came while the daemon was starting found no listener yet: apply the latest model.
    const latest = k.src.current
    if (latest !== undefined && latest.config !== first.config) void apply(latest.config, 'kubernetes').then(reportStatus)
    daemon.on('ready', reportStatus)
    setInterval(reportStatus, 5000).unref()
    reportStatus()
  }
  process.on('SIGHUP', () => {
    if (source.kind !== 'file') {
      log.info({}, 'SIGHUP: in Kubernetes mode the configuration follows the ConnectedPeer objects; nothing to re-read')
      return
    }
    void (async () => {
      try {
        const next = await loadConfigFile(source.path)
        for (const w of next.warnings) log.warn({ config: source.path }, String(w))
        await apply(next.config, source.path)
      } catch (e) {
        metrics.configReloaded('rejected')
        daemon.reloads.rejected++
        log.error({ config: source.path, problems: e instanceof ConfigError ? e.lines : [(e as Error).message] }, 'configuration refused: the running configuration stays')
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
  if (v.config !== undefined) return run({ kind: 'file', path: v.config })
  const nodeName = process.env.NODE_NAME
  if (nodeName === undefined || nodeName === '') {
    process.stderr.write(`gsi-routerd: give --config FILE, or set NODE_NAME (the DaemonSet does, from the downward API) to run this node's ConnectedPeers\n${usage}\n`)
    return 2
  }
  const chosen = [v['in-cluster'] === true, v.kubeconfig !== undefined, v.server !== undefined].filter(Boolean).length
  if (chosen > 1) throw new UsageError('--in-cluster, --kubeconfig and --server are exclusive')
  const connect: KubeConnectOptions = v.server !== undefined ? { server: v.server } : v.kubeconfig !== undefined ? { kubeconfig: v.kubeconfig } : { inCluster: true }
  return run({ kind: 'kube', nodeName, connect, ...(v.base !== undefined ? { base: v.base } : {}) })
})
process.exitCode = code

/**
 * status.daemon.dataplane of one Connect peer from the probe report (nothing while probes are off):
 * the worst of its IP versions as `state` (an IPv6 data plane dead beside a live IPv4 one reads
 * dataplane-dead), each version in `families`.
 */
function dataplaneStatus(probes: ProbeReport | undefined, connectPeer: string): { dataplane?: DaemonDataplaneStatus } {
  const perFamily = probes?.connectPeers.filter((c) => c.connectPeer === connectPeer) ?? []
  const overall = connectPeerOverall(perFamily)
  if (probes === undefined || !probes.enabled || overall === undefined) return {}
  return {
    dataplane: {
      state: overall.state, since: new Date(overall.since).toISOString(), routesWithdrawn: overall.withdrawn,
      probes: probes.targets.filter((t) => t.kind === 'tgw' && t.via === connectPeer).map((t) => ({ address: t.address, state: t.state })),
      families: perFamily.map((f) => ({ family: f.family, state: f.state, since: new Date(f.since).toISOString(), routesWithdrawn: f.withdrawn })),
    },
  }
}
