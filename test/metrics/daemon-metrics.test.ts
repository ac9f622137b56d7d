/**
 * gsi-routerd's metrics computed from a DaemonView at scrape time: every name and label the issue
 * lists, values taken from the view (a change in the view shows in the next scrape), label values
 * bounded (peers, families, tables; never a prefix), one view read per scrape, and a registry of its
 * own (nothing in prom-client's global one).
 */
import t from 'tap'
import { register as globalRegistry } from 'prom-client'
import { DaemonMetrics, peerStateNumber } from '../../src/metrics/index.js'
import { FakeDaemonView } from '../helpers/fake-daemon-view.js'

interface Sample { name: string; labels: Record<string, string>; value: number }

/** Parses the exposition text (what Prometheus reads), not prom-client's objects. */
function parse(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = []
  const types = new Map<string, string>()
  for (const line of text.split('\n')) {
    const ty = /^# TYPE (\S+) (\S+)$/.exec(line)
    if (ty) types.set(ty[1] as string, ty[2] as string)
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m) throw new Error(`bad exposition line: ${line}`)
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = l[2] as string
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) })
  }
  return { samples, types }
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const s = samples.find(x => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v) && Object.keys(x.labels).length === Object.keys(labels).length)
  return s?.value
}

t.test('every metric of the issue is there with its type, labels and the view\'s values', async t => {
  const view = new FakeDaemonView()
  const m = new DaemonMetrics({ view, defaultMetrics: false })
  const { samples, types } = parse(await m.metrics())

  t.equal(types.get('bgp_peer_state'), 'gauge')
  t.equal(value(samples, 'bgp_peer_state', { peer: '169.254.6.2', peer_as: '64513', side: 'tgw' }), 6, 'Established = 6 (BGP4-MIB)')
  t.equal(value(samples, 'bgp_peer_state', { peer: '169.254.6.3', peer_as: '64513', side: 'tgw' }), 3, 'Active = 3')
  t.equal(value(samples, 'bgp_peer_state', { peer: '10.0.0.10', peer_as: '64512', side: 'cn2' }), 6)

  t.equal(types.get('bgp_peer_flaps_total'), 'counter')
  t.equal(value(samples, 'bgp_peer_flaps_total', { peer: '169.254.6.3' }), 5)
  t.equal(types.get('bgp_peer_messages_total'), 'counter')
  t.equal(value(samples, 'bgp_peer_messages_total', { peer: '169.254.6.2', direction: 'received', type: 'update' }), 40)
  t.equal(value(samples, 'bgp_peer_messages_total', { peer: '169.254.6.2', direction: 'sent', type: 'route_refresh' }), 1)
  t.equal(value(samples, 'bgp_peer_messages_total', { peer: '10.0.0.10', direction: 'sent', type: 'keepalive' }), 40001)

  t.equal(types.get('bgp_prefixes'), 'gauge')
  t.equal(value(samples, 'bgp_prefixes', { peer: '169.254.6.2', family: 'ipv4-unicast', kind: 'received' }), 3)
  t.equal(value(samples, 'bgp_prefixes', { peer: '169.254.6.2', family: 'ipv4-unicast', kind: 'accepted' }), 2)
  t.equal(value(samples, 'bgp_prefixes', { peer: '169.254.6.2', family: 'ipv4-unicast', kind: 'advertised' }), 2)
  t.equal(value(samples, 'bgp_prefixes', { peer: '10.0.0.10', family: 'rtc', kind: 'advertised' }), 1)

  t.equal(value(samples, 'gsi_tgw_prefixes_advertised'), 2)
  t.equal(value(samples, 'gsi_tgw_prefix_quota'), 1000)
  t.equal(value(samples, 'gsi_tgw_prefixes_refused'), 2)

  t.equal(value(samples, 'gsi_fib_routes', { table: '100' }), 5)
  t.equal(value(samples, 'gsi_fib_routes_installed'), 4)
  t.equal(types.get('gsi_fib_operations_total'), 'counter')
  t.equal(value(samples, 'gsi_fib_operations_total', { op: 'route_add' }), 12)
  t.equal(value(samples, 'gsi_fib_operations_total', { op: 'drift_repair' }), 1)
  t.equal(value(samples, 'gsi_fib_operations_total', { op: 'adopt' }), 5)
  t.equal(value(samples, 'gsi_fib_errors_total'), 4)

  t.equal(value(samples, 'gsi_tunnels', { kind: 'gre', state: 'up' }), 1)
  t.equal(value(samples, 'gsi_tunnels', { kind: 'gre', state: 'missing' }), 1)
  t.equal(value(samples, 'gsi_tunnels', { kind: 'gre', state: 'down' }), 0, 'every state has a series, zero included')
  t.equal(value(samples, 'gsi_tunnels', { kind: 'mplsoudp', state: 'up' }), 1)
  t.equal(value(samples, 'gsi_tunnels', { kind: 'mplsoudp', state: 'down' }), 1)
  t.equal(value(samples, 'gsi_ready'), 1)

  t.equal(types.get('gsi_config_reloads_total'), 'counter')
  t.equal(value(samples, 'gsi_config_reloads_total', { result: 'ok' }), 0, 'both results exist before any reload')
  t.equal(value(samples, 'gsi_config_reloads_total', { result: 'rejected' }), 0)
  t.equal(types.get('gsi_update_processing_seconds'), 'histogram')
  t.equal(value(samples, 'gsi_update_processing_seconds_count'), 0)
})

