/**
 * The Rib as a store: bulk ingest from real encoded UPDATEs (IPv4, IPv6, VPNv4, RTC), interning,
 * Adj-RIB-In with import policy and soft reconfiguration, stale marking and sweeping, counts,
 * lookup by text, and a model-based property test of announce/withdraw sequences.
 */
import t from 'tap'
import fc from 'fast-check'
import { Family } from '../../bgp/codec/afi.js'
import { encodeAttributes, type PathAttributes } from '../../bgp/codec/attributes.js'
import { decodeUpdateBulk, encodeUpdatesBulk } from '../../bgp/codec/bulk.js'
import { defaultContext } from '../../bgp/codec/context.js'
import { encapsulation, routeTarget } from '../../bgp/codec/ext-communities.js'
import { encodeMessage } from '../../bgp/codec/message.js'
import type { Nlri } from '../../bgp/codec/nlri.js'
import { Rib, type RoutePolicy } from '../../bgp/rib/index.js'

const ctx = defaultContext({
  families: new Set([Family.Ipv4Unicast, Family.Ipv6Unicast, Family.Ipv4Vpn, Family.RouteTarget]),
  ebgp: true,
})

function feed(r: Rib, peer: number, msgs: Uint8Array[]): void {
  const sink = r.sink(peer, ctx)
  for (const m of msgs) decodeUpdateBulk(m, 0, m.length, ctx, sink)
  r.commit()
}

function v4Batch(first: number, count: number, len = 24): { addr: Uint32Array; length: Uint8Array } {
  const addr = new Uint32Array(count)
  const length = new Uint8Array(count)
  for (let i = 0; i < count; i++) {
    addr[i] = (first + i * 2 ** (32 - len)) >>> 0
    length[i] = len
  }
  return { addr, length }
}

const attrsOf = (med: number, nextHop = 0xc0000201): PathAttributes => ({ origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop, med })

t.test('bulk ingest: 20,000 IPv4 routes in 20 attribute sets store 20 sets', async (t) => {
  const r = new Rib({ localAs: 65000, routerId: 1 })
  const p = r.addPeer({ address: '192.0.2.1', asn: 65001, routerId: 2, ebgp: true })
  const msgs: Uint8Array[] = []
  for (let s = 0; s < 20; s++) {
    const b = v4Batch((10 << 24) + s * 1000 * 256, 1000)
    encodeUpdatesBulk(ctx, { family: Family.Ipv4Unicast, count: 1000, ...b }, encodeAttributes(attrsOf(s), ctx), null, msgs)
  }
  feed(r, p, msgs)
  const tb = r.table(Family.Ipv4Unicast)
  t.equal(tb.size, 20000)
  t.equal(r.attributeSets, 20, 'one set per distinct attribute section')
  t.same(r.counts(p, Family.Ipv4Unicast), { received: 20000, accepted: 20000, active: 20000, stale: 0 })
  const d = tb.lookup('10.0.4.0/24')
  t.ok(d >= 0)
  t.equal(tb.prefixText(d), '10.0.4.0/24')
  t.match(tb.best(d), { peer: p, nextHop: '192.0.2.1', attrs: { med: 0 } })
  t.match(tb.best(tb.lookup(`10.${(19000 * 256) >>> 16}.${((19000 * 256) >>> 8) & 0xff}.0/24`)), { attrs: { med: 19 } })
  // Withdraw half of them with packed withdrawals.
  const w: Uint8Array[] = []
  const b = v4Batch(10 << 24, 10000)
  encodeUpdatesBulk(ctx, { family: Family.Ipv4Unicast, count: 10000, ...b }, null, null, w)
  feed(r, p, w)
  t.equal(tb.size, 10000)
  t.equal(r.attributeSets, 10, 'sets no longer used are freed')
  t.equal(tb.lookup('10.0.4.0/24') >= 0 ? tb.best(tb.lookup('10.0.4.0/24')) : undefined, undefined)
})

