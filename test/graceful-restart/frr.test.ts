/**
 * Graceful restart against FRR's bgpd (Debian FRR 8.x, standalone with -Z, on a loopback high port
 * of 127.0.0.81): we are the helper.
 * - `clear bgp` on FRR with the N bit exchanged: FRR sends a Hard Reset (Cease 9, RFC 8538 with
 *   FRR's hard-administrative-reset), and we flush its routes at once.
 * - bgpd killed with SIGKILL: its routes stay in our Rib, stale; bgpd comes back (F bit from
 *   `preserve-fw-state`) with fewer routes, and after its End-of-RIB the rest are swept.
 */
import t from 'tap'
import type { Test } from 'tap'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Family } from '../../bgp/codec/afi.js'
import type { PeerFlushedEvent, PeerSweptEvent } from '../../bgp/speaker/graceful-restart.js'
import { freePort, retry, run, spawnDaemon, tempDir, waitForPort, type Daemon } from '../interop/daemons.js'
import { helperSide, waitFor } from './harness.js'

const FRR = '127.0.0.81'
const US = '127.0.0.82'
const V4 = Family.Ipv4Unicast

const prefixes = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `10.${from + i}.0.0/16`)

interface Frr {
  port: number
  /** (Re)starts bgpd announcing `routes`. */
  start(routes: string[]): Promise<void>
  kill(): Promise<void>
  vtysh(cmd: string): string
}

async function frr(t: Test): Promise<Frr> {
  const port = await freePort(FRR)
  const dir = tempDir('gsi-gr-frr')
  let daemon: Daemon | undefined
  let generation = 0
  const vtysh = (cmd: string): string => run('vtysh', ['--vty_socket', dir, '-d', 'bgpd', '-c', cmd], 10_000)
  const f: Frr = {
    port,
    async start(routes) {
      const conf = join(dir, 'bgpd.conf')
      writeFileSync(
        conf,
        [
          'frr defaults traditional',
          'hostname gsi-gr-frr',
          'log stdout debugging',
          '!',
          'router bgp 65020',
          ' bgp router-id 10.81.81.81',
          ' no bgp ebgp-requires-policy',
          ' no bgp default ipv4-unicast',
          ' no bgp network import-check',
          ' bgp graceful-restart',
          ' bgp graceful-restart preserve-fw-state',
          ' bgp graceful-restart restart-time 30',
          ' timers bgp 3 9',
          ` neighbor ${US} remote-as 65001`,
          ` neighbor ${US} passive`,
          ` neighbor ${US} advertisement-interval 0`,
          ' address-family ipv4 unicast',
          ...routes.map((r) => `  network ${r}`),
          `  neighbor ${US} activate`,
          ' exit-address-family',
          '!',
          '',
        ].join('\n'),
      )
      const runDir = join(dir, `run${generation++}`)
      run('mkdir', ['-p', runDir])
      daemon = spawnDaemon('/usr/lib/frr/bgpd', ['-f', conf, '-Z', '-S', '-l', FRR, '-p', String(port), '-i', join(runDir, 'bgpd.pid'), '--vty_socket', dir, '-P', '0'], runDir, 'bgpd')
      await waitForPort(FRR, port, 10_000, daemon.proc)
      await retry(() => vtysh('show bgp summary'), 10_000, 'bgpd vty')
    },
    async kill() {
      const d = daemon
      daemon = undefined
      await d?.stop()
    },
    vtysh,
  }
  t.teardown(async () => {
    await f.kill()
    run('rm', ['-rf', dir])
  })
  return f
}

t.test('FRR: hard reset flushes, a killed bgpd keeps its routes stale until its End-of-RIB', async (t) => {
  const f = await frr(t)
  await f.start(prefixes(150, 155))
  const { rib, peerId, gr, session, w, counts } = helperSide(t, {
    name: 'frr',
    localId: 0x0a525252,
    localAddress: US,
    peerAddress: FRR,
    peerPort: f.port,
    peerAs: 65020,
    gr: { restartTime: 90, staleRoutesTime: 30 },
  })
  const swept: PeerSweptEvent[] = []
  const flushed: PeerFlushedEvent[] = []
  gr.on('peer-swept', (e) => swept.push(e))
  gr.on('peer-flushed', (e) => flushed.push(e))
  session.start()
  await waitFor(() => counts().received === 5 && w.eors.length === 1, 20_000, "FRR's 5 routes and End-of-RIB")
  const cap = w.negotiated?.gracefulRestart
  t.equal(cap?.restartTime, 30, "FRR's Restart Time")
  t.equal(cap?.notification, true, 'FRR sets the N bit')

  // Hard reset: FRR wraps its administrative reset in Cease / Hard Reset when the N bit is on.
  f.vtysh(`clear bgp ${US}`)
  await waitFor(() => w.downs.length === 1, 10_000, 'the reset')
  t.match(session.stats().lastNotificationReceived, { code: 6, subcode: 9 }, 'Cease / Hard Reset received')
  t.same(flushed, [{ peer: peerId, count: 5, reason: 'hard-reset' }])
  t.same(counts(), { received: 0, stale: 0 })

  await waitFor(() => w.established === 2 && counts().received === 5 && w.eors.length === 2, 30_000, 'the session back with 5 routes')
  await f.kill()
  await waitFor(() => w.downs.length === 2, 10_000, 'our session to see bgpd die')
  t.equal(w.downs[1], 'tcp-closed')
  t.same(counts(), { received: 5, stale: 5 }, 'kept, stale')

  await f.start(prefixes(150, 153))
  await waitFor(() => w.established === 3, 30_000, 'the session with the new bgpd')
  t.same(w.negotiated?.gracefulRestart?.families, [{ family: V4, forwarding: true }], 'F bit (preserve-fw-state)')
  await waitFor(() => swept.length === 1, 30_000, "the sweep after FRR's End-of-RIB")
  t.same(swept, [{ peer: peerId, family: V4, count: 2, reason: 'end-of-rib' }])
  t.same(counts(), { received: 3, stale: 0 })
  const table = rib.table(V4)
  t.equal(table.best(table.lookup('10.151.0.0/16'))?.stale, false)
  t.equal(table.lookup('10.154.0.0/16') >= 0 && table.best(table.lookup('10.154.0.0/16')) !== undefined, false, 'not re-advertised: gone')
})
