/**
 * Network namespaces for kernel tests: unique names (several test files run at once), `lo` up,
 * veth pairs between namespaces, commands and `ip` inside one, and cleanup that always runs: through
 * tap's teardown, and at process exit for anything a crashed test left behind.
 */
import { execFile, execFileSync } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)
let counter = 0
const alive = new Set<string>()

process.once('exit', () => {
  for (const ns of alive) {
    try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }) } catch { /* already gone */ }
  }
})

/** A name unique to this process and call: `${prefix}${pid36}${n}`, at most 15 bytes (an interface
 * name limit) when `prefix` is at most 6. */
export function uniqueName(prefix: string): string {
  return `${prefix}${process.pid.toString(36)}${(counter++).toString(36)}`.slice(0, 15)
}

/** Something that accepts a teardown callback (tap's `t`). */
export interface Teardown { teardown(fn: () => unknown): void }

export interface CommandResult { stdout: string; stderr: string }

export class Netns {
  constructor(readonly name: string) {}

  /** Runs argv inside the namespace; rejects with stderr on a non-zero exit. */
  async exec(argv: readonly string[], opts: { timeoutMs?: number } = {}): Promise<CommandResult> {
    try {
      const { stdout, stderr } = await run('ip', ['netns', 'exec', this.name, ...argv], {
        timeout: opts.timeoutMs ?? 60_000, maxBuffer: 256 * 1024 * 1024,
      })
      return { stdout, stderr }
    } catch (e) {
      const err = e as Error & { stderr?: string; code?: number | string }
      throw new Error(`in netns ${this.name}: ${argv.join(' ')} failed (${String(err.code)}): ${(err.stderr ?? err.message).trim()}`)
    }
  }

  /** `ip -n <ns> ...args`; returns stdout. */
  async ip(...args: string[]): Promise<string> {
    try {
      const { stdout } = await run('ip', ['-n', this.name, ...args], { timeout: 60_000, maxBuffer: 256 * 1024 * 1024 })
      return stdout
    } catch (e) {
      const err = e as Error & { stderr?: string }
      throw new Error(`ip -n ${this.name} ${args.join(' ')}: ${(err.stderr ?? err.message).trim()}`)
    }
  }

  /** A shell script inside the namespace. */
  sh(script: string): Promise<CommandResult> {
    return this.exec(['sh', '-ec', script])
  }

  /** Writes a sysctl inside the namespace (e.g. 'net.ipv4.ip_forward', 1). */
  async sysctl(key: string, value: string | number): Promise<void> {
    await this.exec(['sysctl', '-qw', `${key}=${value}`])
  }

  async destroy(): Promise<void> {
    alive.delete(this.name)
    try { await run('ip', ['netns', 'del', this.name]) } catch { /* already gone */ }
  }
}

/** Creates a namespace with `lo` up; deleted at `t`'s teardown (and at exit in any case). */
export async function createNetns(t: Teardown | undefined, prefix = 'gsi'): Promise<Netns> {
  const name = uniqueName(prefix)
  await run('ip', ['netns', 'add', name])
  alive.add(name)
  const ns = new Netns(name)
  t?.teardown(() => ns.destroy())
  await ns.ip('link', 'set', 'lo', 'up')
  return ns
}

/** A veth pair between two namespaces (or one namespace twice), both ends up, optional addresses. */
export async function vethPair(
  a: Netns, aIf: string, b: Netns, bIf: string,
  addrs: { a?: string; b?: string } = {},
): Promise<void> {
  await a.ip('link', 'add', aIf, 'type', 'veth', 'peer', 'name', bIf, 'netns', b.name)
  if (addrs.a) await a.ip('addr', 'add', addrs.a, 'dev', aIf)
  if (addrs.b) await b.ip('addr', 'add', addrs.b, 'dev', bIf)
  await a.ip('link', 'set', aIf, 'up')
  await b.ip('link', 'set', bIf, 'up')
}

/** Whether this kernel can create a link of `kind` (probed in a throwaway namespace). */
export async function kernelSupports(kind: 'gre' | 'ipip' | 'vrf' | 'dummy' | 'veth' | 'mpls' | 'fou'): Promise<boolean> {
  const ns = await createNetns(undefined, 'prb')
  try {
    switch (kind) {
      case 'mpls': await ns.exec(['sh', '-c', 'test -e /proc/sys/net/mpls/platform_labels']); break
      case 'fou': await ns.ip('fou', 'add', 'port', '5555', 'ipproto', '4'); break
      case 'vrf': await ns.ip('link', 'add', 'p', 'type', 'vrf', 'table', '10'); break
      case 'veth': await ns.ip('link', 'add', 'p', 'type', 'veth', 'peer', 'name', 'q'); break
      case 'gre': case 'ipip': await ns.ip('link', 'add', 'p', 'type', kind, 'remote', '192.0.2.1', 'local', '192.0.2.2'); break
      default: await ns.ip('link', 'add', 'p', 'type', kind)
    }
    return true
  } catch {
    return false
  } finally {
    await ns.destroy()
  }
}
