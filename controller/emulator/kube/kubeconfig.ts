/**
 * kubectl against the Kubernetes API emulator: the kubeconfig file that points a real kubectl at it,
 * and where Debian's kubectl (package kubernetes-client, 1.20) is on this machine.
 *
 * scripts/setup.sh installs kubernetes-client with apt where /usr/bin/kubectl is free; where another
 * package owns /usr/bin/kubectl (a cloud SDK's kubectl), it unpacks Debian's package into
 * /usr/local/lib/gsi-kubectl instead and leaves the machine's kubectl alone, as it does for Node 22.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

export interface KubeconfigOptions {
  /** The emulator's URL, e.g. `http://127.0.0.1:8001` (KubeEmulator.url). */
  server: string
  /** Namespace of the context (kubectl's default for namespaced objects). Default `default`. */
  namespace?: string
  /**
   * Bearer token: the emulator's audit records requests under it (RBAC checks compare by user).
   * @kubernetes/client-node sends it; kubectl sends credentials only over TLS, so it stays anonymous.
   */
  token?: string
  /** Name of the cluster, user and context. Default `gsi-emulator`. */
  name?: string
}

/** The kubeconfig text (kubectl reads JSON as YAML, so JSON it is: no quoting to get wrong). */
export function kubeconfigText(opts: KubeconfigOptions): string {
  if (!/^https?:\/\/[^/\s]+\/?$/.test(opts.server)) throw new Error(`kubeconfig server: ${JSON.stringify(opts.server)} is not an http(s)://host:port URL`)
  const name = opts.name ?? 'gsi-emulator'
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Config', preferences: {},
    clusters: [{ name, cluster: { server: opts.server.replace(/\/$/, '') } }],
    users: [{ name, user: opts.token ? { token: opts.token } : {} }],
    contexts: [{ name, context: { cluster: name, user: name, namespace: opts.namespace ?? 'default' } }],
    'current-context': name,
  }, null, 2) + '\n'
}

/**
 * Writes a kubeconfig for the emulator at `path` (mode 0600, directories created) and returns the
 * path, for `KUBECONFIG=<path> kubectl get transitgateways,connectedpeers` (or `kubectl --kubeconfig`).
 */
export function writeKubeconfig(path: string, opts: KubeconfigOptions): string {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, kubeconfigText(opts), { mode: 0o600 })
  return path
}

/** Where setup.sh unpacks Debian's kubectl when /usr/bin/kubectl belongs to another package. */
export const GSI_KUBECTL = '/usr/local/lib/gsi-kubectl/usr/bin/kubectl'

/**
 * Debian's kubectl: `$GSI_KUBECTL_BIN` if set, else the unpacked copy, else /usr/bin/kubectl when the
 * kubernetes-client package owns it. Undefined when none is there (run scripts/setup.sh).
 */
export function debianKubectl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.GSI_KUBECTL_BIN) return env.GSI_KUBECTL_BIN
  if (existsSync(GSI_KUBECTL)) return GSI_KUBECTL
  try {
    const owned = readFileSync('/var/lib/dpkg/info/kubernetes-client.list', 'utf8').split('\n')
    if (owned.includes('/usr/bin/kubectl') && existsSync('/usr/bin/kubectl')) return '/usr/bin/kubectl'
  } catch { /* kubernetes-client not installed through dpkg */ }
  return undefined
}

/** The command line an operator types to look at the emulator with kubectl, for the lab to print. */
export function kubectlHint(kubeconfigPath: string, env: NodeJS.ProcessEnv = process.env): string {
  const bin = debianKubectl(env)
  return `KUBECONFIG=${kubeconfigPath} ${bin === '/usr/bin/kubectl' ? 'kubectl' : bin ?? 'kubectl'} get transitgateways,connectedpeers`
}
