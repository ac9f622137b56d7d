/**
 * Best path (RFC 4271 9.1.2.2) and multipath, step by step, through the Rib's object API: each test
 * sets up two or more paths that differ in exactly one step and checks which one wins.
 */
import t from 'tap'
import { Family } from '../../bgp/codec/afi.js'
import type { AsPath } from '../../bgp/codec/as-path.js'
import type { PathAttributes } from '../../bgp/codec/attributes.js'
import type { Nlri } from '../../bgp/codec/nlri.js'
import { Rib, type BestChange, type RibOptions } from '../../bgp/rib/index.js'

const prefix: Nlri = { family: Family.Ipv4Unicast, prefix: new Uint8Array([10, 1, 0, 0]), length: 16 }

function rib(options: Partial<RibOptions> = {}): Rib {
  return new Rib({ localAs: 65000, routerId: 0x01010101, ...options })
}

const seq = (...asns: number[]): AsPath => [{ type: 2, asns }]
const base = (over: Partial<PathAttributes> = {}): PathAttributes => ({ origin: 0, asPath: seq(65001), ...over })

interface PeerSpec {
  address: string
  asn: number
  routerId: number
  ebgp: boolean
}

function setup(options: Partial<RibOptions>, peers: PeerSpec[], attrs: PathAttributes[], nextHops?: string[]): { r: Rib; ids: number[] } {
  const r = rib(options)
  const ids = peers.map((p) => r.addPeer(p))
  attrs.forEach((a, i) => r.announce(ids[i] as number, prefix, { attrs: a, nextHop: nextHops?.[i] ?? `192.0.2.${i + 1}` }))
  r.commit()
  return { r, ids }
}

const ebgpPeer = (n: number, asn = 65001, routerId = 100 + n): PeerSpec => ({ address: `192.0.2.${n}`, asn, routerId, ebgp: true })
const ibgpPeer = (n: number, routerId = 100 + n): PeerSpec => ({ address: `192.0.2.${n}`, asn: 65000, routerId, ebgp: false })

function bestPeer(r: Rib): number {
  const t = r.table(Family.Ipv4Unicast)
  return t.bestPeer(t.lookup('10.1.0.0/16'))
}

t.test('a. highest LOCAL_PREF wins even over a shorter AS_PATH', async (t) => {
  const { r, ids } = setup({}, [ibgpPeer(1), ibgpPeer(2)], [base({ localPref: 100, asPath: seq(1) }), base({ localPref: 200, asPath: seq(1, 2, 3) })])
  t.equal(bestPeer(r), ids[1])
})

t.test('missing LOCAL_PREF counts as 100', async (t) => {
  const { r, ids } = setup({}, [ibgpPeer(1), ibgpPeer(2)], [base({ localPref: 99 }), base({})])
  t.equal(bestPeer(r), ids[1])
})

t.test('locally originated routes win over learned ones of equal LOCAL_PREF', async (t) => {
  const r = rib()
  const p = r.addPeer(ebgpPeer(1))
  r.announce(p, prefix, { attrs: base({ asPath: [] }), nextHop: '192.0.2.1' })
  r.announce(0, prefix, { attrs: base({ asPath: seq(1, 2) }), nextHop: '0.0.0.0' })
  r.commit()
  t.equal(bestPeer(r), 0)
})

t.test('b. shortest AS_PATH; an AS_SET counts as one; confederation segments count zero', async (t) => {
  const { r, ids } = setup({}, [ebgpPeer(1), ebgpPeer(2)], [base({ asPath: seq(65001, 2, 3) }), base({ asPath: [{ type: 2, asns: [65001] }, { type: 1, asns: [7, 8, 9, 10] }] })])
  t.equal(bestPeer(r), ids[1], 'AS_SET of four counts as one: 2 < 3')
  // Confederation segments come from iBGP (confederation) peers; an eBGP peer's path starts with its AS.
  const c = setup({}, [ibgpPeer(1), ibgpPeer(2)], [base({ asPath: [{ type: 3, asns: [1, 2, 3] }, { type: 2, asns: [65001, 5] }] }), base({ asPath: seq(65001, 5, 6) })])
  t.equal(bestPeer(c.r), c.ids[0], 'confed sequence counts zero: 2 < 3')
})

