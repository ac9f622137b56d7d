/**
 * The EC2 emulator's world: a VPC (or several) with subnets and route tables, and the transit
 * gateway resources gsi-controller manages, with AWS's own validations and lifecycle.
 *
 * Faithful to the EC2 API reference and the AWS Transit Gateway guide ("tgw-connect", quotas):
 * - Lifecycle over time: creates answer `pending` and turn `available` after `availableDelayMs`;
 *   deletes answer `deleting` and turn `deleted` after `deletingDelayMs`; deleted resources stay
 *   visible to Describe (as EC2 shows them for a while). Time is wall time plus an offset that tests
 *   advance; states are computed lazily whenever something is read.
 * - Validations: Amazon-side ASN ranges; TGW CIDR blocks IPv4 /24 or larger, at most 5, outside
 *   169.254.0.0/16; one VPC attachment per VPC per TGW (DuplicateTransitGatewayAttachment); one
 *   subnet per AZ; Connect over an available VPC attachment with protocol gre; Connect peer inside
 *   CIDR a /29 of 169.254.0.0/16, not 169.254.0.0/29-169.254.5.0/29 nor 169.254.169.248/29, unique
 *   per TGW, optional /125 of fd00::/8; TGW address from the TGW's CIDR blocks (first free if
 *   omitted); at most 4 Connect peers per Connect attachment; peers deleted before their Connect
 *   attachment, Connect attachments before the VPC attachment, attachments before the TGW.
 * - Error codes as EC2 names them (InvalidParameterValue, IncorrectState, *.NotFound, RouteAlreadyExists,
 *   InvalidGroup.Duplicate, InvalidPermission.Duplicate, ...). The code for a fifth Connect peer is
 *   *unconfirmed* (no public source found): TransitGatewayConnectPeerLimitExceeded, configurable.
 * - None of these Create actions takes a ClientToken in the real API, so neither does this one.
 * - Not emulated: IPv6 TGW CIDR blocks, pagination (everything fits in one page), ENIs.
 */
import { formatIpv4, ipFamilyOf, ipv4Word, isIpv4, parseIpv4, parsePrefix, type IpFamily, type IpPrefix } from '../../../src/lib/address.js'

export class Ec2Error extends Error {
  constructor(readonly code: string, message: string, readonly status = 400) {
    super(message)
  }
}

export interface Tag { Key: string, Value: string }

interface Lifecycle {
  state: string
  /** Emulator time at which `next` takes over. */
  until?: number
  next?: string
}

export interface TransitGateway extends Lifecycle {
  id: string
  description: string
  asn: number
  cidrBlocks: string[]
  vpnEcmpSupport: string
  defaultRouteTableAssociation: string
  defaultRouteTablePropagation: string
  tags: Tag[]
  createdAt: number
}

export interface VpcAttachment extends Lifecycle {
  id: string
  tgwId: string
  vpcId: string
  subnetIds: string[]
  tags: Tag[]
  createdAt: number
}

export interface ConnectAttachment extends Lifecycle {
  id: string
  tgwId: string
  transportId: string
  protocol: string
  tags: Tag[]
  createdAt: number
}

export interface ConnectPeer extends Lifecycle {
  id: string
  attachmentId: string
  tgwId: string
  peerAddress: string
  tgwAddress: string
  insideCidrBlocks: string[]
  peerAsn: number
  tgwAsn: number
  bgpStatus: 'up' | 'down'
  /** Not EC2's model: BgpStatus per TGW inside address (.2, .3) where the lab reports real sessions;
   * an address absent here reports `bgpStatus`. */
  sessionBgpStatus?: Record<string, 'up' | 'down'>
  tags: Tag[]
  createdAt: number
}

export interface Subnet { id: string, vpcId: string, az: string, azId: string, cidr: string, tags: Tag[] }

export interface Route {
  destinationCidrBlock: string
  gatewayId?: string
  transitGatewayId?: string
  origin: 'CreateRouteTable' | 'CreateRoute'
}

export interface RouteTable { id: string, vpcId: string, main: boolean, subnetIds: string[], routes: Route[], tags: Tag[] }

export interface IngressRule { protocol: string, fromPort?: number, toPort?: number, cidr: string, description?: string, ruleId: string }

export interface SecurityGroup { id: string, vpcId: string, name: string, description: string, ingress: IngressRule[], tags: Tag[], createdAt: number }

export interface Vpc { id: string, cidr: string, tags: Tag[] }

export interface SeedVpc {
  id: string
  cidr: string
  subnets: Array<{ id: string, az: string, cidr: string }>
  /** The first is the main route table; `subnets` lists explicit associations. */
  routeTables: Array<{ id: string, subnets: string[] }>
}

export interface Ec2WorldOptions {
  region?: string
  accountId?: string
  /** Delay from pending to available (and modifying to available). Default 0. */
  availableDelayMs?: number
  /** Delay from deleting to deleted. Default 0. */
  deletingDelayMs?: number
  /** Connect peers start with BgpStatus up when they become available (default: down until flipped). */
  bgpUpWhenAvailable?: boolean
  vpcs?: SeedVpc[]
  /** Error code answered for a fifth Connect peer on one Connect attachment. */
  connectPeerLimitCode?: string
  /** Eventual consistency: a created resource stays invisible to Describe for this long. Default 0. */
  describeLagMs?: number
}

