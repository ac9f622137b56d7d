/**
 * The repository stands alone: no tracked file (code, comments, docs, manifests, scripts) points at
 * something a clone does not have. Three rules:
 *
 * - no absolute path of a development machine (the workspace root, a sibling "shared" folder);
 * - no design note by the names the project's early notes had (PERFORMANCE.md, DOMAIN.md,
 *   STYLE.md, ARCHITECTURE.md) unless the repository itself holds such a file: what the code relies
 *   on lives in docs/ (docs/domain.md, docs/benchmarks.md, docs/architecture.md);
 * - every `docs/NAME.md` mentioned anywhere, and every relative Markdown link, names a tracked file
 *   inside the repository.
 *
 * The rules run first on made-up text, so a broken pattern fails here instead of passing everything.
 * This file names the forbidden patterns and is the one file not scanned.
 */
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join, normalize, relative, sep } from 'node:path'

const ROOT = join(import.meta.dirname, '..', '..')
const SELF = relative(ROOT, import.meta.filename).split(sep).join('/')

interface Finding { readonly line: number; readonly text: string; readonly why: string }

const OUTSIDE = [
  { re: /\/work\//, why: 'an absolute path of the development machine' },
  { re: /(?:^|[\s"'`(])(?:\.\.\/)+shared\//, why: 'a folder beside the repository' },
  { re: /shared\/design\b/, why: 'the design notes outside the repository' },
]
const DESIGN_NOTE = /\b(PERFORMANCE|DOMAIN|STYLE|ARCHITECTURE)\.md\b/
const DOCS_MENTION = /\bdocs\/[\w.-]+\.md\b/g
const MD_LINK = /\]\(([^)\s#]+)(?:#[^)]*)?\)/g

/** What in `text` (the contents of `file`, a path relative to the root) points outside the repository. */
export function findOutsideReferences(file: string, text: string, tracked: ReadonlySet<string>): Finding[] {
  const found: Finding[] = []
  const lines = text.split('\n')
  lines.forEach((lineText, i) => {
    const at = (why: string): void => { found.push({ line: i + 1, text: lineText.trim().slice(0, 160), why }) }
    for (const { re, why } of OUTSIDE) if (re.test(lineText)) at(why)
    const note = DESIGN_NOTE.exec(lineText)
    if (note !== null && !tracked.has(note[0]) && ![...tracked].some(f => f.endsWith(`/${note[0]}`))) {
      at(`${note[0]} is not in the repository (the facts are in docs/)`)
    }
    for (const m of lineText.matchAll(DOCS_MENTION)) if (!tracked.has(m[0])) at(`${m[0]} does not exist`)
    if (file.endsWith('.md')) {
      for (const m of lineText.matchAll(MD_LINK)) {
        const target = m[1]!
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue // a URL, not a path
        const resolved = normalize(join(dirname(file), target)).split(sep).join('/')
        if (resolved.startsWith('../') || target.startsWith('/')) at(`link ${target} leaves the repository`)
        else if (!tracked.has(resolved) && ![...tracked].some(f => f.startsWith(`${resolved}/`))) at(`link ${target} names no file`)
      }
    }
  })
  return found
}

function trackedFiles(): string[] {
  return execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean)
}

t.test('the rules catch what they are meant to (made-up text)', async t => {
  const tracked = new Set(['docs/domain.md', 'docs/benchmarks.md', 'README.md', 'src/x.ts'])
  const flagged = (file: string, text: string): string[] => findOutsideReferences(file, text, tracked).map(f => f.why)
  t.same(flagged('src/x.ts', ' * see /work/shared/design/DOMAIN.md section 2'), [
    'an absolute path of the development machine',
    'the design notes outside the repository',
    'DOMAIN.md is not in the repository (the facts are in docs/)',
  ])
  t.same(flagged('src/x.ts', '// as ../shared/notes.txt says'), ['a folder beside the repository'])
  t.same(flagged('bench/a.ts', ' * (PERFORMANCE.md): packed UPDATEs'), ['PERFORMANCE.md is not in the repository (the facts are in docs/)'])
  t.same(flagged('src/x.ts', '// docs/domain.md section 3, docs/style.md'), ['docs/style.md does not exist'])
  t.same(flagged('docs/domain.md', 'see [the README](../README.md) and [notes](../../notes.md) and [x](missing.md)'),
    ['link ../../notes.md leaves the repository', 'link missing.md names no file'])
  t.same(flagged('docs/domain.md', 'RFC text at [RFC 4271](https://www.rfc-editor.org/rfc/rfc4271) and [layout](../src/x.ts)'), [], 'URLs and links inside the repository pass')
  t.same(findOutsideReferences('src/x.ts', '// STYLE.md', new Set(['docs/STYLE.md'])), [], 'a design note by that name inside the repository is fine')
})

t.test('no tracked file points outside the repository', async t => {
  const files = trackedFiles()
  t.ok(files.includes('README.md') && files.includes('docs/domain.md'), `git ls-files lists the repository (${files.length} files)`)
  const tracked = new Set(files)
  let scanned = 0
  const problems: string[] = []
  for (const file of files) {
    if (file === SELF) continue
    const bytes = readFileSync(join(ROOT, file))
    if (bytes.includes(0)) continue // binary: captures, images
    scanned++
    for (const f of findOutsideReferences(file, bytes.toString('utf8'), tracked)) problems.push(`${file}:${f.line}: ${f.why}: ${f.text}`)
  }
  t.ok(scanned > 100, `${scanned} text files scanned`)
  t.same(problems, [], 'every reference stays inside the repository')
})

t.test('docs/ holds the facts the code points at', async t => {
  for (const doc of ['docs/domain.md', 'docs/benchmarks.md', 'docs/architecture.md']) {
    const text = readFileSync(join(ROOT, doc), 'utf8')
    t.ok(text.length > 2000, `${doc} written`)
  }
  // Code comments cite domain.md by section number: those sections must exist.
  const domain = readFileSync(join(ROOT, 'docs/domain.md'), 'utf8')
  const cited = new Set<string>()
  for (const file of trackedFiles()) {
    if (!/\.(ts|mjs|sh|c)$/.test(file)) continue
    for (const m of readFileSync(join(ROOT, file), 'utf8').matchAll(/docs\/domain\.md section (\d+)/g)) cited.add(m[1]!)
  }
  t.ok(cited.size > 0, `sections cited: ${[...cited].sort().join(', ')}`)
  for (const n of cited) t.match(domain, new RegExp(`^## ${n}\\. `, 'm'), `docs/domain.md has section ${n}`)
  const arch = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8')
  for (const heading of ['Testing on a real kernel', 'Conventions']) t.match(arch, new RegExp(`^## ${heading}$`, 'm'), `docs/architecture.md has "${heading}"`)
})
