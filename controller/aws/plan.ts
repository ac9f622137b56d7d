/**
 * The AWS reconciler's pure half: spec validation, the snapshot of what EC2 holds (plain data), and
 * the planner, a pure function of desired + snapshot -> the actions that bring EC2 closer, what is
 * being waited for, and the AwsObserved status. No EC2 call and no clock here; controller/aws/
 * execute.ts observes and executes, controller/aws/reconcile.ts runs the passes.
 *
 * Ownership: before planning a create, the planner looks for a resource carrying our uid tag, so a
 * create whose answer was lost is adopted on the next pass instead of repeated. A transit gateway
 * or VPC attachment without our tag is foreign: used, never modified or deleted. A route or security
 * group held by someone else is a Conflict, never overwritten.
 *
 * Inside CIDRs: given per node, or the lowest free /29 of 169.254.0.0/16 that is not reserved and
 * not used by any Connect peer on the TGW (ours or not); same for the optional fd00::/125.
 * Peer ASN equal to the TGW ASN is refused (iBGP: the TGW would not install the routes).
 */
import type {
  AwsDesired, AwsDesiredNode, AwsObserved, ObservedConnectPeer, ObservedRoute, ObservedSecurityGroup,
} from './types.js'
import { MAX_CONNECT_PEERS, OwnerTag } from './types.js'
import {
  allocateInside4, allocateInside6, canonicalCidr6, cidrContains, cidrOverlap, insideAddresses4, insideAddresses6,
  insideCidr4Problem, insideCidr6Problem, LINK_LOCAL, parseCidr4,
} from './cidr.js'
import { ipFamilyOf, isIpv4, parseIpv4 } from '../../src/lib/address.js'

// ---------------------------------------------------------------------------------------------
// Validation

export interface AwsSpecProblem { field: string, message: string }

const ASN_OK = (n: number): boolean => Number.isInteger(n) && ((n >= 64512 && n <= 65534) || (n >= 4200000000 && n <= 4294967294))

