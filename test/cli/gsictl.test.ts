/**
 * gsictl against a local API server (a real Unix socket in a temp dir) answering from a fake
 * DaemonView: each command's text (the shapes vtysh and Junos users read) and its --json (the API's
 * answer as is), abbreviations, paging, usage errors (exit 2, unknown flags refused), API errors
 * (exit 1, the field named), and the daemon not running (exit 1, the socket path named), the last
 * also through the real entry point src/bin/gsictl.ts in a child process.
 */
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ApiServer, type BgpSummary, type FibView, type RoutePage } from '../../src/api/index.js'
import { parseCommand, runGsictl, upDown, USAGE } from '../../src/cli/index.js'
import { FakeDaemonView, NOW } from '../helpers/fake-daemon-view.js'

const ROOT = join(import.meta.dirname, '..', '..')

async function start(t: Test) {
  const dir = await mkdtemp(join(tmpdir(), 'gsictl-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const path = join(dir, 'api.sock')
  const view = new FakeDaemonView()
  const server = await ApiServer.start({ path, view })
  t.teardown(() => server.close())
  const ctl = async (...argv: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = ''
    let err = ''
    const code = await runGsictl(['--socket', path, ...argv], { stdout: { write: s => (out += s) }, stderr: { write: s => (err += s) }, now: () => NOW })
    return { code, out, err }
  }
  return { dir, path, view, ctl }
}

t.test('show bgp summary: FRR columns per family, the quota line; abbreviations reach it', async t => {
  const { ctl } = await start(t)
  const r = await ctl('show', 'bgp', 'summary')
  t.equal(r.code, 0)
  t.equal(r.err, '')
  t.equal(r.out, `BGP router identifier 10.0.0.5, local AS number 64512
Ready: yes

IPv4 Unicast Summary:
Neighbor     V     AS  MsgRcvd  MsgSent   Up/Down  State/PfxRcd  PfxSnt  Side  Desc
169.254.6.2  4  64513      414      389  01:02:03             2       2  tgw   tgw-a
169.254.6.3  4  64513      125      122  00:01:35        Active       0  tgw   tgw-b

IPv4 VPN Summary:
Neighbor   V     AS  MsgRcvd  MsgSent   Up/Down  State/PfxRcd  PfxSnt  Side  Desc
10.0.0.10  4  64512    41501    40032  01w2d01h             3       2  cn2   cn2-1

IPv6 VPN Summary:
Neighbor   V     AS  MsgRcvd  MsgSent   Up/Down  State/PfxRcd  PfxSnt  Side  Desc
10.0.0.10  4  64512    41501    40032  01w2d01h             0       0  cn2   cn2-1

Route Target Constraint Summary:
Neighbor   V     AS  MsgRcvd  MsgSent   Up/Down  State/PfxRcd  PfxSnt  Side  Desc
10.0.0.10  4  64512    41501    40032  01w2d01h             2       1  cn2   cn2-1

Total number of neighbors 3

Transit Gateway prefixes: 2 advertised of a quota of 1000, 2 refused over the quota (gsictl show gateway lists them)
`)
  t.same(await ctl('sh', 'bgp', 'sum'), r, 'sh bgp sum is the same command')
  t.same(await ctl('SHOW', 'BGP', 'SUMMARY'), r, 'keywords are case-insensitive')
})

t.test('summary follows the view: not ready with its reason, a peer down by hand', async t => {
  const { ctl, view } = await start(t)
  view.ready = false
  view.peerList[0] = { ...view.peerList[0]!, enabled: false, session: { ...view.peerList[0]!.session, state: 'Idle', stateSince: NOW - 5000 } }
  const r = await ctl('sh', 'bgp', 'sum')
  t.match(r.out, /^Ready: no, waiting for End-of-RIB from 169\.254\.6\.3$/m)
  t.match(r.out, /^169\.254\.6\.2 +4 +64513 +414 +389 +00:00:05 +Idle \(Admin\) +2 +tgw +tgw-a$/m)
})

t.test('show bgp neighbor: FRR-style detail; one by address, by name, or all', async t => {
  const { ctl } = await start(t)
  const one = await ctl('show', 'bgp', 'neighbor', '169.254.6.2')
  t.equal(one.code, 0)
  for (const line of [
    'BGP neighbor is 169.254.6.2, remote AS 64513, external link',
    '  Description: tgw-a (Transit Gateway)',
    '  BGP state = Established, up for 01:02:03',
    '  Hold time is 30 seconds, keepalive interval is 10 seconds',
    '  Neighbor capabilities: 4-octet AS, route refresh, graceful restart (restart time 120 s, N bit)',
    '    Updates:          12    40',
    '    Total:           389   414',
    '    ipv4-unicast         3         2     2           2      0  yes/yes',
    '  Last reset 01:03:20 ago, due to hold-timer-expired',
    '  Last notification sent 01:03:20 ago: 4/0 Hold Timer Expired',
    '  Local host: 169.254.6.1, Local port: 41234',
    '  Connection outgoing; TTL 2',
  ]) t.ok(one.out.split('\n').includes(line), `has: ${line}`)
  const byName = await ctl('sh', 'bgp', 'nei', 'tgw-b')
  t.match(byName.out, /^ {2}BGP state = Active, for 00:01:35$/m)
  t.match(byName.out, /^ {2}Last notification received 00:01:35 ago: 6\/2 Cease\/Administrative Shutdown "maintenance"$/m)
  t.match(byName.out, /^ {2}Connect retries: 7$/m)
  const all = await ctl('show', 'bgp', 'neighbors')
  t.equal(all.out.match(/^BGP neighbor is /gm)?.length, 3)
  const none = await ctl('show', 'bgp', 'neighbor', '192.0.2.1')
  t.equal(none.code, 1)
  t.equal(none.out, '')
  t.equal(none.err, 'gsictl: params.address: no neighbor "192.0.2.1" (configured: 169.254.6.2, 169.254.6.3, 10.0.0.10)\n')
})

t.test('show bgp route: Junos show route shape, filters by family, prefix, RD; paging', async t => {
  const { ctl } = await start(t)
  const vpn = await ctl('show', 'bgp', 'route', 'inet-vpn', '10.244.2.0/24')
  t.equal(vpn.code, 0)
  t.equal(vpn.out, `l3vpn-ipv4-unicast: 3 destinations, 3 paths
+ = best path, * = in the multipath set, S = stale (graceful restart)

IPv4 VPN (l3vpn-ipv4-unicast):

64512:7:10.244.2.0/24
    + [BGP] from 10.0.0.10 (cn2-1), localpref 100
          AS path: I
        > to 10.0.1.3, label 18
          Extended communities: rt:64512:7 encap:udp

64512:8:10.244.2.0/24
    +S[BGP] from 10.0.0.10 (cn2-1), localpref 100
          AS path: ?
        > to 10.0.1.4, label 19
          Extended communities: rt:64512:8
`)
  const rd = await ctl('show', 'bgp', 'route', 'vpnv4', '--rd', '64512:8')
  t.same(rd.out.match(/^64512:\S+$/gm), ['64512:8:10.244.2.0/24'])
  const v4 = await ctl('sh', 'bgp', 'ro', 'inet')
  t.same(v4.out.match(/^\d\S+\/\d+$/gm), ['10.1.0.0/16', '10.2.0.0/16', '10.244.0.0/16'])
  t.match(v4.out, /^10\.2\.0\.0\/16\n {4}\+ \[BGP\] from 169\.254\.6\.2 \(tgw-a\)\n {10}AS path: 64513 65010 I\n {8}> to 169\.254\.6\.2\n {10}Communities: 64513:100$/m)
  t.match(v4.out, /^10\.244\.0\.0\/16\n {4}\+ \[BGP\] from local \(originated here\)\n {10}AS path: I\n {8}> to self$/m)

  const paged = await ctl('show', 'bgp', 'route', '--limit', '4')
  t.equal(paged.out.match(/\[BGP\]/g)?.length, 4)
  t.match(paged.out, /\(4 paths shown; more follow: --all shows every page, --limit N a larger one\)\n$/)
  const all = await ctl('show', 'bgp', 'route', '--all')
  t.equal(all.out.match(/\[BGP\]/g)?.length, 6)
  t.notMatch(all.out, /more follow/)
  const none = await ctl('show', 'bgp', 'route', '192.0.2.0/24')
  t.match(none.out, /\nNo matching routes\.\n$/)
})

t.test('show bgp route received-from / advertised-to a peer', async t => {
  const { ctl } = await start(t)
  const rcvd = await ctl('show', 'bgp', 'route', 'received-from', '169.254.6.2')
  t.match(rcvd.out, /^Routes received from 169\.254\.6\.2\n\nipv4-unicast: 2 destinations, 2 paths\n/)
  t.same(rcvd.out.match(/^\d\S+\/\d+$/gm), ['10.1.0.0/16', '10.2.0.0/16'])
  const adv = await ctl('sh', 'bgp', 'ro', 'adv', 'cn2-1')
  t.match(adv.out, /^Routes advertised to cn2-1\n/)
  t.match(adv.out, /^10\.0\.0\.5:1:10\.1\.0\.0\/16\n {4}\+ \[BGP\] from 10\.0\.0\.10 \(cn2-1\), localpref 100\n {10}AS path: I\n {8}> to 10\.0\.0\.5, label 100\n {10}Extended communities: rt:64512:7 encap:udp$/m)
  const unknown = await ctl('show', 'bgp', 'route', 'received-from', '192.0.2.7')
  t.equal(unknown.code, 1)
  t.match(unknown.err, /^gsictl: params\.peer: no neighbor "192\.0\.2\.7"/)
})

t.test('show tunnels, fib, config, gateway', async t => {
  const { ctl } = await start(t)
  const tun = await ctl('show', 'tunnels')
  t.equal(tun.out, `GRE links (one per Transit Gateway Connect peer):
Name          State    Local     Remote       MTU  Inside address  TGW BGP peers              In sync
gsig64000100  up       10.0.0.5  100.64.0.1  8476  169.254.6.1/29  169.254.6.2 169.254.6.3    yes
gsig64000200  missing  10.0.0.5  100.64.0.2     -  169.254.6.9/29  169.254.6.10 169.254.6.11  no

MPLSoUDP tunnels (one per vRouter, UDP 6635):
Name          State  vRouter   Routes
gsim0a000102  up     10.0.1.2       1
gsim0a000103  down   10.0.1.3       2
`)
  const fib = await ctl('sh', 'fib')
  t.match(fib.out, /^FIB: synced; 5 routes wanted, 4 in the kernel; last sync 00:00:02 ago \(7 ms\)$/m)
  t.match(fib.out, /^ {2}100 {2}gsiv100 {4}100 {7}5$/m)
  t.match(fib.out, /^ {2}Routes {11}12 {9}3 {8}2$/m)
  t.match(fib.out, /^ {2}Adopted at start 5, drift repaired 1, syncs 30, errors 4$/m)
  t.match(fib.out, /^ {2}Last error: RTM_NEWROUTE 10\.9\.0\.0\/16 table 100: No such device \(ENODEV\)$/m)
  const cfg = await ctl('show', 'config')
  t.match(cfg.out, /^routerId: 10\.0\.0\.5$/m)
  t.match(cfg.out, /^ {2}controlNodes:\n {4}- address: 10\.0\.0\.10\n {6}asn: 64512$/m)
  const gw = await ctl('show', 'gateway')
  t.equal(gw.out, `Transit Gateway prefixes: 2 advertised of a quota of 1000, 2 refused over the quota
Routes from the Transit Gateway: 3 (warning above 5000)

Refused (not advertised to the Transit Gateway):
  10.250.0.0/24
  10.250.1.0/24
`)
})

t.test('show fib lists the routes as Junos show route table does, sorted, paged, filtered, with --json', async t => {
  const { ctl, view } = await start(t)
  const fib = await ctl('show', 'fib')
  t.equal(fib.code, 0)
  const listing = fib.out.slice(fib.out.indexOf('Table 100 ('))
  t.equal(listing, `Table 100 (VRF gsiv100, label 100): 5 routes
10.0.0.0/16
        > via 169.254.6.2, GRE gsig64000100
        > via 169.254.6.3, GRE gsig64000100
10.9.0.0/16
        > via 169.254.6.10, GRE gsig64000200
10.244.1.0/24
        > to vRouter 10.0.1.2 via gsim0a000102, Push 17, weight 2
10.244.2.0/24
        > to vRouter 10.0.1.3 via gsim0a000103, Push 18
fd00:244::/64
        > to vRouter 10.0.1.3 via gsim0a000103, Push 20
`, 'numeric order (10.9 before 10.244), IPv4 before IPv6, ECMP as one line per next hop')

  const page = await ctl('show', 'fib', '--limit', '2')
  t.match(page.out, /^10\.9\.0\.0\/16$/m, 'the first page')
  t.notMatch(page.out, /10\.244\.1\.0/, 'stops at the limit')
  t.match(page.out, /^\(more routes: --all lists every page, --limit N sets the page size\)$/m, 'says there is more')
  const p1 = JSON.parse((await ctl('show', 'fib', '--limit', '2', '--json')).out) as FibView
  t.same(p1.routes.map(r => r.prefix), ['10.0.0.0/16', '10.9.0.0/16'])
  t.equal(p1.next, '100 10.9.0.0/16', 'the cursor names the last route')
  // a route added before the cursor while paging is not repeated nor does it shift the next page
  view.fibRoutes.push({ table: 100, prefix: '10.1.0.0/16', nexthops: [{ kind: 'gre', via: '169.254.6.2', dev: 'gsig64000100', weight: 1 }] })
  const p2 = view.fib({ limit: 2, after: p1.next as string })
  t.same(p2.routes.map(r => r.prefix), ['10.244.1.0/24', '10.244.2.0/24'])
  view.fibRoutes.pop()
  const all = JSON.parse((await ctl('show', 'fib', '--all', '--json')).out) as FibView
  t.same(all.routes.map(r => r.prefix), ['10.0.0.0/16', '10.9.0.0/16', '10.244.1.0/24', '10.244.2.0/24', 'fd00:244::/64'], '--all walks every page')
  t.equal(all.next, undefined)
  t.same(all.routes[0]?.nexthops, [{ kind: 'gre', via: '169.254.6.2', dev: 'gsig64000100', weight: 1 }, { kind: 'gre', via: '169.254.6.3', dev: 'gsig64000100', weight: 1 }])
  const one = JSON.parse((await ctl('show', 'fib', '10.244.2.9', '--json')).out) as FibView
  t.same(one.routes.map(r => r.prefix), ['10.244.2.0/24'], 'an address finds the route holding it')
  const exact = JSON.parse((await ctl('show', 'fib', '10.0.0.0/16', '--json')).out) as FibView
  t.same(exact.routes.map(r => r.prefix), ['10.0.0.0/16'], 'a prefix is exact')
  const bad = await ctl('show', 'fib', '10.0.0.1/16')
  t.equal(bad.code, 1)
  t.match(bad.err, /^gsictl: params\.prefix: "10\.0\.0\.1\/16" is not a prefix/, 'host bits refused, the field named')
  t.throws(() => view.fib({ after: 'nonsense' }), /params\.after: "nonsense" is not a FIB cursor/)
})

t.test('clear bgp neighbor and set log-level reach the daemon', async t => {
  const { ctl, view } = await start(t)
  const hard = await ctl('clear', 'bgp', 'neighbor', '169.254.6.3')
  t.equal(hard.out, 'Neighbor 169.254.6.3: session reset (Cease/Administrative Reset)\n')
  const soft = await ctl('cl', 'bgp', 'n', 'tgw-a', 'soft')
  t.equal(soft.out, 'Neighbor 169.254.6.2: route refresh sent, Adj-RIB-Out re-sent\n')
  t.same(view.cleared, [{ peer: '169.254.6.3', soft: false }, { peer: '169.254.6.2', soft: true }])
  const lvl = await ctl('set', 'log-level', 'DEBUG')
  t.equal(lvl.out, 'Log level info -> debug\n')
  t.equal(view.logLevel, 'debug')
  const bad = await ctl('set', 'log-level', 'loud')
  t.equal(bad.code, 1)
  t.equal(bad.err, 'gsictl: params.level: "loud" is not one of fatal, error, warn, info, debug, trace, silent\n')
})

t.test('--json on every command prints the API answer', async t => {
  const { ctl, view } = await start(t)
  const summary = JSON.parse((await ctl('--json', 'show', 'bgp', 'summary')).out) as BgpSummary
  t.same(summary.peers.map(p => [p.address, p.state, p.messagesReceived]), [['169.254.6.2', 'Established', 414], ['169.254.6.3', 'Active', 125], ['10.0.0.10', 'Established', 41501]])
  t.equal(summary.gateway.tgwQuota, 1000)
  const nbr = JSON.parse((await ctl('show', 'bgp', 'neighbor', '10.0.0.10', '--json')).out) as { session: { negotiated: { families: string[] } } }[]
  t.same(nbr[0]?.session.negotiated.families, ['l3vpn-ipv4-unicast', 'l3vpn-ipv6-unicast', 'rtc'])
  const routes = JSON.parse((await ctl('show', 'bgp', 'route', 'vpnv4', '--json', '--rd', '64512:7')).out) as RoutePage
  t.same(routes.routes.map(r => [r.prefix, r.label, r.nextHop]), [['64512:7:10.244.1.0/24', 17, '10.0.1.2'], ['64512:7:10.244.2.0/24', 18, '10.0.1.3']])
  const paged = JSON.parse((await ctl('show', 'bgp', 'route', '--json', '--limit', '5')).out) as RoutePage
  t.equal(paged.routes.length, 5)
  t.equal(paged.next, '5', 'the cursor is there for scripts')
  const all = JSON.parse((await ctl('show', 'bgp', 'route', '--json', '--all')).out) as RoutePage
  t.equal(all.routes.length, 6)
  t.same(JSON.parse((await ctl('show', 'tunnels', '--json')).out), view.tunnels())
  t.same(JSON.parse((await ctl('show', 'fib', '--json')).out), view.fib())
  t.same(JSON.parse((await ctl('show', 'config', '--json')).out), view.config())
  t.same(JSON.parse((await ctl('show', 'gateway', '--json')).out), view.gateway())
  t.same(JSON.parse((await ctl('clear', 'bgp', 'neighbor', 'tgw-a', '--json')).out), { peer: '169.254.6.2', soft: false, action: 'session reset (Cease/Administrative Reset)' })
  t.same(JSON.parse((await ctl('set', 'log-level', 'warn', '--json')).out), { level: 'warn', previous: 'info' })
})

t.test('usage errors exit 2 with the reason', async t => {
  const { ctl } = await start(t)
  const cases: [string[], string][] = [
    [['--jsn', 'show', 'fib'], "gsictl: Unknown option '--jsn'"],
    [[], 'gsictl: no command given'],
    [['s', 'bgp'], 'gsictl: ambiguous "s": show | set'],
    [['show', 'bgp'], 'gsictl: incomplete command: expected summary | neighbor | neighbors | route | routes after "show bgp"'],
    [['show', 'bgp', 'sunmary'], 'gsictl: unknown word "sunmary" after "show bgp": expected summary | neighbor | neighbors | route | routes'],
    [['show', 'fib', 'now'], 'gsictl: "now" after "show fib" is not a prefix or an address'],
    [['show', 'fib', '10.0.0.0/16', 'x'], 'gsictl: unexpected "x" after "show fib 10.0.0.0/16"'],
    [['show', 'tunnels', '--limit', '2'], 'gsictl: --limit: only for show bgp route and show fib'],
    [['show', 'fib', '--rd', '1:1'], 'gsictl: --rd: only for show bgp route'],
    [['show', 'bgp', 'route', '--limit', '0'], 'gsictl: --limit 0: must be an integer 1..10000'],
    [['show', 'bgp', 'route', '--all', '--limit', '3'], 'gsictl: --all and --limit: give one or the other'],
    [['show', 'bgp', 'route', 'inet', 'bogus'], 'gsictl: "bogus" after "show bgp route" is neither a family'],
    [['show', 'bgp', 'route', 'received-from'], 'gsictl: incomplete command: expected a peer after "show bgp route received-from"'],
    [['clear', 'bgp', 'neighbor'], 'gsictl: incomplete command: expected an address after "clear bgp neighbor"'],
    [['clear', 'bgp', 'neighbor', '10.0.0.10', 'hard'], 'gsictl: unknown word "hard" after "clear bgp neighbor 10.0.0.10": expected soft'],
  ]
  for (const [argv, msg] of cases) {
    const r = await ctl(...argv)
    t.equal(r.code, 2, argv.join(' '))
    t.ok(r.err.startsWith(msg), `${argv.join(' ')}: ${r.err}`)
    t.equal(r.out, '')
  }
  const help = await ctl('--help')
  t.equal(help.code, 0)
  t.equal(help.out, USAGE)
  for (const cmd of ['show bgp summary', 'show bgp route received-from PEER', 'clear bgp neighbor ADDRESS|NAME [soft]', 'set log-level']) t.ok(USAGE.includes(cmd), `--help lists ${cmd}`)
})

t.test('daemon not running: exit 1, the socket path named (ENOENT and ECONNREFUSED)', async t => {
  const { dir } = await start(t)
  const missing = join(dir, 'none', 'api.sock')
  let err = ''
  const code = await runGsictl(['--socket', missing, 'show', 'bgp', 'summary'], { stdout: { write: () => true }, stderr: { write: s => (err += s) } })
  t.equal(code, 1)
  t.equal(err, `gsictl: gsi-routerd is not running (or listens elsewhere): cannot connect to ${missing}: no such socket (ENOENT); give the daemon's socket with --socket PATH\n`)

  // A socket file nobody listens on (the daemon was killed): ECONNREFUSED.
  const stale = join(dir, 'stale.sock')
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`], { stdio: 'ignore' })
  await once(child, 'exit')
  err = ''
  t.equal(await runGsictl(['show', 'fib'], { stdout: { write: () => true }, stderr: { write: s => (err += s) }, env: { GSICTL_SOCKET: stale } }), 1)
  t.match(err, `cannot connect to ${stale}: nothing listens on it (ECONNREFUSED)`, 'GSICTL_SOCKET is honoured')
})

/** The environment without tap's own (its loaders in NODE_OPTIONS would make the child a tap run). */
function cleanEnv(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!/^(TAP|_TAPJS|NODE_OPTIONS$)/.test(k)) e[k] = v
  return e
}

async function gsictlProcess(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const p = spawn(process.execPath, ['--import', 'tsx', 'src/bin/gsictl.ts', ...args], { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  p.stdout.on('data', (d: Buffer) => (out += d.toString()))
  p.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const [code] = await once(p, 'exit') as [number | null]
  return { code, out, err }
}

t.test('the gsictl program: answers through its socket, exit 1 and the path when nothing listens', async t => {
  const { path, dir } = await start(t)
  const ok = await gsictlProcess(['--socket', path, 'sh', 'bgp', 'sum'])
  t.equal(ok.code, 0, ok.err)
  t.match(ok.out, /^169\.254\.6\.2 +4 +64513 +414 +389 /m)
  const missing = join(dir, 'gone.sock')
  const down = await gsictlProcess(['--socket', missing, 'show', 'bgp', 'summary'])
  t.equal(down.code, 1)
  t.equal(down.out, '')
  t.match(down.err, `gsi-routerd is not running (or listens elsewhere): cannot connect to ${missing}: no such socket (ENOENT)`)
})

t.test('grammar and time formats', async t => {
  t.same(parseCommand(['sh', 'bgp', 'ro', 'inet6', '2001:db8::/32']).params, { family: 'ipv6-unicast', prefix: '2001:db8::/32' })
  t.same(parseCommand(['show', 'bgp', 'route', '10.0.0.1', 'vpnv4']).params, { family: 'l3vpn-ipv4-unicast', prefix: '10.0.0.1' }, 'family and prefix in either order')
  t.same(parseCommand(['sh', 'bgp', 'ro', 'rec', '10.0.0.10', 'rtc']).params, { view: 'received', peer: '10.0.0.10', family: 'rtc' })
  t.equal(parseCommand(['sh', 't']).method, 'show.tunnels')
  t.same(['00:00:00', '01:02:03', '1d00h00m', '6d23h59m', '01w0d00h', '10w3d04h'], [0, 3_723_000, 86_400_000, 7 * 86_400_000 - 60_000, 7 * 86_400_000, (73 * 24 + 4) * 3_600_000].map(upDown))
})
