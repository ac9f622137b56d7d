/**
 * The rtnetlink / generic netlink client: socket I/O over our NetlinkSocket (socket.ts: one datagram
 * socket from the native addon, our own message encoding), in the caller's network namespace.
 *
 * Batching, the performance core: requests are encoded back to back into one buffer and sent with one
 * sendmsg per chunk (up to `chunkMessages` requests). Requests carry no NLM_F_ACK; the kernel still
 * answers every failed request with an NLMSG_ERROR carrying that request's sequence number, and each
 * chunk ends with an NLMSG_NOOP marked NLM_F_ACK, whose acknowledgement, processed in order after all
 * the chunk's requests, closes the chunk. So every request gets its own outcome (its error, or
 * success) with one acknowledgement per chunk instead of one per request, and at most a chunk's worth
 * of error messages can be queued, which keeps them inside the receive buffer.
 *
 * Requests, dumps and batches on one client run one at a time in order (the kernel allows one dump per
 * socket at a time). Interface names are resolved to indexes from a link table the client keeps,
 * refreshed when a name is unknown; a request that fails with ENODEV after a refresh is retried once.
 */
import { NlWriter, readMessages, type NlMessage } from './codec.js'
import { AF, NETLINK_GENERIC, NETLINK_ROUTE, NLMSG, NLM_F, RTM, RTNLGRP, RTPROT_GSI } from './constants.js'
import { NetlinkSocket } from './socket.js'
import { LINK_KIND_MODULE, NetlinkError, type RequestContext } from './errors.js'
import {
  decodeAddress, decodeFamilyId, decodeLink, decodeMplsRoute, decodeRoute, encodeAddress, encodeChangeLink,
  encodeCreateLink, encodeDeleteLink, encodeFou, encodeGetAddresses, encodeGetFamily, encodeGetLink,
  encodeGetRoutes, encodeMplsRoute, encodeRoute,
  type AddressInfo, type AddressSpec, type FouSpec, type IfindexResolver, type LinkChange, type LinkInfo,
  type LinkSpec, type MplsRouteInfo, type MplsRouteSpec, type RouteInfo, type RouteOp, type RouteSpec,
} from './messages.js'

/** One request of a batch: how to encode it and (lazily, only on error) what it was about. */
export interface BatchRequest {
  encode(w: NlWriter, seq: number, flags: number, ifindex: IfindexResolver): void
  context(): RequestContext
  /** Names an interface by name: an ENODEV is retried once after refreshing the link table. */
  readonly usesNames?: boolean
}

export interface NetlinkClientOptions {
  /** Requests per sendmsg (default 256). */
  readonly chunkMessages?: number
  /** SO_RCVBUF to ask for (capped by net.core.rmem_max; default 4 MiB). */
  readonly recvBufferSize?: number
}

interface Exchange {
  seq: number
  onMessage(m: NlMessage): void
  done(err?: Error): void
}

interface Chunk {
  first: number
  last: number
  marker: number
  errnos: Int32Array
  done(err?: Error): void
}

const MAX_SEQ = 0x7fffffff

/** A netlink socket of one protocol with request/response matching. Internal to the client. */
class Channel {
  private readonly sock: NetlinkSocket
  private seq = 1 + Math.floor(Math.random() * 0x10000)
  private exchange: Exchange | undefined
  private chunk: Chunk | undefined
  private tail: Promise<unknown> = Promise.resolve()
  readonly writer = new NlWriter(256 * 1024)
  closed = false

  constructor(protocol: number, recvBufferSize: number) {
    this.sock = new NetlinkSocket(protocol, { recvBufferSize, sendBufferSize: 1024 * 1024 }, msg => {
      // An exception escaping into the native callback would be an uncaught exception: fail the request.
      try { this.receive(msg) } catch (e) { this.fail(e instanceof Error ? e : new Error(String(e))) }
    }, err => this.fail(err))
    this.sock.unref() // a client that is not waiting for anything does not keep the process alive
  }

  /** Reserves `n` consecutive sequence numbers. */
  nextSeq(n = 1): number {
    if (this.seq + n >= MAX_SEQ) this.seq = 1
    const s = this.seq
    this.seq += n
    return s
  }

