// A Connect peer's GRE link changed under live traffic: two namespaces, the gateway (our FIB writer,
// gre/ and a BGP session of ours, test/fib/ns-gateway.ts) and a stand-in for the TGW (a plain GRE
// link and BIRD 2), an underlay veth between them. A change of TTL, and of the remote address (the
// far end's address moved), is made in place: the link keeps its ifindex, the route through it stays
// in the gateway table, and the BGP session over it is not reset (same establishment time, no flap,
// keepalives still arriving). A key set by hand is cleared in place. A link the kernel cannot change
// in place (one without a remote) is recreated, and its routes are back when reconcileGre returns.
import t from 'tap'
import { join } from 'node:path'
import { readFileSync, writeFileSync } from 'node:fs'
import { greLinkName } from '../../gre/index.js'
import type { ConnectPeer, GreResult } from '../../gre/index.js'
import type { SessionConfig } from '../../bgp/session/index.js'
import type { DesiredRoute, FibCounters } from '../../src/fib/index.js'
import { retry, run, spawnDaemon, tempDir } from '../interop/daemons.js'
import { createNetns, NsWorker, vethPair } from './lib/index.js'

t.setTimeout(900_000)

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))
async function waitFor<T>(what: string, ms: number, get: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await get()
    if (ok(v)) return v
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}: last ${JSON.stringify(v)}`)
    await sleep(250)
  }
}

// Documentation addresses (RFC 5737) for the underlay, all inside the two namespaces made here.
const GW_UNDERLAY = '192.0.2.1'
const TGW_UNDERLAY = '192.0.2.10'
const TGW_MOVED = '192.0.2.11'
const peer: ConnectPeer = { id: 'tgw-connect-peer-0aaaa00000000600a', localAddress: GW_UNDERLAY, remoteAddress: TGW_UNDERLAY, insideCidr: '169.254.6.0/29' }
const LINK = greLinkName(peer.id)
const TABLE = 100
const routes: DesiredRoute[] = [{ table: TABLE, prefix: '10.60.0.0/16', nexthops: [{ kind: 'gre', link: LINK, gateway: '169.254.6.2' }] }]

t.test('GRE link changed in place keeps its ifindex, its routes and the BGP session over it', async t => {
  const gw = await createNetns(t, 'gregw')
  const tgw = await createNetns(t, 'gretg')
  await vethPair(gw, 'u0', tgw, 'u1', { a: `${GW_UNDERLAY}/24`, b: `${TGW_UNDERLAY}/24` })
  // The far end's tunnel has no fixed local address: it takes GRE to any of its addresses and sends from
  // the one routing picks, so moving its underlay address below needs no change to tgw0 itself (a
  // change to the interface BIRD's session runs on would make BIRD restart the session).
  await tgw.sh(`ip link add tgw0 type gre remote ${GW_UNDERLAY} ttl 255 && ip addr add 169.254.6.2/29 dev tgw0 && ip link set tgw0 up`)

  const w = await NsWorker.start(gw, t)
  const mod = new URL('../fib/ns-gateway.ts', import.meta.url)
  const call = <T>(fn: string, ...args: unknown[]): Promise<T> => w.call<T>(mod, fn, ...args)
  const gre = (p: ConnectPeer): Promise<GreResult> => call<GreResult>('gre', [p])
  const ifindex = async (): Promise<number> => Number(/^(\d+):/.exec(await gw.ip('-o', 'link', 'show', 'dev', LINK))?.[1])
  const link = (): Promise<string> => gw.ip('-d', 'link', 'show', 'dev', LINK)
  const table = (): Promise<string> => gw.ip('route', 'show', 'table', String(TABLE), 'proto', '201')
  type Bgp = { state: string; establishedAt: number | null; flaps: number; keepalivesIn: number; lastError: string | null }
  const bgp = (): Promise<Bgp> => call<Bgp>('bgpStats')

  await call<FibCounters>('start', GW_UNDERLAY, [{ table: TABLE, label: TABLE }])
  t.teardown(() => call('stop').catch(() => undefined))
  const r0 = await gre(peer)
  t.same(r0.errors, [])
  await call<FibCounters>('routes', routes)
  t.match(await table(), /10\.60\.0\.0\/16 via 169\.254\.6\.2 dev gsig/)

  // BIRD in the TGW's namespace, passive; our Session connects over the tunnel.
  const dir = tempDir('gsi-gre-bird')
  writeFileSync(join(dir, 'bird.conf'), `router id 169.254.6.2;
