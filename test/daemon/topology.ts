/**
 * The gateway's neighbourhood as network namespaces, for the daemon tests (iproute2 only, so it runs
 * on this host's kernel: veth pairs, no GRE, no bridge):
 *
 *   cn2 ns (a CN2 control node: gobgpd)          tgw ns (the Transit Gateway's BGP: BIRD)
 *     198.18.<i>.1/24 ──veth── node<i> ns ──veth── 169.254.<5+i>.2/29, .3/29
 *                              198.18.<i>.2/24     169.254.<5+i>.1/29 (the inside address, dataplane none)
 *
 * With `ipv6` each Connect peer also gets an inside /125 (fd00:<5+i>::/125: ::1 on the node, ::2 and
 * ::3 on the TGW side of the same veth), as AWS gives a Connect peer with an IPv6 inside CIDR.
 *
 * With `controlNodes: 2` a second control node's namespace (CN2 runs three) joins every node by a
 * veth of its own: 198.18.<i>.3 there, reached from the node by a /32 route with the node's own
 * 198.18.<i>.2 as source, so the daemon's one underlay address serves both control nodes.
 *
 * One node namespace per gateway instance, each running gsi-routerd. Every address lives inside a
 * namespace this module made; nothing touches the root namespace, and `destroy()` (also run at exit)
 * kills what runs inside and deletes the namespaces, which deletes the veths.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { killAndDeleteNetns } from '../../bench/ingest/netns.js'

let counter = 0
const live = new Set<Topology>()
let hooked = false

function hookExit(): void {
  if (hooked) return
  hooked = true
  process.on('exit', () => { for (const t of [...live]) t.destroy() })
}

const ip = (args: string[]): void => {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 })
}

export interface NodeNet {
  readonly index: number
  readonly ns: string
  /** The node's underlay address (toward the control node): GRE outer source, MPLSoUDP, next hop to CN2. */
  readonly address: string
  /** The control node's address on this node's link. */
  readonly controlNode: string
  /** The Connect peer's inside /29 and the three addresses in it. */
  readonly insideCidr: string
  readonly insideLocal: string
  readonly tgwPeers: readonly [string, string]
  /** With `controlNodes: 2`: the second control node's address on this node's link. */
  readonly controlNode2?: string
  /** With `ipv6`: the inside /125, our ::1 and the TGW's ::2 and ::3. */
  readonly insideCidr6?: string
  readonly insideLocal6?: string
  readonly tgwPeers6?: readonly [string, string]
}

export interface TopologyOptions {
  /** An IPv6 inside /125 beside each /29 (addresses added without duplicate address detection, so
   * they are usable at once). */
  readonly ipv6?: boolean
  /** Control-node namespaces: 1 (default) or 2. */
  readonly controlNodes?: 1 | 2
}

export class Topology {
  readonly cn2: string
  /** The second control node's namespace (option controlNodes: 2). */
  readonly cn2b: string | undefined
  readonly tgw: string
  readonly nodes: NodeNet[] = []
  private destroyed = false
  private readonly made: string[] = []