  /** Runs `fn` after everything queued before it. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn)
    this.tail = run.catch(() => undefined)
    return run
  }

  private receive(datagram: Buffer): void {
    for (const m of readMessages(datagram)) {
      const ex = this.exchange
      if (ex && m.seq === ex.seq) {
        if (m.type === NLMSG.DONE) { this.exchange = undefined; ex.done() }
        else if (m.type === NLMSG.ERROR) {
          const errno = -m.payload.readInt32LE(0)
          this.exchange = undefined
          ex.done(errno === 0 ? undefined : Object.assign(new Error(`errno ${errno}`), { errno }))
        } else ex.onMessage(m)
        continue
      }
      const c = this.chunk
      if (c && m.type === NLMSG.ERROR) {
        const errno = -m.payload.readInt32LE(0)
        if (m.seq === c.marker) { this.chunk = undefined; c.done() }
        else if (m.seq >= c.first && m.seq <= c.last) c.errnos[m.seq - c.first] = errno
      }
    }
  }

  private fail(err: Error): void {
    const ex = this.exchange
    const c = this.chunk
    this.exchange = undefined
    this.chunk = undefined
    ex?.done(err)
    c?.done(err)
  }

  /** The kernel handles a request inside sendto(): sending is synchronous, the answers come as datagrams. */
  private send(buf: Uint8Array): void {
    this.sock.send(buf)
  }

  /** Sends one request (already in the writer at `seq`) and collects replies until ACK/DONE. */
  async exchangeOnce(seq: number, onMessage: (m: NlMessage) => void): Promise<void> {
    const done = new Promise<void>((resolve, reject) => {
      this.exchange = { seq, onMessage, done: e => (e ? reject(e) : resolve()) }
    })
    this.sock.ref()
    try {
      this.send(this.writer.bytes())
      await done
    } finally {
      this.exchange = undefined
      this.sock.unref()
    }
  }

  /** Sends the writer's requests `first..last` plus an acknowledged NOOP marker; resolves with one errno per request. */
  async sendChunk(first: number, last: number): Promise<Int32Array> {
    const marker = this.nextSeq()
    this.writer.begin(NLMSG.NOOP, NLM_F.REQUEST | NLM_F.ACK, marker)
    this.writer.end()
    const errnos = new Int32Array(last - first + 1)
    const done = new Promise<void>((resolve, reject) => {
      this.chunk = { first, last, marker, errnos, done: e => (e ? reject(e) : resolve()) }
    })
    this.sock.ref()
    try {
      this.send(this.writer.bytes())
      await done
    } finally {
      this.chunk = undefined
      this.sock.unref()
    }
    return errnos
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.fail(new Error('netlink client closed'))
    this.sock.close()
  }
}

type RouteOpEntry = { readonly op: RouteOp; readonly route: RouteSpec }
type MplsOpEntry = { readonly op: RouteOp; readonly route: MplsRouteSpec }

/** Filter for route dumps (the kernel dumps every table; the filter is applied here). */
export interface RouteFilter {
  readonly family?: 4 | 6
  readonly table?: number
  readonly protocol?: number
}

const routeObject = (r: RouteSpec): string => `route ${r.dst} table ${r.table ?? 254}${r.metric !== undefined ? ` metric ${r.metric}` : ''}`

/**
 * rtnetlink client in the current network namespace. Single-object methods throw NetlinkError;
 * `apply*` methods return one entry per request, undefined on success, so one failure does not stop
 * the others.
 */
export class NetlinkClient {
  private readonly rt: Channel
  private genl: Channel | undefined
  private readonly genlFamilies = new Map<string, number>()
  private readonly chunkMessages: number
  private readonly recvBufferSize: number
  private names = new Map<string, number>()
  private namesById = new Map<number, string>()

  constructor(opts: NetlinkClientOptions = {}) {
    this.chunkMessages = opts.chunkMessages ?? 256
    this.recvBufferSize = opts.recvBufferSize ?? 4 * 1024 * 1024
    this.rt = new Channel(NETLINK_ROUTE, this.recvBufferSize)
  }