t.test('bulk ingest: IPv6 and VPNv4 keys, labels, next hops, RD text', async (t) => {
  const r = new Rib({ localAs: 65000, routerId: 1 })
  const p = r.addPeer({ address: '2001:db8::1', asn: 65001, routerId: 2, ebgp: true })
  const msgs: Uint8Array[] = []
  const addr6 = new Uint32Array([0x20010db8, 0x00010000, 0, 0, 0x20010db8, 0x00020000, 0, 0])
  encodeUpdatesBulk(
    ctx,
    { family: Family.Ipv6Unicast, count: 2, addr: addr6, length: new Uint8Array([48, 64]) },
    encodeAttributes({ origin: 0, asPath: [{ type: 2, asns: [65001] }] }, ctx),
    new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
    msgs,
  )
  const rd = new Uint32Array([64512, 7, 0x00010a00, 0x00000001])
  encodeUpdatesBulk(
    ctx,
    { family: Family.Ipv4Vpn, count: 2, addr: new Uint32Array([0x0a000100, 0x0a000200]), length: new Uint8Array([24, 24]), rd, label: new Uint32Array([100, 200]) },
    encodeAttributes({ origin: 0, asPath: [{ type: 2, asns: [65001] }], extCommunities: [routeTarget(64512, 7), encapsulation(13)] }, ctx),
    new Uint8Array([192, 0, 2, 1]),
    msgs,
  )
  feed(r, p, msgs)
  const t6 = r.table(Family.Ipv6Unicast)
  t.equal(t6.size, 2)
  const d6 = t6.lookup('2001:db8:1::/48')
  t.ok(d6 >= 0, 'RFC 5952 text finds the prefix')
  t.equal(t6.prefixText(d6), '2001:db8:1::/48')
  t.equal(t6.best(d6)?.nextHop, '2001:db8::1')
  const tv = r.table(Family.Ipv4Vpn)
  const dv = tv.lookup('64512:7:10.0.1.0/24')
  t.ok(dv >= 0)
  t.equal(tv.bestLabel(dv), 100)
  t.equal(tv.best(dv)?.nextHop, '192.0.2.1', 'VPN next hop without its zero RD')
  t.equal(tv.bestLabel(tv.lookup('10.0.0.0:1:10.0.2.0/24')), 200, 'type 1 RD (IPv4 admin) text')
  const all: string[] = []
  tv.forEachBest((d) => all.push(`${tv.prefixText(d)} label ${tv.bestLabel(d)}`))
  t.same(all.sort(), ['10.0.0.0:1:10.0.2.0/24 label 200', '64512:7:10.0.1.0/24 label 100'])
  t.match(tv.nlri(dv), { family: Family.Ipv4Vpn, length: 24, rd: { type: 0, admin: 64512, assigned: 7 } })
  // writeKey gives back what encodeUpdatesBulk took.
  const a = new Uint32Array(1)
  const l = new Uint8Array(1)
  const k = new Uint32Array(2)
  tv.writeKey(dv, a, l, k, 0)
  t.same([a[0], l[0], k[0], k[1]], [0x0a000100, 24, 64512, 7])
})

t.test('RTC routes (raw family) are kept by NLRI bytes', async (t) => {
  const r = new Rib({ localAs: 65000, routerId: 1 })
  const p = r.addPeer({ address: '192.0.2.1', asn: 65000, routerId: 2, ebgp: false })
  const rt = new Uint8Array([0, 0, 0xfd, 0xe8, 0x00, 0x02, 0xfc, 0x00, 0, 0, 0, 7])
  const nlri: Nlri = { family: Family.RouteTarget, prefix: rt, length: 96 }
  const msg = encodeMessage(
    {
      type: 'update',
      withdrawn: [],
      attributes: { origin: 0, asPath: [], localPref: 100 },
      mpReach: { family: Family.RouteTarget, nextHop: [new Uint8Array([192, 0, 2, 1])], nlri: [nlri] },
      nlri: [],
    },
    ctx,
  )
  feed(r, p, [msg])
  const tr = r.table(Family.RouteTarget)
  t.equal(tr.size, 1)
  let d = -1
  tr.forEachBest((x) => (d = x))
  t.match(tr.prefixText(d), /^rtc 65000:/)
  t.same(Array.from(tr.nlri(d).prefix), Array.from(rt))
  r.withdraw(p, nlri)
  r.commit()
  t.equal(tr.size, 0, 'withdraw by object finds the same destination')
})

