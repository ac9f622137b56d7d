/**
 * gsi-routerd's Prometheus metrics (prom-client), in a registry the daemon creates: no default
 * global registry, nothing at import time. Whatever mirrors daemon state is computed at scrape time
 * by `collect()` from the DaemonView (one snapshot of the view per scrape, however many metrics read
 * it); what only the runtime sees happen (config reloads, update-processing latency) is recorded
 * through the methods below.
 *
 * Names follow GoBGP's and FRR's exporters (`bgp_peer_state`, `bgp_prefixes`); labels are bounded by
 * configuration (peers, families, tables), never by routes: no prefix is ever a label.
 *
 *   bgp_peer_state{peer,peer_as,side}            FSM state as BGP4-MIB bgpPeerState numbers it (RFC 4273):
 *                                                1 idle, 2 connect, 3 active, 4 opensent, 5 openconfirm, 6 established
 *   bgp_peer_admin_enabled{peer}                 0 while administratively down
 *   bgp_peer_flaps_total{peer}                   sessions that went down after Established
 *   bgp_peer_messages_total{peer,direction,type} direction: received | sent; type: open | update |
 *                                                notification | keepalive | route_refresh
 *   bgp_prefixes{peer,family,kind}               kind: received | accepted | active | advertised
 *   gsi_tgw_prefixes_advertised                  prefixes advertised toward each Transit Gateway session
 *   gsi_tgw_prefix_quota                         the quota guard's limit (1,000 or lower)
 *   gsi_tgw_prefixes_refused                     prefixes held back by the quota guard
 *   gsi_fib_routes{table}                        desired routes per gateway table
 *   gsi_fib_routes_installed                     routes the kernel holds (ours)
 *   gsi_fib_operations_total{op}                 route_add | route_replace | route_delete | label_add |
 *                                                label_replace | label_delete | tunnel_create | tunnel_delete |
 *                                                adopt | drift_repair | sync
 *   gsi_fib_errors_total                         netlink requests the kernel refused
 *   gsi_tunnels{kind,state}                      kind: gre | mplsoudp; state: up | down | missing
 *   gsi_probe_sent_total{kind,target,via,family} ICMP echoes sent by the data-plane probes; kind: tgw (through
 *                                                the GRE link of Connect peer `via`) | vn (through the MPLSoUDP
 *                                                tunnel to vRouter `via`); family: ipv4 (ICMP) | ipv6 (ICMPv6);
 *                                                targets come from the configuration
 *   gsi_probe_replies_total{kind,target,via,family} echo replies received
 *   gsi_probe_lost_total{kind,target,via,family} echoes lost (no reply within probes.timeout, or not sent)
 *   gsi_probe_loss_ratio{kind,target,via,family} lost / decided over the last probes.lossWindow echoes
 *   gsi_probe_rtt_seconds{kind,target,via,family} round-trip time of the last reply
 *   gsi_probe_up{kind,target,via,family}         1 alive, 0 dead; absent while pending or not probed
 *   gsi_dataplane_dead{connect_peer,family}      1 while a BGP session of the Connect peer is Established and
 *                                                none of its probes of that IP version answers ("BGP up but
 *                                                data plane dead"); family ipv6 only with an inside /125
 *   gsi_probe_routes_withdrawn{connect_peer,family} 1 while our routes of that IP version are withdrawn from
 *                                                its sessions (probes.withdrawOnFailure)
 *   gsi_ready                                    1 when /readyz answers 200
 *   gsi_config_reloads_total{result}             result: ok | rejected
 *   gsi_update_processing_seconds                histogram: one batch of UPDATEs from socket read to
 *                                                RIB commit done (the runtime observes it)
 *   process_* and nodejs_*                       prom-client's default metrics, in this registry
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { MESSAGE_TYPES, type DaemonStatus, type DaemonView, type FibView, type GatewayStatus, type PeerView, type TunnelsView } from '../api/view.js'
import { States, type State } from '../../bgp/fsm/types.js'

/** BGP4-MIB (RFC 4273) bgpPeerState: idle(1) .. established(6), the numbering exporters use. */
export function peerStateNumber(s: State): number {
  return States.indexOf(s) + 1
}

