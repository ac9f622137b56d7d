// The FIB writer's pure core: desired routes into kernel routes, and the smallest diff.
import t from 'tap'
import fc from 'fast-check'
import { diffLabelRoutes, diffRoutes, nextHopsKey, routeKey, toKernelRoute } from '../../src/fib/diff.js'
import type { DesiredRoute, KernelRoute } from '../../src/fib/types.js'

const o = { protocol: 201, metric: 20 }

t.test('MPLS and GRE next hops become kernel next hops', async t => {
  const r = toKernelRoute({ table: 100, prefix: '10.1.0.0/24', nexthops: [{ kind: 'mpls', vrouter: '10.0.0.1', label: 300 }, { kind: 'mpls', vrouter: '10.0.0.2', label: 301, weight: 2 }] }, o)
  t.same(r, { family: 4, table: 100, prefix: '10.1.0.0/24', protocol: 201, metric: 20, nexthops: [{ dev: 'gsim0a000001', labels: [300], weight: 1 }, { dev: 'gsim0a000002', labels: [301], weight: 2 }] })
  const g = toKernelRoute({ table: 100, prefix: '2001:DB8::/32', nexthops: [{ kind: 'gre', link: 'gsig01234567', gateway: 'FD00::2', weight: 7 }] }, o)
  t.same(g.nexthops, [{ dev: 'gsig01234567', gateway: 'fd00::2', weight: 1 }], 'canonical text; single next hop has no weight')
  const dup = toKernelRoute({ table: 100, prefix: '10.1.0.0/24', nexthops: [{ kind: 'mpls', vrouter: '10.0.0.1', label: 300 }, { kind: 'mpls', vrouter: '10.0.0.1', label: 300 }, { kind: 'mpls', vrouter: '10.0.0.2', label: 300 }] }, o)
  t.same(dup.nexthops.map(n => n.weight), [2, 1], 'duplicates merge into weight')
})

