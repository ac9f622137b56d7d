/**
 * Test harness, not a test: the gateway's data plane as the daemon will run it (FibWriter,
 * reconcileGre and cleanup over NetlinkKernel, the writer told when gre/ recreates a link), and a
 * BGP session of ours, driven from a test through test/kernel/lib's NsWorker, which calls these
 * functions inside the gateway's network namespace. Module state is one "daemon run"; `stop()` ends
 * it (the kernel state stays, as after an exit) and the next `start()` is a new run with a new
 * netlink socket and no memory of the previous one.
 *
 * Fault injection (`failOnce`): the kernel port is our NetlinkKernel with one failure armed on
 * request, answered as the kernel answers (a NetlinkError with that errno), so the writer's error
 * path can be tested on a real kernel.
 */
import { Session } from '../../bgp/session/index.js'
import type { SessionConfig } from '../../bgp/session/index.js'
import { reconcileGre } from '../../gre/index.js'
import type { ConnectPeer, GreResult } from '../../gre/index.js'
import { cleanup, FibWriter, NetlinkKernel } from '../../src/fib/index.js'
import type { CleanupReport, DesiredRoute, FibCounters, FibLogger, GatewayTable, KernelRoute, RouteEvent, RouteOp } from '../../src/fib/index.js'
import { NetlinkError } from '../../src/netlink/index.js'

type FaultyMethod = 'dumpRoutes' | 'applyRoutes'

/** NetlinkKernel with failures armed by `failOnce`, each used once in order per method: a dump fails
 * whole, a batch fails its first route (not sent to the kernel, reported as the kernel would). */
class FaultyKernel extends NetlinkKernel {
  private readonly armed: { method: FaultyMethod; errno: number }[] = []

  arm(method: FaultyMethod, errno: number): void { this.armed.push({ method, errno }) }

  private take(method: FaultyMethod): number | undefined {
    const i = this.armed.findIndex(a => a.method === method)
    if (i < 0) return undefined
    const [a] = this.armed.splice(i, 1)
    return a?.errno
  }

  override async dumpRoutes(protocol: number): Promise<KernelRoute[]> {
    const errno = this.take('dumpRoutes')
    if (errno !== undefined) throw new NetlinkError(errno, { op: 'dump', object: `routes of protocol ${protocol}` })
    return super.dumpRoutes(protocol)
  }

  override async applyRoutes(ops: readonly RouteOp[]): Promise<(Error | undefined)[]> {
    const first = ops[0]
    const errno = first === undefined ? undefined : this.take('applyRoutes')
    if (errno === undefined || first === undefined) return super.applyRoutes(ops)
    const rest = await super.applyRoutes(ops.slice(1))
    return [new NetlinkError(errno, { op: first.op, object: `route ${first.route.prefix} table ${first.route.table}` }), ...rest]
  }
}

/** What the writer logged, as plain data. */
export interface LogEntry { level: 'info' | 'warn' | 'error'; msg: string; errno?: string; object?: string }
const logged: LogEntry[] = []
const entry = (level: LogEntry['level']) => (obj: object, msg: string): void => {
  const o = obj as { errno?: string; object?: string }
  logged.push({ level, msg, ...(o.errno !== undefined ? { errno: o.errno } : {}), ...(o.object !== undefined ? { object: o.object } : {}) })
}
const log: FibLogger = { info: entry('info'), warn: entry('warn'), error: entry('error') }

let kernel: FaultyKernel | undefined
let writer: FibWriter | undefined

function w(): FibWriter {
  if (!writer) throw new Error('ns-gateway: start() first')
  return writer
}

export async function start(localAddress: string, tables: GatewayTable[]): Promise<FibCounters> {
  kernel = new FaultyKernel()
  logged.length = 0
  writer = new FibWriter({ kernel, localAddress, resyncIntervalMs: 0, repairDelayMs: 20, retryMs: 200, log })
  writer.setTables(tables)
  await writer.start()
  return writer.counters()
}

/** GRE reconcile (works with or without a started FIB writer; with one, the writer is told about
 * recreated links, as the daemon wires it). */
export async function gre(peers: ConnectPeer[]): Promise<GreResult> {
  kernel ??= new FaultyKernel()
  const fib = writer
  return reconcileGre(kernel, peers, fib ? { onRecreated: links => fib.linksReplaced(links) } : {})
}

