/**
 * Real BGP daemons for the session interop tests, on loopback high ports of the root namespace
 * (127.0.0.x addresses, nothing leaves the host): free ports, temp directories, start and always
 * kill (SIGCONT first, in case a test froze the daemon), log reading.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import net from 'node:net'

export async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })
}

export interface Daemon {
  proc: ChildProcess
  dir: string
  log: string
  readLog(): string
  freeze(): void
  thaw(): void
  stop(): Promise<void>
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `${prefix}-`))
}

export function startDaemon(cmd: string, args: string[], dir: string, name: string): Daemon {
  const log = join(dir, `${name}.log`)
  const fd = openSync(log, 'a')
  const proc = spawn(cmd, args, { stdio: ['ignore', fd, fd], cwd: dir })
  closeSync(fd)
  const d: Daemon = {
    proc,
    dir,
    log,
    readLog: () => {
      try {
        return readFileSync(log, 'utf8')
      } catch {
        return ''
      }
    },
    freeze: () => {
      if (proc.pid !== undefined) process.kill(proc.pid, 'SIGSTOP')
    },
    thaw: () => {
      if (proc.pid !== undefined && proc.exitCode === null) process.kill(proc.pid, 'SIGCONT')
    },
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined) {
        const exited = new Promise<void>((r) => proc.once('exit', () => r()))
        try {
          process.kill(proc.pid, 'SIGCONT')
          process.kill(proc.pid, 'SIGKILL')
        } catch {
          // gone already
        }
        await exited
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
  // Last resort if the test process dies before its teardown.
  process.once('exit', () => {
    try {
      if (proc.exitCode === null && proc.pid !== undefined) process.kill(proc.pid, 'SIGKILL')
    } catch {
      // gone
    }
  })
  return d
}

export function run(cmd: string, args: string[], timeoutMs = 5000): string {
  return execFileSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] })
}

export async function retry<T>(f: () => T, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return f()
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(e as Error).message}`)
      await new Promise((r) => setTimeout(r, 150))
    }
  }
}
