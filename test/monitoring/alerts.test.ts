// The alerts (deploy/monitoring/prometheusrule.yaml) and the Grafana dashboard
// (deploy/monitoring/gsi-router-dashboard.json) against the real programs:
// - gsi-routerd (dataplane none) in a network namespace with its real peers (gobgpd as the CN2 control
//   node, BIRD as the Transit Gateway), and gsi-controller as its own process against the Kubernetes
//   and EC2 emulators, with EC2 faults injected (an authorization error, a parameter error, an
//   "already exists" answer, throttling, a NotFound to a Delete) and Kubernetes status writes refused
//   through a proxy, so the error series exist because the programs wrote them;
// - every metric and label the expressions and panels name must be in those scrapes (counters by their
//   _total samples, histograms by _bucket/_sum/_count: a family name alone is no series);
// - promtool (Debian's prometheus package) checks the rule groups, then unit-tests each alert on
//   series built from the scraped names and label sets, plus the target labels the ServiceMonitor's
//   scrape adds: each alert fires when it should, with the labels it should, and stays quiet otherwise.
import t from 'tap'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { parse, stringify } from 'yaml'
import { Topology } from '../daemon/topology.js'
import { startControlNode, startTgw, waitUntil, type ControlNode, type Tgw } from '../../src/lab/peers.js'
import { RouterDaemon, nodeConfig, ROOT, finishDaemon } from '../daemon/daemons.js'
import { KubeEmulator } from '../../controller/emulator/kube/server.js'
import { startEc2Emulator, type Ec2Emulator } from '../../controller/emulator/ec2/server.js'
import { KubeConnection, makeKubeConfig, ResourceClient, NODES, type KubeObject } from '../../controller/k8s/index.js'
import { TGW_REF, GSI_REF } from '../../controller/controller.js'
import { API_VERSION } from '../../controller/types.js'
import { crdTexts, waitFor } from '../controller/harness.js'
import { dashboardQueries, exprRefs, parseExposition, selectorMetric, type GrafanaDashboard, type GrafanaPanel, type Sample } from './promql.js'

t.setTimeout(300_000)

const MONITORING = join(ROOT, 'deploy', 'monitoring')
const ROUTERD_JOB = 'gsi-routerd-metrics'
const CONTROLLER_JOB = 'gsi-controller-metrics'
/** Labels Prometheus adds to every scraped series of a ServiceMonitor target (not in /metrics). */
const TARGET_LABELS = new Set(['job', 'namespace', 'pod', 'instance', 'service', 'endpoint', 'container'])
/** Series Prometheus writes itself for each target, not the program: `up` (scrape succeeded). */
const PROMETHEUS_SERIES = new Set(['up'])

interface Rule { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
interface RuleGroup { name: string; rules: Rule[] }
const ruleDoc = parse(readFileSync(join(MONITORING, 'prometheusrule.yaml'), 'utf8')) as { spec: { groups: RuleGroup[] } }
const groups = ruleDoc.spec.groups
const rules = groups.flatMap(g => g.rules)
const dashboard = JSON.parse(readFileSync(join(MONITORING, 'gsi-router-dashboard.json'), 'utf8')) as GrafanaDashboard & { panels: GrafanaPanel[] }

const work = mkdtempSync(join(tmpdir(), 'gsi-alerts-'))
let daemonScrape: Sample[] = []
let controllerScrape: Sample[] = []

// ---------------------------------------------------------------- the programs

/** The environment without tap's own (its loaders in NODE_OPTIONS would make each child a tap run). */
function cleanEnv(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!/^(TAP|_TAPJS|NODE_OPTIONS$)/.test(k)) e[k] = v
  return e
}

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>(r => s.listen(0, '127.0.0.1', () => r()))
  const port = (s.address() as AddressInfo).port
  await new Promise(r => s.close(r))
  return port
}

/** A proxy in front of the Kubernetes emulator that refuses the next `failStatusWrites` writes to a
 * status subresource with 500, as an overloaded API server would: the controller's reconcile fails. */
