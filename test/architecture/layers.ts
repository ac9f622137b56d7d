/**
 * The repository's layers and which way their imports may point, and the checker that holds every
 * .ts file to them. One rule table (`LAYERS`), read by the import-graph test for the real tree and
 * for the fixture tree with a deliberate upward import; `formatLayerRules()` prints it in the form
 * docs/layers.md quotes (the test keeps the two equal).
 *
 * A file belongs to the layer with the longest path prefix it starts with. An import of a repo file is
 * allowed when the target is in the same layer or in one the layer lists under `mayImport`. Layers
 * marked `pure` import no I/O module (sockets, files, processes, logging, metrics). A file in no
 * layer is reported too, so a new folder cannot escape the rules unnoticed.
 */
import fs from 'node:fs'
import path from 'node:path'
import ts from 'typescript'

export interface Layer {
  /** Shown in reports and docs. */
  readonly name: string
  /** Path prefixes relative to the root, with a trailing `/` for folders. */
  readonly paths: readonly string[]
  /** Layer names this layer may import, besides itself. */
  readonly mayImport: readonly string[]
  /** No I/O modules (see IO_MODULES). */
  readonly pure?: boolean
}

const DAEMON_PARTS = ['bgp/speaker', 'bgp/policy', 'bgp/rib', 'bgp/session', 'bgp/fsm', 'bgp/codec', 'src/fib', 'gre, mplsoudp', 'src/netlink', 'src/lib', 'native']

/**
 * Lowest first. The BGP chain is codec <- fsm <- session <- rib <- policy <- speaker; the kernel
 * chain src/lib <- src/netlink <- gre, mplsoudp <- src/fib; the controller stands beside both and
 * shares only src/lib with them. Only the lab, tests and benchmarks reach the emulators.
 */
export const LAYERS: readonly Layer[] = [
  { name: 'src/lib', paths: ['src/lib/'], mayImport: [], pure: true },
  // the N-API addon's loader: imports nothing of the repository, so any layer that needs a socket
  // option or huge pages may use it
  { name: 'native', paths: ['native/'], mayImport: [] },
  { name: 'src/netlink', paths: ['src/netlink/'], mayImport: ['src/lib', 'native'] },
  { name: 'gre, mplsoudp', paths: ['gre/', 'mplsoudp/'], mayImport: ['src/netlink', 'src/lib'] },
  { name: 'src/fib', paths: ['src/fib/'], mayImport: ['gre, mplsoudp', 'src/netlink', 'src/lib'] },
  { name: 'bgp/codec', paths: ['bgp/codec/'], mayImport: ['src/lib'], pure: true },
  { name: 'bgp/fsm', paths: ['bgp/fsm/'], mayImport: ['bgp/codec', 'src/lib'], pure: true },
  { name: 'bgp/session', paths: ['bgp/session/'], mayImport: ['bgp/fsm', 'bgp/codec', 'src/lib', 'native'] },
  { name: 'bgp/rib', paths: ['bgp/rib/'], mayImport: ['bgp/session', 'bgp/fsm', 'bgp/codec', 'src/lib', 'native'] },
  { name: 'bgp/policy', paths: ['bgp/policy/'], mayImport: ['bgp/rib', 'bgp/session', 'bgp/fsm', 'bgp/codec', 'src/lib'] },
  { name: 'bgp/speaker', paths: ['bgp/speaker/'], mayImport: ['bgp/policy', 'bgp/rib', 'bgp/session', 'bgp/fsm', 'bgp/codec', 'src/lib'] },
  { name: 'controller', paths: ['controller/'], mayImport: ['src/lib'] },
  { name: 'controller/emulator', paths: ['controller/emulator/'], mayImport: ['controller', 'src/lib'] },
  // Everything else under src/: the programs and the daemon's own parts (longer prefixes above win).
  { name: 'src', paths: ['src/'], mayImport: ['controller', ...DAEMON_PARTS] },
  { name: 'lab', paths: ['src/bin/gsi-lab.ts', 'src/lab/'], mayImport: ['src', 'controller/emulator', 'controller', ...DAEMON_PARTS] },
  { name: 'bench, test', paths: ['bench/', 'test/'], mayImport: ['*'] },
]

/**
 * Edges known to point the wrong way, each to be removed by the change that fixes it. An entry is
 * `from layer -> to layer`; the test fails when an entry no longer matches any edge, so the list
 * cannot outlive the fix.
 */
export const KNOWN_VIOLATIONS: readonly string[] = []

/** Modules a pure layer may not import: sockets, files, processes, timers with I/O, logs, metrics. */
export const IO_MODULES: readonly string[] = [
  'net', 'dgram', 'fs', 'fs/promises', 'child_process', 'http', 'https', 'http2', 'tls', 'dns', 'cluster', 'worker_threads',
  'os', 'process', 'readline', 'pino', 'prom-client', 'netlink', 'sockopt', 'raw-socket',
]