/** Default seed: one VPC 10.0.0.0/16 with three subnets in three AZs, a main and a private route table. */
export function defaultSeed(region: string): SeedVpc[] {
  return [{
    id: 'vpc-0a1b2c3d4e5f60001',
    cidr: '10.0.0.0/16',
    subnets: [
      { id: 'subnet-0a1b2c3d4e5f60a01', az: `${region}a`, cidr: '10.0.0.0/20' },
      { id: 'subnet-0a1b2c3d4e5f60b01', az: `${region}b`, cidr: '10.0.16.0/20' },
      { id: 'subnet-0a1b2c3d4e5f60c01', az: `${region}c`, cidr: '10.0.32.0/20' },
    ],
    routeTables: [
      { id: 'rtb-0a1b2c3d4e5f60001', subnets: [] },
      { id: 'rtb-0a1b2c3d4e5f60002', subnets: ['subnet-0a1b2c3d4e5f60a01', 'subnet-0a1b2c3d4e5f60b01', 'subnet-0a1b2c3d4e5f60c01'] },
    ],
  }]
}

// ---- CIDR arithmetic. Address text is src/lib/address.ts's; the AWS rules below (limits, reserved
// blocks, overlaps) are written here apart from the controller's, so the two check each other. ----

function ip4(s: string): number | undefined {
  return isIpv4(s) ? parseIpv4(s) : undefined
}
const ip4str = formatIpv4
function prefix(s: string, family: IpFamily): IpPrefix | undefined {
  try { return parsePrefix(s, 'cidr', { family }) } catch { return undefined }
}
interface Cidr4 { base: number, len: number }
function cidr4(s: string): Cidr4 | undefined {
  const p = prefix(s, 4)
  return p === undefined ? undefined : { base: ipv4Word(p.bytes), len: p.length }
}
function inCidr(addr: number, c: Cidr4): boolean {
  const size = 2 ** (32 - c.len)
  return addr >= c.base && addr < c.base + size
}
function overlaps(a: Cidr4, b: Cidr4): boolean {
  return inCidr(a.base, b) || inCidr(b.base, a)
}

const LINK_LOCAL = cidr4('169.254.0.0/16') as Cidr4
const RESERVED_INSIDE = ['169.254.0.0/29', '169.254.1.0/29', '169.254.2.0/29', '169.254.3.0/29',
  '169.254.4.0/29', '169.254.5.0/29', '169.254.169.248/29']

export class Ec2World {
  readonly region: string
  readonly accountId: string
  availableDelayMs: number
  deletingDelayMs: number
  bgpUpWhenAvailable: boolean
  connectPeerLimitCode: string
  describeLagMs: number
  /** Added to Date.now(): tests move time forward instead of sleeping. */
  timeOffsetMs = 0

  readonly vpcs = new Map<string, Vpc>()
  readonly subnets = new Map<string, Subnet>()
  readonly routeTables = new Map<string, RouteTable>()
  readonly securityGroups = new Map<string, SecurityGroup>()
  readonly transitGateways = new Map<string, TransitGateway>()
  readonly vpcAttachments = new Map<string, VpcAttachment>()
  readonly connectAttachments = new Map<string, ConnectAttachment>()
  readonly connectPeers = new Map<string, ConnectPeer>()
  private seq = 0

  constructor(opts: Ec2WorldOptions = {}) {
    this.region = opts.region ?? 'us-east-1'
    this.accountId = opts.accountId ?? '123456789012'
    this.availableDelayMs = opts.availableDelayMs ?? 0
    this.deletingDelayMs = opts.deletingDelayMs ?? 0
    this.bgpUpWhenAvailable = opts.bgpUpWhenAvailable ?? false
    this.connectPeerLimitCode = opts.connectPeerLimitCode ?? 'TransitGatewayConnectPeerLimitExceeded'
    this.describeLagMs = opts.describeLagMs ?? 0
    for (const v of opts.vpcs ?? defaultSeed(this.region)) this.seedVpc(v)
  }

  now(): number { return Date.now() + this.timeOffsetMs }
  advance(ms: number): void { this.timeOffsetMs += ms }

  /** EC2-looking ids: prefix + 17 hex digits, unique and deterministic per world. */
  newId(prefix: string): string {
    this.seq++
    return `${prefix}-${(0x0e000000000000000n + BigInt(this.seq) * 0x9e3779b1n).toString(16).slice(-17).padStart(17, '0')}`
  }