/** Every problem of a desired state, each naming the field: empty when AWS would accept it. */
export function validateAwsDesired(d: AwsDesired): AwsSpecProblem[] {
  const out: AwsSpecProblem[] = []
  const bad = (field: string, message: string): void => { out.push({ field, message }) }
  if (!d.owner?.namespace) bad('owner.namespace', 'is empty')
  if (!d.owner?.name) bad('owner.name', 'is empty')
  if (!d.owner?.uid) bad('owner.uid', 'is empty')
  if (!/^[a-z]{2}(-[a-z]+)+-[0-9]+$/.test(d.region ?? '')) bad('region', `"${d.region}" is not an AWS region name (e.g. eu-west-1)`)
  if (!/^vpc-[0-9a-f]{8,17}$/.test(d.vpcId ?? '')) bad('vpcId', `"${d.vpcId}" is not a VPC id (vpc-<hex>)`)
  if (d.transitGatewayId !== undefined && !/^tgw-[0-9a-f]{8,17}$/.test(d.transitGatewayId)) {
    bad('transitGatewayId', `"${d.transitGatewayId}" is not a transit gateway id (tgw-<hex>)`)
  }
  if (!ASN_OK(d.amazonSideAsn)) bad('amazonSideAsn', `${d.amazonSideAsn} is outside 64512-65534 and 4200000000-4294967294`)
  const tgwCidr = parseCidr4(d.transitGatewayCidrBlock ?? '')
  if (tgwCidr === undefined) bad('transitGatewayCidrBlock', `"${d.transitGatewayCidrBlock}" is not an IPv4 CIDR block without host bits`)
  else if (tgwCidr.len > 24) bad('transitGatewayCidrBlock', `${d.transitGatewayCidrBlock} is smaller than /24 (AWS wants /24 or larger)`)
  else if (cidrOverlap(tgwCidr, LINK_LOCAL)) bad('transitGatewayCidrBlock', `${d.transitGatewayCidrBlock} overlaps 169.254.0.0/16`)
  if (d.vpcAttachmentSubnetIds !== undefined) {
    if (d.vpcAttachmentSubnetIds.length === 0) bad('vpcAttachmentSubnetIds', 'is empty (omit it to discover subnets from the nodes)')
    d.vpcAttachmentSubnetIds.forEach((s, i) => { if (!/^subnet-[0-9a-f]{8,17}$/.test(s)) bad(`vpcAttachmentSubnetIds[${i}]`, `"${s}" is not a subnet id`) })
  }
  d.routeTableIds?.forEach((s, i) => { if (!/^rtb-[0-9a-f]{8,17}$/.test(s)) bad(`routeTableIds[${i}]`, `"${s}" is not a route table id`) })
  if (!Array.isArray(d.exposedCidrs)) bad('exposedCidrs', 'must be a list')
  else {
    d.exposedCidrs.forEach((c, i) => {
      const p = parseCidr4(c)
      if (p === undefined) bad(`exposedCidrs[${i}]`, `"${c}" is not an IPv4 CIDR block without host bits`)
      else if (tgwCidr !== undefined && cidrOverlap(p, tgwCidr)) bad(`exposedCidrs[${i}]`, `${c} overlaps the transit gateway CIDR block ${d.transitGatewayCidrBlock}`)
    })
  }
  if (!Array.isArray(d.nodes)) bad('nodes', 'must be a list')
  else {
    const names = new Set<string>()
    const ips = new Set<string>()
    const inside = new Set<string>()
    d.nodes.forEach((n, i) => {
      const f = `nodes[${i}]`
      if (!n.name) bad(`${f}.name`, 'is empty')
      else if (names.has(n.name)) bad(`${f}.name`, `node ${n.name} is listed twice`)
      names.add(n.name)
      if (!isIpv4(n.nodeIp ?? '')) bad(`${f}.nodeIp`, `"${n.nodeIp}" is not an IPv4 address`)
      else if (ips.has(n.nodeIp)) bad(`${f}.nodeIp`, `${n.nodeIp} is used by two nodes`)
      ips.add(n.nodeIp)
      if (!Number.isInteger(n.peerAsn) || n.peerAsn < 1 || n.peerAsn > 4294967294) bad(`${f}.peerAsn`, `${n.peerAsn} is not a valid ASN (1-4294967294)`)
      else if (d.transitGatewayId === undefined && n.peerAsn === d.amazonSideAsn) {
        bad(`${f}.peerAsn`, `${n.peerAsn} equals the transit gateway's ASN: that makes the sessions iBGP and the TGW would not install the routes; use a different ASN`)
      }
      if (n.insideCidr !== undefined) {
        const p = insideCidr4Problem(n.insideCidr)
        if (p !== undefined) bad(`${f}.insideCidr`, p)
        else if (inside.has(n.insideCidr)) bad(`${f}.insideCidr`, `${n.insideCidr} is wanted by two nodes (inside blocks are unique per TGW)`)
        inside.add(n.insideCidr)
      }
      if (n.insideCidrIpv6 !== undefined) {
        if (d.ipv6Inside !== true) bad(`${f}.insideCidrIpv6`, 'is set but ipv6Inside is not')
        const p = insideCidr6Problem(n.insideCidrIpv6)
        if (p !== undefined) bad(`${f}.insideCidrIpv6`, p)
      }
    })
  }
  if (d.securityGroupName !== undefined && (d.securityGroupName === '' || d.securityGroupName.length > 255 || /^sg-/i.test(d.securityGroupName) || d.securityGroupName === 'default')) {
    bad('securityGroupName', `"${d.securityGroupName}" is not a valid security group name (1-255 chars, not "default", not starting with sg-)`)
  }
  return out
}


// ---------------------------------------------------------------------------------------------
// Snapshot: what the Describe calls returned, trimmed to plain data.

export interface SnapTgw { id: string, state: string, asn: number, cidrBlocks: string[], owned: boolean, createdAt: number }
export interface SnapAttachment { id: string, state: string, tgwId: string, owned: boolean, createdAt: number, vpcId?: string, subnetIds?: string[], transportId?: string }
export interface SnapPeer {
  id: string, state: string, attachmentId: string, owned: boolean, node: string | undefined, createdAt: number
  peerAddress: string, tgwAddress: string, insideCidrBlocks: string[], peerAsn: number, tgwAsn: number
  bgp: Array<{ transitGatewayAddress: string, peerAddress: string, transitGatewayAsn: number, peerAsn: number, bgpStatus: string }>
}
export interface SnapRoute { destination: string, transitGatewayId?: string, otherTarget?: string, state: string }
export interface SnapRouteTable { id: string, routes: SnapRoute[] }
export interface SnapSecurityGroup { id: string, name: string, owned: boolean, ingress: Array<{ protocol: string, cidr: string }> }
export interface SnapSubnet { id: string, az: string, cidr: string }

