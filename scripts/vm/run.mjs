#!/usr/bin/env node
/**
 * Runs a command inside a throwaway qemu VM that boots Debian's kernel (linux-image-amd64), which has
 * the modules this host's kernel lacks (ip_gre, fou, ipip, mpls_router, mpls_iptunnel, vrf, dummy).
 *
 *   node scripts/vm/run.mjs [--timeout S] [--cpus N] [--mem MB] [--env K=V]... -- <command...>
 *
 * How: the host's / is shared read-only over 9p (so Node, iproute2, tap and node_modules are the
 * host's own, nothing is installed in the VM); a small initramfs (scripts/vm/initramfs.mjs, built once
 * into .vm/) loads the virtio/9p modules, mounts it and switch_roots into scripts/vm/guest-init.sh,
 * which loads the data-plane modules, runs the job in the same directory as here and powers off.
 * The job's stdout and stderr come back on two serial ports wired to this process's stdout and
 * stderr, as they are produced; the kernel console goes to .vm/run-* /console.log. Exit status: the
 * job's; 124 when the VM timed out, 125 when it did not boot (never a silent skip). The job finds
 * the Node that runs this script first in PATH (Node 22: scripts/node22.mjs), since the VM sees the
 * same binary over 9p.
 * TCG, not KVM: KVM hangs on these machines (see docs/architecture.md, "Testing on a real kernel").
 * One vCPU by default (GSI_VM_CPUS or --cpus to change): measured on a 2-core host, the kernel
 * netlink test file took 88 s with 1 vCPU and 132 s with 2 (multi-threaded TCG costs more than it
 * gains there); boot plus `node -e 1` took 20 s and 34 s.
 */
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildInitramfs } from './initramfs.mjs'
import { ensureNode22 } from '../node22.mjs'

const here = dirname(fileURLToPath(import.meta.url))
export const repoRoot = resolve(here, '..', '..')

/** Environment variables handed into the VM unless the caller says otherwise. */
const PASSED_ENV = /^(TAP_|TAP$|CI$|NODE_OPTIONS$|GSI_|BENCH_|FORCE_COLOR$|NO_COLOR$|TERM$)/

/** Picks the newest Debian kernel that has both an image in /boot and its modules. */
export function findKernel() {
  const kvers = readdirSync('/boot')
    .filter(f => f.startsWith('vmlinuz-'))
    .map(f => f.slice('vmlinuz-'.length))
    .filter(v => existsSync(`/lib/modules/${v}/modules.dep`))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
  const kver = kvers.at(-1)
  if (!kver) throw new Error('no /boot/vmlinuz-* with matching /lib/modules: install linux-image-amd64')
  return { kver, image: `/boot/vmlinuz-${kver}` }
}

const q = s => `'${String(s).replaceAll("'", "'\\''")}'`

/**
 * Boots the VM, runs `command` (argv array) in `cwd`, streams output to `stdout`/`stderr` (writable
 * streams) and, when `stdin` (a readable stream) is given, feeds it to the job's standard input
 * (otherwise /dev/null); resolves with { code, seconds, bootSeconds }.
 */
