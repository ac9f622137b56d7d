/**
 * The AWS reconciler of one TransitGateway object: brings EC2 to what AwsDesired says (transit
 * gateway, VPC attachment, Connect attachment over GRE, one Connect peer per node up to 4, VPC
 * routes, the gsi-sg security group) and reports what it sees as AwsObserved; and tears it down in
 * reverse order when the object is deleted.
 *
 * Shape (client-go style, docs/architecture.md "Conventions"): observe (Describe calls) -> plan (a pure function of desired + snapshot
 * -> actions + observed) -> execute (one EC2 call per action) -> repeat a few passes until the plan
 * holds no action; anything still pending becomes `requeueAfterMs` (never a sleep). This file runs
 * the passes; the planner and the validation are controller/aws/plan.ts, the EC2 calls (observe,
 * execute) controller/aws/execute.ts.
 *
 * Ownership and idempotency. The Create actions used here accept no ClientToken in the EC2 API, so
 * ownership tags are the idempotency key: every create carries, in the same call
 * (TagSpecifications), gsi-router.io/uid=<uid>, gsi-router.io/owner=<ns>/<name>,
 * gsi-router.io/component, Name, and for Connect peers gsi-router.io/node. Before creating, the
 * planner looks for a resource with those tags; so a controller killed right after a create finds
 * and adopts it on the next pass instead of making a second one. EC2's Describe is eventually
 * consistent (a Describe right after a Create may not list it yet), so a call that created
 * something ends there and asks to be called again after `settleMs` (2 s) instead of observing at
 * once; and the retry policy never repeats a Create whose outcome is unknown. Remaining gap: a
 * controller restarted within that lag after a create could create a second one.
 * - A transit gateway given by id without our uid tag is *foreign*: used (attachments, routes),
 *   never modified or deleted; it must already hold the wanted CIDR block.
 * - A foreign VPC attachment of our VPC on the TGW (EC2 allows only one) is used as the Connect
 *   transport, never deleted.
 * - Routes carry no tags: on a TGW we own, every route to it in the VPC's route tables is ours; on a
 *   foreign TGW only the destinations in the spec are (routes for CIDRs dropped from the spec are
 *   then left behind: documented limit). A destination held by another target is a Conflict, never
 *   overwritten.
 * - A security group of the wanted name without our tag is a Conflict, never touched.
 */
import type { AwsDeleteResult, AwsDesired, AwsObserved } from './types.js'
import { ec2ErrorCode, isThrottle, type Ec2Api } from './ec2.js'
import { describeAction, planAws, planAwsDeletion, validateAwsDesired, type AwsPlan, type AwsSnapshot } from './plan.js'
import { executeAwsAction, observeAws } from './execute.js'

/** Minimal logger (pino-compatible). */
export interface AwsLog {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  debug(obj: object, msg?: string): void
}

export interface AwsReconcileOptions {
  /** Observe-plan-execute passes per call (default 6). */
  maxPasses?: number
  /** Requeue bounds while something is pending: delay = clamp(age/4, min, max). Default 2 s .. 60 s. */
  minRequeueMs?: number
  maxRequeueMs?: number
  /** Requeue after an AWS error or throttling. Default 30 s. */
  errorRequeueMs?: number
  /** Requeue after a pass that created tagged resources (lets Describe catch up). Default 2 s. */
  settleMs?: number
}

/** Creates whose idempotency rests on finding the resource by its tags on the next observe. */
const TAGGED_CREATES = new Set<string>(['createTransitGateway', 'createVpcAttachment', 'createConnect', 'createConnectPeer', 'createSecurityGroup'])

function errorSummary(err: unknown): { reason: string, message: string } {
  const code = ec2ErrorCode(err)
  const msg = err instanceof Error ? err.message : String(err)
  if (isThrottle(err)) return { reason: 'Throttled', message: `EC2 is throttling our calls (${code}); will retry.` }
  if (code === 'UnauthorizedOperation' || code === 'AuthFailure' || code === 'AccessDenied' || code === 'InvalidClientTokenId' || code === 'ExpiredToken') {
    return { reason: 'AwsError', message: `EC2 refused our credentials (${code}: ${msg}): check the controller's IAM role (IRSA annotation on its ServiceAccount) and its policy.` }
  }
  return { reason: 'AwsError', message: `EC2 ${code ?? 'call failed'}: ${msg}` }
}

function requeueFor(ageMs: number | undefined, o: AwsReconcileOptions): number {
  const min = o.minRequeueMs ?? 2000
  const max = o.maxRequeueMs ?? 60_000
  return Math.min(max, Math.max(min, Math.floor((ageMs ?? 0) / 4)))
}

/**
 * Brings AWS one step (or a few) closer to `desired` and reports what it sees. Never sleeps on AWS:
 * while something is pending the result carries `requeueAfterMs`. Never throws for AWS errors
 * (they become reason AwsError/Throttled with a requeue); throws only for programming errors.
 */
