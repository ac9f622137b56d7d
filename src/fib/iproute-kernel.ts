/**
 * The FIB writer's and gre/'s kernel ports (`FibKernel`, `GreKernel`) implemented with iproute2
 * (`ip`, `sysctl`), optionally inside a named network namespace (`ip -n NS`).
 *
 * Why this exists: it was written while the project's own netlink layer (src/netlink/) was being
 * built, so that the data-plane logic could be tested on a real kernel from the start; it stays as a
 * second, independent implementation of the same ports (tests can run one scenario over both) and as
 * a fallback. Writes go through `ip -batch -` (many routes per process, errors matched back to their
 * line); reads use `ip -j` where its JSON is sound (links, addresses, MPLS routes) and the text form
 * for IPv4/IPv6 routes (iproute2 6.1's JSON prints an MPLS encap's label under the same "dst" key as
 * the route's destination, so the destination is lost).
 *
 * Kernel errors come back with what to do, naming the module when one is missing (fou, ipip,
 * mpls_router, mpls_iptunnel, vrf, ip_gre).
 */
import { spawn } from 'node:child_process'
import type { GreKernel } from '../../gre/index.js'
import type { GreLinkSpec } from '../../gre/config.js'
import type { GreLinkState } from '../../gre/reconcile.js'
import { IPPROTO_MPLS } from '../../mplsoudp/tunnels.js'
import type { TunnelLink } from '../../mplsoudp/tunnels.js'
import { parseAddress, parsePrefix } from './prefix.js'
import type { FibKernel, KernelLabelRoute, KernelNextHop, KernelRoute, LabelOp, RouteEvent, RouteOp, VrfLink } from './types.js'

export class KernelError extends Error {
  readonly code = 'ERR_KERNEL'
  constructor(readonly object: string, message: string, readonly module?: string) {
    super(`${object}: ${message}`)
    this.name = 'KernelError'
  }
}

interface Run { code: number | null; stdout: string; stderr: string }

function run(argv: readonly string[], input = '', timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs })
    const out: Buffer[] = [], err: Buffer[] = []
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.on('data', (d: Buffer) => err.push(d))
    child.on('error', e => reject(new KernelError(argv[0] as string, `cannot run: ${e.message}`)))
    child.on('close', code => resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }))
    child.stdin.on('error', () => undefined)
    child.stdin.end(input)
  })
}

/** Turns an iproute2/kernel error text into advice, naming the module when one is missing. */
export function explain(object: string, stderr: string, kind?: string): KernelError {
  const msg = stderr.trim().split('\n').filter(l => !/^Command failed/.test(l)).join('; ') || 'failed'
  const moduleFor: Record<string, string> = { gre: 'ip_gre', ipip: 'ipip', vrf: 'vrf', fou: 'fou', mpls: 'mpls_router' }
  if (/Genetlink family fou not found|family fou/i.test(msg)) return new KernelError(object, `${msg}: kernel module fou is missing (modprobe fou)`, 'fou')
  if (/Unknown device type|Operation not supported|not supported/i.test(msg) && kind && moduleFor[kind]) {
    return new KernelError(object, `${msg}: kernel module ${moduleFor[kind]} is missing (modprobe ${moduleFor[kind]})`, moduleFor[kind])
  }
  if (/encap/i.test(object) && /(Invalid argument|not supported|Unknown)/i.test(msg)) {
    return new KernelError(object, `${msg}: MPLS encapsulation needs kernel module mpls_iptunnel (modprobe mpls_iptunnel)`, 'mpls_iptunnel')
  }
  if (/File exists/.test(msg)) return new KernelError(object, `${msg}: another route or link already holds it (not ours: left alone)`)
  if (/Cannot find device|No such device/.test(msg)) return new KernelError(object, `${msg}: the device is missing (was it deleted by hand?)`)
  if (/Operation not permitted/.test(msg)) return new KernelError(object, `${msg}: needs CAP_NET_ADMIN`)
  return new KernelError(object, msg)
}