const MESSAGE_LABEL: Record<(typeof MESSAGE_TYPES)[number], string> = {
  open: 'open',
  update: 'update',
  notification: 'notification',
  keepalive: 'keepalive',
  routeRefresh: 'route_refresh',
}

const FIB_OPS = [
  ['route_add', 'routesAdded'],
  ['route_replace', 'routesReplaced'],
  ['route_delete', 'routesDeleted'],
  ['label_add', 'labelRoutesAdded'],
  ['label_replace', 'labelRoutesReplaced'],
  ['label_delete', 'labelRoutesDeleted'],
  ['tunnel_create', 'tunnelsCreated'],
  ['tunnel_delete', 'tunnelsDeleted'],
  ['adopt', 'routesAdopted'],
  ['drift_repair', 'driftRepairs'],
  ['sync', 'syncs'],
] as const

/** Buckets for one UPDATE batch: sub-millisecond (idle) to seconds (a full table in one turn). */
export const UPDATE_PROCESSING_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

interface Snapshot {
  readonly status: DaemonStatus
  readonly peers: readonly PeerView[]
  readonly gateway: GatewayStatus
  readonly fib: FibView
  readonly tunnels: TunnelsView
}

export interface DaemonMetricsOptions {
  readonly view: DaemonView
  /** prom-client's process and Node.js metrics (default true; tests of names may turn them off). */
  readonly defaultMetrics?: boolean
}

export class DaemonMetrics {
  readonly registry = new Registry()
  private readonly view: DaemonView
  private readonly reloads: Counter<'result'>
  private readonly updateProcessing: Histogram
  private snap: Snapshot | undefined

