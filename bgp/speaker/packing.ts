/**
 * Export packing: the routes a flush decided to send to one peer, laid out as UPDATEs on its session
 * (RFC 4271 4.3, RFC 4760 for the MP families). Routes sharing an out attribute set go together:
 * IPv4/IPv6 unicast and VPN routes through the bulk encoder (codec/bulk.ts: one slab, one socket
 * write per call), other families (RTC, labeled unicast) as NLRI objects packed into as few UPDATEs
 * as the session's maximum message length allows. Withdrawals are copied out as keys when they are
 * queued (copyWithdrawal), while the destination still names its prefix, and packed the same way.
 *
 * The attribute section of an out set is encoded once per peer (2- or 4-octet AS differ between
 * sessions) and kept in Peer.attrBytes until the set is released.
 */
import type { FamilyKey } from '../codec/afi.js'
import { Family } from '../codec/afi.js'
import { encodeAttributes } from '../codec/attributes.js'
import { encodeUpdatesBulk, type RouteBatch } from '../codec/bulk.js'
import type { CodecContext } from '../codec/context.js'
import { families as familyTable, nlriLength, type Nlri } from '../codec/nlri.js'
import { encodeUpdate, updateEncodingLength, type UpdateMessage } from '../codec/update.js'
import type { DestId, RibTable } from '../rib/api.js'
import type { Negotiated } from '../session/negotiate.js'
import { nextHopBytes } from './next-hop.js'
import type { AdjRibOut } from './adj-rib-out.js'
import { BULK_FAMILIES, VPN_FAMILIES, type Peer, type SpeakerRib } from './peer.js'

export function copyWithdrawal(table: RibTable, out: AdjRibOut, d: DestId): void {
  const w = out.withdrawals
  if (BULK_FAMILIES.has(out.family)) {
    const i = w.reserve()
    table.writeKey(d, w.addr, w.length, w.rd, i)
  } else {
    w.objects.push(table.nlri(d))
  }
}

function attrSection(rib: SpeakerRib, p: Peer, ctx: CodecContext, attrId: number): Uint8Array {
  let b = p.attrBytes.get(attrId)
  if (b === undefined) {
    b = encodeAttributes(rib.attributes(attrId).attrs, ctx)
    p.attrBytes.set(attrId, b)
  }
  return b
}

export function sendBulk(rib: SpeakerRib, p: Peer, ctx: CodecContext, table: RibTable, family: FamilyKey, attrId: number, dests: readonly DestId[]): void {
  const ra = rib.attributes(attrId)
  const n = dests.length
  const v6 = family >>> 8 === 2
  const addr = new Uint32Array(v6 ? 4 * n : n)
  const length = new Uint8Array(n)
  const vpn = VPN_FAMILIES.has(family)
  const rd = vpn ? new Uint32Array(2 * n) : undefined
  const label = vpn ? new Uint32Array(n) : undefined
  for (let i = 0; i < n; i++) {
    const d = dests[i] as number
    table.writeKey(d, addr, length, rd, i)
    if (label !== undefined) label[i] = table.bestLabel(d)
  }
  const batch: RouteBatch = { family, count: n, addr, length, ...(rd !== undefined ? { rd } : {}), ...(label !== undefined ? { label } : {}) }
  const nh = family === Family.Ipv4Unicast && ra.attrs.nextHop !== undefined ? null : nextHopBytes(ra.nextHop)
  const msgs: Uint8Array[] = []
  const count = encodeUpdatesBulk(ctx, batch, attrSection(rib, p, ctx, attrId), nh, msgs)
  sendMessages(p, msgs, count)
}

/** Sends messages that the bulk encoder laid out back to back in one slab, in one write. */
function sendMessages(p: Peer, msgs: readonly Uint8Array[], count: number): void {
  if (count === 0) return
  const first = msgs[0] as Uint8Array
  const last = msgs[msgs.length - 1] as Uint8Array
  const contiguous = last.buffer === first.buffer
  if (contiguous) {
    const end = last.byteOffset + last.length
    p.session.sendUpdate(new Uint8Array(first.buffer, first.byteOffset, end - first.byteOffset), count)
  } else {
    for (const m of msgs) p.session.sendUpdate(m)
  }
}

export function sendObjects(rib: SpeakerRib, p: Peer, ctx: CodecContext, table: RibTable, family: FamilyKey, attrId: number, dests: readonly DestId[]): void {
  const ra = rib.attributes(attrId)
  const f = familyTable.get(family)
  if (f === undefined) return
  const nh = nextHopBytes(ra.nextHop)
  const nextHop = nh.length === 32 ? [nh.subarray(0, 16), nh.subarray(16)] : [nh]
  const nlris: Nlri[] = []
  for (const d of dests) {
    let x = table.nlri(d)
    if (f.labeled) {
      const l = table.bestLabel(d)
      if (l >= 0) x = { ...x, labels: [((l & 0xfffff) << 4) | 1] }
    }
    nlris.push(x)
  }
  const attrs = ra.attrs
  const make = (list: Nlri[]): UpdateMessage => ({ type: 'update', withdrawn: [], attributes: attrs, nlri: [], mpReach: { family, nextHop, nlri: list } })
  sendPacked(p, ctx, f, nlris, make)
}

export function sendWithdrawals(p: Peer, out: AdjRibOut): void {
  const ctx = (p.negotiated as Negotiated).context
  const w = out.withdrawals
  const family = out.family
  if (w.count > 0) {
    const batch: RouteBatch = { family, count: w.count, addr: w.addr, length: w.length, ...(VPN_FAMILIES.has(family) ? { rd: w.rd } : {}) }
    const msgs: Uint8Array[] = []
    const count = encodeUpdatesBulk(ctx, batch, null, null, msgs)
    sendMessages(p, msgs, count)
  }
  if (w.objects.length > 0) {
    const f = familyTable.get(family)
    if (f !== undefined) {
      const make = (list: Nlri[]): UpdateMessage => ({ type: 'update', withdrawn: [], attributes: {}, nlri: [], mpUnreach: { family, nlri: list } })
      sendPacked(p, ctx, f, w.objects, make)
    }
  }
  w.clear()
}

/** Packs NLRI objects into as few UPDATEs as fit the session's message size. */
function sendPacked(p: Peer, ctx: CodecContext, f: NonNullable<ReturnType<typeof familyTable.get>>, nlris: readonly Nlri[], make: (list: Nlri[]) => UpdateMessage): void {
  const addPath = ctx.addPathSend.has(f.key)
  // The MP attribute may need the extended length form once NLRI are added: count 1 more byte.
  const base = updateEncodingLength(make([]), ctx) + 1
  let i = 0
  while (i < nlris.length) {
    let size = base
    const list: Nlri[] = []
    while (i < nlris.length) {
      const x = nlris[i] as Nlri
      const sz = nlriLength(f, x, addPath)
      if (list.length > 0 && size + sz > ctx.maxMessageLength) break
      list.push(x)
      size += sz
      i++
    }
    const msg = make(list)
    const buf = new Uint8Array(updateEncodingLength(msg, ctx))
    encodeUpdate(msg, ctx, buf, 0)
    p.session.sendUpdate(buf)
  }
}