/** Parses `ip route show` text (blocks: a route line, then indented `nexthop` lines). */
export function parseRouteText(text: string, defaultTable = 254): KernelRoute[] {
  const out: KernelRoute[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string
    if (line.trim() === '' || /^\s/.test(line)) continue
    const hopLines: string[] = []
    while (i + 1 < lines.length && /^\s+nexthop\b/.test(lines[i + 1] as string)) hopLines.push((lines[++i] as string).trim())
    const r = parseRouteLine(line, hopLines, defaultTable)
    if (r) out.push(r)
  }
  return out
}

const ROUTE_TYPES = new Set(['unicast', 'local', 'broadcast', 'multicast', 'unreachable', 'prohibit', 'blackhole', 'throw', 'nat', 'anycast'])

function parseFields(tokens: string[], start: number): { fields: Map<string, string>; labels?: number[] } {
  const fields = new Map<string, string>()
  let labels: number[] | undefined
  for (let i = start; i < tokens.length; i++) {
    const t = tokens[i] as string
    if (t === 'encap') {
      const type = tokens[i + 1]
      if (type === 'mpls') labels = (tokens[i + 2] ?? '').split('/').map(Number)
      i += 2
    } else if (t === 'via') {
      let v = tokens[++i] ?? ''
      if (v === 'inet' || v === 'inet6') v = tokens[++i] ?? ''
      fields.set('via', v)
    } else if (['dev', 'table', 'proto', 'scope', 'metric', 'src', 'weight', 'pref', 'expires', 'mtu', 'hoplimit', 'advmss'].includes(t)) {
      fields.set(t, tokens[++i] ?? '')
    } else if (t === 'nexthop') {
      // "nexthop" starts a next hop on the same line (ip -o); handled by the caller splitting.
    }
  }
  return labels ? { fields, labels } : { fields }
}

function parseRouteLine(line: string, hopLines: string[], defaultTable: number): KernelRoute | undefined {
  const tokens = line.trim().split(/\s+/)
  let i = 0
  if (tokens[0] === 'Deleted') i++
  if (ROUTE_TYPES.has(tokens[i] as string)) {
    if (tokens[i] !== 'unicast') return undefined
    i++
  }
  const dstText = tokens[i] as string
  const { fields, labels } = parseFields(tokens, i + 1)
  let prefix: string
  try {
    prefix = dstText === 'default' ? (line.includes(':') ? '::/0' : '0.0.0.0/0') : parsePrefix(dstText.includes('/') ? dstText : `${dstText}/${dstText.includes(':') ? 128 : 32}`, 'dst', false).text
  } catch { return undefined }
  const family = prefix.includes(':') ? 6 : 4
  const tableText = fields.get('table')
  const table = tableText === undefined ? defaultTable : tableText === 'main' ? 254 : tableText === 'local' ? 255 : tableText === 'default' ? 253 : Number(tableText)
  const hop = (f: Map<string, string>, l: number[] | undefined, weight: number): KernelNextHop | undefined => {
    const dev = f.get('dev')
    if (dev === undefined) return undefined
    const via = f.get('via')
    const h: { dev: string; gateway?: string; labels?: number[]; weight: number } = { dev, weight }
    if (via !== undefined) h.gateway = parseAddress(via, 'via').text
    if (l) h.labels = l
    return h
  }
  const nexthops: KernelNextHop[] = []
  if (hopLines.length) {
    for (const hl of hopLines) {
      const p = parseFields(hl.split(/\s+/), 1)
      const h = hop(p.fields, p.labels, Number(p.fields.get('weight') ?? 1))
      if (h) nexthops.push(h)
    }
  } else {
    const h = hop(fields, labels, 1)
    if (h) nexthops.push(h)
  }
  return { family, table, prefix, protocol: Number(fields.get('proto') ?? 0), metric: Number(fields.get('metric') ?? 0), nexthops }
}

