/**
 * The lab's data-plane world: a whole Gateway Service Instance on one kernel, built from network
 * namespaces with plain iproute2 everywhere except the gateway nodes, which run the real gsi-routerd
 * (the lab, src/bin/gsi-lab.ts, and the kernel data-plane test build it):
 *
 *   vpc (10.0.5.10) ── tgw ──GRE g<i> (inside .2/.3 <-> .1)── node<i> (gsi-routerd, 10.0.1.1<i> on lo)
 *                      │ BIRD: 2 eBGP sessions per Connect peer,        │ MPLS over UDP 6635
 *                      │ kernel routes with ECMP (merge paths)           │
 *                    fabric (routes underlay; gobgpd = CN2 control node 10.0.3.1) ── vr1 (10.0.2.1) ── pods 10.244.1.x
 *                      │                                                         └─ vr2 (10.0.2.2) ── pods 10.244.2.x
 *                    api (optional: the lab's Kubernetes API server, 172.16.0.2, reached by every node)
 *
 * A Connect peer's TGW end (RFC 2784 GRE from the TGW address to the node, the inside .2 and .3) is
 * added and removed with `addConnectPeer` / `removeConnectPeer` as the EC2 emulator creates and deletes
 * Connect peers (the lab), or at build for every node at TGW_GRE_ADDRESS (`staticConnectPeers`, the
 * test). The vRouters do in the kernel's words what CN2's vRouter does: fou on 6635 for protocol 137
 * (RFC 7510 MPLS in UDP), an mplsip tunnel with fou encapsulation to each gateway node, each pod's
 * label popped to the pod, and the VPC CIDR pushed with the gateway table's label toward the gateways
 * that advertise it. Which gateways those are is read from the control node's RIB (`syncVrouters`),
 * as a vRouter agent learns it from its control node over XMPP. The VPC host's routes toward the
 * pods are what the controller wrote as Route objects (`setVpcRoutes`), unless `vpcDefaultRoute`.
 *
 * Underlay links are /30s from 172.16.0.0/16; every address lives inside namespaces this module made.
 */
import { execFile, execFileSync, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import type { ControlNode, PeerHost } from './peers.js'

export function sh(cmd: string, input?: string, timeoutMs = 60_000): string {
  return execFileSync('sh', ['-c', cmd], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], input: input ?? '', timeout: timeoutMs })
}

const execFileAsync = promisify(execFile)

/** `sh -c cmd` without blocking the event loop (the lab serves its emulators meanwhile). */
export async function shAsync(cmd: string, timeoutMs = 60_000): Promise<string> {
  return (await execFileAsync('sh', ['-c', cmd], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 })).stdout
}

export const TGW_GRE_ADDRESS = '192.0.2.100'
export const CONTROL_NODE = '10.0.3.1'
export const VPC_HOST = '10.0.5.10'
export const VPC_GATEWAY = '10.0.5.1'
export const VPC_CIDR = '10.0.5.0/24'
export const EXPOSED_CIDR = '10.244.0.0/16'
export const ROUTE_TARGET = 'target:64512:8000001'
export const GATEWAY_TABLE = 1000
export const GATEWAY_LABEL = 1000
export const TGW_ASN = 64512
export const GSI_ASN = 65001
/** The lab's Kubernetes API server address, in the `api` namespace. */
export const API_ADDRESS = '172.16.0.2'

export interface GwNode {
  readonly index: number
  readonly ns: string
  readonly address: string
  /** The inside /29 of the test's static Connect peer (the lab's come from the controller). */
  readonly insideCidr: string
  /** The TGW's GRE link toward this node. */
  readonly tgwGre: string
}

export interface Pod {
  readonly ns: string
  readonly address: string
  /** The MPLS label the control node advertises for it (the vRouter pops it to the pod). */
  readonly label: number
  /** The vRouter's underlay address (the pod route's next hop). */
  readonly vrouter: string
}

export interface Vrouter {
  readonly index: number
  readonly ns: string
  readonly address: string
  /** The first pod (`pods[0]`). */
  readonly podNs: string
  readonly pod: string
  readonly podLabel: number
  readonly pods: Pod[]
}

