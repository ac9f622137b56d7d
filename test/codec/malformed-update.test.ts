/**
 * The malformed UPDATE corpus: one hand-made fixture per error case of RFC 4271 6.3 and RFC 7606
 * (plus RFC 4760, RFC 6793, RFC 8092, RFC 9234 where they fix the handling), each with the exact
 * expected action, NOTIFICATION code and subcode, and data where the RFC fixes it. Every fixture also
 * goes through the bulk decoder, which must reach the same outcome.
 */
import t, { type Test } from 'tap'
import { Family } from '../../bgp/codec/afi.js'
import type { CodecContext } from '../../bgp/codec/context.js'
import { BgpError, ErrorCode, UpdateSubcode, type ErrorAction } from '../../bgp/codec/errors.js'
import { decodeUpdateBulk, type UpdateSink } from '../../bgp/codec/bulk.js'
import { BgpFamilyError, decodeUpdate, endOfRibFamily, updateAnnouncements, updateWithdrawals, type UpdateIssue, type UpdateMessage } from '../../bgp/codec/update.js'
import { attr, bytes, ctxWith, hex, mandatory, rawUpdate, u16, u32 } from './update-helpers.js'

const S = UpdateSubcode
const NLRI = [24, 10, 1, 1, 16, 10, 2] // 10.1.1.0/24, 10.2.0.0/16
const WITHDRAWN = [8, 11] // 11.0.0.0/8

interface Thrown {
  kind: string
  code: number
  subcode: number
  action: ErrorAction
  data?: string
  family?: number
}
interface Issue {
  kind: string
  subcode: number
  action: ErrorAction
  attributeType: number
  data?: string
}
interface Case {
  name: string
  ctx?: Partial<CodecContext>
  msg: Uint8Array
  throws?: Thrown
  issues?: Issue[]
  /** Routes withdrawn (updateWithdrawals) and announced (updateAnnouncements). */
  withdrawn?: number
  announced?: number
  check?: (t: Test, m: UpdateMessage) => void
}

const mp = Family.Ipv4Vpn
const vpnNlri = [112, 0, 1, 1, 0, 0, 0xfc, 0, 0, 0, 0, 1, 10, 1, 2] // label 16, RD 0:64512:1, 10.1.2.0/24
const mpReachVpn = (nh: number[] = [0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 1], nlri: number[] = vpnNlri) =>
  attr(0x90, 14, [0, 1, 128, nh.length, ...nh, 0, ...nlri])
const origin = attr(0x40, 1, [0])
const asPath = attr(0x40, 2, [2, 1, ...u32(65001)])
const nextHop = attr(0x40, 3, [192, 0, 2, 1])
const withAttrs = (...a: Uint8Array[]) => rawUpdate(WITHDRAWN, bytes(...a), NLRI)

