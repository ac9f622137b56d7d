/**
 * Kernel route programming: install then remove N routes with src/netlink's batching, and the same
 * routes with `ip -batch` (iproute2: one request per route, each acknowledged), on the same kernel in
 * the same run, inside a fresh network namespace with a veth (plain routes) or two mplsip/fou
 * tunnels (MPLS-encapsulated ECMP routes). Prints both rates and their ratio (target: ours >= 0.9x).
 *
 *   npm run bench -- kernel-routes                 plain routes on this host's kernel (100k and 1M),
 *                                                   then MPLS routes (100k) in the project's VM
 *   BENCH_ROUTES=100000,1000000 BENCH_VM=0|1 BENCH_VM_ROUTES=100000 to change the sizes / skip the VM
 *
 * The process re-runs itself inside the namespace (`--inner`), since a netlink socket belongs to the
 * namespace of the process that opens it.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { NetlinkClient, RTPROT_GSI, type RouteSpec } from '../src/netlink/index.js'

const self = fileURLToPath(import.meta.url)
// Compiled: dist/bench/x.js; from source: bench/x.ts.
const repo = existsSync(resolve(dirname(self), '..', 'package.json')) ? resolve(dirname(self), '..') : resolve(dirname(self), '..', '..')
const TABLE = 100
/** Node arguments to run this file again (a loader when it runs from source under tsx). */
const nodeSelf = [...(self.endsWith('.ts') ? ['--import', 'tsx'] : []), '--expose-gc', self]

interface Result { kind: 'plain' | 'mpls'; routes: number; oursAdd: number; oursDel: number; ipAdd: number; ipDel: number; errors: number }

const sh = (args: string[]): void => { execFileSync('ip', args, { stdio: 'inherit' }) }
const dst = (i: number): string => `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`

function setup(kind: 'plain' | 'mpls'): void {
  sh(['link', 'set', 'lo', 'up'])
  if (kind === 'plain') {
    sh(['link', 'add', 'bv0', 'type', 'veth', 'peer', 'name', 'bv1'])
    sh(['link', 'set', 'bv0', 'up']); sh(['link', 'set', 'bv1', 'up'])
    sh(['addr', 'add', '10.9.0.1/24', 'dev', 'bv0'])
  } else {
    for (const [n, r] of [['bt1', '192.0.2.11'], ['bt2', '192.0.2.12']] as const) {
      sh(['link', 'add', n, 'type', 'ipip', 'mode', 'mplsip', 'remote', r, 'local', '192.0.2.1', 'encap', 'fou', 'encap-sport', 'auto', 'encap-dport', '6635'])
      sh(['link', 'set', n, 'up'])
    }
  }
}

function route(kind: 'plain' | 'mpls', i: number): RouteSpec {
  return kind === 'plain'
    ? { dst: dst(i), table: TABLE, nexthops: [{ dev: 'bv0', gateway: '10.9.0.2' }] }
    : { dst: dst(i), table: TABLE, nexthops: [{ dev: 'bt1', labels: [1000 + (i & 4095)] }, { dev: 'bt2', labels: [6000 + (i & 4095)] }] }
}

function ipLine(kind: 'plain' | 'mpls', op: 'add' | 'del', i: number): string {
  const head = `route ${op} ${dst(i)} table ${TABLE} proto ${RTPROT_GSI}`
  if (op === 'del') return head
  return kind === 'plain'
    ? `${head} via 10.9.0.2 dev bv0`
    : `${head} nexthop encap mpls ${1000 + (i & 4095)} dev bt1 nexthop encap mpls ${6000 + (i & 4095)} dev bt2`
}

const countRoutes = (): number => execFileSync('ip', ['route', 'show', 'table', String(TABLE)], { encoding: 'utf8', maxBuffer: 1 << 30 }).split('\n').filter(l => l && !l.startsWith('\t')).length

