/**
 * EC2 emulator HTTP server: the EC2 Query API (version 2016-11-15) for exactly the actions
 * gsi-controller uses, answered from an Ec2World (state.ts) with EC2's XML shapes and error codes.
 *
 * EC2 side: POST / with a form-encoded body (`Action=...&Version=2016-11-15&...`). SigV4
 * `Authorization` headers are accepted without checking the signature (any credentials work); the
 * region is read from the credential scope only for the log. Errors use EC2's envelope with HTTP
 * 400 for client errors, 503 for RequestLimitExceeded (as EC2 does) and 500 for InternalError.
 *
 * Emulator control (not EC2; JSON; for tests and the lab):
 *   GET  /_emulator/state                      everything, with computed states
 *   GET  /_emulator/counts                     live resources by kind
 *   POST /_emulator/advance   {"ms": 5000}     move the emulator clock forward
 *   POST /_emulator/faults    {"throttleNext": 10, "throttleRate": 0.3, "failOnce": {"action": "...", "code": "...", "status": 500}}
 *   POST /_emulator/bgp       {"connectPeerId": "tgw-connect-peer-...", "status": "up"[, "transitGatewayAddress": "169.254.6.2"]}
 *                                              (one session of the two when the address is given)
 *   POST /_emulator/config    {"availableDelayMs": 0, "deletingDelayMs": 0, "bgpUpWhenAvailable": true, "describeLagMs": 0}
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomUUID } from 'node:crypto'
import {
  Ec2Error, Ec2World, type Ec2WorldOptions, type Tag, type TransitGateway, type VpcAttachment,
  type ConnectAttachment, type ConnectPeer, type IngressRule,
} from './state.js'
import { errorXml, parseQuery, qList, qStr, qStrList, responseXml, type QueryTree, type QueryValue, type XmlValue } from './wire.js'
import { ipFamilyOf, nthAddress, parsePrefix } from '../../../src/lib/address.js'

export interface FailOnce { action: string, code: string, message?: string, status?: number, times?: number }

export interface Faults {
  /** The next N EC2 calls (any action) answer RequestLimitExceeded. */
  throttleNext: number
  /** Probability in [0,1] that any call answers RequestLimitExceeded (deterministic PRNG). */
  throttleRate: number
  /** Fail the next call(s) of one action with the given code. */
  failOnce: FailOnce[]
}

export interface Ec2EmulatorOptions extends Ec2WorldOptions {
  port?: number
  host?: string
  /** Seed of the throttle PRNG. */
  seed?: number
  /** Called for every EC2 call (after it is answered). */
  onRequest?: (action: string, code: string) => void
}

export interface Ec2Emulator {
  endpoint: string
  port: number
  world: Ec2World
  faults: Faults
  /** Per-action call counts, including failed ones. */
  calls: Map<string, number>
  close(): Promise<void>
}

const ACTIONS = new Set([
  'CreateTransitGateway', 'DescribeTransitGateways', 'DeleteTransitGateway', 'ModifyTransitGateway',
  'CreateTransitGatewayVpcAttachment', 'DescribeTransitGatewayVpcAttachments', 'DeleteTransitGatewayVpcAttachment',
  'ModifyTransitGatewayVpcAttachment', 'CreateTransitGatewayConnect', 'DescribeTransitGatewayConnects', 'DeleteTransitGatewayConnect',
  'CreateTransitGatewayConnectPeer', 'DescribeTransitGatewayConnectPeers', 'DeleteTransitGatewayConnectPeer',
  'CreateRoute', 'DeleteRoute', 'DescribeRouteTables', 'DescribeSubnets',
  'CreateSecurityGroup', 'DescribeSecurityGroups', 'DeleteSecurityGroup',
  'AuthorizeSecurityGroupIngress', 'RevokeSecurityGroupIngress', 'CreateTags',
])

function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

// ---- request helpers ----

