/**
 * The gsi-routerd configuration model: one validated shape for both sources, the YAML file
 * (`gsi-routerd --config FILE`, load.ts) and the Kubernetes ConnectedPeer objects of this node
 * (kube.ts). Everything the daemon runtime reads comes from a `DaemonConfig`; nothing reads the raw
 * file or the custom resource.
 *
 * Two layers: `DaemonConfigInput` is what an operator writes (most fields optional, the JSON schema
 * in schema.ts describes exactly it), `DaemonConfig` is the result of `resolveConfig` in load.ts:
 * every default filled in and the values derived from others computed (router id, VRF name, the
 * TGW's BGP peers .2/.3 from each inside /29, the appliance's inside addresses), so the runtime and
 * `diffConfig` never look at a default again.
 *
 * Names follow what a CN2 or Junos engineer configures: route distinguisher, route targets, hold
 * time, graceful restart restart-time / stale-routes-time, local-as, authentication-key; the AWS
 * side uses the Transit Gateway Connect names (Connect peer, inside CIDR blocks, transit gateway
 * address, peer ASN). Facts behind the defaults: RFC 4271 (hold time), RFC 4724 (graceful restart),
 * RFC 4364 (RD type 1 = IPv4 address : 2-octet number), RFC 3032 (labels 0-15 reserved), RFC 4360
 * (route targets), AWS Transit Gateway Connect quotas (1,000 routes advertised to a Connect peer,
 * 5,000 received, 4 Connect peers per attachment).
 */

/** How the daemon touches the kernel. `none` computes and shows the FIB but programs nothing. */
export type DataplaneMode = 'kernel' | 'none'

/**
 * What SIGTERM does. `graceful` (a DaemonSet rolling update): keep kernel routes and links, close
 * sessions without NOTIFICATION so peers keep our routes as stale (RFC 4724). `withdraw`: Cease /
 * Administrative Shutdown with a message, routes withdrawn, kernel state removed.
 */
export type ShutdownPolicy = 'graceful' | 'withdraw'

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'

/** Where the TCP-MD5 key (RFC 2385) of the control-node sessions comes from; exactly one source. */
export type Md5KeySource =
  /** A Kubernetes Secret in the daemon's namespace: `data[key]` is the password. */
  | { readonly secretRef: { readonly name: string; readonly key: string } }
  /** A file holding the password (trailing newline ignored), e.g. a mounted Secret volume. */
  | { readonly file: string }

/** The gateway table: the VRF holding the VPN routes imported from CN2 and the TGW's routes. */
export interface GatewayTableConfig {
  /** Kernel routing table id of the gateway VRF (never 253-255 or 0, the node's own tables). */
  readonly table: number
  /**
   * The MPLS label advertised with every route toward the control nodes (Junos vrf-table-label):
   * vRouters push it, the kernel pops it into this table. Stable across restarts because it is
   * configured, not allocated: a restarted daemon must advertise the same label, or traffic in
   * flight under graceful restart would be dropped.
   */
  readonly label: number
  /** Labels this daemon may use, [lo, hi] within 16..1048575; the kernel's platform_labels must exceed hi. */
  readonly labelRange: readonly [number, number]
  /** Name of the VRF device (15 characters at most); default `gsiv<table>`. */
  readonly vrf: string
}

/** Virtual networks exposed to the VPC. */
export interface ExposedConfig {
  /** Route targets (`target:<asn>:<n>`, `target:<ip>:<n>`) of the exposed VNs: imported from the
   * control nodes (and advertised as our RTC membership, RFC 4684), and attached to the TGW's routes
   * re-advertised into CN2. */
  readonly routeTargets: readonly string[]
  /** Exposed VN subnets, advertised to the TGW as aggregates while a route inside them is imported. */
  readonly cidrs: readonly string[]
}

/** One Transit Gateway Connect peer (AWS: one per node), terminated on a GRE link. */
export interface ConnectPeerConfig {
  /** The Connect peer id (tgw-connect-peer-...) or another stable name; names the GRE link. */
  readonly id: string
  /** The TGW's GRE outer address (from the TGW CIDR block). */
  readonly transitGatewayAddress: string
  /** One /29 of 169.254.0.0/16 and optionally one /125 of fd00::/8, canonical text, IPv4 first. */
  readonly insideCidrBlocks: readonly string[]
  /** The TGW's Amazon-side ASN. */
  readonly transitGatewayAsn: number
  /** Our AS toward this Connect peer (its PeerAsn); default `tgw.localAsn`. */
  readonly peerAsn: number
  /** GRE link MTU; default 8476 (8,500 carried by the TGW minus 24 of GRE over IPv4). */
  readonly mtu: number
  /** IP TTL of the BGP sessions: 2, the TGW's peers sit one hop away inside the tunnel. */
  readonly ttl: number
  /** Derived: our inside addresses (.1 of the /29, ::1 of the /125). */
  readonly localInsideAddresses: readonly string[]
  /** Derived: the TGW's BGP peers (.2 and .3, then ::2 and ::3 when a /125 is given). */
  readonly bgpPeerAddresses: readonly string[]
}

