/**
 * Our session runner against a real BIRD 2 (Debian's bird2) on loopback high ports: eBGP with
 * 2-octet AS and iBGP with 4-octet AS reach Established and stay up; NOTIFICATIONs both ways with
 * RFC 9003 messages (checked in `birdc show protocols all` and in our stats); both sides active
 * (connection collision). Hold-timer expiry with bird frozen: test/interop/hold-timer-freeze.test.ts.
 */
import t from 'tap'
import type { Test } from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BgpListener, Session } from '../../bgp/session/index.js'
import type { SessionConfig } from '../../bgp/session/index.js'
import { freePort, retry, run, spawnDaemon, tempDir, type Daemon } from '../interop/daemons.js'
import { sleep, waitFor, waitState } from './helpers.js'

const BIRD = '127.0.0.30'
const US = '127.0.0.31'

interface Setup {
  daemon: Daemon
  session: Session
  birdc(cmd: string): string
  protocol(): string
}

async function withBird(
  t: Test,
  opts: { birdAs: number; ourAs: number; holdTime?: number; birdActive?: boolean; session?: Partial<SessionConfig> },
): Promise<Setup> {
  const port = await freePort(BIRD)
  const ourPort = await freePort(US)
  const dir = tempDir('gsi-session-bird')
  const hold = opts.holdTime ?? 3
  const ctl = join(dir, 'bird.ctl')
  writeFileSync(
    join(dir, 'bird.conf'),
    `router id 10.30.30.30;
log "${join(dir, 'bird.log')}" all;
protocol device {}
protocol bgp peer1 {
  local ${BIRD} port ${port} as ${opts.birdAs};
  neighbor ${US} port ${ourPort} as ${opts.ourAs};
  hold time ${hold}; keepalive time ${Math.max(1, Math.floor(hold / 3))}; connect retry time 1;
  ${opts.birdActive === true ? 'connect delay time 1;' : 'passive on;'}
  multihop;
  ipv4 { import all; export none; };
}
`,
  )
  const daemon = spawnDaemon('bird', ['-f', '-c', join(dir, 'bird.conf'), '-s', ctl, '-P', join(dir, 'bird.pid')], dir, 'bird-stdout')
  t.teardown(() => daemon.stop())
  const birdc = (cmd: string): string => run('birdc', ['-s', ctl, cmd])
  await retry(() => birdc('show status'), 10_000, 'birdc')
  let listener: BgpListener | undefined
  if (opts.birdActive === true) {
    listener = new BgpListener({ host: US, port: ourPort })
    await listener.listen()
    const l = listener
    t.teardown(() => l.close())
  }
  const session = new Session(
    {
      name: 'bird',
      localAs: opts.ourAs,
      localId: 0x0a1f1f1f,
      peerAs: opts.birdAs,
      peerAddress: BIRD,
      peerPort: port,
      localAddress: US,
      holdTime: hold,
      families: [0x0101],
      connectRetryTime: 1,
      idleHoldTime: 0.5,
      ...opts.session,
    },
    listener ? { listener } : {},
  )
  t.teardown(() => session.destroy())
  return { daemon, session, birdc, protocol: () => birdc('show protocols all peer1') }
}

t.test('eBGP, 2-octet AS: up, stays up, our admin shutdown message shows in birdc', async (t) => {
  const b = await withBird(t, { birdAs: 65030, ourAs: 65001 })
  b.session.start()
  await waitState(b.session, 'Established', 10_000)
  await sleep(4000)
  t.equal(b.session.state, 'Established')
  t.match(b.protocol(), /BGP state:\s+Established/)
  t.match(b.protocol(), /Hold timer:\s+[\d.]+\/3/)
  const st = b.session.stats()
  t.ok(st.messagesIn.keepalive >= 3, `keepalives from bird: ${st.messagesIn.keepalive}`)
  t.equal(st.negotiated?.holdTime, 3)
  t.equal(st.negotiated?.peerAs, 65030)
  await b.session.stop('gsi-router maintenance window 7')
  await waitFor(() => /Message:\s+gsi-router maintenance window 7/.test(b.protocol()), 5000, 'birdc to show our message')
  t.match(b.protocol(), /Received: Administrative shutdown/)
})

t.test('NOTIFICATION from bird: shutdown message recorded', async (t) => {
  const b = await withBird(t, { birdAs: 65030, ourAs: 65001, holdTime: 9 })
  b.session.start()
  await waitState(b.session, 'Established', 10_000)
  const downs: string[] = []
  b.session.on('down', (d) => downs.push(d.reason))
  b.birdc('disable peer1 "bye from bird"')
  await waitFor(() => downs.length > 0, 5000, 'our session to go down')
  t.same(downs, ['notification-received'])
  t.match(b.session.stats().lastNotificationReceived, { code: 6, subcode: 2, message: 'bye from bird' })
})

t.test('iBGP, 4-octet AS', async (t) => {
  const b = await withBird(t, { birdAs: 4200000030, ourAs: 4200000030 })
  b.session.start()
  await waitState(b.session, 'Established', 10_000)
  await sleep(1500)
  t.equal(b.session.state, 'Established')
  const p = b.protocol()
  t.match(p, /BGP state:\s+Established/)
  t.match(p, /Neighbor AS:\s+4200000030/)
  t.match(p, /4-octet AS numbers/)
  t.equal(b.session.stats().negotiated?.ebgp, false)
  t.equal(b.session.stats().negotiated?.as4, true)
})

function busy(ms: number): void {
  const until = Date.now() + ms
  while (Date.now() < until) {
    // hold the event loop
  }
}

t.test('both sides active: settles on one connection', async (t) => {
  const b = await withBird(t, { birdAs: 65030, ourAs: 65001, holdTime: 9, birdActive: true })
  const collisions: string[] = []
  b.session.on('collision', (c) => collisions.push(`${c.closed} by ${c.by}`))
  b.session.start()
  // Our SYN leaves on the next tick; keep the loop busy while bird's connection (connect delay 1 s)
  // completes in the kernel's backlog, so that both connections exist when the OPENs are read.
  busy(2500)
  await waitState(b.session, 'Established', 15_000)
  await sleep(2500)
  t.equal(b.session.state, 'Established')
  t.match(b.protocol(), /BGP state:\s+Established/)
  // Our identifier 10.31.31.31 is above bird's 10.30.30.30: if both connections met, ours survived.
  const kept = b.session.stats().connection?.direction
  t.comment(`collisions seen: ${collisions.join(', ') || 'none'}; kept ${kept}`)
  for (const c of collisions) {
    // By identifier: ours is higher, so the connection bird initiated goes. Against an Established
    // connection (RFC 4271 6.8 default): the new one goes, and the established one is what we kept.
    if (c.endsWith('by identifier')) t.equal(c, 'incoming by identifier', 'we closed the connection bird initiated')
    else t.not(c.split(' ')[0], kept, 'we closed the new connection, kept the established one')
  }
})
