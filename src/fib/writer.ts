/**
 * The FIB writer: keeps the kernel's gateway tables equal to the routes the gateway logic wants.
 *
 * - Desired routes come in one at a time (`setRoute`/`deleteRoute`, as BGP learns and withdraws) or as
 *   a whole (`replaceAll`); `flush()` turns the keys that changed into the smallest set of route
 *   operations (src/fib/diff.ts) and sends them in batches.
 * - `start()` dumps the routes that carry our routing protocol number (rtm_protocol) and adopts them
 *   as they are: equal routes are never touched, so a graceful restart is hitless. Adopted routes
 *   nobody asks for again stay until `markReady()` (the control plane has re-learned everything, e.g.
 *   BGP End-of-RIB, RFC 4724), and only then are deleted.
 * - Drift repair: a route event (RTM_DELROUTE/RTM_NEWROUTE with our protocol) marks its key dirty and
 *   a short timer repairs it; a periodic full resync dumps the kernel again and repairs anything the
 *   events did not say (the kernel sends no RTM_DELROUTE for IPv4 routes flushed with a device).
 *   When a link is recreated under its routes (gre/ when the kernel refused a change in place, or a
 *   tunnel of the wrong kind), the writer is told (`linksReplaced`) and repairs at once.
 * - Every kernel failure takes one path (`noteError`): counted in total and by errno name (for the
 *   daemon's metrics), logged with the object (route, tunnel, table) and the errno name, and retried
 *   with backoff (first `retryMs`, doubling up to 30 s). Kernel errors are told apart by the
 *   `NetlinkError`'s errno, never by message text.
 * - Around the routes: a VRF device per gateway table (`gsiv<table>`), an AF_MPLS route per table label
 *   popping into that VRF, the fou listener, and one mplsip tunnel per vRouter in use
 *   (mplsoudp/tunnels.ts), created before the first route through it and removed after the last.
 * - It never writes the main, local or default tables, and deletes only routes with our protocol
 *   number and links with our name prefixes.
 *
 * All kernel work is serialised on one queue; callers may call anything at any time.
 */
import { MPLSOUDP_PORT, TUNNEL_PREFIX, TunnelRefs, planTunnels, tunnelRemote, tunnelSpec } from '../../mplsoudp/tunnels.js'
import type { TunnelLink } from '../../mplsoudp/tunnels.js'
import { NetlinkError } from '../netlink/index.js'
import { checkLabel, checkTable, diffLabelRoutes, diffRoutes, routeKey, RouteError, sameRoute, toKernelRoute } from './diff.js'
import { parseIPv4Address, parsePrefix } from './prefix.js'
import type { DesiredRoute, FibKernel, GatewayTable, KernelLabelRoute, KernelNextHop, KernelRoute, RouteEvent, RouteOp } from './types.js'

/** Whether a kernel error to a delete means the object was not there (ESRCH for routes, ENOENT for
 * some families): the delete's goal holds. */
function alreadyGone(err: unknown): boolean {
  return err instanceof NetlinkError && (err.code === 'ESRCH' || err.code === 'ENOENT')
}

/** Our routing protocol number (rtm_protocol). Outside iproute2's rt_protos list (0-18, 42, 99,
 * 186-192) so no other daemon on the node uses it. */
export const DEFAULT_PROTOCOL = 201
/** Name prefix of the VRF devices, one per gateway table. */
export const VRF_PREFIX = 'gsiv'

export function vrfName(table: number): string {
  return `${VRF_PREFIX}${checkTable(table)}`
}

