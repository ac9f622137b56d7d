/**
 * One daemon's capture, run INSIDE a network namespace made by scripts/capture-fixtures.mjs:
 * starts the daemon with the configuration of capture-plan.ts, opens an eBGP and an iBGP session to
 * it with the raw recorder (bgp-recorder.ts), records everything it sends, makes it close each
 * session (with an RFC 9003 shutdown communication where it can), writes
 * `<daemon>-<session>.bin` into the output directory and prints a JSON summary on stdout.
 *
 * Usage: node --import tsx test/interop/capture-run.ts <daemon> <outDir> <workDir>
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { planFor, recorderAddress, RECORDER_EBGP_ASN, RECORDER_HOLD_TIME, type DaemonName } from './capture-plan.js'
import { recordSession, type Endpoint } from './bgp-recorder.js'
import { startDaemon } from './daemons.js'

const [daemonArg, outDir, workDir] = process.argv.slice(2)
if (!daemonArg || !outDir || !workDir) {
  console.error('usage: capture-run.ts <daemon> <outDir> <workDir>')
  process.exit(2)
}
const plan = planFor(daemonArg as DaemonName)
const sessions = plan.sessions.map((s, i) => ({
  ...s,
  address: recorderAddress(i),
  routerId: recorderAddress(i),
  asn: s.ebgp ? RECORDER_EBGP_ASN : plan.asn,
}))

const daemon = await startDaemon(plan, workDir, sessions.map(s => ({ address: s.address, asn: s.asn, families: s.families })))
const summary: Record<string, unknown> = { daemon: plan.daemon, version: daemon.version, sessions: {} }
try {
  // Sessions one after another when we connect (the daemon is passive): a daemon with a RIB would
  // otherwise pass what one recorder session sent it (RTC memberships) on to the other. A daemon that
  // connects to us (ExaBGP) keeps no RIB between peers, so its sessions run side by side.
  const recordOne = async (s: (typeof sessions)[number]) => {
      const endpoint: Endpoint =
        plan.recorderMode === 'connect'
          ? { mode: 'connect', host: plan.address, port: 179, localAddress: s.address }
          : { mode: 'listen', host: s.address, port: 179 }
      const shutdown = plan.shutdownMessage !== undefined && daemon.shutdownPeer
      const rec = await recordSession({
        endpoint,
        open: { asn: s.asn, holdTime: RECORDER_HOLD_TIME, routerId: s.routerId },
        ebgp: s.ebgp,
        openTimeoutMs: 20_000,
        quietMs: 1500,
        maxMs: 30_000,
        ...(shutdown ? { daemonShutdown: () => daemon.shutdownPeer!(s.address, `${plan.shutdownMessage} (${s.name})`) } : {}),
      })
      const file = `${plan.daemon}-${s.name}.bin`
      writeFileSync(join(outDir, file), rec.bytes)
      return [s.name, { file, bytes: rec.bytes.length, types: rec.types, daemonFamilies: rec.daemonFamilies, endOfRib: rec.endOfRib }] as const
  }
  const results = []
  if (plan.recorderMode === 'connect') for (const s of sessions) results.push(await recordOne(s))
  else results.push(...(await Promise.all(sessions.map(recordOne))))
  summary.sessions = Object.fromEntries(results)
} finally {
  await daemon.stop()
}
process.stdout.write(JSON.stringify(summary) + '\n')
