/**
 * Connection collision resolution (RFC 4271 section 6.8, RFC 6286 section 2.3).
 *
 * When both speakers open a TCP connection at once, each ends up with two; both sides must close
 * the same one. The connection kept is the one *initiated* by the speaker with the higher BGP
 * Identifier (compared as unsigned 32-bit integers); with equal identifiers (legal between ASes
 * since RFC 6286), the one initiated by the speaker with the larger AS number.
 */

/** Which of the two connections to close: the one we initiated, or the one the peer initiated. */
export type CollisionLoser = 'outgoing' | 'incoming'

/**
 * `localId`/`remoteId`: BGP Identifiers as unsigned 32-bit numbers; `localAs`/`remoteAs`: the
 * speakers' (4-octet) AS numbers, used only to break a tie of identifiers.
 */
export function collisionLoser(localId: number, remoteId: number, localAs: number, remoteAs: number): CollisionLoser {
  const l = localId >>> 0
  const r = remoteId >>> 0
  if (l !== r) return l < r ? 'outgoing' : 'incoming'
  return localAs >>> 0 < remoteAs >>> 0 ? 'outgoing' : 'incoming'
}

/** States in which a connection's peer identifier is known and a collision must be examined. */
export function takesPartInCollision(state: string, detectInEstablished: boolean): boolean {
  return state === 'OpenConfirm' || (detectInEstablished && state === 'Established')
}
