/**
 * A BGP peer in a process of its own (our Session), for graceful-restart tests that kill a speaker
 * with SIGKILL: the kernel closes its TCP connection without a NOTIFICATION, as when a daemon dies.
 *
 * The spec comes as JSON in argv[2], or as the first line on stdin (a process started ahead of
 * time, modules loaded, waiting for its spec): { session: SessionConfig fields (no functions), routes: ['10.0.0.0/24', ...],
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

const say = (o: object): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`)
}

let session: Session | undefined
let spec: Spec | undefined

function begin(s: Spec): void {
  spec = s
  const ses = new Session(s.session)
  session = ses
  ses.on('error', () => {})
  ses.on('established', (n) => {
    say({ event: 'established', restarting: s.session.gracefulRestart?.restarting === true, peerGr: n.gracefulRestart !== undefined })
    sendRoutes(ses, s.routes, s.nextHop)
    if (s.eor) ses.sendEndOfRib(Family.Ipv4Unicast)
    say({ event: 'sent', routes: s.routes.length, eor: s.eor })
  })
  ses.start()
}

createInterface({ input: process.stdin }).on('line', (line) => {
  if (spec === undefined) return begin(JSON.parse(line) as Spec)
  const cmd = JSON.parse(line) as { announce?: string[]; eor?: boolean }
  if (cmd.announce !== undefined && session !== undefined) sendRoutes(session, cmd.announce, spec.nextHop)
  if (cmd.eor === true) session?.sendEndOfRib(Family.Ipv4Unicast)
  say({ event: 'done', cmd })
})
process.stdin.on('end', () => process.exit(0))
if (process.argv[2] !== undefined) begin(JSON.parse(process.argv[2]) as Spec)
