/**
 * Graceful restart against a real gobgpd (Debian's GoBGP 3.x) on loopback high ports (127.0.0.7x,
 * nothing leaves the host), both roles:
 * (a) we are the helper: gobgpd advertises routes with the capability, is killed with SIGKILL, its
 *     routes stay in our Rib marked stale; it comes back with `-r` (R and F bits), re-advertises a
 *     subset, and after its End-of-RIB the rest are swept.
 * (b) gobgpd is the helper: our side (a bare Session in a child process, peer-process.ts) is
 *     killed with SIGKILL; gobgpd keeps our routes (its own RIB, as JSON from its CLI) while we are
 *     gone; we come back with the R bit, re-announce a subset and send End-of-RIB, and gobgpd
 *     sweeps what we did not re-announce.
 * (c) the same with our BgpSpeaker (speaker-process.ts) restarting: R and F bits seen by gobgpd,
 *     nothing sent until selection (here the Selection_Deferral_Timer, because a second configured
 *     peer never comes up), then our routes and End-of-RIB, and gobgpd sweeps the rest.
 * (d) `gobgp neighbor reset` sends a bare Cease / Administrative Reset: with the N bit exchanged
 *     that is a graceful restart (RFC 8538), not a flush.
 * (e) (a) with our BgpSpeaker as the helper, counts from its peer statistics.
 */
import t from 'tap'
import type { Test } from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Family } from '../../bgp/codec/afi.js'
import type { PeerStaleEvent, PeerSweptEvent } from '../../bgp/speaker/graceful-restart.js'
import { freePort, retry, run, spawnDaemon, tempDir, type Daemon } from '../interop/daemons.js'
import { BgpSpeaker, type PeerConfig } from '../../bgp/speaker/index.js'
import { helperSide, startChild, startPeer, waitFor, type PeerProcess } from './harness.js'

const GOBGP = '127.0.0.71'
const US = '127.0.0.72'
const V4 = Family.Ipv4Unicast

interface Gobgp {
  port: number
  api: number
  dir: string
  /** Starts gobgpd (again), with `-r` when restarting; returns once its API answers. */
  start(restarting: boolean): Promise<Daemon>
  /** SIGKILL (no NOTIFICATION reaches the peer). */
  kill(): Promise<void>
  cli(args: string[]): string
  /** Prefixes in gobgpd's global RIB (best paths), with whether each is stale. */
  rib(): Map<string, { stale: boolean }>
}

async function gobgpd(t: Test, opts: { ourPort?: number; passive: boolean; restartTime: number }): Promise<Gobgp> {
  const port = await freePort(GOBGP)
  const api = await freePort('127.0.0.1')
  const dir = tempDir('gsi-gr-gobgp')
  writeFileSync(
    join(dir, 'gobgpd.toml'),
    `[global.config]
  as = 65010
  router-id = "10.71.71.71"
  port = ${port}
  local-address-list = ["${GOBGP}"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${US}"
    peer-as = 65001
  [neighbors.timers.config]
    hold-time = 9
    keepalive-interval = 3
    connect-retry = 1
  [neighbors.transport.config]
    passive-mode = ${opts.passive}
    local-address = "${GOBGP}"
${opts.ourPort !== undefined ? `    remote-port = ${opts.ourPort}\n` : ''}  [neighbors.graceful-restart.config]
    enabled = true
    restart-time = ${opts.restartTime}
    notification-enabled = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
`,
  )
  let daemon: Daemon | undefined
  let generation = 0
  const cli = (args: string[]): string => run('gobgp', ['-p', String(api), ...args])
  const g: Gobgp = {
    port,
    api,
    dir,
    async start(restarting) {
      const args = ['-f', join(dir, 'gobgpd.toml'), '-l', 'debug', '-p', '--api-hosts', `127.0.0.1:${api}`, '--pprof-disable']
      if (restarting) args.push('-r')
      // spawnDaemon's stop() removes its directory: each run gets a sub-directory for its log.
      const runDir = join(dir, `run${generation++}`)
      run('mkdir', ['-p', runDir])
      daemon = spawnDaemon('gobgpd', args, runDir, 'gobgpd')
      await retry(() => cli(['global']), 10_000, 'gobgpd API')
      return daemon
    },
    async kill() {
      const d = daemon
      daemon = undefined
      await d?.stop()
    },
    cli,
    rib() {
      const out = new Map<string, { stale: boolean }>()
      const j = JSON.parse(cli(['global', 'rib', '-a', 'ipv4', '-j'])) as Record<string, { stale?: boolean; best?: boolean }[]>
      for (const [prefix, paths] of Object.entries(j)) {
        const best = paths.find((p) => p.best === true) ?? paths[0]
        if (best !== undefined) out.set(prefix, { stale: best.stale === true })
      }
      return out
    },
  }
  t.teardown(async () => {
    await g.kill()
    run('rm', ['-rf', dir])
  })
  return g
}

