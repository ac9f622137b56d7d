/**
 * Our receiver for the ingest benchmark (a child process in the receiver's namespace, run with
 * --expose-gc), listening on 198.18.0.2:179 for one passive eBGP peer, in one of two modes:
 * - `speaker` (default, the real thing): bgp/speaker's BgpSpeaker, its one peer with an export
 *   policy that rejects everything (the daemons export nothing either);
 * - `rib`: a bare Session (bgp/session) whose updateSink feeds the bulk decoder
 *   (bgp/codec/bulk.ts decodeUpdateBulk) into the RIB's sink (`rib.sink(peer, ctx)`), with
 *   `rib.commit()` once per turn of the event loop (setImmediate), as the RIB contract asks.
 *
 * It detects "all in Loc-RIB" itself: after each commit it reads the table's size; when it reaches
 * the expected count it reports the time since the first UPDATE byte arrived (`done {ms}`). The
 * harness measures busy-end and RSS from /proc like for the daemons; `baseline` and `measure` make
 * this process collect garbage and report its heap (heapUsed + external, which holds typed arrays).
 *
 * argv[2]: JSON {"family": FamilyKey, "expected": N, "mode": "speaker" | "rib"}.
 * Events: ready; established; first-byte {t}; done {ms, size, t}; baseline/measure {heap, rss, ...};
 * error {message} (e.g. no bgp/rib/rib.ts in this checkout: never a made-up number).
 */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { FamilyKey } from '../../bgp/codec/afi.js'
import { decodeUpdateBulk, type UpdateSink } from '../../bgp/codec/bulk.js'
import type { CodecContext } from '../../bgp/codec/context.js'
import { parseIpv4 } from '../../src/lib/address.js'
import type { RibApi, RibOptions, PeerId, RoutePolicy } from '../../bgp/rib/api.js'
import { externalOfTables } from '../../bgp/rib/grow.js'
import { BgpListener, Session } from '../../bgp/session/index.js'
import { onCommands, report } from './channel.js'
import { monoMs } from './proc.js'
import { INJECTOR_ADDRESS, INJECTOR_AS, RECEIVER_ADDRESS, RECEIVER_AS } from './scenario.js'

const args = JSON.parse(process.argv[2] ?? '{}') as { family?: FamilyKey; expected?: number; mode?: 'speaker' | 'rib' }
const family = args.family as FamilyKey
const expected = args.expected as number
const mode = args.mode ?? 'speaker'
if (mode !== 'speaker' && mode !== 'rib') throw new RangeError(`mode ${JSON.stringify(mode)}: must be speaker or rib`)

const here = dirname(fileURLToPath(import.meta.url))
const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js'
const ribPath = join(here, '..', '..', 'bgp', 'rib', `rib.${ext}`)

async function loadRib(): Promise<new (o: RibOptions) => RibApi> {
  if (!existsSync(ribPath)) throw new Error(`${ribPath} does not exist: class Rib (bgp/rib/rib.ts) is not in this checkout yet, so our row cannot be measured`)
  // A computed specifier: this file must compile before rib.ts exists.
  const mod = (await import(pathToFileURL(ribPath).href)) as { Rib?: new (o: RibOptions) => RibApi }
  if (typeof mod.Rib !== 'function') throw new Error(`${ribPath} exports no class Rib`)
  return mod.Rib
}

function memory(): Record<string, number> {
  const m = process.memoryUsage()
  // the RIB's arena is counted by what is in it, not by its address space (bgp/rib/grow.ts)
  const external = externalOfTables(m.external)
  return { heapUsed: m.heapUsed, external, arrayBuffers: m.arrayBuffers, heap: m.heapUsed + external, rss: m.rss }
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc
  if (g === undefined) throw new Error('run with --expose-gc')
  g()
  g()
}

type Handle = { rib: RibApi; peer: PeerId; stop: () => Promise<void> }

/** Mode "speaker": the real thing, bgp/speaker's BgpSpeaker with one passive peer and an export
 * policy that rejects everything (the daemons run with export none too). */
