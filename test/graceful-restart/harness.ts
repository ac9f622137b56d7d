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
import type { UpdateSink } from '../../bgp/codec/bulk.js'

const here = dirname(fileURLToPath(import.meta.url))

export function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (cond()) return resolve()
      if (Date.now() > deadline) return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))
      setTimeout(tick, 20)
    }
    tick()
  })
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

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
