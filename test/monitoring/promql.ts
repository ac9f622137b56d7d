/**
 * What the alerts and the dashboard ask of the programs' /metrics, read from their PromQL: every
 * series selector (metric name and label matchers) and every label named in a grouping or matching
 * clause (`by`, `without`, `on`, `ignoring`, `group_left`, `group_right`). A small tokenizer of
 * PromQL as Prometheus 2.x parses it, not a full parser: it only has to tell a metric name from a
 * function, an aggregation, a keyword, a label list, a duration or a string, which the grammar makes
 * local (a name followed by `(` is a function or aggregation; a name after a grouping keyword opens a
 * label list; `[...]` holds durations only).
 *
 * Also the Prometheus text exposition format (what /metrics serves), parsed into series, and the
 * Grafana dashboard's queries (panel targets and templating queries, `label_values(selector, label)`).
 */

export type MatchOp = '=' | '!=' | '=~' | '!~'

export interface Matcher {
  readonly label: string
  readonly op: MatchOp
  readonly value: string
}

export interface Selector {
  /** The metric name ('' for a selector with only `{...}`, then `__name__` is among the matchers). */
  readonly metric: string
  readonly matchers: readonly Matcher[]
}

export interface ExprRefs {
  readonly selectors: readonly Selector[]
  /** Labels named by by / without / on / ignoring / group_left / group_right. */
  readonly groupingLabels: readonly string[]
}

/** Words that are never metric names where they stand (operators and modifiers). */
const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'atan2', 'inf', 'nan'])
/** Keywords followed by a parenthesized list of label names (optional after group_*). */
const LABEL_LIST = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right'])
/** Aggregation operators: the one kind of name a grouping clause may follow (`sum by (a) (x)`). */
const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile'])
const IDENT = /[A-Za-z_:][A-Za-z0-9_:]*/y
const NUMBER = /(?:0[xX][0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)(?:ms|[smhdwy])?(?:[0-9]+(?:ms|[smhdwy]))*/y

/** Grafana's own interval variables, replaced by a duration so the text is PromQL. */
export function expandGrafanaVariables(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}/g, '5m')
}

export class PromqlSyntaxError extends Error {
  override readonly name = 'PromqlSyntaxError'
}

/** The selectors and grouping labels of one PromQL expression. */
export function exprRefs(expr: string): ExprRefs {
  const src = expandGrafanaVariables(expr)
  const selectors: Selector[] = []
  const groupingLabels: string[] = []
  let i = 0
  const fail = (why: string): never => { throw new PromqlSyntaxError(`at ${i} of ${JSON.stringify(expr)}: ${why}`) }
  const skipSpace = (): void => {
    for (;;) {
      while (i < src.length && /\s/.test(src[i]!)) i++
      if (src[i] === '#') { while (i < src.length && src[i] !== '\n') i++; continue }
      return
    }
  }
  const readString = (): string => {
    const q = src[i]!
    let out = ''
    i++
    while (i < src.length && src[i] !== q) {
      if (src[i] === '\\' && q !== '`') { out += src[i + 1] ?? ''; i += 2; continue }
      out += src[i++]
    }
    if (i >= src.length) fail('unterminated string')
    i++
    return out
  }
  const readIdent = (): string | undefined => {
    IDENT.lastIndex = i
    const m = IDENT.exec(src)
    if (!m) return undefined
    i += m[0].length
    return m[0]
  }
  /** `{a="b", c=~"d"}` at i. */
  const readMatchers = (): Matcher[] => {
    const out: Matcher[] = []
    i++ // {
    for (;;) {
      skipSpace()
      if (src[i] === '}') { i++; return out }
      const label = readIdent() ?? fail('label name expected in {...}')
      skipSpace()
      const op = (['=~', '!~', '!=', '='] as const).find(o => src.startsWith(o, i)) ?? fail(`matcher operator expected after ${label}`)
      i += op.length
      skipSpace()
      if (!['"', "'", '`'].includes(src[i] ?? '')) fail(`string expected after ${label}${op}`)
      out.push({ label, op, value: readString() })
      skipSpace()
      if (src[i] === ',') i++
      else if (src[i] !== '}') fail('"," or "}" expected in {...}')
    }
  }
  /** `(a, b)` of label names at i. */
  const readLabelList = (): void => {
    i++ // (
    for (;;) {
      skipSpace()
      if (src[i] === ')') { i++; return }
      groupingLabels.push(readIdent() ?? fail('label name expected in a grouping list'))
      skipSpace()
      if (src[i] === ',') i++
      else if (src[i] !== ')') fail('"," or ")" expected in a grouping list')
    }
  }

  while (i < src.length) {
    skipSpace()
    if (i >= src.length) break
    const c = src[i]!
    if (c === '"' || c === "'" || c === '`') { readString(); continue }
    if (c === '{') { selectors.push({ metric: '', matchers: readMatchers() }); continue }
    if (c === '[') { // range or subquery: durations and ':' only
      const end = src.indexOf(']', i)
      if (end < 0) fail('unterminated [')
      i = end + 1
      continue
    }
    NUMBER.lastIndex = i
    const num = /[0-9.]/.test(c) ? NUMBER.exec(src) : null
    if (num && num[0].length > 0) { i += num[0].length; continue }
    const word = readIdent()
    if (word === undefined) { i++; continue } // operators, parentheses, commas, @
    skipSpace()
    const lower = word.toLowerCase()
    if (LABEL_LIST.has(lower)) {
      if (src[i] === '(') readLabelList()
      else if (lower !== 'group_left' && lower !== 'group_right') fail(`"(" expected after ${word}`)
      continue
    }
    if (KEYWORDS.has(lower)) continue
    if (src[i] === '(') continue // a function or an aggregation: its arguments follow
    if (AGGREGATIONS.has(lower) && /^(by|without)\b/i.test(src.slice(i))) continue
    if (src[i] === '{') { selectors.push({ metric: word, matchers: readMatchers() }); continue }
    selectors.push({ metric: word, matchers: [] })
  }
  return { selectors, groupingLabels }
}