export async function runInVm({
  command, cwd = process.cwd(), env = {}, timeoutSec = 900, cpus = Number(process.env.GSI_VM_CPUS ?? 1), memMb = 2048,
  stdout = process.stdout, stderr = process.stderr, keep = false, stdin,
}) {
  if (!command.length) throw new Error('runInVm: no command given')
  const cacheDir = join(repoRoot, '.vm')
  const { kver, image } = findKernel()
  const initrd = buildInitramfs({ cacheDir, kver })
  const runDir = join(cacheDir, `run-${process.pid}-${Date.now().toString(36)}`)
  mkdirSync(runDir, { recursive: true })
  const passed = Object.fromEntries(Object.entries(process.env).filter(([k]) => PASSED_ENV.test(k)))
  const allEnv = { ...passed, ...env }
  writeFileSync(join(runDir, 'job.sh'), [
    ...Object.entries(allEnv).map(([k, v]) => `export ${k}=${q(v)}`),
    `export PATH=${q(dirname(process.execPath))}:"$PATH"`,
    `cd ${q(cwd)} || exit 126`,
    // tap (and other tools) keep caches in ./.tap: give them a tmpfs there, the root is read-only.
    `[ -d .tap ] && mount -t tmpfs tap .tap`,
    // With `stdin`: the job reads a fourth serial port that this process feeds (raw, no echo; the
    // end of the host's input arrives as ^D, a raw tty has no end of its own)
    ...(stdin !== undefined ? ['stty -F /dev/ttyS3 raw -echo 2>/dev/null', 'exec </dev/ttyS3'] : []),
    command.map(q).join(' '),
    'rc=$?',
    // Closing a serial tty waits for its output to drain: make sure that happens before power-off.
    'exec >/dev/null 2>&1',
    'exit $rc',
    '',
  ].join('\n'))
  if (existsSync(join(cwd, 'package.json'))) mkdirSync(join(cwd, '.tap'), { recursive: true })
  const consoleLog = join(runDir, 'console.log')
  const errSock = join(runDir, 'stderr.sock')
  const args = [
    '-accel', 'tcg', '-cpu', 'max', '-smp', String(cpus), '-m', String(memMb),
    '-display', 'none', '-monitor', 'none', '-no-reboot', '-nodefaults',
    '-kernel', image, '-initrd', initrd,
    '-append', `console=ttyS0 quiet loglevel=3 panic=-1 vminit=${join(here, 'guest-init.sh')} vmrepo=${repoRoot}`,
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    // The checkout again on its own: the guest mounts it back when it lies under /tmp or /run.
    '-virtfs', `local,path=${repoRoot},mount_tag=repo,security_model=none,readonly=on,multidevs=remap`,
    '-virtfs', `local,path=${runDir},mount_tag=vmshare,security_model=none`,
    '-serial', `file:${consoleLog}`,
    '-chardev', 'stdio,id=jobout', '-serial', 'chardev:jobout',
    '-chardev', `socket,id=joberr,path=${errSock}`, '-serial', 'chardev:joberr',
  ]
  const inSock = join(runDir, 'stdin.sock')
  if (stdin !== undefined) args.push('-chardev', `socket,id=jobin,path=${inSock}`, '-serial', 'chardev:jobin')
  // The job's stderr: qemu connects as a client to a unix socket we listen on (a child's extra stdio
  // pipe is a socketpair, which qemu cannot open by path).
  const errServer = createServer(conn => conn.on('data', d => stderr.write(d)))
  await new Promise((res, rej) => { errServer.once('error', rej); errServer.listen(errSock, res) })
  const inServer = stdin === undefined ? undefined : createServer(conn => {
    conn.on('error', () => { /* the VM went away */ })
    stdin.on('data', d => conn.write(d))
    stdin.once('end', () => conn.write('\x04'))
  })
  if (inServer !== undefined) await new Promise((res, rej) => { inServer.once('error', rej); inServer.listen(inSock, res) })
  const started = Date.now()
  const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout.on('data', d => stdout.write(d))
  let qemuErr = ''
  child.stderr.on('data', d => { qemuErr += d })
  let timedOut = false
  const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, timeoutSec * 1000)
  const qemuCode = await new Promise(res => {
    child.on('error', e => { qemuErr += String(e); res(-1) })
    child.on('close', c => res(c))
  })
  clearTimeout(timer)
  errServer.close()
  inServer?.close()
  stdin?.pause()
  const seconds = (Date.now() - started) / 1000
  const booted = existsSync(join(runDir, 'booted'))
  const codeFile = join(runDir, 'exit-code')
  let code
  if (timedOut) {
    stderr.write(`\nvm: TIMED OUT after ${timeoutSec} s (${booted ? 'job was running' : 'never booted'}); kernel console: ${consoleLog}\n`)
    code = 124
  } else if (!booted) {
    const log = existsSync(consoleLog) ? readFileSync(consoleLog, 'utf8').split('\n').slice(-30).join('\n') : ''
    stderr.write(`\nvm: FAILED TO BOOT (qemu exit ${qemuCode}). qemu said: ${qemuErr.trim() || '(nothing)'}\nlast console lines:\n${log}\n`)
    code = 125
  } else if (!existsSync(codeFile)) {
    stderr.write(`\nvm: the job did not finish (VM died; qemu exit ${qemuCode}); kernel console: ${consoleLog}\n`)
    code = 125
  } else {
    code = Number(readFileSync(codeFile, 'utf8').trim())
  }
  if (!keep && code === 0) rmSync(runDir, { recursive: true, force: true })
  return { code, seconds }
}

async function main(argv) {
  const opts = { env: {} }
  let i = 0
  for (; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--') { i++; break }
    else if (a === '--timeout') opts.timeoutSec = Number(argv[++i])
    else if (a === '--cpus') opts.cpus = Number(argv[++i])
    else if (a === '--mem') opts.memMb = Number(argv[++i])
    else if (a === '--keep') opts.keep = true
    else if (a === '--env') { const [k, ...v] = argv[++i].split('='); opts.env[k] = v.join('=') }
    else { break }
  }
  const command = argv.slice(i)
  if (!command.length) {
    console.error('usage: node scripts/vm/run.mjs [--timeout S] [--cpus N] [--mem MB] [--env K=V] [--keep] -- <command...>')
    process.exit(2)
  }
  const { code, seconds } = await runInVm({ ...opts, command })
  if (process.env.VM_VERBOSE) process.stderr.write(`vm: exit ${code} after ${seconds.toFixed(1)} s\n`)
  process.exitCode = code
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await ensureNode22()
  await main(process.argv.slice(2))
}