export interface Edge {
  /** Importing file, relative to the root. */
  readonly from: string
  /** Imported file (relative to the root) or module name. */
  readonly to: string
  readonly fromLayer: string
  readonly toLayer: string
  readonly why: 'upward' | 'io' | 'unclassified'
}

/** The layer a root-relative path belongs to, or undefined. */
export function layerOf(rel: string, layers: readonly Layer[] = LAYERS): Layer | undefined {
  let best: Layer | undefined
  let bestLength = -1
  for (const l of layers) {
    for (const p of l.paths) {
      if ((p.endsWith('/') ? rel.startsWith(p) : rel === p) && p.length > bestLength) {
        best = l
        bestLength = p.length
      }
    }
  }
  return best
}

/** Every .ts file under `root` (skipping node_modules, dist and `exclude` prefixes), root-relative. */
export function tsFiles(root: string, exclude: readonly string[] = []): string[] {
  const out: string[] = []
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, e.name)
      const rel = path.relative(root, abs).split(path.sep).join('/')
      if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.') || exclude.some((x) => rel === x || rel.startsWith(`${x}/`))) continue
      if (e.isDirectory()) walk(abs)
      else if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(rel)
    }
  }
  walk(root)
  return out.sort()
}

/** The module specifiers a file imports: static, type-only, re-exports and dynamic `import()`. */
export function importsOf(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName)
}

/** A relative specifier resolved to a root-relative .ts path (`./x.js` -> `x.ts`). */
function resolve(root: string, fromRel: string, spec: string): string {
  const abs = path.resolve(root, path.dirname(fromRel), spec)
  const rel = path.relative(root, abs).split(path.sep).join('/')
  if (rel.endsWith('.js')) return `${rel.slice(0, -3)}.ts`
  if (rel.endsWith('.ts') || rel.endsWith('.json') || rel.endsWith('.mjs')) return rel
  return fs.existsSync(path.join(root, `${rel}.ts`)) ? `${rel}.ts` : `${rel}/index.ts`
}

/** Every import of every .ts file under `root` that breaks the rules. */
export function checkImports(root: string, layers: readonly Layer[] = LAYERS, exclude: readonly string[] = []): Edge[] {
  const byName = new Map(layers.map((l) => [l.name, l]))
  const bad: Edge[] = []
  for (const from of tsFiles(root, exclude)) {
    const layer = layerOf(from, layers)
    if (layer === undefined) {
      bad.push({ from, to: '', fromLayer: '(none)', toLayer: '', why: 'unclassified' })
      continue
    }
    for (const spec of importsOf(fs.readFileSync(path.join(root, from), 'utf8'))) {
      if (spec.startsWith('.')) {
        const to = resolve(root, from, spec)
        const target = layerOf(to, layers)
        const toLayer = target?.name ?? '(none)'
        const allowed = layer.mayImport.includes('*') || target === layer || (target !== undefined && layer.mayImport.includes(target.name) && byName.has(target.name))
        if (!allowed) bad.push({ from, to, fromLayer: layer.name, toLayer, why: 'upward' })
      } else if (layer.pure === true) {
        const name = spec.startsWith('node:') ? spec.slice(5) : spec
        if (IO_MODULES.includes(name)) bad.push({ from, to: spec, fromLayer: layer.name, toLayer: spec, why: 'io' })
      }
    }
  }
  return bad
}

/** One line per edge, for test output and failure messages. */
export function formatEdge(e: Edge): string {
  if (e.why === 'unclassified') return `${e.from}: in no layer (add it to LAYERS)`
  if (e.why === 'io') return `${e.from} -> ${e.to}: ${e.fromLayer} imports no I/O`
  return `${e.from} -> ${e.to}: ${e.fromLayer} may not import ${e.toLayer}`
}

/** The rule table as text, one layer a line (docs/layers.md quotes it verbatim). */
export function formatLayerRules(layers: readonly Layer[] = LAYERS): string {
  const rows = [['layer', 'files', 'may import'], ...layers.map((l) => [
    l.name,
    l.paths.join(' '),
    (l.mayImport.includes('*') ? 'anything' : l.mayImport.length === 0 ? 'nothing else in the repo' : l.mayImport.join(', ')) + (l.pure === true ? '; no I/O' : ''),
  ])]
  const w0 = Math.max(...rows.map((r) => (r[0] as string).length))
  const w1 = Math.max(...rows.map((r) => (r[1] as string).length))
  return rows.map((r) => `${(r[0] as string).padEnd(w0)}  ${(r[1] as string).padEnd(w1)}  ${r[2] as string}`.trimEnd()).join('\n')
}
