/**
 * Loading gsi-routerd's configuration: YAML text or a plain object -> the validated, defaults-filled
 * `DaemonConfig` of model.ts. Two passes, and every problem of both is reported at once:
 *
 * 1. structure, against the JSON schema (schema.ts): unknown keys, types, enums, numeric ranges;
 * 2. meaning, here: addresses and prefixes (canonical text only, so the config compares equal to
 *    what the kernel and the controller write), route targets (RFC 4360), the AWS Transit Gateway
 *    Connect rules (inside /29 of 169.254.0.0/16 outside the reserved blocks, optional /125 of
 *    fd00::/8, peer ASN different from the TGW's, the Amazon-side ASN ranges, the 1,000-route
 *    quota), MPLS labels (RFC 3032: 16-1048575, the label inside the configured range), hold times
 *    (RFC 4271: 0 or 3-65535), duplicates.
 *
 * The GRE rules are gre/config.ts's own (`greLinkSpec`), re-worded onto this file's field paths.
 * A failure throws one `ConfigError` listing every problem as `path: reason`; things that are legal
 * but unwise (more Connect peers than one attachment holds) come back as warnings.
 */
import { readFile } from 'node:fs/promises'
import { parseDocument } from 'yaml'
import { GreConfigError, greLinkName, greLinkSpec } from '../../gre/config.js'
import { AddressError, parseAddress, parseIPv4Address, parsePrefix } from '../fib/prefix.js'
import { checkTable, RouteError } from '../fib/diff.js'
import { vrfName } from '../fib/writer.js'
import { parseRouteTarget } from '../../bgp/policy/route-targets.js'
import {
  CONNECT_PEERS_PER_ATTACHMENT, DEFAULTS, TGW_ADVERTISED_QUOTA,
  type ConnectPeerConfig, type ProbeTargetConfig, type ConnectPeerInput, type ControlNodePeerConfig, type DaemonConfig, type DaemonConfigInput, type Md5KeySource,
} from './model.js'
import { schemaProblems } from './schema.js'

export interface ConfigProblem {
  /** Field path in the config, e.g. `tgw.connectPeers[0].insideCidrBlocks[0]`. */
  readonly path: string
  readonly reason: string
}

/** Every problem of a config that cannot be used. `message` lists them one per line. */
export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG'
  constructor(readonly problems: readonly ConfigProblem[], readonly source = 'config') {
    super(`${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map(p => `  ${p.path}: ${p.reason}`).join('\n')}`)
    this.name = 'ConfigError'
  }
  /** The problems as `path: reason` lines. */
  get lines(): string[] { return this.problems.map(p => `${p.path}: ${p.reason}`) }
}

export interface LoadedConfig {
  readonly config: DaemonConfig
  /** Legal but worth a log line, as `path: reason`. */
  readonly warnings: readonly string[]
}

const MIN_LABEL = 16
const MAX_LABEL = 1048575

/** Amazon-side ASN ranges (AWS Transit Gateway). */
function isAmazonSideAsn(n: number): boolean {
  return (n >= 64512 && n <= 65534) || (n >= 4200000000 && n <= 4294967294)
}

class Problems {
  readonly list: ConfigProblem[] = []
  readonly warnings: string[] = []
  add(path: string, reason: string): void { this.list.push({ path, reason }) }
  warn(path: string, reason: string): void { this.warnings.push(`${path}: ${reason}`) }
  /** Runs a check whose AddressError / RouteError / Error becomes a problem at `path`. */
  check<T>(path: string, fn: () => T): T | undefined {
    try {
      return fn()
    } catch (e) {
      if (e instanceof AddressError || e instanceof RouteError) this.add(path, e.message.slice(e.field.length + 2))
      else if (e instanceof Error) this.add(path, e.message)
      else throw e
      return undefined
    }
  }
}