t.test('bad routes are refused with the field and the reason', async t => {
  const bad: [DesiredRoute, RegExp][] = [
    [{ table: 254, prefix: '10.0.0.0/8', nexthops: [{ kind: 'mpls', vrouter: '10.0.0.1', label: 100 }] }, /table: 254 is a reserved table \(main/],
    [{ table: 0, prefix: '10.0.0.0/8', nexthops: [{ kind: 'mpls', vrouter: '10.0.0.1', label: 100 }] }, /table: 0 is not a table id/],
    [{ table: 100, prefix: '10.0.0.1/8', nexthops: [{ kind: 'mpls', vrouter: '10.0.0.1', label: 100 }] }, /prefix: "10\.0\.0\.1\/8" has host bits set/],
    [{ table: 100, prefix: '10.0.0.0/8', nexthops: [] }, /nexthops: at least one next hop is required/],
    [{ table: 100, prefix: '10.0.0.0/8', nexthops: [{ kind: 'mpls', vrouter: '10.0.0.1', label: 3 }] }, /nexthops\[0\]\.label: 3 is not a usable MPLS label/],
    [{ table: 100, prefix: '10.0.0.0/8', nexthops: [{ kind: 'mpls', vrouter: '10.0.0.1', label: 1 << 20 }] }, /label: 1048576 is not a usable/],
    [{ table: 100, prefix: '10.0.0.0/8', nexthops: [{ kind: 'mpls', vrouter: 'x', label: 100 }] }, /nexthops\[0\]\.vrouter: "x" is not an IPv4 or IPv6 address/],
    [{ table: 100, prefix: '10.0.0.0/8', nexthops: [{ kind: 'gre', link: 'gsig1', gateway: 'fd00::2' }] }, /gateway: fd00::2 is IPv6 but the prefix is IPv4/],
    [{ table: 100, prefix: '10.0.0.0/8', nexthops: [{ kind: 'gre', link: 'a-very-long-link-name', gateway: '169.254.6.2' }] }, /link: "a-very-long-link-name" is not a link name/],
    [{ table: 100, prefix: '10.0.0.0/8', nexthops: [{ kind: 'mpls', vrouter: '10.0.0.1', label: 100, weight: 0 }] }, /weight: 0 is not a weight/],
  ]
  for (const [r, re] of bad) t.throws(() => toKernelRoute(r, o), re, re.source)
})

t.test('next hop order does not matter; single-path weight does not matter', async t => {
  const a = toKernelRoute({ table: 100, prefix: '10.1.0.0/24', nexthops: [{ kind: 'mpls', vrouter: '10.0.0.1', label: 300 }, { kind: 'mpls', vrouter: '10.0.0.2', label: 301 }] }, o)
  const b: KernelRoute = { ...a, nexthops: [...a.nexthops].reverse() }
  t.equal(nextHopsKey(a), nextHopsKey(b))
  const c: KernelRoute = { ...a, nexthops: [a.nexthops[0]!, { ...a.nexthops[1]!, labels: [302] }] }
  t.not(nextHopsKey(a), nextHopsKey(c), 'a different label is a different route')
})

const route = (table: number, prefix: string, vr: string, label: number): KernelRoute =>
  toKernelRoute({ table, prefix, nexthops: [{ kind: 'mpls', vrouter: vr, label }] }, o)
const byKey = (rs: KernelRoute[]): Map<string, KernelRoute> => new Map(rs.map(r => [routeKey(r), r]))

t.test('diff: equal routes give nothing (adoption), changes give the minimum', async t => {
  const desired = byKey([route(100, '10.1.0.0/24', '10.0.0.1', 300), route(100, '10.2.0.0/24', '10.0.0.1', 300), route(101, '10.3.0.0/24', '10.0.0.2', 400)])
  const sameCopy = byKey([...desired.values()].map(r => JSON.parse(JSON.stringify(r)) as KernelRoute))
  t.same(diffRoutes(desired, sameCopy, { deleteUnwanted: true }), [], 'nothing to do when the kernel already holds it')
  const actual = byKey([route(100, '10.1.0.0/24', '10.0.0.1', 300), route(100, '10.2.0.0/24', '10.0.0.1', 999), route(100, '10.9.0.0/24', '10.0.0.1', 300)])
  const ops = diffRoutes(desired, actual, { deleteUnwanted: true })
  t.same(ops.map(x => `${x.op} ${x.route.prefix}`), ['replace 10.2.0.0/24', 'add 10.3.0.0/24', 'delete 10.9.0.0/24'], 'deletes come last')
  t.same(diffRoutes(desired, actual, { deleteUnwanted: false }).map(x => x.op), ['replace', 'add'], 'no deletes before ready')
  t.same(diffRoutes(desired, actual, { deleteUnwanted: true, keys: [routeKey(route(100, '10.9.0.0/24', '10.0.0.1', 16))] }).map(x => x.op), ['delete'], 'only the keys asked')
})

t.test('diff property: applying the ops to actual yields desired', async t => {
  const arbRoute = fc.record({ t: fc.integer({ min: 100, max: 102 }), n: fc.integer({ min: 0, max: 20 }), v: fc.integer({ min: 1, max: 3 }), l: fc.integer({ min: 16, max: 18 }) })
    .map(x => route(x.t, `10.${x.n}.0.0/16`, `10.0.0.${x.v}`, x.l))
  fc.assert(fc.property(fc.array(arbRoute, { maxLength: 30 }), fc.array(arbRoute, { maxLength: 30 }), (d, a) => {
    const desired = byKey(d), actual = byKey(a)
    const ops = diffRoutes(desired, actual, { deleteUnwanted: true })
    const result = new Map(actual)
    for (const op of ops) {
      if (op.op === 'delete') result.delete(routeKey(op.route))
      else result.set(routeKey(op.route), op.route)
    }
    const sig = (m: Map<string, KernelRoute>): string => [...m].map(([k, r]) => `${k}=${nextHopsKey(r)}`).sort().join(';')
    return sig(result) === sig(desired) && diffRoutes(desired, result, { deleteUnwanted: true }).length === 0
      && ops.length <= new Set([...desired.keys(), ...actual.keys()]).size
  }), { numRuns: 500 })
  t.pass('holds')
})

t.test('label routes: pop into the table VRF', async t => {
  const want = new Map([[100, { label: 100, protocol: 201, dev: 'gsiv100' }], [101, { label: 101, protocol: 201, dev: 'gsiv101' }]])
  const have = new Map([[100, { label: 100, protocol: 201, dev: 'gsiv100' }], [101, { label: 101, protocol: 201, dev: 'gsiv999' }], [102, { label: 102, protocol: 201, dev: 'gsiv102' }]])
  t.same(diffLabelRoutes(want, have, true).map(x => `${x.op} ${x.route.label}`), ['replace 101', 'delete 102'])
  t.same(diffLabelRoutes(want, have, false).map(x => `${x.op} ${x.route.label}`), ['replace 101'])
})
