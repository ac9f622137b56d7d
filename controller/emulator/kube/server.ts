/**
 * A Kubernetes API server emulator: the subset of the REST API that @kubernetes/client-node (and so
 * gsi-controller and gsi-routerd) uses, served over plain HTTP on loopback, for tests and the lab.
 *
 * Served: discovery (/api, /api/v1, /apis, /apis/<group>/<version>); for each resource get, list
 * (labelSelector, fieldSelector), watch (`?watch=true`, newline-delimited JSON events over a chunked
 * response, from a resourceVersion; 410 Gone as an ERROR event with a Status when that version has
 * left the bounded event history; optional bookmarks), create (POST, generateName), update (PUT; a
 * stale metadata.resourceVersion answers 409 Conflict), patch (application/merge-patch+json,
 * application/json-patch+json, and application/strategic-merge-patch+json served as a merge patch on
 * built-in kinds and refused with 415 on custom resources, as kube-apiserver does),
 * delete (with finalizers: sets deletionTimestamp and waits for them to be removed), the status
 * subresource (spec and status written separately; generation moves only with spec), namespaces
 * (deleting one deletes its contents), owner-reference garbage collection (background), core Nodes,
 * Namespaces, Events and Secrets (stringData folded into base64 data), coordination.k8s.io/v1 Leases,
 * and custom resources, validated by their OpenAPI v3 schemas (see schema.ts; CEL by hand). CRDs are
 * apiextensions.k8s.io/v1 CustomResourceDefinition objects like any other: created (or given to the
 * constructor), they are established and their resources served at once; deleted, their resources
 * and objects go.
 *
 * What Debian's kubectl (1.20) asks for besides: /openapi/v2 in protobuf with the CRDs' schemas
 * (openapi.ts; client-side validation, the default of apply and create, and explain), server-side printing (`Accept: ...;
 * as=Table;g=meta.k8s.io;v=v1`: the CRDs' additionalPrinterColumns, table.ts) for get, list and watch,
 * and lists in key order.
 *
 * Error bodies are metav1.Status objects with the real reasons and codes (NotFound 404,
 * AlreadyExists 409, Conflict 409, Invalid 422, Expired/Gone 410, UnsupportedMediaType 415).
 * Not served: authentication/authorization (every request is allowed), server-side apply, protobuf
 * objects, pagination (`limit` is ignored; lists are complete), dry-run, PartialObjectMetadata lists.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomUUID } from 'node:crypto'
import { parseAllDocuments } from 'yaml'
import type { Ajv } from 'ajv'
import { CrdSchema, makeAjv, type Cause } from './schema.js'
import { jsonPatch, mergePatch, PatchError, type Json } from './patch.js'
import { DEFAULT_CRD_COLUMNS, parseJsonPath, tableRequested, toTable, type IncludeObject, type PrinterColumn, type TableRequest } from './table.js'
import { openApiV2, OPENAPI_V2_PROTOBUF } from './openapi.js'

type Obj = Record<string, unknown> & { metadata: Meta }
interface Meta {
  name: string
  generateName?: string
  namespace?: string
  uid?: string
  resourceVersion?: string
  generation?: number
  creationTimestamp?: string
  deletionTimestamp?: string
  labels?: Record<string, string>
  finalizers?: string[]
  ownerReferences?: { uid: string }[]
  [k: string]: unknown
}

export interface ResourceType {
  group: string // '' for core
  version: string
  plural: string
  singular: string
  kind: string
  namespaced: boolean
  statusSubresource: boolean
  shortNames?: string[]
  categories?: string[]
  schema?: CrdSchema
  /** Printer columns for `kubectl get` (Table output); undefined = Name and Created At. */
  columns?: PrinterColumn[]
  /** The CustomResourceDefinition that defines this resource (its metadata.name), if any. */
  crd?: string
}

interface WatchEvent { rv: number; typeKey: string; type: 'ADDED' | 'MODIFIED' | 'DELETED'; obj: Obj; old?: Obj }

interface Watcher {
  typeKey: string
  namespace?: string
  labelSel: Selector
  fieldSel: Selector
  res: ServerResponse
  bookmarks: boolean
  /** Set when the client asked for Table output (`kubectl get -w`): events carry one-row Tables. */
  table?: { req: TableRequest; include: IncludeObject; headersSent: boolean }
}

class ApiError extends Error {
  constructor(readonly code: number, readonly reason: string, message: string, readonly details?: Record<string, unknown>) {
    super(message)
  }
}

export interface KubeEmulatorOptions {
  /** Events kept for watches from an older resourceVersion; older ones get 410 Gone. Default 1000. */
  historyLimit?: number
  /** CRD manifests (YAML text, possibly multi-document) to serve. */
  crds?: string[]
  /** Serve CN2's VirtualNetwork, Subnet and BGPRouter (schema-less) as well. Default true. */
  cn2?: boolean
  /** Milliseconds between watch bookmarks when a client asks for them (0 = never). Default 0. */
  bookmarkIntervalMs?: number
}