  seedVpc(v: SeedVpc): void {
    if (cidr4(v.cidr) === undefined) throw new Error(`seed vpc ${v.id}: bad cidr ${v.cidr}`)
    this.vpcs.set(v.id, { id: v.id, cidr: v.cidr, tags: [] })
    for (const s of v.subnets) {
      this.subnets.set(s.id, { id: s.id, vpcId: v.id, az: s.az, azId: `use1-az${s.az.slice(-1).charCodeAt(0) - 96}`, cidr: s.cidr, tags: [] })
    }
    v.routeTables.forEach((rt, i) => {
      this.routeTables.set(rt.id, {
        id: rt.id, vpcId: v.id, main: i === 0, subnetIds: [...rt.subnets], tags: [],
        routes: [{ destinationCidrBlock: v.cidr, gatewayId: 'local', origin: 'CreateRouteTable' }],
      })
    })
  }

  // ---- lifecycle ----

  private settle<T extends Lifecycle>(r: T): T {
    if (r.until !== undefined && r.next !== undefined && this.now() >= r.until) {
      r.state = r.next
      delete r.until
      delete r.next
      if (r.state === 'available' && 'bgpStatus' in r && this.bgpUpWhenAvailable) (r as unknown as ConnectPeer).bgpStatus = 'up'
      if (r.state === 'deleted' && 'bgpStatus' in r) (r as unknown as ConnectPeer).bgpStatus = 'down'
    }
    return r
  }
  private startCreate(r: Lifecycle): void {
    r.state = 'pending'
    r.until = this.now() + this.availableDelayMs
    r.next = 'available'
    // No settle here: the Create answer says pending even with a zero delay, as EC2's does.
  }
  private startDelete(r: Lifecycle): void {
    r.state = 'deleting'
    r.until = this.now() + this.deletingDelayMs
    r.next = 'deleted'
  }
  private live(r: Lifecycle): boolean {
    this.settle(r)
    return r.state !== 'deleted' && r.state !== 'deleting' && r.state !== 'failed'
  }
  private notDeleted(r: Lifecycle): boolean {
    this.settle(r)
    return r.state !== 'deleted'
  }

  /** Describe's view: without what was created less than describeLagMs ago (EC2's eventual consistency). */
  visible<T extends { createdAt?: number }>(items: T[]): T[] {
    if (this.describeLagMs <= 0) return items
    const now = this.now()
    return items.filter((r) => r.createdAt === undefined || now >= r.createdAt + this.describeLagMs)
  }

  tgws(): TransitGateway[] { return [...this.transitGateways.values()].map((r) => this.settle(r)) }
  vpcAtts(): VpcAttachment[] { return [...this.vpcAttachments.values()].map((r) => this.settle(r)) }
  connects(): ConnectAttachment[] { return [...this.connectAttachments.values()].map((r) => this.settle(r)) }
  peers(): ConnectPeer[] { return [...this.connectPeers.values()].map((r) => this.settle(r)) }

  // ---- transit gateway ----

  createTransitGateway(p: { description?: string, asn?: number, cidrBlocks: string[], vpnEcmpSupport?: string,
    defaultRouteTableAssociation?: string, defaultRouteTablePropagation?: string, tags: Tag[] }): TransitGateway {
    const asn = p.asn ?? 64512
    if (!Number.isInteger(asn) || !((asn >= 64512 && asn <= 65534) || (asn >= 4200000000 && asn <= 4294967294))) {
      throw new Ec2Error('InvalidParameterValue', `The Amazon side ASN ${p.asn} is invalid: it must be in 64512-65534 or 4200000000-4294967294.`)
    }
    this.checkTgwCidrBlocks(p.cidrBlocks, [])
    const tgw: TransitGateway = {
      id: this.newId('tgw'), state: 'pending', description: p.description ?? '', asn, cidrBlocks: [...p.cidrBlocks],
      vpnEcmpSupport: p.vpnEcmpSupport ?? 'enable', defaultRouteTableAssociation: p.defaultRouteTableAssociation ?? 'enable',
      defaultRouteTablePropagation: p.defaultRouteTablePropagation ?? 'enable', tags: [...p.tags], createdAt: this.now(),
    }
    this.transitGateways.set(tgw.id, tgw)
    this.startCreate(tgw)
    return tgw
  }

  private checkTgwCidrBlocks(add: string[], existing: string[]): void {
    if (add.length + existing.length > 5) {
      throw new Ec2Error('TransitGatewayCidrLimitExceeded', 'A transit gateway can have at most 5 CIDR blocks.')
    }
    for (const b of add) {
      if (ipFamilyOf(b) === 6) throw new Ec2Error('InvalidParameterValue', `IPv6 transit gateway CIDR blocks are not supported by this emulator: ${b}`)
      const c = cidr4(b)
      if (c === undefined) throw new Ec2Error('InvalidParameterValue', `Invalid CIDR block ${b}.`)
      if (c.len > 24) throw new Ec2Error('InvalidParameterValue', `Transit gateway CIDR block ${b} must be /24 or larger.`)
      if (overlaps(c, LINK_LOCAL)) throw new Ec2Error('InvalidParameterValue', `Transit gateway CIDR block ${b} must not overlap 169.254.0.0/16.`)
      for (const e of existing) {
        if (overlaps(c, cidr4(e) as Cidr4)) throw new Ec2Error('InvalidParameterValue', `Transit gateway CIDR block ${b} overlaps ${e}.`)
      }
    }
  }

