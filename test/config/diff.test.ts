// diffConfig: what a reload must do. Each case edits the example config and checks which sessions
// are reset, which GRE links change, and what is only re-evaluated.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { resolveConfig, type DaemonConfig } from '../../src/config/index.js'
import { diffConfig } from '../../src/config/diff.js'

const EXAMPLE = parse(readFileSync(join(import.meta.dirname, '..', '..', 'deploy', 'examples', 'gsi-routerd.yaml'), 'utf8')) as Record<string, unknown>
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any

function load(edit: (c: Loose) => void = () => {}): DaemonConfig {
  const c = structuredClone(EXAMPLE) as Loose
  edit(c)
  return resolveConfig(c).config
}
const OLD = load()
const CP = 'tgw-connect-peer-0a1b2c3d4e5f60001'

t.test('no change, and defaults written out are no change', async t => {
  const d = diffConfig(OLD, load())
  t.equal(d.empty, true)
  t.same(d.summary, [])
  // The example spells out mtu 8476 and ttl 2; dropping them leaves the same resolved config.
  const d2 = diffConfig(OLD, load(c => { delete c.tgw.connectPeers[0].mtu; delete c.tgw.connectPeers[0].ttl; delete c.gatewayTable.vrf }))
  t.equal(d2.empty, true)
})

t.test('control nodes: added, removed, changed with a session reset', async t => {
  const d = diffConfig(OLD, load(c => { c.controlNodes.peers = [{ address: '10.0.2.11', asn: 64512, port: 1179 }, { address: '10.0.2.13', asn: 64512 }] }))
  t.same(d.controlNodes.added.map(p => p.address), ['10.0.2.13'])
  t.same(d.controlNodes.removed.map(p => p.address), ['10.0.2.12'])
  t.same(d.controlNodes.changed.map(c => [c.address, c.fields, c.reset]), [['10.0.2.11', ['port'], true]])
  t.same(d.connectPeers, { added: [], removed: [], changed: [] }, 'the TGW side is untouched')
  t.same(d.summary, ['control node 10.0.2.13 (AS 64512) added', 'control node 10.0.2.12 removed', 'control node 10.0.2.11: port changed (session reset)'])
})

t.test('control-node side parameters reset every kept control-node session, and only those', async t => {
  for (const [name, edit, field] of [
    ['hold time', (c: Loose) => { c.controlNodes.holdTime = 60 }, 'controlNodes.holdTime'],
    ['local AS', (c: Loose) => { c.controlNodes.localAsn = 64600 }, 'controlNodes.localAsn'],
    ['MD5 source', (c: Loose) => { c.controlNodes.md5 = { file: '/etc/gsi/md5' } }, 'controlNodes.md5'],
    ['graceful restart helper', (c: Loose) => { c.controlNodes.gracefulRestart = false }, 'controlNodes.gracefulRestart'],
  ] as const) {
    const d = diffConfig(OLD, load(edit))
    t.same(d.controlNodes.changed.map(c => [c.address, c.fields, c.reset]), [['10.0.2.11', [field], true], ['10.0.2.12', [field], true]], name)
    t.same(d.connectPeers.changed, [], `${name}: no TGW session touched`)
  }
  const peerAsn = diffConfig(OLD, load(c => { c.controlNodes.peers[1].asn = 64600; c.controlNodes.localAsn = 64512 }))
  t.same(peerAsn.controlNodes.changed.map(c => [c.address, c.fields]), [['10.0.2.12', ['asn']]], 'a peer\'s own AS resets only that peer')
  const key = diffConfig(OLD, load(), { md5KeyChanged: true })
  t.same(key.controlNodes.changed.map(c => c.fields), [['controlNodes.md5'], ['controlNodes.md5']], 'a new Secret value resets the MD5 sessions')
})

t.test('Connect peer: GRE-only change keeps the sessions', async t => {
  const d = diffConfig(OLD, load(c => { c.tgw.connectPeers[0].mtu = 8000 }))
  t.same(d.connectPeers.changed.map(c => [c.id, c.fields, c.gre, c.resetSessions]), [[CP, ['mtu'], true, false]])
  t.same(d.summary, [`Connect peer ${CP}: mtu changed (GRE link only, sessions kept)`])
  const addr = diffConfig(OLD, load(c => { c.tgw.connectPeers[0].transitGatewayAddress = '10.100.0.9' }))
  t.same(addr.connectPeers.changed.map(c => [c.fields, c.gre, c.resetSessions]), [[['transitGatewayAddress'], true, false]])
  t.same(addr.controlNodes.changed, [])
})

