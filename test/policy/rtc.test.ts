/**
 * Route-target constraint (bgp/policy/rtc.ts, RFC 4684): our membership NLRIs (origin AS + route
 * target, length 96, and the default of length 0) survive an UPDATE round trip through the codec
 * (encodeUpdate / decodeUpdate) byte for byte; RtcFilter allows a VPN route when one of its route
 * targets matches a membership, for full (96), partial (33..95, not byte aligned too) and
 * origin-AS-only (32) lengths, or when the default was received; withdrawals are reference counted.
 */
import t from 'tap'
import fc from 'fast-check'
import { Family } from '../../bgp/codec/afi.js'
import { defaultContext } from '../../bgp/codec/context.js'
import { extCommunityBytes, encapsulation, routeTarget, type ExtendedCommunity } from '../../bgp/codec/ext-communities.js'
import { nlriToString, type Nlri } from '../../bgp/codec/nlri.js'
import { decodeUpdate, encodeUpdate, updateEncodingLength, type UpdateMessage } from '../../bgp/codec/update.js'
import { RtcFilter, rtcDefaultNlri, rtcMembershipNlris } from '../../bgp/policy/index.js'

const rts = [routeTarget(64512, 100), routeTarget('10.0.0.1', 5), routeTarget(4200000000, 7), routeTarget(64512, 100)]

t.test('membership NLRIs: origin AS + route target bytes, length 96, duplicates dropped', async (t) => {
  const nlris = rtcMembershipNlris(4200000001, rts)
  t.equal(nlris.length, 3)
  const first = nlris[0] as Nlri
  t.equal(first.family, Family.RouteTarget)
  t.equal(first.length, 96)
  t.same([...first.prefix.subarray(0, 4)], [0xfa, 0x56, 0xea, 0x01], 'origin AS 4200000001')
  t.same([...first.prefix.subarray(4)], [...extCommunityBytes(routeTarget(64512, 100))])
  t.same([...first.prefix.subarray(4, 6)], [0x00, 0x02], 'type 0x00 subtype 0x02')
  t.same([...(nlris[1] as Nlri).prefix.subarray(4, 6)], [0x01, 0x02], 'IPv4 form')
  t.same([...(nlris[2] as Nlri).prefix.subarray(4, 6)], [0x02, 0x02], '4-octet AS form')
  t.equal(nlriToString(first), 'rtc 4200000001:0002fc0000000064/96', 'the codec reads it as RTC')
  const d = rtcDefaultNlri()
  t.equal(d.length, 0)
  t.equal(d.prefix.length, 12)
  t.equal(nlriToString(d), 'rtc default')
  t.throws(() => rtcMembershipNlris(1, [encapsulation(13)]), /not a route target/)
  t.throws(() => rtcMembershipNlris(-1, rts), /not a 4-octet AS number/)
})

t.test('RTC NLRIs round trip through an UPDATE (encodeUpdate, decodeUpdate)', async (t) => {
  for (const as4 of [true, false]) {
    const ctx = defaultContext({ as4, families: new Set([Family.RouteTarget]) })
    const nlri = [rtcDefaultNlri(), ...rtcMembershipNlris(64512, rts)]
    const msg: UpdateMessage = {
      type: 'update',
      withdrawn: [],
      attributes: { origin: 0, asPath: [], localPref: 100 },
      mpReach: { family: Family.RouteTarget, nextHop: [Uint8Array.of(192, 0, 2, 1)], nlri },
      nlri: [],
    }
    const buf = new Uint8Array(updateEncodingLength(msg, ctx) + 5)
    const n = encodeUpdate(msg, ctx, buf, 5)
    const back = decodeUpdate(buf, 5, n, ctx)
    t.equal(back.mpReach?.family, Family.RouteTarget)
    t.same(
      back.mpReach?.nlri.map((x) => ({ length: x.length, prefix: [...x.prefix] })),
      nlri.map((x) => ({ length: x.length, prefix: [...x.prefix] })),
      `NLRIs equal after the round trip (as4 ${as4})`,
    )
    const again = new Uint8Array(n)
    encodeUpdate(back, ctx, again, 0)
    t.same(again, buf.subarray(5, 5 + n), 're-encodes byte for byte')
    // Withdrawal of a membership (MP_UNREACH) round trips as well, and feeds the filter.
    const w: UpdateMessage = { type: 'update', withdrawn: [], attributes: {}, mpUnreach: { family: Family.RouteTarget, nlri: nlri.slice(1, 2) }, nlri: [] }
    const wb = new Uint8Array(updateEncodingLength(w, ctx))
    encodeUpdate(w, ctx, wb, 0)
    const wd = decodeUpdate(wb, 0, wb.length, ctx)
    const f = new RtcFilter()
    for (const x of back.mpReach?.nlri ?? []) if (x.length > 0) f.add(x)
    t.ok(f.allowsRouteTargets([routeTarget(64512, 100)]))
    for (const x of wd.mpUnreach?.nlri ?? []) t.ok(f.remove(x))
    t.notOk(f.allowsRouteTargets([routeTarget(64512, 100)]), 'withdrawn membership no longer matches')
    t.ok(f.allowsRouteTargets([routeTarget('10.0.0.1', 5)]))
  }
})

