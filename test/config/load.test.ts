// The config loader: a minimal file gets every default; a table of bad configs -> the exact
// `path: reason` lines of the ConfigError (all problems at once); YAML-level errors; warnings.
import t from 'tap'
import { ConfigError, parseConfigText, resolveConfig } from '../../src/config/load.js'
import { DEFAULTS } from '../../src/config/model.js'

// The cases below write wrong types and unknown keys on purpose: a typed config could not hold them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = Record<string, any>

/** A small valid config; each case below changes one thing. */
function base(): Loose {
  return {
    nodeAddress: '10.0.1.10',
    exposed: { routeTargets: ['target:64512:8000001'], cidrs: ['10.244.0.0/16'] },
    tgw: {
      localAsn: 65000,
      connectPeers: [{ id: 'tgw-connect-peer-0a1b2c3d4e5f60001', transitGatewayAddress: '10.100.0.1', insideCidrBlocks: ['169.254.6.0/29'], transitGatewayAsn: 64512 }],
    },
    controlNodes: { peers: [{ address: '10.0.2.11', asn: 64512 }] },
  }
}

function problems(mutate: (c: Loose) => void): string[] {
  const c = base()
  mutate(c)
  try {
    resolveConfig(c)
  } catch (e) {
    if (e instanceof ConfigError) return e.lines
    throw e
  }
  return []
}

t.test('a minimal config gets every default and the derived fields', async t => {
  const { config, warnings } = resolveConfig(base())
  t.same(warnings, [])
  t.equal(config.routerId, '10.0.1.10', 'router id defaults to the node address')
  t.equal(config.dataplane, 'kernel')
  t.same(config.gatewayTable, { table: 1000, label: 1000, labelRange: [1000, 1999], vrf: 'gsiv1000' })
  t.equal(config.routeDistinguisherIndex, 1)
  t.equal(config.advertiseMoreSpecifics, false)
  t.same(config.tgw, {
    localAsn: 65000, maxPrefixesAdvertised: 1000, maxPrefixesReceived: 5000, holdTime: 30, gracefulRestart: true,
    connectPeers: [{
      id: 'tgw-connect-peer-0a1b2c3d4e5f60001', transitGatewayAddress: '10.100.0.1', insideCidrBlocks: ['169.254.6.0/29'],
      transitGatewayAsn: 64512, peerAsn: 65000, mtu: 8476, ttl: 2, localInsideAddresses: ['169.254.6.1'], bgpPeerAddresses: ['169.254.6.2', '169.254.6.3'],
    }],
  })
  t.same(config.controlNodes, { localAsn: 64512, peers: [{ address: '10.0.2.11', asn: 64512, port: 179 }], holdTime: 90, gracefulRestart: true }, 'iBGP in the control nodes\' AS')
  t.same(config.gracefulRestart, DEFAULTS.gracefulRestart)
  t.same(config.listen, { port: 179 })
  t.same(config.http, { address: '0.0.0.0', port: 9478 })
  t.same(config.api, { socket: '/run/gsi-router/gsi-routerd.sock' })
  t.same(config.log, { level: 'info' })
  t.equal(config.shutdownPolicy, 'graceful')
})

t.test('the label defaults to the first of its range; no control nodes -> CN2 default AS', async t => {
  const c = base()
  c.gatewayTable = { table: 2000, labelRange: [5000, 5099] }
  c.controlNodes = { peers: [] }
  const { config } = resolveConfig(c)
  t.same(config.gatewayTable, { table: 2000, label: 5000, labelRange: [5000, 5099], vrf: 'gsiv2000' })
  t.equal(config.controlNodes.localAsn, 64512)
})

