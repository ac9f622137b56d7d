// The PromQL reader the alert and dashboard checks rely on (test/monitoring/promql.ts): it must find
// every metric a real expression names, and nothing that is not one (functions, aggregations,
// keywords, label lists, durations, strings), or the check against /metrics proves nothing.
import t from 'tap'
import { dashboardQueries, exprRefs, parseExposition, selectorMetric } from './promql.js'

const names = (e: string): string[] => exprRefs(e).selectors.map(s => selectorMetric(s) ?? '?')

t.test('metric names, not functions, aggregations, keywords or label lists', async t => {
  t.same(names('up{job="x"} == 0'), ['up'])
  t.same(names('sum by (peer, side) (rate(bgp_peer_messages_total{direction="received"}[5m]))'), ['bgp_peer_messages_total'])
  t.same(names('sum(rate(a_total[5m])) without (instance) / on (job) group_left(peer) b'), ['a_total', 'b'])
  t.same(names('histogram_quantile(0.99, sum by (le) (rate(gsi_update_processing_seconds_bucket[$__rate_interval])))'), ['gsi_update_processing_seconds_bucket'])
  t.same(names('(sum(gsi_controller_leader{job="c"}) or vector(0)) < 1'), ['gsi_controller_leader'])
  t.same(names('x > bool 6 and on (instance) y offset 5m unless z[10m:1m]'), ['x', 'y', 'z'])
  t.same(names('label_replace(m, "dst", "$1", "src", "(.*)") * 1e3 + 0x1F - Inf'), ['m'])
  t.same(names('count_values("by", q) # by (nothing): a comment'), ['q'])
  t.same(names('{__name__="by_name", a=`x\\.y`}'), ['by_name'])
  t.same(names('sum(increase(c_total[30m])) by (kind) > 2'), ['c_total'])
  t.same(names('rate(e{outcome=~"a|b"}[15m]) / sum by (ns) (rate(e[15m]))'), ['e', 'e'])
})

t.test('matchers with their operators and values; grouping labels', async t => {
  const r = exprRefs('sum by (namespace, action) (increase(x{job="j", outcome!~"ok|A", a=~`.*\\.NotFound`, b!="q\\"r"}[5m])) unless on (pod) y')
  t.same(r.selectors[0]!.matchers, [
    { label: 'job', op: '=', value: 'j' }, { label: 'outcome', op: '!~', value: 'ok|A' },
    { label: 'a', op: '=~', value: '.*\\.NotFound' }, { label: 'b', op: '!=', value: 'q"r' },
  ])
  t.same(r.groupingLabels, ['namespace', 'action', 'pod'])
})

t.test('malformed expressions are refused, not half read', async t => {
  t.throws(() => exprRefs('x{job="a"'), { name: 'PromqlSyntaxError' })
  t.throws(() => exprRefs('x{job}'), { name: 'PromqlSyntaxError' })
  t.throws(() => exprRefs('sum by peer (x)'), { name: 'PromqlSyntaxError' })
  t.throws(() => exprRefs('x{a="b}'), { name: 'PromqlSyntaxError' })
})

t.test('exposition text: names, labels with escapes, special values', async t => {
  const s = parseExposition([
    '# HELP a_total help', '# TYPE a_total counter', 'a_total{peer="1.2.3.4",msg="x\\"y\\\\z"} 3',
    'h_bucket{le="+Inf"} 7', 'g NaN', 'g2 -Inf 1700000000000', '',
  ].join('\n'))
  t.same(s.map(x => x.name), ['a_total', 'h_bucket', 'g', 'g2'])
  t.same(s[0]!.labels, { peer: '1.2.3.4', msg: 'x"y\\z' })
  t.equal(s[1]!.labels.le, '+Inf')
  t.ok(Number.isNaN(s[2]!.value))
  t.equal(s[3]!.value, -Infinity)
  t.throws(() => parseExposition('a{b=c} 1'), /bad labels/)
})

t.test('dashboard queries: panels, rows, label_values variables', async t => {
  const q = dashboardQueries({
    panels: [{ title: 'A', targets: [{ expr: 'a' }] }, { title: 'row', panels: [{ title: 'B', targets: [{ expr: 'b' }] }] }],
    templating: { list: [{ name: 'node', type: 'query', query: { query: 'label_values(gsi_ready{job="x"}, instance)' } }, { name: 'ds', type: 'datasource', query: 'prometheus' }] },
  })
  t.same(q, [{ where: 'panel "A"', expr: 'a' }, { where: 'panel "B"', expr: 'b' }, { where: 'variable "node"', expr: 'gsi_ready{job="x"}', label: 'instance' }])
  t.throws(() => dashboardQueries({ templating: { list: [{ name: 'v', type: 'query', query: 'metrics(.*)' }] } }), /neither label_values/)
})