  close(): void {
    this.rt.close()
    this.genl?.close()
  }

  // ------------------------------------------------------------ name resolution

  private readonly resolve: IfindexResolver = (dev, field) => {
    if (typeof dev === 'number') {
      if (!Number.isInteger(dev) || dev <= 0) throw new Error(`${field}: ${dev} is not an interface index`)
      return dev
    }
    const i = this.names.get(dev)
    if (i === undefined) {
      throw new NetlinkError(19 /* ENODEV */, { op: 'resolve', object: `link "${dev}" (${field})` })
    }
    return i
  }

  /** Re-reads the link table used to resolve names. */
  async refreshLinks(): Promise<LinkInfo[]> {
    const links = await this.dumpLinksRaw()
    this.names = new Map(links.map(l => [l.name, l.index]))
    this.namesById = new Map(links.map(l => [l.index, l.name]))
    return links
  }

  /** The ifindex of `name` (from the cached table, refreshed once if unknown); throws if absent. */
  async ifindex(name: string): Promise<number> {
    if (!this.names.has(name)) await this.refreshLinks()
    return this.resolve(name, 'link')
  }

  private async ensureNames(names: Iterable<string | number | undefined | null>): Promise<void> {
    for (const n of names) {
      if (typeof n === 'string' && !this.names.has(n)) { await this.refreshLinks(); return }
    }
  }

  // ------------------------------------------------------------ batching core

  /**
   * Sends `requests` in chunks, one sendmsg each; returns one entry per request: undefined when the
   * kernel accepted it, the error otherwise (including encoding errors for bad input).
   */
  batch(requests: readonly BatchRequest[]): Promise<(Error | undefined)[]> {
    return this.rt.serial(() => this.runBatch(this.rt, requests, true))
  }

  private async runBatch(ch: Channel, requests: readonly BatchRequest[], retryNodev: boolean): Promise<(Error | undefined)[]> {
    const results: (Error | undefined)[] = new Array<Error | undefined>(requests.length).fill(undefined)
    const w = ch.writer
    let i = 0
    while (i < requests.length) {
      w.reset()
      const n = Math.min(this.chunkMessages, requests.length - i)
      const first = ch.nextSeq(n)
      const indexOf: number[] = []
      for (let k = 0; k < n; k++) {
        const req = requests[i + k] as BatchRequest
        const at = w.off
        try {
          req.encode(w, first + k, NLM_F.REQUEST, this.resolve)
          indexOf.push(i + k)
        } catch (e) {
          w.abort(at)
          results[i + k] = e instanceof Error ? e : new Error(String(e))
          indexOf.push(-1)
        }
      }
      let errnos: Int32Array
      try {
        errnos = await ch.sendChunk(first, first + n - 1)
      } catch (e) {
        const errno = (e as { errno?: number }).errno ?? 105 /* ENOBUFS */
        for (const idx of indexOf) {
          if (idx >= 0 && results[idx] === undefined) {
            const r = requests[idx] as BatchRequest
            results[idx] = new NetlinkError(Math.abs(errno), { ...r.context(), op: `${r.context().op} (outcome unknown: ${(e as Error).message})` })
          }
        }
        i += n
        continue
      }
      for (let k = 0; k < n; k++) {
        const idx = indexOf[k] as number
        const errno = errnos[k] as number
        if (idx >= 0 && errno !== 0) results[idx] = new NetlinkError(errno, (requests[idx] as BatchRequest).context())
      }
      i += n
    }
    if (retryNodev) {
      const retry = results
        .map((r, idx) => (r instanceof NetlinkError && r.code === 'ENODEV' && requests[idx]?.usesNames ? idx : -1))
        .filter(idx => idx >= 0)
      if (retry.length) {
        await this.refreshLinksUnqueued()
        const again = await this.runBatch(ch, retry.map(idx => requests[idx] as BatchRequest), false)
        retry.forEach((idx, k) => { results[idx] = again[k] })
      }
    }
    return results
  }

