/**
 * Pure parts of the AWS reconciler, no EC2: the planner (desired + snapshot -> actions), deletion
 * ordering, inside CIDR arithmetic and allocation (property-tested), spec validation, and the retry
 * policy (throttling retried for every call; other failures only for idempotent calls).
 */
import t from 'tap'
import fc from 'fast-check'
import { planAws, planAwsDeletion, validateAwsDesired, type AwsSnapshot, type SnapPeer } from '../../controller/aws/plan.js'
import { clientToken } from '../../controller/aws/execute.js'
import {
  allocateInside4, allocateInside6, insideAddresses4, insideAddresses6, insideCidr4Problem, insideCidr6Problem, parseCidr4, RESERVED_INSIDE_CIDRS,
} from '../../controller/aws/cidr.js'
import { withRetry } from '../../controller/aws/ec2.js'
import type { AwsDesired } from '../../controller/aws/types.js'

const d: AwsDesired = {
  owner: { namespace: 'ns', name: 'n', uid: 'uid-1' }, region: 'eu-west-1', vpcId: 'vpc-0123456789abcdef0',
  amazonSideAsn: 64512, transitGatewayCidrBlock: '100.64.0.0/24', exposedCidrs: ['10.200.0.0/16'],
  nodes: [{ name: 'a', nodeIp: '10.0.1.10', peerAsn: 65001 }, { name: 'b', nodeIp: '10.0.17.10', peerAsn: 65001 }],
}
const now = 1_000_000
const base = (): AwsSnapshot => ({
  now, ownedTgws: [], vpcAttachments: [], connects: [], peers: [], securityGroup: { id: 'sg-1', name: 'gsi-sg', owned: true, ingress: [{ protocol: '-1', cidr: '10.200.0.0/16' }, { protocol: '47', cidr: '100.64.0.0/24' }] },
  routeTables: [{ id: 'rtb-1', routes: [] }],
  subnets: [{ id: 'subnet-a', az: 'eu-west-1a', cidr: '10.0.0.0/20' }, { id: 'subnet-b', az: 'eu-west-1b', cidr: '10.0.16.0/20' }],
})
const tgw = { id: 'tgw-1', state: 'available', asn: 64512, cidrBlocks: ['100.64.0.0/24'], owned: true, createdAt: 0 }
const full = (): AwsSnapshot => ({
  ...base(), tgw, ownedTgws: [tgw],
  vpcAttachments: [{ id: 'att-v', state: 'available', tgwId: 'tgw-1', owned: true, createdAt: 0, vpcId: d.vpcId, subnetIds: ['subnet-a', 'subnet-b'] }],
  connects: [{ id: 'att-c', state: 'available', tgwId: 'tgw-1', owned: true, createdAt: 0, transportId: 'att-v' }],
  routeTables: [{ id: 'rtb-1', routes: [{ destination: '10.200.0.0/16', transitGatewayId: 'tgw-1', state: 'active' }, { destination: '100.64.0.0/24', transitGatewayId: 'tgw-1', state: 'active' }] }],
})
const peer = (id: string, node: string, inside: string, over: Partial<SnapPeer> = {}): SnapPeer => ({
  id, state: 'available', attachmentId: 'att-c', owned: true, node, createdAt: 0, peerAddress: node === 'a' ? '10.0.1.10' : '10.0.17.10',
  tgwAddress: '100.64.0.1', insideCidrBlocks: [inside], peerAsn: 65001, tgwAsn: 64512, bgp: [], ...over,
})

