#!/usr/bin/env node
/**
 * Bundles the programs, each into one file under dist/bundle/: gsi-controller, gsi-routerd and
 * gsictl (the image's programs) and gsi-lab, from the compiled dist/ JavaScript, with esbuild.
 * `--prod` bundles the image's three only (the image builds no lab).
 *
 * Why:
 * - The image runs them (its `gsi-routerd`, `gsi-controller` and `gsictl` are the bundles): one file
 *   parsed instead of hundreds of modules found and linked one by one. gsi-routerd idles in 5 MB less
 *   (81 against 86 MB VmRSS, bench/daemon.bench.ts's memory cell) and starts sooner.
 * - The lab's data plane runs in the project's qemu VM where this kernel lacks GRE, fou, MPLS or
 *   VRF, and the VM reads the host's files over 9p under software emulation. There, loading a program
 *   module by module costs thousands of file look-ups: the Kubernetes client and the AWS SDK alone
 *   took 32 s to import that way and 5 s from one bundled file (measured here, TCG). The controller,
 *   five daemons and the lab itself start in that VM, so the lab runs bundles everywhere (one
 *   behaviour on every kernel).
 *
 * Left outside each bundle, loaded from node_modules as usual: the packages with native code
 * (raw-socket, sockopt) and our own addon (native/build, found from the bundle's path by
 * native/index.ts).
 *
 * Chunks are named by their content's hash, so a change of sources leaves the old chunks behind: a
 * build of every program removes the chunks it did not write (not `--prod`, which writes the image's
 * chunks only and must leave the lab's). Nothing a running program may still load is removed: the
 * same sources give the same chunk names, so a suite rebuilding beside another removes nothing.
 *
 *   node scripts/bundle.mjs          (after `npm run build:prod` and `npm run build:lab`)
 *   node scripts/bundle.mjs --prod   (after `npm run build:prod`: the image's programs)
 */
import { build } from 'esbuild'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const IMAGE_PROGRAMS = ['gsi-controller', 'gsi-routerd', 'gsictl']
export const BUNDLED_PROGRAMS = ['gsi-lab', ...IMAGE_PROGRAMS]

/** dist/bundle/NAME.mjs of this checkout. */
export function bundlePath(name) {
  return join(root, 'dist', 'bundle', `${name}.mjs`)
}

/** A chunk esbuild names (chunkNames below), or its source map. */
const CHUNK = /^chunk-[A-Z0-9]+\.mjs(\.map)?$/

/** Bundles `programs` into `outdir`; returns the chunk files removed as stale (see above). */
export async function bundle(programs = BUNDLED_PROGRAMS, outdir = join(root, 'dist', 'bundle')) {
  const entryPoints = {}
  for (const name of programs) {
    const js = join(root, 'dist', 'src', 'bin', `${name}.js`)
    if (!existsSync(js)) throw new Error(`bundle: ${js} is missing: run \`npm run build:prod${programs.includes('gsi-lab') ? ' && npm run build:lab' : ''}\` first`)
    entryPoints[name] = js
  }
  const result = await build({
    entryPoints,
    // Written below, each file only when it changed and then by rename: tests may be starting a
    // bundled program while a suite rebuilds (npm test's kernel suite builds beside the host suite)
    write: false,
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    // What a program imports only on demand (the controller's AWS and Kubernetes clients in gsictl's
    // doctor, say) goes into shared chunks beside the programs, so each start parses what it runs.
    // Beside, not below: native/index.ts and src/version.ts find their files from a module's path.
    splitting: true,
    chunkNames: 'chunk-[hash]',
    // CommonJS packages inside an ES module bundle still call require() for Node's own modules
    banner: { js: "import { createRequire as __gsiCreateRequire } from 'node:module'; const require = __gsiCreateRequire(import.meta.url);" },
    external: ['raw-socket', 'sockopt', '*.node'],
    // Whitespace and syntax only, names kept (stack traces stay readable): a fifth less to parse at
    // each start under emulation (2.8 s -> 2.3 s for the daemon's Kubernetes client there)
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    logLevel: 'warning',
  })
  for (const f of result.outputFiles) {
    if (existsSync(f.path) && Buffer.compare(readFileSync(f.path), f.contents) === 0) continue
    mkdirSync(dirname(f.path), { recursive: true })
    const tmp = `${f.path}.${process.pid}.tmp`
    writeFileSync(tmp, f.contents, { mode: f.text.startsWith('#!') ? 0o755 : 0o644 })
    renameSync(tmp, f.path)
  }
  const removed = []
  if (BUNDLED_PROGRAMS.every((p) => programs.includes(p))) {
    const written = new Set(result.outputFiles.map((f) => resolve(f.path)))
    for (const name of readdirSync(outdir)) {
      if (CHUNK.test(name) && !written.has(resolve(outdir, name))) {
        rmSync(join(outdir, name), { force: true })
        removed.push(name)
      }
    }
  }
  return removed
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = Date.now()
  const programs = process.argv.includes('--prod') ? IMAGE_PROGRAMS : BUNDLED_PROGRAMS
  bundle(programs).then((removed) => {
    process.stdout.write(`bundle: ${programs.map(n => `dist/bundle/${n}.mjs`).join(', ')} (${Date.now() - t0} ms${removed.length > 0 ? `; ${removed.length} stale chunk files removed` : ''})\n`)
  }, (e) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`)
    process.exit(1)
  })
}
