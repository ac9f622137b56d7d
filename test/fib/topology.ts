/**
 * Test harness, not a test: the data-plane topology of the kernel traffic tests, built from network
 * namespaces with plain iproute2 configuration everywhere except the gateway, which runs OUR code
 * (test/fib/gateway-agent.ts) in its namespace.
 *
 *   vpc ──veth (underlay 192.0.2.0/24)── gw ──veth── vr1 ── pod1 (10.244.1.10), pod9a (10.244.9.10)
 *   GRE 169.254.6.2/29 <-> gw's gsig link            └─veth── vr2 ── pod2 (10.244.2.10), pod9b (10.244.9.10)
 *   VPC workload addresses 10.60.0.1-16 on vpc's lo
 *
 * The vRouters are what CN2's vRouter does in the kernel's words: fou on 6635 for protocol 137, an
 * mplsip tunnel with fou encapsulation back to the gateway, per-pod labels popped to the pod, and a
 * route to the VPC pushing the gateway's table label. The gateway's node IP is 10.0.1.10 (on lo).
 */
import { execFileSync, spawn } from 'node:child_process'

export const GW_IP = '10.0.1.10'
export const TGW_IP = '192.0.2.10'
export const VR_IP = ['10.0.2.1', '10.0.2.2'] as const
/** Labels the vRouters assigned: pod1 301, pod2 302, the anycast pod9 309 (vr1) and 319 (vr2). */
export const LABEL = { pod1: 301, pod2: 302, pod9vr1: 309, pod9vr2: 319 } as const
export const TABLE = 100
export const TABLE_LABEL = 100

export function sh(cmd: string, input?: string): string {
  return execFileSync('sh', ['-c', cmd], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], input: input ?? '', timeout: 60_000 })
}

export class Topology {
  readonly ns: Record<'vpc' | 'gw' | 'vr1' | 'vr2' | 'pod1' | 'pod2' | 'pod9a' | 'pod9b', string>

  constructor(tag: string) {
    const n = (x: string): string => `k${tag}${x}`
    this.ns = { vpc: n('vpc'), gw: n('gw'), vr1: n('vr1'), vr2: n('vr2'), pod1: n('p1'), pod2: n('p2'), pod9a: n('p9a'), pod9b: n('p9b') }
  }

  /** ip -batch inside a namespace. */
  batch(ns: string, lines: string[]): void {
    sh(`ip -n ${ns} -batch -`, lines.join('\n') + '\n')
  }

  exec(ns: string, cmd: string): string {
    return sh(`ip netns exec ${ns} sh -c '${cmd.replaceAll("'", "'\\''")}'`)
  }

