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
import { pino, type Level } from 'pino'
import { version } from '../version.js'
import { ControllerReplica } from '../../controller/controller.js'
import { ControllerMetrics, serveMetrics } from '../../controller/metrics.js'
import { KubeConnection, makeKubeConfig } from '../../controller/k8s/index.js'
import { createEc2Api, type Ec2Api } from '../../controller/aws/ec2.js'

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
AWS:
  --aws-endpoint URL           EC2 endpoint override (lab: the EC2 emulator)  env GSI_AWS_ENDPOINT
Observability:
  --metrics-port N             /metrics, /healthz, /readyz (default 9477; 0 = off)   env GSI_METRICS_PORT
  --metrics-host ADDR          (default 0.0.0.0)
  --log-level LEVEL            trace|debug|info|warn|error (default info)     env GSI_LOG_LEVEL
  --help, --version`

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
  awsEndpoint?: string
  metricsPort: number
  metricsHost: string
  logLevel: Level
}

class UsageError extends Error {}

function parse(argv: string[], env: NodeJS.ProcessEnv): Flags {
  const f: Flags = {
    inCluster: false,
    leaseNamespace: env.POD_NAMESPACE || 'default',
    leaseName: 'gsi-controller',
    identity: env.POD_NAME || `${hostname()}-${process.pid}`,
    leaseDurationS: 15, renewDeadlineS: 10, retryPeriodS: 2,
    workers: 2, resyncS: 300,
    metricsPort: env.GSI_METRICS_PORT ? Number(env.GSI_METRICS_PORT) : 9477,
    metricsHost: '0.0.0.0',
    logLevel: (env.GSI_LOG_LEVEL as Level | undefined) ?? 'info',
  }
  if (env.GSI_WATCH_NAMESPACE) f.namespace = env.GSI_WATCH_NAMESPACE
  if (env.GSI_AWS_ENDPOINT) f.awsEndpoint = env.GSI_AWS_ENDPOINT
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!
    let inline: string | undefined
    const eq = a.indexOf('=')
    if (a.startsWith('--') && eq > 0) { inline = a.slice(eq + 1); a = a.slice(0, eq) }
    const val = (): string => {
      const v = inline ?? argv[++i]
      if (v === undefined || v === '') throw new UsageError(`${a} needs a value`)
      return v
    }
    const num = (min: number, max: number): number => {
      const s = val()
      const n = Number(s)
      if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`${a}: "${s}" is not a number in ${min}..${max}`)
      return n
    }
    switch (a) {
      case '--in-cluster': f.inCluster = true; break
      case '--kubeconfig': f.kubeconfig = val(); break
      case '--context': f.context = val(); break
      case '--server': f.server = val(); break
      case '--namespace': f.namespace = val(); break
      case '--lease-namespace': f.leaseNamespace = val(); break
      case '--lease-name': f.leaseName = val(); break
      case '--identity': f.identity = val(); break
      case '--lease-duration': f.leaseDurationS = num(0.1, 3600); break
      case '--renew-deadline': f.renewDeadlineS = num(0.05, 3600); break
      case '--retry-period': f.retryPeriodS = num(0.01, 3600); break
      case '--workers': f.workers = Math.floor(num(1, 64)); break
      case '--resync': f.resyncS = num(1, 86400); break
      case '--aws-endpoint': f.awsEndpoint = val(); break
      case '--metrics-port': f.metricsPort = Math.floor(num(0, 65535)); break
      case '--metrics-host': f.metricsHost = val(); break
      case '--log-level': f.logLevel = val() as Level; break
      default: throw new UsageError(`unknown argument ${argv[i]}`)
    }
  }
  if ([f.inCluster, f.kubeconfig !== undefined, f.server !== undefined].filter(Boolean).length > 1) {
    throw new UsageError('--in-cluster, --kubeconfig and --server are exclusive')
  }
  if (!(f.leaseDurationS > f.renewDeadlineS && f.renewDeadlineS > f.retryPeriodS)) {
    throw new UsageError('need --lease-duration > --renew-deadline > --retry-period')
  }
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal'].includes(f.logLevel)) throw new UsageError(`--log-level: unknown level ${f.logLevel}`)
  if (!Number.isInteger(f.metricsPort) || f.metricsPort < 0 || f.metricsPort > 65535) throw new UsageError('GSI_METRICS_PORT: not a port number')
  return f
}

async function run(f: Flags): Promise<void> {
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

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--version') || argv.includes('-V')) {
    process.stdout.write(`gsi-controller ${version}\n`)
    return 0
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage + '\n')
    return 0
  }
  let flags: Flags
  try {
    flags = parse(argv, process.env)
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`gsi-controller: ${e.message}\n${usage}\n`)
      return 2
    }
    throw e
  }
  await run(flags)
  return 0
}

main(process.argv.slice(2)).then(code => { process.exitCode = code }, (e: unknown) => {
  process.stderr.write(`gsi-controller: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`)
  process.exitCode = 1
})
