#!/usr/bin/env node
/**
 * A light TAP runner for the VM: runs each test file as `node --import tsx <file>` (tap's `t` prints
 * TAP 14 and its own `# { total, pass, fail }` line when run directly), two at a time, and prints
 * the files as tap's runner does: each as an indented subtest, streamed live for the oldest running
 * file and buffered for the others, then one `ok`/`not ok` per file and a closing
 * `# { total: N, pass: N, fail: N }` summing the files' counts (what scripts/run-tests.mjs reads).
 *
 * Why not tap's own runner: under qemu TCG every Node start costs seconds, and the tap CLI with its
 * TypeScript loader (the whole TypeScript compiler, in every test process) added minutes per run.
 * A file that exits non-zero or prints no count line counts as one failure.
 *
 *   node scripts/vm/tap-lite.mjs [--jobs N] file.test.ts...
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'

const args = process.argv.slice(2)
let jobs = 2
if (args[0] === '--jobs') { jobs = Number(args[1]); args.splice(0, 2) }
const files = args
// tap's runner hands its configured per-file timeout (package.json "tap".timeout, seconds) to each
// test process as TAP_TIMEOUT; a file run directly would otherwise get tap's default of 30 s.
let tapTimeout = '300'
try { tapTimeout = String(JSON.parse(readFileSync('package.json', 'utf8')).tap?.timeout ?? tapTimeout) } catch { /* keep the default */ }
const childEnv = { ...process.env, TAP_TIMEOUT: process.env.TAP_TIMEOUT ?? tapTimeout }
const started = Date.now()

/** Parses a direct tap run's closing `# { total: 5, pass: 4, fail: 1, skip: 0 }`. */
function counts(text) {
  let c = null
  for (const line of text.split('\n')) {
    const m = /^# \{ (.*) \}\s*$/.exec(line)
    if (!m) continue
    c = { total: 0, pass: 0, fail: 0, skip: 0, todo: 0 }
    for (const kv of m[1].split(',')) {
      const [k, v] = kv.split(':').map(s => s.trim())
      if (k in c) c[k] = Number(v)
    }
  }
  return c
}

const slots = files.map(() => ({ out: '', done: false, code: null, flushed: 0, headerDone: false }))
let head = 0
const indent = s => s.replace(/^(?=.)/gm, '    ')

let next = 0
const total = { total: 0, pass: 0, fail: 0, skip: 0, todo: 0 }
let failedFiles = 0

function start() {
  if (next >= files.length) return Promise.resolve()
  const i = next++
  const s = slots[i]
  return new Promise(resolve => {
    const child = spawn(process.execPath, ['--import', 'tsx', files[i]], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv })
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    child.stdout.on('data', d => { s.out += d; if (i === head) pump() })
    child.stderr.on('data', d => process.stderr.write(d))
    child.on('close', (code, sig) => {
      s.done = true
      s.code = sig ? 128 : code
      pump()
      resolve(start())
    })
  })
}

/** Writes what can be written in file order: the oldest unfinished file live, finished ones whole. */
function pump() {
  while (head < files.length) {
    const s = slots[head]
    if (!s.headerDone) { process.stdout.write(`# Subtest: ${files[head]}\n`); s.headerDone = true }
    const upto = s.done ? s.out.length : s.out.lastIndexOf('\n') + 1
    if (upto > s.flushed) { process.stdout.write(indent(s.out.slice(s.flushed, upto))); s.flushed = upto }
    if (!s.done) return
    const c = counts(s.out)
    const ok = s.code === 0 && c !== null && c.fail === 0
    if (c) for (const k of Object.keys(total)) total[k] += c[k]
    if (!c) { total.total += 1; total.fail += 1 }
    else if (s.code !== 0 && c.fail === 0) { total.total += 1; total.fail += 1 }
    if (!ok) failedFiles++
    process.stdout.write(`${ok ? 'ok' : 'not ok'} ${head + 1} - ${files[head]}${ok ? '' : ` # exit ${s.code}${c ? '' : ', no counts'}`}\n\n`)
    head++
  }
}

process.stdout.write(`TAP version 14\n1..${files.length}\n`)
await Promise.all(Array.from({ length: Math.min(jobs, files.length) }, () => start()))
pump()
const parts = Object.entries(total).filter(([k, v]) => v > 0 || k === 'total' || k === 'pass' || k === 'fail').map(([k, v]) => `${k}: ${v}`)
process.stdout.write(`# { ${parts.join(', ')} }\n# time=${Date.now() - started}ms\n`)
process.exitCode = failedFiles ? 1 : 0
