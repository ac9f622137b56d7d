/**
 * `gsi-routerd --check-config FILE`: load and validate a config file without starting anything, and
 * say what is wrong in lines an operator can act on (`FILE: path: reason`). The caller prints the
 * messages and exits 0 when `ok`, 1 otherwise.
 */
import { readFileSync } from 'node:fs'
import { ConfigError, parseConfigText } from './load.js'
import type { DaemonConfig } from './model.js'

export interface CheckResult {
  readonly ok: boolean
  /** On success a summary line, then any warnings; on failure one line per problem. */
  readonly messages: readonly string[]
}

/**
 * `more`: checks of the loaded configuration beyond the loader's (the gateway logic's, given by the
 * program: src/config does not import it), each problem a `path: reason` line.
 */
export function checkConfigFile(path: string, more: (config: DaemonConfig) => readonly string[] = () => []): CheckResult {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    return { ok: false, messages: [`${path}: cannot read the file: ${(e as Error).message}`] }
  }
  try {
    const { config, warnings } = parseConfigText(text, path)
    const problems = more(config)
    if (problems.length > 0) return { ok: false, messages: problems.map(l => `${path}: ${l}`) }
    const n = (k: number, what: string): string => `${k} ${what}${k === 1 ? '' : 's'}`
    return {
      ok: true,
      messages: [
        `${path}: configuration OK (node ${config.nodeAddress}, ${n(config.tgw.connectPeers.length, 'Connect peer')}, ${n(config.controlNodes.peers.length, 'control node')}, dataplane ${config.dataplane})`,
        ...warnings.map(w => `${path}: warning: ${w}`),
      ],
    }
  } catch (e) {
    if (e instanceof ConfigError) return { ok: false, messages: e.lines.map(l => `${path}: ${l}`) }
    throw e
  }
}
