/**
 * Kernel event subscription: rtnetlink multicast groups (RTNLGRP_LINK, IPV4/IPV6_ROUTE, MPLS_ROUTE,
 * IPV4/IPV6_IFADDR) on a socket of their own, decoded into events ("link went down", "route
 * deleted"). Offered as a callback subscription and as an async iterator. Under a burst larger than
 * the receive buffer (8 MiB) the kernel drops events (NETLINK_NO_ENOBUFS, see socket.ts): a
 * consumer that must not miss a change also resyncs from a dump now and then.
 */
import { readMessages } from './codec.js'
import { NETLINK_ROUTE, RTM, RTNLGRP } from './constants.js'
import { NetlinkSocket } from './socket.js'
import {
  decodeAddress, decodeLink, decodeMplsRoute, decodeRoute,
  type AddressInfo, type LinkInfo, type MplsRouteInfo, type RouteInfo,
} from './messages.js'

export type NetlinkEvent =
  | { readonly kind: 'link'; readonly action: 'new' | 'del'; readonly link: LinkInfo }
  | { readonly kind: 'route'; readonly action: 'new' | 'del'; readonly route: RouteInfo }
  | { readonly kind: 'mpls-route'; readonly action: 'new' | 'del'; readonly route: MplsRouteInfo }
  | { readonly kind: 'address'; readonly action: 'new' | 'del'; readonly address: AddressInfo }

export type EventGroup = 'link' | 'ipv4-route' | 'ipv6-route' | 'mpls-route' | 'address'

const GROUPS: Record<EventGroup, number[]> = {
  'link': [RTNLGRP.LINK],
  'ipv4-route': [RTNLGRP.IPV4_ROUTE],
  'ipv6-route': [RTNLGRP.IPV6_ROUTE],
  'mpls-route': [RTNLGRP.MPLS_ROUTE],
  'address': [RTNLGRP.IPV4_IFADDR, RTNLGRP.IPV6_IFADDR],
}

/** Decodes one multicast message; undefined for messages of no interest. */
export function decodeEvent(type: number, payload: Buffer): NetlinkEvent | undefined {
  switch (type) {
    case RTM.NEWLINK: case RTM.DELLINK:
      return { kind: 'link', action: type === RTM.NEWLINK ? 'new' : 'del', link: decodeLink(payload) }
    case RTM.NEWROUTE: case RTM.DELROUTE: {
      const action = type === RTM.NEWROUTE ? 'new' : 'del'
      const r = decodeRoute(payload)
      if (r) return { kind: 'route', action, route: r }
      const m = decodeMplsRoute(payload)
      return m ? { kind: 'mpls-route', action, route: m } : undefined
    }
    case RTM.NEWADDR: case RTM.DELADDR: {
      const a = decodeAddress(payload)
      return a ? { kind: 'address', action: type === RTM.NEWADDR ? 'new' : 'del', address: a } : undefined
    }
    default:
      return undefined
  }
}

/**
 * Calls `onEvent` for each kernel event of `groups` in the current network namespace until the
 * returned function is called. `onError` gets socket errors (ENOBUFS means events were lost: resync).
 */
export function watchKernel(
  groups: readonly EventGroup[], onEvent: (ev: NetlinkEvent) => void, onError: (err: Error) => void = () => undefined,
): () => void {
  const ids: number[] = []
  for (const g of groups) {
    const known = GROUPS[g]
    if (!known) throw new Error(`watch: unknown event group "${String(g)}" (one of ${Object.keys(GROUPS).join(', ')})`)
    ids.push(...known)
  }
  const report = (err: Error): void => { try { onError(err) } catch { /* the caller's handler threw: nowhere to report */ } }
  // Overflow loses events (NETLINK_NO_ENOBUFS) rather than failing reads: consumers resync.
  const sock = new NetlinkSocket(NETLINK_ROUTE, { recvBufferSize: 8 * 1024 * 1024, noEnobufs: true, groups: ids }, (datagram) => {
    // An exception escaping into the native callback would be an uncaught exception: report it instead.
    try {
      for (const m of readMessages(datagram)) {
        const ev = decodeEvent(m.type, m.payload)
        if (ev) onEvent(ev)
      }
    } catch (e) {
      report(e instanceof Error ? e : new Error(String(e)))
    }
  }, report)
  let closed = false
  return () => { if (!closed) { closed = true; sock.close() } }
}

/** The same events as an async iterator; `return()` (or breaking out of for-await) unsubscribes. */
export function kernelEvents(groups: readonly EventGroup[]): AsyncIterableIterator<NetlinkEvent> & { close(): void } {
  const queue: NetlinkEvent[] = []
  let wake: (() => void) | undefined
  let failure: Error | undefined
  let done = false
  const stop = watchKernel(groups, ev => { queue.push(ev); wake?.() }, err => { failure = err; wake?.() })
  const close = (): void => { done = true; stop(); wake?.() }
  const it: AsyncIterableIterator<NetlinkEvent> & { close(): void } = {
    close,
    async next(): Promise<IteratorResult<NetlinkEvent>> {
      for (;;) {
        const ev = queue.shift()
        if (ev) return { value: ev, done: false }
        if (failure) { const f = failure; failure = undefined; close(); throw f }
        if (done) return { value: undefined, done: true }
        await new Promise<void>(r => { wake = r })
        wake = undefined
      }
    },
    async return(): Promise<IteratorResult<NetlinkEvent>> {
      close()
      return { value: undefined, done: true }
    },
    [Symbol.asyncIterator]() { return it },
  }
  return it
}