t.test('planner: one layer at a time, from nothing to ready', async (t) => {
  const empty = base()
  delete empty.securityGroup
  let p = planAws(d, empty)
  t.same(p.actions.map((a) => a.kind).sort(), ['createSecurityGroup', 'createTransitGateway'])
  p = planAws(d, { ...base(), tgw: { ...tgw, state: 'pending', createdAt: now - 8000 }, ownedTgws: [tgw] })
  t.same(p.actions, [])
  t.equal(p.pendingAgeMs, 8000)
  t.match(p.observed.message, /transit gateway tgw-1 pending/)
  p = planAws(d, { ...base(), tgw, ownedTgws: [tgw] })
  t.same(p.actions, [{ kind: 'createVpcAttachment', tgwId: 'tgw-1', subnetIds: ['subnet-a', 'subnet-b'] }], 'subnets from node IPs, one per AZ')
  const s = full()
  s.connects = []
  p = planAws(d, s)
  t.same(p.actions, [{ kind: 'createConnect', transportId: 'att-v' }])
  p = planAws(d, full())
  t.same(p.actions.map((a) => a.kind === 'createConnectPeer' ? `${a.node.name} ${a.insideCidrBlocks.join(',')}` : a.kind), ['a 169.254.6.0/29', 'b 169.254.6.8/29'])
  const ready = full()
  ready.peers = [peer('p-a', 'a', '169.254.6.0/29'), peer('p-b', 'b', '169.254.6.8/29')]
  p = planAws(d, ready)
  t.same(p.actions, [])
  t.equal(p.observed.ready, true)
  t.same(p.observed.peers.map((x) => [x.node, x.applianceInsideAddress, x.transitGatewayInsideAddresses]), [
    ['a', '169.254.6.1', ['169.254.6.2', '169.254.6.3']], ['b', '169.254.6.9', ['169.254.6.10', '169.254.6.11']],
  ])
})

t.test('planner: peers of departed nodes deleted; changed ASN/IP recreated; duplicates removed; capacity respected', async (t) => {
  const s = full()
  s.peers = [
    peer('p-a', 'a', '169.254.6.0/29', { peerAsn: 65009 }),
    peer('p-b', 'b', '169.254.6.8/29'), peer('p-b2', 'b', '169.254.6.16/29', { createdAt: 5 }),
    peer('p-x', 'x', '169.254.6.24/29'),
  ]
  const p = planAws(d, s)
  const dels = p.actions.filter((a) => a.kind === 'deleteConnectPeer').map((a) => a.kind === 'deleteConnectPeer' ? `${a.peerId}: ${a.why}` : '')
  t.same(dels.sort(), ['p-a: node a ASN changed 65009 -> 65001', 'p-b2: duplicate peer for node b', 'p-x: node x no longer wanted'])
  t.equal(p.actions.filter((a) => a.kind === 'createConnectPeer').length, 0, 'no create while 4 peers (deleting ones included) fill the attachment')
  // Foreign peers on the same TGW take inside blocks and slots too.
  const s2 = full()
  s2.peers = [peer('f1', 'z', '169.254.6.0/29', { owned: false, node: undefined }), peer('f2', 'z', '169.254.6.8/29', { owned: false, node: undefined }), peer('f3', 'z', '169.254.6.16/29', { owned: false, node: undefined })]
  const p2 = planAws(d, s2)
  const creates = p2.actions.filter((a) => a.kind === 'createConnectPeer')
  t.equal(creates.length, 1, 'one slot left of 4')
  t.same(creates[0]?.kind === 'createConnectPeer' ? creates[0].insideCidrBlocks : [], ['169.254.6.24/29'])
  t.same(p2.observed.nodesWithoutPeer, ['a', 'b'])
})

t.test('planner: refusals and conflicts', async (t) => {
  let p = planAws({ ...d, nodes: [{ name: 'a', nodeIp: '10.0.1.10', peerAsn: 64512 }] }, full())
  t.equal(p.observed.reason, 'InvalidSpec')
  const foreign = full()
  foreign.tgw = { ...tgw, owned: false, cidrBlocks: ['100.99.0.0/24'] }
  p = planAws({ ...d, transitGatewayId: 'tgw-0123456789abcdef0' }, foreign)
  t.equal(p.observed.reason, 'NotOwned')
  t.same(p.actions.filter((a) => a.kind === 'addTgwCidrBlock'), [], 'never modifies a foreign TGW')
  const mine = full()
  mine.tgw = { ...tgw, cidrBlocks: ['100.99.0.0/24'] }
  p = planAws(d, mine)
  t.same(p.actions.filter((a) => a.kind !== 'authorizeIngress' && a.kind !== 'revokeIngress'), [{ kind: 'addTgwCidrBlock', tgwId: 'tgw-1', cidr: '100.64.0.0/24' }])
  const lost = full()
  p = planAws({ ...d, nodes: [{ name: 'q', nodeIp: '192.168.1.1', peerAsn: 65001 }] }, lost)
  t.equal(p.observed.reason, 'InvalidSpec')
  t.match(p.observed.message, /q \(192\.168\.1\.1\) are in no subnet/)
  const stale = full()
  stale.routeTables[0]!.routes.push({ destination: '10.99.0.0/16', transitGatewayId: 'tgw-1', state: 'active' })
  p = planAws(d, stale)
  t.same(p.actions.filter((a) => a.kind === 'deleteRoute'), [{ kind: 'deleteRoute', routeTableId: 'rtb-1', destination: '10.99.0.0/16' }])
  const foreignRoutes = full()
  foreignRoutes.tgw = { ...tgw, owned: false }
  foreignRoutes.routeTables[0]!.routes.push({ destination: '10.99.0.0/16', transitGatewayId: 'tgw-1', state: 'active' })
  p = planAws({ ...d, transitGatewayId: 'tgw-0123456789abcdef0' }, foreignRoutes)
  t.same(p.actions.filter((a) => a.kind === 'deleteRoute'), [], 'routes to a foreign TGW outside the spec are not ours to delete')
})

