#!/usr/bin/env node
/**
 * gsi-controller: the gsi-router controller: custom resources (GatewayServiceInstance,
 * TransitGateway, ConnectedPeer, Route) and the AWS resources behind them. Entry point: the only place
 * that reads argv and the environment, and exits.
 *
 * Kubernetes: --in-cluster (service account), --kubeconfig FILE, or --server URL (no credentials: the
 * API emulator of the lab); $KUBECONFIG / ~/.kube/config otherwise. AWS: the SDK's default credential
 * chain (IRSA web identity on EKS); --aws-endpoint points EC2 at the emulator. One Lease elects the
 * active replica; losing it ends the process (exit 1) so it restarts clean, as client-go's do.
 */
import { hostname } from 'node:os'
import type { Level } from 'pino'
import { version } from '../version.js'
import { numberOption, runCommandLine, UsageError, type CommandLine, type OptionSpecs, type OptionValues } from '../lib/args.js'
import type { Ec2Api } from '../../controller/aws/ec2.js'

const usage = `usage: gsi-controller [options]

the gsi-router controller: custom resources and the AWS resources behind them

Kubernetes connection (one of; default: $KUBECONFIG or ~/.kube/config):
  --in-cluster                 use the pod's service account
  --kubeconfig FILE            a kubeconfig file   [--context NAME]
  --server URL                 a bare API server URL without credentials (the lab's emulator)
Scope and leader election:
  --namespace NS               watch only NS (default: all namespaces)      env GSI_WATCH_NAMESPACE
  --lease-namespace NS         namespace of the Lease (default: $POD_NAMESPACE, else "default")
  --lease-name NAME            Lease name (default gsi-controller)
  --identity ID                this replica's identity (default: $POD_NAME, else host-pid)
  --lease-duration S           seconds (default 15)  --renew-deadline S (10)  --retry-period S (2)
Work:
  --workers N                  concurrent reconciles (default 2)
  --resync S                   re-check every TransitGateway against AWS every S seconds (default 300)
  --pending-poll S             while an AWS resource is pending, look again after at least S seconds
                               (default 2; the delay grows with the wait, to 60 s)
AWS:
  --aws-endpoint URL           EC2 endpoint override (lab: the EC2 emulator)  env GSI_AWS_ENDPOINT
Observability:
  --metrics-port N             /metrics, /healthz, /readyz (default 9477; 0 = off)   env GSI_METRICS_PORT
  --metrics-host ADDR          (default 0.0.0.0)
  --log-level LEVEL            trace|debug|info|warn|error (default info)     env GSI_LOG_LEVEL
  --help, --version

Usage errors exit 2; a failure after start exits 1.`

const commandLine = {
  program: 'gsi-controller',
  usage,
  version,
  options: {
    'in-cluster': { type: 'boolean' },
    kubeconfig: { type: 'string' },
    context: { type: 'string' },
    server: { type: 'string' },
    namespace: { type: 'string' },
    'lease-namespace': { type: 'string' },
    'lease-name': { type: 'string', default: 'gsi-controller' },
    identity: { type: 'string' },
    'lease-duration': { type: 'string', default: '15' },
    'renew-deadline': { type: 'string', default: '10' },
    'retry-period': { type: 'string', default: '2' },
    workers: { type: 'string', default: '2' },
    resync: { type: 'string', default: '300' },
    'pending-poll': { type: 'string', default: '2' },
    'aws-endpoint': { type: 'string' },
    'metrics-port': { type: 'string' },
    'metrics-host': { type: 'string', default: '0.0.0.0' },
    'log-level': { type: 'string' },
  },
} as const satisfies CommandLine<OptionSpecs>

interface Flags {
  inCluster: boolean
  kubeconfig?: string
  context?: string
  server?: string
  namespace?: string
  leaseNamespace: string
  leaseName: string
  identity: string
  leaseDurationS: number
  renewDeadlineS: number
  retryPeriodS: number
  workers: number
  resyncS: number
  pendingPollS: number
  awsEndpoint?: string
  metricsPort: number
  metricsHost: string
  logLevel: Level
}