export interface AwsSnapshot {
  /** Emulator/AWS-independent clock used for ages (ms). */
  now: number
  /** Error found while observing (e.g. the given TGW does not exist). */
  observeError?: { reason: string, message: string }
  /** The TGW in use: the given one, or the oldest of ours. */
  tgw?: SnapTgw
  /** Every non-deleted TGW tagged ours (normally at most one). */
  ownedTgws: SnapTgw[]
  /** Non-deleted VPC attachments in our VPC (ours, plus any on our TGW). */
  vpcAttachments: SnapAttachment[]
  /** Non-deleted Connect attachments on the TGW (ours and foreign). */
  connects: SnapAttachment[]
  /** Non-deleted Connect peers on the TGW's Connect attachments (ours and foreign: for inside allocation). */
  peers: SnapPeer[]
  /** Route tables in scope (given, or all of the VPC). */
  routeTables: SnapRouteTable[]
  securityGroup?: SnapSecurityGroup
  /** Subnets of the VPC (only when discovery is needed). */
  subnets?: SnapSubnet[]
}

// ---------------------------------------------------------------------------------------------
// Plan: pure.

export type AwsAction =
  | { kind: 'createTransitGateway' }
  | { kind: 'addTgwCidrBlock', tgwId: string, cidr: string }
  | { kind: 'createVpcAttachment', tgwId: string, subnetIds: string[] }
  | { kind: 'addVpcAttachmentSubnets', id: string, subnetIds: string[] }
  | { kind: 'createConnect', transportId: string }
  | { kind: 'createConnectPeer', connectId: string, node: AwsDesiredNode, insideCidrBlocks: string[] }
  | { kind: 'deleteConnectPeer', peerId: string, node: string | undefined, why: string }
  | { kind: 'createRoute', routeTableId: string, destination: string, tgwId: string }
  | { kind: 'deleteRoute', routeTableId: string, destination: string }
  | { kind: 'createSecurityGroup' }
  | { kind: 'authorizeIngress', groupId: string, rules: Array<{ protocol: string, cidr: string }> }
  | { kind: 'revokeIngress', groupId: string, rules: Array<{ protocol: string, cidr: string }> }
  | { kind: 'deleteConnect', id: string }
  | { kind: 'deleteVpcAttachment', id: string }
  | { kind: 'deleteTransitGateway', id: string }
  | { kind: 'deleteSecurityGroup', id: string }

export interface AwsPlan {
  actions: AwsAction[]
  /** Human-readable reasons we are waiting (pending resources), oldest age for backoff. */
  waiting: string[]
  /** Age in ms of the youngest pending resource (drives the requeue delay). */
  pendingAgeMs?: number
  observed: Omit<AwsObserved, 'actions'>
}

export function describeAction(a: AwsAction): string {
  switch (a.kind) {
    case 'createTransitGateway': return 'CreateTransitGateway'
    case 'addTgwCidrBlock': return `ModifyTransitGateway ${a.tgwId} add ${a.cidr}`
    case 'createVpcAttachment': return `CreateTransitGatewayVpcAttachment ${a.tgwId} ${a.subnetIds.join(',')}`
    case 'addVpcAttachmentSubnets': return `ModifyTransitGatewayVpcAttachment ${a.id} add ${a.subnetIds.join(',')}`
    case 'createConnect': return `CreateTransitGatewayConnect over ${a.transportId}`
    case 'createConnectPeer': return `CreateTransitGatewayConnectPeer node ${a.node.name} ${a.node.nodeIp} ${a.insideCidrBlocks.join(',')}`
    case 'deleteConnectPeer': return `DeleteTransitGatewayConnectPeer ${a.peerId} (${a.why})`
    case 'createRoute': return `CreateRoute ${a.routeTableId} ${a.destination} -> ${a.tgwId}`
    case 'deleteRoute': return `DeleteRoute ${a.routeTableId} ${a.destination}`
    case 'createSecurityGroup': return 'CreateSecurityGroup'
    case 'authorizeIngress': return `AuthorizeSecurityGroupIngress ${a.groupId} ${a.rules.map((r) => `${r.protocol}:${r.cidr}`).join(',')}`
    case 'revokeIngress': return `RevokeSecurityGroupIngress ${a.groupId} ${a.rules.map((r) => `${r.protocol}:${r.cidr}`).join(',')}`
    case 'deleteConnect': return `DeleteTransitGatewayConnect ${a.id}`
    case 'deleteVpcAttachment': return `DeleteTransitGatewayVpcAttachment ${a.id}`
    case 'deleteTransitGateway': return `DeleteTransitGateway ${a.id}`
    case 'deleteSecurityGroup': return `DeleteSecurityGroup ${a.id}`
  }
}

