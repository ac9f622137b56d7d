#!/usr/bin/env node
/**
 * The whole test suite, as `npm test` runs it: the type check and the linter over the whole tree (one
 * test each), the tap suite on this host, then the kernel suite (test/kernel/, inside the project's
 * qemu VM when this host's kernel lacks GRE, fou and MPLS), which runs beside the others, and last
 * the lab's own run (test/lab/), alone. Each suite
 * streams its output (the kernel suite's is held and printed in its turn); at the end
 * one line counts every test of every suite:
 * `N passed, N failed, N skipped`. Exit status is non-zero if any test failed, any suite crashed, or
 * a suite that should have run did not (a VM that does not boot is a failure, never a skip).
 * Everything runs on Node 22: started with an older Node, this script re-runs itself under the one
 * scripts/setup.sh installed (scripts/node22.mjs), and its children find that Node first in PATH.
 */
import { spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { ensureNode22 } from './node22.mjs'

await ensureNode22()

const suites = [
  { name: 'host', cmd: 'npx', args: ['tap', '--reporter=tap', '--exclude=test/kernel/**', '--exclude=test/lab/**', ...process.argv.slice(2)] },
]
// The whole-tree checks count as one test each (only on a full run, not when files are named).
if (process.argv.length <= 2) {
  suites.unshift(
    { name: 'typecheck', cmd: 'npx', args: ['tsc', '-p', 'tsconfig.json', '--noEmit'], single: true },
    { name: 'lint', cmd: 'npx', args: ['eslint', '.'], single: true },
  )
}
if (process.argv.length <= 2 && existsSync('test/kernel') && readdirSync('test/kernel').some(f => f.endsWith('.test.ts'))) {
  // The kernel suite keeps one core busy (the VM's single emulated CPU) while the host suites run on
  // the other: it starts first and its output is held and printed after theirs, so the log still
  // reads suite by suite. GSI_TEST_SERIAL=1 runs it after them instead.
  suites.push({ name: 'kernel', cmd: 'node', args: ['scripts/test-kernel.mjs'], background: process.env.GSI_TEST_SERIAL !== '1' })
  // The lab's own run (test/lab/lab.test.ts: a dozen programs, BGP timers and pings under loss
  // checks) comes last, alone, in a VM of its own with two vCPUs: as `npm run lab` runs it. Beside
  // the host suite, on the kernel VM's one emulated CPU, a CI machine starved it (its phases took 3 to
  // 10 times as long, and its zero-loss restart and flow checks failed); the kernel suite has built
  // and bundled what it runs.
  if (existsSync('test/lab/lab.test.ts')) {
    suites.push({ name: 'lab', cmd: 'node', args: ['scripts/test-kernel.mjs', 'test/lab/lab.test.ts'], env: { GSI_VM_CPUS: '2', GSI_KERNEL_BUILT: '1' } })
  }
}

/** Reads tap's closing `# { total: 12, pass: 11, fail: 1, skip: 0 }` (or a plain `N passed, N failed`). */
function parseCounts(text) {
  let counts = null
  for (const line of text.split('\n')) {
    const m = /^# \{ (.*) \}\s*$/.exec(line)
    if (m) {
      const c = { pass: 0, fail: 0, skip: 0, todo: 0 }
      for (const kv of m[1].split(',')) {
        const [k, v] = kv.split(':').map(s => s.trim())
        if (k in c) c[k] = Number(v)
      }
      counts = c
    }
    const p = /^(?:\w+: )?(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$/.exec(line)
    if (p) counts = { pass: Number(p[1]), fail: Number(p[2]), skip: Number(p[3] ?? 0), todo: 0 }
  }
  return counts
}

/** Runs a suite; its output streams, or is held (returned as `out`) when `hold`. */
function run(suite, hold = false) {
  return new Promise(resolve => {
    const t0 = Date.now()
    const child = spawn(suite.cmd, suite.args, { env: { ...process.env, ...suite.env }, stdio: ['ignore', 'pipe', hold ? 'pipe' : 'inherit'] })
    let out = ''
    child.stdout.on('data', d => { out += d; if (!hold) process.stdout.write(d) })
    if (hold) child.stderr.on('data', d => { out += d })
    child.on('close', code => resolve({ code, counts: parseCounts(out), out, seconds: (Date.now() - t0) / 1000 }))
  })
}

const background = new Map(suites.filter(s => s.background).map(s => [s, run(s, true)]))
let pass = 0, fail = 0, skip = 0, bad = false
for (const suite of suites) {
  process.stdout.write(`\n# ==== suite: ${suite.name}${suite.background ? ' (ran beside the others; its output held until now)' : ''} ====\n`)
  const held = background.get(suite)
  const { code, counts: parsed, out, seconds } = held !== undefined ? await held : await run(suite)
  if (held !== undefined) process.stdout.write(out)
  process.stdout.write(`# ${suite.name}: ${seconds.toFixed(0)} s\n`)
  const counts = suite.single ? { pass: code === 0 ? 1 : 0, fail: code === 0 ? 0 : 1, skip: 0, todo: 0 } : parsed
  if (suite.single) process.stdout.write(`# ${suite.name}: ${code === 0 ? 'ok' : 'FAILED'}\n`)
  if (!counts) {
    process.stdout.write(`# suite ${suite.name} reported no counts (exit ${code}): counted as one failure\n`)
    fail += 1
    bad = true
    continue
  }
  pass += counts.pass
  fail += counts.fail
  skip += counts.skip + counts.todo
  if (code !== 0 && counts.fail === 0) {
    process.stdout.write(`# suite ${suite.name} exited ${code} with no failed test: counted as one failure\n`)
    fail += 1
  }
  if (code !== 0) bad = true
}
process.stdout.write(`\n${pass} passed, ${fail} failed, ${skip} skipped\n`)
process.exitCode = bad || fail > 0 ? 1 : 0