t.test('deletion plan: reverse order, one layer per pass, foreign attachments block with a message', async (t) => {
  const s = full()
  s.peers = [peer('p-a', 'a', '169.254.6.0/29')]
  let p = planAwsDeletion(d, s)
  t.same(p.actions.map((a) => a.kind), ['deleteRoute', 'deleteRoute', 'deleteConnectPeer'])
  s.routeTables = [{ id: 'rtb-1', routes: [] }]
  s.peers = [peer('p-a', 'a', '169.254.6.0/29', { state: 'deleting' })]
  p = planAwsDeletion(d, s)
  t.same(p.actions, [])
  t.same(p.waiting, ['Connect peer p-a deleting'])
  s.peers = []
  p = planAwsDeletion(d, s)
  t.same(p.actions, [{ kind: 'deleteConnect', id: 'att-c' }])
  s.connects = []
  p = planAwsDeletion(d, s)
  t.same(p.actions, [{ kind: 'deleteVpcAttachment', id: 'att-v' }])
  s.vpcAttachments = [{ id: 'att-other', state: 'available', tgwId: 'tgw-1', owned: false, createdAt: 0, vpcId: d.vpcId }]
  p = planAwsDeletion(d, s)
  t.same(p.actions, [])
  t.match(p.blocked.join(), /tgw-1 still has attachments that are not ours: att-other/)
  s.vpcAttachments = []
  p = planAwsDeletion(d, s)
  t.same(p.actions, [{ kind: 'deleteTransitGateway', id: 'tgw-1' }])
  delete s.tgw
  s.ownedTgws = []
  p = planAwsDeletion(d, s)
  t.same(p.actions, [{ kind: 'deleteSecurityGroup', id: 'sg-1' }])
  delete s.securityGroup
  p = planAwsDeletion(d, s)
  t.same([p.actions, p.remaining], [[], []])
})

t.test('inside CIDR checks and addresses', async (t) => {
  for (const r of RESERVED_INSIDE_CIDRS) t.match(insideCidr4Problem(r), /reserved/)
  t.equal(insideCidr4Problem('169.254.6.0/29'), undefined)
  t.equal(insideCidr4Problem('169.254.0.8/29'), undefined, 'only the listed /29s are reserved')
  t.match(insideCidr4Problem('169.254.6.4/29'), /host bits|not an IPv4/)
  t.match(insideCidr4Problem('169.254.6.0/30'), /\/29/)
  t.match(insideCidr4Problem('10.0.0.0/29'), /169\.254/)
  t.equal(insideCidr6Problem('fd00:1::8/125'), undefined)
  t.match(insideCidr6Problem('fd00::4/125'), /host bits/)
  t.match(insideCidr6Problem('fc00::/125'), /fd00::\/8/)
  t.same(insideAddresses4('169.254.6.8/29'), { appliance: '169.254.6.9', tgw: ['169.254.6.10', '169.254.6.11'] })
  t.same(insideAddresses6('fd00::8/125'), { appliance: 'fd00::9', tgw: ['fd00::a', 'fd00::b'] })
  t.equal(clientToken('u', 'tgw'), clientToken('u', 'tgw'), 'deterministic')
  t.not(clientToken('u', 'tgw'), clientToken('u', 'sg'))
})