log "${join(dir, 'bird.log')}" all;
protocol device {}
protocol bgp tgw {
  local 169.254.6.2 as 64512;
  neighbor 169.254.6.1 as 65001;
  passive on;
  hold time 15; keepalive time 2;
  ipv4 { import all; export none; };
}
`)
  const ctl = join(dir, 'bird.ctl')
  const bird = spawnDaemon('ip', ['netns', 'exec', tgw.name, 'bird', '-f', '-c', join(dir, 'bird.conf'), '-s', ctl, '-P', join(dir, 'bird.pid')], dir, 'bird')
  t.teardown(async () => {
    if (!t.passing()) {
      try { t.comment(`bird.log:\n${readFileSync(join(dir, 'bird.log'), 'utf8').split('\n').slice(-30).join('\n')}`) } catch { /* no log */ }
    }
    await bird.stop()
  })
  await retry(() => run('birdc', ['-s', ctl, 'show status']), 30_000, 'birdc')
  const config: SessionConfig = {
    name: 'tgw', localAs: 65001, localId: 0xa9fe0601, peerAs: 64512, peerAddress: '169.254.6.2', localAddress: '169.254.6.1',
    holdTime: 15, families: [0x0101], connectRetryTime: 1, idleHoldTime: 0.5,
  }
  await call('bgpStart', config)
  const up = await waitFor('the session over GRE to be Established', 60_000, bgp, s => s.state === 'Established')
  const index0 = await ifindex()

  /** After a change: same link, same route, same session, and keepalives keep arriving over it. */
  const kept = async (what: string): Promise<void> => {
    t.equal(await ifindex(), index0, `${what}: same ifindex`)
    t.match(await table(), /10\.60\.0\.0\/16 via 169\.254\.6\.2 dev gsig/, `${what}: route still in table ${TABLE}`)
    const before = await bgp()
    const after = await waitFor(`keepalives over the tunnel after ${what}`, 30_000, bgp, s => s.keepalivesIn >= before.keepalivesIn + 2)
    t.equal(after.state, 'Established', `${what}: session Established`)
    t.equal(after.establishedAt, up.establishedAt, `${what}: not re-established`)
    t.equal(after.flaps, up.flaps, `${what}: no flap`)
    t.match(run('birdc', ['-s', ctl, 'show protocols tgw']), /tgw\s+BGP\s+---\s+up/, `${what}: BIRD says up`)
  }

  // TTL.
  const r1 = await gre({ ...peer, ttl: 64 })
  t.same(r1.actions.map(a => a.type), ['change'], 'TTL: one change in place')
  t.same(r1.recreated, [])
  t.same(r1.errors, [])
  t.match(await link(), /ttl 64/)
  await kept('TTL change')

  // Remote: the far end's underlay address moves (a second address, then the first one goes), and our
  // link follows it.
  // (promote_secondaries: deleting the first address must not take the second one of the subnet with it)
  await tgw.sysctl('net.ipv4.conf.u1.promote_secondaries', 1)
  await tgw.sh(`ip addr add ${TGW_MOVED}/24 dev u1`)
  const r2 = await gre({ ...peer, ttl: 64, remoteAddress: TGW_MOVED })
  await tgw.sh(`ip addr del ${TGW_UNDERLAY}/24 dev u1`)
  t.same(r2.actions.map(a => a.type), ['change'], 'remote: one change in place')
  t.same(r2.recreated, [])
  t.same(r2.errors, [])
  t.match(await link(), new RegExp(`gre remote ${TGW_MOVED.replaceAll('.', '\\.')} local ${GW_UNDERLAY.replaceAll('.', '\\.')} ttl 64`))
  await kept('remote address move')

  // A key set by hand (the TGW uses none) is cleared in place.
  const moved = { ...peer, ttl: 64, remoteAddress: TGW_MOVED }
  await gw.ip('link', 'set', LINK, 'type', 'gre', 'local', GW_UNDERLAY, 'remote', TGW_MOVED, 'ttl', '64', 'key', '5')
  t.match(await link(), /ikey 0\.0\.0\.5/)
  const r3 = await gre(moved)
  // The key's 4 header bytes made the kernel lower the MTU as well: that is put back too.
  t.same(r3.actions.map(a => a.type), ['change', 'set-mtu'])
  t.match(await link(), /mtu 8476/)
  t.notMatch(await link(), /key/, 'key cleared')
  t.equal(await ifindex(), index0, 'key cleared in place')
  await kept('key cleared')
  await call('bgpStop')

  // A link under our name that the kernel cannot change in place: no remote (not point-to-point).
  // Replaced by hand here, so its routes went with the old one, silently for IPv4; reconcileGre
  // recreates it and the writer re-installs the route before reconcileGre returns.
  await gw.sh(`ip link del ${LINK} && ip link add ${LINK} type gre local ${GW_UNDERLAY} ttl 64 && ip link set ${LINK} up`)
  t.notMatch(await table(), /10\.60\.0\.0\/16/, 'the route went with the old link')
  const before = await call<FibCounters>('counters')
  const r4 = await gre(moved)
  t.same(r4.actions.map(a => a.type), ['recreate', 'add-address', 'set-mtu', 'set-up'], 'recreated, then set up as a new link')
  t.same(r4.recreated, [LINK])
  t.same(r4.errors, [])
  t.match(await table(), /10\.60\.0\.0\/16 via 169\.254\.6\.2 dev gsig/, 'route back at once, no resync timer involved (it is off here)')
  const after = await call<FibCounters>('counters')
  t.ok(after.driftRepairs > before.driftRepairs, `repaired as drift (${before.driftRepairs} -> ${after.driftRepairs})`)
  t.equal(after.errors, 0, after.lastError)
  t.match(await link(), new RegExp(`gre remote ${TGW_MOVED.replaceAll('.', '\\.')}`))
})
