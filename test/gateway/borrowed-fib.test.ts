/**
 * The computed FIB keeps pod routes by the gateway's own prefix ids (RecordingFib.setMplsRouteOf),
 * not in a second table of its own. This checks that it changes nothing a reader of the FIB sees:
 * the same random sequence of CN2 and TGW changes (prefixes under several RDs, one or two next hops,
 * TGW routes over the same prefixes, withdrawals, reloads to a new gateway on the same FIB) goes to
 * two gateways, one over the computed FIB and one over a FIB port that has only the text door
 * (setRoute/deleteRoute, as the kernel's FibWriter); after every batch both FIBs must hold the same
 * routes, found the same way by prefix, and count the same tunnels.
 */
import t from 'tap'
import { Family, type FamilyKey } from '../../bgp/codec/afi.js'
import type { BestChange } from '../../bgp/rib/index.js'
import type { DesiredRoute, GatewayTable } from '../../src/fib/types.js'
import { Gateway, RecordingFib, type FibPort } from '../../src/gateway/index.js'
import { PrefixTable } from '../../src/gateway/prefix-table.js'
import { BASE_OPTIONS, OTHER, PortSpeaker, RT, unicast, vpn } from './helpers.js'

/** Only FibPort's text door, over a RecordingFib that stores what it is given. */
class TextOnlyFib implements FibPort {
  readonly inner = new RecordingFib()
  setTables(tables: readonly GatewayTable[]): void {
    this.inner.setTables(tables)
  }
  setRoute(route: DesiredRoute): void {
    this.inner.setRoute(route)
  }
  deleteRoute(table: number, prefix: string): boolean {
    return this.inner.deleteRoute(table, prefix)
  }
  async flush(): Promise<void> {}
}

/** A deterministic generator (the failing seed is reported). */
function prng(seed: number): (n: number) => number {
  let s = seed >>> 0
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return Math.floor(((s >>> 8) / 0x1000000) * n)
  }
}

interface Side {
  gw: Gateway
  cn2: PortSpeaker
  tgw: PortSpeaker
  readonly fib: FibPort
  readonly view: RecordingFib
}

function side(fib: FibPort, view: RecordingFib): Side {
  const cn2 = new PortSpeaker(64512)
  const tgw = new PortSpeaker(65100)
  const gw = new Gateway(cn2, tgw, fib, BASE_OPTIONS)
  gw.start()
  return { gw, cn2, tgw, fib, view }
}

/** A reload as GatewayHost does it: a new gateway on the same FIB, the current routes replayed into
 * it, and what only the old one wanted deleted. */
function reload(s: Side, live: ReadonlyMap<string, [FamilyKey, BestChange]>): void {
  const next = side(s.fib, s.view)
  s.gw.stop()
  const byFamily = new Map<FamilyKey, BestChange[]>()
  for (const [family, c] of live.values()) {
    const cs = byFamily.get(family) ?? []
    cs.push(c)
    byFamily.set(family, cs)
  }
  for (const [family, cs] of byFamily) (family === Family.Ipv4Unicast ? next.tgw : next.cn2).best(family, cs)
  s.gw.forEachFibRoute((table, prefix) => {
    if (!next.gw.wantsFibRoute(table, prefix)) s.fib.deleteRoute(table, prefix)
  })
  s.gw = next.gw
  s.cn2 = next.cn2
  s.tgw = next.tgw
}

const routesOf = (f: RecordingFib): unknown[] => f.routes().map((r) => [r.prefix, r.nexthops])

