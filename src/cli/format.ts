/**
 * gsictl's text output, in the shapes a vtysh or Junos user already reads: `show bgp summary` as
 * FRR prints it (Neighbor, V, AS, MsgRcvd, MsgSent, Up/Down, State/PfxRcd, per address family),
 * `show bgp neighbor` as FRR's detail, `show bgp route` as Junos `show route` (destination line, then
 * one line per path with +/* markers, AS path ending in the origin letter, the next hop after ">"),
 * tunnels, FIB and gateway as aligned tables, the config as YAML. Pure functions of the API's
 * results and the current time; --json bypasses all of this.
 */
import { stringify as toYaml } from 'yaml'
import type { BgpSummary, PeerSummary } from '../api/handlers.js'
import type { ClearResult, DaemonStatus, FibRouteView, FibView, GatewayStatus, PeerView, RoutePage, RouteView, TunnelsView } from '../api/view.js'

/** Columns padded to their widest cell; `right` lists the right-aligned columns (numbers). */
export function table(header: readonly string[], rows: readonly (readonly string[])[], right: ReadonlySet<number> = new Set()): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (right.has(i) ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ').trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}

const pad2 = (n: number): string => String(n).padStart(2, '0')

/** FRR's peer_uptime(): hh:mm:ss under a day, 1d02h03m under a week, 01w2d03h beyond. */
export function upDown(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  const day = 86_400
  const week = 7 * day
  if (s < day) return `${pad2(Math.floor(s / 3600))}:${pad2(Math.floor(s / 60) % 60)}:${pad2(s % 60)}`
  if (s < week) return `${Math.floor(s / day)}d${pad2(Math.floor(s / 3600) % 24)}h${pad2(Math.floor(s / 60) % 60)}m`
  return `${pad2(Math.floor(s / week))}w${Math.floor(s / day) % 7}d${pad2(Math.floor(s / 3600) % 24)}h`
}

const FAMILY_TITLES: Readonly<Record<string, string>> = {
  'ipv4-unicast': 'IPv4 Unicast',
  'ipv6-unicast': 'IPv6 Unicast',
  'l3vpn-ipv4-unicast': 'IPv4 VPN',
  'l3vpn-ipv6-unicast': 'IPv6 VPN',
  'rtc': 'Route Target Constraint',
  'ipv4-labeled-unicast': 'IPv4 Labeled Unicast',
  'ipv6-labeled-unicast': 'IPv6 Labeled Unicast',
}
const familyTitle = (f: string): string => FAMILY_TITLES[f] ?? f

/** FRR's State/PfxRcd: the accepted count when Established, else the state (Idle (Admin) when down by hand). */
function statePfx(p: PeerSummary, family: string): string {
  if (p.state === 'Established') return String(p.prefixes.find(f => f.family === family)?.accepted ?? 0)
  if (!p.enabled) return 'Idle (Admin)'
  return p.state
}

function header(s: DaemonStatus): string[] {
  const as = s.tgwLocalAs !== undefined && s.tgwLocalAs !== s.localAs ? `${s.localAs} (toward the Transit Gateway ${s.tgwLocalAs})` : String(s.localAs)
  return [
    `BGP router identifier ${s.routerId}, local AS number ${as}`,
    `Ready: ${s.ready ? 'yes' : `no, ${s.notReadyReason ?? 'not ready'}`}`,
  ]
}

export function formatSummary(r: BgpSummary, now: number): string {
  const out = header(r.status)
  const families = [...new Set(r.peers.flatMap(p => p.prefixes.map(f => f.family)))]
  for (const family of families) {
    const peers = r.peers.filter(p => p.prefixes.some(f => f.family === family))
    out.push('', `${familyTitle(family)} Summary:`)
    const rows = peers.map(p => [
      p.address, '4', String(p.asn), String(p.messagesReceived), String(p.messagesSent),
      p.stateSince > 0 ? upDown(now - p.stateSince) : 'never', statePfx(p, family),
      String(p.prefixes.find(f => f.family === family)?.advertised ?? 0), p.side, p.name,
    ])
    out.push(table(['Neighbor', 'V', 'AS', 'MsgRcvd', 'MsgSent', 'Up/Down', 'State/PfxRcd', 'PfxSnt', 'Side', 'Desc'], rows, new Set([1, 2, 3, 4, 5, 6, 7])))
  }
  if (families.length === 0) out.push('', 'No BGP neighbors are configured.')
  out.push('', `Total number of neighbors ${r.peers.length}`, '', gatewayLine(r.gateway))
  return out.join('\n') + '\n'
}

function gatewayLine(g: GatewayStatus, hint = true): string {
  const refused = g.tgwRefused.length === 0 ? 'none refused' : `${g.tgwRefused.length} refused over the quota${hint ? ' (gsictl show gateway lists them)' : ''}`
  return `Transit Gateway prefixes: ${g.tgwAdvertised} advertised of a quota of ${g.tgwQuota}, ${refused}`
}

const MESSAGE_ROWS: readonly [string, keyof PeerView['session']['messagesIn']][] = [
  ['Opens', 'open'], ['Notifications', 'notification'], ['Updates', 'update'], ['Keepalives', 'keepalive'], ['Route Refresh', 'routeRefresh'],
]

const time = (at: number, now: number): string => `${upDown(now - at)} ago`

export function formatNeighbors(peers: readonly PeerView[], now: number): string {
  return peers.map(p => formatNeighbor(p, now)).join('\n') + (peers.length === 0 ? 'No BGP neighbors are configured.\n' : '')
}

function formatNeighbor(p: PeerView, now: number): string {
  const s = p.session
  const n = s.negotiated
  const o: string[] = []
  o.push(`BGP neighbor is ${p.address}, remote AS ${p.asn}, ${p.ebgp ? 'external' : 'internal'} link`)
  o.push(`  Description: ${p.name} (${p.side === 'tgw' ? 'Transit Gateway' : 'CN2 control node'})`)
  const since = s.state === 'Established' ? `up for ${upDown(now - s.stateSince)}` : `for ${upDown(now - s.stateSince)}`
  o.push(`  BGP state = ${s.state}${p.enabled ? '' : ' (administratively down)'}, ${since}`)
  if (p.maxPrefixDown !== undefined) {
    const until = p.maxPrefixDown.restartAt !== undefined ? `, restarts in ${upDown(p.maxPrefixDown.restartAt - now)}` : ', until cleared'
    o.push(`  Down: maximum prefixes exceeded in ${p.maxPrefixDown.family}${until}`)
  }
  if (n !== undefined) {
    o.push(`  Remote router ID ${n.peerId}`)
    o.push(`  Hold time is ${n.holdTime} seconds, keepalive interval is ${n.keepaliveTime} seconds`)
    const caps = [
      n.as4 ? '4-octet AS' : '',
      n.routeRefresh ? 'route refresh' : '',
      n.enhancedRouteRefresh ? 'enhanced route refresh' : '',
      n.extendedMessage ? 'extended message' : '',
      n.gracefulRestart !== undefined ? `graceful restart (restart time ${n.gracefulRestart.restartTime} s${n.gracefulRestart.notification ? ', N bit' : ''})` : '',
      ...n.addPath.map(a => `ADD-PATH ${a.family} ${[a.send ? 'send' : '', a.receive ? 'receive' : ''].filter(Boolean).join('/')}`),
      ...n.extendedNextHop.map(e => `extended next hop ${e.family}`),
    ].filter(Boolean)
    o.push(`  Neighbor capabilities: ${caps.join(', ') || 'none'}`)
    o.push(`  Address families negotiated: ${n.families.join(', ')}`)
  }
  o.push(`  Minimum time between advertisement runs is ${p.minimumAdvertisementInterval} seconds`)
  o.push('')
  o.push('  Message statistics:')
  const msgRows = MESSAGE_ROWS.map(([label, k]) => [`    ${label}:`, String(s.messagesOut[k]), String(s.messagesIn[k])])
  const total = (c: Readonly<Record<string, number>>): number => Object.values(c).reduce((a, b) => a + b, 0)
  msgRows.push(['    Total:', String(total(s.messagesOut)), String(total(s.messagesIn))])
  o.push(table(['', 'Sent', 'Rcvd'], msgRows, new Set([1, 2])))
  o.push('')
  o.push('  Prefixes:')
  const famRows = p.families.map(f => [
    `    ${f.family}`, String(f.received), String(f.accepted), String(f.active), String(f.advertised), String(f.stale),
    `${f.endOfRibReceived ? 'yes' : 'no'}/${f.endOfRibSent ? 'yes' : 'no'}`,
  ])
  o.push(table(['    Family', 'Received', 'Accepted', 'Best', 'Advertised', 'Stale', 'End-of-RIB rcvd/sent'], famRows, new Set([1, 2, 3, 4, 5])))
  o.push('')
  o.push(`  Connections established ${s.flaps + (s.state === 'Established' ? 1 : 0)}; dropped ${s.flaps}; collisions ${s.collisions}`)
  if (s.lastError !== undefined) o.push(`  Last reset ${time(s.lastError.at, now)}, due to ${s.lastError.reason}${s.lastError.detail !== undefined ? ` (${s.lastError.detail})` : ''}`)
  if (p.diagnosis !== undefined) o.push(`  Not established: ${p.diagnosis}`)
  if (s.lastNotificationSent !== undefined) o.push(`  Last notification sent ${time(s.lastNotificationSent.at, now)}: ${notification(s.lastNotificationSent)}`)
  if (s.lastNotificationReceived !== undefined) o.push(`  Last notification received ${time(s.lastNotificationReceived.at, now)}: ${notification(s.lastNotificationReceived)}`)
  if (s.connection !== undefined) {
    const c = s.connection
    o.push(`  Local host: ${c.localAddress}, Local port: ${c.localPort}`)
    o.push(`  Foreign host: ${p.address}, Foreign port: ${c.remotePort}`)
    o.push(`  Connection ${c.direction}; TTL ${c.ttl}${c.minTtl > 0 ? `, minimum TTL ${c.minTtl} (GTSM)` : ''}`)
  } else if (s.state !== 'Established') {
    o.push(`  Connect retries: ${s.connectRetryCounter}`)
  }
  return o.join('\n') + '\n'
}

function notification(n: { code: number; subcode: number; description: string; message?: string }): string {
  return `${n.code}/${n.subcode} ${n.description}${n.message !== undefined ? ` "${n.message}"` : ''}`
}

const ORIGIN_LETTER: Readonly<Record<string, string>> = { IGP: 'I', EGP: 'E', Incomplete: '?' }

function pathLines(r: RouteView): string[] {
  const mark = (r.best ? '+' : r.multipath ? '*' : ' ') + (r.stale ? 'S' : ' ')
  const from = r.peer === 'local' ? 'local (originated here)' : `${r.peerAddress} (${r.peer})`
  const attrs = [
    `from ${from}`,
    r.localPref !== undefined ? `localpref ${r.localPref}` : '',
    r.med !== undefined ? `MED ${r.med}` : '',
    r.pathId !== undefined ? `path-id ${r.pathId}` : '',
    r.rejected === true ? 'rejected by import policy' : '',
  ].filter(Boolean)
  const lines = [`    ${mark}[BGP] ${attrs.join(', ')}`]
  lines.push(`          AS path: ${r.asPath === '' ? '' : `${r.asPath} `}${ORIGIN_LETTER[r.origin] ?? r.origin}`)
  const hop = r.nextHop === '' ? 'self' : r.nextHop
  lines.push(`        > to ${hop}${r.label !== undefined ? `, label ${r.label}` : ''}`)
  const comms = [...r.communities, ...r.largeCommunities]
  if (comms.length > 0) lines.push(`          Communities: ${comms.join(' ')}`)
  if (r.extCommunities.length > 0) lines.push(`          Extended communities: ${r.extCommunities.join(' ')}`)
  return lines
}

export function formatRoutes(page: RoutePage, shown: readonly RouteView[], more: boolean, title = ''): string {
  const out: string[] = []
  if (title !== '') out.push(title, '')
  for (const f of page.families) out.push(`${f.family}: ${f.destinations} destinations, ${f.paths} paths`)
  out.push('+ = best path, * = in the multipath set, S = stale (graceful restart)')
  let family = ''
  let prefix = ''
  for (const r of shown) {
    if (r.family !== family) {
      family = r.family
      prefix = ''
      out.push('', `${familyTitle(family)} (${family}):`)
    }
    if (r.prefix !== prefix) {
      prefix = r.prefix
      out.push('', r.prefix)
    }
    out.push(...pathLines(r))
  }
  if (shown.length === 0) out.push('', 'No matching routes.')
  if (more) out.push('', `(${shown.length} paths shown; more follow: --all shows every page, --limit N a larger one)`)
  return out.join('\n') + '\n'
}

export function formatTunnels(t: TunnelsView): string {
  const out = ['GRE links (one per Transit Gateway Connect peer):']
  if (t.gre.length === 0) out.push('  none')
  else {
    out.push(table(
      ['Name', 'State', 'Local', 'Remote', 'MTU', 'Inside address', 'TGW BGP peers', 'In sync'],
      t.gre.map(g => [g.name, g.state, g.local, g.remote, g.mtu === null ? '-' : String(g.mtu), g.addresses.join(' '), g.tgwPeers.join(' '), g.inSync ? 'yes' : 'no']),
      new Set([4]),
    ))
  }
  out.push('', 'MPLSoUDP tunnels (one per vRouter, UDP 6635):')
  if (t.mplsoudp.length === 0) out.push('  none')
  else out.push(table(['Name', 'State', 'vRouter', 'Routes'], t.mplsoudp.map(m => [m.name, m.state, m.vrouter, String(m.routes)]), new Set([3])))
  const p = t.probes
  if (p !== undefined) {
    const echo = p.targets.some(x => x.family === 'ipv6') ? 'ICMP and ICMPv6 echo' : 'ICMP echo'
    out.push('', p.enabled ? `Data-plane probes (${echo} every ${p.intervalSeconds} s per target):` : 'Data-plane probes: off (probes.enabled false)')
    if (p.connectPeers.length > 0) {
      out.push(table(['Connect peer', 'Link', 'Family', 'Data plane', 'Routes'], p.connectPeers.map(c => [c.connectPeer, c.link, c.family, c.state, c.withdrawn ? 'withdrawn' : 'advertised'])))
    }
    if (p.enabled && p.targets.length > 0) {
      out.push(table(
        ['Target', 'Via', 'State', 'Sent', 'Replies', 'Lost', 'Loss', 'RTT ms', 'Error'],
        p.targets.map(x => [x.address, `${x.kind === 'tgw' ? 'GRE' : 'MPLSoUDP'} ${x.via}`, x.state, String(x.sent), String(x.replies), String(x.lost),
          `${Math.round(x.lossRatio * 100)}%`, x.rttMs !== undefined ? x.rttMs.toFixed(2) : '-', x.lastError ?? '']),
        new Set([3, 4, 5, 6, 7]),
      ))
    }
  }
  return out.join('\n') + '\n'
}

export function formatFib(f: FibView, now: number): string {
  const s = f.state
  const c = f.counters
  const out: string[] = []
  const last = c.lastSyncAt > 0 ? `last sync ${time(c.lastSyncAt, now)} (${c.lastSyncDurationMs} ms)` : 'no sync yet'
  out.push(`FIB: ${s.ready ? 'synced' : 'not ready (adopted routes kept until End-of-RIB)'}; ${s.desiredRoutes} routes wanted, ${s.installedRoutes} in the kernel; ${last}`)
  out.push('')
  const byTable = new Map(f.routesByTable.map(t => [t.table, t.routes]))
  out.push(table(['Table', 'VRF', 'Label', 'Routes'], s.tables.map(t => [String(t.table), t.vrf, String(t.label), String(byTable.get(t.table) ?? 0)]), new Set([0, 2, 3])))
  out.push('')
  out.push('Kernel changes:')
  out.push(table(['', 'Added', 'Replaced', 'Deleted'], [
    ['  Routes', String(c.routesAdded), String(c.routesReplaced), String(c.routesDeleted)],
    ['  Label routes', String(c.labelRoutesAdded), String(c.labelRoutesReplaced), String(c.labelRoutesDeleted)],
    ['  Tunnels', String(c.tunnelsCreated), '-', String(c.tunnelsDeleted)],
  ], new Set([1, 2, 3])))
  out.push(`  Adopted at start ${c.routesAdopted}, drift repaired ${c.driftRepairs}, syncs ${c.syncs}, errors ${c.errors}`)
  if (c.lastError !== '') out.push(`  Last error: ${c.lastError}`)
  const listing = formatFibRoutes(f, f.routes, f.next !== undefined)
  if (listing !== '') out.push('', listing.trimEnd())
  return out.join('\n') + '\n'
}

/**
 * The FIB's routes as Junos `show route table` lays them out: a header per gateway table (its VRF,
 * its label, how many routes it holds in all), the destination on its own line, then one line per
 * next hop after ">": `to vRouter V via TUNNEL, Push LABEL` toward a pod (MPLSoUDP), `via TGW-ADDRESS,
 * GRE LINK` toward the VPC. Several next hops are ECMP.
 */
export function formatFibRoutes(f: Pick<FibView, 'state' | 'routesByTable'>, routes: readonly FibRouteView[], more: boolean): string {
  const out: string[] = []
  const tables = new Map(f.state.tables.map(t => [t.table, t]))
  const counts = new Map(f.routesByTable.map(t => [t.table, t.routes]))
  let current: number | undefined
  for (const r of routes) {
    if (r.table !== current) {
      current = r.table
      const t = tables.get(r.table)
      const n = counts.get(r.table)
      if (out.length > 0) out.push('')
      out.push(`Table ${r.table}${t !== undefined ? ` (VRF ${t.vrf}, label ${t.label})` : ''}${n !== undefined ? `: ${n} route${n === 1 ? '' : 's'}` : ''}`)
    }
    out.push(r.prefix)
    for (const nh of r.nexthops) {
      const weight = nh.weight !== 1 ? `, weight ${nh.weight}` : ''
      out.push(nh.kind === 'mpls'
        ? `        > to vRouter ${nh.via} via ${nh.dev}, Push ${nh.label ?? '?'}${weight}`
        : `        > via ${nh.via}, GRE ${nh.dev}${weight}`)
    }
  }
  if (more) out.push('', '(more routes: --all lists every page, --limit N sets the page size)')
  return out.length > 0 ? out.join('\n') + '\n' : ''
}

export function formatGateway(g: GatewayStatus): string {
  const out = [gatewayLine(g, false)]
  if (g.tgwReceived !== undefined) out.push(`Routes from the Transit Gateway: ${g.tgwReceived}${g.tgwReceivedCap !== undefined ? ` (warning above ${g.tgwReceivedCap})` : ''}`)
  if (g.tgwRefused.length > 0) out.push('', 'Refused (not advertised to the Transit Gateway):', ...g.tgwRefused.map(p => `  ${p}`))
  return out.join('\n') + '\n'
}

export function formatConfig(config: unknown): string {
  return toYaml(config)
}

export function formatClear(r: ClearResult): string {
  return `Neighbor ${r.peer}: ${r.action}\n`
}

export function formatLogLevel(r: { level: string; previous: string }): string {
  return `Log level ${r.previous} -> ${r.level}\n`
}