async function inner(kind: 'plain' | 'mpls', n: number): Promise<Result> {
  setup(kind)
  const nl = new NetlinkClient()
  await nl.refreshLinks()
  const adds = Array.from({ length: n }, (_, i) => ({ op: 'add' as const, route: route(kind, i) }))
  const dels = adds.map(a => ({ op: 'delete' as const, route: { dst: a.route.dst, table: TABLE } }))
  const dir = mkdtempSync(join(tmpdir(), 'gsi-bench-'))
  const addFile = join(dir, 'add'), delFile = join(dir, 'del')
  writeFileSync(addFile, Array.from({ length: n }, (_, i) => ipLine(kind, 'add', i)).join('\n') + '\n')
  writeFileSync(delFile, Array.from({ length: n }, (_, i) => ipLine(kind, 'del', i)).join('\n') + '\n')
  const timed = async (fn: () => Promise<number> | number): Promise<[number, number]> => {
    (globalThis as { gc?: () => void }).gc?.()
    const t0 = process.hrtime.bigint()
    const errs = await fn()
    return [Number(process.hrtime.bigint() - t0) / 1e9, errs]
  }
  const [oursAdd, e1] = await timed(async () => (await nl.applyRoutes(adds)).filter(Boolean).length)
  const afterOurs = countRoutes()
  const [oursDel, e2] = await timed(async () => (await nl.applyRoutes(dels)).filter(Boolean).length)
  const ipBatch = (file: string): number => {
    const r = spawnSync('ip', ['-batch', file], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`ip -batch ${file} failed: ${r.stderr.slice(0, 500)}`)
    return 0
  }
  const [ipAdd] = await timed(() => ipBatch(addFile))
  const afterIp = countRoutes()
  const [ipDel] = await timed(() => ipBatch(delFile))
  nl.close()
  rmSync(dir, { recursive: true, force: true })
  if (afterOurs !== n || afterIp !== n) throw new Error(`route counts after install: ours ${afterOurs}, ip ${afterIp}, expected ${n}`)
  return { kind, routes: n, oursAdd, oursDel, ipAdd, ipDel, errors: e1 + e2 }
}

/** Runs the inner benchmark in a fresh namespace; returns its result. */
function inNetns(kind: 'plain' | 'mpls', n: number): Result {
  const ns = `gsibench${process.pid}`
  execFileSync('ip', ['netns', 'add', ns])
  try {
    const out = execFileSync('ip', ['netns', 'exec', ns, process.execPath, ...nodeSelf, '--inner', kind, String(n)], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24,
    })
    const line = out.trim().split('\n').pop() ?? ''
    return JSON.parse(line) as Result
  } finally {
    execFileSync('ip', ['netns', 'del', ns])
  }
}

const rate = (n: number, s: number): string => `${Math.round(n / s).toLocaleString('en-US')}/s (${s.toFixed(2)} s)`

function table(rows: (Result & { where: string })[]): string {
  const lines = [
    '| Kernel | Routes | Kind | ours add | ip -batch add | add ratio | ours delete | ip -batch delete | delete ratio |',
    '|---|---|---|---|---|---|---|---|---|',
  ]
  for (const r of rows) {
    lines.push(`| ${r.where} | ${r.routes.toLocaleString('en-US')} | ${r.kind === 'plain' ? 'via gateway' : 'MPLS encap, 2-way ECMP'} | ${rate(r.routes, r.oursAdd)} | ${rate(r.routes, r.ipAdd)} | ${(r.ipAdd / r.oursAdd).toFixed(2)}x | ${rate(r.routes, r.oursDel)} | ${rate(r.routes, r.ipDel)} | ${(r.ipDel / r.oursDel).toFixed(2)}x |`)
  }
  return lines.join('\n')
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--inner') {
    const r = await inner(argv[1] === 'mpls' ? 'mpls' : 'plain', Number(argv[2]))
    process.stdout.write(`${JSON.stringify(r)}\n`)
    return
  }
  if (argv[0] === '--vm-mpls') {
    // Inside the VM: the MPLS benchmark in a namespace, result as the last stdout line.
    process.stdout.write(`${JSON.stringify(inNetns('mpls', Number(argv[1])))}\n`)
    return
  }
  const sizes = (process.env.BENCH_ROUTES ?? '100000,1000000').split(',').map(Number).filter(n => n > 0)
  const rows: (Result & { where: string })[] = []
  const hostKernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim()
  for (const n of sizes) {
    const r = inNetns('plain', n)
    rows.push({ ...r, where: `host ${hostKernel}` })
    console.error(`plain ${n}: ours ${r.oursAdd.toFixed(2)} s / ip ${r.ipAdd.toFixed(2)} s to add`)
  }
  if (process.env.BENCH_VM !== '0') {
    const n = Number(process.env.BENCH_VM_ROUTES ?? 100000)
    const vm = spawnSync(process.execPath, [join(repo, 'scripts/vm/run.mjs'), '--timeout', '1500', '--', process.execPath, ...nodeSelf, '--vm-mpls', String(n)], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], cwd: repo,
    })
    if (vm.status !== 0) throw new Error(`MPLS benchmark in the VM failed (exit ${vm.status}): ${vm.stdout.slice(-500)}`)
    const r = JSON.parse(vm.stdout.trim().split('\n').pop() ?? '') as Result
    rows.push({ ...r, where: 'VM (Debian 6.1, qemu TCG)' })
  }
  console.log(table(rows))
  console.log('\nRatio = our rate / ip -batch rate (target >= 0.9). Each row: fresh namespace, same routes, ours first, then ip -batch, table empty before each.')
}

await main(process.argv.slice(2))