export interface FibLogger {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

export interface FibWriterOptions {
  readonly kernel: FibKernel
  /** This node's IPv4 address: the outer source of the MPLSoUDP tunnels. */
  readonly localAddress: string
  readonly protocol?: number
  /** Metric (RTA_PRIORITY) of our routes. */
  readonly metric?: number
  readonly mplsoudpPort?: number
  readonly tunnelTtl?: number
  /** Full resync period; 0 disables it. */
  readonly resyncIntervalMs?: number
  /** Delay between a route event and its repair, to coalesce bursts. */
  readonly repairDelayMs?: number
  /** First retry delay after a failed operation (doubles up to 30 s). */
  readonly retryMs?: number
  /** Routes per batch sent to the kernel. */
  readonly batchSize?: number
  readonly log?: FibLogger
  readonly now?: () => number
}

export interface FibCounters {
  routesAdded: number
  routesReplaced: number
  routesDeleted: number
  labelRoutesAdded: number
  labelRoutesReplaced: number
  labelRoutesDeleted: number
  tunnelsCreated: number
  tunnelsDeleted: number
  /** Routes adopted from a previous run at start. */
  routesAdopted: number
  /** Routes put back after a change we did not make (event or resync). */
  driftRepairs: number
  /** Kernel (and other) failures, each counted once where it happened. */
  errors: number
  /** The same failures by errno name (`ENODEV`, `EEXIST`, ...; `unknown` for an error without one):
   * a counter with an errno label for the daemon's metrics. */
  errorsByErrno: Record<string, number>
  /** Repair passes scheduled because something failed (each waits the backoff delay). */
  retries: number
  syncs: number
  /** ms since the epoch of the last sync that completed without error; 0 before. */
  lastSyncAt: number
  lastSyncDurationMs: number
  lastError: string
}

export interface FibState {
  readonly ready: boolean
  readonly desiredRoutes: number
  readonly installedRoutes: number
  readonly tables: readonly { table: number; label: number; vrf: string }[]
  readonly tunnels: readonly { name: string; vrouter: string; routes: number }[]
}

/** Counters of a writer that has done nothing yet (also the computed FIB's, which programs nothing). */
export const newCounters = (): FibCounters => ({
  routesAdded: 0, routesReplaced: 0, routesDeleted: 0, labelRoutesAdded: 0, labelRoutesReplaced: 0, labelRoutesDeleted: 0,
  tunnelsCreated: 0, tunnelsDeleted: 0, routesAdopted: 0, driftRepairs: 0, errors: 0, errorsByErrno: {}, retries: 0, syncs: 0, lastSyncAt: 0,
  lastSyncDurationMs: 0, lastError: '',
})

export class FibWriter {
  readonly protocol: number
  readonly metric: number
  private readonly kernel: FibKernel
  private readonly local: string
  private readonly port: number
  private readonly tunnelTtl: number
  private readonly resyncIntervalMs: number
  private readonly repairDelayMs: number
  private readonly retryMs: number
  private readonly batchSize: number
  private readonly log: FibLogger | undefined
  private readonly now: () => number

  private readonly desired = new Map<string, KernelRoute>()
  private readonly actual = new Map<string, KernelRoute>()
  private readonly refs = new TunnelRefs()
  private tables = new Map<number, GatewayTable>()
  private readonly dirty = new Set<string>()
  /** Keys whose drift (a change we did not make) has been seen and not yet repaired. */
  private readonly drifted = new Set<string>()
  /** Keys withdrawn during this run: deleted even before markReady (unlike adopted ones). */
  private readonly withdrawn = new Set<string>()
  private tablesDirty = true
  private resyncWanted = false
  private ready = false
  private started = false
  private stopped = false
  private queue: Promise<unknown> = Promise.resolve()
  private repairTimer: NodeJS.Timeout | undefined
  private resyncTimer: NodeJS.Timeout | undefined
  private retryDelay: number
  private unwatch: (() => void) | undefined
  private readonly c = newCounters()

  constructor(o: FibWriterOptions) {
    this.kernel = o.kernel
    this.local = parseIPv4Address(o.localAddress, 'localAddress')
    this.protocol = o.protocol ?? DEFAULT_PROTOCOL
    if (!Number.isInteger(this.protocol) || this.protocol < 5 || this.protocol > 255) throw new RouteError('protocol', `${this.protocol} is not a routing protocol number we may own (5-255; 0-4 are the kernel's)`)
    this.metric = o.metric ?? 20
    if (!Number.isInteger(this.metric) || this.metric < 0 || this.metric > 0xffffffff) throw new RouteError('metric', `${this.metric} is not a route metric`)
    this.port = o.mplsoudpPort ?? MPLSOUDP_PORT
    this.tunnelTtl = o.tunnelTtl ?? 64
    this.resyncIntervalMs = o.resyncIntervalMs ?? 60_000
    this.repairDelayMs = o.repairDelayMs ?? 50
    this.retryMs = o.retryMs ?? 1000
    this.retryDelay = this.retryMs
    this.batchSize = o.batchSize ?? 2000
    this.log = o.log
    this.now = o.now ?? Date.now
  }

