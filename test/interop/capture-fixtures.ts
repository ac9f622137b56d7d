/**
 * Regenerates test/fixtures/captured/: for each real daemon (gobgpd, FRR bgpd, BIRD 2, ExaBGP 4.2)
 * creates a network namespace of its own, runs capture-run.ts inside it (daemon + raw recorder on
 * that namespace's loopback, nothing leaves it), then writes manifest.json from the capture plan (the
 * configuration we gave each daemon), never from our decoder. Namespaces and every process in them
 * are removed whatever happens (netns.ts).
 *
 * Entry: `node scripts/capture-fixtures.mjs [daemon...]` (default: all).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { spawn, execFileSync } from 'node:child_process'
import { createNetns, destroyNetns } from './netns.js'
import { PLANS, FAMILY_AFI_SAFI, RECORDER_EBGP_ASN, RECORDER_HOLD_TIME, expectedRoutes, recorderAddress, VETH, type DaemonPlan } from './capture-plan.js'

const ROOT = resolve(import.meta.dirname, '..', '..')
const OUT = join(ROOT, 'test', 'fixtures', 'captured')
const MANIFEST = join(OUT, 'manifest.json')

interface RunSummary {
  daemon: string
  version: string
  sessions: Record<string, { file: string; bytes: number; types: number[]; daemonFamilies: { afi: number; safi: number }[]; endOfRib: { afi: number; safi: number }[] }>
}

function runInNetns(ns: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((res, rej) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', d => (out += d))
    child.stderr.on('data', d => (err += d))
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', code => {
      clearTimeout(t)
      if (code === 0) res(out)
      else rej(new Error(`capture-run ${args.join(' ')} exited ${code}\n${err}\n${out}`))
    })
  })
}

function captureEntry(plan: DaemonPlan, summary: RunSummary, index: number): Record<string, unknown> {
  const session = plan.sessions[index]!
  const s = summary.sessions[session.name]
  if (!s) throw new Error(`${plan.daemon}: no ${session.name} session recorded`)
  const addr = recorderAddress(index, plan)
  return {
    file: s.file,
    daemon: plan.daemon,
    version: summary.version,
    session: session.name,
    ebgp: session.ebgp,
    daemonAddress: plan.address,
    recorder: {
      address: addr,
      asn: session.ebgp ? RECORDER_EBGP_ASN : plan.asn,
      routerId: addr,
      holdTime: RECORDER_HOLD_TIME,
      as4: session.as4 !== false,
      addPathReceive: (session.addPath ?? []).map(f => FAMILY_AFI_SAFI[f]),
    },
    open: {
      asn: plan.asn,
      myAsField: plan.asn > 0xffff ? 23456 : plan.asn,
      routerId: plan.routerId,
      holdTime: plan.holdTime,
      multiprotocol: session.families.map(f => FAMILY_AFI_SAFI[f]),
      routeRefresh: true,
      fourOctetAs: plan.asn,
      ...(plan.extraCapabilities ? { extraCapabilities: plan.extraCapabilities } : {}),
    },
    routes: expectedRoutes(plan, session),
    endOfRib: plan.sendsEndOfRib ? session.families.map(f => FAMILY_AFI_SAFI[f]) : [],
    notification: plan.shutdownMessage !== undefined ? { code: 6, subcode: 2, shutdownMessage: `${plan.shutdownMessage} (${session.name})` } : null,
    observed: { bytes: s.bytes, messageTypes: s.types, endOfRibSeen: s.endOfRib.map(f => [f.afi, f.safi]) },
  }
}

export async function main(argv: string[]): Promise<void> {
  const wanted = argv.length ? argv : PLANS.map(p => p.daemon)
  const old = existsSync(MANIFEST) ? (JSON.parse(readFileSync(MANIFEST, 'utf8')) as { captures: { daemon: string }[] }) : { captures: [] }
  const captures = old.captures.filter(c => !wanted.includes(c.daemon))
  const limitations: Record<string, string[]> = {}
  let failed = 0
  for (const plan of PLANS.filter(p => wanted.includes(p.daemon))) {
    const ns = createNetns(`gsifx-${plan.daemon}`)
    if (plan.veth) {
      const ip = (...a: string[]): void => void execFileSync('ip', ['-n', ns, ...a])
      ip('link', 'add', 'fx0', 'type', 'veth', 'peer', 'name', 'fx1')
      ip('addr', 'add', `${VETH.daemon}/${VETH.prefixLength}`, 'dev', 'fx0')
      ip('addr', 'add', `${VETH.daemon6}/${VETH.prefixLength6}`, 'dev', 'fx0', 'nodad')
      plan.sessions.forEach((_, i) => ip('addr', 'add', `${recorderAddress(i, plan)}/${VETH.prefixLength}`, 'dev', 'fx1'))
      ip('link', 'set', 'fx0', 'up')
      ip('link', 'set', 'fx1', 'up')
    }
    const work = mkdtempSync(join(tmpdir(), `gsifx-${plan.daemon}-`))
    try {
      process.stderr.write(`capturing ${plan.daemon} in ${ns}\n`)
      const out = await runInNetns(ns, ['test/interop/capture-run.ts', plan.daemon, OUT, work], 90_000)
      const summary = JSON.parse(out.trim().split('\n').pop() as string) as RunSummary
      plan.sessions.forEach((_, i) => captures.push(captureEntry(plan, summary, i) as { daemon: string }))
      limitations[plan.daemon] = plan.limitations
      process.stderr.write(`  ${plan.daemon}: ${summary.version}: ${Object.values(summary.sessions).map(s => `${s.file} ${s.bytes} B`).join(', ')}\n`)
    } catch (err) {
      failed++
      process.stderr.write(`  ${plan.daemon} FAILED: ${(err as Error).message}\n`)
    } finally {
      destroyNetns(ns)
      rmSync(work, { recursive: true, force: true })
    }
  }
  const order = PLANS.map(p => p.daemon) as string[]
  captures.sort((a, b) => order.indexOf(a.daemon) - order.indexOf(b.daemon))
  const manifest = {
    description:
      'BGP byte streams recorded from real daemons by scripts/capture-fixtures.mjs. Expected values come from the configuration the script gave each daemon (test/interop/capture-plan.ts), not from any decoder. "observed" is bookkeeping from the raw recorder only.',
    recorderFamilies: Object.values(FAMILY_AFI_SAFI),
    limitations: { ...((old as { limitations?: Record<string, string[]> }).limitations ?? {}), ...limitations },
    captures,
  }
  writeFileSync(MANIFEST, JSON.stringify(manifest, null, 2) + '\n')
  if (failed) throw new Error(`${failed} daemon capture(s) failed`)
}
