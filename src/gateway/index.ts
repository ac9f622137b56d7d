/**
 * src/gateway/: the gateway logic between the CN2 control nodes and the AWS Transit Gateway (import
 * by route target, aggregates and the TGW quota guard, re-origination as VPN routes, failover, the
 * gateway table's desired kernel routes). Public face for the daemon: `Gateway`, its options and
 * ports, the recorder FIB for `dataplane: none`, and the export policy the TGW and CN2 peers need.
 */
export { Gateway, DEFAULT_LOST_AFTER, DEFAULT_MAX_PREFIXES_ADVERTISED, DEFAULT_TGW_ROUTES_WARNING } from './gateway.js'
export { GatewayConfigError } from './prefix.js'
export { QuotaGuard } from './quota.js'
export type { QuotaSink, QuotaStatus } from './quota.js'
export { RecordingFib } from './recording-fib.js'
export type { RecordingFibState } from './recording-fib.js'
export { localRoutesOnly } from './policy.js'
export type * from './types.js'