  // ---- desired state -------------------------------------------------------------------------

  /** Sets the gateway tables (VRF, label). Routes may only name tables listed here. */
  setTables(tables: readonly GatewayTable[]): void {
    const next = new Map<number, GatewayTable>()
    const labels = new Set<number>()
    tables.forEach((t, i) => {
      checkTable(t.table, `tables[${i}].table`)
      checkLabel(t.label, `tables[${i}].label`)
      if (next.has(t.table)) throw new RouteError(`tables[${i}].table`, `table ${t.table} is listed twice`)
      if (labels.has(t.label)) throw new RouteError(`tables[${i}].label`, `label ${t.label} is used by two tables`)
      labels.add(t.label)
      next.set(t.table, { table: t.table, label: t.label })
    })
    for (const r of this.desired.values()) {
      if (!next.has(r.table)) throw new RouteError('tables', `table ${r.table} still has desired routes (${r.prefix}): delete them first`)
    }
    this.tables = next
    this.tablesDirty = true
  }

  /** Adds or changes one desired route (validated now; written on the next flush). */
  setRoute(route: DesiredRoute): void {
    const k = toKernelRoute(route, this)
    if (!this.tables.has(k.table)) throw new RouteError(`route ${k.prefix}: table`, `table ${k.table} is not a gateway table (setTables first)`)
    const key = routeKey(k)
    const prev = this.desired.get(key)
    this.acquire(k)
    if (prev) this.release(prev)
    this.desired.set(key, k)
    this.dirty.add(key)
  }

  /** Withdraws one desired route. Returns whether it was desired. */
  deleteRoute(table: number, prefix: string): boolean {
    checkTable(table, `route ${prefix}: table`)
    const key = routeKey({ table, prefix: parsePrefix(prefix, `route ${prefix} (table ${table}): prefix`).text, metric: this.metric })
    const prev = this.desired.get(key)
    if (!prev) return false
    this.desired.delete(key)
    this.release(prev)
    this.dirty.add(key)
    this.withdrawn.add(key)
    return true
  }

  /** Replaces the whole desired set. */
  replaceAll(routes: Iterable<DesiredRoute>): void {
    const next = new Map<string, KernelRoute>()
    for (const r of routes) {
      const k = toKernelRoute(r, this)
      if (!this.tables.has(k.table)) throw new RouteError(`route ${k.prefix}: table`, `table ${k.table} is not a gateway table (setTables first)`)
      next.set(routeKey(k), k)
    }
    for (const [key, r] of this.desired) { this.release(r); if (!next.has(key)) { this.dirty.add(key); this.withdrawn.add(key) } }
    for (const [key, r] of next) { this.acquire(r); this.dirty.add(key) }
    this.desired.clear()
    for (const [key, r] of next) this.desired.set(key, r)
  }

  private acquire(r: KernelRoute): void {
    for (const nh of r.nexthops) { const v = tunnelRemote(nh.dev); if (v !== undefined && nh.labels) this.refs.add(v) }
  }

