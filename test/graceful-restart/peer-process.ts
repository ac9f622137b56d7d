/**
 * A BGP peer in a process of its own (our Session), for graceful-restart tests that kill a speaker
 * with SIGKILL: the kernel closes its TCP connection without a NOTIFICATION, as when a daemon dies.
 *
 * argv[2] is JSON: { session: SessionConfig fields (no functions), routes: ['10.0.0.0/24', ...],
 * nextHop: '192.0.2.1', eor: boolean }. Once Established it sends one UPDATE per
 * route (IPv4 unicast, updates.ts), then End-of-RIB when `eor` is set, and prints JSON lines on stdout:
 * {"event":"established","restarting":bool} and {"event":"sent","routes":n,"eor":bool}.
 * stdin takes JSON lines: {"announce":[...]} and {"eor":true}.
 */
import { createInterface } from 'node:readline'
import { Family } from '../../bgp/codec/afi.js'
import { Session, type SessionConfig } from '../../bgp/session/index.js'
import { sendRoutes } from './updates.js'

interface Spec {
  readonly session: SessionConfig
  readonly routes: readonly string[]
  readonly nextHop: string
  readonly eor: boolean
}

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec

const session = new Session(spec.session)
session.on('error', () => {})

const announce = (routes: readonly string[]): void => {
  sendRoutes(session, routes, spec.nextHop)
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
