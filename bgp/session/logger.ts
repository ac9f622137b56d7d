/**
 * The logger bgp/ writes to: the part of pino's interface that sessions and the speaker use, so a
 * pino logger (or a child of one) is passed in as it is and bgp/ imports no logging library. Every
 * call takes the structured fields first and the message second, as pino does; `child` binds fields
 * (the speaker makes one per peer: `{ peer: name }`).
 *
 * Logging is never the only record of an event: what is logged is also counted where statistics
 * are read (SessionStats, PeerStats), so the default logger may drop everything.
 *
 * `LogLimiter` keeps repeated events from flooding the log (a peer that sends a malformed UPDATE
 * per second): one line per key per interval, the next one saying how many were left out.
 */

export interface BgpLogger {
  debug(fields: object, message?: string): void
  info(fields: object, message?: string): void
  warn(fields: object, message?: string): void
  error(fields: object, message?: string): void
  child(bindings: Record<string, unknown>): BgpLogger
}

const ignore = (): void => {}

/** The default: writes nothing (the counters still count). */
export const silentLogger: BgpLogger = {
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
  child: () => silentLogger,
}

/** At most one log line per key per interval; the events in between are counted and reported. */
export class LogLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>()

  constructor(
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Whether an event of `key` may be logged now: the number of events of the key left out since
   * its last line (0 or more), or -1 when this one is to be left out too.
   */
  admit(key: string): number {
    const t = this.now()
    const e = this.last.get(key)
    if (e === undefined) {
      this.last.set(key, { at: t, suppressed: 0 })
      return 0
    }
    if (t - e.at < this.intervalMs) {
      e.suppressed++
      return -1
    }
    const n = e.suppressed
    e.at = t
    e.suppressed = 0
    return n
  }
}