  private release(r: KernelRoute): void {
    for (const nh of r.nexthops) { const v = tunnelRemote(nh.dev); if (v !== undefined && nh.labels) this.refs.remove(v) }
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  /** Dumps and adopts what a previous run left, installs what is desired so far, subscribes to
   * route events and starts the periodic resync. */
  async start(): Promise<void> {
    if (this.started) throw new Error('FibWriter already started')
    this.started = true
    // Events lost to an error are made good by a resync (after the backoff delay).
    this.unwatch = this.kernel.watchRoutes(ev => this.onEvent(ev), err => {
      this.noteError(err, 'route events')
      this.resyncWanted = true
      this.retryLater()
    })
    await this.enqueue(async () => {
      const dumped = await this.kernel.dumpRoutes(this.protocol)
      for (const r of dumped) this.actual.set(routeKey(r), r)
      this.c.routesAdopted = dumped.length
      this.log?.info({ adopted: dumped.length, protocol: this.protocol }, 'fib: adopted routes of a previous run')
      await this.syncAll()
    })
    if (this.resyncIntervalMs > 0) {
      // resyncOnQueue notes and retries its own failures; the catch is for what would be a bug here.
      this.resyncTimer = setInterval(() => { this.enqueue(() => this.resyncOnQueue()).catch(err => this.noteError(err, 'periodic resync')) }, this.resyncIntervalMs)
      this.resyncTimer.unref()
    }
  }

  /** The control plane has re-learned everything: from now on, routes nobody wants are deleted. */
  async markReady(): Promise<void> {
    this.ready = true
    this.tablesDirty = true
    await this.enqueue(() => this.syncAll())
  }

  /** Writes what changed since the last flush. */
  async flush(): Promise<void> {
    await this.enqueue(() => this.syncDirty())
  }

  /**
   * Dumps the kernel again and repairs every difference. A failed dump is noted (counted, logged) and
   * retried with backoff like any other failure; the returned promise rejects with it as well, for
   * callers that wait on this pass.
   */
  async resync(): Promise<void> {
    const err = await this.enqueue(() => this.resyncOnQueue())
    if (err) throw err
  }

  /**
   * Links were deleted and created again under routes of ours (gre/'s `onRecreated`): the kernel
   * dropped every route through them without an event for IPv4, so dump and repair now rather than
   * at the next periodic resync.
   */
  async linksReplaced(links: readonly string[]): Promise<void> {
    this.log?.warn({ links }, `fib: ${links.join(', ')} recreated: re-installing the routes through them`)
    await this.resync()
  }

  stop(): void {
    this.stopped = true
    this.unwatch?.()
    if (this.repairTimer) clearTimeout(this.repairTimer)
    if (this.resyncTimer) clearInterval(this.resyncTimer)
  }

  /** Waits until all queued work is done. */
  async idle(): Promise<void> {
    for (;;) {
      const q = this.queue
      await q.catch(() => undefined)
      if (q === this.queue && this.repairTimer === undefined) return
      if (this.repairTimer !== undefined) await new Promise(r => setTimeout(r, this.repairDelayMs))
    }
  }

  counters(): Readonly<FibCounters> {
    return { ...this.c, errorsByErrno: { ...this.c.errorsByErrno } }
  }

  /**
   * Hands every desired route to `visit` in the gateway's terms (no order promised): a labelled next
   * hop out of one of our MPLSoUDP tunnels is the vRouter and its label, any other a GRE link and
   * its gateway. For listings (gsictl show fib); the writer's storage stays its own.
   */
  visitDesired(visit: (route: DesiredRoute) => void): void {
    for (const r of this.desired.values()) {
      visit({
        table: r.table, prefix: r.prefix,
        nexthops: r.nexthops.map((nh) => {
          const vrouter = tunnelRemote(nh.dev)
          if (vrouter !== undefined && nh.labels !== undefined && nh.labels.length > 0) return { kind: 'mpls', vrouter, label: nh.labels[0] as number, weight: nh.weight }
          return { kind: 'gre', link: nh.dev, gateway: nh.gateway ?? '', weight: nh.weight }
        }),
      })
    }
  }

  state(): FibState {
    return {
      ready: this.ready,
      desiredRoutes: this.desired.size,
      installedRoutes: this.actual.size,
      tables: [...this.tables.values()].map(t => ({ table: t.table, label: t.label, vrf: vrfName(t.table) })),
      tunnels: [...this.refs.vrouters()].map(v => ({ name: tunnelSpec(v, this.local).name, vrouter: v, routes: this.refs.count(v) })),
    }
  }

  // ---- events --------------------------------------------------------------------------------

  private onEvent(ev: RouteEvent): void {
    if (this.stopped || ev.route.protocol !== this.protocol) return
    const key = routeKey(ev.route)
    if (ev.type === 'del') {
      const have = this.actual.get(key)
      if (have && ev.route.family === 6) {
        // IPv6 keeps each next hop of a multipath route as a sibling: when one's device goes, the
        // kernel deletes that sibling alone and the route lives on with the others.
        const gone = new Set(ev.route.nexthops.map(hopId))
        const rest = have.nexthops.filter(h => !gone.has(hopId(h)))
        if (rest.length === have.nexthops.length) return // about next hops we no longer hold: stale
        if (rest.length === 0) this.actual.delete(key)
        else this.actual.set(key, { ...have, nexthops: rest.length === 1 ? [{ ...(rest[0] as KernelNextHop), weight: 1 }] : rest })
      } else if (have && !sameRoute(have, ev.route)) {
        // An IPv4 deletion describes the whole route: one unlike what we hold is about an older
        // version (events can trail our own replace); the periodic resync is the backstop.
        return
      } else {
        this.actual.delete(key)
      }
    } else {
      this.actual.set(key, ev.route)
    }
    const want = this.desired.get(key)
    // Our own operations echo back as events that agree with what we want: nothing to do then.
    const now = this.actual.get(key)
    const agrees = now === undefined ? want === undefined : want !== undefined && sameRoute(want, now)
    if (agrees) return
    if (ev.type === 'new' && want === undefined && !this.ready) return // adopted, kept until ready
    this.drifted.add(key)
    this.dirty.add(key)
    this.scheduleRepair(this.repairDelayMs)
  }

  /** Schedules a repair pass (a resync when one is wanted, else the dirty keys); false when one is
   * already pending or the writer is stopped. */
  private scheduleRepair(delay: number): boolean {
    if (this.stopped || this.repairTimer !== undefined) return false
    this.repairTimer = setTimeout(() => {
      this.repairTimer = undefined
      const full = this.resyncWanted
      this.resyncWanted = false
      // Both passes note and retry their own failures; the catch is for what would be a bug here.
      this.enqueue(async () => { if (full) await this.resyncOnQueue(); else await this.syncDirty() })
        .catch(err => this.noteError(err, full ? 'resync' : 'repair'))
    }, delay)
    this.repairTimer.unref()
    return true
  }

  /** After a failure: try again after the backoff delay, which doubles up to 30 s until a pass works. */
  private retryLater(): void {
    if (this.scheduleRepair(this.retryDelay)) this.c.retries++
    this.retryDelay = Math.min(30_000, this.retryDelay * 2)
  }

  /** The resync pass itself (on the queue). Never throws: a failure is noted, retried, and returned. */
  private async resyncOnQueue(): Promise<Error | undefined> {
    let dumped: KernelRoute[]
    try {
      dumped = await this.kernel.dumpRoutes(this.protocol)
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e))
      this.noteError(err, `resync: dump routes of protocol ${this.protocol}`)
      this.resyncWanted = true
      this.retryLater()
      return err
    }
    const fresh = new Map(dumped.map(r => [routeKey(r), r] as const))
    for (const key of new Set([...this.actual.keys(), ...fresh.keys()])) {
      const a = this.actual.get(key), f = fresh.get(key)
      if ((a === undefined) !== (f === undefined) || (a && f && !sameRoute(a, f))) this.drifted.add(key)
    }
    this.actual.clear()
    for (const [k, r] of fresh) this.actual.set(k, r)
    this.tablesDirty = true
    await this.syncAll()
    return undefined
  }

