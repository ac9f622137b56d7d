/**
 * ROUTE-REFRESH (RFC 2918, RFC 7313 subtypes, RFC 5291 ORF kept opaque) and KEEPALIVE (RFC 4271 4.4):
 * round trips with exact bytes, and the length errors with the data RFC 7313 5 asks for.
 */
import t from 'tap'
import { ErrorCode, HeaderSubcode, RouteRefreshSubcode } from '../../bgp/codec/errors.js'
import { decodeKeepalive, encodeKeepalive, KEEPALIVE, KEEPALIVE_BYTES, keepaliveEncodingLength } from '../../bgp/codec/keepalive.js'
import {
  decodeRouteRefresh,
  encodeRouteRefresh,
  routeRefreshEncodingLength,
  RouteRefreshSubtype,
} from '../../bgp/codec/route-refresh.js'
import { fromHex, roundTrip, throwsBgpError } from '../helpers/round-trip.js'

const codec = { encode: encodeRouteRefresh, decode: decodeRouteRefresh, encodingLength: routeRefreshEncodingLength }
const MARKER = 'ffffffffffffffffffffffffffffffff'

t.test('normal, BoRR and EoRR round trip with exact bytes', async (t) => {
  roundTrip(t, codec, { type: 'route-refresh', afi: 1, safi: 1, subtype: RouteRefreshSubtype.Normal }, { bytes: fromHex(`${MARKER} 0017 05 0001 00 01`) })
  roundTrip(t, codec, { type: 'route-refresh', afi: 1, safi: 128, subtype: RouteRefreshSubtype.BeginningOfRibRefresh }, { bytes: fromHex(`${MARKER} 0017 05 0001 01 80`) })
  roundTrip(t, codec, { type: 'route-refresh', afi: 2, safi: 128, subtype: RouteRefreshSubtype.EndOfRibRefresh }, { bytes: fromHex(`${MARKER} 0017 05 0002 02 80`) })
  roundTrip(t, codec, { type: 'route-refresh', afi: 1, safi: 1, subtype: 77 }, { name: 'unassigned subtype decodes (the session ignores it, RFC 7313 5)' })
})

t.test('a subtype-0 refresh with ORF entries (RFC 5291) keeps them opaque', async (t) => {
  roundTrip(t, codec, { type: 'route-refresh', afi: 1, safi: 1, subtype: 0, orf: Uint8Array.of(1, 0x40, 0, 0) },
    { bytes: fromHex(`${MARKER} 001b 05 0001 00 01 01400000`) })
  t.throws(() => encodeRouteRefresh({ type: 'route-refresh', afi: 1, safi: 1, subtype: 1, orf: Uint8Array.of(1) }, new Uint8Array(40), 0), /ORF entries only/)
})

t.test('bad lengths: ROUTE-REFRESH Message Error / Invalid Message Length, data = whole message (RFC 7313 5)', async (t) => {
  const want = (hex: string) => ({ kind: 'bad-route-refresh-length', code: ErrorCode.RouteRefreshMessage, subcode: RouteRefreshSubcode.InvalidMessageLength, data: hex, action: 'session-reset' })
  const borrLong = `${MARKER} 0018 05 0001 01 01 00`
  throwsBgpError(t, () => decodeRouteRefresh(fromHex(borrLong), 0, 24), want(borrLong), 'BoRR of 5 bytes')
  const eorrLong = `${MARKER} 0019 05 0001 02 01 0000`
  throwsBgpError(t, () => decodeRouteRefresh(fromHex(eorrLong), 0, 25), want(eorrLong), 'EoRR of 6 bytes')
  const short = `${MARKER} 0016 05 0001 00`
  throwsBgpError(t, () => decodeRouteRefresh(fromHex(short), 0, 22), want(short), 'body of 3 bytes')
  const empty = `${MARKER} 0013 05`
  throwsBgpError(t, () => decodeRouteRefresh(fromHex(empty), 0, 19), want(empty), 'no body')
})

t.test('KEEPALIVE is the bare header', async (t) => {
  const codecK = { encode: encodeKeepalive, decode: decodeKeepalive, encodingLength: keepaliveEncodingLength }
  roundTrip(t, codecK, KEEPALIVE, { bytes: fromHex(`${MARKER} 0013 04`) })
  t.same(Array.from(KEEPALIVE_BYTES), Array.from(fromHex(`${MARKER} 0013 04`)))
  throwsBgpError(t, () => decodeKeepalive(fromHex(`${MARKER} 0014 04 00`), 0, 20),
    { code: ErrorCode.MessageHeader, subcode: HeaderSubcode.BadMessageLength, data: '0014' }, 'KEEPALIVE with a body')
})
