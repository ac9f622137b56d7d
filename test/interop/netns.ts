/**
 * Network namespaces for interop runs against real BGP daemons (iproute2 `ip netns`).
 *
 * A run creates its own namespace with a unique name (prefix, process id, counter), brings `lo` up,
 * and runs everything that talks BGP inside it, so no packet ever leaves the namespace: daemons and
 * our side use 127.0.0.0/8 addresses of that namespace's own loopback. Cleanup kills every process
 * still inside the namespace (by pid, as listed by `ip netns pids`: they are all ours, because the
 * namespace is) and deletes the namespace; it runs on success, failure and on SIGINT/SIGTERM.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { killAndDeleteNetns, netnsPids } from '../../bench/ingest/netns.js'

let counter = 0
const live = new Set<string>()

function cleanupAll(): void {
  for (const name of [...live]) destroyNetns(name)
}
let hooked = false
function hookExit(): void {
  if (hooked) return
  hooked = true
  process.on('exit', cleanupAll)
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      cleanupAll()
      process.exit(130)
    })
  }
}

/** Creates a fresh namespace with `lo` up; `extraLoopback` adds more addresses to `lo` (e.g. IPv6). */
export function createNetns(prefix: string, extraLoopback: string[] = []): string {
  hookExit()
  const name = `${prefix}-${process.pid}-${counter++}`
  execFileSync('ip', ['netns', 'add', name])
  live.add(name)
  try {
    execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up'])
    for (const a of extraLoopback) execFileSync('ip', ['-n', name, 'addr', 'add', a, 'dev', 'lo'])
  } catch (err) {
    destroyNetns(name)
    throw err
  }
  return name
}

// Pids and the kill-then-delete step are the ingest benchmark's (one implementation for both).
export { netnsPids }

/** Kills what still runs inside the namespace (TERM, then KILL), then deletes it. Never throws. */
export function destroyNetns(name: string): void {
  // give daemons a moment to exit cleanly
  killAndDeleteNetns(name, 500)
  live.delete(name)
}

/** Spawns `cmd args` inside the namespace. */
export function spawnInNetns(name: string, cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  return spawn('ip', ['netns', 'exec', name, cmd, ...args], opts)
}

/** Runs `cmd args` inside the namespace and returns its stdout (throws on failure or timeout). */
export function execInNetns(name: string, cmd: string, args: string[], timeoutMs = 10_000): string {
  return execFileSync('ip', ['netns', 'exec', name, cmd, ...args], { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] })
}
