/**
 * The ingest benchmark's network (iproute2): two fresh network namespaces, the injector's and the
 * receiver's, joined by one veth pair created directly inside them (nothing appears in the root
 * namespace), with 198.18.0.1/30 and 198.18.0.2/30 (RFC 2544's benchmarking range). No packet can
 * leave the pair.
 *
 * Teardown kills every process inside either namespace (pids from `ip netns pids`: the namespaces
 * are ours, so everything in them is ours) and deletes them, which deletes the veth pair. It runs on
 * success, on failure, at exit and on SIGINT/SIGTERM, and never throws.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { INJECTOR_ADDRESS, RECEIVER_ADDRESS } from './scenario.js'

let counter = 0
const live = new Set<NetPair>()
let hooked = false

function hookExit(): void {
  if (hooked) return
  hooked = true
  process.on('exit', () => {
    for (const p of [...live]) p.destroy()
  })
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const p of [...live]) p.destroy()
      process.exit(130)
    })
  }
}

const ip = (args: string[]): void => {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 })
}

/** Pids of the processes whose network namespace is `ns` (not counting this one). */
export function netnsPids(ns: string): number[] {
  try {
    const out = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 5000 })
    return out.split(/\s+/).filter(Boolean).map(Number).filter((n) => Number.isInteger(n) && n > 0 && n !== process.pid)
  } catch {
    return []
  }
}

/**
 * Kills what still runs inside namespace `ns` (SIGTERM, up to `graceMs` for it to exit, then
 * SIGKILL) and deletes the namespace. Synchronous, because it may run in an exit hook; never throws.
 * Shared with the interop tests (test/interop/netns.ts).
 */
export function killAndDeleteNetns(ns: string, graceMs: number): void {
  for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
    const pids = netnsPids(ns)
    if (pids.length === 0) break
    for (const pid of pids) {
      try {
        process.kill(pid, sig)
      } catch {
        // already gone
      }
    }
    if (sig === 'SIGTERM') {
      const until = Date.now() + graceMs
      while (Date.now() < until && netnsPids(ns).length > 0) execFileSync('sleep', ['0.05'])
    }
  }
  try {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 10_000 })
  } catch {
    // not created or already deleted
  }
}

export class NetPair {
  readonly injectorNs: string
  readonly receiverNs: string
  private destroyed = false

  constructor(prefix = 'gsib') {
    hookExit()
    const tag = `${prefix}-${process.pid}-${counter++}`
    this.injectorNs = `${tag}-inj`
    this.receiverNs = `${tag}-rcv`
    live.add(this)
    try {
      ip(['netns', 'add', this.injectorNs])
      ip(['netns', 'add', this.receiverNs])
      ip(['link', 'add', 'inj0', 'netns', this.injectorNs, 'type', 'veth', 'peer', 'name', 'rcv0', 'netns', this.receiverNs])
      for (const [ns, dev, addr] of [[this.injectorNs, 'inj0', INJECTOR_ADDRESS], [this.receiverNs, 'rcv0', RECEIVER_ADDRESS]] as const) {
        ip(['-n', ns, 'link', 'set', 'lo', 'up'])
        ip(['-n', ns, 'addr', 'add', `${addr}/30`, 'dev', dev])
        ip(['-n', ns, 'link', 'set', dev, 'up'])
      }
    } catch (e) {
      this.destroy()
      throw new Error(`benchmark namespaces: ${(e as Error).message}`)
    }
  }

  /** Spawns `cmd args` inside a namespace (ip netns exec execs it: the child's pid is cmd's). */
  spawnIn(ns: string, cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    return spawn('ip', ['netns', 'exec', ns, cmd, ...args], opts)
  }

  /** Runs a command inside a namespace and returns its stdout (throws on failure or timeout). */
  execIn(ns: string, cmd: string, args: string[], timeoutMs = 30_000): string {
    return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 })
  }

  /** Kills everything inside both namespaces (TERM, then KILL) and deletes them. Never throws. */
  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    for (const ns of [this.injectorNs, this.receiverNs]) killAndDeleteNetns(ns, 1000)
    live.delete(this)
  }
}
