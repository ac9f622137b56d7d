/**
 * NOTIFICATION message body (RFC 4271 4.5): error code (1), error subcode (1), data (the rest).
 *
 * Names every code and subcode of RFC 4271, RFC 4486 and RFC 8538 (Cease), RFC 5492 and RFC 9234
 * (OPEN), RFC 6608 (FSM), RFC 7313 (ROUTE-REFRESH), RFC 9687 (Send Hold Timer Expired), and decodes
 * the shutdown communication of RFC 9003 (Cease subcodes 2 and 4: a length byte, then up to 255
 * bytes of UTF-8) into `message`. Decoding never fails on content: a NOTIFICATION ends the session
 * anyway, so anything after the header that has code and subcode is accepted, and a shutdown
 * communication that is not well formed is simply left in `data` (RFC 9003 5 asks for that leniency).
 *
 * The triplet works on whole messages, header included, like update.ts.
 */
import { BgpError, CeaseSubcode, ErrorCode, HeaderSubcode } from './errors.js'
import { HEADER_LENGTH, MessageType, writeHeader } from './header.js'

export interface NotificationMessage {
  readonly type: 'notification'
  readonly code: number
  readonly subcode: number
  /** The data field (a copy: NOTIFICATIONs are logged and kept, not streamed). */
  readonly data: Uint8Array
  /** RFC 9003 shutdown communication, when code 6 subcode 2 or 4 carries a well-formed one. Decode only:
   * the encoder writes `data`; build it with shutdownNotification(). */
  readonly message?: string
}

const utf8 = new TextEncoder()
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export function notificationEncodingLength(n: NotificationMessage): number {
  return HEADER_LENGTH + 2 + n.data.length
}

export function encodeNotification(n: NotificationMessage, buf: Uint8Array, offset: number): number {
  const total = notificationEncodingLength(n)
  if (total > 0xffff) throw new RangeError(`NOTIFICATION data of ${n.data.length} bytes does not fit a message`)
  const p = writeHeader(buf, offset, total, MessageType.Notification)
  buf[p] = n.code
  buf[p + 1] = n.subcode
  buf.set(n.data, p + 2)
  return total
}

/** Decodes the NOTIFICATION message of `length` bytes at `offset` (header included, already checked). */
export function decodeNotification(buf: Uint8Array, msgOffset: number, msgLength: number): NotificationMessage {
  if (msgLength < HEADER_LENGTH + 2 || msgOffset + msgLength > buf.length) {
    // The header check already requires 21 bytes; this guards direct callers.
    throw new BgpError('bad-message-length', ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength,
      Uint8Array.of(msgLength >>> 8, msgLength & 0xff), 'session-reset', `NOTIFICATION of ${msgLength} byte(s) is too short`)
  }
  const offset = msgOffset + HEADER_LENGTH
  const length = msgLength - HEADER_LENGTH
  const code = buf[offset] as number
  const subcode = buf[offset + 1] as number
  const data = buf.slice(offset + 2, offset + length)
  const message = code === ErrorCode.Cease &&
    (subcode === CeaseSubcode.AdministrativeShutdown || subcode === CeaseSubcode.AdministrativeReset)
    ? shutdownCommunication(data)
    : undefined
  return message === undefined
    ? { type: 'notification', code, subcode, data }
    : { type: 'notification', code, subcode, data, message }
}

/** RFC 9003 2: length byte, then that many bytes of UTF-8. Undefined when absent or malformed. */
function shutdownCommunication(data: Uint8Array): string | undefined {
  if (data.length < 1) return undefined
  const len = data[0] as number
  if (len === 0 || 1 + len > data.length) return undefined
  try {
    return utf8Strict.decode(data.subarray(1, 1 + len))
  } catch {
    return undefined
  }
}

/**
 * A Cease NOTIFICATION with an RFC 9003 shutdown communication (subcode 2 Administrative Shutdown or
 * 4 Administrative Reset). Throws RangeError when the UTF-8 is longer than 255 bytes; cut the text
 * first with truncateUtf8() if it comes from an operator.
 */
export function shutdownNotification(subcode: 2 | 4, message: string): NotificationMessage {
  const text = utf8.encode(message)
  if (text.length > 255) throw new RangeError(`shutdown communication is ${text.length} bytes of UTF-8, at most 255 allowed (RFC 9003)`)
  const data = new Uint8Array(1 + text.length)
  data[0] = text.length
  data.set(text, 1)
  return text.length === 0
    ? { type: 'notification', code: ErrorCode.Cease, subcode, data: new Uint8Array(0) }
    : { type: 'notification', code: ErrorCode.Cease, subcode, data, message }
}

