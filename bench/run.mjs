#!/usr/bin/env node
/**
 * `npm run bench`: runs every compiled benchmark (dist/bench/*.bench.js), or those whose name contains
 * one of the arguments (`npm run bench -- codec`). Each benchmark prints its own markdown table; the
 * numbers in the README's benchmark table come from this output.
 */
import { readdirSync, existsSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { ensureNode22 } from '../scripts/node22.mjs'

await ensureNode22()

const dir = 'dist/bench'
const filters = process.argv.slice(2)
const files = existsSync(dir) ? readdirSync(dir).filter(f => f.endsWith('.bench.js')).sort() : []
const chosen = files.filter(f => filters.length === 0 || filters.some(x => f.includes(x)))
if (chosen.length === 0) {
  console.error(`no benchmark matches ${filters.join(' ') || '(any)'} in ${dir}; run npm run build first`)
  process.exit(1)
}
let failed = 0
for (const f of chosen) {
  console.log(`\n## ${f.replace(/\.bench\.js$/, '')}\n`)
  const r = spawnSync(process.execPath, ['--expose-gc', `${dir}/${f}`], { stdio: 'inherit' })
  if (r.status !== 0) { failed++; console.error(`benchmark ${f} failed with status ${r.status}`) }
}
process.exit(failed ? 1 : 0)
