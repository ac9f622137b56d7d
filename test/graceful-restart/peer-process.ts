/**
 * A BGP peer in a process of its own (our Session), for graceful-restart tests that kill a speaker
 * with SIGKILL: the kernel closes its TCP connection without a NOTIFICATION, as when a daemon dies.
 *
 * argv[2] is JSON: { session: SessionConfig fields (no functions), routes: ['10.0.0.0/24', ...],
 * nextHop: '192.0.2.1', localPref?: number, eor: boolean }. Once Established it sends one UPDATE per
 * route (IPv4 unicast), then End-of-RIB when `eor` is set, and prints JSON lines on stdout:
 * {"event":"established","restarting":bool} and {"event":"sent","routes":n,"eor":bool}.
 * stdin takes JSON lines: {"announce":[...]} and {"eor":true}.
 */
import { createInterface } from 'node:readline'
import { Family } from '../../bgp/codec/afi.js'
import { encodeMessage } from '../../bgp/codec/message.js'
import type { UpdateMessage } from '../../bgp/codec/update.js'
import { Session, type SessionConfig } from '../../bgp/session/index.js'

interface Spec {
  readonly session: SessionConfig
  readonly routes: readonly string[]
  readonly nextHop: string
  readonly localPref?: number
  readonly eor: boolean
}

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec

function ipv4(text: string): number {
  const p = text.split('.').map(Number)
  return (((p[0] ?? 0) << 24) | ((p[1] ?? 0) << 16) | ((p[2] ?? 0) << 8) | (p[3] ?? 0)) >>> 0
}

const session = new Session(spec.session)
session.on('error', () => {})

function announce(routes: readonly string[]): void {
  const ctx = session.negotiated?.context
  if (ctx === undefined) return
  for (const r of routes) {
    const [addr, len] = r.split('/')
    const a = ipv4(addr ?? '')
    const update: UpdateMessage = {
      type: 'update',
      withdrawn: [],
      attributes: {
        origin: 0,
        asPath: session.negotiated?.ebgp === true ? [{ type: 2, asns: [spec.session.localAs] }] : [],
        nextHop: ipv4(spec.nextHop),
        ...(spec.localPref !== undefined && session.negotiated?.ebgp !== true ? { localPref: spec.localPref } : {}),
      },
      nlri: [{ family: Family.Ipv4Unicast, prefix: Uint8Array.of(a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff), length: Number(len) }],
    }
    session.sendUpdate(encodeMessage(update, ctx))
  }
}

const say = (o: object): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`)
}

session.on('established', (n) => {
  say({ event: 'established', restarting: spec.session.gracefulRestart?.restarting === true, peerGr: n.gracefulRestart !== undefined })
  announce(spec.routes)
  if (spec.eor) session.sendEndOfRib(Family.Ipv4Unicast)
  say({ event: 'sent', routes: spec.routes.length, eor: spec.eor })
})

createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line) as { announce?: string[]; eor?: boolean }
  if (cmd.announce !== undefined) announce(cmd.announce)
  if (cmd.eor === true) session.sendEndOfRib(Family.Ipv4Unicast)
  say({ event: 'done', cmd })
})
process.stdin.on('end', () => process.exit(0))
session.start()