/** An address in canonical text (what the kernel and the controller write). */
function canonicalAddress(p: Problems, path: string, text: string, family?: 4 | 6): string | undefined {
  const a = p.check(path, () => family === 4 ? parseIPv4Address(text, path) : parseAddress(text, path).text)
  if (a === undefined) return undefined
  if (family === 6 && !a.includes(':')) { p.add(path, `"${text}" is not an IPv6 address`); return undefined }
  if (a !== text) { p.add(path, `"${text}" is not in canonical form (write ${a})`); return undefined }
  return a
}

function canonicalPrefix(p: Problems, path: string, text: string): ReturnType<typeof parsePrefix> | undefined {
  const pre = p.check(path, () => parsePrefix(text, path))
  if (pre === undefined) return undefined
  if (pre.text !== text) { p.add(path, `"${text}" is not in canonical form (write ${pre.text})`); return undefined }
  return pre
}

function holdTime(p: Problems, path: string, v: number): void {
  if (v !== 0 && v < 3) p.add(path, `${v} is not 0 or 3-65535 seconds (RFC 4271 4.2)`)
}

/** Re-words gre/config.ts's error fields (`connectPeers[i] (id).insideCidr`) onto this file's paths. */
function greField(field: string, at: string, insideIndex: { v4: number; v6: number }): string {
  const tail = /\.(\w+)$/.exec(field)?.[1]
  switch (tail) {
    case 'insideCidr': return `${at}.insideCidrBlocks[${insideIndex.v4}]`
    case 'insideCidr6': return `${at}.insideCidrBlocks[${insideIndex.v6}]`
    case 'remoteAddress': return `${at}.transitGatewayAddress`
    case 'localAddress': return 'nodeAddress'
    case 'mtu': return `${at}.mtu`
    default: return `${at}.${tail ?? 'id'}`
  }
}

function resolveConnectPeer(p: Problems, raw: DaemonConfigInput['tgw']['connectPeers'] & object, i: number, ctx: { nodeAddress: string | undefined; localAsn: number }): ConnectPeerConfig | undefined {
  const c = raw[i]!
  const at = `tgw.connectPeers[${i}]`
  const before = p.list.length
  const tgwAddress = canonicalAddress(p, `${at}.transitGatewayAddress`, c.transitGatewayAddress, 4)
  const idx = { v4: -1, v6: -1 }
  c.insideCidrBlocks.forEach((text, j) => {
    const pre = canonicalPrefix(p, `${at}.insideCidrBlocks[${j}]`, text)
    if (pre === undefined) return
    const k = pre.family === 4 ? 'v4' : 'v6'
    if (idx[k] >= 0) p.add(`${at}.insideCidrBlocks[${j}]`, `a second IPv${pre.family} inside CIDR (at most one /29 and one /125)`)
    else idx[k] = j
  })
  // Only say the IPv4 block is missing when none was written (a malformed one has its own problem).
  if (idx.v4 < 0 && !c.insideCidrBlocks.some(t => t.includes('.'))) p.add(`${at}.insideCidrBlocks`, 'an IPv4 inside /29 of 169.254.0.0/16 is required')
  // GRE's own rules need parsed addresses; the ASN problems below do not stop them.
  const unparsed = p.list.length > before || tgwAddress === undefined || idx.v4 < 0
  const peerAsn = c.peerAsn ?? ctx.localAsn
  if (!isAmazonSideAsn(c.transitGatewayAsn)) p.add(`${at}.transitGatewayAsn`, `${c.transitGatewayAsn} is not an Amazon-side ASN (64512-65534 or 4200000000-4294967294)`)
  if (peerAsn === c.transitGatewayAsn) {
    p.add(c.peerAsn === undefined ? 'tgw.localAsn' : `${at}.peerAsn`, `${peerAsn} equals ${at}.transitGatewayAsn: the TGW installs no routes learned over iBGP`)
  }
  const mtu = c.mtu ?? DEFAULTS.tgw.mtu
  const ttl = c.ttl ?? DEFAULTS.tgw.ttl
  if (unparsed) return undefined
  const v4 = c.insideCidrBlocks[idx.v4]!
  const v6 = idx.v6 >= 0 ? c.insideCidrBlocks[idx.v6] : undefined
  let spec
  try {
    // A bad nodeAddress is reported once, at its own path; the inside CIDRs are still checked.
    spec = greLinkSpec({ id: c.id, localAddress: ctx.nodeAddress ?? '0.0.0.0', remoteAddress: tgwAddress, insideCidr: v4, ...(v6 !== undefined ? { insideCidr6: v6 } : {}), mtu }, i)
  } catch (e) {
    if (!(e instanceof GreConfigError)) throw e
    const path = greField(e.field, at, idx)
    if (path !== 'nodeAddress' || ctx.nodeAddress !== undefined) p.add(path, e.message.slice(e.field.length + 2))
    return undefined
  }
  if (p.list.length > before) return undefined
  // GRE's addresses carry their length (169.254.6.1/29); the model keeps bare addresses.
  const localInsideAddresses = spec.addresses.map(a => a.slice(0, a.indexOf('/')))
  const insideCidrBlocks = v6 === undefined ? [v4] : [v4, v6]
  return { id: c.id, transitGatewayAddress: tgwAddress, insideCidrBlocks, transitGatewayAsn: c.transitGatewayAsn, peerAsn, mtu, ttl, localInsideAddresses, bgpPeerAddresses: spec.tgwPeers }
}

