/**
 * Scenario: the controller dies right after each AWS step (every mutating EC2 call, creating and then
 * deleting) and a fresh controller (same pod identity, as after a container restart) takes over.
 * Whatever step it died after, the end state has every resource exactly once, nothing leaked, and
 * the deletion removes everything.
 */
import t from 'tap'
import { World, waitFor } from './harness.js'
import type { Ec2Api } from '../../controller/aws/ec2.js'
import type { ControllerReplica } from '../../controller/controller.js'

const MUTATING = /^(create|delete|authorize|revoke|modify)/

t.test('killed after each AWS step, restarted: no duplicate, no leak', async t => {
  const w = await new World().start()
  t.teardown(() => w.close())
  await w.addNode(`${w.ns}-a`, '10.0.1.21')
  await w.addNode(`${w.ns}-b`, '10.0.17.21')
  await w.gsi()
  await w.tgw()

  const steps: string[] = []
  let crashes = 0
  let current: ControllerReplica | undefined
  /** An Ec2Api that lets one mutating call through, then the process is dead. */
  const dying = (api: Ec2Api, die: () => void): Ec2Api => {
    let dead = false
    return new Proxy(api, {
      get(target, prop, recv) {
        const v = Reflect.get(target, prop, recv) as unknown
        if (typeof v !== 'function' || typeof prop !== 'string') return v
        return async (input: unknown) => {
          if (dead) throw new Error('process is dead')
          const out = await (v as (i: unknown) => Promise<unknown>).call(target, input)
          if (MUTATING.test(prop)) {
            dead = true
            steps.push(prop)
            die()
            throw new Error(`killed right after ${prop}`)
          }
          return out
        }
      },
    })
  }
  const startOne = (): void => {
    const r: ControllerReplica = w.replica('pod-1', undefined, {
      wrapEc2: api => dying(api, () => {
        crashes++
        void r.kill().then(() => { if (current === r) { current = undefined; startOne() } })
      }),
    })
    current = r
    r.start()
  }
  startOne()
  await waitFor('Ready through crashes', async () => {
    const x = await w.get()
    return x?.status?.conditions?.find(c => c.type === 'Ready')?.status === 'True' ? x : undefined
  }, 40_000)
  t.ok(crashes >= 8, `died after each of ${crashes} AWS steps: ${steps.join(', ')}`)
  t.ok(steps.includes('createTransitGateway') && steps.includes('createTransitGatewayConnectPeer'), 'including the creates')
  const aws = w.aws()
  t.equal(aws.tgws.length, 1, 'one transit gateway')
  t.equal(aws.vpcAtt.length, 1, 'one VPC attachment')
  t.equal(aws.connects.length, 1, 'one Connect attachment')
  t.equal(aws.peers.length, 2, 'two Connect peers')
  t.equal(aws.sgs.length, 1, 'one security group')
  t.equal(new Set(aws.routes).size, aws.routes.length, 'no route twice')
  t.equal(w.ec2.calls.get('CreateTransitGateway'), 1, 'CreateTransitGateway called once')
  t.equal(w.ec2.calls.get('CreateTransitGatewayConnectPeer'), 2, 'one CreateTransitGatewayConnectPeer per node')
  const peers = await waitFor('2 ConnectedPeers', async () => { const l = await w.peerList(); return l.length === 2 ? l : undefined })
  t.equal(peers.length, 2)

  // Deletion, dying after each delete step as well.
  const before = crashes
  await w.tgws.delete(w.ns, 'tgw')
  await waitFor('TransitGateway gone', async () => (await w.get()) === undefined, 40_000)
  t.ok(crashes - before >= 5, `died after each of ${crashes - before} delete steps`)
  const left = w.aws()
  t.same({ tgws: left.tgws, vpcAtt: left.vpcAtt, connects: left.connects, peers: left.peers, routes: left.routes, sgs: left.sgs },
    { tgws: [], vpcAtt: [], connects: [], peers: [], routes: [], sgs: [] }, 'nothing leaked')
  t.same(await w.peerList(), [], 'ConnectedPeers gone')
  t.same(await w.routeList(), [], 'Routes gone')
  await current?.stop()
  current = undefined
})
