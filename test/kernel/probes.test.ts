// The data-plane probes on a real kernel: the gateway namespace holds the gateway VRF and a GRE link
// enslaved to it (the inside /29 only in the VRF's table, as gre/ builds it), the TGW namespace the
// other end with the TGW's .2 and .3. Bound to the VRF (dataplane kernel) the echoes leave through the
// GRE link and are answered; unbound (dataplane none) the main table has no route to the inside /29
// and every echo is lost: the binding is what makes the probes go through the tunnel.
import t from 'tap'
import { createNetns, vethPair, NsWorker } from './lib/index.js'
import type { ProbeReport } from '../../src/daemon/probes.js'

t.setTimeout(600_000)

const config = (dataplane: 'kernel' | 'none'): Record<string, unknown> => ({
  nodeAddress: '10.0.1.10', dataplane, gatewayTable: { table: 1000 },
  tgw: { localAsn: 65001, connectPeers: [{ id: 'cp1', transitGatewayAddress: '10.0.1.1', insideCidrBlocks: ['169.254.6.0/29'], transitGatewayAsn: 64512 }] },
  controlNodes: { peers: [{ address: '10.0.1.1', asn: 64512 }] },
  probes: { interval: 0.5, timeout: 0.5, failAfter: 2 },
})

t.test('ICMP echo through the GRE link in the gateway VRF', async (t) => {
  const gw = await createNetns(t, 'pgw')
  const tgw = await createNetns(t, 'ptg')
  await vethPair(gw, 'u0', tgw, 'u1', { a: '10.0.1.10/24', b: '10.0.1.1/24' })
  await gw.sh([
    'ip link add gsiv1000 type vrf table 1000', 'ip link set gsiv1000 up',
    'ip link add gsigcp1 type gre local 10.0.1.10 remote 10.0.1.1 ttl 255', 'ip link set gsigcp1 master gsiv1000',
    'ip addr add 169.254.6.1/29 dev gsigcp1', 'ip link set gsigcp1 up',
  ].join(' && '))
  await tgw.sh([
    'ip link add g1 type gre local 10.0.1.1 remote 10.0.1.10 ttl 255',
    'ip addr add 169.254.6.2/29 dev g1', 'ip addr add 169.254.6.3/29 dev g1', 'ip link set g1 up',
  ].join(' && '))
  t.notMatch((await gw.sh('ip route show table main')).stdout, /169\.254\.6/, 'the inside /29 is only in the VRF\'s table')
  const w = await NsWorker.start(gw, t)
  const mod = new URL('./probes-ns.ts', import.meta.url)

  const bound = await w.call<ProbeReport>(mod, 'probeFor', config('kernel'), 3)
  for (const x of bound.targets) {
    t.equal(x.state, 'alive', `${x.address}: answered through the GRE link (${x.replies} of ${x.sent})`)
    t.ok(x.rttMs !== undefined, `${x.address}: RTT ${x.rttMs} ms`)
  }
  t.match(bound.connectPeers, [{ connectPeer: 'cp1', state: 'up' }])

  const unbound = await w.call<ProbeReport>(mod, 'probeFor', config('none'), 3)
  for (const x of unbound.targets) t.match(x, { state: 'dead', replies: 0 }, `${x.address}: not bound to the VRF, no route, no answer`)
  t.match(unbound.connectPeers, [{ state: 'dataplane-dead' }], 'BGP taken as up, every probe dead')

  await tgw.sh('ip link set g1 down')
  const down = await w.call<ProbeReport>(mod, 'probeFor', config('kernel'), 3)
  t.match(down.connectPeers, [{ state: 'dataplane-dead' }], 'the far end of the tunnel down: data plane dead')
})