function kubeProxy(target: string): { server: Server; url: Promise<string>; failStatusWrites: number } {
  const up = new URL(target)
  const state = { failStatusWrites: 0 } as { server: Server; url: Promise<string>; failStatusWrites: number }
  state.server = createServer((req, res) => {
    if (req.method !== 'GET' && /\/status(\?|$)/.test(req.url ?? '') && state.failStatusWrites > 0) {
      state.failStatusWrites--
      req.resume()
      res.writeHead(500, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'injected by the test', reason: 'InternalError', code: 500 }))
      return
    }
    const p = request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers }, r => {
      res.writeHead(r.statusCode ?? 502, r.headers)
      r.pipe(res)
    })
    p.on('error', () => { res.destroy() })
    req.pipe(p)
  })
  state.url = new Promise(resolve => state.server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(state.server.address() as AddressInfo).port}`)))
  return state
}

const topo = new Topology(1, 'gsim')
let cn: ControlNode | undefined
let tgw: Tgw | undefined
let daemon: RouterDaemon | undefined
let kube: KubeEmulator | undefined
let ec2: Ec2Emulator | undefined
let proxy: ReturnType<typeof kubeProxy> | undefined
let controller: ChildProcess | undefined
let controllerOut = ''

t.teardown(async () => {
  if (controller && controller.exitCode === null) {
    controller.kill('SIGTERM')
    const timer = setTimeout(() => controller?.kill('SIGKILL'), 5000)
    await once(controller, 'exit')
    clearTimeout(timer)
  }
  proxy?.server.closeAllConnections()
  proxy?.server.close()
  await ec2?.close()
  await kube?.stop()
  await finishDaemon(t, daemon)
  await cn?.stop()
  await tgw?.stop()
  topo.destroy()
  if (t.passing()) rmSync(work, { recursive: true, force: true })
  else t.comment(`promtool files kept in ${work}`)
})

async function scrapeDaemon(): Promise<string> {
  return topo.exec(topo.nodes[0]!.ns, process.execPath, ['-e', 'fetch("http://127.0.0.1:9478/metrics").then(r=>r.text()).then(t=>process.stdout.write(t))'], 30_000)
}

async function startDaemonSide(): Promise<void> {
  cn = await startControlNode(topo)
  tgw = await startTgw(topo, { peerAsn: 65001, vpcCidrs: ['10.0.0.0/16'] })
  const n = topo.nodes[0]!
  daemon = new RouterDaemon(n.ns, {})
  daemon.write(nodeConfig(n, daemon.dir))
  daemon.start()
  await waitUntil('the daemon\'s three sessions Established', 90_000, () => {
    const s = tgw!.sessions()
    return s.get('n1a') === 'Established' && s.get('n1b') === 'Established' && cn!.neighborState(n.address) === 'established'
  })
  cn.addPod({ prefix: '10.244.1.5/32', rd: '64512:1', label: 101, rt: 'target:64512:8000001', vrouter: '198.18.100.1' })
  await waitUntil('the aggregate advertised to the TGW', 30_000, () => tgw!.paths('10.244.0.0/16').length === 2)
  daemonScrape = parseExposition(await scrapeDaemon())
}

async function startControllerSide(): Promise<void> {
  kube = new KubeEmulator({ crds: crdTexts() })
  const kubeUrl = await kube.start()
  proxy = kubeProxy(kubeUrl)
  const proxyUrl = await proxy.url
  ec2 = await startEc2Emulator({ availableDelayMs: 50, deletingDelayMs: 20 })
  // Every kind of answer the AWS alerts tell apart, each once, as EC2 would give them.
  ec2.faults.failOnce.push(
    { action: 'CreateTransitGateway', code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.', status: 403 },
    { action: 'CreateTransitGatewayVpcAttachment', code: 'InvalidParameterValue', message: 'injected by the test', status: 400 },
    { action: 'CreateRoute', code: 'RouteAlreadyExists', message: 'injected by the test', status: 400 },
  )
  ec2.faults.throttleNext = 2
  proxy.failStatusWrites = 2
  const metricsPort = await freePort()
  controller = spawn(process.execPath, ['--import', 'tsx', 'src/bin/gsi-controller.ts', '--server', proxyUrl, '--aws-endpoint', ec2.endpoint,
    '--lease-namespace', 'default', '--identity', 'alerts-1', '--lease-duration', '3', '--renew-deadline', '2', '--retry-period', '0.5',
    '--metrics-port', String(metricsPort), '--metrics-host', '127.0.0.1', '--log-level', 'warn'], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...cleanEnv(), AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true' },
  })
  for (const s of [controller.stdout!, controller.stderr!]) createInterface({ input: s }).on('line', l => { controllerOut += `${l}\n` })

  const conn = new KubeConnection(makeKubeConfig({ server: kubeUrl }))
  await new ResourceClient<KubeObject>(conn, NODES).create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', labels: { 'core.juniper.net/crpd-node': '' } }, status: { addresses: [{ type: 'InternalIP', address: '10.0.1.77' }] } } as KubeObject)
  await new ResourceClient<KubeObject>(conn, GSI_REF).create({ apiVersion: API_VERSION, kind: 'GatewayServiceInstance', metadata: { name: 'gsi', namespace: 'default' }, spec: { awsRegion: 'us-east-1', vpcID: 'vpc-0a1b2c3d4e5f60001', asn: 65010 } } as KubeObject)
  const tgws = new ResourceClient<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(conn, TGW_REF)
  await tgws.create({ apiVersion: API_VERSION, kind: 'TransitGateway', metadata: { name: 'tgw', namespace: 'default' }, spec: { gatewayServiceInstance: 'gsi', transitGatewayCidrBlock: '100.64.0.0/24', exposed: { cidrs: ['10.100.0.0/16'] } } } as KubeObject)
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`
  await waitFor('TransitGateway Ready despite the injected faults', async () => {
    const x = await tgws.get('default', 'tgw')
    return x?.status?.conditions?.find(c => c.type === 'Ready')?.status === 'True'
  }, 150_000).catch((e: unknown) => { t.comment(controllerOut); throw e })
  // Deleting it: a Delete answered NotFound ("already gone") is part of the normal flow.
  ec2.faults.failOnce.push({ action: 'DeleteRoute', code: 'InvalidRoute.NotFound', message: 'injected by the test', status: 400 })
  await tgws.delete('default', 'tgw')
  await waitFor('TransitGateway deleted', async () => (await tgws.get('default', 'tgw')) === undefined, 120_000)
    .catch((e: unknown) => { t.comment(controllerOut); throw e })
  await waitFor('the controller\'s metrics show every injected answer', async () => {
    const text = await (await fetch(metricsUrl)).text()
    return ['UnauthorizedOperation', 'InvalidParameterValue', 'RouteAlreadyExists', 'RequestLimitExceeded', 'InvalidRoute.NotFound', 'result="error"']
      .every(s => text.includes(s)) ? text : undefined
  }, 30_000).then(text => { controllerScrape = parseExposition(text) })
}

