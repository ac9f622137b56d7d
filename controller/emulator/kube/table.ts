/**
 * Server-side printing for the Kubernetes API emulator: the meta.k8s.io Table that kubectl asks for
 * (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`) when it prints `kubectl get` output.
 *
 * As kube-apiserver does it: a custom resource's columns are Name followed by its CRD version's
 * `additionalPrinterColumns`, or Name and Age when the CRD declares none; each column's JSONPath is
 * evaluated with missing keys allowed (an absent value is an empty cell); `string` cells are the
 * printed value, `integer`/`number`/`boolean` cells the JSON value, `date` cells the age of the
 * timestamp in kubectl's short form ("5m10s"). Built-in kinds without columns of their own get the
 * generic convertor's Name and Created At. Each row carries the object's metadata as a
 * PartialObjectMetadata (or the whole object with `includeObject=Object`, nothing with `None`), which
 * is what kubectl reads for `--show-labels` and the NAMESPACE column of `-A`.
 */

/** One printer column as a CRD declares it (apiextensions.k8s.io/v1 CustomResourceColumnDefinition). */
export interface PrinterColumn {
  name: string
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date'
  jsonPath: string
  format?: string
  description?: string
  priority?: number
}

export type IncludeObject = 'None' | 'Metadata' | 'Object'

/** The media type kubectl asked for, when it asked for a Table: which meta.k8s.io version. */
export interface TableRequest { version: 'v1' | 'v1beta1' }

/**
 * Reads an Accept header: the first acceptable media type wins, as content negotiation does. Returns
 * the Table version when a Table comes first, undefined when plain JSON (or anything else) does.
 */
export function tableRequested(accept: string | undefined): TableRequest | undefined {
  for (const part of (accept ?? '').split(',')) {
    const [type, ...params] = part.split(';').map(s => s.trim())
    const p = new Map(params.map(kv => { const i = kv.indexOf('='); return [kv.slice(0, i).trim(), kv.slice(i + 1).trim()] as const }))
    if (type !== 'application/json' && type !== '*/*' && type !== 'application/*') continue
    if (p.get('as') === 'Table' && (p.get('g') ?? 'meta.k8s.io') === 'meta.k8s.io') {
      const v = p.get('v') ?? 'v1'
      if (v === 'v1' || v === 'v1beta1') return { version: v }
      continue // a Table version we do not serve: try the next media type
    }
    if (p.has('as')) continue // another transformation (PartialObjectMetadata...) we do not serve
    return undefined
  }
  return undefined
}

/** The columns kube-apiserver serves for a CRD version that declares none (serveDefaultColumnsIfEmpty). */
export const DEFAULT_CRD_COLUMNS: PrinterColumn[] = [
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
]

const NAME_COLUMN = {
  name: 'Name', type: 'string', format: 'name', priority: 0,
  description: 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated.',
}

type Obj = Record<string, unknown> & { metadata: Record<string, unknown> }

/**
 * A Table of `objects`. `columns` undefined = the generic convertor (Name, Created At). `withHeaders`
 * false leaves out the column definitions, as the API server does after the first event of a watch.
 */
export function toTable(objects: Obj[], columns: PrinterColumn[] | undefined, req: TableRequest, opts: { include?: IncludeObject; resourceVersion?: string; withHeaders?: boolean; now?: number } = {}): Record<string, unknown> {
  const now = opts.now ?? Date.now()
  const defs = columns
    ? [NAME_COLUMN, ...columns.map(c => ({
        name: c.name, type: c.type, format: c.format ?? '', priority: c.priority ?? 0,
        description: c.description ?? `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
      }))]
    : [NAME_COLUMN, { name: 'Created At', type: 'date', format: '', priority: 0, description: 'CreationTimestamp is a timestamp representing the server time when this object was created.' }]
  const rows = objects.map(o => {
    const cells: unknown[] = [o.metadata.name]
    if (columns) for (const c of columns) cells.push(cell(c, o, now))
    else cells.push(o.metadata.creationTimestamp ?? null)
    const include = opts.include ?? 'Metadata'
    const object = include === 'Object' ? o
      : include === 'Metadata' ? { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${req.version}`, metadata: o.metadata }
        : undefined
    return { cells, ...(object ? { object } : {}) }
  })
  return {
    kind: 'Table', apiVersion: `meta.k8s.io/${req.version}`,
    metadata: opts.resourceVersion !== undefined ? { resourceVersion: opts.resourceVersion } : {},
    ...(opts.withHeaders === false ? {} : { columnDefinitions: defs }),
    rows,
  }
}

function cell(c: PrinterColumn, o: Obj, now: number): unknown {
  const found = evalJsonPath(c.jsonPath, o)
  if (found.length === 0) return null
  const v = found[0]
  switch (c.type) {
    case 'string': return typeof v === 'string' ? v : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)
    case 'integer': return typeof v === 'number' && Number.isInteger(v) ? v : null
    case 'number': return typeof v === 'number' ? v : null
    case 'boolean': return typeof v === 'boolean' ? v : null
    case 'date': {
      const t = typeof v === 'string' ? Date.parse(v) : NaN
      return Number.isNaN(t) ? null : humanDuration(now - t)
    }
  }
}

