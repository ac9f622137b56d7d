/**
 * What each local-API method does: validate the params (errors name the field and the reason), ask
 * the DaemonView, shape the result. Transport-free, so the server (server.ts) and tests share it.
 *
 * Results are built from cheap view calls only: the summary is one pass over the peers' counters, a
 * route listing is one page (at most MAX_ROUTE_PAGE routes) of what the view returns.
 */
import net from 'node:net'
import { Family, familyName } from '../../bgp/codec/afi.js'
import { parseRd } from '../../bgp/codec/nlri.js'
import { parseAddress } from '../fib/prefix.js'
import { ApiError, ErrorCode, METHODS, type Method } from './protocol.js'
import { daemonReport } from './report.js'
import {
  DEFAULT_ROUTE_PAGE,
  LOG_LEVELS,
  MAX_ROUTE_PAGE,
  type DaemonStatus,
  type DaemonView,
  type FibQuery,
  type GatewayStatus,
  type PeerSide,
  type PeerView,
  type RouteQuery,
} from './view.js'

/** Family names the API takes (familyName()'s canonical forms). */
export const FAMILY_NAMES: readonly string[] = Object.values(Family).map(familyName)

/** One line of `show bgp summary`. */
export interface PeerSummary {
  readonly name: string
  readonly address: string
  readonly asn: number
  readonly side: PeerSide
  readonly enabled: boolean
  readonly state: string
  /** ms since the epoch of the last state change. */
  readonly stateSince: number
  readonly flaps: number
  /** Every message received / sent (FRR's MsgRcvd / MsgSent). */
  readonly messagesReceived: number
  readonly messagesSent: number
  readonly prefixes: readonly { readonly family: string; readonly received: number; readonly accepted: number; readonly advertised: number }[]
  /** The stop reason of the last session end, if any. */
  readonly lastError?: string
}

export interface BgpSummary {
  readonly status: DaemonStatus
  readonly peers: readonly PeerSummary[]
  readonly gateway: GatewayStatus
}

const sum = (c: Readonly<Record<string, number>>): number => Object.values(c).reduce((a, b) => a + b, 0)

export function peerSummary(p: PeerView): PeerSummary {
  const s = p.session
  return {
    name: p.name,
    address: p.address,
    asn: p.asn,
    side: p.side,
    enabled: p.enabled,
    state: s.state,
    stateSince: s.stateSince,
    flaps: s.flaps,
    messagesReceived: sum(s.messagesIn),
    messagesSent: sum(s.messagesOut),
    prefixes: p.families.map(f => ({ family: f.family, received: f.received, accepted: f.accepted, advertised: f.advertised })),
    ...(s.lastError !== undefined ? { lastError: s.lastError.reason } : {}),
  }
}

/** The peer named by address (any spelling: '::ffff:10.0.0.1' is 10.0.0.1) or by configured name. */
export function findPeer(view: DaemonView, key: string, field: string): PeerView {
  const peers = view.peers()
  const want = normalize(key)
  const p = peers.find(x => normalize(x.address) === want) ?? peers.find(x => x.name === key)
  if (p === undefined) {
    const known = peers.map(x => x.address).join(', ') || 'none'
    throw new ApiError(ErrorCode.NotFound, `${field}: no neighbor ${JSON.stringify(key)} (configured: ${known})`)
  }
  return p
}

function normalize(address: string): string {
  const a = address.trim().toLowerCase()
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a)
  if (m) return m[1] as string
  if (!net.isIPv6(a)) return a
  try {
    return parseAddress(a, 'address').text
  } catch {
    return a // a zone index ('fe80::1%eth0'): compared as written
  }
}

type Params = Readonly<Record<string, unknown>>

function optString(p: Params, name: string): string | undefined {
  const v = p[name]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string' || v === '') throw new ApiError(ErrorCode.InvalidParams, `params.${name}: must be a non-empty string`)
  return v
}

function needString(p: Params, name: string): string {
  const v = optString(p, name)
  if (v === undefined) throw new ApiError(ErrorCode.InvalidParams, `params.${name}: required`)
  return v
}

function checkPrefix(text: string): void {
  const slash = text.indexOf('/')
  const addr = slash < 0 ? text : text.slice(0, slash)
  const v = net.isIP(addr)
  if (v === 0) throw new ApiError(ErrorCode.InvalidParams, `params.prefix: ${JSON.stringify(text)}: ${JSON.stringify(addr)} is not an IP address`)
  if (slash >= 0) {
    const len = text.slice(slash + 1)
    const max = v === 4 ? 32 : 128
    if (!/^\d{1,3}$/.test(len) || Number(len) > max) throw new ApiError(ErrorCode.InvalidParams, `params.prefix: ${JSON.stringify(text)}: length must be 0..${max}`)
  }
}

