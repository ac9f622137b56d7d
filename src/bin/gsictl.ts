#!/usr/bin/env node
/**
 * gsictl: the gsi-router operator CLI: show bgp summary | neighbor | route, show tunnels.
 * Entry point: the only place that reads argv and exits.
 */
import { version } from '../version.js'

const usage = `usage: gsictl [--help] [--version]

the gsi-router operator CLI: show bgp summary | neighbor | route, show tunnels`

function main(argv: string[]): number {
  if (argv.includes('--version') || argv.includes('-V')) {
    process.stdout.write(`gsictl ${version}\n`)
    return 0
  }
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage + '\n')
    return 0
  }
  process.stderr.write(`gsictl: unknown arguments: ${argv.join(' ')}\n${usage}\n`)
  return 2
}

process.exitCode = main(process.argv.slice(2))
