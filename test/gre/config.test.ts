// Connect peers into GRE link specs, and the reconcile plan against kernel link state.
import t from 'tap'
import { DEFAULT_GRE_MTU, greLinkName, greLinkSpec, greLinkSpecs, planGre, reportGre } from '../../gre/index.js'
import type { ConnectPeer, GreLinkState } from '../../gre/index.js'

const peer: ConnectPeer = { id: 'tgw-connect-peer-0123456789abcdef0', localAddress: '10.0.1.10', remoteAddress: '192.0.2.10', insideCidr: '169.254.6.0/29', insideCidr6: 'fd00:0:0:6::/125' }

t.test('a Connect peer becomes a GRE link spec', async t => {
  const s = greLinkSpec(peer)
  t.same(s, {
    peerId: peer.id, name: 'gsig89abcdef0'.slice(0, 4) + '9abcdef0', local: '10.0.1.10', remote: '192.0.2.10', ttl: 255, mtu: 8476,
    addresses: ['169.254.6.1/29', 'fd00:0:0:6::1/125'], tgwPeers: ['169.254.6.2', '169.254.6.3', 'fd00:0:0:6::2', 'fd00:0:0:6::3'],
  })
  t.equal(DEFAULT_GRE_MTU, 8500 - 24)
  t.equal(greLinkName('peer-a').length, 12)
  t.equal(greLinkName('peer-a'), greLinkName('peer-a'), 'deterministic')
  t.not(greLinkName('peer-a'), greLinkName('peer-b'))
  t.equal(greLinkSpec({ ...peer, vrf: 'gsiv100' }).vrf, 'gsiv100')
})

t.test('bad peers are refused naming the field', async t => {
  const cases: [Partial<ConnectPeer>, RegExp][] = [
    [{ insideCidr: '169.254.1.0/29' }, /insideCidr: 169\.254\.1\.0\/29 is reserved by AWS/],
    [{ insideCidr: '169.254.169.248/29' }, /is reserved by AWS/],
    [{ insideCidr: '10.0.0.0/29' }, /insideCidr: 10\.0\.0\.0\/29 must be a \/29 inside 169\.254\.0\.0\/16/],
    [{ insideCidr: '169.254.6.0/28' }, /must be a \/29/],
    [{ insideCidr: '169.254.6.1/29' }, /insideCidr: "169\.254\.6\.1\/29" has host bits set/],
    [{ insideCidr6: 'fe80::/125' }, /insideCidr6: fe80::\/125 must be a \/125 inside fd00::\/8/],
    [{ localAddress: 'node' }, /localAddress: "node" is not an IPv4 or IPv6 address/],
    [{ remoteAddress: '2001:db8::1' }, /remoteAddress: "2001:db8::1" is not an IPv4 address/],
    [{ remoteAddress: '10.0.1.10' }, /remoteAddress: equals localAddress/],
    [{ mtu: 9001 }, /mtu: 9001 is not an integer in 1280-8476/],
    [{ ttl: 0 }, /ttl: 0 is not an integer in 1-255/],
    [{ id: '' }, /connectPeers\[0\]\.id: a non-empty Connect peer id is required/],
  ]
  for (const [patch, re] of cases) t.throws(() => greLinkSpec({ ...peer, ...patch } as ConnectPeer), re, re.source)
  t.throws(() => greLinkSpecs([peer, { ...peer, id: 'other' }]), /connectPeers\[1\]\.insideCidr: conflicts with connectPeers\[0\]/)
  t.throws(() => greLinkSpecs([peer, { ...peer, id: 'other', insideCidr: '169.254.7.0/29', insideCidr6: 'fd00:0:0:7::/125' }]), /connectPeers\[1\]\.remoteAddress: conflicts with connectPeers\[0\] \(pair 10\.0\.1\.10 192\.0\.2\.10\)/)
})

const spec = greLinkSpec({ ...peer, vrf: 'gsiv100' })
const good: GreLinkState = { name: spec.name, kind: 'gre', local: spec.local, remote: spec.remote, ttl: 255, ikey: 0, okey: 0, mtu: 8476, up: true, running: true, master: 'gsiv100', addresses: ['169.254.6.1/29', 'fd00:0:0:6::1/125', 'fe80::a00:10a/64'] }

t.test('plan: nothing when the kernel already matches', async t => {
  t.same(planGre([spec], [good]), [])
  t.same(reportGre([spec], [good])[0]?.state, 'up')
  t.equal(reportGre([spec], [good])[0]?.inSync, true)
})

t.test('plan: create everything for a missing link', async t => {
  t.same(planGre([spec], []).map(a => a.type), ['create', 'set-master', 'add-address', 'add-address', 'set-mtu', 'set-up'])
  t.equal(reportGre([spec], [])[0]?.state, 'missing')
})

t.test('plan: fix only what differs', async t => {
  const drifted: GreLinkState = { ...good, remote: '192.0.2.11', mtu: 1476, up: false, running: false, master: undefined as unknown as string, addresses: ['169.254.6.1/29', '169.254.9.1/29'] }
  const { master: _m, ...noMaster } = drifted
  const acts = planGre([spec], [noMaster])
  t.same(acts, [
    { type: 'change', spec },
    { type: 'set-master', name: spec.name, master: 'gsiv100' },
    { type: 'set-mtu', name: spec.name, mtu: 8476 },
    { type: 'add-address', name: spec.name, address: 'fd00:0:0:6::1/125' },
    { type: 'del-address', name: spec.name, address: '169.254.9.1/29' },
    { type: 'set-up', name: spec.name },
  ])
  t.equal(reportGre([spec], [noMaster])[0]?.state, 'down')
  t.equal(reportGre([spec], [noMaster])[0]?.inSync, false)
  t.same(planGre([spec], [{ ...good, ikey: 5 }]).map(a => a.type), ['change'], 'a key is cleared')
  t.same(planGre([spec], [{ ...good, kind: 'ipip' }]).map(a => a.type).slice(0, 2), ['delete', 'create'], 'wrong kind is recreated')
})

t.test('plan: delete our links nobody wants, never others', async t => {
  const other: GreLinkState = { ...good, name: 'gre-customer' }
  const stale: GreLinkState = { ...good, name: 'gsig00000000' }
  t.same(planGre([spec], [good, other, stale]), [{ type: 'delete', name: 'gsig00000000' }])
  t.same(planGre([], [other]), [])
})
