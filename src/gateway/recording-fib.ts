/**
 * A FIB port that programs nothing: it keeps the desired gateway tables and routes in memory, in the
 * FibWriter's vocabulary, for `dataplane: none` (the control plane on a kernel without GRE, fou or
 * MPLS; benchmarks) and for tests. gsictl's `show fib` reads `routes()` and `state()`.
 *
 * Validation is the FibWriter's where it is cheap (table ids, labels, tables declared before routes);
 * prefixes are kept as the gateway wrote them (canonical text from the RIB).
 */
import { checkLabel, checkTable, RouteError } from '../fib/diff.js'
import type { DesiredRoute, GatewayTable } from '../fib/types.js'
import type { FibPort } from './types.js'

export interface RecordingFibState {
  readonly ready: boolean
  readonly desiredRoutes: number
  readonly tables: readonly GatewayTable[]
  /** Route writes (set or delete) and flushes seen: what a writer would have been asked to do. */
  readonly writes: number
  readonly flushes: number
}

export class RecordingFib implements FibPort {
  private tables = new Map<number, GatewayTable>()
  /** Desired routes per table, by prefix text. */
  private readonly desired = new Map<number, Map<string, DesiredRoute>>()
  private ready = false
  private writes = 0
  private flushes = 0

  setTables(tables: readonly GatewayTable[]): void {
    const next = new Map<number, GatewayTable>()
    tables.forEach((t, i) => {
      checkTable(t.table, `tables[${i}].table`)
      checkLabel(t.label, `tables[${i}].label`)
      if (next.has(t.table)) throw new RouteError(`tables[${i}].table`, `table ${t.table} is listed twice`)
      next.set(t.table, { table: t.table, label: t.label })
    })
    for (const [table, routes] of this.desired) {
      const first = routes.values().next()
      if (!next.has(table) && !first.done) throw new RouteError('tables', `table ${table} still has desired routes (${first.value.prefix}): delete them first`)
    }
    for (const t of next.keys()) if (!this.desired.has(t)) this.desired.set(t, new Map())
    this.tables = next
  }

  setRoute(route: DesiredRoute): void {
    const routes = this.tables.has(route.table) ? this.desired.get(route.table) : undefined
    if (routes === undefined) throw new RouteError(`route ${route.prefix}: table`, `table ${route.table} is not a gateway table (setTables first)`)
    if (route.nexthops.length === 0) throw new RouteError(`route ${route.prefix} (table ${route.table}): nexthops`, 'at least one next hop is required')
    routes.set(route.prefix, route)
    this.writes++
  }

  deleteRoute(table: number, prefix: string): boolean {
    this.writes++
    return this.desired.get(table)?.delete(prefix) ?? false
  }

  replaceAll(routes: Iterable<DesiredRoute>): void {
    for (const m of this.desired.values()) m.clear()
    for (const r of routes) this.setRoute(r)
  }

  async flush(): Promise<void> {
    this.flushes++
  }

  async markReady(): Promise<void> {
    this.ready = true
  }

  /** One desired route, or undefined. */
  route(table: number, prefix: string): DesiredRoute | undefined {
    return this.desired.get(table)?.get(prefix)
  }

  /** Every desired route, ordered by table then prefix text. */
  routes(): DesiredRoute[] {
    return [...this.desired.values()].flatMap((m) => [...m.values()]).sort((a, b) => a.table - b.table || (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0))
  }

  get size(): number {
    let n = 0
    for (const m of this.desired.values()) n += m.size
    return n
  }

  state(): RecordingFibState {
    return { ready: this.ready, desiredRoutes: this.size, tables: [...this.tables.values()], writes: this.writes, flushes: this.flushes }
  }
}
