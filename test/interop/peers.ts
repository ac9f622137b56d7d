/**
 * Real daemons as BGP peers of our side for the interop tests, on loopback high ports of the root
 * namespace (127.1.N.x addresses, a /24 per test file so files running in parallel never meet;
 * nothing leaves the host): FRR 8.4 bgpd (standalone `-Z`, vtysh over a private `--vty_socket`
 * directory, JSON output), ExaBGP 4.2 (an API process records its JSON encoder output and feeds it
 * commands), gobgpd 3.10 (gobgp CLI `-j` over a private gRPC port) and BIRD 2 (birdc over a private
 * control socket). Each starter writes the config, starts the daemon through daemons.ts's
 * spawnDaemon, waits until it answers on its control channel, and registers the stop with the
 * test's teardown, so the daemon is killed and its directory removed whatever happens.
 */
import type { Test } from 'tap'
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { appendFileSync, readFileSync } from 'node:fs'
import { freePort, retry, run, spawnDaemon, tempDir, type Daemon } from './daemons.js'
import type { TestFamily, TestRoute } from './our-peer.js'

/** Who the daemon talks to: our side's address, AS and families. */
export interface NeighborSpec {
  address: string
  asn: number
  families: TestFamily[]
  /** Our listening port when the daemon connects (active daemon). */
  port?: number
  md5?: string
}

export interface PeerSpec {
  /** Test name for temp dirs. */
  name: string
  address: string
  asn: number
  routerId: string
  holdTime: number
  neighbor: NeighborSpec
  /** Default true: the daemon waits for our connection. */
  passive?: boolean
  /** The daemon's listening port (default: a free one). */
  port?: number
}

export interface RunningPeer {
  daemon: Daemon
  /** Port the daemon listens on (0 when it does not). */
  port: number
}

// ---------------------------------------------------------------- FRR

const FRR_AF: Partial<Record<TestFamily, string>> = { ipv4: 'ipv4 unicast', ipv6: 'ipv6 unicast', vpnv4: 'ipv4 vpn', vpnv6: 'ipv6 vpn' }

export interface FrrPeer extends RunningPeer {
  vtysh(...commands: string[]): string
  /** `show ...` with ` json` appended, parsed. */
  json<T = Record<string, unknown>>(show: string): T
  /** Configuration lines under `router bgp ASN` (indented with one space per level as in FRR). */
  configure(lines: string[]): void
  /** FRR's view of our session (`show bgp neighbors ADDR json`). */
  neighbor(): FrrNeighbor
}

export interface FrrNeighbor {
  bgpState?: string
  remoteAs?: number
  localAs?: number
  hostname?: string
  lastNotificationReason?: string
  lastShutdownDescription?: string
  lastResetDueTo?: string
  lastErrorCodeSubcode?: string
  [k: string]: unknown
}

