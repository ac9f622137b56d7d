// The data-plane probes over IPv6 on a real kernel: a Connect peer with an inside /125 beside its /29.
// The gateway namespace holds the gateway VRF and a GRE link enslaved to it carrying fd00:6::1/125 (and
// 169.254.6.1/29), the TGW namespace the other end with ::2 and ::3. Bound to the VRF, the ICMPv6 echoes
// leave through the GRE link and are answered (an nft counter in the TGW namespace sees them arrive on
// the GRE link); a tunnel-style target is echoed from probes.sourceIpv6 in our own IPv6 header
// (IPV6_HDRINCL), which the same counter sees as the source. Unbound (dataplane none) the main table has
// no route to the /125 and every IPv6 echo is lost. Then the TGW drops ICMPv6 echo requests: the IPv6
// data plane of the Connect peer is dead while its IPv4 one stays up.
import t from 'tap'
import { createNetns, vethPair, NsWorker } from './lib/index.js'
import type { ProbeReport } from '../../src/daemon/probes.js'

t.setTimeout(600_000)

const SOURCE6 = 'fd00:6::5'
const config = (dataplane: 'kernel' | 'none'): Record<string, unknown> => ({
  nodeAddress: '10.0.1.10', dataplane, gatewayTable: { table: 1000 },
  tgw: { localAsn: 65001, connectPeers: [{ id: 'cp1', transitGatewayAddress: '10.0.1.1', insideCidrBlocks: ['169.254.6.0/29', 'fd00:6::/125'], transitGatewayAsn: 64512 }] },
  controlNodes: { peers: [{ address: '10.0.1.1', asn: 64512 }] },
  // the TGW's ::3 stands for a pod behind a vRouter: the echo carries our own header from SOURCE6
  probes: { interval: 0.5, timeout: 0.5, failAfter: 2, sourceIpv6: SOURCE6, targets: [{ address: 'fd00:6::3', vrouter: '10.0.1.1' }] },
})

/** Counts the ICMPv6 echo requests arriving on the TGW's GRE link, in all and from SOURCE6. */
const COUNT = `table inet gsiprobe6count {
  chain input {
    type filter hook input priority -10; policy accept;
    iifname "g1" icmpv6 type echo-request counter name "echoes"
    iifname "g1" ip6 saddr ${SOURCE6} icmpv6 type echo-request counter name "fromsource"
  }
  counter echoes {}
  counter fromsource {}
}
`
const DROP_ECHO6 = 'table inet gsiprobe6drop {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    icmpv6 type echo-request drop\n  }\n}\n'

