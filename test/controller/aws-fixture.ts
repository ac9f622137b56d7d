/**
 * Shared fixture for the AWS reconciler and EC2 emulator tests: an emulator on 127.0.0.1 (any free
 * port), the real @aws-sdk/client-ec2 pointed at it with static fake credentials, a desired-state
 * builder with a unique uid, and a `converge` loop that advances emulator time by the requeue delay
 * the reconciler asks for (so "pending then available" runs without sleeping).
 */
import { randomUUID } from 'node:crypto'
import { EC2Client } from '@aws-sdk/client-ec2'
import { startEc2Emulator, type Ec2Emulator, type Ec2EmulatorOptions } from '../../controller/emulator/ec2/server.js'
import { createEc2Api, type Ec2Api, type Ec2CallEvent } from '../../controller/aws/ec2.js'
import { reconcileTransitGatewayAws, deleteTransitGatewayAws, type AwsLog } from '../../controller/aws/reconcile.js'
import type { AwsDeleteResult, AwsDesired, AwsObserved } from '../../controller/aws/types.js'

// The SDK warns once per process that Node 20 support ends in 2027: noise for these tests.
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1'
const origEmit = process.emitWarning.bind(process)
process.emitWarning = ((w: string | Error, ...rest: unknown[]) => {
  const text = typeof w === 'string' ? w : w.message
  if (/AWS SDK for JavaScript|NodeVersionSupportWarning/.test(text) || rest.some((r) => r === 'NodeVersionSupportWarning' || (typeof r === 'object' && r !== null && (r as { type?: string }).type === 'NodeVersionSupportWarning'))) return
  ;(origEmit as (...a: unknown[]) => void)(w, ...rest)
}) as typeof process.emitWarning

export const CREDS = { accessKeyId: 'AKIAEMULATOR000000', secretAccessKey: 'emulator-secret' }
export const VPC = 'vpc-0a1b2c3d4e5f60001'
export const RTB_MAIN = 'rtb-0a1b2c3d4e5f60001'
export const RTB_PRIVATE = 'rtb-0a1b2c3d4e5f60002'
export const SUBNET_A = 'subnet-0a1b2c3d4e5f60a01'
export const SUBNET_B = 'subnet-0a1b2c3d4e5f60b01'

export const quietLog: AwsLog = { info: () => {}, warn: () => {}, debug: () => {} }

export interface Fixture {
  emu: Ec2Emulator
  ec2: Ec2Api
  sdk: EC2Client
  events: Ec2CallEvent[]
}

interface Teardown { teardown(fn: () => unknown): void }

export async function fixture(t: Teardown, opts: Ec2EmulatorOptions = {}): Promise<Fixture> {
  const emu = await startEc2Emulator({ availableDelayMs: 1000, deletingDelayMs: 1000, ...opts })
  const events: Ec2CallEvent[] = []
  const ec2 = createEc2Api({
    region: 'us-east-1', endpoint: emu.endpoint, credentials: CREDS,
    retry: { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 8 }, onCall: (e) => events.push(e),
  })
  const sdk = new EC2Client({ region: 'us-east-1', endpoint: emu.endpoint, credentials: CREDS, maxAttempts: 1 })
  t.teardown(async () => {
    sdk.destroy()
    await emu.close()
  })
  return { emu, ec2, sdk, events }
}

export function desired(over: Partial<AwsDesired> = {}): AwsDesired {
  return {
    owner: { namespace: 'gsi', name: 'tgw-a', uid: randomUUID() },
    region: 'us-east-1',
    vpcId: VPC,
    amazonSideAsn: 64512,
    transitGatewayCidrBlock: '100.64.0.0/24',
    exposedCidrs: ['10.200.0.0/16', '10.201.0.0/24'],
    nodes: [
      { name: 'node-a', nodeIp: '10.0.1.10', peerAsn: 65001 },
      { name: 'node-b', nodeIp: '10.0.17.10', peerAsn: 65001 },
    ],
    ...over,
  }
}

/** Reconciles until ready (or `rounds` runs out), advancing emulator time by each requeue delay. */
export async function converge(f: Fixture, d: AwsDesired, rounds = 40): Promise<{ obs: AwsObserved, rounds: number }> {
  let obs: AwsObserved | undefined
  for (let i = 1; i <= rounds; i++) {
    obs = await reconcileTransitGatewayAws(d, f.ec2, quietLog, { minRequeueMs: 1000, maxRequeueMs: 60_000, errorRequeueMs: 1000, settleMs: 1000 })
    if (obs.ready) return { obs, rounds: i }
    f.emu.world.advance(obs.requeueAfterMs ?? 1000)
  }
  return { obs: obs as AwsObserved, rounds }
}

export async function deleteAll(f: Fixture, d: AwsDesired, rounds = 40): Promise<{ res: AwsDeleteResult, rounds: number }> {
  let res: AwsDeleteResult | undefined
  for (let i = 1; i <= rounds; i++) {
    res = await deleteTransitGatewayAws(d, f.ec2, quietLog, { minRequeueMs: 1000, errorRequeueMs: 1000 })
    if (res.done) return { res, rounds: i }
    f.emu.world.advance(res.requeueAfterMs ?? 1000)
  }
  return { res: res as AwsDeleteResult, rounds }
}

/** Every route to a TGW in the emulator's route tables, as "rtb dest tgw". */
export function tgwRoutes(emu: Ec2Emulator): string[] {
  return [...emu.world.routeTables.values()].flatMap((rt) => rt.routes.filter((r) => r.transitGatewayId !== undefined).map((r) => `${rt.id} ${r.destinationCidrBlock} ${r.transitGatewayId}`)).sort()
}
