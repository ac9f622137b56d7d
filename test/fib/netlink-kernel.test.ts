// The FIB writer's netlink port (NetlinkKernel over src/netlink) on this host's kernel, inside a
// namespace of our own (a Node child there, test/kernel/lib's NsWorker): routes with our protocol
// round-trip through dump (single path, weighted multipath, IPv6), a failed op is named, route events
// arrive with device names, and the modules this host lacks (vrf, ipip, ip_gre, mpls_router) are
// named in the errors. Where a module is present the call must succeed instead.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import type { KernelRoute, RouteEvent } from '../../src/fib/index.js'
import { createNetns, NsWorker } from '../kernel/lib/index.js'

const mod = new URL('./ns-gateway.ts', import.meta.url)

t.test('netlink port on a real kernel', async t => {
  const ns = await createNetns(t, 'kfnl')
  await ns.sh('ip link add va type veth peer name vb && ip link set va up && ip link set vb up && ip addr add 10.9.0.1/24 dev va && ip addr add 10.9.1.1/24 dev vb && ip addr add fd00:9::1/64 dev va nodad')
  const w = await NsWorker.start(ns, t)
  const k = <T>(method: string, ...args: unknown[]): Promise<T> => w.call<T>(mod, 'kernelCall', method, ...args)

  await w.call(mod, 'watchStart')
  await new Promise(r => setTimeout(r, 200))
  const routes: KernelRoute[] = [
    { family: 4, table: 100, prefix: '10.50.0.0/16', protocol: 201, metric: 20, nexthops: [{ dev: 'va', gateway: '10.9.0.2', weight: 1 }] },
    { family: 4, table: 100, prefix: '10.51.0.0/16', protocol: 201, metric: 20, nexthops: [{ dev: 'va', gateway: '10.9.0.2', weight: 2 }, { dev: 'vb', gateway: '10.9.1.2', weight: 1 }] },
    { family: 6, table: 100, prefix: '2001:db8::/32', protocol: 201, metric: 20, nexthops: [{ dev: 'va', gateway: 'fd00:9::2', weight: 1 }] },
  ]
  const res = await k<(Error | null)[]>('applyRoutes', [...routes.map(route => ({ op: 'add', route })),
    { op: 'add', route: { ...routes[0], prefix: '10.52.0.0/16', nexthops: [{ dev: 'nosuchdev', gateway: '10.9.0.2', weight: 1 }] } }])
  t.same(res.slice(0, 3), [null, null, null], 'three routes accepted')
  t.ok(res[3], 'the route through a missing device failed alone')
  const dumped = await k<KernelRoute[]>('dumpRoutes', 201)
  t.same(dumped.sort((x, y) => x.prefix.localeCompare(y.prefix)), routes, 'dump equals what was written (the adoption check)')
  await ns.sh('ip route add 10.70.0.0/16 via 10.9.0.2 table 100 proto static && ip route add 10.71.0.0/16 via 10.9.0.2 proto 201')
  t.equal((await k<KernelRoute[]>('dumpRoutes', 201)).length, 3, 'other protocols and the main table are not ours')
  await k('applyRoutes', [{ op: 'delete', route: routes[0] }])
  const evs = await w.call<RouteEvent[]>(mod, 'watchEvents', 300)
  t.same(evs.filter(e => e.route.prefix === '10.50.0.0/16').map(e => `${e.type} ${e.route.nexthops[0]?.dev}`), ['new va', 'del va'], 'events with device names')
  t.equal(evs.find(e => e.route.prefix === '10.51.0.0/16')?.route.nexthops.length, 2, 'multipath event whole')
  t.notMatch(execFileSync('ip', ['-n', ns.name, 'route', 'show', 'table', '100'], { encoding: 'utf8' }), /10\.50\.0\.0/, 'deleted')
})

t.test('missing kernel modules are named by our netlink port', async t => {
  const ns = await createNetns(t, 'kfnm')
  await ns.sh('ip addr add 10.0.1.10/32 dev lo')
  const w = await NsWorker.start(ns, t)
  const k = (method: string, ...args: unknown[]): Promise<unknown> => w.call(mod, 'kernelCall', method, ...args)
  const has = (m: string): boolean => { try { execFileSync('modprobe', [m], { stdio: 'ignore' }); return true } catch { return false } }
  const cases: [string, () => Promise<unknown>, RegExp][] = [
    ['vrf', () => k('ensureVrf', 'gsiv100', 100), /vrf/],
    ['ipip', () => k('ensureTunnel', { name: 'gsim0a000001', local: '10.0.1.10', remote: '10.0.0.1', ttl: 64, encapDport: 6635 }), /ipip/],
    ['ip_gre', () => k('createGre', { peerId: 'p', name: 'gsig00000001', local: '10.0.1.10', remote: '10.0.0.1', ttl: 255, mtu: 8476, addresses: [], tgwPeers: [] }), /ip_gre/],
    ['mpls_router', () => k('ensureMplsoudpListener', 6635, 1024), /mpls_router/],
  ]
  for (const [m, fn, re] of cases) {
    if (has(m)) { await t.resolves(fn(), `${m} is present here: works`); continue }
    await t.rejects(fn(), { message: new RegExp(`(module|modprobe) ${re.source}`) }, `${m} missing: the error names it`)
  }
})
