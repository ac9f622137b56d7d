/**
 * The one module that runs real BGP daemons for tests (Debian packages): gobgpd 3.10 (+ gobgp CLI
 * over gRPC), FRR 8.4 bgpd (standalone, `-Z`, no zebra), BIRD 2.0.12 and ExaBGP 4.2.
 *
 * Two layers:
 * - Process handling, used by every daemon test (test/session, test/interop, test/graceful-restart):
 *   free loopback ports, private temp directories, `spawnDaemon` (start with a log file; freeze and
 *   thaw with SIGSTOP/SIGCONT for hold-timer tests; stop always kills, SIGCONT first, and removes the
 *   directory; a last-resort exit hook kills what a crashed test left), `run` and `retry` for CLIs.
 * - Config writers and starters driven by a capture plan (capture-plan.ts), for the fixture capture
 *   and live codec runs: these expect to run INSIDE a network namespace of our own (netns.ts), where
 *   daemons bind 127.0.0.x of that namespace's loopback on port 179.
 * Interop tests in the root namespace (loopback high ports) configure daemons through peers.ts,
 * which builds on the first layer.
 */
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process'
import { openSync, writeFileSync, closeSync, readFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import net from 'node:net'
import { type DaemonPlan, type FamilyName, type RouteDistinguisher, type RouteTargetSpec } from './capture-plan.js'

export interface RunningDaemon {
  name: string
  version: string
  process: ChildProcess
  logFile: string
  /** Makes the daemon close the session with `peer` itself (RFC 9003 message where supported). */
  shutdownPeer?: (peer: string, message: string) => Promise<void>
  stop: () => Promise<void>
}

/** One neighbor of the daemon: the recorder's address for a session, its AS, the session's families. */
export interface PeerConfig {
  address: string
  asn: number
  families: FamilyName[]
  /** Families for which to send all paths with ADD-PATH identifiers (FRR). */
  addPath?: FamilyName[]
}

export const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

function startLogged(cmd: string, args: string[], dir: string, name: string, env: NodeJS.ProcessEnv = process.env): { proc: ChildProcess; logFile: string } {
  const logFile = join(dir, `${name}.log`)
  const fd = openSync(logFile, 'a')
  const proc = spawn(cmd, args, { stdio: ['ignore', fd, fd], env, cwd: dir })
  closeSync(fd)
  return { proc, logFile }
}

async function stopProcess(proc: ChildProcess, graceMs = 2000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return
  const exited = new Promise<void>(r => proc.once('exit', () => r()))
  proc.kill('SIGTERM')
  const t = setTimeout(() => proc.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(t)
}

/** Waits until something accepts TCP connections on host:port. */
export async function waitForPort(host: string, port: number, timeoutMs: number, proc?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null) throw new Error(`daemon exited with ${proc.exitCode} before listening on ${host}:${port}`)
    const ok = await new Promise<boolean>(resolve => {
      const s = net.connect({ host, port })
      s.once('connect', () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    await sleep(100)
  }
  throw new Error(`nothing listening on ${host}:${port} after ${timeoutMs} ms`)
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-30).join('\n')
  } catch {
    return ''
  }
}

// ---------------------------------------------------------------- process handling (all daemon tests)

/** A free TCP port on `host` (the kernel's pick; a daemon binds it a moment later). */
export async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })
}

/** A fresh private directory under the system temp dir (config, control sockets, logs). */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `${prefix}-`))
}

/** A daemon process started by spawnDaemon. */
export interface Daemon {
  proc: ChildProcess
  dir: string
  log: string
  readLog(): string
  /** SIGSTOP: the daemon stops reading and sending (hold-timer tests). */
  freeze(): void
  thaw(): void
  /** SIGCONT then SIGKILL, waits for the exit, removes `dir`. Safe to call twice. */
  stop(): Promise<void>
}

