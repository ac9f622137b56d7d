/**
 * AS_PATH / AS4_PATH: 2- and 4-octet encodings, every segment type, splitting of long segments,
 * RFC 7606 7.2 validation, and the RFC 6793 4.2.3 merge with AS_TRANS.
 */
import t from 'tap'
import {
  AS_TRANS,
  AsPathProblem,
  AsSegment,
  asPathCount,
  asPathLength,
  asPathToString,
  checkAsPath,
  decodeAsPath,
  mergeAs4Path,
  writeAsPath,
  type AsPath,
} from '../../bgp/codec/as-path.js'
import { bytes, hex, u16, u32 } from './update-helpers.js'

function enc(path: AsPath, w: number): Uint8Array {
  const b = new Uint8Array(asPathLength(path, w))
  t.equal(writeAsPath(path, w, b, 0), b.length)
  return b
}

t.test('every segment type round trips at 2 and 4 octets', async (t) => {
  const path: AsPath = [
    { type: AsSegment.ConfedSequence, asns: [65010, 65011] },
    { type: AsSegment.ConfedSet, asns: [65012] },
    { type: AsSegment.Sequence, asns: [64512, 65000, 1] },
    { type: AsSegment.Set, asns: [3, 4, 5] },
  ]
  for (const w of [2, 4]) {
    const b = enc(path, w)
    t.equal(checkAsPath(b, 0, b.length, w), AsPathProblem.None)
    t.same(decodeAsPath(b, 0, b.length, w), path, `width ${w}`)
    const big = new Uint8Array(b.length + 10)
    big.set(b, 5)
    t.same(decodeAsPath(big, 5, b.length, w), path, `width ${w} at an offset`)
  }
  t.equal(hex(enc([{ type: 2, asns: [64512, 1] }], 2)), '0202fc000001')
  t.equal(hex(enc([{ type: 2, asns: [4200000000] }], 4)), '0201fa56ea00')
})

t.test('4-octet ASNs become AS_TRANS toward a 2-octet peer', async (t) => {
  const b = enc([{ type: 2, asns: [4200000000, 65000] }], 2)
  t.same(decodeAsPath(b, 0, b.length, 2), [{ type: 2, asns: [AS_TRANS, 65000] }])
})

t.test('segments longer than 255 ASNs are split', async (t) => {
  const asns = Array.from({ length: 600 }, (_, i) => i + 1)
  const b = enc([{ type: 2, asns }], 4)
  t.equal(b.length, 3 * 2 + 600 * 4)
  const d = decodeAsPath(b, 0, b.length, 4)
  t.same(d.map((s) => s.asns.length), [255, 255, 90])
  t.same(d.flatMap((s) => s.asns), asns)
  t.equal(asPathCount(d), 600)
})

t.test('RFC 7606 7.2 malformed AS_PATH cases', async (t) => {
  t.equal(checkAsPath(bytes(2, 2, u16(1)), 0, 4, 2), AsPathProblem.Overrun, 'segment overruns')
  t.equal(checkAsPath(bytes(2, 1, u16(1), 2), 0, 5, 2), AsPathProblem.TrailingOctet, 'single trailing octet')
  t.equal(checkAsPath(bytes(2, 0), 0, 2, 2), AsPathProblem.ZeroLength, 'zero segment length')
  t.equal(checkAsPath(bytes(5, 1, u16(1)), 0, 4, 2), AsPathProblem.BadSegmentType, 'unknown segment type 5')
  t.equal(checkAsPath(bytes(0, 1, u16(1)), 0, 4, 2), AsPathProblem.BadSegmentType, 'segment type 0')
  t.equal(checkAsPath(bytes(2, 1, u32(1)), 0, 6, 2), AsPathProblem.BadSegmentType, '4-octet path read as 2-octet: 00 01 is segment type 0')
  t.equal(checkAsPath(new Uint8Array(0), 0, 0, 4), AsPathProblem.None, 'empty path is fine')
  const confed = new Int32Array(1)
  checkAsPath(bytes(3, 1, u16(1)), 0, 4, 2, confed)
  t.equal(confed[0], 1, 'confed segment noticed')
})

t.test('RFC 6793 4.2.3 merge', async (t) => {
  const asPath: AsPath = [{ type: 2, asns: [65001, AS_TRANS, AS_TRANS, 65002] }]
  const as4: AsPath = [{ type: 2, asns: [4200000001, 4200000002, 65002] }]
  t.same(mergeAs4Path(asPath, as4), [{ type: 2, asns: [65001, 4200000001, 4200000002, 65002] }], 'leading ASNs kept')
  t.same(mergeAs4Path([{ type: 2, asns: [AS_TRANS] }], [{ type: 2, asns: [1, 2] }]), [{ type: 2, asns: [AS_TRANS] }], 'AS4_PATH longer: ignored')
  t.same(
    mergeAs4Path([{ type: 2, asns: [1, AS_TRANS] }, { type: 1, asns: [5, 6] }], [{ type: 2, asns: [4200000000] }, { type: 1, asns: [5, 6] }]),
    [{ type: 2, asns: [1, 4200000000] }, { type: 1, asns: [5, 6] }],
    'sets count one',
  )
  t.same(
    mergeAs4Path([{ type: 3, asns: [65010] }, { type: 2, asns: [AS_TRANS] }], [{ type: 3, asns: [9] }, { type: 2, asns: [4200000000] }]),
    [{ type: 3, asns: [65010] }, { type: 2, asns: [4200000000] }],
    'confed segments of AS_PATH kept, of AS4_PATH dropped',
  )
})

t.test('text form', async (t) => {
  t.equal(asPathToString([{ type: 2, asns: [1, 2] }, { type: 1, asns: [3, 4] }, { type: 3, asns: [5] }, { type: 4, asns: [6] }]), '1 2 {3 4} (5) [6]')
})
