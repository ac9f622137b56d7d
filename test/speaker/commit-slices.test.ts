/**
 * A full table is committed in slices (bgp/speaker COMMIT_SLICE destinations per turn of the event
 * loop), so the process keeps answering its sessions and its local API while a table loads (issue 10:
 * a CLI query during a full-table ingest within 100 ms). Checked on the speaker with a real session:
 * 40,000 IPv4 routes sent in one write with End-of-RIB, the RIB's change events counted per turn of
 * the event loop (a setImmediate ticker marks the turns); and on the RIB: commit(limit) leaves the
 * rest pending and a sliced commit reports exactly what one commit would.
 */
import t from 'tap'
import { Family } from '../../bgp/codec/afi.js'
import { Rib } from '../../bgp/rib/rib.js'
import { BgpSpeaker, type SpeakerOptions } from '../../bgp/speaker/index.js'
import type { Session } from '../../bgp/session/index.js'
import type { Test } from 'tap'
import { COMMIT_SLICE } from '../../bgp/speaker/speaker.js'
import { encodeStream, INJECTOR_AS, scenario } from '../../bench/ingest/scenario.js'
import { ipv4, rawPeer, waitFor } from './helpers.js'

const ROUTES = 40_000

/** Our speaker (with `options`) and a raw Session as its established peer, the full table encoded. */
async function speakerWithPeer(t: Test, options: Partial<SpeakerOptions> = {}): Promise<{ sp: BgpSpeaker; raw: Session; stream: ReturnType<typeof encodeStream> }> {
  const sp = new BgpSpeaker({ localAs: 65171, routerId: '10.6.2.1', listen: { address: '127.0.6.5', port: 0 }, ...options })
  const port = await sp.start()
  sp.addPeer({ name: 'raw', address: '127.0.6.6', asn: INJECTOR_AS, passive: true, families: [Family.Ipv4Unicast], holdTime: 90 })
  const raw = await rawPeer(t, sp, {
    name: 'raw', localAs: INJECTOR_AS, localId: 0x0a060206, peerAs: 65171, peerAddress: '127.0.6.5', peerPort: port,
    localAddress: '127.0.6.6', holdTime: 90, families: [Family.Ipv4Unicast], connectRetryTime: 0.5,
  })
  return { sp, raw, stream: encodeStream(scenario('ipv4', ROUTES)) }
}

/** Counts turns of the event loop (a setImmediate ticker) and what `add` adds in each, until stop(). */
function perTurnCounter(): { add(n: number): void; stop(): void; readonly perTurn: Map<number, number> } {
  let turn = 0
  let ticking = true
  const tick = (): void => {
    turn++
    if (ticking) setImmediate(tick)
  }
  setImmediate(tick)
  const perTurn = new Map<number, number>()
  return {
    add: (n) => { perTurn.set(turn, (perTurn.get(turn) ?? 0) + n) },
    stop: () => { ticking = false },
    perTurn,
  }
}

t.test('a full table reaches the RIB listeners one slice per event-loop turn; End-of-RIB acts once all is in', async (t) => {
  const { sp, raw, stream } = await speakerWithPeer(t)
  const counter = perTurnCounter()
  const perTurn = counter.perTurn
  let changed = 0
  sp.rib.on('changed', (_f, _d, n) => {
    changed += n
    counter.add(n)
  })
  let changedAtEor = -1
  sp.on('end-of-rib', () => { changedAtEor = changed })

  raw.sendUpdate(stream.bytes, stream.messages)
  raw.sendEndOfRib(Family.Ipv4Unicast)
  await waitFor(() => changedAtEor >= 0, 30_000, 'End-of-RIB')
  counter.stop()

  t.equal(changedAtEor, ROUTES, 'End-of-RIB acted on only once every route had been committed')
  t.equal(changed, ROUTES, 'every route reported once')
  const largest = Math.max(...perTurn.values())
  t.ok(largest <= COMMIT_SLICE, `no turn committed more than one slice (largest ${largest}, slice ${COMMIT_SLICE})`)
  t.ok(perTurn.size >= Math.ceil(ROUTES / COMMIT_SLICE), `spread over ${perTurn.size} turns of the event loop`)
  t.equal(sp.rib.pending, 0, 'nothing left pending')
})

