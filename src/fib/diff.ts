/**
 * The FIB writer's pure core: turn desired routes into kernel routes (validated, canonical), and
 * compute the smallest set of route operations that takes the kernel from what it holds to what is
 * wanted. Equal routes produce no operation at all: that is what lets a restarted daemon adopt the
 * routes its previous run left without deleting and re-adding them.
 *
 * Route identity is what the kernel keys routes by for our purposes: table, destination and metric
 * (RTA_TABLE, RTA_DST/rtm_dst_len, RTA_PRIORITY). Next hops compare as a multiset, order-free, since
 * the kernel may return RTA_MULTIPATH entries in another order than we sent them.
 */
import { tunnelName } from '../../mplsoudp/tunnels.js'
import { parseAddress, parsePrefix } from './prefix.js'
import type { DesiredRoute, KernelLabelRoute, KernelNextHop, KernelRoute, LabelOp, RouteOp } from './types.js'

export class RouteError extends Error {
  readonly code = 'ERR_FIB_ROUTE'
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`)
    this.name = 'RouteError'
  }
}

/** Tables a FIB writer must never write: unspec (0), default (253), main (254), local (255). */
export const RESERVED_TABLES: ReadonlySet<number> = new Set([0, 253, 254, 255])
export const MIN_LABEL = 16
/** Gateway given to IPv6 multipath next hops over point-to-point tunnels (see toKernelRoute). */
export const IPV6_TUNNEL_GATEWAY = 'fe80::1'
export const MAX_LABEL = 0xfffff

export function checkTable(table: number, field = 'table'): number {
  if (!Number.isInteger(table) || table < 1 || table > 0xffffffff) throw new RouteError(field, `${table} is not a table id (1-4294967295)`)
  if (RESERVED_TABLES.has(table)) throw new RouteError(field, `${table} is a reserved table (main, local or default): the gateway keeps out of the node's own tables`)
  return table
}

export function checkLabel(label: number, field = 'label'): number {
  if (!Number.isInteger(label) || label < MIN_LABEL || label > MAX_LABEL) throw new RouteError(field, `${label} is not a usable MPLS label (16-1048575; 0-15 are reserved, RFC 3032)`)
  return label
}

export interface KernelRouteOptions {
  readonly protocol: number
  readonly metric: number
}

/** Validates a desired route and expresses it as the kernel route that implements it. */
export function toKernelRoute(r: DesiredRoute, o: KernelRouteOptions): KernelRoute {
  const where = `route ${r.prefix} (table ${r.table})`
  checkTable(r.table, `${where}: table`)
  const p = parsePrefix(r.prefix, `${where}: prefix`)
  if (!Array.isArray(r.nexthops) || r.nexthops.length === 0) throw new RouteError(`${where}: nexthops`, 'at least one next hop is required')
  const seen = new Map<string, KernelNextHop>()
  r.nexthops.forEach((nh, i) => {
    const f = `${where}: nexthops[${i}]`
    const weight = nh.weight ?? 1
    if (!Number.isInteger(weight) || weight < 1 || weight > 256) throw new RouteError(`${f}.weight`, `${weight} is not a weight (1-256)`)
    let k: KernelNextHop
    switch (nh.kind) {
      case 'mpls':
        checkLabel(nh.label, `${f}.label`)
        k = { dev: tunnelName(parseAddress(nh.vrouter, `${f}.vrouter`).text), labels: [nh.label], weight }
        break
      case 'gre': {
        if (typeof nh.link !== 'string' || nh.link.length === 0 || nh.link.length > 15) throw new RouteError(`${f}.link`, `"${nh.link}" is not a link name (1-15 characters)`)
        const gw = parseAddress(nh.gateway, `${f}.gateway`)
        if (gw.family !== p.family) throw new RouteError(`${f}.gateway`, `${gw.text} is IPv${gw.family} but the prefix is IPv${p.family}`)
        k = { dev: nh.link, gateway: gw.text, weight }
        break
      }
      default:
        throw new RouteError(`${f}.kind`, `unknown next hop kind ${JSON.stringify((nh as { kind: unknown }).kind)} (mpls or gre)`)
    }
    // The same next hop twice would be a duplicate RTA_MULTIPATH entry: merge by adding weights,
    // which is what the duplicate would have meant for the hash.
    const key = nextHopKey({ ...k, weight: 1 })
    const prev = seen.get(key)
    seen.set(key, prev ? { ...k, weight: Math.min(256, prev.weight + weight) } : k)
  })
  let nexthops = [...seen.values()]
  // A single next hop is not a multipath route: the kernel keeps no weight for it.
  if (nexthops.length === 1) nexthops = [{ ...(nexthops[0] as KernelNextHop), weight: 1 }]
  // IPv6 refuses device-only next hops in RTA_MULTIPATH ("Device only routes can not be added for
  // IPv6 using the multipath API"): give each tunnel next hop a link-local gateway. The tunnels are
  // NOARP, so the address is never resolved; it only makes the route acceptable.
  else if (p.family === 6) nexthops = nexthops.map(h => h.gateway === undefined ? { ...h, gateway: IPV6_TUNNEL_GATEWAY } : h)
  return { family: p.family, table: r.table, prefix: p.text, protocol: o.protocol, metric: o.metric, nexthops }
}

