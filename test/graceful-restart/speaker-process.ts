/**
 * A BgpSpeaker in a process of its own, for the graceful-restart test in which *we* restart: the
 * test kills it with SIGKILL (no NOTIFICATION, kernel routes would survive) and starts it again with
 * `gracefulRestart.restarting`.
 *
 * The spec (argv[2], or the first line on stdin) is JSON: { speaker: SpeakerOptions, peers: PeerConfig[], routes: ['10.1.0.0/16', ...],
 * nextHop: '192.0.2.1' }. The routes are originated (IPv4 unicast) before the speaker starts.
 * stdout gets JSON lines: {"event":"phase","phase":...,"reason":...,"updatesSent":{peer: n}} (UPDATEs
 * each session had sent when the phase began), {"event":"end-of-rib","peer":...}, and
 * {"event":"peer-state",...}.
 */
import { createInterface } from 'node:readline'
import { Family } from '../../bgp/codec/afi.js'
import { BgpSpeaker } from '../../bgp/speaker/index.js'
import type { PeerConfig, SpeakerOptions } from '../../bgp/speaker/index.js'
import { ipv4 } from './updates.js'

interface Spec {
  readonly speaker: SpeakerOptions
  readonly peers: readonly PeerConfig[]
  readonly routes: readonly string[]
  readonly nextHop: string
}

const spec = JSON.parse(process.argv[2] ?? (await firstLine())) as Spec

/** The spec from stdin when not in argv (see harness.ts: processes started ahead of time). */
async function firstLine(): Promise<string> {
  const rl = createInterface({ input: process.stdin })
  for await (const line of rl) {
    rl.close()
    return line
  }
  return '{}'
}
const say = (o: object): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`)
}

const speaker = new BgpSpeaker(spec.speaker)
speaker.on('error', (e) => say({ event: 'error', message: e.message }))
speaker.on('gr-phase', (e) => {
  const updatesSent: Record<string, number> = {}
  for (const name of speaker.peerNames()) updatesSent[name] = speaker.session(name).stats().messagesOut.update
  say({ event: 'phase', phase: e.phase, reason: e.reason, updatesSent })
})
speaker.on('end-of-rib', (e) => say({ event: 'end-of-rib', peer: e.peer, family: e.family }))
speaker.on('peer-state', (e) => say({ event: 'peer-state', ...e }))
for (const p of spec.peers) speaker.addPeer(p)
for (const r of spec.routes) {
  const [addr, len] = r.split('/')
  const a = ipv4(addr ?? '')
  speaker.originate(
    { family: Family.Ipv4Unicast, prefix: Uint8Array.of(a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff), length: Number(len) },
    { attrs: { origin: 0, asPath: [] }, nextHop: spec.nextHop },
  )
}
await speaker.start()
say({ event: 'started' })
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