/** The TGW end of one Connect peer, as the EC2 emulator holds it. */
export interface ConnectPeerEnd {
  readonly tgwAddress: string
  readonly insideCidr: string
}

export interface GatewayNetOptions {
  /** Pods in all, spread over the two vRouters (default 2: one each). */
  readonly pods?: number
  /** Build the TGW end of every node's Connect peer at TGW_GRE_ADDRESS (the test; default false). */
  readonly staticConnectPeers?: boolean
  /** Where the nodes route the TGW's GRE addresses: the TGW CIDR block (default TGW_GRE_ADDRESS/32). */
  readonly tgwCidr?: string
  /** A default route in the VPC host toward the TGW (the test; default false: `setVpcRoutes`). */
  readonly vpcDefaultRoute?: boolean
  /** A namespace the caller made (the lab runs its API server there): joined to the fabric at
   * API_ADDRESS, reached from every node. Not deleted by `destroy`. */
  readonly apiNs?: string
}

/** The n-th address of an IPv4 CIDR (`169.254.6.0/29`, 2 -> `169.254.6.2`). */
export function nthAddress(cidr: string, n: number): string {
  const [base] = cidr.split('/')
  const w = (base ?? '').split('.').map(Number).reduce((a, b) => a * 256 + b, 0) + n
  return [24, 16, 8, 0].map(s => Math.floor(w / 2 ** s) % 256).join('.')
}

/** What a continuous ping saw: how many it sent and got back, and which sequence numbers were lost. */
export interface PingRun { sent: number; received: number; lost: number[]; line: string }

/**
 * Reads busybox ping's output. Packets 0..sent-1 went out; a packet is lost when no reply with its
 * sequence number came, except the very last one sent: ping is stopped by SIGINT and prints its summary
 * at once, so that one may still be on its way (sent at most one interval before the stop, and the
 * emulated CPU's round trip can be tens of ms). Counting it was the flake of an earlier version.
 */
export function pingRun(out: string): PingRun {
  const m = /(\d+) packets transmitted, (\d+) packets received/.exec(out)
  const sent = Number(m?.[1] ?? NaN)
  const answered = new Set([...out.matchAll(/seq=(\d+)/g)].map((x) => Number(x[1])))
  const lost: number[] = []
  for (let i = 0; i < sent - 1; i++) if (!answered.has(i)) lost.push(i)
  return { sent, received: Number(m?.[2] ?? NaN), lost, line: m?.[0] ?? out.slice(-200) }
}

export class GatewayNet {
  readonly vpc: string
  readonly tgw: string
  readonly fabric: string
  readonly nodes: GwNode[] = []
  readonly vrouters: Vrouter[] = []
  /** Node index -> its Connect peer's TGW end, while there is one. */
  readonly connectPeers = new Map<number, ConnectPeerEnd>()
  private readonly made: string[] = []
  private readonly vpcRoutes = new Set<string>()
  private vrouterGateways: string | undefined
  private readonly opts: GatewayNetOptions

  constructor(tag: string, nodeCount: number, opts: GatewayNetOptions = {}) {
    this.opts = opts
    const n = (x: string): string => `g${tag}${x}`
    this.vpc = n('vpc')
    this.tgw = n('tgw')
    this.fabric = n('fab')
    for (let i = 1; i <= nodeCount; i++) {
      this.nodes.push({ index: i, ns: n(`n${i}`), address: `10.0.1.1${i}`, insideCidr: `169.254.${5 + i}.0/29`, tgwGre: `g${i}` })
    }
    const podCount = Math.max(1, opts.pods ?? 2)
    for (let j = 1; j <= 2; j++) {
      const pods: Pod[] = []
      // pod k (0-based) sits on vRouter k % 2 + 1; the first of each keeps 10.244.<j>.10 and label 30<j>
      for (let k = j - 1, m = 0; k < Math.max(podCount, 2); k += 2, m++) {
        pods.push({ ns: n(`p${j}${m === 0 ? '' : `-${m}`}`), address: `10.244.${j}.${10 + m}`, label: 300 + j + 10 * m, vrouter: `10.0.2.${j}` })
      }
      if (podCount === 1 && j === 2) pods.length = 0
      const first = pods[0]
      this.vrouters.push({ index: j, ns: n(`vr${j}`), address: `10.0.2.${j}`, podNs: first?.ns ?? '', pod: first?.address ?? '', podLabel: first?.label ?? 0, pods })
    }
  }

