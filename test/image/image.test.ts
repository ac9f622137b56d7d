/**
 * The container image, built on this machine and checked (no Docker engine here).
 *
 * scripts/image/build.sh builds the Dockerfile with buildah on the local bases (Debian bookworm from
 * mmdebstrap, Node 22 from the npm registry); it is cached by its inputs, so a rerun with nothing
 * changed costs seconds. A working container of the image (`buildah from` + `buildah mount`) gives its
 * root filesystem, and scripts/image/run-in-rootfs.sh runs the image's own programs in it the way
 * deploy/ runs them: root filesystem read-only, the image's environment only, and
 *
 * - the DaemonSet's container (deploy/daemonset.yaml: root, privileged): `gsi-routerd --version`, and
 *   test/daemon/control-plane.test.ts whole with the image's gsi-routerd and gsictl against its real
 *   peers (gobgpd, two BIRD) in the test's namespaces (test/daemon/daemons.ts, GSI_TEST_IMAGE_ROOTFS);
 * - the controller's (deploy/controller.yaml: uid/gid 1000, capabilities drop ALL, no privilege
 *   escalation): `gsi-controller --help`, then the controller against the EC2 and Kubernetes emulators
 *   (run from the repository on loopback) until a TransitGateway is Ready, its process checked in
 *   /proc for uid, capabilities and no_new_privs.
 *
 * And the runtime layer holds no compiler, no Python, no dev dependency, no emulator, benchmark, test
 * or lab code, and stays under a size bound (its size is printed as a comment).
 */
import t from 'tap'
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { KubeConnection, makeKubeConfig, ResourceClient, NODES, type KubeObject } from '../../controller/k8s/index.js'
import { TGW_REF, GSI_REF } from '../../controller/controller.js'
import { API_VERSION } from '../../controller/types.js'
import { waitFor } from '../controller/harness.js'

const ROOT = join(import.meta.dirname, '..', '..')
const RUN_IN_ROOTFS = join(ROOT, 'scripts/image/run-in-rootfs.sh')
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
/** The runtime image's budget: the local base (Debian minbase + iproute2 nftables kmod + Node 22) is
 * about 270 MB, the application about 120 MB; the build base alone is over 600 MB, so a compiler or
 * the dev dependencies leaking in would cross it. */
const MAX_ROOTFS_BYTES = 450 * 1024 * 1024

t.setTimeout(30 * 60_000) // a first build on a clean machine makes the Debian bases too (minutes)

const run = promisify(execFile)
const buildah = async (args: string[]): Promise<string> => (await run('sh', [join(ROOT, 'scripts/image/buildah.sh'), ...args], { cwd: ROOT, maxBuffer: 64 << 20 })).stdout.trim()

/** The environment without tap's own (its loaders in NODE_OPTIONS would make each child a tap run). */
function cleanEnv(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!/^(TAP|_TAPJS|NODE_OPTIONS$)/.test(k)) e[k] = v
  return e
}

interface ImageConfig { Env: string[]; Entrypoint?: string[]; WorkingDir?: string }
let image = ''
let container = ''
let rootfs = ''
let config: ImageConfig = { Env: [] }

t.before(async () => {
  // GSI_TEST_IMAGE names an image already in the store to check instead (one built elsewhere and
  // pulled in, or a deliberately broken one to see the checks fail).
  image = process.env.GSI_TEST_IMAGE ?? ''
  if (image === '') {
    const built = await run('bash', ['scripts/image/build.sh'], { cwd: ROOT, env: cleanEnv(), maxBuffer: 256 << 20 }).catch((e: { stdout?: string; stderr?: string }) => {
      throw new Error(`scripts/image/build.sh failed:\n${String(e.stdout ?? '').slice(-4000)}\n${String(e.stderr ?? '').slice(-4000)}`)
    })
    t.comment(built.stdout.split('\n').filter((l) => /image build took|base images|up to date|^REPOSITORY|^localhost\/gsi-router /.test(l)).join('\n'))
    image = built.stdout.trim().split('\n').at(-1)!
  }
  const inspected = JSON.parse(await buildah(['inspect', '--type', 'image', image])) as { OCIv1: { config: ImageConfig } }
  config = inspected.OCIv1.config
  container = await buildah(['from', '--pull=never', '--name', `gsi-image-test-${process.pid}`, image])
  rootfs = await buildah(['mount', container])
})
t.teardown(async () => {
  if (container === '') return
  await buildah(['umount', container]).catch(() => undefined)
  await buildah(['rm', container]).catch(() => undefined)
})

