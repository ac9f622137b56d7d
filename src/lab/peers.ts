/**
 * The real daemons around gsi-routerd, each inside a network namespace: in the daemon tests (a
 * Topology), the kernel data-plane test and the lab (src/lab/net.ts):
 * - a CN2 control node played by gobgpd (iBGP, inet-vpn / inet6-vpn / route-target, graceful restart),
 *   originating pod routes as VPNv4 with RD, label, route target and encapsulation udp, as a control
 *   node reflects vRouter routes; checked through its own CLI (`gobgp -j`);
 * - the Transit Gateway's two BGP speakers per Connect peer played by BIRD (eBGP from the inside .2
 *   and .3, AS 64512 by default like a TGW), originating VPC CIDRs; checked through `birdc`.
 */
import { writeFileSync, readFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChildProcess, SpawnOptions } from 'node:child_process'

/** Where the peers run: the control node's and the TGW's namespaces, and the gateway nodes. */
export interface PeerHost {
  readonly cn2: string
  /** A second control node's namespace (Topology option controlNodes: 2). */
  readonly cn2b?: string | undefined
  readonly tgw: string
  readonly nodes: readonly {
    readonly index: number
    /** The node's address toward the control node (its BGP source). */
    readonly address: string
    /** The control node's address on the node's side (gobgpd's local address for that neighbour). */
    readonly controlNode: string
    /** The second control node's, when there is one. */
    readonly controlNode2?: string
    /** The node's inside address (.1) and the TGW's two (.2, .3); absent while the node has no
     * Connect peer (the lab's standby nodes): the TGW then has no session toward it. */
    readonly insideLocal?: string
    readonly tgwPeers?: readonly [string, string]
    /** With an IPv6 inside /125: our ::1 and the TGW's ::2 and ::3. */
    readonly insideLocal6?: string
    readonly tgwPeers6?: readonly [string, string]
  }[]
  spawn(ns: string, cmd: string, args: string[], opts?: SpawnOptions): ChildProcess
  exec(ns: string, cmd: string, args: string[], timeoutMs?: number): string
  /** The same without blocking the event loop (the lab serves its emulators from the same process);
   * absent: `exec`. */
  execAsync?(ns: string, cmd: string, args: string[], timeoutMs?: number): Promise<string>
}
type Topology = PeerHost

export const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms))

