/**
 * Server-side printing of the Kubernetes emulator (controller/emulator/kube/table.ts) by itself:
 * Accept negotiation as kubectl sends it, the JSONPath subset of printer columns, cells by column
 * type, kubectl's age format, and the OpenAPI v2 protobuf document's bytes.
 */
import t from 'tap'
import { evalJsonPath, humanDuration, parseJsonPath, tableRequested, toTable, DEFAULT_CRD_COLUMNS, type PrinterColumn } from '../../controller/emulator/kube/table.js'
import { openApiV2 } from '../../controller/emulator/kube/openapi.js'

t.test('Accept: the first acceptable media type decides', async t => {
  const kubectlGet = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json'
  t.same(tableRequested(kubectlGet), { version: 'v1' })
  t.same(tableRequested('application/json;as=Table;v=v1beta1;g=meta.k8s.io, application/json'), { version: 'v1beta1' })
  t.same(tableRequested('application/json;as=Table;v=v2;g=meta.k8s.io,application/json;as=Table;v=v1;g=meta.k8s.io'), { version: 'v1' }, 'an unserved Table version is skipped')
  t.equal(tableRequested('application/json, */*'), undefined)
  t.equal(tableRequested('application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json'), undefined, 'other transformations fall back to JSON')
  t.equal(tableRequested(undefined), undefined)
})

t.test('JSONPath subset of printer columns', async t => {
  const o = { status: { conditions: [{ type: 'AWSReady', status: 'True' }, { type: 'Ready', status: 'False', reason: 'PeersPending' }], n: 0 }, spec: { l: ['a', 'b'], 'dotted.key': 1 } }
  t.same(evalJsonPath('.status.conditions[?(@.type=="Ready")].status', o), ['False'])
  t.same(evalJsonPath(".status.conditions[?(@.type=='Ready')].reason", o), ['PeersPending'])
  t.same(evalJsonPath('.status.conditions[?(@.type!="Ready")].type', o), ['AWSReady'])
  t.same(evalJsonPath('.spec.l[1]', o), ['b'])
  t.same(evalJsonPath('.spec.l[-1]', o), ['b'])
  t.same(evalJsonPath('.spec.l[*]', o), ['a', 'b'])
  t.same(evalJsonPath(".spec['dotted.key']", o), [1])
  t.same(evalJsonPath('{.status.n}', o), [0], 'a zero is a value, not a missing key')
  t.same(evalJsonPath('.status.missing.deeper', o), [], 'missing keys allowed')
  t.same(evalJsonPath('.spec.l[5]', o), [])
  t.throws(() => parseJsonPath('.spec..x'), /JSONPath ".spec..x": a field name must follow "."/)
  t.throws(() => parseJsonPath('.spec.l[1:2]'), /unsupported expression/)
})

t.test('humanDuration as kubectl prints ages', async t => {
  const s = 1000, m = 60 * s, h = 60 * m, d = 24 * h
  const cases: [number, string][] = [
    [-1500, '0s'], [-2500, '<invalid>'], [0, '0s'], [119 * s, '119s'], [2 * m, '2m'], [2 * m + 5 * s, '2m5s'],
    [10 * m, '10m'], [179 * m, '179m'], [3 * h, '3h'], [3 * h + 7 * m, '3h7m'], [8 * h, '8h'], [47 * h, '47h'],
    [2 * d, '2d'], [2 * d + 5 * h, '2d5h'], [8 * d, '8d'], [729 * d, '729d'], [730 * d, '2y'], [731 * d, '2y1d'], [8 * 365 * d, '8y'],
  ]
  for (const [ms, want] of cases) t.equal(humanDuration(ms), want, `${ms} ms`)
})