const PENDINGISH = new Set(['pending', 'modifying', 'pendingAcceptance', 'initiatingRequest', 'initiating'])

function observedPeer(p: SnapPeer, node: string): ObservedConnectPeer {
  const v4 = p.insideCidrBlocks.find((b) => ipFamilyOf(b) === 4)
  const v6 = p.insideCidrBlocks.find((b) => ipFamilyOf(b) === 6)
  const a4 = v4 !== undefined ? insideAddresses4(v4) : { appliance: '', tgw: [] }
  const out: ObservedConnectPeer = {
    node, connectPeerId: p.id, state: p.state, peerAddress: p.peerAddress, transitGatewayAddresses: p.tgwAddress ? [p.tgwAddress] : [],
    insideCidrBlocks: p.insideCidrBlocks, applianceInsideAddress: a4.appliance, transitGatewayInsideAddresses: a4.tgw,
    transitGatewayAsn: p.tgwAsn, peerAsn: p.peerAsn, bgp: p.bgp,
  }
  if (v6 !== undefined) {
    const a6 = insideAddresses6(v6)
    out.applianceInsideAddressIpv6 = a6.appliance
    out.transitGatewayInsideAddressesIpv6 = a6.tgw
  }
  return out
}

/** The security group rules we want: everything from each exposed CIDR, and GRE (47) from the TGW CIDR block. */
export function desiredIngress(d: AwsDesired): Array<{ protocol: string, cidr: string }> {
  return [...new Set(d.exposedCidrs)].map((cidr) => ({ protocol: '-1', cidr })).concat([{ protocol: '47', cidr: d.transitGatewayCidrBlock }])
}

/**
 * Pure: from desired + snapshot, the next EC2 actions (all independent of each other, safe to run
 * in any order within one pass) and the observed status.
 */
