/**
 * Where the Kubernetes API emulator finds our CRDs: deploy/crds of this package, from source, from
 * dist/ or from a bundle (the lab's, dist/bundle), and reading them from files or directories. Kept
 * apart from the emulator's program (main.ts), which starts itself when it is the process's entry
 * file: in a bundle every module shares the bundle's file name, so importing main.ts there would start
 * a second emulator.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** deploy/crds of this package, whether running from source or from dist/. */
export function defaultCrdDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    const c = join(dir, 'deploy', 'crds')
    if (existsSync(c)) return c
    dir = dirname(dir)
  }
  throw new Error('deploy/crds not found above ' + dirname(fileURLToPath(import.meta.url)))
}

export function readCrds(paths: string[]): string[] {
  const out: string[] = []
  for (const p of paths) {
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p).sort()) if (/\.ya?ml$/.test(f)) out.push(readFileSync(join(p, f), 'utf8'))
    } else out.push(readFileSync(p, 'utf8'))
  }
  return out
}