for (const seed of (process.env.SEEDS ?? "1,2,3,4").split(",").map(Number)) {
  t.test(`seed ${seed}: the computed FIB by gateway ids equals the FIB by text`, async (t) => {
    const rnd = prng(seed)
    const computed = new RecordingFib()
    const fast = side(computed, computed)
    const text = new TextOnlyFib()
    const slow = side(text, text.inner)
    t.ok(computed.setMplsRouteOf !== undefined && (text as FibPort).setMplsRouteOf === undefined, 'one FIB has the id door, the other not')
    const v4 = (i: number): string => `10.244.${i >> 8}.${i & 255}/32`
    const v6 = (i: number): string => `fd00:244::${i.toString(16)}/128`
    // Few prefixes, so the same prefix comes under several RDs and from the TGW too; every seed's
    // second half widens the pool so the FIB's arrays grow under borrowed routes.
    const live = new Map<string, [FamilyKey, BestChange]>()
    let mismatches = 0
    for (let batch = 0; batch < 84; batch++) {
      const pool = batch < 60 ? 24 : 3000
      const cn2: BestChange[] = []
      const cn2v6: BestChange[] = []
      const tgw: BestChange[] = []
      const n = batch < 60 ? 1 + rnd(6) : 200
      for (let k = 0; k < n; k++) {
        const op = rnd(10)
        const i = rnd(pool)
        if (op < 6) {
          const six = rnd(8) === 0
          const prefix = six ? v6(i) : v4(i)
          const rd = `192.0.2.${11 + rnd(3)}:1:${prefix}`
          const key = `vpn ${rd}`
          const family = six ? Family.Ipv6Vpn : Family.Ipv4Vpn
          if (op === 5 && live.has(key)) {
            const c = vpn(rd, [], [], 'withdraw')
            live.delete(key)
            ;(six ? cn2v6 : cn2).push(c)
            continue
          }
          const hops: [string, number][] = [[`${six ? '::ffff:' : ''}192.0.2.${11 + rnd(3)}`, 16 + rnd(4)]]
          if (rnd(5) === 0) hops.push([`${six ? '::ffff:' : ''}192.0.2.${21 + rnd(2)}`, 16 + rnd(4)])
          const c = vpn(rd, hops, [rnd(7) === 0 ? OTHER : RT], live.has(key) ? 'replace' : 'add')
          live.set(key, [family, c])
          ;(six ? cn2v6 : cn2).push(c)
        } else if (op < 9) {
          // TGW routes over the same pool (IPv4 only: IPv6 ones need the TGW's own next hop).
          const prefix = v4(rnd(Math.min(pool, 40)))
          const key = `tgw ${prefix}`
          if (live.has(key) && rnd(2) === 0) {
            live.delete(key)
            tgw.push(unicast(prefix, [], 'withdraw'))
            continue
          }
          const c = unicast(prefix, rnd(2) === 0 ? ['169.254.6.2'] : ['169.254.6.2', '169.254.6.3'], live.has(key) ? 'replace' : 'add')
          live.set(key, [Family.Ipv4Unicast, c])
          tgw.push(c)
        } else if (rnd(3) === 0) {
          reload(fast, live)
          reload(slow, live)
        }
      }
      for (const s of [fast, slow]) {
        // Per family the changes come in order; one prefix's change once per batch, as a RIB commit gives them.
        const once = (cs: BestChange[]): BestChange[] => [...new Map(cs.map((c) => [c.prefix, c])).values()]
        s.cn2.best(Family.Ipv4Vpn, once(cn2))
        s.cn2.best(Family.Ipv6Vpn, once(cn2v6))
        s.tgw.best(Family.Ipv4Unicast, once(tgw))
      }
      const a = routesOf(fast.view)
      const b = routesOf(slow.view)
      if (JSON.stringify(a) !== JSON.stringify(b)) {
        mismatches++
        t.same(a, b, `batch ${batch}: the same routes`)
        break
      }
      if (fast.view.size !== slow.view.size) {
        mismatches++
        t.equal(fast.view.size, slow.view.size, `batch ${batch}: the same count`)
        break
      }
      // Every route found by its prefix, and a prefix without a route not found.
      for (let k = 0; k < 8; k++) {
        const prefix = rnd(2) === 0 ? v4(rnd(pool)) : v6(rnd(pool))
        const x = JSON.stringify(fast.view.route(100, prefix))
        const y = JSON.stringify(slow.view.route(100, prefix))
        if (x !== y) {
          mismatches++
          t.equal(x, y, `batch ${batch}: route(${prefix})`)
          break
        }
      }
      if (mismatches > 0) break
    }
    t.equal(mismatches, 0, 'no batch differed')
    t.same([...fast.view.vrouterRoutes()].sort(), [...slow.view.vrouterRoutes()].sort(), 'the same tunnels')
    t.ok(fast.view.size > 100, `routes at the end: ${fast.view.size}`)
    // And the FIB empties when everything is withdrawn.
    const withdrawals = new Map<FamilyKey, BestChange[]>()
    for (const [family, c] of live.values()) {
      const w = family === Family.Ipv4Unicast ? unicast(c.prefix, [], 'withdraw') : vpn(c.prefix, [], [], 'withdraw')
      const ws = withdrawals.get(family) ?? []
      ws.push(w)
      withdrawals.set(family, ws)
    }
    for (const s of [fast, slow]) for (const [family, cs] of withdrawals) (family === Family.Ipv4Unicast ? s.tgw : s.cn2).best(family, cs)
    t.equal(fast.view.size, 0, 'every route withdrawn: the computed FIB is empty')
    t.equal(slow.view.size, 0, 'and so is the other')
    fast.gw.stop()
    slow.gw.stop()
  })
}

