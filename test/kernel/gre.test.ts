// gre/ on a real kernel, through our netlink layer (NetlinkKernel in the namespace's own process):
// one GRE link per Connect peer with the inside addresses, MTU 8476, TTL 255, no key, enslaved to the
// gateway VRF when asked; a second run changes nothing; drift and changed peers are fixed with the
// fewest actions; links that are not ours are never touched.
import t from 'tap'
import { greLinkName } from '../../gre/index.js'
import type { ConnectPeer, GreResult } from '../../gre/index.js'
import { createNetns, NsWorker } from './lib/index.js'

t.setTimeout(600_000)

const A: ConnectPeer = { id: 'tgw-connect-peer-0aaaa00000000000a', localAddress: '10.0.1.10', remoteAddress: '192.0.2.10', insideCidr: '169.254.6.0/29', insideCidr6: 'fd00:0:0:6::/125', vrf: 'gsiv100' }
const B: ConnectPeer = { id: 'tgw-connect-peer-0bbbb00000000000b', localAddress: '10.0.1.10', remoteAddress: '192.0.2.11', insideCidr: '169.254.7.0/29' }
const nameA = greLinkName(A.id), nameB = greLinkName(B.id)

t.test('GRE links for Connect peers', async t => {
  const ns = await createNetns(t, 'gre')
  await ns.sh('ip addr add 10.0.1.10/32 dev lo && ip link add gsiv100 type vrf table 100 && ip link set gsiv100 up && ip link add gre-cust type gre local 10.0.1.10 remote 198.51.100.1')
  const w = await NsWorker.start(ns, t)
  const mod = new URL('../fib/ns-gateway.ts', import.meta.url)
  const gre = (peers: ConnectPeer[]): Promise<GreResult> => w.call<GreResult>(mod, 'gre', peers)
  const show = async (name: string): Promise<string> => (await ns.sh(`ip -d addr show dev ${name}`)).stdout

  const r1 = await gre([A, B])
  t.same(r1.errors, [])
  t.same(r1.links.map(l => [l.name, l.state, l.inSync]), [[nameA, 'up', true], [nameB, 'up', true]])
  const a = await show(nameA)
  t.match(a, /mtu 8476/)
  t.match(a, /master gsiv100/)
  t.match(a, /gre remote 192\.0\.2\.10 local 10\.0\.1\.10 ttl 255/)
  t.notMatch(a, /key/, 'no GRE key')
  t.match(a, /inet 169\.254\.6\.1\/29/)
  t.match(a, /inet6 fd00:0:0:6::1\/125/)
  t.notMatch(await show(nameB), /master/, 'peer B not enslaved')
  t.notMatch((await ns.sh('ip route show table main')).stdout, /169\.254\.6/, 'inside /29 of the VRF peer stays out of the main table')

  const r2 = await gre([A, B])
  t.same(r2.actions, [], 'a second run changes nothing')

  await ns.sh(`ip link set ${nameA} mtu 1400 && ip addr del 169.254.6.1/29 dev ${nameA} && ip link set ${nameB} down`)
  const r3 = await gre([A, B])
  t.same(r3.actions.map(x => x.type).sort(), ['add-address', 'set-mtu', 'set-up'], 'only what drifted is fixed')
  t.same(r3.links.map(l => l.inSync), [true, true])

  const A2 = { ...A, remoteAddress: '192.0.2.20' }
  const r4 = await gre([A2, B])
  t.same(r4.actions.map(x => x.type), ['change'])
  const a2 = await show(nameA)
  t.match(a2, /gre remote 192\.0\.2\.20/)
  t.match(a2, /master gsiv100/, 'still in the VRF after the change')
  t.match(a2, /inet 169\.254\.6\.1\/29/, 'addresses kept')

  const r5 = await gre([A2])
  t.same(r5.actions, [{ type: 'delete', name: nameB }])
  const r6 = await gre([])
  t.same(r6.actions, [{ type: 'delete', name: nameA }])
  const links = (await ns.sh('ip -br link show')).stdout
  t.notMatch(links, /gsig/)
  t.match(links, /gre-cust/, 'a GRE link that is not ours is left alone')
})
