/**
 * gsi-routerd's HTTP endpoint (node:http), on 9478 by default (deploy/daemonset.yaml's probes and
 * the ServiceMonitor expect it there):
 *
 *   /metrics   Prometheus exposition from the daemon's own registry (src/metrics)
 *   /healthz   200 while the process serves requests (the liveness probe: no daemon state consulted,
 *              so a slow table load never gets the pod killed)
 *   /readyz    200 {"ready":true} once the view says ready (sessions back and the FIB synced after a
 *              restart), else 503 {"ready":false,"reason":...}: a rolling update waits for it, so one
 *              node at a time moves
 *   /status    200 JSON DaemonReport (src/api/report.ts): what `gsictl doctor` run from a laptop
 *              needs of this node (sessions, GRE, gateway table, exposure, what the TGW was sent);
 *              the same answer as the local API's show.report. No secrets, no per-route listing
 *              beyond the prefixes sent to the TGW (at most the 1,000 quota)
 *
 * GET and HEAD only; anything else is 405, unknown paths 404.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { daemonReport } from '../api/report.js'
import type { DaemonView } from '../api/view.js'
import type { DaemonMetrics } from '../metrics/index.js'

export const DEFAULT_HTTP_PORT = 9478
export const DEFAULT_HTTP_HOST = '0.0.0.0'

export interface HttpServerOptions {
  readonly metrics: DaemonMetrics
  /** The whole view: /readyz reads status(), /status the report's parts. */
  readonly view: DaemonView
  /** Default 9478; 0 picks a free port (tests). */
  readonly port?: number
  /** Default 0.0.0.0 (hostNetwork: Prometheus scrapes the node address). */
  readonly host?: string
}

export interface HttpEndpoint {
  readonly server: Server
  readonly port: number
  close(): Promise<void>
}

export async function serveHttp(o: HttpServerOptions): Promise<HttpEndpoint> {
  const server = createServer((req, res) => {
    route(o, req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
      res.end(`internal error: ${e instanceof Error ? e.message : String(e)}\n`)
    })
  })
  const port = o.port ?? DEFAULT_HTTP_PORT
  const host = o.host ?? DEFAULT_HTTP_HOST
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new Error(`http ${host}:${port}: ${e.code === 'EADDRINUSE' ? 'port already in use' : e.message}`)))
    server.listen(port, host, () => resolve())
  })
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

async function route(o: HttpServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]
  const known = path === '/metrics' || path === '/healthz' || path === '/readyz' || path === '/status'
  if (!known) return send(res, req, 404, 'text/plain; charset=utf-8', 'not found: try /metrics, /healthz, /readyz or /status\n')
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD')
    return send(res, req, 405, 'text/plain; charset=utf-8', `method ${req.method ?? ''} not allowed\n`)
  }
  if (path === '/metrics') return send(res, req, 200, o.metrics.contentType, await o.metrics.metrics())
  if (path === '/healthz') return send(res, req, 200, 'text/plain; charset=utf-8', 'ok\n')
  if (path === '/status') return send(res, req, 200, 'application/json', JSON.stringify(daemonReport(o.view)) + '\n')
  const s = o.view.status()
  const body = s.ready ? { ready: true } : { ready: false, reason: s.notReadyReason ?? 'not ready' }
  return send(res, req, s.ready ? 200 : 503, 'application/json', JSON.stringify(body) + '\n')
}

function send(res: ServerResponse, req: IncomingMessage, code: number, type: string, body: string): void {
  res.writeHead(code, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' })
  res.end(req.method === 'HEAD' ? undefined : body)
}