t.test('import policy: rejected paths stay in Adj-RIB-In; a new policy re-applies without a resend', async (t) => {
  const r = new Rib({ localAs: 65000, routerId: 1 })
  const p = r.addPeer({ address: '192.0.2.1', asn: 65001, routerId: 2, ebgp: true })
  let runs = 0
  const rejectOdd: RoutePolicy = {
    perAttributeSet: true,
    apply: (_route, a) => {
      runs++
      return (a.attrs.med ?? 0) % 2 === 1 ? null : a
    },
  }
  r.setImportPolicy(p, Family.Ipv4Unicast, rejectOdd)
  const msgs: Uint8Array[] = []
  for (let s = 0; s < 4; s++) {
    const b = v4Batch((11 << 24) + s * 500 * 256, 500)
    encodeUpdatesBulk(ctx, { family: Family.Ipv4Unicast, count: 500, ...b }, encodeAttributes(attrsOf(s), ctx), null, msgs)
  }
  feed(r, p, msgs)
  t.ok(runs <= msgs.length, `policy ran per UPDATE's set, not per route (${runs} runs for 2,000 routes)`)
  t.same(r.counts(p, Family.Ipv4Unicast), { received: 2000, accepted: 1000, active: 1000, stale: 0 })
  t.equal(r.table(Family.Ipv4Unicast).size, 1000)
  // Prefix-dependent policy that also rewrites LOCAL_PREF.
  const lp: RoutePolicy = {
    perAttributeSet: false,
    apply: (route, a) => (route.prefix.startsWith('11.0.') ? { attrs: { ...a.attrs, localPref: 300 }, nextHop: a.nextHop } : a),
  }
  r.setImportPolicy(p, Family.Ipv4Unicast, lp)
  const tb = r.table(Family.Ipv4Unicast)
  t.equal(tb.size, 2000, 'previously rejected routes come back from the kept Adj-RIB-In')
  t.equal(tb.best(tb.lookup('11.0.3.0/24'))?.attrs.localPref, 300)
  t.equal(tb.best(tb.lookup('11.3.232.0/24'))?.attrs.localPref, undefined)
  const seen: Array<[string, number | undefined, number | undefined]> = []
  r.adjRibIn(p, Family.Ipv4Unicast, (route, received, accepted) => {
    if (route.prefix === '11.0.3.0/24') seen.push([route.prefix, received.attrs.localPref, accepted?.attrs.localPref])
  })
  t.same(seen, [['11.0.3.0/24', undefined, 300]], 'Adj-RIB-In shows the set as received and as accepted')
  r.setImportPolicy(p, Family.Ipv4Unicast, null)
  t.equal(tb.best(tb.lookup('11.0.3.0/24'))?.attrs.localPref, undefined)
  const sets = r.attributeSets
  t.equal(sets, 4, 'policy-made sets are freed when no path uses them')
})

t.test('graceful restart support: stale marks, re-announcement clears, sweep removes the rest', async (t) => {
  const r = new Rib({ localAs: 65000, routerId: 1 })
  const p = r.addPeer({ address: '192.0.2.1', asn: 65001, routerId: 2, ebgp: true })
  const q = r.addPeer({ address: '192.0.2.2', asn: 65002, routerId: 3, ebgp: true })
  const n = (i: number): Nlri => ({ family: Family.Ipv4Unicast, prefix: new Uint8Array([10, 9, i, 0]), length: 24 })
  for (let i = 0; i < 10; i++) r.announce(p, n(i), { attrs: attrsOf(1), nextHop: '192.0.2.1' })
  r.announce(q, n(0), { attrs: { ...attrsOf(1), asPath: [{ type: 2, asns: [65002, 1, 2] }] }, nextHop: '192.0.2.2' })
  r.commit()
  const changes: string[] = []
  r.on('best', (_f, list) => list.forEach((c) => changes.push(`${c.kind} ${c.prefix} ${c.best?.stale === true ? 'stale' : ''}`.trim())))
  t.equal(r.markStale(p), 10)
  r.commit()
  t.equal(r.counts(p, Family.Ipv4Unicast).stale, 10)
  t.equal(r.table(Family.Ipv4Unicast).size, 10, 'stale routes stay in Loc-RIB (forwarding continues)')
  t.equal(changes.length, 10, 'events say the best paths are stale now')
  changes.length = 0
  for (let i = 0; i < 4; i++) r.announce(p, n(i), { attrs: attrsOf(1), nextHop: '192.0.2.1' })
  r.commit()
  t.equal(r.counts(p, Family.Ipv4Unicast).stale, 6)
  t.equal(r.sweepStale(p), 6)
  r.commit()
  const tb = r.table(Family.Ipv4Unicast)
  t.equal(tb.size, 4)
  t.same(r.counts(p, Family.Ipv4Unicast), { received: 4, accepted: 4, active: 4, stale: 0 })
  t.ok(changes.includes('withdraw 10.9.9.0/24'))
  t.equal(r.withdrawAll(p), 4)
  r.commit()
  t.equal(tb.size, 1, "the other peer's path remains")
  t.equal(tb.bestPeer(tb.lookup('10.9.0.0/24')), q)
})

