/**
 * gsi-routerd processes for the daemon tests: a config file per node of a Topology (dataplane none:
 * the inside address sits on the veth standing for the GRE link), the daemon started inside the
 * node's namespace from source (tsx), gsictl run against its API socket.
 *
 * With GSI_TEST_IMAGE_ROOTFS set (test/image/image.test.ts sets it to the built image's mounted root
 * filesystem, and GSI_TEST_IMAGE_ENV to the image's environment as a JSON array of NAME=VALUE), the
 * daemon and gsictl are the image's own programs instead (`gsi-routerd`, `gsictl` on the image's
 * PATH), run by scripts/image/run-in-rootfs.sh inside the same namespace as root with the root
 * filesystem read-only, as the DaemonSet runs them; /tmp, where each node's directory (config file,
 * API socket) lives, is the one writable mount, standing in for the pod's volumes.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { stringify } from 'yaml'
import type { NodeNet } from './topology.js'

export const ROOT = resolve(new URL('../..', import.meta.url).pathname)
const ROUTERD = join(ROOT, 'src/bin/gsi-routerd.ts')
const GSICTL = join(ROOT, 'src/bin/gsictl.ts')
const IMAGE_ROOTFS = process.env.GSI_TEST_IMAGE_ROOTFS
const IMAGE_ENV = JSON.parse(process.env.GSI_TEST_IMAGE_ENV ?? '[]') as string[]
const IMAGE_SHARED_DIR = '/tmp'

/** The command line that runs `program` (a name on the image's PATH) from the image, with the image's
 * environment plus `env` only, as a container would. */
function fromImage(rootfs: string, program: string, args: string[], env: Record<string, string> = {}): [string, string[]] {
  return ['sh', [join(ROOT, 'scripts/image/run-in-rootfs.sh'), '--bind', IMAGE_SHARED_DIR, rootfs,
    '/usr/bin/env', '-i', ...IMAGE_ENV, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), program, ...args]]
}

export interface NodeConfigOptions {
  readonly gsiAsn?: number
  readonly tgwAsn?: number
  readonly cn2Asn?: number
  readonly routeTargets?: readonly string[]
  readonly cidrs?: readonly string[]
  readonly maxPrefixesAdvertised?: number
  readonly advertiseMoreSpecifics?: boolean
  readonly holdTime?: number
  readonly restartTime?: number
  readonly staleRoutesTime?: number
  readonly dataplane?: 'none' | 'kernel'
  readonly extra?: Record<string, unknown>
}

/** The daemon's YAML config for one node (an object: tests change fields and write it again). */
export function nodeConfig(n: Pick<NodeNet, 'index' | 'address' | 'controlNode' | 'insideCidr'>, dir: string, o: NodeConfigOptions = {}): Record<string, unknown> {
  return {
    nodeName: `node${n.index}`,
    nodeAddress: n.address,
    dataplane: o.dataplane ?? 'none',
    exposed: { routeTargets: [...(o.routeTargets ?? ['target:64512:8000001'])], cidrs: [...(o.cidrs ?? ['10.244.0.0/16'])] },
    advertiseMoreSpecifics: o.advertiseMoreSpecifics ?? false,
    tgw: {
      localAsn: o.gsiAsn ?? 65001,
      holdTime: o.holdTime ?? 9,
      ...(o.maxPrefixesAdvertised !== undefined ? { maxPrefixesAdvertised: o.maxPrefixesAdvertised } : {}),
      connectPeers: [{ id: `cp-node${n.index}`, transitGatewayAddress: '192.0.2.100', insideCidrBlocks: [n.insideCidr], transitGatewayAsn: o.tgwAsn ?? 64512 }],
    },
    controlNodes: { peers: [{ address: n.controlNode, asn: o.cn2Asn ?? 64512 }], holdTime: o.holdTime ?? 9 },
    gracefulRestart: { restartTime: o.restartTime ?? 30, staleRoutesTime: o.staleRoutesTime ?? 30, deferralTime: 30 },
    http: { address: '127.0.0.1', port: 9478 },
    api: { socket: join(dir, 'api.sock') },
    log: { level: 'debug' },
    ...(o.extra ?? {}),
  }
}

