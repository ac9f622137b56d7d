/**
 * OPEN (RFC 4271 4.2, RFC 5492, RFC 9072): round trips through the shared helper, exact bytes of a
 * hand-checked OPEN, grouping of capabilities, the RFC 9072 extended form, AS_TRANS, and the OPENs
 * real daemons sent (test/fixtures/captured, recorded by scripts/capture-fixtures.mjs; expected values
 * from the manifest, which comes from the daemons' configuration, not from a decoder).
 */
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import type { Capability } from '../../bgp/codec/capabilities.js'
import {
  AS_TRANS,
  bgpIdFromString,
  bgpIdToString,
  decodeOpen,
  encodeOpen,
  makeOpen,
  type OpenMessage,
  openEncodingLength,
  openPeerAs,
} from '../../bgp/codec/open.js'
import { checkHeaderLength, MessageType } from '../../bgp/codec/header.js'
import { bytesRoundTrip, fromHex, roundTrip, toHex } from '../helpers/round-trip.js'

const codec = { encode: encodeOpen, decode: decodeOpen, encodingLength: openEncodingLength }

const MARKER = 'ffffffffffffffffffffffffffffffff'

const plain: OpenMessage = {
  type: 'open', version: 4, myAs: 65001, holdTime: 90, bgpId: bgpIdFromString('192.0.2.1'),
  capabilities: [{ type: 'multiprotocol', afi: 1, safi: 1 }, { type: 'route-refresh', code: 2 }, { type: 'as4', asn: 65001 }],
}

t.test('OPEN with three capabilities, one per parameter: exact bytes (RFC 4271 4.2, RFC 5492 4)', async (t) => {
  roundTrip(t, codec, plain, {
    bytes: fromHex(`${MARKER} 0031 01  04 fde9 005a c0000201 14
      02 06 0104000100 01
      02 02 0200
      02 06 4104 0000fde9`),
  })
})

t.test('OPEN without optional parameters', async (t) => {
  roundTrip(t, codec, { type: 'open', version: 4, myAs: 1, holdTime: 0, bgpId: 1, capabilities: [] },
    { bytes: fromHex(`${MARKER} 001d 01 04 0001 0000 00000001 00`) })
})

t.test('all capabilities in one optional parameter (BIRD, GoBGP style) re-encode the same way', async (t) => {
  const bytes = fromHex(`${MARKER} 0031 01 04 fde9 00b4 0a000001 14
    02 12 0104000100 01 0200 4600 0600 4104 0000fde9`)
  const open = bytesRoundTrip(t, codec, bytes)
  t.same(open.parameterGroups, [5])
  t.equal(open.capabilities.length, 5)
  t.equal(open.extendedParameters, undefined)
})

t.test('mixed grouping and an empty Capabilities parameter round trip', async (t) => {
  const value: OpenMessage = { ...plain, parameterGroups: [2, 0, 1] }
  roundTrip(t, codec, value)
})

t.test('RFC 9072 extended optional parameters: used when needed, kept when not', async (t) => {
  // 70 multiprotocol capabilities: 70 * 8 = 560 bytes of parameters, more than 255.
  const many: Capability[] = []
  for (let i = 0; i < 70; i++) many.push({ type: 'multiprotocol', afi: 1 + (i % 2), safi: i + 1 })
  const big: OpenMessage = { ...plain, capabilities: many }
  const bytes = roundTrip(t, codec, big, { name: 'needed' })
  t.equal(bytes[28], 255, 'Non-Ext OP Len 255')
  t.equal(bytes[29], 255, 'Non-Ext OP Type 255')
  t.equal((bytes[30]! << 8) | bytes[31]!, 70 * 9, 'extended length: 70 parameters of 3 + 6 bytes')
  t.equal(bytes[33], 0, 'parameter length has two bytes (high byte 0)')
  t.equal(bytes[34], 6, 'parameter length low byte')
  // One parameter holding all 70 (a value longer than 255 bytes).
  roundTrip(t, codec, { ...big, parameterGroups: [70] }, { name: 'one long parameter' })
  // Extended form although it fits: kept on decode so it re-encodes byte for byte.
  const small = roundTrip(t, codec, { ...plain, extendedParameters: true }, { name: 'not needed' })
  t.equal(toHex(small.subarray(28, 32)), 'ffff0017', 'marker and 2-byte length')
})