t.test('removePeer withdraws everything and refuses the local peer', async (t) => {
  const r = new Rib({ localAs: 65000, routerId: 1 })
  const p = r.addPeer({ address: '192.0.2.1', asn: 65001, routerId: 2, ebgp: true })
  r.announce(p, { family: Family.Ipv4Unicast, prefix: new Uint8Array([10, 0, 0, 0]), length: 8 }, { attrs: attrsOf(0), nextHop: '192.0.2.1' })
  r.commit()
  r.removePeer(p)
  t.equal(r.table(Family.Ipv4Unicast).size, 0)
  t.equal(r.attributeSets, 0)
  t.throws(() => r.removePeer(0), /local peer/)
  t.throws(() => new Rib({ localAs: 0, routerId: 1 }), /rib.localAs/)
  t.throws(() => new Rib({ localAs: 1, routerId: 1, multipath: { maximum: 0 } }), /rib.multipath.maximum/)
})

t.test('model check: random announce/withdraw sequences from three peers', async (t) => {
  const cmd = fc.record({
    peer: fc.integer({ min: 0, max: 2 }),
    prefix: fc.integer({ min: 0, max: 15 }),
    withdraw: fc.boolean(),
    med: fc.integer({ min: 0, max: 3 }),
    pathLen: fc.integer({ min: 1, max: 3 }),
  })
  fc.assert(
    fc.property(fc.array(fc.array(cmd, { maxLength: 12 }), { maxLength: 8 }), (batches) => {
      const r = new Rib({ localAs: 65000, routerId: 1 })
      const ids = [0, 1, 2].map((i) => r.addPeer({ address: `192.0.2.${i + 1}`, asn: 65001, routerId: 10 + i, ebgp: true }))
      const model = new Map<string, { med: number; len: number }>()
      for (const batch of batches) {
        for (const c of batch) {
          const n: Nlri = { family: Family.Ipv4Unicast, prefix: new Uint8Array([10, c.prefix, 0, 0]), length: 16 }
          const key = `${c.peer}/${c.prefix}`
          if (c.withdraw) {
            r.withdraw(ids[c.peer] as number, n)
            model.delete(key)
          } else {
            r.announce(ids[c.peer] as number, n, {
              attrs: { origin: 0, asPath: [{ type: 2, asns: [65001, ...new Array<number>(c.pathLen - 1).fill(7)] }], med: c.med },
              nextHop: `192.0.2.${c.peer + 1}`,
            })
            model.set(key, { med: c.med, len: c.pathLen })
          }
        }
        r.commit()
      }
      const tb = r.table(Family.Ipv4Unicast)
      let withRoutes = 0
      for (let pfx = 0; pfx < 16; pfx++) {
        const cands = [0, 1, 2].filter((p) => model.has(`${p}/${pfx}`)).map((p) => ({ p, ...(model.get(`${p}/${pfx}`) as { med: number; len: number }) }))
        const d = tb.lookup(`10.${pfx}.0.0/16`)
        const best = d >= 0 ? tb.best(d) : undefined
        if (cands.length === 0) {
          if (best !== undefined) return false
          continue
        }
        withRoutes++
        // Naive: shortest path, then lowest MED (same neighbour AS), then lowest router id (= peer order).
        cands.sort((a, b) => a.len - b.len || a.med - b.med || a.p - b.p)
        if (best?.peer !== ids[(cands[0] as { p: number }).p]) return false
      }
      if (tb.size !== withRoutes) return false
      // Interning: live sets are exactly the distinct (med, len, next hop) triples in use.
      const distinct = new Set([...model.entries()].map(([k, v]) => `${k.split('/')[0]}:${v.med}:${v.len}`))
      return r.attributeSets === distinct.size
    }),
    { numRuns: 300 },
  )
  t.pass('300 random runs agree with the model')
})

