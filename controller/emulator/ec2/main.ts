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
 */
import { readFileSync } from 'node:fs'
import { startEc2Emulator } from './server.js'
import type { SeedVpc } from './state.js'

const usage = `usage: ec2-emulator [--port N] [--host ADDR] [--region R] [--available-delay-ms MS]
                    [--deleting-delay-ms MS] [--bgp-up] [--seed vpcs.json]`

async function main(argv: string[]): Promise<number> {
  const opts: { port: number, host: string, region: string, availableDelayMs: number, deletingDelayMs: number, bgpUpWhenAvailable: boolean, vpcs?: SeedVpc[] } =
    { port: 4566, host: '127.0.0.1', region: 'us-east-1', availableDelayMs: 3000, deletingDelayMs: 2000, bgpUpWhenAvailable: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const next = (): string => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${a} needs a value`)
      return v
    }
    const int = (name: string): number => {
      const v = Number(next())
      if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer`)
      return v
    }
    switch (a) {
      case '--port': opts.port = int('--port'); break
      case '--host': opts.host = next(); break
      case '--region': opts.region = next(); break
      case '--available-delay-ms': opts.availableDelayMs = int('--available-delay-ms'); break
      case '--deleting-delay-ms': opts.deletingDelayMs = int('--deleting-delay-ms'); break
      case '--bgp-up': opts.bgpUpWhenAvailable = true; break
      case '--seed': {
        const file = next()
        const v = JSON.parse(readFileSync(file, 'utf8')) as unknown
        if (!Array.isArray(v)) throw new Error(`--seed ${file}: expected a JSON array of VPCs`)
        opts.vpcs = v as SeedVpc[]
        break
      }
      case '-h': case '--help': process.stdout.write(usage + '\n'); return 0
      default: process.stderr.write(`ec2-emulator: unknown argument ${a}\n${usage}\n`); return 2
    }
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

main(process.argv.slice(2)).then((code) => { process.exitCode = code }, (e: Error) => {
  process.stderr.write(`ec2-emulator: ${e.message}\n`)
  process.exitCode = 2
})