function duplicates<T>(p: Problems, items: readonly T[], keyOf: (t: T) => string | undefined, path: (i: number) => string, what: string): void {
  const seen = new Map<string, number>()
  items.forEach((t, i) => {
    const k = keyOf(t)
    if (k === undefined) return
    const j = seen.get(k)
    if (j !== undefined) p.add(path(i), `${what} ${k} duplicates ${path(j)}`)
    else seen.set(k, i)
  })
}

/**
 * Validates a config object (already shaped like `DaemonConfigInput` or not: the schema pass finds
 * out) and fills in defaults. Throws `ConfigError` with every problem.
 */
export function resolveConfig(input: unknown, source = 'config'): LoadedConfig {
  const structural = schemaProblems(input)
  if (structural.length > 0) throw new ConfigError(structural, source)
  const c = input as DaemonConfigInput
  const p = new Problems()

  const nodeAddress = canonicalAddress(p, 'nodeAddress', c.nodeAddress, 4)
  const routerId = c.routerId === undefined ? nodeAddress : canonicalAddress(p, 'routerId', c.routerId, 4)

  // gateway table and its label
  const gt = c.gatewayTable ?? {}
  const table = gt.table ?? DEFAULTS.gatewayTable.table
  const tableOk = p.check('gatewayTable.table', () => checkTable(table, 'gatewayTable.table')) !== undefined
  const labelRange = (gt.labelRange ?? DEFAULTS.gatewayTable.labelRange) as readonly [number, number]
  const [lo, hi] = labelRange
  let rangeOk = true
  for (const [j, v] of [lo, hi].entries()) {
    if (v < MIN_LABEL || v > MAX_LABEL) { p.add(`gatewayTable.labelRange[${j}]`, `${v} is not a usable MPLS label (16-1048575; 0-15 are reserved, RFC 3032)`); rangeOk = false }
  }
  if (rangeOk && lo > hi) { p.add('gatewayTable.labelRange', `[${lo}, ${hi}]: the first label is above the last`); rangeOk = false }
  const label = gt.label ?? lo
  if (rangeOk && (label < lo || label > hi)) p.add('gatewayTable.label', `${label} is outside gatewayTable.labelRange [${lo}, ${hi}]`)
  const vrf = gt.vrf ?? (tableOk ? vrfName(table) : undefined)
  if (gt.vrf !== undefined && !/^[A-Za-z0-9_.-]{1,15}$/.test(gt.vrf)) p.add('gatewayTable.vrf', `"${gt.vrf}" is not a device name (1-15 letters, digits, '_', '.', '-')`)

  // exposed VNs
  const routeTargets = [...(c.exposed?.routeTargets ?? [])]
  routeTargets.forEach((rt, i) => p.check(`exposed.routeTargets[${i}]`, () => parseRouteTarget(rt)))
  duplicates(p, routeTargets, t => t, i => `exposed.routeTargets[${i}]`, 'route target')
  const cidrs = [...(c.exposed?.cidrs ?? [])]
  cidrs.forEach((t, i) => canonicalPrefix(p, `exposed.cidrs[${i}]`, t))
  duplicates(p, cidrs, t => t, i => `exposed.cidrs[${i}]`, 'CIDR')

  // TGW side
  const tgw = c.tgw
  const maxAdv = tgw.maxPrefixesAdvertised ?? DEFAULTS.tgw.maxPrefixesAdvertised
  if (maxAdv > TGW_ADVERTISED_QUOTA) p.add('tgw.maxPrefixesAdvertised', `${maxAdv} exceeds the AWS quota of ${TGW_ADVERTISED_QUOTA} routes advertised to a Connect peer (it may only be lowered)`)
  const tgwHold = tgw.holdTime ?? DEFAULTS.tgw.holdTime
  holdTime(p, 'tgw.holdTime', tgwHold)
  const rawPeers = tgw.connectPeers ?? []
  const connectPeers: ConnectPeerConfig[] = []
  rawPeers.forEach((_, i) => {
    const r = resolveConnectPeer(p, rawPeers, i, { nodeAddress, localAsn: tgw.localAsn })
    if (r) connectPeers.push(r)
  })
  duplicates(p, rawPeers, c => c.id, i => `tgw.connectPeers[${i}].id`, 'id')
  // Two ids may hash to one link name (gre/config.ts names links from the id).
  const firstOfId = new Map<string, ConnectPeerInput>()
  for (const r of rawPeers) if (!firstOfId.has(r.id)) firstOfId.set(r.id, r)
  duplicates(p, rawPeers, c => firstOfId.get(c.id) === c ? greLinkName(c.id) : undefined, i => `tgw.connectPeers[${i}].id`, 'GRE link name')
  duplicates(p, rawPeers, c => c.insideCidrBlocks.find(t => t.includes('.')), i => `tgw.connectPeers[${i}].insideCidrBlocks`, 'inside CIDR')
  duplicates(p, rawPeers, c => c.transitGatewayAddress, i => `tgw.connectPeers[${i}].transitGatewayAddress`, 'transit gateway address')
  if (rawPeers.length > CONNECT_PEERS_PER_ATTACHMENT) p.warn('tgw.connectPeers', `${rawPeers.length} Connect peers: AWS allows ${CONNECT_PEERS_PER_ATTACHMENT} per Connect attachment, so they must span several attachments`)

  // control nodes
  const cn = c.controlNodes
  const cnPeers: ControlNodePeerConfig[] = []
  cn.peers.forEach((peer, i) => {
    const address = canonicalAddress(p, `controlNodes.peers[${i}].address`, peer.address)
    if (address !== undefined) cnPeers.push({ address, asn: peer.asn, port: peer.port ?? DEFAULTS.controlNodes.port })
  })
  duplicates(p, cn.peers, x => `${x.address} port ${x.port ?? DEFAULTS.controlNodes.port}`, i => `controlNodes.peers[${i}].address`, 'control node')
  const asns = [...new Set(cn.peers.map(x => x.asn))]
  let cnLocalAsn = cn.localAsn
  if (cnLocalAsn === undefined) {
    if (asns.length > 1) p.add('controlNodes.localAsn', `required when the control nodes have different ASNs (${asns.join(', ')})`)
    cnLocalAsn = asns[0] ?? DEFAULTS.controlNodes.asn
  }
  const cnHold = cn.holdTime ?? DEFAULTS.controlNodes.holdTime
  holdTime(p, 'controlNodes.holdTime', cnHold)
  let md5: Md5KeySource | undefined
  if (cn.md5 !== undefined) {
    const m = cn.md5 as { secretRef?: { name: string; key: string }; file?: string }
    if ((m.secretRef === undefined) === (m.file === undefined)) p.add('controlNodes.md5', 'give exactly one of secretRef and file')
    else if (m.secretRef !== undefined) {
      if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(m.secretRef.name)) p.add('controlNodes.md5.secretRef.name', `"${m.secretRef.name}" is not a Secret name (RFC 1123 subdomain)`)
      md5 = { secretRef: { name: m.secretRef.name, key: m.secretRef.key } }
    } else md5 = { file: m.file! }
  }

  // listeners
  const listenAddress = c.listen?.address === undefined ? undefined : canonicalAddress(p, 'listen.address', c.listen.address)
  const httpAddress = c.http?.address === undefined ? DEFAULTS.http.address : canonicalAddress(p, 'http.address', c.http.address)
  const socket = c.api?.socket ?? DEFAULTS.api.socket
  if (!socket.startsWith('/')) p.add('api.socket', `"${socket}" is not an absolute path`)

  // data-plane probes: each target's IP version needs a source of that version (the tunnel probes
  // write their own IP header); the vRouter is an underlay (IPv4) address, as the MPLSoUDP tunnels are
  const pr = c.probes ?? {}
  const probeSource = pr.source === undefined ? undefined
    : pr.source.includes(':') ? void p.add('probes.source', `"${pr.source}" is IPv6: the IPv6 probes' source is probes.sourceIpv6`)
    : canonicalAddress(p, 'probes.source', pr.source, 4)
  const probeSource6 = pr.sourceIpv6 === undefined ? undefined
    : !pr.sourceIpv6.includes(':') ? void p.add('probes.sourceIpv6', `"${pr.sourceIpv6}" is not an IPv6 address (the IPv4 probes' source is probes.source)`)
    : canonicalAddress(p, 'probes.sourceIpv6', pr.sourceIpv6, 6)
  const probeTargets: ProbeTargetConfig[] = []
  ;(pr.targets ?? []).forEach((x, i) => {
    let address = canonicalAddress(p, `probes.targets[${i}].address`, x.address as string)
    // raw-socket sends without a scope id, so an interface-scoped address could not be reached
    if (address !== undefined && /^fe[89ab]/.test(address)) { p.add(`probes.targets[${i}].address`, `"${address}" is link-local: a probe target needs a global or unique local address`); address = undefined }
    const vrouter = canonicalAddress(p, `probes.targets[${i}].vrouter`, x.vrouter as string, 4)
    if (address !== undefined && vrouter !== undefined) probeTargets.push({ address, vrouter })
  })
  duplicates(p, probeTargets, x => `${x.address} via ${x.vrouter}`, i => `probes.targets[${i}]`, 'target')
  const firstOf = (v6: boolean): number => probeTargets.findIndex(x => x.address.includes(':') === v6)
  if (firstOf(false) >= 0 && pr.source === undefined) p.add('probes.source', `required with IPv4 probes.targets (${probeTargets[firstOf(false)]!.address}): the address the pods answer to (in a prefix this gateway advertises into CN2)`)
  if (firstOf(true) >= 0 && pr.sourceIpv6 === undefined) p.add('probes.sourceIpv6', `required with IPv6 probes.targets (${probeTargets[firstOf(true)]!.address}): the IPv6 address the pods answer to (in a prefix this gateway advertises into CN2)`)

  if (p.list.length > 0 || nodeAddress === undefined) throw new ConfigError(p.list, source)
  const gr = c.gracefulRestart ?? {}
  const config: DaemonConfig = {
    ...(c.nodeName !== undefined ? { nodeName: c.nodeName } : {}),
    nodeAddress: nodeAddress!,
    routerId: routerId!,
    dataplane: c.dataplane ?? DEFAULTS.dataplane,
    gatewayTable: { table, label, labelRange: [lo, hi], vrf: vrf! },
    routeDistinguisherIndex: c.routeDistinguisherIndex ?? DEFAULTS.routeDistinguisherIndex,
    exposed: { routeTargets, cidrs },
    advertiseMoreSpecifics: c.advertiseMoreSpecifics ?? DEFAULTS.advertiseMoreSpecifics,
    tgw: {
      localAsn: tgw.localAsn,
      maxPrefixesAdvertised: maxAdv,
      maxPrefixesReceived: tgw.maxPrefixesReceived ?? DEFAULTS.tgw.maxPrefixesReceived,
      holdTime: tgwHold,
      gracefulRestart: tgw.gracefulRestart ?? DEFAULTS.tgw.gracefulRestart,
      connectPeers,
    },
    controlNodes: {
      localAsn: cnLocalAsn,
      peers: cnPeers,
      ...(md5 !== undefined ? { md5 } : {}),
      holdTime: cnHold,
      gracefulRestart: cn.gracefulRestart ?? DEFAULTS.controlNodes.gracefulRestart,
    },
    gracefulRestart: {
      restartTime: gr.restartTime ?? DEFAULTS.gracefulRestart.restartTime,
      staleRoutesTime: gr.staleRoutesTime ?? DEFAULTS.gracefulRestart.staleRoutesTime,
      deferralTime: gr.deferralTime ?? DEFAULTS.gracefulRestart.deferralTime,
    },
    listen: { ...(listenAddress !== undefined ? { address: listenAddress } : {}), port: c.listen?.port ?? DEFAULTS.listen.port },
    http: { address: httpAddress!, port: c.http?.port ?? DEFAULTS.http.port },
    api: { socket },
    log: { level: c.log?.level ?? DEFAULTS.log.level },
    shutdownPolicy: c.shutdownPolicy ?? DEFAULTS.shutdownPolicy,
    probes: {
      enabled: pr.enabled ?? DEFAULTS.probes.enabled,
      interval: pr.interval ?? DEFAULTS.probes.interval,
      timeout: pr.timeout ?? DEFAULTS.probes.timeout,
      failAfter: pr.failAfter ?? DEFAULTS.probes.failAfter,
      lossWindow: pr.lossWindow ?? DEFAULTS.probes.lossWindow,
      withdrawOnFailure: pr.withdrawOnFailure ?? DEFAULTS.probes.withdrawOnFailure,
      ...(probeSource !== undefined ? { source: probeSource } : {}),
      ...(probeSource6 !== undefined ? { sourceIpv6: probeSource6 } : {}),
      targets: probeTargets,
    },
  }
  return { config, warnings: p.warnings }
}