  getTgw(id: string | undefined): TransitGateway {
    const t = id === undefined ? undefined : this.transitGateways.get(id)
    if (t === undefined) throw new Ec2Error('InvalidTransitGatewayID.NotFound', `Transit Gateway ${id} was deleted or does not exist.`)
    return this.settle(t)
  }

  modifyTransitGateway(id: string | undefined, add: string[], remove: string[]): TransitGateway {
    const tgw = this.getTgw(id)
    if (tgw.state !== 'available') throw new Ec2Error('IncorrectState', `Transit Gateway ${tgw.id} is in state ${tgw.state} and cannot be modified.`)
    for (const r of remove) {
      if (!tgw.cidrBlocks.includes(r)) throw new Ec2Error('InvalidParameterValue', `CIDR block ${r} is not associated with ${tgw.id}.`)
      if (this.peers().some((p) => p.tgwId === tgw.id && p.state !== 'deleted' && inCidr(ip4(p.tgwAddress) ?? -1, cidr4(r) as Cidr4))) {
        throw new Ec2Error('IncorrectState', `CIDR block ${r} is in use by a Connect peer.`)
      }
    }
    const fresh = add.filter((a) => !tgw.cidrBlocks.includes(a))
    this.checkTgwCidrBlocks(fresh, tgw.cidrBlocks.filter((c) => !remove.includes(c)))
    tgw.cidrBlocks = [...tgw.cidrBlocks.filter((c) => !remove.includes(c)), ...fresh]
    tgw.state = 'modifying'
    tgw.until = this.now() + this.availableDelayMs
    tgw.next = 'available'
    return tgw
  }

  deleteTransitGateway(id: string | undefined): TransitGateway {
    const tgw = this.getTgw(id)
    if (tgw.state === 'deleted' || tgw.state === 'deleting') {
      throw new Ec2Error('IncorrectState', `Transit Gateway ${tgw.id} is in state ${tgw.state}.`)
    }
    const atts = [...this.vpcAtts(), ...this.connects()].filter((a) => a.tgwId === tgw.id && a.state !== 'deleted')
    if (atts.length > 0) {
      throw new Ec2Error('IncorrectState', `${tgw.id} has non-deleted Transit Gateway Attachments: ${atts.map((a) => a.id).join(', ')}.`)
    }
    this.startDelete(tgw)
    return tgw
  }

  // ---- VPC attachment ----

  createVpcAttachment(p: { tgwId?: string | undefined, vpcId?: string | undefined, subnetIds: string[], tags: Tag[] }): VpcAttachment {
    const tgw = this.getTgw(p.tgwId)
    if (tgw.state !== 'available') throw new Ec2Error('IncorrectState', `Transit Gateway ${tgw.id} is in state ${tgw.state}.`)
    const vpc = p.vpcId === undefined ? undefined : this.vpcs.get(p.vpcId)
    if (vpc === undefined) throw new Ec2Error('InvalidVpcID.NotFound', `The vpc ID '${p.vpcId}' does not exist`)
    if (p.subnetIds.length === 0) throw new Ec2Error('MissingParameter', 'The request must contain the parameter SubnetIds.')
    const azs = new Set<string>()
    for (const sid of p.subnetIds) {
      const s = this.subnets.get(sid)
      if (s === undefined || s.vpcId !== vpc.id) throw new Ec2Error('InvalidSubnetID.NotFound', `The subnet ID '${sid}' does not exist in ${vpc.id}`)
      if (azs.has(s.az)) throw new Ec2Error('DuplicateSubnetsInSameZone', `Subnets ${p.subnetIds.join(', ')} include more than one subnet in ${s.az}.`)
      azs.add(s.az)
    }
    const dup = this.vpcAtts().find((a) => a.tgwId === tgw.id && a.vpcId === vpc.id && a.state !== 'deleted' && a.state !== 'deleting')
    if (dup !== undefined) {
      throw new Ec2Error('DuplicateTransitGatewayAttachment', `${tgw.id} has non-deleted Transit Gateway Attachments with same VPC ID. (${dup.id})`)
    }
    const att: VpcAttachment = { id: this.newId('tgw-attach'), state: 'pending', tgwId: tgw.id, vpcId: vpc.id, subnetIds: [...p.subnetIds], tags: [...p.tags], createdAt: this.now() }
    this.vpcAttachments.set(att.id, att)
    this.startCreate(att)
    return att
  }

  getVpcAttachment(id: string | undefined): VpcAttachment {
    const a = id === undefined ? undefined : this.vpcAttachments.get(id)
    if (a === undefined) throw new Ec2Error('InvalidTransitGatewayAttachmentID.NotFound', `Transit Gateway Attachment ${id} was deleted or does not exist.`)
    return this.settle(a)
  }