/** A membership NLRI of `length` bits for `rt` from `as` (bits past the length zeroed, as a sender should). */
function membership(as: number, rt: ExtendedCommunity, length: number): Nlri {
  const [n] = rtcMembershipNlris(as, [rt])
  const prefix = Uint8Array.from((n as Nlri).prefix)
  for (let i = length; i < 96; i++) prefix[i >> 3] = (prefix[i >> 3] as number) & ~(0x80 >> (i & 7))
  return { family: Family.RouteTarget, prefix, length }
}
const attrsWith = (...ext: ExtendedCommunity[]) => ({ origin: 0, extCommunities: ext })

t.test('RtcFilter: exact memberships, several route targets, nothing received', async (t) => {
  const f = new RtcFilter()
  t.notOk(f.allows(attrsWith(routeTarget(64512, 100))), 'no memberships: nothing allowed')
  t.notOk(f.hasDefault)
  f.add(membership(64512, routeTarget(64512, 100), 96))
  f.add(membership(64512, routeTarget('10.0.0.1', 5), 96))
  t.equal(f.size, 2)
  t.ok(f.allows(attrsWith(routeTarget(64512, 100))))
  t.ok(f.allows(attrsWith(encapsulation(13), routeTarget(1, 1), routeTarget('10.0.0.1', 5))), 'any of the route\'s targets')
  t.notOk(f.allows(attrsWith(routeTarget(64512, 101))))
  t.notOk(f.allows(attrsWith(routeTarget(64512, 100, 'as4'))), '4-octet form of the same numbers is another target')
  t.notOk(f.allows({ origin: 0 }), 'a route without route targets')
  t.notOk(f.allows(attrsWith(encapsulation(13))))
  t.ok(f.allows(attrsWith(routeTarget(64512, 100))), 'repeat answer (memoised) is the same')
})

t.test('RtcFilter: partial lengths (RFC 4684 4), origin AS only, default', async (t) => {
  const f = new RtcFilter()
  // 32 + 16 bits: type 0x00 subtype 0x02 = every 2-octet-AS route target.
  f.add(membership(1, routeTarget(64512, 100), 48))
  t.ok(f.allows(attrsWith(routeTarget(7, 7))))
  t.notOk(f.allows(attrsWith(routeTarget('10.0.0.1', 5))), 'IPv4 form has type 0x01')
  f.clear()
  // 32 + 32: type, subtype and the 2-octet AS: every target of AS 64512.
  f.add(membership(1, routeTarget(64512, 100), 64))
  t.ok(f.allows(attrsWith(routeTarget(64512, 999999))))
  t.notOk(f.allows(attrsWith(routeTarget(64513, 100))))
  f.clear()
  // Not byte aligned: 32 + 60 bits, the assigned number's last 4 bits free (100 = 0x64 -> 0x60..0x6f).
  f.add(membership(1, routeTarget(64512, 100), 92))
  t.ok(f.allows(attrsWith(routeTarget(64512, 0x60))))
  t.ok(f.allows(attrsWith(routeTarget(64512, 0x6f))))
  t.notOk(f.allows(attrsWith(routeTarget(64512, 0x70))))
  t.notOk(f.allows(attrsWith(routeTarget(64512, 0x5f))))
  f.clear()
  // Bits past the length as received (not zeroed) must not matter.
  const dirty = rtcMembershipNlris(1, [routeTarget(64512, 0x1234)])[0] as Nlri
  f.add({ ...dirty, length: 80 })
  t.ok(f.allows(attrsWith(routeTarget(64512, 0x12ff))), 'only the first 48 bits of the target compared')
  f.clear()
  f.add(membership(65000, routeTarget(1, 1), 32))
  t.ok(f.allows(attrsWith(routeTarget('192.0.2.1', 1))), 'length 32: every route target')
  t.notOk(f.allows({ origin: 0 }), 'but a route must carry one')
  f.clear()
  f.add(rtcDefaultNlri())
  t.ok(f.hasDefault)
  t.ok(f.allows({ origin: 0 }), 'default: everything, even without route targets')
  t.ok(f.remove(rtcDefaultNlri()))
  t.notOk(f.allows({ origin: 0 }))
  t.throws(() => f.add({ family: Family.RouteTarget, prefix: new Uint8Array(12), length: 20 }), /0 or 32\.\.96/)
  t.throws(() => f.add({ family: Family.Ipv4Unicast, prefix: new Uint8Array(4), length: 0 }), /not a route-target membership/)
})

