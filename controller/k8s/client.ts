/**
 * Thin wrappers over the official @kubernetes/client-node: one KubeConfig (a kubeconfig file, the
 * in-cluster service account, or a bare server URL for the emulators), the typed APIs we use, and a
 * small uniform `ResourceClient` per resource (get/list/create/replace/patch/delete, the status
 * subresource, the watch path) so informers and reconcilers speak one shape for core Nodes and
 * Events, coordination.k8s.io Leases and our custom resources alike.
 *
 * Merge patches are sent as application/merge-patch+json (RFC 7386) through a per-call Content-Type
 * override (the generated client otherwise defaults to JSON patch); JSON patches (RFC 6902) as
 * application/json-patch+json. Errors keep the client's ApiException; `isNotFound`/`isConflict`/
 * `isGone`/`isInvalid` read its HTTP code.
 */
import {
  ApiException, CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, Watch,
  setHeaderOptions,
} from '@kubernetes/client-node'

export interface KubeObject {
  apiVersion?: string
  kind?: string
  metadata: {
    name: string
    namespace?: string
    uid?: string
    resourceVersion?: string
    generation?: number
    labels?: Record<string, string>
    annotations?: Record<string, string>
    finalizers?: string[]
    deletionTimestamp?: string | Date
    creationTimestamp?: string | Date
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }[]
    [k: string]: unknown
  }
  [k: string]: unknown
}

export interface KubeConnectOptions {
  /** A kubeconfig file; when absent, $KUBECONFIG or ~/.kube/config (loadFromDefault). */
  kubeconfig?: string
  /** Use the pod's service account (KUBERNETES_SERVICE_HOST, token and CA files). */
  inCluster?: boolean
  /** A bare API server URL (the emulator), without credentials unless `token` is given. */
  server?: string
  /** Bearer token to send with `server`. */
  token?: string
  context?: string
}

export function makeKubeConfig(o: KubeConnectOptions): KubeConfig {
  const kc = new KubeConfig()
  if (o.server) {
    kc.loadFromOptions({
      clusters: [{ name: 'emulator', server: o.server, skipTLSVerify: true }],
      users: [{ name: 'emulator', ...(o.token ? { token: o.token } : {}) }],
      contexts: [{ name: 'emulator', cluster: 'emulator', user: 'emulator' }],
      currentContext: 'emulator',
    })
  } else if (o.inCluster) kc.loadFromCluster()
  else if (o.kubeconfig) kc.loadFromFile(o.kubeconfig)
  else kc.loadFromDefault()
  if (o.context) kc.setCurrentContext(o.context)
  return kc
}

export class KubeConnection {
  readonly core: CoreV1Api
  readonly custom: CustomObjectsApi
  readonly coordination: CoordinationV1Api
  readonly watcher: Watch
  constructor(readonly kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api)
    this.custom = kc.makeApiClient(CustomObjectsApi)
    this.coordination = kc.makeApiClient(CoordinationV1Api)
    this.watcher = new Watch(kc)
  }
}

export interface ResourceRef {
  group: string // '' = core
  version: string
  plural: string
  kind: string
  namespaced: boolean
}

export const NODES: ResourceRef = { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false }
export const EVENTS: ResourceRef = { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true }
export const LEASES: ResourceRef = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true }

export function httpCode(e: unknown): number | undefined {
  if (e instanceof ApiException) return e.code
  const c = (e as { code?: unknown; statusCode?: unknown } | null)?.statusCode ?? (e as { code?: unknown } | null)?.code
  return typeof c === 'number' ? c : undefined
}
export const isNotFound = (e: unknown): boolean => httpCode(e) === 404
export const isConflict = (e: unknown): boolean => httpCode(e) === 409
export const isGone = (e: unknown): boolean => httpCode(e) === 410
export const isInvalid = (e: unknown): boolean => httpCode(e) === 422

/** The API server's own message (metav1.Status.message) of an ApiException, else the error text. */
export function apiMessage(e: unknown): string {
  if (e instanceof ApiException) {
    const b = e.body as unknown
    try {
      const s = (typeof b === 'string' ? JSON.parse(b) : b) as { message?: string }
      if (s?.message) return s.message
    } catch { /* not JSON */ }
  }
  return e instanceof Error ? e.message : String(e)
}

const MERGE = (): ReturnType<typeof setHeaderOptions> => setHeaderOptions('Content-Type', PatchStrategy.MergePatch)
const JSONP = (): ReturnType<typeof setHeaderOptions> => setHeaderOptions('Content-Type', PatchStrategy.JsonPatch)

export type JsonPatchOp = { op: 'add' | 'remove' | 'replace' | 'test'; path: string; value?: unknown }

/** One resource type, uniform over core and custom groups. */
export class ResourceClient<T extends KubeObject> {
  constructor(readonly conn: KubeConnection, readonly ref: ResourceRef) {}

  private p(ns: string | undefined, name?: string): { group: string; version: string; plural: string; namespace: string; name: string } {
    return { group: this.ref.group, version: this.ref.version, plural: this.ref.plural, namespace: ns ?? '', name: name ?? '' }
  }

  /** The URL path for a watch (Watch.watch adds ?watch=true). */
  watchPath(ns?: string): string {
    const base = this.ref.group ? `/apis/${this.ref.group}/${this.ref.version}` : `/api/${this.ref.version}`
    return this.ref.namespaced && ns ? `${base}/namespaces/${ns}/${this.ref.plural}` : `${base}/${this.ref.plural}`
  }