export function routeKey(r: { table: number; prefix: string; metric: number }): string {
  return `${r.table} ${r.prefix} ${r.metric}`
}

function nextHopKey(n: KernelNextHop): string {
  return `${n.dev}|${n.gateway ?? ''}|${n.labels?.join('/') ?? ''}|${n.weight}`
}

/** Next hops as a sorted key: equal when the kernel would forward the same way. */
export function nextHopsKey(r: KernelRoute): string {
  if (r.nexthops.length === 1) return nextHopKey({ ...(r.nexthops[0] as KernelNextHop), weight: 1 })
  return r.nexthops.map(nextHopKey).sort().join(',')
}

export function sameRoute(a: KernelRoute, b: KernelRoute): boolean {
  return a.family === b.family && routeKey(a) === routeKey(b) && a.protocol === b.protocol && nextHopsKey(a) === nextHopsKey(b)
}

export interface DiffOptions {
  /** Delete actual routes that are not desired. False while adopted routes wait for the control
   * plane to be ready (graceful restart). */
  readonly deleteUnwanted: boolean
  /** Only look at these keys (event-driven and incremental syncs); all keys when absent. */
  readonly keys?: Iterable<string>
}

/**
 * Operations taking `actual` to `desired`, both keyed by `routeKey`. Adds and replaces come first,
 * deletes last, so that a prefix moving between metrics is never absent.
 */
export function diffRoutes(desired: ReadonlyMap<string, KernelRoute>, actual: ReadonlyMap<string, KernelRoute>, o: DiffOptions): RouteOp[] {
  const ops: RouteOp[] = []
  const deletes: RouteOp[] = []
  const visit = (key: string): void => {
    const want = desired.get(key)
    const have = actual.get(key)
    if (want && !have) ops.push({ op: 'add', route: want })
    else if (want && have) { if (!sameRoute(want, have)) ops.push({ op: 'replace', route: want, previous: have }) }
    else if (!want && have && o.deleteUnwanted) deletes.push({ op: 'delete', route: have })
  }
  if (o.keys) {
    for (const k of new Set(o.keys)) visit(k)
  } else {
    for (const k of desired.keys()) visit(k)
    for (const k of actual.keys()) if (!desired.has(k)) visit(k)
  }
  return ops.concat(deletes)
}

/** The same for AF_MPLS label routes, keyed by label. */
export function diffLabelRoutes(desired: ReadonlyMap<number, KernelLabelRoute>, actual: ReadonlyMap<number, KernelLabelRoute>, deleteUnwanted: boolean): LabelOp[] {
  const ops: LabelOp[] = []
  for (const [label, want] of desired) {
    const have = actual.get(label)
    if (!have) ops.push({ op: 'add', route: want })
    else if (have.dev !== want.dev || have.protocol !== want.protocol) ops.push({ op: 'replace', route: want, previous: have })
  }
  if (deleteUnwanted) for (const [label, have] of actual) if (!desired.has(label)) ops.push({ op: 'delete', route: have })
  return ops
}