async function startSpeaker(onChange: () => void, onFirst: () => void): Promise<Handle> {
  const speakerPath = join(here, '..', '..', 'bgp', 'speaker', `index.${ext}`)
  if (!existsSync(speakerPath)) throw new Error(`${speakerPath} does not exist: no BgpSpeaker in this checkout (INGEST_OURS=rib runs Session + Rib)`)
  const { BgpSpeaker } = (await import(pathToFileURL(speakerPath).href)) as typeof import('../../bgp/speaker/index.js')
  const exportNone: RoutePolicy = { perAttributeSet: true, apply: () => null }
  const speaker = new BgpSpeaker({ localAs: RECEIVER_AS, routerId: RECEIVER_ADDRESS, listen: { address: RECEIVER_ADDRESS, port: 179 } })
  speaker.addPeer({ name: 'injector', address: INJECTOR_ADDRESS, asn: INJECTOR_AS, passive: true, holdTime: 240, families: [family], exportPolicy: { [family]: exportNone } })
  await speaker.start()
  const session = speaker.session('injector')
  session.on('established', () => report({ event: 'established' }))
  session.on('end-of-rib', () => report({ event: 'end-of-rib', t: monoMs() }))
  session.on('down', (d) => report({ event: 'down', reason: d.reason, detail: d.detail ?? '' }))
  // The speaker owns the session's updateSink: the first commit stands for the first UPDATE here
  // (the harness times "done" from the injector's write, on the same clock, in both modes).
  let first = true
  speaker.rib.on('changed', () => {
    if (first) onFirst()
    first = false
    onChange()
  })
  return { rib: speaker.rib, peer: speaker.peerId('injector'), stop: () => speaker.stop('benchmark done') }
}

/** Mode "rib": a Session whose updateSink feeds the RIB's bulk sink, commit once per loop turn. */
async function startRib(onChange: () => void, onFirst: () => void): Promise<Handle> {
  const Rib = await loadRib()
  const rib = new Rib({ localAs: RECEIVER_AS, routerId: parseIpv4(RECEIVER_ADDRESS) })
  const peer: PeerId = rib.addPeer({ address: INJECTOR_ADDRESS, asn: INJECTOR_AS, routerId: 0, ebgp: true, name: 'injector' })
  let sink: UpdateSink | undefined
  let scheduled = false
  const commit = (): void => {
    scheduled = false
    rib.commit()
    onChange()
  }
  const updateSink = (buf: Uint8Array, offset: number, length: number, ctx: CodecContext): void => {
    if (sink === undefined) {
      onFirst()
      sink = rib.sink(peer, ctx)
    }
    decodeUpdateBulk(buf, offset, length, ctx, sink)
    if (!scheduled) {
      scheduled = true
      setImmediate(commit)
    }
  }
  const listener = new BgpListener({ host: RECEIVER_ADDRESS, port: 179 })
  await listener.listen()
  const session = new Session(
    {
      name: 'injector',
      peerAddress: INJECTOR_ADDRESS,
      peerAs: INJECTOR_AS,
      localAs: RECEIVER_AS,
      localId: parseIpv4(RECEIVER_ADDRESS),
      holdTime: 240,
      families: [family],
      passive: true,
      updateSink,
    },
    { listener },
  )
  session.on('established', (n) => {
    rib.updatePeer(peer, { routerId: n.peerId })
    report({ event: 'established' })
  })
  session.on('end-of-rib', () => report({ event: 'end-of-rib', t: monoMs() }))
  session.on('down', (d) => report({ event: 'down', reason: d.reason, detail: d.detail ?? '' }))
  session.start()
  return {
    rib,
    peer,
    stop: async () => {
      await session.destroy('benchmark done')
      await listener.close()
    },
  }
}

async function main(): Promise<void> {
  let firstT = 0
  let done = false
  let changes = 0
  const ref: { h?: Handle } = {}
  const size = (): number => (ref.h !== undefined && ref.h.rib.families().includes(family) ? ref.h.rib.table(family).size : 0)
  const onFirst = (): void => {
    firstT = monoMs()
    report({ event: 'first-byte', t: firstT })
  }
  const onChange = (): void => {
    changes++
    if (!done && size() >= expected) {
      done = true
      const t = monoMs()
      report({ event: 'done', ms: t - firstT, t, size: size(), commits: changes })
    }
  }
  const h = (ref.h = mode === 'rib' ? await startRib(onChange, onFirst) : await startSpeaker(onChange, onFirst))
  const { rib, peer } = h
  report({ event: 'ready', mode })
  onCommands(
    (cmd) => {
      if (cmd === 'baseline') {
        gc()
        report({ event: 'baseline', ...memory() })
      } else if (cmd === 'measure') {
        gc()
        const c = rib.counts(peer, family)
        report({ event: 'measure', ...memory(), size: size(), received: c.received, accepted: c.accepted, active: c.active, attributeSets: rib.attributeSets })
      } else if (cmd === 'stop') {
        void Promise.race([h.stop(), new Promise((r) => setTimeout(r, 2000))]).then(() => process.exit(0))
      }
    },
    () => process.exit(0),
  )
}

main().catch((e: unknown) => {
  report({ event: 'error', message: e instanceof Error ? e.message : String(e) })
  process.exit(3)
})