export function planAws(d: AwsDesired, s: AwsSnapshot): AwsPlan {
  const actions: AwsAction[] = []
  const waiting: string[] = []
  const problems: string[] = []
  let pendingAgeMs: number | undefined
  const pending = (what: string, createdAt: number): void => {
    waiting.push(what)
    const age = Math.max(0, s.now - createdAt)
    pendingAgeMs = pendingAgeMs === undefined ? age : Math.min(pendingAgeMs, age)
  }
  const wanted = d.nodes.slice(0, MAX_CONNECT_PEERS)
  const observed: Omit<AwsObserved, 'actions'> = {
    ready: false, reason: 'Pending', message: '', peers: [], routes: [],
    nodesWithoutPeer: d.nodes.slice(MAX_CONNECT_PEERS).map((n) => n.name),
  }
  const finish = (reason: string | undefined, message?: string): AwsPlan => {
    if (reason !== undefined) {
      observed.ready = false
      observed.reason = reason
      observed.message = message ?? ''
      return { actions: [], waiting, observed }
    }
    const extra = observed.nodesWithoutPeer.length > 0 && d.nodes.length > MAX_CONNECT_PEERS
      ? ` Nodes beyond the AWS limit of ${MAX_CONNECT_PEERS} Connect peers get none: ${d.nodes.slice(MAX_CONNECT_PEERS).map((n) => n.name).join(', ')}.` : ''
    if (problems.length > 0) {
      observed.ready = false
      observed.reason = 'Conflict'
      observed.message = problems.join(' ') + extra
    } else if (actions.length > 0 || waiting.length > 0) {
      observed.ready = false
      observed.reason = 'Pending'
      observed.message = `Waiting for: ${[...actions.map(describeAction), ...waiting].join('; ')}.${extra}`
    } else {
      observed.ready = true
      observed.reason = 'Ready'
      observed.message = `Transit gateway ${observed.transitGateway?.id} is available with ${observed.peers.length} Connect peer(s) and ${observed.routes.length} route(s).${extra}`
    }
    return { actions, waiting, ...(pendingAgeMs !== undefined ? { pendingAgeMs } : {}), observed }
  }

  const specProblems = validateAwsDesired(d)
  if (specProblems.length > 0) return finish('InvalidSpec', specProblems.map((p) => `spec.${p.field}: ${p.message}`).join('; '))
  if (s.observeError !== undefined) return finish(s.observeError.reason, s.observeError.message)

  // Security group: independent of everything else.
  const sgName = d.securityGroupName ?? 'gsi-sg'
  if (s.securityGroup === undefined) actions.push({ kind: 'createSecurityGroup' })
  else if (!s.securityGroup.owned) {
    problems.push(`Security group ${sgName} (${s.securityGroup.id}) exists in ${d.vpcId} but is not tagged ${OwnerTag.uid}=${d.owner.uid}: rename ours with spec.securityGroupName, or delete or tag that one.`)
  } else {
    const have = s.securityGroup.ingress
    const want = desiredIngress(d)
    const key = (r: { protocol: string, cidr: string }): string => `${r.protocol}:${r.cidr}`
    const missing = want.filter((w) => !have.some((h) => key(h) === key(w)))
    const extra = have.filter((h) => !want.some((w) => key(h) === key(w)))
    if (missing.length > 0) actions.push({ kind: 'authorizeIngress', groupId: s.securityGroup.id, rules: missing })
    if (extra.length > 0) actions.push({ kind: 'revokeIngress', groupId: s.securityGroup.id, rules: extra })
    const sgObs: ObservedSecurityGroup = { id: s.securityGroup.id, name: s.securityGroup.name, ingress: have.map(key) }
    observed.securityGroup = sgObs
  }

  // Transit gateway.
  const tgw = s.tgw
  if (tgw === undefined) {
    actions.push({ kind: 'createTransitGateway' })
    return finish(undefined)
  }
  observed.transitGateway = { id: tgw.id, state: tgw.state, asn: tgw.asn, cidrBlocks: tgw.cidrBlocks, owned: tgw.owned }
  if (PENDINGISH.has(tgw.state)) { pending(`transit gateway ${tgw.id} ${tgw.state}`, tgw.createdAt); return finish(undefined) }
  if (tgw.state !== 'available') {
    return finish('AwsError', `Transit gateway ${tgw.id} is ${tgw.state}; it must be available. ${tgw.owned ? 'Delete the TransitGateway object to clean it up.' : 'Choose another spec.transitGatewayId.'}`)
  }
  for (const n of wanted) {
    if (n.peerAsn === tgw.asn) {
      return finish('InvalidSpec', `spec: node ${n.name} has peer ASN ${n.peerAsn}, equal to transit gateway ${tgw.id}'s ASN: the sessions would be iBGP and the TGW would not install their routes; give the daemon a different ASN.`)
    }
  }
  if (tgw.owned && tgw.asn !== d.amazonSideAsn) {
    problems.push(`Transit gateway ${tgw.id} has ASN ${tgw.asn} but spec.amazonSideAsn is ${d.amazonSideAsn}: the ASN of an existing TGW is not changed; set spec.amazonSideAsn to ${tgw.asn}.`)
  }
  if (!tgw.cidrBlocks.includes(d.transitGatewayCidrBlock)) {
    if (tgw.owned) {
      actions.push({ kind: 'addTgwCidrBlock', tgwId: tgw.id, cidr: d.transitGatewayCidrBlock })
      return finish(undefined)
    }
    return finish('NotOwned', `Transit gateway ${tgw.id} is not ours (no ${OwnerTag.uid}=${d.owner.uid} tag) and lacks CIDR block ${d.transitGatewayCidrBlock}; we never modify a foreign TGW: add the block to it, or use one of its blocks (${tgw.cidrBlocks.join(', ') || 'none'}) in spec.transitGatewayCidrBlock.`)
  }

  // VPC attachment: ours, or the one (foreign) attachment of our VPC on this TGW.
  const vpcAtt = s.vpcAttachments.find((a) => a.tgwId === tgw.id && a.vpcId === d.vpcId && a.state !== 'deleting')
  let subnetIds = d.vpcAttachmentSubnetIds
  if (subnetIds === undefined) {
    const byAz = new Map<string, string>()
    const lost: string[] = []
    for (const n of wanted) {
      const ip = parseIpv4(n.nodeIp, `nodes[${n.name}].nodeIp`)
      const sub = (s.subnets ?? []).find((x) => { const c = parseCidr4(x.cidr); return c !== undefined && cidrContains(c, ip) })
      if (sub === undefined) lost.push(`${n.name} (${n.nodeIp})`)
      else if (!byAz.has(sub.az)) byAz.set(sub.az, sub.id)
    }
    if (lost.length > 0) return finish('InvalidSpec', `Nodes ${lost.join(', ')} are in no subnet of ${d.vpcId}: check the node IPs or give spec.vpcAttachmentSubnetIds.`)
    subnetIds = [...byAz.values()].sort()
  }
  if (vpcAtt === undefined) {
    if (subnetIds.length === 0) return finish('Pending', 'No node yet: the VPC attachment needs subnets; label a node or give spec.vpcAttachmentSubnetIds.')
    actions.push({ kind: 'createVpcAttachment', tgwId: tgw.id, subnetIds })
    return finish(undefined)
  }
  observed.vpcAttachment = { id: vpcAtt.id, state: vpcAtt.state, subnetIds: vpcAtt.subnetIds ?? [] }
  if (PENDINGISH.has(vpcAtt.state)) { pending(`VPC attachment ${vpcAtt.id} ${vpcAtt.state}`, vpcAtt.createdAt); return finish(undefined) }
  if (vpcAtt.state !== 'available') return finish('AwsError', `VPC attachment ${vpcAtt.id} is ${vpcAtt.state}; it must be available.`)
  // Every AZ with a node needs a subnet in the attachment, or that node cannot reach the TGW.
  const azOf = (id: string): string | undefined => s.subnets?.find((x) => x.id === id)?.az
  const attached = vpcAtt.subnetIds ?? []
  const missingSubnets = subnetIds.filter((x) => !attached.includes(x) &&
    (d.vpcAttachmentSubnetIds !== undefined || !attached.some((y) => azOf(y) !== undefined && azOf(y) === azOf(x))))
  if (missingSubnets.length > 0) {
    if (vpcAtt.owned) actions.push({ kind: 'addVpcAttachmentSubnets', id: vpcAtt.id, subnetIds: missingSubnets })
    else problems.push(`VPC attachment ${vpcAtt.id} is not ours and lacks subnets ${missingSubnets.join(', ')}: add them to it (we never modify it).`)
  }

  // Routes (need the VPC attachment): exposed CIDRs and the TGW CIDR block, in every route table in scope.
  const wantDest = new Map<string, ObservedRoute['purpose']>()
  for (const c of d.exposedCidrs) wantDest.set(c, 'exposed-cidr')
  wantDest.set(d.transitGatewayCidrBlock, 'tgw-cidr-block')
  for (const rt of s.routeTables) {
    for (const [dest, purpose] of wantDest) {
      const r = rt.routes.find((x) => x.destination === dest)
      if (r === undefined) {
        actions.push({ kind: 'createRoute', routeTableId: rt.id, destination: dest, tgwId: tgw.id })
        observed.routes.push({ routeTableId: rt.id, destinationCidrBlock: dest, state: 'missing', purpose })
      } else if (r.transitGatewayId !== tgw.id) {
        const target = r.transitGatewayId ?? r.otherTarget ?? 'unknown'
        observed.routes.push({ routeTableId: rt.id, destinationCidrBlock: dest, state: 'conflict', purpose, conflictTarget: target })
        problems.push(`Route table ${rt.id} already routes ${dest} to ${target}; we do not overwrite it: remove that route or drop ${rt.id} from spec.routeTableIds.`)
      } else {
        observed.routes.push({ routeTableId: rt.id, destinationCidrBlock: dest, state: r.state, purpose })
        if (r.state !== 'active') waiting.push(`route ${rt.id} ${dest} is ${r.state}`)
      }
    }
    if (tgw.owned) {
      for (const r of rt.routes) {
        if (r.transitGatewayId === tgw.id && !wantDest.has(r.destination)) {
          actions.push({ kind: 'deleteRoute', routeTableId: rt.id, destination: r.destination })
        }
      }
    }
  }

  // Connect attachment over the VPC attachment.
  const connect = s.connects.find((c) => c.owned && c.tgwId === tgw.id && c.state !== 'deleting')
  if (connect === undefined) {
    actions.push({ kind: 'createConnect', transportId: vpcAtt.id })
    observed.nodesWithoutPeer = d.nodes.map((n) => n.name)
    return finish(undefined)
  }
  observed.connectAttachment = { id: connect.id, state: connect.state }
  if (PENDINGISH.has(connect.state)) {
    pending(`Connect attachment ${connect.id} ${connect.state}`, connect.createdAt)
    observed.nodesWithoutPeer = d.nodes.map((n) => n.name)
    return finish(undefined)
  }
  if (connect.state !== 'available') return finish('AwsError', `Connect attachment ${connect.id} is ${connect.state}; it must be available.`)

  // Connect peers: one per wanted node; delete those of nodes gone or whose parameters changed.
  const onAttachment = s.peers.filter((p) => p.attachmentId === connect.id)
  const mine = onAttachment.filter((p) => p.owned)
  const deleting = new Set<string>()
  for (const p of mine) {
    if (p.state === 'deleting') continue
    const n = wanted.find((w) => w.name === p.node)
    let why: string | undefined
    if (n === undefined) why = `node ${p.node ?? '(untagged)'} no longer wanted`
    else if (p.state === 'failed' || p.state === 'rejected') why = `peer of node ${n.name} is ${p.state}: recreating it`
    else if (mine.some((q) => q !== p && q.node === p.node && q.state !== 'deleting' && (q.createdAt < p.createdAt || (q.createdAt === p.createdAt && q.id < p.id)))) why = `duplicate peer for node ${n.name}`
    else if (p.peerAddress !== n.nodeIp) why = `node ${n.name} IP changed ${p.peerAddress} -> ${n.nodeIp}`
    else if (p.peerAsn !== n.peerAsn) why = `node ${n.name} ASN changed ${p.peerAsn} -> ${n.peerAsn}`
    else if (n.insideCidr !== undefined && !p.insideCidrBlocks.includes(n.insideCidr)) why = `node ${n.name} inside CIDR changed to ${n.insideCidr}`
    else if ((d.ipv6Inside === true) !== p.insideCidrBlocks.some((b) => ipFamilyOf(b) === 6)) why = `node ${n.name} IPv6 inside block ${d.ipv6Inside === true ? 'wanted' : 'not wanted'}`
    else if (n.insideCidrIpv6 !== undefined && !p.insideCidrBlocks.includes(canonicalCidr6(n.insideCidrIpv6))) why = `node ${n.name} IPv6 inside CIDR changed`
    if (why !== undefined) {
      actions.push({ kind: 'deleteConnectPeer', peerId: p.id, node: p.node, why })
      deleting.add(p.id)
    }
  }
  const kept = mine.filter((p) => p.state !== 'deleting' && !deleting.has(p.id))
  // Every non-deleted peer on the attachment counts against AWS's limit of 4 until it is deleted.
  let capacity = MAX_CONNECT_PEERS - onAttachment.length
  const used4 = new Set(s.peers.flatMap((p) => p.insideCidrBlocks.filter((b) => ipFamilyOf(b) === 4)))
  const used6 = new Set(s.peers.flatMap((p) => p.insideCidrBlocks.filter((b) => ipFamilyOf(b) === 6)))
  const without: string[] = []
  for (const n of wanted) {
    const p = kept.find((k) => k.node === n.name)
    if (p !== undefined) {
      observed.peers.push(observedPeer(p, n.name))
      if (PENDINGISH.has(p.state)) pending(`Connect peer ${p.id} (${n.name}) ${p.state}`, p.createdAt)
      else if (p.state !== 'available') problems.push(`Connect peer ${p.id} of node ${n.name} is ${p.state}.`)
      continue
    }
    without.push(n.name)
    if (capacity <= 0) {
      waiting.push(`a free Connect peer slot for node ${n.name} (peers being deleted still count)`)
      continue
    }
    let inside4 = n.insideCidr
    if (inside4 !== undefined && used4.has(inside4)) {
      problems.push(`Inside CIDR ${inside4} wanted by node ${n.name} is already used on transit gateway ${tgw.id}: pick another or omit it.`)
      continue
    }
    inside4 ??= allocateInside4(used4)
    if (inside4 === undefined) { problems.push(`No free inside /29 left on ${tgw.id}.`); continue }
    used4.add(inside4)
    const blocks = [inside4]
    if (d.ipv6Inside === true) {
      let inside6 = n.insideCidrIpv6 !== undefined ? canonicalCidr6(n.insideCidrIpv6) : undefined
      if (inside6 !== undefined && used6.has(inside6)) {
        problems.push(`IPv6 inside CIDR ${inside6} wanted by node ${n.name} is already used on ${tgw.id}.`)
        continue
      }
      inside6 ??= allocateInside6(used6)
      if (inside6 === undefined) { problems.push(`No free inside /125 left on ${tgw.id}.`); continue }
      used6.add(inside6)
      blocks.push(inside6)
    }
    actions.push({ kind: 'createConnectPeer', connectId: connect.id, node: n, insideCidrBlocks: blocks })
    capacity--
  }
  for (const p of mine) if (p.state === 'deleting') pending(`Connect peer ${p.id} deleting`, s.now)
  observed.nodesWithoutPeer = [...without, ...d.nodes.slice(MAX_CONNECT_PEERS).map((n) => n.name)]
  return finish(undefined)
}

