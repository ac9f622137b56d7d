/**
 * Folders depend one way: every import of every .ts file in the repository is checked against the
 * rule table in test/architecture/layers.ts (docs/layers.md quotes it). The same checker is run on
 * fixture trees with a deliberate upward import, an I/O import in the pure codec and a file in no
 * layer, and must report exactly those edges: a check that could not fail would prove nothing.
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { KNOWN_VIOLATIONS, LAYERS, checkImports, formatEdge, formatLayerRules, importsOf, layerOf, type Edge } from './layers.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const fixtures = path.join(root, 'test/fixtures/import-graph')
const edgeKey = (e: Edge): string => `${e.fromLayer} -> ${e.toLayer}`

t.test('the repository: no import points the wrong way (but the known, listed ones)', async (t) => {
  const edges = checkImports(root, LAYERS, ['test/fixtures'])
  const unexpected = edges.filter((e) => !KNOWN_VIOLATIONS.includes(edgeKey(e)))
  t.same(unexpected.map(formatEdge), [], 'every import follows docs/layers.md')
  for (const known of KNOWN_VIOLATIONS) {
    const hits = edges.filter((e) => edgeKey(e) === known)
    t.ok(hits.length > 0, `known violation "${known}" still exists (remove the entry once fixed)`)
    t.comment(`known violation ${known}: ${hits.map(formatEdge).join('; ')}`)
  }
  t.ok(fs.existsSync(path.join(root, 'src/lib/address.ts')), 'the checker walked the real tree')
})

t.test('an upward import is reported, exactly that edge', async (t) => {
  const edges = checkImports(path.join(fixtures, 'upward'))
  t.same(edges, [{ from: 'src/lib/ip.ts', to: 'bgp/codec/marker.ts', fromLayer: 'src/lib', toLayer: 'bgp/codec', why: 'upward' }])
  t.equal(formatEdge(edges[0] as Edge), 'src/lib/ip.ts -> bgp/codec/marker.ts: src/lib may not import bgp/codec')
})

t.test('an I/O import in the pure codec is reported, exactly that edge', async (t) => {
  t.same(checkImports(path.join(fixtures, 'codec-io')), [
    { from: 'bgp/codec/frame.ts', to: 'node:net', fromLayer: 'bgp/codec', toLayer: 'node:net', why: 'io' },
  ])
})

t.test('a file in no layer is reported', async (t) => {
  t.same(checkImports(path.join(fixtures, 'stray')).map(formatEdge), ['tools/helper.ts: in no layer (add it to LAYERS)'])
})

t.test('imports are read in every form', async (t) => {
  const src = [
    "import a from './a.js'",
    "import type { B } from '../b.js'",
    "export * from './c.js'",
    "export { y } from 'pino'",
    "const d = await import('./d.js')",
    "import 'node:fs'",
    "// import { no } from './comment.js'",
  ].join('\n')
  t.same(importsOf(src), ['./a.js', '../b.js', './c.js', 'pino', './d.js', 'node:fs'])
})

t.test('a file belongs to the layer with the longest matching prefix', async (t) => {
  t.equal(layerOf('controller/emulator/ec2/state.ts')?.name, 'controller/emulator')
  t.equal(layerOf('controller/aws/cidr.ts')?.name, 'controller')
  t.equal(layerOf('src/bin/gsi-lab.ts')?.name, 'lab')
  t.equal(layerOf('src/bin/gsi-routerd.ts')?.name, 'src')
  t.equal(layerOf('src/lib/address.ts')?.name, 'src/lib')
  t.equal(layerOf('native/index.ts')?.name, 'native')
})

t.test('docs/layers.md quotes the rule table as it is', async (t) => {
  const doc = fs.readFileSync(path.join(root, 'docs/layers.md'), 'utf8')
  t.ok(doc.includes(`\`\`\`\n${formatLayerRules()}\n\`\`\``), 'docs/layers.md holds formatLayerRules() in a fenced block; regenerate it with:\n' +
    'npx tsx -e "import(\'./test/architecture/layers.ts\').then((m) => console.log(m.formatLayerRules()))"')
})