/** Starts `cmd args` in `dir` with stdout and stderr appended to `dir/name.log`. */
export function spawnDaemon(cmd: string, args: string[], dir: string, name: string, env: NodeJS.ProcessEnv = process.env): Daemon {
  const log = join(dir, `${name}.log`)
  const fd = openSync(log, 'a')
  const proc = spawn(cmd, args, { stdio: ['ignore', fd, fd], cwd: dir, env })
  closeSync(fd)
  const killNow = (): void => {
    try {
      if (proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined) process.kill(proc.pid, 'SIGKILL')
    } catch {
      // gone
    }
  }
  // Last resort if the test process dies before its teardown.
  process.once('exit', killNow)
  const d: Daemon = {
    proc,
    dir,
    log,
    readLog: () => {
      try {
        return readFileSync(log, 'utf8')
      } catch {
        return ''
      }
    },
    freeze: () => {
      if (proc.pid !== undefined) process.kill(proc.pid, 'SIGSTOP')
    },
    thaw: () => {
      if (proc.pid !== undefined && proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid, 'SIGCONT')
    },
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined) {
        const exited = new Promise<void>((r) => proc.once('exit', () => r()))
        try {
          process.kill(proc.pid, 'SIGCONT')
          process.kill(proc.pid, 'SIGKILL')
        } catch {
          // gone already
        }
        await exited
      }
      process.removeListener('exit', killNow)
      rmSync(dir, { recursive: true, force: true })
    },
  }
  return d
}

/** Runs a CLI and returns its stdout (throws on a non-zero exit or after `timeoutMs`). */
export function run(cmd: string, args: string[], timeoutMs = 5000): string {
  return execFileSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] })
}

