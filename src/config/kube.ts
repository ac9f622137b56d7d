/**
 * The Kubernetes source of gsi-routerd's configuration (the DaemonSet), and the writer of its state.
 *
 * `KubeConfigSource` watches the ConnectedPeer objects of this node (label
 * `gsi.gsi-router.io/node=<NODE_NAME>`, in every namespace: one per Transit Gateway the node serves,
 * written by gsi-controller) with the list-then-watch informer of controller/k8s over the official
 * client, and maps them, merged over a small base for what the objects do not carry, to the same
 * validated `DaemonConfig` as the file (load.ts). It emits `config` whenever the resolved model
 * changes, and `invalid` (the running config stays) when the objects do not make a valid one.
 *
 * `DaemonStatusWriter` writes `status.daemon` of each ConnectedPeer: JSON merge patch (RFC 7386) on
 * the status subresource only (the daemon's RBAC grants nothing else), at most one patch per object
 * per interval with the latest state winning, and none when nothing but the timestamp would change.
 *
 * The TCP-MD5 key (RFC 2385) of the control-node sessions may come from a Secret in the daemon's
 * namespace (`controlNodes.md5.secretRef`) or a file; `readMd5Key` reads either.
 */
import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import { Informer, isNotFound, ResourceClient, type KubeConnection, type KubeObject, type ResourceRef } from '../../controller/k8s/index.js'
import { GROUP, NODE_NAME_LABEL, PLURALS, VERSION, type ConnectedPeer, type DaemonStatus } from '../../controller/types.js'
import { ConfigError, readMd5File, resolveConfig } from './load.js'
import type { DaemonConfig, DaemonConfigInput, Md5KeySource } from './model.js'

export const CONNECTED_PEERS: ResourceRef = { group: GROUP, version: VERSION, plural: PLURALS.ConnectedPeer, kind: 'ConnectedPeer', namespaced: true }

type ConnectedPeerObject = ConnectedPeer & KubeObject

/**
 * What the ConnectedPeer does not carry: gateway table, graceful restart, listeners, log level, MD5
 * key, and control nodes when the objects have none. The same shape as the file, every field optional;
 * fields the objects set (node address, TGW side, exposed VNs) are taken from them.
 */
export type KubeBaseConfig = Partial<Omit<DaemonConfigInput, 'tgw' | 'controlNodes'>> & {
  tgw?: Partial<DaemonConfigInput['tgw']>
  controlNodes?: Partial<DaemonConfigInput['controlNodes']>
}

/** Which object a model's Connect peer came from, and the spec generation it reflects. */
export interface ConnectedPeerRef {
  readonly namespace: string
  readonly name: string
  readonly generation: number
  /** Index in `config.tgw.connectPeers`. */
  readonly connectPeer: number
}

export interface KubeConfigUpdate {
  readonly config: DaemonConfig
  readonly warnings: readonly string[]
  readonly objects: readonly ConnectedPeerRef[]
}

/**
 * Maps this node's ConnectedPeer objects (sorted by namespace/name, so the model does not depend on
 * the order the API server listed them in) over `base` to a config input. Connect peer ids are the
 * object names: stable for the object's life, unlike the AWS id that appears in its status later
 * (a changed id would rename the GRE link and reset its sessions).
 */
