// The data-plane probes' pure parts: the ICMP echo codec (RFC 792, checksum RFC 1071) checked
// against a checksum worked by hand, a target's states, a Connect peer's state, and the runner's
// scheduling, timeouts and withdrawal over a fake socket (the real socket is test/daemon/probes.test.ts).
import t from 'tap'
import { EventEmitter } from 'node:events'
import { Family, type FamilyKey } from '../../bgp/codec/afi.js'
import type { RoutePolicy } from '../../bgp/rib/index.js'
import { resolveConfig } from '../../src/config/index.js'
import {
  ProbeRunner, ProbeTarget, connectPeerState, decodeEchoReply, encodeEchoRequest, internetChecksum, ipv4Header, rejectAll, type ProbeHost, type RawSocketModule,
} from '../../src/daemon/probes.js'

t.test('echo request: the checksum RFC 1071 gives, identifier and sequence in network order', async (t) => {
  // id 0x1234, seq 1, payload "abcd"; checksum by hand: 0x0800 + 0x1234 + 0x0001 + 0x6162 + 0x6364
  // = 0xdefb, complemented 0x2104
  const e = encodeEchoRequest(0x1234, 1, Buffer.from('abcd'))
  t.same([...e], [8, 0, 0x21, 0x04, 0x12, 0x34, 0x00, 0x01, 0x61, 0x62, 0x63, 0x64], 'type 8, code 0, checksum, id, seq, payload')
  t.equal(internetChecksum(e), 0, 'the checksum over the whole message is 0 (the receiver\'s check)')
  t.equal(internetChecksum(Buffer.from([0x01])), 0xfeff, 'an odd length pads with a zero octet')
})

t.test('IPv4 header for IP_HDRINCL and echo reply decoding', async (t) => {
  const h = ipv4Header('198.18.1.2', '10.244.1.5')
  t.same([...h.subarray(12, 20)], [198, 18, 1, 2, 10, 244, 1, 5], 'source and destination')
  t.equal(h[0], 0x45)
  t.equal(h[9], 1, 'protocol ICMP')
  const reply = Buffer.from(encodeEchoRequest(0xbeef, 7))
  reply[0] = 0
  const packet = Buffer.concat([ipv4Header('169.254.6.2', '169.254.6.1'), reply])
  t.same(decodeEchoReply(packet), { source: '169.254.6.2', id: 0xbeef, seq: 7 })
  t.equal(decodeEchoReply(Buffer.concat([ipv4Header('169.254.6.2', '169.254.6.1'), encodeEchoRequest(1, 1)])), undefined, 'a request is not a reply')
  t.equal(decodeEchoReply(packet.subarray(0, 24)), undefined, 'truncated')
  const withOptions = Buffer.concat([ipv4Header('169.254.6.3', '169.254.6.1'), Buffer.alloc(4), reply])
  withOptions[0] = 0x46
  t.same(decodeEchoReply(withOptions), { source: '169.254.6.3', id: 0xbeef, seq: 7 }, 'IP options skipped by the header length')
})

t.test('a target: pending, dead after failAfter losses in a row, alive at one answer; loss over the window', async (t) => {
  const x = new ProbeTarget('tgw', '169.254.6.2', 'cp', 0, 4, 3)
  t.equal(x.state, 'pending')
  x.sentEcho(1); x.timedOut(2)
  x.sentEcho(3); x.timedOut(4)
  t.equal(x.state, 'pending', 'two losses: not yet dead')
  x.sentEcho(5); x.timedOut(6)
  t.equal(x.state, 'dead')
  t.equal(x.since, 6)
  x.sentEcho(7); x.answered(1.5, 8)
  t.match(x.report(), { state: 'alive', since: 8, sent: 4, replies: 1, lost: 3, lossRatio: 0.75, rttMs: 1.5 })
  x.sentEcho(9); x.answered(1, 10)
  t.equal(x.report().lossRatio, 0.5, 'the window keeps the last 4 decided echoes')
  x.idle('no-tunnel', 11)
  t.equal(x.state, 'no-tunnel')
  x.timedOut(12, 'ENETUNREACH')
  t.match(x.report(), { state: 'no-tunnel', lastError: 'ENETUNREACH' }, 'a loss after idling starts a new run')
})