export async function startFrr(t: Test, spec: PeerSpec, extraRouterLines: string[] = []): Promise<FrrPeer> {
  const dir = tempDir(`gsi-ix-${spec.name}`)
  const port = spec.port ?? (await freePort(spec.address))
  const n = spec.neighbor
  const L = [
    'frr defaults traditional',
    `hostname ${spec.name}`,
    'log stdout informational',
    '!',
    `router bgp ${spec.asn}`,
    ` bgp router-id ${spec.routerId}`,
    ' no bgp ebgp-requires-policy',
    ' no bgp default ipv4-unicast',
    ' no bgp network import-check',
    ` timers bgp ${Math.max(1, Math.floor(spec.holdTime / 3))} ${spec.holdTime}`,
    ` neighbor ${n.address} remote-as ${n.asn}`,
    ` neighbor ${n.address} timers connect 1`,
    ` neighbor ${n.address} advertisement-interval 0`,
    ...(spec.passive === false ? [` neighbor ${n.address} port ${n.port ?? 179}`] : [` neighbor ${n.address} passive`]),
    ...(n.md5 !== undefined ? [` neighbor ${n.address} password ${n.md5}`] : []),
    ...extraRouterLines,
  ]
  for (const f of n.families) {
    const af = FRR_AF[f]
    if (af === undefined) throw new Error(`frr peer: family ${f} not configured here`)
    L.push(` address-family ${af}`, `  neighbor ${n.address} activate`, ' exit-address-family')
  }
  L.push('!')
  writeFileSync(join(dir, 'bgpd.conf'), L.join('\n') + '\n')
  const daemon = spawnDaemon(
    '/usr/lib/frr/bgpd',
    ['-f', join(dir, 'bgpd.conf'), '-Z', '-S', '-l', spec.address, '-p', String(port), '-i', join(dir, 'bgpd.pid'), '--vty_socket', dir, '-P', '0'],
    dir,
    'bgpd',
  )
  t.teardown(() => daemon.stop())
  const vtysh = (...commands: string[]): string => run('vtysh', ['--vty_socket', dir, ...commands.flatMap((c) => ['-c', c])], 10_000)
  await retry(() => vtysh('show bgp summary'), 10_000, `frr ${spec.name} vty`)
  const peer: FrrPeer = {
    daemon,
    port,
    vtysh,
    json: <T>(show: string): T => JSON.parse(vtysh(`${show} json`)) as T,
    configure: (lines) => {
      vtysh('configure terminal', `router bgp ${spec.asn}`, ...lines)
    },
    neighbor: () => (JSON.parse(vtysh(`show bgp neighbors ${n.address} json`)) as Record<string, FrrNeighbor>)[n.address] ?? {},
  }
  return peer
}

/**
 * FRR lines (under `router bgp`) originating `routes`: a route-map per route sets the attributes,
 * `network` in the family's address-family originates it. FRR 8.4 route-maps cannot set the RFC
 * 9012 encapsulation community, so such routes are refused here.
 */
export function frrOriginate(routes: readonly TestRoute[], tag: string): { routeMaps: string[]; router: string[] } {
  const routeMaps: string[] = []
  const router: string[] = []
  routes.forEach((r, i) => {
    const rm = `RM-${tag}-${i}`
    const set: string[] = []
    if (r.med !== undefined) set.push(`set metric ${r.med}`)
    if (r.localPref !== undefined) set.push(`set local-preference ${r.localPref}`)
    if (r.communities?.length) set.push(`set community ${r.communities.join(' ')}`)
    const rts = (r.extCommunities ?? []).filter((c) => c.startsWith('rt:')).map((c) => c.slice(3))
    if ((r.extCommunities ?? []).some((c) => !c.startsWith('rt:'))) throw new Error('frr: only route targets can be set by route-map')
    if (rts.length) set.push(`set extcommunity rt ${rts.join(' ')}`)
    if (r.family === 'ipv4') set.push(`set ip next-hop ${r.nextHop}`)
    if (r.family === 'ipv6') set.push(`set ipv6 next-hop global ${r.nextHop}`)
    routeMaps.push(`route-map ${rm} permit 10`, ...set.map((s) => ` ${s}`), 'exit')
    const af = FRR_AF[r.family]
    if (af === undefined) throw new Error(`frr: family ${r.family} not originated here`)
    const net = r.family === 'vpnv4' || r.family === 'vpnv6' ? `network ${r.prefix} rd ${r.rd} label ${r.label} route-map ${rm}` : `network ${r.prefix} route-map ${rm}`
    router.push(`address-family ${af}`, net, 'exit-address-family')
  })
  return { routeMaps, router }
}

// ---------------------------------------------------------------- ExaBGP

const API_SCRIPT = resolve(import.meta.dirname, 'exabgp-api.py')

export interface ExabgpPeer extends RunningPeer {
  /** Sends an API command (`neighbor ADDR announce route ...` etc.). */
  command(text: string): void
  /** Every JSON message the encoder wrote so far (updates, notifications, state, refresh). */
  messages(): ExaMessage[]
}

