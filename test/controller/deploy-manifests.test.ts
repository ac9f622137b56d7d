/**
 * Every manifest under deploy/ parsed with `yaml` and checked against small hand-written JSON schemas
 * of the Kubernetes kinds we ship (the fields we use, with their real types and required fields), plus
 * the properties the design asks for: 3 controller replicas with leader election, the DaemonSet on
 * host network, privileged (its sysctl writes need a writable /proc/sys), running gsi-routerd with its
 * node name, probes and metrics ports, the API socket directory on the host, the IRSA annotation, the
 * IAM policy listing exactly the EC2 actions of controller/aws/ec2.ts, kustomization completeness
 * (the DaemonSet held out of it until the daemon lands), and
 * the CRDs themselves: structural schemas, status subresource, printer columns, CEL rules the
 * emulator implements, and the specs AWS would reject being rejected by the schemas.
 */
import t from 'tap'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { parse, parseAllDocuments } from 'yaml'
import { connectedPeersToInput, type KubeBaseConfig } from '../../src/config/kube.js'
import { resolveConfig } from '../../src/config/load.js'
import { Ajv } from 'ajv'
import { CrdSchema, makeAjv } from '../../controller/emulator/kube/schema.js'
import { EC2_ACTIONS } from '../../controller/aws/ec2.js'

const DEPLOY = join(import.meta.dirname, '..', '..', 'deploy')
type Doc = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string> }; spec?: Record<string, unknown> }

function files(dir: string): string[] {
  return readdirSync(dir).flatMap(f => statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)])
}
// gsi-routerd's own config file is not a Kubernetes manifest: checked by gsi-routerd's loader
// (test/config/check-config.test.ts), not here.
const DAEMON_CONFIGS = new Set(['examples/gsi-routerd.yaml'])
const yamlFiles = files(DEPLOY).filter(f => /\.ya?ml$/.test(f) && !DAEMON_CONFIGS.has(relative(DEPLOY, f)))
const docs: { file: string; doc: Doc }[] = []
for (const f of yamlFiles) {
  for (const d of parseAllDocuments(readFileSync(f, 'utf8'))) {
    if (d.errors.length) throw new Error(`${f}: ${d.errors[0]!.message}`)
    const doc = d.toJS() as Doc | null
    if (doc) docs.push({ file: relative(DEPLOY, f), doc })
  }
}
const byKind = (kind: string): Doc[] => docs.filter(d => d.doc.kind === kind).map(d => d.doc)