t.test('c. lowest ORIGIN', async (t) => {
  const { r, ids } = setup({}, [ebgpPeer(1), ebgpPeer(2)], [base({ origin: 2 }), base({ origin: 1 })])
  t.equal(bestPeer(r), ids[1])
})

t.test('d. lowest MED only among routes from the same neighbouring AS', async (t) => {
  // Same neighbour AS: MED decides.
  const same = setup({}, [ebgpPeer(1, 65001, 1), ebgpPeer(2, 65001, 9)], [base({ med: 50 }), base({ med: 10 })])
  t.equal(bestPeer(same.r), same.ids[1], 'MED 10 beats 50 from the same AS despite the higher router id')
  // Different neighbour ASes: MED is not compared; router id decides (lower wins).
  const diff = setup({}, [ebgpPeer(1, 65001, 1), ebgpPeer(2, 65002, 9)], [base({ med: 50, asPath: seq(65001) }), base({ med: 10, asPath: seq(65002) })])
  t.equal(bestPeer(diff.r), diff.ids[0], 'MED ignored across ASes; router id 1 wins')
  const always = setup({ alwaysCompareMed: true }, [ebgpPeer(1, 65001, 1), ebgpPeer(2, 65002, 9)], [base({ med: 50, asPath: seq(65001) }), base({ med: 10, asPath: seq(65002) })])
  t.equal(bestPeer(always.r), always.ids[1], 'always-compare-med: MED 10 wins across ASes')
})

t.test('d. MED elimination is per AS group, not pairwise (the RFC procedure, order independent)', async (t) => {
  // A (AS1, MED 10, rid 30), B (AS1, MED 20, rid 10), C (AS2, MED 5, rid 20). RFC: B loses to A in
  // AS1; then A vs C by router id: C (20) beats A (30). A pairwise walk in the order B, C, A would
  // pick B then C... the RFC answer is C in every order.
  for (const order of [
    [0, 1, 2],
    [1, 2, 0],
    [2, 0, 1],
    [1, 0, 2],
  ]) {
    const specs = [ebgpPeer(1, 1, 30), ebgpPeer(2, 1, 10), ebgpPeer(3, 2, 20)]
    const attrs = [base({ med: 10, asPath: seq(1) }), base({ med: 20, asPath: seq(1) }), base({ med: 5, asPath: seq(2) })]
    const r = rib()
    const ids = specs.map((s) => r.addPeer(s))
    for (const i of order) r.announce(ids[i] as number, prefix, { attrs: attrs[i] as PathAttributes, nextHop: '192.0.2.9' })
    r.commit()
    t.equal(bestPeer(r), ids[2], `order ${order.join(',')}`)
  }
})

t.test('missing MED is 0, or the worst with missingMedWorst', async (t) => {
  const a = setup({}, [ebgpPeer(1, 65001, 9), ebgpPeer(2, 65001, 1)], [base({}), base({ med: 5 })])
  t.equal(bestPeer(a.r), a.ids[0])
  const b = setup({ missingMedWorst: true }, [ebgpPeer(1, 65001, 1), ebgpPeer(2, 65001, 9)], [base({}), base({ med: 5 })])
  t.equal(bestPeer(b.r), b.ids[1])
})

t.test('e. eBGP over iBGP', async (t) => {
  const { r, ids } = setup({}, [ibgpPeer(1, 1), ebgpPeer(2, 65001, 9)], [base({}), base({})])
  t.equal(bestPeer(r), ids[1])
})

