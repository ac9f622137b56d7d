/**
 * NOTIFICATION (RFC 4271 4.5): round trips, names of every code and subcode, the RFC 9003 shutdown
 * communication, the BgpError -> NOTIFICATION helper, and the NOTIFICATIONs real daemons sent.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { BgpError, CeaseSubcode, ErrorCode, FsmSubcode, HeaderSubcode, OpenSubcode, UpdateSubcode } from '../../bgp/codec/errors.js'
import { checkHeaderLength, MessageType } from '../../bgp/codec/header.js'
import {
  decodeNotification,
  describeNotification,
  encodeNotification,
  notificationCodeName,
  notificationEncodingLength,
  notificationFromError,
  type NotificationMessage,
  notificationSubcodeName,
  shutdownNotification,
  truncateUtf8,
} from '../../bgp/codec/notification.js'
import { bytesRoundTrip, fromHex, roundTrip, toHex } from '../helpers/round-trip.js'

const codec = { encode: encodeNotification, decode: decodeNotification, encodingLength: notificationEncodingLength }
const MARKER = 'ffffffffffffffffffffffffffffffff'

t.test('plain NOTIFICATIONs round trip with exact bytes', async (t) => {
  roundTrip(t, codec, { type: 'notification', code: 4, subcode: 0, data: new Uint8Array(0) }, { bytes: fromHex(`${MARKER} 0015 03 04 00`) })
  roundTrip(t, codec, { type: 'notification', code: 2, subcode: 1, data: Uint8Array.of(0, 4) }, { bytes: fromHex(`${MARKER} 0017 03 02 01 0004`) })
  roundTrip(t, codec, { type: 'notification', code: 200, subcode: 200, data: Uint8Array.of(1, 2, 3) }, { name: 'unknown code kept' })
})

t.test('RFC 9003 shutdown communication for Cease 2 and 4', async (t) => {
  const n = shutdownNotification(2, 'maintenance until 18:00 ✓')
  t.equal(n.message, 'maintenance until 18:00 ✓')
  const bytes = roundTrip(t, codec, n)
  t.equal(bytes[21], 24 + 3, 'length byte counts UTF-8 bytes (24 ASCII, the check mark is 3)')
  roundTrip(t, codec, shutdownNotification(4, 'reset'))
  const max = shutdownNotification(2, 'é'.repeat(127) + 'x')
  t.equal(max.data.length, 256, '255 bytes of text plus the length byte')
  roundTrip(t, codec, max, { name: '255 bytes' })
  t.throws(() => shutdownNotification(2, 'x'.repeat(256)), /at most 255/)
  t.equal(truncateUtf8('é'.repeat(200)), 'é'.repeat(127), 'cut on a character boundary')
  t.same(shutdownNotification(2, ''), { type: 'notification', code: 6, subcode: 2, data: new Uint8Array(0) })
})

t.test('shutdown communication that is malformed stays in data (RFC 9003 5)', async (t) => {
  for (const data of ['', '00', '05 6162', '02 ff fe', '01 61 ffff']) {
    const bytes = fromHex(`${MARKER} ${(21 + fromHex(data).length).toString(16).padStart(4, '0')} 03 06 02 ${data}`)
    const n = bytesRoundTrip(t, codec, bytes, `data ${data}`)
    if (data === '01 61 ffff') t.equal(n.message, 'a', 'trailing bytes after the text are kept in data')
    else t.equal(n.message, undefined, `no message from ${data || 'empty data'}`)
  }
  const other = decodeNotification(fromHex(`${MARKER} 0017 03 06 03 0161`), 0, 23)
  t.equal(other.message, undefined, 'only subcodes 2 and 4 carry one')
})

t.test('names for every code and subcode', async (t) => {
  t.equal(notificationCodeName(ErrorCode.MessageHeader), 'message-header-error')
  t.equal(notificationCodeName(ErrorCode.SendHoldTimerExpired), 'send-hold-timer-expired')
  t.equal(notificationCodeName(99), 'code-99')
  const expected: [number, number, string][] = [
    [1, HeaderSubcode.ConnectionNotSynchronized, 'connection-not-synchronized'],
    [1, HeaderSubcode.BadMessageType, 'bad-message-type'],
    [2, OpenSubcode.UnacceptableHoldTime, 'unacceptable-hold-time'],
    [2, OpenSubcode.UnsupportedCapability, 'unsupported-capability'],
    [2, OpenSubcode.RoleMismatch, 'role-mismatch'],
    [3, UpdateSubcode.MalformedAsPath, 'malformed-as-path'],
    [3, UpdateSubcode.InvalidNextHopAttribute, 'invalid-next-hop-attribute'],
    [5, FsmSubcode.UnexpectedInEstablished, 'unexpected-message-in-established'],
    [6, CeaseSubcode.HardReset, 'hard-reset'],
    [6, CeaseSubcode.BfdDown, 'bfd-down'],
    [7, 1, 'invalid-message-length'],
    [6, 77, 'subcode-77'],
  ]
  for (const [code, sub, name] of expected) t.equal(notificationSubcodeName(code, sub), name, `${code}/${sub}`)
  // Every subcode constant the codec defines has a name.
  const tables: [number, Record<string, number>][] = [
    [1, HeaderSubcode], [2, OpenSubcode], [3, UpdateSubcode], [5, FsmSubcode], [6, CeaseSubcode],
  ]
  for (const [code, table] of tables) {
    for (const [key, sub] of Object.entries(table)) {
      t.notMatch(notificationSubcodeName(code, sub), /^subcode-/, `${code} ${key} is named`)
    }
  }
  t.equal(describeNotification(shutdownNotification(2, 'bye')), 'cease/administrative-shutdown "bye"')
  t.equal(describeNotification({ type: 'notification', code: 2, subcode: 1, data: Uint8Array.of(0, 4) }), 'open-message-error/unsupported-version-number data=0004')
})

t.test('a BgpError becomes the NOTIFICATION that answers it', async (t) => {
  const e = new BgpError('bad-message-length', ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength, Uint8Array.of(0x10, 0x01))
  const n: NotificationMessage = notificationFromError(e)
  t.same(n, { type: 'notification', code: 1, subcode: 2, data: Uint8Array.of(0x10, 0x01) })
  const out = new Uint8Array(notificationEncodingLength(n))
  encodeNotification(n, out, 0)
  t.equal(toHex(out), `${MARKER}0017030102${'1001'}`)
  // Data too long for the message is cut to fit (RFC 8654 4).
  const big = new BgpError('attribute-length', ErrorCode.UpdateMessage, UpdateSubcode.AttributeLengthError, new Uint8Array(6000).fill(7), 'session-reset')
  t.equal(notificationFromError(big).data.length, 4096 - 21, 'cut to fit 4,096')
  t.equal(notificationEncodingLength(notificationFromError(big)), 4096)
  t.equal(notificationFromError(big, 65535).data.length, 6000, 'whole with extended messages')
})

t.test('NOTIFICATIONs captured from real daemons', async (t) => {
  const dir = new URL('../fixtures/captured/', import.meta.url)
  const manifest = JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as {
    captures: { file: string; notification?: { code: number; subcode: number; shutdownMessage?: string } | null }[]
  }
  let seen = 0
  for (const c of manifest.captures) {
    if (c.notification == null) continue // some daemons (ExaBGP) just close
    const stream = new Uint8Array(readFileSync(new URL(c.file, dir)))
    // Walk the stream to its NOTIFICATION (the last message the daemon sent).
    let p = 0
    let found: NotificationMessage | undefined
    while (p < stream.length) {
      const len = checkHeaderLength(stream, p, 65535)
      if (stream[p + 18] === MessageType.Notification) found = bytesRoundTrip(t, codec, stream.subarray(p, p + len), c.file)
      p += len
    }
    t.ok(found, `${c.file}: has a NOTIFICATION`)
    t.equal(found?.code, c.notification.code, `${c.file}: code`)
    t.equal(found?.subcode, c.notification.subcode, `${c.file}: subcode`)
    t.equal(found?.message, c.notification.shutdownMessage, `${c.file}: shutdown communication`)
    seen++
  }
  t.ok(seen >= 1, 'at least one captured NOTIFICATION')
})
