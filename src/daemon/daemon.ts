/**
 * gsi-routerd's runtime: joins the parts into the gateway that cRPD/JCNR is in CN2's Gateway Service
 * Instance.
 *
 * - Two BGP speakers (bgp/speaker): the CN2 side (inet-vpn, inet6-vpn, route-target toward the control
 *   nodes, iBGP in their AS by default) and the TGW side (IPv4/IPv6 unicast, two eBGP sessions per
 *   Connect peer, in the GSI's AS). Two speakers rather than one because each side has its own local
 *   AS, and because what crosses between them is re-originated by the gateway logic, never passed
 *   through: the TGW's AS (64512 by default, CN2's default too) must not reach CN2 in an AS_PATH.
 * - The gateway logic (src/gateway) between them and the kernel.
 * - The kernel (dataplane `kernel`): GRE links per Connect peer (gre/), the FIB writer (src/fib) with
 *   the gateway VRF, its label and the MPLSoUDP tunnels (mplsoudp/). With `dataplane: none` the FIB is
 *   computed and shown but nothing is programmed.
 * - Graceful restart (RFC 4724): on start the FIB writer adopts the kernel routes of a previous run;
 *   if it found any, both speakers start as restarting (R bit, F bit), and only when both have
 *   finished selection (every peer's End-of-RIB, or the deferral timer) are the adopted routes that
 *   nobody re-learned removed (`markReady`). Readiness waits for that.
 * - Reload: a new configuration is applied as a difference; sessions whose parameters did not change
 *   are not touched.
 *
 * Entry points (src/bin/gsi-routerd.ts) own argv, signals and exit; this module owns no process state.
 */
import { EventEmitter } from 'node:events'
import { readFile } from 'node:fs/promises'
import { Family, type FamilyKey } from '../../bgp/codec/afi.js'
import { parseExtCommunity } from '../../bgp/codec/ext-communities.js'
import { BgpListener } from '../../bgp/session/listener.js'
import type { BgpLogger } from '../../bgp/session/logger.js'
import { BgpSpeaker } from '../../bgp/speaker/speaker.js'
import type { DaemonConfig } from '../config/model.js'
import { setSysctl } from '../netlink/sysctl.js'
import { Gateway, GatewayConfigError, RecordingFib, type GatewayOptions, type GatewayStatus } from '../gateway/index.js'
import { GatewayHost, type GatewayEventSink } from './gateway-host.js'
import { tunnelSpec } from '../../mplsoudp/index.js'
import { greLinkName, reconcileGre, type ConnectPeer as GreConnectPeer, type GreResult } from '../../gre/index.js'
import { FibWriter, NetlinkKernel, cleanup, newCounters, vrfName, type CleanupReport } from '../fib/index.js'
import type { DesiredRoute, FibCounters, FibState, GatewayTable } from '../fib/index.js'
import type { State } from '../../bgp/fsm/types.js'

import { Md5Watch } from './md5-watch.js'
import { daemonPeers, planPeers, type DaemonPeer, type Side } from './peers.js'
import { ProbeRunner, type ProbeReport } from './probes.js'
import { localRoutesOnly } from '../gateway/policy.js'

/** The subset of pino the daemon uses: bgp/'s logger interface (pino loggers satisfy it). */
export type DaemonLogger = BgpLogger

export interface ReadyState {
  readonly ready: boolean
  /** Why not, one line each (empty when ready). */
  readonly reasons: readonly string[]
}

export type StopMode = 'graceful' | 'withdraw'

const CN2_FAMILIES: readonly FamilyKey[] = [Family.Ipv4Vpn, Family.Ipv6Vpn]
const TGW_FAMILIES: readonly FamilyKey[] = [Family.Ipv4Unicast, Family.Ipv6Unicast]

export function speakerFor(side: Side): string {
  return side === 'cn2' ? 'CN2 control nodes' : 'Transit Gateway'
}

export function importRouteTargets(c: DaemonConfig): ReturnType<typeof parseExtCommunity>[] {
  return c.exposed.routeTargets.map((rt) => parseExtCommunity(rt))
}

