/**
 * DaemonView.routes() over the RIB (bgp/rib RibApi), for the runtime to use as is: the Loc-RIB
 * ('best': the best path and the rest of its multipath set, per destination) or a peer's Adj-RIB-In
 * ('received': as received, with the post-policy attributes when accepted, marked rejected when not),
 * filtered by family, prefix (exact) or address (every prefix containing it), and RD, in pages.
 *
 * Cost: a page walks its family's table once (forEachBest or the peer's path list: a few ms per
 * million destinations, no object per skipped route) and builds objects only for the routes it
 * returns; the cursor is the family and the number of matching paths already returned, so a page
 * never holds more than `limit` routes whatever the table's size. The 'advertised' view needs the
 * speaker's Adj-RIB-Out, which the RIB does not hold: the runtime answers it.
 */
import { familyName, type FamilyKey } from '../../bgp/codec/afi.js'
import { parseRd, rdToString } from '../../bgp/codec/nlri.js'
import { LOCAL_PEER, type PeerId, type RibApi, type RouteEntry, type RouteInfo } from '../../bgp/rib/api.js'
import { parseAddress, parsePrefix, prefixContains, type Prefix } from '../fib/prefix.js'
import { ApiError, ErrorCode } from './protocol.js'
import { DEFAULT_ROUTE_PAGE, routeView, type FamilyCount, type RoutePage, type RouteQuery, type RouteView } from './view.js'

export interface RibRouteSource {
  readonly rib: Pick<RibApi, 'table' | 'families' | 'adjRibIn' | 'counts'>
  /** Configured peers: RIB id, name and address (BgpSpeaker.peerNames() / peerId() / peerStats()). */
  peers(): readonly { readonly id: PeerId; readonly name: string; readonly address: string }[]
}

/** What a query's prefix asks for: one prefix exactly, or every prefix containing an address. */
interface PrefixMatch {
  readonly prefix: Prefix
  readonly exact: boolean
}

function prefixMatch(text: string): PrefixMatch {
  if (text.includes('/')) return { prefix: parsePrefix(text, 'params.prefix', false), exact: true }
  const a = parseAddress(text, 'params.prefix')
  return { prefix: { family: a.family, bytes: a.bytes, length: a.family === 4 ? 32 : 128, text: a.text }, exact: false }
}

function matches(m: PrefixMatch | undefined, info: RouteInfo): boolean {
  if (m === undefined) return true
  const len = info.address.length
  if ((m.prefix.family === 4) !== (len === 4)) return false
  const route: Prefix = { family: len === 4 ? 4 : 6, bytes: info.address, length: info.length, text: '' }
  if (m.exact) return route.length === m.prefix.length && prefixContains(route, m.prefix)
  return prefixContains(route, m.prefix)
}

function parseCursor(after: string | undefined, families: readonly FamilyKey[]): { family: number; skip: number } {
  if (after === undefined) return { family: 0, skip: 0 }
  const m = /^(\d+):(\d+)$/.exec(after)
  const family = m ? families.indexOf(Number(m[1])) : -1
  if (!m || family < 0) throw new ApiError(ErrorCode.InvalidParams, `params.after: ${JSON.stringify(after)} is not a cursor this listing returned`)
  return { family, skip: Number(m[2]) }
}

export function ribRoutes(src: RibRouteSource, q: RouteQuery): RoutePage {
  const which = q.view ?? 'best'
  if (which === 'advertised') throw new ApiError('unsupported', 'params.view: advertised routes come from the Adj-RIB-Out, not the RIB')
  const peers = src.peers()
  const names = new Map<PeerId, string>(peers.map(p => [p.id, p.name]))
  names.set(LOCAL_PEER, 'local')
  let peerId: PeerId | undefined
  if (which === 'received') {
    peerId = peers.find(p => p.address === q.peer || p.name === q.peer)?.id
    if (peerId === undefined) throw new ApiError(ErrorCode.NotFound, `params.peer: no neighbor ${JSON.stringify(q.peer ?? '')}`)
  }
  const all = src.rib.families().slice().sort((a, b) => a - b)
  const families = q.family !== undefined ? all.filter(f => familyName(f) === q.family) : all
  const match = q.prefix !== undefined ? prefixMatch(q.prefix) : undefined
  const rdPrefix = q.rd !== undefined ? `${rdToString(parseRd(q.rd))}:` : undefined
  const limit = q.limit ?? DEFAULT_ROUTE_PAGE
  const cursor = parseCursor(q.after, families)

  const routes: RouteView[] = []
  const counts: FamilyCount[] = []
  let next: string | undefined
  for (let fi = 0; fi < families.length; fi++) {
    const family = families[fi] as FamilyKey
    const name = familyName(family)
    const table = src.rib.table(family)
    counts.push(peerId !== undefined
      ? { family: name, destinations: src.rib.counts(peerId, family).received, paths: src.rib.counts(peerId, family).received }
      : { family: name, destinations: table.size, paths: [LOCAL_PEER, ...peers.map(p => p.id)].reduce((n, id) => n + src.rib.counts(id, family).accepted, 0) })
    if (fi < cursor.family || next !== undefined) continue
    let seen = 0
    const skip = fi === cursor.family ? cursor.skip : 0
    /** Counts a matching path; true when it belongs on this page. */
    const take = (): boolean => {
      seen++
      if (seen <= skip) return false
      if (routes.length >= limit) {
        next ??= `${family}:${seen - 1}`
        return false
      }
      return true
    }
    const wanted = (info: RouteInfo): boolean => (rdPrefix === undefined || info.prefix.startsWith(rdPrefix)) && matches(match, info)
    if (peerId === undefined) {
      table.forEachBest(dest => {
        if (next !== undefined) return
        const info = table.route(dest)
        if (!wanted(info)) return
        const set: RouteEntry[] = table.multipath(dest)
        set.forEach((e, i) => {
          if (take()) routes.push(routeView(name, info.prefix, e, { best: i === 0, multipath: set.length > 1, peerName: names.get(e.peer) ?? String(e.peer) }))
        })
      })
    } else {
      const peerName = names.get(peerId) ?? String(peerId)
      const address = peers.find(p => p.id === peerId)?.address ?? ''
      src.rib.adjRibIn(peerId, family, (info, received, accepted, stale) => {
        if (next !== undefined || !wanted(info) || !take()) return
        const entry: RouteEntry = {
          peer: peerId as PeerId, peerAddress: address, pathId: info.pathId, attrId: -1, nextHop: (accepted ?? received).nextHop,
          attrs: (accepted ?? received).attrs, stale, ...(info.label !== undefined ? { label: info.label } : {}),
        }
        const best = table.bestPeer(table.lookup(info.prefix)) === peerId
        routes.push(routeView(name, info.prefix, entry, { best, multipath: false, peerName, ...(accepted === undefined ? { rejected: true } : {}) }))
      })
    }
  }
  return { families: counts, routes, ...(next !== undefined ? { next } : {}) }
}
