/**
 * The FIB route listing behind `gsictl show fib`: the desired routes of the gateway tables, filtered
 * by table and prefix, ordered (table, then IPv4 before IPv6, then address and length, as `ip route`
 * and Junos `show route table` list them) and cut into pages.
 *
 * The cursor is the last route's `table prefix`, not an index: a page asked for while routes come and
 * go starts after the last route the previous page showed, neither repeating nor skipping one that
 * stayed. Pure: the view offers the routes as it visits them through the FIB port and gets a page;
 * only a page's worth is kept, so listing from a million-route FIB costs one pass and no object per route.
 */
import { parsePrefix, prefixContains, tryParseAddress, type IpPrefix } from '../lib/address.js'
import { ApiError, ErrorCode } from './protocol.js'
import { DEFAULT_ROUTE_PAGE, MAX_ROUTE_PAGE, type FibQuery, type FibRouteView } from './view.js'

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

/**
 * An IPv4 `a.b.c.d/len` as one number, address * 64 + length (exact in a double, and ordered as
 * compare() orders IPv4 prefixes), or -1 for anything else (IPv6, or text to parse the slow way).
 * Read character by character: a listing reads every route of the FIB, a million at a time.
 */
function v4Key(text: string): number {
  let addr = 0
  let part = 0
  let digits = 0
  let dots = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48)
      if (++digits > 3 || part > 255) return -1
    } else if (c === 46 && digits > 0 && dots < 3) {
      addr = addr * 256 + part
      part = 0
      digits = 0
      dots++
    } else if (c === 47 && digits > 0 && dots === 3) {
      addr = addr * 256 + part
      let len = 0
      let n = 0
      for (let j = i + 1; j < text.length; j++) {
        const d = text.charCodeAt(j)
        if (d < 48 || d > 57 || ++n > 2) return -1
        len = len * 10 + (d - 48)
      }
      if (n === 0 || len > 32) return -1
      // host bits must be zero, as parsePrefix requires
      if (len < 32 && addr % 2 ** (32 - len) !== 0) return -1
      return addr * 64 + len
    } else {
      return -1
    }
  }
  return -1
}

/** A route offered to a page: its table, its prefix parsed (IPv4 as a number), and the item. */
interface Candidate<T> {
  readonly table: number
  /** v4Key, or -1 with `p` set. */
  readonly v4: number
  readonly p: IpPrefix | undefined
  readonly prefix: string
  readonly item: T
}

type Keyed = Pick<Candidate<unknown>, 'table' | 'v4' | 'p' | 'prefix'>

function compareCandidates(a: Keyed, b: Keyed): number {
  if (a.table !== b.table) return a.table - b.table
  if (a.v4 >= 0 && b.v4 >= 0) return a.v4 - b.v4
  // an IPv6 prefix on one side (rare in the FIB): the IPv4 side is parsed from its text only now
  return compare(0, a.p ?? (tryPrefix(a.prefix) as IpPrefix), 0, b.p ?? (tryPrefix(b.prefix) as IpPrefix))
}

/**
 * Picks one page of routes for the query while the FIB's routes are offered one by one, in any order:
 * only the page's worth is kept (sorted, binary insertion), so a page of a million-route FIB costs
 * one pass of cheap comparisons and no object per route. `offer` takes the route's table and prefix
 * text and the caller's item (only the page's items are ever turned into views).
 */
export class FibPageSelector<T> {
  private readonly limit: number
  private readonly want: { exact: IpPrefix; v4: number } | { holds: NonNullable<ReturnType<typeof tryParseAddress>> } | undefined
  private readonly after: Keyed | undefined
  private readonly table: number | undefined
  /** The best `limit + 1` so far (the extra one tells whether a next page exists), ascending. */
  private readonly kept: Candidate<T>[] = []

  constructor(q: FibQuery) {
    this.limit = Math.min(q.limit ?? DEFAULT_ROUTE_PAGE, MAX_ROUTE_PAGE)
    this.table = q.table
    if (q.prefix !== undefined) {
      if (q.prefix.includes('/')) {
        const p = tryPrefix(q.prefix)
        if (p === undefined) throw new ApiError(ErrorCode.InvalidParams, `params.prefix: ${JSON.stringify(q.prefix)} is not a prefix (host bits must be zero)`)
        this.want = { exact: p, v4: p.family === 4 ? v4Key(p.text) : -1 }
      } else {
        const a = tryParseAddress(q.prefix)
        if (a === undefined) throw new ApiError(ErrorCode.InvalidParams, `params.prefix: ${JSON.stringify(q.prefix)} is not an IP address`)
        this.want = { holds: a }
      }
    }
    if (q.after !== undefined) {
      const c = parseCursor(q.after)
      this.after = { table: c.table, v4: c.p.family === 4 ? v4Key(c.p.text) : -1, p: c.p, prefix: c.p.text }
    }
  }

  offer(table: number, prefix: string, item: T): void {
    if (this.table !== undefined && table !== this.table) return
    const v4 = v4Key(prefix)
    let p: IpPrefix | undefined
    if (v4 < 0) {
      p = tryPrefix(prefix)
      if (p === undefined) return
    }
    const c: Candidate<T> = { table, v4, p, prefix, item }
    const w = this.want
    if (w !== undefined) {
      if ('exact' in w) {
        if (w.v4 >= 0 ? v4 !== w.v4 : p === undefined || compare(0, p, 0, w.exact) !== 0) return
      } else if (!prefixContains(p ?? (tryPrefix(prefix) as IpPrefix), w.holds)) {
        return
      }
    }
    if (this.after !== undefined && compareCandidates(c, this.after) <= 0) return
    const kept = this.kept
    const room = this.limit + 1
    if (kept.length === room && compareCandidates(c, kept[room - 1] as Candidate<T>) >= 0) return
    let lo = 0
    let hi = kept.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (compareCandidates(kept[mid] as Candidate<T>, c) < 0) lo = mid + 1
      else hi = mid
    }
    kept.splice(lo, 0, c)
    if (kept.length > room) kept.pop()
  }

  /** The page's items in order, and the cursor of the next page if there is one. */
  page(): { items: T[]; next?: string } {
    const items = this.kept.slice(0, this.limit)
    const last = items[items.length - 1]
    return {
      items: items.map((c) => c.item),
      ...(this.kept.length > this.limit && last !== undefined ? { next: fibCursor({ table: last.table, prefix: last.prefix }) } : {}),
    }
  }
}

/** One page of `routes` (any order) for the query. */
export function fibRoutePage(routes: Iterable<FibRouteView>, q: FibQuery): { routes: FibRouteView[]; next?: string } {
  const sel = new FibPageSelector<FibRouteView>(q)
  for (const r of routes) sel.offer(r.table, r.prefix, r)
  const { items, next } = sel.page()
  return { routes: items, ...(next !== undefined ? { next } : {}) }
}
