/**
 * One daemon's capture, run INSIDE a network namespace made by scripts/capture-fixtures.mjs:
 * starts the daemon with the configuration of capture-plan.ts, opens each planned session (eBGP,
 * iBGP, ...) to it with the raw recorder (bgp-recorder.ts), records everything it sends, makes it
 * close each session (with an RFC 9003 shutdown communication where it can), writes
 * `<daemon>-<session>.bin` into the output directory and prints a JSON summary on stdout.
 *
 * Usage: node --import tsx test/interop/capture-run.ts <daemon> <outDir> <workDir>
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { planFor, FAMILY_AFI_SAFI, recorderAddress, RECORDER_EBGP_ASN, RECORDER_HOLD_TIME, type DaemonName } from './capture-plan.js'
import { recordSession, type Endpoint } from './bgp-recorder.js'
import { startDaemon, type RunningDaemon } from './daemons.js'

const [daemonArg, outDir, workDir] = process.argv.slice(2)
if (!daemonArg || !outDir || !workDir) {
  console.error('usage: capture-run.ts <daemon> <outDir> <workDir>')
  process.exit(2)
}
const outputDir: string = outDir
const plan = planFor(daemonArg as DaemonName)
const sessions = plan.sessions.map((s, i) => ({
  ...s,
  address: recorderAddress(i, plan),
  routerId: recorderAddress(i, plan),
  asn: s.ebgp ? RECORDER_EBGP_ASN : plan.asn,
}))
type Session = (typeof sessions)[number]

let daemon: RunningDaemon | undefined

async function recordOne(s: Session): Promise<readonly [string, Record<string, unknown>]> {
  const endpoint: Endpoint =
    plan.recorderMode === 'connect'
      ? { mode: 'connect', host: plan.address, port: 179, localAddress: s.address }
      : { mode: 'listen', host: s.address, port: 179 }
  const rec = await recordSession({
    endpoint,
    open: {
      asn: s.asn,
      holdTime: RECORDER_HOLD_TIME,
      routerId: s.routerId,
      fourOctetAs: s.as4 !== false,
      addPathReceive: (s.addPath ?? []).map(f => ({ afi: FAMILY_AFI_SAFI[f][0], safi: FAMILY_AFI_SAFI[f][1] })),
    },
    ebgp: s.ebgp,
    openTimeoutMs: 20_000,
    quietMs: plan.quietMs ?? 1500,
    maxMs: 30_000,
    ...(plan.shutdownMessage !== undefined
      ? {
          daemonShutdown: async () => {
            if (!daemon?.shutdownPeer) throw new Error(`${plan.daemon}: no way to shut a session down`)
            await daemon.shutdownPeer(s.address, `${plan.shutdownMessage} (${s.name})`)
          },
        }
      : {}),
  })
  const file = `${plan.daemon}-${s.name}.bin`
  writeFileSync(join(outputDir, file), rec.bytes)
  return [s.name, { file, bytes: rec.bytes.length, types: rec.types, daemonFamilies: rec.daemonFamilies, endOfRib: rec.endOfRib }] as const
}

const peers = sessions.map(s => ({ address: s.address, asn: s.asn, families: s.families, addPath: s.addPath ?? [] }))
const summary: Record<string, unknown> = { daemon: plan.daemon }
try {
  if (plan.recorderMode === 'connect') {
    // One session after another: a daemon with a RIB would otherwise pass what one recorder session
    // sent it (RTC memberships) on to the next.
    daemon = await startDaemon(plan, workDir, peers)
    const results = []
    for (const s of sessions) results.push(await recordOne(s))
    summary.sessions = Object.fromEntries(results)
  } else {
    // The daemon connects to us (ExaBGP, which keeps no RIB between peers): listen first, then start it.
    const pending = sessions.map(recordOne)
    pending.forEach(p => p.catch(() => undefined))
    daemon = await startDaemon(plan, workDir, peers)
    summary.sessions = Object.fromEntries(await Promise.all(pending))
  }
  summary.version = daemon.version
} finally {
  await daemon?.stop()
}
process.stdout.write(JSON.stringify(summary) + '\n')