  private async refreshLinksUnqueued(): Promise<void> {
    const links = await this.dumpOn(this.rt, (w, seq) => encodeGetLink(w, seq, undefined, NLM_F.REQUEST), m => (m.type === RTM.NEWLINK ? decodeLink(m.payload) : undefined))
    this.names = new Map(links.map(l => [l.name, l.index]))
    this.namesById = new Map(links.map(l => [l.index, l.name]))
  }

  /** One request; throws its NetlinkError. */
  private async one(req: BatchRequest): Promise<void> {
    const [err] = await this.batch([req])
    if (err) throw err
  }

  // ------------------------------------------------------------ dumps

  private async dumpOn<T>(ch: Channel, encode: (w: NlWriter, seq: number) => void, decode: (m: NlMessage) => T | undefined): Promise<T[]> {
    for (let attempt = 0; ; attempt++) {
      const out: T[] = []
      let interrupted = false
      ch.writer.reset()
      const seq = ch.nextSeq()
      encode(ch.writer, seq)
      await ch.exchangeOnce(seq, m => {
        if (m.flags & NLM_F.DUMP_INTR) interrupted = true
        const v = decode(m)
        if (v !== undefined) out.push(v)
      })
      // NLM_F_DUMP_INTR: the table changed during the dump, so it may be inconsistent; dump again.
      if (!interrupted || attempt >= 4) return out
    }
  }

  private dump<T>(encode: (w: NlWriter, seq: number) => void, decode: (m: NlMessage) => T | undefined, what: string): Promise<T[]> {
    return this.rt.serial(async () => {
      try {
        return await this.dumpOn(this.rt, encode, decode)
      } catch (e) {
        const errno = (e as { errno?: number }).errno
        throw errno ? new NetlinkError(errno, { op: 'dump', object: what }) : e
      }
    })
  }

  private dumpLinksRaw(): Promise<LinkInfo[]> {
    return this.dump((w, seq) => encodeGetLink(w, seq, undefined, NLM_F.REQUEST), m => (m.type === RTM.NEWLINK ? decodeLink(m.payload) : undefined), 'links')
  }

  // ------------------------------------------------------------ links

  /** Every link of the namespace (also refreshes the name table). */
  listLinks(): Promise<LinkInfo[]> {
    return this.refreshLinks()
  }

  /** The link called `name`, or undefined. */
  async getLink(name: string): Promise<LinkInfo | undefined> {
    return (await this.refreshLinks()).find(l => l.name === name)
  }

  async createLink(spec: LinkSpec): Promise<void> {
    await this.ensureNames([spec.master])
    await this.one({
      encode: (w, seq, flags, ifx) => encodeCreateLink(w, seq, spec, ifx, flags),
      context: () => ({ op: 'create', object: `${spec.kind} link ${spec.name}`, module: LINK_KIND_MODULE[spec.kind] ?? spec.kind }),
    })
    this.names.delete(spec.name)
  }

  /** Changes an existing link (up/down, MTU, master, name, tunnel parameters). */
  async changeLink(link: string | number, change: LinkChange): Promise<void> {
    await this.ensureNames([link, change.master])
    await this.one({
      encode: (w, seq, flags, ifx) => encodeChangeLink(w, seq, ifx(link, 'link'), change, ifx, flags),
      context: () => ({ op: 'change', object: `link ${link}`, ...(change.kind ? { module: LINK_KIND_MODULE[change.kind] ?? change.kind } : {}) }),
      usesNames: true,
    })
    if (change.name !== undefined) { this.names.delete(String(link)) }
  }

  setLinkUp(link: string | number, up = true): Promise<void> {
    return this.changeLink(link, { up })
  }

  async deleteLink(link: string | number): Promise<void> {
    await this.ensureNames([link])
    await this.one({
      encode: (w, seq, flags, ifx) => encodeDeleteLink(w, seq, ifx(link, 'link'), flags),
      context: () => ({ op: 'delete', object: `link ${link}` }),
      usesNames: true,
    })
    if (typeof link === 'string') this.names.delete(link)
  }

  // ------------------------------------------------------------ addresses

