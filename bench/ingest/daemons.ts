/**
 * The daemons the ingest benchmark compares against (Debian packages), each as the receiver of one
 * passive eBGP session from the injector, RIB only (nothing goes to a kernel):
 * - BIRD 2.0.12: one `protocol bgp` with one channel (ipv4, or vpn4 mpls into a vpn4 table), import
 *   all, export none; no kernel protocol. Count: `birdc show route count table T`.
 * - FRR bgpd 8.4.4: standalone with `-Z` (no zebra: nothing is installed anywhere), one neighbor
 *   activated in ipv4 unicast or ipv4 vpn, an outbound route-map that denies everything (export
 *   none); `bgp retain route-target all` so VPN routes are kept with no VRF importing them. Count: the table's prefix count from `vtysh ... show bgp <afi> summary json`.
 * - GoBGP 3.10: gobgpd without zebra, one passive neighbor with the one AFI/SAFI and a default
 *   export policy of reject-route (export none). Count:
 *   `gobgp global rib -a <family> summary` (destinations and paths).
 * Every daemon runs inside the receiver's namespace (its control sockets in a private temp
 * directory; GoBGP's gRPC on the namespace's own 127.0.0.1), with stdout and stderr in a log file.
 */
import { spawnSync, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { NetPair } from './netns.js'
import { INJECTOR_ADDRESS, INJECTOR_AS, RECEIVER_ADDRESS, RECEIVER_AS, type Scenario } from './scenario.js'

export type DaemonKind = 'bird' | 'frr' | 'gobgp'

export interface DaemonHandle {
  readonly kind: DaemonKind | 'gsi-routerd'
  readonly proc: ChildProcess
  readonly pid: number
  readonly logFile: string
  /** Routes of the scenario's family in the daemon's RIB (from its own CLI). */
  count(): number
  log(): string
  /** What else the receiver set up (bench/daemon: the TGW namespace), removed after the cell. */
  cleanup?(): void
  /** Asks the receiver to exit on its own before it is killed (a --cpu-prof profile is written at exit). */
  stop?(): Promise<void>
}

export const DAEMON_VERSIONS: Record<DaemonKind, string> = { bird: 'BIRD 2.0.12', frr: 'FRR bgpd 8.4.4', gobgp: 'GoBGP 3.10' }

/** The installed version, checked against the one the table names (a different one is a failure). */
export function daemonVersion(kind: DaemonKind): string {
  const r =
    kind === 'bird'
      ? spawnSync('bird', ['--version'], { encoding: 'utf8' })
      : kind === 'frr'
        ? spawnSync('/usr/lib/frr/bgpd', ['--version'], { encoding: 'utf8' })
        : spawnSync('gobgpd', ['--version'], { encoding: 'utf8' })
  if (r.error !== undefined) throw new Error(`${kind}: not installed (${r.error.message})`)
  return `${r.stdout}${r.stderr}`.split('\n')[0]?.trim() ?? ''
}

function birdConf(s: Scenario, dir: string): string {
  const vpn = s.name === 'vpnv4'
  return [
    `router id ${RECEIVER_ADDRESS};`,
    `log "${join(dir, 'bird.log')}" { warning, error, fatal, bug };`,
    'protocol device { scan time 60; }',
    ...(vpn ? ['vpn4 table vtab4;'] : []),
    'protocol bgp injector {',
    `  local ${RECEIVER_ADDRESS} as ${RECEIVER_AS};`,
    `  neighbor ${INJECTOR_ADDRESS} as ${INJECTOR_AS};`,
    '  passive on;',
    '  hold time 240;',
    vpn ? '  vpn4 mpls { table vtab4; import all; export none; };' : '  ipv4 { import all; export none; };',
    '}',
    '',
  ].join('\n')
}

function frrConf(s: Scenario): string {
  const af = s.name === 'vpnv4' ? 'ipv4 vpn' : 'ipv4 unicast'
  return [
    'frr defaults traditional',
    'hostname gsib-frr',
    'log stdout warnings',
    '!',
    // Export none (BIRD's `export none`): nothing goes back to the injector.
    'route-map GSIB-NONE deny 10',
    '!',
    `router bgp ${RECEIVER_AS}`,
    ` bgp router-id ${RECEIVER_ADDRESS}`,
    ' no bgp ebgp-requires-policy',
    ' no bgp default ipv4-unicast',
    ' bgp retain route-target all',
    ` neighbor ${INJECTOR_ADDRESS} remote-as ${INJECTOR_AS}`,
    ` neighbor ${INJECTOR_ADDRESS} passive`,
    ` neighbor ${INJECTOR_ADDRESS} timers 80 240`,
    ` address-family ${af}`,
    `  neighbor ${INJECTOR_ADDRESS} activate`,
    `  neighbor ${INJECTOR_ADDRESS} route-map GSIB-NONE out`,
    ' exit-address-family',
    '!',
    '',
  ].join('\n')
}

function gobgpConf(s: Scenario): string {
  const afiSafi = s.name === 'vpnv4' ? 'l3vpn-ipv4-unicast' : 'ipv4-unicast'
  return [
    '[global.config]',
    `  as = ${RECEIVER_AS}`,
    `  router-id = "${RECEIVER_ADDRESS}"`,
    '  port = 179',
    `  local-address-list = ["${RECEIVER_ADDRESS}"]`,
    '',
    '[[neighbors]]',
    '  [neighbors.config]',
    `    neighbor-address = "${INJECTOR_ADDRESS}"`,
    `    peer-as = ${INJECTOR_AS}`,
    '  [neighbors.timers.config]',
    '    hold-time = 240',
    '    keepalive-interval = 80',
    // Export none (BIRD's `export none`): nothing goes back to the injector.
    '  [neighbors.apply-policy.config]',
    '    default-export-policy = "reject-route"',
    '  [neighbors.transport.config]',
    '    passive-mode = true',
    `    local-address = "${RECEIVER_ADDRESS}"`,
    '  [[neighbors.afi-safis]]',
    '    [neighbors.afi-safis.config]',
    `      afi-safi-name = "${afiSafi}"`,
    '',
  ].join('\n')
}

/** Starts the daemon inside the receiver's namespace; resolves when its CLI answers. */
export async function startDaemon(kind: DaemonKind, pair: NetPair, s: Scenario, dir: string): Promise<DaemonHandle> {
  const logFile = join(dir, `${kind}.log`)
  const fd = openSync(logFile, 'a')
  const ns = pair.receiverNs
  let proc: ChildProcess
  let count: () => number
  let probe: () => void
  if (kind === 'bird') {
    const conf = join(dir, 'bird.conf')
    writeFileSync(conf, birdConf(s, dir))
    const sock = join(dir, 'bird.ctl')
    proc = pair.spawnIn(ns, 'bird', ['-f', '-c', conf, '-s', sock, '-P', join(dir, 'bird.pid')], { stdio: ['ignore', fd, fd], cwd: dir })
    const table = s.name === 'vpnv4' ? 'vtab4' : 'master4'
    probe = () => pair.execIn(ns, 'birdc', ['-s', sock, 'show', 'status'], 5000)
    count = () => {
      const out = pair.execIn(ns, 'birdc', ['-s', sock, 'show', 'route', 'count', 'table', table], 60_000)
      // "1000000 of 1000000 routes for 1000000 networks in table master4"
      const m = /(\d+) of (\d+) routes for (\d+) networks in table/.exec(out)
      if (m === null) throw new Error(`birdc show route count: unexpected output ${JSON.stringify(out.slice(0, 300))}`)
      return Number(m[3])
    }
  } else if (kind === 'frr') {
    const conf = join(dir, 'bgpd.conf')
    writeFileSync(conf, frrConf(s))
    proc = pair.spawnIn(
      ns,
      '/usr/lib/frr/bgpd',
      ['-f', conf, '-Z', '-S', '-l', RECEIVER_ADDRESS, '-p', '179', '-i', join(dir, 'bgpd.pid'), '--vty_socket', dir, '-P', '0'],
      { stdio: ['ignore', fd, fd], cwd: dir },
    )
    const vtysh = (cmd: string, timeoutMs: number): string => pair.execIn(ns, 'vtysh', ['--vty_socket', dir, '-d', 'bgpd', '-c', cmd], timeoutMs)
    const afi = s.name === 'vpnv4' ? 'ipv4 vpn' : 'ipv4 unicast'
    probe = () => {
      vtysh('show bgp summary', 5000)
    }
    count = () => {
      const j = JSON.parse(vtysh(`show bgp ${afi} summary json`, 60_000)) as { ribCount?: number; peers?: Record<string, { pfxRcd?: number }> }
      const rcvd = j.peers?.[INJECTOR_ADDRESS]?.pfxRcd
      if (typeof j.ribCount !== 'number' || typeof rcvd !== 'number') throw new Error(`vtysh show bgp ${afi} summary json: no ribCount/pfxRcd in ${JSON.stringify(j).slice(0, 300)}`)
      // ribCount counts RIB nodes (VPN: RD nodes too); every route is one path from the one peer.
      return rcvd
    }
  } else {
    const conf = join(dir, 'gobgpd.toml')
    writeFileSync(conf, gobgpConf(s))
    proc = pair.spawnIn(ns, 'gobgpd', ['-f', conf, '-l', 'warn', '--api-hosts', '127.0.0.1:50051', '--pprof-disable'], { stdio: ['ignore', fd, fd], cwd: dir })
    const fam = s.name === 'vpnv4' ? 'vpnv4' : 'ipv4'
    probe = () => pair.execIn(ns, 'gobgp', ['-u', '127.0.0.1', '-p', '50051', 'global'], 5000)
    count = () => {
      const out = pair.execIn(ns, 'gobgp', ['-u', '127.0.0.1', '-p', '50051', 'global', 'rib', '-a', fam, 'summary'], 60_000)
      // "Table vpnv4\nDestination: 500000, Path: 500000"
      const m = /Destination:\s*(\d+),\s*Path:\s*(\d+)/.exec(out)
      if (m === null) throw new Error(`gobgp global rib summary: unexpected output ${JSON.stringify(out.slice(0, 300))}`)
      return Number(m[1])
    }
  }
  closeSync(fd)
  const log = (): string => {
    try {
      return readFileSync(logFile, 'utf8').slice(-3000)
    } catch {
      return ''
    }
  }
  const deadline = Date.now() + 15_000
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`${kind} exited at start: ${log()}`)
    try {
      probe()
      break
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`${kind}: CLI does not answer after 15 s (${(e as Error).message}); log: ${log()}`)
      await new Promise((r) => setTimeout(r, 150))
    }
  }
  if (proc.pid === undefined) throw new Error(`${kind}: no pid`)
  return { kind, proc, pid: proc.pid, logFile, count, log }
}