t.test('a scrape reflects the view as it is now, and recorded events', async t => {
  const view = new FakeDaemonView()
  const m = new DaemonMetrics({ view, defaultMetrics: false })
  await m.metrics()
  const tgwB = view.peerList[1]!
  view.peerList[1] = { ...tgwB, session: { ...tgwB.session, state: 'Established', flaps: 6 } }
  view.peerList.pop() // the control node de-configured: its series go
  view.ready = false
  view.gatewayStatus = { ...view.gatewayStatus, tgwRefused: [] }
  m.configReloaded('ok')
  m.configReloaded('rejected')
  m.configReloaded('rejected')
  m.observeUpdateProcessing(0.0004)
  m.observeUpdateProcessing(0.3)
  const stop = m.startUpdateTimer()
  stop()
  const { samples } = parse(await m.metrics())
  t.equal(value(samples, 'bgp_peer_state', { peer: '169.254.6.3', peer_as: '64513', side: 'tgw' }), 6)
  t.equal(value(samples, 'bgp_peer_flaps_total', { peer: '169.254.6.3' }), 6)
  t.notOk(samples.some(s => s.labels.peer === '10.0.0.10'), 'a removed peer leaves no series behind')
  t.equal(value(samples, 'gsi_ready'), 0)
  t.equal(value(samples, 'gsi_tgw_prefixes_refused'), 0)
  t.equal(value(samples, 'gsi_config_reloads_total', { result: 'ok' }), 1)
  t.equal(value(samples, 'gsi_config_reloads_total', { result: 'rejected' }), 2)
  t.equal(value(samples, 'gsi_update_processing_seconds_count'), 3)
  t.equal(value(samples, 'gsi_update_processing_seconds_bucket', { le: '0.0005' }), 2, 'the 0.4 ms batch and the timer in the 0.5 ms bucket')
  t.equal(value(samples, 'gsi_update_processing_seconds_bucket', { le: '0.25' }), 2)
  t.equal(value(samples, 'gsi_update_processing_seconds_bucket', { le: '0.5' }), 3)
})

t.test('one view read per scrape, however many metrics read it', async t => {
  const view = new FakeDaemonView()
  const m = new DaemonMetrics({ view, defaultMetrics: false })
  await m.metrics()
  t.equal(view.calls.peers, 1)
  t.equal(view.calls.status, 1)
  await new Promise(r => setImmediate(r))
  await m.metrics()
  t.equal(view.calls.peers, 2, 'the next scrape reads afresh')
})

t.test('labels are bounded: no prefix, no route, only configured names', async t => {
  const view = new FakeDaemonView()
  const m = new DaemonMetrics({ view, defaultMetrics: false })
  const { samples } = parse(await m.metrics())
  const allowed = new Set(['peer', 'peer_as', 'side', 'direction', 'type', 'family', 'kind', 'table', 'op', 'state', 'result', 'le'])
  for (const s of samples) {
    for (const [k, v] of Object.entries(s.labels)) {
      t.ok(allowed.has(k), `${s.name}: label ${k} is one of the bounded set`)
      t.notMatch(v, /\//, `${s.name}{${k}="${v}"}: no prefix as a label value`)
    }
  }
  const routes = view.routeList.map(r => r.prefix)
  t.notOk(samples.some(s => Object.values(s.labels).some(v => routes.includes(v))))
})

t.test('process metrics land in our registry, none in the global one', async t => {
  const before = (await globalRegistry.getMetricsAsJSON()).length
  const m = new DaemonMetrics({ view: new FakeDaemonView() })
  const { types } = parse(await m.metrics())
  t.equal(types.get('process_resident_memory_bytes'), 'gauge')
  t.ok(types.has('nodejs_eventloop_lag_seconds'))
  t.equal((await globalRegistry.getMetricsAsJSON()).length, before, 'the global registry is untouched')
  // Two daemons' registries in one process (tests) do not collide.
  const m2 = new DaemonMetrics({ view: new FakeDaemonView() })
  t.ok((await m2.metrics()).includes('bgp_peer_state'))
})

t.test('state numbers follow BGP4-MIB bgpPeerState', async t => {
  t.same((['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'] as const).map(peerStateNumber), [1, 2, 3, 4, 5, 6])
})
