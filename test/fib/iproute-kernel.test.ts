// The iproute2 kernel port on this host's kernel, in a namespace of our own: routes with our
// protocol round-trip through dump (single path, multipath with weights, IPv6), batches report
// errors per line, route events arrive, and the FIB writer adopts, repairs and never touches the main
// table. The host kernel has no VRF, fou or MPLS: the missing-module errors name the module.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { IprouteKernel, parseRouteText, routeArgs } from '../../src/fib/index.js'
import type { KernelRoute, RouteEvent } from '../../src/fib/index.js'

const ns = `kfip${process.pid % 100000}`
const sh = (cmd: string, input = ''): string => execFileSync('sh', ['-c', cmd], { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] })
t.teardown(() => { try { sh(`ip netns del ${ns}`) } catch { /* gone */ } })

t.test('parse iproute2 route text (as printed by the Debian 6.1 kernel in the VM)', async t => {
  const text = [
    '10.60.0.0/16 via 169.254.6.2 dev gsig00000001 table 100 proto 201 metric 20 ',
    '10.244.1.0/24  encap mpls  301/17 dev gsim0a000201 table 100 proto 201 scope link metric 20 ',
    '10.244.9.0/24 table 100 proto 201 metric 20 ',
    '\tnexthop  encap mpls  309 dev gsim0a000201 weight 3 ',
    '\tnexthop  encap mpls  319 dev gsim0a000202 weight 1 ',
    'local 169.254.6.1 dev gsig00000001 table 100 proto kernel scope host src 169.254.6.1 ',
    '2001:db8::/32 via fd00::2 dev gsig00000001 table 100 proto 201 metric 20 pref medium',
  ].join('\n')
  const rs = parseRouteText(text)
  t.same(rs, [
    { family: 4, table: 100, prefix: '10.60.0.0/16', protocol: 201, metric: 20, nexthops: [{ dev: 'gsig00000001', gateway: '169.254.6.2', weight: 1 }] },
    { family: 4, table: 100, prefix: '10.244.1.0/24', protocol: 201, metric: 20, nexthops: [{ dev: 'gsim0a000201', labels: [301, 17], weight: 1 }] },
    { family: 4, table: 100, prefix: '10.244.9.0/24', protocol: 201, metric: 20, nexthops: [{ dev: 'gsim0a000201', labels: [309], weight: 3 }, { dev: 'gsim0a000202', labels: [319], weight: 1 }] },
    { family: 6, table: 100, prefix: '2001:db8::/32', protocol: 201, metric: 20, nexthops: [{ dev: 'gsig00000001', gateway: 'fd00::2', weight: 1 }] },
  ], 'local routes skipped, labels, weights, IPv6')
  t.equal(routeArgs(rs[2] as KernelRoute), '10.244.9.0/24 table 100 proto 201 metric 20 nexthop encap mpls 309 dev gsim0a000201 weight 3 nexthop encap mpls 319 dev gsim0a000202 weight 1')
})

t.test('routes round-trip through the kernel; errors per op; events', async t => {
  sh(`ip netns add ${ns}`)
  sh(`ip -n ${ns} -batch -`, ['link set lo up', 'link add va type veth peer name vb', 'link set va up', 'link set vb up',
    'addr add 10.9.0.1/24 dev va', 'addr add 10.9.1.1/24 dev vb', 'addr add fd00:9::1/64 dev va nodad', ''].join('\n'))
  const k = new IprouteKernel({ netns: ns })
  const events: RouteEvent[] = []
  const unwatch = k.watchRoutes(ev => events.push(ev), err => t.fail(err.message))
  t.teardown(unwatch)
  await new Promise(r => setTimeout(r, 300))
  const routes: KernelRoute[] = [
    { family: 4, table: 100, prefix: '10.50.0.0/16', protocol: 201, metric: 20, nexthops: [{ dev: 'va', gateway: '10.9.0.2', weight: 1 }] },
    { family: 4, table: 100, prefix: '10.51.0.0/16', protocol: 201, metric: 20, nexthops: [{ dev: 'va', gateway: '10.9.0.2', weight: 2 }, { dev: 'vb', gateway: '10.9.1.2', weight: 1 }] },
    { family: 6, table: 100, prefix: '2001:db8::/32', protocol: 201, metric: 20, nexthops: [{ dev: 'va', gateway: 'fd00:9::2', weight: 1 }] },
  ]
  const res = await k.applyRoutes([...routes.map(route => ({ op: 'add' as const, route })),
    { op: 'add', route: { ...routes[0]!, prefix: '10.52.0.0/16', nexthops: [{ dev: 'nosuchdev', gateway: '10.9.0.2', weight: 1 }] } }])
  t.same(res.slice(0, 3), [undefined, undefined, undefined])
  t.match(res[3]?.message, /add route 10\.52\.0\.0\/16 table 100: .*(Cannot find device|No such device)/, 'the failed op names its route and cause')
  const dumped = await k.dumpRoutes(201)
  t.same(dumped.sort((x, y) => x.prefix.localeCompare(y.prefix)), routes, 'dump equals what was written')
  // A route of someone else (another protocol, main table) is not ours.
  sh(`ip -n ${ns} route add 10.70.0.0/16 via 10.9.0.2 table 100 proto static && ip -n ${ns} route add 10.71.0.0/16 via 10.9.0.2 proto 201`)
  t.equal((await k.dumpRoutes(201)).length, 3, 'other protocols and the main table are not dumped')
  await k.applyRoutes([{ op: 'delete', route: routes[0]! }])
  await new Promise(r => setTimeout(r, 300))
  const mine = events.filter(e => e.route.prefix === '10.50.0.0/16')
  t.same(mine.map(e => e.type), ['new', 'del'], 'events for our add and delete')
  t.same(events.find(e => e.route.prefix === '10.51.0.0/16')?.route.nexthops.length, 2, 'multipath event parsed whole')
})

t.test('missing kernel modules are named (this host has no vrf, ipip, fou, mpls)', async t => {
  const k = new IprouteKernel({ netns: ns })
  const has = (m: string): boolean => { try { sh(`modprobe ${m} 2>/dev/null`); return true } catch { return false } }
  const cases: [string, () => Promise<unknown>, RegExp][] = [
    ['vrf', () => k.ensureVrf('gsiv100', 100), /kernel module vrf is missing \(modprobe vrf\)/],
    ['mpls_router', () => k.ensureMplsoudpListener(6635, 1024), /kernel module mpls_router is missing/],
    ['ipip', () => k.ensureTunnel({ name: 'gsim0a000001', local: '10.9.0.1', remote: '10.0.0.1', ttl: 64, encapDport: 6635 }), /kernel module ipip is missing \(modprobe ipip\)/],
    ['ip_gre', () => k.createGre({ peerId: 'p', name: 'gsig00000001', local: '10.9.0.1', remote: '10.0.0.1', ttl: 255, mtu: 8476, addresses: [], tgwPeers: [] }), /kernel module ip_gre is missing/],
  ]
  for (const [mod, fn, re] of cases) {
    if (has(mod)) { await t.resolves(fn(), `${mod} present here: works`); continue }
    await t.rejects(fn(), re, `${mod} missing: the error names it`)
  }
})
