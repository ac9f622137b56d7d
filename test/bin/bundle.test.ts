/**
 * scripts/bundle.mjs: a build of every program removes the chunks it did not write (stale ones from
 * earlier sources pile up otherwise), keeps everything else in the directory, and leaves a directory
 * whose programs find every chunk they import; a build of the image's programs alone (`--prod`)
 * removes nothing, since the lab's chunks are not its own. Needs the compiled dist/ (npm run build,
 * which scripts/setup.sh runs).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
// @ts-expect-error: a plain ES module script without type declarations
import { bundle, BUNDLED_PROGRAMS, IMAGE_PROGRAMS } from '../../scripts/bundle.mjs'

const run = bundle as (programs: readonly string[], outdir: string) => Promise<string[]>

t.test('stale chunks are removed by a full build, and only they', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gsi-bundle-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  t.same(await run(BUNDLED_PROGRAMS as string[], dir), [], 'a first build into an empty directory removes nothing')
  const fresh = readdirSync(dir).sort()
  writeFileSync(join(dir, 'chunk-STALE0001.mjs'), 'export const x = 1\n')
  writeFileSync(join(dir, 'chunk-STALE0001.mjs.map'), '{}\n')
  writeFileSync(join(dir, 'notes.txt'), 'kept\n')

  t.same(await run(IMAGE_PROGRAMS as string[], dir), [], '--prod (the image\'s programs) removes nothing')
  t.ok(existsSync(join(dir, 'chunk-STALE0001.mjs')), 'the stale chunk is still there after --prod')

  // --prod splits three programs, not four: chunks of its own, which a full build does not write.
  const prodOnly = readdirSync(dir).filter((n) => n.startsWith('chunk-') && !n.includes('STALE') && !fresh.includes(n))
  t.same((await run(BUNDLED_PROGRAMS as string[], dir)).sort(), ['chunk-STALE0001.mjs', 'chunk-STALE0001.mjs.map', ...prodOnly].sort(), `a full build removes the chunks it did not write and their maps (the planted one and --prod's ${prodOnly.length})`)
  t.same(readdirSync(dir).sort(), [...fresh, 'notes.txt'].sort(), 'what the build wrote stays, and a file that is no chunk')
  // Every chunk a program or chunk imports is there.
  const missing: string[] = []
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.mjs'))) {
    for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/["']\.\/(chunk-[A-Z0-9]+\.mjs)["']/g)) if (!existsSync(join(dir, m[1] as string))) missing.push(`${f} -> ${m[1]}`)
  }
  t.same(missing, [], 'no program imports a missing chunk')
  t.ok(fresh.some((n) => n.startsWith('chunk-')), `the programs share chunks (${fresh.filter((n) => n.startsWith('chunk-') && n.endsWith('.mjs')).length})`)
})