t.test('a Connect peer\'s state', async (t) => {
  t.equal(connectPeerState(true, ['alive', 'dead']), 'up')
  t.equal(connectPeerState(true, ['dead', 'dead']), 'dataplane-dead', 'BGP up, every probe dead')
  t.equal(connectPeerState(false, ['dead', 'dead']), 'bgp-down')
  t.equal(connectPeerState(true, ['pending', 'dead']), 'pending')
  t.equal(connectPeerState(true, ['no-tunnel', 'no-tunnel']), 'pending')
  t.equal(connectPeerState(true, ['unavailable', 'unavailable']), 'unavailable')
  t.equal(connectPeerState(true, []), 'unavailable')
})

class FakeSocket extends EventEmitter {
  readonly sent: { packet: Buffer; address: string }[] = []
  options: [number, number, Buffer | number][] = []
  closed = false
  send(b: Buffer, _o: number, _l: number, address: string, cb: (e: Error | null) => void): void { this.sent.push({ packet: b, address }); cb(null) }
  setOption(level: number, option: number, value: Buffer | number): void { this.options.push([level, option, value]) }
  close(): void { this.closed = true }
}

function fakeRaw(): { raw: RawSocketModule; sockets: FakeSocket[] } {
  const sockets: FakeSocket[] = []
  return {
    sockets,
    raw: {
      createSocket: () => { const s = new FakeSocket(); sockets.push(s); return s },
      Protocol: { ICMP: 1 }, AddressFamily: { IPv4: 1 }, SocketLevel: { SOL_SOCKET: 1, IPPROTO_IP: 0 }, SocketOption: { IP_HDRINCL: 3 },
    },
  }
}

const silent = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, fatal() {}, child() { return silent } } as never

function config(probes: Record<string, unknown>, dataplane: 'none' | 'kernel' = 'none') {
  return resolveConfig({
    nodeAddress: '198.18.1.2', dataplane,
    tgw: { localAsn: 65001, connectPeers: [{ id: 'cp1', transitGatewayAddress: '192.0.2.100', insideCidrBlocks: ['169.254.6.0/29'], transitGatewayAsn: 64512 }] },
    controlNodes: { peers: [{ address: '198.18.1.1', asn: 64512 }] },
    probes,
  }).config
}

function replyTo(s: FakeSocket, i: number, source?: string): Buffer {
  const { packet, address } = s.sent[i]!
  const icmp = Buffer.from(packet.subarray(packet.length - 32))
  icmp[0] = 0
  return Buffer.concat([ipv4Header(source ?? address, '169.254.6.1'), icmp])
}

t.test('the runner: one echo per target per round, timeouts, state, withdrawal and its undoing', async (t) => {
  let now = 1000
  const policies: [string, FamilyKey, RoutePolicy][] = []
  const normal: RoutePolicy = { perAttributeSet: true, apply: (_r, a) => a }
  const host: ProbeHost = {
    bgpUp: () => true, hasGreLink: () => true, vrouters: () => new Set(),
    sessionsOf: () => [{ name: 'tgw-a', families: [Family.Ipv4Unicast] }, { name: 'tgw-b', families: [Family.Ipv4Unicast] }],
    setExportPolicy: (n, f, p) => { policies.push([n, f, p]) },
    normalExportPolicy: normal,
  }
  const { raw, sockets } = fakeRaw()
  const r = new ProbeRunner({ config: config({ interval: 60, timeout: 1, failAfter: 2, withdrawOnFailure: true }), host, log: silent, now: () => now, monotonic: () => now, raw })
  r.start()
  t.teardown(() => r.stop())
  const s = sockets[0]!
  t.equal(sockets.length, 1, 'no tunnel targets: one socket')
  t.same(s.options, [], 'dataplane none: not bound to a device')
  t.same(s.sent.map((x) => x.address), ['169.254.6.2', '169.254.6.3'], 'the TGW\'s .2 and .3')
  now += 500
  r.tick()
  t.equal(s.sent.length, 2, 'one echo in flight per target: nothing more before the timeout')
  s.emit('message', replyTo(s, 0, '169.254.6.9'))
  t.equal(r.report().targets[0]?.replies, 0, 'an answer from another address does not count')
  s.emit('message', replyTo(s, 0))
  t.match(r.report().targets[0], { state: 'alive', replies: 1, rttMs: 500 })
  t.match(r.report().connectPeers, [{ connectPeer: 'cp1', state: 'up', withdrawn: false }])

  for (let i = 0; i < 3; i++) { now += 1000; r.tick() }
  t.match(r.report().targets.map((x) => x.state), ['dead', 'dead'], 'no answers: dead after 2 timeouts')
  t.match(r.report().connectPeers, [{ state: 'dataplane-dead', withdrawn: true }])
  t.same(policies.map(([n, , p]) => [n, p === rejectAll]), [['tgw-a', true], ['tgw-b', true]], 'both sessions reject everything')

  policies.length = 0
  r.reapplyWithdrawals()
  t.same(policies.map(([n, , p]) => [n, p === rejectAll]), [['tgw-a', true], ['tgw-b', true]], 'applied again after a reload re-created the sessions')

  policies.length = 0
  s.emit('message', replyTo(s, s.sent.length - 1))
  t.match(r.report().connectPeers, [{ state: 'up', withdrawn: false }])
  t.same(policies.map(([n, , p]) => [n, p === normal]), [['tgw-a', true], ['tgw-b', true]], 'the normal export policy back at the first answer')

  r.stop()
  t.ok(s.closed, 'stop closes the socket')
  const before = s.sent.length
  r.tick()
  t.equal(s.sent.length, before, 'nothing sent after stop')
})

