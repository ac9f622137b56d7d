/**
 * What real implementations send: the byte streams recorded from gobgpd, FRR bgpd, BIRD 2 and
 * ExaBGP 4.2 by scripts/capture-fixtures.mjs (test/fixtures/captured/), framed by our Framer and
 * decoded by our codec, object path and bulk path, then checked attribute by attribute against
 * manifest.json, whose expectations come from the configuration the capture script gave each
 * daemon, never from a decoder. Re-encoding every decoded message must give the daemon's bytes back;
 * for UPDATEs whose attribute order differs from the encoder's canonical order (MP_REACH/MP_UNREACH
 * first, then type order) the re-encoded message must hold exactly the same attribute TLVs.
 *
 * Runs from the committed fixtures: no daemon, no network.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import {
  Framer,
  decodeFramed,
  encodeMessage,
  decodeUpdateBulk,
  decodeAttributeBytes,
  nlriToObject,
  bgpIdToString,
  openPeerAs,
  defaultContext,
  Family,
  familyKey,
  MessageType,
  type BgpMessage,
  type CodecContext,
  type FamilyKey,
  type Nlri,
  type PathAttributes,
  type UpdateIssue,
  type UpdateMessage,
  type UpdateSink,
} from '../../bgp/codec/index.js'
import { ipBytes, ipText, ipv4Text, parsePrefix, prefixText } from '../interop/ip-text.js'
import type { ExpectedRoute, FamilyName, RouteTargetSpec } from '../interop/capture-plan.js'

const dir = new URL('../fixtures/captured/', import.meta.url)

interface Capture {
  file: string
  daemon: string
  version: string
  session: string
  ebgp: boolean
  recorder: { asn: number; as4?: boolean; addPathReceive?: [number, number][] }
  open: {
    asn: number
    myAsField: number
    routerId: string
    holdTime: number
    multiprotocol: [number, number][]
    routeRefresh: boolean
    fourOctetAs: number
    extraCapabilities?: { fqdn?: { hostname: string; domain: string } }
  }
  routes: ExpectedRoute[]
  endOfRib: [number, number][]
  notification: { code: number; subcode: number; shutdownMessage: string } | null
}

const manifest = JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as { recorderFamilies: [number, number][]; captures: Capture[] }

const FAMILY_NAME = new Map<FamilyKey, FamilyName>([
  [Family.Ipv4Unicast, 'ipv4-unicast'],
  [Family.Ipv6Unicast, 'ipv6-unicast'],
  [Family.Ipv4Vpn, 'vpnv4'],
  [Family.Ipv6Vpn, 'vpnv6'],
  [Family.RouteTarget, 'rtc'],
])
const ORIGIN = ['igp', 'egp', 'incomplete']

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

/** A route as seen on the wire, in the manifest's terms. */
interface SeenRoute {
  key: string
  family: FamilyName
  /** ADD-PATH path identifier: the object path's Nlri.pathId, the bulk path's pathId (0 = none). */
  pathId?: number
  labels?: number[]
  bottomOfStackOk?: boolean
  nextHop: string
  origin?: string
  asPath?: number[] | string
  med?: number
  localPref?: number
  communities: string[]
  largeCommunities: string[]
  routeTargets: RouteTargetSpec[]
  encapsulation: number[]
  otherExtCommunities: number
  /** Attributes the configuration did not ask for. */
  extraAttributes: string[]
}

function rtKey(rt: RouteTargetSpec): string {
  return `${rt.type}:${rt.admin}:${rt.assigned}`
}

function rdKey(rd: { type: number; admin: number | string; assigned: number }): string {
  const admin = rd.type === 1 && typeof rd.admin === 'number' ? ipv4Text(rd.admin) : rd.admin
  return `${rd.type}:${admin}:${rd.assigned}`
}

/** Reads a route target out of 8 extended-community bytes (RFC 4360 / 5668), independently of the codec. */
function rtFromBytes(b: Uint8Array, p: number): RouteTargetSpec {
  const type = b[p]!
  const dv = new DataView(b.buffer, b.byteOffset + p, 8)
  if (type === 0) return { type: 0, admin: dv.getUint16(2), assigned: dv.getUint32(4) }
  if (type === 1) return { type: 1, admin: ipv4Text(dv.getUint32(2)), assigned: dv.getUint16(6) }
  return { type: 2, admin: dv.getUint32(2), assigned: dv.getUint16(6) }
}

