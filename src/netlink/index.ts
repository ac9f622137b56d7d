/**
 * gsi-router's netlink layer: rtnetlink (RFC 3549; linux/rtnetlink.h) and generic netlink (fou) over
 * our own netlink socket (socket.ts, from the native addon), with our own message encoding. Everything works in the calling
 * process's network namespace.
 *
 * API summary
 *   const nl = new NetlinkClient()            // one rtnetlink socket; nl.close() when done
 *   Links:     nl.createLink({ name, kind: 'gre'|'ipip'|'vrf'|'veth'|'dummy', mtu?, up?, master?,
 *                gre?: { local?, remote, ttl?, ikey?, okey? },
 *                ipip?: { mode: 'mplsip'|'ipip', local?, remote, ttl?, encap?: { type: 'fou', sport?: 0, dport: 6635 } },
 *                vrf?: { table }, veth?: { peer, peerNetnsPid? } })
 *              nl.changeLink(nameOrIndex, { up?, mtu?, master?: dev|null, name?, netnsPid?, kind?+gre?/ipip? })
 *              nl.setLinkUp(name, up), nl.deleteLink(nameOrIndex), nl.listLinks(), nl.getLink(name), nl.ifindex(name)
 *   Addresses: nl.addAddress({ dev, address: '10.0.0.1/29' }), nl.deleteAddress(...), nl.listAddresses()
 *   Routes:    nl.addRoute / replaceRoute / deleteRoute({ dst: '10.1.0.0/16', table?, protocol? = RTPROT_GSI,
 *                metric?, type?, prefsrc?, metrics?: { mtu, advmss, ... },
 *                nexthops: [{ dev?, gateway?, labels?: [mpls labels], weight?, onlink? }, ...] })
 *              (two or more next hops = RTA_MULTIPATH, each with its own MPLS encapsulation)
 *              nl.applyRoutes([{ op: 'add'|'replace'|'append'|'delete', route }]) -> (Error|undefined)[]
 *              nl.dumpRoutes({ family?, table?, protocol? }) -> RouteInfo[] (next hops with dev names)
 *              A delete carries our protocol by default, so the kernel only deletes routes that are ours.
 *   MPLS:      nl.addMplsRoute / replaceMplsRoute / deleteMplsRoute({ label, protocol?,
 *                nexthops: [{ dev, via?, newLabels? }] })   pop into a VRF: { dev: vrfName }; swap: newLabels + via
 *              nl.applyMplsRoutes(ops), nl.dumpMplsRoutes({ protocol? })
 *   fou:       nl.addFou({ port: 6635, ipproto: 137 }), nl.deleteFou(...)
 *   Batching:  nl.batch(requests) runs any BatchRequest[] (see client.ts): one sendmsg per 256
 *              requests, each request's own error matched by sequence number, one ack per chunk.
 *   Errors:    NetlinkError { code: 'EEXIST'|'ENODEV'|..., errno, op, object, module } with a message
 *              that names the object and what to do (the module to load when the kernel lacks one).
 *   Events:    watchKernel(['link','ipv4-route','ipv6-route','mpls-route','address'], onEvent, onError)
 *              -> unsubscribe; kernelEvents(groups) -> async iterator of NetlinkEvent.
 *   Sysctls:   setMplsPlatformLabels(n), setMplsInput(dev, on), setRpFilter(dev, 0|1|2), getters,
 *              setSysctl(segments, value)  (through /proc/sys of the current namespace)
 *   Pure codec (unit-testable, no I/O): NlWriter, readMessages, readAttrs, encode... and decode... functions in messages.ts.
 *   RTPROT_GSI = 201 is our routing protocol number (constants.ts says why that value).
 */
export { NetlinkClient, type BatchRequest, type NetlinkClientOptions, type RouteFilter } from './client.js'
export { NetlinkError, errnoName, type RequestContext } from './errors.js'
export { watchKernel, kernelEvents, decodeEvent, type NetlinkEvent, type EventGroup } from './events.js'
export {
  setMplsPlatformLabels, getMplsPlatformLabels, setMplsInput, getMplsInput, setRpFilter, getRpFilter, setSysctl,
} from './sysctl.js'
export { RTPROT_GSI, RT_TABLE, AF } from './constants.js'
export { NlWriter, readMessages, readAttrs, type NlMessage } from './codec.js'
export { encodeLabelStack, decodeLabelStack } from './mpls-labels.js'
export {
  encodeRoute, decodeRoute, encodeMplsRoute, decodeMplsRoute, encodeCreateLink, encodeChangeLink,
  encodeDeleteLink, decodeLink, encodeAddress, decodeAddress, encodeFou,
  type LinkKind, type LinkSpec, type LinkChange, type LinkInfo, type GreParams, type IpipParams,
  type AddressSpec, type AddressInfo, type RouteSpec, type RouteInfo, type NextHopSpec, type NextHopInfo,
  type RouteOp, type RouteType, type RouteMetrics, type MplsRouteSpec, type MplsNextHopSpec,
  type MplsRouteInfo, type FouSpec, type IfindexResolver,
} from './messages.js'
