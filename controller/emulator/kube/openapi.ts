/**
 * The OpenAPI v2 document of the Kubernetes API emulator, as kubectl 1.20 fetches it before it
 * validates a manifest on the client (`kubectl apply`/`create`, `--validate=true` being the default)
 * and for `kubectl explain`: `GET /openapi/v2` with `Accept:
 * application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, the document encoded as gnostic's
 * openapi.v2.Document protocol buffer. Without an answer kubectl refuses to apply anything unless
 * told `--validate=false`.
 *
 * As kube-apiserver publishes custom resources: one definition per served CRD version, named by the
 * reversed group (`io.gsi-router.gsi.v1alpha1.TransitGateway`), carrying the
 * `x-kubernetes-group-version-kind` extension kubectl finds it by, with the structural parts of the
 * CRD's OpenAPI v3 schema (type, properties, required, items, additionalProperties, description,
 * format, bounds, pattern). A schema that keeps unknown fields (x-kubernetes-preserve-unknown-fields)
 * is published as a free-form object, so kubectl does not refuse what the server would keep.
 * kubectl then refuses unknown fields, missing required fields and wrong types before sending, as it
 * does against a real cluster; the emulator's server-side validation (schema.ts) checks the rest.
 * Built-in kinds are not described: kubectl validates nothing of them on the client.
 */

/** A resource to describe: its group, version, kind and the CRD version's openAPIV3Schema. */
export interface DescribedKind { group: string; version: string; kind: string; schema: Record<string, unknown> }

// ------------------------------------------------------------------ protobuf wire format

type Field = Buffer

function varint(n: bigint): Buffer {
  const out: number[] = []
  let v = BigInt.asUintN(64, n)
  while (v > 0x7fn) { out.push(Number(v & 0x7fn) | 0x80); v >>= 7n }
  out.push(Number(v))
  return Buffer.from(out)
}

const tag = (field: number, wire: number): Buffer => varint(BigInt((field << 3) | wire))
const bytesField = (field: number, payload: Buffer): Field => Buffer.concat([tag(field, 2), varint(BigInt(payload.length)), payload])
const stringField = (field: number, s: string): Field => bytesField(field, Buffer.from(s, 'utf8'))
const message = (field: number, parts: Field[]): Field => bytesField(field, Buffer.concat(parts))
const boolField = (field: number, b: boolean): Field => Buffer.concat([tag(field, 0), varint(b ? 1n : 0n)])
const int64Field = (field: number, n: number): Field => Buffer.concat([tag(field, 0), varint(BigInt(Math.trunc(n)))])
function doubleField(field: number, n: number): Field {
  const b = Buffer.alloc(8)
  b.writeDoubleLE(n)
  return Buffer.concat([tag(field, 1), b])
}

// openapi.v2 field numbers (gnostic's OpenAPIv2.proto).
const DOC = { swagger: 1, info: 2, paths: 8, definitions: 9 }
const INFO = { title: 1, version: 2 }
const SCHEMA = {
  format: 2, description: 4, maximum: 7, exclusiveMaximum: 8, minimum: 9, exclusiveMinimum: 10, maxLength: 11, minLength: 12,
  pattern: 13, maxItems: 14, minItems: 15, uniqueItems: 16, required: 19, additionalProperties: 21, type: 22, items: 23,
  properties: 25, vendorExtension: 31,
}
// NamedSchema / NamedAny { name = 1; value = 2 }; Any { yaml = 2 }; TypeItem { value = 1 };
// ItemsItem { schema = 1 }; Properties / Definitions { additional_properties = 1 };
// AdditionalPropertiesItem { schema = 1 | boolean = 2 }.

type Schema = Record<string, unknown>
const isSchema = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v)

