/**
 * FibWriter.visitDesired: the desired routes handed back in the gateway's terms (what gsictl show fib
 * lists), from the writer's kernel form: MPLS next hops as vRouter + label (IPv4 and IPv6 prefixes;
 * IPv6 ones carry the writer's fe80::1 gateway), GRE next hops as link + gateway, weights, ECMP; a
 * deleted route no longer visited. Nothing is written: the writer is never started, so its kernel
 * port is never called (a call would throw).
 */
import t from 'tap'
import { FibWriter } from '../../src/fib/writer.js'
import type { DesiredRoute, FibKernel } from '../../src/fib/types.js'

const untouchable = new Proxy({}, { get: (_t, name) => { throw new Error(`kernel.${String(name)} called`) } }) as FibKernel

t.test('desired routes come back as they were set', async (t) => {
  const w = new FibWriter({ kernel: untouchable, localAddress: '198.18.1.2' })
  w.setTables([{ table: 100, label: 1000 }, { table: 101, label: 1001 }])
  const routes: DesiredRoute[] = [
    { table: 100, prefix: '10.244.1.5/32', nexthops: [{ kind: 'mpls', vrouter: '198.18.100.1', label: 101, weight: 1 }, { kind: 'mpls', vrouter: '198.18.100.2', label: 102, weight: 3 }] },
    { table: 100, prefix: 'fd00:244::5/128', nexthops: [{ kind: 'mpls', vrouter: '198.18.100.1', label: 103, weight: 1 }] },
    { table: 101, prefix: '10.0.0.0/16', nexthops: [{ kind: 'gre', link: 'gsig0000000001', gateway: '169.254.6.2', weight: 1 }, { kind: 'gre', link: 'gsig0000000001', gateway: '169.254.6.3', weight: 1 }] },
  ]
  for (const r of routes) w.setRoute(r)
  const seen: DesiredRoute[] = []
  w.visitDesired((r) => seen.push(r))
  const byPrefix = (a: DesiredRoute, b: DesiredRoute): number => (a.prefix < b.prefix ? -1 : 1)
  t.same(seen.sort(byPrefix), [...routes].sort(byPrefix))
  t.ok(w.deleteRoute(100, '10.244.1.5/32'))
  const after: string[] = []
  w.visitDesired((r) => after.push(r.prefix))
  t.same(after.sort(), ['10.0.0.0/16', 'fd00:244::5/128'], 'a deleted route is not visited')
})