t.before(async () => {
  await Promise.all([startDaemonSide(), startControllerSide()])
})

// ---------------------------------------------------------------- names and labels against /metrics

interface Problem { where: string; what: string }

/** What an expression asks of the scrapes that they do not have. */
function missing(where: string, expr: string, extraLabel?: string): Problem[] {
  const out: Problem[] = []
  const refs = exprRefs(expr)
  const seen: Sample[] = []
  for (const s of refs.selectors) {
    const name = selectorMetric(s)
    if (name === undefined) { out.push({ where, what: `a selector without a fixed metric name: ${JSON.stringify(s)}` }); continue }
    if (PROMETHEUS_SERIES.has(name)) continue
    const job = s.matchers.find(m => m.label === 'job' && m.op === '=')?.value
    const scrape = job === ROUTERD_JOB ? daemonScrape : job === CONTROLLER_JOB ? controllerScrape : job === undefined ? [...daemonScrape, ...controllerScrape] : []
    const program = job === ROUTERD_JOB ? 'gsi-routerd' : job === CONTROLLER_JOB ? 'gsi-controller' : `job ${job ?? '(any)'}`
    const series = scrape.filter(x => x.name === name)
    if (series.length === 0) { out.push({ where, what: `${name}: not in ${program}'s /metrics` }); continue }
    seen.push(...series)
    for (const m of s.matchers) {
      if (TARGET_LABELS.has(m.label) || m.label === '__name__') continue
      const values = new Set(series.map(x => x.labels[m.label]).filter(v => v !== undefined))
      if (values.size === 0) out.push({ where, what: `${name}: no label ${m.label}` })
      else if (m.op === '=' && !m.value.includes('$') && !values.has(m.value)) out.push({ where, what: `${name}{${m.label}="${m.value}"}: the program writes ${m.label} = ${[...values].join(', ')}` })
    }
  }
  for (const l of [...refs.groupingLabels, ...(extraLabel !== undefined ? [extraLabel] : [])]) {
    if (TARGET_LABELS.has(l)) continue
    if (!seen.some(x => x.labels[l] !== undefined)) out.push({ where, what: `label ${l} is on none of the expression's series` })
  }
  return out
}