export interface ExaMessage {
  type: string
  neighbor?: {
    address?: { local: string; peer: string }
    asn?: { local: number; peer: number }
    state?: string
    direction?: string
    message?: {
      update?: {
        attribute?: Record<string, unknown>
        announce?: Record<string, Record<string, ExaNlri[]>>
        withdraw?: Record<string, ExaNlri[]>
      }
      eor?: { afi: string; safi: string }
      notification?: { code: number; subcode: number; data: string; message?: string }
    }
    notification?: { code: number; subcode: number; data: string }
    'route-refresh'?: { afi: string; safi: string; subtype: string }
  }
  notification?: { code: number; subcode: number; data: string }
  [k: string]: unknown
}
export interface ExaNlri {
  nlri: string
  label?: number[][]
  rd?: string
  [k: string]: unknown
}

const EXA_FAMILY: Partial<Record<TestFamily, string>> = { ipv4: 'ipv4 unicast', ipv6: 'ipv6 unicast', vpnv4: 'ipv4 mpls-vpn', vpnv6: 'ipv6 mpls-vpn' }

/** ExaBGP's static/API route text for a TestRoute (without the leading `route`). */
export function exaRoute(r: TestRoute): string {
  const a = [r.prefix]
  if (r.rd !== undefined) a.push(`rd ${r.rd}`)
  if (r.label !== undefined) a.push(`label ${r.label}`)
  a.push(`next-hop ${r.nextHop}`, `origin ${['igp', 'egp', 'incomplete'][r.origin ?? 0]}`)
  if (r.asPath?.length) a.push(`as-path [ ${r.asPath.join(' ')} ]`)
  if (r.med !== undefined) a.push(`med ${r.med}`)
  if (r.localPref !== undefined) a.push(`local-preference ${r.localPref}`)
  if (r.communities?.length) a.push(`community [ ${r.communities.join(' ')} ]`)
  const ext = (r.extCommunities ?? []).map((c) => {
    if (c === 'encap:udp') return '0x030c00000000000d' // RFC 9012: transitive opaque 0x03/0x0c, tunnel type 13
    const m = /^rt:(.+):(\d+)$/.exec(c)
    if (!m) throw new Error(`exabgp: cannot write ${c}`)
    const [admin, assigned] = [m[1] as string, Number(m[2])]
    if (admin.includes('.')) return `0x0102${admin.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).join('')}${assigned.toString(16).padStart(4, '0')}`
    // ExaBGP 4.2 writes target:ASN:N as the 2-octet form even above 65535: raw hex for 4-octet AS
    if (Number(admin) > 0xffff) return `0x0202${Number(admin).toString(16).padStart(8, '0')}${assigned.toString(16).padStart(4, '0')}`
    return `target:${admin}:${assigned}`
  })
  if (ext.length) a.push(`extended-community [ ${ext.join(' ')} ]`)
  return a.join(' ')
}

