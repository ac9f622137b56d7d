#!/usr/bin/env node
/**
 * Records what real BGP daemons (gobgpd, FRR bgpd, BIRD 2, ExaBGP 4.2) send, each inside a network
 * namespace of its own, into test/fixtures/captured/ (raw streams + manifest.json). Needs root
 * (ip netns) and the Debian packages gobgpd, frr, bird2, exabgp.
 *
 * Usage: node scripts/capture-fixtures.mjs [gobgp|frr|bird|exabgp ...]
 * The work is in test/interop/capture-fixtures.ts (TypeScript, loaded through tsx).
 */
import { register } from 'tsx/esm/api'
import { ensureNode22 } from './node22.mjs'

await ensureNode22()
register()
const { main } = await import('../test/interop/capture-fixtures.ts')
try {
  await main(process.argv.slice(2))
} catch (err) {
  console.error(err instanceof Error ? err.message : err)
  process.exitCode = 1
}