interface RunOptions { readonly user?: string; readonly workdir?: string; readonly env?: Record<string, string> }

/** The command line that runs `cmd` in the image, with the image's environment (plus `env`) only. */
function inImage(cmd: string[], o: RunOptions = {}): string[] {
  return [RUN_IN_ROOTFS, ...(o.user !== undefined ? ['--user', o.user] : []), ...(o.workdir !== undefined ? ['--workdir', o.workdir] : []),
    rootfs, '/usr/bin/env', '-i', ...config.Env, ...Object.entries(o.env ?? {}).map(([k, v]) => `${k}=${v}`), ...cmd]
}

function runInImage(cmd: string[], o: RunOptions = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('sh', inImage(cmd, o), { encoding: 'utf8', timeout: 60_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

const CONTROLLER: RunOptions = { user: '1000:1000', workdir: '/app' } // deploy/controller.yaml

t.test('the image configuration the manifests rely on, and its size', async (t) => {
  t.ok(config.Env.includes('NODE_ENV=production'), 'NODE_ENV=production')
  t.match(config.Env.find((e) => e.startsWith('PATH=')), /(^|[=:])\/usr\/local\/bin(:|$)/, 'PATH holds /usr/local/bin (the DaemonSet runs `gsi-routerd` by name)')
  t.equal(config.WorkingDir, '/app', 'working directory /app (the Deployment runs dist/src/bin/gsi-controller.js relative to it)')
  t.same(config.Entrypoint, ['node'])
  const du = spawnSync('du', ['-sb', '--one-file-system', rootfs], { encoding: 'utf8' })
  const bytes = Number(du.stdout.split('\t')[0])
  const reported = await buildah(['images', '--format', '{{.Size}}', image])
  t.comment(`image ${image}: ${reported} (buildah images), root filesystem ${(bytes / 1e6).toFixed(0)} MB, of which /app ${(Number(spawnSync('du', ['-sb', join(rootfs, 'app')], { encoding: 'utf8' }).stdout.split('\t')[0]) / 1e6).toFixed(0)} MB`)
  t.ok(bytes > 50e6 && bytes < MAX_ROOTFS_BYTES, `root filesystem ${bytes} bytes, under ${MAX_ROOTFS_BYTES}`)
})

t.test('the programs run as deploy/ starts them', async (t) => {
  const version = runInImage(['gsi-routerd', '--version'])
  t.equal(version.status, 0, `gsi-routerd --version as root: exit 0 ${version.stderr}`)
  t.equal(version.stdout.trim(), `gsi-routerd ${PKG.version}`, 'the package version')
  const bad = runInImage(['gsi-routerd', '--no-such-flag'])
  t.equal(bad.status, 2, 'a wrong flag exits 2 (the real program answered)')
  t.match(bad.stderr, /--no-such-flag/, 'and names the flag')
  for (const cmd of [['node', 'dist/src/bin/gsi-controller.js', '--help'], ['node', 'dist/bundle/gsi-controller.mjs', '--help'], ['gsi-controller', '--help']]) {
    const help = runInImage(cmd, CONTROLLER)
    t.equal(help.status, 0, `${cmd.join(' ')} as uid 1000 on a read-only root: exit 0 ${help.stderr}`)
    t.match(help.stdout, /^usage: gsi-controller/, 'its usage')
    t.equal(help.stderr, '', 'nothing on stderr (no warning)')
  }
  const ctl = runInImage(['gsictl', '--help'])
  t.equal(ctl.status, 0, 'gsictl --help: exit 0')
  t.match(ctl.stdout, /^usage: gsictl/, 'its usage')
})

t.test('the native modules load in the image (built there for its Node)', async (t) => {
  const script = "const r = require('node:module').createRequire('/app/package.json'); r('raw-socket'); r('sockopt'); " +
    "const m = { exports: {} }; process.dlopen(m, '/app/native/build/Release/gsi_native.node'); console.log(process.versions.node, Object.keys(m.exports).length)"
  const r = runInImage(['node', '-e', script], CONTROLLER)
  t.equal(r.status, 0, `raw-socket, sockopt and gsi_native load ${r.stderr}`)
  t.match(r.stdout, /^22\.\d+\.\d+ [1-9]\d*/, 'on Node 22, the addon exports functions')
})

t.test('the runtime layer: no compiler, no dev dependency, no emulator, benchmark, test or lab', async (t) => {
  for (const tool of ['gcc', 'g++', 'cc', 'c++', 'make', 'python3', 'ld']) {
    t.notOk(['usr/bin', 'usr/local/bin', 'bin'].some((d) => existsSync(join(rootfs, d, tool))), `no ${tool}`)
  }
  t.notOk(existsSync(join(rootfs, 'usr/local/include/node')), 'no Node headers')
  // Dev-only packages as the lockfile marks them (a type package a production dependency declares,
  // as @kubernetes/client-node declares @types/node, is production and stays).
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> }
  const devOnly = Object.entries(lock.packages).filter(([p, v]) => v.dev === true && p.startsWith('node_modules/')).map(([p]) => p)
  const tools = ['typescript', 'tap', 'tsx', 'eslint', 'fast-check']
  t.ok(devOnly.length > 100 && tools.every((d) => devOnly.includes(`node_modules/${d}`)), `the lockfile names ${devOnly.length} dev-only packages, ${tools.join(', ')} among them`)
  const leaked = devOnly.filter((p) => existsSync(join(rootfs, 'app', p)))
  t.same(leaked, [], 'no dev-only package in /app/node_modules (typescript, tap, tsx, eslint, fast-check and what they pull in)')
  for (const gone of ['dist/controller/emulator', 'dist/bench', 'dist/test', 'dist/src/bin/gsi-lab.js', 'dist/bundle/gsi-lab.mjs', 'src', 'bench', 'test', 'controller']) {
    t.notOk(existsSync(join(rootfs, 'app', gone)), `no /app/${gone}`)
  }
  // (packages under node_modules ship their own type tests; ours are what must not be there)
  const ts = spawnSync('find', [join(rootfs, 'app'), '-path', join(rootfs, 'app/node_modules'), '-prune', '-o', '-name', '*.ts', '!', '-name', '*.d.ts', '-print', '-quit'], { encoding: 'utf8' })
  t.equal(ts.stdout, '', 'none of our TypeScript sources')
  for (const p of ['app/dist/src/bin/gsi-routerd.js', 'app/dist/src/bin/gsi-controller.js', 'app/dist/src/bin/gsictl.js', 'app/native/build/Release/gsi_native.node',
    'app/dist/bundle/gsi-routerd.mjs', 'app/dist/bundle/gsi-controller.mjs', 'app/dist/bundle/gsictl.mjs']) {
    t.ok(existsSync(join(rootfs, p)), `/${p} is there`)
  }
  // the names on PATH are the bundles (scripts/bundle.mjs --prod)
  for (const name of ['gsi-routerd', 'gsi-controller', 'gsictl']) {
    t.equal(readlinkSync(join(rootfs, 'usr/local/bin', name)), `/app/dist/bundle/${name}.mjs`, `/usr/local/bin/${name} -> the bundle`)
  }
  // Readable by the controller's uid 1000 (files copied in keep root's ownership): no file under /app
  // lacks the other-read bit.
  const unreadable = spawnSync('find', [join(rootfs, 'app'), '!', '-perm', '-o=r', '-print', '-quit'], { encoding: 'utf8' })
  t.equal(unreadable.stdout, '', 'every file under /app readable by others')
  t.equal(statSync(join(rootfs, 'home/node')).uid, 1000, 'the node user (uid 1000) the Deployment runs as exists with its home')
})

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()))
  const port = (s.address() as AddressInfo).port
  await new Promise((r) => s.close(r))
  return port
}