const prefixes = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `10.${from + i}.0.0/16`)

t.test('(a) we are the helper: gobgpd killed, its routes kept stale, swept after its End-of-RIB', async (t) => {
  const g = await gobgpd(t, { passive: true, restartTime: 30 })
  await g.start(false)
  for (const p of prefixes(100, 110)) g.cli(['global', 'rib', 'add', p, '-a', 'ipv4'])

  const { rib, peerId, gr, session, w, counts } = helperSide(t, {
    name: 'gobgp',
    localId: 0x0a484848,
    localAddress: US,
    peerAddress: GOBGP,
    peerPort: g.port,
    peerAs: 65010,
    gr: { restartTime: 90, staleRoutesTime: 30 },
  })
  const stale: PeerStaleEvent[] = []
  const swept: PeerSweptEvent[] = []
  gr.on('peer-stale', (e) => stale.push(e))
  gr.on('peer-swept', (e) => swept.push(e))
  session.start()
  await waitFor(() => counts().received === 10 && w.eors.length === 1, 15_000, "gobgpd's 10 routes and End-of-RIB")
  t.same(w.negotiated?.gracefulRestart?.restartTime, 30, "gobgpd's Restart Time")
  t.equal(w.negotiated?.gracefulRestart?.restarting, false)

  await g.kill()
  await waitFor(() => w.downs.length === 1, 5000, 'our session to see gobgpd die')
  t.same(w.downs, ['tcp-closed'])
  t.same(counts(), { received: 10, stale: 10 }, 'all kept, marked stale')
  t.same(stale.map((s) => s.count), [10])
  const table = rib.table(V4)
  t.equal(table.best(table.lookup('10.104.0.0/16'))?.stale, true, 'still best while gobgpd is away')

  // Hold our side back until gobgpd has its (smaller) RIB again, so what it sends is deterministic.
  await session.stop()
  await g.start(true)
  for (const p of prefixes(100, 106)) g.cli(['global', 'rib', 'add', p, '-a', 'ipv4'])
  t.same(counts(), { received: 10, stale: 10 }, 'still kept while reconnecting')
  session.start()
  await waitFor(() => w.established === 2, 15_000, 'the session with the restarted gobgpd')
  t.equal(w.negotiated?.gracefulRestart?.restarting, true, 'gobgpd -r sets the R bit')
  t.same(w.negotiated?.gracefulRestart?.families, [{ family: V4, forwarding: true }], 'and the F bit')
  await waitFor(() => w.eors.length === 2, 15_000, "the restarted gobgpd's End-of-RIB")
  await waitFor(() => swept.length === 1, 3000, 'the sweep')
  t.same(swept, [{ peer: peerId, family: V4, count: 4, reason: 'end-of-rib' }])
  t.same(counts(), { received: 6, stale: 0 })
  t.equal(table.lookup('10.107.0.0/16') >= 0 && table.best(table.lookup('10.107.0.0/16')) !== undefined, false, 'not re-advertised: gone')
  t.equal(table.best(table.lookup('10.105.0.0/16'))?.stale, false, 're-advertised: fresh')
})

