/**
 * `gsictl doctor` as a library: gather a snapshot (gather.ts), judge it (checks.ts), print it
 * (render.ts). `runDoctor` is what gsictl calls and what a lab or a test calls to run the whole
 * checklist programmatically; the checks and the snapshot types are public so callers may add a
 * probe source or judge a snapshot of their own.
 */
import { exitStatus, runChecks } from './checks.js'
import { gatherSnapshot, type GatherOptions } from './gather.js'
import type { CheckResult, DoctorSnapshot } from './snapshot.js'

export * from './snapshot.js'
export { CHECKS, runChecks, exitStatus, type Check } from './checks.js'
export { gatherSnapshot, gatherCluster, gatherAws, fetchReport, probesOfDaemons, DEFAULT_CONTROLLER_NAMESPACE, type GatherOptions } from './gather.js'
export { formatDoctor, doctorJson, summarize, type DoctorSummary } from './render.js'

export interface DoctorRun {
  readonly snapshot: DoctorSnapshot
  readonly results: readonly CheckResult[]
  /** 1 when a line failed, else 0. */
  readonly exitStatus: number
}

export async function runDoctor(o: GatherOptions): Promise<DoctorRun> {
  const snapshot = await gatherSnapshot(o)
  const results = runChecks(snapshot)
  return { snapshot, results, exitStatus: exitStatus(results) }
}