/** The `ip` arguments of a route (destination, table, protocol, metric, next hops). */
export function routeArgs(r: KernelRoute): string {
  const hop = (h: KernelNextHop): string =>
    `${h.labels ? `encap mpls ${h.labels.join('/')} ` : ''}${h.gateway ? `via ${h.gateway} ` : ''}dev ${h.dev}`
  const head = `${r.prefix} table ${r.table} proto ${r.protocol} metric ${r.metric}`
  if (r.nexthops.length === 1) return `${head} ${hop(r.nexthops[0] as KernelNextHop)}`
  return `${head} ${r.nexthops.map(h => `nexthop ${hop(h)} weight ${h.weight}`).join(' ')}`
}

export interface IprouteKernelOptions {
  /** Network namespace name (`ip netns`); the caller's namespace when absent. */
  readonly netns?: string
  readonly ip?: string
}

export class IprouteKernel implements FibKernel, GreKernel {
  private readonly ipBase: string[]
  private readonly execBase: string[]

  constructor(private readonly o: IprouteKernelOptions = {}) {
    const ip = o.ip ?? 'ip'
    this.ipBase = o.netns ? [ip, '-n', o.netns] : [ip]
    this.execBase = o.netns ? [ip, 'netns', 'exec', o.netns] : []
  }

  private async ip(args: string[], object: string, kind?: string): Promise<string> {
    const r = await run([...this.ipBase, ...args])
    if (r.code !== 0) throw explain(object, r.stderr, kind)
    return r.stdout
  }

  private async ipJson<T>(args: string[], object: string): Promise<T[]> {
    const out = await this.ip(['-j', ...args], object)
    return out.trim() === '' ? [] : JSON.parse(out) as T[]
  }

  /** Runs `ip -batch -` with -force; returns one error (or undefined) per line. */
  private async batch(lines: string[], objects: string[], kinds?: (string | undefined)[]): Promise<(Error | undefined)[]> {
    if (lines.length === 0) return []
    const r = await run([...this.ipBase, '-force', '-batch', '-'], lines.join('\n') + '\n')
    const results: (Error | undefined)[] = lines.map(() => undefined)
    // iproute2 prints the kernel's message, then "Command failed -:N" naming the 1-based line.
    const errLines = r.stderr.split('\n')
    let pending: string[] = []
    for (const l of errLines) {
      const m = /^Command failed -:(\d+)/.exec(l)
      if (m) {
        const n = Number(m[1]) - 1
        if (n >= 0 && n < lines.length) results[n] = explain(objects[n] as string, pending.join('\n'), kinds?.[n])
        pending = []
      } else if (l.trim() !== '') pending.push(l)
    }
    if (r.code !== 0 && results.every(x => x === undefined)) {
      const err = explain('ip -batch', r.stderr)
      return results.map(() => err)
    }
    return results
  }

  private async sysctl(key: string, value: string | number): Promise<void> {
    const r = await run([...this.execBase, 'sysctl', '-qw', `${key}=${value}`])
    if (r.code !== 0) {
      const mod = key.startsWith('net.mpls.') ? 'mpls_router' : undefined
      throw new KernelError(`sysctl ${key}`, `${r.stderr.trim() || 'failed'}${mod ? `: kernel module ${mod} is missing (modprobe ${mod})` : ''}`, mod)
    }
  }

  // ---- routes ----------------------------------------------------------------------------------

  async dumpRoutes(protocol: number): Promise<KernelRoute[]> {
    const out: KernelRoute[] = []
    for (const fam of ['-4', '-6']) {
      const text = await this.ip(['-N', fam, 'route', 'show', 'table', 'all', 'proto', String(protocol)], 'route dump')
      // With a proto filter iproute2 omits "proto": put it back.
      for (const r of parseRouteText(text)) if (r.table !== 254 && r.table !== 255 && r.table !== 253) out.push({ ...r, protocol })
    }
    return out
  }