/** The eBGP side toward the AWS Transit Gateway. */
export interface TgwConfig {
  /** Our AS toward the TGW (the GatewayServiceInstance's `asn`, the Connect peers' PeerAsn). */
  readonly localAsn: number
  /** Hard limit of prefixes advertised to each Connect peer (AWS quota 1,000; may only be lowered). */
  readonly maxPrefixesAdvertised: number
  /** Prefixes received from a Connect peer above which a warning is logged (AWS quota 5,000). */
  readonly maxPrefixesReceived: number
  /** Hold time offered in our OPEN, seconds (the smaller of both sides wins; the TGW offers 30). */
  readonly holdTime: number
  /** Advertise the graceful restart capability (RFC 4724) to the TGW. */
  readonly gracefulRestart: boolean
  readonly connectPeers: readonly ConnectPeerConfig[]
}

/** One CN2 control node (Contrail control, iBGP by default). */
export interface ControlNodePeerConfig {
  readonly address: string
  readonly asn: number
  /** TCP port; 179 unless a test or a NAT says otherwise. */
  readonly port: number
}

/** The iBGP/eBGP side toward the CN2 control nodes (inet-vpn, inet6-vpn, route-target). */
export interface ControlNodesConfig {
  /** Our AS toward the control nodes; default the control nodes' AS (iBGP, CN2 default 64512). */
  readonly localAsn: number
  readonly peers: readonly ControlNodePeerConfig[]
  /** TCP-MD5 authentication key of every control-node session (Junos authentication-key). */
  readonly md5?: Md5KeySource
  /** Hold time offered, seconds; 90 is the control node's own default. */
  readonly holdTime: number
  /** Act as graceful restart helper for the control nodes (keep their routes while they restart). */
  readonly gracefulRestart: boolean
}

/** Graceful restart timers (RFC 4724), both roles. */
export interface GracefulRestartConfig {
  /** Restart Time advertised in our OPEN: how long peers keep our routes while we are down, s. */
  readonly restartTime: number
  /** How long a restarting peer's stale routes are kept waiting for its End-of-RIB, s. */
  readonly staleRoutesTime: number
  /** Selection deferral after our own restart: the longest we wait for every End-of-RIB, s. */
  readonly deferralTime: number
}

export interface ListenConfig {
  /** Address to accept BGP connections on; absent: all addresses. */
  readonly address?: string
  readonly port: number
}

export interface HttpConfig {
  /** /metrics, /healthz, /readyz (the DaemonSet's probes and ServiceMonitor expect port 9478). */
  readonly address: string
  readonly port: number
}

export interface ApiConfig {
  /** Unix socket of the local API used by gsictl (mode 0600). */
  readonly socket: string
}

/** A probe target behind an MPLSoUDP tunnel: a pod (or any address) of a VN, reached through a vRouter. */
export interface ProbeTargetConfig {
  /** The address echoed (IPv4 or IPv6, canonical text): ICMP or ICMPv6 echo. */
  readonly address: string
  /** The vRouter's underlay address (IPv4): the target is probed only while the FIB has a tunnel to it. */
  readonly vrouter: string
}

/**
 * Data-plane probes: ICMP echo (RFC 792) through each GRE link to the TGW's two BGP addresses of
 * each Connect peer (and ICMPv6 echo, RFC 4443, to its two IPv6 ones when it has an inside /125), and
 * through the MPLSoUDP tunnels toward `targets`. A Connect peer whose BGP sessions are up while none
 * of its probes of one IP version answer is in the state `dataplane-dead` for that version.
 */
export interface ProbesConfig {
  readonly enabled: boolean
  /** Seconds between two echoes to one target (one in flight per interval and target at most). */
  readonly interval: number
  /** Seconds an echo may take before it counts as lost. */
  readonly timeout: number
  /** Consecutive lost echoes after which a target is dead (one answer makes it alive again). */
  readonly failAfter: number
  /** Echoes over which the loss ratio is computed. */
  readonly lossWindow: number
  /** Withdraw our advertisements from a Connect peer's sessions while every probe through it fails,
   * so the TGW sends its traffic to the other instances; advertised again at the first answer. */
  readonly withdrawOnFailure: boolean
  /**
   * Source address of the IPv4 probes through the MPLSoUDP tunnels (required with IPv4 `targets`). The pod
   * answers to it through its vRouter, which routes it only along the routes CN2 holds: it must lie
   * in a prefix this gateway advertises into CN2 (a TGW/VPC prefix, next hop this node, the gateway
   * table's label) and be local to this node in the gateway table, or the answer goes elsewhere.
   */
  readonly source?: string
  /** The IPv6 counterpart of `source`, for IPv6 `targets` (required with them), under the same rule. */
  readonly sourceIpv6?: string
  readonly targets: readonly ProbeTargetConfig[]
}

export interface LogConfig {
  readonly level: LogLevel
}

