/**
 * Test harness, not a test: gsi-routerd's data-plane probes (src/daemon/probes.ts) with their real raw
 * sockets, run inside the gateway's network namespace through test/kernel/lib's NsWorker. The daemon
 * around them is reduced to what the probes ask of it: every session up, every GRE link present.
 */
import { resolveConfig } from '../../src/config/index.js'
import { ProbeRunner, rejectAll, type ProbeReport } from '../../src/daemon/probes.js'

const silent = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, fatal() {}, child() { return silent } } as never

/**
 * Probes for `seconds` with the configuration `input` (the file's shape), then the report. `vrouters`:
 * the vRouters taken as having a tunnel, so that `probes.targets` behind them are probed.
 */
export async function probeFor(input: unknown, seconds: number, vrouters: readonly string[] = []): Promise<ProbeReport> {
  const { config } = resolveConfig(input)
  const r = new ProbeRunner({
    config, log: silent,
    host: { bgpUp: () => true, hasGreLink: () => true, vrouters: () => new Set(vrouters), sessionsOf: () => [], setExportPolicy: () => {}, normalExportPolicy: rejectAll },
  })
  r.start()
  await new Promise((res) => setTimeout(res, seconds * 1000))
  r.stop()
  return r.report()
}