const BUILTINS: ResourceType[] = [
  {
    group: '', version: 'v1', plural: 'namespaces', singular: 'namespace', kind: 'Namespace', namespaced: false, statusSubresource: true, shortNames: ['ns'],
    columns: [{ name: 'Status', type: 'string', jsonPath: '.status.phase' }, { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
  },
  { group: '', version: 'v1', plural: 'nodes', singular: 'node', kind: 'Node', namespaced: false, statusSubresource: true, shortNames: ['no'] },
  { group: '', version: 'v1', plural: 'events', singular: 'event', kind: 'Event', namespaced: true, statusSubresource: false, shortNames: ['ev'] },
  { group: '', version: 'v1', plural: 'secrets', singular: 'secret', kind: 'Secret', namespaced: true, statusSubresource: false },
  // Read by gsictl doctor (the controller's and the daemons' pods, the controller's IRSA annotation).
  { group: '', version: 'v1', plural: 'pods', singular: 'pod', kind: 'Pod', namespaced: true, statusSubresource: true, shortNames: ['po'] },
  { group: '', version: 'v1', plural: 'serviceaccounts', singular: 'serviceaccount', kind: 'ServiceAccount', namespaced: true, statusSubresource: false, shortNames: ['sa'] },
  { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', singular: 'lease', kind: 'Lease', namespaced: true, statusSubresource: false },
  // Creating one registers its resources (kubectl apply -f deploy/crds); deleting one removes them and their objects.
  { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', singular: 'customresourcedefinition', kind: 'CustomResourceDefinition', namespaced: false, statusSubresource: true, shortNames: ['crd', 'crds'] },
]

const CRD_KEY = 'apiextensions.k8s.io/customresourcedefinitions'
/** What /version and the OpenAPI document report. */
const SERVER_VERSION = { major: '1', minor: '30', gitVersion: 'v1.30.0-gsi-emulator' }

/** CN2's CRDs, reduced to what we read; the real ones have schemas, these preserve whatever is sent. */
const CN2 = ['VirtualNetwork', 'Subnet', 'BGPRouter'].map(kind => `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: ${kind.toLowerCase()}s.core.contrail.juniper.net }
spec:
  group: core.contrail.juniper.net
  scope: Namespaced
  names: { kind: ${kind}, plural: ${kind.toLowerCase()}s, singular: ${kind.toLowerCase()}, listKind: ${kind}List }
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources: { status: {} }
    schema:
      openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true }
`)

export class KubeEmulator {
  private server: Server | undefined
  private readonly types = new Map<string, ResourceType>() // typeKey = group/plural
  private readonly store = new Map<string, Map<string, Obj>>() // typeKey -> ns/name -> obj
  private readonly history: WatchEvent[] = []
  private compactedRv = 0
  private rv = 1
  private readonly watchers = new Set<Watcher>()
  private readonly ajv: Ajv = makeAjv()
  /** A CRD's resources as validated, handed from validate() to commit() (same object). */
  private readonly pendingCrdTypes = new WeakMap<Obj, ResourceType[]>()
  private readonly historyLimit: number
  private readonly bookmarkIntervalMs: number
  /** Requests served, by verb, for tests that count traffic. */
  readonly requests = new Map<string, number>()
  /**
   * Audit: per user (the bearer token, or "anonymous"), the set of "verb group/resource[/subresource]"
   * requests made, with RBAC's verb names (get, list, watch, create, update, patch, delete). Nothing is
   * denied; tests compare this against deploy/rbac.yaml.
   */
  readonly audit = new Map<string, Set<string>>()
  url = ''

  constructor(opts: KubeEmulatorOptions = {}) {
    this.historyLimit = opts.historyLimit ?? 1000
    this.bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 0
    for (const t of BUILTINS) this.register(t)
    for (const text of opts.crds ?? []) this.loadCrds(text)
    if (opts.cn2 ?? true) for (const text of CN2) this.loadCrds(text)
    for (const ns of ['default', 'kube-system']) this.put('/namespaces', '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns }, status: { phase: 'Active' } })
  }

  /**
   * Creates (or replaces) every CustomResourceDefinition in a YAML text, as `kubectl apply -f` would,
   * so they are listed under apiextensions.k8s.io like those applied over HTTP; other documents are
   * ignored. Returns the resources they define. Throws the 422 an API server would answer for a CRD
   * it refuses (names, versions, a CEL rule or printer column JSONPath the emulator cannot evaluate).
   */
  loadCrds(text: string): ResourceType[] {
    const out: ResourceType[] = []
    const crdType = this.types.get(CRD_KEY)!
    for (const doc of parseAllDocuments(text)) {
      const crd = doc.toJS() as Obj | null
      if (!crd || crd.kind !== 'CustomResourceDefinition' || typeof crd.metadata !== 'object' || crd.metadata === null) continue
      const name = crd.metadata.name
      const stored = this.bucket(crdType).has(name)
        ? this.write(crdType, undefined, name, { ...crd, metadata: { ...crd.metadata, resourceVersion: '' } }, false)
        : this.create(crdType, undefined, crd)
      out.push(...[...this.types.values()].filter(t => t.crd === stored.metadata.name))
    }
    return out
  }

  /**
   * The resources a CRD object defines, one per served version (the emulator keeps one version per
   * resource: the last served one listed). Throws 422 Invalid naming the field, as the API server's
   * CRD validation does, for what it refuses or the emulator cannot serve.
   */
  private crdResourceTypes(crd: Obj): ResourceType[] {
    const name = crd.metadata.name
    const s = crd.spec as CrdSpec | undefined
    const invalid = (field: string, message: string): ApiError =>
      new ApiError(422, 'Invalid', `CustomResourceDefinition.apiextensions.k8s.io "${name}" is invalid: ${field}: ${message}`,
        { name, group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition', causes: [{ field, reason: 'FieldValueInvalid', message }] })
    if (typeof s !== 'object' || s === null) throw invalid('spec', 'Required value')
    if (typeof s.group !== 'string' || !s.group.includes('.')) throw invalid('spec.group', `Invalid value: ${JSON.stringify(s.group)}: should be a domain with at least one dot`)
    if (typeof s.names?.plural !== 'string' || typeof s.names.kind !== 'string') throw invalid('spec.names', 'Required value: plural and kind')
    if (s.scope !== 'Namespaced' && s.scope !== 'Cluster') throw invalid('spec.scope', `Unsupported value: ${JSON.stringify(s.scope)}: supported values: "Cluster", "Namespaced"`)
    if (name !== `${s.names.plural}.${s.group}`) throw invalid('metadata.name', `Invalid value: ${JSON.stringify(name)}: must be spec.names.plural+"."+spec.group`)
    if (!Array.isArray(s.versions) || s.versions.length === 0) throw invalid('spec.versions', 'Required value')
    const out: ResourceType[] = []
    s.versions.forEach((v, i) => {
      if (!v.served) return
      let schema: CrdSchema | undefined
      try {
        schema = v.schema?.openAPIV3Schema ? new CrdSchema(v.schema.openAPIV3Schema, this.ajv) : undefined
      } catch (e) { throw invalid(`spec.versions[${i}].schema.openAPIV3Schema`, e instanceof Error ? e.message : String(e)) }
      const declared = v.additionalPrinterColumns ?? []
      declared.forEach((c, j) => {
        try { parseJsonPath(c.jsonPath) } catch (e) { throw invalid(`spec.versions[${i}].additionalPrinterColumns[${j}].jsonPath`, e instanceof Error ? e.message : String(e)) }
        if (!['string', 'integer', 'number', 'boolean', 'date'].includes(c.type)) throw invalid(`spec.versions[${i}].additionalPrinterColumns[${j}].type`, `Unsupported value: ${JSON.stringify(c.type)}`)
      })
      out.push({
        group: s.group, version: v.name, plural: s.names.plural, singular: s.names.singular ?? s.names.kind.toLowerCase(),
        kind: s.names.kind, namespaced: s.scope === 'Namespaced', statusSubresource: v.subresources?.status !== undefined,
        ...(s.names.shortNames ? { shortNames: s.names.shortNames } : {}),
        ...(s.names.categories ? { categories: s.names.categories } : {}),
        ...(schema ? { schema } : {}),
        columns: declared.length > 0 ? declared : DEFAULT_CRD_COLUMNS,
        crd: name,
      })
    })
    return out
  }

  /**
   * After a CRD is stored: its status as the API server's controllers set it (names accepted,
   * established) and its resources served. Resources it no longer defines are removed.
   */
  private establishCrd(crd: Obj): void {
    const types = this.pendingCrdTypes.get(crd) ?? this.crdResourceTypes(crd)
    const s = crd.spec as CrdSpec
    if (!crd.status) {
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
      crd.status = {
        acceptedNames: { ...s.names, singular: s.names.singular ?? s.names.kind.toLowerCase(), listKind: s.names.listKind ?? `${s.names.kind}List` },
        conditions: [
          { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: now },
          { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: now },
        ],
        storedVersions: s.versions.filter(v => v.storage).map(v => v.name),
      }
    }
    const keep = new Set(types.map(t => `${t.group}/${t.plural}`))
    for (const [key, t] of this.types) if (t.crd === crd.metadata.name && !keep.has(key)) this.removeResource(key)
    for (const t of types) this.register(t)
  }

  /** A resource whose CRD is gone: its objects are deleted (watchers see DELETED), its watches end. */
  private removeResource(key: string): void {
    const t = this.types.get(key)
    if (!t) return
    for (const [k, o] of [...this.bucket(t)]) this.commit(t, k, structuredClone(o), 'DELETED', o)
    for (const w of [...this.watchers]) if (w.typeKey === key) { w.res.end(); this.watchers.delete(w) }
    this.types.delete(key)
    this.store.delete(key)
  }

  private register(t: ResourceType): void {
    const key = `${t.group}/${t.plural}`
    this.types.set(key, t)
    if (!this.store.has(key)) this.store.set(key, new Map())
  }

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    this.server = createServer((req, res) => { void this.handle(req, res) })
    this.server.keepAliveTimeout = 1000
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject)
      this.server!.listen(port, host, () => resolve())
    })
    const a = this.server.address() as AddressInfo
    this.url = `http://${host}:${a.port}`
    return this.url
  }

  async stop(): Promise<void> {
    for (const w of this.watchers) w.res.end()
    this.watchers.clear()
    if (!this.server) return
    const s = this.server
    this.server = undefined
    s.closeAllConnections()
    await new Promise<void>(resolve => s.close(() => resolve()))
  }

  // ------------------------------------------------------------------ test and lab hooks

  /** Drops the whole event history: every watch resumed from an older resourceVersion gets 410 Gone. */
  compact(): void {
    this.history.length = 0
    this.compactedRv = this.rv
  }

  /** Ends every open watch stream (as an API server restart or a load balancer would). */
  closeWatches(): void {
    for (const w of this.watchers) w.res.end()
    this.watchers.clear()
  }

  /**
   * Ends every open watch with ERROR 410 Expired, as kube-apiserver does when a watcher falls behind
   * the compacted history, and compacts the history so a resume from the old version is 410 too.
   */
  expireWatches(): void {
    this.compact()
    for (const w of this.watchers) {
      write(w.res, { type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'too old resource version', reason: 'Expired', code: 410 } })
      w.res.end()
    }
    this.watchers.clear()
  }

  /** While true, events are not delivered to open watches (a stalled connection); they stay in history. */
  stallWatches = false

  get watchCount(): number { return this.watchers.size }

  /** Direct read of stored objects, for assertions (a copy). */
  objects(group: string, plural: string, namespace?: string): Obj[] {
    const m = this.store.get(`${group}/${plural}`)
    if (!m) return []
    return [...m.values()].filter(o => namespace === undefined || o.metadata.namespace === namespace).map(o => structuredClone(o))
  }

  // ------------------------------------------------------------------ HTTP

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://x')
      const body = await readBody(req)
      const verb = req.method ?? 'GET'
      this.requests.set(verb, (this.requests.get(verb) ?? 0) + 1)
      const user = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? 'anonymous'
      const out = this.route(verb, url, body, req.headers['content-type'] ?? '', res, user, req.headers.accept)
      if (out === undefined) return // a watch owns the response now
      if (out.body instanceof Buffer) {
        res.writeHead(out.code, { 'content-type': out.contentType ?? 'application/octet-stream', 'content-length': out.body.length })
        res.end(out.body)
      } else send(res, out.code, out.body)
    } catch (e) {
      if (e instanceof ApiError) send(res, e.code, status(e))
      else send(res, 500, status(new ApiError(500, 'InternalError', String(e instanceof Error ? e.stack : e))))
    }
  }

  private route(verb: string, url: URL, body: string, contentType: string, res: ServerResponse, user = 'anonymous', accept?: string): { code: number; body: unknown; contentType?: string } | undefined {
    const parts = url.pathname.split('/').filter(Boolean)
    if (parts[0] === 'version') return { code: 200, body: SERVER_VERSION }
    if (parts.length === 2 && parts[0] === 'openapi' && parts[1] === 'v2') {
      const kinds = [...this.types.values()].flatMap(t => t.schema ? [{ group: t.group, version: t.version, kind: t.kind, schema: t.schema.schema }] : [])
      const doc = openApiV2(SERVER_VERSION.gitVersion, kinds)
      return (accept ?? '').includes(OPENAPI_V2_PROTOBUF) ? { code: 200, body: doc.protobuf, contentType: 'application/octet-stream' } : { code: 200, body: doc.json }
    }
    if (parts.length === 1 && parts[0] === 'api') return { code: 200, body: { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] } }
    if (parts.length === 1 && parts[0] === 'apis') return { code: 200, body: this.groupList() }
    let group: string, version: string, rest: string[]
    if (parts[0] === 'api') { group = ''; version = parts[1] ?? ''; rest = parts.slice(2) }
    else if (parts[0] === 'apis') { group = parts[1] ?? ''; version = parts[2] ?? ''; rest = parts.slice(3) }
    else throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`)
    if (rest.length === 0) return { code: 200, body: this.resourceList(group, version) }
    let namespace: string | undefined
    if (rest[0] === 'namespaces' && rest.length >= 3) { namespace = rest[1]; rest = rest.slice(2) }
    const [plural, name, sub] = rest
    const type = this.types.get(`${group}/${plural ?? ''}`)
    if (!type || type.version !== version) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`)
    if (!type.namespaced && namespace !== undefined) throw new ApiError(404, 'NotFound', `${type.plural} is cluster-scoped`)
    if (sub !== undefined && sub !== 'status') throw new ApiError(404, 'NotFound', `subresource ${sub} is not served`)
    if (sub === 'status' && !type.statusSubresource) throw new ApiError(404, 'NotFound', `${type.plural} has no status subresource`)
    const q = url.searchParams
    // kubectl get asks for a Table (server-side printing); everything else gets the objects.
    const table = verb === 'GET' && sub === undefined ? tableRequested(accept) : undefined
    const includeObject = (['None', 'Metadata', 'Object'] as const).find(v => v === q.get('includeObject')) ?? 'Metadata'
    const rbacVerb = name === undefined
      ? (verb === 'GET' ? (q.get('watch') === 'true' ? 'watch' : 'list') : verb === 'POST' ? 'create' : verb.toLowerCase())
      : ({ GET: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<string, string>)[verb] ?? verb.toLowerCase()
    if (!this.audit.has(user)) this.audit.set(user, new Set())
    this.audit.get(user)!.add(`${rbacVerb} ${type.group}/${type.plural}${sub ? '/' + sub : ''}`)
    if (name === undefined) {
      if (verb === 'GET' && q.get('watch') === 'true') {
        this.watch(type, namespace, q, res, table ? { req: table, include: includeObject, headersSent: false } : undefined)
        return undefined
      }
      if (verb === 'GET') {
        const list = this.list(type, namespace, q)
        return { code: 200, body: table ? toTable(list.items, type.columns, table, { include: includeObject, resourceVersion: list.metadata.resourceVersion }) : list }
      }
      if (verb === 'POST') return { code: 201, body: this.create(type, namespace, parseJson(body)) }
      throw new ApiError(405, 'MethodNotAllowed', `${verb} is not allowed on a collection`)
    }
    switch (verb) {
      case 'GET': {
        const obj = this.get(type, namespace, name)
        return { code: 200, body: table ? toTable([obj], type.columns, table, { include: includeObject, ...(obj.metadata.resourceVersion ? { resourceVersion: obj.metadata.resourceVersion } : {}) }) : obj }
      }
      case 'PUT': return { code: 200, body: this.update(type, namespace, name, parseJson(body), sub === 'status') }
      case 'PATCH': return { code: 200, body: this.patch(type, namespace, name, body, contentType, sub === 'status') }
      case 'DELETE': return { code: 200, body: this.delete(type, namespace, name) }
      default: throw new ApiError(405, 'MethodNotAllowed', `${verb} is not allowed`)
    }
  }

  private groupList(): unknown {
    const groups = new Map<string, Set<string>>()
    for (const t of this.types.values()) if (t.group) {
      if (!groups.has(t.group)) groups.set(t.group, new Set())
      groups.get(t.group)!.add(t.version)
    }
    return {
      kind: 'APIGroupList', apiVersion: 'v1',
      groups: [...groups].map(([name, vs]) => {
        const versions = [...vs].map(v => ({ groupVersion: `${name}/${v}`, version: v }))
        return { name, versions, preferredVersion: versions[0] }
      }),
    }
  }

  private resourceList(group: string, version: string): unknown {
    const ts = [...this.types.values()].filter(t => t.group === group && t.version === version)
    if (ts.length === 0) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${group}/${version})`)
    const resources: unknown[] = []
    for (const t of ts) {
      resources.push({
        name: t.plural, singularName: t.singular, namespaced: t.namespaced, kind: t.kind,
        verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], ...(t.shortNames ? { shortNames: t.shortNames } : {}),
        ...(t.categories ? { categories: t.categories } : {}),
      })
      if (t.statusSubresource) resources.push({ name: `${t.plural}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] })
    }
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources }
  }

  // ------------------------------------------------------------------ verbs

  private key(type: ResourceType, namespace: string | undefined, name: string): string {
    return type.namespaced ? `${namespace ?? ''}/${name}` : name
  }

  private bucket(type: ResourceType): Map<string, Obj> {
    return this.store.get(`${type.group}/${type.plural}`)!
  }

  private notFound(type: ResourceType, name: string): ApiError {
    return new ApiError(404, 'NotFound', `${type.plural}${type.group ? '.' + type.group : ''} "${name}" not found`, { name, group: type.group, kind: type.plural })
  }

  private get(type: ResourceType, namespace: string | undefined, name: string): Obj {
    const o = this.bucket(type).get(this.key(type, namespace, name))
    if (!o) throw this.notFound(type, name)
    return o
  }

  private list(type: ResourceType, namespace: string | undefined, q: URLSearchParams): { kind: string; apiVersion: string; metadata: { resourceVersion: string }; items: Obj[] } {
    const ls = parseSelector(q.get('labelSelector') ?? '')
    const fs = parseSelector(q.get('fieldSelector') ?? '')
    const items = [...this.bucket(type).values()]
      .filter(o => namespace === undefined || o.metadata.namespace === namespace)
      .filter(o => matchLabels(ls, o.metadata.labels ?? {}) && matchFields(fs, o))
      // In key order (namespace, then name), as etcd returns them and kubectl prints them.
      .sort((a, b) => compareKeys(this.key(type, a.metadata.namespace, a.metadata.name), this.key(type, b.metadata.namespace, b.metadata.name)))
    return {
      kind: `${type.kind}List`, apiVersion: type.group ? `${type.group}/${type.version}` : type.version,
      metadata: { resourceVersion: String(this.rv) }, items,
    }
  }

  private apiVersion(type: ResourceType): string {
    return type.group ? `${type.group}/${type.version}` : type.version
  }

  private checkKind(type: ResourceType, obj: Obj): void {
    if (obj.kind !== undefined && obj.kind !== type.kind) throw new ApiError(400, 'BadRequest', `the kind "${String(obj.kind)}" does not match the resource ${type.plural} (kind ${type.kind})`)
    if (obj.apiVersion !== undefined && obj.apiVersion !== this.apiVersion(type)) throw new ApiError(400, 'BadRequest', `the apiVersion "${String(obj.apiVersion)}" does not match ${this.apiVersion(type)}`)
  }

  private validate(type: ResourceType, obj: Obj): void {
    const name = obj.metadata.name
    const causes: Cause[] = []
    if (!name || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253) {
      causes.push({ field: 'metadata.name', reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'` })
    }
    if (type.schema) causes.push(...type.schema.check(obj))
    if (type.group === '' && type.plural === 'secrets') causes.push(...secretCauses(obj))
    if (`${type.group}/${type.plural}` === CRD_KEY && causes.length === 0) this.pendingCrdTypes.set(obj, this.crdResourceTypes(obj))
    if (causes.length > 0) {
      const gk = type.group ? `${type.kind}.${type.group}` : type.kind
      throw new ApiError(422, 'Invalid', `${gk} "${name}" is invalid: ${causes.map(c => `${c.field}: ${c.message}`).join(', ')}`,
        { name, group: type.group, kind: type.kind, causes })
    }
  }

  private create(type: ResourceType, namespace: string | undefined, obj: Obj): Obj {
    if (typeof obj !== 'object' || obj === null || typeof obj.metadata !== 'object') throw new ApiError(400, 'BadRequest', 'the body must be an object with metadata')
    this.checkKind(type, obj)
    obj.apiVersion = this.apiVersion(type)
    obj.kind = type.kind
    const m = obj.metadata
    if (!m.name && m.generateName) m.name = m.generateName + randomUUID().slice(0, 5)
    if (type.namespaced) {
      if (m.namespace !== undefined && namespace !== undefined && m.namespace !== namespace) throw new ApiError(400, 'BadRequest', 'the namespace of the object does not match the namespace of the request')
      m.namespace = namespace ?? m.namespace ?? 'default'
      const ns = this.bucket(this.types.get('/namespaces')!).get(m.namespace)
      if (!ns) throw new ApiError(404, 'NotFound', `namespaces "${m.namespace}" not found`)
      if (ns.metadata.deletionTimestamp) throw new ApiError(403, 'Forbidden', `unable to create new content in namespace ${m.namespace} because it is being terminated`)
    } else delete m.namespace
    if (type.statusSubresource && type.group !== '') delete obj.status
    // The namespace lifecycle admission of kube-apiserver: a new namespace is Active.
    if (type.group === '' && type.plural === 'namespaces') obj.status = { phase: 'Active' }
    this.validate(type, obj)
    const key = this.key(type, m.namespace, m.name)
    if (this.bucket(type).has(key)) throw new ApiError(409, 'AlreadyExists', `${type.plural}${type.group ? '.' + type.group : ''} "${m.name}" already exists`, { name: m.name, group: type.group, kind: type.plural })
    m.uid = randomUUID()
    m.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
    m.generation = 1
    delete m.deletionTimestamp
    return this.commit(type, key, obj, 'ADDED')
  }

  private put(path: string, _ns: string, obj: Obj): void {
    const type = this.types.get(path.replace(/^\//, '/'))!
    obj.metadata.uid = randomUUID()
    obj.metadata.creationTimestamp = new Date().toISOString()
    this.commit(type, this.key(type, undefined, obj.metadata.name), obj, 'ADDED')
  }

  private commit(type: ResourceType, key: string, obj: Obj, evType: WatchEvent['type'], old?: Obj): Obj {
    const isCrd = `${type.group}/${type.plural}` === CRD_KEY
    if (isCrd && evType !== 'DELETED') this.establishCrd(obj)
    this.rv++
    obj.metadata.resourceVersion = String(this.rv)
    if (evType === 'DELETED') this.bucket(type).delete(key)
    else this.bucket(type).set(key, obj)
    const ev: WatchEvent = { rv: this.rv, typeKey: `${type.group}/${type.plural}`, type: evType, obj, ...(old ? { old } : {}) }
    this.history.push(ev)
    while (this.history.length > this.historyLimit) this.compactedRv = this.history.shift()!.rv
    this.dispatch(ev)
    if (evType === 'DELETED') this.afterRemoval(obj)
    if (isCrd && evType === 'DELETED') {
      for (const [k, t] of [...this.types]) if (t.crd === obj.metadata.name) this.removeResource(k)
    }
    return obj
  }

  /**
   * Common path of PUT and PATCH: `next` is the whole object as the client wants it. On the main
   * resource the status is kept (status subresource); on /status only the status is taken.
   */
  private write(type: ResourceType, namespace: string | undefined, name: string, next: Obj, statusOnly: boolean): Obj {
    const key = this.key(type, namespace, name)
    const cur = this.bucket(type).get(key)
    if (!cur) throw this.notFound(type, name)
    if (typeof next !== 'object' || next === null || typeof next.metadata !== 'object') throw new ApiError(400, 'BadRequest', 'the body must be an object with metadata')
    this.checkKind(type, next)
    if (next.metadata.name !== undefined && next.metadata.name !== name) throw new ApiError(400, 'BadRequest', `the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`)
    const want = next.metadata.resourceVersion
    if (want !== undefined && want !== '' && want !== cur.metadata.resourceVersion) {
      throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${type.plural}${type.group ? '.' + type.group : ''} "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, group: type.group, kind: type.plural })
    }
    let obj: Obj
    if (statusOnly) {
      obj = structuredClone(cur)
      if (next.status === undefined) delete obj.status
      else obj.status = next.status
    } else {
      obj = structuredClone(next)
      obj.apiVersion = this.apiVersion(type)
      obj.kind = type.kind
      const m = obj.metadata
      for (const f of ['uid', 'creationTimestamp', 'deletionTimestamp', 'generation', 'namespace'] as const) {
        if (cur.metadata[f] === undefined) delete m[f]
        else m[f] = cur.metadata[f] as never
      }
      m.name = name
      if (type.statusSubresource) {
        if (cur.status === undefined) delete obj.status
        else obj.status = cur.status
      }
      if (cur.metadata.deletionTimestamp) {
        const had = new Set(cur.metadata.finalizers ?? [])
        const added = (m.finalizers ?? []).filter(f => !had.has(f))
        if (added.length > 0) throw new ApiError(422, 'Invalid', `metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`)
      }
    }
    this.validate(type, obj)
    if (!statusOnly && specOf(obj) !== specOf(cur)) obj.metadata.generation = (cur.metadata.generation ?? 1) + 1
    if (obj.metadata.deletionTimestamp && (obj.metadata.finalizers ?? []).length === 0) {
      return this.commit(type, key, obj, 'DELETED', cur)
    }
    if (JSON.stringify({ ...obj, metadata: { ...obj.metadata, resourceVersion: '' } }) === JSON.stringify({ ...cur, metadata: { ...cur.metadata, resourceVersion: '' } })) {
      return cur // a no-op write does not bump the resourceVersion, as on a real API server
    }
    return this.commit(type, key, obj, 'MODIFIED', cur)
  }

  private update(type: ResourceType, namespace: string | undefined, name: string, obj: Obj, statusOnly: boolean): Obj {
    return this.write(type, namespace, name, obj, statusOnly)
  }

  private patch(type: ResourceType, namespace: string | undefined, name: string, body: string, contentType: string, statusOnly: boolean): Obj {
    const cur = this.get(type, namespace, name)
    const ct = contentType.split(';')[0]!.trim()
    // Custom resources have no Go struct to carry patch strategies: kube-apiserver refuses a
    // strategic merge patch on them (kubectl patch's default), and so does the emulator.
    const strategic = type.crd === undefined
    let next: Json
    try {
      const p = parseJson(body) as unknown as Json
      if (ct === 'application/merge-patch+json' || (strategic && ct === 'application/strategic-merge-patch+json')) next = mergePatch(cur as unknown as Json, p)
      else if (ct === 'application/json-patch+json') next = jsonPatch(cur as unknown as Json, p)
      else throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json${strategic ? ', application/strategic-merge-patch+json' : ''} (got ${ct || 'none'})`)
    } catch (e) {
      if (e instanceof PatchError) {
        if (e.conflict) throw new ApiError(409, 'Conflict', `the server rejected our request due to an error in our request: ${e.message}`)
        throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${e.message}`)
      }
      throw e
    }
    const n = next as unknown as Obj
    // A patch carrying no resourceVersion is applied to the current object, whatever its version.
    if (n.metadata && (cur.metadata.resourceVersion === n.metadata.resourceVersion)) delete n.metadata.resourceVersion
    return this.write(type, namespace, name, n, statusOnly)
  }

  private delete(type: ResourceType, namespace: string | undefined, name: string): Obj {
    const key = this.key(type, namespace, name)
    const cur = this.bucket(type).get(key)
    if (!cur) throw this.notFound(type, name)
    if (type.plural === 'namespaces' && type.group === '') return this.deleteNamespace(cur)
    if ((cur.metadata.finalizers ?? []).length > 0) {
      if (cur.metadata.deletionTimestamp) return cur
      const obj = structuredClone(cur)
      obj.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
      return this.commit(type, key, obj, 'MODIFIED', cur)
    }
    return this.commit(type, key, structuredClone(cur), 'DELETED', cur)
  }

  private deleteNamespace(ns: Obj): Obj {
    const nsType = this.types.get('/namespaces')!
    const name = ns.metadata.name
    let obj = ns
    if (!ns.metadata.deletionTimestamp) {
      obj = structuredClone(ns)
      obj.metadata.deletionTimestamp = new Date().toISOString()
      obj.status = { phase: 'Terminating' }
      obj = this.commit(nsType, name, obj, 'MODIFIED', ns)
    }
    for (const t of this.types.values()) {
      if (!t.namespaced) continue
      for (const o of [...this.bucket(t).values()]) {
        if (o.metadata.namespace === name && this.bucket(t).has(this.key(t, name, o.metadata.name))) this.delete(t, name, o.metadata.name)
      }
    }
    this.finishNamespace(name)
    return obj
  }

  private finishNamespace(name: string): void {
    const nsType = this.types.get('/namespaces')!
    const ns = this.bucket(nsType).get(name)
    if (!ns?.metadata.deletionTimestamp) return
    for (const t of this.types.values()) {
      if (t.namespaced && [...this.bucket(t).values()].some(o => o.metadata.namespace === name)) return
    }
    this.commit(nsType, name, structuredClone(ns), 'DELETED', ns)
  }

  /** Background garbage collection of dependents, then namespace finalization. */
  private afterRemoval(obj: Obj): void {
    const uid = obj.metadata.uid
    for (const t of this.types.values()) {
      for (const o of [...this.bucket(t).values()]) {
        if ((o.metadata.ownerReferences ?? []).some(r => r.uid === uid)) {
          const k = this.key(t, o.metadata.namespace, o.metadata.name)
          if (this.bucket(t).has(k)) this.delete(t, o.metadata.namespace, o.metadata.name)
        }
      }
    }
    if (obj.metadata.namespace) this.finishNamespace(obj.metadata.namespace)
  }

  // ------------------------------------------------------------------ watch

  private watch(type: ResourceType, namespace: string | undefined, q: URLSearchParams, res: ServerResponse, table?: Watcher['table']): void {
    const typeKey = `${type.group}/${type.plural}`
    const w: Watcher = {
      typeKey, labelSel: parseSelector(q.get('labelSelector') ?? ''), fieldSel: parseSelector(q.get('fieldSelector') ?? ''),
      res, bookmarks: q.get('allowWatchBookmarks') === 'true', ...(namespace !== undefined ? { namespace } : {}), ...(table ? { table } : {}),
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' })
    res.flushHeaders()
    const rvParam = q.get('resourceVersion') ?? ''
    if (rvParam === '' || rvParam === '0') {
      for (const o of this.bucket(type).values()) if (this.matches(w, o)) this.emit(w, 'ADDED', o)
    } else {
      const from = Number(rvParam)
      if (!Number.isFinite(from) || from < this.compactedRv) {
        write(res, {
          type: 'ERROR',
          object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${rvParam} (${this.compactedRv + 1})`, reason: 'Expired', code: 410 },
        })
        res.end()
        return
      }
      for (const ev of this.history) if (ev.rv > from && ev.typeKey === typeKey) this.send(w, ev)
    }
    this.watchers.add(w)
    let bookmark: NodeJS.Timeout | undefined
    if (w.bookmarks && this.bookmarkIntervalMs > 0) {
      bookmark = setInterval(() => write(res, { type: 'BOOKMARK', object: { kind: type.kind, apiVersion: this.apiVersion(type), metadata: { resourceVersion: String(this.rv) } } }), this.bookmarkIntervalMs)
    }
    const timeout = Number(q.get('timeoutSeconds') ?? '0')
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined
    const cleanup = (): void => {
      this.watchers.delete(w)
      if (timer) clearTimeout(timer)
      if (bookmark) clearInterval(bookmark)
    }
    res.on('close', cleanup)
    res.on('finish', cleanup)
  }

  private matches(w: Watcher, o: Obj): boolean {
    return (w.namespace === undefined || o.metadata.namespace === w.namespace) &&
      matchLabels(w.labelSel, o.metadata.labels ?? {}) && matchFields(w.fieldSel, o)
  }

  /** Selector-aware event: an object entering the selection is ADDED, one leaving it DELETED. */
  private send(w: Watcher, ev: WatchEvent): void {
    const now = this.matches(w, ev.obj)
    const before = ev.old ? this.matches(w, ev.old) : false
    let type: string = ev.type
    if (ev.type === 'MODIFIED') {
      if (now && !before) type = 'ADDED'
      else if (!now && before) type = 'DELETED'
      else if (!now) return
    } else if (!now && !(ev.type === 'DELETED' && before)) return
    this.emit(w, type, ev.obj)
  }

  /** One watch event; for a Table watch, a one-row Table whose column definitions come only first. */
  private emit(w: Watcher, type: string, obj: Obj): void {
    if (!w.table) { write(w.res, { type, object: obj }); return }
    const t = this.types.get(w.typeKey)
    const object = toTable([obj], t?.columns, w.table.req, { include: w.table.include, withHeaders: !w.table.headersSent, ...(obj.metadata.resourceVersion ? { resourceVersion: obj.metadata.resourceVersion } : {}) })
    w.table.headersSent = true
    write(w.res, { type, object })
  }

  private dispatch(ev: WatchEvent): void {
    if (this.stallWatches) return
    for (const w of this.watchers) if (w.typeKey === ev.typeKey) this.send(w, ev)
  }
}

interface CrdSpec {
  group: string
  scope: 'Namespaced' | 'Cluster'
  names: { kind: string; plural: string; singular?: string; listKind?: string; shortNames?: string[]; categories?: string[] }
  versions: {
    name: string; served: boolean; storage?: boolean; subresources?: { status?: unknown }
    schema?: { openAPIV3Schema?: Record<string, unknown> }; additionalPrinterColumns?: PrinterColumn[]
  }[]
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function specOf(o: Obj): string {
  const { metadata: _m, status: _s, ...rest } = o
  return JSON.stringify(rest)
}

function write(res: ServerResponse, ev: unknown): void {
  if (!res.writableEnded) res.write(JSON.stringify(ev) + '\n')
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/**
 * core/v1 Secret as kube-apiserver stores it: `stringData` is write-only, merged over `data` as
 * base64 and dropped; `data` values must be base64, keys `[-._a-zA-Z0-9]+`. Mutates `obj`.
 */
function secretCauses(obj: Obj): Cause[] {
  const causes: Cause[] = []
  const data = (obj.data ?? {}) as Record<string, unknown>
  const stringData = (obj.stringData ?? {}) as Record<string, unknown>
  for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(String(v), 'utf8').toString('base64')
  delete obj.stringData
  for (const [k, v] of Object.entries(data)) {
    if (!/^[-._a-zA-Z0-9]+$/.test(k)) causes.push({ field: `data[${k}]`, reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(k)}: a valid config key must consist of alphanumeric characters, '-', '_' or '.'` })
    else if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) causes.push({ field: `data[${k}]`, reason: 'FieldValueInvalid', message: 'Invalid value: illegal base64 data' })
  }
  if (Object.keys(data).length > 0) obj.data = data
  return causes
}

function status(e: ApiError): unknown {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: e.message, reason: e.reason, code: e.code, ...(e.details ? { details: e.details } : {}) }
}

function parseJson(body: string): Obj {
  try { return JSON.parse(body) as Obj } catch { throw new ApiError(400, 'BadRequest', 'the request body is not valid JSON') }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

// ------------------------------------------------------------------ selectors

type Req = { key: string; op: '=' | '!=' | 'in' | 'notin' | 'exists' | '!exists'; values: string[] }
type Selector = Req[]

/** Label/field selector syntax: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`. */
export function parseSelector(s: string): Selector {
  const out: Selector = []
  const parts = s.match(/[^,(]+(\([^)]*\))?/g) ?? []
  for (let p of parts) {
    p = p.trim()
    if (!p) continue
    let m: RegExpExecArray | null
    if ((m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(p))) out.push({ key: m[1]!, op: m[2] as 'in' | 'notin', values: m[3]!.split(',').map(v => v.trim()) })
    else if ((m = /^([^!=]+)!=(.*)$/.exec(p))) out.push({ key: m[1]!.trim(), op: '!=', values: [m[2]!.trim()] })
    else if ((m = /^([^!=]+)==?(.*)$/.exec(p))) out.push({ key: m[1]!.trim(), op: '=', values: [m[2]!.trim()] })
    else if (p.startsWith('!')) out.push({ key: p.slice(1).trim(), op: '!exists', values: [] })
    else out.push({ key: p, op: 'exists', values: [] })
  }
  return out
}

function matchOne(r: Req, v: string | undefined): boolean {
  switch (r.op) {
    case '=': return v === r.values[0]
    case '!=': return v !== r.values[0]
    case 'in': return v !== undefined && r.values.includes(v)
    case 'notin': return v === undefined || !r.values.includes(v)
    case 'exists': return v !== undefined
    case '!exists': return v === undefined
  }
}

function matchLabels(sel: Selector, labels: Record<string, string>): boolean {
  return sel.every(r => matchOne(r, labels[r.key]))
}

function matchFields(sel: Selector, o: Obj): boolean {
  return sel.every(r => {
    let cur: unknown = o
    for (const k of r.key.split('.')) cur = (cur as Record<string, unknown> | undefined)?.[k]
    return matchOne(r, cur === undefined ? undefined : String(cur))
  })
}