/** The part of a v3 schema kubectl reads, as kube-apiserver publishes it in v2. */
function publishable(s: Schema): Schema {
  const out: Schema = {}
  if (s['x-kubernetes-preserve-unknown-fields'] === true) {
    // Anything goes below here on the server, so nothing may be refused on the client.
    if (typeof s.description === 'string') out.description = s.description
    out.type = 'object'
    return out
  }
  for (const k of ['description', 'format', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum', 'maxLength', 'minLength', 'pattern', 'maxItems', 'minItems', 'uniqueItems', 'required', 'type']) {
    if (s[k] !== undefined) out[k] = s[k]
  }
  if (isSchema(s.items)) out.items = publishable(s.items)
  if (isSchema(s.properties)) out.properties = Object.fromEntries(Object.entries(s.properties).filter(([, v]) => isSchema(v)).map(([k, v]) => [k, publishable(v as Schema)]))
  if (isSchema(s.additionalProperties)) out.additionalProperties = publishable(s.additionalProperties)
  else if (typeof s.additionalProperties === 'boolean') out.additionalProperties = s.additionalProperties
  if (s['x-kubernetes-int-or-string'] === true) { delete out.type; out.format = 'int-or-string' }
  return out
}

function encodeSchema(s: Schema, extensions: [string, string][] = []): Buffer {
  const f: Field[] = []
  if (typeof s.format === 'string') f.push(stringField(SCHEMA.format, s.format))
  if (typeof s.description === 'string') f.push(stringField(SCHEMA.description, s.description))
  for (const k of ['maximum', 'minimum'] as const) if (typeof s[k] === 'number') f.push(doubleField(SCHEMA[k], s[k]))
  for (const k of ['exclusiveMaximum', 'exclusiveMinimum', 'uniqueItems'] as const) if (typeof s[k] === 'boolean') f.push(boolField(SCHEMA[k], s[k]))
  for (const k of ['maxLength', 'minLength', 'maxItems', 'minItems'] as const) if (typeof s[k] === 'number') f.push(int64Field(SCHEMA[k], s[k]))
  if (typeof s.pattern === 'string') f.push(stringField(SCHEMA.pattern, s.pattern))
  if (Array.isArray(s.required)) for (const r of s.required) f.push(stringField(SCHEMA.required, String(r)))
  if (isSchema(s.additionalProperties)) f.push(message(SCHEMA.additionalProperties, [bytesField(1, encodeSchema(s.additionalProperties))]))
  else if (typeof s.additionalProperties === 'boolean') f.push(message(SCHEMA.additionalProperties, [boolField(2, s.additionalProperties)]))
  if (typeof s.type === 'string') f.push(message(SCHEMA.type, [stringField(1, s.type)]))
  if (isSchema(s.items)) f.push(message(SCHEMA.items, [bytesField(1, encodeSchema(s.items))]))
  if (isSchema(s.properties)) {
    f.push(message(SCHEMA.properties, Object.entries(s.properties).map(([name, v]) => message(1, [stringField(1, name), bytesField(2, encodeSchema(v as Schema))]))))
  }
  for (const [name, yaml] of extensions) f.push(message(SCHEMA.vendorExtension, [stringField(1, name), message(2, [stringField(2, yaml)])]))
  return Buffer.concat(f)
}

/** The definition name kube-apiserver gives a custom resource: reversed group, version, kind. */
export function definitionName(k: Pick<DescribedKind, 'group' | 'version' | 'kind'>): string {
  return `${k.group.split('.').reverse().join('.')}.${k.version}.${k.kind}`
}

/**
 * Media type of the protobuf form as kubectl asks for it. The answer is labelled
 * application/octet-stream: Go's mime parser, which client-go runs on every Content-Type, refuses
 * the "@" in this one.
 */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf'

/** The document, as protobuf (what kubectl asks for) and as JSON (for anyone asking for JSON). */
export function openApiV2(version: string, kinds: DescribedKind[]): { protobuf: Buffer; json: Record<string, unknown> } {
  const title = 'Kubernetes'
  const defs = kinds.map(k => {
    const gvk: [string, string] = ['x-kubernetes-group-version-kind', `- group: ${JSON.stringify(k.group)}\n  kind: ${JSON.stringify(k.kind)}\n  version: ${JSON.stringify(k.version)}\n`]
    return { name: definitionName(k), schema: publishable(k.schema), gvk, kind: k }
  })
  const protobuf = Buffer.concat([
    stringField(DOC.swagger, '2.0'),
    message(DOC.info, [stringField(INFO.title, title), stringField(INFO.version, version)]),
    message(DOC.paths, []),
    message(DOC.definitions, defs.map(d => message(1, [stringField(1, d.name), bytesField(2, encodeSchema(d.schema, [d.gvk]))]))),
  ])
  const json = {
    swagger: '2.0', info: { title, version }, paths: {},
    definitions: Object.fromEntries(defs.map(d => [d.name, { ...d.schema, 'x-kubernetes-group-version-kind': [{ group: d.kind.group, kind: d.kind.kind, version: d.kind.version }] }])),
  }
  return { protobuf, json }
}