/** TagSpecification(s).N.{ResourceType, Tag.N.{Key,Value}}: the SDK spells the list both ways depending on the action. */
function tagSpecs(q: QueryTree, resourceType: string): Tag[] {
  const specs = [...qList(q, 'TagSpecification'), ...qList(q, 'TagSpecifications')]
  const tags: Tag[] = []
  for (const s of specs) {
    const rt = qStr(s, 'ResourceType')
    if (rt !== undefined && rt !== resourceType) {
      throw new Ec2Error('InvalidParameterValue', `'${rt}' is not a valid taggable resource type for this operation; expected '${resourceType}'.`)
    }
    for (const t of qList(s, 'Tag')) tags.push(tagOf(t))
  }
  return tags
}
function tagOf(t: QueryValue): Tag {
  const Key = qStr(t, 'Key')
  if (Key === undefined || Key === '') throw new Ec2Error('InvalidParameterValue', 'Tag key must not be empty.')
  if (Key.toLowerCase().startsWith('aws:')) throw new Ec2Error('InvalidParameterValue', `Tag keys starting with 'aws:' are reserved: ${Key}`)
  return { Key, Value: qStr(t, 'Value') ?? '' }
}

function num(s: string | undefined, field: string): number | undefined {
  if (s === undefined) return undefined
  const n = Number(s)
  if (!Number.isFinite(n) || s.trim() === '') throw new Ec2Error('InvalidParameterValue', `Value (${s}) for parameter ${field} is invalid.`)
  return n
}

function required(q: QueryTree, name: string): string {
  const v = qStr(q, name)
  if (v === undefined) throw new Ec2Error('MissingParameter', `The request must contain the parameter ${name}`)
  return v
}

function ipPermissions(q: QueryTree): Array<Omit<IngressRule, 'ruleId'>> {
  const out: Array<Omit<IngressRule, 'ruleId'>> = []
  for (const p of qList(q, 'IpPermissions')) {
    const protocol = qStr(p, 'IpProtocol')
    if (protocol === undefined) throw new Ec2Error('MissingParameter', 'IpPermissions.N.IpProtocol is required.')
    const fromPort = num(qStr(p, 'FromPort'), 'FromPort')
    const toPort = num(qStr(p, 'ToPort'), 'ToPort')
    const ranges = qList(p, 'IpRanges')
    if (ranges.length === 0) throw new Ec2Error('InvalidParameterValue', 'This emulator supports only IpRanges (CidrIp) permissions.')
    for (const r of ranges) {
      const cidr = qStr(r, 'CidrIp')
      if (cidr === undefined) throw new Ec2Error('MissingParameter', 'IpRanges.N.CidrIp is required.')
      const description = qStr(r, 'Description')
      out.push({
        protocol, cidr,
        ...(fromPort !== undefined ? { fromPort } : {}), ...(toPort !== undefined ? { toPort } : {}),
        ...(description !== undefined ? { description } : {}),
      })
    }
  }
  return out
}

// ---- filters (Filter.N.Name / Filter.N.Value.M, with * and ? wildcards, as EC2) ----

type FieldFn<T> = (item: T, name: string) => string[] | undefined

function glob(pattern: string, s: string): boolean {
  if (!/[*?]/.test(pattern)) return pattern === s
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$')
  return re.test(s)
}

function applyFilters<T extends { tags: Tag[] }>(items: T[], q: QueryTree, field: FieldFn<T>): T[] {
  const filters = qList(q, 'Filter').map((f) => ({ name: qStr(f, 'Name') ?? '', values: qStrList(f, 'Value') }))
  return items.filter((it) => filters.every(({ name, values }) => {
    let have: string[] | undefined
    if (name.startsWith('tag:')) have = it.tags.filter((t) => t.Key === name.slice(4)).map((t) => t.Value)
    else if (name === 'tag-key') have = it.tags.map((t) => t.Key)
    else if (name === 'tag-value') have = it.tags.map((t) => t.Value)
    else have = field(it, name)
    if (have === undefined) throw new Ec2Error('InvalidParameterValue', `The filter '${name}' is invalid`)
    return have.some((h) => values.some((v) => glob(v, h)))
  }))
}

/** Describe by ids: each id must exist, else the kind's NotFound code. */
function byIds<T extends { id: string }>(items: T[], ids: string[], notFound: string, what: string): T[] {
  if (ids.length === 0) return items
  const out: T[] = []
  for (const id of ids) {
    const it = items.find((x) => x.id === id)
    if (it === undefined) throw new Ec2Error(notFound, `The ${what} ID '${id}' does not exist`)
    out.push(it)
  }
  return out
}

// ---- XML shapes ----

const tagSet = (tags: Tag[]): XmlValue => tags.map((t) => ({ key: t.Key, value: t.Value }))
const iso = (ms: number): string => new Date(ms).toISOString()