/**
 * The JSONPath subset CRD printer columns use (kube-apiserver accepts any JSONPath; ours use these):
 * `.field`, `['field']`, `[N]`, `[*]` and `[?(@.a.b=="v")]` (also `!=`). Missing keys give no result.
 * Throws on any other syntax, so a CRD with a path we cannot evaluate is refused when it is loaded.
 */
export function evalJsonPath(path: string, root: unknown): unknown[] {
  const steps = parseJsonPath(path)
  let cur: unknown[] = [root]
  for (const s of steps) {
    const next: unknown[] = []
    for (const v of cur) {
      if (s.kind === 'field') {
        if (isRecord(v) && v[s.name] !== undefined) next.push(v[s.name])
      } else if (s.kind === 'index') {
        if (Array.isArray(v)) { const i = s.index < 0 ? v.length + s.index : s.index; if (i >= 0 && i < v.length) next.push(v[i]) }
      } else if (s.kind === 'all') {
        if (Array.isArray(v)) next.push(...(v as unknown[]))
        else if (isRecord(v)) next.push(...Object.values(v))
      } else if (Array.isArray(v)) {
        for (const item of v as unknown[]) {
          let x: unknown = item
          for (const k of s.path) x = isRecord(x) ? x[k] : undefined
          const eq = x !== undefined && String(x) === s.value
          if (s.op === '==' ? eq : (x !== undefined && !eq)) next.push(item)
        }
      }
    }
    cur = next
  }
  return cur
}

type Step =
  | { kind: 'field'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'all' }
  | { kind: 'filter'; path: string[]; op: '==' | '!='; value: string }

export function parseJsonPath(path: string): Step[] {
  let p = path.trim()
  if (p.startsWith('{') && p.endsWith('}')) p = p.slice(1, -1)
  if (p.startsWith('$')) p = p.slice(1)
  const steps: Step[] = []
  let i = 0
  const fail = (why: string): never => { throw new Error(`JSONPath ${JSON.stringify(path)}: ${why} at offset ${i}`) }
  while (i < p.length) {
    if (p[i] === '.') {
      const m = /^\.([A-Za-z0-9_-]+)/.exec(p.slice(i))
      if (!m) fail('a field name must follow "."')
      steps.push({ kind: 'field', name: m![1]! })
      i += m![0].length
    } else if (p[i] === '[') {
      const rest = p.slice(i)
      let m: RegExpExecArray | null
      if ((m = /^\[(-?\d+)\]/.exec(rest))) steps.push({ kind: 'index', index: Number(m[1]) })
      else if ((m = /^\[\*\]/.exec(rest))) steps.push({ kind: 'all' })
      else if ((m = /^\['([^']*)'\]/.exec(rest))) steps.push({ kind: 'field', name: m[1]! })
      else if ((m = /^\[\?\(@((?:\.[A-Za-z0-9_-]+)+)\s*(==|!=)\s*(?:"([^"]*)"|'([^']*)'|(-?[0-9.]+|true|false))\)\]/.exec(rest))) {
        steps.push({ kind: 'filter', path: m[1]!.slice(1).split('.'), op: m[2] as '==' | '!=', value: m[3] ?? m[4] ?? m[5]! })
      } else fail('unsupported expression')
      i += m![0].length
    } else fail(`unexpected ${JSON.stringify(p[i])}`)
  }
  return steps
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * A duration as kubectl's AGE column prints it (apimachinery's duration.HumanDuration): seconds under
 * two minutes, minutes and seconds under ten, minutes under three hours, then hours, days and years.
 */
export function humanDuration(ms: number): string {
  const s = Math.trunc(ms / 1000)
  if (s < -1) return '<invalid>'
  if (s < 0) return '0s'
  if (s < 120) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`
  if (m < 180) return `${m}m`
  const h = Math.floor(m / 60)
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`
  if (h < 48) return `${h}h`
  const d = Math.floor(h / 24)
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`
  if (h < 24 * 365 * 2) return `${d}d`
  const y = Math.floor(d / 365)
  if (h < 24 * 365 * 8) return d % 365 === 0 ? `${y}y` : `${y}y${d % 365}d`
  return `${y}y`
}
