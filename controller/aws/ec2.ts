/**
 * Ec2Api: exactly the EC2 calls gsi-controller makes, behind a small interface, implemented over the
 * official @aws-sdk/client-ec2 (EC2 Query API, version 2016-11-15).
 *
 * - Region from the TransitGateway resource; credentials from the SDK's default chain (environment,
 *   IRSA web identity token via AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, shared config, IMDS).
 * - `endpoint` override for the EC2 emulator (controller/emulator/ec2).
 * - Retries are ours, not the SDK's (its maxAttempts is 1): throttling (RequestLimitExceeded and
 *   friends) is retried for every call, because a throttled request was never executed; other
 *   transient failures (5xx, network) only for Describe and Delete calls, because a Create whose
 *   answer was lost may have happened: the reconciler then finds it by its tags on the next pass
 *   rather than creating a duplicate. None of the Create actions used here take a ClientToken in
 *   the EC2 API (checked against the SDK's model), so tags are our idempotency key.
 * - A metrics hook sees every attempt: action, outcome ('ok' or the error code), latency.
 */
import {
  EC2Client,
  CreateTransitGatewayCommand, DescribeTransitGatewaysCommand, DeleteTransitGatewayCommand,
  ModifyTransitGatewayCommand,
  CreateTransitGatewayVpcAttachmentCommand, DescribeTransitGatewayVpcAttachmentsCommand,
  DeleteTransitGatewayVpcAttachmentCommand, ModifyTransitGatewayVpcAttachmentCommand,
  CreateTransitGatewayConnectCommand, DescribeTransitGatewayConnectsCommand, DeleteTransitGatewayConnectCommand,
  CreateTransitGatewayConnectPeerCommand, DescribeTransitGatewayConnectPeersCommand,
  DeleteTransitGatewayConnectPeerCommand,
  CreateRouteCommand, DeleteRouteCommand, DescribeRouteTablesCommand, DescribeSubnetsCommand,
  CreateSecurityGroupCommand, DescribeSecurityGroupsCommand, DeleteSecurityGroupCommand,
  AuthorizeSecurityGroupIngressCommand, RevokeSecurityGroupIngressCommand, CreateTagsCommand,
} from '@aws-sdk/client-ec2'
import type * as T from '@aws-sdk/client-ec2'

/** The EC2 actions we call: the IAM policy must allow exactly these (as ec2:<Action>). */
export const EC2_ACTIONS = [
  'CreateTransitGateway', 'DescribeTransitGateways', 'DeleteTransitGateway', 'ModifyTransitGateway',
  'CreateTransitGatewayVpcAttachment', 'DescribeTransitGatewayVpcAttachments', 'DeleteTransitGatewayVpcAttachment',
  'ModifyTransitGatewayVpcAttachment',
  'CreateTransitGatewayConnect', 'DescribeTransitGatewayConnects', 'DeleteTransitGatewayConnect',
  'CreateTransitGatewayConnectPeer', 'DescribeTransitGatewayConnectPeers', 'DeleteTransitGatewayConnectPeer',
  'CreateRoute', 'DeleteRoute', 'DescribeRouteTables', 'DescribeSubnets',
  'CreateSecurityGroup', 'DescribeSecurityGroups', 'DeleteSecurityGroup',
  'AuthorizeSecurityGroupIngress', 'RevokeSecurityGroupIngress', 'CreateTags',
] as const
export type Ec2Action = (typeof EC2_ACTIONS)[number]

