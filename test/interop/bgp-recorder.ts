/**
 * A minimal BGP speaker that records what a real daemon sends (RFC 4271, RFC 5492, RFC 4760,
 * RFC 6793, RFC 4724 End-of-RIB, RFC 4684 default route-target membership).
 *
 * Deliberately independent of our codec (bgp/codec): the fixtures it records are the evidence the
 * codec is judged by, so nothing here may share the codec's bugs. Everything is built and read by
 * hand, byte by byte: a fixed OPEN with the capabilities a CN2 gateway negotiates, KEEPALIVEs, and
 * (once the session is up) End-of-RIB for each shared family plus, where route-target constraint is
 * negotiated, the default route-target membership (RFC 4684 section 4), without which a daemon that
 * implements RTC filtering (GoBGP) sends us no VPN routes. The daemon's byte stream is kept exactly as
 * received, from its OPEN to its last message.
 */
import net from 'node:net'

export const AS_TRANS = 23456

export interface Family {
  afi: number
  safi: number
}

export const RECORDER_FAMILIES: readonly Family[] = [
  { afi: 1, safi: 1 }, // IPv4 unicast
  { afi: 2, safi: 1 }, // IPv6 unicast
  { afi: 1, safi: 128 }, // VPNv4 (RFC 4364)
  { afi: 2, safi: 128 }, // VPNv6 (RFC 4659)
  { afi: 1, safi: 132 }, // route-target constraint (RFC 4684)
]

export interface OpenParams {
  asn: number
  holdTime: number
  routerId: string
  families?: readonly Family[]
  /** Offer the 4-octet AS capability (RFC 6793); default true. Without it the daemon must send
   * 2-octet AS_PATHs, with AS4_PATH carrying what does not fit. */
  fourOctetAs?: boolean
  /** Families for which to offer ADD-PATH receive (RFC 7911). */
  addPathReceive?: readonly Family[]
}

