/**
 * A FIB port that programs nothing: it keeps the desired gateway tables and routes in memory, in the
 * FibWriter's vocabulary, for `dataplane: none` (the control plane on a kernel without GRE, fou or
 * MPLS; benchmarks) and for tests. gsictl's `show fib` reads `routes()` and `state()`.
 *
 * Validation is the FibWriter's where it is cheap (table ids, labels, tables declared before routes,
 * prefixes); prefixes are canonicalised as the writer does.
 *
 * Layout (docs/gateway.md): a route toward a pod is one prefix and one MPLS next hop, and there may be
 * a million of them, so routes live in a PrefixTable per table and family (typed arrays, no string
 * and no object per route) with the next hop as two numbers: the vRouter's interned id and the label.
 * Any other next-hop list (ECMP, GRE toward the TGW, weights) is kept as given, by prefix id.
 */
import { Interner } from './interner.js'
import { checkLabel, checkTable, RouteError } from '../fib/diff.js'
import type { DesiredRoute, GatewayTable, MplsNextHop, NextHop } from '../fib/types.js'
import { grownInt32, PrefixTable } from './prefix-table.js'
import { scanned, scanPrefix } from './prefix.js'
import type { FibPort } from './types.js'

export interface RecordingFibState {
  readonly ready: boolean
  readonly desiredRoutes: number
  readonly tables: readonly GatewayTable[]
  /** Route writes (set or delete) and flushes seen: what a writer would have been asked to do. */
  readonly writes: number
  readonly flushes: number
}

/** The routes of one table and family. */
class FamilyRoutes {
  readonly prefixes: PrefixTable
  /** vRouter id + 1 of a route's one MPLS next hop; 0: its next hops are in `other`. */
  vrouter1: Int32Array = new Int32Array(0)
  label: Int32Array = new Int32Array(0)
  readonly other = new Map<number, readonly NextHop[]>()

  constructor(family: 4 | 6) {
    this.prefixes = new PrefixTable(family)
    this.prefixes.onGrow = (cap) => {
      this.vrouter1 = grownInt32(this.vrouter1, cap)
      this.label = grownInt32(this.label, cap)
    }
  }
}

class TableRoutes {
  readonly v4 = new FamilyRoutes(4)
  readonly v6 = new FamilyRoutes(6)
  get size(): number {
    return this.v4.prefixes.size + this.v6.prefixes.size
  }
}

