/**
 * How `gsictl doctor` prints its checklist: one line per result (verdict, check, subject, evidence)
 * with what to do underneath when it is not ok, and a count at the end; or, with --json, the results
 * and the snapshot they were judged from, for automation and for a lab to keep.
 */
import type { CheckResult, DoctorSnapshot, Verdict } from './snapshot.js'

const LABEL: Record<Verdict, string> = { ok: 'ok', warn: 'warn', fail: 'FAIL' }

export interface DoctorSummary {
  readonly ok: number
  readonly warn: number
  readonly fail: number
}

export function summarize(results: readonly CheckResult[]): DoctorSummary {
  return {
    ok: results.filter((r) => r.verdict === 'ok').length,
    warn: results.filter((r) => r.verdict === 'warn').length,
    fail: results.filter((r) => r.verdict === 'fail').length,
  }
}

export function formatDoctor(results: readonly CheckResult[], s: DoctorSnapshot): string {
  const where = s.mode === 'node'
    ? `node ${s.daemons[0]?.node ?? '?'} (${s.daemons[0]?.source ?? ''})${s.cluster !== undefined ? ' and the cluster' : ''}`
    : `cluster, controller namespace ${s.cluster?.namespace ?? '?'}`
  const aws = s.aws !== undefined ? 'EC2 asked' : 'EC2 not asked (AWS lines from the CRs\' status)'
  const out = [`gsictl doctor: ${where}; ${aws}`]
  const checkWidth = Math.max(...results.map((r) => r.check.length), 5)
  const subjectWidth = Math.max(...results.map((r) => (r.subject ?? '').length), 1)
  for (const r of results) {
    out.push(`${LABEL[r.verdict].padEnd(5)} ${r.check.padEnd(checkWidth)}  ${(r.subject ?? '-').padEnd(subjectWidth)}  ${r.evidence}`)
    if (r.action !== undefined) out.push(`${' '.repeat(5 + 1 + checkWidth + 2 + subjectWidth + 2)}do: ${r.action}`)
  }
  const n = summarize(results)
  out.push(`${n.ok} ok, ${n.warn} warn, ${n.fail} FAIL`)
  return out.join('\n') + '\n'
}

export function doctorJson(results: readonly CheckResult[], s: DoctorSnapshot): string {
  return JSON.stringify({ summary: summarize(results), results, snapshot: s }, null, 2) + '\n'
}