  build(): void {
    const { ns } = this
    sh(Object.values(ns).map(x => `ip netns add ${x}`).join(' && '))
    sh(Object.values(ns).map(x => `ip -n ${x} link set lo up`).join(' && '))
    // Underlay veths (created in the root namespace, moved at once).
    sh([
      `ip link add u0 netns ${ns.vpc} type veth peer name uvpc netns ${ns.gw}`,
      `ip link add u0 netns ${ns.vr1} type veth peer name uvr1 netns ${ns.gw}`,
      `ip link add u0 netns ${ns.vr2} type veth peer name uvr2 netns ${ns.gw}`,
      `ip link add e0 netns ${ns.pod1} type veth peer name p1 netns ${ns.vr1}`,
      `ip link add e0 netns ${ns.pod2} type veth peer name p2 netns ${ns.vr2}`,
      `ip link add e0 netns ${ns.pod9a} type veth peer name p9 netns ${ns.vr1}`,
      `ip link add e0 netns ${ns.pod9b} type veth peer name p9 netns ${ns.vr2}`,
    ].join(' && '))
    this.batch(ns.vpc, [
      'link set u0 up', `addr add ${TGW_IP}/24 dev u0`, `route add ${GW_IP}/32 dev u0`,
      // The VPC side of the Connect peer: plain kernel GRE, as the TGW would be.
      `link add gre1 type gre local ${TGW_IP} remote ${GW_IP} ttl 255`, 'link set gre1 up mtu 8476', 'addr add 169.254.6.2/29 dev gre1',
      ...Array.from({ length: 16 }, (_, i) => `addr add 10.60.0.${i + 1}/32 dev lo`),
      'route add 10.244.0.0/16 via 169.254.6.1 dev gre1',
    ])
    this.batch(ns.gw, [
      'link set uvpc up', 'addr add 192.0.2.1/24 dev uvpc', `addr add ${GW_IP}/32 dev lo`,
      'link set uvr1 up', `route add ${VR_IP[0]}/32 dev uvr1`, 'link set uvr2 up', `route add ${VR_IP[1]}/32 dev uvr2`,
    ])
    this.exec(ns.gw, 'sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0')
    ;(['vr1', 'vr2'] as const).forEach((vr, i) => {
      const me = VR_IP[i] as string
      const pod = i === 0 ? 'pod1' : 'pod2'
      const podNet = `10.244.${i + 1}`
      this.exec(ns[vr], 'sysctl -qw net.ipv4.ip_forward=1 net.mpls.platform_labels=1024 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0')
      this.batch(ns[vr], [
        'link set u0 up', `addr add ${me}/24 dev u0`, `route add ${GW_IP}/32 dev u0`,
        'fou add port 6635 ipproto 137',
        `link add back type ipip mode mplsip local ${me} remote ${GW_IP} ttl 64 encap fou encap-sport auto encap-dport 6635`, 'link set back up',
        `link set p${i + 1} up`, `addr add ${podNet}.1/24 dev p${i + 1}`,
        'link set p9 up', 'addr add 10.244.9.1/24 dev p9',
        `route add 10.60.0.0/16 encap mpls ${TABLE_LABEL} dev back`,
      ])
      // Labels pop to lo: the packet is then routed in this vRouter's table to the pod.
      sh(`ip -n ${ns[vr]} -f mpls route add ${i === 0 ? LABEL.pod1 : LABEL.pod2} dev lo && ip -n ${ns[vr]} -f mpls route add ${i === 0 ? LABEL.pod9vr1 : LABEL.pod9vr2} dev lo`)
      this.exec(ns[vr], 'sysctl -qw net.mpls.conf.back.input=1 net.ipv4.conf.back.rp_filter=0')
      this.batch(ns[pod], ['link set e0 up', `addr add ${podNet}.10/24 dev e0`, `route add default via ${podNet}.1`])
    })
    for (const p of ['pod9a', 'pod9b'] as const) this.batch(ns[p], ['link set e0 up', 'addr add 10.244.9.10/24 dev e0', 'route add default via 10.244.9.1'])
  }

  destroy(): void {
    for (const n of Object.values(this.ns)) {
      try { sh(`ip netns del ${n}`) } catch { /* not there */ }
    }
  }

  /** Pings from `from`; returns packets received. Bounded: -c count -W 1. */
  ping(from: keyof Topology['ns'], dst: string, count = 2, src?: string): number {
    let out: string
    try {
      out = this.exec(this.ns[from], `busybox ping -c ${count} -W 1 ${src ? `-I ${src} ` : ''}${dst}`)
    } catch (e) {
      out = String((e as { stdout?: string }).stdout ?? '')
    }
    const m = /(\d+) packets received/.exec(out)
    return m ? Number(m[1]) : 0
  }

  /** ICMP echo requests received in a namespace (/proc/net/snmp Icmp InEchos). */
  inEchos(ns: keyof Topology['ns']): number {
    const lines = this.exec(this.ns[ns], 'cat /proc/net/snmp').split('\n').filter(l => l.startsWith('Icmp:'))
    const names = (lines[0] ?? '').split(/\s+/), values = (lines[1] ?? '').split(/\s+/)
    return Number(values[names.indexOf('InEchos')] ?? NaN)
  }
}

/** Records `ip monitor route` in a namespace until stopped; returns the lines. */
export function monitorRoutes(netns: string): { stop: () => Promise<string[]> } {
  const child = spawn('ip', ['-n', netns, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] })
  let out = ''
  child.stdout.on('data', d => { out += d })
  return {
    stop: async () => {
      await new Promise(r => setTimeout(r, 300))
      const done = new Promise<void>(r => child.once('exit', () => r()))
      child.kill()
      await done
      return out.split('\n').filter(l => l.trim() !== '')
    },
  }
}
