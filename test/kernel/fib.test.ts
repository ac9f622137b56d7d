// The FIB writer on a real kernel (VRF, fou, mplsip tunnels, MPLS): IPv6 routes (single path, ECMP
// over tunnels, via GRE-style gateways), restart semantics (adopt equal routes, replace different
// ones, keep stale ones until ready, delete explicit withdrawals at once), foreign routes left alone,
// and the periodic resync repairing a tunnel deleted by hand (its routes vanish without an event);
// kernel failures injected into a resync (test/fib/ns-gateway.ts's FaultyKernel) are logged with their
// errno, counted by errno, and retried until the repair is done; withdrawing a route the kernel
// already flushed with its device (ESRCH) is done, not an error.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import type { DesiredRoute, FibCounters } from '../../src/fib/index.js'
import type { LogEntry } from '../fib/ns-gateway.js'
import { Netns, NsWorker } from './lib/index.js'

// TCG emulation on a shared machine is slow (the first call starts Node with a TypeScript loader in
// the namespace): allow more than the default per-file timeout.
t.setTimeout(900_000)
const ns = `kfib${process.pid % 100000}`
const sh = (cmd: string, input = ''): string => execFileSync('sh', ['-c', cmd], { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] })
const inNs = (cmd: string): string => sh(`ip netns exec ${ns} sh -c '${cmd}'`)
let worker: NsWorker | undefined
t.teardown(async () => { await worker?.stop(); try { sh(`ip netns del ${ns}`) } catch { /* gone */ } })

sh(`ip netns add ${ns}`)
sh(`ip -n ${ns} -batch -`, ['link set lo up', 'addr add 10.0.1.10/32 dev lo', 'link add va type veth peer name vb', 'link set va up', 'link set vb up',
  'addr add 10.9.0.1/24 dev va', 'addr add fd00:9::1/64 dev va nodad', ''].join('\n'))

const mod = new URL('../fib/ns-gateway.ts', import.meta.url)
/** Our FIB writer over our netlink layer, inside the namespace (test/fib/ns-gateway.ts). */
const gw = async <T = FibCounters>(fn: string, ...args: unknown[]): Promise<T> => {
  worker ??= await NsWorker.start(new Netns(ns))
  return worker.call<T>(mod, fn, ...args)
}
const tables = [{ table: 100, label: 100 }, { table: 200, label: 200 }]
const table = (n: number, fam = '-4'): string => sh(`ip -n ${ns} ${fam} route show table ${n} proto 201`)

const routes: DesiredRoute[] = [
  { table: 100, prefix: '10.1.0.0/24', nexthops: [{ kind: 'mpls', vrouter: '10.0.2.1', label: 301 }] },
  { table: 100, prefix: '2001:db8:1::/48', nexthops: [{ kind: 'mpls', vrouter: '10.0.2.1', label: 301 }] },
  { table: 100, prefix: '2001:db8:9::/48', nexthops: [{ kind: 'mpls', vrouter: '10.0.2.1', label: 309 }, { kind: 'mpls', vrouter: '10.0.2.2', label: 319, weight: 3 }] },
  { table: 200, prefix: '2001:db8:60::/48', nexthops: [{ kind: 'gre', link: 'va', gateway: 'fd00:9::2' }] },
  { table: 200, prefix: '10.60.0.0/16', nexthops: [{ kind: 'gre', link: 'va', gateway: '10.9.0.2' }] },
]

t.test('first run installs VRFs, labels, fou, tunnels and IPv4/IPv6 routes', async t => {
  await gw('start', '10.0.1.10', tables)
  await gw('routes', routes)
  const c = await gw('ready')
  t.equal(c.errors, 0, c.lastError)
  t.equal(c.routesAdded, 5)
  t.equal(c.labelRoutesAdded, 2)
  t.equal(c.tunnelsCreated, 2)
  t.match(table(100, '-6'), /2001:db8:9::\/48[^\n]*\n\s+nexthop\s+encap mpls\s+309\s+via fe80::1 dev gsim0a000201 weight 1[^\n]*\n\s+nexthop\s+encap mpls\s+319\s+via fe80::1 dev gsim0a000202 weight 3/, 'IPv6 ECMP over tunnels')
  t.match(inNs('ip fou show'), /port 6635 ipproto 137/)
  t.equal(inNs('sysctl -n net.mpls.conf.gsim0a000201.input').trim(), '1')
  t.equal(inNs('sysctl -n net.ipv4.conf.gsim0a000202.rp_filter').trim(), '0')
  t.match(inNs('ip -d link show gsim0a000202'), /ipip mplsip remote 10\.0\.2\.2 local 10\.0\.1\.10 ttl 64[\s\S]*encap fou encap-sport auto encap-dport 6635/)
  t.match(inNs('ip -d link show gsiv200'), /vrf table 200/)
  await gw('stop')
})