function ipv4Bytes(addr: string): number[] {
  const parts = addr.split('.').map(Number)
  if (parts.length !== 4 || parts.some(p => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`bad IPv4 address ${addr}`)
  return parts
}

function header(type: number, body: number[]): Buffer {
  const len = 19 + body.length
  return Buffer.from([...new Array<number>(16).fill(0xff), len >> 8, len & 0xff, type, ...body])
}

/** OPEN with multiprotocol (one per family), route refresh (2) and 4-octet AS (65) capabilities. */
export function buildOpen(p: OpenParams): Buffer {
  const caps: number[] = []
  for (const f of p.families ?? RECORDER_FAMILIES) caps.push(1, 4, f.afi >> 8, f.afi & 0xff, 0, f.safi)
  caps.push(2, 0)
  if (p.fourOctetAs !== false) caps.push(65, 4, (p.asn >>> 24) & 0xff, (p.asn >>> 16) & 0xff, (p.asn >>> 8) & 0xff, p.asn & 0xff)
  if (p.addPathReceive?.length) {
    caps.push(69, 4 * p.addPathReceive.length)
    for (const f of p.addPathReceive) caps.push(f.afi >> 8, f.afi & 0xff, f.safi, 1)
  }
  const my = p.asn > 0xffff ? AS_TRANS : p.asn
  const params = [2, caps.length, ...caps]
  return header(1, [4, my >> 8, my & 0xff, p.holdTime >> 8, p.holdTime & 0xff, ...ipv4Bytes(p.routerId), params.length, ...params])
}

export const KEEPALIVE = header(4, [])

/** End-of-RIB (RFC 4724 section 2): empty UPDATE for IPv4 unicast, empty MP_UNREACH otherwise. */
export function buildEndOfRib(f: Family): Buffer {
  if (f.afi === 1 && f.safi === 1) return header(2, [0, 0, 0, 0])
  return header(2, [0, 0, 0, 6, 0x80, 15, 3, f.afi >> 8, f.afi & 0xff, f.safi])
}

/** The default route-target membership (prefix length 0: "send me every VPN route"), RFC 4684 4. */
export function buildRtcDefault(p: { asn: number; ebgp: boolean; nextHop: string; fourOctetAs?: boolean }): Buffer {
  const attrs: number[] = [0x40, 1, 1, 0] // ORIGIN IGP
  if (p.ebgp && p.fourOctetAs === false) attrs.push(0x40, 2, 4, 2, 1, (p.asn >>> 8) & 0xff, p.asn & 0xff)
  else if (p.ebgp) attrs.push(0x40, 2, 6, 2, 1, (p.asn >>> 24) & 0xff, (p.asn >>> 16) & 0xff, (p.asn >>> 8) & 0xff, p.asn & 0xff)
  else attrs.push(0x40, 2, 0, 0x40, 5, 4, 0, 0, 0, 100) // empty AS_PATH, LOCAL_PREF 100
  const mp = [0, 1, 132, 4, ...ipv4Bytes(p.nextHop), 0, 0]
  attrs.push(0x80, 14, mp.length, ...mp)
  return header(2, [0, 0, attrs.length >> 8, attrs.length & 0xff, ...attrs])
}

/** Splits complete messages off the front of a stream (marker and length only; no validation). */
export function splitMessages(stream: Buffer): { messages: Buffer[]; rest: Buffer } {
  const messages: Buffer[] = []
  let off = 0
  while (stream.length - off >= 19) {
    const len = stream.readUInt16BE(off + 16)
    if (len < 19) throw new Error(`recorder: bad length ${len} at offset ${off}`)
    if (stream.length - off < len) break
    messages.push(stream.subarray(off, off + len))
    off += len
  }
  return { messages, rest: stream.subarray(off) }
}

/** Families in an OPEN's multiprotocol capabilities (handles several capabilities per parameter). */
export function openFamilies(open: Buffer): Family[] {
  const out: Family[] = []
  const optLen = open[28] ?? 0
  let off = 29
  const end = 29 + optLen
  while (off + 2 <= end) {
    const type = open[off] as number
    const len = open[off + 1] as number
    if (type === 2) {
      let c = off + 2
      while (c + 2 <= off + 2 + len) {
        const code = open[c] as number
        const clen = open[c + 1] as number
        if (code === 1 && clen === 4) out.push({ afi: open.readUInt16BE(c + 2), safi: open[c + 5] as number })
        c += 2 + clen
      }
    }
    off += 2 + len
  }
  return out
}

/** The family an UPDATE is End-of-RIB for, or undefined. */
export function endOfRibFamily(msg: Buffer): Family | undefined {
  if (msg[18] !== 2) return undefined
  if (msg.length === 23) return { afi: 1, safi: 1 }
  const wl = msg.readUInt16BE(19)
  if (wl !== 0) return undefined
  const al = msg.readUInt16BE(21)
  if (23 + al !== msg.length) return undefined
  const flags = msg[23] as number
  const code = msg[24] as number
  const ext = (flags & 0x10) !== 0
  const vlen = ext ? msg.readUInt16BE(25) : (msg[25] as number)
  if (code === 15 && vlen === 3 && 23 + (ext ? 4 : 3) + 3 === msg.length) {
    const v = 23 + (ext ? 4 : 3)
    return { afi: msg.readUInt16BE(v), safi: msg[v + 2] as number }
  }
  return undefined
}

export type Endpoint =
  | { mode: 'connect'; host: string; port: number; localAddress: string }
  | { mode: 'listen'; host: string; port: number }

export interface RecordOptions {
  endpoint: Endpoint
  open: OpenParams
  ebgp: boolean
  /** Give up on the daemon's OPEN after this long (connect retries included). */
  openTimeoutMs: number
  /** Stop this long after the last message when End-of-RIB has not come for every family. */
  quietMs: number
  /** Hard cap on the whole recording. */
  maxMs: number
  /** Called once recording is done, to make the daemon close the session itself (e.g. with an
   * RFC 9003 shutdown communication); the recorder then waits for its NOTIFICATION. */
  daemonShutdown?: () => Promise<void>
}

export interface Recording {
  /** Everything the daemon sent, in order, exactly as received. */
  bytes: Buffer
  /** Families in the daemon's OPEN. */
  daemonFamilies: Family[]
  /** Families for which the daemon sent End-of-RIB. */
  endOfRib: Family[]
  /** Message types in order (1 OPEN, 2 UPDATE, 3 NOTIFICATION, 4 KEEPALIVE, 5 ROUTE-REFRESH). */
  types: number[]
}

function getSocket(ep: Endpoint, timeoutMs: number): Promise<net.Socket> {
  const deadline = Date.now() + timeoutMs
  if (ep.mode === 'listen') {
    return new Promise((resolve, reject) => {
      const server = net.createServer()
      const timer = setTimeout(() => {
        server.close()
        reject(new Error(`recorder: no connection on ${ep.host}:${ep.port} within ${timeoutMs} ms`))
      }, timeoutMs)
      server.once('connection', sock => {
        clearTimeout(timer)
        server.close()
        resolve(sock)
      })
      server.once('error', err => {
        clearTimeout(timer)
        reject(err)
      })
      server.listen(ep.port, ep.host)
    })
  }
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const sock = net.connect({ host: ep.host, port: ep.port, localAddress: ep.localAddress })
      sock.once('connect', () => {
        sock.removeAllListeners('error')
        resolve(sock)
      })
      sock.once('error', err => {
        sock.destroy()
        if (Date.now() > deadline) reject(new Error(`recorder: cannot connect to ${ep.host}:${ep.port}: ${err.message}`))
        else setTimeout(attempt, 200)
      })
    }
    attempt()
  })
}