export interface Ec2Api {
  readonly region: string
  createTransitGateway(i: T.CreateTransitGatewayCommandInput): Promise<T.CreateTransitGatewayCommandOutput>
  describeTransitGateways(i: T.DescribeTransitGatewaysCommandInput): Promise<T.DescribeTransitGatewaysCommandOutput>
  deleteTransitGateway(i: T.DeleteTransitGatewayCommandInput): Promise<T.DeleteTransitGatewayCommandOutput>
  modifyTransitGateway(i: T.ModifyTransitGatewayCommandInput): Promise<T.ModifyTransitGatewayCommandOutput>
  createTransitGatewayVpcAttachment(i: T.CreateTransitGatewayVpcAttachmentCommandInput): Promise<T.CreateTransitGatewayVpcAttachmentCommandOutput>
  describeTransitGatewayVpcAttachments(i: T.DescribeTransitGatewayVpcAttachmentsCommandInput): Promise<T.DescribeTransitGatewayVpcAttachmentsCommandOutput>
  deleteTransitGatewayVpcAttachment(i: T.DeleteTransitGatewayVpcAttachmentCommandInput): Promise<T.DeleteTransitGatewayVpcAttachmentCommandOutput>
  modifyTransitGatewayVpcAttachment(i: T.ModifyTransitGatewayVpcAttachmentCommandInput): Promise<T.ModifyTransitGatewayVpcAttachmentCommandOutput>
  createTransitGatewayConnect(i: T.CreateTransitGatewayConnectCommandInput): Promise<T.CreateTransitGatewayConnectCommandOutput>
  describeTransitGatewayConnects(i: T.DescribeTransitGatewayConnectsCommandInput): Promise<T.DescribeTransitGatewayConnectsCommandOutput>
  deleteTransitGatewayConnect(i: T.DeleteTransitGatewayConnectCommandInput): Promise<T.DeleteTransitGatewayConnectCommandOutput>
  createTransitGatewayConnectPeer(i: T.CreateTransitGatewayConnectPeerCommandInput): Promise<T.CreateTransitGatewayConnectPeerCommandOutput>
  describeTransitGatewayConnectPeers(i: T.DescribeTransitGatewayConnectPeersCommandInput): Promise<T.DescribeTransitGatewayConnectPeersCommandOutput>
  deleteTransitGatewayConnectPeer(i: T.DeleteTransitGatewayConnectPeerCommandInput): Promise<T.DeleteTransitGatewayConnectPeerCommandOutput>
  createRoute(i: T.CreateRouteCommandInput): Promise<T.CreateRouteCommandOutput>
  deleteRoute(i: T.DeleteRouteCommandInput): Promise<T.DeleteRouteCommandOutput>
  describeRouteTables(i: T.DescribeRouteTablesCommandInput): Promise<T.DescribeRouteTablesCommandOutput>
  describeSubnets(i: T.DescribeSubnetsCommandInput): Promise<T.DescribeSubnetsCommandOutput>
  createSecurityGroup(i: T.CreateSecurityGroupCommandInput): Promise<T.CreateSecurityGroupCommandOutput>
  describeSecurityGroups(i: T.DescribeSecurityGroupsCommandInput): Promise<T.DescribeSecurityGroupsCommandOutput>
  deleteSecurityGroup(i: T.DeleteSecurityGroupCommandInput): Promise<T.DeleteSecurityGroupCommandOutput>
  authorizeSecurityGroupIngress(i: T.AuthorizeSecurityGroupIngressCommandInput): Promise<T.AuthorizeSecurityGroupIngressCommandOutput>
  revokeSecurityGroupIngress(i: T.RevokeSecurityGroupIngressCommandInput): Promise<T.RevokeSecurityGroupIngressCommandOutput>
  createTags(i: T.CreateTagsCommandInput): Promise<T.CreateTagsCommandOutput>
}

/** One attempt of one call, for the metrics hook (aws calls by action and outcome, with latency). */
export interface Ec2CallEvent {
  action: Ec2Action
  /** 'ok', or the EC2 error code (e.g. 'RequestLimitExceeded'), or 'NetworkError'. */
  outcome: string
  latencyMs: number
  attempt: number
}

export interface Ec2RetryOptions {
  /** Attempts per call, first included. Default 8. */
  maxAttempts?: number
  /** Backoff base: delay before attempt n is random(0, min(cap, base * 2^(n-1))) (full jitter). Default 200 ms. */
  baseDelayMs?: number
  /** Backoff cap. Default 20 s. */
  maxDelayMs?: number
}

export interface Ec2ClientOptions {
  region: string
  /** Endpoint override, e.g. the EC2 emulator "http://127.0.0.1:4566". */
  endpoint?: string
  /** Static credentials (tests, lab); the default chain (IRSA included) when absent. */
  credentials?: { accessKeyId: string, secretAccessKey: string, sessionToken?: string }
  retry?: Ec2RetryOptions
  /** Called after every attempt. Must not throw. */
  onCall?: (e: Ec2CallEvent) => void
  /** Per-attempt timeout in ms (default 30 s). */
  requestTimeoutMs?: number
}

/** Error codes that mean "not executed, slow down": always safe to retry. */
const THROTTLE_CODES = new Set([
  'RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'RequestThrottled',
  'RequestThrottledException', 'TooManyRequestsException', 'SlowDown', 'PriorRequestNotComplete',
])

/** Error codes of server-side trouble, retried for idempotent calls only. */
const TRANSIENT_CODES = new Set([
  'InternalError', 'InternalFailure', 'ServiceUnavailable', 'Unavailable', 'RequestTimeout',
  'RequestTimeoutException', 'RequestExpired',
])

/** The EC2 error code of an SDK error, or undefined for non-AWS errors. */
export function ec2ErrorCode(err: unknown): string | undefined {
  if (err !== null && typeof err === 'object') {
    const e = err as { name?: unknown, Code?: unknown, code?: unknown, $metadata?: unknown }
    if (typeof e.Code === 'string') return e.Code
    if (e.$metadata !== undefined && typeof e.name === 'string') return e.name
    if (typeof e.code === 'string' && /^[A-Z]/.test(e.code)) return e.code
  }
  return undefined
}

export function isThrottle(err: unknown): boolean {
  const code = ec2ErrorCode(err)
  return code !== undefined && THROTTLE_CODES.has(code)
}