  async addAddress(spec: AddressSpec): Promise<void> {
    await this.ensureNames([spec.dev])
    await this.one({
      encode: (w, seq, flags, ifx) => encodeAddress(w, seq, 'add', spec, ifx, flags),
      context: () => ({ op: 'add', object: `address ${spec.address} on ${spec.dev}` }),
      usesNames: true,
    })
  }

  async deleteAddress(spec: AddressSpec): Promise<void> {
    await this.ensureNames([spec.dev])
    await this.one({
      encode: (w, seq, flags, ifx) => encodeAddress(w, seq, 'delete', spec, ifx, flags),
      context: () => ({ op: 'delete', object: `address ${spec.address} on ${spec.dev}` }),
      usesNames: true,
    })
  }

  listAddresses(): Promise<AddressInfo[]> {
    return this.dump((w, seq) => encodeGetAddresses(w, seq, NLM_F.REQUEST), m => (m.type === RTM.NEWADDR ? decodeAddress(m.payload) : undefined), 'addresses')
  }

  // ------------------------------------------------------------ IPv4/IPv6 routes

  /** Route requests for `batch()`, without touching the link table (for callers that pass ifindexes). */
  routeRequests(ops: readonly RouteOpEntry[]): BatchRequest[] {
    return ops.map(({ op, route }) => ({
      encode: (w: NlWriter, seq: number, flags: number, ifx: IfindexResolver) => encodeRoute(w, seq, op, route, ifx, flags),
      context: () => ({ op, object: routeObject(route), ...(route.nexthops?.some(n => n.labels) ? { module: 'mpls_iptunnel' } : {}) }),
      usesNames: route.nexthops?.some(n => typeof n.dev === 'string') ?? false,
    }))
  }

  /** Adds, replaces, appends or deletes many routes in batches. One entry per op. */
  async applyRoutes(ops: readonly RouteOpEntry[]): Promise<(Error | undefined)[]> {
    const names = new Set<string>()
    for (const { route } of ops) for (const nh of route.nexthops ?? []) if (typeof nh.dev === 'string') names.add(nh.dev)
    await this.ensureNames(names)
    return this.batch(this.routeRequests(ops))
  }

  async addRoute(route: RouteSpec): Promise<void> { await this.throwFirst(this.applyRoutes([{ op: 'add', route }])) }
  async replaceRoute(route: RouteSpec): Promise<void> { await this.throwFirst(this.applyRoutes([{ op: 'replace', route }])) }
  async deleteRoute(route: RouteSpec): Promise<void> { await this.throwFirst(this.applyRoutes([{ op: 'delete', route }])) }

  private async throwFirst(p: Promise<(Error | undefined)[]>): Promise<void> {
    const [e] = await p
    if (e) throw e
  }

  /** IPv4 and/or IPv6 routes matching `filter`, with next-hop device names filled in. */
  async dumpRoutes(filter: RouteFilter = {}): Promise<RouteInfo[]> {
    const families = filter.family === 4 ? [AF.INET] : filter.family === 6 ? [AF.INET6] : [AF.INET, AF.INET6]
    const out: RouteInfo[] = []
    for (const fam of families) {
      const rs = await this.dump((w, seq) => encodeGetRoutes(w, seq, fam, NLM_F.REQUEST), m => {
        if (m.type !== RTM.NEWROUTE) return undefined
        // Cheap pre-filter on the fixed header before decoding attributes.
        if (filter.protocol !== undefined && m.payload[5] !== filter.protocol) return undefined
        const r = decodeRoute(m.payload)
        if (!r || (filter.table !== undefined && r.table !== filter.table)) return undefined
        return r
      }, `IPv${fam === AF.INET ? 4 : 6} routes`)
      for (const r of rs) out.push(r)
    }
    await this.nameNexthops(out.flatMap(r => r.nexthops))
    return out
  }

  private async nameNexthops(nhs: { oif?: number; dev?: string }[]): Promise<void> {
    if (nhs.some(nh => nh.oif !== undefined && !this.namesById.has(nh.oif))) await this.refreshLinks()
    for (const nh of nhs) {
      if (nh.oif !== undefined) {
        const n = this.namesById.get(nh.oif)
        if (n !== undefined) nh.dev = n
      }
    }
  }