/** Cuts a string to at most `max` bytes of UTF-8 without splitting a character. */
export function truncateUtf8(s: string, max = 255): string {
  if (utf8.encode(s).length <= max) return s
  let out = ''
  let bytes = 0
  for (const ch of s) {
    const n = utf8.encode(ch).length
    if (bytes + n > max) break
    out += ch
    bytes += n
  }
  return out
}

/**
 * The NOTIFICATION that answers a codec error (RFC 4271 6: code, subcode and data of the error).
 * The data is cut so the message fits `maxMessageLength` (4,096 unless RFC 8654 extended messages
 * were negotiated): an UPDATE error's data may be an attribute of up to 65,535 bytes, and RFC 8654 4
 * lets the sender truncate it rather than fail to send the NOTIFICATION at all.
 */
export function notificationFromError(e: BgpError, maxMessageLength = 4096): NotificationMessage {
  const room = Math.max(0, maxMessageLength - HEADER_LENGTH - 2)
  return { type: 'notification', code: e.code, subcode: e.subcode, data: e.data.slice(0, room) }
}

/** Stable names of the error codes, as used in logs and metric labels. */
const codeNames: Record<number, string> = {
  [ErrorCode.MessageHeader]: 'message-header-error',
  [ErrorCode.OpenMessage]: 'open-message-error',
  [ErrorCode.UpdateMessage]: 'update-message-error',
  [ErrorCode.HoldTimerExpired]: 'hold-timer-expired',
  [ErrorCode.FsmError]: 'fsm-error',
  [ErrorCode.Cease]: 'cease',
  [ErrorCode.RouteRefreshMessage]: 'route-refresh-message-error',
  [ErrorCode.SendHoldTimerExpired]: 'send-hold-timer-expired',
}

const subcodeNames: Record<number, readonly (string | undefined)[]> = {
  [ErrorCode.MessageHeader]: ['unspecific', 'connection-not-synchronized', 'bad-message-length', 'bad-message-type'],
  [ErrorCode.OpenMessage]: [
    'unspecific',
    'unsupported-version-number',
    'bad-peer-as',
    'bad-bgp-identifier',
    'unsupported-optional-parameter',
    'authentication-failure', // deprecated (RFC 4271)
    'unacceptable-hold-time',
    'unsupported-capability', // RFC 5492
    'deprecated-8', // IANA: 8-10 deprecated
    'deprecated-9',
    'deprecated-10',
    'role-mismatch', // RFC 9234
  ],
  [ErrorCode.UpdateMessage]: [
    'unspecific',
    'malformed-attribute-list',
    'unrecognized-well-known-attribute',
    'missing-well-known-attribute',
    'attribute-flags-error',
    'attribute-length-error',
    'invalid-origin-attribute',
    'as-routing-loop', // deprecated (RFC 4271)
    'invalid-next-hop-attribute',
    'optional-attribute-error',
    'invalid-network-field',
    'malformed-as-path',
  ],
  [ErrorCode.HoldTimerExpired]: ['unspecific'],
  [ErrorCode.FsmError]: [
    'unspecified',
    'unexpected-message-in-opensent',
    'unexpected-message-in-openconfirm',
    'unexpected-message-in-established',
  ],
  [ErrorCode.Cease]: [
    'unspecific',
    'maximum-prefixes-reached',
    'administrative-shutdown',
    'peer-deconfigured',
    'administrative-reset',
    'connection-rejected',
    'other-configuration-change',
    'connection-collision-resolution',
    'out-of-resources',
    'hard-reset', // RFC 8538
    'bfd-down', // RFC 9384
  ],
  [ErrorCode.RouteRefreshMessage]: ['reserved', 'invalid-message-length'],
  [ErrorCode.SendHoldTimerExpired]: ['unspecific'],
}

export function notificationCodeName(code: number): string {
  return codeNames[code] ?? `code-${code}`
}

export function notificationSubcodeName(code: number, subcode: number): string {
  return subcodeNames[code]?.[subcode] ?? `subcode-${subcode}`
}

/** One line for logs: `cease/administrative-shutdown "maintenance"`, or with the data in hex. */
export function describeNotification(n: NotificationMessage): string {
  const base = `${notificationCodeName(n.code)}/${notificationSubcodeName(n.code, n.subcode)}`
  if (n.message !== undefined) return `${base} ${JSON.stringify(n.message)}`
  if (n.data.length === 0) return base
  let hex = ''
  for (const b of n.data) hex += b.toString(16).padStart(2, '0')
  return `${base} data=${hex}`
}