function expectedKey(r: ExpectedRoute): string {
  if (r.family === 'rtc') return `rtc ${r.rtc!.originAs} ${rtKey(r.rtc!.routeTarget)}`
  const p = parsePrefix(r.prefix!)
  const text = prefixText(p.bytes, p.length, p.bytes.length === 4 ? 4 : 16)
  return `${r.family} ${r.rd ? rdKey(r.rd) + ' ' : ''}${text}`
}

function nlriKey(family: FamilyName, n: Nlri): string {
  if (family === 'rtc') {
    if (n.length === 0) return 'rtc default'
    const origin = new DataView(n.prefix.buffer, n.prefix.byteOffset, 4).getUint32(0)
    return `rtc ${origin} ${rtKey(rtFromBytes(n.prefix, 4))}`
  }
  const width = family === 'ipv4-unicast' || family === 'vpnv4' ? 4 : 16
  return `${family} ${n.rd ? rdKey(n.rd) + ' ' : ''}${prefixText(n.prefix, n.length, width)}`
}

function attributeView(a: PathAttributes): Omit<SeenRoute, 'key' | 'family' | 'nextHop' | 'labels' | 'bottomOfStackOk' | 'pathId'> {
  const extra: string[] = []
  if (a.atomicAggregate) extra.push('ATOMIC_AGGREGATE')
  if (a.aggregator) extra.push('AGGREGATOR')
  if (a.originatorId !== undefined) extra.push('ORIGINATOR_ID')
  if (a.clusterList) extra.push('CLUSTER_LIST')
  if (a.otc !== undefined) extra.push('OTC')
  for (const u of a.unknown ?? []) extra.push(`unknown type ${u.type}`)
  const ext = a.extCommunities ?? []
  const asPath = a.asPath === undefined ? undefined : a.asPath.every(s => s.type === 2) ? a.asPath.flatMap(s => [...s.asns]) : JSON.stringify(a.asPath)
  const v: ReturnType<typeof attributeView> = {
    communities: (a.communities ?? []).map(c => `${c >>> 16}:${c & 0xffff}`),
    largeCommunities: (a.largeCommunities ?? []).map(c => `${c.global}:${c.local1}:${c.local2}`),
    routeTargets: ext.flatMap(c =>
      c.kind === 'route-target'
        ? [{ type: ({ as2: 0, ipv4: 1, as4: 2 } as const)[c.form], admin: c.form === 'ipv4' ? ipv4Text(c.admin) : c.admin, assigned: c.assigned }]
        : [],
    ),
    encapsulation: ext.flatMap(c => (c.kind === 'encapsulation' ? [c.tunnelType] : [])),
    otherExtCommunities: ext.filter(c => c.kind !== 'route-target' && c.kind !== 'encapsulation').length,
    extraAttributes: extra,
  }
  if (a.origin !== undefined) v.origin = ORIGIN[a.origin] ?? `origin ${a.origin}`
  if (asPath !== undefined) v.asPath = asPath
  if (a.med !== undefined) v.med = a.med
  if (a.localPref !== undefined) v.localPref = a.localPref
  return v
}

function labelsOf(n: Nlri): { labels?: number[]; bottomOfStackOk?: boolean } {
  if (!n.labels) return {}
  return {
    labels: n.labels.map(e => e >>> 4),
    bottomOfStackOk: n.labels.every((e, i) => (e & 1) === (i === n.labels!.length - 1 ? 1 : 0)),
  }
}