  modifyVpcAttachment(id: string | undefined, add: string[], remove: string[]): VpcAttachment {
    const a = this.getVpcAttachment(id)
    if (a.state !== 'available') throw new Ec2Error('IncorrectState', `Transit Gateway Attachment ${a.id} is in state ${a.state} and cannot be modified.`)
    for (const r of remove) {
      if (!a.subnetIds.includes(r)) throw new Ec2Error('InvalidParameterValue', `Subnet ${r} is not part of ${a.id}.`)
    }
    const next = [...a.subnetIds.filter((x) => !remove.includes(x))]
    const azs = new Set(next.map((x) => this.subnets.get(x)?.az))
    for (const sid of add) {
      const s = this.subnets.get(sid)
      if (s === undefined || s.vpcId !== a.vpcId) throw new Ec2Error('InvalidSubnetID.NotFound', `The subnet ID '${sid}' does not exist in ${a.vpcId}`)
      if (next.includes(sid)) continue
      if (azs.has(s.az)) throw new Ec2Error('DuplicateSubnetsInSameZone', `${a.id} already has a subnet in ${s.az}.`)
      azs.add(s.az)
      next.push(sid)
    }
    if (next.length === 0) throw new Ec2Error('InvalidParameterValue', `${a.id} must keep at least one subnet.`)
    a.subnetIds = next
    a.state = 'modifying'
    a.until = this.now() + this.availableDelayMs
    a.next = 'available'
    return a
  }

  deleteVpcAttachment(id: string | undefined): VpcAttachment {
    const a = this.getVpcAttachment(id)
    if (a.state === 'deleted' || a.state === 'deleting') throw new Ec2Error('IncorrectState', `Transit Gateway Attachment ${a.id} is in state ${a.state}.`)
    const deps = this.connects().filter((c) => c.transportId === a.id && c.state !== 'deleted')
    if (deps.length > 0) {
      throw new Ec2Error('IncorrectState', `Transit Gateway Attachment ${a.id} is the transport of Connect attachments ${deps.map((c) => c.id).join(', ')}: delete them first.`)
    }
    this.startDelete(a)
    return a
  }

  // ---- Connect attachment ----

  createConnect(p: { transportId?: string | undefined, protocol?: string | undefined, tags: Tag[] }): ConnectAttachment {
    if (p.transportId === undefined) throw new Ec2Error('MissingParameter', 'The request must contain the parameter TransportTransitGatewayAttachmentId.')
    const transport = this.vpcAttachments.get(p.transportId)
    if (transport === undefined) {
      throw new Ec2Error('InvalidTransitGatewayAttachmentID.NotFound', `Transit Gateway Attachment ${p.transportId} was deleted or does not exist.`)
    }
    this.settle(transport)
    if (transport.state !== 'available') throw new Ec2Error('IncorrectState', `Transport attachment ${transport.id} is in state ${transport.state}.`)
    if (p.protocol !== 'gre') throw new Ec2Error('InvalidParameterValue', `Options.Protocol must be 'gre', got '${p.protocol}'.`)
    const c: ConnectAttachment = { id: this.newId('tgw-attach'), state: 'pending', tgwId: transport.tgwId, transportId: transport.id, protocol: 'gre', tags: [...p.tags], createdAt: this.now() }
    this.connectAttachments.set(c.id, c)
    this.startCreate(c)
    return c
  }

  getConnect(id: string | undefined): ConnectAttachment {
    const c = id === undefined ? undefined : this.connectAttachments.get(id)
    if (c === undefined) throw new Ec2Error('InvalidTransitGatewayAttachmentID.NotFound', `Transit Gateway Attachment ${id} was deleted or does not exist.`)
    return this.settle(c)
  }

  deleteConnect(id: string | undefined): ConnectAttachment {
    const c = this.getConnect(id)
    if (c.state === 'deleted' || c.state === 'deleting') throw new Ec2Error('IncorrectState', `Transit Gateway Attachment ${c.id} is in state ${c.state}.`)
    const peers = this.peers().filter((p) => p.attachmentId === c.id && p.state !== 'deleted')
    if (peers.length > 0) {
      throw new Ec2Error('IncorrectState', `Connect attachment ${c.id} has Connect peers ${peers.map((p) => p.id).join(', ')}: delete them first.`)
    }
    this.startDelete(c)
    return c
  }

  // ---- Connect peer ----

