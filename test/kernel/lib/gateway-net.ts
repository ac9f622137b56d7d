/**
 * Test harness, not a test: a whole Gateway Service Instance on one kernel, built from network
 * namespaces with plain iproute2 everywhere except the gateway nodes, which run the real gsi-routerd:
 *
 *   vpc (10.0.5.10) ── tgw ──GRE g<i> (169.254.<5+i>.2/.3 <-> .1)── node<i> (gsi-routerd, 10.0.1.1<i> on lo)
 *                      │ BIRD: 2 eBGP sessions per node, AS 64512,            │ MPLS over UDP 6635
 *                      │ kernel routes with ECMP (merge paths)                 │
 *                    fabric (routes underlay; gobgpd = CN2 control node 10.0.3.1) ── vr1 (10.0.2.1) ── pod1 10.244.1.10
 *                                                                               └─ vr2 (10.0.2.2) ── pod2 10.244.2.10
 *
 * The vRouters do in the kernel's words what CN2's vRouter does: fou on 6635 for protocol 137, an
 * mplsip tunnel with fou encapsulation to each gateway node, the pod's label popped to the pod, and the
 * VPC CIDR pushed with the gateway table's label toward the gateways that advertise it. Which gateways
 * those are is read from the control node's RIB (`syncVrouters`), as a vRouter agent learns it from
 * its control node over XMPP.
 *
 * Underlay links are /30s from 172.16.0.0/16; every address lives inside namespaces this harness made.
 */
import { execFileSync, spawn } from 'node:child_process'
import type { PeerHost } from '../../daemon/peers.js'

export function sh(cmd: string, input?: string, timeoutMs = 60_000): string {
  return execFileSync('sh', ['-c', cmd], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], input: input ?? '', timeout: timeoutMs })
}

export const TGW_GRE_ADDRESS = '192.0.2.100'
export const CONTROL_NODE = '10.0.3.1'
export const VPC_HOST = '10.0.5.10'
export const VPC_CIDR = '10.0.5.0/24'
export const EXPOSED_CIDR = '10.244.0.0/16'
export const ROUTE_TARGET = 'target:64512:8000001'
export const GATEWAY_TABLE = 1000
export const GATEWAY_LABEL = 1000
export const TGW_ASN = 64512
export const GSI_ASN = 65001

export interface GwNode {
  readonly index: number
  readonly ns: string
  readonly address: string
  readonly insideCidr: string
  readonly tgwGre: string
}

export interface Vrouter {
  readonly index: number
  readonly ns: string
  readonly address: string
  readonly podNs: string
  readonly pod: string
  readonly podLabel: number
}

export class GatewayNet {
  readonly vpc: string
  readonly tgw: string
  readonly fabric: string
  readonly nodes: GwNode[] = []
  readonly vrouters: Vrouter[] = []
  private readonly made: string[] = []

  constructor(tag: string, nodeCount: number) {
    const n = (x: string): string => `g${tag}${x}`
    this.vpc = n('vpc')
    this.tgw = n('tgw')
    this.fabric = n('fab')
    for (let i = 1; i <= nodeCount; i++) {
      this.nodes.push({ index: i, ns: n(`n${i}`), address: `10.0.1.1${i}`, insideCidr: `169.254.${5 + i}.0/29`, tgwGre: `g${i}` })
    }
    for (let j = 1; j <= 2; j++) {
      this.vrouters.push({ index: j, ns: n(`vr${j}`), address: `10.0.2.${j}`, podNs: n(`p${j}`), pod: `10.244.${j}.10`, podLabel: 300 + j })
    }
  }

  batch(ns: string, lines: string[]): void {
    sh(`ip -n ${ns} -batch -`, lines.join('\n') + '\n')
  }

  exec(ns: string, cmd: string, timeoutMs = 60_000): string {
    return sh(`ip netns exec ${ns} sh -c '${cmd.replaceAll("'", "'\\''")}'`, undefined, timeoutMs)
  }

  private addNs(name: string): void {
    sh(`ip netns add ${name} && ip -n ${name} link set lo up`)
    this.made.push(name)
  }