  async get(ns: string | undefined, name: string): Promise<T | undefined> {
    try {
      if (this.ref === NODES) return await this.conn.core.readNode({ name }) as unknown as T
      if (this.ref.group === '') throw new Error(`get of core ${this.ref.plural} is not wrapped`)
      return (this.ref.namespaced
        ? await this.conn.custom.getNamespacedCustomObject(this.p(ns, name))
        : await this.conn.custom.getClusterCustomObject(this.p(undefined, name))) as T
    } catch (e) {
      if (isNotFound(e)) return undefined
      throw e
    }
  }

  async list(ns?: string, labelSelector?: string): Promise<{ items: T[]; resourceVersion: string }> {
    let r: { items: unknown[]; metadata?: { resourceVersion?: string } }
    const sel = labelSelector ? { labelSelector } : {}
    if (this.ref === NODES) r = await this.conn.core.listNode(sel)
    else if (this.ref === EVENTS) r = ns ? await this.conn.core.listNamespacedEvent({ namespace: ns, ...sel }) : await this.conn.core.listEventForAllNamespaces(sel)
    else if (this.ref.namespaced && ns) r = await this.conn.custom.listNamespacedCustomObject({ ...this.p(ns), ...sel })
    else r = await this.conn.custom.listClusterCustomObject({ group: this.ref.group, version: this.ref.version, plural: this.ref.plural, ...sel })
    return { items: r.items as T[], resourceVersion: r.metadata?.resourceVersion ?? '' }
  }

  async create(obj: T): Promise<T> {
    const ns = obj.metadata.namespace
    if (this.ref === NODES) return await this.conn.core.createNode({ body: obj as never }) as unknown as T
    if (this.ref === EVENTS) return await this.conn.core.createNamespacedEvent({ namespace: ns ?? 'default', body: obj as never }) as unknown as T
    return (this.ref.namespaced
      ? await this.conn.custom.createNamespacedCustomObject({ ...this.p(ns), body: obj })
      : await this.conn.custom.createClusterCustomObject({ group: this.ref.group, version: this.ref.version, plural: this.ref.plural, body: obj })) as T
  }

  async replace(obj: T): Promise<T> {
    const { namespace, name } = obj.metadata
    if (this.ref === NODES) return await this.conn.core.replaceNode({ name, body: obj as never }) as unknown as T
    return (this.ref.namespaced
      ? await this.conn.custom.replaceNamespacedCustomObject({ ...this.p(namespace, name), body: obj })
      : await this.conn.custom.replaceClusterCustomObject({ ...this.p(undefined, name), body: obj })) as T
  }

  async replaceStatus(obj: T): Promise<T> {
    const { namespace, name } = obj.metadata
    if (this.ref === NODES) return await this.conn.core.replaceNodeStatus({ name, body: obj as never }) as unknown as T
    return (this.ref.namespaced
      ? await this.conn.custom.replaceNamespacedCustomObjectStatus({ ...this.p(namespace, name), body: obj })
      : await this.conn.custom.replaceClusterCustomObjectStatus({ ...this.p(undefined, name), body: obj })) as T
  }

  async mergePatch(ns: string | undefined, name: string, patch: unknown): Promise<T> {
    if (this.ref === NODES) return await this.conn.core.patchNode({ name, body: patch as object }, MERGE()) as unknown as T
    if (this.ref === EVENTS) return await this.conn.core.patchNamespacedEvent({ name, namespace: ns ?? 'default', body: patch as object }, MERGE()) as unknown as T
    return (this.ref.namespaced
      ? await this.conn.custom.patchNamespacedCustomObject({ ...this.p(ns, name), body: patch as object }, MERGE())
      : await this.conn.custom.patchClusterCustomObject({ ...this.p(undefined, name), body: patch as object }, MERGE())) as T
  }

  async mergePatchStatus(ns: string | undefined, name: string, patch: unknown): Promise<T> {
    if (this.ref === NODES) return await this.conn.core.patchNodeStatus({ name, body: patch as object }, MERGE()) as unknown as T
    return (this.ref.namespaced
      ? await this.conn.custom.patchNamespacedCustomObjectStatus({ ...this.p(ns, name), body: patch as object }, MERGE())
      : await this.conn.custom.patchClusterCustomObjectStatus({ ...this.p(undefined, name), body: patch as object }, MERGE())) as T
  }

  async jsonPatch(ns: string | undefined, name: string, ops: JsonPatchOp[]): Promise<T> {
    if (this.ref === NODES) return await this.conn.core.patchNode({ name, body: ops }, JSONP()) as unknown as T
    return (this.ref.namespaced
      ? await this.conn.custom.patchNamespacedCustomObject({ ...this.p(ns, name), body: ops }, JSONP())
      : await this.conn.custom.patchClusterCustomObject({ ...this.p(undefined, name), body: ops }, JSONP())) as T
  }

  /** Deletes; false when it was already gone. */
  async delete(ns: string | undefined, name: string): Promise<boolean> {
    try {
      if (this.ref === NODES) await this.conn.core.deleteNode({ name })
      else if (this.ref.namespaced) await this.conn.custom.deleteNamespacedCustomObject(this.p(ns, name))
      else await this.conn.custom.deleteClusterCustomObject(this.p(undefined, name))
      return true
    } catch (e) {
      if (isNotFound(e)) return false
      throw e
    }
  }
}

/** `namespace/name` (or `name` for cluster-scoped objects): the key of caches and the work queue. */
export function objectKey(o: { metadata: { name: string; namespace?: string } }): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name
}

export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const i = key.indexOf('/')
  return i < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) }
}