t.test('Connect peer: BGP changes reset its sessions; inside CIDRs move both', async t => {
  const asn = diffConfig(OLD, load(c => { c.tgw.connectPeers[0].peerAsn = 65001 }))
  t.same(asn.connectPeers.changed.map(c => [c.fields, c.gre, c.resetSessions]), [[['peerAsn'], false, true]])
  const localAsn = diffConfig(OLD, load(c => { c.tgw.localAsn = 65001; delete c.tgw.connectPeers[0].peerAsn }))
  t.same(localAsn.connectPeers.changed.map(c => [c.fields, c.resetSessions]), [[['peerAsn'], true]], 'tgw.localAsn reaches the peer through its resolved peerAsn')
  const inside = diffConfig(OLD, load(c => { c.tgw.connectPeers[0].insideCidrBlocks = ['169.254.7.0/29'] }))
  t.same(inside.connectPeers.changed.map(c => [c.fields, c.gre, c.resetSessions]), [[['insideCidrBlocks', 'localInsideAddresses', 'bgpPeerAddresses'], true, true]])
  const hold = diffConfig(OLD, load(c => { c.tgw.holdTime = 90 }))
  t.same(hold.connectPeers.changed.map(c => [c.fields, c.gre, c.resetSessions]), [[['tgw.holdTime'], false, true]])
  t.same(hold.controlNodes.changed, [], 'the control-node sessions are kept')
})

t.test('Connect peers added and removed', async t => {
  const two = load(c => { c.tgw.connectPeers.push({ id: 'peer-b', transitGatewayAddress: '10.100.1.1', insideCidrBlocks: ['169.254.7.0/29'], transitGatewayAsn: 64512 }) })
  const d = diffConfig(OLD, two)
  t.same(d.connectPeers.added.map(p => [p.id, p.bgpPeerAddresses]), [['peer-b', ['169.254.7.2', '169.254.7.3']]])
  t.same(d.connectPeers.changed, [], 'the existing peer is untouched')
  t.same(diffConfig(two, OLD).connectPeers.removed.map(p => p.id), ['peer-b'])
})

t.test('exposed VNs and policy: re-evaluated, no session reset', async t => {
  const d = diffConfig(OLD, load(c => {
    c.exposed.routeTargets = ['target:64512:8000002']
    c.exposed.cidrs = ['10.244.0.0/16', '10.245.0.0/16']
    c.tgw.maxPrefixesAdvertised = 500
    c.routeDistinguisherIndex = 2
    c.advertiseMoreSpecifics = true
  }))
  t.same(d.exposed, { routeTargets: { added: ['target:64512:8000002'], removed: ['target:64512:8000001'] }, cidrs: { added: ['10.245.0.0/16'], removed: [] } })
  t.same(d.policy, ['advertiseMoreSpecifics', 'routeDistinguisherIndex', 'tgw.maxPrefixesAdvertised'])
  t.same(d.controlNodes.changed, [])
  t.same(d.connectPeers.changed, [])
  t.same(d.summary, [
    'exposed: +target:64512:8000002 -target:64512:8000001 +10.245.0.0/16 (re-evaluated, no reset)',
    'advertiseMoreSpecifics, routeDistinguisherIndex, tgw.maxPrefixesAdvertised changed (re-evaluated, no reset)',
  ])
  t.equal(diffConfig(OLD, load(c => { c.exposed.cidrs = [...c.exposed.cidrs] })).empty, true)
})

t.test('gateway table, timers, listeners, log, node identity', async t => {
  const d = diffConfig(OLD, load(c => {
    c.gatewayTable = { table: 1001, label: 1001, labelRange: [1000, 1999] }
    c.gracefulRestart.restartTime = 300
    c.listen.port = 1179
    c.http.port = 9479
    c.api.socket = '/run/gsi-router/other.sock'
    c.log.level = 'debug'
    c.shutdownPolicy = 'withdraw'
  }))
  t.same(d.gatewayTable, ['gatewayTable.table', 'gatewayTable.label', 'gatewayTable.vrf'])
  t.same(d.gracefulRestart, ['gracefulRestart.restartTime'])
  t.same(d.listen, ['listen.port'])
  t.same(d.http, ['http.port'])
  t.same([d.api, d.log, d.shutdownPolicy], [true, true, true])
  t.same(d.restartRequired, [])
  t.same([d.controlNodes.changed, d.connectPeers.changed], [[], []], 'none of these resets a session')
  const pr = diffConfig(OLD, load(c => { c.probes.withdrawOnFailure = true; c.probes.interval = 2 }))
  t.same(pr.probes, ['probes.interval', 'probes.withdrawOnFailure'], 'probe fields')
  t.same(pr.summary, ['probes.interval, probes.withdrawOnFailure changed (probes follow at once)'])
  t.same(pr.restartRequired, [])
  const id = diffConfig(OLD, load(c => { c.routerId = '10.0.1.11'; c.dataplane = 'none' }))
  t.same(id.restartRequired, ['routerId', 'dataplane'])
  t.same(id.summary, ['routerId: 10.0.1.10 -> 10.0.1.11 (needs a restart; not applied)', 'dataplane: kernel -> none (needs a restart; not applied)'])
  t.equal(diffConfig(OLD, load(c => { c.nodeName = 'other' })).empty, true, 'the node name is informative')
})