  constructor(nodeCount: number, prefix = 'gsid', opts: TopologyOptions = {}) {
    hookExit()
    const id = `${process.pid % 100000}${counter++}`
    this.cn2 = `${prefix}c${id}`
    this.tgw = `${prefix}t${id}`
    this.cn2b = opts.controlNodes === 2 ? `${prefix}d${id}` : undefined
    live.add(this)
    try {
      for (const ns of [this.cn2, this.tgw, ...(this.cn2b !== undefined ? [this.cn2b] : [])]) {
        ip(['netns', 'add', ns])
        this.made.push(ns)
        ip(['-n', ns, 'link', 'set', 'lo', 'up'])
      }
      for (let i = 1; i <= nodeCount; i++) {
        const ns = `${prefix}n${i}x${id}`
        ip(['netns', 'add', ns])
        this.made.push(ns)
        ip(['-n', ns, 'link', 'set', 'lo', 'up'])
        // underlay link to the control node (created inside the node namespace, one end moved)
        ip(['-n', ns, 'link', 'add', 'cn', 'type', 'veth', 'peer', 'name', `n${i}`])
        ip(['-n', ns, 'link', 'set', `n${i}`, 'netns', this.cn2])
        ip(['-n', ns, 'addr', 'add', `198.18.${i}.2/24`, 'dev', 'cn'])
        ip(['-n', ns, 'link', 'set', 'cn', 'up'])
        ip(['-n', this.cn2, 'addr', 'add', `198.18.${i}.1/24`, 'dev', `n${i}`])
        ip(['-n', this.cn2, 'link', 'set', `n${i}`, 'up'])
        if (this.cn2b !== undefined) {
          ip(['-n', ns, 'link', 'add', 'cnb', 'type', 'veth', 'peer', 'name', `n${i}`])
          ip(['-n', ns, 'link', 'set', `n${i}`, 'netns', this.cn2b])
          ip(['-n', ns, 'link', 'set', 'cnb', 'up'])
          ip(['-n', this.cn2b, 'addr', 'add', `198.18.${i}.3/24`, 'dev', `n${i}`])
          ip(['-n', this.cn2b, 'link', 'set', `n${i}`, 'up'])
          ip(['-n', ns, 'route', 'add', `198.18.${i}.3/32`, 'dev', 'cnb', 'src', `198.18.${i}.2`])
        }
        // the TGW side: the inside /29 on a veth standing for the GRE link (dataplane none)
        const o = 5 + i
        ip(['-n', ns, 'link', 'add', 'tgw', 'type', 'veth', 'peer', 'name', `t${i}`])
        ip(['-n', ns, 'link', 'set', `t${i}`, 'netns', this.tgw])
        ip(['-n', ns, 'addr', 'add', `169.254.${o}.1/29`, 'dev', 'tgw'])
        ip(['-n', ns, 'link', 'set', 'tgw', 'up'])
        ip(['-n', this.tgw, 'addr', 'add', `169.254.${o}.2/29`, 'dev', `t${i}`])
        ip(['-n', this.tgw, 'addr', 'add', `169.254.${o}.3/29`, 'dev', `t${i}`])
        ip(['-n', this.tgw, 'link', 'set', `t${i}`, 'up'])
        const v6 = opts.ipv6 === true ? {
          insideCidr6: `fd00:${o}::/125`, insideLocal6: `fd00:${o}::1`, tgwPeers6: [`fd00:${o}::2`, `fd00:${o}::3`] as const,
        } : {}
        if (v6.insideCidr6 !== undefined) {
          ip(['-n', ns, 'addr', 'add', `${v6.insideLocal6}/125`, 'dev', 'tgw', 'nodad'])
          for (const a of v6.tgwPeers6) ip(['-n', this.tgw, 'addr', 'add', `${a}/125`, 'dev', `t${i}`, 'nodad'])
        }
        this.nodes.push({
          index: i, ns, address: `198.18.${i}.2`, controlNode: `198.18.${i}.1`,
          ...(this.cn2b !== undefined ? { controlNode2: `198.18.${i}.3` } : {}),
          insideCidr: `169.254.${o}.0/29`, insideLocal: `169.254.${o}.1`, tgwPeers: [`169.254.${o}.2`, `169.254.${o}.3`],
          ...v6,
        })
      }
    } catch (err) {
      this.destroy()
      throw err
    }
  }

  /** Every namespace this topology made. */
  get namespaces(): string[] {
    return [this.cn2, this.tgw, ...(this.cn2b !== undefined ? [this.cn2b] : []), ...this.nodes.map(n => n.ns)]
  }

  spawn(ns: string, cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    return spawn('ip', ['netns', 'exec', ns, cmd, ...args], opts)
  }

  exec(ns: string, cmd: string, args: string[], timeoutMs = 10_000): string {
    return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] })
  }

  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    for (const ns of this.made) killAndDeleteNetns(ns, 500)
    live.delete(this)
  }
}