  /** Every pod, vRouter by vRouter. */
  get pods(): Pod[] { return this.vrouters.flatMap(v => v.pods) }

  /**
   * While `build()` runs: its commands, run as one shell script at the end. Under the VM's emulated
   * CPU a process start costs tens of milliseconds, and a spawn from Node per command made the build
   * take 18 s of the lab's run.
   */
  private script: string[] | undefined
  /** The script's commands of the root namespace (namespaces and the veths between them): one
   * `ip -batch` ahead of the rest. */
  private rootBatch: string[] = []
  /** Namespaces made by the script whose loopback is not up yet (done in their first batch). */
  private readonly loDown = new Set<string>()

  /** Runs `cmd` now, or adds it to the build's script. */
  private cmd(cmd: string): void {
    if (this.script === undefined) sh(cmd)
    else this.script.push(cmd)
  }

  /** `ip link add ARGS` in the root namespace (a veth pair between two namespaces): now, or in the
   * build's root batch. */
  private rootLink(args: string): void {
    if (this.script === undefined) sh(`ip link add ${args}`)
    else this.rootBatch.push(`link add ${args}`)
  }

  /** Runs the build's script so far, in one shell that stops at the first failing command. */
  private flush(): void {
    const lines = [
      ...(this.rootBatch.length > 0 ? [`ip -batch - <<'EOF'\n${this.rootBatch.join('\n')}\nEOF`] : []),
      ...this.script ?? [],
      ...[...this.loDown].map(ns => `ip -n ${ns} link set lo up`),
    ]
    this.script = []
    this.rootBatch = []
    this.loDown.clear()
    if (lines.length > 0) sh('set -e\n' + lines.join('\n'), undefined, 300_000)
  }

  batch(ns: string, lines: string[]): void {
    if (this.script !== undefined) {
      const all = this.loDown.delete(ns) ? ['link set lo up', ...lines] : lines
      this.script.push(`ip -n ${ns} -batch - <<'EOF'\n${all.join('\n')}\nEOF`)
    } else sh(`ip -n ${ns} -batch -`, lines.join('\n') + '\n')
  }

  exec(ns: string, cmd: string, timeoutMs = 60_000): string {
    const line = `ip netns exec ${ns} sh -c '${cmd.replaceAll("'", "'\\''")}'`
    if (this.script !== undefined) {
      this.script.push(line)
      return ''
    }
    return sh(line, undefined, timeoutMs)
  }

  /** `exec` without blocking the event loop. */
  run(ns: string, cmd: string, timeoutMs = 60_000): Promise<string> {
    return shAsync(`ip netns exec ${ns} sh -c '${cmd.replaceAll("'", "'\\''")}'`, timeoutMs)
  }

  private addNs(name: string): void {
    if (this.script !== undefined) {
      this.rootBatch.push(`netns add ${name}`)
      this.loDown.add(name)
    } else sh(`ip netns add ${name} && ip -n ${name} link set lo up`)
    this.made.push(name)
  }

  build(): void {
    this.script = []
    try {
      this.buildScript()
      this.flush()
    } finally {
      this.script = undefined
    }
  }