/** The metric name a selector asks for (its own or `__name__="..."`), undefined for a regex name. */
export function selectorMetric(s: Selector): string | undefined {
  if (s.metric !== '') return s.metric
  const n = s.matchers.find(m => m.label === '__name__')
  return n?.op === '=' ? n.value : undefined
}

// ---------------------------------------------------------------- exposition format

export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/** Prometheus text format 0.0.4 (prom-client's output): samples only; # HELP / # TYPE skipped. */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = []
  for (const [n, raw] of text.split('\n').entries()) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+\d+)?$/.exec(line)
    if (!m) throw new Error(`/metrics line ${n + 1}: not a sample: ${line}`)
    const labels: Record<string, string> = {}
    if (m[2] !== undefined) {
      const body = m[2].slice(1, -1)
      const re = /\s*([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/y
      let k: RegExpExecArray | null
      let at = 0
      while (at < body.length && (re.lastIndex = at, k = re.exec(body)) !== null) {
        labels[k[1]!] = k[2]!.replace(/\\(.)/g, (_, ch: string) => (ch === 'n' ? '\n' : ch))
        at = re.lastIndex
      }
      if (at < body.length) throw new Error(`/metrics line ${n + 1}: bad labels: ${m[2]}`)
    }
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3])
    if (Number.isNaN(value) && m[3] !== 'NaN') throw new Error(`/metrics line ${n + 1}: bad value ${m[3]}`)
    out.push({ name: m[1]!, labels, value })
  }
  return out
}

// ---------------------------------------------------------------- Grafana dashboards

export interface DashboardQuery {
  /** Where it is: `panel "Title"` or `variable "name"`. */
  readonly where: string
  readonly expr: string
  /** The label a `label_values` variable reads, which the selector's series must carry. */
  readonly label?: string
}

export interface GrafanaPanel { id?: number; title?: string; targets?: { expr?: string }[]; panels?: GrafanaPanel[] }
export interface GrafanaDashboard { panels?: GrafanaPanel[]; templating?: { list?: { name: string; type: string; query?: string | { query?: string } }[] } }

/** Every PromQL text of a dashboard: panel targets (rows' nested panels too) and query variables
 * (`label_values(selector, label)` and `query_result(expr)` give their inner expression). */
export function dashboardQueries(d: GrafanaDashboard): DashboardQuery[] {
  const out: DashboardQuery[] = []
  const walk = (panels: GrafanaPanel[] | undefined): void => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (t.expr !== undefined) out.push({ where: `panel "${p.title ?? ''}"`, expr: t.expr })
      walk(p.panels)
    }
  }
  walk(d.panels)
  for (const v of d.templating?.list ?? []) {
    if (v.type !== 'query') continue
    const q = typeof v.query === 'string' ? v.query : v.query?.query ?? ''
    const lv = /^\s*label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$/s.exec(q)
    const qr = /^\s*query_result\((.*)\)\s*$/s.exec(q)
    if (lv) out.push({ where: `variable "${v.name}"`, expr: lv[1]!, label: lv[2]! })
    else if (qr) out.push({ where: `variable "${v.name}"`, expr: qr[1]! })
    else throw new Error(`variable "${v.name}": query ${JSON.stringify(q)} is neither label_values(selector, label) nor query_result(expr)`)
  }
  return out
}
