/**
 * BGP capabilities (RFC 5492), as carried in the OPEN message's Capabilities optional parameter.
 *
 * Each capability is a TLV: code (1 byte), length (1 byte), value. Known ones decode to a typed
 * discriminated union; unknown ones decode to `{ type: 'unknown', code, value }` and re-encode byte
 * for byte, as RFC 5492 asks a speaker to ignore capabilities it does not understand.
 *
 * Implemented: multiprotocol (RFC 4760, code 1), route refresh (RFC 2918, code 2, and the pre-standard
 * Cisco code 128), extended next hop (RFC 8950, code 5), extended message (RFC 8654, code 6), BGP role
 * (RFC 9234, code 9), graceful restart (RFC 4724, code 64), 4-octet AS (RFC 6793, code 65), ADD-PATH
 * (RFC 7911, code 69), enhanced route refresh (RFC 7313, code 70), long-lived graceful restart
 * (RFC 9494, code 71), FQDN/hostname (draft-walton-bgp-hostname-capability, code 73, as FRR sends it).
 *
 * Leniency: RFC 5492 says nothing about a known capability with a malformed value. Like BIRD, we
 * answer OPEN Message Error / Unspecific (data: the offending capability TLV), except where an RFC asks
 * for leniency: ADD-PATH with a Send/Receive value outside 1..3 is "treated as not understood and
 * ignored" (RFC 7911 4), and the FQDN capability (a draft) is never worth a reset: both then decode as
 * `unknown`, keeping their bytes. Reserved flag bits are ignored on receipt and sent as zero.
 */
import { BgpError, ErrorCode, OpenSubcode } from './errors.js'
import { readU16, readU32, writeU16, writeU24, writeU32 } from './cursor.js'

export const CapabilityCode = {
  Multiprotocol: 1,
  RouteRefresh: 2,
  ExtendedNextHop: 5,
  ExtendedMessage: 6,
  Role: 9,
  GracefulRestart: 64,
  As4: 65,
  AddPath: 69,
  EnhancedRouteRefresh: 70,
  LongLivedGracefulRestart: 71,
  Fqdn: 73,
  RouteRefreshCisco: 128,
} as const
export type CapabilityCode = (typeof CapabilityCode)[keyof typeof CapabilityCode]

/** BGP roles (RFC 9234 4.1). */
export const BgpRole = { Provider: 0, RouteServer: 1, RouteServerClient: 2, Customer: 3, Peer: 4 } as const
export type BgpRole = (typeof BgpRole)[keyof typeof BgpRole]

/** ADD-PATH Send/Receive field (RFC 7911 4). */
export const AddPathMode = { Receive: 1, Send: 2, Both: 3 } as const

export interface MultiprotocolCapability { readonly type: 'multiprotocol'; readonly afi: number; readonly safi: number }
/** `code` 2 is RFC 2918; 128 is the Cisco pre-standard code some peers still send alongside it. */
export interface RouteRefreshCapability { readonly type: 'route-refresh'; readonly code: 2 | 128 }
export interface EnhancedRouteRefreshCapability { readonly type: 'enhanced-route-refresh' }
export interface ExtendedMessageCapability { readonly type: 'extended-message' }
export interface As4Capability { readonly type: 'as4'; readonly asn: number }
export interface RoleCapability { readonly type: 'role'; readonly role: number }
export interface ExtendedNextHopCapability {
  readonly type: 'extended-next-hop'
  /** NLRI AFI/SAFI that may carry a next hop of `nextHopAfi` (RFC 8950 4: 2+2+2 bytes each). */
  readonly entries: readonly { readonly afi: number; readonly safi: number; readonly nextHopAfi: number }[]
}
export interface GracefulRestartCapability {
  readonly type: 'graceful-restart'
  /** R bit: the sender has restarted (RFC 4724 3). */
  readonly restarting: boolean
  /** N bit: graceful restart also covers NOTIFICATION (RFC 8538 2). */
  readonly notification: boolean
  /** Seconds, 12 bits. */
  readonly restartTime: number
  /** F bit per family: forwarding state was preserved. */
  readonly families: readonly { readonly afi: number; readonly safi: number; readonly forwarding: boolean }[]
}
export interface LongLivedGracefulRestartCapability {
  readonly type: 'long-lived-graceful-restart'
  /** RFC 9494 3: AFI (2), SAFI (1), flags (1, F bit 0x80), long-lived stale time (3, seconds). */
  readonly families: readonly { readonly afi: number; readonly safi: number; readonly forwarding: boolean; readonly staleTime: number }[]
}
export interface AddPathCapability {
  readonly type: 'add-path'
  readonly families: readonly { readonly afi: number; readonly safi: number; readonly send: boolean; readonly receive: boolean }[]
}
export interface FqdnCapability { readonly type: 'fqdn'; readonly hostname: string; readonly domain: string }
export interface UnknownCapability { readonly type: 'unknown'; readonly code: number; readonly value: Uint8Array }