t.test('f. lowest router id, ORIGINATOR_ID standing in for it', async (t) => {
  const a = setup({}, [ibgpPeer(1, 50), ibgpPeer(2, 40)], [base({}), base({})])
  t.equal(bestPeer(a.r), a.ids[1])
  const b = setup({}, [ibgpPeer(1, 50), ibgpPeer(2, 40)], [base({ originatorId: 7 }), base({})])
  t.equal(bestPeer(b.r), b.ids[0], 'ORIGINATOR_ID 7 < router id 40')
})

t.test('g. shorter CLUSTER_LIST, then lowest peer address', async (t) => {
  const a = setup({}, [ibgpPeer(1, 5), ibgpPeer(2, 5)], [base({ originatorId: 1, clusterList: [1, 2] }), base({ originatorId: 1, clusterList: [3] })])
  t.equal(bestPeer(a.r), a.ids[1])
  const r = rib()
  const hi = r.addPeer({ address: '192.0.2.20', asn: 65000, routerId: 5, ebgp: false })
  const lo = r.addPeer({ address: '192.0.2.3', asn: 65000, routerId: 5, ebgp: false })
  r.announce(hi, prefix, { attrs: base({}), nextHop: '192.0.2.20' })
  r.announce(lo, prefix, { attrs: base({}), nextHop: '192.0.2.3' })
  r.commit()
  t.equal(bestPeer(r), lo, '192.0.2.3 < 192.0.2.20 numerically, not as text')
})

t.test('multipath: up to maximum, equal AS_PATH required unless relaxed', async (t) => {
  const peers = [ebgpPeer(1, 65001, 4), ebgpPeer(2, 65001, 3), ebgpPeer(3, 65002, 2), ebgpPeer(4, 65001, 1)]
  const attrs = [base({ asPath: seq(65001, 9) }), base({ asPath: seq(65001, 9) }), base({ asPath: seq(65002, 9) }), base({ asPath: seq(65001, 9) })]
  const strict = setup({ multipath: { maximum: 8 } }, peers, attrs)
  const t4 = strict.r.table(Family.Ipv4Unicast)
  const d = t4.lookup('10.1.0.0/16')
  t.same(
    t4.multipath(d).map((e) => e.peer),
    [strict.ids[3], strict.ids[1], strict.ids[0]],
    'best (router id 1) first, then by tie-break order; AS 65002 path left out',
  )
  const relaxed = setup({ multipath: { maximum: 8, relaxAsPath: true } }, peers, attrs)
  const tr = relaxed.r.table(Family.Ipv4Unicast)
  t.equal(tr.multipath(tr.lookup('10.1.0.0/16')).length, 4, 'relax: equal length is enough')
  const capped = setup({ multipath: { maximum: 2, relaxAsPath: true } }, peers, attrs)
  const tc = capped.r.table(Family.Ipv4Unicast)
  t.same(
    tc.multipath(tc.lookup('10.1.0.0/16')).map((e) => e.peer),
    [capped.ids[3], capped.ids[2]],
    'maximum 2',
  )
  t.same(capped.r.counts(capped.ids[2] as number, Family.Ipv4Unicast).active, 1, 'active counts the multipath set')
  t.same(capped.r.counts(capped.ids[0] as number, Family.Ipv4Unicast).active, 0)
})

t.test('multipath never mixes eBGP and iBGP, or routes that differ in LOCAL_PREF or MED', async (t) => {
  const { r } = setup(
    { multipath: { maximum: 4, relaxAsPath: true } },
    [ebgpPeer(1, 65001, 1), ibgpPeer(2, 2), ebgpPeer(3, 65001, 3), ebgpPeer(4, 65001, 4)],
    [base({}), base({}), base({ med: 7 }), base({ localPref: 50 })],
  )
  const t4 = r.table(Family.Ipv4Unicast)
  t.equal(t4.multipath(t4.lookup('10.1.0.0/16')).length, 1)
})

