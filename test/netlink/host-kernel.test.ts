/**
 * src/netlink against this host's kernel, inside a network namespace the test creates (veth,
 * addresses, IPv4/IPv6 routes in a table with our protocol, metrics, multipath with weights, replace,
 * delete restricted to our protocol, batches with per-request errors, events, rp_filter, and the
 * errors for modules this kernel may lack). The scenarios run in the namespace through NsWorker.
 */
import t from 'tap'
import { createNetns, kernelSupports, NsWorker } from '../kernel/lib/index.js'

const scenarios = new URL('./scenarios.ts', import.meta.url)

t.test('host kernel', async t => {
  const ns = await createNetns(t, 'nlh')
  const w = await NsWorker.start(ns, t)

  t.test('links and addresses', async t => {
    const r = await w.call<{
      ours: { name: string; kind: string; up: boolean; mtu: number }[]; addrs: string[]; after: string[]
      dup: { code: string; message: string }; missing: { code: string; message: string }
      ipView: { mtu: number; up: boolean; addrs: string[] }
    }>(scenarios, 'links')
    const gv0 = r.ours.find(l => l.name === 'gv0')
    t.same(gv0, { name: 'gv0', kind: 'veth', up: true, mtu: 1400 }, 'created veth as asked, seen by our dump')
    t.ok(r.ours.find(l => l.name === 'gv1')?.up, 'peer brought up')
    t.same(r.addrs, ['10.77.0.1/24', 'fd77::1/64'], 'addresses listed')
    t.equal(r.ipView.mtu, 1400, 'iproute2 sees the MTU')
    t.ok(r.ipView.up, 'iproute2 sees it up')
    t.ok(r.ipView.addrs.includes('10.77.0.1/24') && r.ipView.addrs.includes('fd77::1/64'), 'iproute2 sees both addresses')
    t.equal(r.dup.code, 'EEXIST')
    t.match(r.dup.message, /veth link gv0.*already exists/)
    t.equal(r.missing.code, 'ENODEV')
    t.match(r.missing.message, /nosuchlink/)
    t.same(r.after, [], 'deleting one end of the pair removed both')
  })

  t.test('routes', async t => {
    const r = await w.call<{
      dup: { code: string; message: string }; unreachable: { code: string; message: string }; badInput: { message: string }
      dumpOurs: { dst: string; metric: number; type: string; mtu: number | null; nh: string[] }[]; dumpAll: number
      ipView: string; notOurs: { code: string }; delResults: (string | null)[]; left: string[]
    }>(scenarios, 'routes')
    t.same(r.dumpOurs, [
      { dst: '10.100.0.0/16', metric: 0, type: 'unicast', mtu: null, nh: ['10.78.0.9@rv0x1'] },
      { dst: '10.101.0.0/16', metric: 50, type: 'unicast', mtu: 1300, nh: ['10.78.0.2@rv0x1'] },
      { dst: '10.102.0.0/16', metric: 0, type: 'unicast', mtu: null, nh: ['10.78.0.2@rv0x3', '10.78.0.3@rv0x1'] },
      { dst: '10.103.0.0/16', metric: 0, type: 'blackhole', mtu: null, nh: [] },
      { dst: 'fd99::/48', metric: 1024, type: 'unicast', mtu: null, nh: ['fd78::2@rv0x1'] },
    ], 'dump filtered by table and protocol: replaced next hop, metric, MTU metric, weights, blackhole, IPv6')
    t.equal(r.dumpAll, 6, 'without the protocol filter the static route shows too')
    t.match(r.ipView, /10\.102\.0\.0\/16[\s\S]*nexthop via 10\.78\.0\.2 dev rv0 weight 3[\s\S]*nexthop via 10\.78\.0\.3 dev rv0 weight 1/, 'iproute2 sees the weighted multipath route')
    t.match(r.ipView, /10\.101\.0\.0\/16 via 10\.78\.0\.2 dev rv0 metric 50 mtu 1300/, 'iproute2 sees metric and mtu')
    t.equal(r.dup.code, 'EEXIST')
    t.match(r.dup.message, /route 10\.100\.0\.0\/16 table 1234.*already exists/)
    t.equal(r.unreachable.code, 'ENETUNREACH')
    t.match(r.badInput.message, /route\.dst.*host bits/)
    t.equal(r.notOurs.code, 'ESRCH', 'a delete carrying our protocol does not remove a static route')
    t.same(r.delResults, [null, 'ESRCH', null], 'one outcome per delete in the batch')
    t.ok(r.left.includes('10.104.0.0/16'), 'the static route is still there')
    t.notOk(r.left.includes('10.100.0.0/16'), 'our deleted route is gone')
  })

  t.test('batch outcomes matched to requests', async t => {
    const n = 3000
    const r = await w.call<{ failed: Record<string, number[]>; installed: number; dumped: number; sample: string }>(scenarios, 'batchOutcomes', n)
    const dupes: number[] = []
    const unreach: number[] = []
    for (let i = 0; i < n; i++) {
      if (i % 101 === 100) unreach.push(i)
      // A duplicate fails only if the route it repeats was installed.
      else if (i % 97 === 96 && (i - 1) % 101 !== 100) dupes.push(i)
    }
    t.same(r.failed.EEXIST, dupes, 'exactly the duplicates failed with EEXIST, across chunks')
    t.same(r.failed.ENETUNREACH, unreach, 'exactly the bad gateways failed with ENETUNREACH')
    t.same(Object.keys(r.failed).sort(), ['EEXIST', 'ENETUNREACH'])
    t.equal(r.installed, n - dupes.length - unreach.length, 'every other route was installed')
    t.equal(r.dumped, r.installed)
    t.match(r.sample, /^cannot add route 10\.\d+\.\d+\.\d+\/32 table 2345: it already exists/)
  })

  t.test('events', async t => {
    const r = await w.call<{ routeNew: boolean; routeDel: boolean; linkDown: boolean }>(scenarios, 'events')
    t.same(r, { routeNew: true, routeDel: true, linkDown: true }, 'route added, route deleted by someone else, link down')
  })

  t.test('rp_filter sysctl', async t => {
    const r = await w.call<{ two: number; zero: number; bad: string; fromProc: string }>(scenarios, 'sysctls')
    t.equal(r.two, 2)
    t.equal(r.zero, 0)
    t.equal(r.fromProc, '0')
    t.match(r.bad, /no-such-dev.*does not exist/)
  })

  t.test('missing modules are named', async t => {
    const r = await w.call<Record<string, 'ok' | { code: string; message: string; module: string | null }>>(scenarios, 'missingModules')
    const expect: [string, string, 'gre' | 'fou' | 'mpls'][] = [['gre', 'ip_gre', 'gre'], ['fou', 'fou', 'fou'], ['mpls', 'mpls_router', 'mpls']]
    for (const [key, module, kind] of expect) {
      const has = await kernelSupports(kind)
      const v = r[key]
      if (has) t.equal(v, 'ok', `${key}: this kernel has ${module}, so it worked`)
      else {
        t.not(v, 'ok', `${key} failed without ${module}`)
        if (v !== 'ok' && v) t.match(v.message, new RegExp(`modprobe ${module}`), `${key}: the error names ${module}`)
      }
    }
    const g = r.genl
    t.not(g, 'ok')
    if (g && g !== 'ok') t.match(g.message, /gsi_nofam.*modprobe gsi_nomod/, 'unknown genl family: the error names the module')
  })
})
