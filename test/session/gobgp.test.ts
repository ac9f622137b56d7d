/**
 * Our session runner against a real gobgpd (Debian's GoBGP 3.x) on loopback high ports: eBGP with
 * 2-octet AS and iBGP with 4-octet AS reach Established and stay up on keepalives; NOTIFICATIONs both
 * ways with RFC 9003 messages (checked in gobgpd's log and in our stats); a connection collision with
 * both sides active. Hold-timer expiry with gobgpd frozen: test/interop/hold-timer-freeze.test.ts.
 */
import t from 'tap'
import type { Test } from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BgpListener, Session } from '../../bgp/session/index.js'
import type { SessionConfig } from '../../bgp/session/index.js'
import { freePort, retry, run, spawnDaemon, tempDir, type Daemon } from '../interop/daemons.js'
import { sleep, waitFor, waitState } from './helpers.js'

const GOBGP = '127.0.0.20'
const US = '127.0.0.21'

interface Setup {
  daemon: Daemon
  session: Session
  api: number
  cli(args: string[]): string
  neighborState(): number | undefined
}

async function withGobgp(
  t: Test,
  opts: { gobgpAs: number; ourAs: number; holdTime?: number; gobgpActive?: boolean; session?: Partial<SessionConfig> },
): Promise<Setup> {
  const port = await freePort(GOBGP)
  const ourPort = await freePort(US)
  const api = await freePort('127.0.0.1')
  const dir = tempDir('gsi-session-gobgp')
  const hold = opts.holdTime ?? 3
  writeFileSync(
    join(dir, 'gobgpd.toml'),
    `[global.config]
  as = ${opts.gobgpAs}
  router-id = "10.20.20.20"
  port = ${port}
  local-address-list = ["${GOBGP}"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${US}"
    peer-as = ${opts.ourAs}
  [neighbors.timers.config]
    hold-time = ${hold}
    keepalive-interval = ${Math.max(1, Math.floor(hold / 3))}
    connect-retry = 1
  [neighbors.transport.config]
    passive-mode = ${opts.gobgpActive !== true}
    local-address = "${GOBGP}"
    remote-port = ${ourPort}
`,
  )
  const daemon = spawnDaemon('gobgpd', ['-f', join(dir, 'gobgpd.toml'), '-l', 'debug', '-p', '--api-hosts', `127.0.0.1:${api}`, '--pprof-disable'], dir, 'gobgpd')
  t.teardown(() => daemon.stop())
  const cli = (args: string[]): string => run('gobgp', ['-p', String(api), ...args])
  await retry(() => cli(['global']), 10_000, 'gobgpd API')
  let listener: BgpListener | undefined
  if (opts.gobgpActive === true) {
    listener = new BgpListener({ host: US, port: ourPort })
    await listener.listen()
    const l = listener
    t.teardown(() => l.close())
  }
  const session = new Session(
    {
      name: 'gobgp',
      localAs: opts.ourAs,
      localId: 0x0a151515,
      peerAs: opts.gobgpAs,
      peerAddress: GOBGP,
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
  return {
    daemon,
    session,
    api,
    cli,
    neighborState: () => {
      const j = JSON.parse(cli(['neighbor', US, '-j'])) as { state?: { session_state?: number } }
      return j.state?.session_state
    },
  }
}

const ESTABLISHED = 6 // GoBGP API: SessionState ESTABLISHED

t.test('eBGP, 2-octet AS: up, stays up, our admin shutdown message reaches gobgpd', async (t) => {
  const g = await withGobgp(t, { gobgpAs: 65010, ourAs: 65001 })
  g.session.start()
  await waitState(g.session, 'Established', 10_000)
  await sleep(4000) // beyond the 3 s hold time: keepalives both ways
  t.equal(g.session.state, 'Established')
  t.equal(g.neighborState(), ESTABLISHED, 'gobgp neighbor shows established')
  const st = g.session.stats()
  t.ok(st.messagesIn.keepalive >= 3, `keepalives from gobgpd: ${st.messagesIn.keepalive}`)
  t.equal(st.negotiated?.holdTime, 3)
  t.equal(st.negotiated?.ebgp, true)
  t.equal(st.negotiated?.peerAs, 65010)
  t.ok(st.negotiated?.routeRefresh)
  await g.session.stop('gsi-router maintenance window 42')
  await waitFor(() => /received notification.*Communicated-Reason="gsi-router maintenance window 42"/i.test(g.daemon.readLog()), 5000, 'gobgpd to log our message')
  t.match(g.daemon.readLog(), /Subcode=2/)
  await waitFor(() => g.neighborState() !== ESTABLISHED, 5000, 'gobgpd to drop the session')
  t.pass('gobgpd logged the shutdown communication and left Established')
})

t.test('NOTIFICATION from gobgpd: shutdown message recorded, session down', async (t) => {
  const g = await withGobgp(t, { gobgpAs: 65010, ourAs: 65001, holdTime: 9 })
  g.session.start()
  await waitState(g.session, 'Established', 10_000)
  const downs: string[] = []
  g.session.on('down', (d) => downs.push(d.reason))
  g.cli(['neighbor', US, 'shutdown', '--reason', 'bye from gobgp'])
  await waitFor(() => downs.length > 0, 5000, 'our session to go down')
  t.same(downs, ['notification-received'])
  t.match(g.session.stats().lastNotificationReceived, { code: 6, subcode: 2, message: 'bye from gobgp' })
  t.equal(g.session.stats().flaps, 1)
})

t.test('iBGP, 4-octet AS', async (t) => {
  const g = await withGobgp(t, { gobgpAs: 4200000010, ourAs: 4200000010 })
  g.session.start()
  await waitState(g.session, 'Established', 10_000)
  await sleep(1500)
  t.equal(g.session.state, 'Established')
  t.equal(g.neighborState(), ESTABLISHED)
  const n = g.session.stats().negotiated
  t.equal(n?.ebgp, false)
  t.equal(n?.as4, true)
  t.equal(n?.peerAs, 4200000010)
  const j = JSON.parse(g.cli(['neighbor', US, '-j'])) as { state?: { peer_asn?: number } }
  t.equal(j.state?.peer_asn, 4200000010, 'gobgpd sees our 4-octet AS')
})

t.test('collision: gobgpd and we both connect', async (t) => {
  const g = await withGobgp(t, { gobgpAs: 65010, ourAs: 65001, holdTime: 9, gobgpActive: true })
  const collisions: string[] = []
  g.session.on('collision', (c) => collisions.push(`${c.closed} by ${c.by}`))
  g.session.start()
  await waitState(g.session, 'Established', 15_000)
  await sleep(2500)
  t.equal(g.session.state, 'Established', 'settled on one connection')
  t.equal(g.neighborState(), ESTABLISHED)
  const c = g.session.stats().connection
  // Our identifier 10.21.21.21 is above gobgpd's 10.20.20.20: when both connections meet, the one we
  // initiated survives. Whether they meet depends on timing (gobgpd may refuse ours before its OPEN).
  const kept = c?.direction
  t.comment(`collisions seen: ${collisions.join(', ') || 'none (one connection was refused before its OPEN)'}; kept ${kept}`)
  for (const c of collisions) {
    // By identifier: ours is higher, so the connection gobgpd initiated goes. Against an Established
    // connection (RFC 4271 6.8 default): the new one goes, and the established one is what we kept.
    if (c.endsWith('by identifier')) t.equal(c, 'incoming by identifier', 'we closed the connection gobgpd initiated')
    else t.not(c.split(' ')[0], kept, 'we closed the new connection, kept the established one')
  }
})