export async function reconcileTransitGatewayAws(desired: AwsDesired, ec2: Ec2Api, log: AwsLog, opts: AwsReconcileOptions = {}): Promise<AwsObserved> {
  const done: string[] = []
  const problems = validateAwsDesired(desired)
  if (problems.length > 0) {
    const message = problems.map((p) => `spec.${p.field}: ${p.message}`).join('; ')
    log.warn({ problems }, 'invalid TransitGateway spec')
    return { ready: false, reason: 'InvalidSpec', message, peers: [], routes: [], nodesWithoutPeer: desired.nodes?.map((n) => n.name) ?? [], actions: done }
  }
  let plan: AwsPlan | undefined
  for (let pass = 0; pass < (opts.maxPasses ?? 6); pass++) {
    let snap: AwsSnapshot
    try {
      snap = await observeAws(desired, ec2)
      plan = planAws(desired, snap)
    } catch (err) {
      const e = errorSummary(err)
      log.warn({ err: String(err), reason: e.reason }, 'observing AWS failed')
      return { ...(plan?.observed ?? { peers: [], routes: [], nodesWithoutPeer: desired.nodes.map((n) => n.name) }), ready: false, ...e, requeueAfterMs: opts.errorRequeueMs ?? 30_000, actions: done }
    }
    if (plan.actions.length === 0) break
    for (const a of plan.actions) {
      try {
        log.info({ action: describeAction(a) }, 'aws action')
        await executeAwsAction(a, desired, ec2)
        done.push(describeAction(a))
      } catch (err) {
        const e = errorSummary(err)
        log.warn({ action: describeAction(a), err: String(err), reason: e.reason }, 'aws action failed')
        return { ...plan.observed, ready: false, reason: e.reason, message: `${describeAction(a)}: ${e.message}`, requeueAfterMs: opts.errorRequeueMs ?? 30_000, actions: done }
      }
    }
    // After a tagged Create, end this call instead of observing again at once: EC2's Describe is
    // eventually consistent, and a resource not yet listed would be created a second time.
    if (plan.actions.some((a) => TAGGED_CREATES.has(a.kind))) {
      return { ...plan.observed, ready: false, reason: 'Pending', message: `Created: ${done.join('; ')}. Checking again shortly.`, requeueAfterMs: opts.settleMs ?? 2000, actions: done }
    }
  }
  const p = plan as AwsPlan
  const out: AwsObserved = { ...p.observed, actions: done }
  if (!out.ready && (p.actions.length > 0 || p.waiting.length > 0)) out.requeueAfterMs = requeueFor(p.pendingAgeMs, opts)
  else if (!out.ready && out.reason === 'Conflict') out.requeueAfterMs = opts.errorRequeueMs ?? 30_000
  return out
}

/**
 * Deletes what we own for this TransitGateway, in reverse order (routes, Connect peers, Connect
 * attachment, VPC attachment, transit gateway, security group), one layer per pass, waiting for
 * each to be deleted. `done` when nothing of ours remains. Foreign resources are never touched.
 */
export async function deleteTransitGatewayAws(desired: AwsDesired, ec2: Ec2Api, log: AwsLog, opts: AwsReconcileOptions = {}): Promise<AwsDeleteResult> {
  const done: string[] = []
  if (!desired.owner?.uid) return { done: false, reason: 'InvalidSpec', message: 'owner.uid is empty: cannot tell what is ours', actions: done, remaining: [] }
  let last: ReturnType<typeof planAwsDeletion> | undefined
  for (let pass = 0; pass < (opts.maxPasses ?? 8); pass++) {
    try {
      const snap = await observeAws(desired, ec2, { forDeletion: true })
      last = planAwsDeletion(desired, snap)
    } catch (err) {
      const e = errorSummary(err)
      return { done: false, ...e, requeueAfterMs: opts.errorRequeueMs ?? 30_000, actions: done, remaining: last?.remaining ?? [] }
    }
    if (last.actions.length === 0) break
    for (const a of last.actions) {
      try {
        log.info({ action: describeAction(a) }, 'aws delete action')
        await executeAwsAction(a, desired, ec2)
        done.push(describeAction(a))
      } catch (err) {
        const code = ec2ErrorCode(err)
        const e = code === 'DependencyViolation'
          ? { reason: 'Deleting', message: `${describeAction(a)}: still in use (${err instanceof Error ? err.message : ''}); detach it from the nodes' interfaces.` }
          : errorSummary(err)
        log.warn({ action: describeAction(a), err: String(err) }, 'aws delete action failed')
        return { done: false, ...e, requeueAfterMs: opts.errorRequeueMs ?? 30_000, actions: done, remaining: last.remaining }
      }
    }
  }
  const l = last as ReturnType<typeof planAwsDeletion>
  if (l.remaining.length === 0) return { done: true, reason: 'Deleted', message: 'Nothing of ours remains in AWS.', actions: done, remaining: [] }
  if (l.blocked.length > 0 && l.actions.length === 0 && l.waiting.length === 0) {
    return { done: false, reason: 'Conflict', message: l.blocked.join('; ') + ': remove them, then deletion continues.', requeueAfterMs: opts.errorRequeueMs ?? 30_000, actions: done, remaining: l.remaining }
  }
  return {
    done: false, reason: 'Deleting', message: `Waiting for: ${[...l.waiting, ...l.actions.map(describeAction)].join('; ') || l.remaining.join('; ')}.`,
    requeueAfterMs: requeueFor(0, opts), actions: done, remaining: l.remaining,
  }
}