  private buildScript(): void {
    for (const ns of [this.vpc, this.tgw, this.fabric, ...this.nodes.map(x => x.ns), ...this.vrouters.flatMap(v => [v.ns, ...v.pods.map(p => p.ns)])]) this.addNs(ns)
    const fwd = 'sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0'
    const tgwCidr = this.opts.tgwCidr ?? `${TGW_GRE_ADDRESS}/32`
    // VPC host behind the TGW
    this.rootLink(`u0 netns ${this.vpc} type veth peer name vpc netns ${this.tgw}`)
    this.batch(this.vpc, ['link set u0 up', `addr add ${VPC_HOST}/24 dev u0`, ...(this.opts.vpcDefaultRoute === true ? [`route add default via ${VPC_GATEWAY}`] : [])])
    this.batch(this.tgw, ['link set vpc up', `addr add ${VPC_GATEWAY}/24 dev vpc`])
    // the TGW spreads flows over its ECMP next hops by addresses and ports (L4 hash)
    this.exec(this.tgw, `${fwd} net.ipv4.fib_multipath_hash_policy=1`)
    this.exec(this.fabric, fwd)
    this.batch(this.fabric, [`addr add ${CONTROL_NODE}/32 dev lo`])
    if (this.opts.apiNs !== undefined) {
      const api = this.opts.apiNs
      this.rootLink(`f0 netns ${api} type veth peer name api netns ${this.fabric}`)
      // the fabric's underlay and the nodes (their daemons' /status, as a cluster's doctor reaches them)
      this.batch(api, ['link set f0 up', `addr add ${API_ADDRESS}/30 dev f0`, 'route add 172.16.0.0/16 via 172.16.0.1', 'route add 10.0.1.0/24 via 172.16.0.1'])
      this.batch(this.fabric, ['link set api up', 'addr add 172.16.0.1/30 dev api'])
    }
    for (const g of this.nodes) {
      const i = g.index
      this.rootLink(`ut netns ${g.ns} type veth peer name n${i} netns ${this.tgw}`)
      this.rootLink(`uf netns ${g.ns} type veth peer name n${i} netns ${this.fabric}`)
      this.batch(g.ns, [
        `addr add ${g.address}/32 dev lo`,
        'link set ut up', `addr add 172.16.3${i}.2/30 dev ut`, `route add ${tgwCidr} via 172.16.3${i}.1`,
        'link set uf up', `addr add 172.16.1${i}.2/30 dev uf`, `route add ${CONTROL_NODE}/32 via 172.16.1${i}.1`, `route add 10.0.2.0/24 via 172.16.1${i}.1`,
        ...(this.opts.apiNs !== undefined ? [`route add ${API_ADDRESS}/32 via 172.16.1${i}.1`] : []),
      ])
      this.batch(this.tgw, [`link set n${i} up`, `addr add 172.16.3${i}.1/30 dev n${i}`, `route add ${g.address}/32 via 172.16.3${i}.2`])
      this.batch(this.fabric, [`link set n${i} up`, `addr add 172.16.1${i}.1/30 dev n${i}`, `route add ${g.address}/32 via 172.16.1${i}.2`])
      if (this.opts.staticConnectPeers === true) {
        // addConnectPeer reads the TGW's state: what came before must exist
        this.flush()
        this.script = undefined
        this.addConnectPeer(g, { tgwAddress: TGW_GRE_ADDRESS, insideCidr: g.insideCidr })
        this.script = []
      }
    }
    for (const v of this.vrouters) {
      const j = v.index
      this.rootLink(`u0 netns ${v.ns} type veth peer name v${j} netns ${this.fabric}`)
      this.batch(this.fabric, [`link set v${j} up`, `addr add 172.16.2${j}.1/30 dev v${j}`, `route add ${v.address}/32 via 172.16.2${j}.2`])
      this.exec(v.ns, `${fwd} net.mpls.platform_labels=1024`)
      const lines = [
        `addr add ${v.address}/32 dev lo`, 'link set u0 up', `addr add 172.16.2${j}.2/30 dev u0`, 'route add 10.0.1.0/24 via 172.16.2' + j + '.1',
        'fou add port 6635 ipproto 137',
      ]
      v.pods.forEach((p, m) => {
        // one veth per pod; the vRouter answers as 10.244.<j>.1 on each (the pods' gateway)
        this.rootLink(`e0 netns ${p.ns} type veth peer name p${m === 0 ? '' : m} netns ${v.ns}`)
        const dev = `p${m === 0 ? '' : m}`
        lines.push(`link set ${dev} up`, m === 0 ? `addr add 10.244.${j}.1/24 dev ${dev}` : `addr add 10.244.${j}.1/32 dev ${dev}`)
        if (m > 0) lines.push(`route add ${p.address}/32 dev ${dev}`)
        this.batch(p.ns, ['link set e0 up', `addr add ${p.address}/24 dev e0`, `route add default via 10.244.${j}.1`])
      })
      for (const g of this.nodes) lines.push(`link add gw${g.index} type ipip mode mplsip local ${v.address} remote ${g.address} ttl 64 encap fou encap-sport auto encap-dport 6635`, `link set gw${g.index} up`)
      this.batch(v.ns, lines)
      for (const p of v.pods) this.cmd(`ip -n ${v.ns} -f mpls route add ${p.label} dev lo`)
      this.exec(v.ns, this.nodes.map(g => `sysctl -qw net.mpls.conf.gw${g.index}.input=1 net.ipv4.conf.gw${g.index}.rp_filter=0`).join(' && '))
    }
  }

