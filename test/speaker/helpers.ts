/**
 * Helpers for speaker tests: two BgpSpeakers over loopback (A on 127.0.0.1, B on 127.0.0.2, both
 * listening on ephemeral ports, A connecting), prefixes as NLRI objects, waiting with deadlines.
 */
import net from 'node:net'
import { BgpSpeaker, type PeerConfig, type SpeakerOptions } from '../../bgp/speaker/index.js'
import { Family, type FamilyKey } from '../../bgp/codec/afi.js'
import type { Nlri, RouteDistinguisher } from '../../bgp/codec/nlri.js'
import { labelEntry } from '../../bgp/codec/nlri.js'
import type { RouteEntry } from '../../bgp/rib/api.js'
import { waitFor } from '../session/helpers.js'
import type { Test } from 'tap'
import type { CodecContext } from '../../bgp/codec/context.js'
import { encodeUpdate, updateEncodingLength, type UpdateMessage } from '../../bgp/codec/update.js'
import { BgpListener, Session, type SessionConfig } from '../../bgp/session/index.js'

export { waitFor, sleep } from '../session/helpers.js'

export interface SpeakerPair {
  a: BgpSpeaker
  b: BgpSpeaker
  close(): Promise<void>
}

export interface PairOptions {
  asA?: number
  asB?: number
  families?: readonly FamilyKey[]
  /** A's configuration of its peer B. */
  peerOfA?: Partial<PeerConfig>
  /** B's configuration of its peer A. */
  peerOfB?: Partial<PeerConfig>
  speakerA?: Partial<SpeakerOptions>
  speakerB?: Partial<SpeakerOptions>
  /** Do not wait for Established. */
  noWait?: boolean
}

export async function makeSpeakers(o: PairOptions = {}): Promise<SpeakerPair> {
  const asA = o.asA ?? 65001
  const asB = o.asB ?? 65002
  const families = o.families ?? [Family.Ipv4Unicast]
  const a = new BgpSpeaker({ localAs: asA, routerId: '1.1.1.1', listen: { address: '127.0.0.1', port: 0 }, ...o.speakerA })
  const b = new BgpSpeaker({ localAs: asB, routerId: '2.2.2.2', listen: { address: '127.0.0.2', port: 0 }, ...o.speakerB })
  const portA = await a.start()
  const portB = await b.start()
  const common = { holdTime: 9, connectRetryTime: 0.5, idleHoldTime: 0.2, families }
  b.addPeer({ name: 'A', address: '127.0.0.1', port: portA, localAddress: '127.0.0.2', asn: asA, passive: true, ...common, ...o.peerOfB })
  a.addPeer({ name: 'B', address: '127.0.0.2', port: portB, localAddress: '127.0.0.1', asn: asB, ...common, ...o.peerOfA })
  const pair: SpeakerPair = {
    a,
    b,
    async close() {
      await Promise.all([a.stop(), b.stop()])
    },
  }
  if (o.noWait !== true) await established(pair)
  return pair
}

export async function established(p: SpeakerPair, timeoutMs = 5000): Promise<void> {
  await waitFor(() => p.a.session('B').state === 'Established' && p.b.session('A').state === 'Established', timeoutMs, 'both sessions Established')
}

export function ipv4(text: string): Nlri {
  const [addr, len] = text.split('/') as [string, string]
  return { family: Family.Ipv4Unicast, prefix: Uint8Array.from(addr.split('.').map(Number)), length: Number(len) }
}

export function ipv6(text: string): Nlri {
  const [addr, len] = text.split('/') as [string, string]
  const b = new Uint8Array(16)
  const [head, tail] = addr.split('::') as [string, string | undefined]
  const h = head === '' ? [] : head.split(':')
  const t = tail === undefined || tail === '' ? [] : tail.split(':')
  const words = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t]
  words.forEach((w, i) => {
    const v = parseInt(w, 16)
    b[2 * i] = v >>> 8
    b[2 * i + 1] = v & 0xff
  })
  return { family: Family.Ipv6Unicast, prefix: b, length: Number(len) }
}

export function vpnv4(rd: RouteDistinguisher, text: string, label: number): Nlri {
  const n = ipv4(text)
  return { ...n, family: Family.Ipv4Vpn, rd, labels: [labelEntry(label)] }
}