t.test('RtcFilter: incremental add/remove with reference counts', async (t) => {
  const f = new RtcFilter()
  const a = membership(64512, routeTarget(64512, 1), 96)
  const b = membership(64513, routeTarget(64512, 1), 96) // same target, another origin AS
  f.add(a)
  f.add(b)
  f.add(a) // re-announced
  t.equal(f.size, 2)
  t.ok(f.remove(a))
  t.ok(f.allows(attrsWith(routeTarget(64512, 1))), 'a was announced twice')
  t.ok(f.remove(a))
  t.ok(f.allows(attrsWith(routeTarget(64512, 1))), 'b still asks for it')
  t.ok(f.remove(b))
  t.notOk(f.allows(attrsWith(routeTarget(64512, 1))))
  t.notOk(f.remove(b), 'removing what is not held')
  t.equal(f.size, 0)
  const p = membership(1, routeTarget(64512, 1), 64)
  f.add(p)
  f.add(membership(1, routeTarget(64512, 2), 96))
  t.ok(f.allows(attrsWith(routeTarget(64512, 3))))
  f.remove(p)
  t.notOk(f.allows(attrsWith(routeTarget(64512, 3))), 'partial membership withdrawn')
  t.ok(f.allows(attrsWith(routeTarget(64512, 2))))
})

t.test('property: RtcFilter agrees with a bit-by-bit matcher after random adds and removes', async (t) => {
  // Route targets from a small space so memberships and routes collide often.
  const rtArb = fc.tuple(fc.constantFrom<'as2' | 'as4' | 'ipv4'>('as2', 'as4', 'ipv4'), fc.constantFrom(1, 64512, 65535), fc.integer({ min: 0, max: 40 })).map(([form, admin, n]) =>
    form === 'ipv4' ? routeTarget('10.0.0.1', n) : routeTarget(admin, n, form),
  )
  const memArb = fc.tuple(fc.constantFrom(64512, 65000), rtArb, fc.constantFrom(0, 32, 40, 47, 48, 60, 64, 65, 80, 90, 95, 96))
  const naive = (held: Nlri[], rts: ExtendedCommunity[]): boolean =>
    held.some((m) => {
      if (m.length === 0) return true
      return rts.some((rt) => {
        const b = extCommunityBytes(rt)
        for (let i = 0; i < m.length - 32; i++) {
          const bit = (x: Uint8Array, j: number): number => ((x[j >> 3] as number) >> (7 - (j & 7))) & 1
          if (bit(b, i) !== bit(m.prefix, i + 32)) return false
        }
        return rt.kind === 'route-target'
      })
    })
  fc.assert(
    fc.property(fc.array(memArb, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 5 }), fc.array(fc.array(rtArb, { maxLength: 3 }), { minLength: 1, maxLength: 10 }), (mems, removals, routes) => {
      const f = new RtcFilter()
      const held: Nlri[] = []
      for (const [as, rt, len] of mems) {
        const n = len === 0 ? rtcDefaultNlri() : membership(as, rt, len)
        f.add(n)
        held.push(n)
      }
      for (const r of removals) {
        if (held.length === 0) break
        const [n] = held.splice(r % held.length, 1)
        f.remove(n as Nlri)
      }
      return routes.every((rts) => f.allows(attrsWith(...rts)) === naive(held, rts) && f.allowsRouteTargets(rts) === naive(held, rts))
    }),
    { numRuns: 300 },
  )
  t.pass('300 random membership sets agree')
})
