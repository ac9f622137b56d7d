/**
 * The convergence benchmark's BGP peers: a child process inside one network namespace running our
 * own Session runner (bgp/session), so the two moments that bound every sample are ours to take, on
 * CLOCK_MONOTONIC (the clock every process of the machine shares, namespaces included):
 * - `sent`: just before an UPDATE is handed to the socket (Node writes to a writable TCP socket at
 *   once, so this is the moment the kernel takes it, to a few microseconds);
 * - `update`: when the session's framer hands a received UPDATE to the sink, before it is decoded.
 *
 * Two roles, as gsi-routerd meets them (passive on port 179 of each address: the daemon connects):
 * - `cn2`: a CN2 control node. One iBGP session (inet-vpn, inet6-vpn, route-target: RFC 4364, 4659,
 *   4684). Once Established it advertises its route-target membership for the exposed target (so the
 *   daemon sends it the VPN routes it re-originates) and End-of-RIB for every family (RFC 4724).
 *   `load N` sends N VPNv4 /32 pod routes, packed (bgp/codec/bulk.ts), with the exposed route target,
 *   encapsulation udp (RFC 9012) and a label, under 100 RDs and 50 vRouter next hops, starting at
 *   `loadBase`; `announce SEQ PREFIX` / `withdraw SEQ PREFIX` send one VPNv4 route (RD `probeRd`).
 * - `tgw`: the Transit Gateway's BGP peers of one Connect peer: one eBGP session per local address
 *   (.2 and .3, IPv4 unicast). `announce SEQ PREFIX` / `withdraw SEQ PREFIX` send a VPC prefix from
 *   the first session only (one TGW peer learning a route is the change being timed).
 *
 * argv[2]: JSON PeerArgs. Commands are lines on stdin; events JSON lines on stdout (channel.ts):
 * established {peer}, ready {peers} (every session up, End-of-RIB sent), loaded {routes, messages},
 * listening, sent {seq, t}, update {peer, t, announced[], withdrawn[]}, state {peer, from, to} (for
 * a failure's message), down {peer, reason}, error {message}.
 * The process exits on `stop` or when stdin closes.
 */
import { Family, type FamilyKey } from '../../bgp/codec/afi.js'
import { encodeAttributes, type PathAttributes } from '../../bgp/codec/attributes.js'
import { encodeUpdatesBulk } from '../../bgp/codec/bulk.js'
import type { CodecContext } from '../../bgp/codec/context.js'
import { encapsulation, parseExtCommunity, TunnelType } from '../../bgp/codec/ext-communities.js'
import { labelEntry, nlriToString, parseRd, type Nlri } from '../../bgp/codec/nlri.js'
import { decodeUpdate, encodeUpdate, updateEncodingLength, type UpdateMessage } from '../../bgp/codec/update.js'
import { rtcMembershipNlris } from '../../bgp/policy/rtc.js'
import { BgpListener, Session } from '../../bgp/session/index.js'
import { parseIpv4 } from '../../src/lib/address.js'
import { onCommands, report } from '../ingest/channel.js'
import { monoMs } from '../ingest/proc.js'

export type PeerRole = 'cn2' | 'tgw'

export interface PeerArgs {
  readonly role: PeerRole
  /** Our addresses: one session each (the control node has one, the TGW two: .2 and .3). */
  readonly local: readonly string[]
  /** gsi-routerd's address on our link. */
  readonly daemon: string
  readonly localAs: number
  readonly daemonAs: number
  /** cn2: the exposed route target every pod route carries (and our RTC membership). */
  readonly routeTarget?: string
  /** cn2: RD of the probe route ("64512:9999"). */
  readonly probeRd?: string
  /** cn2: first address of the loaded /32s (dotted quad). */
  readonly loadBase?: string
}

/** Label and next hop of every route the control node sends: what a vRouter would have given. */
export const PROBE_LABEL = 100
export const PROBE_VROUTER = '198.19.0.1'
const LOAD_RDS = 100
const LOAD_VROUTERS = 50
/** Routes per attribute set of the load (a vRouter's label and next hop). */
const LOAD_PER_SET = 1000