export interface SpeakerSet {
  readonly cn2: BgpSpeaker
  readonly tgw: BgpSpeaker
  readonly listeners: readonly BgpListener[]
}

/**
 * The two speakers and their listeners. With the kernel data plane the TGW sessions live in the
 * gateway VRF, so the TGW side gets its own listener bound to the VRF device; otherwise one listener
 * serves both speakers (it hands each connection to the session configured for its source address).
 */
export function createSpeakers(c: DaemonConfig, restarting: boolean, log?: DaemonLogger): SpeakerSet {
  const host = c.listen.address !== undefined ? { host: c.listen.address } : {}
  const main = new BgpListener({ ...host, port: c.listen.port })
  const listeners = [main]
  let tgwListener = main
  if (c.dataplane === 'kernel') {
    tgwListener = new BgpListener({ port: c.listen.port, bindDevice: c.gatewayTable.vrf } as ConstructorParameters<typeof BgpListener>[0])
    listeners.push(tgwListener)
  }
  const gr = c.gracefulRestart
  const cn2 = new BgpSpeaker({
    ...(log !== undefined ? { logger: log.child({ side: 'cn2' }) } : {}),
    localAs: c.controlNodes.localAsn,
    routerId: c.routerId,
    listen: main,
    rib: { multipath: { maximum: 16 } },
    gracefulRestart: {
      restartTime: gr.restartTime, restarting, forwardingFamilies: [...CN2_FAMILIES], deferralTime: gr.deferralTime,
      staleRoutesTime: gr.staleRoutesTime, helper: c.controlNodes.gracefulRestart, holdSelection: restarting,
    },
    importRouteTargets: importRouteTargets(c),
  })
  const tgw = new BgpSpeaker({
    ...(log !== undefined ? { logger: log.child({ side: 'tgw' }) } : {}),
    localAs: c.tgw.localAsn,
    routerId: c.routerId,
    listen: tgwListener,
    // ECMP toward the VPC over both sessions of every Connect peer
    rib: { multipath: { maximum: 8 } },
    ...(c.tgw.gracefulRestart
      ? { gracefulRestart: { restartTime: gr.restartTime, restarting, forwardingFamilies: [...TGW_FAMILIES], deferralTime: gr.deferralTime, staleRoutesTime: gr.staleRoutesTime, holdSelection: restarting } }
      : {}),
  })
  return { cn2, tgw, listeners }
}

/** Keeps the speakers' peers equal to the configuration's, touching only what changed. */
export class PeerSet extends EventEmitter {
  private running: DaemonPeer[] = []

  constructor(private readonly speakers: Pick<SpeakerSet, 'cn2' | 'tgw'>, private readonly log: DaemonLogger) {
    super()
  }

  get peers(): readonly DaemonPeer[] {
    return this.running
  }

  speaker(side: Side): BgpSpeaker {
    return side === 'cn2' ? this.speakers.cn2 : this.speakers.tgw
  }

  /** Applies the wanted peers; returns what was done, for logs and tests. */
  async apply(wanted: readonly DaemonPeer[]): Promise<{ added: string[]; removed: string[]; reset: string[] }> {
    const plan = planPeers(this.running, wanted)
    for (const p of [...plan.remove, ...plan.change]) {
      const old = this.running.find((r) => r.config.name === p.config.name) as DaemonPeer
      this.log.info({ peer: p.config.name, side: old.side }, plan.remove.includes(p) ? 'peer removed from the configuration' : 'peer parameters changed: session reset')
      // Out of the running list before the speaker forgets it (synchronously, then awaits the
      // close): status.daemon and gsictl read the list meanwhile and ask the speaker for each peer.
      this.running = this.running.filter((r) => r !== old)
      await this.speaker(old.side).removePeer(p.config.name)
    }
    for (const p of [...plan.change, ...plan.add]) {
      this.speaker(p.side).addPeer(p.config)
      if (plan.add.includes(p)) this.log.info({ peer: p.config.name, side: p.side, address: p.config.address, asn: p.config.asn }, 'peer added')
    }
    this.running = [...plan.unchanged, ...plan.change, ...plan.add]
    return { added: plan.add.map((p) => p.config.name), removed: plan.remove.map((p) => p.config.name), reset: plan.change.map((p) => p.config.name) }
  }