t.test('restart: equal routes adopted, a changed one replaced, stale ones kept until ready', async t => {
  // What a previous run left, changed by hand: a wrong label on one route, plus a stale route and a
  // foreign route (another protocol) in our table.
  inNs('ip route replace 10.1.0.0/24 encap mpls 999 dev gsim0a000201 table 100 proto 201 metric 20')
  inNs('ip route add 10.2.0.0/24 encap mpls 302 dev gsim0a000201 table 100 proto 201 metric 20')
  inNs('ip route add 10.3.0.0/24 via 10.9.0.2 dev va table 100 proto static')
  t.equal((await gw('start', '10.0.1.10', tables)).routesAdopted, 6)
  let c = await gw('routes', routes)
  t.equal(c.routesAdded, 0, 'nothing re-added')
  t.equal(c.routesReplaced, 1, 'the changed route replaced')
  t.equal(c.routesDeleted, 0, 'stale route kept before ready')
  t.match(table(100), /10\.1\.0\.0\/24\s+encap mpls\s+301 /)
  t.match(table(100), /10\.2\.0\.0\/24/)
  c = await gw('ready')
  t.equal(c.routesDeleted, 1, 'stale route deleted once ready')
  t.notMatch(table(100), /10\.2\.0\.0\/24/)
  t.match(sh(`ip -n ${ns} route show table 100`), /10\.3\.0\.0\/24 via 10\.9\.0\.2 dev va proto static/, 'foreign route untouched')
  await gw('stop')
})

t.test('before ready, an explicit withdrawal is deleted at once', async t => {
  await gw('start', '10.0.1.10', tables)
  await gw('routes', routes)
  t.equal(await gw<boolean>('deleteRoute', 100, '10.1.0.0/24'), true)
  t.equal((await gw('settle', 0)).routesDeleted, 1)
  t.notMatch(table(100), /10\.1\.0\.0\/24/)
  await gw('setRoute', routes[0] as DesiredRoute)
  t.match(table(100), /10\.1\.0\.0\/24/)
  await gw('stop')
})

t.test('resync repairs a tunnel deleted by hand (its routes vanished without an event)', async t => {
  await gw('start', '10.0.1.10', tables)
  await gw('routes', routes)
  await gw('ready')
  inNs('ip link del gsim0a000201')
  t.notMatch(table(100), /10\.1\.0\.0\/24/, 'the kernel flushed the route with the device')
  const c = await gw('resync')
  t.equal(c.errors, 0, c.lastError)
  t.ok(c.tunnelsCreated >= 1, 'tunnel recreated')
  t.ok(c.driftRepairs >= 2, `drift repaired (${c.driftRepairs})`)
  t.match(table(100), /10\.1\.0\.0\/24\s+encap mpls\s+301 dev gsim0a000201/)
  await gw('stop')
})

t.test('a failing route is counted, named, and retried', async t => {
  await gw('start', '10.0.1.10', tables)
  const c = await gw('routes', [...routes, { table: 200, prefix: '10.61.0.0/16', nexthops: [{ kind: 'gre', link: 'gsig0000dead', gateway: '10.9.0.2' }] }])
  t.equal(c.errors, 1)
  t.match(c.lastError, /add route 10\.61\.0\.0\/16 table 200 via 10\.9\.0\.2 dev gsig0000dead: .*(does not exist|No such device)/)
  sh(`ip -n ${ns} link add gsig0000dead type veth peer name vdead && ip -n ${ns} link set gsig0000dead up && ip -n ${ns} addr add 10.9.0.5/24 dev gsig0000dead`)
  await gw('settle', 1500)
  t.match(table(200), /10\.61\.0\.0\/16 via 10\.9\.0\.2 dev gsig0000dead/, 'retried until it worked')
  await gw('stop')
})

