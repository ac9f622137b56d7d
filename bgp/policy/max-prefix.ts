/**
 * Maximum prefixes per peer and family (the `maximum-prefix` of FRR/Junos; RFC 4271 8.1.2 leaves it
 * to configuration, RFC 4486 gives the Cease subcode). Pure: the speaker counts accepted (or received)
 * prefixes, calls `check(count)` after each change, and acts on the answer:
 * - `warning`: log once; reported when the count crosses `warningThresholdPercent` of the limit
 *   upward (again only after it fell back below the threshold);
 * - `exceeded`: the count went above the limit. Unless `warningOnly`, the speaker sends a
 *   NOTIFICATION Cease / Maximum Number of Prefixes Reached (RFC 4486 subcode 1) with the data
 *   `maxPrefixNotificationData` builds (AFI, SAFI, limit, RFC 4486 4), closes the session, and may
 *   reconnect after `restartTime` seconds (absent: stay down until an operator resets it). With
 *   `warningOnly` it is reported once per crossing, like the warning;
 * - `ok`: nothing new to report.
 * Exceeding means count > limit (the limit itself is allowed), as FRR and Junos do.
 */
import { familyAfi, familySafi, type FamilyKey } from '../codec/afi.js'
import { CeaseSubcode, ErrorCode } from '../codec/errors.js'
import type { NotificationMessage } from '../codec/notification.js'
import { PolicyError } from './errors.js'

export interface MaxPrefixOptions {
  readonly limit: number
  /** Only report; never tear the session down. */
  readonly warningOnly?: boolean
  /** Warn at this share of the limit (1..100, default 75). */
  readonly warningThresholdPercent?: number
  /** Seconds before reconnecting after a tear-down; absent: stay down. */
  readonly restartTime?: number
}

export type MaxPrefixResult = 'ok' | 'warning' | 'exceeded'

export class MaxPrefix {
  readonly limit: number
  readonly warningOnly: boolean
  readonly warningThresholdPercent: number
  readonly restartTime: number | undefined
  /** The count at which `warning` is reported: ceil(limit * percent / 100). */
  readonly warningAt: number
  private level: 0 | 1 | 2 = 0

  /** `where` names the configuration path in errors (e.g. `peers[0].maxPrefix`). */
  constructor(options: MaxPrefixOptions, where = 'maxPrefix') {
    const int = (v: unknown, name: string, min: number, max: number): number => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
        throw new PolicyError(`${where}.${name}`, `expected an integer ${min}..${max}, got ${JSON.stringify(v)}`)
      }
      return v
    }
    this.limit = int(options.limit, 'limit', 1, 0xffffffff)
    this.warningOnly = options.warningOnly === true
    this.warningThresholdPercent = options.warningThresholdPercent === undefined ? 75 : int(options.warningThresholdPercent, 'warningThresholdPercent', 1, 100)
    this.restartTime = options.restartTime === undefined ? undefined : int(options.restartTime, 'restartTime', 1, 0xffffffff)
    this.warningAt = Math.ceil((this.limit * this.warningThresholdPercent) / 100)
  }

  /** Should the speaker close the session when `check` says `exceeded`? */
  get tearDown(): boolean {
    return !this.warningOnly
  }

  /** Where the count stands now: below the threshold, at or above it, or above the limit. */
  get state(): 'below' | 'warning' | 'exceeded' {
    return this.level === 0 ? 'below' : this.level === 1 ? 'warning' : 'exceeded'
  }

  /** Reports what is new about `count` (see the module doc). */
  check(count: number): MaxPrefixResult {
    const level = count > this.limit ? 2 : count >= this.warningAt ? 1 : 0
    const before = this.level
    this.level = level
    if (level <= before) return 'ok'
    return level === 2 ? 'exceeded' : 'warning'
  }

  /** Forget the history (the session went down and starts from zero). */
  reset(): void {
    this.level = 0
  }
}

/** RFC 4486 4: the Cease subcode 1 data, AFI (2 octets), SAFI (1), upper bound (4). */
export function maxPrefixNotificationData(family: FamilyKey, limit: number): Uint8Array {
  const b = new Uint8Array(7)
  const afi = familyAfi(family)
  b[0] = afi >>> 8
  b[1] = afi & 0xff
  b[2] = familySafi(family)
  b[3] = limit >>> 24
  b[4] = (limit >>> 16) & 0xff
  b[5] = (limit >>> 8) & 0xff
  b[6] = limit & 0xff
  return b
}

/** The whole NOTIFICATION (Cease, Maximum Number of Prefixes Reached). */
export function maxPrefixNotification(family: FamilyKey, limit: number): NotificationMessage {
  return { type: 'notification', code: ErrorCode.Cease, subcode: CeaseSubcode.MaximumPrefixesReached, data: maxPrefixNotificationData(family, limit) }
}