  /** Every peer of the configuration, md5 resolved. */
  static wanted(c: DaemonConfig, md5Password?: string): DaemonPeer[] {
    return daemonPeers(c, md5Password)
  }
}

// ---------------------------------------------------------------- the daemon

/** The FIB as the gateway logic drives it: the FibWriter in the kernel data plane, a recorder without. */
export interface FibPort {
  setTables(tables: readonly GatewayTable[]): void
  setRoute(route: DesiredRoute): void
  deleteRoute(table: number, prefix: string): boolean
  flush(): Promise<void>
  markReady(): Promise<void>
  state(): FibState
  counters(): Readonly<FibCounters>
  /** Every desired route, in no particular order (gsictl show fib sorts and pages them). */
  visitDesired(visit: (route: DesiredRoute) => void): void
}

/**
 * The FIB of `dataplane: none`: the gateway's routes computed and kept (src/gateway's RecordingFib),
 * shown by gsictl in the FIB writer's terms (tables, tunnels the routes would need), nothing programmed.
 *
 * A flush that follows route writes is where the FIB writer would send its netlink batch, i.e. the
 * moment the kernel route would change: it is logged at debug level with the CLOCK_MONOTONIC time (the
 * clock every process of the machine shares, across network namespaces), so the convergence benchmark
 * (bench/convergence.bench.ts) times "kernel route changed" from the log without asking the daemon
 * anything on its event loop. At the default level (info) it costs one level check per flush.
 */
export class ComputedFib extends RecordingFib implements FibPort {
  private readonly local: string
  private readonly log: DaemonLogger | undefined
  /** Route writes counted at the previous flush: a flush with none after it changed nothing. */
  private writesFlushed = 0
  /** Routes per vRouter, as of `refsAtWrites` route writes. */
  private refs: Map<string, number> | undefined
  private refsAtWrites = -1
  constructor(localAddress: string, log?: DaemonLogger) {
    super()
    this.local = localAddress
    this.log = log
  }

  override flush(): Promise<void> {
    const s = super.state()
    if (s.writes !== this.writesFlushed) {
      this.log?.debug({ monotonicMs: Number(process.hrtime.bigint()) / 1e6, writes: s.writes - this.writesFlushed, routes: s.desiredRoutes }, 'computed FIB changed')
      this.writesFlushed = s.writes
    }
    return super.flush()
  }

  override state(): FibState & ReturnType<RecordingFib['state']> {
    const s = super.state()
    // The tunnels the routes would need walk every route: counted again only after route writes
    // (/metrics asks at every scrape, the CLI at every show)
    if (this.refs === undefined || this.refsAtWrites !== s.writes) {
      this.refs = this.vrouterRoutes()
      this.refsAtWrites = s.writes
    }
    const refs = this.refs
    return {
      ...s, installedRoutes: 0,
      tables: s.tables.map((t) => ({ table: t.table, label: t.label, vrf: vrfName(t.table) })),
      tunnels: [...refs].map(([vrouter, routes]) => ({ name: tunnelSpec(vrouter, this.local).name, vrouter, routes })),
    }
  }

  counters(): Readonly<FibCounters> {
    return { ...newCounters(), syncs: super.state().flushes }
  }

  visitDesired(visit: (route: DesiredRoute) => void): void {
    this.forEachRoute(visit)
  }
}

