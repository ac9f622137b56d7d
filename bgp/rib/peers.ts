/**
 * The RIB's view of its peers: what best path compares (RFC 4271 9.1.2.2: eBGP or iBGP, BGP
 * identifier, peer address) in typed arrays indexed by PeerId, next to the RibPeer objects.
 */
import type { PeerId, RibPeer } from './api.js'
import { grown } from './grow.js'
import { tryParseAddress } from '../../src/lib/address.js'

export class PeerInfoTable {
  readonly peers: (RibPeer | undefined)[] = []
  ebgp = new Uint8Array(64)
  routerId = new Uint32Array(64)
  asn = new Uint32Array(64)
  /** Peer address as a fixed-width sortable string (IPv4 before IPv6, numeric order). */
  addressKey: string[] = []

  add(peer: RibPeer): PeerId {
    const id = this.peers.length
    this.peers.push(peer)
    this.addressKey.push('')
    if (id >= this.ebgp.length) {
      const n = this.ebgp.length * 2
      this.ebgp = grown(this.ebgp, n)
      this.routerId = grown(this.routerId, n)
      this.asn = grown(this.asn, n)
    }
    this.set(id, peer)
    return id
  }

  set(id: PeerId, peer: RibPeer): void {
    this.peers[id] = peer
    this.ebgp[id] = peer.ebgp ? 1 : 0
    this.routerId[id] = peer.routerId >>> 0
    this.asn[id] = peer.asn >>> 0
    this.addressKey[id] = sortableAddress(peer.address)
  }

  get(id: PeerId): RibPeer {
    const p = this.peers[id]
    if (p === undefined) throw new RangeError(`peer ${id} does not exist in the RIB`)
    return p
  }

  exists(id: PeerId): boolean {
    return this.peers[id] !== undefined
  }

  remove(id: PeerId): void {
    // Ids are not reused: an event or an Adj-RIB-Out entry naming an old id must not find a new peer.
    this.peers[id] = undefined
  }
}

/** 'v4:' + 8 hex digits, or 'v6:' + 32: compares in address order; '' sorts first (local). */
function sortableAddress(address: string): string {
  if (address === '') return ''
  const a = tryParseAddress(address)
  if (a !== undefined) return `v${a.family}:` + Buffer.from(a.bytes).toString('hex')
  return 'x:' + address
}
