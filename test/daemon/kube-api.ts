/**
 * The Kubernetes API emulator (controller/emulator/kube) for a gsi-routerd that runs inside a node
 * namespace of a Topology, as the DaemonSet's pod reaches the API server.
 *
 * The emulator listens on 127.0.0.1 of the test's own namespace, where the test's clients use it
 * directly. The daemon's namespace has its own loopback, so the two are joined through the file
 * system, which network namespaces do not separate: a Unix socket here relays to the emulator, and a
 * small relay process inside the node namespace listens on its 127.0.0.1:6443 and connects to that
 * socket. No address outside loopback is used on either side. The daemon gets a kubeconfig naming
 * 127.0.0.1:6443 with the bearer token `gsi-routerd`, so the emulator's audit records its requests
 * under that user (what deploy/rbac.yaml must grant).
 */
import { createServer, connect, type Server, type Socket } from 'node:net'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { KubeEmulator } from '../../controller/emulator/kube/server.js'
import { ROOT } from './daemons.js'

/** The API server port inside the node namespace (the namespace is the test's own: nothing else listens). */
export const NS_API_PORT = 6443

export const DAEMON_USER = 'gsi-routerd'

/** Our CRDs, as the controller tests install them. */
export function crdTexts(): string[] {
  const dir = join(ROOT, 'deploy', 'crds')
  return readdirSync(dir).filter(f => f.endsWith('.yaml')).sort().map(f => readFileSync(join(dir, f), 'utf8'))
}

interface NamespaceHost {
  spawn(ns: string, cmd: string, args: string[], opts?: { stdio?: ['ignore', 'pipe', 'pipe'] }): ChildProcess
}

// The relay inside the node namespace: 127.0.0.1:PORT -> the Unix socket, one pair of pipes per connection.
const RELAY = `const net = require('node:net')
const [sock, port] = process.argv.slice(1)
net.createServer((c) => {
  const u = net.connect(sock)
  c.pipe(u).pipe(c)
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy())
}).listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\\n'))`

export interface KubeApi {
  readonly kube: KubeEmulator
  /** The emulator's URL in the test's namespace. */
  readonly url: string
  /** A kubeconfig for the daemon inside the node namespace (user gsi-routerd). */
  readonly kubeconfig: string
  stop(): Promise<void>
}

export async function startKubeApi(topo: NamespaceHost, ns: string, dir: string): Promise<KubeApi> {
  const kube = new KubeEmulator({ crds: crdTexts() })
  const url = await kube.start()
  const port = Number(new URL(url).port)
  const sockPath = join(dir, 'kube-api.sock')
  const open = new Set<Socket>()
  const unix: Server = createServer((c) => {
    const u = connect(port, '127.0.0.1')
    open.add(c).add(u)
    c.pipe(u).pipe(c)
    const end = (): void => { c.destroy(); u.destroy(); open.delete(c); open.delete(u) }
    c.on('error', end).on('close', end)
    u.on('error', end).on('close', end)
  })
  await new Promise<void>((res, rej) => { unix.once('error', rej); unix.listen(sockPath, () => res()) })
  const relay = topo.spawn(ns, process.execPath, ['-e', RELAY, sockPath, String(NS_API_PORT)], { stdio: ['ignore', 'pipe', 'pipe'] })
  await new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`the API relay in ${ns} did not start`)), 10_000)
    relay.stdout?.once('data', () => { clearTimeout(t); res() })
    relay.once('exit', (code) => { clearTimeout(t); rej(new Error(`the API relay in ${ns} exited with ${code}`)) })
  })
  const kubeconfig = join(dir, 'kubeconfig.yaml')
  writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config', 'current-context: gsi',
    // the client refuses plain HTTP unless TLS verification is off (the emulator speaks no TLS)
    `clusters: [{ name: emulator, cluster: { server: "http://127.0.0.1:${NS_API_PORT}", insecure-skip-tls-verify: true } }]`,
    `users: [{ name: ${DAEMON_USER}, user: { token: ${DAEMON_USER} } }]`,
    `contexts: [{ name: gsi, context: { cluster: emulator, user: ${DAEMON_USER} } }]`, '',
  ].join('\n'))
  return {
    kube, url, kubeconfig,
    stop: async () => {
      if (relay.exitCode === null && relay.signalCode === null) {
        const done = new Promise<void>((r) => relay.once('exit', () => r()))
        relay.kill('SIGKILL')
        await done
      }
      for (const s of open) s.destroy()
      await new Promise<void>((r) => unix.close(() => r()))
      await kube.stop()
    },
  }
}