t.test('the scrapes are the programs\' real output', async t => {
  const names = (s: Sample[]): Set<string> => new Set(s.map(x => x.name))
  t.ok(names(daemonScrape).has('bgp_peer_state') && names(controllerScrape).has('gsi_controller_leader'), 'both programs scraped')
  const states = daemonScrape.filter(x => x.name === 'bgp_peer_state')
  t.same(states.map(x => [x.labels.side, x.value]).sort(), [['cn2', 6], ['tgw', 6], ['tgw', 6]], 'three sessions Established, both sides')
  t.ok(controllerScrape.some(x => x.name === 'gsi_controller_leader' && x.value === 1), 'the controller is leader')
})

t.test('every metric and label the alerts use is in the programs\' /metrics', async t => {
  t.ok(rules.length >= 10, `${rules.length} rules`)
  for (const r of rules) {
    const p = missing(`alert ${r.alert ?? r.record ?? ''}`, r.expr)
    t.same(p, [], `${r.alert ?? r.record}: ${p.length === 0 ? 'every series exists' : 'missing series'}`)
  }
})

t.test('every metric and label the dashboard uses is in the programs\' /metrics', async t => {
  const queries = dashboardQueries(dashboard)
  t.ok(queries.length >= 20, `${queries.length} queries`)
  for (const q of queries) t.same(missing(q.where, q.expr, q.label), [], `${q.where}: ${q.expr.slice(0, 80)}`)
  const ids = dashboard.panels.map(p => p.id)
  t.equal(new Set(ids).size, ids.length, 'panel ids unique')
})

