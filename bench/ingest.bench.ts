/**
 * Route ingest from one peer over TCP (issue 3, docs/benchmarks.md): 1,000,000 IPv4 unicast routes and
 * 500,000 VPN-IPv4 routes (RD, label, route target, RFC 9012 encapsulation community) sent by an
 * injector as pre-built packed UPDATEs (max 4,096 bytes, a new attribute set every 1,000 prefixes)
 * over a veth pair between two network namespaces, to gsi-router (bgp/session + bgp/rib) and, in
 * the same run, to BIRD 2.0.12, FRR bgpd 8.4.4 and GoBGP 3.10 (RIB only, no kernel).
 *
 * Each cell: seconds from the first UPDATE to busy-end (the receiver stopped burning CPU, read from
 * /proc every 25 ms), peak RSS (VmHWM), bytes per route (VmRSS growth / routes); every receiver's
 * route count is checked at the end (its own CLI; ours its table size), a short count fails the cell.
 * Method and harness: bench/ingest/ (harness.ts says the steps).
 *
 *   npm run build && npm run bench -- ingest
 *   INGEST_RUNS=3                     runs per cell, the median (by seconds) is shown (default 1)
 *   INGEST_IPV4=N INGEST_VPNV4=N      other sizes (default 1000000 and 500000; 0 skips the row)
 *   INGEST_RECEIVERS=ours,bird,...    a subset of the columns
 *   INGEST_LABEL_PER_ROUTE=1          one more VPN row with a label per route (default: per attribute set)
 *   INGEST_TIMEOUT_MS=300000          bound of one cell's ingest (a receiver still busy then fails the cell)
 *   INGEST_OURS=rib                   our receiver as a bare Session + Rib instead of the BgpSpeaker
 *   INGEST_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p"   extra node flags for our receiver
 */
import { DAEMON_VERSIONS, daemonVersion } from './ingest/daemons.js'
import { runCell, type CellResult, type ReceiverKind } from './ingest/harness.js'
import { scenario, type Scenario } from './ingest/scenario.js'

const ALL: ReceiverKind[] = ['ours', 'bird', 'frr', 'gobgp']
const receivers = (process.env.INGEST_RECEIVERS ?? ALL.join(',')).split(',').map((x) => x.trim()).filter(Boolean) as ReceiverKind[]
for (const r of receivers) if (!ALL.includes(r)) throw new RangeError(`INGEST_RECEIVERS: ${JSON.stringify(r)} is not one of ${ALL.join(', ')}`)
const runs = Number(process.env.INGEST_RUNS ?? 1)
if (!Number.isInteger(runs) || runs < 1 || runs > 9) throw new RangeError(`INGEST_RUNS ${process.env.INGEST_RUNS}: must be 1..9`)
const sizes = { ipv4: Number(process.env.INGEST_IPV4 ?? 1_000_000), vpnv4: Number(process.env.INGEST_VPNV4 ?? 500_000) }
const scenarios: Scenario[] = []
if (sizes.ipv4 > 0) scenarios.push(scenario('ipv4', sizes.ipv4))
if (sizes.vpnv4 > 0) scenarios.push(scenario('vpnv4', sizes.vpnv4))
// A label per route (CN2 gives each VM interface its own label) as an extra row on request.
if (sizes.vpnv4 > 0 && process.env.INGEST_LABEL_PER_ROUTE === '1') scenarios.push(scenario('vpnv4', sizes.vpnv4, 'per-route'))

const title: Record<ReceiverKind, string> = { ours: 'gsi-router', ...DAEMON_VERSIONS }
// The table names versions: check the installed ones say the same.
for (const r of receivers) {
  if (r === 'ours') continue
  const v = daemonVersion(r)
  const want = DAEMON_VERSIONS[r].split(' ').pop() as string
  if (!v.includes(want)) console.error(`warning: ${r} reports "${v}", the table says ${DAEMON_VERSIONS[r]}`)
}

type Cell = { ok: true; res: CellResult; all: CellResult[] } | { ok: false; error: string }
const cells = new Map<string, Cell>()
const key = (s: Scenario, r: ReceiverKind): string => `${s.name}/${s.labels}/${r}`