t.test('(b) gobgpd is the helper: we are killed, it keeps our routes, we return with the R bit and it sweeps after our End-of-RIB', async (t) => {
  const g = await gobgpd(t, { passive: true, restartTime: 30 })
  await g.start(false)
  const procs: PeerProcess[] = []
  t.teardown(async () => {
    for (const p of procs) await p.kill()
  })
  const us = (restarting: boolean, routes: string[], eor: boolean): PeerProcess => {
    const p = startPeer({
      session: {
        name: 'us',
        localAs: 65001,
        localId: 0x0a484849,
        peerAs: 65010,
        peerAddress: GOBGP,
        peerPort: g.port,
        localAddress: US,
        holdTime: 9,
        families: [V4],
        connectRetryTime: 0.5,
        idleHoldTime: 0.1,
        gracefulRestart: { restartTime: 30, notification: true, restarting, forwarding: restarting ? [V4] : [] },
      },
      routes,
      // GoBGP treats a loopback NEXT_HOP as invalid (treat-as-withdraw): a documentation address,
      // only ever an attribute here.
      nextHop: '192.0.2.72',
      eor,
    })
    procs.push(p)
    return p
  }
  const first = us(false, prefixes(120, 130), true)
  await first.waitEvent('sent', 15_000)
  await waitFor(() => g.rib().size === 10, 10_000, 'gobgpd to hold our 10 routes')
  t.same([...g.rib().values()].filter((r) => r.stale).length, 0, 'none stale')

  await first.kill()
  // gobgpd notices the closed connection and starts its helper procedure: routes kept, stale.
  await waitFor(() => [...g.rib().values()].filter((r) => r.stale).length === 10, 10_000, 'gobgpd to mark our routes stale')
  t.equal(g.rib().size, 10, 'gobgpd keeps all 10 while we are gone')

  const second = us(true, prefixes(120, 127), false)
  await second.waitEvent('sent', 15_000)
  await waitFor(() => [...g.rib().values()].filter((r) => r.stale).length === 3, 10_000, 're-announced routes to lose their stale mark in gobgpd')
  t.equal(g.rib().size, 10, 'the 3 not re-announced are still there before our End-of-RIB')
  const neighbor = JSON.parse(g.cli(['neighbor', US, '-j'])) as { state?: { session_state?: number } }
  t.equal(neighbor.state?.session_state, 6, 'gobgpd: session established again')

  second.send({ eor: true })
  await waitFor(() => g.rib().size === 7, 10_000, 'gobgpd to sweep after our End-of-RIB')
  const after = g.rib()
  t.same([...after.keys()].sort(), prefixes(120, 127).sort())
  t.same([...after.values()].filter((r) => r.stale).length, 0, 'nothing stale left')
})

t.test('(c) our BgpSpeaker restarts: deferred until selection while gobgpd keeps our routes, then re-announces and gobgpd sweeps', async (t) => {
  const g = await gobgpd(t, { passive: true, restartTime: 30 })
  await g.start(false)
  const ghostPort = await freePort('127.0.0.79') // nothing listens there: a configured peer that never comes up
  const procs: PeerProcess[] = []
  t.teardown(async () => {
    for (const p of procs) await p.kill()
  })
  const speaker = (restarting: boolean, routes: string[], ghost: boolean): PeerProcess => {
    const peers: PeerConfig[] = [
      { name: 'gobgp', address: GOBGP, port: g.port, asn: 65010, localAddress: US, holdTime: 9, connectRetryTime: 0.5, idleHoldTime: 0.1, families: [V4] },
    ]
    if (ghost) peers.push({ name: 'ghost', address: '127.0.0.79', port: ghostPort, asn: 65011, localAddress: US, holdTime: 9, connectRetryTime: 0.5, families: [V4] })
    const p = startChild('speaker-process.ts', {
      speaker: {
        localAs: 65001,
        routerId: '10.72.72.72',
        gracefulRestart: { restartTime: 30, restarting, forwardingFamilies: [V4], deferralTime: 8 },
      },
      peers,
      routes,
      nextHop: '192.0.2.72',
    })
    procs.push(p)
    return p
  }
  const stale = (): number => [...g.rib().values()].filter((r) => r.stale).length

  const first = speaker(false, prefixes(140, 150), false)
  await first.waitEvent('end-of-rib', 15_000) // gobgpd's: the session is up
  await waitFor(() => g.rib().size === 10, 10_000, 'gobgpd to hold our 10 routes')
  t.match(first.events.find((e) => e.event === 'phase'), { phase: 'done', reason: 'not-restarting' })
  await first.kill()
  await waitFor(() => stale() === 10, 10_000, 'gobgpd to keep our routes, stale')

  // We come back restarting (R bit), with 7 of the 10 routes, and a second peer that never comes
  // up: selection waits for the Selection_Deferral_Timer (8 s: the child's start-up under load must
  // not eat it) though gobgpd's End-of-RIB is in.
  const startedAt = Date.now()
  const second = speaker(true, prefixes(140, 147), true)
  await second.waitEvent('end-of-rib', 15_000)
  const neighbor = g.cli(['neighbor', US])
  t.match(neighbor, /Remote: restart time 30 sec, restart flag set/, 'gobgpd sees our R bit')
  t.match(neighbor, /ipv4-unicast, forward flag set/, 'and our F bit')
  t.equal(stale(), 10, 'deferring: nothing re-announced yet, gobgpd still holds all 10 stale')
  t.equal(second.events.filter((e) => e.event === 'phase').length, 0, 'still restarting')

  await second.waitEvent('phase', 15_000, 2)
  const phases = second.events.filter((e) => e.event === 'phase')
  t.match(phases, [
    { phase: 'selection', reason: 'deferral-timer', updatesSent: { gobgp: 0 } },
    { phase: 'done', reason: 'deferral-timer' },
  ], 'no UPDATE (not even End-of-RIB) left before selection')
  t.ok(Date.now() - startedAt >= 8000, 'selection came with the 8 s deferral timer')
  await waitFor(() => g.rib().size === 7 && stale() === 0, 10_000, 'gobgpd to sweep after our End-of-RIB')
  t.same([...g.rib().keys()].sort(), prefixes(140, 147).sort())
})