const P0 = 'tgw.connectPeers[0]'
const cases: [string, (c: Loose) => void, string[]][] = [
  ['unknown top-level key', c => { c.nodeAdress = '10.0.1.10' }, ['nodeAdress: unknown field']],
  ['unknown nested key', c => { c.tgw.connectPeers[0].insideCidr = '169.254.6.0/29' }, [`${P0}.insideCidr: unknown field`]],
  ['missing required fields', c => { delete c.nodeAddress; delete c.tgw.localAsn }, ['nodeAddress: required', 'tgw.localAsn: required']],
  ['wrong type', c => { c.tgw.localAsn = '65000' }, ['tgw.localAsn: expected integer, got "65000"']],
  ['enum', c => { c.dataplane = 'dpdk' }, ['dataplane: "dpdk" is not one of kernel, none']],
  ['ASN out of range', c => { c.controlNodes.peers[0].asn = 0 }, ['controlNodes.peers[0].asn: 0 is not in 1-4294967295']],
  ['inside CIDR not a /29', c => { c.tgw.connectPeers[0].insideCidrBlocks = ['169.254.6.0/28'] }, [`${P0}.insideCidrBlocks[0]: 169.254.6.0/28 must be a /29 inside 169.254.0.0/16`]],
  ['inside CIDR outside 169.254.0.0/16', c => { c.tgw.connectPeers[0].insideCidrBlocks = ['10.1.2.0/29'] }, [`${P0}.insideCidrBlocks[0]: 10.1.2.0/29 must be a /29 inside 169.254.0.0/16`]],
  ['reserved inside /29 (169.254.3.0/29)', c => { c.tgw.connectPeers[0].insideCidrBlocks = ['169.254.3.0/29'] }, [`${P0}.insideCidrBlocks[0]: 169.254.3.0/29 is reserved by AWS (169.254.0.0/29-169.254.5.0/29 and 169.254.169.248/29)`]],
  ['reserved inside /29 (169.254.169.248/29)', c => { c.tgw.connectPeers[0].insideCidrBlocks = ['169.254.169.248/29'] }, [`${P0}.insideCidrBlocks[0]: 169.254.169.248/29 is reserved by AWS (169.254.0.0/29-169.254.5.0/29 and 169.254.169.248/29)`]],
  ['/125 outside fd00::/8', c => { c.tgw.connectPeers[0].insideCidrBlocks = ['169.254.6.0/29', 'fc00::/125'] }, [`${P0}.insideCidrBlocks[1]: fc00::/125 must be a /125 inside fd00::/8`]],
  ['no IPv4 inside block', c => { c.tgw.connectPeers[0].insideCidrBlocks = ['fd00::/125'] }, [`${P0}.insideCidrBlocks: an IPv4 inside /29 of 169.254.0.0/16 is required`]],
  ['two IPv4 inside blocks', c => { c.tgw.connectPeers[0].insideCidrBlocks = ['169.254.6.0/29', '169.254.7.0/29'] }, [`${P0}.insideCidrBlocks[1]: a second IPv4 inside CIDR (at most one /29 and one /125)`]],
  ['inside CIDR with host bits', c => { c.tgw.connectPeers[0].insideCidrBlocks = ['169.254.6.1/29'] }, [`${P0}.insideCidrBlocks[0]: "169.254.6.1/29" has host bits set (network is 169.254.6.0/29)`]],
  ['non-canonical IPv6 inside CIDR', c => { c.tgw.connectPeers[0].insideCidrBlocks = ['169.254.6.0/29', 'FD00:0:0:6:0:0:0:0/125'] }, [`${P0}.insideCidrBlocks[1]: "FD00:0:0:6:0:0:0:0/125" is not in canonical form (write fd00:0:0:6::/125)`]],
  ['peer ASN equal to the TGW ASN (explicit)', c => { c.tgw.connectPeers[0].peerAsn = 64512 }, [`${P0}.peerAsn: 64512 equals ${P0}.transitGatewayAsn: the TGW installs no routes learned over iBGP`]],
  ['peer ASN equal to the TGW ASN (from tgw.localAsn)', c => { c.tgw.localAsn = 64512 }, [`tgw.localAsn: 64512 equals ${P0}.transitGatewayAsn: the TGW installs no routes learned over iBGP`]],
  ['TGW ASN not Amazon-side', c => { c.tgw.connectPeers[0].transitGatewayAsn = 65535 }, [`${P0}.transitGatewayAsn: 65535 is not an Amazon-side ASN (64512-65534 or 4200000000-4294967294)`]],
  ['malformed route target', c => { c.exposed.routeTargets = ['target:64512'] }, ['exposed.routeTargets[0]: "target:64512": expected target:ADMIN:NUMBER']],
  ['not a route target', c => { c.exposed.routeTargets = ['soo:64512:1'] }, ['exposed.routeTargets[0]: "soo:64512:1": not a route target']],
  ['label outside its range', c => { c.gatewayTable = { label: 2000 } }, ['gatewayTable.label: 2000 is outside gatewayTable.labelRange [1000, 1999]']],
  ['label range below 16', c => { c.gatewayTable = { labelRange: [3, 100] } }, ['gatewayTable.labelRange[0]: 3 is not a usable MPLS label (16-1048575; 0-15 are reserved, RFC 3032)']],
  ['label range upside down', c => { c.gatewayTable = { labelRange: [200, 100] } }, ['gatewayTable.labelRange: [200, 100]: the first label is above the last']],
  ['label range of one item', c => { c.gatewayTable = { labelRange: [200] } }, ['gatewayTable.labelRange: has 1 items, expected exactly 2']],
  ['reserved kernel table', c => { c.gatewayTable = { table: 254 } }, ['gatewayTable.table: 254 is a reserved table (main, local or default): the gateway keeps out of the node\'s own tables']],
  ['non-canonical exposed CIDR', c => { c.exposed.cidrs = ['10.244.1.0/16'] }, ['exposed.cidrs[0]: "10.244.1.0/16" has host bits set (network is 10.244.0.0/16)']],
  ['duplicate exposed CIDR', c => { c.exposed.cidrs = ['10.244.0.0/16', '10.244.0.0/16'] }, ['exposed.cidrs[1]: CIDR 10.244.0.0/16 duplicates exposed.cidrs[0]']],
  ['node address not IPv4', c => { c.nodeAddress = '2001:db8::1' }, ['nodeAddress: "2001:db8::1" is not an IPv4 address']],
  ['TGW GRE address equals the node address', c => { c.tgw.connectPeers[0].transitGatewayAddress = '10.0.1.10' }, [`${P0}.transitGatewayAddress: equals localAddress 10.0.1.10`]],
  ['GRE MTU too large', c => { c.tgw.connectPeers[0].mtu = 9001 }, [`${P0}.mtu: 9001 is not an integer in 1280-8476`]],
  ['advertised prefixes above the AWS quota', c => { c.tgw.maxPrefixesAdvertised = 1500 }, ['tgw.maxPrefixesAdvertised: 1500 exceeds the AWS quota of 1000 routes advertised to a Connect peer (it may only be lowered)']],
  ['hold time 2', c => { c.controlNodes.holdTime = 2 }, ['controlNodes.holdTime: 2 is not 0 or 3-65535 seconds (RFC 4271 4.2)']],
  ['duplicate connect peers', c => { c.tgw.connectPeers.push({ ...c.tgw.connectPeers[0] }) }, [
    'tgw.connectPeers[1].id: id tgw-connect-peer-0a1b2c3d4e5f60001 duplicates tgw.connectPeers[0].id',
    'tgw.connectPeers[1].insideCidrBlocks: inside CIDR 169.254.6.0/29 duplicates tgw.connectPeers[0].insideCidrBlocks',
    'tgw.connectPeers[1].transitGatewayAddress: transit gateway address 10.100.0.1 duplicates tgw.connectPeers[0].transitGatewayAddress',
  ]],
  ['control nodes in different ASes without localAsn', c => { c.controlNodes.peers.push({ address: '10.0.2.12', asn: 64513 }) }, ['controlNodes.localAsn: required when the control nodes have different ASNs (64512, 64513)']],
  ['duplicate control node', c => { c.controlNodes.peers.push({ address: '10.0.2.11', asn: 64512, port: 179 }) }, ['controlNodes.peers[1].address: control node 10.0.2.11 port 179 duplicates controlNodes.peers[0].address']],
  ['md5 with both sources', c => { c.controlNodes.md5 = { file: '/etc/md5', secretRef: { name: 's', key: 'k' } } }, ['controlNodes.md5: give exactly one of secretRef and file']],
  ['md5 secret name', c => { c.controlNodes.md5 = { secretRef: { name: 'Bad_Name', key: 'k' } } }, ['controlNodes.md5.secretRef.name: "Bad_Name" is not a Secret name (RFC 1123 subdomain)']],
  ['relative API socket', c => { c.api = { socket: 'gsi.sock' } }, ['api.socket: "gsi.sock" is not an absolute path']],
  ['several problems at once, in field order', c => { c.nodeAddress = '10.0.1.300'; c.exposed.routeTargets = ['x']; c.tgw.connectPeers[0].insideCidrBlocks = ['169.254.0.0/29'] }, [
    'nodeAddress: "10.0.1.300" is not an IPv4 or IPv6 address',
    'exposed.routeTargets[0]: "x": expected rt:ADMIN:NUMBER',
    'tgw.connectPeers[0].insideCidrBlocks[0]: 169.254.0.0/29 is reserved by AWS (169.254.0.0/29-169.254.5.0/29 and 169.254.169.248/29)',
  ]],
]