// ---------------------------------------------------------------- small schemas of the kinds we use
const str = { type: 'string', minLength: 1 }
const labels = { type: 'object', additionalProperties: { type: 'string' } }
const meta = (namespaced: boolean): object => ({
  type: 'object', required: namespaced ? ['name', 'namespace'] : ['name'],
  properties: { name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', maxLength: 253 }, namespace: str, labels, annotations: labels },
  additionalProperties: false,
})
const probe = { type: 'object', required: ['httpGet'], properties: { httpGet: { type: 'object', required: ['path', 'port'], properties: { path: str, port: { type: ['string', 'integer'] } } }, initialDelaySeconds: { type: 'integer' }, periodSeconds: { type: 'integer' }, failureThreshold: { type: 'integer' } }, additionalProperties: false }
const envVar = { type: 'object', required: ['name'], properties: { name: str, value: { type: 'string' }, valueFrom: { type: 'object', properties: { fieldRef: { type: 'object', required: ['fieldPath'], properties: { fieldPath: str } } }, additionalProperties: false } }, additionalProperties: false }
const container = {
  type: 'object', required: ['name', 'image'], additionalProperties: false,
  properties: {
    name: str, image: str, imagePullPolicy: { enum: ['Always', 'IfNotPresent', 'Never'] },
    command: { type: 'array', items: { type: 'string' } }, args: { type: 'array', items: { type: 'string' } },
    env: { type: 'array', items: envVar },
    ports: { type: 'array', items: { type: 'object', required: ['containerPort'], properties: { name: { type: 'string', maxLength: 15 }, containerPort: { type: 'integer', minimum: 1, maximum: 65535 }, hostPort: { type: 'integer' }, protocol: { enum: ['TCP', 'UDP', 'SCTP'] } }, additionalProperties: false } },
    livenessProbe: probe, readinessProbe: probe,
    resources: { type: 'object', properties: { requests: labels, limits: labels }, additionalProperties: false },
    securityContext: { type: 'object', additionalProperties: false, properties: { runAsUser: { type: 'integer' }, runAsNonRoot: { type: 'boolean' }, allowPrivilegeEscalation: { type: 'boolean' }, readOnlyRootFilesystem: { type: 'boolean' }, privileged: { type: 'boolean' }, capabilities: { type: 'object', properties: { add: { type: 'array', items: { type: 'string' } }, drop: { type: 'array', items: { type: 'string' } } }, additionalProperties: false } } },
    volumeMounts: { type: 'array', items: { type: 'object', required: ['name', 'mountPath'], properties: { name: str, mountPath: str, readOnly: { type: 'boolean' } }, additionalProperties: false } },
  },
}
const podTemplate = {
  type: 'object', required: ['metadata', 'spec'],
  properties: {
    metadata: { type: 'object', required: ['labels'], properties: { labels, annotations: labels }, additionalProperties: false },
    spec: {
      type: 'object', required: ['containers'], additionalProperties: false,
      properties: {
        serviceAccountName: str, hostNetwork: { type: 'boolean' }, dnsPolicy: { enum: ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'] },
        priorityClassName: str, nodeSelector: labels, terminationGracePeriodSeconds: { type: 'integer' },
        securityContext: { type: 'object' }, topologySpreadConstraints: { type: 'array' },
        tolerations: { type: 'array', items: { type: 'object', properties: { key: str, operator: { enum: ['Exists', 'Equal'] }, effect: { enum: ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] }, value: { type: 'string' } }, additionalProperties: false } },
        containers: { type: 'array', minItems: 1, items: container },
        volumes: { type: 'array', items: { type: 'object', required: ['name'] } },
      },
    },
  },
}
const selector = { type: 'object', required: ['matchLabels'], properties: { matchLabels: labels } }
const rule = { type: 'object', required: ['apiGroups', 'resources', 'verbs'], additionalProperties: false, properties: { apiGroups: { type: 'array', items: { type: 'string' } }, resources: { type: 'array', minItems: 1, items: str }, verbs: { type: 'array', minItems: 1, items: { enum: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'] } }, resourceNames: { type: 'array', items: str } } }
const roleRef = { type: 'object', required: ['apiGroup', 'kind', 'name'], properties: { apiGroup: { const: 'rbac.authorization.k8s.io' }, kind: { enum: ['Role', 'ClusterRole'] }, name: str }, additionalProperties: false }
const subjects = { type: 'array', minItems: 1, items: { type: 'object', required: ['kind', 'name'], properties: { kind: { enum: ['ServiceAccount', 'User', 'Group'] }, name: str, namespace: str } } }
const obj = (apiVersion: string, kind: string, namespaced: boolean, rest: Record<string, unknown> = {}, required: string[] = []): object => ({
  type: 'object', required: ['apiVersion', 'kind', 'metadata', ...required],
  properties: { apiVersion: { const: apiVersion }, kind: { const: kind }, metadata: meta(namespaced), ...rest },
  additionalProperties: false,
})
// One alerting or recording rule as the Prometheus Operator's CRD takes it (promtool checks the PromQL:
// test/monitoring/alerts.test.ts).
const promRule = {
  type: 'object', required: ['expr'], additionalProperties: false,
  oneOf: [{ required: ['alert'] }, { required: ['record'] }],
  properties: { alert: str, record: str, expr: str, for: { type: 'string', pattern: '^([0-9]+[smhd])+$' }, labels, annotations: labels },
}
const SCHEMAS: Record<string, object> = {
  Namespace: obj('v1', 'Namespace', false),
  ServiceAccount: obj('v1', 'ServiceAccount', true, { automountServiceAccountToken: { type: 'boolean' } }),
  ClusterRole: obj('rbac.authorization.k8s.io/v1', 'ClusterRole', false, { rules: { type: 'array', items: rule } }, ['rules']),
  Role: obj('rbac.authorization.k8s.io/v1', 'Role', true, { rules: { type: 'array', items: rule } }, ['rules']),
  ClusterRoleBinding: obj('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', false, { roleRef, subjects }, ['roleRef', 'subjects']),
  RoleBinding: obj('rbac.authorization.k8s.io/v1', 'RoleBinding', true, { roleRef, subjects }, ['roleRef', 'subjects']),
  Deployment: obj('apps/v1', 'Deployment', true, { spec: { type: 'object', required: ['selector', 'template'], additionalProperties: false, properties: { replicas: { type: 'integer', minimum: 0 }, revisionHistoryLimit: { type: 'integer' }, strategy: { type: 'object' }, selector, template: podTemplate } } }, ['spec']),
  DaemonSet: obj('apps/v1', 'DaemonSet', true, { spec: { type: 'object', required: ['selector', 'template'], additionalProperties: false, properties: { updateStrategy: { type: 'object' }, selector, template: podTemplate } } }, ['spec']),
  ConfigMap: obj('v1', 'ConfigMap', true, { data: { type: 'object', additionalProperties: { type: 'string' } } }),
  Service: obj('v1', 'Service', true, { spec: { type: 'object', required: ['ports'], additionalProperties: false, properties: { clusterIP: { type: 'string' }, selector: labels, ports: { type: 'array', minItems: 1, items: { type: 'object', required: ['port'], properties: { name: str, port: { type: 'integer' }, targetPort: { type: ['string', 'integer'] }, protocol: { enum: ['TCP', 'UDP', 'SCTP'] } }, additionalProperties: false } } } } }, ['spec']),
  ServiceMonitor: obj('monitoring.coreos.com/v1', 'ServiceMonitor', true, { spec: { type: 'object', required: ['selector', 'endpoints'], additionalProperties: false, properties: { selector, namespaceSelector: { type: 'object', properties: { matchNames: { type: 'array', items: str } } }, endpoints: { type: 'array', minItems: 1, items: { type: 'object', required: ['port'], properties: { port: str, path: str, interval: { type: 'string', pattern: '^[0-9]+[smh]$' }, scrapeTimeout: { type: 'string', pattern: '^[0-9]+[smh]$' } }, additionalProperties: false } } } } }, ['spec']),
  PrometheusRule: obj('monitoring.coreos.com/v1', 'PrometheusRule', true, { spec: { type: 'object', required: ['groups'], additionalProperties: false, properties: { groups: { type: 'array', minItems: 1, items: { type: 'object', required: ['name', 'rules'], additionalProperties: false, properties: { name: str, interval: { type: 'string', pattern: '^[0-9]+[smh]$' }, rules: { type: 'array', minItems: 1, items: promRule } } } } } } }, ['spec']),
  CustomResourceDefinition: obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', false, { spec: { type: 'object', required: ['group', 'names', 'scope', 'versions'], properties: { group: str, scope: { enum: ['Namespaced', 'Cluster'] }, names: { type: 'object', required: ['kind', 'plural'] }, versions: { type: 'array', minItems: 1, items: { type: 'object', required: ['name', 'served', 'storage', 'schema'] } } } } }, ['spec']),
  Kustomization: { type: 'object', required: ['apiVersion', 'kind', 'resources'], properties: { apiVersion: { const: 'kustomize.config.k8s.io/v1beta1' }, kind: { const: 'Kustomization' }, resources: { type: 'array', items: str } }, additionalProperties: false },
}

const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true })
const crdSchemas = new Map<string, CrdSchema>()
const kubeAjv = makeAjv()
for (const crd of byKind('CustomResourceDefinition')) {
  const spec = crd.spec as { group: string; names: { kind: string }; versions: { name: string; schema: { openAPIV3Schema: Record<string, unknown> } }[] }
  for (const v of spec.versions) crdSchemas.set(`${spec.group}/${v.name}/${spec.names.kind}`, new CrdSchema(v.schema.openAPIV3Schema, kubeAjv))
}

t.test('every manifest matches the schema of its kind', async t => {
  t.ok(docs.length >= 15, `${docs.length} documents in ${yamlFiles.length} files`)
  for (const { file, doc } of docs) {
    const crd = crdSchemas.get(`${doc.apiVersion}/${doc.kind}`)
    if (crd) {
      const copy = structuredClone(doc)
      t.same(crd.check(copy), [], `${file}: ${doc.kind}/${doc.metadata.name} valid against its CRD`)
      continue
    }
    const schema = SCHEMAS[doc.kind]
    if (!schema) { t.fail(`${file}: no schema for kind ${doc.kind}`); continue }
    const ok = ajv.validate(schema, doc)
    t.ok(ok, `${file}: ${doc.kind}/${doc.metadata?.name ?? ''} ${ok ? 'valid' : ajv.errorsText(ajv.errors)}`)
  }
})

t.test('the schemas catch mistakes', async t => {
  const d = structuredClone(byKind('Deployment')[0]!) as Doc & { spec: { replicas: unknown } }
  d.spec.replicas = 'three'
  t.notOk(ajv.validate(SCHEMAS.Deployment!, d), 'a string replica count is rejected')
  const r = structuredClone(byKind('ClusterRole')[0]!) as Doc & { rules: { verbs: string[] }[] }
  r.rules[0]!.verbs.push('*')
  t.notOk(ajv.validate(SCHEMAS.ClusterRole!, r), 'a wildcard verb is rejected')
})

t.test('controller Deployment: 3 replicas, leader election, probes, metrics, least privilege', async t => {
  const [d] = byKind('Deployment')
  const spec = d!.spec as { replicas: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: { serviceAccountName: string; containers: { args: string[]; command: string[]; ports: { name: string; containerPort: number }[]; env: { name: string }[]; livenessProbe?: unknown; readinessProbe?: unknown; securityContext: { capabilities: { drop: string[] }; allowPrivilegeEscalation: boolean; readOnlyRootFilesystem: boolean } }[]; securityContext: { runAsNonRoot: boolean } } } }
  t.equal(spec.replicas, 3)
  for (const [k, v] of Object.entries(spec.selector.matchLabels)) t.equal(spec.template.metadata.labels[k], v, 'selector matches the pod labels')
  t.equal(spec.template.spec.serviceAccountName, 'gsi-controller')
  const c = spec.template.spec.containers[0]!
  t.same(c.command, ['node'])
  t.equal(c.args[0], 'dist/src/bin/gsi-controller.js', 'runs the controller entry point')
  const pkg = JSON.parse(readFileSync(join(DEPLOY, '..', 'package.json'), 'utf8')) as { bin: Record<string, string> }
  t.equal(pkg.bin['gsi-controller'], c.args[0], 'same path as package.json bin')
  t.ok(c.args.includes('--lease-name=gsi-controller'), 'leader election Lease named')
  t.ok(c.env.some(e => e.name === 'POD_NAME') && c.env.some(e => e.name === 'POD_NAMESPACE'), 'identity and Lease namespace from the downward API')
  t.ok(c.livenessProbe && c.readinessProbe, 'probes')
  t.equal(c.ports.find(p => p.name === 'metrics')?.containerPort, 9477)
  t.ok(c.args.includes('--metrics-port=9477'), 'metrics port flag matches the container port')
  t.same(c.securityContext.capabilities.drop, ['ALL'])
  t.equal(c.securityContext.allowPrivilegeEscalation, false)
  t.equal(spec.template.spec.securityContext.runAsNonRoot, true)
})

t.test('gsi-routerd DaemonSet: host network, labelled nodes, privileged, node name, probes, metrics, API socket on the host', async t => {
  const [ds] = byKind('DaemonSet')
  type Container = {
    command: string[]; args?: string[]; env: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[]
    ports: { name: string; containerPort: number }[]; livenessProbe?: unknown; readinessProbe?: unknown
    securityContext: { privileged?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: unknown }
    volumeMounts: { name: string; mountPath: string }[]
  }
  const spec = ds!.spec as { template: { spec: { hostNetwork: boolean; nodeSelector: Record<string, string>; serviceAccountName: string; containers: Container[]; volumes: { name: string; hostPath?: { path: string; type?: string } }[] } } }
  const ps = spec.template.spec
  t.equal(ps.hostNetwork, true)
  t.same(Object.keys(ps.nodeSelector), ['core.juniper.net/crpd-node'])
  t.equal(ps.serviceAccountName, 'gsi-routerd')
  const c = ps.containers[0]!
  t.same(c.command, ['gsi-routerd'])
  t.same(c.args, ['--base', '/etc/gsi-router/base.yaml'], 'Kubernetes mode over the base ConfigMap')
  const base = byKind('ConfigMap').find(m => m.metadata.name === 'gsi-routerd-base') as unknown as { data: Record<string, string> } | undefined
  t.ok(base, 'the base ConfigMap exists')
  // the base over one ConnectedPeer as the controller writes it must make a valid daemon config
  const cp = { apiVersion: 'gsi.gsi-router.io/v1alpha1', kind: 'ConnectedPeer', metadata: { name: 'tgw-node-a', namespace: 'gsi-system', generation: 1 },
    spec: { transitGateway: 'tgw', nodeName: 'node-a', peerAddress: '10.0.1.10', transitGatewayAddress: '10.100.0.1', insideCidrBlocks: ['169.254.6.0/29'],
      localInsideAddresses: ['169.254.6.1'], bgpPeerAddresses: ['169.254.6.2', '169.254.6.3'], peerAsn: 65000, transitGatewayAsn: 64512,
      exposedRouteTargets: ['target:64512:8000001'], exposedCidrs: ['10.244.0.0/16'], mtu: 8476, controlNodes: [{ address: '10.0.2.11', asn: 64512 }] } }
  const { input } = connectedPeersToInput([cp as never], parse(base?.data['base.yaml'] ?? '') as KubeBaseConfig, 'node-a')
  t.doesNotThrow(() => resolveConfig(input, 'base'), 'the base ConfigMap over a ConnectedPeer is a valid configuration')
  t.equal(c.env.find(e => e.name === 'NODE_NAME')?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName', 'NODE_NAME from the downward API')
  // /proc/sys is read-only in unprivileged containers whatever their capabilities (src/netlink/sysctl.ts).
  t.equal(c.securityContext.privileged, true, 'privileged: the sysctl writes need a writable /proc/sys')
  t.not(c.securityContext.allowPrivilegeEscalation, false, 'the API server rejects privileged with allowPrivilegeEscalation false')
  t.equal(c.securityContext.capabilities, undefined, 'no capability list that privileged would make meaningless')
  t.ok(c.livenessProbe && c.readinessProbe, 'probes')
  t.equal(c.ports.find(p => p.name === 'metrics')?.containerPort, 9478)
  const mount = c.volumeMounts.find(m => m.mountPath === '/run/gsi-router')
  t.ok(mount, 'the API socket directory is mounted')
  t.same(ps.volumes.find(v => v.name === mount?.name)?.hostPath, { path: '/run/gsi-router', type: 'DirectoryOrCreate' }, 'from the host, for gsictl on the node')
})

t.test('ServiceAccount with IRSA, ServiceMonitor selecting the metrics Services', async t => {
  const sa = byKind('ServiceAccount').find(s => s.metadata.name === 'gsi-controller')!
  t.match(sa.metadata.annotations?.['eks.amazonaws.com/role-arn'], /^arn:aws:iam::\d{12}:role\/.+$/)
  const sm = byKind('ServiceMonitor')[0]!
  const sel = (sm.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels
  const services = byKind('Service').filter(s => Object.entries(sel).every(([k, v]) => s.metadata.labels?.[k] === v))
  t.same(services.map(s => s.metadata.name).sort(), ['gsi-controller-metrics', 'gsi-routerd-metrics'])
  for (const b of [...byKind('ClusterRoleBinding'), ...byKind('RoleBinding')]) {
    const ref = (b as unknown as { roleRef: { kind: string; name: string } }).roleRef
    t.ok(docs.some(d => d.doc.kind === ref.kind && d.doc.metadata.name === ref.name), `${b.metadata.name} refers to an existing ${ref.kind}`)
  }
})

t.test('IAM policy lists exactly the EC2 actions the AWS side calls', async t => {
  const p = JSON.parse(readFileSync(join(DEPLOY, 'iam-policy.json'), 'utf8')) as { Version: string; Statement: { Effect: string; Action: string[]; Resource: string }[] }
  t.equal(p.Version, '2012-10-17')
  const actions = p.Statement.flatMap(s => { t.equal(s.Effect, 'Allow'); return s.Action })
  t.same([...actions].sort(), EC2_ACTIONS.map(a => `ec2:${a}`).sort())
  t.notOk(actions.some(a => a.includes('*')), 'no wildcard')
})

t.test('kustomization lists every manifest, the gsi-routerd DaemonSet included', async t => {
  const [k] = byKind('Kustomization')
  const listed = new Set((k as unknown as { resources: string[] }).resources)
  t.ok(listed.has('daemonset.yaml'), 'the DaemonSet runs the real daemon, so it is applied by default')
  for (const f of new Set(docs.map(d => d.file))) {
    if (f === 'kustomization.yaml' || f.startsWith('examples/')) continue
    t.ok(listed.has(f), `${f} in kustomization.yaml`)
  }
  for (const f of listed) t.ok(docs.some(d => d.file === f), `${f} exists`)
})

t.test('CRDs: structural, status subresource, printer columns, CEL the emulator implements', async t => {
  const crds = byKind('CustomResourceDefinition')
  t.same(crds.map(c => (c.spec as { names: { kind: string } }).names.kind).sort(), ['ConnectedPeer', 'GatewayServiceInstance', 'Route', 'TransitGateway'])
  const structural = (s: Record<string, unknown>, path: string, out: string[]): void => {
    if (s['x-kubernetes-preserve-unknown-fields'] !== true && s.type === undefined && !s['x-kubernetes-int-or-string']) out.push(path)
    if ('uniqueItems' in s) out.push(`${path}: uniqueItems is not allowed`)
    for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, Record<string, unknown>>)) structural(v, `${path}.${k}`, out)
    if (s.items) structural(s.items as Record<string, unknown>, `${path}[]`, out)
    if (typeof s.additionalProperties === 'object') structural(s.additionalProperties as Record<string, unknown>, `${path}{}`, out)
  }
  for (const c of crds) {
    const spec = c.spec as { group: string; names: { kind: string }; versions: { name: string; subresources?: { status?: unknown }; additionalPrinterColumns?: { name: string; jsonPath: string }[]; schema: { openAPIV3Schema: Record<string, unknown> } }[] }
    t.equal(spec.group, 'gsi.gsi-router.io')
    const v = spec.versions[0]!
    t.equal(v.name, 'v1alpha1')
    t.ok(v.subresources?.status !== undefined, `${spec.names.kind}: status subresource`)
    const bad: string[] = []
    structural(v.schema.openAPIV3Schema, spec.names.kind, bad)
    t.same(bad, [], `${spec.names.kind}: every schema node has a type`)
    t.ok(v.additionalPrinterColumns?.length, `${spec.names.kind}: printer columns`)
  }
  const tgw = crds.find(c => (c.spec as { names: { kind: string } }).names.kind === 'TransitGateway')!
  const cols = (tgw.spec as { versions: { additionalPrinterColumns: { name: string; jsonPath: string }[] }[] }).versions[0]!.additionalPrinterColumns
  t.same(cols.map(c => c.jsonPath).filter(p => ['.status.state', '.status.transitGatewayID', '.status.connectAttachmentID'].includes(p)).length, 3, 'kubectl get transitgateways shows state and ids')
})

t.test('CRD schemas reject what AWS would reject', async t => {
  const tgw = crdSchemas.get('gsi.gsi-router.io/v1alpha1/TransitGateway')!
  const gsi = crdSchemas.get('gsi.gsi-router.io/v1alpha1/GatewayServiceInstance')!
  const peer = crdSchemas.get('gsi.gsi-router.io/v1alpha1/ConnectedPeer')!
  const T = (spec: Record<string, unknown>): Record<string, unknown> => ({ apiVersion: 'gsi.gsi-router.io/v1alpha1', kind: 'TransitGateway', metadata: { name: 'x' }, spec: { gatewayServiceInstance: 'g', transitGatewayCidrBlock: '100.64.0.0/24', ...spec } })
  const fields = (s: CrdSchema, o: Record<string, unknown>): string[] => s.check(o).map(c => c.field)
  t.same(fields(tgw, T({})), [], 'a minimal valid spec passes')
  t.same(fields(tgw, T({ insideCidrBlocks: ['169.254.6.0/29', '169.254.0.8/29', '169.254.255.248/29'] })), [], 'non-reserved /29s pass')
  for (const bad of ['169.254.0.0/29', '169.254.1.0/29', '169.254.2.0/29', '169.254.3.0/29', '169.254.4.0/29', '169.254.5.0/29', '169.254.169.248/29']) {
    t.same(fields(tgw, T({ insideCidrBlocks: [bad] })), ['spec.insideCidrBlocks[0]'], `reserved ${bad}`)
  }
  for (const bad of ['169.254.6.0/28', '169.254.6.4/29', '10.0.0.0/29', '169.254.256.0/29', 'x']) {
    t.same(fields(tgw, T({ insideCidrBlocks: [bad] })), ['spec.insideCidrBlocks[0]'], `not an inside /29: ${bad}`)
  }
  t.ok(fields(tgw, T({ insideCidrBlocks: ['169.254.6.0/29', '169.254.7.0/29', '169.254.8.0/29', '169.254.9.0/29', '169.254.10.0/29'] })).includes('spec.insideCidrBlocks'), 'more than 4 inside CIDRs')
  t.same(fields(tgw, T({ peerAsn: 64512 })), ['spec.peerAsn'], 'peer ASN equal to the default TGW ASN (CEL across fields)')
  t.same(fields(tgw, T({ peerAsn: 4200000000, amazonSideAsn: 4200000000 })), ['spec.peerAsn'], 'peer ASN equal to the TGW ASN')
  t.same(fields(tgw, T({ peerAsn: 65001, amazonSideAsn: 4200000000 })), [], 'different ASNs pass')
  for (const asn of [64511, 65535, 4199999999, 4294967295]) t.ok(fields(tgw, T({ amazonSideAsn: asn })).includes('spec.amazonSideAsn'), `Amazon-side ASN ${asn}`)
  for (const asn of [64512, 65534, 4200000000, 4294967294]) t.same(fields(tgw, T({ amazonSideAsn: asn })), [], `Amazon-side ASN ${asn} passes`)
  t.same(fields(tgw, T({ transitGatewayCidrBlock: '100.64.0.0/25' })), ['spec.transitGatewayCidrBlock'], 'TGW CIDR block smaller than /24')
  const G = (spec: Record<string, unknown>): Record<string, unknown> => ({ apiVersion: 'gsi.gsi-router.io/v1alpha1', kind: 'GatewayServiceInstance', metadata: { name: 'g' }, spec: { awsRegion: 'eu-west-1', vpcID: 'vpc-0123456789abcdef0', asn: 65010, ...spec } })
  t.same(fields(gsi, G({})), [])
  t.same(fields(gsi, G({ maxInstances: 5 })), ['spec.maxInstances'], 'more than 4 instances')
  t.same(fields(gsi, G({ maxInstances: 0 })), ['spec.maxInstances'])
  t.same(fields(gsi, G({ awsRegion: 'Europe' })), ['spec.awsRegion'])
  const P = (spec: Record<string, unknown>): Record<string, unknown> => ({
    apiVersion: 'gsi.gsi-router.io/v1alpha1', kind: 'ConnectedPeer', metadata: { name: 'p' },
    spec: { transitGateway: 't', nodeName: 'n', peerAddress: '10.0.1.1', transitGatewayAddress: '100.64.0.1', insideCidrBlocks: ['169.254.6.0/29'], localInsideAddresses: ['169.254.6.1'], bgpPeerAddresses: ['169.254.6.2', '169.254.6.3'], peerAsn: 65010, transitGatewayAsn: 64512, exposedRouteTargets: [], exposedCidrs: [], mtu: 8476, ...spec },
  })
  t.same(fields(peer, P({})), [])
  t.same(fields(peer, P({ peerAsn: 64512 })), ['spec.peerAsn'], 'ConnectedPeer: equal ASNs')
  t.same(fields(peer, P({ insideCidrBlocks: ['169.254.6.0/29', 'fd00::/125'] })), [], 'IPv4 /29 plus IPv6 /125')
  t.same(fields(peer, P({ insideCidrBlocks: ['fd00::/125'] })), ['spec.insideCidrBlocks'], 'IPv6 alone is refused')
  t.same(fields(peer, P({ insideCidrBlocks: ['169.254.6.0/29', '169.254.7.0/29'] })), ['spec.insideCidrBlocks'], 'two IPv4 /29s refused')
  t.throws(() => new CrdSchema({ type: 'object', 'x-kubernetes-validations': [{ rule: 'self.size() > 1' }] }, makeAjv()), /not implemented by the emulator/, 'an unknown CEL rule is refused, not ignored')
})