  build(): void {
    for (const ns of [this.vpc, this.tgw, this.fabric, ...this.nodes.map(x => x.ns), ...this.vrouters.flatMap(v => [v.ns, v.podNs])]) this.addNs(ns)
    const fwd = 'sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0'
    // VPC host behind the TGW
    sh(`ip link add u0 netns ${this.vpc} type veth peer name vpc netns ${this.tgw}`)
    this.batch(this.vpc, ['link set u0 up', `addr add ${VPC_HOST}/24 dev u0`, 'route add default via 10.0.5.1'])
    this.batch(this.tgw, ['link set vpc up', 'addr add 10.0.5.1/24 dev vpc', `addr add ${TGW_GRE_ADDRESS}/32 dev lo`])
    this.exec(this.tgw, fwd)
    this.exec(this.fabric, fwd)
    this.batch(this.fabric, [`addr add ${CONTROL_NODE}/32 dev lo`])
    for (const g of this.nodes) {
      const i = g.index
      sh(`ip link add ut netns ${g.ns} type veth peer name n${i} netns ${this.tgw}`)
      sh(`ip link add uf netns ${g.ns} type veth peer name n${i} netns ${this.fabric}`)
      this.batch(g.ns, [
        `addr add ${g.address}/32 dev lo`,
        'link set ut up', `addr add 172.16.3${i}.2/30 dev ut`, `route add ${TGW_GRE_ADDRESS}/32 via 172.16.3${i}.1`,
        'link set uf up', `addr add 172.16.1${i}.2/30 dev uf`, `route add ${CONTROL_NODE}/32 via 172.16.1${i}.1`, `route add 10.0.2.0/24 via 172.16.1${i}.1`,
      ])
      this.batch(this.tgw, [
        `link set n${i} up`, `addr add 172.16.3${i}.1/30 dev n${i}`, `route add ${g.address}/32 via 172.16.3${i}.2`,
        // the TGW's end of the Connect peer: plain kernel GRE
        `link add ${g.tgwGre} type gre local ${TGW_GRE_ADDRESS} remote ${g.address} ttl 255`, `link set ${g.tgwGre} up mtu 8476`,
        `addr add 169.254.${5 + i}.2/29 dev ${g.tgwGre}`, `addr add 169.254.${5 + i}.3/29 dev ${g.tgwGre}`,
      ])
      this.batch(this.fabric, [`link set n${i} up`, `addr add 172.16.1${i}.1/30 dev n${i}`, `route add ${g.address}/32 via 172.16.1${i}.2`])
    }
    for (const v of this.vrouters) {
      const j = v.index
      sh(`ip link add u0 netns ${v.ns} type veth peer name v${j} netns ${this.fabric}`)
      sh(`ip link add e0 netns ${v.podNs} type veth peer name p netns ${v.ns}`)
      this.batch(this.fabric, [`link set v${j} up`, `addr add 172.16.2${j}.1/30 dev v${j}`, `route add ${v.address}/32 via 172.16.2${j}.2`])
      this.exec(v.ns, `${fwd} net.mpls.platform_labels=1024`)
      const lines = [
        `addr add ${v.address}/32 dev lo`, 'link set u0 up', `addr add 172.16.2${j}.2/30 dev u0`, 'route add 10.0.1.0/24 via 172.16.2' + j + '.1',
        'fou add port 6635 ipproto 137',
        'link set p up', `addr add 10.244.${j}.1/24 dev p`,
      ]
      for (const g of this.nodes) lines.push(`link add gw${g.index} type ipip mode mplsip local ${v.address} remote ${g.address} ttl 64 encap fou encap-sport auto encap-dport 6635`, `link set gw${g.index} up`)
      this.batch(v.ns, lines)
      sh(`ip -n ${v.ns} -f mpls route add ${v.podLabel} dev lo`)
      this.exec(v.ns, this.nodes.map(g => `sysctl -qw net.mpls.conf.gw${g.index}.input=1 net.ipv4.conf.gw${g.index}.rp_filter=0`).join(' && '))
      this.batch(v.podNs, ['link set e0 up', `addr add ${v.pod}/24 dev e0`, `route add default via 10.244.${j}.1`])
    }
  }

  /** The control node (gobgpd in the fabric) and the TGW (BIRD) see the network through this. */
  peerHost(): PeerHost {
    return {
      cn2: this.fabric,
      tgw: this.tgw,
      nodes: this.nodes.map(g => ({
        index: g.index, address: g.address, controlNode: CONTROL_NODE,
        insideLocal: `169.254.${5 + g.index}.1`, tgwPeers: [`169.254.${5 + g.index}.2`, `169.254.${5 + g.index}.3`] as const,
      })),
      spawn: (ns, cmd, args, opts = {}) => spawn('ip', ['netns', 'exec', ns, cmd, ...args], opts),
      exec: (ns, cmd, args, timeoutMs = 30_000) => execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] }),
    }
  }

  /** Points each vRouter's route to the VPC at the gateways the control node currently has it from
   * (its agent's job in CN2); none -> the route is removed. Returns the gateway addresses used. */
  setVrouterGateways(gateways: readonly string[]): void {
    for (const v of this.vrouters) {
      const hops = this.nodes.filter(g => gateways.includes(g.address)).map(g => `nexthop encap mpls ${GATEWAY_LABEL} dev gw${g.index}`)
      if (hops.length === 0) this.exec(v.ns, `ip route del ${VPC_CIDR} 2>/dev/null || true`)
      else this.exec(v.ns, `ip route replace ${VPC_CIDR} ${hops.join(' ')}`)
    }
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
