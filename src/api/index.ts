/**
 * The daemon's local API (gsictl's way in): the DaemonView it reads, the newline-delimited JSON
 * protocol over a Unix socket, the server and the client. Public face of src/api.
 */
export * from './view.js'
export * from './protocol.js'
export { handle, peerSummary, findPeer, FAMILY_NAMES, type BgpSummary, type PeerSummary } from './handlers.js'
export { ApiServer, type ApiServerOptions } from './server.js'
export { ApiClient, DaemonNotRunningError, type ApiClientOptions } from './client.js'
export { ribRoutes, speakerRouteSource, type RibRouteSource } from './rib-routes.js'
export { fibRoutePage, fibCursor } from './fib-routes.js'
export { daemonReport, routeTargetKey, type DaemonReport } from './report.js'