t.test('kernel failures during a resync: logged with errno and object, counted by errno, retried until repaired', async t => {
  await gw('start', '10.0.1.10', tables)
  await gw('routes', routes)
  await gw('ready')
  // The tunnel's IPv4 route goes with it silently (no RTM_DELROUTE): only a resync can find it.
  inNs('ip link del gsim0a000201')
  await gw('settle', 500)
  t.notMatch(table(100), /10\.1\.0\.0\/24/, 'IPv4 route gone without an event')
  const c0 = await gw('counters')
  // The resync's dump fails (ENOBUFS); its retry dumps fine, and the one route it must add fails once (ENODEV).
  await gw('failOnce', 'dumpRoutes', 105)
  await gw('failOnce', 'applyRoutes', 19)
  const r = await gw<{ error: string | null; counters: FibCounters }>('resyncSettled')
  t.match(r.error, /ENOBUFS/, 'the resync that failed rejects for its caller')
  t.equal(r.counters.errors, c0.errors + 1, 'counted at once')
  t.ok(r.counters.retries > c0.retries, 'a retry is scheduled')
  const c = await gw('settle', 2000)
  t.match(table(100), /10\.1\.0\.0\/24\s+encap mpls\s+301 dev gsim0a000201/, 'retried until repaired')
  t.equal(c.errors, c0.errors + 2, c.lastError)
  t.same(c.errorsByErrno, { ...c0.errorsByErrno, ENOBUFS: (c0.errorsByErrno.ENOBUFS ?? 0) + 1, ENODEV: (c0.errorsByErrno.ENODEV ?? 0) + 1 }, 'by errno, for the metric')
  t.ok(c.retries >= c0.retries + 2, `a retry per failure (${c.retries})`)
  t.ok(c.lastSyncAt > r.counters.lastSyncAt, 'a later pass completed without error')
  const errors = (await gw<LogEntry[]>('logs')).filter(l => l.level === 'error')
  t.match(errors, [
    { errno: 'ENOBUFS', object: 'resync: dump routes of protocol 201', msg: /ENOBUFS/ },
    { errno: 'ENODEV', object: /^add route 10\.1\.0\.0\/24 table 100 via label 301 dev gsim0a000201$/, msg: /ENODEV/ },
  ], 'each failure logged once, naming the route and the errno')
  t.equal(errors.length, 2)
  await gw('stop')
})

t.test('withdrawing a route the kernel already flushed with its device is done, not an error to retry', async t => {
  // As when a Connect peer goes: its GRE link is deleted and the kernel drops the IPv4 routes through
  // it without an event; the withdrawal that follows finds nothing (ESRCH).
  sh(`ip -n ${ns} link add gsig0000beef type veth peer name vbeef && ip -n ${ns} link set gsig0000beef up && ip -n ${ns} addr add 10.8.0.1/24 dev gsig0000beef`)
  await gw('start', '10.0.1.10', tables)
  const gone: DesiredRoute = { table: 200, prefix: '10.62.0.0/16', nexthops: [{ kind: 'gre', link: 'gsig0000beef', gateway: '10.8.0.2' }] }
  await gw('routes', [...routes, gone])
  const c0 = await gw('ready')
  t.match(table(200), /10\.62\.0\.0\/16 via 10\.8\.0\.2 dev gsig0000beef/)
  sh(`ip -n ${ns} link del gsig0000beef`)
  t.notMatch(table(200), /10\.62\.0\.0\/16/, 'the kernel flushed the route with the device')
  t.equal(await gw<boolean>('deleteRoute', 200, '10.62.0.0/16'), true)
  const c = await gw('settle', 1500)
  t.equal(c.errors, c0.errors, `no error counted (${c.lastError ?? ''})`)
  t.equal(c.routesDeleted, c0.routesDeleted + 1, 'the withdrawal is done')
  t.equal(c.retries, c0.retries, 'nothing retried')
  t.same((await gw<LogEntry[]>('logs')).filter(l => l.level === 'error' && /10\.62\.0\.0/.test(l.object ?? '')), [], 'nothing logged as an error')
  await gw('stop')
})