t.test('the check fails on a misspelt metric, a histogram family used bare, a wrong label or value', async t => {
  t.match(missing('mutant', 'bgp_peer_status{job="gsi-routerd-metrics"} != 6'), [{ what: /bgp_peer_status: not in gsi-routerd's/ }])
  t.match(missing('mutant', 'rate(gsi_update_processing_seconds{job="gsi-routerd-metrics"}[5m])'), [{ what: /gsi_update_processing_seconds: not in/ }], 'the family name is no series: _bucket/_sum/_count are')
  t.same(missing('ok', 'rate(gsi_update_processing_seconds_count{job="gsi-routerd-metrics"}[5m])'), [], '_count is')
  t.match(missing('mutant', 'gsi_controller_leader{job="gsi-routerd-metrics"}'), [{ what: /not in gsi-routerd's/ }], 'a controller metric under the daemon\'s job')
  t.match(missing('mutant', 'gsi_tunnels{job="gsi-routerd-metrics", state="broken"}'), [{ what: /state="broken"/ }])
  t.match(missing('mutant', 'bgp_peer_state{job="gsi-routerd-metrics", neighbor="x"}'), [{ what: /no label neighbor/ }])
  t.match(missing('mutant', 'sum by (neighbor) (bgp_peer_state{job="gsi-routerd-metrics"})'), [{ what: /label neighbor is on none/ }])
})

// ---------------------------------------------------------------- promtool

function promtool(args: string[]): { code: number; out: string } {
  try {
    return { code: 0, out: execFileSync('promtool', args, { cwd: work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 }) }
  } catch (e) {
    const x = e as { status?: number; stdout?: string; stderr?: string }
    return { code: x.status ?? -1, out: `${x.stdout ?? ''}${x.stderr ?? ''}` }
  }
}

const rulesFile = join(work, 'rules.yml')
writeFileSync(rulesFile, stringify({ groups }))
// promtool's unit tests compare annotations too; the firing tests below are about labels and timing,
// so they run on the rules without annotations, and the annotations' labels are checked on their own.
const labelRulesFile = join(work, 'rules-labels.yml')
writeFileSync(labelRulesFile, stringify({ groups: groups.map(g => ({ ...g, rules: g.rules.map(({ annotations: _, ...r }) => r) })) }))

t.test('promtool check rules: the groups of the PrometheusRule', async t => {
  const r = promtool(['check', 'rules', rulesFile])
  t.equal(r.code, 0, r.out)
  t.match(r.out, new RegExp(`SUCCESS: ${rules.length} rules found`))
  const bad = join(work, 'bad.yml')
  writeFileSync(bad, stringify({ groups: [{ name: 'x', rules: [{ alert: 'X', expr: 'sum by (a (b)' }] }] }))
  t.not(promtool(['check', 'rules', bad]).code, 0, 'and it refuses a broken expression')
})

type Labels = Record<string, string>
interface Input { name: string; labels: Labels; values: string }
interface Case { title: string; alert: string; series: Input[]; expect: { at: string; alerts: Labels[] }[]; also?: { alert: string; at: string; alerts: Labels[] }[] }

const node = (i: number): Labels => ({
  job: ROUTERD_JOB, namespace: 'gsi-system', pod: `gsi-routerd-${['a1b2c', 'd3e4f'][i]!}`, instance: `10.0.${i + 1}.77:9478`,
  service: ROUTERD_JOB, endpoint: 'metrics', container: 'gsi-routerd',
})
const replica = (i: number): Labels => ({
  job: CONTROLLER_JOB, namespace: 'gsi-system', pod: `gsi-controller-7c9d8-${['k2x4p', 'm8q1z', 'r5t7w'][i]!}`, instance: `10.0.9.${i + 10}:9477`,
  service: CONTROLLER_JOB, endpoint: 'metrics', container: 'gsi-controller',
})
/** The label sets the program wrote for `name` (those matching `where`); the test fails if none. */
function scraped(from: Sample[], name: string, where: Labels = {}): Labels[] {
  const found = from.filter(x => x.name === name && Object.entries(where).every(([k, v]) => x.labels[k] === v)).map(x => ({ ...x.labels }))
  if (found.length === 0) throw new Error(`${name}${JSON.stringify(where)}: not in the scrape`)
  return found
}
const one = (from: Sample[], name: string, where: Labels = {}): Labels => scraped(from, name, where)[0]!
const ser = (name: string, labels: Labels, target: Labels, values: string): Input => ({ name, labels: { ...labels, ...target }, values })
const pick = (l: Labels, keys: string[]): Labels => Object.fromEntries(keys.map(k => [k, l[k]!]))

function cases(): Case[] {
  const D = daemonScrape
  const C = controllerScrape
  const [a, b] = [node(0), node(1)]
  const [c1, c2, c3] = [replica(0), replica(1), replica(2)]
  const peers = scraped(D, 'bgp_peer_state')
  const tgw0 = peers.filter(p => p.side === 'tgw')[0]!
  const tgw1 = peers.filter(p => p.side === 'tgw')[1]!
  const cn2 = peers.find(p => p.side === 'cn2')!
  const admin = (p: Labels): Labels => one(D, 'bgp_peer_admin_enabled', { peer: p.peer! })
  const flaps = (p: Labels): Labels => one(D, 'bgp_peer_flaps_total', { peer: p.peer! })
  const tunnel = (kind: string, state: string): Labels => one(D, 'gsi_tunnels', { kind, state })
  const calls = (action: string, outcome: string): Labels => one(C, 'gsi_controller_aws_calls_total', { action, outcome })
  const throttled = one(C, 'gsi_controller_aws_calls_total', { outcome: 'RequestLimitExceeded' })
  const reconcileError = one(C, 'gsi_controller_reconciles_total', { result: 'error' })
  const ns = { namespace: 'gsi-system' }
  return [
    {
      title: 'a daemon that stops answering', alert: 'GsiRouterdDown',
      series: [ser('up', {}, a, '1 1 0x10'), ser('up', {}, b, '1x12')],
      expect: [{ at: '6m', alerts: [] }, { at: '8m', alerts: [{ ...a, severity: 'critical' }] }],
    },
    {
      title: 'a TGW session down; a peer shut down on purpose stays quiet', alert: 'GsiBgpSessionDown',
      series: [
        ser('bgp_peer_state', tgw0, a, '6 6 1x10'), ser('bgp_peer_admin_enabled', admin(tgw0), a, '1x12'),
        ser('bgp_peer_state', tgw1, a, '1x12'), ser('bgp_peer_admin_enabled', admin(tgw1), a, '0x12'),
        ser('bgp_peer_state', cn2, a, '6x12'), ser('bgp_peer_admin_enabled', admin(cn2), a, '1x12'),
      ],
      expect: [{ at: '4m', alerts: [] }, { at: '6m', alerts: [{ ...tgw0, ...a, severity: 'warning' }] }],
    },
    {
      title: 'every TGW session of a node down', alert: 'GsiBgpSideIsolated',
      series: [
        ser('bgp_peer_state', tgw0, a, '6 6 1x10'), ser('bgp_peer_state', tgw1, a, '6 6 3x10'), ser('bgp_peer_state', cn2, a, '6x12'),
        ser('bgp_peer_state', tgw0, b, '6 6 1x10'), ser('bgp_peer_state', tgw1, b, '6x12'), ser('bgp_peer_state', cn2, b, '6x12'),
      ],
      expect: [{ at: '4m', alerts: [] }, { at: '6m', alerts: [{ ...pick(a, ['job', 'namespace', 'pod', 'instance']), side: 'tgw', severity: 'critical' }] }],
    },
    {
      title: 'three flaps in a few minutes, not one; quiet once they are 30 minutes old', alert: 'GsiBgpSessionFlapping',
      series: [ser('bgp_peer_flaps_total', flaps(tgw0), a, '0 1 2 3 3x40'), ser('bgp_peer_flaps_total', flaps(cn2), a, '0 0 0 0 0 1 1x38')],
      expect: [{ at: '10m', alerts: [{ ...flaps(tgw0), ...a, severity: 'warning' }] }, { at: '50m', alerts: [] }],
    },
    {
      title: '900 of 1,000 advertised, not 500', alert: 'GsiTgwPrefixQuotaHigh',
      series: [
        ser('gsi_tgw_prefixes_advertised', one(D, 'gsi_tgw_prefixes_advertised'), a, '900x20'), ser('gsi_tgw_prefix_quota', one(D, 'gsi_tgw_prefix_quota'), a, '1000x20'),
        ser('gsi_tgw_prefixes_advertised', one(D, 'gsi_tgw_prefixes_advertised'), b, '500x20'), ser('gsi_tgw_prefix_quota', one(D, 'gsi_tgw_prefix_quota'), b, '1000x20'),
      ],
      expect: [{ at: '8m', alerts: [] }, { at: '12m', alerts: [{ ...a, severity: 'warning' }] }],
    },
    {
      title: 'prefixes refused by the quota guard', alert: 'GsiTgwPrefixesRefused',
      series: [ser('gsi_tgw_prefixes_refused', one(D, 'gsi_tgw_prefixes_refused'), a, '0 0 3x10'), ser('gsi_tgw_prefixes_refused', one(D, 'gsi_tgw_prefixes_refused'), b, '0x12')],
      expect: [{ at: '5m', alerts: [] }, { at: '8m', alerts: [{ ...a, severity: 'critical' }] }],
    },
    {
      title: 'netlink refusals; quiet 10 minutes later', alert: 'GsiFibErrors',
      series: [ser('gsi_fib_errors_total', one(D, 'gsi_fib_errors_total'), a, '0 0 0 2 2x30'), ser('gsi_fib_errors_total', one(D, 'gsi_fib_errors_total'), b, '0x34')],
      expect: [{ at: '5m', alerts: [{ ...a, severity: 'warning' }] }, { at: '25m', alerts: [] }],
    },
    {
      title: 'a GRE link down', alert: 'GsiTunnelDown',
      series: [
        ser('gsi_tunnels', tunnel('gre', 'up'), a, '2 2 1x8'), ser('gsi_tunnels', tunnel('gre', 'down'), a, '0 0 1x8'), ser('gsi_tunnels', tunnel('gre', 'missing'), a, '0x10'),
        ser('gsi_tunnels', tunnel('mplsoudp', 'up'), a, '3x10'), ser('gsi_tunnels', tunnel('mplsoudp', 'down'), a, '0x10'), ser('gsi_tunnels', tunnel('mplsoudp', 'missing'), a, '0x10'),
      ],
      expect: [{ at: '6m', alerts: [] }, { at: '8m', alerts: [{ ...tunnel('gre', 'down'), ...a, severity: 'warning' }] }],
    },
    {
      title: 'BGP up, the Connect peer\'s probes dead for 2 minutes; not a short blip', alert: 'GsiDataplaneDead',
      series: [
        ser('gsi_dataplane_dead', one(D, 'gsi_dataplane_dead'), a, '0 1x6'),
        ser('gsi_dataplane_dead', one(D, 'gsi_dataplane_dead'), b, '0 1 0x5'),
      ],
      expect: [{ at: '1m', alerts: [] }, { at: '4m', alerts: [{ ...one(D, 'gsi_dataplane_dead'), ...a, severity: 'critical' }] }],
    },
    {
      title: 'half the probes to a TGW address lost, not 10 %', alert: 'GsiProbeLoss',
      series: [
        ser('gsi_probe_loss_ratio', one(D, 'gsi_probe_loss_ratio', { kind: 'tgw' }), a, '0 0.5x10'),
        ser('gsi_probe_loss_ratio', one(D, 'gsi_probe_loss_ratio', { kind: 'tgw' }), b, '0 0.1x10'),
      ],
      expect: [{ at: '3m', alerts: [] }, { at: '8m', alerts: [{ ...one(D, 'gsi_probe_loss_ratio', { kind: 'tgw' }), ...a, severity: 'warning' }] }],
    },
    {
      title: 'not ready for 15 minutes', alert: 'GsiRouterdNotReady',
      series: [ser('gsi_ready', one(D, 'gsi_ready'), a, '1 0x20'), ser('gsi_ready', one(D, 'gsi_ready'), b, '1x21')],
      expect: [{ at: '10m', alerts: [] }, { at: '17m', alerts: [{ ...a, severity: 'warning' }] }],
    },
    {
      title: 'a refused reload, not the good ones', alert: 'GsiConfigReloadRejected',
      series: [
        ser('gsi_config_reloads_total', one(D, 'gsi_config_reloads_total', { result: 'rejected' }), a, '0 0 1 1x20'),
        ser('gsi_config_reloads_total', one(D, 'gsi_config_reloads_total', { result: 'ok' }), a, '0 1 2 3x20'),
      ],
      expect: [{ at: '5m', alerts: [{ ...one(D, 'gsi_config_reloads_total', { result: 'rejected' }), ...a, severity: 'warning' }] }, { at: '20m', alerts: [] }],
    },
    {
      title: 'the leader steps down and nobody takes over', alert: 'GsiControllerNoLeader',
      series: [1, 2, 3].map((_, i) => ser('gsi_controller_leader', one(C, 'gsi_controller_leader'), [c1, c2, c3][i]!, i === 0 ? '1x5 0x15' : '0x20')),
      expect: [{ at: '4m', alerts: [] }, { at: '8m', alerts: [] }, { at: '12m', alerts: [{ severity: 'critical' }] }],
      also: [{ alert: 'GsiControllerSeveralLeaders', at: '4m', alerts: [] }],
    },
    {
      title: 'every replica gone: no series at all', alert: 'GsiControllerNoLeader',
      series: [ser('gsi_controller_leader', one(C, 'gsi_controller_leader'), c1, '1x3 _x20')],
      expect: [{ at: '5m', alerts: [] }, { at: '20m', alerts: [{ severity: 'critical' }] }],
    },
    {
      title: 'two replicas claim the Lease', alert: 'GsiControllerSeveralLeaders',
      series: [ser('gsi_controller_leader', one(C, 'gsi_controller_leader'), c1, '1x10'), ser('gsi_controller_leader', one(C, 'gsi_controller_leader'), c2, '0 0 1x8')],
      expect: [{ at: '5m', alerts: [] }, { at: '8m', alerts: [{ severity: 'critical' }] }],
    },
    {
      title: 'EC2 refuses a call for lack of permission', alert: 'GsiControllerAwsAuthErrors',
      series: [
        ser('gsi_controller_aws_calls_total', calls('CreateTransitGateway', 'UnauthorizedOperation'), c1, '0 0 1 1x20'),
        ser('gsi_controller_aws_calls_total', calls('CreateTransitGateway', 'ok'), c1, '0 1 2 3 4x20'),
      ],
      expect: [{ at: '5m', alerts: [{ ...ns, action: 'CreateTransitGateway', outcome: 'UnauthorizedOperation', severity: 'critical' }] }, { at: '20m', alerts: [] }],
    },
    {
      title: 'a parameter error every minute, not "already there", "already gone" or throttling', alert: 'GsiControllerAwsErrors',
      series: [
        ser('gsi_controller_aws_calls_total', calls('CreateTransitGatewayVpcAttachment', 'InvalidParameterValue'), c1, '0+1x30'),
        ser('gsi_controller_aws_calls_total', calls('CreateRoute', 'RouteAlreadyExists'), c1, '0+1x30'),
        ser('gsi_controller_aws_calls_total', calls('DeleteRoute', 'InvalidRoute.NotFound'), c1, '0+1x30'),
        ser('gsi_controller_aws_calls_total', throttled, c1, '0+1x30'),
        ser('gsi_controller_aws_calls_total', calls('CreateTransitGateway', 'UnauthorizedOperation'), c1, '0+1x30'),
        ser('gsi_controller_aws_calls_total', calls('CreateTransitGatewayVpcAttachment', 'ok'), c1, '0+1x30'),
      ],
      expect: [{ at: '5m', alerts: [] }, { at: '15m', alerts: [{ ...ns, action: 'CreateTransitGatewayVpcAttachment', outcome: 'InvalidParameterValue', severity: 'warning' }] }],
    },
    {
      title: 'three of four calls throttled for 15 minutes', alert: 'GsiControllerAwsThrottled',
      series: [ser('gsi_controller_aws_calls_total', throttled, c1, '0+3x40'), ser('gsi_controller_aws_calls_total', { ...throttled, outcome: 'ok' }, c1, '0+1x40')],
      expect: [{ at: '10m', alerts: [] }, { at: '20m', alerts: [{ ...ns, severity: 'warning' }] }],
    },
    {
      title: 'one call in ten throttled is no alert', alert: 'GsiControllerAwsThrottled',
      series: [ser('gsi_controller_aws_calls_total', throttled, c1, '0+1x40'), ser('gsi_controller_aws_calls_total', { ...throttled, outcome: 'ok' }, c1, '0+9x40')],
      expect: [{ at: '20m', alerts: [] }, { at: '35m', alerts: [] }],
    },
    {
      title: 'reconciles failing for 15 minutes', alert: 'GsiControllerReconcileErrors',
      series: [ser('gsi_controller_reconciles_total', reconcileError, c1, '0+1x40')],
      expect: [{ at: '10m', alerts: [] }, { at: '20m', alerts: [{ ...ns, kind: reconcileError.kind!, severity: 'warning' }] }],
    },
    {
      title: 'one failed reconcile, then none, is no alert', alert: 'GsiControllerReconcileErrors',
      series: [ser('gsi_controller_reconciles_total', reconcileError, c2, '0 1 1x40')],
      expect: [{ at: '10m', alerts: [] }, { at: '20m', alerts: [] }],
    },
  ]
}

const quote = (v: string): string => JSON.stringify(v)
const seriesText = (s: Input): string => `${s.name}{${Object.entries(s.labels).map(([k, v]) => `${k}=${quote(v)}`).join(',')}}`

t.test('promtool test rules: each alert fires when it should and only then', async t => {
  const cs = cases()
  const alertNames = new Set(rules.map(r => r.alert).filter(a => a !== undefined))
  t.same([...new Set(cs.map(c => c.alert))].sort(), [...alertNames].sort(), 'a unit test for every alert')
  for (const c of cs) {
    const file = join(work, `test-${c.alert}-${cs.indexOf(c)}.yml`)
    writeFileSync(file, stringify({
      rule_files: ['rules-labels.yml'],
      evaluation_interval: '1m',
      tests: [{
        interval: '1m',
        input_series: c.series.map(s => ({ series: seriesText(s), values: s.values })),
        alert_rule_test: [
          ...c.expect.map(e => ({ eval_time: e.at, alertname: c.alert, exp_alerts: e.alerts.map(l => ({ exp_labels: l })) })),
          ...(c.also ?? []).map(e => ({ eval_time: e.at, alertname: e.alert, exp_alerts: e.alerts.map(l => ({ exp_labels: l })) })),
        ],
      }],
    }))
    const r = promtool(['test', 'rules', file])
    t.equal(r.code, 0, `${c.alert}: ${c.title}${r.code === 0 ? '' : `\n${r.out}`}`)
  }
})

t.test('annotations: a summary and a description naming what to check, from labels the alert has', async t => {
  // The labels each alert fires with, from its unit test above (promtool checked them there).
  const firing = new Map<string, Labels>()
  for (const c of cases()) for (const e of c.expect) for (const l of e.alerts) firing.set(c.alert, l)
  for (const r of rules) {
    const a = r.annotations ?? {}
    t.ok(a.summary && a.description, `${r.alert}: summary and description`)
    t.match(a.description, /`(gsictl|kubectl|curl|gsi-routerd) [^`]+`/, `${r.alert}: the description names a command to run`)
    const used = [...`${a.summary ?? ''} ${a.description ?? ''}`.matchAll(/\$labels\.([A-Za-z_][A-Za-z0-9_]*)/g)].map(m => m[1]!)
    const has = firing.get(r.alert!) ?? {}
    t.same(used.filter(l => !(l in has)), [], `${r.alert}: every $labels.X it prints is a label it fires with`)
  }
})

t.test('promtool test rules fails when an alert does not behave as expected', async t => {
  // The first case with its expected firing labels changed: promtool must report the difference.
  const c = cases().find(x => x.alert === 'GsiBgpSessionDown')!
  const file = join(work, 'test-mutant.yml')
  writeFileSync(file, stringify({
    rule_files: ['rules-labels.yml'], evaluation_interval: '1m',
    tests: [{ interval: '1m', input_series: c.series.map(s => ({ series: seriesText(s), values: s.values })), alert_rule_test: [{ eval_time: '4m', alertname: c.alert, exp_alerts: [{ exp_labels: c.expect[1]!.alerts[0]! }] }] }],
  }))
  const r = promtool(['test', 'rules', file])
  t.not(r.code, 0, 'an alert expected before its `for` has elapsed is reported missing')
  t.match(r.out, /FAILED/)
})