/** Calls `f` until it returns without throwing, every 150 ms, for at most `timeoutMs`. */
export async function retry<T>(f: () => T, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return f()
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(e as Error).message}`)
      await sleep(150)
    }
  }
}

// ---------------------------------------------------------------- formatting helpers

function rdText(rd: RouteDistinguisher, asdot = false): string {
  if (rd.type === 2 && asdot) return `${Math.floor(rd.admin / 65536)}.${rd.admin % 65536}:${rd.assigned}`
  return `${rd.admin}:${rd.assigned}`
}
function rtText(rt: RouteTargetSpec, asdot = false): string {
  if (rt.type === 2 && asdot && typeof rt.admin === 'number') return `${Math.floor(rt.admin / 65536)}.${rt.admin % 65536}:${rt.assigned}`
  return `${rt.admin}:${rt.assigned}`
}

// ---------------------------------------------------------------- GoBGP

const GOBGP_FAMILY: Record<FamilyName, string> = {
  'ipv4-unicast': 'ipv4-unicast',
  'ipv6-unicast': 'ipv6-unicast',
  vpnv4: 'l3vpn-ipv4-unicast',
  vpnv6: 'l3vpn-ipv6-unicast',
  rtc: 'rtc',
}

export function gobgpConfig(plan: DaemonPlan, peers: PeerConfig[], opts: { passive: boolean } = { passive: true }): string {
  const lines = [
    '[global.config]',
    `  as = ${plan.asn}`,
    `  router-id = "${plan.routerId}"`,
    '  port = 179',
    `  local-address-list = ["${plan.address}"]`,
  ]
  for (const p of peers) {
    lines.push(
      '[[neighbors]]',
      '  [neighbors.config]',
      `    neighbor-address = "${p.address}"`,
      `    peer-as = ${p.asn}`,
      '  [neighbors.timers.config]',
      `    hold-time = ${plan.holdTime}`,
      `    keepalive-interval = ${Math.floor(plan.holdTime / 3)}`,
      '  [neighbors.transport.config]',
      `    passive-mode = ${opts.passive}`,
      `    local-address = "${plan.address}"`,
    )
    for (const f of p.families) {
      lines.push('  [[neighbors.afi-safis]]', '    [neighbors.afi-safis.config]', `      afi-safi-name = "${GOBGP_FAMILY[f]}"`)
    }
  }
  return lines.join('\n') + '\n'
}

/** gobgp CLI arguments that add one configured route to the global RIB. */
export function gobgpRouteArgs(r: DaemonPlan['routes'][number]): string[] | undefined {
  const common: string[] = []
  common.push('origin', r.origin)
  if (r.asPath?.length) common.push('aspath', r.asPath.join(','))
  if (r.nextHop) common.push('nexthop', r.nextHop)
  if (r.med !== undefined) common.push('med', String(r.med))
  if (r.localPref !== undefined) common.push('local-pref', String(r.localPref))
  if (r.communities?.length) common.push('community', r.communities.join(','))
  if (r.largeCommunities?.length) common.push('large-community', r.largeCommunities.join(','))
  switch (r.family) {
    case 'ipv4-unicast':
      return ['global', 'rib', '-a', 'ipv4', 'add', r.prefix as string, ...common]
    case 'ipv6-unicast':
      return ['global', 'rib', '-a', 'ipv6', 'add', r.prefix as string, ...common]
    case 'vpnv4':
    case 'vpnv6': {
      const args = ['global', 'rib', '-a', r.family, 'add', r.prefix as string, 'label', String(r.labels?.[0]), 'rd', rdText(r.rd as RouteDistinguisher, true)]
      if (r.routeTargets?.length) args.push('rt', ...r.routeTargets.map(t => rtText(t, true)))
      if (r.encapsulation === 13) args.push('encap', 'mpls-in-udp')
      else if (r.encapsulation !== undefined) throw new Error(`gobgp: encapsulation ${r.encapsulation} not mapped`)
      return [...args, ...common]
    }
    case 'rtc':
      return undefined
  }
}

/** Starts gobgpd with the given TOML config and waits until its gRPC API answers. */
export async function runGobgpd(toml: string, dir: string): Promise<RunningDaemon> {
  const conf = join(dir, 'gobgpd.toml')
  writeFileSync(conf, toml)
  const version = execFileSync('gobgpd', ['--version'], { encoding: 'utf8' }).trim()
  const { proc, logFile } = startLogged('gobgpd', ['-f', conf, '-l', 'info', '-p', '--api-hosts', '127.0.0.1:50051', '--pprof-disable'], dir, 'gobgpd')
  const daemon: RunningDaemon = {
    name: 'gobgp',
    version,
    process: proc,
    logFile,
    stop: () => stopProcess(proc),
    shutdownPeer: async (peer, message) => {
      gobgpCli(['neighbor', peer, 'shutdown', '--reason', message])
    },
  }
  try {
    const deadline = Date.now() + 10_000
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`gobgpd exited: ${tail(logFile)}`)
      try {
        gobgpCli(['global'])
        break
      } catch (err) {
        if (Date.now() > deadline) throw err
        await sleep(150)
      }
    }
  } catch (err) {
    await daemon.stop()
    throw err
  }
  return daemon
}

/** Runs the gobgp CLI (inside the namespace, against 127.0.0.1:50051). */
export function gobgpCli(args: string[]): string {
  return execFileSync('gobgp', args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] })
}

export async function startGobgp(plan: DaemonPlan, dir: string, peers: PeerConfig[]): Promise<RunningDaemon> {
  const daemon = await runGobgpd(gobgpConfig(plan, peers), dir)
  try {
    for (const r of plan.routes) {
      const args = gobgpRouteArgs(r)
      if (args) gobgpCli(args)
    }
    // RTC routes: GoBGP originates one per VRF import route target (RFC 4684 section 4)
    const rtcs = plan.routes.filter(r => r.family === 'rtc')
    rtcs.forEach((r, i) => {
      const rt = rtText(r.rtc!.routeTarget, true)
      gobgpCli(['vrf', 'add', `vrf${i}`, 'id', String(i + 1), 'rd', `${plan.routerId}:${900 + i}`, 'rt', 'import', rt])
    })
  } catch (err) {
    await daemon.stop()
    throw err
  }
  return daemon
}

// ---------------------------------------------------------------- FRR bgpd (standalone, -Z)

const FRR_AF: Record<FamilyName, string | undefined> = {
  'ipv4-unicast': 'ipv4 unicast',
  'ipv6-unicast': 'ipv6 unicast',
  vpnv4: 'ipv4 vpn',
  vpnv6: 'ipv6 vpn',
  rtc: undefined,
}

export function frrConfig(plan: DaemonPlan, peers: PeerConfig[]): string {
  const L: string[] = ['frr defaults traditional', `hostname ${plan.hostname ?? 'gsifx-frr'}`, 'log stdout informational', '!']
  plan.routes.forEach((r, i) => {
    L.push(`route-map RM-${i} permit 10`, ` set origin ${r.origin}`)
    if (r.med !== undefined) L.push(` set metric ${r.med}`)
    if (r.localPref !== undefined) L.push(` set local-preference ${r.localPref}`)
    if (r.communities?.length) L.push(` set community ${r.communities.join(' ')}`)
    if (r.largeCommunities?.length) L.push(` set large-community ${r.largeCommunities.join(' ')}`)
    if (r.asPath?.length) L.push(` set as-path prepend ${r.asPath.join(' ')}`)
    if (r.routeTargets?.length) L.push(` set extcommunity rt ${r.routeTargets.map(t => rtText(t)).join(' ')}`)
    if (r.family === 'ipv4-unicast' && r.nextHop) L.push(` set ip next-hop ${r.nextHop}`)
    if (r.family === 'ipv6-unicast' && r.nextHop) L.push(` set ipv6 next-hop global ${r.nextHop}`)
    if (r.encapsulation !== undefined) throw new Error('frr: cannot set an encapsulation extended community')
    L.push('!')
  })
  L.push(
    `router bgp ${plan.asn}`,
    ` bgp router-id ${plan.routerId}`,
    ' no bgp ebgp-requires-policy',
    ' no bgp default ipv4-unicast',
    ' no bgp network import-check',
    ` timers bgp ${Math.floor(plan.holdTime / 3)} ${plan.holdTime}`,
  )
  for (const p of peers) {
    L.push(` neighbor ${p.address} remote-as ${p.asn}`, ` neighbor ${p.address} passive`, ` neighbor ${p.address} advertisement-interval 0`)
  }
  for (const f of plan.families) {
    const af = FRR_AF[f]
    if (!af) throw new Error(`frr: family ${f} not supported`)
    L.push(` address-family ${af}`)
    plan.routes.forEach((r, i) => {
      if (r.family !== f) return
      if (f === 'vpnv4' || f === 'vpnv6') L.push(`  network ${r.prefix} rd ${rdText(r.rd as RouteDistinguisher)} label ${r.labels?.[0]} route-map RM-${i}`)
      else L.push(`  network ${r.prefix} route-map RM-${i}`)
    })
    for (const p of peers) if (p.families.includes(f)) L.push(`  neighbor ${p.address} activate`)
    for (const p of peers) if (p.addPath?.includes(f)) L.push(`  neighbor ${p.address} addpath-tx-all-paths`)
    L.push(' exit-address-family')
  }
  L.push('!')
  return L.join('\n') + '\n'
}

export async function startFrr(plan: DaemonPlan, dir: string, peers: PeerConfig[]): Promise<RunningDaemon> {
  const conf = join(dir, 'bgpd.conf')
  writeFileSync(conf, frrConfig(plan, peers))
  const bgpd = '/usr/lib/frr/bgpd'
  const version = execFileSync(bgpd, ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim()
  const { proc, logFile } = startLogged(
    bgpd,
    ['-f', conf, '-Z', '-S', '-l', plan.address, '-p', '179', '-i', join(dir, 'bgpd.pid'), '--vty_socket', dir, '-P', '0'],
    dir,
    'bgpd',
  )
  const daemon: RunningDaemon = {
    name: 'frr',
    version,
    process: proc,
    logFile,
    stop: () => stopProcess(proc),
    shutdownPeer: async (peer, message) => {
      execFileSync(
        'vtysh',
        ['--vty_socket', dir, '-d', 'bgpd', '-c', 'configure terminal', '-c', `router bgp ${plan.asn}`, '-c', `neighbor ${peer} shutdown message ${message}`],
        { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] },
      )
    },
  }
  try {
    await waitForPort(plan.address, 179, 10_000, proc)
  } catch (err) {
    await daemon.stop()
    throw new Error(`${(err as Error).message}\n${tail(logFile)}`)
  }
  return daemon
}

// ---------------------------------------------------------------- BIRD 2

function birdRd(rd: RouteDistinguisher): string {
  return `${rd.admin}:${rd.assigned}`
}

function birdAttrs(r: DaemonPlan['routes'][number]): string {
  const a: string[] = [`bgp_origin = ORIGIN_${r.origin.toUpperCase()};`]
  if (r.med !== undefined) a.push(`bgp_med = ${r.med};`)
  if (r.localPref !== undefined) a.push(`bgp_local_pref = ${r.localPref};`)
  for (const c of r.communities ?? []) a.push(`bgp_community.add((${c.replace(':', ',')}));`)
  for (const c of r.largeCommunities ?? []) a.push(`bgp_large_community.add((${c.split(':').join(',')}));`)
  for (const asn of [...(r.asPath ?? [])].reverse()) a.push(`bgp_path.prepend(${asn});`)
  for (const t of r.routeTargets ?? []) a.push(`bgp_ext_community.add((rt, ${t.admin}, ${t.assigned}));`)
  // RFC 9012 encapsulation: transitive opaque 0x03, subtype 0x0c, tunnel type in the last 2 bytes
  if (r.encapsulation !== undefined) a.push(`bgp_ext_community.add((generic, 0x030c0000, ${r.encapsulation}));`)
  return a.join(' ')
}

export function birdConfig(plan: DaemonPlan, peers: PeerConfig[]): string {
  const L: string[] = [`router id ${plan.routerId};`, 'log stderr all;', 'protocol device { }', 'vpn4 table vtab4;', 'vpn6 table vtab6;']
  const table: Record<string, string> = { 'ipv4-unicast': 'ipv4', 'ipv6-unicast': 'ipv6', vpnv4: 'vpn4 { table vtab4; }', vpnv6: 'vpn6 { table vtab6; }' }
  for (const f of plan.families) {
    if (!table[f]) throw new Error(`bird: family ${f} not supported`)
    L.push(`protocol static st_${f.replace('-', '_')} {`, `  ${table[f]};`)
    for (const r of plan.routes.filter(x => x.family === f)) {
      const net = f === 'vpnv4' || f === 'vpnv6' ? `${birdRd(r.rd as RouteDistinguisher)} ${r.prefix}` : r.prefix
      const mpls = r.labels?.length ? ` mpls ${r.labels.join('/')}` : ''
      L.push(`  route ${net} via ${r.nextHop}${mpls} { ${birdAttrs(r)} };`)
    }
    L.push('}')
  }
  const channel: Record<string, string> = {
    'ipv4-unicast': 'ipv4 { import none; export all; };',
    'ipv6-unicast': 'ipv6 { import none; export all; };',
    vpnv4: 'vpn4 mpls { table vtab4; import none; export all; };',
    vpnv6: 'vpn6 mpls { table vtab6; import none; export all; };',
  }
  peers.forEach((p, i) => {
    L.push(
      `protocol bgp peer${i} {`,
      `  local ${plan.address} as ${plan.asn};`,
      `  neighbor ${p.address} as ${p.asn};`,
      '  passive on;',
      // the recorder's addresses are local to the namespace, which BIRD never takes for a direct neighbour
      '  multihop;',
      `  hold time ${plan.holdTime};`,
      ...p.families.map(f => `  ${channel[f]}`),
      '}',
    )
  })
  return L.join('\n') + '\n'
}

export async function startBird(plan: DaemonPlan, dir: string, peers: PeerConfig[]): Promise<RunningDaemon> {
  const conf = join(dir, 'bird.conf')
  writeFileSync(conf, birdConfig(plan, peers))
  const v = spawnSync('bird', ['--version'], { encoding: 'utf8' }) // BIRD prints its version on stderr
  const version = `${v.stdout}${v.stderr}`.trim()
  const sock = join(dir, 'bird.ctl')
  const { proc, logFile } = startLogged('bird', ['-f', '-c', conf, '-s', sock], dir, 'bird')
  const daemon: RunningDaemon = {
    name: 'bird',
    version,
    process: proc,
    logFile,
    stop: () => stopProcess(proc),
    shutdownPeer: async (peer, message) => {
      const i = peers.findIndex(p => p.address === peer)
      // `disable <protocol> "<text>"` sends Cease/Administrative Shutdown with the RFC 9003 text
      execFileSync('birdc', ['-s', sock, 'disable', `peer${i}`, `"${message}"`], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] })
    },
  }
  try {
    await waitForPort(plan.address, 179, 10_000, proc)
  } catch (err) {
    await daemon.stop()
    throw new Error(`${(err as Error).message}\n${tail(logFile)}`)
  }
  return daemon
}

// ---------------------------------------------------------------- ExaBGP 4.2

function hex(n: number, bytes: number): string {
  return n.toString(16).padStart(bytes * 2, '0')
}

/** An extended community as ExaBGP's config takes it. IPv4 and 4-octet-AS route targets are
 * written as raw hex: ExaBGP 4.2 mis-encodes `target:A.B.C.D:n` as a 2-octet-AS one. */
function exaRouteTarget(t: RouteTargetSpec): string {
  if (t.type === 0) return `target:${t.admin}:${t.assigned}`
  if (t.type === 1) return `0x0102${(t.admin as string).split('.').map(o => hex(Number(o), 1)).join('')}${hex(t.assigned, 2)}`
  return `0x0202${hex(t.admin as number, 4)}${hex(t.assigned, 2)}`
}

function exaRd(rd: RouteDistinguisher): string {
  // ExaBGP picks the RD type from the administrator's form (IPv4, or AS above 65535 -> type 2)
  return `${rd.admin}:${rd.assigned}`
}

export function exabgpConfig(plan: DaemonPlan, peers: PeerConfig[]): string {
  const fam: Record<FamilyName, string | undefined> = {
    'ipv4-unicast': 'ipv4 unicast',
    'ipv6-unicast': 'ipv6 unicast',
    vpnv4: 'ipv4 mpls-vpn',
    vpnv6: 'ipv6 mpls-vpn',
    rtc: undefined,
  }
  const L: string[] = []
  for (const p of peers) {
    L.push(
      `neighbor ${p.address} {`,
      `  router-id ${plan.routerId};`,
      `  local-address ${plan.address};`,
      `  local-as ${plan.asn};`,
      `  peer-as ${p.asn};`,
      `  hold-time ${plan.holdTime};`,
      '  family {',
      ...p.families.map(f => {
        if (!fam[f]) throw new Error(`exabgp: family ${f} not supported`)
        return `    ${fam[f]};`
      }),
      '  }',
      '  capability {',
      '    route-refresh;',
      '    asn4 enable;',
      '  }',
      '  static {',
    )
    for (const r of plan.routes.filter(x => p.families.includes(x.family))) {
      const a: string[] = [`route ${r.prefix}`]
      if (r.rd) a.push(`rd ${exaRd(r.rd)}`)
      if (r.labels?.length) a.push(r.labels.length === 1 ? `label ${r.labels[0]}` : `label [${r.labels.join(' ')}]`)
      a.push(`next-hop ${r.nextHop}`, `origin ${r.origin}`)
      if (r.asPath?.length) a.push(`as-path [${r.asPath.join(' ')}]`)
      if (r.med !== undefined) a.push(`med ${r.med}`)
      if (r.localPref !== undefined) a.push(`local-preference ${r.localPref}`)
      if (r.communities?.length) a.push(`community [${r.communities.join(' ')}]`)
      if (r.largeCommunities?.length) a.push(`large-community [${r.largeCommunities.join(' ')}]`)
      const ext = (r.routeTargets ?? []).map(exaRouteTarget)
      if (r.encapsulation !== undefined) ext.push(`0x030c0000${hex(0, 2)}${hex(r.encapsulation, 2)}`)
      if (ext.length) a.push(`extended-community [${ext.join(' ')}]`)
      L.push(`    ${a.join(' ')};`)
    }
    L.push('  }', '}')
  }
  return L.join('\n') + '\n'
}

export async function startExabgp(plan: DaemonPlan, dir: string, peers: PeerConfig[]): Promise<RunningDaemon> {
  const conf = join(dir, 'exabgp.conf')
  writeFileSync(conf, exabgpConfig(plan, peers))
  const version = execFileSync('exabgp', ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim()
  const env = {
    ...process.env,
    'exabgp.daemon.user': 'root',
    'exabgp.daemon.daemonize': 'false',
    'exabgp.log.destination': 'stdout',
    'exabgp.api.cli': 'false',
    'exabgp.tcp.bind': '',
  }
  const { proc, logFile } = startLogged('exabgp', [conf], dir, 'exabgp', env)
  return { name: 'exabgp', version: `ExaBGP ${version.replace(/^ExaBGP\s*:\s*/, '')}`, process: proc, logFile, stop: () => stopProcess(proc) }
}

/** Starts the daemon of `plan` with sessions to `peers`, its routes already configured. */
export async function startDaemon(plan: DaemonPlan, dir: string, peers: PeerConfig[]): Promise<RunningDaemon> {
  switch (plan.daemon) {
    case 'gobgp':
      return startGobgp(plan, dir, peers)
    case 'frr':
      return startFrr(plan, dir, peers)
    case 'bird':
      return startBird(plan, dir, peers)
    case 'exabgp':
      return startExabgp(plan, dir, peers)
    default:
      throw new Error(`no starter for ${plan.daemon}`)
  }
}

