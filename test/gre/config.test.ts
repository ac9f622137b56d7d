// Connect peers into GRE link specs, the reconcile plan against kernel link state, and the
// reconcile's control flow when the kernel refuses a change in place.
import t from 'tap'
import { changeableInPlace, DEFAULT_GRE_MTU, greLinkName, greLinkSpec, greLinkSpecs, planGre, reconcileGre, reportGre, setupActions } from '../../gre/index.js'
import type { ConnectPeer, GreKernel, GreLinkSpec, GreLinkState } from '../../gre/index.js'
import { NetlinkError } from '../../src/netlink/index.js'

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
  t.same(planGre([spec], [{ ...good, kind: 'ipip' }]).map(a => a.type), ['recreate', 'set-master', 'add-address', 'add-address', 'set-mtu', 'set-up'], 'wrong kind is recreated, then set up as new')
})

t.test('plan: tunnel parameters change in place; address work is planned against the link as it stays', async t => {
  const moved: GreLinkState = { ...good, remote: '192.0.2.99', ttl: 64, addresses: ['169.254.6.1/29', 'fe80::a00:10a/64'] }
  t.same(planGre([spec], [moved]), [
    { type: 'change', spec },
    { type: 'add-address', name: spec.name, address: 'fd00:0:0:6::1/125' },
  ], 'one change in place, and only the address the link lacks: the kept one is not added again')
  t.ok(changeableInPlace(moved))
})

t.test('plan: a link the kernel cannot change in place is recreated and set up as a new one', async t => {
  // A GRE link without a remote is not point-to-point; Linux refuses to make it one in place (EINVAL).
  const anyRemote: GreLinkState = { ...good, remote: '' }
  t.notOk(changeableInPlace(anyRemote))
  t.same(planGre([spec], [anyRemote]), [{ type: 'recreate', spec }, ...setupActions(spec)])
  t.same(setupActions(spec).map(a => a.type), ['set-master', 'add-address', 'add-address', 'set-mtu', 'set-up'])
})

/** A GreKernel that holds links in memory and records calls; `refuse` makes changeGre answer as the
 * kernel does for a change it will not make in place. Only for the executor's control flow: the real
 * kernel's behaviour is tested in the VM (test/kernel/gre-in-place.test.ts). */
class RecordingGre implements GreKernel {
  calls: string[] = []
  links = new Map<string, GreLinkState>()
  constructor(private readonly refuse?: NetlinkError) {}
  async listGreLinks(): Promise<GreLinkState[]> { return [...this.links.values()] }
  async createGre(s: GreLinkSpec): Promise<void> {
    this.calls.push(`create ${s.name}`)
    this.links.set(s.name, { name: s.name, kind: 'gre', local: s.local, remote: s.remote, ttl: s.ttl, ikey: 0, okey: 0, mtu: 1476, up: false, running: false, addresses: [] })
  }
  async changeGre(s: GreLinkSpec): Promise<void> {
    this.calls.push(`change ${s.name}`)
    if (this.refuse) throw this.refuse
    const l = this.links.get(s.name) as GreLinkState
    this.links.set(s.name, { ...l, local: s.local, remote: s.remote, ttl: s.ttl })
  }
  async deleteLink(n: string): Promise<void> { this.calls.push(`delete ${n}`); this.links.delete(n) }
  async setMtu(n: string, mtu: number): Promise<void> { this.calls.push(`mtu ${n}`); this.patch(n, { mtu }) }
  async setMaster(n: string, master: string | null): Promise<void> { this.calls.push(`master ${n}`); this.patch(n, master === null ? {} : { master }) }
  async setUp(n: string): Promise<void> { this.calls.push(`up ${n}`); this.patch(n, { up: true, running: true }) }
  async addAddress(n: string, a: string): Promise<void> { this.calls.push(`add ${a}`); this.patch(n, { addresses: [...(this.links.get(n)?.addresses ?? []), a] }) }
  async delAddress(n: string, a: string): Promise<void> { this.calls.push(`del ${a}`); this.patch(n, { addresses: (this.links.get(n)?.addresses ?? []).filter(x => x !== a) }) }
  private patch(n: string, p: Partial<GreLinkState>): void { this.links.set(n, { ...(this.links.get(n) as GreLinkState), ...p }) }
}

const { insideCidr6: _v6, ...plain } = peer
const plainSpec = greLinkSpec(plain)

t.test('reconcile: a change in place keeps the link; the writer is not told', async t => {
  const k = new RecordingGre()
  await reconcileGre(k, [plain], { mssClamp: false })
  k.calls = []
  const told: string[][] = []
  const r = await reconcileGre(k, [{ ...plain, remoteAddress: '192.0.2.77', ttl: 64 }], { mssClamp: false, onRecreated: l => { told.push([...l]) } })
  t.same(k.calls, [`change ${plainSpec.name}`])
  t.same(r.recreated, [])
  t.same(told, [])
  t.same(r.errors, [])
})

t.test('reconcile: a change the kernel refuses in place becomes a recreate, set up whole, and the writer is told', async t => {
  const k = new RecordingGre(new NetlinkError(22, { op: 'change', object: `link ${plainSpec.name}` }))
  await reconcileGre(k, [plain], { mssClamp: false })
  k.links.set(plainSpec.name, { ...(k.links.get(plainSpec.name) as GreLinkState), mtu: 1400 })
  k.calls = []
  const told: string[][] = []
  const r = await reconcileGre(k, [{ ...plain, remoteAddress: '192.0.2.77' }], { mssClamp: false, onRecreated: l => { told.push([...l]) } })
  t.same(k.calls, [`change ${plainSpec.name}`, `delete ${plainSpec.name}`, `create ${plainSpec.name}`, 'add 169.254.6.1/29', `mtu ${plainSpec.name}`, `up ${plainSpec.name}`],
    'the set-mtu planned against the old link is replaced by the set-up of the new one (not done twice)')
  t.same(r.actions.map(a => a.type), ['change', 'recreate', 'add-address', 'set-mtu', 'set-up'])
  t.same(r.recreated, [plainSpec.name])
  t.same(told, [[plainSpec.name]], 'told once, after the set-up')
  t.same(r.errors, [])
  t.equal(r.links[0]?.inSync, true)
})

t.test('reconcile: any other kernel error is reported, not papered over with a recreate', async t => {
  const k = new RecordingGre(new NetlinkError(17, { op: 'change', object: `link ${plainSpec.name}` }))
  await reconcileGre(k, [plain], { mssClamp: false })
  k.calls = []
  const r = await reconcileGre(k, [{ ...plain, remoteAddress: '192.0.2.77' }], { mssClamp: false })
  t.same(k.calls, [`change ${plainSpec.name}`])
  t.equal(r.errors.length, 1)
  t.match(r.errors[0]?.message, /EEXIST/)
  t.same(r.recreated, [])
})

t.test('plan: delete our links nobody wants, never others', async t => {
  const other: GreLinkState = { ...good, name: 'gre-customer' }
  const stale: GreLinkState = { ...good, name: 'gsig00000000' }
  t.same(planGre([spec], [good, other, stale]), [{ type: 'delete', name: 'gsig00000000' }])
  t.same(planGre([], [other]), [])
})
