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
 *
 * Pod routes from the gateway (`setMplsRouteOf`) are keyed by the gateway's own PrefixTable, not
 * copied into ours: the gateway already holds every imported prefix in one, and a second hash table
 * of the same million prefixes cost an insert per route and about 12 bytes of heap each
 * (bench/gateway.bench.ts). Per table and family the FIB borrows one such table ("borrowed": vRouter
 * and label by the gateway's prefix id); every other route is in its own table, and a prefix is in
 * one of the two, never both. The gateway deletes a borrowed route (`deleteRouteOf`) before it frees
 * the prefix's id. A route from another table (a new gateway after a reload) first moves the routes
 * borrowed from the old one into our own table.
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
  /** The gateway's prefix table whose ids key the borrowed routes, and per id the route's vRouter
   * id + 1 (0: no route) and label. */
  borrowed: PrefixTable | undefined
  bVrouter1: Int32Array = new Int32Array(0)
  bLabel: Int32Array = new Int32Array(0)
  bCount = 0

  constructor(family: 4 | 6) {
    this.prefixes = new PrefixTable(family)
    this.prefixes.onGrow = (cap) => {
      this.vrouter1 = grownInt32(this.vrouter1, cap)
      this.label = grownInt32(this.label, cap)
    }
  }

  get size(): number {
    return this.prefixes.size + this.bCount
  }

  /** The borrowed table's id of the prefix in our table's `key` (of `length`), or -1 (none, or no
   * borrowed route at all). */
  borrowedIdOfKey(length: number): number {
    return this.bCount > 0 ? (this.borrowed as PrefixTable).findIn(this.prefixes.key, 0, length) : -1
  }

  /** Drops the borrowed route of the borrowed table's id, if any; whether there was one. */
  dropBorrowed(id: number): boolean {
    if (id < 0 || id >= this.bVrouter1.length || this.bVrouter1[id] === 0) return false
    this.bVrouter1[id] = 0
    this.bCount--
    return true
  }

  /** Drops our own route of prefix id `own`. */
  dropOwn(own: number): void {
    this.prefixes.delete(own)
    this.vrouter1[own] = 0
    this.other.delete(own)
  }

  /** Calls fn with every borrowed route's id. */
  forEachBorrowed(fn: (id: number) => void): void {
    const b = this.borrowed
    if (b === undefined || this.bCount === 0) return
    b.forEach((id) => {
      if (id < this.bVrouter1.length && this.bVrouter1[id] !== 0) fn(id)
    })
  }
}

class TableRoutes {
  readonly v4 = new FamilyRoutes(4)
  readonly v6 = new FamilyRoutes(6)
  get size(): number {
    return this.v4.size + this.v6.size
  }
}

export class RecordingFib implements FibPort {
  private tables = new Map<number, GatewayTable>()
  private readonly desired = new Map<number, TableRoutes>()
  /** vRouter addresses by the id the typed arrays hold (interned: a few thousand at most, each
   * shared by many routes). */
  private readonly vrouters = new Interner()
  private lastVrouter = ''
  private lastVrouterId = 0
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
    const length = f.prefixes.loadScanned()
    f.dropBorrowed(f.borrowedIdOfKey(length))
    const id = f.prefixes.insert(length)
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

  /** FibPort.setMplsRouteOf: the route of prefix `id` of the gateway's table `keys`, borrowed. */
  setMplsRouteOf(table: number, keys: PrefixTable, id: number, vrouter: string, label: number): void {
    const routes = this.tables.has(table) ? this.desired.get(table) : undefined
    if (routes === undefined) throw new RouteError(`route in table ${table}: table`, `table ${table} is not a gateway table (setTables first)`)
    const f = keys.family === 4 ? routes.v4 : routes.v6
    if (f.borrowed !== keys) this.borrow(f, keys)
    if (f.prefixes.size > 0) {
      const own = f.prefixes.findOf(keys, id)
      if (own >= 0) f.dropOwn(own)
    }
    if (id >= f.bVrouter1.length) {
      const cap = Math.max(keys.capacity, id + 1)
      f.bVrouter1 = grownInt32(f.bVrouter1, cap)
      f.bLabel = grownInt32(f.bLabel, cap)
    }
    if (f.bVrouter1[id] === 0) f.bCount++
    // Consecutive routes mostly share a vRouter (its pods come in one UPDATE): skip the map then.
    if (vrouter !== this.lastVrouter) {
      this.lastVrouter = vrouter
      this.lastVrouterId = this.vrouters.id(vrouter)
    }
    f.bVrouter1[id] = this.lastVrouterId + 1
    f.bLabel[id] = label
    this.writes++
  }