for (const s of scenarios) {
  for (const r of receivers) {
    const all: CellResult[] = []
    let error: string | undefined
    for (let i = 0; i < runs && error === undefined; i++) {
      try {
        all.push(await runCell(r, s, { log: (l) => console.error(`  ${l}`) }))
      } catch (e) {
        error = (e as Error).message
        console.error(`  ${r} ${s.name}: FAILED: ${error}`)
      }
    }
    if (error !== undefined) cells.set(key(s, r), { ok: false, error })
    else {
      const sorted = [...all].sort((a, b) => a.seconds - b.seconds)
      cells.set(key(s, r), { ok: true, res: sorted[sorted.length >> 1] as CellResult, all })
    }
  }
}

const mb = (kb: number): string => `${(kb / 1024).toFixed(0)} MB`
const fmt = (c: Cell | undefined): string => {
  if (c === undefined) return 'not run'
  if (!c.ok) return `**FAILED** (see below)`
  return `${c.res.seconds.toFixed(2)} s, ${mb(c.res.peakRssKb)}, ${Math.round(c.res.bytesPerRoute).toLocaleString('en-US')} B/route`
}

console.log(`Route ingest, one injector peer over a veth pair between two namespaces, packed UPDATEs (max 4,096 bytes, a new attribute set every 1,000 prefixes), RIB only. Each cell: seconds from the first UPDATE to busy-end (CPU idle, /proc at 25 ms), peak RSS (VmHWM), RSS growth per route.${runs > 1 ? ` Median of ${runs} runs.` : ''}\n`)
console.log(`| Scenario | ${receivers.map((r) => title[r]).join(' | ')} |`)
console.log(`|---|${receivers.map(() => '---').join('|')}|`)
for (const s of scenarios) console.log(`| ${s.label} | ${receivers.map((r) => fmt(cells.get(key(s, r)))).join(' | ')} |`)

// Do we beat each?
if (receivers.includes('ours')) {
  console.log('')
  for (const s of scenarios) {
    const o = cells.get(key(s, 'ours'))
    for (const r of receivers) {
      if (r === 'ours') continue
      const d = cells.get(key(s, r))
      if (o === undefined || !o.ok || d === undefined || !d.ok) {
        console.log(`- ${s.label} vs ${title[r]}: no verdict (a cell failed)`)
        continue
      }
      const faster = o.res.seconds < d.res.seconds
      const smaller = o.res.bytesPerRoute < d.res.bytesPerRoute
      console.log(
        `- ${s.label} vs ${title[r]}: ${faster ? 'faster' : 'SLOWER'} (${o.res.seconds.toFixed(2)} s vs ${d.res.seconds.toFixed(2)} s, ${(d.res.seconds / o.res.seconds).toFixed(2)}x), ` +
          `${smaller ? 'smaller' : 'LARGER'} (${Math.round(o.res.bytesPerRoute)} vs ${Math.round(d.res.bytesPerRoute)} B/route); ` +
          `CPU ${o.res.cpuSeconds.toFixed(2)} s vs ${d.res.cpuSeconds.toFixed(2)} s`,
      )
    }
  }
}

// Details
console.log('\n| Scenario | Receiver | busy-end s (each run) | CPU s | minor faults | RSS before → after | peak RSS | B/route | routes | UPDATEs | stream written s | ours (BgpSpeaker or Session + Rib): own clock s, heap B/route, attribute sets |')
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|')
for (const s of scenarios) {
  for (const r of receivers) {
    const c = cells.get(key(s, r))
    if (c === undefined || !c.ok) continue
    const x = c.res
    const o = x.ours !== undefined ? `${x.ours.mode}: ${x.ours.selfSeconds.toFixed(2)}, ${Math.round(x.ours.heapBytesPerRoute)}, ${x.ours.attributeSets}` : ''
    console.log(
      `| ${s.name}${s.labels === 'per-route' ? ' (label per route)' : ''} | ${title[r]} | ${c.all.map((a) => a.seconds.toFixed(2)).join(' / ')} | ${x.cpuSeconds.toFixed(2)} | ${x.minorFaults} | ${mb(x.rssBeforeKb)} → ${mb(x.rssAfterKb)} | ${mb(x.peakRssKb)} | ${x.bytesPerRoute.toFixed(1)} | ${x.count} | ${x.messages} | ${x.writtenSeconds.toFixed(2)} | ${o} |`,
    )
  }
}
const failed = [...cells.entries()].filter(([, c]) => !c.ok)
for (const [k, c] of failed) if (!c.ok) console.log(`\nFAILED ${k}: ${c.error}`)
process.exit(failed.length > 0 ? 1 : 0)