export async function waitUntil<T>(what: string, timeoutMs: number, f: () => T | undefined | false): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = f()
      if (v !== undefined && v !== false) return v
    } catch (e) {
      last = e
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`)
    await sleep(200)
  }
}

interface Proc {
  readonly proc: ChildProcess
  readonly dir: string
  stop(): Promise<void>
}

function startIn(topo: Topology, ns: string, cmd: string, args: string[], dir: string): Proc {
  const proc = topo.spawn(ns, cmd, args, { stdio: 'ignore', cwd: dir })
  return {
    proc, dir,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        const done = new Promise<void>(r => proc.once('exit', () => r()))
        proc.kill('SIGKILL')
        await done
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

// ---------------------------------------------------------------- CN2 control node (gobgpd)

export interface PodRoute {
  readonly prefix: string
  readonly rd: string
  readonly label: number
  readonly rt: string
  /** The vRouter holding the pod. */
  readonly vrouter: string
}

export interface ControlNode extends Proc {
  readonly asn: number
  cli(args: string[]): string
  json<T = unknown>(args: string[]): T
  /** `json` without blocking the event loop. */
  jsonAsync<T = unknown>(args: string[]): Promise<T>
  addPod(r: PodRoute): void
  delPod(r: PodRoute): void
  /** gobgpd's VPNv4 (or VPNv6) Adj-RIB-In from one node, as its JSON. */
  received(node: string, family?: 'vpnv4' | 'vpnv6'): GobgpDest[]
  neighborState(node: string): string
  /**
   * Configures as neighbours only the nodes with these addresses, as a CN2 control node peers only
   * with the BGPRouters it has: gobgpd reloads its file on SIGHUP, adding the new neighbours and
   * dropping the others (a dropped one loses its routes at once: a peer de-configured is no restart).
   * Returns whether anything changed.
   */
  setNeighbors(addresses: readonly string[]): boolean
}

export interface GobgpPath {
  nlri: { prefix: string; rd?: { admin?: number | string; assigned?: number } & Record<string, unknown>; labels?: { labels?: number[] } & Record<string, unknown> } & Record<string, unknown>
  attrs: ({ type: number } & Record<string, unknown>)[]
  'source-id'?: string
  'neighbor-ip'?: string
  stale?: boolean
}
export interface GobgpDest { prefix?: string; paths?: GobgpPath[] }

/**
 * Options: `md5` sets gobgpd's `auth-password` (TCP-MD5, RFC 2385) on every neighbour, as a control
 * node with a BGP authentication key; `second` runs it as the second control node (the Topology's
 * `cn2b` namespace, the nodes' `controlNode2` addresses, router id 198.18.0.2); `neighbors`: the
 * addresses of the nodes to peer with at start (default every node; see `setNeighbors`).
 */
export async function startControlNode(topo: Topology, o: { asn?: number; holdTime?: number; gracefulRestart?: boolean; restartTime?: number; md5?: string; second?: boolean; neighbors?: readonly string[] } = {}): Promise<ControlNode> {
  const asn = o.asn ?? 64512
  const hold = o.holdTime ?? 9
  const ns = o.second === true ? topo.cn2b : topo.cn2
  if (ns === undefined) throw new Error('startControlNode second: the Topology has no second control node (option controlNodes: 2)')
  const dir = mkdtempSync(join(tmpdir(), 'gsid-cn2-'))
  let neighbors = [...(o.neighbors ?? topo.nodes.map(n => n.address))].sort()
  const write = (): void => {
    const L = [
      '[global.config]', `  as = ${asn}`, `  router-id = "198.18.0.${o.second === true ? 2 : 1}"`, '  port = 179',
    ]
    for (const n of topo.nodes) {
      if (!neighbors.includes(n.address)) continue
      const local = o.second === true ? n.controlNode2 : n.controlNode
      if (local === undefined) throw new Error(`node ${n.index} has no second control-node address`)
      L.push('[[neighbors]]', '  [neighbors.config]', `    neighbor-address = "${n.address}"`, `    peer-as = ${asn}`)
      if (o.md5 !== undefined) L.push(`    auth-password = ${JSON.stringify(o.md5)}`)
      L.push('  [neighbors.timers.config]', `    hold-time = ${hold}`, `    keepalive-interval = ${Math.max(1, Math.floor(hold / 3))}`, '    connect-retry = 1',
        '  [neighbors.transport.config]', `    local-address = "${local}"`,
        // a control node reflects vRouter routes to its BGP peers; here it reflects between gateways too
        '  [neighbors.route-reflector.config]', '    route-reflector-client = true', `    route-reflector-cluster-id = "198.18.0.${o.second === true ? 2 : 1}"`)
      if (o.gracefulRestart !== false) L.push('  [neighbors.graceful-restart.config]', '    enabled = true', `    restart-time = ${o.restartTime ?? 30}`)
      for (const f of ['l3vpn-ipv4-unicast', 'l3vpn-ipv6-unicast', 'rtc']) {
        L.push('  [[neighbors.afi-safis]]', '    [neighbors.afi-safis.config]', `      afi-safi-name = "${f}"`)
        if (o.gracefulRestart !== false) L.push('    [neighbors.afi-safis.mp-graceful-restart.config]', '      enabled = true')
      }
    }
    writeFileSync(join(dir, 'gobgpd.toml'), L.join('\n') + '\n')
  }
  write()
  const p = startIn(topo, ns, 'gobgpd', ['-f', join(dir, 'gobgpd.toml'), '-l', 'warn', '-p', '--api-hosts', '127.0.0.1:50051', '--pprof-disable'], dir)
  const cli = (args: string[]): string => topo.exec(ns, 'gobgp', ['-u', '127.0.0.1', '-p', '50051', ...args])
  const json = <T>(args: string[]): T => JSON.parse(cli([...args, '-j']) || 'null') as T
  const gobgp = ['-u', '127.0.0.1', '-p', '50051']
  const jsonAsync = async <T>(args: string[]): Promise<T> =>
    JSON.parse((await (topo.execAsync ?? (async (...a: Parameters<Topology['exec']>) => topo.exec(...a)))(ns, 'gobgp', [...gobgp, ...args, '-j'])) || 'null') as T
  await waitUntil('gobgpd API', 60_000, () => { cli(['global']); return true })
  const fam = (prefix: string): string => prefix.includes(':') ? 'vpnv6' : 'vpnv4'
  const podArgs = (r: PodRoute): string[] => [r.prefix, 'label', String(r.label), 'rd', r.rd, 'rt', r.rt.replace(/^target:/, ''), 'encap', 'mpls-in-udp', 'nexthop', r.vrouter]
  return {
    ...p, asn, cli, json, jsonAsync,
    addPod: (r) => { cli(['global', 'rib', '-a', fam(r.prefix), 'add', ...podArgs(r)]) },
    delPod: (r) => { cli(['global', 'rib', '-a', fam(r.prefix), 'del', ...podArgs(r)]) },
    received: (node, family = 'vpnv4') => {
      const v = json<Record<string, GobgpPath[]> | GobgpDest[] | null>(['neighbor', node, 'adj-in', '-a', family])
      if (v === null) return []
      if (Array.isArray(v)) return v
      return Object.entries(v).map(([prefix, paths]) => ({ prefix, paths }))
    },
    neighborState: (node) => {
      const v = json<{ state?: { session_state?: number | string } }>(['neighbor', node])
      const s = v.state?.session_state
      // gobgp -j gives the FSM state as a number (6 = established) or a name depending on version
      return s === 6 || s === 'established' ? 'established' : String(s)
    },
    setNeighbors: (addresses) => {
      const next = [...addresses].sort()
      if (JSON.stringify(next) === JSON.stringify(neighbors)) return false
      neighbors = next
      write()
      p.proc.kill('SIGHUP')
      return true
    },
  }
}

// ---------------------------------------------------------------- the TGW's BGP (BIRD)

export interface Tgw extends Proc {
  readonly asn: number
  birdc(cmd: string): string
  /** BIRD's routes for `prefix` in master4/master6 with all attributes, one entry per path. */
  paths(prefix: string): TgwPath[]
  /** Protocol name -> BIRD state ("Established", "Active", ...). */
  sessions(): Map<string, string>
  /** `sessions` without blocking the event loop. */
  sessionsAsync(): Promise<Map<string, string>>
  /** birdc on the instance that runs protocol `n<i>a` or `n<i>b`. */
  birdcFor(protocol: string, cmd: string): string
  /** Rewrites both configurations from `topo.nodes` as they are now (Connect peers come and go in
   * the lab) plus extra static routes, and has BIRD reload them: sessions of unchanged peers stay. */
  configure(extraStatic: string[]): void
}

export interface TgwPath {
  readonly from: string
  readonly asPath: string
  readonly origin: string
  readonly med?: string
  readonly nextHop: string
}

/**
 * BIRD as the TGW. AWS gives each Connect peer two BGP peers (.2 and .3) that both talk to our .1;
 * BIRD holds one session per neighbour address (an object lock on the remote address and port), so
 * the TGW is two BIRD processes in its namespace: `a` speaks from every .2, `b` from every .3, each
 * bound strictly to its own addresses. Protocols are named `n<i>a` / `n<i>b`. Only `a` writes the
 * TGW's kernel (ECMP over every instance, `merge paths`), so the two never fight over a route.
 *
 * `vpcCidrs6` adds IPv6 unicast (MP-BGP, RFC 4760) to the same IPv4 sessions, as AWS carries IPv6
 * on the Connect peer's IPv4 sessions: the VPC's IPv6 CIDRs are originated with the TGW's inside
 * IPv6 address (::2 / ::3 of the node's /125) as next hop, so every node needs `tgwPeers6`.
 */
export async function startTgw(topo: Topology, o: { asn?: number; peerAsn: number; vpcCidrs: string[]; vpcCidrs6?: string[]; holdTime?: number; restartTime?: number; vpcDevice?: string; kernel?: boolean }): Promise<Tgw> {
  const asn = o.asn ?? 64512
  const hold = o.holdTime ?? 9
  const dir = mkdtempSync(join(tmpdir(), 'gsid-tgw-'))
  const sides = ['a', 'b'] as const
  const ctl = (side: string): string => join(dir, `bird-${side}.ctl`)
  const v6 = o.vpcCidrs6 !== undefined
  const write = (extraStatic: string[]): void => {
    sides.forEach((side, k) => {
      const L = [
        `router id 169.254.255.${k + 1};`, `log "${join(dir, `bird-${side}.log`)}" all;`, 'protocol device {}',
        // the inside /29s in BIRD's table, so the gateways' next hops (.1) resolve; only those
        // interfaces (veths t<i> on the host, GRE links g<i> in the VM): a direct route for the VPC
        // subnet would win over the static one and nothing would be exported
        `protocol direct { ipv4; ${v6 ? 'ipv6; ' : ''}interface "t*", "g*"; }`,
        'protocol static vpc4 { ipv4; ' + o.vpcCidrs.filter(c => !c.includes(':')).map(c => `route ${c} ${o.vpcDevice !== undefined ? `via "${o.vpcDevice}"` : 'blackhole'};`).join(' ') + ' ' + extraStatic.join(' ') + ' }',
      ]
      if (v6) L.push('protocol static vpc6 { ipv6; ' + (o.vpcCidrs6 ?? []).map(c => `route ${c} blackhole;`).join(' ') + ' }')
      // the TGW forwards: its kernel gets the gateways' routes, ECMP across every instance
      if (o.kernel === true && side === 'a') L.push('protocol kernel { ipv4 { import none; export where source = RTS_BGP; }; merge paths on; }')
      for (const n of topo.nodes) {
        if (n.insideLocal === undefined || n.tgwPeers === undefined) continue
        L.push(`protocol bgp n${n.index}${side} {`, `  local ${n.tgwPeers[k]} as ${asn};`, `  neighbor ${n.insideLocal} as ${o.peerAsn};`,
          '  multihop 2; strict bind on;', `  hold time ${hold}; keepalive time ${Math.max(1, Math.floor(hold / 3))}; connect retry time 1; connect delay time 1;`,
          `  graceful restart on;${o.restartTime !== undefined ? ` graceful restart time ${o.restartTime};` : ''}`,
          '  ipv4 { import all; export where proto = "vpc4"; };')
        if (v6) {
          const nh = n.tgwPeers6?.[k]
          if (nh === undefined) throw new Error(`node ${n.index} has no IPv6 inside /125 (Topology option ipv6)`)
          // BIRD has no IPv6 address of its own on an IPv4 session: the next hop is named
          L.push(`  ipv6 { import all; export where proto = "vpc6"; next hop address ${nh}; };`)
        }
        L.push('}')
      }
      writeFileSync(join(dir, `bird-${side}.conf`), L.join('\n') + '\n')
    })
  }
  write([])
  const procs = sides.map((side) => startIn(topo, topo.tgw, 'bird', ['-f', '-c', join(dir, `bird-${side}.conf`), '-s', ctl(side), '-P', join(dir, `bird-${side}.pid`)], dir))
  // birdc exits non-zero for "Network not found" and unknown protocols: the text is the answer
  const birdcOf = (side: string, cmd: string): string => {
    try {
      return topo.exec(topo.tgw, 'birdc', ['-s', ctl(side), cmd])
    } catch (e) {
      const out = String((e as { stdout?: string }).stdout ?? '')
      if (/BIRD [\d.]+ ready/.test(out)) return out
      throw e
    }
  }
  for (const side of sides) await waitUntil(`bird ${side}`, 60_000, () => { birdcOf(side, 'show status'); return true })
  return {
    proc: (procs[0] as Proc).proc, dir, asn,
    stop: async () => { for (const p of procs) await p.stop() },
    birdc: (cmd) => sides.map((side) => birdcOf(side, cmd)).join('\n'),
    birdcFor: (protocol, cmd) => birdcOf(protocol.endsWith('a') ? 'a' : 'b', cmd),
    configure: (extra) => { write(extra); for (const side of sides) birdcOf(side, 'configure') },
    // `show route PREFIX` is an exact match (`show route for` would answer with a covering route)
    paths: (prefix) => sides.flatMap((side) => parseBirdRoutes(birdcOf(side, `show route ${prefix} all`), prefix)),
    sessions: () => protocolStates(sides.map((side) => birdcOf(side, 'show protocols'))),
    sessionsAsync: async () => {
      const run = topo.execAsync ?? (async (...a: Parameters<Topology['exec']>) => topo.exec(...a))
      return protocolStates(await Promise.all(sides.map((side) => run(topo.tgw, 'birdc', ['-s', ctl(side), 'show protocols']))))
    },
  }
}

/** BGP protocol name -> state from `birdc show protocols` texts. */
function protocolStates(texts: readonly string[]): Map<string, string> {
  const m = new Map<string, string>()
  for (const text of texts) {
    for (const line of text.split('\n')) {
      const f = line.trim().split(/\s+/)
      if (f[1] === 'BGP') m.set(f[0] as string, f[5] ?? f[3] ?? '')
    }
  }
  return m
}

/** Parses `birdc show route for X all` into one entry per path (BIRD 2.0 text). */
export function parseBirdRoutes(text: string, prefix: string): TgwPath[] {
  const out: TgwPath[] = []
  let cur: { from: string; asPath: string; origin: string; med?: string; nextHop: string } | undefined
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^\d{4}-/, '')
    const head = /^(\S+)?\s+(unicast|blackhole|unreachable)\s+\[(\S+)\s/.exec(line)
    if (head && (head[1] === undefined || head[1] === prefix || head[1].startsWith(prefix))) {
      if (cur) out.push(cur)
      cur = { from: head[3] as string, asPath: '', origin: '', nextHop: '' }
      continue
    }
    if (!cur) continue
    let m: RegExpExecArray | null
    if ((m = /BGP\.as_path:\s*(.*)$/.exec(line))) cur.asPath = (m[1] as string).trim()
    else if ((m = /BGP\.origin:\s*(\S+)/.exec(line))) cur.origin = m[1] as string
    else if ((m = /BGP\.med:\s*(\S+)/.exec(line))) cur.med = m[1] as string
    else if ((m = /BGP\.next_hop:\s*(\S+)/.exec(line))) cur.nextHop = m[1] as string
  }
  if (cur) out.push(cur)
  return out
}

export function readText(path: string): string {
  try { return readFileSync(path, 'utf8') } catch { return '' }
}

/**
 * A time BIRD prints (`15:49:32.484`, a route's learn time or a protocol's "since") as ms of the day,
 * NaN without one. BIRD keeps a monotonic clock and converts it to the wall clock at each print, so
 * the same instant can print a millisecond apart when the wall clock is being slewed: tests that ask
 * "did this change?" compare such times with a tolerance (a reset or re-learn moves them by seconds).
 */
export function birdTimeMs(text: string): number {
  const m = /(\d\d):(\d\d):(\d\d)(?:\.(\d+))?/.exec(text)
  if (m === null) return NaN
  return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number((m[4] ?? '0').padEnd(3, '0').slice(0, 3))
}

/** `text` with every BIRD time (`HH:MM:SS[.mmm]`) replaced by TIME. */
export function withoutBirdTimes(text: string): string {
  return text.replace(/\d\d:\d\d:\d\d(\.\d+)?/g, 'TIME')
}

/** Whether two BIRD times are the same instant, within `toleranceMs`. */
export function sameBirdTime(a: string, b: string, toleranceMs = 50): boolean {
  return Math.abs(birdTimeMs(a) - birdTimeMs(b)) <= toleranceMs
}