  /** FibPort.deleteRouteOf: deletes the route of prefix `id` of the gateway's table `keys`: a
   * borrowed one, and unless `borrowedOnly` our own one of the same prefix. */
  deleteRouteOf(table: number, keys: PrefixTable, id: number, borrowedOnly: boolean): boolean {
    const routes = this.desired.get(table)
    if (routes === undefined) return false
    const f = keys.family === 4 ? routes.v4 : routes.v6
    if (f.borrowed === keys && f.dropBorrowed(id)) {
      this.writes++
      return true
    }
    if (borrowedOnly || f.prefixes.size === 0) return false
    const own = f.prefixes.findOf(keys, id)
    if (own < 0) return false
    f.dropOwn(own)
    this.writes++
    return true
  }

  deleteRoute(table: number, prefix: string): boolean {
    this.writes++
    const routes = this.desired.get(table)
    if (routes === undefined || !scanPrefix(prefix, 0)) return false
    const f = scanned.family === 4 ? routes.v4 : routes.v6
    const length = f.prefixes.loadScanned()
    if (f.dropBorrowed(f.borrowedIdOfKey(length))) return true
    const id = f.prefixes.find(length)
    if (id < 0) return false
    f.dropOwn(id)
    return true
  }

  /** Binds a family's borrowed routes to `keys`: the routes borrowed from another table move to our own. */
  private borrow(f: FamilyRoutes, keys: PrefixTable): void {
    const old = f.borrowed
    if (old !== undefined) {
      f.forEachBorrowed((id) => {
        const own = f.prefixes.insertOf(old, id)
        f.vrouter1[own] = f.bVrouter1[id] as number
        f.label[own] = f.bLabel[id] as number
        f.other.delete(own)
      })
    }
    f.borrowed = keys
    f.bVrouter1 = new Int32Array(0)
    f.bLabel = new Int32Array(0)
    f.bCount = 0
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
    const length = f.prefixes.loadScanned()
    const id = f.prefixes.find(length)
    if (id >= 0) return this.routeOf(table, f, id)
    const b = f.borrowedIdOfKey(length)
    return b >= 0 && f.bVrouter1[b] !== 0 ? this.borrowedRouteOf(table, f, b) : undefined
  }

  /** Every desired route in no particular order, one at a time (nothing collected or sorted). */
  forEachRoute(visit: (route: DesiredRoute) => void): void {
    for (const [table, routes] of this.desired) {
      for (const f of [routes.v4, routes.v6]) {
        f.prefixes.forEach((id) => visit(this.routeOf(table, f, id)))
        f.forEachBorrowed((id) => visit(this.borrowedRouteOf(table, f, id)))
      }
    }
  }

  /** Every desired route, ordered by table then prefix text. */
  routes(): DesiredRoute[] {
    const out: DesiredRoute[] = []
    this.forEachRoute((r) => out.push(r))
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
        f.forEachBorrowed((id) => add(this.vrouters.at((f.bVrouter1[id] as number) - 1)))
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

  private borrowedRouteOf(table: number, f: FamilyRoutes, id: number): DesiredRoute {
    const hop: MplsNextHop = { kind: 'mpls', vrouter: this.vrouters.at((f.bVrouter1[id] as number) - 1), label: f.bLabel[id] as number }
    return { table, prefix: (f.borrowed as PrefixTable).text(id), nexthops: [hop] }
  }

  private firstPrefix(routes: TableRoutes): string {
    for (const f of [routes.v4, routes.v6]) {
      let first = -1
      f.prefixes.forEach((id) => {
        if (first < 0) first = id
      })
      if (first >= 0) return f.prefixes.text(first)
      f.forEachBorrowed((id) => {
        if (first < 0) first = id
      })
      if (first >= 0) return (f.borrowed as PrefixTable).text(first)
    }
    return ''
  }
}
