/**
 * Capabilities (RFC 5492 and the RFCs of each capability): round trip of every kind through the shared
 * helper, exact bytes against hand-checked RFC layouts, leniency (unknown and not-understood ones kept
 * byte for byte) and the errors for malformed known ones.
 */
import t from 'tap'
import {
  type Capability,
  capabilityEncodingLength,
  capabilityName,
  decodeCapability,
  decodeCapabilityAt,
  encodeCapability,
  roleName,
} from '../../bgp/codec/capabilities.js'
import { ErrorCode, OpenSubcode } from '../../bgp/codec/errors.js'
import { fromHex, roundTrip, throwsBgpError, toHex } from '../helpers/round-trip.js'

const codec = { encode: encodeCapability, decode: decodeCapability, encodingLength: capabilityEncodingLength }

/** Every kind with its exact wire bytes (code, length, value), checked by hand against the RFCs. */
const cases: { name: string; cap: Capability; hex: string }[] = [
  { name: 'multiprotocol ipv4 unicast (RFC 4760 8)', cap: { type: 'multiprotocol', afi: 1, safi: 1 }, hex: '0104 0001 00 01' },
  { name: 'multiprotocol vpnv6', cap: { type: 'multiprotocol', afi: 2, safi: 128 }, hex: '0104 0002 00 80' },
  { name: 'route refresh (RFC 2918)', cap: { type: 'route-refresh', code: 2 }, hex: '0200' },
  { name: 'route refresh, Cisco code 128', cap: { type: 'route-refresh', code: 128 }, hex: '8000' },
  { name: 'enhanced route refresh (RFC 7313)', cap: { type: 'enhanced-route-refresh' }, hex: '4600' },
  { name: 'extended message (RFC 8654)', cap: { type: 'extended-message' }, hex: '0600' },
  { name: '4-octet AS (RFC 6793)', cap: { type: 'as4', asn: 4200000000 }, hex: '4104 fa56ea00' },
  { name: 'BGP role customer (RFC 9234)', cap: { type: 'role', role: 3 }, hex: '0901 03' },
  {
    name: 'extended next hop ipv4 unicast and vpn over ipv6 (RFC 8950)',
    cap: { type: 'extended-next-hop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }, { afi: 1, safi: 128, nextHopAfi: 2 }] },
    hex: '050c 0001 0001 0002 0001 0080 0002',
  },
  {
    name: 'graceful restart, R and N, 120 s, two families (RFC 4724, RFC 8538)',
    cap: {
      type: 'graceful-restart', restarting: true, notification: true, restartTime: 120,
      families: [{ afi: 1, safi: 1, forwarding: true }, { afi: 1, safi: 128, forwarding: false }],
    },
    hex: '400a c078 0001 01 80 0001 80 00',
  },
  {
    name: 'graceful restart, helper only (no families)',
    cap: { type: 'graceful-restart', restarting: false, notification: false, restartTime: 4095, families: [] },
    hex: '4002 0fff',
  },
  {
    name: 'long-lived graceful restart (RFC 9494)',
    cap: { type: 'long-lived-graceful-restart', families: [{ afi: 1, safi: 128, forwarding: true, staleTime: 86400 }, { afi: 2, safi: 1, forwarding: false, staleTime: 0xffffff }] },
    hex: '470e 0001 80 80 015180 0002 01 00 ffffff',
  },
  {
    name: 'ADD-PATH receive, send, both (RFC 7911)',
    cap: {
      type: 'add-path',
      families: [
        { afi: 1, safi: 1, send: false, receive: true },
        { afi: 2, safi: 1, send: true, receive: false },
        { afi: 1, safi: 128, send: true, receive: true },
      ],
    },
    hex: '450c 0001 01 01 0002 01 02 0001 80 03',
  },
  { name: 'FQDN as FRR sends it', cap: { type: 'fqdn', hostname: 'gw-1', domain: 'example.net' }, hex: '4911 04 67772d31 0b 6578616d706c652e6e6574' },
  { name: 'FQDN with empty domain', cap: { type: 'fqdn', hostname: 'r1', domain: '' }, hex: '4904 02 7231 00' },
  { name: 'FQDN non-ASCII UTF-8', cap: { type: 'fqdn', hostname: 'zürich', domain: '' }, hex: '4909 07 7ac3bc72696368 00' },
  { name: 'unknown capability kept', cap: { type: 'unknown', code: 131, value: Uint8Array.of(1, 2, 3) }, hex: '8303 010203' },
  { name: 'unknown capability, empty', cap: { type: 'unknown', code: 200, value: new Uint8Array(0) }, hex: 'c800' },
]

for (const c of cases) {
  t.test(c.name, async (t) => {
    roundTrip(t, codec, c.cap, { bytes: fromHex(c.hex), name: c.cap.type })
  })
}

t.test('not understood ADD-PATH Send/Receive value is kept as unknown (RFC 7911 4)', async (t) => {
  const bytes = fromHex('4508 0001 01 01 0002 01 04')
  const cap = decodeCapability(bytes, 0, bytes.length)
  t.equal(cap.type, 'unknown')
  t.equal(capabilityName(cap), 'unknown-69')
  const out = new Uint8Array(capabilityEncodingLength(cap))
  encodeCapability(cap, out, 0)
  t.equal(toHex(out), toHex(bytes), 're-encoded byte for byte')
})

t.test('FQDN that does not parse, or is not UTF-8, is kept as unknown', async (t) => {
  for (const hex of ['4903 05 6162', '4904 02 6162 05', '4903 01 ff 00', '4900', '4901 00']) {
    const bytes = fromHex(hex)
    const cap = decodeCapability(bytes, 0, bytes.length)
    t.equal(cap.type, 'unknown', hex)
    const out = new Uint8Array(capabilityEncodingLength(cap))
    encodeCapability(cap, out, 0)
    t.equal(toHex(out), toHex(bytes), `${hex} re-encoded byte for byte`)
  }
})

t.test('reserved flag bits are ignored on receipt and sent as zero', async (t) => {
  const bytes = fromHex('4006 3078 0001 01 7f') // reserved bits 0x3 in the flags nibble, 0x7f per family
  const cap = decodeCapability(bytes, 0, bytes.length)
  t.same(cap, { type: 'graceful-restart', restarting: false, notification: false, restartTime: 120, families: [{ afi: 1, safi: 1, forwarding: false }] })
})

t.test('malformed known capabilities are OPEN Message Error / Unspecific with the TLV as data', async (t) => {
  const bad = [
    '0103 000100', // multiprotocol length 3
    '0201 00', // route refresh with a value
    '4103 000001', // 4-octet AS length 3
    '0902 0001', // role length 2
    '4003 0078 00', // graceful restart 2 + 1
    '4706 0001 80 80 0151', // LLGR not a multiple of 7
    '4503 000101', // ADD-PATH not a multiple of 4
    '0504 00010001', // extended next hop not a multiple of 6
  ]
  for (const hex of bad) {
    const bytes = fromHex(hex)
    throwsBgpError(t, () => decodeCapability(bytes, 0, bytes.length),
      { kind: 'malformed-capability', code: ErrorCode.OpenMessage, subcode: OpenSubcode.Unspecific, data: bytes, action: 'session-reset' }, hex)
  }
})

t.test('a capability running past its parameter is an error', async (t) => {
  const bytes = fromHex('4104 0000fd')
  const want = { kind: 'malformed-capability', code: ErrorCode.OpenMessage, subcode: OpenSubcode.Unspecific }
  throwsBgpError(t, () => decodeCapabilityAt(bytes, 0, bytes.length), want, 'value past the end')
  throwsBgpError(t, () => decodeCapabilityAt(Uint8Array.of(0x41), 0, 1), want, 'header past the end')
  throwsBgpError(t, () => decodeCapability(fromHex('0200 00'), 0, 3), want, 'trailing bytes')
})

t.test('encoder rejects values that do not fit, naming the field', async (t) => {
  t.throws(() => capabilityEncodingLength({ type: 'fqdn', hostname: 'x'.repeat(200), domain: 'y'.repeat(100) }), /at most 255/)
  t.throws(() => encodeCapability({ type: 'graceful-restart', restarting: false, notification: false, restartTime: 5000, families: [] }, new Uint8Array(8), 0), /restartTime/)
  t.throws(() => encodeCapability({ type: 'long-lived-graceful-restart', families: [{ afi: 1, safi: 1, forwarding: false, staleTime: 2 ** 24 }] }, new Uint8Array(16), 0), /staleTime/)
  t.throws(() => encodeCapability({ type: 'add-path', families: [{ afi: 1, safi: 1, send: false, receive: false }] }, new Uint8Array(8), 0), /send or receive/)
})

t.test('names', async (t) => {
  t.equal(capabilityName({ type: 'as4', asn: 1 }), 'as4')
  t.equal(roleName(0), 'provider')
  t.equal(roleName(4), 'peer')
  t.equal(roleName(9), 'role-9')
})
