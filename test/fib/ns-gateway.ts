/**
 * Test harness, not a test: the gateway's data plane as the daemon will run it (FibWriter,
 * reconcileGre and cleanup over NetlinkKernel), driven from a test through test/kernel/lib's NsWorker,
 * which calls these functions inside the gateway's network namespace. Module state is one "daemon
 * run"; `stop()` ends it (the kernel state stays, as after an exit) and the next `start()` is a new
 * run with a new netlink socket and no memory of the previous one.
 */
import { reconcileGre } from '../../gre/index.js'
import type { ConnectPeer, GreResult } from '../../gre/index.js'
import { cleanup, FibWriter, NetlinkKernel } from '../../src/fib/index.js'
import type { CleanupReport, DesiredRoute, FibCounters, GatewayTable, RouteEvent } from '../../src/fib/index.js'

let kernel: NetlinkKernel | undefined
let writer: FibWriter | undefined

function w(): FibWriter {
  if (!writer) throw new Error('ns-gateway: start() first')
  return writer
}

export async function start(localAddress: string, tables: GatewayTable[]): Promise<FibCounters> {
  kernel = new NetlinkKernel()
  writer = new FibWriter({ kernel, localAddress, resyncIntervalMs: 0, repairDelayMs: 20, retryMs: 200 })
  writer.setTables(tables)
  await writer.start()
  return writer.counters()
}

/** GRE reconcile (works with or without a started FIB writer). */
export async function gre(peers: ConnectPeer[]): Promise<GreResult> {
  kernel ??= new NetlinkKernel()
  return reconcileGre(kernel, peers)
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
  kernel ??= new NetlinkKernel()
  const f = (kernel as unknown as Record<string, (...a: unknown[]) => unknown>)[method]
  if (typeof f !== 'function') throw new Error(`NetlinkKernel has no method ${method}`)
  const r = await f.apply(kernel, args)
  return r === undefined ? null : r
}

const events: RouteEvent[] = []
let unwatch: (() => void) | undefined
export function watchStart(): null {
  kernel ??= new NetlinkKernel()
  unwatch ??= kernel.watchRoutes(ev => events.push(ev), () => undefined)
  return null
}
export async function watchEvents(waitMs: number): Promise<RouteEvent[]> {
  await new Promise(r => setTimeout(r, waitMs))
  unwatch?.()
  unwatch = undefined
  return events.splice(0)
}
