// The gateway logic's routes on a real kernel: Gateway -> FibWriter -> netlink in a namespace.
// Pod routes held by two vRouters become one MPLS-over-UDP ECMP route in the gateway table, a VPC
// route taught by both TGW sessions one ECMP route via the link toward the TGW, the table's label
// pops into its VRF, the main table is untouched, and withdrawals remove routes and tunnels.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import type { FibCounters } from '../../src/fib/index.js'
import { Netns, NsWorker } from './lib/index.js'

t.setTimeout(900_000)
const ns = `kgw${process.pid % 100000}`
const sh = (cmd: string): string => execFileSync('sh', ['-c', cmd], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] })
let worker: NsWorker | undefined
t.teardown(async () => { await worker?.stop(); try { sh(`ip netns del ${ns}`) } catch { /* gone */ } })

sh(`ip netns add ${ns}`)
// 'va' stands for the GRE link toward the TGW (its .2 and .3 are on it); 10.0.1.10 is the node.
sh(`ip -n ${ns} -batch - <<'EOF'
link set lo up
addr add 10.0.1.10/32 dev lo
link add va type veth peer name vb
link set va up
link set vb up
addr add 169.254.6.1/29 dev va
EOF`)
const mod = new URL('../gateway/ns-gateway-logic.ts', import.meta.url)
const gw = async <T = FibCounters>(fn: string, ...args: unknown[]): Promise<T> => {
  worker ??= await NsWorker.start(new Netns(ns))
  return worker.call<T>(mod, fn, ...args)
}
const table = (fam = '-4'): string => sh(`ip -n ${ns} ${fam} route show table 100 proto 201`)
const mainBefore = sh(`ip -n ${ns} route show table main`)

t.test('pod and VPC routes, ECMP both ways, the label into the VRF, nothing in the main table', async (t) => {
  await gw('start', '10.0.1.10', 'va', ['169.254.6.2', '169.254.6.3'])
  let c = await gw('pods', [
    ['10.0.2.1:1:10.244.1.5/32', [['10.0.2.1', 301]]],
    ['10.0.2.2:1:10.244.1.5/32', [['10.0.2.2', 302]]],
    ['10.0.2.1:1:fd00:244::5/128', [['::ffff:10.0.2.1', 303]]],
  ])
  c = await gw('vpc', [['172.31.0.0/16', ['169.254.6.2', '169.254.6.3']]])
  t.equal(c.errors, 0, c.lastError)
  t.match(table(), /10\.244\.1\.5 [^\n]*\n\s+nexthop\s+encap mpls\s+301\s+dev gsim0a000201 weight 1[^\n]*\n\s+nexthop\s+encap mpls\s+302\s+dev gsim0a000202 weight 1/, 'toward the pod: MPLSoUDP ECMP over both vRouters')
  t.match(table(), /172\.31\.0\.0\/16 [^\n]*\n\s+nexthop via 169\.254\.6\.2 dev va weight 1[^\n]*\n\s+nexthop via 169\.254\.6\.3 dev va weight 1/, 'toward the VPC: ECMP over both TGW sessions')
  t.match(table('-6'), /fd00:244::5\s+encap mpls\s+303 dev gsim0a000201 /, 'IPv6 pod route through the vRouter\'s IPv4 tunnel (single path: no fe80::1 gateway)')
  t.match(sh(`ip -n ${ns} -f mpls route show`), /30 dev gsiv100/, 'the gateway table\'s label pops into its VRF')
  t.equal(sh(`ip -n ${ns} route show table main`), mainBefore, 'the main table is untouched')
  t.match(await gw('status'), { importedRoutes: 3, importedPrefixes: 2, tgwRoutes: 1, fibRefused: 0, tgwAdvertised: ['10.244.0.0/16', 'fd00:244::/48'] })

  c = await gw('pods', [
    ['10.0.2.1:1:10.244.1.5/32', []],
    ['10.0.2.2:1:10.244.1.5/32', []],
    ['10.0.2.1:1:fd00:244::5/128', []],
  ])
  c = await gw('vpc', [['172.31.0.0/16', []]])
  t.equal(c.errors, 0, c.lastError)
  t.equal(table() + table('-6'), '', 'withdrawn: the gateway table is empty')
  t.notMatch(sh(`ip -n ${ns} link show`), /gsim/, 'and the tunnels are gone')
  t.match(await gw('status'), { importedRoutes: 0, tgwRoutes: 0, tgwAdvertised: [] })
  await gw('stop')
})
