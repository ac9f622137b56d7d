/**
 * The lab's packets: the data-plane world of net.ts joined to the emulators the controller talks to.
 *
 * - One network namespace per labelled node, running the real gsi-routerd in its Kubernetes mode
 *   (NODE_NAME, `--server` at the lab's Kubernetes API emulator, `--base` for what a ConnectedPeer
 *   does not carry), as the DaemonSet runs it on EKS.
 * - The Transit Gateway follows the EC2 emulator: a Connect peer the controller created becomes, once
 *   available, a GRE endpoint in the TGW namespace with two BGP sessions (BIRD, from the inside .2 and
 *   .3, RFC 4271 eBGP multihop) toward its node; a deleted one goes. DescribeTransitGatewayConnectPeers
 *   then reports each session's BgpStatus from BIRD's real session state, as AWS does.
 * - The VPC host's route table follows the controller's Route objects (VPC route-table entries).
 * - The CN2 control node (gobgpd) peers only with the nodes that have a BGPRouter referring to it, as
 *   CN2 configures its control nodes from those objects (the controller writes them per instance).
 * - The CN2 control node (gobgpd) advertises every pod as VPNv4 (RFC 4364: RD, label, route target)
 *   with the encapsulation extended community udp (RFC 9012); the vRouters send VPC-bound traffic to
 *   the gateways the control node has the VPC route from (`GatewayNet.syncVrouters`).
 *
 * `sync()` is one round of all of that; the lab runs it on a timer.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import type { Ec2World } from '../../controller/emulator/ec2/state.js'
import { GATEWAY_LABEL, GATEWAY_TABLE, GatewayNet, nthAddress, VPC_CIDR, type GwNode } from './net.js'
import { startControlNode, startTgw, type ControlNode, type Tgw } from './peers.js'

/**
 * A gsi-routerd process in a node's network namespace, its output appended to a log file: the lab's
 * nodes run it in Kubernetes mode (LabNode), the kernel suite's data-plane test from a file.
 */
export class DaemonProcess {
  proc: ChildProcess | undefined

  constructor(readonly ns: string, readonly log: string, private readonly cwd: string) {}