  async applyRoutes(ops: readonly RouteOp[]): Promise<(Error | undefined)[]> {
    const lines = ops.map(op => {
      const r = op.route
      switch (op.op) {
        case 'add': return `route add ${routeArgs(r)}`
        case 'replace': return `route replace ${routeArgs(r)}`
        case 'delete': return `route del ${r.prefix} table ${r.table} proto ${r.protocol} metric ${r.metric}`
      }
    })
    const objects = ops.map(op => `${op.op} route ${op.route.prefix} table ${op.route.table}${op.route.nexthops.some(h => h.labels) ? ' (encap mpls)' : ''}`)
    return this.batch(lines, objects)
  }

  async dumpLabelRoutes(protocol: number): Promise<KernelLabelRoute[]> {
    let rows: { dst: string; dev?: string; protocol?: string }[]
    try {
      rows = await this.ipJson(['-N', '-f', 'mpls', 'route', 'show'], 'mpls route dump')
    } catch (e) {
      throw new KernelError('mpls route dump', `${(e as Error).message}: kernel module mpls_router is missing? (modprobe mpls_router)`, 'mpls_router')
    }
    return rows.filter(r => Number(r.protocol) === protocol && r.dev !== undefined)
      .map(r => ({ label: Number(r.dst), protocol, dev: r.dev as string }))
  }

  async applyLabelRoutes(ops: readonly LabelOp[]): Promise<(Error | undefined)[]> {
    const res: (Error | undefined)[] = []
    for (const op of ops) {
      const r = op.route
      const args = op.op === 'delete' ? ['-f', 'mpls', 'route', 'del', String(r.label)] : ['-f', 'mpls', 'route', 'replace', String(r.label), 'dev', r.dev, 'proto', String(r.protocol)]
      try { await this.ip(args, `${op.op} mpls label route ${r.label} -> ${r.dev}`, 'mpls'); res.push(undefined) } catch (e) { res.push(e as Error) }
    }
    return res
  }