/** The gateway logic (src/gateway) for a configuration, attached to the speakers and the FIB. */
export function gatewayOptions(c: DaemonConfig, log: DaemonLogger): GatewayOptions {
  return {
    routerId: c.routerId,
    rdIndex: c.routeDistinguisherIndex,
    nodeAddress: c.nodeAddress,
    exposedRouteTargets: c.exposed.routeTargets,
    exposedCidrs: c.exposed.cidrs,
    table: { table: c.gatewayTable.table, label: c.gatewayTable.label },
    connectPeers: c.tgw.connectPeers.map((cp) => ({ link: greLinkName(cp.id), peers: cp.bgpPeerAddresses.filter((a) => !a.includes(':')) })),
    advertiseMoreSpecifics: c.advertiseMoreSpecifics,
    maxPrefixesAdvertised: c.tgw.maxPrefixesAdvertised,
    tgwRoutesWarning: c.tgw.maxPrefixesReceived,
    // Graceful restart keeps a side's routes stale for the peer's restart time and then until its
    // End-of-RIB (bounded by staleRoutesTime): past that, a side with no session counts as lost.
    cn2LostAfter: c.gracefulRestart.staleRoutesTime,
    tgwLostAfter: c.gracefulRestart.staleRoutesTime,
    log,
  }
}

/** A gateway option's name (GatewayOptions) as the configuration file spells it. */
export function configPathOf(field: string): string {
  const names: readonly (readonly [string, string])[] = [
    ['exposedRouteTargets', 'exposed.routeTargets'], ['exposedCidrs', 'exposed.cidrs'], ['rdIndex', 'routeDistinguisherIndex'],
    ['table', 'gatewayTable'], ['connectPeers', 'tgw.connectPeers'], ['maxPrefixesAdvertised', 'tgw.maxPrefixesAdvertised'],
    ['tgwRoutesWarning', 'tgw.maxPrefixesReceived'],
  ]
  for (const [from, to] of names) if (field === from || field.startsWith(`${from}[`) || field.startsWith(`${from}.`)) return to + field.slice(from.length)
  return field
}

/** A GatewayConfigError as `path: reason` in the configuration file's terms. */
export function gatewayProblem(e: GatewayConfigError): string {
  return `${configPathOf(e.field)}: ${e.message.slice(e.field.length + 2)}`
}

/**
 * What the gateway logic would refuse in this configuration when the daemon starts, as `path: reason`
 * lines in the file's terms, so that --check-config agrees with a start. The gateway's constructor
 * checks its options without touching the speakers or the FIB (it attaches to them in start()),
 * which is why none are given here.
 */
export function gatewayProblems(c: DaemonConfig): string[] {
  try {
    const { log: _unused, ...options } = gatewayOptions(c, undefined as never)
    new Gateway(undefined as never, undefined as never, undefined as never, options)
    return []
  } catch (e) {
    if (e instanceof GatewayConfigError) return [gatewayProblem(e)]
    throw e
  }
}

/** Logs the gateway's failover transitions and errors (attached to every gateway the host builds). */
export function gatewayLogSink(log: DaemonLogger): GatewayEventSink {
  return {
    attach: (gw) => {
      // quota and TGW route-count warnings are logged by the gateway itself
      gw.on('failover', (e) => log.warn({ ...e }, e.side === 'cn2' ? (e.lost ? 'every control-node session lost: aggregates withdrawn from the TGW' : 'control nodes back: aggregates advertised again') : (e.lost ? 'every TGW session lost: VPN routes withdrawn from CN2' : 'TGW back: VPN routes advertised again')))
      gw.on('error', (e) => log.error({ err: e }, 'gateway error'))
    },
  }
}

export interface DaemonOptions {
  readonly config: DaemonConfig
  readonly log: DaemonLogger
  /** Resolves the control nodes' TCP-MD5 password (file or Secret); absent source -> undefined. */
  readonly md5?: (c: DaemonConfig) => Promise<string | undefined>
}

export interface SessionSnapshot {
  readonly name: string
  readonly side: Side
  readonly address: string
  readonly asn: number
  readonly connectPeer?: string
  readonly state: State
  readonly since: number
  readonly flaps: number
  readonly prefixesReceived: number
  readonly prefixesAccepted: number
  readonly prefixesAdvertised: number
  readonly lastError?: string
}

export interface ReloadResult {
  readonly ok: boolean
  readonly added: readonly string[]
  readonly removed: readonly string[]
  readonly reset: readonly string[]
  readonly message: string
}