/** The best path of a prefix in a speaker's Loc-RIB, or undefined. */
export function best(s: BgpSpeaker, family: FamilyKey, prefix: string): RouteEntry | undefined {
  if (!s.rib.families().includes(family)) return undefined
  const t = s.rib.table(family)
  const d = t.lookup(prefix)
  return d < 0 ? undefined : t.best(d)
}

export function waitBest(s: BgpSpeaker, family: FamilyKey, prefix: string, present = true, timeoutMs = 5000): Promise<void> {
  return waitFor(() => (best(s, family, prefix) !== undefined) === present, timeoutMs, `${prefix} ${present ? 'in' : 'gone from'} Loc-RIB`)
}

/** A speaker listening on `address` (a 127.x address) and an ephemeral port, started. */
export async function startSpeaker(localAs: number, routerId: string, address: string, extra: Partial<SpeakerOptions> = {}): Promise<BgpSpeaker & { address: string }> {
  const s = new BgpSpeaker({ localAs, routerId, listen: { address, port: 0 }, ...extra })
  await s.start()
  return Object.assign(s, { address })
}

/**
 * Peers x and y: x connects, y waits. Each names the other by its address; `xConf` is x's
 * configuration of y and `yConf` y's of x.
 */
export function link(
  x: BgpSpeaker & { address: string },
  y: BgpSpeaker & { address: string },
  families: readonly FamilyKey[],
  xConf: Partial<PeerConfig> = {},
  yConf: Partial<PeerConfig> = {},
): void {
  const common = { holdTime: 9, connectRetryTime: 0.5, idleHoldTime: 0.2, families }
  y.addPeer({ name: x.address, address: x.address, port: x.port, localAddress: y.address, asn: x.localAs, passive: true, ...common, ...yConf })
  x.addPeer({ name: y.address, address: y.address, port: y.port, localAddress: x.address, asn: y.localAs, ...common, ...xConf })
}

export function waitEstablished(x: BgpSpeaker, name: string, timeoutMs = 5000): Promise<void> {
  return waitFor(() => x.session(name).state === 'Established', timeoutMs, `${name} Established`)
}

/** A TCP relay on `listenHost` toward target, connecting from `sourceHost`: `reset()` cuts every
 * connection with RST (a peer dying without NOTIFICATION, as graceful restart expects); `close()`
 * also stops accepting, so the peer stays away. */
export async function relay(listenHost: string, sourceHost: string, targetHost: string, targetPort: number): Promise<{ port: number; reset(): void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((down) => {
    const up = net.connect({ host: targetHost, port: targetPort, localAddress: sourceHost })
    for (const s of [down, up]) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => sockets.delete(s))
    }
    down.pipe(up)
    up.pipe(down)
  })
  await new Promise<void>((r) => server.listen(0, listenHost, () => r()))
  const reset = (): void => {
    for (const s of sockets) s.resetAndDestroy()
  }
  return {
    port: (server.address() as net.AddressInfo).port,
    reset,
    close() {
      reset()
      return new Promise((r) => server.close(() => r()))
    },
  }
}

/**
 * A bare Session 'raw' (listening too, at config.localAddress) connected to the speaker's peer
 * 'raw', once both sides are Established; it, its listener and the speaker are closed at teardown.
 * It sends hand-made UPDATEs a speaker would never send.
 */
export async function rawPeer(t: Test, sp: BgpSpeaker, config: SessionConfig & { localAddress: string }): Promise<Session> {
  const listener = new BgpListener({ host: config.localAddress, port: 0 })
  await listener.listen()
  const raw = new Session(config, { listener })
  t.teardown(async () => {
    await raw.destroy()
    await sp.stop()
    await listener.close()
  })
  raw.start()
  await waitFor(() => raw.state === 'Established' && sp.session('raw').state === 'Established', 5000, 'Established')
  return raw
}

export function encode(msg: UpdateMessage, ctx: CodecContext): Uint8Array {
  const b = new Uint8Array(updateEncodingLength(msg, ctx))
  encodeUpdate(msg, ctx, b, 0)
  return b
}
