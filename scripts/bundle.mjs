#!/usr/bin/env node
/**
 * Bundles the lab's programs, each into one file under dist/bundle/: gsi-lab, gsi-controller,
 * gsi-routerd and gsictl, from the compiled dist/ JavaScript (the same code the image and the tests
 * run), with esbuild.
 *
 * Why: the lab's data plane runs in the project's qemu VM where this kernel lacks GRE, fou, MPLS or
 * VRF, and the VM reads the host's files over 9p under software emulation. There, loading a program
 * module by module costs thousands of file look-ups: the Kubernetes client and the AWS SDK alone
 * took 32 s to import that way and 5 s from one bundled file (measured here, TCG). The controller,
 * five daemons and the lab itself start in that VM, so the lab runs bundles everywhere (one behaviour
 * on every kernel). The image and the DaemonSet keep the plain dist/ tree.
 *
 * Left outside each bundle, loaded from node_modules as usual: the packages with native code
 * (raw-socket, sockopt) and our own addon (native/build, found from the bundle's path by
 * native/index.ts).
 *
 *   node scripts/bundle.mjs        (after `npm run build:prod` and `npm run build:lab`)
 */
import { build } from 'esbuild'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const BUNDLED_PROGRAMS = ['gsi-lab', 'gsi-controller', 'gsi-routerd', 'gsictl']

/** dist/bundle/NAME.mjs of this checkout. */
export function bundlePath(name) {
  return join(root, 'dist', 'bundle', `${name}.mjs`)
}

export async function bundle() {
  const entryPoints = {}
  for (const name of BUNDLED_PROGRAMS) {
    const js = join(root, 'dist', 'src', 'bin', `${name}.js`)
    if (!existsSync(js)) throw new Error(`bundle: ${js} is missing: run \`npm run build:prod && npm run build:lab\` first`)
    entryPoints[name] = js
  }
  await build({
    entryPoints,
    outdir: join(root, 'dist', 'bundle'),
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
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = Date.now()
  bundle().then(() => {
    process.stdout.write(`bundle: ${BUNDLED_PROGRAMS.map(n => `dist/bundle/${n}.mjs`).join(', ')} (${Date.now() - t0} ms)\n`)
  }, (e) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`)
    process.exit(1)
  })
}