t.test('kernel mode: bound to the VRF; tunnel targets only with a tunnel, from probes.source', async (t) => {
  let vrouters = new Set<string>()
  const host: ProbeHost = {
    bgpUp: () => false, hasGreLink: () => false, vrouters: () => vrouters, sessionsOf: () => [], setExportPolicy: () => {},
    normalExportPolicy: rejectAll,
  }
  const { raw, sockets } = fakeRaw()
  const c = config({ source: '10.0.9.9', targets: [{ address: '10.244.1.5', vrouter: '198.18.100.1' }] }, 'kernel')
  const r = new ProbeRunner({ config: c, host, log: silent, now: () => 0, raw })
  r.start()
  t.teardown(() => r.stop())
  t.equal(sockets.length, 2)
  for (const s of sockets) t.same(s.options[0], [1, 25, Buffer.from('gsiv1000\0')], 'SO_BINDTODEVICE to the gateway VRF')
  t.same(sockets[1]!.options[1], [0, 3, 1], 'the tunnel socket writes its IP header (IP_HDRINCL)')
  t.same(sockets.map((s) => s.sent.length), [0, 0], 'no GRE link, no tunnel: nothing sent')
  t.same(r.report().targets.map((x) => x.state), ['no-tunnel', 'no-tunnel', 'no-tunnel'])
  vrouters = new Set(['198.18.100.1'])
  r.tick()
  const p = sockets[1]!.sent[0]!
  t.equal(p.address, '10.244.1.5')
  t.same([...p.packet.subarray(12, 20)], [10, 0, 9, 9, 10, 244, 1, 5], 'from probes.source')
  t.equal(sockets[0]!.sent.length, 0, 'still nothing toward the TGW without its link')

  r.reconfigure(config({ source: '10.0.9.9', targets: [] }, 'kernel'))
  t.ok(sockets[1]!.closed, 'no tunnel targets left: the tunnel socket is closed')
  t.same(r.report().targets.map((x) => x.kind), ['tgw', 'tgw'], 'the tunnel target is gone')
  r.reconfigure(config({ source: '10.0.9.9', targets: [{ address: '10.244.1.6', vrouter: '198.18.100.1' }] }, 'kernel'))
  t.equal(sockets.length, 5, 'a tunnel target again: both sockets opened anew (3 + 2)')
  t.ok(sockets[2]!.closed, 'the previous TGW socket closed')
  t.equal(sockets[4]!.sent[0]?.address, '10.244.1.6', 'and probed at once')
})

t.test('probes.targets need a source; addresses are checked by field', async (t) => {
  t.throws(() => config({ targets: [{ address: '10.244.1.5', vrouter: '198.18.100.1' }] }), /probes\.source: required with probes\.targets/)
  t.throws(() => config({ source: '10.0.9.9', targets: [{ address: 'fd00::1', vrouter: '198.18.100.1' }] }), /probes\.targets\[0\]\.address/)
  t.throws(() => config({ interval: 0.01 }), /probes\.interval/)
  t.match(config({}).probes, { enabled: true, interval: 1, timeout: 1, failAfter: 3, lossWindow: 10, withdrawOnFailure: false, targets: [] }, 'defaults')
})