  // ------------------------------------------------------------ MPLS routes

  async applyMplsRoutes(ops: readonly MplsOpEntry[]): Promise<(Error | undefined)[]> {
    await this.ensureNames(ops.flatMap(o => (o.route.nexthops ?? []).map(n => n.dev)))
    return this.batch(ops.map(({ op, route }) => ({
      encode: (w: NlWriter, seq: number, flags: number, ifx: IfindexResolver) => encodeMplsRoute(w, seq, op, route, ifx, flags),
      context: () => ({ op, object: `MPLS route for label ${route.label}`, module: 'mpls_router' }),
      usesNames: true,
    })))
  }

  async addMplsRoute(route: MplsRouteSpec): Promise<void> { await this.throwFirst(this.applyMplsRoutes([{ op: 'add', route }])) }
  async replaceMplsRoute(route: MplsRouteSpec): Promise<void> { await this.throwFirst(this.applyMplsRoutes([{ op: 'replace', route }])) }
  async deleteMplsRoute(route: MplsRouteSpec): Promise<void> { await this.throwFirst(this.applyMplsRoutes([{ op: 'delete', route }])) }

  async dumpMplsRoutes(filter: { protocol?: number } = {}): Promise<MplsRouteInfo[]> {
    let rs: MplsRouteInfo[]
    try {
      rs = await this.dump((w, seq) => encodeGetRoutes(w, seq, AF.MPLS, NLM_F.REQUEST), m => {
        if (m.type !== RTM.NEWROUTE) return undefined
        if (filter.protocol !== undefined && m.payload[5] !== filter.protocol) return undefined
        return decodeMplsRoute(m.payload)
      }, 'MPLS routes')
    } catch (e) {
      if (e instanceof NetlinkError && (e.code === 'EOPNOTSUPP' || e.code === 'EAFNOSUPPORT')) {
        throw new NetlinkError(e.errno, { op: 'dump', object: 'MPLS routes', module: 'mpls_router' })
      }
      throw e
    }
    await this.nameNexthops(rs.flatMap(r => r.nexthops))
    return rs
  }

  // ------------------------------------------------------------ generic netlink: fou

  private genlChannel(): Channel {
    this.genl ??= new Channel(NETLINK_GENERIC, 256 * 1024)
    return this.genl
  }

  /** The id of generic netlink family `name`; a missing family names the module to load. */
  async genlFamily(name: string, module = name): Promise<number> {
    const known = this.genlFamilies.get(name)
    if (known !== undefined) return known
    const ch = this.genlChannel()
    const ids = await ch.serial(async () => {
      try {
        return await this.dumpOn(ch, (w, seq) => encodeGetFamily(w, seq, name, NLM_F.REQUEST | NLM_F.ACK), m => decodeFamilyId(m.payload))
      } catch (e) {
        const errno = (e as { errno?: number }).errno
        if (errno === 2) throw new NetlinkError(95 /* EOPNOTSUPP */, { op: 'find', object: `generic netlink family "${name}"`, module })
        throw errno ? new NetlinkError(errno, { op: 'find', object: `generic netlink family "${name}"` }) : e
      }
    })
    const id = ids[0]
    if (id === undefined) throw new Error(`generic netlink family "${name}": the kernel's reply had no id`)
    this.genlFamilies.set(name, id)
    return id
  }

  private async fou(op: 'add' | 'delete', spec: FouSpec): Promise<void> {
    const id = await this.genlFamily('fou')
    const ch = this.genlChannel()
    const [err] = await ch.serial(() => this.runBatch(ch, [{
      encode: (w, seq, flags) => encodeFou(w, seq, id, op, spec, flags),
      context: () => ({ op, object: `fou listener on UDP port ${spec.port} for IP protocol ${spec.ipproto}`, module: 'fou' }),
    }], false))
    if (err) throw err
  }

  /** Starts a fou listener (like `ip fou add port P ipproto N`). */
  addFou(spec: FouSpec): Promise<void> { return this.fou('add', spec) }
  deleteFou(spec: FouSpec): Promise<void> { return this.fou('delete', spec) }
}

export { RTNLGRP, RTPROT_GSI }
