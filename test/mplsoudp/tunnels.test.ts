// MPLSoUDP tunnels: deterministic names, reference counts, and the create/remove plan.
import t from 'tap'
import { planTunnels, TunnelRefs, tunnelName, tunnelRemote, tunnelSpec } from '../../mplsoudp/tunnels.js'
import type { TunnelLink } from '../../mplsoudp/tunnels.js'

t.test('names derive from the vRouter address and map back', async t => {
  t.equal(tunnelName('10.0.1.2'), 'gsim0a000102')
  t.equal(tunnelName('192.168.255.1'), 'gsimc0a8ff01')
  t.equal(tunnelRemote('gsimc0a8ff01'), '192.168.255.1')
  t.ok(tunnelName('255.255.255.255').length <= 15)
  t.equal(tunnelRemote('eth0'), undefined)
  t.equal(tunnelRemote('gsim0a00010'), undefined, 'seven digits are not ours')
  t.throws(() => tunnelName('fd00::1'), /vrouter: "fd00::1" is not an IPv4 address/)
  for (let i = 0; i < 200; i++) {
    const a = [i, (i * 7) & 255, (i * 13) & 255, (i * 31) & 255].join('.')
    t.equal(tunnelRemote(tunnelName(a)), a)
  }
})

t.test('reference counts cross zero exactly once each way', async t => {
  const r = new TunnelRefs()
  t.equal(r.add('10.0.0.1'), true, 'first route creates')
  t.equal(r.add('10.0.0.1'), false)
  t.equal(r.add('10.0.0.2'), true)
  t.equal(r.count('10.0.0.1'), 2)
  t.equal(r.remove('10.0.0.1'), false)
  t.equal(r.remove('10.0.0.1'), true, 'last route removes')
  t.same([...r.vrouters()], ['10.0.0.2'])
  t.throws(() => r.remove('10.0.0.1'), /released more often than acquired/)
})

t.test('plan: create missing or different tunnels, remove unused ones of ours only', async t => {
  const a = tunnelSpec('10.0.0.1', '10.9.9.9')
  const b = tunnelSpec('10.0.0.2', '10.9.9.9')
  const wanted = new Map([[a.name, a], [b.name, b]])
  const actual: TunnelLink[] = [
    { ...a, up: true },
    { ...tunnelSpec('10.0.0.3', '10.9.9.9'), up: true },
    { name: 'tunl0', local: '0.0.0.0', remote: '0.0.0.0', ttl: 0, encapDport: 0, up: false },
  ]
  const p = planTunnels(wanted, actual)
  t.same(p.ensure.map(s => s.name), [b.name])
  t.same(p.remove, ['gsim0a000003'], 'tunl0 is not ours')
  const p2 = planTunnels(wanted, [{ ...a, ttl: 3, up: true }, { ...b, up: false }])
  t.same(p2.ensure.map(s => s.name), [a.name, b.name], 'wrong ttl and down are both fixed')
  t.same(planTunnels(wanted, [{ ...a, up: true }, { ...b, up: true }]), { ensure: [], remove: [] })
})