const args = JSON.parse(process.argv[2] ?? '{}') as PeerArgs
const families: FamilyKey[] = args.role === 'cn2' ? [Family.Ipv4Vpn, Family.Ipv6Vpn, Family.RouteTarget] : [Family.Ipv4Unicast]
const family = args.role === 'cn2' ? Family.Ipv4Vpn : Family.Ipv4Unicast
const rt = args.routeTarget !== undefined ? parseExtCommunity(args.routeTarget) : undefined

function fail(message: string): void {
  report({ event: 'error', message })
}

// Passive, on listeners of our own: the harness starts the daemon once we listen, so its first
// connection attempt succeeds (a session in Idle refuses connections, and both sides retrying with
// backoff would take seconds to meet).
const listeners = args.local.map((host) => new BgpListener({ host, port: 179 }))
const sessions = args.local.map((local, i) => {
  // Named after its local address: the name is what events report and what next hops are built from.
  const name = local
  const s = new Session({
    passive: true,
    name,
    peerAddress: args.daemon,
    peerAs: args.daemonAs,
    localAddress: local,
    localAs: args.localAs,
    localId: parseIpv4(local),
    holdTime: 90,
    families,
    idleHoldTime: 0.2,
    idleHoldTimeMax: 0.5,
    // The first moment an UPDATE is ours: take the time, then decode (the object path; a handful of
    // routes per message here).
    updateSink: (buf, offset, length, ctx) => {
      const t = monoMs()
      const msg = decodeUpdate(buf, offset, length, ctx)
      const announced = [...msg.nlri, ...(msg.mpReach?.nlri ?? [])].map(nlriToString)
      const withdrawn = [...msg.withdrawn, ...(msg.mpUnreach?.nlri ?? [])].map(nlriToString)
      report({ event: 'update', peer: name, t, announced, withdrawn })
    },
  }, { listener: listeners[i] as BgpListener })
  s.on('established', () => {
    report({ event: 'established', peer: name })
    greet(s)
    if (sessions.every((x) => x.state === 'Established')) report({ event: 'ready', peers: sessions.length })
  })
  s.on('state', (e) => report({ event: 'state', peer: name, from: e.from, to: e.to, reason: e.reason ?? '' }))
  s.on('down', (d) => report({ event: 'down', peer: name, reason: d.reason, detail: d.detail ?? '' }))
  s.on('error', (e) => fail(`${name}: ${e.message}`))
  return s
})

function contextOf(s: Session): CodecContext {
  const ctx = s.negotiated?.context
  if (ctx === undefined) throw new Error(`${s.name}: not established`)
  return ctx
}

function encodeOne(s: Session, msg: UpdateMessage): Uint8Array {
  const ctx = contextOf(s)
  const b = new Uint8Array(updateEncodingLength(msg, ctx))
  encodeUpdate(msg, ctx, b, 0)
  return b
}

/** Session up: our RTC membership (control node) and End-of-RIB for every family. */
function greet(s: Session): void {
  if (args.role === 'cn2' && rt !== undefined) {
    s.sendUpdate(encodeOne(s, {
      type: 'update', withdrawn: [], nlri: [],
      attributes: { origin: 0, asPath: [], localPref: 100 },
      mpReach: { family: Family.RouteTarget, nextHop: [parseAddressBytes(s.name)], nlri: rtcMembershipNlris(args.localAs, [rt]) },
    }))
  }
  for (const f of families) s.sendEndOfRib(f)
}

function parseAddressBytes(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map(Number))
}

function prefixNlri(text: string): Nlri {
  const [addr, len] = text.split('/') as [string, string]
  const base: Nlri = { family: Family.Ipv4Unicast, prefix: parseAddressBytes(addr), length: Number(len) }
  if (args.role === 'tgw') return base
  return { ...base, family: Family.Ipv4Vpn, rd: parseRd(args.probeRd ?? '64512:9999'), labels: [labelEntry(PROBE_LABEL)] }
}

/** The attributes of the control node's pod routes (iBGP: empty AS_PATH, LOCAL_PREF) or the TGW's
 * VPC routes (eBGP: its AS first). */