export class GatewayDaemon extends EventEmitter<{ ready: [ReadyState]; reload: [ReloadResult] }> {
  config: DaemonConfig
  readonly log: DaemonLogger
  speakers!: SpeakerSet
  private peerSet!: PeerSet
  fib!: FibPort
  private writer: FibWriter | undefined
  private kernel: NetlinkKernel | undefined
  gateway!: GatewayHost
  /** Data-plane probes (ICMP echo through the GRE links and MPLSoUDP tunnels). */
  probes: ProbeRunner | undefined
  gre: GreResult | undefined
  restarting = false
  private fibReady = false
  private started = false
  private stopping = false
  readonly startedAt = Date.now()
  reloads = { ok: 0, rejected: 0 }
  private md5Watch: Md5Watch | undefined

  constructor(private readonly o: DaemonOptions) {
    super()
    this.config = o.config
    this.log = o.log
  }

  async start(): Promise<void> {
    const c = this.config
    if (c.dataplane === 'kernel') {
      // A gateway forwards: between the GRE link and the MPLSoUDP tunnels (EKS nodes usually have
      // this on already; we only ever turn it on, never off).
      if ((await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8')).trim() !== '1') {
        await setSysctl(['net', 'ipv4', 'ip_forward'], 1)
        this.log.info({ sysctl: 'net.ipv4.ip_forward', value: 1 }, 'IPv4 forwarding turned on')
      }
      this.kernel = new NetlinkKernel()
      const writer = new FibWriter({ kernel: this.kernel, localAddress: c.nodeAddress, log: this.log.child({ part: 'fib' }) })
      writer.setTables([{ table: c.gatewayTable.table, label: c.gatewayTable.label }])
      await writer.start()
      this.writer = writer
      this.fib = writer
      this.restarting = writer.counters().routesAdopted > 0
      await this.applyGre()
    } else {
      this.fib = new ComputedFib(c.nodeAddress, this.log.child({ part: 'fib' }))
      this.fib.setTables([{ table: c.gatewayTable.table, label: c.gatewayTable.label }])
    }
    this.speakers = createSpeakers(c, this.restarting, this.log)
    this.peerSet = new PeerSet(this.speakers, this.log)
    this.wireSpeakerLogs('cn2', this.speakers.cn2)
    this.wireSpeakerLogs('tgw', this.speakers.tgw)
    const glog = this.log.child({ part: 'gateway' })
    this.gateway = new GatewayHost(this.speakers, this.fib, gatewayOptions(c, glog), gatewayLogSink(glog))
    for (const l of this.speakers.listeners) await l.listen()
    await this.speakers.cn2.start()
    await this.speakers.tgw.start()
    await this.peerSet.apply(PeerSet.wanted(c, await this.o.md5?.(c)))
    for (const s of [this.speakers.cn2, this.speakers.tgw]) s.on('gr-phase', () => { void this.checkSelection() })
    // Restarting: what each speaker advertises is re-originated from the other's routes, so neither
    // ends its route selection (UPDATEs, then End-of-RIB, after which a helper sweeps what we did
    // not re-advertise) until both have every End-of-RIB they wait for. Otherwise the control nodes
    // got our End-of-RIB before the TGW's routes were back, dropped the VPC routes we had not yet
    // re-advertised, and the vRouters' way back broke for seconds (seen in the lab on one CPU).
    for (const s of [this.speakers.cn2, this.speakers.tgw]) {
      s.gracefulRestart?.on('end-of-rib-complete', () => { this.releaseSelection() })
      s.gracefulRestart?.recheck()
    }
    this.md5Watch = new Md5Watch({ log: this.log.child({ part: 'tcp-md5' }), waiting: () => this.md5Waiting() })
    this.md5Watch.start()
    this.probes = new ProbeRunner({ config: c, log: this.log.child({ part: 'probes' }), host: this.probeHost() })
    this.probes.start()
    this.started = true
    this.log.info({ restarting: this.restarting, dataplane: c.dataplane, controlNodes: c.controlNodes.peers.length, connectPeers: c.tgw.connectPeers.length }, 'gsi-routerd started')
    await this.checkSelection()
  }

  /** Both speakers have every End-of-RIB in: both end their route selection in this turn, before
   * either's UPDATEs go out (their flushes wait for the next turn), so each carries the other's routes. */
  private releaseSelection(): void {
    const { cn2, tgw } = this.speakers
    if (!(cn2.gracefulRestart?.endOfRibComplete ?? true) || !(tgw.gracefulRestart?.endOfRibComplete ?? true)) return
    this.log.info({ restarting: this.restarting }, 'End-of-RIB from every peer of both sides: route selection ends')
    tgw.gracefulRestart?.release()
    cn2.gracefulRestart?.release()
  }

  /** Both speakers have finished route selection after our restart: the FIB may drop what nobody re-learned. */
  private async checkSelection(): Promise<void> {
    if (this.fibReady) return
    const done = (s: BgpSpeaker): boolean => s.gracefulRestart === undefined || s.gracefulRestart.phase === 'done'
    if (!done(this.speakers.cn2) || !done(this.speakers.tgw)) return
    this.fibReady = true
    try {
      await this.fib.markReady()
      this.log.info({ restarting: this.restarting }, 'route selection done: FIB synced')
    } catch (e) {
      this.log.error({ err: e }, 'FIB sync after route selection failed (retried by the FIB writer)')
    }
    this.emit('ready', this.ready())
  }

  /** The probes' view of the daemon: session states, tunnels, and the TGW sessions' export policy. */
  private probeHost(): ConstructorParameters<typeof ProbeRunner>[0]['host'] {
    const tgwPeers = (cp: string): DaemonPeer[] => this.peerSet.peers.filter((p) => p.side === 'tgw' && p.connectPeer === cp)
    return {
      bgpUp: (cp) => tgwPeers(cp).some((p) => this.speakers.tgw.peerStats(p.config.name).session.state === 'Established'),
      // dataplane none: no link exists, the ordinary routing table reaches the addresses
      hasGreLink: (cp) => this.config.dataplane !== 'kernel' || this.gre?.links.some((l) => l.peerId === cp && l.state === 'up') === true,
      vrouters: () => new Set(this.fib.state().tunnels.map((t) => t.vrouter)),
      sessionsOf: (cp) => tgwPeers(cp).map((p) => ({ name: p.config.name, families: (p.config.families ?? []) as readonly FamilyKey[] })),
      setExportPolicy: (name, family, policy) => this.speakers.tgw.setExportPolicy(name, family, policy),
      // what peers.ts gives every TGW session
      normalExportPolicy: localRoutesOnly,
    }
  }

  probeReport(): ProbeReport | undefined {
    return this.probes?.report()
  }

  private greSpecs(c: DaemonConfig): GreConnectPeer[] {
    return c.tgw.connectPeers.map((cp) => {
      const v6 = cp.insideCidrBlocks.find((b) => b.includes(':'))
      return {
        id: cp.id, localAddress: c.nodeAddress, remoteAddress: cp.transitGatewayAddress, insideCidr: cp.insideCidrBlocks[0] as string,
        ...(v6 !== undefined ? { insideCidr6: v6 } : {}), mtu: cp.mtu, vrf: vrfName(c.gatewayTable.table),
      }
    })
  }

  private async applyGre(): Promise<void> {
    if (this.kernel === undefined) return
    const writer = this.writer
    // a link the kernel would not change in place was recreated: the routes through it must come back now
    this.gre = await reconcileGre(this.kernel, this.greSpecs(this.config), writer !== undefined ? { onRecreated: (links) => writer.linksReplaced(links) } : {})
    for (const e of this.gre.errors) this.log.error({ action: e.action.type, link: 'name' in e.action ? e.action.name : e.action.spec.name, error: e.message }, 'GRE link change failed')
  }

  private wireSpeakerLogs(side: Side, s: BgpSpeaker): void {
    const log = this.log.child({ side })
    s.on('peer-state', (e) => {
      const rec = { peer: e.peer, from: e.from, to: e.to, ...(e.reason !== undefined ? { reason: e.reason } : {}) }
      if (e.to === 'Established') log.info(rec, 'session established')
      else if (e.from === 'Established') log.warn(rec, 'session down')
      else log.debug(rec, 'session state')
      if (e.to === 'Established' || e.from === 'Established') this.emit('ready', this.ready())
    })
    s.on('max-prefix', (e) => log.warn({ ...e }, e.level === 'threshold' ? 'prefix count reached the warning threshold' : 'prefix limit exceeded'))
    s.on('error', (e) => log.error({ err: e }, 'speaker error'))
  }

  /**
   * Applies a new configuration as a difference (never called with an invalid one: validation is the
   * loader's). Reloads run one at a time, in call order: ConnectedPeer changes can arrive while the
   * previous one is still closing sessions, and two overlapping peer plans would add a peer twice.
   */
  reload(next: DaemonConfig): Promise<ReloadResult> {
    const run = this.reloading.then(() => this.reloadNow(next))
    this.reloading = run.then(() => undefined, () => undefined)
    return run
  }

  private reloading: Promise<void> = Promise.resolve()

  /** A reload refused: counted, logged with `detail`, reported; the running configuration stays. */
  private refuseReload(reason: string, detail: Record<string, unknown>): ReloadResult {
    this.reloads.rejected++
    const r: ReloadResult = { ok: false, added: [], removed: [], reset: [], message: `${reason}; running configuration kept` }
    this.log.error(detail, r.message)
    this.emit('reload', r)
    return r
  }

  private async reloadNow(next: DaemonConfig): Promise<ReloadResult> {
    const prev = this.config
    const fixed: [string, unknown, unknown][] = [
      ['nodeAddress', prev.nodeAddress, next.nodeAddress], ['routerId', prev.routerId, next.routerId], ['dataplane', prev.dataplane, next.dataplane],
      ['controlNodes.localAsn', prev.controlNodes.localAsn, next.controlNodes.localAsn], ['tgw.localAsn', prev.tgw.localAsn, next.tgw.localAsn],
      ['gatewayTable', JSON.stringify(prev.gatewayTable), JSON.stringify(next.gatewayTable)], ['listen', JSON.stringify(prev.listen), JSON.stringify(next.listen)],
    ]
    const needsRestart = fixed.filter(([, a, b]) => a !== b).map(([f]) => f)
    if (needsRestart.length > 0) return this.refuseReload(`${needsRestart.join(', ')}: cannot change while running (restart gsi-routerd)`, { fields: needsRestart })
    // The key first: a source that cannot be read refuses the whole reload before anything changes.
    let md5: string | undefined
    try {
      md5 = await this.o.md5?.(next)
    } catch (e) {
      return this.refuseReload((e as Error).message, { err: e })
    }
    try {
      this.reconfigureGateway(prev, next)
    } catch (e) {
      return this.refuseReload((e as Error).message, { err: e })
    }
    this.config = next
    if (next.dataplane === 'kernel') await this.applyGre()
    if (JSON.stringify(prev.exposed.routeTargets) !== JSON.stringify(next.exposed.routeTargets)) this.speakers.cn2.setImportRouteTargets(importRouteTargets(next))
    const done = await this.peerSet.apply(PeerSet.wanted(next, md5))
    this.probes?.reconfigure(next)
    this.probes?.reapplyWithdrawals()
    this.reloads.ok++
    const r: ReloadResult = { ok: true, ...done, message: `configuration applied: ${done.added.length} peers added, ${done.removed.length} removed, ${done.reset.length} reset` }
    this.log.info({ ...done }, r.message)
    this.emit('reload', r)
    return r
  }

  /** Exposure, quota and RD changes go to the gateway logic; sessions are not touched. */
  private reconfigureGateway(prev: DaemonConfig, next: DaemonConfig): void {
    const keyOf = (c: DaemonConfig): string => JSON.stringify([c.exposed, c.advertiseMoreSpecifics, c.tgw.maxPrefixesAdvertised, c.tgw.maxPrefixesReceived, c.routeDistinguisherIndex, c.tgw.connectPeers.map((cp) => [cp.id, cp.bgpPeerAddresses])])
    if (keyOf(prev) === keyOf(next)) return
    this.gateway.reconfigure(gatewayOptions(next, this.log.child({ part: 'gateway' })))
  }

  peerList(): readonly DaemonPeer[] {
    return this.peerSet.peers
  }

  /** Control-node sessions with a TCP-MD5 key that are not Established (what the MD5 watch explains). */
  private md5Waiting(): string[] {
    return this.peerSet.peers
      .filter((p) => p.side === 'cn2' && p.config.md5Password !== undefined && this.speakers.cn2.peerStats(p.config.name).session.state !== 'Established')
      .map((p) => p.config.name)
  }

  /** Why a TCP-MD5 control-node session is not up, when the kernel's counters say (else undefined). */
  md5Diagnosis(peer: string): string | undefined {
    return this.md5Watch?.diagnosis(peer)
  }

  gatewayStatus(): GatewayStatus {
    return this.gateway.status()
  }

  sessions(): SessionSnapshot[] {
    const out: SessionSnapshot[] = []
    for (const p of this.peerSet.peers) {
      const st = this.peerSet.speaker(p.side).peerStats(p.config.name)
      const sum = (k: 'received' | 'accepted' | 'advertised'): number => st.families.reduce((a, f) => a + f[k], 0)
      const le = st.session.lastError
      out.push({
        name: p.config.name, side: p.side, address: p.config.address, asn: p.config.asn,
        ...(p.connectPeer !== undefined ? { connectPeer: p.connectPeer } : {}),
        state: st.session.state, since: st.session.stateSince, flaps: st.session.flaps,
        prefixesReceived: sum('received'), prefixesAccepted: sum('accepted'), prefixesAdvertised: sum('advertised'),
        ...(le !== undefined ? { lastError: le.detail !== undefined ? `${le.reason}: ${le.detail}` : le.reason } : {}),
      })
    }
    return out
  }

  /** Ready (rolling updates wait for it): route selection done and the FIB synced, at least one control
   * node session and, when Connect peers are configured, at least one TGW session Established. */
  ready(): ReadyState {
    const reasons: string[] = []
    if (!this.started) reasons.push('starting')
    if (!this.fibReady) reasons.push(this.restarting ? 'graceful restart: waiting for End-of-RIB from every peer' : 'route selection not done')
    if (this.started) {
      const s = this.sessions()
      if (this.config.controlNodes.peers.length > 0 && !s.some((x) => x.side === 'cn2' && x.state === 'Established')) reasons.push('no control-node session Established')
      if (this.config.tgw.connectPeers.length > 0 && !s.some((x) => x.side === 'tgw' && x.state === 'Established')) reasons.push('no Transit Gateway session Established')
    }
    return { ready: reasons.length === 0, reasons }
  }

  /**
   * `graceful` (SIGTERM, a rolling update): leave kernel state in place and close the sockets without a
   * NOTIFICATION, so every peer keeps our routes as stale under graceful restart (RFC 4724) until we
   * are back. `withdraw`: withdraw what we originate, Cease / Administrative Shutdown (RFC 9003 message)
   * to every peer, then remove our kernel state.
   */
  async stop(mode: StopMode, message = 'gsi-routerd shutting down'): Promise<CleanupReport | undefined> {
    if (this.stopping) return undefined
    this.stopping = true
    this.md5Watch?.stop()
    this.probes?.stop()
    this.log.info({ mode }, mode === 'graceful' ? 'stopping: kernel state and peers\' stale routes kept (graceful restart)' : 'stopping: withdrawing routes and removing kernel state')
    if (mode === 'graceful') {
      this.writer?.stop()
      return undefined
    }
    // The Cease goes out as a Hard Reset where the N bit was exchanged (RFC 8538), so peers flush
    // our routes at once rather than keep them stale.
    await Promise.all([this.speakers.cn2.stop(message), this.speakers.tgw.stop(message)])
    for (const l of this.speakers.listeners) await l.close()
    this.gateway.stop()
    this.writer?.stop()
    let report: CleanupReport | undefined
    if (this.kernel !== undefined) {
      report = await cleanup(this.kernel)
      this.kernel.close()
    }
    return report
  }
}