  constructor(o: DaemonMetricsOptions) {
    this.view = o.view
    const registers = [this.registry]
    const snap = (): Snapshot => this.snapshot()

    new Gauge({
      name: 'bgp_peer_state', help: 'BGP session state (BGP4-MIB numbering: 1 idle .. 6 established)', labelNames: ['peer', 'peer_as', 'side'], registers,
      collect() {
        this.reset()
        for (const p of snap().peers) this.set({ peer: p.address, peer_as: String(p.asn), side: p.side }, peerStateNumber(p.session.state))
      },
    })
    new Gauge({
      name: 'bgp_peer_admin_enabled', help: '1 unless the peer is administratively down', labelNames: ['peer'], registers,
      collect() {
        this.reset()
        for (const p of snap().peers) this.set({ peer: p.address }, p.enabled ? 1 : 0)
      },
    })
    new Counter({
      name: 'bgp_peer_flaps_total', help: 'Sessions that went down after reaching Established', labelNames: ['peer'], registers,
      collect() {
        this.reset()
        for (const p of snap().peers) this.inc({ peer: p.address }, p.session.flaps)
      },
    })
    new Counter({
      name: 'bgp_peer_messages_total', help: 'BGP messages by direction and type', labelNames: ['peer', 'direction', 'type'], registers,
      collect() {
        this.reset()
        for (const p of snap().peers) {
          for (const t of MESSAGE_TYPES) {
            this.inc({ peer: p.address, direction: 'received', type: MESSAGE_LABEL[t] }, p.session.messagesIn[t])
            this.inc({ peer: p.address, direction: 'sent', type: MESSAGE_LABEL[t] }, p.session.messagesOut[t])
          }
        }
      },
    })
    new Gauge({
      name: 'bgp_prefixes', help: 'Prefixes per peer and family: received (Adj-RIB-In), accepted (by import policy), active (best), advertised', labelNames: ['peer', 'family', 'kind'], registers,
      collect() {
        this.reset()
        for (const p of snap().peers) {
          for (const f of p.families) {
            this.set({ peer: p.address, family: f.family, kind: 'received' }, f.received)
            this.set({ peer: p.address, family: f.family, kind: 'accepted' }, f.accepted)
            this.set({ peer: p.address, family: f.family, kind: 'active' }, f.active)
            this.set({ peer: p.address, family: f.family, kind: 'advertised' }, f.advertised)
          }
        }
      },
    })
    new Gauge({ name: 'gsi_tgw_prefixes_advertised', help: 'Prefixes advertised toward each Transit Gateway session', registers, collect() { this.set(snap().gateway.tgwAdvertised) } })
    new Gauge({ name: 'gsi_tgw_prefix_quota', help: 'The Transit Gateway prefix quota guard in force', registers, collect() { this.set(snap().gateway.tgwQuota) } })
    new Gauge({ name: 'gsi_tgw_prefixes_refused', help: 'Prefixes held back from the Transit Gateway by the quota guard', registers, collect() { this.set(snap().gateway.tgwRefused.length) } })
    new Gauge({
      name: 'gsi_fib_routes', help: 'Desired routes per gateway table', labelNames: ['table'], registers,
      collect() {
        this.reset()
        for (const t of snap().fib.routesByTable) this.set({ table: String(t.table) }, t.routes)
      },
    })
    new Gauge({ name: 'gsi_fib_routes_installed', help: 'Our routes the kernel holds', registers, collect() { this.set(snap().fib.state.installedRoutes) } })
    new Counter({
      name: 'gsi_fib_operations_total', help: 'Kernel changes made by the FIB writer, by operation', labelNames: ['op'], registers,
      collect() {
        this.reset()
        const c = snap().fib.counters
        for (const [op, field] of FIB_OPS) this.inc({ op }, c[field])
      },
    })
    new Counter({
      name: 'gsi_fib_errors_total', help: 'Netlink requests the kernel refused', registers,
      collect() {
        this.reset()
        this.inc(snap().fib.counters.errors)
      },
    })
    new Gauge({
      name: 'gsi_tunnels', help: 'Tunnels by kind (gre: Transit Gateway Connect peers; mplsoudp: vRouters) and state', labelNames: ['kind', 'state'], registers,
      collect() {
        this.reset()
        const t = snap().tunnels
        // Every state present even at zero, so an alert on gsi_tunnels{state="down"} > 0 has a series.
        for (const kind of ['gre', 'mplsoudp']) for (const state of ['up', 'down', 'missing']) this.set({ kind, state }, 0)
        for (const g of t.gre) this.inc({ kind: 'gre', state: g.state })
        for (const m of t.mplsoudp) this.inc({ kind: 'mplsoudp', state: m.state })
      },
    })
    const probeTargets = (): NonNullable<TunnelsView['probes']>['targets'] => snap().tunnels.probes?.targets ?? []
    // family last: a label added beside the ones dashboards and alerts already select on
    const probeLabels = (x: { kind: string; address: string; via: string; family: string }): { kind: string; target: string; via: string; family: string } => ({ kind: x.kind, target: x.address, via: x.via, family: x.family })
    const probeLabelNames = ['kind', 'target', 'via', 'family']
    for (const [name, help, field] of [
      ['gsi_probe_sent_total', 'ICMP echoes sent by the data-plane probes', 'sent'],
      ['gsi_probe_replies_total', 'Echo replies received by the data-plane probes', 'replies'],
      ['gsi_probe_lost_total', 'Data-plane probe echoes lost (no reply within the timeout, or not sent)', 'lost'],
    ] as const) {
      new Counter({
        name, help, labelNames: probeLabelNames, registers,
        collect() {
          this.reset()
          for (const x of probeTargets()) this.inc(probeLabels(x), x[field])
        },
      })
    }
    new Gauge({
      name: 'gsi_probe_loss_ratio', help: 'Data-plane probe loss over the last probes.lossWindow echoes (0..1)', labelNames: probeLabelNames, registers,
      collect() {
        this.reset()
        for (const x of probeTargets()) this.set(probeLabels(x), x.lossRatio)
      },
    })
    new Gauge({
      name: 'gsi_probe_rtt_seconds', help: 'Round-trip time of the last data-plane probe reply', labelNames: probeLabelNames, registers,
      collect() {
        this.reset()
        for (const x of probeTargets()) if (x.rttMs !== undefined) this.set(probeLabels(x), x.rttMs / 1000)
      },
    })
    new Gauge({
      name: 'gsi_probe_up', help: '1 while the probe target answers, 0 once it stopped answering', labelNames: probeLabelNames, registers,
      collect() {
        this.reset()
        for (const x of probeTargets()) if (x.state === 'alive' || x.state === 'dead') this.set(probeLabels(x), x.state === 'alive' ? 1 : 0)
      },
    })
    new Gauge({
      name: 'gsi_dataplane_dead', help: '1 while a BGP session of the Connect peer is Established and none of its probes of that IP version answers', labelNames: ['connect_peer', 'family'], registers,
      collect() {
        this.reset()
        for (const c of snap().tunnels.probes?.connectPeers ?? []) this.set({ connect_peer: c.connectPeer, family: c.family }, c.state === 'dataplane-dead' ? 1 : 0)
      },
    })
    new Gauge({
      name: 'gsi_probe_routes_withdrawn', help: '1 while our routes of that IP version are withdrawn from the Connect peer\'s sessions because its probes fail', labelNames: ['connect_peer', 'family'], registers,
      collect() {
        this.reset()
        for (const c of snap().tunnels.probes?.connectPeers ?? []) this.set({ connect_peer: c.connectPeer, family: c.family }, c.withdrawn ? 1 : 0)
      },
    })
    new Gauge({ name: 'gsi_ready', help: '1 when the daemon is ready (sessions back, FIB synced)', registers, collect() { this.set(snap().status.ready ? 1 : 0) } })

    this.reloads = new Counter({ name: 'gsi_config_reloads_total', help: 'Configuration reloads by result', labelNames: ['result'], registers })
    this.reloads.inc({ result: 'ok' }, 0)
    this.reloads.inc({ result: 'rejected' }, 0)
    this.updateProcessing = new Histogram({
      name: 'gsi_update_processing_seconds', help: 'One batch of received UPDATEs, from socket read to RIB commit done', registers,
      buckets: UPDATE_PROCESSING_BUCKETS,
    })
    if (o.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry })
  }

  /** A config reload (SIGHUP or ConnectedPeer change) was applied, or refused and the old config kept. */
  configReloaded(result: 'ok' | 'rejected'): void {
    this.reloads.inc({ result })
  }

  /** One batch of UPDATEs took `seconds` from read to commit. */
  observeUpdateProcessing(seconds: number): void {
    this.updateProcessing.observe(seconds)
  }

  /** Starts a timer; calling the returned function observes the elapsed time. */
  startUpdateTimer(): () => number {
    return this.updateProcessing.startTimer()
  }

  /** The exposition text (what /metrics serves). */
  metrics(): Promise<string> {
    // A scrape right after another in the same turn must not see the previous snapshot.
    this.snap = undefined
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }

  /** One view snapshot per scrape: prom-client starts every collect() of a scrape in the same turn,
   * so the snapshot lives until the next turn (or the next metrics() call). */
  private snapshot(): Snapshot {
    if (this.snap === undefined) {
      const v = this.view
      this.snap = { status: v.status(), peers: v.peers(), gateway: v.gateway(), fib: v.fib({ limit: 0 }), tunnels: v.tunnels() }
      setImmediate(() => {
        this.snap = undefined
      })
    }
    return this.snap
  }
}