  /** The TGW's end of node `g`'s Connect peer: its GRE address on the TGW's loopback, a GRE link to
   * the node, the inside .2 and .3 on it. Replaces an earlier one of the same node. */
  addConnectPeer(g: GwNode, end: ConnectPeerEnd): void {
    if (this.connectPeers.has(g.index)) this.removeConnectPeer(g)
    const lo = sh(`ip -n ${this.tgw} -o addr show dev lo`)
    const [insideBase] = end.insideCidr.split('/')
    this.batch(this.tgw, [
      ...(lo.includes(` ${end.tgwAddress}/32 `) ? [] : [`addr add ${end.tgwAddress}/32 dev lo`]),
      `link add ${g.tgwGre} type gre local ${end.tgwAddress} remote ${g.address} ttl 255`, `link set ${g.tgwGre} up mtu 8476`,
      `addr add ${nthAddress(`${insideBase}/29`, 2)}/29 dev ${g.tgwGre}`, `addr add ${nthAddress(`${insideBase}/29`, 3)}/29 dev ${g.tgwGre}`,
    ])
    this.connectPeers.set(g.index, end)
  }

  /** Removes node `g`'s Connect peer end (its GRE link, and its address when no other peer uses it). */
  removeConnectPeer(g: GwNode): void {
    const end = this.connectPeers.get(g.index)
    if (end === undefined) return
    this.connectPeers.delete(g.index)
    const lines = [`link del ${g.tgwGre}`]
    if (![...this.connectPeers.values()].some(e => e.tgwAddress === end.tgwAddress)) lines.push(`addr del ${end.tgwAddress}/32 dev lo`)
    this.batch(this.tgw, lines)
  }

  /** The VPC host's route table: exactly `cidrs` via the TGW (the Route objects' destinations). */
  setVpcRoutes(cidrs: readonly string[]): void {
    const want = new Set(cidrs)
    const lines: string[] = []
    for (const c of this.vpcRoutes) if (!want.has(c)) { lines.push(`route del ${c}`); this.vpcRoutes.delete(c) }
    for (const c of want) if (!this.vpcRoutes.has(c)) { lines.push(`route replace ${c} via ${VPC_GATEWAY}`); this.vpcRoutes.add(c) }
    if (lines.length > 0) this.batch(this.vpc, lines)
  }

  /** Packets the TGW sent into each Connect peer's GRE link (node index -> count). */
  async greTxPackets(): Promise<Map<number, number>> {
    const out = new Map<number, number>()
    const links = JSON.parse(await shAsync(`ip -n ${this.tgw} -s -j link show type gre`) || '[]') as { ifname: string; stats64?: { tx?: { packets?: number } } }[]
    for (const g of this.nodes) {
      const l = links.find(x => x.ifname === g.tgwGre)
      if (l !== undefined) out.set(g.index, l.stats64?.tx?.packets ?? 0)
    }
    return out
  }