function lineMatching(p: ChildProcess, re: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: p.stdout! })
    rl.on('line', (line) => { const m = re.exec(line); if (m) resolve(m) })
    rl.on('close', () => reject(new Error(`process ended before printing ${re}`)))
  })
}

async function stop(p: ChildProcess): Promise<number | null> {
  if (p.exitCode !== null || p.signalCode !== null) return p.exitCode
  p.kill('SIGTERM')
  const timer = setTimeout(() => p.kill('SIGKILL'), 5000)
  const [code] = await once(p, 'exit') as [number | null]
  clearTimeout(timer)
  return code
}

/** Fields of /proc/PID/status. */
function procStatus(pid: number): Map<string, string> {
  return new Map(readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').map((l) => l.split(':\t') as [string, string]).filter((kv) => kv.length === 2))
}

t.test('the controller runs under the Deployment\'s securityContext against the emulators', async (t) => {
  const procs: ChildProcess[] = []
  t.teardown(async () => { for (const p of procs.reverse()) await stop(p) })
  const emulator = (args: string[]): ChildProcess => {
    const p = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    procs.push(p)
    return p
  }
  const kube = emulator(['controller/emulator/kube/main.ts', '--port', '0'])
  const ec2 = emulator(['controller/emulator/ec2/main.ts', '--port', '0', '--available-delay-ms', '50', '--deleting-delay-ms', '20'])
  const [kubeUrl, ec2Url] = (await Promise.all([lineMatching(kube, /listening on (http:\S+)/), lineMatching(ec2, /listening on (http:\S+)/)])).map((m) => m[1]!)
  const metricsPort = await freePort()
  const ctl = spawn('sh', inImage(['node', 'dist/src/bin/gsi-controller.js', '--server', kubeUrl!, '--aws-endpoint', ec2Url!, '--lease-namespace', 'default',
    '--identity', 'image-1', '--metrics-port', String(metricsPort), '--metrics-host', '127.0.0.1', '--log-level', 'warn'],
  { ...CONTROLLER, env: { AWS_ACCESS_KEY_ID: 'AKIDIMAGE', AWS_SECRET_ACCESS_KEY: 'image', AWS_EC2_METADATA_DISABLED: 'true', AWS_REGION: 'us-east-1' } }),
  { stdio: ['ignore', 'pipe', 'pipe'] })
  procs.push(ctl)
  let out = ''
  ctl.stdout!.on('data', (d) => { out += String(d) })
  ctl.stderr!.on('data', (d) => { out += String(d) })

  const conn = new KubeConnection(makeKubeConfig({ server: kubeUrl! }))
  await new ResourceClient<KubeObject>(conn, NODES).create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'image-node-1', labels: { 'core.juniper.net/crpd-node': '' } }, status: { addresses: [{ type: 'InternalIP', address: '10.0.1.77' }] } } as KubeObject)
  await new ResourceClient<KubeObject>(conn, GSI_REF).create({ apiVersion: API_VERSION, kind: 'GatewayServiceInstance', metadata: { name: 'gsi', namespace: 'default' }, spec: { awsRegion: 'us-east-1', vpcID: 'vpc-0a1b2c3d4e5f60001', asn: 65010 } } as KubeObject)
  const tgws = new ResourceClient<KubeObject & { status?: { conditions?: { type: string; status: string }[]; transitGatewayID?: string } }>(conn, TGW_REF)
  await tgws.create({ apiVersion: API_VERSION, kind: 'TransitGateway', metadata: { name: 'tgw', namespace: 'default' }, spec: { gatewayServiceInstance: 'gsi', transitGatewayCidrBlock: '100.64.0.0/24', exposed: { cidrs: ['10.100.0.0/16'] } } } as KubeObject)
  const ready = await waitFor('TransitGateway Ready', async () => {
    const x = await tgws.get('default', 'tgw')
    return x?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? x : undefined
  }, 120_000).catch((e: unknown) => { t.comment(out); throw e })
  t.match(ready.status?.transitGatewayID, /^tgw-/, 'the controller from the image made the TransitGateway Ready')
  t.equal((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status, 200, '/readyz')

  // run-in-rootfs.sh execs all the way, so the child is the controller's node process itself
  const status = procStatus(ctl.pid!)
  t.equal(readlinkSync(`/proc/${ctl.pid}/root`), rootfs, 'it runs inside the image root filesystem')
  t.match(status.get('Uid'), /^1000\s+1000\s+1000\s+1000$/, 'as uid 1000 (runAsUser)')
  t.match(status.get('Gid'), /^1000\s+1000\s+1000\s+1000$/, 'gid 1000 (runAsGroup)')
  t.equal(status.get('CapEff'), '0000000000000000', 'no effective capability (drop ALL)')
  t.equal(status.get('CapPrm'), '0000000000000000', 'none permitted')
  t.equal(status.get('NoNewPrivs'), '1', 'no privilege escalation: setuid files could not help it')
  const mountinfo = readFileSync(`/proc/${ctl.pid}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === '/')
  t.match(mountinfo, /\sro[,\s]/, 'its root filesystem is read-only')
  t.equal(await stop(ctl), 0, 'SIGTERM: clean exit')
  t.notMatch(out, /EROFS|EACCES|read-only file system/i, 'nothing tried to write the root filesystem or failed on permissions')
})

t.test('gsi-routerd and gsictl from the image pass the daemon control-plane test', async (t) => {
  // The whole of test/daemon/control-plane.test.ts (its peers, its namespaces, its assertions) with
  // the image's programs in place of the repository's: test/daemon/daemons.ts reads these two.
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/daemon/control-plane.test.ts'], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...cleanEnv(), GSI_TEST_IMAGE_ROOTFS: rootfs, GSI_TEST_IMAGE_ENV: JSON.stringify(config.Env) },
  })
  let out = ''
  child.stdout!.on('data', (d) => { out += String(d) })
  child.stderr!.on('data', (d) => { out += String(d) })
  // Which gsi-routerd processes ran inside the image's root filesystem (seen while the test runs).
  const seen = new Set<number>()
  const watch = setInterval(() => {
    for (const e of readdirSync('/proc')) {
      if (!/^\d+$/.test(e)) continue
      try {
        if (readlinkSync(`/proc/${e}/root`) === rootfs && readFileSync(`/proc/${e}/cmdline`, 'utf8').includes('gsi-routerd')) seen.add(Number(e))
      } catch { /* gone meanwhile */ }
    }
  }, 500)
  const [code] = await once(child, 'exit') as [number | null]
  clearInterval(watch)
  const counts = /^# \{ total: (\d+), pass: (\d+)(?:, (\w+): (\d+))*.*\}$/m.exec(out)
  if (code !== 0) t.comment(out.slice(-6000))
  t.equal(code, 0, 'the control-plane test passed with the image\'s daemon')
  t.ok(counts !== null && Number(counts[1]) >= 50 && counts[1] === counts[2], `every assertion passed: ${counts?.[0] ?? 'no summary'}`)
  t.ok(seen.size >= 2, `both gateway instances ran from the image's root filesystem (${seen.size} gsi-routerd processes seen there)`)
})