/** Arms one kernel failure with `errno` (a number, e.g. 105 for ENOBUFS) for a coming `method` call. */
export function failOnce(method: FaultyMethod, errno: number): null {
  if (!kernel) throw new Error('ns-gateway: start() first')
  kernel.arm(method, errno)
  return null
}

/** The writer's log lines since start(). */
export function logs(): LogEntry[] {
  return [...logged]
}

/** Like resync(), but a rejection comes back as data (the writer rejects the pass that failed). */
export async function resyncSettled(): Promise<{ error: string | null; counters: FibCounters }> {
  try {
    await w().resync()
    return { error: null, counters: w().counters() }
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e), counters: w().counters() }
  }
}

// ---- a BGP session of ours in the namespace ------------------------------------------------------

let session: Session | undefined

export function bgpStart(config: SessionConfig): null {
  if (session) throw new Error('ns-gateway: a session is running already')
  session = new Session(config)
  session.start()
  return null
}

/** The session's state and the counters that show whether it was ever reset. */
export function bgpStats(): { state: string; establishedAt: number | null; flaps: number; keepalivesIn: number; updatesIn: number; lastError: string | null } {
  if (!session) throw new Error('ns-gateway: bgpStart() first')
  const st = session.stats()
  return {
    state: st.state, establishedAt: st.establishedAt ?? null, flaps: st.flaps, keepalivesIn: st.messagesIn.keepalive, updatesIn: st.messagesIn.update,
    lastError: st.lastError ? `${st.lastError.reason}${st.lastError.detail !== undefined ? `: ${st.lastError.detail}` : ''}` : null,
  }
}

export function bgpStop(): null {
  session?.destroy()
  session = undefined
  return null
}

export async function routes(list: DesiredRoute[]): Promise<FibCounters> {
  w().replaceAll(list)
  await w().flush()
  return w().counters()
}

export async function ready(): Promise<FibCounters> {
  await w().markReady()
  return w().counters()
}

export async function resync(): Promise<FibCounters> {
  await w().resync()
  return w().counters()
}

export async function counters(): Promise<FibCounters> {
  await w().idle()
  return w().counters()
}

export function stop(): null {
  bgpStop()
  writer?.stop()
  kernel?.close()
  writer = undefined
  kernel = undefined
  return null
}

export async function removeAll(): Promise<CleanupReport> {
  stop()
  const k = new NetlinkKernel()
  try { return await cleanup(k) } finally { k.close() }
}

export async function setRoute(route: DesiredRoute): Promise<FibCounters> {
  w().setRoute(route)
  await w().flush()
  return w().counters()
}

export async function deleteRoute(table: number, prefix: string): Promise<boolean> {
  const had = w().deleteRoute(table, prefix)
  await w().flush()
  return had
}

/** Routes only, without markReady (a restart before the control plane is back). */
export async function routesNoFlush(list: DesiredRoute[]): Promise<null> {
  w().replaceAll(list)
  return null
}

/** Waits `ms`, then until the writer is idle (retries, repairs). */
export async function settle(ms: number): Promise<FibCounters> {
  await new Promise(r => setTimeout(r, ms))
  await w().idle()
  return w().counters()
}

/** Calls one method of the NetlinkKernel port (for port-level tests); errors keep their message. */
export async function kernelCall(method: string, ...args: unknown[]): Promise<unknown> {
  kernel ??= new FaultyKernel()
  const f = (kernel as unknown as Record<string, (...a: unknown[]) => unknown>)[method]
  if (typeof f !== 'function') throw new Error(`NetlinkKernel has no method ${method}`)
  const r = await f.apply(kernel, args)
  return r === undefined ? null : r
}

const events: RouteEvent[] = []
let unwatch: (() => void) | undefined
export function watchStart(): null {
  kernel ??= new FaultyKernel()
  unwatch ??= kernel.watchRoutes(ev => events.push(ev), () => undefined)
  return null
}
export async function watchEvents(waitMs: number): Promise<RouteEvent[]> {
  await new Promise(r => setTimeout(r, waitMs))
  unwatch?.()
  unwatch = undefined
  return events.splice(0)
}