/** Pure: the next deletion steps, in reverse order of creation, one layer at a time. */
export function planAwsDeletion(d: AwsDesired, s: AwsSnapshot): { actions: AwsAction[], waiting: string[], remaining: string[], blocked: string[] } {
  const actions: AwsAction[] = []
  const waiting: string[] = []
  const blocked: string[] = []
  const remaining: string[] = []
  const uidTgws = new Map(s.ownedTgws.map((t) => [t.id, t]))
  if (s.tgw !== undefined) uidTgws.set(s.tgw.id, s.tgw)
  const ourTgwIds = new Set([...uidTgws.values()].map((t) => t.id))
  const wantDest = new Set([...d.exposedCidrs, d.transitGatewayCidrBlock])

  // 1. Routes to our TGW(s).
  for (const rt of s.routeTables) {
    for (const r of rt.routes) {
      if (r.transitGatewayId === undefined || !ourTgwIds.has(r.transitGatewayId)) continue
      const owned = uidTgws.get(r.transitGatewayId)?.owned === true
      if (owned || wantDest.has(r.destination)) {
        actions.push({ kind: 'deleteRoute', routeTableId: rt.id, destination: r.destination })
        remaining.push(`route ${rt.id} ${r.destination}`)
      }
    }
  }
  // 2. Connect peers (ours).
  const peers = s.peers.filter((p) => p.owned)
  for (const p of peers) {
    remaining.push(`connect-peer ${p.id} ${p.state}`)
    if (p.state === 'deleting') waiting.push(`Connect peer ${p.id} deleting`)
    else actions.push({ kind: 'deleteConnectPeer', peerId: p.id, node: p.node, why: 'TransitGateway deleted' })
  }
  const connects = s.connects.filter((c) => c.owned)
  for (const c of connects) remaining.push(`connect-attachment ${c.id} ${c.state}`)
  const vpcAtts = s.vpcAttachments.filter((a) => a.owned)
  for (const a of vpcAtts) remaining.push(`vpc-attachment ${a.id} ${a.state}`)
  const tgws = [...uidTgws.values()].filter((t) => t.owned)
  for (const t of tgws) remaining.push(`transit-gateway ${t.id} ${t.state}`)
  if (s.securityGroup?.owned === true) remaining.push(`security-group ${s.securityGroup.id}`)
  if (actions.length > 0 || peers.length > 0) return { actions, waiting, remaining, blocked }

  // 3. Connect attachments (once all their peers are gone).
  for (const c of connects) {
    if (s.peers.some((p) => p.attachmentId === c.id)) { blocked.push(`Connect attachment ${c.id} still has Connect peers that are not ours: ${s.peers.filter((p) => p.attachmentId === c.id).map((p) => p.id).join(', ')}`); continue }
    if (c.state === 'deleting') waiting.push(`Connect attachment ${c.id} deleting`)
    else actions.push({ kind: 'deleteConnect', id: c.id })
  }
  if (connects.length > 0) return { actions, waiting, remaining, blocked }

  // 4. VPC attachments (ours).
  for (const a of vpcAtts) {
    const deps = s.connects.filter((c) => c.transportId === a.id)
    if (deps.length > 0) { blocked.push(`VPC attachment ${a.id} carries Connect attachments that are not ours: ${deps.map((c) => c.id).join(', ')}`); continue }
    if (a.state === 'deleting') waiting.push(`VPC attachment ${a.id} deleting`)
    else actions.push({ kind: 'deleteVpcAttachment', id: a.id })
  }
  if (vpcAtts.length > 0) return { actions, waiting, remaining, blocked }

  // 5. The transit gateway, if ours and nothing else is attached to it.
  for (const t of tgws) {
    const others = [...s.vpcAttachments, ...s.connects].filter((a) => a.tgwId === t.id)
    if (others.length > 0) { blocked.push(`Transit gateway ${t.id} still has attachments that are not ours: ${others.map((a) => a.id).join(', ')}`); continue }
    if (t.state === 'deleting') waiting.push(`transit gateway ${t.id} deleting`)
    else actions.push({ kind: 'deleteTransitGateway', id: t.id })
  }
  if (tgws.length > 0) return { actions, waiting, remaining, blocked }

  // 6. The security group, last (nothing of ours refers to it any more).
  if (s.securityGroup?.owned === true) actions.push({ kind: 'deleteSecurityGroup', id: s.securityGroup.id })
  return { actions, waiting, remaining, blocked }
}