t.test('loops are kept in Adj-RIB-In but never used: own AS, ORIGINATOR_ID, CLUSTER_LIST', async (t) => {
  const r = new Rib({ localAs: 65000, routerId: 0x0a000001, clusterId: 0x0a0000ff })
  const e = r.addPeer({ address: '192.0.2.1', asn: 65001, routerId: 2, ebgp: true })
  const i = r.addPeer({ address: '192.0.2.2', asn: 65000, routerId: 3, ebgp: false })
  const n = (x: number): Nlri => ({ family: Family.Ipv4Unicast, prefix: new Uint8Array([10, 7, x, 0]), length: 24 })
  r.announce(e, n(1), { attrs: { origin: 0, asPath: [{ type: 2, asns: [65001, 65000, 7] }] }, nextHop: '192.0.2.1' })
  r.announce(e, n(2), { attrs: { origin: 0, asPath: [{ type: 2, asns: [65001] }, { type: 1, asns: [9, 65000] }] }, nextHop: '192.0.2.1' })
  r.announce(e, n(3), { attrs: { origin: 0, asPath: [{ type: 2, asns: [65001, 7] }] }, nextHop: '192.0.2.1' })
  r.announce(i, n(4), { attrs: { origin: 0, asPath: [], originatorId: 0x0a000001 }, nextHop: '192.0.2.2' })
  r.announce(i, n(5), { attrs: { origin: 0, asPath: [], clusterList: [0x0a000005, 0x0a0000ff] }, nextHop: '192.0.2.2' })
  r.announce(i, n(6), { attrs: { origin: 0, asPath: [], originatorId: 0x0a000009, clusterList: [0x0a000005] }, nextHop: '192.0.2.2' })
  r.commit()
  const tb = r.table(Family.Ipv4Unicast)
  t.same(r.counts(e, Family.Ipv4Unicast), { received: 3, accepted: 1, active: 1, stale: 0 }, 'our AS in a sequence or a set loops')
  t.same(r.counts(i, Family.Ipv4Unicast), { received: 3, accepted: 1, active: 1, stale: 0 }, 'our router id or cluster id loops')
  t.ok(tb.best(tb.lookup('10.7.3.0/24')))
  t.ok(tb.best(tb.lookup('10.7.6.0/24')))
  const allow = new Rib({ localAs: 65000, routerId: 1, allowOwnAs: 1 })
  const p = allow.addPeer({ address: '192.0.2.1', asn: 65001, routerId: 2, ebgp: true })
  allow.announce(p, n(1), { attrs: { origin: 0, asPath: [{ type: 2, asns: [65001, 65000, 7] }] }, nextHop: '192.0.2.1' })
  allow.announce(p, n(2), { attrs: { origin: 0, asPath: [{ type: 2, asns: [65001, 65000, 65000] }] }, nextHop: '192.0.2.1' })
  allow.commit()
  t.equal(allow.counts(p, Family.Ipv4Unicast).accepted, 1, 'allowOwnAs 1 admits one occurrence, not two')
})

t.test('eBGP routes must start with the peer AS (RFC 4271 6.3, RFC 7606 7.2) unless it is a route server', async (t) => {
  const r = new Rib({ localAs: 65000, routerId: 1 })
  const p = r.addPeer({ address: '192.0.2.1', asn: 65001, routerId: 2, ebgp: true })
  const rs = r.addPeer({ address: '192.0.2.9', asn: 65009, routerId: 9, ebgp: true, enforceFirstAs: false })
  const n = (x: number): Nlri => ({ family: Family.Ipv4Unicast, prefix: new Uint8Array([10, 8, x, 0]), length: 24 })
  r.announce(p, n(1), { attrs: { origin: 0, asPath: [{ type: 2, asns: [65001, 7] }] }, nextHop: '192.0.2.1' })
  r.announce(p, n(2), { attrs: { origin: 0, asPath: [{ type: 2, asns: [65002, 7] }] }, nextHop: '192.0.2.1' })
  r.announce(p, n(3), { attrs: { origin: 0, asPath: [] }, nextHop: '192.0.2.1' })
  r.announce(rs, n(4), { attrs: { origin: 0, asPath: [{ type: 2, asns: [65002, 7] }] }, nextHop: '192.0.2.9' })
  r.commit()
  t.same(r.counts(p, Family.Ipv4Unicast), { received: 3, accepted: 1, active: 1, stale: 0 }, 'another first AS, or none, is not used')
  t.equal(r.counts(rs, Family.Ipv4Unicast).accepted, 1, 'a route server passes paths without its own AS')
})