for (const gr of [false, true]) {
  t.test(`a peer lost with a full table: its withdrawal is committed in slices too (${gr ? 'graceful-restart helper, peer without the capability' : 'no graceful restart'})`, async (t) => {
    const { sp, raw, stream } = await speakerWithPeer(t, gr ? { gracefulRestart: { restartTime: 120 } } : {})
    raw.sendUpdate(stream.bytes, stream.messages)
    raw.sendEndOfRib(Family.Ipv4Unicast)
    let eor = false
    sp.on('end-of-rib', () => { eor = true })
    await waitFor(() => eor, 30_000, 'End-of-RIB')
    t.equal(sp.rib.table(Family.Ipv4Unicast).size, ROUTES, 'the table is in')

    const counter = perTurnCounter()
    const perTurn = counter.perTurn
    let withdrawn = 0
    sp.rib.on('best', (_f, changes) => {
      const n = changes.filter((c) => c.kind === 'withdraw').length
      withdrawn += n
      counter.add(n)
    })
    await raw.destroy() // the peer's control plane dies: TCP closed, no NOTIFICATION
    await waitFor(() => withdrawn === ROUTES, 30_000, 'every route withdrawn')
    counter.stop()
    const largest = Math.max(...perTurn.values())
    t.ok(largest <= COMMIT_SLICE, `no turn withdrew more than one slice (largest ${largest}, slice ${COMMIT_SLICE})`)
    t.ok(perTurn.size >= Math.ceil(ROUTES / COMMIT_SLICE), `spread over ${perTurn.size} turns of the event loop`)
    t.equal(sp.rib.table(Family.Ipv4Unicast).size, 0, 'the table is empty')
  })
}

t.test('Rib.commit(limit): the rest stays pending, and the slices report what one commit would', async (t) => {
  const load = (rib: Rib): number => {
    const peer = rib.addPeer({ address: '192.0.2.9', asn: 65009, routerId: 0x0a000009, ebgp: true, name: 'p' })
    for (let i = 0; i < 10_000; i++) {
      rib.announce(peer, ipv4(`10.${i >> 8}.${i & 255}.0/24`), { attrs: { origin: 0, asPath: [{ type: 2, asns: [65009] }] }, nextHop: '192.0.2.9' })
    }
    return peer
  }
  const whole = new Rib({ localAs: 65001, routerId: 0x0a000001 })
  const sliced = new Rib({ localAs: 65001, routerId: 0x0a000001 })
  const seen = (rib: Rib): string[] => {
    const xs: string[] = []
    rib.on('best', (_f, changes) => { for (const c of changes) xs.push(`${c.kind} ${c.prefix} ${c.best?.nextHop ?? ''}`) })
    return xs
  }
  const a = seen(whole)
  const b = seen(sliced)
  load(whole)
  const peer = load(sliced)
  whole.commit()
  t.equal(whole.pending, 0)
  sliced.commit(3000)
  t.equal(sliced.pending, 7000, '3,000 decided, 7,000 pending')
  t.equal(b.length, 3000, 'only the slice reported')
  // a withdrawal of a route already committed, between slices, is picked up too
  sliced.withdraw(peer, ipv4('10.0.5.0/24'))
  whole.withdraw(peer, ipv4('10.0.5.0/24'))
  while (sliced.pending > 0) sliced.commit(3000)
  whole.commit()
  t.equal(b.length, a.length, 'as many changes')
  t.same([...b].sort(), [...a].sort(), 'the same changes (the withdrawal comes before the later slices instead of after all)')
  t.equal(sliced.table(Family.Ipv4Unicast).size, whole.table(Family.Ipv4Unicast).size, 'the same table')
})
