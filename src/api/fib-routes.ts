/**
 * The FIB route listing behind `gsictl show fib`: the desired routes of the gateway tables, filtered
 * by table and prefix, ordered (table, then IPv4 before IPv6, then address and length, as `ip route`
 * and Junos `show route table` list them) and cut into pages.
 *
 * The cursor is the last route's `table prefix`, not an index: a page asked for while routes come and
 * go starts after the last route the previous page showed, neither repeating nor skipping one that
 * stayed. Pure: the view hands in the routes (it visits them through the FIB port) and gets a page.
 */
import { parsePrefix, prefixContains, tryParseAddress, type IpPrefix } from '../lib/address.js'
import { ApiError, ErrorCode } from './protocol.js'
import { DEFAULT_ROUTE_PAGE, MAX_ROUTE_PAGE, type FibQuery, type FibRouteView } from './view.js'

interface Keyed {
  readonly route: FibRouteView
  readonly p: IpPrefix
}

/** Orders (table, family, address bytes, length): numeric, so 10.9.0.0/16 comes before 10.10.0.0/16. */
function compare(ta: number, a: IpPrefix, tb: number, b: IpPrefix): number {
  if (ta !== tb) return ta - tb
  if (a.family !== b.family) return a.family - b.family
  for (let i = 0; i < a.bytes.length; i++) {
    const d = (a.bytes[i] as number) - (b.bytes[i] as number)
    if (d !== 0) return d
  }
  return a.length - b.length
}

/** `table prefix` of a route: the cursor format. */
export function fibCursor(r: Pick<FibRouteView, 'table' | 'prefix'>): string {
  return `${r.table} ${r.prefix}`
}

function parseCursor(after: string): { table: number; p: IpPrefix } {
  const m = /^(\d+) (\S+)$/.exec(after)
  const p = m !== null ? tryPrefix(m[2] as string) : undefined
  if (m === null || p === undefined) throw new ApiError(ErrorCode.InvalidParams, `params.after: ${JSON.stringify(after)} is not a FIB cursor ("TABLE PREFIX", as the previous page's next gave it)`)
  return { table: Number(m[1]), p }
}

function tryPrefix(text: string): IpPrefix | undefined {
  try {
    return parsePrefix(text, 'prefix')
  } catch {
    return undefined
  }
}

/** One page of `routes` (any order) for the query. */
export function fibRoutePage(routes: Iterable<FibRouteView>, q: FibQuery): { routes: FibRouteView[]; next?: string } {
  const limit = Math.min(q.limit ?? DEFAULT_ROUTE_PAGE, MAX_ROUTE_PAGE)
  let want: { exact: IpPrefix } | { holds: NonNullable<ReturnType<typeof tryParseAddress>> } | undefined
  if (q.prefix !== undefined) {
    if (q.prefix.includes('/')) {
      const p = tryPrefix(q.prefix)
      if (p === undefined) throw new ApiError(ErrorCode.InvalidParams, `params.prefix: ${JSON.stringify(q.prefix)} is not a prefix (host bits must be zero)`)
      want = { exact: p }
    } else {
      const a = tryParseAddress(q.prefix)
      if (a === undefined) throw new ApiError(ErrorCode.InvalidParams, `params.prefix: ${JSON.stringify(q.prefix)} is not an IP address`)
      want = { holds: a }
    }
  }
  const after = q.after !== undefined ? parseCursor(q.after) : undefined
  const keyed: Keyed[] = []
  for (const route of routes) {
    if (q.table !== undefined && route.table !== q.table) continue
    const p = tryPrefix(route.prefix)
    if (p === undefined) continue
    if (want !== undefined && ('exact' in want ? compare(0, p, 0, want.exact) !== 0 : !prefixContains(p, want.holds))) continue
    if (after !== undefined && compare(route.table, p, after.table, after.p) <= 0) continue
    keyed.push({ route, p })
  }
  keyed.sort((a, b) => compare(a.route.table, a.p, b.route.table, b.p))
  const page = keyed.slice(0, limit).map((k) => k.route)
  const last = page[page.length - 1]
  return { routes: page, ...(keyed.length > limit && last !== undefined ? { next: fibCursor(last) } : {}) }
}
