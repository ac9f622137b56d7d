/**
 * COMMUNITIES (RFC 1997 and the well-known values) and LARGE_COMMUNITY (RFC 8092): wire form,
 * names, text forms and their parsers, and the attribute round trip inside an UPDATE.
 */
import t from 'tap'
import {
  WellKnownCommunity,
  communityToString,
  decodeCommunities,
  decodeLargeCommunities,
  largeCommunityToString,
  parseCommunity,
  parseLargeCommunity,
  writeCommunities,
  writeLargeCommunities,
} from '../../bgp/codec/communities.js'
import { Family } from '../../bgp/codec/afi.js'
import { roundTrip } from '../helpers/round-trip.js'
import { ctxWith, hex, updateCodec } from './update-helpers.js'

t.test('well-known communities by name', async (t) => {
  const expect: Record<string, number> = {
    'no-export': 0xffffff01,
    'no-advertise': 0xffffff02,
    'no-export-subconfed': 0xffffff03,
    'no-peer': 0xffffff04,
    blackhole: 0xffff029a,
    'graceful-shutdown': 0xffff0000,
    'llgr-stale': 0xffff0006,
    'no-llgr': 0xffff0007,
    'accept-own': 0xffff0001,
  }
  t.equal(Object.keys(WellKnownCommunity).length, 9)
  for (const [name, value] of Object.entries(expect)) {
    t.equal(communityToString(value), name)
    t.equal(parseCommunity(name), value)
    t.equal(parseCommunity(name.toUpperCase().replace(/-/g, '_')), value)
  }
  t.equal(communityToString((65000 << 16) | 100), '65000:100')
  t.equal(parseCommunity('65000:100'), ((65000 << 16) | 100) >>> 0)
  t.equal(parseCommunity('4294967041'), 0xffffff01)
  t.throws(() => parseCommunity('70000:1'), /0\.\.65535/)
  t.throws(() => parseCommunity('nonsense'), /community "nonsense"/)
})

t.test('standard communities wire form', async (t) => {
  const cs = [0xffffff01, 1, (64512 << 16) >>> 0]
  const b = new Uint8Array(12)
  t.equal(writeCommunities(cs, b, 0), 12)
  t.equal(hex(b), 'ffffff0100000001fc000000')
  t.same(decodeCommunities(b, 0, 12), cs)
})

t.test('large communities wire and text form', async (t) => {
  const cs = [{ global: 4200000000, local1: 1, local2: 2 }, { global: 64512, local1: 0xffffffff, local2: 0 }]
  const b = new Uint8Array(24)
  t.equal(writeLargeCommunities(cs, b, 0), 24)
  t.same(decodeLargeCommunities(b, 0, 24), cs)
  t.equal(largeCommunityToString(cs[0]!), '4200000000:1:2')
  t.same(parseLargeCommunity('4200000000:1:2'), cs[0])
  t.throws(() => parseLargeCommunity('1:2'), /global:local1:local2/)
  t.throws(() => parseLargeCommunity('1:2:4294967296'), /0\.\.4294967295/)
})

t.test('attribute round trip in an UPDATE', async (t) => {
  const ctx = ctxWith()
  roundTrip(t, updateCodec(ctx), {
    type: 'update',
    withdrawn: [],
    attributes: {
      origin: 0,
      asPath: [{ type: 2, asns: [65001] }],
      nextHop: 0xc0000201,
      communities: [0xffffff01, 0xffff029a, 1],
      largeCommunities: [{ global: 1, local1: 2, local2: 3 }],
    },
    nlri: [{ family: Family.Ipv4Unicast, prefix: Uint8Array.of(10, 0, 0, 0), length: 8 }],
  })
})
