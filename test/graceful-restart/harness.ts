/**
 * Test harness for graceful restart: wires a Session to a Rib and a GracefulRestart the way the
 * speaker does (UPDATEs through the RIB's bulk sink, 'established' -> peerUp, 'down' -> peerDown
 * with the NOTIFICATION the session recorded, 'end-of-rib' -> endOfRib), and runs peers in child
 * processes (peer-process.ts) that tests kill with SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { decodeUpdateBulk } from '../../bgp/codec/bulk.js'
import type { FamilyKey } from '../../bgp/codec/afi.js'
import type { Negotiated, SessionConfig } from '../../bgp/session/index.js'
import { Session } from '../../bgp/session/index.js'
import type { BgpListener } from '../../bgp/session/index.js'
import type { PeerId, RibApi } from '../../bgp/rib/api.js'
import { GracefulRestart, downCauseOf } from '../../bgp/speaker/graceful-restart.js'
import type { GracefulRestartOptions } from '../../bgp/speaker/graceful-restart.js'
import { Rib } from '../../bgp/rib/index.js'
import { Family } from '../../bgp/codec/afi.js'
import type { UpdateSink } from '../../bgp/codec/bulk.js'
import { waitFor } from '../session/helpers.js'

const here = dirname(fileURLToPath(import.meta.url))

// The session tests' deadline helper, re-exported so the graceful-restart tests import from one place.
export { waitFor }

/** A Session of ours whose routes go into `rib` as peer `peer`, with `gr` told of everything. */
export interface Wired {
  readonly session: Session
  readonly peer: PeerId
  /** Negotiated of the current or last established session. */
  negotiated: Negotiated | undefined
  readonly downs: string[]
  readonly eors: FamilyKey[]
  established: number
}

export function wire(session: Session, rib: RibApi, gr: GracefulRestart, peer: PeerId): Wired {
  const w: Wired = { session, peer, negotiated: undefined, downs: [], eors: [], established: 0 }
  session.on('established', (n) => {
    w.negotiated = n
    w.established++
    rib.updatePeer(peer, { routerId: n.peerId })
    gr.peerUp(peer, n)
  })
  session.on('down', (d) => {
    w.downs.push(d.reason)
    if (d.wasEstablished) gr.peerDown(peer, w.negotiated, downCauseOf(d, session.stats()))
  })
  session.on('end-of-rib', (f) => {
    w.eors.push(f)
    gr.endOfRib(peer, f)
  })
  session.on('error', () => {})
  return w
}

/** The updateSink of a SessionConfig that feeds the RIB (one bulk sink per codec context). */
export function ribSink(rib: RibApi, peer: () => PeerId): NonNullable<SessionConfig['updateSink']> {
  let sink: UpdateSink | undefined
  let forCtx: unknown
  return (buf, offset, length, ctx) => {
    if (sink === undefined || forCtx !== ctx) {
      sink = rib.sink(peer(), ctx)
      forCtx = ctx
    }
    decodeUpdateBulk(buf, offset, length, ctx, sink)
    rib.commit()
  }
}

/** Where our helper-side Session (AS 65001, IPv4 unicast) connects to a real daemon. */
export interface DaemonPeer {
  /** Session and RIB peer name. */
  readonly name: string
  readonly localId: number
  readonly localAddress: string
  readonly peerAddress: string
  readonly peerPort: number
  readonly peerAs: number
  readonly gr: GracefulRestartOptions
}

/** A Rib, a GracefulRestart on it and a wired (not yet started) Session to a daemon. */
export interface HelperSide {
  readonly rib: Rib
  readonly peerId: PeerId
  readonly gr: GracefulRestart
  readonly session: Session
  readonly w: Wired
  /** The daemon's IPv4 routes in our Rib: received, and of those stale. */
  counts(): { received: number; stale: number }
}

/**
 * We as the helper against a daemon: the Rib, GracefulRestart and Session the way the speaker wires
 * them, all closed at teardown. RFC 4724 4.2: the helper sends End-of-RIB after its initial update
 * too (a restarting gobgpd waits for it before sending its own routes).
 */
