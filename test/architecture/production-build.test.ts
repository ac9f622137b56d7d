/**
 * The production build and image hold production code only: tsconfig.build.json compiles no file of
 * the emulators, the lab, the benchmarks or the tests (directly or through an import, which the
 * import-graph test rules out), tsconfig.lab.json compiles those for `npm run lab` and `npm run
 * bench`, the two together cover every source file, and the Dockerfile builds only the production
 * config.
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import ts from 'typescript'
import { layerOf, tsFiles } from './layers.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const NOT_PRODUCTION = new Set(['controller/emulator', 'lab', 'bench, test'])

/** Root-relative .ts files a tsconfig compiles (its include/exclude, as tsc reads them). */
function compiled(config: string): string[] {
  const read = ts.readConfigFile(path.join(root, config), ts.sys.readFile)
  if (read.error !== undefined) throw new Error(`${config}: ${ts.flattenDiagnosticMessageText(read.error.messageText, '\n')}`)
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, root)
  return parsed.fileNames.map((f) => path.relative(root, f).split(path.sep).join('/')).sort()
}

t.test('tsconfig.build.json compiles production code only', async (t) => {
  const files = compiled('tsconfig.build.json')
  t.ok(files.includes('src/bin/gsi-routerd.ts') && files.includes('src/bin/gsi-controller.ts') && files.includes('controller/aws/reconcile.ts'), 'the programs and the controller are in it')
  t.same(files.filter((f) => NOT_PRODUCTION.has(layerOf(f)?.name ?? '')), [], 'no emulator, lab, benchmark or test file')
})

t.test('tsconfig.lab.json builds the emulators, the lab and the benchmarks', async (t) => {
  const files = compiled('tsconfig.lab.json')
  for (const f of ['controller/emulator/ec2/main.ts', 'controller/emulator/kube/main.ts', 'src/bin/gsi-lab.ts', 'bench/rib.bench.ts']) t.ok(files.includes(f), f)
  t.same(files.filter((f) => f.startsWith('test/')), [], 'no test file')
})

t.test('npm run build compiles every source file outside test/', async (t) => {
  const built = new Set([...compiled('tsconfig.build.json'), ...compiled('tsconfig.lab.json')])
  const sources = tsFiles(root, ['test', 'native']).filter((f) => !f.endsWith('.d.ts'))
  t.same(sources.filter((f) => !built.has(f)), [])
  const scripts = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts
  t.match(scripts.build, /build:prod.*build:lab/, 'build runs both configs')
  t.equal(scripts['build:prod'], 'sh scripts/node22-env.sh tsc -p tsconfig.build.json')
  t.equal(scripts['build:lab'], 'sh scripts/node22-env.sh tsc -p tsconfig.lab.json')
})

t.test('the Dockerfile builds and copies production code only', async (t) => {
  const lines = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8').split('\n').filter((l) => !l.startsWith('#'))
  const text = lines.join('\n')
  t.notMatch(text, /^COPY (bench|test)\b/m, 'no benchmark or test sources copied')
  t.match(text, /npm run build:prod/, 'the production build')
  t.notMatch(text, /npm run build( |&|$)|build:lab/m, 'not the lab build')
  t.match(text, /rm -rf controller\/emulator src\/bin\/gsi-lab\.ts/, 'emulator and lab sources removed before building')
})
