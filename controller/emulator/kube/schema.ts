/**
 * Validation of custom resources as kube-apiserver does it for apiextensions.k8s.io/v1 CRDs with
 * structural schemas: defaulting (`default`), pruning of unknown fields (unless
 * x-kubernetes-preserve-unknown-fields), OpenAPI v3 value validation (ajv), `x-kubernetes-list-type:
 * set` uniqueness, and `x-kubernetes-validations` CEL rules.
 *
 * CEL is not interpreted: the emulator knows the exact rule texts our CRDs use (CEL_RULES below) and
 * evaluates each by a hand-written JavaScript equivalent. A CRD carrying any other rule is refused at
 * load time, so a rule added to deploy/crds without its twin here fails loudly instead of passing.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'

export interface Cause { field: string; message: string; reason: string }

type Schema = Record<string, unknown>

const RESERVED_INSIDE = [0, 1, 2, 3, 4, 5].map(i => `169.254.${i}.0/29`).concat('169.254.169.248/29')

/** The CEL rules our CRDs use, by exact text, with their JavaScript equivalents. */
export const CEL_RULES: Record<string, (self: unknown) => boolean> = {
  // TransitGateway.spec: the peer ASN (when set here) must differ from the TGW's (default 64512).
  "!has(self.peerAsn) || self.peerAsn != (has(self.amazonSideAsn) ? self.amazonSideAsn : 64512)": self => {
    const s = self as { peerAsn?: number; amazonSideAsn?: number }
    return s.peerAsn === undefined || s.peerAsn !== (s.amazonSideAsn ?? 64512)
  },
  // ConnectedPeer.spec: both ASNs are required there.
  'self.peerAsn != self.transitGatewayAsn': self => {
    const s = self as { peerAsn?: number; transitGatewayAsn?: number }
    return s.peerAsn !== s.transitGatewayAsn
  },
  // Amazon-side ASN ranges (CreateTransitGateway Options.AmazonSideAsn).
  '(self >= 64512 && self <= 65534) || (self >= 4200000000 && self <= 4294967294)': self => {
    const n = self as number
    return (n >= 64512 && n <= 65534) || (n >= 4200000000 && n <= 4294967294)
  },
  // The inside /29s AWS reserves (TGW Connect guide): 169.254.0.0/29 ... 169.254.5.0/29, 169.254.169.248/29.
  "!(self in ['169.254.0.0/29', '169.254.1.0/29', '169.254.2.0/29', '169.254.3.0/29', '169.254.4.0/29', '169.254.5.0/29', '169.254.169.248/29'])": self => !RESERVED_INSIDE.includes(self as string),
  // Inside CIDRs: at most one IPv4 /29 and one IPv6 /125.
  "self.filter(c, c.contains('.')).size() <= 1 && self.filter(c, c.contains(':')).size() <= 1": self => {
    const l = self as string[]
    return l.filter(c => c.includes('.')).length <= 1 && l.filter(c => c.includes(':')).length <= 1
  },
  // Inside CIDRs of a ConnectedPeer: exactly one IPv4 /29.
  "self.exists(c, c.contains('.'))": self => (self as string[]).some(c => c.includes('.')),
}

interface CelSite { path: string[]; rules: { rule: string; message?: string; fieldPath?: string }[] }

const K8S_KEYWORDS = [
  'x-kubernetes-validations', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string',
  'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type',
  'x-kubernetes-embedded-resource',
]

export class CrdSchema {
  private readonly validateFn: ValidateFunction
  constructor(readonly schema: Schema, ajv: Ajv) {
    checkCel(schema, [])
    this.validateFn = ajv.compile(schema)
  }

  /** Defaults, prunes and validates `obj` in place; returns the causes of rejection (empty = valid). */
  check(obj: Record<string, unknown>): Cause[] {
    prune(obj, this.schema, true)
    const causes: Cause[] = []
    if (!this.validateFn(obj)) for (const e of this.validateFn.errors ?? []) causes.push(fromAjv(e))
    walk(obj, this.schema, '', causes)
    return causes
  }
}

export function makeAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true, verbose: true })
  for (const k of K8S_KEYWORDS) ajv.addKeyword(k)
  // The formats kube-apiserver checks for CRDs (k8s.io/kube-openapi strfmt), those we use.
  ajv.addFormat('int32', { type: 'number', validate: n => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 })
  ajv.addFormat('int64', { type: 'number', validate: n => Number.isInteger(n) })
  ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/)
  return ajv
}