t.test('4-octet ASN: AS_TRANS in My AS, the real one in the capability (RFC 6793 4.1)', async (t) => {
  const open = makeOpen({ asn: 4200000001, holdTime: 90, bgpId: bgpIdFromString('10.0.0.1'), capabilities: [{ type: 'multiprotocol', afi: 1, safi: 128 }] })
  t.equal(open.myAs, AS_TRANS)
  t.equal(openPeerAs(open), 4200000001)
  const bytes = roundTrip(t, codec, open)
  t.equal((bytes[20]! << 8) | bytes[21]!, 23456)
  // A value above 65,535 in myAs is written as AS_TRANS, and decodes as such.
  const direct: OpenMessage = { ...plain, myAs: 4200000001 }
  roundTrip(t, codec, direct, { expected: { ...direct, myAs: AS_TRANS } })
  t.equal(openPeerAs({ ...plain, capabilities: [] }), 65001, 'without the capability the peer AS is My AS')
  t.same(makeOpen({ asn: 65001, holdTime: 9, bgpId: 1 }).capabilities, [{ type: 'as4', asn: 65001 }])
})

t.test('BGP identifier helpers', async (t) => {
  t.equal(bgpIdToString(bgpIdFromString('255.1.2.3')), '255.1.2.3')
  t.equal(bgpIdFromString('255.255.255.255'), 0xffffffff)
  t.throws(() => bgpIdFromString('1.2.3'), /not a dotted-quad/)
  t.throws(() => bgpIdFromString('1.2.3.256'), /not a dotted-quad/)
})

t.test('encoder rejects values out of range, naming the field', async (t) => {
  const buf = new Uint8Array(100)
  t.throws(() => encodeOpen({ ...plain, holdTime: 70000 }, buf, 0), /holdTime/)
  t.throws(() => encodeOpen({ ...plain, parameterGroups: [1] }, buf, 0), /parameterGroups/)
})

// Real daemons' OPENs: the first message of each captured stream.
const capturedDir = new URL('../fixtures/captured/', import.meta.url)
let manifest: { captures: { file: string; daemon: string; open: { myAsField: number; routerId: string; holdTime: number; multiprotocol: [number, number][]; routeRefresh: boolean; fourOctetAs: number } }[] } = { captures: [] }
try {
  manifest = JSON.parse(readFileSync(new URL('manifest.json', capturedDir), 'utf8'))
} catch {
  // no captures in this checkout: the test below then fails on the count
}
t.test('OPENs captured from real daemons decode as configured and re-encode byte for byte', async (t) => {
  const files = readdirSync(capturedDir).filter((f) => f.endsWith('.bin'))
  t.ok(files.length >= 1, 'at least one capture')
  for (const c of manifest.captures) {
    const stream = new Uint8Array(readFileSync(new URL(c.file, capturedDir)))
    const length = checkHeaderLength(stream, 0, 4096)
    t.equal(stream[18], MessageType.Open, `${c.file}: first message is an OPEN`)
    const open = bytesRoundTrip(t, codec, stream.subarray(0, length), c.file)
    t.equal(open.myAs, c.open.myAsField, `${c.file}: My AS`)
    t.equal(bgpIdToString(open.bgpId), c.open.routerId, `${c.file}: BGP identifier`)
    t.equal(open.holdTime, c.open.holdTime, `${c.file}: hold time`)
    t.equal(openPeerAs(open), c.open.fourOctetAs, `${c.file}: 4-octet AS`)
    const mp = open.capabilities.flatMap((x) => (x.type === 'multiprotocol' ? [[x.afi, x.safi]] : []))
    const byFamily = (a: number[], b: number[]): number => (a[0]! - b[0]!) || (a[1]! - b[1]!)
    t.same(mp.sort(byFamily), [...c.open.multiprotocol].sort(byFamily), `${c.file}: multiprotocol families (any order)`)
    t.equal(open.capabilities.some((x) => x.type === 'route-refresh'), c.open.routeRefresh, `${c.file}: route refresh`)
    t.notOk(open.capabilities.some((x) => x.type === 'unknown'), `${c.file}: every capability understood`)
  }
})
