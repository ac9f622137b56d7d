/**
 * The ingest benchmark's injector (a child process in the injector's namespace): builds every UPDATE
 * of the scenario first (scenario.ts, bgp/codec/bulk.ts), opens an eBGP session to the receiver with
 * our own Session runner (bgp/session: RFC 4271 OPEN/KEEPALIVE handshake, 4-octet AS, the one
 * family), and on the harness's `go` writes the whole stream with one socket write (the kernel takes
 * it as fast as the receiver reads), then End-of-RIB (RFC 4724 2). It keeps the session up
 * (KEEPALIVEs) until the harness says `stop` or closes stdin.
 *
 * With `listen` it also accepts the receiver's own connection on 198.18.0.1:179, as a CN2 control
 * node does (gsi-routerd connects to its control nodes and, after a refused attempt, spends most of
 * its time in Idle, where it turns incoming connections away).
 *
 * argv[2]: JSON {"scenario": "ipv4" | "vpnv4", "routes": N, "labels": "per-set" | "per-route", "listen": boolean}.
 * Events: built {messages, bytes, sets}; established; first-update {t} (CLOCK_MONOTONIC ms, taken
 * just before the write); written {t} (the kernel has taken every byte); down {reason}; error.
 */
import { BgpListener, Session } from '../../bgp/session/index.js'
import { parseIpv4 } from '../../src/lib/address.js'
import { onCommands, report } from './channel.js'
import { encodeStream, INJECTOR_ADDRESS, INJECTOR_AS, RECEIVER_ADDRESS, RECEIVER_AS, scenario, type LabelMode, type ScenarioName } from './scenario.js'
import { monoMs } from './proc.js'

const args = JSON.parse(process.argv[2] ?? '{}') as { scenario?: ScenarioName; routes?: number; labels?: LabelMode; listen?: boolean }
const s = scenario(args.scenario ?? 'ipv4', args.routes ?? 1000, args.labels)
const stream = encodeStream(s)
report({ event: 'built', messages: stream.messages, bytes: stream.bytes.length, sets: stream.attributeSets })

const listener = args.listen === true ? new BgpListener({ host: INJECTOR_ADDRESS, port: 179 }) : undefined
await listener?.listen()

const session = new Session({
  name: 'injector',
  peerAddress: RECEIVER_ADDRESS,
  peerAs: RECEIVER_AS,
  localAddress: INJECTOR_ADDRESS,
  localAs: INJECTOR_AS,
  localId: parseIpv4(INJECTOR_ADDRESS),
  // Long hold time: a receiver busy for seconds must not look dead (BIRD/FRR/GoBGP keep their
  // KEEPALIVEs going anyway; this only removes a needless risk).
  holdTime: 240,
  families: [s.family],
  connectRetryTime: 1,
  idleHoldTime: 0.5,
  updateSink: () => undefined, // the receivers send nothing we need to read
}, listener !== undefined ? { listener } : {})
let sent = false
session.on('established', () => report({ event: 'established' }))
session.on('down', (d) => {
  report({ event: 'down', reason: d.reason, detail: d.detail ?? '' })
  if (sent || d.wasEstablished) {
    report({ event: 'error', message: `session went down: ${d.reason} ${d.detail ?? ''}` })
    process.exit(2)
  }
})
session.on('error', (e) => report({ event: 'error', message: e.message }))
session.start()

function go(): void {
  if (sent) return
  if (session.state !== 'Established') {
    report({ event: 'error', message: `go before the session is established (state ${session.state})` })
    return
  }
  sent = true
  const t = monoMs()
  session.sendUpdate(stream.bytes, stream.messages)
  report({ event: 'first-update', t })
  session.sendEndOfRib(s.family)
  const poll = setInterval(() => {
    if (session.writeBacklog === 0) {
      clearInterval(poll)
      report({ event: 'written', t: monoMs() })
    }
  }, 5)
}

async function stop(): Promise<void> {
  await Promise.race([session.destroy('benchmark done'), new Promise((r) => setTimeout(r, 2000))])
  await listener?.close()
  process.exit(0)
}

onCommands(
  (cmd) => {
    if (cmd === 'go') go()
    else if (cmd === 'stop') void stop()
  },
  () => void stop(),
)
