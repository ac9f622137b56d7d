/**
 * The controller killed after each AWS step and restarted: for every k, a reconciler whose k-th
 * mutating EC2 call reaches AWS (the emulator executes it) but whose process "dies" before it sees
 * the answer; then a fresh reconciler (new client, no memory) converges. Afterwards: exactly one of
 * each resource (no duplicate), nothing leaked. Same for deletion.
 */
import t from 'tap'
import { converge, deleteAll, desired, fixture, quietLog, type Fixture } from './aws-fixture.js'
import { createEc2Api, type Ec2Api } from '../../controller/aws/ec2.js'
import { reconcileTransitGatewayAws, deleteTransitGatewayAws } from '../../controller/aws/reconcile.js'
import type { AwsDesired } from '../../controller/aws/types.js'

class Crash extends Error {}

/** An Ec2Api whose k-th mutating call is executed by EC2 and then "crashes" the caller. */
function crashingApi(inner: Ec2Api, k: number): { api: Ec2Api, crashed: () => boolean } {
  let n = 0
  let crashed = false
  const api = new Proxy(inner, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv) as unknown
      if (typeof v !== 'function' || typeof prop !== 'string' || prop.startsWith('describe')) return v
      return async (input: unknown) => {
        if (crashed) throw new Crash('process is dead')
        const out = await (v as (i: unknown) => Promise<unknown>).call(target, input)
        if (++n === k) { crashed = true; throw new Crash(`killed after ${prop}`) }
        return out
      }
    },
  })
  return { api, crashed: () => crashed }
}

const EXPECTED = { transitGateways: 1, vpcAttachments: 1, connectAttachments: 1, connectPeers: 2, securityGroups: 1, tgwRoutes: 6 }
const NONE = { transitGateways: 0, vpcAttachments: 0, connectAttachments: 0, connectPeers: 0, securityGroups: 0, tgwRoutes: 0 }
const emuOpts = { availableDelayMs: 0, deletingDelayMs: 0 }

function freshApi(f: Fixture): Ec2Api {
  return createEc2Api({ region: 'us-east-1', endpoint: f.emu.endpoint, credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, retry: { baseDelayMs: 1, maxDelayMs: 2 } })
}

async function runUntilCrash(f: Fixture, d: AwsDesired, api: Ec2Api, crashed: () => boolean, del: boolean): Promise<void> {
  for (let i = 0; i < 40 && !crashed(); i++) {
    const r = del
      ? await deleteTransitGatewayAws(d, api, quietLog, { minRequeueMs: 500 })
      : await reconcileTransitGatewayAws(d, api, quietLog, { minRequeueMs: 500 })
    if (!del && 'ready' in r && r.ready) break
    if (del && 'done' in r && r.done) break
    f.emu.world.advance(r.requeueAfterMs ?? 500)
  }
}

t.test('killed after each creating step, restarted: converges, no duplicate, no leak', async (t) => {
  // How many mutating steps a clean run takes.
  const clean = await fixture(t, emuOpts)
  const d0 = desired()
  await converge(clean, d0)
  const steps = clean.events.filter((e) => !e.action.startsWith('Describe') && e.outcome === 'ok').length
  t.ok(steps >= 12, `${steps} mutating steps in a clean run`)
  for (let k = 1; k <= steps; k++) {
    const f = await fixture(t, emuOpts)
    const d = desired()
    const { api, crashed } = crashingApi(freshApi(f), k)
    await runUntilCrash(f, d, api, crashed, false)
    t.ok(crashed(), `k=${k}: crashed`)
    const { obs } = await converge(f, d)
    t.equal(obs.ready, true, `k=${k}: ready after restart (${obs.message})`)
    t.same(f.emu.world.counts(), EXPECTED, `k=${k}: exactly one of each`)
    const { res } = await deleteAll(f, d)
    t.equal(res.done, true, `k=${k}: deleted`)
    t.same(f.emu.world.counts(), NONE, `k=${k}: nothing leaked`)
  }
})

t.test('killed after each deleting step, restarted: everything ours goes, nothing else', async (t) => {
  const clean = await fixture(t, emuOpts)
  const d0 = desired()
  await converge(clean, d0)
  const before = clean.events.length
  await deleteAll(clean, d0)
  const steps = clean.events.slice(before).filter((e) => !e.action.startsWith('Describe') && e.outcome === 'ok').length
  t.ok(steps >= 10, `${steps} mutating steps in a clean deletion`)
  for (let k = 1; k <= steps; k++) {
    const f = await fixture(t, emuOpts)
    const d = desired()
    await converge(f, d)
    const { api, crashed } = crashingApi(freshApi(f), k)
    await runUntilCrash(f, d, api, crashed, true)
    t.ok(crashed(), `k=${k}: crashed`)
    const { res } = await deleteAll(f, d)
    t.equal(res.done, true, `k=${k}: deletion completes after restart (${res.message})`)
    t.same(f.emu.world.counts(), NONE, `k=${k}: nothing leaked`)
  }
})
