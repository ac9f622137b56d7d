/**
 * Where the lab's data plane runs: this kernel when it has GRE (RFC 2784), fou, MPLS (RFC 3032,
 * RFC 7510 over UDP), VRF, veth and dummy links; otherwise inside the project's qemu VM
 * (scripts/vm/run.mjs: Debian's kernel, the host root shared read-only, the built dist/ JavaScript
 * run there). In either place the lab itself runs inside a namespace of its own, `api`, where the
 * Kubernetes API and EC2 emulators and gsi-controller listen: the node namespaces reach the API
 * server through the lab's fabric, and nothing listens in the root namespace.
 */
import { spawn, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

/** Set in the lab's own process once it runs inside its `api` namespace (the value is its name). */
export const API_NS_ENV = 'GSI_LAB_API_NS'

/** True when this kernel can build the lab's data plane (probed in a throwaway namespace). */
export function kernelHasDataplane(): boolean {
  const ns = `gsilab-probe-${process.pid}`
  const ip = (...a: string[]): boolean => spawnSync('ip', ['-n', ns, ...a], { stdio: 'ignore' }).status === 0
  if (spawnSync('ip', ['netns', 'add', ns], { stdio: 'ignore' }).status !== 0) return false
  try {
    for (const m of ['ip_gre', 'fou', 'ipip', 'mpls_router', 'mpls_iptunnel', 'vrf', 'dummy', 'veth']) spawnSync('modprobe', [m], { stdio: 'ignore' })
    return ip('link', 'add', 'p-gre', 'type', 'gre', 'local', '127.0.0.1', 'remote', '127.0.0.2') &&
      ip('link', 'add', 'p-ipip', 'type', 'ipip', 'mode', 'mplsip', 'local', '127.0.0.1', 'remote', '127.0.0.2', 'encap', 'fou', 'encap-sport', 'auto', 'encap-dport', '6635') &&
      ip('fou', 'add', 'port', '6635', 'ipproto', '137') &&
      ip('link', 'add', 'p-vrf', 'type', 'vrf', 'table', '100') &&
      ip('link', 'add', 'p-dummy', 'type', 'dummy') &&
      spawnSync('ip', ['netns', 'exec', ns, 'sh', '-c', 'echo 16 > /proc/sys/net/mpls/platform_labels'], { stdio: 'ignore' }).status === 0
  } finally {
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' })
  }
}

/** argv that runs `argv` inside a fresh namespace `ns` (deleted afterwards), with API_NS_ENV set. */
export function inApiNamespace(ns: string, argv: readonly string[]): string[] {
  const script = `ip netns add ${ns} && ip -n ${ns} link set lo up || exit 1; ip netns exec ${ns} env ${API_NS_ENV}=${ns} "$@"; rc=$?; ip netns pids ${ns} | xargs -r kill -9; ip netns del ${ns}; exit $rc`
  return ['sh', '-c', script, 'gsi-lab', ...argv]
}

/** Runs the lab's own program (`labArgv`: node, script, flags) in its namespace on this kernel. */
export function runHere(ns: string, labArgv: readonly string[]): Promise<number> {
  const [cmd, ...args] = inApiNamespace(ns, labArgv)
  const child = spawn(cmd!, args, { stdio: 'inherit' })
  // Ctrl-C reaches the child through the terminal's process group; the parent waits for its report.
  process.on('SIGINT', () => { /* the lab inside handles it */ })
  return new Promise((resolve) => child.once('exit', (code, sig) => resolve(code ?? (sig !== null ? 1 : 0))))
}

interface VmRunner {
  runInVm(o: { command: string[]; timeoutSec?: number; memMb?: number; cpus?: number; env?: Record<string, string>; stdin?: NodeJS.ReadableStream }): Promise<{ code: number; seconds: number }>
}

/** Runs the lab's own program in its namespace inside the qemu VM; resolves with its exit status
 * (124: the VM timed out, 125: it did not boot). `stdin` reaches the lab's standard input (its
 * --keep console); without it the lab reads nothing. */
export async function runInVm(root: string, ns: string, labArgv: readonly string[], timeoutSec: number, stdin?: NodeJS.ReadableStream): Promise<{ code: number; seconds: number }> {
  const vm = (await import(pathToFileURL(join(root, 'scripts', 'vm', 'run.mjs')).href)) as VmRunner
  // Two vCPUs: the lab runs a dozen processes at once (the emulators, the controller, a daemon per
  // node, BIRD, gobgpd), unlike a test file; GSI_VM_CPUS overrides.
  return vm.runInVm({ command: inApiNamespace(ns, labArgv), timeoutSec, memMb: 3072, cpus: Number(process.env.GSI_VM_CPUS ?? 2), ...(stdin !== undefined ? { stdin } : {}) })
}