/** Routes of one UPDATE through the object path. */
function routesFromObject(u: UpdateMessage): SeenRoute[] {
  const out: SeenRoute[] = []
  const view = attributeView(u.attributes)
  for (const n of u.nlri) {
    out.push({ key: nlriKey('ipv4-unicast', n), family: 'ipv4-unicast', ...(n.pathId !== undefined ? { pathId: n.pathId } : {}), nextHop: u.attributes.nextHop === undefined ? '(none)' : ipv4Text(u.attributes.nextHop), ...view })
  }
  if (u.mpReach) {
    const family = FAMILY_NAME.get(u.mpReach.family) ?? (`family ${u.mpReach.family}` as FamilyName)
    const nh = u.mpReach.nextHop[0]
    for (const n of u.mpReach.nlri) out.push({ key: nlriKey(family, n), family, ...(n.pathId !== undefined ? { pathId: n.pathId } : {}), nextHop: nh ? ipText(nh) : '(none)', ...labelsOf(n), ...view })
  }
  return out
}

/** The bulk path's sink, turning numbers back into routes in the manifest's terms. */
class CollectingSink implements UpdateSink {
  routes: SeenRoute[] = []
  issues: UpdateIssue[] = []
  withdrawals = 0
  private view: ReturnType<typeof attributeView> | undefined
  private nextHop = '(none)'
  constructor(private readonly ctx: CodecContext) {}

  attributes(family: FamilyKey, attrs: Uint8Array, start: number, end: number, nh: Uint8Array, nhStart: number, nhLength: number): void {
    this.view = attributeView(decodeAttributeBytes(attrs, start, end, this.ctx))
    const vpn = family === Family.Ipv4Vpn || family === Family.Ipv6Vpn
    const field = nh.subarray(nhStart, nhStart + nhLength)
    // VPN next hops carry an 8-byte RD (zero) before each address; IPv6 may add a link-local one
    const addr = vpn ? field.subarray(8, nhLength === 12 ? 12 : 24) : field.subarray(0, nhLength >= 16 ? 16 : nhLength)
    this.nextHop = ipText(addr)
  }
  private push(withdraw: boolean, family: FamilyName, key: string, pathId: number, labels?: number[]): void {
    if (withdraw) {
      this.withdrawals++
      return
    }
    this.routes.push({ key, family, pathId, nextHop: this.nextHop, ...(labels ? { labels } : {}), ...(this.view as ReturnType<typeof attributeView>) })
  }
  ipv4(withdraw: boolean, pathId: number, addr: number, length: number): void {
    this.push(withdraw, 'ipv4-unicast', `ipv4-unicast ${ipv4Text(addr)}/${length}`, pathId)
  }
  ipv6(withdraw: boolean, pathId: number, a0: number, a1: number, a2: number, a3: number, length: number): void {
    this.push(withdraw, 'ipv6-unicast', `ipv6-unicast ${prefixText(words(a0, a1, a2, a3), length, 16)}`, pathId)
  }
  vpnv4(withdraw: boolean, pathId: number, rdHigh: number, rdLow: number, label: number, addr: number, length: number): void {
    this.push(withdraw, 'vpnv4', `vpnv4 ${rdKey(rdFromWords(rdHigh, rdLow))} ${ipv4Text(addr)}/${length}`, pathId, [label])
  }
  vpnv6(withdraw: boolean, pathId: number, rdHigh: number, rdLow: number, label: number, a0: number, a1: number, a2: number, a3: number, length: number): void {
    this.push(withdraw, 'vpnv6', `vpnv6 ${rdKey(rdFromWords(rdHigh, rdLow))} ${prefixText(words(a0, a1, a2, a3), length, 16)}`, pathId, [label])
  }
  nlri(withdraw: boolean, family: FamilyKey, pathId: number, buf: Uint8Array, start: number, end: number): void {
    const name = FAMILY_NAME.get(family) ?? (`family ${family}` as FamilyName)
    const n = nlriToObject(family, pathId || undefined, buf, start, end, withdraw)
    this.push(withdraw, name, nlriKey(name, n), pathId, labelsOf(n).labels)
  }
  issue(i: UpdateIssue): void {
    this.issues.push(i)
  }
}

function words(...w: number[]): Uint8Array {
  const b = new Uint8Array(16)
  const dv = new DataView(b.buffer)
  w.forEach((x, i) => dv.setUint32(4 * i, x >>> 0))
  return b
}

