#!/usr/bin/env node
/**
 * ec2-emulator: runs the EC2 Query API emulator on its own, for the lab and manual tests.
 *   node dist/controller/emulator/ec2/main.js --port 4566 [--host 127.0.0.1] [--region us-east-1]
 *        [--available-delay-ms 3000] [--deleting-delay-ms 2000] [--bgp-up] [--seed vpcs.json]
 * --seed names a JSON file holding SeedVpc[] (see state.ts: id, cidr, subnets [{id, az, cidr}],
 * routeTables [{id, subnets}], the first route table being the main one); default: one VPC
 * 10.0.0.0/16 with a subnet in each of three AZs and two route tables.
 * Prints the endpoint on stdout ("EC2 emulator listening on http://127.0.0.1:4566"), then serves
 * until SIGINT/SIGTERM. Point the AWS SDK or CLI at it with an endpoint override and any credentials.
 * A wrong command line exits 2 with the usage, a failure to start exits 1.
 */
import { readFileSync } from 'node:fs'
import { startEc2Emulator } from './server.js'
import type { SeedVpc } from './state.js'
import { numberOption, runCommandLine, UsageError, type CommandLine, type OptionSpecs, type OptionValues } from '../../../src/lib/args.js'

const commandLine = {
  program: 'ec2-emulator',
  usage: `usage: ec2-emulator [--port N] [--host ADDR] [--region R] [--available-delay-ms MS]
                    [--deleting-delay-ms MS] [--bgp-up] [--seed vpcs.json]

the EC2 Query API emulator: the transit gateway, attachment, Connect, route and security group
actions gsi-controller calls, with AWS's states and delays

  --port N                 listening port (default 4566; 0 = any free port)
  --host ADDR              listening address (default 127.0.0.1)
  --region R               region of the seeded VPCs (default us-east-1)
  --available-delay-ms MS  time a created resource stays pending (default 3000)
  --deleting-delay-ms MS   time a deleted resource stays deleting (default 2000)
  --bgp-up                 report Connect peers' BGP status up once available
  --seed FILE              a JSON array of VPCs (SeedVpc[]) instead of the default VPC
  --help`,
  options: {
    port: { type: 'string', default: '4566' },
    host: { type: 'string', default: '127.0.0.1' },
    region: { type: 'string', default: 'us-east-1' },
    'available-delay-ms': { type: 'string', default: '3000' },
    'deleting-delay-ms': { type: 'string', default: '2000' },
    'bgp-up': { type: 'boolean', default: false },
    seed: { type: 'string' },
  },
} as const satisfies CommandLine<OptionSpecs>

async function main(v: OptionValues<typeof commandLine.options>): Promise<number> {
  const ms = (flag: string, text: string): number => numberOption(flag, text, { min: 0, max: 86_400_000 })
  const opts: { port: number, host: string, region: string, availableDelayMs: number, deletingDelayMs: number, bgpUpWhenAvailable: boolean, vpcs?: SeedVpc[] } = {
    port: numberOption('--port', v.port, { min: 0, max: 65535 }),
    host: v.host,
    region: v.region,
    availableDelayMs: ms('--available-delay-ms', v['available-delay-ms']),
    deletingDelayMs: ms('--deleting-delay-ms', v['deleting-delay-ms']),
    bgpUpWhenAvailable: v['bgp-up'],
  }
  if (v.seed !== undefined) {
    let seed: unknown
    try {
      seed = JSON.parse(readFileSync(v.seed, 'utf8')) as unknown
    } catch (e) {
      throw new UsageError(`--seed ${v.seed}: ${e instanceof Error ? e.message : String(e)}`)
    }
    if (!Array.isArray(seed)) throw new UsageError(`--seed ${v.seed}: expected a JSON array of VPCs`)
    opts.vpcs = seed as SeedVpc[]
  }
  const emu = await startEc2Emulator(opts)
  process.stdout.write(`EC2 emulator listening on ${emu.endpoint}\n`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await emu.close()
  return 0
}

runCommandLine(commandLine, process.argv.slice(2), main).then((code) => { process.exitCode = code }, (e: unknown) => {
  process.stderr.write(`ec2-emulator: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exitCode = 1
})
