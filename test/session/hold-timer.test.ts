/**
 * The hold timer must not expire only because our own event loop was busy (BIRD's check, issue 3).
 *
 * The peer is a separate process (so it keeps sending while we are blocked): a minimal BGP speaker
 * that sends OPEN (hold time 3 s) and a KEEPALIVE every 500 ms, and ignores what we send. We block
 * our event loop for 4.5 s, longer than the hold time. With the check, the keepalives waiting in the
 * kernel are read before the timer is believed; without it (the control), the session drops with
 * hold-timer-expired, which shows the test can fail.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { Session } from '../../bgp/session/index.js'
import { waitFor, waitState, sleep } from './helpers.js'

const PEER = `
const net = require('node:net')
const hdr = (len, type) => { const b = Buffer.alloc(len); b.fill(0xff, 0, 16); b.writeUInt16BE(len, 16); b[18] = type; return b }
const open = hdr(29, 1); open[19] = 4; open.writeUInt16BE(65003, 20); open.writeUInt16BE(3, 22); open.writeUInt32BE(0x03030303, 24); open[28] = 0
const ka = hdr(19, 4)
const server = net.createServer((s) => {
  s.on('error', () => {})
  s.on('data', () => {})
  s.write(open); s.write(ka)
  const t = setInterval(() => { if (!s.destroyed) s.write(ka) }, 500)
  s.on('close', () => clearInterval(t))
})
server.listen(0, '127.0.0.3', () => process.stdout.write(server.address().port + '\\n'))
setTimeout(() => process.exit(0), 60000).unref()
process.stdin.on('end', () => process.exit(0)); process.stdin.resume()
`

async function startPeer(): Promise<{ port: number; stop(): void }> {
  const child = spawn(process.execPath, ['-e', PEER], { stdio: ['pipe', 'pipe', 'inherit'] })
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))
    child.once('exit', (code) => reject(new Error(`peer exited ${code}`)))
  })
  return { port, stop: () => child.kill('SIGKILL') }
}

function busy(ms: number): void {
  const until = Date.now() + ms
  while (Date.now() < until) {
    // our event loop is stuck (a large table computation, a GC storm, ...)
  }
}

for (const check of [true, false]) {
  t.test(`event loop blocked past the hold time, input check ${check ? 'on' : 'off'}`, async (t) => {
    const peer = await startPeer()
    t.teardown(() => peer.stop())
    const s = new Session({
      name: `hold-${check}`,
      localAs: 65001,
      localId: 0x01010101,
      peerAs: 65003,
      peerAddress: '127.0.0.3',
      peerPort: peer.port,
      localAddress: '127.0.0.1',
      holdTime: 3,
      families: [0x0101],
      holdTimerInputCheck: check,
      idleHoldTime: 30,
    })
    t.teardown(() => s.destroy())
    const downs: string[] = []
    s.on('down', (d) => downs.push(d.reason))
    s.start()
    await waitState(s, 'Established')
    await sleep(200)
    // Block from the check phase (a setImmediate), so that the expired hold timer is due before the
    // next poll under every libuv: Node 22's libuv runs timers after poll and check in each turn, so
    // a block inside a timer callback would let the poll read the waiting keepalives first, and the
    // control (input check off) could not show an expiry. Node 20's ran timers first in each turn.
    await new Promise<void>((resolve) => setImmediate(resolve))
    busy(4500)
    await sleep(300)
    if (check) {
      t.equal(s.state, 'Established', 'still up: the peer was talking all along')
      t.same(downs, [])
      t.equal(s.stats().lastNotificationSent, undefined)
    } else {
      await waitFor(() => downs.length > 0, 2000, 'the session to drop')
      t.same(downs, ['hold-timer-expired'])
      t.match(s.stats().lastNotificationSent, { code: 4, subcode: 0 })
    }
  })
}
