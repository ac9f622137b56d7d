#!/usr/bin/env node
/**
 * `npm run bench`: runs every compiled benchmark (dist/bench/*.bench.js), or those whose name contains
 * one of the arguments (`npm run bench -- codec`). Each benchmark prints its own markdown table; the
 * numbers in the README's benchmark table come from this output, and docs/benchmarks.md says how
 * they are measured. The command line goes through the package's shared helper (src/lib/args.ts, as
 * built into dist/), like every other program's.
 */
import { readdirSync, existsSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { ensureNode22 } from '../scripts/node22.mjs'

await ensureNode22()

const dir = 'dist/bench'
const helper = '../dist/src/lib/args.js'
if (!existsSync(new URL(helper, import.meta.url))) {
  console.error('bench: dist/ is missing; run npm run build first (npm run bench does)')
  process.exit(1)
}
const { runCommandLine } = await import(helper)

const commandLine = {
  program: 'bench',
  usage: `usage: npm run bench [-- NAME...]

runs the compiled benchmarks of dist/bench (codec, convergence, daemon, framer, gateway, ingest,
kernel-routes, rib), or those whose
file name contains one of the NAMEs; each prints a markdown table`,
  options: {},
  positionals: true,
}

const code = await runCommandLine(commandLine, process.argv.slice(2), (_values, filters) => {
  const files = existsSync(dir) ? readdirSync(dir).filter(f => f.endsWith('.bench.js')).sort() : []
  const chosen = files.filter(f => filters.length === 0 || filters.some(x => f.includes(x)))
  if (chosen.length === 0) {
    console.error(`no benchmark matches ${filters.join(' ') || '(any)'} in ${dir}; run npm run build first`)
    return 1
  }
  let failed = 0
  for (const f of chosen) {
    console.log(`\n## ${f.replace(/\.bench\.js$/, '')}\n`)
    const r = spawnSync(process.execPath, ['--expose-gc', `${dir}/${f}`], { stdio: 'inherit' })
    if (r.status !== 0) { failed++; console.error(`benchmark ${f} failed with status ${r.status}`) }
  }
  return failed ? 1 : 0
})
process.exit(code)