export async function startExabgp(t: Test, spec: PeerSpec, routes: readonly TestRoute[] = []): Promise<ExabgpPeer> {
  const dir = tempDir(`gsi-ix-${spec.name}`)
  const port = await freePort(spec.address)
  const n = spec.neighbor
  const recordFile = join(dir, 'received.jsonl')
  const commandFile = join(dir, 'commands.txt')
  writeFileSync(commandFile, '')
  const L = [
    'process rec {',
    `  run /usr/bin/python3 ${API_SCRIPT} ${recordFile} ${commandFile};`,
    '  encoder json;',
    '}',
    `neighbor ${n.address} {`,
    `  router-id ${spec.routerId};`,
    `  local-address ${spec.address};`,
    `  local-as ${spec.asn};`,
    `  peer-as ${n.asn};`,
    `  hold-time ${spec.holdTime};`,
    ...(spec.passive === false ? ['  passive false;', `  connect ${n.port ?? 179};`] : ['  passive true;', `  listen ${port};`]),
    ...(n.md5 !== undefined ? [`  md5-password ${n.md5};`] : []),
    '  adj-rib-out true;',
    '  family {',
    ...n.families.map((f) => {
      const x = EXA_FAMILY[f]
      if (x === undefined) throw new Error(`exabgp peer: family ${f} not configured here`)
      return `    ${x};`
    }),
    '  }',
    '  capability {',
    '    route-refresh;',
    '    asn4 enable;',
    '  }',
    '  api {',
    '    processes [ rec ];',
    '    neighbor-changes;',
    // (ExaBGP 4.2.21 fails to decode a NOTIFICATION carrying an RFC 9003 text, whatever is asked
    // here: see exabgp.test.ts; its `state` message records how the session ended)
    '    receive { parsed; update; }',
    '  }',
    ...(routes.length ? ['  static {', ...routes.map((r) => `    route ${exaRoute(r)};`), '  }'] : []),
    '}',
  ]
  writeFileSync(join(dir, 'exabgp.conf'), L.join('\n') + '\n')
  const env = {
    ...process.env,
    'exabgp.daemon.user': 'root',
    'exabgp.daemon.daemonize': 'false',
    'exabgp.daemon.pid': join(dir, 'exabgp.pid'),
    'exabgp.log.destination': 'stdout',
    'exabgp.log.level': 'INFO',
    'exabgp.api.cli': 'false',
    'exabgp.api.ack': 'false',
    'exabgp.tcp.bind': '',
    'exabgp.cache.attributes': 'false',
  }
  const daemon = spawnDaemon('exabgp', [join(dir, 'exabgp.conf')], dir, 'exabgp', env)
  t.teardown(() => daemon.stop())
  const messages = (): ExaMessage[] => {
    let text = ''
    try {
      text = readFileSync(recordFile, 'utf8')
    } catch {
      return []
    }
    const out: ExaMessage[] = []
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue
      try {
        out.push(JSON.parse(line) as ExaMessage)
      } catch {
        // a line being written
      }
    }
    return out
  }
  if (spec.passive !== false) {
    await retry(
      () => {
        if (daemon.proc.exitCode !== null) throw new Error(`exabgp exited: ${daemon.readLog().slice(-2000)}`)
        if (!run('ss', ['-Htln', `src ${spec.address}:${port}`]).includes(String(port))) throw new Error('not listening yet')
      },
      10_000,
      `exabgp ${spec.name} listening`,
    )
  }
  return { daemon, port, messages, command: (text) => appendFileSync(commandFile, `${text}\n`) }
}

// ---------------------------------------------------------------- GoBGP

const GOBGP_FAMILY: Record<TestFamily, string> = { ipv4: 'ipv4-unicast', ipv6: 'ipv6-unicast', vpnv4: 'l3vpn-ipv4-unicast', vpnv6: 'l3vpn-ipv6-unicast', rtc: 'rtc' }

export interface GobgpPeer extends RunningPeer {
  cli(args: string[]): string
  json<T = unknown>(args: string[]): T
}

