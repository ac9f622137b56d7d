/**
 * Runs the gateway logic (src/gateway) for the daemon and changes its options without touching a
 * session: a reload that exposes another VN, changes the quota or the RD builds a new Gateway, replays
 * both speakers' Loc-RIBs into it, and then withdraws only what the old one originated (toward the
 * TGW or CN2) or wanted in the FIB and the new one does not. Routes the new gateway originates again
 * with the same attributes cause no UPDATE (the RIB's best path does not change), and the FIB writer
 * leaves equal kernel routes alone, so a reload that changes nothing visible sends nothing.
 *
 * For that the gateway reaches the speakers through thin tracking ports that remember what it
 * originated (aggregates and VPC routes: thousands at most); which FIB routes each gateway wants it
 * says itself (Gateway.forEachFibRoute / wantsFibRoute), so nothing is kept per route here.
 */
import type { FamilyKey } from '../../bgp/codec/afi.js'
import type { ExtendedCommunity } from '../../bgp/codec/ext-communities.js'
import { nlriToString, type Nlri } from '../../bgp/codec/nlri.js'
import { TableBestChange, type BestChange, type RouteAttributes } from '../../bgp/rib/index.js'
import type { BgpSpeaker, PeerStateEvent } from '../../bgp/speaker/index.js'
import { Gateway, type GatewayOptions, type GatewayStatus } from '../gateway/index.js'
import type { Cn2SpeakerPort, FibPort as GatewayFibPort } from '../gateway/types.js'

type BestListener = (family: FamilyKey, changes: readonly BestChange[]) => void
type StateListener = (e: PeerStateEvent) => void

/** A speaker as one gateway sees it: originations remembered, events forwarded while attached. */
class TrackedSpeaker implements Cn2SpeakerPort {
  readonly originated = new Map<string, Nlri>()
  private readonly best = new Set<BestListener>()
  private readonly state = new Set<StateListener>()
  private readonly fwdBest: BestListener = (f, c) => { for (const l of this.best) l(f, c) }
  private readonly fwdState: StateListener = (e) => { for (const l of this.state) l(e) }

  constructor(readonly speaker: BgpSpeaker) {
    speaker.on('best', this.fwdBest)
    speaker.on('peer-state', this.fwdState)
  }

  get localAs(): number {
    return this.speaker.localAs
  }

  on(event: 'best' | 'peer-state', listener: BestListener | StateListener): this {
    if (event === 'best') this.best.add(listener as BestListener)
    else this.state.add(listener as StateListener)
    return this
  }

  off(event: 'best' | 'peer-state', listener: BestListener | StateListener): this {
    if (event === 'best') this.best.delete(listener as BestListener)
    else this.state.delete(listener as StateListener)
    return this
  }

  peers(): readonly { readonly name: string; readonly session: { readonly state: string } }[] {
    return this.speaker.peers()
  }

  originate(nlri: Nlri, attrs: RouteAttributes): void {
    this.originated.set(nlriToString(nlri), nlri)
    this.speaker.originate(nlri, attrs)
  }

  withdrawOriginated(nlri: Nlri): void {
    this.originated.delete(nlriToString(nlri))
    this.speaker.withdrawOriginated(nlri)
  }

  setImportRouteTargets(rts: readonly ExtendedCommunity[]): void {
    this.speaker.setImportRouteTargets(rts)
  }

  /** Sends the speaker's whole Loc-RIB of every family to this gateway as additions. */
  replay(): void {
    const rib = this.speaker.rib
    for (const family of rib.families()) {
      const table = rib.table(family)
      let batch: BestChange[] = []
      table.forEachBest((dest) => {
        batch.push(new TableBestChange(table, dest, 'add'))
        if (batch.length === 4096) {
          this.fwdBest(family, batch)
          batch = []
        }
      })
      if (batch.length > 0) this.fwdBest(family, batch)
    }
  }

  detach(): void {
    this.speaker.off('best', this.fwdBest)
    this.speaker.off('peer-state', this.fwdState)
  }
}

export interface GatewayEventSink {
  attach(gw: Gateway): void
}

export class GatewayHost {
  private gw: Gateway
  private cn2: TrackedSpeaker
  private tgw: TrackedSpeaker

  constructor(private readonly speakers: { cn2: BgpSpeaker; tgw: BgpSpeaker }, private readonly fib: GatewayFibPort, options: GatewayOptions, private readonly sink: GatewayEventSink) {
    this.cn2 = new TrackedSpeaker(speakers.cn2)
    this.tgw = new TrackedSpeaker(speakers.tgw)
    this.gw = new Gateway(this.cn2, this.tgw, fib, options)
    sink.attach(this.gw)
    this.gw.start()
  }

  get gateway(): Gateway {
    return this.gw
  }

  status(): GatewayStatus {
    return this.gw.status()
  }

  /**
   * New options: validated by constructing the new gateway first (a bad option throws and the old
   * one keeps running), then the old one detached, the RIBs replayed into the new one, and what only
   * the old one wanted withdrawn.
   */
  reconfigure(options: GatewayOptions): void {
    const cn2 = new TrackedSpeaker(this.speakers.cn2)
    const tgw = new TrackedSpeaker(this.speakers.tgw)
    let next: Gateway
    try {
      next = new Gateway(cn2, tgw, this.fib, options)
    } catch (e) {
      cn2.detach()
      tgw.detach()
      throw e
    }
    const old = { gw: this.gw, cn2: this.cn2, tgw: this.tgw }
    old.gw.stop()
    old.cn2.detach()
    old.tgw.detach()
    this.gw = next
    this.cn2 = cn2
    this.tgw = tgw
    this.sink.attach(next)
    next.start()
    cn2.replay()
    tgw.replay()
    for (const [key, nlri] of old.cn2.originated) if (!cn2.originated.has(key)) this.speakers.cn2.withdrawOriginated(nlri)
    for (const [key, nlri] of old.tgw.originated) if (!tgw.originated.has(key)) this.speakers.tgw.withdrawOriginated(nlri)
    let deleted = false
    old.gw.forEachFibRoute((table, prefix) => {
      if (!next.wantsFibRoute(table, prefix)) {
        this.fib.deleteRoute(table, prefix)
        deleted = true
      }
    })
    if (deleted) void this.fib.flush()
  }

  stop(): void {
    this.gw.stop()
    this.cn2.detach()
    this.tgw.detach()
  }
}