t.test('routes kept by one table\'s ids stay when another table lends its ids (a reload\'s new gateway)', async (t) => {
  const fib = new RecordingFib()
  fib.setTables([{ table: 100, label: 30 }])
  const a = new PrefixTable(4)
  const b = new PrefixTable(4)
  const idOf = (pt: PrefixTable, text: string): number => pt.insert(pt.scan(text))
  fib.setMplsRouteOf(100, a, idOf(a, '10.244.0.1/32'), '192.0.2.11', 20)
  fib.setMplsRouteOf(100, a, idOf(a, '10.244.0.2/32'), '192.0.2.11', 21)
  fib.setRoute({ table: 100, prefix: '10.244.0.3/32', nexthops: [{ kind: 'mpls', vrouter: '192.0.2.12', label: 22 }, { kind: 'mpls', vrouter: '192.0.2.13', label: 22 }] })
  fib.setMplsRouteOf(100, b, idOf(b, '10.244.0.2/32'), '192.0.2.12', 31)
  t.same(fib.routes().map((r) => [r.prefix, r.nexthops.map((h) => (h.kind === 'mpls' ? `${h.vrouter}/${h.label}` : h.kind))]), [
    ['10.244.0.1/32', ['192.0.2.11/20']],
    ['10.244.0.2/32', ['192.0.2.12/31']],
    ['10.244.0.3/32', ['192.0.2.12/22', '192.0.2.13/22']],
  ], 'the first table\'s routes moved to the FIB\'s own; the one set again took its new next hop')
  t.equal(fib.size, 3)
  // deleteRouteOf: borrowedOnly leaves a route set by text for the same prefix.
  const c3 = idOf(b, '10.244.0.3/32')
  t.equal(fib.deleteRouteOf(100, b, c3, true), false, 'borrowedOnly: the ECMP route set by text stays')
  t.ok(fib.route(100, '10.244.0.3/32'))
  t.equal(fib.deleteRouteOf(100, b, c3, false), true, 'otherwise it goes')
  t.equal(fib.route(100, '10.244.0.3/32'), undefined)
  t.equal(fib.deleteRouteOf(100, b, idOf(b, '10.244.0.2/32'), true), true, 'a borrowed route goes either way')
  t.equal(fib.deleteRoute(100, '10.244.0.1/32'), true, 'the moved route is found by text')
  t.equal(fib.size, 0)
  t.throws(() => fib.setMplsRouteOf(101, b, 0, '192.0.2.11', 20), /table 101 is not a gateway table/, 'an unknown table is refused')
})