const cases: Case[] = [
  // --- RFC 4271 6.3 / RFC 7606 4 and 5.3: errors that cost the session ---
  {
    name: 'Withdrawn Routes Length runs past the message',
    msg: (() => {
      const m = rawUpdate(WITHDRAWN, mandatory(), NLRI)
      m[19] = 0x10
      return m
    })(),
    throws: { kind: 'withdrawn-length-overrun', code: 3, subcode: S.MalformedAttributeList, action: 'session-reset', data: '' },
  },
  {
    name: 'Total Path Attribute Length runs past the message',
    msg: (() => {
      const m = rawUpdate(WITHDRAWN, mandatory(), NLRI)
      m[19 + 2 + WITHDRAWN.length] = 0x10
      return m
    })(),
    throws: { kind: 'attribute-length-overrun', code: 3, subcode: S.MalformedAttributeList, action: 'session-reset', data: '' },
  },
  {
    name: 'withdrawn prefix longer than 32 bits',
    msg: rawUpdate([33, 1, 2, 3, 4, 5], [], []),
    throws: { kind: 'malformed-withdrawn-routes', code: 3, subcode: S.InvalidNetworkField, action: 'session-reset' },
  },
  {
    name: 'NLRI prefix longer than 32 bits',
    msg: rawUpdate([], mandatory(), [33, 1, 2, 3, 4, 5]),
    throws: { kind: 'malformed-nlri', code: 3, subcode: S.InvalidNetworkField, action: 'session-reset' },
  },
  {
    name: 'NLRI prefix overruns the message',
    msg: rawUpdate([], mandatory(), [24, 10, 1]),
    throws: { kind: 'malformed-nlri', code: 3, subcode: S.InvalidNetworkField, action: 'session-reset' },
  },
  {
    name: 'ADD-PATH NLRI cut inside the path identifier',
    ctx: { addPathReceive: new Set([Family.Ipv4Unicast]) },
    msg: rawUpdate([], mandatory(), [0, 0, 1]),
    throws: { kind: 'malformed-nlri', code: 3, subcode: S.InvalidNetworkField, action: 'session-reset' },
  },
  {
    name: 'UPDATE shorter than 23 bytes',
    msg: rawUpdate([], [], []).subarray(0, 22),
    throws: { kind: 'bad-message-length', code: ErrorCode.MessageHeader, subcode: 2, action: 'session-reset' },
  },
  {
    name: 'MP_REACH_NLRI twice (RFC 7606 3 g)',
    msg: rawUpdate([], bytes(mpReachVpn(), origin, asPath, mpReachVpn()), []),
    throws: { kind: 'duplicate-mp-attribute', code: 3, subcode: S.MalformedAttributeList, action: 'session-reset' },
  },
  {
    name: 'MP_UNREACH_NLRI twice (RFC 7606 3 g)',
    msg: rawUpdate([], bytes(attr(0x80, 15, [0, 1, 128]), attr(0x80, 15, [0, 1, 128])), []),
    throws: { kind: 'duplicate-mp-attribute', code: 3, subcode: S.MalformedAttributeList, action: 'session-reset' },
  },
  {
    name: 'MP_REACH_NLRI too short to name a family',
    msg: rawUpdate([], bytes(attr(0x80, 14, [0, 1]), origin, asPath), []),
    throws: { kind: 'malformed-mp-reach', code: 3, subcode: S.OptionalAttributeError, action: 'session-reset', data: '800e020001' },
  },
  {
    name: 'MP_UNREACH_NLRI too short to name a family',
    msg: rawUpdate([], bytes(attr(0x80, 15, [0])), []),
    throws: { kind: 'malformed-mp-unreach', code: 3, subcode: S.OptionalAttributeError, action: 'session-reset', data: '800f0100' },
  },
  // --- RFC 7606 7.11 / 7.12 / 5.3: AFI/SAFI disable ---
  {
    name: 'MP_REACH_NLRI next-hop length wrong for the family',
    msg: rawUpdate([], bytes(mpReachVpn([192, 0, 2, 1]), origin, asPath), []),
    throws: { kind: 'mp-reach-next-hop', code: 3, subcode: S.OptionalAttributeError, action: 'afi-safi-disable', family: mp },
  },
  {
    name: 'MP_REACH_NLRI next hop overruns the attribute',
    msg: rawUpdate([], bytes(attr(0x80, 14, [0, 1, 128, 12, 0, 0, 0]), origin, asPath), []),
    throws: { kind: 'mp-reach-next-hop', code: 3, subcode: S.OptionalAttributeError, action: 'afi-safi-disable', family: mp },
  },
  {
    name: 'MP_REACH_NLRI prefix too long for the family',
    msg: rawUpdate([], bytes(mpReachVpn(undefined, [121, 0, 1, 1, 0, 0, 0xfc, 0, 0, 0, 0, 1, 10, 1, 2, 3, 4]), origin, asPath), []),
    throws: { kind: 'malformed-mp-nlri', code: 3, subcode: S.OptionalAttributeError, action: 'afi-safi-disable', family: mp },
  },
  {
    name: 'MP_REACH_NLRI label stack longer than the prefix length allows',
    msg: rawUpdate([], bytes(mpReachVpn(undefined, [24, 0, 1, 0, 0, 1, 1]), origin, asPath), []),
    throws: { kind: 'malformed-mp-nlri', code: 3, subcode: S.OptionalAttributeError, action: 'afi-safi-disable', family: mp },
  },
  {
    name: 'MP_UNREACH_NLRI prefix overruns the attribute',
    msg: rawUpdate([], bytes(attr(0x80, 15, [0, 1, 128, 112, 0x80, 0, 0, 0, 0])), []),
    throws: { kind: 'malformed-mp-nlri', code: 3, subcode: S.OptionalAttributeError, action: 'afi-safi-disable', family: mp },
  },
  {
    name: 'AFI/SAFI-disable error then a repeated MP_REACH_NLRI: the stronger session reset wins (RFC 7606 3 f)',
    msg: rawUpdate([], bytes(mpReachVpn([192, 0, 2, 1]), origin, asPath, mpReachVpn()), []),
    throws: { kind: 'duplicate-mp-attribute', code: 3, subcode: S.MalformedAttributeList, action: 'session-reset' },
  },
  // --- RFC 7606 4: attribute framing, treat-as-withdraw ---
  {
    name: 'attribute length overruns the attribute section',
    msg: withAttrs(origin, asPath, bytes(0x40, 3, 9, 192, 0, 2, 1)),
    issues: [{ kind: 'attribute-framing', subcode: S.MalformedAttributeList, action: 'treat-as-withdraw', attributeType: 3 }],
    withdrawn: 3,
    announced: 0,
  },
  {
    name: 'fewer than 3 octets left for an attribute',
    msg: withAttrs(origin, asPath, nextHop, bytes(0x40, 5)),
    issues: [{ kind: 'attribute-framing', subcode: S.MalformedAttributeList, action: 'treat-as-withdraw', attributeType: 0 }],
    withdrawn: 3,
  },
  {
    name: 'Extended Length set with only 3 octets left',
    msg: withAttrs(origin, asPath, nextHop, bytes(0xd0, 8, 0)),
    issues: [{ kind: 'attribute-framing', subcode: S.MalformedAttributeList, action: 'treat-as-withdraw', attributeType: 0 }],
    withdrawn: 3,
  },
  // --- RFC 7606 3 c: attribute flags ---
  {
    name: 'ORIGIN with the Optional bit',
    msg: withAttrs(attr(0xc0, 1, [0]), asPath, nextHop),
    issues: [{ kind: 'attribute-flags', subcode: S.AttributeFlagsError, action: 'treat-as-withdraw', attributeType: 1, data: 'c0010100' }],
    withdrawn: 3,
  },
  {
    name: 'MULTI_EXIT_DISC with the Transitive bit',
    msg: withAttrs(origin, asPath, nextHop, attr(0xc0, 4, u32(1))),
    issues: [{ kind: 'attribute-flags', subcode: S.AttributeFlagsError, action: 'treat-as-withdraw', attributeType: 4, data: 'c0040400000001' }],
    withdrawn: 3,
  },
  {
    name: 'ATOMIC_AGGREGATE with the Optional bit is discarded',
    msg: withAttrs(origin, asPath, nextHop, attr(0xc0, 6, [])),
    issues: [{ kind: 'attribute-flags', subcode: S.AttributeFlagsError, action: 'attribute-discard', attributeType: 6, data: 'c00600' }],
    withdrawn: 1,
    announced: 2,
    check: (t, m) => t.equal(m.attributes.atomicAggregate, undefined),
  },
  {
    name: 'MP_REACH_NLRI with the Transitive bit: its routes are withdrawn',
    msg: rawUpdate([], bytes(attr(0xd0, 14, [0, 1, 128, 12, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 1, 0, ...vpnNlri]), origin, asPath), []),
    issues: [{ kind: 'attribute-flags', subcode: S.AttributeFlagsError, action: 'treat-as-withdraw', attributeType: 14 }],
    withdrawn: 1,
    announced: 0,
  },
  {
    name: 'ORIGIN with the Partial bit (RFC 4271 4.3: well-known attributes carry Partial 0)',
    msg: withAttrs(attr(0x60, 1, [0]), asPath, nextHop),
    issues: [{ kind: 'attribute-flags', subcode: S.AttributeFlagsError, action: 'treat-as-withdraw', attributeType: 1, data: '60010100' }],
    withdrawn: 3,
    announced: 0,
  },
  {
    name: 'NEXT_HOP with the Partial bit',
    msg: withAttrs(origin, asPath, attr(0x60, 3, [192, 0, 2, 1])),
    issues: [{ kind: 'attribute-flags', subcode: S.AttributeFlagsError, action: 'treat-as-withdraw', attributeType: 3, data: '600304c0000201' }],
    withdrawn: 3,
    announced: 0,
  },
  {
    name: 'MULTI_EXIT_DISC (optional non-transitive) with the Partial bit',
    msg: withAttrs(origin, asPath, nextHop, attr(0xa0, 4, u32(1))),
    issues: [{ kind: 'attribute-flags', subcode: S.AttributeFlagsError, action: 'treat-as-withdraw', attributeType: 4, data: 'a0040400000001' }],
    withdrawn: 3,
  },
  {
    name: 'ATOMIC_AGGREGATE with the Partial bit is discarded (its RFC 7606 7.6 action)',
    msg: withAttrs(origin, asPath, nextHop, attr(0x60, 6, [])),
    issues: [{ kind: 'attribute-flags', subcode: S.AttributeFlagsError, action: 'attribute-discard', attributeType: 6, data: '600600' }],
    withdrawn: 1,
    announced: 2,
    check: (t, m) => t.equal(m.attributes.atomicAggregate, undefined),
  },
  {
    name: 'COMMUNITIES (optional transitive) with the Partial bit is fine',
    msg: withAttrs(origin, asPath, nextHop, attr(0xe0, 8, u32(0xfde80001))),
    issues: [],
    withdrawn: 1,
    announced: 2,
    check: (t, m) => t.same(m.attributes.communities, [0xfde80001]),
  },
  {
    name: 'unrecognized well-known attribute: NOTIFICATION 3/2 with the attribute (RFC 4271 6.3)',
    msg: withAttrs(origin, asPath, nextHop, attr(0x40, 100, [1])),
    throws: { kind: 'unrecognized-well-known-attribute', code: 3, subcode: S.UnrecognizedWellKnownAttribute, action: 'session-reset', data: '40640101' },
  },
  // --- RFC 7606 7: attribute by attribute ---
  {
    name: 'ORIGIN of length 2 (7.1)',
    msg: withAttrs(attr(0x40, 1, [0, 0]), asPath, nextHop),
    issues: [{ kind: 'attribute-length', subcode: S.AttributeLengthError, action: 'treat-as-withdraw', attributeType: 1, data: '4001020000' }],
    withdrawn: 3,
  },
  {
    name: 'ORIGIN value 3 (7.1)',
    msg: withAttrs(attr(0x40, 1, [3]), asPath, nextHop),
    issues: [{ kind: 'invalid-origin', subcode: S.InvalidOriginAttribute, action: 'treat-as-withdraw', attributeType: 1, data: '40010103' }],
    withdrawn: 3,
  },
  {
    name: 'AS_PATH with a zero-length segment (7.2)',
    msg: withAttrs(origin, attr(0x40, 2, [2, 0]), nextHop),
    issues: [{ kind: 'malformed-as-path', subcode: S.MalformedAsPath, action: 'treat-as-withdraw', attributeType: 2 }],
    withdrawn: 3,
  },
  {
    name: 'AS_PATH segment overruns the attribute (7.2)',
    msg: withAttrs(origin, attr(0x40, 2, [2, 2, ...u32(1)]), nextHop),
    issues: [{ kind: 'malformed-as-path', subcode: S.MalformedAsPath, action: 'treat-as-withdraw', attributeType: 2 }],
    withdrawn: 3,
  },
  {
    name: 'AS_PATH with one trailing octet (7.2)',
    msg: withAttrs(origin, attr(0x40, 2, [2, 1, ...u32(1), 2]), nextHop),
    issues: [{ kind: 'malformed-as-path', subcode: S.MalformedAsPath, action: 'treat-as-withdraw', attributeType: 2 }],
    withdrawn: 3,
  },
  {
    name: 'AS_PATH with an unknown segment type (7.2)',
    msg: withAttrs(origin, attr(0x40, 2, [7, 1, ...u32(1)]), nextHop),
    issues: [{ kind: 'malformed-as-path', subcode: S.MalformedAsPath, action: 'treat-as-withdraw', attributeType: 2 }],
    withdrawn: 3,
  },
  {
    name: 'AS_PATH with confederation segments from an eBGP peer (RFC 5065 5)',
    ctx: { ebgp: true },
    msg: withAttrs(origin, attr(0x40, 2, [3, 1, ...u32(65010), 2, 1, ...u32(65001)]), nextHop),
    issues: [{ kind: 'malformed-as-path', subcode: S.MalformedAsPath, action: 'treat-as-withdraw', attributeType: 2 }],
    withdrawn: 3,
  },
  {
    name: 'NEXT_HOP of length 5 (7.3)',
    msg: withAttrs(origin, asPath, attr(0x40, 3, [192, 0, 2, 1, 0])),
    issues: [{ kind: 'attribute-length', subcode: S.AttributeLengthError, action: 'treat-as-withdraw', attributeType: 3, data: '400305c000020100' }],
    withdrawn: 3,
  },
  {
    name: 'MULTI_EXIT_DISC of length 3 (7.4)',
    msg: withAttrs(origin, asPath, nextHop, attr(0x80, 4, [0, 0, 1])),
    issues: [{ kind: 'attribute-length', subcode: S.AttributeLengthError, action: 'treat-as-withdraw', attributeType: 4, data: '800403000001' }],
    withdrawn: 3,
  },
  {
    name: 'LOCAL_PREF from an eBGP peer is discarded (7.5)',
    ctx: { ebgp: true },
    msg: withAttrs(origin, asPath, nextHop, attr(0x40, 5, u32(100))),
    issues: [{ kind: 'ibgp-attribute-from-ebgp', subcode: 0, action: 'attribute-discard', attributeType: 5 }],
    withdrawn: 1,
    announced: 2,
    check: (t, m) => t.equal(m.attributes.localPref, undefined),
  },
  {
    name: 'LOCAL_PREF of length 2 from an iBGP peer (7.5)',
    msg: withAttrs(origin, asPath, nextHop, attr(0x40, 5, [0, 100])),
    issues: [{ kind: 'attribute-length', subcode: S.AttributeLengthError, action: 'treat-as-withdraw', attributeType: 5, data: '4005020064' }],
    withdrawn: 3,
  },
  {
    name: 'ATOMIC_AGGREGATE of length 1 is discarded (7.6)',
    msg: withAttrs(origin, asPath, nextHop, attr(0x40, 6, [1])),
    issues: [{ kind: 'attribute-length', subcode: S.AttributeLengthError, action: 'attribute-discard', attributeType: 6, data: '40060101' }],
    withdrawn: 1,
    announced: 2,
  },
  {
    name: 'AGGREGATOR of length 6 on a 4-octet session is discarded (7.7)',
    msg: withAttrs(origin, asPath, nextHop, attr(0xc0, 7, [...u16(1), 10, 0, 0, 1])),
    issues: [{ kind: 'attribute-length', subcode: S.AttributeLengthError, action: 'attribute-discard', attributeType: 7, data: 'c00706' + '00010a000001' }],
    withdrawn: 1,
    announced: 2,
    check: (t, m) => t.equal(m.attributes.aggregator, undefined),
  },
  {
    name: 'AGGREGATOR of length 8 on a 2-octet session is discarded (7.7)',
    ctx: { as4: false },
    msg: withAttrs(origin, attr(0x40, 2, [2, 1, ...u16(65001)]), nextHop, attr(0xc0, 7, [...u32(1), 10, 0, 0, 1])),
    issues: [{ kind: 'attribute-length', subcode: S.AttributeLengthError, action: 'attribute-discard', attributeType: 7 }],
    withdrawn: 1,
    announced: 2,
  },
  {
    name: 'COMMUNITIES of length 5 (7.8)',
    msg: withAttrs(origin, asPath, nextHop, attr(0xc0, 8, [0, 0, 0, 1, 2])),
    issues: [{ kind: 'attribute-length', subcode: S.AttributeLengthError, action: 'treat-as-withdraw', attributeType: 8 }],
    withdrawn: 3,
  },
  {
    name: 'COMMUNITIES of length 0 (7.8)',
    msg: withAttrs(origin, asPath, nextHop, attr(0xc0, 8, [])),
    issues: [{ kind: 'attribute-length', subcode: S.AttributeLengthError, action: 'treat-as-withdraw', attributeType: 8, data: 'c00800' }],
    withdrawn: 3,
  },
  {
    name: 'ORIGINATOR_ID from an eBGP peer is discarded (7.9)',
    ctx: { ebgp: true },
    msg: withAttrs(origin, asPath, nextHop, attr(0x80, 9, u32(1))),
    issues: [{ kind: 'ibgp-attribute-from-ebgp', subcode: 0, action: 'attribute-discard', attributeType: 9 }],
    withdrawn: 1,
    announced: 2,
  },
  {
    name: 'ORIGINATOR_ID of length 3 from iBGP (7.9)',
    msg: withAttrs(origin, asPath, nextHop, attr(0x80, 9, [0, 0, 1])),
    issues: [{ kind: 'attribute-length', subcode: S.AttributeLengthError, action: 'treat-as-withdraw', attributeType: 9 }],
    withdrawn: 3,
  },
  {
    name: 'CLUSTER_LIST from an eBGP peer is discarded (7.10)',
    ctx: { ebgp: true },
    msg: withAttrs(origin, asPath, nextHop, attr(0x80, 10, u32(1))),
    issues: [{ kind: 'ibgp-attribute-from-ebgp', subcode: 0, action: 'attribute-discard', attributeType: 10 }],
    withdrawn: 1,
    announced: 2,
  },
  {
    name: 'CLUSTER_LIST of length 6 from iBGP (7.10)',
    msg: withAttrs(origin, asPath, nextHop, attr(0x80, 10, [0, 0, 0, 1, 0, 0])),
    issues: [{ kind: 'attribute-length', subcode: S.AttributeLengthError, action: 'treat-as-withdraw', attributeType: 10 }],
    withdrawn: 3,
  },
  {
    name: 'EXTENDED_COMMUNITIES of length 7 (7.14)',
    msg: withAttrs(origin, asPath, nextHop, attr(0xc0, 16, [0, 2, 0, 1, 0, 0, 0])),
    issues: [{ kind: 'attribute-length', subcode: S.AttributeLengthError, action: 'treat-as-withdraw', attributeType: 16 }],
    withdrawn: 3,
  },
  {
    name: 'LARGE_COMMUNITY of length 11 (RFC 8092 6)',
    msg: withAttrs(origin, asPath, nextHop, attr(0xc0, 32, new Array(11).fill(1))),
    issues: [{ kind: 'attribute-length', subcode: S.AttributeLengthError, action: 'treat-as-withdraw', attributeType: 32 }],
    withdrawn: 3,
  },
  {
    name: 'OTC of length 3 (RFC 9234 5)',
    msg: withAttrs(origin, asPath, nextHop, attr(0xc0, 35, [0, 0, 1])),
    issues: [{ kind: 'attribute-length', subcode: S.AttributeLengthError, action: 'treat-as-withdraw', attributeType: 35 }],
    withdrawn: 3,
  },
  {
    name: 'malformed AS4_PATH on a 2-octet session is discarded (RFC 6793 6)',
    ctx: { as4: false },
    msg: withAttrs(origin, attr(0x40, 2, [2, 1, ...u16(23456)]), nextHop, attr(0xc0, 17, [2, 0])),
    issues: [{ kind: 'malformed-as4-path', subcode: S.MalformedAsPath, action: 'attribute-discard', attributeType: 17 }],
    withdrawn: 1,
    announced: 2,
    check: (t, m) => t.same(m.attributes.asPath, [{ type: 2, asns: [23456] }]),
  },
  {
    name: 'AS4_AGGREGATOR of length 7 is discarded (RFC 6793 6)',
    ctx: { as4: false },
    msg: withAttrs(origin, attr(0x40, 2, [2, 1, ...u16(1)]), nextHop, attr(0xc0, 18, [0, 0, 0, 1, 1, 1, 1])),
    issues: [{ kind: 'attribute-length', subcode: S.AttributeLengthError, action: 'attribute-discard', attributeType: 18 }],
    withdrawn: 1,
    announced: 2,
  },
  {
    name: 'MP_REACH_NLRI for a family not negotiated is ignored',
    ctx: { families: new Set([Family.Ipv4Unicast]) },
    msg: rawUpdate([], bytes(mpReachVpn(), origin, asPath), []),
    issues: [{ kind: 'unnegotiated-family', subcode: S.OptionalAttributeError, action: 'attribute-discard', attributeType: 14 }],
    withdrawn: 0,
    announced: 0,
  },
  {
    name: 'MP_UNREACH_NLRI for an unknown family is ignored',
    msg: rawUpdate([], bytes(attr(0x80, 15, [0, 25, 70, 1, 2, 3])), []),
    issues: [{ kind: 'unnegotiated-family', subcode: S.OptionalAttributeError, action: 'attribute-discard', attributeType: 15 }],
    withdrawn: 0,
  },
  // --- RFC 7606 3 d/g, RFC 4271 6.3: missing, duplicate, unrecognized ---
  {
    name: 'ORIGIN missing',
    msg: withAttrs(asPath, nextHop),
    issues: [{ kind: 'missing-well-known-attribute', subcode: S.MissingWellKnownAttribute, action: 'treat-as-withdraw', attributeType: 1, data: '01' }],
    withdrawn: 3,
  },
  {
    name: 'AS_PATH missing',
    msg: withAttrs(origin, nextHop),
    issues: [{ kind: 'missing-well-known-attribute', subcode: S.MissingWellKnownAttribute, action: 'treat-as-withdraw', attributeType: 2, data: '02' }],
    withdrawn: 3,
  },
  {
    name: 'NEXT_HOP missing with NLRI in the body',
    msg: withAttrs(origin, asPath),
    issues: [{ kind: 'missing-well-known-attribute', subcode: S.MissingWellKnownAttribute, action: 'treat-as-withdraw', attributeType: 3, data: '03' }],
    withdrawn: 3,
  },
  {
    name: 'ORIGIN missing from an MP_REACH-only UPDATE',
    msg: rawUpdate([], bytes(mpReachVpn(), asPath), []),
    issues: [{ kind: 'missing-well-known-attribute', subcode: S.MissingWellKnownAttribute, action: 'treat-as-withdraw', attributeType: 1, data: '01' }],
    withdrawn: 1,
    announced: 0,
  },
  {
    name: 'NEXT_HOP not needed for an MP_REACH-only UPDATE (RFC 4760)',
    msg: rawUpdate([], bytes(mpReachVpn(), origin, asPath), []),
    issues: [],
    withdrawn: 0,
    announced: 1,
  },
  {
    name: 'ORIGIN twice: the second is discarded',
    msg: withAttrs(origin, asPath, nextHop, attr(0x40, 1, [2])),
    issues: [{ kind: 'duplicate-attribute', subcode: S.MalformedAttributeList, action: 'attribute-discard', attributeType: 1 }],
    withdrawn: 1,
    announced: 2,
    check: (t, m) => t.equal(m.attributes.origin, 0, 'first ORIGIN kept'),
  },

  {
    name: 'malformed attribute in an UPDATE without NLRI: nothing to withdraw but the withdrawn field',
    msg: rawUpdate(WITHDRAWN, bytes(origin, attr(0x40, 2, [2, 0])), []),
    issues: [{ kind: 'malformed-as-path', subcode: S.MalformedAsPath, action: 'treat-as-withdraw', attributeType: 2 }],
    withdrawn: 1,
    announced: 0,
  },
  // --- valid edge cases that must not be flagged ---
  {
    name: 'withdrawn-only UPDATE (no attributes)',
    msg: rawUpdate(WITHDRAWN, [], []),
    issues: [],
    withdrawn: 1,
    announced: 0,
  },
  {
    name: 'End-of-RIB for IPv4 unicast (empty UPDATE)',
    msg: rawUpdate([], [], []),
    issues: [],
    withdrawn: 0,
    check: (t, m) => t.equal(endOfRibFamily(m), Family.Ipv4Unicast),
  },
  {
    name: 'End-of-RIB for VPN-IPv4 (empty MP_UNREACH_NLRI)',
    msg: rawUpdate([], attr(0x80, 15, [0, 1, 128]), []),
    issues: [],
    withdrawn: 0,
    check: (t, m) => t.equal(endOfRibFamily(m), Family.Ipv4Vpn),
  },
  {
    name: 'End-of-RIB for IPv6 unicast as ExaBGP sends it (MP_UNREACH_NLRI with Extended Length: 900f0003000201)',
    msg: rawUpdate([], [0x90, 0x0f, 0x00, 0x03, 0x00, 0x02, 0x01], []),
    issues: [],
    withdrawn: 0,
    check: (t, m) => t.equal(endOfRibFamily(m), Family.Ipv6Unicast),
  },
  {
    name: 'unknown optional attribute is kept',
    msg: withAttrs(origin, asPath, nextHop, attr(0xc0, 100, [1, 2])),
    issues: [],
    withdrawn: 1,
    announced: 2,
    check: (t, m) => t.same(m.attributes.unknown, [{ flags: 0xc0, type: 100, value: Uint8Array.of(1, 2) }]),
  },
  {
    name: 'ATOMIC_AGGREGATE of length 0 and empty AS_PATH are fine',
    msg: withAttrs(origin, attr(0x40, 2, []), nextHop, attr(0x40, 6, [])),
    issues: [],
    withdrawn: 1,
    announced: 2,
  },
  {
    name: 'MP_REACH_NLRI placed last is still parsed first (RFC 7606 5.1)',
    msg: rawUpdate([], bytes(origin, asPath, mpReachVpn()), []),
    issues: [],
    announced: 1,
  },
]