t.test('allocation never hands out a reserved or used block, and is lowest-first (property)', async (t) => {
  fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 2000 }), { maxLength: 300 }), (idx) => {
    const used = new Set(idx.map((i) => `169.254.${6 + (i >> 5)}.${(i & 31) * 8}/29`))
    const got = allocateInside4(used) as string
    const c = parseCidr4(got)
    if (c === undefined || c.len !== 29) return false
    if (insideCidr4Problem(got) !== undefined || used.has(got)) return false
    // Nothing lower (from 169.254.6.0) was free.
    for (let b = 0xa9fe0600; b < c.base; b += 8) {
      const s = `169.254.${(b >> 8) & 255}.${b & 255}/29`
      if (!used.has(s) && !RESERVED_INSIDE_CIDRS.includes(s)) return false
    }
    return true
  }), { numRuns: 200 })
  // Around 169.254.169.248/29 the allocator steps over it.
  const used = new Set<string>()
  for (let b = 0xa9fe0600; b < 0xa9fea9f8; b += 8) used.add(`169.254.${(b >> 8) & 255}.${b & 255}/29`)
  t.equal(allocateInside4(used), '169.254.170.0/29')
  t.equal(allocateInside6(new Set(['fd00::/125', 'fd00::8/125'])), 'fd00::10/125')
})

t.test('validation: a good spec passes; each bad field is named', async (t) => {
  t.same(validateAwsDesired(d), [])
  const bad = validateAwsDesired({ ...d, region: 'mars', amazonSideAsn: 1, transitGatewayCidrBlock: '169.254.0.0/16', exposedCidrs: ['x'], securityGroupName: 'sg-x', routeTableIds: ['rt-1'], vpcAttachmentSubnetIds: [] })
  t.same(bad.map((p) => p.field).sort(), ['amazonSideAsn', 'exposedCidrs[0]', 'region', 'routeTableIds[0]', 'securityGroupName', 'transitGatewayCidrBlock', 'vpcAttachmentSubnetIds'])
})

t.test('retry policy: throttling retried everywhere, other failures only for idempotent calls', async (t) => {
  const err = (name: string, status: number): Error => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } })
  let n = 0
  const r = await withRetry('CreateTransitGateway', false, async () => { if (++n < 4) throw err('RequestLimitExceeded', 503); return 'ok' }, { baseDelayMs: 1 })
  t.same([r, n], ['ok', 4])
  n = 0
  await t.rejects(withRetry('CreateTransitGateway', false, async () => { n++; throw err('InternalError', 500) }, { baseDelayMs: 1 }), { name: 'InternalError' })
  t.equal(n, 1, 'a create whose outcome is unknown is not repeated blindly')
  n = 0
  const r2 = await withRetry('DescribeTransitGateways', true, async () => { if (++n < 3) throw err('InternalError', 500); return 'ok' }, { baseDelayMs: 1 })
  t.same([r2, n], ['ok', 3])
  n = 0
  await t.rejects(withRetry('DescribeTransitGateways', true, async () => { n++; throw err('InvalidParameterValue', 400) }, { baseDelayMs: 1 }), { name: 'InvalidParameterValue' })
  t.equal(n, 1, 'client errors are not retried')
  n = 0
  const events: string[] = []
  await t.rejects(withRetry('DescribeSubnets', true, async () => { n++; throw err('RequestLimitExceeded', 503) }, { baseDelayMs: 1, maxAttempts: 5 }, (e) => events.push(`${e.attempt}:${e.outcome}`)))
  t.equal(n, 5, 'gives up after maxAttempts')
  t.same(events, ['1:RequestLimitExceeded', '2:RequestLimitExceeded', '3:RequestLimitExceeded', '4:RequestLimitExceeded', '5:RequestLimitExceeded'])
})

t.test('the IAM policy in deploy/ allows exactly the EC2 actions the client can call', async (t) => {
  const { readFile } = await import('node:fs/promises')
  const { EC2_ACTIONS } = await import('../../controller/aws/ec2.js')
  const policy = JSON.parse(await readFile(new URL('../../deploy/iam-policy.json', import.meta.url), 'utf8')) as { Statement: Array<{ Action: string[] }> }
  const allowed = policy.Statement.flatMap((s) => s.Action).sort()
  // CreateTags is needed even though only TagSpecifications are used: EC2 authorizes tag-on-create as ec2:CreateTags.
  t.same(allowed, EC2_ACTIONS.map((a) => `ec2:${a}`).sort())
})
