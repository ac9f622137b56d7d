/**
 * The package version, read once from package.json next to the build so that every program and the
 * metrics report the same string.
 */
import { readFileSync } from 'node:fs'

function findPackageJson(): string {
  // Source runs from <root>/src, the build from <root>/dist/src: try both.
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const url = new URL(rel, import.meta.url)
      const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'gsi-router' && typeof pkg.version === 'string') return pkg.version
    } catch {
      // not here; try the next place
    }
  }
  return '0.0.0-unknown'
}

export const version: string = findPackageJson()