export function helperSide(t: { teardown(fn: () => void): void }, d: DaemonPeer): HelperSide {
  const V4 = Family.Ipv4Unicast
  const rib = new Rib({ localAs: 65001, routerId: d.localId })
  const peerId = rib.addPeer({ address: d.peerAddress, asn: d.peerAs, routerId: 0, ebgp: true, name: d.name })
  const gr = new GracefulRestart(rib, d.gr)
  t.teardown(() => gr.close())
  const session = new Session({
    name: d.name,
    localAs: 65001,
    localId: d.localId,
    peerAs: d.peerAs,
    peerAddress: d.peerAddress,
    peerPort: d.peerPort,
    localAddress: d.localAddress,
    holdTime: 9,
    families: [V4],
    connectRetryTime: 0.5,
    idleHoldTime: 0.1,
    gracefulRestart: gr.localCapability([V4]),
    updateSink: ribSink(rib, () => peerId),
  })
  t.teardown(() => session.destroy())
  const w = wire(session, rib, gr, peerId)
  session.on('established', () => session.sendEndOfRib(V4))
  const counts = (): { received: number; stale: number } => {
    const c = rib.counts(peerId, V4)
    return { received: c.received, stale: c.stale }
  }
  return { rib, peerId, gr, session, w, counts }
}

export function passiveSession(config: SessionConfig, listener: BgpListener): Session {
  return new Session({ ...config, passive: true }, { listener })
}

/** A peer in a child process (peer-process.ts: a bare Session; speaker-process.ts: a BgpSpeaker). */
export interface PeerProcess {
  readonly proc: ChildProcess
  readonly events: { event: string; [k: string]: unknown }[]
  waitEvent(event: string, timeoutMs?: number, count?: number): Promise<void>
  send(cmd: object): void
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>
}

export interface PeerSpec {
  readonly session: Omit<SessionConfig, 'updateSink'>
  readonly routes: readonly string[]
  readonly nextHop: string
  readonly eor: boolean
}

const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const p of live) {
    try {
      p.kill('SIGKILL')
    } catch {
      // gone
    }
  }
})

export function startPeer(spec: PeerSpec): PeerProcess {
  return startChild('peer-process.ts', spec)
}

type Script = 'peer-process.ts' | 'speaker-process.ts'

/** One process per script started ahead of time (tsx needs ~1-2 s to load our modules), unref'd
 * while it waits so it never keeps a test file alive. */
const warm = new Map<Script, ChildProcess>()

function spawnChild(script: Script): ChildProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(here, script)], { stdio: ['pipe', 'pipe', 'inherit'] })
  live.add(proc)
  proc.once('exit', () => live.delete(proc))
  return proc
}

function setRef(proc: ChildProcess, on: boolean): void {
  for (const s of [proc.stdin, proc.stdout] as unknown as ({ ref?: () => void; unref?: () => void } | null)[]) {
    if (on) s?.ref?.()
    else s?.unref?.()
  }
  if (on) proc.ref()
  else proc.unref()
}

/** Runs one of this directory's process scripts with `spec` (first stdin line); its JSON lines on stdout become events. */
export function startChild(script: Script, spec: object): PeerProcess {
  let proc = warm.get(script)
  warm.delete(script)
  if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) proc = spawnChild(script)
  setRef(proc, true)
  const next = spawnChild(script)
  setRef(next, false)
  warm.set(script, next)
  const events: { event: string; [k: string]: unknown }[] = []
  createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', (l) => {
    try {
      events.push(JSON.parse(l) as { event: string })
    } catch {
      // not ours
    }
  })
  const p = proc
  const exited = new Promise<void>((r) => {
    if (p.exitCode !== null || p.signalCode !== null) r()
    else p.once('exit', () => r())
  })
  p.stdin?.write(`${JSON.stringify(spec)}\n`)
  return {
    proc: p,
    events,
    waitEvent: (event, timeoutMs = 10_000, count = 1) =>
      waitFor(() => events.filter((e) => e.event === event).length >= count, timeoutMs, `peer process event ${event}`),
    send: (cmd) => p.stdin?.write(`${JSON.stringify(cmd)}\n`),
    kill: async () => {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
      await exited
    },
  }
}
