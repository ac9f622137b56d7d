/**
 * IPv4 unicast UPDATEs for graceful-restart tests: one UPDATE per prefix, built with the codec from
 * what the session negotiated (AS_PATH of our AS on eBGP, NEXT_HOP as given).
 */
import { Family } from '../../bgp/codec/afi.js'
import { encodeMessage } from '../../bgp/codec/message.js'
import type { UpdateMessage } from '../../bgp/codec/update.js'
import type { Session } from '../../bgp/session/index.js'

export function ipv4(text: string): number {
  const p = text.split('.').map(Number)
  return (((p[0] ?? 0) << 24) | ((p[1] ?? 0) << 16) | ((p[2] ?? 0) << 8) | (p[3] ?? 0)) >>> 0
}

/** Sends one UPDATE per prefix ('10.1.0.0/16'); false when the session is not Established. */
export function sendRoutes(session: Session, routes: readonly string[], nextHop: string): boolean {
  const n = session.negotiated
  if (n === undefined) return false
  for (const r of routes) {
    const [addr, len] = r.split('/')
    const a = ipv4(addr ?? '')
    const update: UpdateMessage = {
      type: 'update',
      withdrawn: [],
      attributes: {
        origin: 0,
        asPath: n.ebgp ? [{ type: 2, asns: [n.localAs] }] : [],
        nextHop: ipv4(nextHop),
        ...(n.ebgp ? {} : { localPref: 100 }),
      },
      nlri: [{ family: Family.Ipv4Unicast, prefix: Uint8Array.of(a >>> 24, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff), length: Number(len) }],
    }
    if (!session.sendUpdate(encodeMessage(update, n.context))) return false
  }
  return true
}