export function connectedPeersToInput(objects: readonly ConnectedPeer[], base: KubeBaseConfig, nodeName: string): { input: DaemonConfigInput; objects: ConnectedPeerRef[] } {
  const sorted = [...objects].sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`))
  const first = sorted[0]?.spec
  const union = (lists: (readonly string[] | undefined)[]): string[] => [...new Set(lists.flatMap(l => l ?? []))]
  const crControlNodes = sorted.flatMap(o => o.spec.controlNodes ?? [])
  const controlNodePeers = crControlNodes.length > 0
    ? [...new Map(crControlNodes.map(c => [c.address, { address: c.address, asn: c.asn }])).values()]
    : base.controlNodes?.peers ?? []
  const input = {
    ...base,
    nodeName,
    nodeAddress: first?.peerAddress ?? base.nodeAddress,
    exposed: {
      routeTargets: union([base.exposed?.routeTargets, ...sorted.map(o => o.spec.exposedRouteTargets)]),
      cidrs: union([base.exposed?.cidrs, ...sorted.map(o => o.spec.exposedCidrs)]),
    },
    tgw: {
      ...base.tgw,
      localAsn: first?.peerAsn ?? base.tgw?.localAsn,
      connectPeers: sorted.map(o => ({
        id: o.metadata.name,
        transitGatewayAddress: o.spec.transitGatewayAddress,
        insideCidrBlocks: o.spec.insideCidrBlocks,
        transitGatewayAsn: o.spec.transitGatewayAsn,
        peerAsn: o.spec.peerAsn,
        ...(o.spec.mtu !== undefined ? { mtu: o.spec.mtu } : {}),
      })),
    },
    controlNodes: { ...base.controlNodes, peers: controlNodePeers },
  } as DaemonConfigInput
  const refs = sorted.map((o, i) => ({ namespace: o.metadata.namespace ?? '', name: o.metadata.name, generation: o.metadata.generation ?? 0, connectPeer: i }))
  return { input, objects: refs }
}

/**
 * The base once the node's last ConnectedPeer is gone (node no longer active, TransitGateway
 * deleted): the running daemon must drop its Connect peers (GRE links, TGW sessions) and the control
 * nodes the objects named, so the model goes on without them. What the objects carried and a
 * running daemon cannot change (node address, both local ASNs) is kept, and so is the exposure (the
 * gateway logic needs a route target; with no TGW session nothing is advertised anyway), unless the
 * base itself sets them.
 */
export function afterLastConnectedPeer(base: KubeBaseConfig, running: DaemonConfig): KubeBaseConfig {
  return {
    ...base,
    nodeAddress: base.nodeAddress ?? running.nodeAddress,
    exposed: base.exposed?.routeTargets !== undefined && base.exposed.routeTargets.length > 0 ? base.exposed : { routeTargets: [...running.exposed.routeTargets], cidrs: [...running.exposed.cidrs] },
    tgw: { ...base.tgw, localAsn: base.tgw?.localAsn ?? running.tgw.localAsn },
    controlNodes: { ...base.controlNodes, localAsn: base.controlNodes?.localAsn ?? running.controlNodes.localAsn },
  }
}

/** Re-words `tgw.connectPeers[i]...` problems to name the object they came from. */
function nameObjects(e: ConfigError, objects: readonly ConnectedPeerRef[]): ConfigError {
  return new ConfigError(e.problems.map(p => {
    const m = /^tgw\.connectPeers\[(\d+)\]/.exec(p.path)
    const o = m ? objects[Number(m[1])] : undefined
    return o ? { path: `${p.path} (ConnectedPeer ${o.namespace}/${o.name})`, reason: p.reason } : p
  }), e.source)
}

export interface KubeConfigSourceOptions {
  readonly conn: KubeConnection
  /** NODE_NAME from the downward API (the caller reads the environment). */
  readonly nodeName: string
  readonly base?: KubeBaseConfig
  readonly log: Logger
  /** Namespace to watch; all namespaces when absent (ConnectedPeers live with their TransitGateway). */
  readonly namespace?: string
}

export interface KubeConfigSourceEvents {
  config: [KubeConfigUpdate]
  invalid: [ConfigError]
}

/**
 * Emits `config` with the first valid model once the informer has synced, then on every change of
 * the resolved model (a status-only update of an object emits nothing). While the node has no
 * ConnectedPeer and the base has no `nodeAddress`, there is nothing to run: no event.
 */
export class KubeConfigSource extends EventEmitter<KubeConfigSourceEvents> {
  readonly client: ResourceClient<ConnectedPeerObject>
  private readonly informer: Informer<ConnectedPeerObject>
  private last = ''
  private lastInvalid = ''
  private started = false
  current: KubeConfigUpdate | undefined

  constructor(private readonly opts: KubeConfigSourceOptions) {
    super()
    this.client = new ResourceClient<ConnectedPeerObject>(opts.conn, CONNECTED_PEERS)
    const changed = (): void => { if (this.started) this.rebuild() }
    this.informer = new Informer(this.client, {
      labelSelector: `${NODE_NAME_LABEL}=${opts.nodeName}`,
      log: opts.log,
      ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
    }, { add: changed, update: changed, delete: changed })
  }

  /** Starts watching; resolves after the first list (and its `config` event, if valid). */
  async start(): Promise<void> {
    await this.informer.start()
    this.started = true
    this.rebuild()
  }

  stop(): void { this.informer.stop() }

  /** The objects as last seen (for the status writer). */
  objects(): ConnectedPeerObject[] { return this.informer.list() }

  private rebuild(): void {
    const objects = this.informer.list().filter(o => !o.metadata.deletionTimestamp)
    let base = this.opts.base ?? {}
    if (objects.length === 0) {
      if (this.current !== undefined) base = afterLastConnectedPeer(base, this.current.config)
      else if (base.nodeAddress === undefined) {
        this.opts.log.info({ node: this.opts.nodeName }, 'no ConnectedPeer for this node yet; waiting')
        return
      }
    }
    const { input, objects: refs } = connectedPeersToInput(objects, base, this.opts.nodeName)
    let update: KubeConfigUpdate
    try {
      const r = resolveConfig(input, `ConnectedPeers of node ${this.opts.nodeName}`)
      update = { config: r.config, warnings: r.warnings, objects: refs }
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e
      const named = nameObjects(e, refs)
      if (named.message !== this.lastInvalid) {
        this.lastInvalid = named.message
        this.emit('invalid', named)
      }
      return
    }
    this.lastInvalid = ''
    const key = JSON.stringify([update.config, update.objects])
    if (key === this.last) return
    this.last = key
    this.current = update
    this.emit('config', update)
  }
}

/** Reads a Secret's key through the client (core/v1, the daemon's namespace); undefined if absent. */
export async function readSecretKey(conn: KubeConnection, namespace: string, name: string, key: string): Promise<string | undefined> {
  try {
    const s = await conn.core.readNamespacedSecret({ namespace, name })
    const b64 = s.data?.[key]
    return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8')
  } catch (e) {
    if (isNotFound(e)) return undefined
    throw e
  }
}

/**
 * The TCP-MD5 password of the control-node sessions: from the Secret (needs `conn` and the daemon's
 * namespace) or the file (trailing newline dropped). Throws an error naming the field when the
 * source is configured but holds nothing.
 */
export async function readMd5Key(source: Md5KeySource | undefined, ctx: { conn?: KubeConnection; namespace?: string } = {}): Promise<string | undefined> {
  if (source === undefined) return undefined
  if ('file' in source) {
    return readMd5File(source.file)
  }
  const { name, key } = source.secretRef
  if (!ctx.conn || ctx.namespace === undefined) throw new Error('controlNodes.md5.secretRef: a Secret needs the Kubernetes source (no API connection)')
  const v = await readSecretKey(ctx.conn, ctx.namespace, name, key)
  if (v === undefined || v === '') throw new Error(`controlNodes.md5.secretRef: Secret ${ctx.namespace}/${name} has no key "${key}"`)
  return v
}

// ---------------------------------------------------------------- status

export type DaemonStatusReport = Omit<DaemonStatus, 'updatedAt'>

export interface DaemonStatusWriterOptions {
  readonly conn: KubeConnection
  readonly log: Logger
  /** At most one patch per object per this many milliseconds. Default 10,000. */
  readonly intervalMs?: number
  readonly now?: () => Date
}

interface Slot {
  latest?: DaemonStatusReport
  /** JSON of the last report written (without updatedAt). */
  written?: string
  writtenKeys: Set<string>
  lastPatchAt: number
  timer?: NodeJS.Timeout | undefined
  inFlight?: Promise<void> | undefined
}

/**
 * Rate-limited writer of `status.daemon`. `report(namespace, name, status)` records the latest
 * state; the first report of an object is written at once, later ones at most once per interval.
 * Fields dropped from a report are removed (null in the merge patch), since a merge patch otherwise
 * keeps what it does not mention; the `sessions` list is replaced whole, as RFC 7386 does with arrays.
 */
export class DaemonStatusWriter {
  readonly client: ResourceClient<ConnectedPeerObject>
  private readonly slots = new Map<string, Slot>()
  private readonly intervalMs: number
  private stopped = false
  /** Patches sent and failed, for metrics and tests. */
  patches = 0
  failures = 0

  constructor(private readonly opts: DaemonStatusWriterOptions) {
    this.client = new ResourceClient<ConnectedPeerObject>(opts.conn, CONNECTED_PEERS)
    this.intervalMs = opts.intervalMs ?? 10_000
  }

  report(namespace: string, name: string, status: DaemonStatusReport): void {
    if (this.stopped) return
    const key = `${namespace}/${name}`
    let slot = this.slots.get(key)
    if (!slot) { slot = { writtenKeys: new Set(), lastPatchAt: -Infinity }; this.slots.set(key, slot) }
    slot.latest = structuredClone(status)
    this.schedule(namespace, name, slot)
  }

  /** Writes every pending report now (shutdown), ignoring the interval. */
  async flush(): Promise<void> {
    await Promise.all([...this.slots.entries()].map(async ([key, slot]) => {
      await slot.inFlight
      if (slot.timer) { clearTimeout(slot.timer); slot.timer = undefined }
      const i = key.indexOf('/')
      await this.write(key.slice(0, i), key.slice(i + 1), slot)
    }))
  }

  stop(): void {
    this.stopped = true
    for (const s of this.slots.values()) if (s.timer) clearTimeout(s.timer)
  }

  /** Forget an object (deleted): no more patches for it. */
  forget(namespace: string, name: string): void {
    const s = this.slots.get(`${namespace}/${name}`)
    if (s?.timer) clearTimeout(s.timer)
    this.slots.delete(`${namespace}/${name}`)
  }

  private schedule(namespace: string, name: string, slot: Slot): void {
    if (slot.timer || slot.inFlight) return // the pending write will take the latest report
    if (JSON.stringify(slot.latest) === slot.written) return
    const wait = Math.max(0, slot.lastPatchAt + this.intervalMs - Date.now())
    slot.timer = setTimeout(() => {
      slot.timer = undefined
      slot.inFlight = this.write(namespace, name, slot).finally(() => {
        slot.inFlight = undefined
        // A report that arrived while the patch was in flight waits for the next interval.
        if (!this.stopped && this.slots.get(`${namespace}/${name}`) === slot) this.schedule(namespace, name, slot)
      })
    }, wait)
  }

  private async write(namespace: string, name: string, slot: Slot): Promise<void> {
    const latest = slot.latest
    const text = JSON.stringify(latest)
    if (latest === undefined || text === slot.written) return
    const daemon: Record<string, unknown> = { ...latest, updatedAt: (this.opts.now?.() ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z') }
    for (const k of slot.writtenKeys) if (!(k in daemon)) daemon[k] = null
    slot.lastPatchAt = Date.now()
    try {
      await this.client.mergePatchStatus(namespace, name, { status: { daemon } })
      this.patches++
      slot.written = text
      slot.writtenKeys = new Set(Object.keys(latest))
    } catch (e) {
      this.failures++
      if (isNotFound(e)) {
        this.opts.log.info({ connectedPeer: `${namespace}/${name}` }, 'ConnectedPeer gone; its status is no longer written')
        this.forget(namespace, name)
        return
      }
      this.opts.log.warn({ err: e, connectedPeer: `${namespace}/${name}` }, 'status.daemon patch failed; retrying after the interval')
    }
  }
}