  watchRoutes(onEvent: (ev: RouteEvent) => void, onError: (err: Error) => void): () => void {
    const child = spawn(this.ipBase[0] as string, [...this.ipBase.slice(1), '-N', 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let buf = ''
    let block: string[] = []
    let timer: NodeJS.Timeout | undefined
    const emit = (): void => {
      timer = undefined
      if (block.length === 0) return
      const head = block[0] as string
      const del = head.startsWith('Deleted ')
      const hops = block.slice(1).filter(l => /^\s+nexthop\b/.test(l)).map(l => l.trim())
      block = []
      const r = parseRouteLine(head, hops, 254)
      if (r) onEvent({ type: del ? 'del' : 'new', route: r })
    }
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString()
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        if (/^\s/.test(line)) { block.push(line); continue }
        emit()
        if (line.trim() !== '') block.push(line)
      }
      // A multipath route's next hop lines follow at once; flush the block when the output pauses.
      if (timer) clearTimeout(timer)
      timer = setTimeout(emit, 5)
    })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    let stopped = false
    child.on('exit', code => { if (!stopped) onError(new KernelError('ip monitor route', `exited (${code}): ${stderr.trim()}`)) })
    child.on('error', e => onError(new KernelError('ip monitor route', e.message)))
    return () => { stopped = true; if (timer) clearTimeout(timer); child.kill() }
  }

  // ---- links -----------------------------------------------------------------------------------

  private async links(): Promise<LinkJson[]> {
    return this.ipJson<LinkJson>(['-d', 'link', 'show'], 'link dump')
  }

  async listVrfs(prefix: string): Promise<VrfLink[]> {
    return (await this.links())
      .filter(l => l.linkinfo?.info_kind === 'vrf' && l.ifname.startsWith(prefix))
      .map(l => ({ name: l.ifname, table: Number(l.linkinfo?.info_data?.table ?? 0), up: l.flags.includes('UP') }))
  }

  async ensureVrf(name: string, table: number): Promise<void> {
    const have = (await this.links()).find(l => l.ifname === name)
    if (have && (have.linkinfo?.info_kind !== 'vrf' || Number(have.linkinfo.info_data?.table) !== table)) await this.deleteLink(name)
    if (!have || have.linkinfo?.info_kind !== 'vrf' || Number(have.linkinfo.info_data?.table) !== table) {
      await this.ip(['link', 'add', name, 'type', 'vrf', 'table', String(table)], `create VRF ${name} (table ${table})`, 'vrf')
    }
    await this.ip(['link', 'set', name, 'up'], `bring up ${name}`)
  }

  async deleteLink(name: string): Promise<void> {
    await this.ip(['link', 'del', name], `delete link ${name}`)
  }

  async listTunnels(prefix: string): Promise<TunnelLink[]> {
    return (await this.links())
      .filter(l => l.linkinfo?.info_kind === 'ipip' && l.ifname.startsWith(prefix))
      .map(l => {
        const d = l.linkinfo?.info_data ?? {}
        const encap = (d.encap ?? {}) as { type?: string; dport?: number }
        return {
          name: l.ifname, local: String(d.local ?? ''), remote: String(d.remote ?? ''), ttl: Number(d.ttl ?? 0),
          encapDport: d.proto === 'mplsip' && encap.type === 'fou' ? Number(encap.dport ?? 0) : 0, up: l.flags.includes('UP'),
        }
      })
  }

  async ensureTunnel(t: Omit<TunnelLink, 'up'>): Promise<void> {
    const have = (await this.listTunnels(t.name)).find(x => x.name === t.name)
    const other = have ? undefined : (await this.links()).find(l => l.ifname === t.name)
    if (other || (have && (have.local !== t.local || have.remote !== t.remote || have.ttl !== t.ttl || have.encapDport !== t.encapDport))) await this.deleteLink(t.name)
    if (!have || have.local !== t.local || have.remote !== t.remote || have.ttl !== t.ttl || have.encapDport !== t.encapDport) {
      await this.ip(['link', 'add', t.name, 'type', 'ipip', 'mode', 'mplsip', 'local', t.local, 'remote', t.remote, 'ttl', String(t.ttl),
        'encap', 'fou', 'encap-sport', 'auto', 'encap-dport', String(t.encapDport)], `create MPLSoUDP tunnel ${t.name} to ${t.remote}`, 'ipip')
    }
    // MPLS input on the tunnel (the vRouter sends labelled packets back over it); no reverse-path
    // filter: replies may come back over another tunnel than the one the route points at (ECMP).
    await this.sysctl(`net.mpls.conf.${t.name}.input`, 1)
    await this.sysctl(`net.ipv4.conf.${t.name}.rp_filter`, 0)
    await this.ip(['link', 'set', t.name, 'up'], `bring up ${t.name}`)
  }

  async ensureMplsoudpListener(port: number, platformLabels: number): Promise<void> {
    const r = await run([...this.execBase, 'sysctl', '-n', 'net.mpls.platform_labels'])
    if (r.code !== 0) throw new KernelError('net.mpls.platform_labels', 'not found: kernel module mpls_router is missing (modprobe mpls_router)', 'mpls_router')
    if (Number(r.stdout.trim()) < platformLabels) await this.sysctl('net.mpls.platform_labels', platformLabels)
    let listeners: { port: number; ipproto: number; family?: string }[]
    try {
      listeners = await this.ipJson(['fou', 'show'], 'fou listeners')
    } catch (e) {
      throw e instanceof KernelError && e.module === 'fou' ? e : explain('fou listeners', (e as Error).message, 'fou')
    }
    if (!listeners.some(l => l.port === port && l.ipproto === IPPROTO_MPLS)) {
      await this.ip(['fou', 'add', 'port', String(port), 'ipproto', String(IPPROTO_MPLS)], `fou listener on UDP ${port}`, 'fou')
    }
  }

  async removeMplsoudpListener(port: number): Promise<boolean> {
    const r = await run([...this.ipBase, 'fou', 'del', 'port', String(port)])
    return r.code === 0
  }

  // ---- GRE -------------------------------------------------------------------------------------

  async listGreLinks(): Promise<GreLinkState[]> {
    const links = (await this.links()).filter(l => l.linkinfo?.info_kind === 'gre' || l.ifname.startsWith('gsig'))
    if (links.length === 0) return []
    const addrs = await this.ipJson<{ ifname: string; addr_info?: { local: string; prefixlen: number }[] }>(['addr', 'show'], 'address dump')
    const byName = new Map(addrs.map(a => [a.ifname, (a.addr_info ?? []).map(x => `${parseAddress(x.local, 'address').text}/${x.prefixlen}`)]))
    const key = (v: unknown): number => typeof v === 'number' ? v : typeof v === 'string' ? (v.includes('.') ? v.split('.').reduce((a, b) => a * 256 + Number(b), 0) : Number(v)) : 0
    return links.map(l => {
      const d = l.linkinfo?.info_data ?? {}
      const s: GreLinkState = {
        name: l.ifname, kind: l.linkinfo?.info_kind ?? '', local: String(d.local ?? ''), remote: String(d.remote ?? ''),
        ttl: Number(d.ttl ?? 0), ikey: key(d.ikey), okey: key(d.okey), mtu: l.mtu, up: l.flags.includes('UP'),
        running: l.flags.includes('LOWER_UP'), addresses: byName.get(l.ifname) ?? [],
      }
      return l.master ? { ...s, master: l.master } : s
    })
  }

  async createGre(spec: GreLinkSpec): Promise<void> {
    await this.ip(['link', 'add', spec.name, 'type', 'gre', 'local', spec.local, 'remote', spec.remote, 'ttl', String(spec.ttl)], `create GRE link ${spec.name} for Connect peer ${spec.peerId}`, 'gre')
  }

  /** iproute2 cannot clear GRE keys in place: recreate the link with everything the spec says. */
  async changeGre(spec: GreLinkSpec): Promise<void> {
    await this.deleteLink(spec.name)
    await this.createGre(spec)
    if (spec.vrf !== undefined) await this.setMaster(spec.name, spec.vrf)
    for (const a of spec.addresses) await this.addAddress(spec.name, a)
    await this.setMtu(spec.name, spec.mtu)
    await this.setUp(spec.name)
  }

  async setMtu(name: string, mtu: number): Promise<void> {
    await this.ip(['link', 'set', name, 'mtu', String(mtu)], `set MTU ${mtu} on ${name}`)
  }

  async setMaster(name: string, master: string | null): Promise<void> {
    await this.ip(master === null ? ['link', 'set', name, 'nomaster'] : ['link', 'set', name, 'master', master], `${master === null ? 'release' : `enslave to ${master}`} ${name}`, 'vrf')
  }

  async setUp(name: string): Promise<void> {
    await this.ip(['link', 'set', name, 'up'], `bring up ${name}`)
  }

  async addAddress(name: string, cidr: string): Promise<void> {
    await this.ip(['addr', 'add', cidr, 'dev', name], `add address ${cidr} on ${name}`)
  }

  async delAddress(name: string, cidr: string): Promise<void> {
    await this.ip(['addr', 'del', cidr, 'dev', name], `remove address ${cidr} from ${name}`)
  }

  /** Links whose name starts with any of `prefixes`. */
  async listLinkNames(prefixes: readonly string[]): Promise<string[]> {
    return (await this.links()).map(l => l.ifname).filter(n => prefixes.some(p => n.startsWith(p)))
  }
}

interface LinkJson {
  ifname: string
  flags: string[]
  mtu: number
  master?: string
  linkinfo?: { info_kind?: string; info_data?: Record<string, unknown> & { table?: number; local?: string; remote?: string; ttl?: number; proto?: string; encap?: unknown; ikey?: unknown; okey?: unknown } }
}
