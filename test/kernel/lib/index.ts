/**
 * Shared helpers for kernel tests (test/kernel/*.test.ts and test/netlink/*.test.ts): network
 * namespaces (netns.ts), running our TypeScript inside one (ns-worker.ts), `ip monitor` capture
 * (monitor.ts).
 *
 *   const ns = await createNetns(t, 'gw')            // lo up, deleted at teardown
 *   await vethPair(a, 'va', b, 'vb', { a: '10.0.0.1/30', b: '10.0.0.2/30' })
 *   await ns.ip('route', 'show', 'table', '100'); await ns.sh('ping -c1 -W1 10.0.0.2')
 *   const w = await NsWorker.start(ns, t)            // one Node child inside ns
 *   await w.call(new URL('./my-scenario.ts', import.meta.url), 'installRoutes', arg1, arg2)
 *   const mon = await IpMonitor.start(ns, ['route'], t); await mon.waitFor(/^Deleted 10\.1/)
 */
export { createNetns, vethPair, uniqueName, kernelSupports, Netns, type Teardown, type CommandResult } from './netns.js'
export { NsWorker, NsWorkerError } from './ns-worker.js'
export { IpMonitor } from './monitor.js'
