/**
 * Test harness, not a test: the gateway's data plane as the daemon will run it (FibWriter,
 * reconcileGre and cleanup over NetlinkKernel), driven from a test through test/kernel/lib's NsWorker,
 * which calls these functions inside the gateway's network namespace. Module state is one "daemon
 * run"; `stop()` ends it (the kernel state stays, as after an exit) and the next `start()` is a new
 * run with a new netlink socket and no memory of the previous one.
 */
import { reconcileGre } from '../../gre/index.js'
import type { ConnectPeer, GreResult } from '../../gre/index.js'
import { cleanup, FibWriter } from '../../src/fib/index.js'
import type { CleanupReport, DesiredRoute, FibCounters, GatewayTable } from '../../src/fib/index.js'
import { NetlinkKernel } from '../../src/fib/netlink-kernel.js'

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

export async function gre(peers: ConnectPeer[]): Promise<GreResult> {
  if (!kernel) throw new Error('ns-gateway: start() first')
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