function rdFromWords(hi: number, lo: number): { type: number; admin: number; assigned: number } {
  const type = hi >>> 16
  if (type === 0) return { type, admin: hi & 0xffff, assigned: lo >>> 0 }
  return { type, admin: (((hi & 0xffff) << 16) | (lo >>> 16)) >>> 0, assigned: lo & 0xffff }
}

/** Splits an UPDATE into withdrawn bytes, attribute TLVs (in wire order) and NLRI bytes, by hand. */
function updateParts(m: Uint8Array): { withdrawn: string; attrs: string[]; attrTypes: number[]; nlri: string } {
  const dv = new DataView(m.buffer, m.byteOffset, m.byteLength)
  const wl = dv.getUint16(19)
  const al = dv.getUint16(21 + wl)
  const attrs: string[] = []
  const attrTypes: number[] = []
  let p = 23 + wl
  const end = p + al
  while (p < end) {
    const flags = m[p]!
    const len = flags & 0x10 ? dv.getUint16(p + 2) : m[p + 2]!
    const hdr = flags & 0x10 ? 4 : 3
    attrs.push(hex(m.subarray(p, p + hdr + len)))
    attrTypes.push(m[p + 1]!)
    p += hdr + len
  }
  return { withdrawn: hex(m.subarray(21, 21 + wl)), attrs, attrTypes, nlri: hex(m.subarray(end)) }
}

/** The encoder's order: MP_REACH_NLRI/MP_UNREACH_NLRI first, then ascending type code. */
function canonicalOrder(types: number[]): boolean {
  const rank = (x: number): number => (x === 14 || x === 15 ? x - 100 : x)
  return types.every((x, i) => i === 0 || rank(types[i - 1]!) < rank(x))
}

function endOfRibFamily(u: UpdateMessage): [number, number] | undefined {
  if (u.withdrawn.length || u.nlri.length || u.mpReach) return undefined
  if (!u.mpUnreach) return Object.keys(u.attributes).length === 0 ? [1, 1] : undefined
  if (u.mpUnreach.nlri.length) return undefined
  return [u.mpUnreach.family >>> 8, u.mpUnreach.family & 0xff]
}

t.test('manifest lists every capture, each with routes', async t => {
  t.ok(manifest.captures.length >= 8, `${manifest.captures.length} captures`)
  for (const d of ['gobgp', 'frr', 'bird', 'exabgp']) t.ok(manifest.captures.some(c => c.daemon === d), `${d} captured`)
  for (const c of manifest.captures) t.ok(c.routes.length > 0, `${c.file}: expects routes`)
})