function routeAttributes(): PathAttributes {
  if (args.role === 'tgw') return { origin: 0, asPath: [{ type: 2, asns: [args.localAs] }] }
  if (rt === undefined) throw new Error('cn2 peer: routeTarget is required')
  return { origin: 0, asPath: [], localPref: 100, extCommunities: [rt, encapsulation(TunnelType.udp)] }
}

function change(kind: 'announce' | 'withdraw', seq: string, prefix: string): void {
  const s = sessions[0] as Session
  if (s.state !== 'Established') return fail(`${kind} ${seq}: session ${s.name} is ${s.state}`)
  const n = prefixNlri(prefix)
  let msg: UpdateMessage
  if (args.role === 'tgw') {
    msg = kind === 'announce'
      ? { type: 'update', withdrawn: [], nlri: [n], attributes: { ...routeAttributes(), nextHop: parseIpv4(s.name) } }
      : { type: 'update', withdrawn: [n], nlri: [], attributes: {} }
  } else {
    msg = kind === 'announce'
      ? { type: 'update', withdrawn: [], nlri: [], attributes: routeAttributes(), mpReach: { family, nextHop: [parseAddressBytes(PROBE_VROUTER)], nlri: [n] } }
      : { type: 'update', withdrawn: [], nlri: [], attributes: {}, mpUnreach: { family, nlri: [n] } }
  }
  const bytes = encodeOne(s, msg)
  const t = monoMs()
  s.sendUpdate(bytes)
  report({ event: 'sent', seq, t })
}

/** The background table: `count` VPNv4 /32s from loadBase, exposed, in sets of 1,000 per vRouter. */
function load(count: number): void {
  const s = sessions[0] as Session
  if (args.role !== 'cn2' || args.loadBase === undefined) return fail('load: only the control node loads routes (loadBase)')
  if (!Number.isInteger(count) || count < 1) return fail(`load ${count}: not a positive integer`)
  const ctx = contextOf(s)
  const base = parseIpv4(args.loadBase)
  const addr = new Uint32Array(count)
  const length = new Uint8Array(count).fill(32)
  const rd = new Uint32Array(2 * count)
  const label = new Uint32Array(count)
  for (let i = 0; i < count; i++) {
    addr[i] = (base + i) >>> 0
    rd[2 * i] = args.localAs & 0xffff // type 0 (2 bytes) and 2-octet administrator
    rd[2 * i + 1] = 1 + (i % LOAD_RDS)
    label[i] = 1000 + Math.floor(i / LOAD_PER_SET)
  }
  const batch = { family, count, addr, length, rd, label }
  const attrs = encodeAttributes(routeAttributes(), ctx)
  const parts: Uint8Array[] = []
  for (let from = 0, set = 0; from < count; from += LOAD_PER_SET, set++) {
    const vrouter = Uint8Array.of(198, 19, 1 + Math.floor((set % LOAD_VROUTERS) / 250), 1 + (set % LOAD_VROUTERS) % 250)
    encodeUpdatesBulk(ctx, batch, attrs, vrouter, parts, from, Math.min(count, from + LOAD_PER_SET))
  }
  for (const p of parts) s.sendUpdate(p)
  report({ event: 'loaded', routes: count, messages: parts.length })
}

await Promise.all(listeners.map((l) => l.listen()))
for (const s of sessions) s.start()
report({ event: 'listening', addresses: args.local })

async function stop(): Promise<void> {
  await Promise.race([Promise.all([...sessions.map((s) => s.destroy('benchmark done')), ...listeners.map((l) => l.close())]), new Promise((r) => setTimeout(r, 2000))])
  process.exit(0)
}

onCommands(
  (line) => {
    const [cmd, a, b] = line.split(' ')
    try {
      if (cmd === 'announce' || cmd === 'withdraw') change(cmd, a ?? '', b ?? '')
      else if (cmd === 'load') load(Number(a))
      else if (cmd === 'stop') void stop()
      else if (cmd !== '') fail(`unknown command ${JSON.stringify(line)}`)
    } catch (e) {
      fail(`${line}: ${(e as Error).message}`)
    }
  },
  () => void stop(),
)
