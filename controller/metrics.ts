/**
 * gsi-controller's Prometheus metrics (prom-client), in a registry the program creates (no default
 * global registry, nothing at import time). Gauges that mirror state (queue depth, leader) are
 * computed at scrape time by `collect()` from getters the running controller installs.
 *
 *   gsi_controller_reconciles_total{kind,result}          result: success | requeue | conflict | error
 *   gsi_controller_reconcile_duration_seconds{kind}
 *   gsi_controller_aws_calls_total{action,outcome}         outcome: ok | <EC2 error code>
 *   gsi_controller_aws_call_duration_seconds{action}
 *   gsi_controller_workqueue_depth
 *   gsi_controller_leader                                  1 while this replica holds the Lease
 *   gsi_controller_relists_total{resource,cause}           cause: initial | gone | error | absent
 *
 * `serveMetrics` exposes /metrics, /healthz and /readyz over HTTP for the ServiceMonitor and probes.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Ec2CallEvent } from './aws/ec2.js'

export class ControllerMetrics {
  readonly registry = new Registry()
  readonly reconciles: Counter<'kind' | 'result'>
  readonly reconcileDuration: Histogram<'kind'>
  readonly awsCalls: Counter<'action' | 'outcome'>
  readonly awsLatency: Histogram<'action'>
  readonly relists: Counter<'resource' | 'cause'>
  /** Set by the running controller; read at scrape time. */
  queueDepth: () => number = () => 0
  isLeader: () => boolean = () => false

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry]
    this.reconciles = new Counter({ name: 'gsi_controller_reconciles_total', help: 'Reconciles by kind and result', labelNames: ['kind', 'result'], registers })
    this.reconcileDuration = new Histogram({
      name: 'gsi_controller_reconcile_duration_seconds', help: 'Duration of one reconcile', labelNames: ['kind'], registers,
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    })
    this.awsCalls = new Counter({ name: 'gsi_controller_aws_calls_total', help: 'EC2 call attempts by action and outcome', labelNames: ['action', 'outcome'], registers })
    this.awsLatency = new Histogram({
      name: 'gsi_controller_aws_call_duration_seconds', help: 'EC2 call latency by action', labelNames: ['action'], registers,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    })
    this.relists = new Counter({ name: 'gsi_controller_relists_total', help: 'Informer lists by resource and cause', labelNames: ['resource', 'cause'], registers })
    const depth = (): number => this.queueDepth()
    const leader = (): boolean => this.isLeader()
    new Gauge({ name: 'gsi_controller_workqueue_depth', help: 'Keys waiting in the work queue', registers, collect() { this.set(depth()) } })
    new Gauge({ name: 'gsi_controller_leader', help: '1 while this replica holds the leader Lease', registers, collect() { this.set(leader() ? 1 : 0) } })
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'gsi_controller_' })
  }

  /** Hook for createEc2Api({ onCall }). */
  readonly onEc2Call = (e: Ec2CallEvent): void => {
    this.awsCalls.inc({ action: e.action, outcome: e.outcome })
    this.awsLatency.observe({ action: e.action }, e.latencyMs / 1000)
  }
}

/** /metrics, /healthz (process alive) and /readyz (`ready()` true). */
export async function serveMetrics(m: ControllerMetrics, port: number, host = '0.0.0.0', ready: () => boolean = () => true): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (path === '/metrics') {
      m.registry.metrics().then(text => {
        res.writeHead(200, { 'content-type': m.registry.contentType })
        res.end(text)
      }, (e: unknown) => {
        res.writeHead(500)
        res.end(String(e))
      })
    } else if (path === '/healthz') {
      res.writeHead(200)
      res.end('ok\n')
    } else if (path === '/readyz') {
      const ok = ready()
      res.writeHead(ok ? 200 : 503)
      res.end(ok ? 'ok\n' : 'not ready\n')
    } else {
      res.writeHead(404)
      res.end()
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  return server
}

export function serverPort(s: Server): number { return (s.address() as AddressInfo).port }
