#!/usr/bin/env node
/**
 * gsi-routerd: the gsi-router node daemon: BGP to CN2 control nodes and the AWS Transit Gateway, kernel data plane.
 * Entry point: the only place that reads argv and exits.
 */
import { version } from '../version.js'

const usage = `usage: gsi-routerd [--help] [--version]

the gsi-router node daemon: BGP to CN2 control nodes and the AWS Transit Gateway, kernel data plane`

function main(argv: string[]): number {
  if (argv.includes('--version') || argv.includes('-V')) {
    process.stdout.write(`gsi-routerd ${version}\n`)
    return 0
  }
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage + '\n')
    return 0
  }
  process.stderr.write(`gsi-routerd: unknown arguments: ${argv.join(' ')}\n${usage}\n`)
  return 2
}

process.exitCode = main(process.argv.slice(2))