/** Peers with the daemon, answers its OPEN and KEEPALIVEs, and records its stream. */
export async function recordSession(o: RecordOptions): Promise<Recording> {
  const started = Date.now()
  const sock = await getSocket(o.endpoint, o.openTimeoutMs)
  sock.setNoDelay(true)
  const chunks: Buffer[] = []
  let pending: Buffer = Buffer.alloc(0)
  const types: number[] = []
  let daemonFamilies: Family[] = []
  const eor: Family[] = []
  let established = false
  let closed = false
  let lastMessageAt = Date.now()

  return await new Promise<Recording>((resolve, reject) => {
    let finishing = false
    const timers: NodeJS.Timeout[] = []
    const done = (err?: Error): void => {
      for (const t of timers) clearTimeout(t)
      clearInterval(poll)
      sock.destroy()
      if (err) reject(err)
      else resolve({ bytes: Buffer.concat(chunks), daemonFamilies, endOfRib: eor, types })
    }
    const shared = (): Family[] => daemonFamilies.filter(f => (o.open.families ?? RECORDER_FAMILIES).some(m => m.afi === f.afi && m.safi === f.safi))
    const finish = (): void => {
      if (finishing) return
      finishing = true
      if (o.daemonShutdown && !closed) {
        // wait for the daemon's NOTIFICATION and close, at most 4 s
        timers.push(setTimeout(() => done(), 4000))
        o.daemonShutdown().catch(err => done(err as Error))
      } else {
        timers.push(setTimeout(() => done(), 200))
      }
    }
    const poll = setInterval(() => {
      const now = Date.now()
      if (!established && now - started > o.openTimeoutMs) return done(new Error('recorder: session did not reach Established'))
      if (established && !finishing) {
        const want = shared()
        const allEor = want.length > 0 && want.every(f => eor.some(e => e.afi === f.afi && e.safi === f.safi))
        if (allEor && now - lastMessageAt > 300) finish()
        else if (now - lastMessageAt > o.quietMs) finish()
      }
      if (now - started > o.maxMs) done()
    }, 50)

    sock.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      lastMessageAt = Date.now()
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk
      let split
      try {
        split = splitMessages(pending)
      } catch (err) {
        return done(err as Error)
      }
      pending = Buffer.from(split.rest)
      for (const m of split.messages) {
        const type = m[18] as number
        types.push(type)
        if (type === 1) {
          daemonFamilies = openFamilies(m)
          sock.write(KEEPALIVE)
        } else if (type === 4) {
          if (!established) {
            established = true
            const out: Buffer[] = []
            if (shared().some(f => f.afi === 1 && f.safi === 132)) {
              out.push(buildRtcDefault({ asn: o.open.asn, ebgp: o.ebgp, nextHop: o.open.routerId, fourOctetAs: o.open.fourOctetAs !== false }))
            }
            for (const f of shared()) out.push(buildEndOfRib(f))
            sock.write(Buffer.concat(out))
          }
          sock.write(KEEPALIVE)
        } else if (type === 2) {
          const f = endOfRibFamily(m)
          if (f) eor.push(f)
        } else if (type === 3) {
          closed = true
          if (!finishing) {
            finishing = true
            timers.push(setTimeout(() => done(), 100))
          }
        }
      }
    })
    sock.on('close', () => {
      closed = true
      if (finishing || established) done()
      else done(new Error('recorder: daemon closed the connection before Established'))
    })
    sock.on('error', () => {
      // 'close' follows
    })
    sock.write(buildOpen(o.open))
  })
}