t.test('best events: add, replace with the whole multipath set, withdraw', async (t) => {
  const r = rib({ multipath: { maximum: 2 } })
  const a = r.addPeer(ebgpPeer(1, 65001, 5))
  const b = r.addPeer(ebgpPeer(2, 65001, 6))
  const seen: BestChange[] = []
  r.on('best', (_f, list) => seen.push(...list))
  r.announce(a, prefix, { attrs: base({}), nextHop: '192.0.2.1' })
  r.commit()
  t.equal(seen.length, 1)
  t.match(seen[0], { kind: 'add', prefix: '10.1.0.0/16', best: { peer: a, nextHop: '192.0.2.1' } })
  r.announce(b, prefix, { attrs: base({}), nextHop: '192.0.2.2' })
  r.commit()
  t.equal(seen.length, 2)
  t.match(seen[1], { kind: 'replace' })
  t.same(
    seen[1]?.multipath.map((e) => e.nextHop),
    ['192.0.2.1', '192.0.2.2'],
  )
  // A path that changes nothing visible produces no event.
  r.announce(b, prefix, { attrs: base({}), nextHop: '192.0.2.2' })
  r.commit()
  t.equal(seen.length, 2, 'an identical re-announcement is silent')
  r.withdraw(a, prefix)
  r.commit()
  t.match(seen[2], { kind: 'replace', best: { peer: b } })
  t.equal(seen[2]?.multipath.length, 1)
  r.withdraw(b, prefix)
  r.commit()
  t.match(seen[3], { kind: 'withdraw', multipath: [] })
  t.equal(seen[3]?.best, undefined)
  t.equal(r.table(Family.Ipv4Unicast).size, 0)
  // Announce and withdraw inside one batch: nothing to tell.
  r.announce(a, prefix, { attrs: base({}), nextHop: '192.0.2.1' })
  r.withdraw(a, prefix)
  r.commit()
  t.equal(seen.length, 4)
})

t.test('best events in numbers: the change names its table; multipathSets agrees with multipath()', async (t) => {
  const r = rib({ multipath: { maximum: 3 } })
  const peers = [1, 2, 3, 4].map((i) => r.addPeer(ebgpPeer(i, 65001, 10 + i)))
  const seen: { dest: number; prefix: string; sets: number[]; labels: number[]; entries: number[] }[] = []
  r.on('best', (_f, list) => {
    for (const c of list) {
      const table = c.table
      if (table === undefined) throw new Error('a RIB change without its table')
      const sets = new Int32Array(8)
      const labels = new Int32Array(8)
      const n = table.multipathSets(c.dest, sets, labels)
      seen.push({ dest: c.dest, prefix: c.prefix, sets: [...sets.subarray(0, n)], labels: [...labels.subarray(0, n)], entries: c.multipath.map((e) => e.attrId) })
    }
  })
  peers.forEach((p, i) => r.announce(p, prefix, { attrs: base({}), nextHop: `192.0.2.${i + 1}` }))
  r.commit()
  const last = seen[seen.length - 1]
  const table = r.table(Family.Ipv4Unicast)
  t.equal(last?.prefix, '10.1.0.0/16')
  t.equal(last?.dest, table.lookup('10.1.0.0/16'))
  t.equal(last?.sets.length, 3, 'the multipath maximum')
  t.same(last?.sets, last?.entries, 'the same sets in the same order as multipath()')
  t.same(last?.labels, [-1, -1, -1], 'no labels on IPv4 unicast')
  t.same(last?.sets.map((id) => table.attributeSet(id).nextHop), table.multipath(last?.dest ?? -1).map((e) => e.nextHop))
  const one = new Int32Array(1)
  t.equal(table.multipathSets(last?.dest ?? -1, one, new Int32Array(1)), 1, 'at most the arrays\' length')
  t.equal(one[0], table.bestAttrId(last?.dest ?? -1), 'the best first')
})

t.test('changing a peer router id re-runs best path', async (t) => {
  const { r, ids } = setup({}, [ibgpPeer(1, 10), ibgpPeer(2, 20)], [base({}), base({})])
  t.equal(bestPeer(r), ids[0])
  r.updatePeer(ids[0] as number, { routerId: 30 })
  t.equal(bestPeer(r), ids[1])
})
