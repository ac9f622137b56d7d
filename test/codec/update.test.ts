/**
 * Whole UPDATE messages: round trips of every section together (withdrawn routes, MP_REACH_NLRI,
 * MP_UNREACH_NLRI, attributes, NLRI) on 4-octet and 2-octet sessions, at offsets inside larger
 * buffers; End-of-RIB; the maximum message length; recorded attribute order; and the UPDATEs that
 * gobgpd, FRR, BIRD and ExaBGP really sent (test/fixtures/captured), decoded and re-encoded byte for
 * byte, through both decode paths.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { Family } from '../../bgp/codec/afi.js'
import { routeTarget, encapsulation } from '../../bgp/codec/ext-communities.js'
import { labelEntry, labelValue, nlriToString, rdToString } from '../../bgp/codec/nlri.js'
import { decodeUpdateBulk, type UpdateSink } from '../../bgp/codec/bulk.js'
import {
  decodeUpdate,
  encodeUpdate,
  endOfRib,
  endOfRibFamily,
  updateAnnouncements,
  updateEncodingLength,
  updateWithdrawals,
  type UpdateMessage,
} from '../../bgp/codec/update.js'
import { bytesRoundTrip, roundTrip } from '../helpers/round-trip.js'
import { attr, bytes, ctxWith, encode, hex, rawUpdate, u32, updateCodec } from './update-helpers.js'

const v4 = (a: number, b: number, c: number, d: number, length: number) => ({ family: Family.Ipv4Unicast, prefix: Uint8Array.of(a, b, c, d), length })

const everything: UpdateMessage = {
  type: 'update',
  withdrawn: [v4(11, 0, 0, 0, 8), v4(12, 1, 0, 0, 16)],
  attributes: {
    origin: 0,
    asPath: [{ type: 2, asns: [64512, 4200000000] }],
    nextHop: 0xc0000201,
    localPref: 100,
    communities: [0xffffff01],
    extCommunities: [routeTarget(64512, 7), encapsulation(13)],
  },
  mpReach: {
    family: Family.Ipv4Vpn,
    nextHop: [Uint8Array.of(192, 0, 2, 1)],
    nlri: [{ family: Family.Ipv4Vpn, prefix: Uint8Array.of(10, 1, 0, 0), length: 16, labels: [labelEntry(17)], rd: { type: 0, admin: 64512, assigned: 7 } }],
  },
  mpUnreach: { family: Family.Ipv6Unicast, nlri: [{ family: Family.Ipv6Unicast, prefix: new Uint8Array(16).fill(0x20, 0, 8), length: 64 }] },
  nlri: [v4(10, 9, 9, 0, 24), v4(0, 0, 0, 0, 0), v4(192, 0, 2, 7, 32)],
}

t.test('every section together, 4-octet and 2-octet sessions', async (t) => {
  for (const as4 of [true, false]) {
    const ctx = ctxWith({ as4 })
    roundTrip(t, updateCodec(ctx), everything, { name: `as4 ${as4}` })
    const m = decodeUpdate(encode(everything, ctx), 0, updateEncodingLength(everything, ctx), ctx)
    t.equal(updateWithdrawals(m).length, 3)
    t.equal(updateAnnouncements(m).length, 4)
  }
})

t.test('header and section layout on the wire', async (t) => {
  const ctx = ctxWith()
  const b = encode({ type: 'update', withdrawn: [v4(10, 0, 0, 0, 8)], attributes: { origin: 0, asPath: [], nextHop: 0x0a000001 }, nlri: [v4(10, 1, 0, 0, 16)] }, ctx)
  t.equal(hex(b), 'ffffffffffffffffffffffffffffffff' + '002a' + '02' + '0002080a' + '000e' + '40010100' + '400200' + '4003040a000001' + '100a01')
})

t.test('End-of-RIB markers', async (t) => {
  const ctx = ctxWith()
  for (const f of [Family.Ipv4Unicast, Family.Ipv4Vpn, Family.RouteTarget]) {
    const b = encode(endOfRib(f), ctx)
    t.equal(endOfRibFamily(decodeUpdate(b, 0, b.length, ctx)), f)
  }
  t.equal(hex(encode(endOfRib(Family.Ipv4Unicast), ctx)), 'ffffffffffffffffffffffffffffffff0017020000' + '0000')
  t.equal(endOfRibFamily(everything), undefined)
})

t.test('maximum message length', async (t) => {
  const many = Array.from({ length: 1200 }, (_, i) => v4(10, i >> 8, i & 0xff, 0, 24))
  const msg: UpdateMessage = { type: 'update', withdrawn: [], attributes: { origin: 0, asPath: [], nextHop: 1 }, nlri: many }
  const ctx = ctxWith()
  t.throws(() => encode(msg, ctx), /exceed the session's maximum message length 4096/)
  const big = ctxWith({ maxMessageLength: 65535 })
  const b = encode(msg, big)
  t.ok(b.length > 4096, 'RFC 8654 extended message')
  t.equal(decodeUpdate(b, 0, b.length, big).nlri.length, 1200)
  t.throws(() => encodeUpdate(msg, big, new Uint8Array(100), 0), /do not fit the buffer/)
})

t.test('a recorded attribute order (GoBGP, ExaBGP) re-encodes byte for byte', async (t) => {
  const ctx = ctxWith()
  const attrs = bytes(attr(0x40, 1, [0]), attr(0x40, 2, [2, 1, ...u32(1)]), attr(0xc0, 8, u32(5)), attr(0x40, 3, [1, 2, 3, 4]),
    attr(0x90, 14, [0, 2, 1, 16, ...new Array(16).fill(1), 0, 8, 0x20]))
  const upd = rawUpdate([], attrs, [8, 10])
  const m = bytesRoundTrip(t, updateCodec(ctx), upd, 'MP_REACH last, COMMUNITIES before NEXT_HOP')
  t.same(m.attributes.order, [1, 2, 8, 3, 14])
  const canonical = encode({ ...m, attributes: { ...m.attributes, order: undefined } as never }, ctx)
  t.equal(canonical[23 + 1], 14, 'without the recorded order MP_REACH goes first')
})

class Counter implements UpdateSink {
  routes = 0
  issues = 0
  attributes(): void {}
  ipv4(): void {
    this.routes++
  }
  ipv6(): void {
    this.routes++
  }
  vpnv4(): void {
    this.routes++
  }
  vpnv6(): void {
    this.routes++
  }
  nlri(): void {
    this.routes++
  }
  issue(): void {
    this.issues++
  }
}

interface CaptureRoute {
  family: string
  prefix?: string
  rd?: { type: number; admin: number | string; assigned: number }
  labels?: number[]
  encapsulation?: number
}
interface Capture {
  file: string
  ebgp: boolean
  recorder: { as4: boolean; addPathReceive: [number, number][] }
  routes: CaptureRoute[]
}

t.test('UPDATEs captured from gobgpd, FRR, BIRD and ExaBGP', async (t) => {
  const dir = new URL('../fixtures/captured/', import.meta.url)
  const manifest = JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as { captures: Capture[] }
  t.ok(manifest.captures.length >= 4, `${manifest.captures.length} captures`)
  let updates = 0
  const seen = new Set<number>()
  for (const cap of manifest.captures) {
    const stream = new Uint8Array(readFileSync(new URL(cap.file, dir)))
    // The session as the recorder negotiated it (manifest), not guessed from the bytes.
    const ctx = ctxWith({
      ebgp: cap.ebgp,
      as4: cap.recorder.as4,
      addPathReceive: new Set(cap.recorder.addPathReceive.map(([afi, safi]) => (afi << 8) | safi)),
      addPathSend: new Set(cap.recorder.addPathReceive.map(([afi, safi]) => (afi << 8) | safi)),
    })
    const announced: string[] = []
    for (let p = 0; p + 19 <= stream.length; ) {
      const len = (stream[p + 16]! << 8) | stream[p + 17]!
      if (stream[p + 18] === 2) {
        const one = stream.slice(p, p + len)
        const m = bytesRoundTrip(t, updateCodec(ctx), one, `${cap.file} @${p}`)
        t.equal(m.report, undefined, `${cap.file} @${p}: no RFC 7606 issues`)
        if (m.mpReach) seen.add(m.mpReach.family)
        if (m.nlri.length > 0) seen.add(Family.Ipv4Unicast)
        for (const n of updateAnnouncements(m)) {
          const plain = nlriToString({ family: n.family, prefix: n.prefix, length: n.length })
          announced.push([plain, n.rd ? rdToString(n.rd) : '', (n.labels ?? []).map(labelValue).join('/')].join(' '))
        }
        const sink = new Counter()
        decodeUpdateBulk(one, 0, len, ctx, sink)
        t.equal(sink.routes, updateWithdrawals(m).length + updateAnnouncements(m).length, `${cap.file} @${p}: bulk path sees the same routes`)
        updates++
      }
      p += len
    }
    // Every route the daemon was configured to send is among the decoded announcements.
    for (const r of cap.routes) {
      if (r.prefix === undefined || r.family === 'rtc') continue
      const rd = r.rd === undefined ? '' : `${r.rd.admin}:${r.rd.assigned}`
      const want = [r.prefix, rd, (r.labels ?? []).join('/')].join(' ')
      t.ok(announced.includes(want), `${cap.file}: ${want} decoded`)
    }
  }
  t.ok(updates >= 20, `${updates} UPDATEs`)
  for (const fam of [Family.Ipv4Unicast, Family.Ipv6Unicast, Family.Ipv4Vpn, Family.Ipv6Vpn, Family.RouteTarget]) t.ok(seen.has(fam), `family ${fam} captured`)
})