function isTransient(err: unknown): boolean {
  const code = ec2ErrorCode(err)
  if (code !== undefined) {
    if (TRANSIENT_CODES.has(code)) return true
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
    return status !== undefined && status >= 500
  }
  // No AWS code: a network failure (ECONNRESET, ECONNREFUSED, timeout) or an unparsable answer.
  return true
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * Runs `fn` with our retry policy. Exported so other Ec2Api implementations (and tests) share it.
 * `idempotent`: Describe/Delete (retry on anything transient) versus Create/Modify/Authorize
 * (retry on throttling only).
 */
export async function withRetry<R>(
  action: Ec2Action, idempotent: boolean, fn: () => Promise<R>,
  retry: Ec2RetryOptions = {}, onCall?: (e: Ec2CallEvent) => void,
): Promise<R> {
  const maxAttempts = retry.maxAttempts ?? 8
  const base = retry.baseDelayMs ?? 200
  const cap = retry.maxDelayMs ?? 20_000
  for (let attempt = 1; ; attempt++) {
    const t0 = performance.now()
    try {
      const r = await fn()
      onCall?.({ action, outcome: 'ok', latencyMs: performance.now() - t0, attempt })
      return r
    } catch (err) {
      const outcome = ec2ErrorCode(err) ?? 'NetworkError'
      onCall?.({ action, outcome, latencyMs: performance.now() - t0, attempt })
      const retryable = isThrottle(err) || (idempotent && isTransient(err))
      if (!retryable || attempt >= maxAttempts) throw err
      await sleep(Math.random() * Math.min(cap, base * 2 ** (attempt - 1)))
    }
  }
}

/** Builds the SDK-backed Ec2Api. */
export function createEc2Api(opts: Ec2ClientOptions): Ec2Api {
  const client = new EC2Client({
    region: opts.region,
    ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint } : {}),
    ...(opts.credentials !== undefined ? { credentials: opts.credentials } : {}),
    maxAttempts: 1,
    requestHandler: { requestTimeout: opts.requestTimeoutMs ?? 30_000 },
  })
  const retry = opts.retry ?? {}
  const onCall = opts.onCall
  // Each wrapper names its action once; `idem` marks calls that are safe to repeat blindly.
  const call = <I extends object, O>(
    action: Ec2Action, idem: boolean, Cmd: new (i: I) => unknown,
  ) => (input: I): Promise<O> =>
    withRetry(action, idem, () => client.send(new Cmd(input) as never) as Promise<O>, retry, onCall)

  return {
    region: opts.region,
    createTransitGateway: call('CreateTransitGateway', false, CreateTransitGatewayCommand),
    describeTransitGateways: call('DescribeTransitGateways', true, DescribeTransitGatewaysCommand),
    deleteTransitGateway: call('DeleteTransitGateway', true, DeleteTransitGatewayCommand),
    modifyTransitGateway: call('ModifyTransitGateway', false, ModifyTransitGatewayCommand),
    createTransitGatewayVpcAttachment: call('CreateTransitGatewayVpcAttachment', false, CreateTransitGatewayVpcAttachmentCommand),
    describeTransitGatewayVpcAttachments: call('DescribeTransitGatewayVpcAttachments', true, DescribeTransitGatewayVpcAttachmentsCommand),
    deleteTransitGatewayVpcAttachment: call('DeleteTransitGatewayVpcAttachment', true, DeleteTransitGatewayVpcAttachmentCommand),
    modifyTransitGatewayVpcAttachment: call('ModifyTransitGatewayVpcAttachment', false, ModifyTransitGatewayVpcAttachmentCommand),
    createTransitGatewayConnect: call('CreateTransitGatewayConnect', false, CreateTransitGatewayConnectCommand),
    describeTransitGatewayConnects: call('DescribeTransitGatewayConnects', true, DescribeTransitGatewayConnectsCommand),
    deleteTransitGatewayConnect: call('DeleteTransitGatewayConnect', true, DeleteTransitGatewayConnectCommand),
    createTransitGatewayConnectPeer: call('CreateTransitGatewayConnectPeer', false, CreateTransitGatewayConnectPeerCommand),
    describeTransitGatewayConnectPeers: call('DescribeTransitGatewayConnectPeers', true, DescribeTransitGatewayConnectPeersCommand),
    deleteTransitGatewayConnectPeer: call('DeleteTransitGatewayConnectPeer', true, DeleteTransitGatewayConnectPeerCommand),
    createRoute: call('CreateRoute', false, CreateRouteCommand),
    deleteRoute: call('DeleteRoute', true, DeleteRouteCommand),
    describeRouteTables: call('DescribeRouteTables', true, DescribeRouteTablesCommand),
    describeSubnets: call('DescribeSubnets', true, DescribeSubnetsCommand),
    createSecurityGroup: call('CreateSecurityGroup', false, CreateSecurityGroupCommand),
    describeSecurityGroups: call('DescribeSecurityGroups', true, DescribeSecurityGroupsCommand),
    deleteSecurityGroup: call('DeleteSecurityGroup', true, DeleteSecurityGroupCommand),
    authorizeSecurityGroupIngress: call('AuthorizeSecurityGroupIngress', false, AuthorizeSecurityGroupIngressCommand),
    revokeSecurityGroupIngress: call('RevokeSecurityGroupIngress', true, RevokeSecurityGroupIngressCommand),
    createTags: call('CreateTags', true, CreateTagsCommand),
  }
}