class RecordingSink implements UpdateSink {
  withdrawn = 0
  announced = 0
  issues: UpdateIssue[] = []
  attributes(): void {}
  ipv4(w: boolean): void {
    this.count(w)
  }
  ipv6(w: boolean): void {
    this.count(w)
  }
  vpnv4(w: boolean): void {
    this.count(w)
  }
  vpnv6(w: boolean): void {
    this.count(w)
  }
  nlri(w: boolean): void {
    this.count(w)
  }
  issue(i: UpdateIssue): void {
    this.issues.push(i)
  }
  private count(w: boolean): void {
    if (w) this.withdrawn++
    else this.announced++
  }
}

for (const c of cases) {
  t.test(c.name, async (t) => {
    const ctx = ctxWith(c.ctx ?? {})
    if (c.throws !== undefined) {
      const want = c.throws
      for (const [path, run] of [
        ['object', () => decodeUpdate(c.msg, 0, c.msg.length, ctx)],
        ['bulk', () => decodeUpdateBulk(c.msg, 0, c.msg.length, ctx, new RecordingSink())],
      ] as const) {
        let err: unknown
        try {
          run()
        } catch (e) {
          err = e
        }
        t.ok(err instanceof BgpError, `${path}: throws a BgpError`)
        const e = err as BgpError
        t.same({ kind: e.kind, code: e.code, subcode: e.subcode, action: e.action }, { kind: want.kind, code: want.code, subcode: want.subcode, action: want.action }, `${path}: kind, code, subcode, action`)
        if (want.data !== undefined) t.equal(hex(e.data), want.data, `${path}: NOTIFICATION data`)
        if (want.family !== undefined) {
          t.ok(e instanceof BgpFamilyError, `${path}: names the family`)
          t.equal((e as BgpFamilyError).family, want.family)
        }
      }
      return
    }
    const m = decodeUpdate(c.msg, 0, c.msg.length, ctx)
    const got = (m.report ?? []).map((i) => ({ kind: i.kind, subcode: i.subcode, action: i.action, attributeType: i.attributeType }))
    const want = (c.issues ?? []).map(({ data: _d, ...rest }) => rest)
    t.same(got, want, 'issues: kind, subcode, action, attribute')
    for (const i of m.report ?? []) t.equal(i.code, ErrorCode.UpdateMessage, 'code 3')
    ;(c.issues ?? []).forEach((w, k) => {
      if (w.data !== undefined) t.equal(hex(m.report?.[k]?.data ?? new Uint8Array(0)), w.data, `issue ${k} data`)
    })
    t.equal(m.treatAsWithdraw === true, (c.issues ?? []).some((i) => i.action === 'treat-as-withdraw'), 'treat-as-withdraw flag')
    if (m.treatAsWithdraw === true) t.same(m.attributes, {}, 'attributes dropped')
    if (c.withdrawn !== undefined) t.equal(updateWithdrawals(m).length, c.withdrawn, 'routes withdrawn')
    if (c.announced !== undefined) t.equal(updateAnnouncements(m).length, c.announced, 'routes announced')
    c.check?.(t, m)
    // The bulk path reaches the same outcome.
    const sink = new RecordingSink()
    decodeUpdateBulk(c.msg, 0, c.msg.length, ctx, sink)
    t.same(sink.issues, m.report ?? [], 'bulk: same issues')
    t.equal(sink.withdrawn, updateWithdrawals(m).length, 'bulk: same withdrawals')
    t.equal(sink.announced, updateAnnouncements(m).length, 'bulk: same announcements')
  })
}

t.test('corpus size', async (t) => {
  t.ok(cases.length >= 55, `${cases.length} fixtures`)
})