  /** The control node (gobgpd in the fabric) and the TGW (BIRD) see the network through this; its
   * nodes carry inside addresses only while they have a Connect peer. */
  peerHost(): PeerHost {
    const connectPeers = this.connectPeers
    const nodes = this.nodes
    return {
      cn2: this.fabric,
      tgw: this.tgw,
      get nodes() {
        return nodes.map(g => {
          const end = connectPeers.get(g.index)
          return {
            index: g.index, address: g.address, controlNode: CONTROL_NODE,
            ...(end !== undefined ? { insideLocal: nthAddress(end.insideCidr, 1), tgwPeers: [nthAddress(end.insideCidr, 2), nthAddress(end.insideCidr, 3)] as const } : {}),
          }
        })
      },
      spawn: (ns, cmd, args, opts = {}) => spawn('ip', ['netns', 'exec', ns, cmd, ...args], opts),
      exec: (ns, cmd, args, timeoutMs = 30_000) => execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] }),
      execAsync: async (ns, cmd, args, timeoutMs = 30_000) => (await execFileAsync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout: timeoutMs })).stdout,
    }
  }

  /** Points each vRouter's route to the VPC at these gateways (node addresses); none -> removed. */
  setVrouterGateways(gateways: readonly string[]): void {
    for (const v of this.vrouters) {
      const hops = this.nodes.filter(g => gateways.includes(g.address)).map(g => `nexthop encap mpls ${GATEWAY_LABEL} dev gw${g.index}`)
      if (hops.length === 0) this.exec(v.ns, `ip route del ${VPC_CIDR} 2>/dev/null || true`)
      else this.exec(v.ns, `ip route replace ${VPC_CIDR} ${hops.join(' ')}`)
    }
  }

  /** The gateways the control node has the VPC route from (as a vRouter agent learns them). */
  gatewaysAtControlNode(cn: ControlNode): string[] {
    return this.gatewaysIn(cn.json<Record<string, unknown[]> | null>(['global', 'rib', '-a', 'vpnv4']))
  }

  private gatewaysIn(rib: Record<string, unknown[]> | null): string[] {
    return this.nodes.filter(g => rib?.[`${g.address}:1:${VPC_CIDR}`] !== undefined).map(g => g.address)
  }

  /** A vRouter agent's round (without blocking the event loop): the VPC route toward the gateways the
   * control node has it from, changed only when they change. Returns those gateways. */
  async syncVrouters(cn: ControlNode): Promise<string[]> {
    const gws = this.gatewaysIn(await cn.jsonAsync<Record<string, unknown[]> | null>(['global', 'rib', '-a', 'vpnv4']))
    const key = gws.join(',')
    if (key !== this.vrouterGateways) {
      this.setVrouterGateways(gws)
      this.vrouterGateways = key
    }
    return gws
  }

  /** A continuous ping from `ns` (busybox, `intervalS` apart, bounded to `maxCount`) until stopped;
   * `stop()` reads it by sequence number (pingRun). */
  startPing(ns: string, dst: string, intervalS = 0.2, maxCount = 3000): { stop(): Promise<PingRun> } {
    const p = spawn('ip', ['netns', 'exec', ns, 'busybox', 'ping', '-c', String(maxCount), '-i', String(intervalS), '-W', '1', dst], { stdio: ['ignore', 'pipe', 'ignore'] })
    let out = ''
    p.stdout.on('data', (d) => { out += String(d) })
    const done = new Promise<void>((r) => p.once('exit', () => r()))
    return {
      stop: async () => {
        // busybox ping prints its statistics on SIGINT
        p.kill('SIGINT')
        await done
        return pingRun(out)
      },
    }
  }

  /** `ping` without blocking the event loop. */
  async pingAsync(ns: string, dst: string, count = 2, source?: string): Promise<number> {
    let out: string
    try {
      out = await this.run(ns, `busybox ping -c ${count} -W 1 ${source !== undefined ? `-I ${source} ` : ''}${dst}`, 60_000 + count * 2000)
    } catch (e) {
      out = String((e as { stdout?: string }).stdout ?? '')
    }
    const m = /(\d+) packets received/.exec(out)
    return m ? Number(m[1]) : 0
  }

  /** Pings from `ns`; returns replies received. Bounded: -c count -W 1. */
  ping(ns: string, dst: string, count = 2, intervalS?: number): number {
    let out: string
    try {
      out = this.exec(ns, `busybox ping -c ${count} -W 1 ${intervalS !== undefined ? `-i ${intervalS} ` : ''}${dst}`, 60_000 + count * 2000)
    } catch (e) {
      out = String((e as { stdout?: string }).stdout ?? '')
    }
    const m = /(\d+) packets received/.exec(out)
    return m ? Number(m[1]) : 0
  }

  destroy(): void {
    for (const n of this.made) {
      try { sh(`ip netns pids ${n} | xargs -r kill -9; ip netns del ${n}`) } catch { /* gone */ }
    }
  }
}