export async function startGobgp(t: Test, spec: PeerSpec): Promise<GobgpPeer> {
  const dir = tempDir(`gsi-ix-${spec.name}`)
  const port = await freePort(spec.address)
  const api = await freePort('127.0.0.1')
  const n = spec.neighbor
  const hold = spec.holdTime
  const L = [
    '[global.config]',
    `  as = ${spec.asn}`,
    `  router-id = "${spec.routerId}"`,
    `  port = ${port}`,
    `  local-address-list = ["${spec.address}"]`,
    '[[neighbors]]',
    '  [neighbors.config]',
    `    neighbor-address = "${n.address}"`,
    `    peer-as = ${n.asn}`,
    ...(n.md5 !== undefined ? [`    auth-password = "${n.md5}"`] : []),
    '  [neighbors.timers.config]',
    `    hold-time = ${hold}`,
    `    keepalive-interval = ${Math.max(1, Math.floor(hold / 3))}`,
    '    connect-retry = 1',
    '  [neighbors.transport.config]',
    `    passive-mode = ${spec.passive !== false}`,
    `    local-address = "${spec.address}"`,
    ...(n.port !== undefined ? [`    remote-port = ${n.port}`] : []),
    ...n.families.flatMap((f) => ['  [[neighbors.afi-safis]]', '    [neighbors.afi-safis.config]', `      afi-safi-name = "${GOBGP_FAMILY[f]}"`]),
  ]
  writeFileSync(join(dir, 'gobgpd.toml'), L.join('\n') + '\n')
  const daemon = spawnDaemon('gobgpd', ['-f', join(dir, 'gobgpd.toml'), '-l', 'info', '-p', '--api-hosts', `127.0.0.1:${api}`, '--pprof-disable'], dir, 'gobgpd')
  t.teardown(() => daemon.stop())
  const cli = (args: string[]): string => run('gobgp', ['-p', String(api), ...args], 10_000)
  await retry(() => cli(['global']), 10_000, `gobgpd ${spec.name} API`)
  return { daemon, port, cli, json: <T>(args: string[]): T => JSON.parse(cli([...args, '-j']) || 'null') as T }
}

/** gobgp CLI arguments adding `r` to gobgpd's global RIB. */
export function gobgpRouteArgs(r: TestRoute): string[] {
  const common = ['origin', ['igp', 'egp', 'incomplete'][r.origin ?? 0] as string, 'nexthop', r.nextHop]
  if (r.med !== undefined) common.push('med', String(r.med))
  if (r.localPref !== undefined) common.push('local-pref', String(r.localPref))
  if (r.communities?.length) common.push('community', r.communities.join(','))
  if (r.asPath?.length) common.push('aspath', r.asPath.join(' '))
  const rts = (r.extCommunities ?? []).filter((c) => c.startsWith('rt:')).map((c) => {
    const m = /^rt:(.+):(\d+)$/.exec(c) as RegExpExecArray
    const admin = m[1] as string
    // gobgp spells 4-octet AS route targets in asdot
    return Number(admin) > 0xffff ? `${Math.floor(Number(admin) / 65536)}.${Number(admin) % 65536}:${m[2]}` : `${admin}:${m[2]}`
  })
  const encap = (r.extCommunities ?? []).includes('encap:udp')
  switch (r.family) {
    case 'ipv4':
    case 'ipv6':
      return ['global', 'rib', '-a', r.family, 'add', r.prefix, ...common]
    case 'vpnv4':
    case 'vpnv6': {
      const a = ['global', 'rib', '-a', r.family, 'add', r.prefix, 'label', String(r.label), 'rd', r.rd as string]
      if (rts.length) a.push('rt', ...rts)
      if (encap) a.push('encap', 'mpls-in-udp')
      return [...a, ...common]
    }
    case 'rtc':
      throw new Error('gobgp: RTC routes come from VRF import targets')
  }
}

// ---------------------------------------------------------------- BIRD

export interface BirdPeer extends RunningPeer {
  birdc(cmd: string): string
}

const BIRD_CHANNEL: Partial<Record<TestFamily, string>> = {
  ipv4: 'ipv4 { import all; export all; };',
  // over an IPv4 session BIRD has no IPv6 address of its own to put in MP_REACH: give it one
  ipv6: 'ipv6 { import all; export all; next hop address 2001:db8:ffff::1; };',
  vpnv4: 'vpn4 mpls { table vtab4; import all; export all; };',
  vpnv6: 'vpn6 mpls { table vtab6; import all; export all; };',
}