t.test('(d) gobgpd resets the session with a bare Cease (N bit on): soft, routes kept stale (RFC 8538)', async (t) => {
  const g = await gobgpd(t, { passive: true, restartTime: 30 })
  await g.start(false)
  for (const p of prefixes(160, 164)) g.cli(['global', 'rib', 'add', p, '-a', 'ipv4'])
  const { peerId, gr, session, w, counts } = helperSide(t, {
    name: 'gobgp',
    localId: 0x0a484850,
    localAddress: US,
    peerAddress: GOBGP,
    peerPort: g.port,
    peerAs: 65010,
    gr: { restartTime: 90 },
  })
  const swept: PeerSweptEvent[] = []
  gr.on('peer-swept', (e) => swept.push(e))
  session.start()
  await waitFor(() => counts().received === 4 && w.eors.length === 1, 15_000, "gobgpd's 4 routes")
  g.cli(['neighbor', US, 'reset'])
  await waitFor(() => w.downs.length === 1, 5000, 'the reset')
  t.match(session.stats().lastNotificationReceived, { code: 6, subcode: 4 }, 'Cease / Administrative Reset, not wrapped in Hard Reset')
  t.same(counts(), { received: 4, stale: 4 }, 'kept, stale')
  // gobgpd then holds the neighbor Idle for its idle-hold-time-after-reset (30 s): our wait is
  // bounded by its Restart Time, as the restart timer shows.
  t.match(gr.status(), [{ peer: peerId, state: 'down', families: ['ipv4-unicast'] }])
  const left = gr.status()[0]?.sweepInMs ?? 0
  t.ok(left > 20_000 && left <= 30_000, `swept within gobgpd's 30 s Restart Time unless it returns (${left} ms left)`)
  t.same(swept, [])
})

t.test('(e) our BgpSpeaker as the helper: gobgpd killed, its routes kept stale, swept after its End-of-RIB', async (t) => {
  const g = await gobgpd(t, { passive: true, restartTime: 30 })
  await g.start(false)
  for (const p of prefixes(170, 178)) g.cli(['global', 'rib', 'add', p, '-a', 'ipv4'])
  const sp = new BgpSpeaker({ localAs: 65001, routerId: '10.72.72.74', gracefulRestart: { restartTime: 90 } })
  t.teardown(() => sp.stop())
  const swept: PeerSweptEvent[] = []
  sp.gracefulRestart?.on('peer-swept', (e) => swept.push(e))
  sp.addPeer({ name: 'gobgp', address: GOBGP, port: g.port, asn: 65010, localAddress: US, holdTime: 9, connectRetryTime: 0.5, idleHoldTime: 0.1, families: [V4] })
  await sp.start()
  const fam = (): { received: number; stale: number; endOfRibReceived: boolean } => {
    const f = sp.peerStats('gobgp').families[0]
    return { received: f?.received ?? -1, stale: f?.stale ?? -1, endOfRibReceived: f?.endOfRibReceived ?? false }
  }
  await waitFor(() => fam().received === 8 && fam().endOfRibReceived, 15_000, "gobgpd's 8 routes")
  await g.kill()
  await waitFor(() => sp.session('gobgp').state !== 'Established', 5000, 'the session to drop')
  await waitFor(() => fam().stale === 8, 3000, 'routes kept, stale')
  t.equal(fam().received, 8)
  await sp.setPeerEnabled('gobgp', false) // until gobgpd has its smaller RIB
  await g.start(true)
  for (const p of prefixes(170, 173)) g.cli(['global', 'rib', 'add', p, '-a', 'ipv4'])
  t.equal(fam().stale, 8, 'still kept while we are administratively down')
  await sp.setPeerEnabled('gobgp', true)
  await waitFor(() => swept.length === 1, 20_000, "the sweep after the restarted gobgpd's End-of-RIB")
  t.same(swept.map((s) => [s.count, s.reason]), [[5, 'end-of-rib']])
  t.match(fam(), { received: 3, stale: 0 })
})