  // ---- kernel work (always on the queue) -----------------------------------------------------

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn)
    this.queue = p.catch(() => undefined)
    return p
  }

  private async syncAll(): Promise<void> {
    const keys = new Set([...this.desired.keys(), ...this.actual.keys(), ...this.dirty])
    this.dirty.clear()
    await this.sync(keys)
  }

  private async syncDirty(): Promise<void> {
    if (this.dirty.size === 0 && !this.tablesDirty) return
    const keys = new Set(this.dirty)
    this.dirty.clear()
    await this.sync(keys)
  }

  private async sync(keys: Set<string>): Promise<void> {
    const t0 = this.now()
    let failed = false
    const fail = (err: unknown, what: string, key?: string): void => {
      failed = true
      if (key !== undefined) this.dirty.add(key)
      this.noteError(err, what)
    }
    try {
      // VRFs, labels and the listener failing must not hold the routes back (a route into an
      // existing VRF table still works): note the error, retry later, go on.
      if (this.tablesDirty) {
        try {
          // Label routes that failed were noted one by one; the pass still counts as failed, so it is retried.
          if (!(await this.syncTables())) failed = true
        } catch (err) { this.tablesDirty = true; fail(err, 'gateway tables') }
      }
      // Tunnels the desired routes need, plus those that routes still installed use (adopted
      // routes waiting for markReady), so that no installed route loses its device under it.
      const tunnels = await this.kernel.listTunnels(TUNNEL_PREFIX)
      const wanted = new Map<string, Omit<TunnelLink, 'up'>>()
      for (const v of this.refs.vrouters()) { const s = tunnelSpec(v, this.local, this.tunnelTtl, this.port); wanted.set(s.name, s) }
      const plan = planTunnels(wanted, tunnels)
      for (const spec of plan.ensure) {
        try {
          const outcome = await this.kernel.ensureTunnel(spec)
          if (outcome === 'created' || outcome === 'recreated') this.c.tunnelsCreated++
          // The old link took its routes with it: they are missing now, whatever `actual` says.
          if (outcome === 'recreated') this.forgetRoutesVia(spec.name, keys)
        } catch (err) { fail(err, `tunnel ${spec.name} to ${spec.remote}`) }
      }

      const ops = diffRoutes(this.desired, this.actual, { deleteUnwanted: this.ready, keys })
      // Not yet ready: an adopted route nobody wants stays, but one that someone explicitly withdrew
      // during this run (dirty, and once desired) is deleted at once.
      if (!this.ready) {
        for (const key of keys) {
          const have = this.actual.get(key)
          if (have && !this.desired.has(key) && this.withdrawn.has(key)) ops.push({ op: 'delete', route: have })
        }
      }
      for (let i = 0; i < ops.length; i += this.batchSize) {
        const batch = ops.slice(i, i + this.batchSize)
        const results = await this.kernel.applyRoutes(batch)
        batch.forEach((op, j) => {
          const err = results[j]
          const key = routeKey(op.route)
          // A delete the kernel answers "no such route" found what it wanted: the route is gone
          // (the kernel flushes a device's IPv4 routes with it and says nothing, so our picture can
          // be behind). Counted as done, not as an error to retry.
          if (err && op.op === 'delete' && alreadyGone(err)) {
            this.count(op, key)
            return
          }
          if (err) {
            // "Exists" for an add means our picture of the kernel is behind (an event raced a dump):
            // the retry re-reads the kernel before it tries again.
            if (op.op === 'add' && err instanceof NetlinkError && err.code === 'EEXIST') this.resyncWanted = true
            fail(err, `${op.op} ${describe(op)}`, key)
            return
          }
          this.count(op, key)
        })
      }

      // Tunnels nothing uses any more: neither a desired route nor one still installed.
      const inUse = new Set(wanted.keys())
      for (const r of this.actual.values()) for (const nh of r.nexthops) inUse.add(nh.dev)
      for (const t of tunnels) {
        if (inUse.has(t.name) || tunnelRemote(t.name) === undefined) continue
        try { await this.kernel.deleteLink(t.name); this.c.tunnelsDeleted++ } catch (err) { fail(err, `delete tunnel ${t.name}`) }
      }
    } catch (err) {
      fail(err, 'sync')
      for (const k of keys) this.dirty.add(k)
    }
    this.c.syncs++
    this.c.lastSyncDurationMs = this.now() - t0
    if (!failed) {
      this.c.lastSyncAt = this.now()
      this.retryDelay = this.retryMs
    } else {
      this.retryLater()
    }
  }

  /** Marks the routes through `dev` as missing from the kernel and due in this pass (`keys`). */
  private forgetRoutesVia(dev: string, keys: Set<string>): void {
    for (const [key, r] of this.actual) {
      if (!r.nexthops.some(h => h.dev === dev)) continue
      this.actual.delete(key)
      this.drifted.add(key)
      keys.add(key)
    }
  }

  private count(op: RouteOp, key: string): void {
    const repaired = this.drifted.delete(key)
    if (repaired) this.c.driftRepairs++
    switch (op.op) {
      case 'add': this.c.routesAdded++; this.actual.set(key, op.route); this.withdrawn.delete(key); break
      case 'replace': this.c.routesReplaced++; this.actual.set(key, op.route); this.withdrawn.delete(key); break
      case 'delete': this.c.routesDeleted++; this.actual.delete(key); this.withdrawn.delete(key); break
    }
  }

  /** VRFs, label routes, the listener; false when a label route failed (noted, and retried). */
  private async syncTables(): Promise<boolean> {
    this.tablesDirty = false
    await this.kernel.ensureMplsoudpListener(this.port, Math.max(MIN_PLATFORM_LABELS, ...[...this.tables.values()].map(t => t.label + 1)))
    const vrfs = await this.kernel.listVrfs(VRF_PREFIX)
    for (const t of this.tables.values()) {
      const name = vrfName(t.table)
      const have = vrfs.find(v => v.name === name)
      if (!have || have.table !== t.table || !have.up) await this.kernel.ensureVrf(name, t.table)
    }
    const labelsWanted = new Map<number, KernelLabelRoute>()
    for (const t of this.tables.values()) labelsWanted.set(t.label, { label: t.label, protocol: this.protocol, dev: vrfName(t.table) })
    const labelsHave = new Map((await this.kernel.dumpLabelRoutes(this.protocol)).map(l => [l.label, l] as const))
    const lops = diffLabelRoutes(labelsWanted, labelsHave, this.ready)
    const results = await this.kernel.applyLabelRoutes(lops)
    let ok = true
    lops.forEach((op, i) => {
      const err = results[i]
      if (err && !(op.op === 'delete' && alreadyGone(err))) { this.noteError(err, `${op.op} label route ${op.route.label} -> ${op.route.dev}`); this.tablesDirty = true; ok = false; return }
      if (op.op === 'add') this.c.labelRoutesAdded++
      else if (op.op === 'replace') this.c.labelRoutesReplaced++
      else this.c.labelRoutesDeleted++
    })
    // A VRF of a table we no longer serve goes once nothing of ours can still route into it.
    if (this.ready) {
      const tablesInUse = new Set([...this.actual.values()].map(r => r.table))
      for (const v of vrfs) {
        if (this.tables.has(v.table) || tablesInUse.has(v.table) || !/^gsiv[0-9]+$/.test(v.name)) continue
        await this.kernel.deleteLink(v.name)
      }
    }
    return ok
  }

  /** The one error path: counted (in total and by errno), logged with what failed and the errno name. */
  private noteError(err: unknown, what: string): void {
    const errno = errnoOf(err)
    this.c.errors++
    this.c.errorsByErrno[errno] = (this.c.errorsByErrno[errno] ?? 0) + 1
    const msg = `${what}: ${err instanceof Error ? err.message : String(err)}`
    this.c.lastError = msg
    this.log?.error({ err, errno, object: what }, `fib: ${what}: ${errno}`)
  }
}

/** net.mpls.platform_labels at least this large, so that labels the control node may reuse fit. */
const MIN_PLATFORM_LABELS = 1024

/** The errno name of a failure: a NetlinkError's, or the `code` of a system error (sysctl writes
 * through /proc, e.g. EROFS); `unknown` otherwise. */
export function errnoOf(err: unknown): string {
  if (err instanceof NetlinkError) return err.code
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : 'unknown'
}

function hopId(h: KernelNextHop): string {
  return `${h.dev}|${h.gateway ?? ''}|${h.labels?.join('/') ?? ''}`
}

function describe(op: RouteOp): string {
  const r = op.route
  return `route ${r.prefix} table ${r.table} via ${r.nexthops.map(n => `${n.labels ? `label ${n.labels.join('/')} ` : ''}${n.gateway ? `${n.gateway} ` : ''}dev ${n.dev}`).join(', ')}`
}

