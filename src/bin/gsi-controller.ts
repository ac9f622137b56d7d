#!/usr/bin/env node
/**
 * gsi-controller: the gsi-router controller: custom resources and the AWS resources behind them.
 * Entry point: the only place that reads argv and exits.
 */
import { version } from '../version.js'

const usage = `usage: gsi-controller [--help] [--version]

the gsi-router controller: custom resources and the AWS resources behind them`

function main(argv: string[]): number {
  if (argv.includes('--version') || argv.includes('-V')) {
    process.stdout.write(`gsi-controller ${version}\n`)
    return 0
  }
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage + '\n')
    return 0
  }
  process.stderr.write(`gsi-controller: unknown arguments: ${argv.join(' ')}\n${usage}\n`)
  return 2
}

process.exitCode = main(process.argv.slice(2))