t.test('Table rows: cells by column type, row objects, headers', async t => {
  const columns: PrinterColumn[] = [
    { name: 'State', type: 'string', jsonPath: '.status.state' },
    { name: 'Peers', type: 'integer', jsonPath: '.status.activePeers' },
    { name: 'Spec', type: 'string', jsonPath: '.spec.x' },
    { name: 'Flag', type: 'boolean', jsonPath: '.spec.flag' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    { name: 'Reason', type: 'string', jsonPath: '.status.reason', priority: 1, description: 'why' },
  ]
  const now = Date.parse('2026-01-01T00:10:00Z')
  const obj = { metadata: { name: 'tgw', namespace: 'default', creationTimestamp: '2026-01-01T00:00:00Z', labels: { a: 'b' } }, spec: { x: { y: 1 }, flag: true }, status: { state: 'available', activePeers: 4 } }
  const table = toTable([obj], columns, { version: 'v1' }, { now, resourceVersion: '7' }) as { kind: string; apiVersion: string; metadata: unknown; columnDefinitions: { name: string; priority: number; description: string; format: string }[]; rows: { cells: unknown[]; object: { kind: string; metadata: unknown } }[] }
  t.equal(table.kind, 'Table')
  t.equal(table.apiVersion, 'meta.k8s.io/v1')
  t.same(table.metadata, { resourceVersion: '7' })
  t.same(table.columnDefinitions.map(c => c.name), ['Name', 'State', 'Peers', 'Spec', 'Flag', 'Age', 'Reason'])
  t.equal(table.columnDefinitions[0]!.format, 'name')
  t.equal(table.columnDefinitions[6]!.priority, 1)
  t.equal(table.columnDefinitions[6]!.description, 'why')
  t.equal(table.columnDefinitions[1]!.description, 'Custom resource definition column (in JSONPath format): .status.state')
  t.same(table.rows[0]!.cells, ['tgw', 'available', 4, '{"y":1}', true, '10m', null])
  t.same(table.rows[0]!.object, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata })
  const whole = toTable([obj], columns, { version: 'v1beta1' }, { include: 'Object', withHeaders: false }) as { apiVersion: string; columnDefinitions?: unknown; rows: { object: unknown }[] }
  t.equal(whole.apiVersion, 'meta.k8s.io/v1beta1')
  t.equal(whole.columnDefinitions, undefined, 'no headers after the first watch event')
  t.same(whole.rows[0]!.object, obj)
  const none = toTable([obj], DEFAULT_CRD_COLUMNS, { version: 'v1' }, { include: 'None', now }) as { rows: Record<string, unknown>[] }
  t.notOk('object' in none.rows[0]!)
  t.same(none.rows[0]!.cells, ['tgw', '10m'])
  const generic = toTable([obj], undefined, { version: 'v1' }) as { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] }
  t.same(generic.columnDefinitions.map(c => c.name), ['Name', 'Created At'])
  t.same(generic.rows[0]!.cells, ['tgw', '2026-01-01T00:00:00Z'])
})

t.test('OpenAPI v2 document in protobuf: the fields kubectl reads, in gnostic\'s numbering', async t => {
  const empty = openApiV2('v1.30.0', [])
  const info = Buffer.concat([Buffer.from([0x0a, 10]), Buffer.from('Kubernetes'), Buffer.from([0x12, 7]), Buffer.from('v1.30.0')])
  // swagger = 1, info = 2 { title = 1, version = 2 }, paths = 8 {}, definitions = 9 {}
  t.same([...empty.protobuf], [...Buffer.concat([Buffer.from([0x0a, 3]), Buffer.from('2.0'), Buffer.from([0x12, info.length]), info, Buffer.from([0x42, 0, 0x4a, 0])])])
  t.same(empty.json, { swagger: '2.0', info: { title: 'Kubernetes', version: 'v1.30.0' }, paths: {}, definitions: {} })

  const schema = {
    type: 'object', required: ['spec'],
    properties: {
      spec: { type: 'object', description: 'd', properties: { n: { type: 'integer', minimum: 1, 'x-kubernetes-validations': [{ rule: 'self > 0' }] }, l: { type: 'array', items: { type: 'string', pattern: '^a' } } } },
      free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { a: { type: 'string' } } },
      m: { type: 'object', additionalProperties: { type: 'string' } },
    },
  }
  const doc = openApiV2('v1', [{ group: 'gsi.gsi-router.io', version: 'v1alpha1', kind: 'TransitGateway', schema }])
  const def = (doc.json.definitions as Record<string, Record<string, unknown>>)['io.gsi-router.gsi.v1alpha1.TransitGateway']
  t.ok(def, 'named by the reversed group, as kube-apiserver names it')
  t.same(def!['x-kubernetes-group-version-kind'], [{ group: 'gsi.gsi-router.io', kind: 'TransitGateway', version: 'v1alpha1' }])
  t.same((def!.properties as Record<string, unknown>).free, { type: 'object' }, 'preserve-unknown-fields: a free-form object')
  t.same((def!.properties as Record<string, { properties: Record<string, unknown> }>).spec!.properties.n, { type: 'integer', minimum: 1 }, 'CEL rules are not published')
  const bytes = doc.protobuf.toString('latin1')
  for (const text of ['io.gsi-router.gsi.v1alpha1.TransitGateway', 'x-kubernetes-group-version-kind', '- group: "gsi.gsi-router.io"\n  kind: "TransitGateway"\n  version: "v1alpha1"\n', '^a']) {
    t.ok(bytes.includes(text), `protobuf carries ${JSON.stringify(text)}`)
  }
  // Schema.minimum = 9 is a double (wire type 1): tag 0x49, then 1.0 little-endian.
  t.ok(doc.protobuf.includes(Buffer.from([0x49, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f])), 'minimum as a double')
})
