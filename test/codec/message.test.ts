/**
 * Whole messages (message.ts): encodeMessage/decodeMessage dispatch every type by its `type`
 * discriminant, agree with each type's own codec, and walk the streams real daemons sent. Also the
 * public face (index.ts) exports both halves of the codec.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import * as codec from '../../bgp/codec/index.js'
import {
  type BgpMessage,
  decodeFramed,
  decodeMessage,
  defaultContext,
  encodeMessage,
  encodeMessageInto,
  ErrorCode,
  Family,
  Framer,
  HeaderSubcode,
  KEEPALIVE,
  makeOpen,
  messageEncodingLength,
  messageLengthAt,
  MessageType,
  shutdownNotification,
  writeHeader,
  encapsulation,
  routeTarget,
} from '../../bgp/codec/index.js'
import { throwsBgpError, toHex } from '../helpers/round-trip.js'

const ctx = defaultContext({ families: new Set([Family.Ipv4Unicast, Family.Ipv4Vpn]) })

const samples: [string, number, BgpMessage][] = [
  ['open', MessageType.Open, makeOpen({ asn: 64512, holdTime: 90, bgpId: 0xc0000201, capabilities: [{ type: 'multiprotocol', afi: 1, safi: 128 }, { type: 'route-refresh', code: 2 }] })],
  ['update ipv4 unicast', MessageType.Update, {
    type: 'update', withdrawn: [],
    attributes: { origin: 0, asPath: [{ type: 2, asns: [64512, 4200000001] }], nextHop: 0xc0000201, med: 10 },
    nlri: [{ family: Family.Ipv4Unicast, prefix: Uint8Array.of(10, 1, 0, 0), length: 16 }],
  }],
  ['update vpnv4', MessageType.Update, {
    type: 'update', withdrawn: [],
    attributes: { origin: 0, asPath: [], localPref: 100, extCommunities: [routeTarget(64512, 7), encapsulation(13)] },
    mpReach: {
      family: Family.Ipv4Vpn, nextHop: [Uint8Array.of(192, 0, 2, 1)],
      nlri: [{ family: Family.Ipv4Vpn, prefix: Uint8Array.of(10, 2, 3, 0), length: 24, labels: [(16 << 4) | 1], rd: { type: 1, admin: 0xc0000201, assigned: 3 } }],
    },
    nlri: [],
  }],
  ['end-of-rib', MessageType.Update, { type: 'update', withdrawn: [], attributes: {}, nlri: [] }],
  ['notification', MessageType.Notification, shutdownNotification(2, 'maintenance')],
  ['keepalive', MessageType.Keepalive, KEEPALIVE],
  ['route-refresh', MessageType.RouteRefresh, { type: 'route-refresh', afi: 1, safi: 128, subtype: 1 }],
]

t.test('every type: encodeMessage -> decodeMessage -> same value, same bytes, also at an offset', async (t) => {
  for (const [name, type, msg] of samples) {
    const bytes = encodeMessage(msg, ctx)
    t.equal(bytes.length, messageEncodingLength(msg, ctx), `${name}: one buffer of the exact size`)
    t.equal(bytes[18], type, `${name}: header type ${type}`)
    t.equal(messageLengthAt(bytes, 0), bytes.length, `${name}: header length`)
    const back = decodeMessage(bytes, 0, ctx)
    t.same(back, msg, `${name}: decodes to the value`)
    t.equal(toHex(encodeMessage(back, ctx)), toHex(bytes), `${name}: re-encodes identically`)
    const big = new Uint8Array(bytes.length + 40).fill(0x5a)
    t.equal(encodeMessageInto(msg, big, 17, ctx), bytes.length, `${name}: encodeMessageInto returns the length`)
    t.equal(toHex(big.subarray(17, 17 + bytes.length)), toHex(bytes), `${name}: same bytes at an offset`)
    t.ok(big.subarray(0, 17).every((b) => b === 0x5a) && big.subarray(17 + bytes.length).every((b) => b === 0x5a), `${name}: nothing outside`)
    t.same(decodeMessage(big, 17, ctx), msg, `${name}: decodes at an offset`)
    t.same(decodeFramed(type, big, 17, bytes.length, ctx), msg, `${name}: decodeFramed`)
  }
})

t.test('a batch of messages in one buffer, then framed', async (t) => {
  const total = samples.reduce((s, [, , m]) => s + messageEncodingLength(m, ctx), 0)
  const buf = new Uint8Array(total)
  let p = 0
  for (const [, , m] of samples) p += encodeMessageInto(m, buf, p, ctx)
  const framer = new Framer()
  framer.push(buf)
  const got: BgpMessage[] = []
  while (framer.next()) got.push(decodeFramed(framer.type, framer.buf, framer.offset, framer.length, ctx))
  t.same(got, samples.map(([, , m]) => m))
})

t.test('decodeMessage errors are BgpErrors', async (t) => {
  throwsBgpError(t, () => decodeMessage(new Uint8Array(10), 0, ctx), { kind: 'truncated-message', code: ErrorCode.MessageHeader, subcode: HeaderSubcode.BadMessageLength }, 'shorter than a header')
  const ka = encodeMessage(KEEPALIVE)
  const two = new Uint8Array(38)
  two.set(ka, 0)
  two.set(ka, 19)
  throwsBgpError(t, () => decodeMessage(two, 1, ctx), { kind: 'bad-marker', code: 1, subcode: 1 }, 'offset one byte into a message')
  const open = encodeMessage(samples[0]![2], ctx)
  throwsBgpError(t, () => decodeMessage(open.subarray(0, open.length - 1), 0, ctx), { kind: 'truncated-message', code: 1, subcode: 2 }, 'buffer ends inside the message')
  throwsBgpError(t, () => decodeFramed(9, ka, 0, 19, ctx), { code: 1, subcode: 3, data: '09' }, 'decodeFramed of an unknown type')
  const bad = new Uint8Array(19)
  writeHeader(bad, 0, 19, 7)
  throwsBgpError(t, () => decodeMessage(bad, 0, ctx), { code: 1, subcode: 3, data: '07' }, 'unknown type')
})

t.test('encoding limits: the negotiated maximum, and 4,096 for OPEN whatever was negotiated', async (t) => {
  const big = { type: 'notification' as const, code: 6, subcode: 0, data: new Uint8Array(5000) }
  t.throws(() => messageEncodingLength(big, ctx), /more than the 4096 allowed/)
  t.equal(messageEncodingLength(big, defaultContext({ maxMessageLength: 65535 })), 5021)
  const caps: codec.Capability[] = []
  for (let i = 0; i < 200; i++) caps.push({ type: 'unknown', code: 200, value: new Uint8Array(250) })
  const hugeOpen = makeOpen({ asn: 1, holdTime: 0, bgpId: 1, capabilities: caps })
  t.throws(() => encodeMessage(hugeOpen, defaultContext({ maxMessageLength: 65535 })), /open message would be/)
  t.throws(() => encodeMessageInto(KEEPALIVE, new Uint8Array(10), 0), /does not fit the buffer/)
})

t.test('captured streams: every message decodes, in the order the recorder saw', async (t) => {
  const dir = new URL('../fixtures/captured/', import.meta.url)
  const manifest = JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as {
    captures: { file: string; ebgp: boolean; recorder: { as4?: boolean; addPathReceive?: [number, number][] }; observed: { messageTypes: number[] } }[]
  }
  t.ok(manifest.captures.length >= 1)
  for (const c of manifest.captures) {
    const stream = new Uint8Array(readFileSync(new URL(c.file, dir)))
    // Negotiate as a session would, from the daemon's OPEN (the first message) and what the recorder
    // offered (RFC 4760 families, RFC 6793 4-octet AS, RFC 7911 ADD-PATH).
    const open = decodeMessage(stream, 0)
    if (open.type !== 'open') { t.fail(`${c.file}: starts with ${open.type}`); continue }
    const families = new Set(open.capabilities.flatMap((x) => (x.type === 'multiprotocol' ? [codec.familyKey(x.afi, x.safi)] : [])))
    const offered = new Set((c.recorder.addPathReceive ?? []).map(([afi, safi]) => codec.familyKey(afi, safi)))
    const addPathReceive = new Set(open.capabilities.flatMap((x) => (x.type === 'add-path' ? x.families.filter((f) => f.send).map((f) => codec.familyKey(f.afi, f.safi)) : [])).filter((f) => offered.has(f)))
    const as4 = c.recorder.as4 !== false && open.capabilities.some((x) => x.type === 'as4')
    const sctx = defaultContext({ families, as4, addPathReceive, addPathSend: addPathReceive, ebgp: c.ebgp, maxMessageLength: 4096 })
    const types: number[] = []
    let p = 0
    let ok = true
    while (p < stream.length) {
      try {
        const m = decodeMessage(stream, p, sctx)
        types.push({ open: 1, update: 2, notification: 3, keepalive: 4, 'route-refresh': 5 }[m.type])
        if (m.type !== 'update') {
          // Non-UPDATE messages re-encode byte for byte.
          const len = messageLengthAt(stream, p)
          if (toHex(encodeMessage(m, sctx)) !== toHex(stream.subarray(p, p + len))) { ok = false; t.fail(`${c.file}: ${m.type} at ${p} re-encodes differently`) }
        }
      } catch (e) {
        ok = false
        t.fail(`${c.file}: message at ${p}: ${String(e)}`)
        break
      }
      p += messageLengthAt(stream, p)
    }
    t.ok(ok, `${c.file}: decoded`)
    t.same(types, c.observed.messageTypes, `${c.file}: message types in order`)
  }
})

t.test('the public face exports both halves', async (t) => {
  for (const name of ['decodeMessage', 'encodeMessage', 'Framer', 'decodeOpen', 'decodeUpdate', 'encodeUpdate', 'decodeUpdateBulk',
    'decodeNotification', 'decodeRouteRefresh', 'KEEPALIVE_BYTES', 'BgpError', 'Cursor', 'familyKey', 'decodeExtCommunities', 'notificationFromError']) {
    t.ok(name in codec, `index exports ${name}`)
  }
})