for (const c of manifest.captures) {
  t.test(`${c.file} (${c.version}, ${c.session})`, async t => {
    const stream = new Uint8Array(readFileSync(new URL(c.file, dir)))
    // Frame in uneven chunks, as a socket would deliver them
    const framer = new Framer(4096)
    const msgs: { type: number; bytes: Uint8Array }[] = []
    for (let off = 0, i = 0; off < stream.length; i++) {
      const n = [7, 300, 1, 4096, 61][i % 5]!
      framer.push(stream.slice(off, off + n))
      off += n
      while (framer.next()) msgs.push({ type: framer.type, bytes: framer.buf.slice(framer.offset, framer.offset + framer.length) })
    }
    t.equal(framer.bufferedBytes, 0, 'stream ends on a message boundary')
    t.equal(msgs.reduce((s, m) => s + m.bytes.length, 0), stream.length, 'framed messages cover the whole stream')

    // OPEN
    t.equal(msgs[0]?.type, MessageType.Open, 'first message is OPEN')
    const open = decodeFramed(MessageType.Open, msgs[0]!.bytes, 0, msgs[0]!.bytes.length)
    if (open.type !== 'open') throw new Error('not an OPEN')
    t.equal(open.version, 4, 'version 4')
    t.equal(open.myAs, c.open.myAsField, 'My AS field')
    t.equal(openPeerAs(open), c.open.asn, 'AS (4-octet capability)')
    t.equal(bgpIdToString(open.bgpId), c.open.routerId, 'BGP identifier = configured router id')
    t.equal(open.holdTime, c.open.holdTime, 'hold time = configured')
    const mp = open.capabilities.flatMap(x => (x.type === 'multiprotocol' ? [`${x.afi}/${x.safi}`] : []))
    t.same(mp.sort(), c.open.multiprotocol.map(([a, s]) => `${a}/${s}`).sort(), 'multiprotocol families = configured')
    t.ok(open.capabilities.some(x => x.type === 'route-refresh' && x.code === 2), 'route refresh (RFC 2918)')
    const as4 = open.capabilities.find(x => x.type === 'as4')
    t.equal(as4?.type === 'as4' ? as4.asn : undefined, c.open.fourOctetAs, '4-octet AS capability')
    if (c.open.extraCapabilities?.fqdn) {
      const f = open.capabilities.find(x => x.type === 'fqdn')
      t.same(f?.type === 'fqdn' ? { hostname: f.hostname, domain: f.domain } : undefined, c.open.extraCapabilities.fqdn, 'FQDN capability = configured hostname')
    }
    t.equal(open.capabilities.filter(x => x.type === 'unknown').length, 0, 'every capability understood')
    t.equal(hex(encodeMessage(open)), hex(msgs[0]!.bytes), 'OPEN re-encodes byte for byte')

    // The session as the recorder negotiated it: these families, 4-octet AS unless the session plan
    // left it out, ADD-PATH receive where offered and the daemon offered send, no extended messages.
    const offered = new Set(manifest.recorderFamilies.map(([a, s]) => familyKey(a, s)))
    const negotiated = new Set(open.capabilities.flatMap(x => (x.type === 'multiprotocol' && offered.has(familyKey(x.afi, x.safi)) ? [familyKey(x.afi, x.safi)] : [])))
    const addPathOffered = new Set((c.recorder.addPathReceive ?? []).map(([a, s]) => familyKey(a, s)))
    const addPathSent = open.capabilities.flatMap(x => (x.type === 'add-path' ? x.families.filter(f => f.send).map(f => familyKey(f.afi, f.safi)) : []))
    const addPathReceive = new Set(addPathSent.filter(f => addPathOffered.has(f)))
    t.equal(addPathReceive.size, addPathOffered.size, 'the daemon offers ADD-PATH send wherever it was configured to')
    const ctx = defaultContext({ as4: c.recorder.as4 !== false, families: negotiated, addPathReceive, ebgp: c.ebgp, maxMessageLength: 4096 })
    // Re-encoding what the daemon sent means writing as the daemon did: path identifiers where it sends them
    const encodeCtx = defaultContext({ ...ctx, addPathSend: addPathReceive })

    const seenObject: SeenRoute[] = []
    const sink = new CollectingSink(ctx)
    const eor: string[] = []
    let notifications = 0
    let withdrawnRoutes = 0
    for (const [i, m] of msgs.entries()) {
      if (i === 0) continue
      let decoded: BgpMessage
      try {
        decoded = decodeFramed(m.type, m.bytes, 0, m.bytes.length, ctx)
      } catch (err) {
        t.fail(`message ${i} (type ${m.type}) does not decode: ${(err as Error).message}`)
        continue
      }
      const again = encodeMessage(decoded, encodeCtx)
      if (decoded.type === 'update') {
        t.notOk(decoded.report?.length, `UPDATE ${i}: no RFC 7606 issue`, { issues: decoded.report })
        t.notOk(decoded.treatAsWithdraw, `UPDATE ${i}: not treat-as-withdraw`)
        const orig = updateParts(m.bytes)
        const mine = updateParts(again)
        if (canonicalOrder(orig.attrTypes)) {
          t.equal(hex(again), hex(m.bytes), `UPDATE ${i}: re-encodes byte for byte`)
        } else {
          // the daemon orders attributes differently from our encoder: same TLVs, same sections
          t.comment(`UPDATE ${i}: attribute order ${orig.attrTypes.join(',')} differs from the encoder's; comparing TLVs`)
          t.equal(again.length, m.bytes.length, `UPDATE ${i}: re-encoded length`)
          t.same([...mine.attrs].sort(), [...orig.attrs].sort(), `UPDATE ${i}: re-encodes to the same attribute TLVs (order ${orig.attrTypes.join(',')})`)
          t.equal(mine.withdrawn, orig.withdrawn, `UPDATE ${i}: same withdrawn routes bytes`)
          t.equal(mine.nlri, orig.nlri, `UPDATE ${i}: same NLRI bytes`)
        }
        const e = endOfRibFamily(decoded)
        if (e) eor.push(`${e[0]}/${e[1]}`)
        withdrawnRoutes += decoded.withdrawn.length + (decoded.mpUnreach?.nlri.length ?? 0)
        seenObject.push(...routesFromObject(decoded))
        decodeUpdateBulk(m.bytes, 0, m.bytes.length, ctx, sink)
      } else {
        t.equal(hex(again), hex(m.bytes), `${decoded.type} ${i}: re-encodes byte for byte`)
        if (decoded.type === 'notification') {
          notifications++
          t.equal(i, msgs.length - 1, 'NOTIFICATION is the last message')
          if (c.notification) {
            t.equal(decoded.code, c.notification.code, 'NOTIFICATION code')
            t.equal(decoded.subcode, c.notification.subcode, 'NOTIFICATION subcode')
            t.equal(decoded.message, c.notification.shutdownMessage, 'RFC 9003 shutdown communication = the text given to the daemon')
          }
        }
      }
    }
    t.equal(notifications, c.notification ? 1 : notifications, c.notification ? 'one NOTIFICATION' : 'NOTIFICATION not asked for')
    t.equal(withdrawnRoutes, 0, 'no withdrawals')
    t.same([...new Set(eor)].sort(), c.endOfRib.map(([a, s]) => `${a}/${s}`).sort(), 'End-of-RIB for exactly the expected families')
    t.same(sink.issues, [], 'bulk path: no RFC 7606 issue')
    t.equal(sink.withdrawals, 0, 'bulk path: no withdrawals')

    for (const [path, seen] of [['object', seenObject], ['bulk', sink.routes]] as const) {
      t.test(`${path} path`, async t => {
        const keys = seen.map(s => s.key)
        t.same([...keys].sort(), c.routes.map(expectedKey).sort(), 'exactly the configured routes, once each')
        for (const r of c.routes) {
          const key = expectedKey(r)
          const s = seen.find(x => x.key === key)
          if (!s) {
            t.fail(`${key}: not received`)
            continue
          }
          const what = (f: string): string => `${key}: ${f}`
          t.equal(s.nextHop, r.nextHop === undefined ? s.nextHop : ipText(ipBytes(r.nextHop)), what('next hop'))
          t.equal(s.origin, r.origin, what('ORIGIN'))
          t.same(s.asPath, r.asPath ?? [], what('AS_PATH'))
          t.equal(s.med, r.med, what('MULTI_EXIT_DISC'))
          t.equal(s.localPref, r.localPref, what('LOCAL_PREF'))
          t.same(s.communities, r.communities ?? [], what('COMMUNITIES'))
          t.same(s.largeCommunities, r.largeCommunities ?? [], what('LARGE_COMMUNITY'))
          t.same(s.routeTargets.map(rtKey).sort(), (r.routeTargets ?? []).map(rtKey).sort(), what('route targets'))
          t.same(s.encapsulation, r.encapsulation === undefined ? [] : [r.encapsulation], what('encapsulation (RFC 9012 tunnel type)'))
          t.equal(s.otherExtCommunities, 0, what('no other extended communities'))
          t.same(s.extraAttributes, [], what('no attributes beyond the configured ones'))
          const addPath = (c.recorder.addPathReceive ?? []).some(([a, sf]) => FAMILY_NAME.get(familyKey(a, sf)) === r.family)
          if (path === 'object') t.equal(typeof s.pathId, addPath ? 'number' : 'undefined', what(addPath ? 'ADD-PATH path identifier present' : 'no ADD-PATH path identifier'))
          else if (!addPath) t.equal(s.pathId, 0, what('no ADD-PATH path identifier'))
          else t.equal(s.pathId, seenObject.find(x => x.key === key)?.pathId, what('same path identifier as the object path'))
          if (r.labels) {
            t.same(s.labels, r.labels, what('label stack'))
            if (path === 'object') t.ok(s.bottomOfStackOk, what('bottom-of-stack bit on the last label only'))
          }
        }
      })
    }
  })
}