export class RouterDaemon {
  readonly dir: string
  readonly configFile: string
  readonly logFile: string
  proc: ChildProcess | undefined

  constructor(readonly ns: string, public config: Record<string, unknown>, dir?: string) {
    this.dir = dir ?? mkdtempSync(join(IMAGE_ROOTFS !== undefined ? IMAGE_SHARED_DIR : tmpdir(), 'gsid-node-'))
    this.configFile = join(this.dir, 'gsi-routerd.yaml')
    this.logFile = join(this.dir, 'gsi-routerd.log')
    this.write(config)
  }

  get socket(): string {
    return (this.config.api as { socket: string }).socket
  }

  write(config: Record<string, unknown>): void {
    this.config = config
    writeFileSync(this.configFile, stringify(config))
  }

  /** Writes raw text as the config file (a bad config for reload tests). */
  writeRaw(text: string): void {
    writeFileSync(this.configFile, text)
  }

  start(extraArgs: string[] = []): void {
    this.startWith(['--config', this.configFile, ...extraArgs])
  }

  /** Starts the daemon with exactly these arguments and extra environment (Kubernetes mode: NODE_NAME,
   * --kubeconfig, --base; the config file then serves as the base). */
  startWith(args: string[], env: Record<string, string> = {}): void {
    const [cmd, argv] = IMAGE_ROOTFS !== undefined ? fromImage(IMAGE_ROOTFS, 'gsi-routerd', args, env) : [process.execPath, ['--import', 'tsx', ROUTERD, ...args]]
    this.proc = spawn('ip', ['netns', 'exec', this.ns, cmd, ...argv], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env },
    })
    const append = (d: Buffer): void => { writeFileSync(this.logFile, d, { flag: 'a' }) }
    this.proc.stdout?.on('data', append)
    this.proc.stderr?.on('data', append)
  }

  signal(sig: NodeJS.Signals): void {
    // `ip netns exec` execs the command (and run-in-rootfs.sh execs too), so the child is the daemon itself
    this.proc?.kill(sig)
  }

  async exited(timeoutMs = 15_000): Promise<number | null> {
    const p = this.proc
    if (p === undefined) return null
    if (p.exitCode !== null || p.signalCode !== null) return p.exitCode
    return new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`gsi-routerd in ${this.ns} did not exit within ${timeoutMs} ms`)), timeoutMs)
      p.once('exit', (code) => { clearTimeout(t); res(code) })
    })
  }

  async kill(): Promise<void> {
    const p = this.proc
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return
    const done = new Promise<void>((r) => p.once('exit', () => r()))
    p.kill('SIGKILL')
    await done
  }

  log(): string {
    try { return readFileSync(this.logFile, 'utf8') } catch { return '' }
  }

  /** Log records (pino JSON lines) whose msg matches. */
  records(match: RegExp): Record<string, unknown>[] {
    return this.log().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => match.test(String(r.msg)))
  }

  /** gsictl against this daemon's socket (stdout; throws with stderr on a non-zero exit). */
  gsictl(args: string[]): string {
    const full = ['--socket', this.socket, ...args]
    const [cmd, argv] = IMAGE_ROOTFS !== undefined ? fromImage(IMAGE_ROOTFS, 'gsictl', full) : [process.execPath, ['--import', 'tsx', GSICTL, ...full]]
    return execFileSync(cmd, argv, { cwd: ROOT, encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] })
  }

  gsictlJson<T = unknown>(args: string[]): T {
    return JSON.parse(this.gsictl([...args, '--json'])) as T
  }

  async destroy(): Promise<void> {
    await this.kill()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/**
 * Ends a test file's daemon: removed when the test passed; when it failed, killed with its log kept
 * and named in the test's output, to read what went wrong.
 */
export async function finishDaemon(t: { passing(): boolean; comment(...m: unknown[]): void }, d: RouterDaemon | undefined): Promise<void> {
  if (d === undefined) return
  if (t.passing()) await d.destroy()
  else {
    t.comment(`${d.ns} log kept in ${d.logFile}`)
    await d.kill()
  }
}