function birdAttrs(r: TestRoute): string {
  const a: string[] = [`bgp_origin = ${['ORIGIN_IGP', 'ORIGIN_EGP', 'ORIGIN_INCOMPLETE'][r.origin ?? 0]};`]
  if (r.med !== undefined) a.push(`bgp_med = ${r.med};`)
  if (r.localPref !== undefined) a.push(`bgp_local_pref = ${r.localPref};`)
  for (const c of r.communities ?? []) a.push(`bgp_community.add((${c.replace(':', ',')}));`)
  for (const c of r.extCommunities ?? []) {
    if (c === 'encap:udp') a.push('bgp_ext_community.add((generic, 0x030c0000, 13));')
    else {
      const m = /^rt:(.+):(\d+)$/.exec(c)
      if (!m) throw new Error(`bird: cannot write ${c}`)
      a.push(`bgp_ext_community.add((rt, ${m[1]}, ${m[2]}));`)
    }
  }
  return a.join(' ')
}

/** BIRD static protocols originating `routes` (one per family), to pass as `extra` to startBird. */
export function birdOriginate(routes: readonly TestRoute[]): string[] {
  const L: string[] = []
  const table: Partial<Record<TestFamily, string>> = { ipv4: 'ipv4', ipv6: 'ipv6', vpnv4: 'vpn4 { table vtab4; }', vpnv6: 'vpn6 { table vtab6; }' }
  for (const f of ['ipv4', 'ipv6', 'vpnv4', 'vpnv6'] as const) {
    const rs = routes.filter((r) => r.family === f)
    if (!rs.length) continue
    L.push(`protocol static st_${f} {`, `  ${table[f]};`)
    for (const r of rs) {
      const net = r.rd !== undefined ? `${r.rd} ${r.prefix}` : r.prefix
      // BIRD exports a static route only once its next hop resolves; on loopback-only tests a device
      // route on "lo" does (the BGP next hop is then BIRD's own address, eBGP next hop self)
      const via = r.nextHop === 'lo' ? 'via "lo"' : `via ${r.nextHop}`
      L.push(`  route ${net} ${via}${r.label !== undefined ? ` mpls ${r.label}` : ''} { ${birdAttrs(r)} };`)
    }
    L.push('}')
  }
  return L
}

export async function startBird(t: Test, spec: PeerSpec, extra: string[] = []): Promise<BirdPeer> {
  const dir = tempDir(`gsi-ix-${spec.name}`)
  const port = await freePort(spec.address)
  const n = spec.neighbor
  const ctl = join(dir, 'bird.ctl')
  const L = [
    `router id ${spec.routerId};`,
    `log "${join(dir, 'bird.log')}" all;`,
    'protocol device {}',
    'vpn4 table vtab4;',
    'vpn6 table vtab6;',
    ...extra,
    'protocol bgp peer1 {',
    `  local ${spec.address} port ${port} as ${spec.asn};`,
    `  neighbor ${n.address}${n.port !== undefined ? ` port ${n.port}` : ''} as ${n.asn};`,
    `  hold time ${spec.holdTime}; keepalive time ${Math.max(1, Math.floor(spec.holdTime / 3))}; connect retry time 1;`,
    spec.passive === false ? '  connect delay time 1;' : '  passive on;',
    ...(n.md5 !== undefined ? [`  password "${n.md5}";`] : []),
    // our addresses are on lo, which BIRD never takes for a directly connected neighbour
    '  multihop;',
    ...n.families.map((f) => {
      const c = BIRD_CHANNEL[f]
      if (c === undefined) throw new Error(`bird peer: family ${f} not configured here`)
      return `  ${c}`
    }),
    '}',
  ]
  writeFileSync(join(dir, 'bird.conf'), L.join('\n') + '\n')
  const daemon = spawnDaemon('bird', ['-f', '-c', join(dir, 'bird.conf'), '-s', ctl, '-P', join(dir, 'bird.pid')], dir, 'bird-stdout')
  t.teardown(() => daemon.stop())
  const birdc = (cmd: string): string => run('birdc', ['-s', ctl, cmd])
  await retry(() => birdc('show status'), 10_000, `bird ${spec.name}`)
  return { daemon, port, birdc }
}