  createConnectPeer(p: { attachmentId?: string | undefined, peerAddress?: string | undefined, tgwAddress?: string | undefined,
    insideCidrBlocks: string[], peerAsn?: number | undefined, tags: Tag[] }): ConnectPeer {
    const c = this.getConnect(p.attachmentId)
    if (c.state !== 'available') throw new Ec2Error('IncorrectState', `Connect attachment ${c.id} is in state ${c.state}.`)
    const tgw = this.getTgw(c.tgwId)
    if (p.peerAddress === undefined || !isIpv4(p.peerAddress)) {
      throw new Ec2Error('InvalidParameterValue', `PeerAddress '${p.peerAddress}' is not a valid IPv4 address.`)
    }
    // Inside CIDRs: one IPv4 /29 (required), at most one IPv6 /125.
    const v4 = p.insideCidrBlocks.filter((b) => ipFamilyOf(b) !== 6)
    const v6 = p.insideCidrBlocks.filter((b) => ipFamilyOf(b) === 6)
    if (v4.length !== 1 || v6.length > 1) {
      throw new Ec2Error('InvalidParameterValue', 'InsideCidrBlocks must hold exactly one IPv4 /29 and at most one IPv6 /125.')
    }
    const v4c = cidr4(v4[0] as string)
    if (v4c === undefined || v4c.len !== 29 || !inCidr(v4c.base, LINK_LOCAL)) {
      throw new Ec2Error('InvalidParameterValue', `Inside CIDR block ${v4[0]} must be a /29 from 169.254.0.0/16.`)
    }
    if (RESERVED_INSIDE.includes(v4[0] as string)) {
      throw new Ec2Error('InvalidParameterValue', `Inside CIDR block ${v4[0]} is reserved: 169.254.0.0/29-169.254.5.0/29 and 169.254.169.248/29 cannot be used.`)
    }
    let v6norm: string | undefined
    if (v6.length === 1) {
      const a = prefix(v6[0] as string, 6)
      if (a === undefined) {
        throw new Ec2Error('InvalidParameterValue', `Inside CIDR block ${v6[0]} is not a valid IPv6 CIDR (or has host bits set).`)
      }
      if (a.length !== 125 || a.bytes[0] !== 0xfd) {
        throw new Ec2Error('InvalidParameterValue', `Inside CIDR block ${v6[0]} must be a /125 from fd00::/8.`)
      }
      v6norm = a.text
    }
    const onTgw = this.peers().filter((x) => x.tgwId === tgw.id && x.state !== 'deleted')
    for (const x of onTgw) {
      for (const b of x.insideCidrBlocks) {
        if (b === v4[0] || b === v6norm) {
          throw new Ec2Error('InvalidParameterValue', `Inside CIDR block ${b} is already used by Connect peer ${x.id} on ${tgw.id}.`)
        }
      }
    }
    if (onTgw.filter((x) => x.attachmentId === c.id).length >= 4) {
      throw new Ec2Error(this.connectPeerLimitCode, `Connect attachment ${c.id} already has the maximum of 4 Connect peers.`)
    }
    const peerAsn = p.peerAsn ?? tgw.asn
    if (!Number.isInteger(peerAsn) || peerAsn < 1 || peerAsn > 4294967294) {
      throw new Ec2Error('InvalidParameterValue', `BgpOptions.PeerAsn ${p.peerAsn} is invalid.`)
    }
    const blocks = tgw.cidrBlocks.map((b) => cidr4(b) as Cidr4)
    let tgwAddress: string
    if (p.tgwAddress !== undefined) {
      const a = ip4(p.tgwAddress)
      if (a === undefined || !blocks.some((b) => inCidr(a, b))) {
        throw new Ec2Error('InvalidParameterValue', `TransitGatewayAddress ${p.tgwAddress} is not within the transit gateway's CIDR blocks (${tgw.cidrBlocks.join(', ')}).`)
      }
      tgwAddress = p.tgwAddress
    } else {
      const used = new Set(onTgw.map((x) => x.tgwAddress))
      let found: string | undefined
      for (const b of blocks) {
        // Skip the block's network address; the first usable one is what AWS hands out first (*unconfirmed* detail).
        for (let i = 1; i < 2 ** (32 - b.len) - 1 && found === undefined; i++) {
          const s = ip4str(b.base + i)
          if (!used.has(s)) found = s
        }
        if (found !== undefined) break
      }
      if (found === undefined) throw new Ec2Error('InsufficientFreeAddressesInSubnet', `No free address left in the CIDR blocks of ${tgw.id}.`)
      tgwAddress = found
    }
    const peer: ConnectPeer = {
      id: this.newId('tgw-connect-peer'), state: 'pending', attachmentId: c.id, tgwId: tgw.id, peerAddress: p.peerAddress,
      tgwAddress, insideCidrBlocks: v6norm === undefined ? [v4[0] as string] : [v4[0] as string, v6norm],
      peerAsn, tgwAsn: tgw.asn, bgpStatus: 'down', tags: [...p.tags], createdAt: this.now(),
    }
    this.connectPeers.set(peer.id, peer)
    this.startCreate(peer)
    return peer
  }

  getPeer(id: string | undefined): ConnectPeer {
    const p = id === undefined ? undefined : this.connectPeers.get(id)
    if (p === undefined) throw new Ec2Error('InvalidTransitGatewayConnectPeerID.NotFound', `Transit Gateway Connect peer ${id} was deleted or does not exist.`)
    return this.settle(p)
  }

  deleteConnectPeer(id: string | undefined): ConnectPeer {
    const p = this.getPeer(id)
    if (p.state === 'deleted' || p.state === 'deleting') throw new Ec2Error('IncorrectState', `Connect peer ${p.id} is in state ${p.state}.`)
    p.bgpStatus = 'down'
    this.startDelete(p)
    return p
  }