export type Capability =
  | MultiprotocolCapability
  | RouteRefreshCapability
  | EnhancedRouteRefreshCapability
  | ExtendedMessageCapability
  | As4Capability
  | RoleCapability
  | ExtendedNextHopCapability
  | GracefulRestartCapability
  | LongLivedGracefulRestartCapability
  | AddPathCapability
  | FqdnCapability
  | UnknownCapability

const utf8 = new TextEncoder()
const utf8Strict = new TextDecoder('utf-8', { fatal: true })

function malformed(buf: Uint8Array, start: number, end: number, why: string): BgpError {
  return new BgpError('malformed-capability', ErrorCode.OpenMessage, OpenSubcode.Unspecific,
    buf.slice(start, end), 'session-reset', `capability ${buf[start]}: ${why}`)
}

/** Length of the value (without the 2-byte code/length) of a capability. */
function valueLength(c: Capability): number {
  switch (c.type) {
    case 'multiprotocol': return 4
    case 'route-refresh':
    case 'enhanced-route-refresh':
    case 'extended-message': return 0
    case 'as4': return 4
    case 'role': return 1
    case 'extended-next-hop': return 6 * c.entries.length
    case 'graceful-restart': return 2 + 4 * c.families.length
    case 'long-lived-graceful-restart': return 7 * c.families.length
    case 'add-path': return 4 * c.families.length
    case 'fqdn': return 2 + utf8.encode(c.hostname).length + utf8.encode(c.domain).length
    case 'unknown': return c.value.length
  }
}

function codeOf(c: Capability): number {
  switch (c.type) {
    case 'multiprotocol': return CapabilityCode.Multiprotocol
    case 'route-refresh': return c.code
    case 'enhanced-route-refresh': return CapabilityCode.EnhancedRouteRefresh
    case 'extended-message': return CapabilityCode.ExtendedMessage
    case 'as4': return CapabilityCode.As4
    case 'role': return CapabilityCode.Role
    case 'extended-next-hop': return CapabilityCode.ExtendedNextHop
    case 'graceful-restart': return CapabilityCode.GracefulRestart
    case 'long-lived-graceful-restart': return CapabilityCode.LongLivedGracefulRestart
    case 'add-path': return CapabilityCode.AddPath
    case 'fqdn': return CapabilityCode.Fqdn
    case 'unknown': return c.code
  }
}

/** Bytes the capability takes on the wire, code and length bytes included. */
export function capabilityEncodingLength(c: Capability): number {
  const n = valueLength(c)
  if (n > 255) throw new RangeError(`capability ${c.type}: value is ${n} bytes, at most 255 fit its length byte`)
  return 2 + n
}

