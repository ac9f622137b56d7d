/**
 * Scenario: three controller replicas in one process share a Lease (coordination.k8s.io/v1). One
 * leads and alone calls AWS; killed without releasing, another takes over within the lease duration;
 * stopped gracefully, it releases the Lease and the next one takes over at once.
 */
import t from 'tap'
import { World, waitFor } from './harness.js'
import { ControllerMetrics } from '../../controller/metrics.js'
import type { ControllerReplica } from '../../controller/controller.js'

const MICRO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/

t.test('leader election among three replicas, failover within the lease duration', async t => {
  const w = await new World().start()
  t.teardown(() => w.close())
  const leaseMs = 1500
  const ms = [new ControllerMetrics(), new ControllerMetrics(), new ControllerMetrics()]
  const rs = ms.map((m, i) => w.replica(`pod-${i}`, m, { leaseDurationMs: leaseMs }))
  for (const r of rs) r.start()
  const leaders = (): ControllerReplica[] => rs.filter(r => r.isLeader)
  const first = await waitFor('a leader', () => leaders().length === 1 ? leaders()[0] : undefined)
  await new Promise(r => setTimeout(r, 600))
  t.equal(leaders().length, 1, 'exactly one leader')
  const lease = await w.conn.coordination.readNamespacedLease({ namespace: w.ns, name: 'gsi-controller' })
  const raw = w.kube.objects('coordination.k8s.io', 'leases', w.ns)[0] as unknown as { spec: Record<string, unknown> }
  t.equal(lease.spec?.holderIdentity, first.elector.leader, 'Lease holder is the leader')
  t.equal(lease.spec?.leaseDurationSeconds, 2)
  t.match(String(raw.spec.renewTime), MICRO, 'renewTime is a MicroTime')
  t.match(String(raw.spec.acquireTime), MICRO, 'acquireTime is a MicroTime')

  await w.addNode(`${w.ns}-a`, '10.0.1.31')
  await w.gsi()
  await w.tgw()
  await w.readyTgw()
  const callsOf = async (m: ControllerMetrics): Promise<number> => {
    const v = await m.awsCalls.get()
    return v.values.reduce((s, x) => s + x.value, 0)
  }
  const iFirst = rs.indexOf(first)
  t.ok(await callsOf(ms[iFirst]!) > 0, 'the leader called AWS')
  for (let i = 0; i < 3; i++) if (i !== iFirst) t.equal(await callsOf(ms[i]!), 0, `follower pod-${i} made no AWS call`)
  t.match(await ms[iFirst]!.registry.metrics(), /gsi_controller_leader 1/)
  t.match(await ms[(iFirst + 1) % 3]!.registry.metrics(), /gsi_controller_leader 0/)

  // Crash: the Lease is not released; a follower takes over once it has not been renewed for leaseDuration.
  const t0 = Date.now()
  await first.kill()
  const second = await waitFor('a new leader', () => leaders().length === 1 && leaders()[0] !== first ? leaders()[0] : undefined, 10_000, 10)
  const failoverMs = Date.now() - t0
  t.ok(failoverMs <= 2000 + 2 * 200 + 300, `failover in ${failoverMs} ms (lease ${2000} ms as written, retry 200 ms)`)
  t.ok(failoverMs >= leaseMs - 200, 'not before the lease expired')
  const l2 = await w.conn.coordination.readNamespacedLease({ namespace: w.ns, name: 'gsi-controller' })
  t.equal(l2.spec?.holderIdentity, second.elector.leader)
  t.ok((l2.spec?.leaseTransitions ?? 0) >= 1, 'leaseTransitions counted')

  // The new leader reconciles: a node added now gets its peer.
  await w.addNode(`${w.ns}-b`, '10.0.17.31')
  await waitFor('peer for b by the new leader', async () => (await w.peerList()).some(p => p.spec.nodeName === `${w.ns}-b` && p.status?.state === 'available'), 15_000)
  t.ok(await callsOf(ms[rs.indexOf(second)]!) > 0, 'the new leader called AWS')

  // Graceful stop releases the Lease: the last replica takes over without waiting for expiry.
  const t1 = Date.now()
  const stopping = second.stop() // releases the Lease first, then drains its work queue
  const third = await waitFor('third leader', () => leaders().length === 1 && leaders()[0] !== second && leaders()[0] !== first ? leaders()[0] : undefined, 10_000, 10)
  t.ok(Date.now() - t1 < leaseMs, `released lease taken over in ${Date.now() - t1} ms`)
  await stopping
  // What makes the third replica the leader is the Lease in the API server, and what shows it is
  // that it alone now reconciles: not its own flag.
  const iThird = rs.indexOf(third)
  const l3 = await w.conn.coordination.readNamespacedLease({ namespace: w.ns, name: 'gsi-controller' })
  t.equal(l3.spec?.holderIdentity, `pod-${iThird}`, 'the Lease names the third replica')
  t.ok((l3.spec?.leaseTransitions ?? 0) > (l2.spec?.leaseTransitions ?? 0), 'the hand-over counted as a transition')
  t.match(await ms[iThird]!.registry.metrics(), /gsi_controller_leader 1/, 'the third replica reports leading')
  t.match(await ms[rs.indexOf(second)]!.registry.metrics(), /gsi_controller_leader 0/, 'the stopped one no longer does')
  const secondCalls = await callsOf(ms[rs.indexOf(second)]!)
  const thirdCalls = await callsOf(ms[iThird]!)
  await w.addNode(`${w.ns}-c`, '10.0.1.33')
  await waitFor('peer for c by the third leader', async () => (await w.peerList()).some(p => p.spec.nodeName === `${w.ns}-c` && p.status?.state === 'available'), 15_000)
  t.ok(await callsOf(ms[iThird]!) > thirdCalls, 'the third leader called AWS for the new node')
  t.equal(await callsOf(ms[rs.indexOf(second)]!), secondCalls, 'the stopped replica made no further AWS call')
  await w.nodes.delete(undefined, `${w.ns}-a`)
  await w.nodes.delete(undefined, `${w.ns}-b`)
  await w.nodes.delete(undefined, `${w.ns}-c`)
})