/** Parses YAML text (one document; duplicate keys are errors) and resolves it. */
export function parseConfigText(text: string, source = 'config'): LoadedConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true })
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map(e => ({
      path: `(yaml line ${e.linePos?.[0]?.line ?? '?'}, column ${e.linePos?.[0]?.col ?? '?'})`,
      reason: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''),
    })), source)
  }
  const obj = doc.toJS() as unknown
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new ConfigError([{ path: '(top level)', reason: 'expected a mapping of fields' }], source)
  return resolveConfig(obj, source)
}

/** Reads and resolves a config file; errors name the file. */
export async function loadConfigFile(path: string): Promise<LoadedConfig> {
  return parseConfigText(await readFile(path, 'utf8'), path)
}

/** The control nodes' TCP-MD5 password from `controlNodes.md5.file` (a trailing newline dropped, as
 * a mounted Secret or `echo` leaves it); errors name the field. Read at start and on every reload, so
 * a new key in the file takes effect with SIGHUP. */
export async function readMd5File(path: string): Promise<string> {
  let text: string
  try {
    text = (await readFile(path, 'utf8')).replace(/\r?\n$/, '')
  } catch (e) {
    throw new Error(`controlNodes.md5.file: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
  if (text === '') throw new Error(`controlNodes.md5.file: ${path} is empty`)
  if (Buffer.byteLength(text) > 80) throw new Error(`controlNodes.md5.file: ${path} holds ${Buffer.byteLength(text)} bytes; a TCP-MD5 key is at most 80 (TCP_MD5SIG_MAXKEYLEN)`)
  return text
}