/** Writes one capability TLV at `offset`; returns bytes written. Throws RangeError on values out of range. */
export function encodeCapability(c: Capability, buf: Uint8Array, offset: number): number {
  const len = capabilityEncodingLength(c)
  let p = offset
  buf[p++] = codeOf(c)
  buf[p++] = len - 2
  switch (c.type) {
    case 'multiprotocol':
      p = writeU16(buf, p, c.afi)
      buf[p++] = 0 // reserved
      buf[p++] = c.safi
      break
    case 'route-refresh':
    case 'enhanced-route-refresh':
    case 'extended-message':
      break
    case 'as4':
      p = writeU32(buf, p, c.asn)
      break
    case 'role':
      buf[p++] = c.role
      break
    case 'extended-next-hop':
      for (const e of c.entries) {
        p = writeU16(buf, p, e.afi)
        p = writeU16(buf, p, e.safi)
        p = writeU16(buf, p, e.nextHopAfi)
      }
      break
    case 'graceful-restart': {
      if (c.restartTime < 0 || c.restartTime > 0xfff) throw new RangeError(`graceful-restart restartTime ${c.restartTime}: must be 0..4095`)
      const flags = (c.restarting ? 0x8 : 0) | (c.notification ? 0x4 : 0)
      p = writeU16(buf, p, (flags << 12) | c.restartTime)
      for (const f of c.families) {
        p = writeU16(buf, p, f.afi)
        buf[p++] = f.safi
        buf[p++] = f.forwarding ? 0x80 : 0
      }
      break
    }
    case 'long-lived-graceful-restart':
      for (const f of c.families) {
        if (f.staleTime < 0 || f.staleTime > 0xffffff) throw new RangeError(`long-lived-graceful-restart staleTime ${f.staleTime}: must be 0..16777215`)
        p = writeU16(buf, p, f.afi)
        buf[p++] = f.safi
        buf[p++] = f.forwarding ? 0x80 : 0
        p = writeU24(buf, p, f.staleTime)
      }
      break
    case 'add-path':
      for (const f of c.families) {
        if (!f.send && !f.receive) throw new RangeError(`add-path ${f.afi}/${f.safi}: send or receive must be true`)
        p = writeU16(buf, p, f.afi)
        buf[p++] = f.safi
        buf[p++] = (f.receive ? AddPathMode.Receive : 0) | (f.send ? AddPathMode.Send : 0)
      }
      break
    case 'fqdn': {
      const h = utf8.encode(c.hostname)
      const d = utf8.encode(c.domain)
      buf[p++] = h.length
      buf.set(h, p)
      p += h.length
      buf[p++] = d.length
      buf.set(d, p)
      p += d.length
      break
    }
    case 'unknown':
      buf.set(c.value, p)
      p += c.value.length
      break
  }
  return p - offset
}

/**
 * Decodes the capability TLV at `offset` (within `end`); returns it and the offset past it.
 * Throws BgpError OPEN/Unspecific when the TLV runs past `end` or a known value is malformed.
 */
export function decodeCapabilityAt(buf: Uint8Array, offset: number, end: number): { capability: Capability; next: number } {
  if (end - offset < 2) throw malformed(buf, offset, end, 'truncated capability header')
  const code = buf[offset] as number
  const len = buf[offset + 1] as number
  const v = offset + 2
  const next = v + len
  if (next > end) throw malformed(buf, offset, end, `length ${len} runs past the optional parameter`)
  return { capability: decodeValue(buf, code, v, len, offset, next), next }
}

/** Decodes one capability occupying exactly `length` bytes at `offset` (the triplet form). */
export function decodeCapability(buf: Uint8Array, offset: number, length: number): Capability {
  const end = offset + length
  const { capability, next } = decodeCapabilityAt(buf, offset, end)
  if (next !== end) throw malformed(buf, offset, end, `${end - next} trailing byte(s)`)
  return capability
}

function unknown(buf: Uint8Array, code: number, v: number, len: number): UnknownCapability {
  return { type: 'unknown', code, value: buf.slice(v, v + len) }
}