const LOG_LEVELS: readonly string[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal']

/** The flags, with the environment filling what the command line leaves out. */
function flagsOf(v: OptionValues<typeof commandLine.options>, env: NodeJS.ProcessEnv): Flags {
  const seconds = (flag: string, text: string, min: number, max: number): number => numberOption(flag, text, { min, max, integer: false })
  const metricsPort = v['metrics-port'] !== undefined
    ? numberOption('--metrics-port', v['metrics-port'], { min: 0, max: 65535 })
    : env.GSI_METRICS_PORT ? numberOption('GSI_METRICS_PORT', env.GSI_METRICS_PORT, { min: 0, max: 65535 }) : 9477
  const logLevel = v['log-level'] ?? env.GSI_LOG_LEVEL ?? 'info'
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new UsageError(`${v['log-level'] !== undefined ? '--log-level' : 'GSI_LOG_LEVEL'}: unknown level "${logLevel}" (one of ${LOG_LEVELS.join(', ')})`)
  }
  const f: Flags = {
    inCluster: v['in-cluster'] === true,
    leaseNamespace: v['lease-namespace'] ?? (env.POD_NAMESPACE || 'default'),
    leaseName: v['lease-name'],
    identity: v.identity ?? (env.POD_NAME || `${hostname()}-${process.pid}`),
    leaseDurationS: seconds('--lease-duration', v['lease-duration'], 0.1, 3600),
    renewDeadlineS: seconds('--renew-deadline', v['renew-deadline'], 0.05, 3600),
    retryPeriodS: seconds('--retry-period', v['retry-period'], 0.01, 3600),
    workers: numberOption('--workers', v.workers, { min: 1, max: 64 }),
    resyncS: seconds('--resync', v.resync, 1, 86400),
    pendingPollS: seconds('--pending-poll', v['pending-poll'], 0.1, 60),
    metricsPort,
    metricsHost: v['metrics-host'],
    logLevel: logLevel as Level,
  }
  const namespace = v.namespace ?? (env.GSI_WATCH_NAMESPACE || undefined)
  if (namespace !== undefined) f.namespace = namespace
  const awsEndpoint = v['aws-endpoint'] ?? (env.GSI_AWS_ENDPOINT || undefined)
  if (awsEndpoint !== undefined) f.awsEndpoint = awsEndpoint
  if (v.kubeconfig !== undefined) f.kubeconfig = v.kubeconfig
  if (v.context !== undefined) f.context = v.context
  if (v.server !== undefined) f.server = v.server
  if ([f.inCluster, f.kubeconfig !== undefined, f.server !== undefined].filter(Boolean).length > 1) {
    throw new UsageError('--in-cluster, --kubeconfig and --server are exclusive')
  }
  if (!(f.leaseDurationS > f.renewDeadlineS && f.renewDeadlineS > f.retryPeriodS)) {
    throw new UsageError('need --lease-duration > --renew-deadline > --retry-period')
  }
  return f
}

async function run(f: Flags): Promise<void> {
  // Loaded only now: the AWS SDK and the Kubernetes client take seconds to load on a busy node, and
  // --help or a wrong flag should answer at once. pino is CommonJS: its default export is the one a
  // bundle (the lab's, scripts/bundle.mjs) keeps too, where named exports of an import() are lost.
  const [{ default: pino }, { ControllerReplica }, { ControllerMetrics, serveMetrics }, { KubeConnection, makeKubeConfig }, { createEc2Api }] = await Promise.all([
    import('pino'), import('../../controller/controller.js'), import('../../controller/metrics.js'),
    import('../../controller/k8s/index.js'), import('../../controller/aws/ec2.js'),
  ])
  const log = pino({ level: f.logLevel, base: { component: 'gsi-controller', identity: f.identity } })
  const kc = makeKubeConfig({
    ...(f.server ? { server: f.server } : {}), ...(f.kubeconfig ? { kubeconfig: f.kubeconfig } : {}),
    ...(f.inCluster ? { inCluster: true } : {}), ...(f.context ? { context: f.context } : {}),
  })
  const conn = new KubeConnection(kc)
  const metrics = new ControllerMetrics({ defaultMetrics: true })
  const clients = new Map<string, Ec2Api>()
  const ec2For = (region: string): Ec2Api => {
    let c = clients.get(region)
    if (!c) {
      c = createEc2Api({ region, ...(f.awsEndpoint ? { endpoint: f.awsEndpoint } : {}), onCall: metrics.onEc2Call })
      clients.set(region, c)
    }
    return c
  }
  let exiting = false
  const replica = new ControllerReplica({
    conn, log, metrics, ec2For, identity: f.identity,
    leaseNamespace: f.leaseNamespace, leaseName: f.leaseName,
    leaseDurationMs: f.leaseDurationS * 1000, renewDeadlineMs: f.renewDeadlineS * 1000, retryPeriodMs: f.retryPeriodS * 1000,
    workers: f.workers, resyncMs: f.resyncS * 1000,
    // the floor of the pending requeue and the settle after a create: AWS takes minutes, so 2 s is
    // plenty; the lab's emulator takes 0.4 s
    aws: { minRequeueMs: f.pendingPollS * 1000, settleMs: f.pendingPollS * 1000 },
    ...(f.namespace ? { namespace: f.namespace } : {}),
    onLostLeadership: () => {
      if (exiting) return
      log.error('lost the leader Lease; exiting so that a fresh process campaigns again')
      process.exit(1)
    },
  })
  const server = f.metricsPort > 0 ? await serveMetrics(metrics, f.metricsPort, f.metricsHost) : undefined
  log.info({ version, server: kc.getCurrentCluster()?.server, leaseNamespace: f.leaseNamespace, leaseName: f.leaseName, awsEndpoint: f.awsEndpoint, metricsPort: f.metricsPort }, 'starting')
  replica.start()
  await new Promise<void>(resolve => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  exiting = true
  log.info('stopping: releasing the Lease')
  await replica.stop()
  server?.close()
}

runCommandLine(commandLine, process.argv.slice(2), async values => {
  await run(flagsOf(values, process.env))
  return 0
}).then(code => { process.exitCode = code }, (e: unknown) => {
  process.stderr.write(`gsi-controller: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`)
  process.exitCode = 1
})