t.test('ICMPv6 echo through the GRE link in the gateway VRF; ICMPv6 dropped at the TGW: IPv6 data plane dead', async (t) => {
  const gw = await createNetns(t, 'p6gw')
  const tgw = await createNetns(t, 'p6tg')
  await vethPair(gw, 'u0', tgw, 'u1', { a: '10.0.1.10/24', b: '10.0.1.1/24' })
  await gw.sh([
    'ip link add gsiv1000 type vrf table 1000', 'ip link set gsiv1000 up',
    'ip link add gsigcp1 type gre local 10.0.1.10 remote 10.0.1.1 ttl 255', 'ip link set gsigcp1 master gsiv1000',
    'ip addr add 169.254.6.1/29 dev gsigcp1', 'ip -6 addr add fd00:6::1/125 dev gsigcp1 nodad',
    // deprecated (preferred_lft 0), so the kernel never picks it as a source itself (RFC 6724 rule 3):
    // only the tunnel probe's own header can carry it
    `ip -6 addr add ${SOURCE6}/125 dev gsigcp1 nodad preferred_lft 0`, 'ip link set gsigcp1 up',
  ].join(' && '))
  await tgw.sh([
    'ip link add g1 type gre local 10.0.1.1 remote 10.0.1.10 ttl 255',
    'ip addr add 169.254.6.2/29 dev g1', 'ip addr add 169.254.6.3/29 dev g1',
    'ip -6 addr add fd00:6::2/125 dev g1 nodad', 'ip -6 addr add fd00:6::3/125 dev g1 nodad', 'ip link set g1 up',
  ].join(' && '))
  t.notMatch((await gw.sh('ip -6 route show table main')).stdout, /fd00:6::/, 'the inside /125 is only in the VRF\'s table')
  t.match((await gw.sh('ip -6 route show table 1000')).stdout, /fd00:6::\/125 dev gsigcp1/, 'the VRF\'s table routes it to the GRE link')
  const nft = async (script: string): Promise<void> => { await tgw.exec(['sh', '-ec', `printf '%s' '${script}' | nft -f -`]) }
  const counted = async (name: string): Promise<number> => {
    const out = (await tgw.exec(['nft', 'list', 'counter', 'inet', 'gsiprobe6count', name])).stdout
    return Number(/packets (\d+)/.exec(out)?.[1] ?? NaN)
  }
  await nft(COUNT)
  const w = await NsWorker.start(gw, t)
  const mod = new URL('./probes-ns.ts', import.meta.url)
  const v6 = (r: ProbeReport) => r.targets.filter((x) => x.family === 'ipv6')

  const bound = await w.call<ProbeReport>(mod, 'probeFor', config('kernel'), 3, ['10.0.1.1'])
  t.same(v6(bound).map((x) => [x.kind, x.address]), [['tgw', 'fd00:6::2'], ['tgw', 'fd00:6::3'], ['vn', 'fd00:6::3']], 'the TGW\'s ::2 and ::3 of the /125, and the tunnel-style target')
  for (const x of bound.targets) {
    t.equal(x.state, 'alive', `${x.kind} ${x.address}: answered through the GRE link (${x.replies} of ${x.sent})`)
    t.ok(x.rttMs !== undefined, `${x.address}: RTT ${x.rttMs} ms`)
  }
  t.match(bound.connectPeers, [{ connectPeer: 'cp1', family: 'ipv4', state: 'up' }, { connectPeer: 'cp1', family: 'ipv6', state: 'up' }])
  const all = await counted('echoes')
  const ours = await counted('fromsource')
  const sent6 = v6(bound).reduce((n, x) => n + x.sent, 0)
  t.ok(all >= sent6 - 3 && all <= sent6, `the TGW counted ${all} ICMPv6 echo requests on its GRE link (${sent6} sent; the last may still be on its way)`)
  const vn = v6(bound).find((x) => x.kind === 'vn')!
  t.ok(ours > 0 && ours <= vn.sent, `${ours} of them from probes.sourceIpv6 ${SOURCE6}: the tunnel probe's own IPv6 header (${vn.sent} sent)`)

  const unbound = await w.call<ProbeReport>(mod, 'probeFor', config('none'), 3, ['10.0.1.1'])
  for (const x of v6(unbound)) t.match(x, { state: 'dead', replies: 0 }, `${x.kind} ${x.address}: not bound to the VRF, no route, no answer`)
  t.match(unbound.connectPeers, [{ family: 'ipv4', state: 'dataplane-dead' }, { family: 'ipv6', state: 'dataplane-dead' }], 'BGP taken as up, every probe dead')

  await nft(DROP_ECHO6)
  const dropped = await w.call<ProbeReport>(mod, 'probeFor', config('kernel'), 3, ['10.0.1.1'])
  for (const x of dropped.targets) {
    t.equal(x.state, x.family === 'ipv6' ? 'dead' : 'alive', `${x.kind} ${x.address} ${x.family === 'ipv6' ? 'dead: its echo requests dropped' : 'alive: ICMP still passes'} (${x.replies} of ${x.sent})`)
  }
  t.match(dropped.connectPeers, [{ family: 'ipv4', state: 'up' }, { family: 'ipv6', state: 'dataplane-dead' }], 'the IPv6 data plane dead, the IPv4 one up')
})
