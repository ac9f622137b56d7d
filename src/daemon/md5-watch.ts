/**
 * Why a TCP-MD5 (RFC 2385) control-node session does not come up, as far as the kernel tells.
 *
 * With a wrong or missing key nothing reaches BGP: the kernel drops every segment whose signature
 * does not verify (RFC 2385 section 2.0), the SYN included, so a connection attempt simply times out
 * and the peer's attempts toward us are never seen. The only trace is the namespace's TcpExt counters
 * in /proc/net/netstat: TCPMD5Failure (a signature that does not verify: the keys differ),
 * TCPMD5NotFound (a segment without a signature where we expect one: the peer has no key) and
 * TCPMD5Unexpected (a signature where we expect none: we have no key). They count for the whole
 * network namespace, not per peer, so the diagnosis is given to every MD5 control-node session that
 * is not Established while they grow, and says so.
 *
 * The watch reads them every few seconds while such a session exists, logs a warning when the kernel
 * starts (and stops) dropping, and keeps the text for gsictl (`show bgp neighbor`).
 */
import { readFile } from 'node:fs/promises'
import type { BgpLogger } from '../../bgp/session/logger.js'

export interface Md5Counters {
  readonly failure: number
  readonly notFound: number
  readonly unexpected: number
}

/** TCPMD5Failure / NotFound / Unexpected from /proc/net/netstat text; undefined when absent (a kernel
 * built without TCP_MD5SIG). */
export function parseMd5Counters(netstat: string): Md5Counters | undefined {
  const lines = netstat.split('\n')
  for (let i = 0; i + 1 < lines.length; i++) {
    const names = (lines[i] as string).trim().split(/\s+/)
    const values = (lines[i + 1] as string).trim().split(/\s+/)
    if (names[0] !== 'TcpExt:' || values[0] !== 'TcpExt:') continue
    const get = (n: string): number | undefined => {
      const k = names.indexOf(n)
      return k < 0 ? undefined : Number(values[k])
    }
    const failure = get('TCPMD5Failure')
    const notFound = get('TCPMD5NotFound')
    const unexpected = get('TCPMD5Unexpected')
    if (failure === undefined || notFound === undefined || unexpected === undefined) return undefined
    return { failure, notFound, unexpected }
  }
  return undefined
}

/** The words for what the counters grew by, or undefined when they did not. */
export function md5Diagnosis(d: Md5Counters, seconds: number): string | undefined {
  const parts: string[] = []
  if (d.failure > 0) parts.push(`${d.failure} with a TCP-MD5 signature that does not verify (TCPMD5Failure: the keys differ)`)
  if (d.notFound > 0) parts.push(`${d.notFound} without the expected signature (TCPMD5NotFound: the peer sends no key)`)
  if (d.unexpected > 0) parts.push(`${d.unexpected} signed where no key is set (TCPMD5Unexpected)`)
  if (parts.length === 0) return undefined
  return `the kernel dropped TCP segments in the last ${seconds} s: ${parts.join('; ')}; counted for the whole network namespace: check controlNodes.md5 against the control node's authentication key`
}

export interface Md5WatchOptions {
  /** The control-node sessions that use TCP-MD5 and are not Established (names). */
  readonly waiting: () => readonly string[]
  readonly log: BgpLogger
  readonly intervalMs?: number
  /** /proc/net/netstat of the daemon's namespace (tests give text). */
  readonly read?: () => Promise<string>
}

export class Md5Watch {
  private timer: NodeJS.Timeout | undefined
  private last: Md5Counters | undefined
  private text: string | undefined
  private readonly intervalMs: number
  private readonly read: () => Promise<string>

  constructor(private readonly o: Md5WatchOptions) {
    this.intervalMs = o.intervalMs ?? 5000
    this.read = o.read ?? (() => readFile('/proc/net/netstat', 'utf8'))
  }

  start(): void {
    if (this.timer !== undefined) return
    this.timer = setInterval(() => { void this.check() }, this.intervalMs)
    this.timer.unref()
    void this.check()
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }

  /** The current diagnosis for a waiting MD5 session, if the kernel is dropping. */
  diagnosis(peer: string): string | undefined {
    return this.text !== undefined && this.o.waiting().includes(peer) ? this.text : undefined
  }

  /** One reading: compares with the previous one (also called by tests). */
  async check(): Promise<void> {
    const waiting = this.o.waiting()
    if (waiting.length === 0) {
      // nothing to explain: no reading (and a fresh baseline when a session next waits)
      this.last = undefined
      this.set(undefined, waiting)
      return
    }
    let now: Md5Counters | undefined
    try {
      now = parseMd5Counters(await this.read())
    } catch {
      now = undefined // no /proc/net/netstat: nothing to tell
    }
    const prev = this.last
    this.last = now
    if (now === undefined || prev === undefined) {
      this.set(undefined, waiting)
      return
    }
    const delta = { failure: now.failure - prev.failure, notFound: now.notFound - prev.notFound, unexpected: now.unexpected - prev.unexpected }
    this.set(md5Diagnosis(delta, Math.round(this.intervalMs / 1000)), waiting, delta)
  }

  private set(text: string | undefined, waiting: readonly string[], delta?: Md5Counters): void {
    if (text !== undefined && this.text === undefined) this.o.log.warn({ peers: waiting, ...delta }, `control-node sessions not Established with TCP-MD5: ${text}`)
    else if (text === undefined && this.text !== undefined) this.o.log.info({}, 'the kernel no longer drops TCP-MD5 segments')
    this.text = text
  }
}
