/**
 * The names the controller gives the objects it creates per TransitGateway: ConnectedPeers, CN2
 * BGPRouters and Routes, made DNS labels from node names such as `ip-10-0-1-11.ec2.internal`. In a
 * module of their own so that the doctor (src/doctor), which looks for these objects by name,
 * derives them the same way without loading the controller.
 */
/** Lower case, runs of anything but a-z, 0-9 and '-' made one '-', none at either end. */
function dnsLabel(s: string): string { return s.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') }

export function connectedPeerName(tgw: string, node: string): string {
  return `${tgw}-${dnsLabel(node)}`.slice(0, 253).replace(/-+$/, '')
}
export function bgpRouterName(tgw: string, node: string): string {
  return `gsi-${dnsLabel(tgw)}-${dnsLabel(node)}`.slice(0, 253).replace(/-+$/, '')
}
export function routeName(tgw: string, routeTableId: string, cidr: string): string {
  return `${tgw}-${routeTableId}-${dnsLabel(cidr.replace(/[./:]/g, '-'))}`.slice(0, 253).replace(/-+$/, '')
}