for (const [name, mutate, want] of cases) {
  t.test(`rejects: ${name}`, async t => { t.same(problems(mutate), want) })
}

t.test('more than 4 Connect peers is a warning, not an error', async t => {
  const c = base()
  c.tgw.connectPeers = [6, 7, 8, 9, 10].map(n => ({ id: `peer-${n}`, transitGatewayAddress: `10.100.0.${n}`, insideCidrBlocks: [`169.254.${n}.0/29`], transitGatewayAsn: 64512 }))
  const { config, warnings } = resolveConfig(c)
  t.equal(config.tgw.connectPeers.length, 5)
  t.same(warnings, ['tgw.connectPeers: 5 Connect peers: AWS allows 4 per Connect attachment, so they must span several attachments'])
})

function yamlError(text: string): ConfigError {
  try { parseConfigText(text, 'f.yaml') } catch (e) { if (e instanceof ConfigError) return e; throw e }
  throw new Error('no ConfigError')
}

t.test('YAML errors and non-mapping documents', async t => {
  const dup = yamlError('nodeAddress: 10.0.1.10\nnodeAddress: 10.0.1.11\n')
  t.equal(dup.problems.length, 1)
  t.equal(dup.problems[0]!.path, '(yaml line 2, column 1)')
  t.equal(dup.problems[0]!.reason, 'Map keys must be unique', 'a duplicate key is an error, not a silent override')
  t.same(yamlError('- a\n- b\n').lines, ['(top level): expected a mapping of fields'])
  const err = yamlError('nodeAddress: 1\n')
  t.equal(err.message, 'f.yaml: 3 problems:\n  tgw: required\n  controlNodes: required\n  nodeAddress: expected string, got 1', 'the message names the file and lists every problem')
})
