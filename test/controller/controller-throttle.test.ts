/**
 * Scenario: a throttling storm. Half of all EC2 calls answer RequestLimitExceeded (the emulator's
 * seeded fault injection) and a burst of the next 30 calls too; the controller still converges to
 * Ready with every resource exactly once, and the metrics show the throttled attempts.
 */
import t from 'tap'
import { World } from './harness.js'
import { ControllerMetrics } from '../../controller/metrics.js'

t.test('throttling storm: converges, no duplicates, throttles counted', async t => {
  const w = await new World().start({ seed: 7 })
  t.teardown(() => w.close())
  w.ec2.faults.throttleRate = 0.5
  w.ec2.faults.throttleNext = 30
  await w.addNode(`${w.ns}-a`, '10.0.1.61')
  await w.addNode(`${w.ns}-b`, '10.0.17.61')
  await w.gsi()
  await w.tgw()
  const m = new ControllerMetrics()
  w.replica('r1', m).start()
  const tgw = await w.readyTgw('tgw', 40_000)
  w.ec2.faults.throttleRate = 0
  const aws = w.aws()
  t.equal(aws.tgws.length, 1, 'one transit gateway')
  t.equal(aws.vpcAtt.length, 1, 'one VPC attachment')
  t.equal(aws.connects.length, 1, 'one Connect attachment')
  t.equal(aws.peers.length, 2, 'two Connect peers')
  t.equal(aws.sgs.length, 1, 'one security group')
  t.equal(new Set(aws.routes).size, aws.routes.length, 'no route twice')
  t.equal(tgw.status?.transitGatewayID, aws.tgws[0])
  const calls = (await m.awsCalls.get()).values
  const throttled = calls.filter(v => v.labels.outcome === 'RequestLimitExceeded').reduce((s, v) => s + v.value, 0)
  const ok = calls.filter(v => v.labels.outcome === 'ok').reduce((s, v) => s + v.value, 0)
  t.ok(throttled >= 30, `${throttled} throttled attempts counted (${ok} ok)`)
  t.equal(w.ec2.calls.get('CreateTransitGateway'), calls.filter(v => v.labels.action === 'CreateTransitGateway').reduce((s, v) => s + v.value, 0), 'every attempt seen by the metrics hook')
})
