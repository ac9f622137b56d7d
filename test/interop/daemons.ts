/**
 * Config writers and start/stop for the real BGP daemons we interoperate with (Debian packages):
 * gobgpd 3.10 (+ gobgp CLI over gRPC), FRR 8.4 bgpd (standalone, `-Z`, no zebra), BIRD 2.0.12 and
 * ExaBGP 4.2. Every function here expects to run INSIDE a network namespace of our own (see
 * netns.ts): daemons bind 127.0.0.x of that namespace's loopback, control sockets live in a private
 * temp directory, and `stop()` kills the daemon (the namespace's teardown kills anything left).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { openSync, writeFileSync, closeSync, readFileSync } from 'node:fs'
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

function gobgpCli(args: string[]): string {
  return execFileSync('gobgp', args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] })
}

export async function startGobgp(plan: DaemonPlan, dir: string, peers: PeerConfig[]): Promise<RunningDaemon> {
  const conf = join(dir, 'gobgpd.toml')
  writeFileSync(conf, gobgpConfig(plan, peers))
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

/** Starts the daemon of `plan` with sessions to `peers`, its routes already configured. */
export async function startDaemon(plan: DaemonPlan, dir: string, peers: PeerConfig[]): Promise<RunningDaemon> {
  switch (plan.daemon) {
    case 'gobgp':
      return startGobgp(plan, dir, peers)
    default:
      throw new Error(`no starter for ${plan.daemon}`)
  }
}