function checkCel(schema: Schema, path: string[]): void {
  const v = schema['x-kubernetes-validations'] as CelSite['rules'] | undefined
  for (const r of v ?? []) {
    if (!(r.rule in CEL_RULES)) {
      throw new Error(`CEL rule at ${path.join('.') || '<root>'} is not implemented by the emulator: ${r.rule}`)
    }
  }
  const props = schema.properties as Record<string, Schema> | undefined
  for (const [k, s] of Object.entries(props ?? {})) checkCel(s, [...path, k])
  if (isSchema(schema.items)) checkCel(schema.items, [...path, '[]'])
  if (isSchema(schema.additionalProperties)) checkCel(schema.additionalProperties, [...path, '*'])
}

function isSchema(v: unknown): v is Schema { return typeof v === 'object' && v !== null && !Array.isArray(v) }

/** Structural pruning: drop fields the schema does not declare (root apiVersion/kind/metadata kept). */
function prune(value: unknown, schema: Schema, root = false): void {
  if (Array.isArray(value)) {
    if (isSchema(schema.items)) for (const v of value) prune(v, schema.items)
    return
  }
  if (!isSchema(value) || schema['x-kubernetes-preserve-unknown-fields'] === true) return
  const props = schema.properties as Record<string, Schema> | undefined
  const addl = schema.additionalProperties
  for (const k of Object.keys(value)) {
    if (root && (k === 'apiVersion' || k === 'kind' || k === 'metadata')) continue
    const s = props?.[k] ?? (isSchema(addl) ? addl : undefined)
    if (s) prune(value[k], s)
    else if (props !== undefined || addl === false) delete value[k]
  }
}

function fieldOf(instancePath: string): string {
  return instancePath.split('/').slice(1).map(t => /^\d+$/.test(t) ? `[${t}]` : `.${t}`).join('').replace(/^\./, '')
}

function fromAjv(e: ErrorObject): Cause {
  let field = fieldOf(e.instancePath)
  if (e.keyword === 'required') {
    const missing = (e.params as { missingProperty: string }).missingProperty
    field = field ? `${field}.${missing}` : missing
    return { field, reason: 'FieldValueRequired', message: 'Required value' }
  }
  let message = `${e.message ?? 'invalid'}`
  if (e.keyword === 'pattern') message = `should match '${(e.params as { pattern: string }).pattern}'`
  if (e.keyword === 'maxItems') message = `must have at most ${(e.params as { limit: number }).limit} items`
  if (e.keyword === 'enum') message = `Unsupported value: supported values: ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}`
  return { field, reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(e.data)}: ${field} in body ${message}` }
}

/** CEL rules and list-type set, evaluated after the OpenAPI validation passed. */
function walk(value: unknown, schema: Schema, field: string, causes: Cause[]): void {
  if (value === undefined) return
  for (const r of (schema['x-kubernetes-validations'] as CelSite['rules'] | undefined) ?? []) {
    const fn = CEL_RULES[r.rule]
    let ok = true
    try { ok = fn ? fn(value) : true } catch { ok = false }
    if (!ok) {
      const f = r.fieldPath ? `${field}${r.fieldPath}` : field
      causes.push({ field: f, reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(typeof value === 'object' ? 'object' : value)}: ${r.message ?? `failed rule: ${r.rule}`}` })
    }
  }
  if (Array.isArray(value)) {
    if (schema['x-kubernetes-list-type'] === 'set') {
      const seen = new Set<string>()
      value.forEach((v, i) => {
        const k = JSON.stringify(v)
        if (seen.has(k)) causes.push({ field: `${field}[${i}]`, reason: 'FieldValueDuplicate', message: `Duplicate value: ${k}` })
        seen.add(k)
      })
    }
    if (isSchema(schema.items)) value.forEach((v, i) => walk(v, schema.items as Schema, `${field}[${i}]`, causes))
    return
  }
  if (!isSchema(value)) return
  const props = schema.properties as Record<string, Schema> | undefined
  for (const [k, s] of Object.entries(props ?? {})) walk(value[k], s, field ? `${field}.${k}` : k, causes)
  if (isSchema(schema.additionalProperties)) {
    for (const [k, v] of Object.entries(value)) if (!props?.[k]) walk(v, schema.additionalProperties, `${field}.${k}`, causes)
  }
}