  /** Starts `node ARGS` in the namespace, with `env` added to the environment. */
  protected spawnDaemon(args: readonly string[], env: Readonly<Record<string, string>> = {}): void {
    const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`)
    const p = spawn('ip', ['netns', 'exec', this.ns, ...(vars.length > 0 ? ['env', ...vars] : []), process.execPath, ...args], { cwd: this.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    const append = (d: Buffer): void => { writeFileSync(this.log, d, { flag: 'a' }) }
    p.stdout.on('data', append)
    p.stderr.on('data', append)
    this.proc = p
  }

  running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null
  }

  async stop(sig: NodeJS.Signals): Promise<void> {
    const p = this.proc
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return
    const done = new Promise<void>((r) => p.once('exit', () => r()))
    p.kill(sig)
    await done
  }

  text(): string {
    try { return readFileSync(this.log, 'utf8') } catch { return '' }
  }
}

/** A gateway node of the lab: its namespace and Kubernetes name, and its gsi-routerd. */
export class LabNode extends DaemonProcess {
  readonly base: string
  readonly socket: string
  /** The node left the cluster (the lab removed it): its daemon is not restarted. */
  gone = false

  constructor(readonly g: GwNode, readonly name: string, work: string, root: string, private readonly routerd: string, private readonly kubeUrl: string, gsiAsn: number) {
    super(g.ns, join(work, `${name}.log`), root)
    this.base = join(work, `${name}.base.yaml`)
    this.socket = join(work, `${name}.sock`)
    // The DaemonSet's base ConfigMap (deploy/daemonset.yaml), with the lab's short timers so that a
    // lost instance is noticed within seconds, and a socket per node (they share one filesystem).
    writeFileSync(this.base, stringify({
      dataplane: 'kernel',
      gatewayTable: { table: GATEWAY_TABLE, label: GATEWAY_LABEL, labelRange: [GATEWAY_LABEL, GATEWAY_LABEL + 99] },
      gracefulRestart: { restartTime: 60, staleRoutesTime: 60, deferralTime: 30 },
      // localAsn: the GSI's, so that the model stays valid once the last ConnectedPeer is gone (the
      // objects carry it; without them the daemon would refuse to drop its Connect peers)
      tgw: { holdTime: 9, localAsn: gsiAsn },
      controlNodes: { holdTime: 9 },
      // on the node's address, as the DaemonSet's hostNetwork pod: the lab's doctor asks /status there
      http: { address: '0.0.0.0', port: 9478 },
      api: { socket: this.socket },
      log: { level: 'info' },
    }))
  }

  start(): void {
    this.spawnDaemon([this.routerd, '--server', this.kubeUrl, '--base', this.base], { NODE_NAME: this.name, POD_NAME: `gsi-routerd-${this.g.index}` })
  }
}

export interface LabDataplaneOptions {
  readonly net: GatewayNet
  readonly world: Ec2World
  /** Node name -> node IP of the labelled nodes, in net.nodes order. */
  readonly nodeNames: readonly string[]
  readonly work: string
  readonly root: string
  /** gsi-routerd's program file (a bundle in `npm run lab`). */
  readonly routerd: string
  readonly kubeUrl: string
  /** The GSI's AS (the daemons' base carries it). */
  readonly gsiAsn: number
  readonly cn: ControlNode
  readonly tgw: Tgw
}

/**
 * The control node with every pod advertised, and the TGW's BGP (no session until a Connect peer
 * exists): `tgwAsn` is the TransitGateway's amazonSideAsn, `gsiAsn` the GSI's, `podRouteTarget` the
 * pods' VirtualNetwork route target.
 */
export async function startLabPeers(net: GatewayNet, o: { tgwAsn: number; gsiAsn: number; podRouteTarget: string }): Promise<{ cn: ControlNode; tgw: Tgw }> {
  const host = net.peerHost()
  // no neighbour until the controller registers a node with a BGPRouter (setControlNodePeers)
  const cn = await startControlNode(host, { restartTime: 60, neighbors: [] })
  const tgw = await startTgw(host, { asn: o.tgwAsn, peerAsn: o.gsiAsn, vpcCidrs: [VPC_CIDR], vpcDevice: 'vpc', kernel: true, restartTime: 120 })
  net.vrouters.forEach((v) => v.pods.forEach((p, m) => {
    cn.addPod({ prefix: `${p.address}/32`, rd: `64512:${v.index * 100 + m}`, label: p.label, rt: o.podRouteTarget, vrouter: p.vrouter })
  }))
  return { cn, tgw }
}

export class LabDataplane {
  readonly nodes: LabNode[]
  readonly cn: ControlNode
  readonly tgw: Tgw
  /** Node index -> the Connect peer id whose TGW end is built. */
  private readonly peerOf = new Map<number, string>()
  private vpcRoutes: string[] = []
  private sessions = new Map<string, string>()
  /** The gateways the vRouters send VPC-bound traffic to, as of the last round. */
  gateways: string[] = []

  constructor(private readonly o: LabDataplaneOptions) {
    this.nodes = o.net.nodes.map((g, i) => new LabNode(g, o.nodeNames[i] ?? `node${g.index}`, o.work, o.root, o.routerd, o.kubeUrl, o.gsiAsn))
    this.cn = o.cn
    this.tgw = o.tgw
  }

  get net(): GatewayNet { return this.o.net }

  startDaemons(): void {
    for (const n of this.nodes) n.start()
  }

  /** The VPC route table as the Route objects say (the lab lists them each round). */
  /**
   * The nodes the CN2 control node peers with: the addresses of the BGPRouters (routerType router)
   * that refer to it, as CN2 configures a control node's peers from those objects. A node whose
   * BGPRouter goes (the controller removes it with the node's instance) is dropped at once.
   */
  setControlNodePeers(addresses: readonly string[]): void {
    this.o.cn.setNeighbors(addresses)
  }

  setVpcRoutes(cidrs: readonly string[]): void {
    this.vpcRoutes = [...cidrs].sort()
    this.o.net.setVpcRoutes(this.vpcRoutes)
  }

  /**
   * One round: the TGW's Connect peer ends follow the EC2 emulator's Connect peers (available ->
   * built, deleting/deleted -> removed), BgpStatus per session from BIRD, vRouters from the control
   * node. What runs every round runs without blocking the event loop: the emulators are served from
   * the same process.
   */
  async sync(): Promise<void> {
    const { net, world } = this.o
    const live = new Map<number, { id: string; tgwAddress: string; insideCidr: string }>()
    for (const p of world.peers()) {
      if (p.state !== 'available') continue
      const g = net.nodes.find((x) => x.address === p.peerAddress)
      const inside = p.insideCidrBlocks.find((b) => !b.includes(':'))
      if (g === undefined || inside === undefined) continue
      live.set(g.index, { id: p.id, tgwAddress: p.tgwAddress, insideCidr: inside })
    }
    let changed = false
    for (const [index, id] of [...this.peerOf]) {
      if (live.get(index)?.id === id) continue
      net.removeConnectPeer(net.nodes[index - 1]!)
      this.peerOf.delete(index)
      changed = true
    }
    for (const [index, p] of live) {
      if (this.peerOf.has(index)) continue
      net.addConnectPeer(net.nodes[index - 1]!, { tgwAddress: p.tgwAddress, insideCidr: p.insideCidr })
      this.peerOf.set(index, p.id)
      changed = true
    }
    if (changed) this.tgw.configure([])
    // Nothing to ask BIRD or the control node before the first Connect peer (the CPU is scarce
    // under the VM's emulation while every program starts).
    if (this.peerOf.size === 0 && !changed && this.sessions.size === 0) return
    const sessions = await this.tgw.sessionsAsync()
    this.sessions = sessions
    for (const [index, id] of this.peerOf) {
      const end = net.connectPeers.get(index)
      if (end === undefined) continue
      for (const [k, side] of [[2, 'a'], [3, 'b']] as const) {
        try {
          world.setBgpStatus(id, sessions.get(`n${index}${side}`) === 'Established' ? 'up' : 'down', nthAddress(end.insideCidr, k))
        } catch { /* deleted meanwhile */ }
      }
    }
    this.gateways = await net.syncVrouters(this.cn)
  }

  /** BIRD's session states toward node `index` as of the last round: [.2, .3]. */
  tgwSessions(index: number): [string, string] {
    return [this.sessions.get(`n${index}a`) ?? '-', this.sessions.get(`n${index}b`) ?? '-']
  }

  /** TGW protocols (sessions) configured as of the last round. */
  tgwSessionNames(): string[] {
    return [...this.sessions.keys()]
  }

  /** Nodes whose Connect peer is built and whose two TGW sessions were Established at the last round. */
  establishedNodes(): number[] {
    const s = this.sessions
    return [...this.peerOf.keys()].filter((i) => s.get(`n${i}a`) === 'Established' && s.get(`n${i}b`) === 'Established').sort()
  }

  /** Node indexes with a Connect peer end at the TGW. */
  connectPeerNodes(): number[] {
    return [...this.peerOf.keys()].sort()
  }

  /** The TGW kernel's next-hop devices toward `cidr` (g<i> per instance). */
  async tgwNextHops(cidr: string): Promise<string[]> {
    const r = await this.o.net.run(this.o.net.tgw, `ip route show ${cidr}`)
    return [...r.matchAll(/dev (g\d+)/g)].map((m) => m[1] as string).sort()
  }

  /** gsi-routerd's GRE links (gsig*) in node `index`'s namespace. */
  async greLinks(index: number): Promise<string[]> {
    const g = this.o.net.nodes[index - 1]!
    return [...(await this.o.net.run(g.ns, 'ip -o link show')).matchAll(/^\d+: (gsig[0-9a-f]+)@/gm)].map((m) => m[1] as string)
  }

  mainTable(index: number): Promise<string> {
    return this.o.net.run(this.o.net.nodes[index - 1]!.ns, 'ip route show table main; ip -6 route show table main')
  }

  /** Node `index` leaves: its daemon killed, its links down (neither the TGW nor the control node
   * reaches it any more), as when an EC2 instance is terminated. */
  async loseNode(index: number): Promise<void> {
    const n = this.nodes[index - 1]!
    n.gone = true
    await n.stop('SIGKILL')
    this.o.net.exec(n.g.ns, 'ip link set ut down; ip link set uf down')
  }

  async stop(): Promise<void> {
    for (const n of this.nodes) await n.stop('SIGKILL')
    await this.cn.stop()
    await this.tgw.stop()
  }

  /** The control node's session state toward node `index` (`established`, ...). */
  /** The addresses the control node has as neighbours (configured, whatever their state). */
  async controlNodeNeighbors(): Promise<string[]> {
    const v = await this.cn.jsonAsync<{ conf?: { neighbor_address?: string }; state?: { neighbor_address?: string } }[] | null>(['neighbor'])
    return (v ?? []).map(p => p.conf?.neighbor_address ?? p.state?.neighbor_address ?? '').filter(a => a !== '').sort()
  }

  async controlNodeState(index: number): Promise<string> {
    try {
      const v = await this.cn.jsonAsync<{ state?: { session_state?: number | string } }>(['neighbor', this.o.net.nodes[index - 1]!.address])
      const st = v?.state?.session_state
      return st === 6 || st === 'established' ? 'established' : String(st ?? '-')
    } catch { return '-' }
  }
}