  /** Not EC2: flips what the TGW reports as BgpStatus (the appliance's sessions came up or went down). */
  setBgpStatus(id: string, status: 'up' | 'down', tgwInsideAddress?: string): void {
    const p = this.getPeer(id)
    if (tgwInsideAddress === undefined) { p.bgpStatus = status; return }
    p.sessionBgpStatus = { ...p.sessionBgpStatus, [tgwInsideAddress]: status }
  }

  // ---- VPC route tables ----

  getRouteTable(id: string | undefined): RouteTable {
    const rt = id === undefined ? undefined : this.routeTables.get(id)
    if (rt === undefined) throw new Ec2Error('InvalidRouteTableID.NotFound', `The routeTable ID '${id}' does not exist`)
    return rt
  }

  /** A route to a TGW is active while the TGW has an available attachment to the VPC, blackhole otherwise (as in EC2). */
  routeState(rt: RouteTable, r: Route): 'active' | 'blackhole' {
    if (r.transitGatewayId === undefined) return 'active'
    const ok = this.vpcAtts().some((a) => a.tgwId === r.transitGatewayId && a.vpcId === rt.vpcId && a.state === 'available')
    return ok ? 'active' : 'blackhole'
  }

  createRoute(p: { routeTableId?: string | undefined, destination?: string | undefined, transitGatewayId?: string | undefined, gatewayId?: string | undefined }): void {
    const rt = this.getRouteTable(p.routeTableId)
    const c = p.destination === undefined ? undefined : cidr4(p.destination)
    if (c === undefined) throw new Ec2Error('InvalidParameterValue', `Value (${p.destination}) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block.`)
    if (p.transitGatewayId === undefined && p.gatewayId === undefined) {
      throw new Ec2Error('MissingParameter', 'The request must contain a route target (TransitGatewayId or GatewayId).')
    }
    if (p.transitGatewayId !== undefined) {
      const tgw = this.getTgw(p.transitGatewayId)
      if (!this.vpcAtts().some((a) => a.tgwId === tgw.id && a.vpcId === rt.vpcId && a.state !== 'deleted' && a.state !== 'deleting')) {
        // *unconfirmed* wording; EC2 refuses a TGW route target with no attachment in the VPC.
        throw new Ec2Error('InvalidTransitGatewayID.NotFound', `Transit Gateway ${tgw.id} has no attachment in ${rt.vpcId}.`)
      }
    }
    if (rt.routes.some((r) => r.destinationCidrBlock === p.destination)) {
      throw new Ec2Error('RouteAlreadyExists', `The route identified by ${p.destination} already exists.`)
    }
    rt.routes.push({
      destinationCidrBlock: p.destination as string, origin: 'CreateRoute',
      ...(p.transitGatewayId !== undefined ? { transitGatewayId: p.transitGatewayId } : {}),
      ...(p.gatewayId !== undefined ? { gatewayId: p.gatewayId } : {}),
    })
  }

  deleteRoute(routeTableId: string | undefined, destination: string | undefined): void {
    const rt = this.getRouteTable(routeTableId)
    const i = rt.routes.findIndex((r) => r.destinationCidrBlock === destination)
    if (i < 0) throw new Ec2Error('InvalidRoute.NotFound', `no route with destination-cidr-block ${destination} in route table ${rt.id}`)
    if (rt.routes[i]?.origin === 'CreateRouteTable') throw new Ec2Error('InvalidParameterValue', `cannot remove local route ${destination} in route table ${rt.id}`)
    rt.routes.splice(i, 1)
  }

  // ---- security groups ----

  createSecurityGroup(p: { name?: string | undefined, description?: string | undefined, vpcId?: string | undefined, tags: Tag[] }): SecurityGroup {
    if (p.name === undefined || p.name === '') throw new Ec2Error('MissingParameter', 'The request must contain the parameter groupName')
    if (p.description === undefined) throw new Ec2Error('MissingParameter', 'The request must contain the parameter groupDescription')
    if (p.name.toLowerCase().startsWith('sg-') || p.name === 'default') throw new Ec2Error('InvalidParameterValue', `Invalid security group name ${p.name}.`)
    const vpc = p.vpcId === undefined ? undefined : this.vpcs.get(p.vpcId)
    if (vpc === undefined) throw new Ec2Error('InvalidVpcID.NotFound', `The vpc ID '${p.vpcId}' does not exist`)
    for (const g of this.securityGroups.values()) {
      if (g.vpcId === vpc.id && g.name === p.name) throw new Ec2Error('InvalidGroup.Duplicate', `The security group '${p.name}' already exists for VPC '${vpc.id}'`)
    }
    const sg: SecurityGroup = { id: this.newId('sg'), vpcId: vpc.id, name: p.name, description: p.description, ingress: [], tags: [...p.tags], createdAt: this.now() }
    this.securityGroups.set(sg.id, sg)
    return sg
  }

  getSecurityGroup(id: string | undefined): SecurityGroup {
    const g = id === undefined ? undefined : this.securityGroups.get(id)
    if (g === undefined) throw new Ec2Error('InvalidGroup.NotFound', `The security group '${id}' does not exist`)
    return g
  }

