/**
 * The local API server: gsictl's way into the running daemon, a Unix socket speaking
 * newline-delimited JSON (protocol.ts), answered from the DaemonView (handlers.ts).
 *
 * Access is the file system's: the directory is created 0700 and the socket set to 0600, so only
 * root (the daemon's user) can connect. The socket is created inside the 0700 directory before it is
 * chmod-ed, so nobody else can reach it in between. A socket file left by a daemon that died is
 * removed at start; one that still answers belongs to a running daemon, and starting fails rather
 * than stealing it.
 *
 * Requests on a connection are answered in order, one at a time (a clear waits for its session
 * reset before the next answer); a line longer than MAX_REQUEST_BYTES closes the connection.
 */
import { chmod, mkdir, rm, stat } from 'node:fs/promises'
import net from 'node:net'
import { dirname } from 'node:path'
import { handle } from './handlers.js'
import { ApiError, DEFAULT_SOCKET_DIR, ErrorCode, MAX_REQUEST_BYTES, type ApiErrorBody, type ApiResponse } from './protocol.js'
import type { DaemonView } from './view.js'

export interface ApiServerOptions {
  /** Socket path (default /run/gsi-router/api.sock; tests use a temp dir). */
  readonly path: string
  readonly view: DaemonView
  /** Told about internal errors (a view that threw something other than ApiError). */
  readonly onError?: (err: Error, method: string) => void
}

export class ApiServer {
  readonly path: string
  private readonly view: DaemonView
  private readonly onError: ((err: Error, method: string) => void) | undefined
  private readonly server: net.Server
  private readonly sockets = new Set<net.Socket>()

  private constructor(o: ApiServerOptions) {
    this.path = o.path
    this.view = o.view
    this.onError = o.onError
    this.server = net.createServer(s => this.accept(s))
  }

  /** Creates the directory (0700), removes a dead daemon's socket, listens, sets the socket 0600. */
  static async start(o: ApiServerOptions): Promise<ApiServer> {
    const s = new ApiServer(o)
    const dir = dirname(o.path)
    const created = await mkdir(dir, { recursive: true, mode: 0o700 })
    // mkdir's mode is masked by the umask, and an existing /run/gsi-router (the DaemonSet's emptyDir
    // is 0777) keeps its own: set it outright, but never on a directory we neither made nor own by
    // name (a test's socket straight in /tmp must not close /tmp).
    if (created !== undefined || dir === DEFAULT_SOCKET_DIR) await chmod(dir, 0o700)
    await removeStaleSocket(o.path)
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject)
      s.server.listen(o.path, () => {
        s.server.off('error', reject)
        resolve()
      })
    })
    await chmod(o.path, 0o600)
    return s
  }

  /** Stops listening, closes open connections and removes the socket file. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>(resolve => this.server.close(() => resolve()))
    await rm(this.path, { force: true })
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket)
    socket.on('close', () => this.sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    let buffered = ''
    let queue = Promise.resolve()
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      buffered += chunk
      let nl: number
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        if (line.trim() === '') continue
        queue = queue.then(() => this.answer(socket, line))
      }
      if (Buffer.byteLength(buffered) > MAX_REQUEST_BYTES) {
        buffered = ''
        const body: ApiErrorBody = { code: ErrorCode.TooLarge, message: `request: longer than ${MAX_REQUEST_BYTES} bytes without a newline` }
        queue = queue.then(() => {
          socket.end(JSON.stringify({ id: null, error: body }) + '\n')
        })
      }
    })
  }

  private async answer(socket: net.Socket, line: string): Promise<void> {
    const res = await this.respond(line)
    if (!socket.destroyed && socket.writable) socket.write(JSON.stringify(res) + '\n')
  }

  private async respond(line: string): Promise<ApiResponse> {
    let req: unknown
    try {
      req = JSON.parse(line)
    } catch (e) {
      return { id: null, error: { code: ErrorCode.BadRequest, message: `request: not JSON (${(e as Error).message})` } }
    }
    if (typeof req !== 'object' || req === null || Array.isArray(req)) {
      return { id: null, error: { code: ErrorCode.BadRequest, message: 'request: must be a JSON object {id, method, params}' } }
    }
    const r = req as Record<string, unknown>
    const id = typeof r.id === 'number' || typeof r.id === 'string' ? r.id : null
    if (id === null) return { id: null, error: { code: ErrorCode.BadRequest, message: 'request.id: must be a number or a string' } }
    if (typeof r.method !== 'string') return { id, error: { code: ErrorCode.BadRequest, message: 'request.method: must be a string' } }
    const params = r.params ?? {}
    if (typeof params !== 'object' || params === null || Array.isArray(params)) {
      return { id, error: { code: ErrorCode.InvalidParams, message: 'request.params: must be an object' } }
    }
    try {
      const result = await handle(this.view, r.method, params as Record<string, unknown>)
      return { id, result: result ?? null }
    } catch (e) {
      if (e instanceof ApiError) return { id, error: { code: e.code, message: e.message } }
      const err = e instanceof Error ? e : new Error(String(e))
      this.onError?.(err, r.method)
      return { id, error: { code: ErrorCode.Internal, message: `${r.method}: ${err.message}` } }
    }
  }
}

/** Removes `path` if it is a socket nobody answers on; fails if a daemon answers there. */
async function removeStaleSocket(path: string): Promise<void> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined
    throw e
  })
  if (st === undefined) return
  if (!st.isSocket()) throw new Error(`api socket ${path}: exists and is not a socket; remove it or choose another path`)
  const alive = await new Promise<boolean>(resolve => {
    const c = net.connect(path)
    c.once('connect', () => {
      c.destroy()
      resolve(true)
    })
    c.once('error', () => resolve(false))
  })
  if (alive) throw new Error(`api socket ${path}: another gsi-routerd is listening on it`)
  await rm(path, { force: true })
}