export class RecordingFib implements FibPort {
  private tables = new Map<number, GatewayTable>()
  private readonly desired = new Map<number, TableRoutes>()
  /** vRouter addresses by id (interned: a few thousand at most, each shared by many routes). */
  /** vRouter addresses by the id the typed arrays hold. */
  private readonly vrouters = new Interner()
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
      if (!next.has(table) && routes.size > 0) throw new RouteError('tables', `table ${table} still has desired routes (${this.firstPrefix(routes)}): delete them first`)
    }
    for (const t of next.keys()) if (!this.desired.has(t)) this.desired.set(t, new TableRoutes())
    this.tables = next
  }

  setRoute(route: DesiredRoute): void {
    const routes = this.tables.has(route.table) ? this.desired.get(route.table) : undefined
    if (routes === undefined) throw new RouteError(`route ${route.prefix}: table`, `table ${route.table} is not a gateway table (setTables first)`)
    if (route.nexthops.length === 0) throw new RouteError(`route ${route.prefix} (table ${route.table}): nexthops`, 'at least one next hop is required')
    const f = this.familyOf(routes, route)
    const id = f.prefixes.insert(f.prefixes.loadScanned())
    const h = route.nexthops[0] as NextHop
    if (route.nexthops.length === 1 && h.kind === 'mpls' && h.weight === undefined) {
      f.vrouter1[id] = this.vrouters.id(h.vrouter) + 1
      f.label[id] = h.label
      if (!f.prefixes.added) f.other.delete(id)
    } else {
      f.vrouter1[id] = 0
      f.other.set(id, route.nexthops)
    }
    this.writes++
  }

  setMplsRoute(table: number, family: 4 | 6, words: Uint32Array, length: number, vrouter: string, label: number): void {
    const routes = this.tables.has(table) ? this.desired.get(table) : undefined
    if (routes === undefined) throw new RouteError(`route in table ${table}: table`, `table ${table} is not a gateway table (setTables first)`)
    const f = family === 4 ? routes.v4 : routes.v6
    const pt = f.prefixes
    for (let i = 0; i < pt.W; i++) pt.key[i] = words[i] as number
    const id = pt.insert(length)
    f.vrouter1[id] = this.vrouters.id(vrouter) + 1
    f.label[id] = label
    if (!pt.added) f.other.delete(id)
    this.writes++
  }

  deleteRoute(table: number, prefix: string): boolean {
    this.writes++
    const routes = this.desired.get(table)
    if (routes === undefined || !scanPrefix(prefix, 0)) return false
    const f = scanned.family === 4 ? routes.v4 : routes.v6
    const id = f.prefixes.find(f.prefixes.loadScanned())
    if (id < 0) return false
    f.prefixes.delete(id)
    f.vrouter1[id] = 0
    f.other.delete(id)
    return true
  }

  replaceAll(routes: Iterable<DesiredRoute>): void {
    for (const table of [...this.desired.keys()]) this.desired.set(table, new TableRoutes())
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
    const routes = this.desired.get(table)
    if (routes === undefined || !scanPrefix(prefix, 0)) return undefined
    const f = scanned.family === 4 ? routes.v4 : routes.v6
    const id = f.prefixes.find(f.prefixes.loadScanned())
    return id < 0 ? undefined : this.routeOf(table, f, id)
  }

  /** Every desired route in no particular order, one at a time (nothing collected or sorted). */
  forEachRoute(visit: (route: DesiredRoute) => void): void {
    for (const [table, routes] of this.desired) {
      for (const f of [routes.v4, routes.v6]) f.prefixes.forEach((id) => visit(this.routeOf(table, f, id)))
    }
  }

  /** Every desired route, ordered by table then prefix text. */
  routes(): DesiredRoute[] {
    const out: DesiredRoute[] = []
    for (const [table, routes] of this.desired) {
      for (const f of [routes.v4, routes.v6]) f.prefixes.forEach((id) => out.push(this.routeOf(table, f, id)))
    }
    return out.sort((a, b) => a.table - b.table || (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0))
  }

  /** Routes per vRouter address (each MPLS next hop counted): the tunnels the routes would need. */
  vrouterRoutes(): Map<string, number> {
    const refs = new Map<string, number>()
    const add = (vrouter: string): void => {
      refs.set(vrouter, (refs.get(vrouter) ?? 0) + 1)
    }
    for (const routes of this.desired.values()) {
      for (const f of [routes.v4, routes.v6]) {
        f.prefixes.forEach((id) => {
          const v = f.vrouter1[id] as number
          if (v > 0) add(this.vrouters.at(v - 1))
          else for (const h of f.other.get(id) ?? []) if (h.kind === 'mpls') add(h.vrouter)
        })
      }
    }
    return refs
  }

  get size(): number {
    let n = 0
    for (const m of this.desired.values()) n += m.size
    return n
  }

  state(): RecordingFibState {
    return { ready: this.ready, desiredRoutes: this.size, tables: [...this.tables.values()], writes: this.writes, flushes: this.flushes }
  }

  private familyOf(routes: TableRoutes, route: DesiredRoute): FamilyRoutes {
    if (!scanPrefix(route.prefix, 0)) throw new RouteError(`route ${route.prefix} (table ${route.table}): prefix`, 'not an IPv4 or IPv6 prefix (ADDRESS/LENGTH)')
    return scanned.family === 4 ? routes.v4 : routes.v6
  }


  private routeOf(table: number, f: FamilyRoutes, id: number): DesiredRoute {
    const v = f.vrouter1[id] as number
    const nexthops: readonly NextHop[] = v > 0 ? [{ kind: 'mpls', vrouter: this.vrouters.at(v - 1), label: f.label[id] as number } satisfies MplsNextHop] : (f.other.get(id) as readonly NextHop[])
    return { table, prefix: f.prefixes.text(id), nexthops }
  }

  private firstPrefix(routes: TableRoutes): string {
    for (const f of [routes.v4, routes.v6]) {
      let first = -1
      f.prefixes.forEach((id) => {
        if (first < 0) first = id
      })
      if (first >= 0) return f.prefixes.text(first)
    }
    return ''
  }
}
