/**
 * Test harness, not a test: the Gateway writing through the real FibWriter over NetlinkKernel, run
 * inside a test's network namespace by test/kernel/lib's NsWorker (test/kernel/gateway.test.ts). The
 * two speakers are the PortSpeaker stand-ins of ./helpers.ts: the kernel side is what is under test.
 * Arguments cross as JSON, so changes are given as plain tuples.
 */
import { Family } from '../../bgp/codec/afi.js'
import { FibWriter, NetlinkKernel, type FibCounters } from '../../src/fib/index.js'
import { Gateway, type GatewayStatus } from '../../src/gateway/index.js'
import { PortSpeaker, RT, unicast, vpn } from './helpers.js'

let kernel: NetlinkKernel | undefined
let writer: FibWriter | undefined
let gateway: Gateway | undefined
const cn2 = new PortSpeaker(64512)
const tgw = new PortSpeaker(65100)

export async function start(nodeAddress: string, link: string, tgwPeers: string[]): Promise<FibCounters> {
  kernel = new NetlinkKernel()
  writer = new FibWriter({ kernel, localAddress: nodeAddress, resyncIntervalMs: 0, repairDelayMs: 20, retryMs: 200 })
  gateway = new Gateway(cn2, tgw, writer, {
    routerId: nodeAddress, nodeAddress, exposedRouteTargets: [RT], exposedCidrs: ['10.244.0.0/16', 'fd00:244::/48'],
    table: { table: 100, label: 30 }, connectPeers: [{ link, peers: tgwPeers }],
  })
  gateway.start()
  await writer.start()
  return writer.counters()
}

/** VPN changes: [RD:prefix, [[vRouter, label], ...]] (an empty path list withdraws). */
export async function pods(changes: [string, [string, number][]][]): Promise<FibCounters> {
  for (const [prefix, paths] of changes) {
    const c = vpn(prefix, paths, [RT], paths.length === 0 ? 'withdraw' : 'add')
    cn2.best(c.family, [c])
  }
  return idle()
}

/** TGW changes: [prefix, [session address, ...]] (an empty list withdraws). */
export async function vpc(changes: [string, string[]][]): Promise<FibCounters> {
  for (const [prefix, peers] of changes) tgw.best(prefix.includes(':') ? Family.Ipv6Unicast : Family.Ipv4Unicast, [unicast(prefix, peers, peers.length === 0 ? 'withdraw' : 'add')])
  return idle()
}

async function idle(): Promise<FibCounters> {
  if (!writer) throw new Error('ns-gateway-logic: start() first')
  await writer.idle()
  return writer.counters()
}

export function status(): GatewayStatus & { tgwAdvertised: string[] } {
  if (!gateway) throw new Error('ns-gateway-logic: start() first')
  return { ...gateway.status(), tgwAdvertised: tgw.keys() }
}

export function stop(): null {
  gateway?.stop()
  writer?.stop()
  kernel?.close()
  return null
}
