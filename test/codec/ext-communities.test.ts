/**
 * EXTENDED_COMMUNITIES (RFC 4360, RFC 5668, RFC 9012 encapsulation, Contrail kinds): every typed kind
 * from and to its exact bytes, opaque pass-through, text forms and the parser.
 */
import t from 'tap'
import fc from 'fast-check'
import {
  TunnelType,
  decodeExtCommunity,
  extCommunityBytes,
  extCommunityToString,
  parseExtCommunity,
  type ExtendedCommunity,
} from '../../bgp/codec/ext-communities.js'
import { Family } from '../../bgp/codec/afi.js'
import { roundTrip, fromHex } from '../helpers/round-trip.js'
import { ctxWith, hex, updateCodec } from './update-helpers.js'

const cases: [string, ExtendedCommunity, string][] = [
  ['0002fc0000000064', { kind: 'route-target', form: 'as2', admin: 64512, assigned: 100 }, 'rt:64512:100'],
  ['01020a0000010005', { kind: 'route-target', form: 'ipv4', admin: 0x0a000001, assigned: 5 }, 'rt:10.0.0.1:5'],
  ['0202fa56ea000007', { kind: 'route-target', form: 'as4', admin: 4200000000, assigned: 7 }, 'rt:4200000000:7'],
  ['0202000000640007', { kind: 'route-target', form: 'as4', admin: 100, assigned: 7 }, 'rt:100L:7'],
  ['0003fc0000000001', { kind: 'route-origin', form: 'as2', admin: 64512, assigned: 1 }, 'soo:64512:1'],
  ['0103c00002010002', { kind: 'route-origin', form: 'ipv4', admin: 0xc0000201, assigned: 2 }, 'soo:192.0.2.1:2'],
  ['030c00000000000d', { kind: 'encapsulation', tunnelType: 13 }, 'encap:udp'],
  ['030c000000000002', { kind: 'encapsulation', tunnelType: 2 }, 'encap:gre'],
  ['030c000000000008', { kind: 'encapsulation', tunnelType: 8 }, 'encap:vxlan'],
  ['030c000000000009', { kind: 'encapsulation', tunnelType: 9 }, 'encap:nvgre'],
  ['030c00000000000a', { kind: 'encapsulation', tunnelType: 10 }, 'encap:mpls'],
  ['030c00000000000b', { kind: 'encapsulation', tunnelType: 11 }, 'encap:mpls-o-gre'],
  ['030c00000000000c', { kind: 'encapsulation', tunnelType: 12 }, 'encap:vxlan-gpe'],
  ['030c0000000003e7', { kind: 'encapsulation', tunnelType: 999 }, 'encap:999'],
  ['8004fc00007a1201', { kind: 'security-group', as4: false, as: 64512, id: 8000001 }, 'sg:64512:8000001'],
  ['8204fa56ea000010', { kind: 'security-group', as4: true, as: 4200000000, id: 16 }, 'sg:4200000000:16'],
  ['8071fc0000000005', { kind: 'origin-vn', as: 64512, vnIndex: 5 }, 'origin-vn:64512:5'],
  ['8084fc0000000003', { kind: 'tag', as: 64512, tag: 3 }, 'tag:64512:3'],
  ['03aa000100020003', { kind: 'load-balance', value: fromHex('000100020003') }, 'lb:000100020003'],
  ['0009fc0000000001', { kind: 'opaque', bytes: fromHex('0009fc0000000001') }, 'raw:0009fc0000000001'],
  ['030c00010000000d', { kind: 'opaque', bytes: fromHex('030c00010000000d') }, 'raw:030c00010000000d'],
  ['400200000000000a', { kind: 'opaque', bytes: fromHex('400200000000000a') }, 'raw:400200000000000a'],
]

t.test('each kind decodes from and encodes to its exact bytes, and has a text form', async (t) => {
  for (const [wire, value, text] of cases) {
    const b = fromHex(wire)
    t.same(decodeExtCommunity(b, 0), value, `${wire} decodes`)
    t.equal(hex(extCommunityBytes(value)), wire, `${text} encodes`)
    t.equal(extCommunityToString(value), text, `${wire} text`)
    t.same(parseExtCommunity(text), value, `${text} parses`)
  }
  t.equal(TunnelType.udp, 13, 'MPLSoUDP is tunnel type 13')
})

t.test('parser rejects bad input with the reason', async (t) => {
  t.throws(() => parseExtCommunity('rt:64512'), /expected rt:ADMIN:NUMBER/)
  t.throws(() => parseExtCommunity('rt:70000:70000'), /assigned number must be 0..65535/)
  t.throws(() => parseExtCommunity('rt:1.2.3.400:1'), /not an IPv4 address/)
  t.throws(() => parseExtCommunity('bogus:1:2'), /unknown kind "bogus"/)
  t.throws(() => parseExtCommunity('raw:0102'), /16 hex digits/)
  t.throws(() => parseExtCommunity('encap:warp'), /tunnel type/)
})

t.test('any 8 bytes survive decode/encode and text/parse unchanged', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), (b) => {
      const c = decodeExtCommunity(b, 0)
      if (hex(extCommunityBytes(c)) !== hex(b)) return false
      return hex(extCommunityBytes(parseExtCommunity(extCommunityToString(c)))) === hex(b)
    }),
    { numRuns: 5000 },
  )
  t.pass('5000 random communities')
})

t.test('attribute round trip in an UPDATE (VPN route with RT and encapsulation)', async (t) => {
  const ctx = ctxWith()
  roundTrip(t, updateCodec(ctx), {
    type: 'update',
    withdrawn: [],
    attributes: { origin: 0, asPath: [], localPref: 100, extCommunities: cases.map((c) => c[1]) },
    mpReach: {
      family: Family.Ipv4Vpn,
      nextHop: [Uint8Array.of(192, 0, 2, 1)],
      nlri: [{ family: Family.Ipv4Vpn, prefix: Uint8Array.of(10, 1, 0, 0), length: 16, labels: [0x3e81], rd: { type: 0, admin: 64512, assigned: 1 } }],
    },
    nlri: [],
  })
})