/** The validated, defaults-filled configuration of gsi-routerd. */
export interface DaemonConfig {
  /** Kubernetes node name (the DaemonSet's NODE_NAME); informative in file mode. */
  readonly nodeName?: string
  /** This node's IPv4 address: GRE outer source, MPLSoUDP tunnel source, next hop toward CN2. */
  readonly nodeAddress: string
  /** BGP identifier; default `nodeAddress`. */
  readonly routerId: string
  readonly dataplane: DataplaneMode
  readonly gatewayTable: GatewayTableConfig
  /** n of the route distinguisher `<routerId>:<n>` (RFC 4364 type 1) on routes sent to CN2. */
  readonly routeDistinguisherIndex: number
  readonly exposed: ExposedConfig
  /** Also advertise the imported more-specific prefixes to the TGW, not only the aggregates. */
  readonly advertiseMoreSpecifics: boolean
  readonly tgw: TgwConfig
  readonly controlNodes: ControlNodesConfig
  readonly gracefulRestart: GracefulRestartConfig
  readonly listen: ListenConfig
  readonly http: HttpConfig
  readonly api: ApiConfig
  readonly log: LogConfig
  readonly shutdownPolicy: ShutdownPolicy
  readonly probes: ProbesConfig
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }
type DeepPartialInput<T> = T extends readonly (infer E)[] ? readonly DeepPartialInput<E>[] : T extends object ? { readonly [K in keyof T]?: DeepPartialInput<T[K]> } : T

/** A connect peer as written: derived fields are never written, `peerAsn`, `mtu`, `ttl` optional. */
export type ConnectPeerInput = Omit<Mutable<ConnectPeerConfig>, 'localInsideAddresses' | 'bgpPeerAddresses' | 'peerAsn' | 'mtu' | 'ttl'>
  & { peerAsn?: number; mtu?: number; ttl?: number }

export type ControlNodePeerInput = Omit<ControlNodePeerConfig, 'port'> & { port?: number }

/** What an operator writes (the file, or the object built from a ConnectedPeer); schema.ts mirrors it. */
export interface DaemonConfigInput {
  nodeName?: string
  nodeAddress: string
  routerId?: string
  dataplane?: DataplaneMode
  gatewayTable?: { table?: number; label?: number; labelRange?: readonly [number, number]; vrf?: string }
  routeDistinguisherIndex?: number
  exposed?: DeepPartialInput<ExposedConfig>
  advertiseMoreSpecifics?: boolean
  tgw: Omit<DeepPartialInput<TgwConfig>, 'connectPeers' | 'localAsn'> & { localAsn: number; connectPeers?: readonly ConnectPeerInput[] }
  controlNodes: Omit<DeepPartialInput<ControlNodesConfig>, 'peers' | 'md5'> & { peers: readonly ControlNodePeerInput[]; md5?: Md5KeySource }
  gracefulRestart?: DeepPartialInput<GracefulRestartConfig>
  listen?: DeepPartialInput<ListenConfig>
  http?: DeepPartialInput<HttpConfig>
  api?: DeepPartialInput<ApiConfig>
  log?: DeepPartialInput<LogConfig>
  shutdownPolicy?: ShutdownPolicy
  probes?: DeepPartialInput<ProbesConfig>
}

/** Defaults, one place; docs/configuration.md quotes them and a test keeps the two equal. */
export const DEFAULTS = {
  dataplane: 'kernel' as DataplaneMode,
  gatewayTable: {
    table: 1000,
    /** Small, so the kernel's label table (8 bytes per platform label) stays small. */
    labelRange: [1000, 1999] as const,
  },
  routeDistinguisherIndex: 1,
  advertiseMoreSpecifics: false,
  tgw: {
    /** AWS quota of routes advertised from the appliance to one Connect peer. */
    maxPrefixesAdvertised: 1000,
    /** AWS quota of routes from a Connect peer to the appliance. */
    maxPrefixesReceived: 5000,
    /** The TGW's own hold time (keepalive 10 s). */
    holdTime: 30,
    gracefulRestart: true,
    ttl: 2,
    /** 8,500 - 24. */
    mtu: 8476,
  },
  controlNodes: {
    /** Contrail control node default AS. */
    asn: 64512,
    holdTime: 90,
    gracefulRestart: true,
    port: 179,
  },
  gracefulRestart: { restartTime: 120, staleRoutesTime: 360, deferralTime: 360 },
  listen: { port: 179 },
  http: { address: '0.0.0.0', port: 9478 },
  api: { socket: '/run/gsi-router/gsi-routerd.sock' },
  log: { level: 'info' as LogLevel },
  shutdownPolicy: 'graceful' as ShutdownPolicy,
  /** One echo per second per target; dead after 3 lost (about 4 s), loss over the last 10. */
  probes: { enabled: true, interval: 1, timeout: 1, failAfter: 3, lossWindow: 10, withdrawOnFailure: false },
} as const

/** AWS quota: routes advertised to one Connect peer; `tgw.maxPrefixesAdvertised` may not exceed it. */
export const TGW_ADVERTISED_QUOTA = 1000
/** AWS quota: Connect peers per Connect attachment (more on one node draws a warning, not an error). */
export const CONNECT_PEERS_PER_ATTACHMENT = 4
