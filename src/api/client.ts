/**
 * The local API client (what gsictl uses): one connection to the daemon's Unix socket, requests
 * pipelined over it, answers matched by id (protocol.ts).
 *
 * A daemon that is not running shows up as ENOENT (no socket file) or ECONNREFUSED (a file nobody
 * listens on); both become DaemonNotRunningError naming the socket path, so the operator knows where
 * gsictl looked. EACCES says gsictl needs the daemon's user (root).
 */
import net from 'node:net'
import { ApiError, type ApiResponse } from './protocol.js'

/** The daemon does not answer on `path` (not running, or another socket path). */
export class DaemonNotRunningError extends Error {
  readonly path: string
  readonly code: string
  constructor(path: string, code: string) {
    const why = code === 'ENOENT' ? 'no such socket' : code === 'ECONNREFUSED' ? 'nothing listens on it' : code
    super(`gsi-routerd is not running (or listens elsewhere): cannot connect to ${path}: ${why} (${code}); give the daemon's socket with --socket PATH`)
    this.name = 'DaemonNotRunningError'
    this.path = path
    this.code = code
  }
}

export interface ApiClientOptions {
  /** Per request; default 10 s (a clear waits for a session reset). */
  readonly timeoutMs?: number
}

interface Pending {
  readonly resolve: (v: unknown) => void
  readonly reject: (e: Error) => void
  readonly timer: NodeJS.Timeout
  readonly method: string
}

export class ApiClient {
  readonly path: string
  private readonly socket: net.Socket
  private readonly timeoutMs: number
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  private buffered = ''
  private closedError: Error | undefined

  private constructor(path: string, socket: net.Socket, o: ApiClientOptions) {
    this.path = path
    this.socket = socket
    this.timeoutMs = o.timeoutMs ?? 10_000
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => this.onData(chunk))
    socket.on('error', e => this.fail(e))
    socket.on('close', () => this.fail(new Error(`api socket ${path}: the daemon closed the connection`)))
  }

  static connect(path: string, o: ApiClientOptions = {}): Promise<ApiClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(path)
      s.once('connect', () => {
        s.removeAllListeners('error')
        resolve(new ApiClient(path, s, o))
      })
      s.once('error', (e: NodeJS.ErrnoException) => {
        const code = e.code ?? ''
        if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ENOTSOCK') reject(new DaemonNotRunningError(path, code))
        else if (code === 'EACCES' || code === 'EPERM') reject(new Error(`cannot connect to ${path}: permission denied (${code}); gsictl must run as the daemon's user (root)`))
        else reject(new Error(`cannot connect to ${path}: ${e.message}`))
      })
    })
  }

  /** Sends one request; resolves with its result, rejects with ApiError for an error response. */
  call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError)
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new Error(`${method}: no answer from ${this.path} within ${this.timeoutMs} ms`))
      }, this.timeoutMs)
      this.pending.set(id, { resolve, reject, timer, method })
      this.socket.write(JSON.stringify({ id, method, params }) + '\n')
    })
  }

  close(): void {
    this.closedError ??= new Error('api client: closed')
    this.socket.end()
    this.socket.destroy()
  }

  private onData(chunk: string): void {
    this.buffered += chunk
    let nl: number
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl)
      this.buffered = this.buffered.slice(nl + 1)
      let res: ApiResponse
      try {
        res = JSON.parse(line) as ApiResponse
      } catch {
        this.fail(new Error(`api socket ${this.path}: the daemon sent a line that is not JSON`))
        return
      }
      if (typeof res.id !== 'number') {
        // An answer to no request (too-large): fail everything waiting.
        if ('error' in res) this.fail(new ApiError(res.error.code, res.error.message))
        continue
      }
      const p = this.pending.get(res.id)
      if (p === undefined) continue
      this.pending.delete(res.id)
      clearTimeout(p.timer)
      if ('error' in res) p.reject(new ApiError(res.error.code, res.error.message))
      else p.resolve(res.result)
    }
  }

  private fail(e: Error): void {
    this.closedError ??= e
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer)
      this.pending.delete(id)
      p.reject(e)
    }
  }
}
