/**
 * AWS reconciler for one TransitGateway object (draft signatures; implementation follows).
 */
import type { AwsDeleteResult, AwsDesired, AwsObserved } from './types.js'
import type { Ec2Api } from './ec2.js'

/** Minimal logger (pino-compatible). */
export interface AwsLog {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  debug(obj: object, msg?: string): void
}

export async function reconcileTransitGatewayAws(_desired: AwsDesired, _ec2: Ec2Api, _log: AwsLog): Promise<AwsObserved> {
  throw new Error('not implemented yet')
}

export async function deleteTransitGatewayAws(_desired: AwsDesired, _ec2: Ec2Api, _log: AwsLog): Promise<AwsDeleteResult> {
  throw new Error('not implemented yet')
}