function decodeValue(buf: Uint8Array, code: number, v: number, len: number, start: number, end: number): Capability {
  const fixed = (n: number): void => {
    if (len !== n) throw malformed(buf, start, end, `length ${len}, expected ${n}`)
  }
  switch (code) {
    case CapabilityCode.Multiprotocol:
      fixed(4)
      return { type: 'multiprotocol', afi: readU16(buf, v), safi: buf[v + 3] as number }
    case CapabilityCode.RouteRefresh:
    case CapabilityCode.RouteRefreshCisco:
      fixed(0)
      return { type: 'route-refresh', code }
    case CapabilityCode.EnhancedRouteRefresh:
      fixed(0)
      return { type: 'enhanced-route-refresh' }
    case CapabilityCode.ExtendedMessage:
      fixed(0)
      return { type: 'extended-message' }
    case CapabilityCode.As4:
      fixed(4)
      return { type: 'as4', asn: readU32(buf, v) }
    case CapabilityCode.Role:
      fixed(1)
      return { type: 'role', role: buf[v] as number }
    case CapabilityCode.ExtendedNextHop: {
      if (len % 6 !== 0) throw malformed(buf, start, end, `length ${len} is not a multiple of 6`)
      const entries = []
      for (let p = v; p < v + len; p += 6) {
        entries.push({ afi: readU16(buf, p), safi: readU16(buf, p + 2), nextHopAfi: readU16(buf, p + 4) })
      }
      return { type: 'extended-next-hop', entries }
    }
    case CapabilityCode.GracefulRestart: {
      if (len < 2 || (len - 2) % 4 !== 0) throw malformed(buf, start, end, `length ${len} is not 2 + 4n`)
      const word = readU16(buf, v)
      const families = []
      for (let p = v + 2; p < v + len; p += 4) {
        families.push({ afi: readU16(buf, p), safi: buf[p + 2] as number, forwarding: ((buf[p + 3] as number) & 0x80) !== 0 })
      }
      return {
        type: 'graceful-restart',
        restarting: (word & 0x8000) !== 0,
        notification: (word & 0x4000) !== 0,
        restartTime: word & 0xfff,
        families,
      }
    }
    case CapabilityCode.LongLivedGracefulRestart: {
      if (len % 7 !== 0) throw malformed(buf, start, end, `length ${len} is not a multiple of 7`)
      const families = []
      for (let p = v; p < v + len; p += 7) {
        families.push({
          afi: readU16(buf, p),
          safi: buf[p + 2] as number,
          forwarding: ((buf[p + 3] as number) & 0x80) !== 0,
          staleTime: ((buf[p + 4] as number) << 16) | ((buf[p + 5] as number) << 8) | (buf[p + 6] as number),
        })
      }
      return { type: 'long-lived-graceful-restart', families }
    }
    case CapabilityCode.AddPath: {
      if (len % 4 !== 0) throw malformed(buf, start, end, `length ${len} is not a multiple of 4`)
      const families = []
      for (let p = v; p < v + len; p += 4) {
        const mode = buf[p + 3] as number
        // RFC 7911 4: any other value: "treated as not understood and ignored".
        if (mode < 1 || mode > 3) return unknown(buf, code, v, len)
        families.push({ afi: readU16(buf, p), safi: buf[p + 2] as number, send: (mode & 2) !== 0, receive: (mode & 1) !== 0 })
      }
      return { type: 'add-path', families }
    }
    case CapabilityCode.Fqdn: {
      // Hostname length + bytes, domain length + bytes. A draft: when it does not parse exactly, or
      // is not UTF-8, keep it opaque rather than reset the session over a name.
      if (len < 2) return unknown(buf, code, v, len)
      const hl = buf[v] as number
      if (1 + hl + 1 > len) return unknown(buf, code, v, len)
      const dl = buf[v + 1 + hl] as number
      if (2 + hl + dl !== len) return unknown(buf, code, v, len)
      try {
        const hostname = utf8Strict.decode(buf.subarray(v + 1, v + 1 + hl))
        const domain = utf8Strict.decode(buf.subarray(v + 2 + hl, v + 2 + hl + dl))
        // Re-encoding must give the same bytes (a BOM would be stripped by the decoder).
        if (utf8.encode(hostname).length !== hl || utf8.encode(domain).length !== dl) return unknown(buf, code, v, len)
        return { type: 'fqdn', hostname, domain }
      } catch {
        return unknown(buf, code, v, len)
      }
    }
    default:
      return unknown(buf, code, v, len)
  }
}

/** A capability's stable name for logs and `gsictl show bgp neighbor`. */
export function capabilityName(c: Capability): string {
  return c.type === 'unknown' ? `unknown-${c.code}` : c.type
}

/** Names of BGP roles (RFC 9234), as FRR and BIRD print them. */
export function roleName(role: number): string {
  return ['provider', 'rs-server', 'rs-client', 'customer', 'peer'][role] ?? `role-${role}`
}