function routeQuery(view: DaemonView, p: Params): RouteQuery {
  const family = optString(p, 'family')
  if (family !== undefined && !FAMILY_NAMES.includes(family)) {
    throw new ApiError(ErrorCode.InvalidParams, `params.family: ${JSON.stringify(family)} is not one of ${FAMILY_NAMES.join(', ')}`)
  }
  const prefix = optString(p, 'prefix')
  if (prefix !== undefined) checkPrefix(prefix)
  const rd = optString(p, 'rd')
  if (rd !== undefined) {
    try {
      parseRd(rd)
    } catch (e) {
      throw new ApiError(ErrorCode.InvalidParams, `params.rd: ${(e as Error).message}`)
    }
    if (family !== undefined && !family.startsWith('l3vpn-')) throw new ApiError(ErrorCode.InvalidParams, `params.rd: only VPN families have route distinguishers, not ${family}`)
  }
  const which = optString(p, 'view') ?? 'best'
  if (which !== 'best' && which !== 'received' && which !== 'advertised') {
    throw new ApiError(ErrorCode.InvalidParams, `params.view: ${JSON.stringify(which)} is not one of best, received, advertised`)
  }
  let peer = optString(p, 'peer')
  if (which !== 'best' && peer === undefined) throw new ApiError(ErrorCode.InvalidParams, `params.peer: required with view ${which}`)
  if (peer !== undefined) peer = findPeer(view, peer, 'params.peer').address
  const limit = p.limit ?? DEFAULT_ROUTE_PAGE
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_ROUTE_PAGE) {
    throw new ApiError(ErrorCode.InvalidParams, `params.limit: must be an integer 1..${MAX_ROUTE_PAGE}`)
  }
  const after = optString(p, 'after')
  return {
    view: which,
    limit,
    ...(family !== undefined ? { family } : {}),
    ...(prefix !== undefined ? { prefix } : {}),
    ...(rd !== undefined ? { rd } : {}),
    ...(peer !== undefined ? { peer } : {}),
    ...(after !== undefined ? { after } : {}),
  }
}

function fibQuery(p: Params): FibQuery {
  const table = p.table
  if (table !== undefined && (typeof table !== 'number' || !Number.isInteger(table) || table < 1 || table > 0xffffffff)) {
    throw new ApiError(ErrorCode.InvalidParams, 'params.table: must be a kernel table id 1..4294967295')
  }
  const prefix = optString(p, 'prefix')
  if (prefix !== undefined) checkPrefix(prefix)
  const limit = p.limit ?? DEFAULT_ROUTE_PAGE
  // 0: the state and the counts without a listing (what /metrics reads)
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0 || limit > MAX_ROUTE_PAGE) {
    throw new ApiError(ErrorCode.InvalidParams, `params.limit: must be an integer 0..${MAX_ROUTE_PAGE} (0: state and counts only)`)
  }
  const after = optString(p, 'after')
  return {
    limit,
    ...(table !== undefined ? { table } : {}),
    ...(prefix !== undefined ? { prefix } : {}),
    ...(after !== undefined ? { after } : {}),
  }
}

/** Runs one method against the view. Throws ApiError for the client's mistakes. */
export async function handle(view: DaemonView, method: string, params: Params = {}): Promise<unknown> {
  if (!(METHODS as readonly string[]).includes(method)) {
    throw new ApiError(ErrorCode.UnknownMethod, `method ${JSON.stringify(method)}: not one of ${METHODS.join(', ')}`)
  }
  switch (method as Method) {
    case 'status':
      return view.status()
    case 'show.bgp.summary': {
      const summary: BgpSummary = { status: view.status(), peers: view.peers().map(peerSummary), gateway: view.gateway() }
      return summary
    }
    case 'show.bgp.neighbor': {
      const address = optString(params, 'address')
      return address === undefined ? view.peers() : [findPeer(view, address, 'params.address')]
    }
    case 'show.bgp.route':
      return view.routes(routeQuery(view, params))
    case 'show.tunnels':
      return view.tunnels()
    case 'show.fib':
      return view.fib(fibQuery(params))
    case 'show.config':
      return view.config()
    case 'show.gateway':
      return view.gateway()
    case 'show.report':
      return daemonReport(view)
    case 'clear.bgp.neighbor': {
      const p = findPeer(view, needString(params, 'address'), 'params.address')
      const soft = params.soft ?? false
      if (typeof soft !== 'boolean') throw new ApiError(ErrorCode.InvalidParams, 'params.soft: must be true or false')
      return await view.clearNeighbor(p.address, soft)
    }
    case 'set.log-level': {
      const level = needString(params, 'level')
      if (!(LOG_LEVELS as readonly string[]).includes(level)) {
        throw new ApiError(ErrorCode.InvalidParams, `params.level: ${JSON.stringify(level)} is not one of ${LOG_LEVELS.join(', ')}`)
      }
      const previous = view.setLogLevel(level)
      return { level, previous }
    }
    case 'shutdown': {
      if (view.shutdown === undefined) throw new ApiError(ErrorCode.InvalidParams, 'shutdown: this daemon cannot be shut down through the API')
      return await view.shutdown()
    }
  }
}
