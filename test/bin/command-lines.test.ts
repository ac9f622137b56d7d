/**
 * Every program's command line, as an operator meets it: each program run as a process (node with
 * tsx's loader, from source) answers --help with its usage on stdout and exit 0, and an unknown flag
 * with a message naming it, then the usage, on stderr and exit 2, before it starts anything. Plus
 * each program's own value checks (a port, a number, an operand where none is taken).
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { join } from 'node:path'

const ROOT = join(import.meta.dirname, '..', '..')

/** The environment without tap's own (its loaders in NODE_OPTIONS would make each child a tap run). */
function cleanEnv(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!/^(TAP|_TAPJS|NODE_OPTIONS$)/.test(k)) e[k] = v
  return e
}

interface Ran { readonly code: number | null; readonly stdout: string; readonly stderr: string }

/** Runs a program to its end; a program that would start serving is killed after 120 s (a failure). */
function runProgram(file: string, args: string[]): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', file, ...args], { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', d => { stdout += String(d) })
    p.stderr.on('data', d => { stderr += String(d) })
    const timer = setTimeout(() => p.kill('SIGKILL'), 120_000)
    p.on('error', reject)
    p.on('close', code => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}

const programs: Array<{ name: string; file: string; bad: Array<[string[], RegExp]> }> = [
  {
    name: 'gsi-controller', file: 'src/bin/gsi-controller.ts',
    bad: [
      [['--workers'], /^gsi-controller: --workers needs a value\n/],
      [['--metrics-port', '70000'], /^gsi-controller: --metrics-port: "70000" is not an integer in 0\.\.65535\n/],
      [['--server', 'http://127.0.0.1:1', '--in-cluster'], /^gsi-controller: --in-cluster, --kubeconfig and --server are exclusive\n/],
      [['--log-level', 'loud'], /^gsi-controller: --log-level: unknown level "loud"/],
      [['--pending-poll', '0'], /^gsi-controller: --pending-poll: "0" is not a number in 0\.1\.\.60\n/],
    ],
  },
  { name: 'gsi-lab', file: 'src/bin/gsi-lab.ts', bad: [[['now'], /^gsi-lab: unexpected argument "now"\n/], [['--keep=1'], /^gsi-lab: --keep takes no value/]] },
  { name: 'kube-emulator', file: 'controller/emulator/kube/main.ts', bad: [[['--port', 'http'], /^kube-emulator: --port: "http" is not an integer in 0\.\.65535\n/]] },
  { name: 'ec2-emulator', file: 'controller/emulator/ec2/main.ts', bad: [[['--seed', '/nonexistent/vpcs.json'], /^ec2-emulator: --seed \/nonexistent\/vpcs\.json: ENOENT/]] },
]

for (const prog of programs) {
  t.test(prog.name, async t => {
    // Started together: process start-up under tsx is slow on a loaded 2-core machine.
    const [help, unknown, ...bad] = await Promise.all([
      runProgram(prog.file, ['--help']),
      runProgram(prog.file, ['--frobnicate', '3']),
      ...prog.bad.map(([args]) => runProgram(prog.file, args)),
    ])
    t.equal(help!.code, 0, '--help: exit 0')
    t.match(help!.stdout, new RegExp(`^usage: ${prog.name} `), '--help: usage on stdout')
    t.equal(help!.stderr, '', '--help: nothing on stderr')
    t.equal(unknown!.code, 2, 'unknown flag: exit 2')
    t.match(unknown!.stderr, new RegExp(`^${prog.name}: unknown option --frobnicate\\nusage: ${prog.name} `), 'unknown flag: named, then the usage')
    t.equal(unknown!.stdout, '', 'unknown flag: nothing started (no output)')
    prog.bad.forEach(([args, message], i) => {
      const r = bad[i]!
      t.equal(r.code, 2, `${args.join(' ')}: exit 2`)
      t.match(r.stderr, message, `${args.join(' ')}: message`)
      t.match(r.stderr, new RegExp(`\\nusage: ${prog.name} `), `${args.join(' ')}: usage follows`)
    })
  })
}