  deleteSecurityGroup(id: string | undefined): SecurityGroup {
    const g = this.getSecurityGroup(id)
    this.securityGroups.delete(g.id)
    return g
  }

  authorizeIngress(groupId: string | undefined, rules: Array<Omit<IngressRule, 'ruleId'>>): IngressRule[] {
    const g = this.getSecurityGroup(groupId)
    if (rules.length === 0) throw new Ec2Error('MissingParameter', 'No IpPermissions given.')
    for (const r of rules) {
      if (cidr4(r.cidr) === undefined) throw new Ec2Error('InvalidParameterValue', `CIDR block ${r.cidr} is malformed`)
      if (!['-1', 'tcp', 'udp', 'icmp', '6', '17', '1'].includes(r.protocol) && !/^[0-9]{1,3}$/.test(r.protocol)) {
        throw new Ec2Error('InvalidParameterValue', `Invalid value '${r.protocol}' for IP protocol.`)
      }
      if (g.ingress.some((x) => sameRule(x, r)) || rules.filter((y) => sameRule(y, r)).length > 1) {
        throw new Ec2Error('InvalidPermission.Duplicate', `the specified rule "peer: ${r.cidr}, ${r.protocol === '-1' ? 'ALL' : r.protocol}, ALLOW" already exists`)
      }
    }
    const added = rules.map((r) => ({ ...r, ruleId: this.newId('sgr') }))
    g.ingress.push(...added)
    return added
  }

  revokeIngress(groupId: string | undefined, rules: Array<Omit<IngressRule, 'ruleId'>>): { revoked: IngressRule[], unknown: Array<Omit<IngressRule, 'ruleId'>> } {
    const g = this.getSecurityGroup(groupId)
    const revoked: IngressRule[] = []
    const unknown: Array<Omit<IngressRule, 'ruleId'>> = []
    for (const r of rules) {
      const i = g.ingress.findIndex((x) => sameRule(x, r))
      if (i < 0) unknown.push(r)
      else revoked.push(...g.ingress.splice(i, 1))
    }
    if (revoked.length === 0) {
      throw new Ec2Error('InvalidPermission.NotFound', 'The specified rule does not exist in this security group.')
    }
    return { revoked, unknown }
  }

  // ---- tags ----

  createTags(ids: string[], tags: Tag[]): void {
    const all = new Map<string, { tags: Tag[] }>([
      ...this.transitGateways, ...this.vpcAttachments, ...this.connectAttachments, ...this.connectPeers,
      ...this.securityGroups, ...this.subnets, ...this.routeTables, ...this.vpcs,
    ])
    const targets = ids.map((id) => {
      const r = all.get(id)
      if (r === undefined) throw new Ec2Error('InvalidID', `The ID '${id}' is not valid`)
      return r
    })
    for (const r of targets) {
      for (const t of tags) {
        const e = r.tags.find((x) => x.Key === t.Key)
        if (e !== undefined) e.Value = t.Value
        else r.tags.push({ ...t })
      }
    }
  }

  /** Not EC2: everything, for tests and the lab (GET /_emulator/state). */
  dump(): object {
    return {
      now: new Date(this.now()).toISOString(),
      vpcs: [...this.vpcs.values()],
      subnets: [...this.subnets.values()],
      routeTables: [...this.routeTables.values()].map((rt) => ({ ...rt, routes: rt.routes.map((r) => ({ ...r, state: this.routeState(rt, r) })) })),
      securityGroups: [...this.securityGroups.values()],
      transitGateways: this.tgws(),
      vpcAttachments: this.vpcAtts(),
      connectAttachments: this.connects(),
      connectPeers: this.peers(),
    }
  }

  /** Counts of resources not yet deleted, by kind (test helper: "no leak, no duplicate"). */
  counts(): Record<string, number> {
    return {
      transitGateways: this.tgws().filter((r) => this.notDeleted(r)).length,
      vpcAttachments: this.vpcAtts().filter((r) => this.notDeleted(r)).length,
      connectAttachments: this.connects().filter((r) => this.notDeleted(r)).length,
      connectPeers: this.peers().filter((r) => this.notDeleted(r)).length,
      securityGroups: this.securityGroups.size,
      tgwRoutes: [...this.routeTables.values()].reduce((n, rt) => n + rt.routes.filter((r) => r.transitGatewayId !== undefined).length, 0),
    }
  }

  isLive(r: Lifecycle): boolean { return this.live(r) }
}

function sameRule(a: Omit<IngressRule, 'ruleId'>, b: Omit<IngressRule, 'ruleId'>): boolean {
  const norm = (p: string): string => ({ tcp: '6', udp: '17', icmp: '1' })[p] ?? p
  return norm(a.protocol) === norm(b.protocol) && a.cidr === b.cidr && (a.fromPort ?? -1) === (b.fromPort ?? -1) && (a.toPort ?? -1) === (b.toPort ?? -1)
}