export function createEc2Emulator(opts: Ec2EmulatorOptions = {}): { world: Ec2World, faults: Faults, calls: Map<string, number>, handler: http.RequestListener } {
  const world = new Ec2World(opts)
  const faults: Faults = { throttleNext: 0, throttleRate: 0, failOnce: [] }
  const calls = new Map<string, number>()
  const rand = mulberry32(opts.seed ?? 1)

  const tgwXml = (t: TransitGateway): XmlValue => ({
    transitGatewayId: t.id,
    transitGatewayArn: `arn:aws:ec2:${world.region}:${world.accountId}:transit-gateway/${t.id}`,
    state: t.state, ownerId: world.accountId, description: t.description, creationTime: iso(t.createdAt),
    options: {
      amazonSideAsn: t.asn, transitGatewayCidrBlocks: t.cidrBlocks, autoAcceptSharedAttachments: 'disable',
      defaultRouteTableAssociation: t.defaultRouteTableAssociation,
      associationDefaultRouteTableId: `tgw-rtb-${t.id.slice(4)}`,
      defaultRouteTablePropagation: t.defaultRouteTablePropagation,
      propagationDefaultRouteTableId: `tgw-rtb-${t.id.slice(4)}`,
      vpnEcmpSupport: t.vpnEcmpSupport, dnsSupport: 'enable', securityGroupReferencingSupport: 'disable', multicastSupport: 'disable',
    },
    tagSet: tagSet(t.tags),
  })
  const vpcAttXml = (a: VpcAttachment): XmlValue => ({
    transitGatewayAttachmentId: a.id, transitGatewayId: a.tgwId, vpcId: a.vpcId, vpcOwnerId: world.accountId,
    state: a.state, subnetIds: a.subnetIds, creationTime: iso(a.createdAt),
    options: { dnsSupport: 'enable', securityGroupReferencingSupport: 'disable', ipv6Support: 'disable', applianceModeSupport: 'disable' },
    tagSet: tagSet(a.tags),
  })
  const connectXml = (c: ConnectAttachment): XmlValue => ({
    transitGatewayAttachmentId: c.id, transportTransitGatewayAttachmentId: c.transportId, transitGatewayId: c.tgwId,
    state: c.state, creationTime: iso(c.createdAt), options: { protocol: c.protocol }, tagSet: tagSet(c.tags),
  })
  const peerXml = (p: ConnectPeer): XmlValue => {
    const inside = parsePrefix(p.insideCidrBlocks.find((b) => ipFamilyOf(b) === 4) ?? '', 'insideCidrBlocks')
    const bgp = [2, 3].map((k) => ({
      transitGatewayAsn: p.tgwAsn, peerAsn: p.peerAsn,
      transitGatewayAddress: nthAddress(inside, k), peerAddress: nthAddress(inside, 1),
      bgpStatus: p.state === 'deleted' || p.state === 'deleting' ? 'down' : p.sessionBgpStatus?.[nthAddress(inside, k)] ?? p.bgpStatus,
    }))
    return {
      transitGatewayAttachmentId: p.attachmentId, transitGatewayConnectPeerId: p.id, state: p.state, creationTime: iso(p.createdAt),
      connectPeerConfiguration: {
        transitGatewayAddress: p.tgwAddress, peerAddress: p.peerAddress, insideCidrBlocks: p.insideCidrBlocks, protocol: 'gre',
        bgpConfigurations: bgp,
      },
      tagSet: tagSet(p.tags),
    }
  }

  const attachmentFields = (a: VpcAttachment | ConnectAttachment, name: string): string[] | undefined => {
    switch (name) {
      case 'transit-gateway-attachment-id': return [a.id]
      case 'transit-gateway-id': return [a.tgwId]
      case 'state': return [a.state]
      case 'vpc-id': return 'vpcId' in a ? [a.vpcId] : undefined
      case 'transport-transit-gateway-attachment-id': return 'transportId' in a ? [a.transportId] : undefined
      default: return undefined
    }
  }

  function dispatch(action: string, q: QueryTree): Record<string, XmlValue> {
    switch (action) {
      case 'CreateTransitGateway': {
        const asn = num(qStr(q, 'Options', 'AmazonSideAsn'), 'Options.AmazonSideAsn')
        const t = world.createTransitGateway({
          ...(qStr(q, 'Description') !== undefined ? { description: qStr(q, 'Description') as string } : {}),
          ...(asn !== undefined ? { asn } : {}),
          cidrBlocks: qStrList(q, 'Options', 'TransitGatewayCidrBlocks'),
          ...(qStr(q, 'Options', 'VpnEcmpSupport') !== undefined ? { vpnEcmpSupport: qStr(q, 'Options', 'VpnEcmpSupport') as string } : {}),
          tags: tagSpecs(q, 'transit-gateway'),
        })
        return { transitGateway: tgwXml(t) }
      }
      case 'DescribeTransitGateways': {
        let items = byIds(world.visible(world.tgws()), qStrList(q, 'TransitGatewayIds'), 'InvalidTransitGatewayID.NotFound', 'transit gateway')
        items = applyFilters(items, q, (t, n) => ({
          'transit-gateway-id': [t.id], state: [t.state], 'owner-id': [world.accountId],
          'options.amazon-side-asn': [String(t.asn)],
        } as Record<string, string[]>)[n])
        return { transitGatewaySet: items.map(tgwXml) }
      }
      case 'DeleteTransitGateway':
        return { transitGateway: tgwXml(world.deleteTransitGateway(required(q, 'TransitGatewayId'))) }
      case 'ModifyTransitGateway':
        return {
          transitGateway: tgwXml(world.modifyTransitGateway(required(q, 'TransitGatewayId'),
            qStrList(q, 'Options', 'AddTransitGatewayCidrBlocks'), qStrList(q, 'Options', 'RemoveTransitGatewayCidrBlocks'))),
        }
      case 'CreateTransitGatewayVpcAttachment':
        return {
          transitGatewayVpcAttachment: vpcAttXml(world.createVpcAttachment({
            tgwId: required(q, 'TransitGatewayId'), vpcId: required(q, 'VpcId'), subnetIds: qStrList(q, 'SubnetIds'),
            tags: tagSpecs(q, 'transit-gateway-attachment'),
          })),
        }
      case 'DescribeTransitGatewayVpcAttachments': {
        let items = byIds(world.visible(world.vpcAtts()), qStrList(q, 'TransitGatewayAttachmentIds'), 'InvalidTransitGatewayAttachmentID.NotFound', 'transit gateway attachment')
        items = applyFilters(items, q, attachmentFields)
        return { transitGatewayVpcAttachments: items.map(vpcAttXml) }
      }
      case 'DeleteTransitGatewayVpcAttachment':
        return { transitGatewayVpcAttachment: vpcAttXml(world.deleteVpcAttachment(required(q, 'TransitGatewayAttachmentId'))) }
      case 'ModifyTransitGatewayVpcAttachment':
        return {
          transitGatewayVpcAttachment: vpcAttXml(world.modifyVpcAttachment(required(q, 'TransitGatewayAttachmentId'),
            qStrList(q, 'AddSubnetIds'), qStrList(q, 'RemoveSubnetIds'))),
        }
      case 'CreateTransitGatewayConnect':
        return {
          transitGatewayConnect: connectXml(world.createConnect({
            transportId: required(q, 'TransportTransitGatewayAttachmentId'), protocol: qStr(q, 'Options', 'Protocol'),
            tags: tagSpecs(q, 'transit-gateway-attachment'),
          })),
        }
      case 'DescribeTransitGatewayConnects': {
        let items = byIds(world.visible(world.connects()), qStrList(q, 'TransitGatewayAttachmentIds'), 'InvalidTransitGatewayAttachmentID.NotFound', 'transit gateway attachment')
        items = applyFilters(items, q, attachmentFields)
        return { transitGatewayConnectSet: items.map(connectXml) }
      }
      case 'DeleteTransitGatewayConnect':
        return { transitGatewayConnect: connectXml(world.deleteConnect(required(q, 'TransitGatewayAttachmentId'))) }
      case 'CreateTransitGatewayConnectPeer':
        return {
          transitGatewayConnectPeer: peerXml(world.createConnectPeer({
            attachmentId: required(q, 'TransitGatewayAttachmentId'), peerAddress: required(q, 'PeerAddress'),
            tgwAddress: qStr(q, 'TransitGatewayAddress'), insideCidrBlocks: qStrList(q, 'InsideCidrBlocks'),
            peerAsn: num(qStr(q, 'BgpOptions', 'PeerAsn'), 'BgpOptions.PeerAsn'),
            tags: tagSpecs(q, 'transit-gateway-connect-peer'),
          })),
        }
      case 'DescribeTransitGatewayConnectPeers': {
        let items = byIds(world.visible(world.peers()), qStrList(q, 'TransitGatewayConnectPeerIds'), 'InvalidTransitGatewayConnectPeerID.NotFound', 'transit gateway connect peer')
        items = applyFilters(items, q, (p, n) => ({
          'transit-gateway-attachment-id': [p.attachmentId], state: [p.state], 'transit-gateway-connect-peer-id': [p.id],
        } as Record<string, string[]>)[n])
        return { transitGatewayConnectPeerSet: items.map(peerXml) }
      }
      case 'DeleteTransitGatewayConnectPeer':
        return { transitGatewayConnectPeer: peerXml(world.deleteConnectPeer(required(q, 'TransitGatewayConnectPeerId'))) }
      case 'CreateRoute':
        world.createRoute({
          routeTableId: required(q, 'RouteTableId'), destination: required(q, 'DestinationCidrBlock'),
          transitGatewayId: qStr(q, 'TransitGatewayId'), gatewayId: qStr(q, 'GatewayId'),
        })
        return { return: true }
      case 'DeleteRoute':
        world.deleteRoute(required(q, 'RouteTableId'), required(q, 'DestinationCidrBlock'))
        return { return: true }
      case 'DescribeRouteTables': {
        let items = byIds([...world.routeTables.values()], qStrList(q, 'RouteTableId'), 'InvalidRouteTableID.NotFound', 'route table')
        items = applyFilters(items, q, (rt, n) => ({
          'vpc-id': [rt.vpcId], 'route-table-id': [rt.id], 'association.main': rt.main ? ['true'] : ['false'],
          'association.subnet-id': rt.subnetIds,
          'route.transit-gateway-id': rt.routes.flatMap((r) => r.transitGatewayId !== undefined ? [r.transitGatewayId] : []),
          'route.destination-cidr-block': rt.routes.map((r) => r.destinationCidrBlock),
        } as Record<string, string[]>)[n])
        return {
          routeTableSet: items.map((rt) => ({
            routeTableId: rt.id, vpcId: rt.vpcId, ownerId: world.accountId,
            routeSet: rt.routes.map((r) => ({
              destinationCidrBlock: r.destinationCidrBlock, gatewayId: r.gatewayId, transitGatewayId: r.transitGatewayId,
              state: world.routeState(rt, r), origin: r.origin,
            })),
            associationSet: [
              ...(rt.main ? [{ main: true, routeTableAssociationId: `rtbassoc-${rt.id.slice(4)}`, routeTableId: rt.id, associationState: { state: 'associated' } }] : []),
              ...rt.subnetIds.map((s, i) => ({ main: false, routeTableAssociationId: `rtbassoc-${rt.id.slice(4, -1)}${i}`, routeTableId: rt.id, subnetId: s, associationState: { state: 'associated' } })),
            ],
            propagatingVgwSet: [],
            tagSet: tagSet(rt.tags),
          })),
        }
      }
      case 'DescribeSubnets': {
        let items = byIds([...world.subnets.values()], qStrList(q, 'SubnetId'), 'InvalidSubnetID.NotFound', 'subnet')
        items = applyFilters(items, q, (s, n) => ({
          'vpc-id': [s.vpcId], 'subnet-id': [s.id], 'availability-zone': [s.az], 'availability-zone-id': [s.azId],
          'cidr-block': [s.cidr], state: ['available'],
        } as Record<string, string[]>)[n])
        return {
          subnetSet: items.map((s) => ({
            subnetId: s.id, subnetArn: `arn:aws:ec2:${world.region}:${world.accountId}:subnet/${s.id}`, state: 'available',
            ownerId: world.accountId, vpcId: s.vpcId, cidrBlock: s.cidr, availableIpAddressCount: 4091,
            availabilityZone: s.az, availabilityZoneId: s.azId, defaultForAz: false, mapPublicIpOnLaunch: false,
            assignIpv6AddressOnCreation: false, ipv6CidrBlockAssociationSet: [], tagSet: tagSet(s.tags),
          })),
        }
      }
      case 'CreateSecurityGroup': {
        const g = world.createSecurityGroup({
          name: qStr(q, 'GroupName'), description: qStr(q, 'GroupDescription'), vpcId: qStr(q, 'VpcId'),
          tags: tagSpecs(q, 'security-group'),
        })
        return { return: true, groupId: g.id, securityGroupArn: `arn:aws:ec2:${world.region}:${world.accountId}:security-group/${g.id}`, tagSet: tagSet(g.tags) }
      }
      case 'DescribeSecurityGroups': {
        let items = world.visible([...world.securityGroups.values()])
        const ids = qStrList(q, 'GroupId')
        const names = qStrList(q, 'GroupName')
        items = byIds(items, ids, 'InvalidGroup.NotFound', 'security group')
        if (names.length > 0) {
          const found = items.filter((g) => names.includes(g.name))
          const missing = names.filter((n) => !found.some((g) => g.name === n))
          if (missing.length > 0) throw new Ec2Error('InvalidGroup.NotFound', `The security group '${missing[0]}' does not exist`)
          items = found
        }
        items = applyFilters(items, q, (g, n) => ({
          'vpc-id': [g.vpcId], 'group-name': [g.name], 'group-id': [g.id], description: [g.description],
        } as Record<string, string[]>)[n])
        return {
          securityGroupInfo: items.map((g) => ({
            ownerId: world.accountId, groupId: g.id, groupName: g.name, groupDescription: g.description, vpcId: g.vpcId,
            securityGroupArn: `arn:aws:ec2:${world.region}:${world.accountId}:security-group/${g.id}`,
            ipPermissions: g.ingress.map((r) => ({
              ipProtocol: r.protocol, fromPort: r.fromPort, toPort: r.toPort, groups: [],
              ipRanges: [{ cidrIp: r.cidr, description: r.description }], ipv6Ranges: [], prefixListIds: [],
            })),
            ipPermissionsEgress: [{ ipProtocol: '-1', groups: [], ipRanges: [{ cidrIp: '0.0.0.0/0' }], ipv6Ranges: [], prefixListIds: [] }],
            tagSet: tagSet(g.tags),
          })),
        }
      }
      case 'DeleteSecurityGroup': {
        const g = world.deleteSecurityGroup(required(q, 'GroupId'))
        return { return: true, groupId: g.id }
      }
      case 'AuthorizeSecurityGroupIngress': {
        const added = world.authorizeIngress(required(q, 'GroupId'), ipPermissions(q))
        const groupId = qStr(q, 'GroupId') as string
        return {
          return: true,
          securityGroupRuleSet: added.map((r) => ({
            securityGroupRuleId: r.ruleId, groupId, groupOwnerId: world.accountId, isEgress: false,
            ipProtocol: r.protocol, fromPort: r.fromPort ?? -1, toPort: r.toPort ?? -1, cidrIpv4: r.cidr, description: r.description,
          })),
        }
      }
      case 'RevokeSecurityGroupIngress': {
        const { revoked, unknown } = world.revokeIngress(required(q, 'GroupId'), ipPermissions(q))
        const groupId = qStr(q, 'GroupId') as string
        return {
          return: true,
          ...(unknown.length > 0 ? { unknownIpPermissionSet: unknown.map((r) => ({ ipProtocol: r.protocol, ipRanges: [{ cidrIp: r.cidr }] })) } : {}),
          revokedSecurityGroupRuleSet: revoked.map((r) => ({
            securityGroupRuleId: r.ruleId, groupId, isEgress: false, ipProtocol: r.protocol,
            fromPort: r.fromPort ?? -1, toPort: r.toPort ?? -1, cidrIpv4: r.cidr,
          })),
        }
      }
      case 'CreateTags':
        world.createTags(qStrList(q, 'ResourceId'), qList(q, 'Tag').map(tagOf))
        return { return: true }
      default:
        throw new Ec2Error('InvalidAction', `The action ${action} is not valid for this web service.`)
    }
  }

  function injectedFault(action: string): Ec2Error | undefined {
    if (faults.throttleNext > 0) {
      faults.throttleNext--
      return new Ec2Error('RequestLimitExceeded', 'Request limit exceeded.', 503)
    }
    if (faults.throttleRate > 0 && rand() < faults.throttleRate) return new Ec2Error('RequestLimitExceeded', 'Request limit exceeded.', 503)
    const i = faults.failOnce.findIndex((f) => f.action === action)
    if (i >= 0) {
      const f = faults.failOnce[i] as FailOnce
      if ((f.times ?? 1) <= 1) faults.failOnce.splice(i, 1)
      else f.times = (f.times ?? 1) - 1
      return new Ec2Error(f.code, f.message ?? `Injected failure of ${action}.`, f.status ?? 400)
    }
    return undefined
  }

  function control(req: http.IncomingMessage, body: string, res: http.ServerResponse): void {
    const send = (status: number, obj: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(obj, null, 1))
    }
    let j: Record<string, unknown> = {}
    try { if (body.trim() !== '') j = JSON.parse(body) as Record<string, unknown> } catch { send(400, { error: 'body is not JSON' }); return }
    const path = (req.url ?? '').split('?')[0]
    try {
      switch (`${req.method} ${path}`) {
        case 'GET /_emulator/state': send(200, world.dump()); return
        case 'GET /_emulator/counts': send(200, world.counts()); return
        case 'POST /_emulator/advance': world.advance(Number(j.ms ?? 0)); send(200, { now: new Date(world.now()).toISOString() }); return
        case 'POST /_emulator/faults':
          if (typeof j.throttleNext === 'number') faults.throttleNext = j.throttleNext
          if (typeof j.throttleRate === 'number') faults.throttleRate = j.throttleRate
          if (j.failOnce !== undefined) faults.failOnce.push(j.failOnce as FailOnce)
          send(200, faults); return
        case 'POST /_emulator/bgp':
          world.setBgpStatus(String(j.connectPeerId), j.status === 'up' ? 'up' : 'down', typeof j.transitGatewayAddress === 'string' ? j.transitGatewayAddress : undefined); send(200, { ok: true }); return
        case 'POST /_emulator/config':
          if (typeof j.availableDelayMs === 'number') world.availableDelayMs = j.availableDelayMs
          if (typeof j.deletingDelayMs === 'number') world.deletingDelayMs = j.deletingDelayMs
          if (typeof j.bgpUpWhenAvailable === 'boolean') world.bgpUpWhenAvailable = j.bgpUpWhenAvailable
          if (typeof j.describeLagMs === 'number') world.describeLagMs = j.describeLagMs
          send(200, { ok: true }); return
        default: send(404, { error: `no such emulator endpoint: ${req.method} ${path}` })
      }
    } catch (e) {
      send(400, { error: (e as Error).message })
    }
  }

  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      if ((req.url ?? '').startsWith('/_emulator/')) { control(req, body, res); return }
      const requestId = randomUUID()
      const q = req.method === 'POST' ? parseQuery(body) : parseQuery((req.url ?? '').split('?')[1] ?? '')
      const action = qStr(q, 'Action') ?? ''
      calls.set(action, (calls.get(action) ?? 0) + 1)
      let status = 200
      let xml: string
      let code = 'ok'
      try {
        if (!ACTIONS.has(action)) throw new Ec2Error('InvalidAction', `The action ${action || '(none)'} is not valid for this web service.`)
        if (qStr(q, 'Version') !== '2016-11-15') throw new Ec2Error('InvalidParameterValue', `Unsupported API version ${qStr(q, 'Version')}.`)
        const fault = injectedFault(action)
        if (fault !== undefined) throw fault
        xml = responseXml(action, requestId, dispatch(action, q))
      } catch (e) {
        const err = e instanceof Ec2Error ? e : new Ec2Error('InternalError', `An internal error has occurred: ${(e as Error).message}`, 500)
        status = err.status
        code = err.code
        xml = errorXml(err.code, err.message, requestId)
      }
      opts.onRequest?.(action, code)
      res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId })
      res.end(xml)
    })
  }
  return { world, faults, calls, handler }
}

/** Starts the emulator on host:port (port 0: any free port). */
export async function startEc2Emulator(opts: Ec2EmulatorOptions = {}): Promise<Ec2Emulator> {
  const { world, faults, calls, handler } = createEc2Emulator(opts)
  const server = http.createServer(handler)
  server.keepAliveTimeout = 1000
  const host = opts.host ?? '127.0.0.1'
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, host, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  return {
    endpoint: `http://${host}:${port}`, port, world, faults, calls,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}
