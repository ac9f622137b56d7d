// The data-plane probes' pure parts: the ICMP echo codec (RFC 792, checksum RFC 1071) and the ICMPv6
// one (RFC 4443, checksum over the RFC 8200 pseudo-header) checked against checksums worked by hand
// and against tshark's own dissection, a target's states, a Connect peer's state per IP version, and
// the runner's scheduling, timeouts and withdrawal over fake sockets (the real sockets are
// test/daemon/probes.test.ts and test/kernel/probes.test.ts).
import t from 'tap'
import { EventEmitter } from 'node:events'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Family, type FamilyKey } from '../../bgp/codec/afi.js'
import type { RoutePolicy } from '../../bgp/rib/index.js'
import { resolveConfig } from '../../src/config/index.js'
import {
  ProbeRunner, ProbeTarget, connectPeerOverall, connectPeerState, decodeEchoReply, decodeEchoReply6, encodeEchoRequest, encodeEchoRequest6, icmpv6Checksum,
  internetChecksum, ipv4Header, ipv6Packet, rejectAll, type ConnectPeerDataplaneState, type ProbeHost, type RawSocketModule,
} from '../../src/daemon/probes.js'
import { parseIpv6 } from '../../src/lib/address.js'

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
  constructor(readonly protocol = 1, readonly addressFamily = 1) { super() }
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
      createSocket: (o) => { const s = new FakeSocket(o.protocol, o.addressFamily); sockets.push(s); return s },
      Protocol: { ICMP: 1, ICMPv6: 58 }, AddressFamily: { IPv4: 1, IPv6: 2 }, SocketLevel: { SOL_SOCKET: 1, IPPROTO_IP: 0, IPPROTO_IPV6: 41 }, SocketOption: { IP_HDRINCL: 3 },
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
  t.throws(() => config({ targets: [{ address: '10.244.1.5', vrouter: '198.18.100.1' }] }), /probes\.source: required with IPv4 probes\.targets/)
  t.throws(() => config({ source: '10.0.9.9', targets: [{ address: 'fd00::1', vrouter: '198.18.100.1' }] }), /probes\.sourceIpv6: required with IPv6 probes\.targets/, 'an IPv6 target wants an IPv6 source')
  t.throws(() => config({ interval: 0.01 }), /probes\.interval/)
  t.match(config({}).probes, { enabled: true, interval: 1, timeout: 1, failAfter: 3, lossWindow: 10, withdrawOnFailure: false, targets: [] }, 'defaults')
})

// ---------------------------------------------------------------- IPv6

/** Wraps raw IP packets in a classic pcap (LINKTYPE_RAW) and has tshark print `fields` of each. */
function tsharkFields(packets: Buffer[], fields: string[]): string[][] {
  const dir = mkdtempSync(join(tmpdir(), 'gsi-probe-pcap-'))
  try {
    const head = Buffer.alloc(24)
    head.writeUInt32LE(0xa1b2c3d4, 0); head.writeUInt16LE(2, 4); head.writeUInt16LE(4, 6); head.writeUInt32LE(65535, 16); head.writeUInt32LE(101, 20)
    const records = packets.map((p) => { const r = Buffer.alloc(16); r.writeUInt32LE(p.length, 8); r.writeUInt32LE(p.length, 12); return Buffer.concat([r, p]) })
    const file = join(dir, 'probes.pcap')
    writeFileSync(file, Buffer.concat([head, ...records]))
    const r = spawnSync('tshark', ['-r', file, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8', timeout: 60_000 })
    if (r.status !== 0) throw new Error(`tshark failed (${r.status}): ${r.stderr}`)
    return r.stdout.trim().split('\n').map((l) => l.split('\t'))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

t.test('ICMPv6 echo request: type 128, checksum left to the kernel; our own checksum over the pseudo-header', async (t) => {
  const e = encodeEchoRequest6(0x1234, 1, Buffer.from('abcd'))
  t.same([...e], [128, 0, 0, 0, 0x12, 0x34, 0x00, 0x01, 0x61, 0x62, 0x63, 0x64], 'type 128, code 0, checksum 0 (the kernel fills it), id, seq, payload')
  // by hand: pseudo-header fd00 + 0001 + fd00 + 0002 + length 000c + next header 003a, then the
  // message 8000 + 1234 + 0001 + 6162 + 6364: 0x35144, folded 0x5147, complemented 0xaeb8
  const src = parseIpv6('fd00::1')
  const dst = parseIpv6('fd00::2')
  t.equal(icmpv6Checksum(src, dst, e), 0xaeb8, 'RFC 4443 2.3 checksum worked by hand')
  const p = ipv6Packet('fd00::1', 'fd00::2', e, 64)
  t.equal(p.length, 40 + 12)
  t.same([...p.subarray(0, 8)], [0x60, 0, 0, 0, 0, 12, 58, 64], 'version 6, payload length 12, next header 58, hop limit 64')
  t.same([...p.subarray(8, 24)], [...src], 'source')
  t.same([...p.subarray(24, 40)], [...dst], 'destination')
  t.equal(p.readUInt16BE(42), 0xaeb8, 'the checksum written into the packet (IPV6_HDRINCL: the kernel computes none)')
  t.equal(icmpv6Checksum(src, dst, p.subarray(40)), 0, 'the receiver\'s check over the whole message gives 0')
  t.same(e[2], 0, 'the request given is not changed')
  t.throws(() => ipv6Packet('10.0.9.9', 'fd00::2', e), /probes\.sourceIpv6/, 'an IPv4 source names the field')

  const big = ipv6Packet('fd00:6::1', 'fd00:6::2', encodeEchoRequest6(0xbeef, 0xfffe))
  const [row] = tsharkFields([big], ['ipv6.src', 'ipv6.dst', 'ipv6.plen', 'ipv6.nxt', 'icmpv6.type', 'icmpv6.code', 'icmpv6.checksum.status', 'icmpv6.echo.identifier', 'icmpv6.echo.sequence_number'])
  t.same(row, ['fd00:6::1', 'fd00:6::2', '32', '58', '128', '0', '1', '0xbeef', '65534'], 'tshark: an echo request with a good checksum (status 1), id and sequence')
})

t.test('ICMPv6 echo reply decoding: the sender from recvfrom, canonical; requests and others ignored', async (t) => {
  const reply = encodeEchoRequest6(0xbeef, 7)
  reply[0] = 129
  t.same(decodeEchoReply6(reply, 'fd00:6::2'), { source: 'fd00:6::2', id: 0xbeef, seq: 7 })
  t.same(decodeEchoReply6(reply, 'FD00:6:0::2'), { source: 'fd00:6::2', id: 0xbeef, seq: 7 }, 'the sender in RFC 5952 text, as the targets are')
  t.equal(decodeEchoReply6(encodeEchoRequest6(0xbeef, 7), 'fd00:6::2'), undefined, 'a request is not a reply')
  t.equal(decodeEchoReply6(reply.subarray(0, 7), 'fd00:6::2'), undefined, 'truncated')
  const code1 = Buffer.from(reply); code1[1] = 1
  t.equal(decodeEchoReply6(code1, 'fd00:6::2'), undefined, 'code must be 0')
  const unreachable = Buffer.from(reply); unreachable[0] = 1
  t.equal(decodeEchoReply6(unreachable, 'fd00:6::2'), undefined, 'destination unreachable is no answer')
  t.equal(decodeEchoReply6(reply, 'not an address'), undefined)
})

t.test('a Connect peer\'s state over its IP versions: the worst, the latest change, withdrawn if one is', async (t) => {
  const f = (family: 'ipv4' | 'ipv6', state: ConnectPeerDataplaneState, since: number, withdrawn = false) => ({ connectPeer: 'cp1', link: 'gsigx', family, state, since, withdrawn })
  t.same(connectPeerOverall([f('ipv4', 'up', 1), f('ipv6', 'dataplane-dead', 5, true)]), { state: 'dataplane-dead', since: 5, withdrawn: true })
  t.same(connectPeerOverall([f('ipv4', 'up', 1), f('ipv6', 'pending', 2)]), { state: 'pending', since: 2, withdrawn: false })
  t.same(connectPeerOverall([f('ipv4', 'up', 3), f('ipv6', 'up', 2)]), { state: 'up', since: 3, withdrawn: false })
  t.same(connectPeerOverall([f('ipv4', 'unavailable', 3), f('ipv6', 'up', 2)]), { state: 'up', since: 3, withdrawn: false }, 'no IPv4 socket beside a live IPv6 probe')
  t.equal(connectPeerOverall([]), undefined)
})

function config6(probes: Record<string, unknown>, dataplane: 'none' | 'kernel' = 'none') {
  return resolveConfig({
    nodeAddress: '198.18.1.2', dataplane,
    tgw: { localAsn: 65001, connectPeers: [{ id: 'cp1', transitGatewayAddress: '192.0.2.100', insideCidrBlocks: ['169.254.6.0/29', 'fd00:6::/125'], transitGatewayAsn: 64512 }] },
    controlNodes: { peers: [{ address: '198.18.1.1', asn: 64512 }] },
    probes,
  }).config
}

/** The reply a TGW address gives to the i-th echo on an IPv6 socket: the ICMPv6 message alone, and its sender. */
function reply6To(s: FakeSocket, i: number): [Buffer, string] {
  const { packet, address } = s.sent[i]!
  const icmp = Buffer.from(packet.subarray(packet.length - 32))
  icmp[0] = 129
  return [icmp, address]
}

t.test('an inside /125: ICMPv6 echo to ::2 and ::3 through the GRE link, per-version state and withdrawal', async (t) => {
  let now = 1000
  const policies: [string, FamilyKey, RoutePolicy][] = []
  const normal: RoutePolicy = { perAttributeSet: true, apply: (_r, a) => a }
  const host: ProbeHost = {
    bgpUp: () => true, hasGreLink: () => true, vrouters: () => new Set(),
    sessionsOf: () => [{ name: 'tgw-a', families: [Family.Ipv4Unicast, Family.Ipv6Unicast] }, { name: 'tgw-b', families: [Family.Ipv4Unicast, Family.Ipv6Unicast] }],
    setExportPolicy: (n, f, p) => { policies.push([n, f, p]) },
    normalExportPolicy: normal,
  }
  const { raw, sockets } = fakeRaw()
  const r = new ProbeRunner({ config: config6({ interval: 60, timeout: 1, failAfter: 2, withdrawOnFailure: true }), host, log: silent, now: () => now, monotonic: () => now, raw })
  r.start()
  t.teardown(() => r.stop())
  t.same(sockets.map((s) => [s.protocol, s.addressFamily]), [[1, 1], [58, 2]], 'an ICMP socket (AF_INET) and an ICMPv6 one (AF_INET6)')
  const [s4, s6] = sockets as [FakeSocket, FakeSocket]
  t.same(s4.sent.map((x) => x.address), ['169.254.6.2', '169.254.6.3'])
  t.same(s6.sent.map((x) => x.address), ['fd00:6::2', 'fd00:6::3'], 'the second and third addresses of the /125')
  for (const x of s6.sent) {
    t.equal(x.packet.length, 32, 'the ICMPv6 message alone: the kernel writes the IPv6 header')
    t.same([x.packet[0], x.packet[1], x.packet.readUInt16BE(2)], [128, 0, 0], 'echo request, checksum left to the kernel')
  }
  t.same(r.report().targets.map((x) => [x.address, x.family]), [['169.254.6.2', 'ipv4'], ['169.254.6.3', 'ipv4'], ['fd00:6::2', 'ipv6'], ['fd00:6::3', 'ipv6']])
  const ids = new Set([...s4.sent, ...s6.sent].map((x) => x.packet.readUInt16BE(4)))
  t.equal(ids.size, 1, 'one identifier for the runner')
  t.equal(new Set([...s4.sent, ...s6.sent].map((x) => x.packet.readUInt16BE(6))).size, 4, 'a sequence number per echo, across both versions')

  // answers: IPv4 on its socket; an IPv6 answer from the wrong sender, with a wrong identifier, then right
  now += 2
  s4.emit('message', replyTo(s4, 0))
  s4.emit('message', replyTo(s4, 1))
  const [m, from] = reply6To(s6, 0)
  s6.emit('message', m, 'fd00:6::3')
  t.equal(r.report().targets[2]?.replies, 0, 'an IPv6 answer from another address does not count')
  const wrongId = Buffer.from(m); wrongId.writeUInt16BE((m.readUInt16BE(4) + 1) & 0xffff, 4)
  s6.emit('message', wrongId, from)
  t.equal(r.report().targets[2]?.replies, 0, 'nor one with another identifier')
  s6.emit('message', m, from)
  t.match(r.report().targets[2], { family: 'ipv6', state: 'alive', replies: 1, rttMs: 2 })
  t.match(r.report().connectPeers, [{ connectPeer: 'cp1', family: 'ipv4', state: 'up' }, { connectPeer: 'cp1', family: 'ipv6', state: 'up' }])

  // ICMPv6 dropped at the TGW: IPv4 keeps answering, IPv6 dies
  for (let i = 0; i < 3; i++) {
    now += 1000
    r.tick()
    for (let j = 0; j < s4.sent.length; j++) s4.emit('message', replyTo(s4, j))
  }
  t.same(r.report().targets.map((x) => x.state), ['alive', 'alive', 'dead', 'dead'], 'the IPv6 targets dead, the IPv4 ones alive')
  t.match(r.report().connectPeers, [{ family: 'ipv4', state: 'up', withdrawn: false }, { family: 'ipv6', state: 'dataplane-dead', withdrawn: true }])
  t.same(policies.map(([n, f, p]) => [n, f, p === rejectAll]), [['tgw-a', Family.Ipv6Unicast, true], ['tgw-b', Family.Ipv6Unicast, true]], 'only IPv6 unicast withdrawn, from both sessions')
  t.same(connectPeerOverall(r.report().connectPeers), { state: 'dataplane-dead', since: now, withdrawn: true }, 'status: the worst of the two')

  policies.length = 0
  r.reapplyWithdrawals()
  t.same(policies.map(([n, f]) => [n, f]), [['tgw-a', Family.Ipv6Unicast], ['tgw-b', Family.Ipv6Unicast]], 'a reload re-applies the IPv6 withdrawal only')

  policies.length = 0
  const [last, lastFrom] = reply6To(s6, s6.sent.length - 1)
  s6.emit('message', last, lastFrom)
  t.match(r.report().connectPeers, [{ family: 'ipv4', state: 'up' }, { family: 'ipv6', state: 'up', withdrawn: false }])
  t.same(policies.map(([n, f, p]) => [n, f, p === normal]), [['tgw-a', Family.Ipv6Unicast, true], ['tgw-b', Family.Ipv6Unicast, true]], 'IPv6 advertised again at the first answer')

  r.reconfigure(config({ interval: 60, timeout: 1, failAfter: 2, withdrawOnFailure: true }))
  t.ok(s6.closed, 'the /125 gone: the ICMPv6 socket is closed')
  t.same(r.report().connectPeers.map((c) => c.family), ['ipv4'])
})

t.test('IPv6 targets behind a vRouter: bound to the VRF, our IPv6 header from probes.sourceIpv6 (IPV6_HDRINCL)', async (t) => {
  const host: ProbeHost = {
    bgpUp: () => false, hasGreLink: () => false, vrouters: () => new Set(['198.18.100.1']), sessionsOf: () => [], setExportPolicy: () => {},
    normalExportPolicy: rejectAll,
  }
  const { raw, sockets } = fakeRaw()
  const c = config({ sourceIpv6: 'fd00:9::9', targets: [{ address: 'fd00:244::5', vrouter: '198.18.100.1' }] }, 'kernel')
  const r = new ProbeRunner({ config: c, host, log: silent, now: () => 0, raw })
  r.start()
  t.teardown(() => r.stop())
  t.same(sockets.map((s) => [s.protocol, s.addressFamily]), [[1, 1], [58, 2]], 'the TGW\'s ICMP socket and the tunnels\' ICMPv6 one; no IPv4 tunnel socket without an IPv4 target')
  const vn6 = sockets[1]!
  t.same(vn6.options, [[1, 25, Buffer.from('gsiv1000\0')], [41, 36, 1]], 'SO_BINDTODEVICE to the gateway VRF, then IPV6_HDRINCL')
  const p = vn6.sent[0]!
  t.equal(p.address, 'fd00:244::5')
  t.same([...p.packet.subarray(8, 24)], [...parseIpv6('fd00:9::9')], 'from probes.sourceIpv6')
  t.same([p.packet[6], p.packet[40]], [58, 128], 'ICMPv6 echo request')
  t.equal(icmpv6Checksum(p.packet.subarray(8, 24), p.packet.subarray(24, 40), p.packet.subarray(40)), 0, 'its checksum is right')
  vn6.emit('message', Buffer.concat([Buffer.from([129, 0]), p.packet.subarray(42)]), 'fd00:244::5')
  t.match(r.report().targets.find((x) => x.kind === 'vn'), { family: 'ipv6', state: 'alive', replies: 1 })
})

t.test('a socket that cannot open leaves the other IP version probing, and says why', async (t) => {
  const { raw, sockets } = fakeRaw()
  const failing: RawSocketModule = { ...raw, createSocket: (o) => { if (o.addressFamily === 2) throw new Error('Address family not supported by protocol'); return raw.createSocket(o) } }
  const host: ProbeHost = { bgpUp: () => true, hasGreLink: () => true, vrouters: () => new Set(), sessionsOf: () => [], setExportPolicy: () => {}, normalExportPolicy: rejectAll }
  const r = new ProbeRunner({ config: config6({}), host, log: silent, now: () => 0, raw: failing })
  r.start()
  t.teardown(() => r.stop())
  t.equal(sockets[0]!.sent.length, 2, 'the IPv4 echoes leave')
  t.match(r.report().targets.filter((x) => x.family === 'ipv6'), [{ state: 'unavailable', lastError: /not supported/ }, { state: 'unavailable' }])
  t.match(r.report().connectPeers, [{ family: 'ipv4', state: 'pending' }, { family: 'ipv6', state: 'unavailable' }])
})

t.test('IPv6 probe targets: a source of their own version, errors by field', async (t) => {
  const c = config({ source: '10.0.9.9', sourceIpv6: 'fd00:9::9', targets: [{ address: '10.244.1.5', vrouter: '198.18.100.1' }, { address: 'fd00:244::5', vrouter: '198.18.100.1' }] })
  t.same(c.probes.targets, [{ address: '10.244.1.5', vrouter: '198.18.100.1' }, { address: 'fd00:244::5', vrouter: '198.18.100.1' }])
  t.equal(c.probes.sourceIpv6, 'fd00:9::9')
  t.throws(() => config({ source: '10.0.9.9', targets: [{ address: 'fd00:244::5', vrouter: '198.18.100.1' }] }), /probes\.sourceIpv6: required with IPv6 probes\.targets \(fd00:244::5\)/)
  t.throws(() => config({ sourceIpv6: 'fd00:9::9', targets: [{ address: '10.244.1.5', vrouter: '198.18.100.1' }] }), /probes\.source: required with IPv4 probes\.targets \(10\.244\.1\.5\)/)
  t.throws(() => config({ source: 'fd00:9::9' }), /probes\.source: "fd00:9::9" is IPv6: the IPv6 probes' source is probes\.sourceIpv6/)
  t.throws(() => config({ sourceIpv6: '10.0.9.9' }), /probes\.sourceIpv6: "10\.0\.9\.9" is not an IPv6 address/)
  t.throws(() => config({ sourceIpv6: 'fd00:9:0::9' }), /probes\.sourceIpv6: "fd00:9:0::9" is not in canonical form \(write fd00:9::9\)/)
  t.throws(() => config({ sourceIpv6: 'fd00:9::9', targets: [{ address: 'FD00:244::5', vrouter: '198.18.100.1' }] }), /probes\.targets\[0\]\.address: "FD00:244::5" is not in canonical form/)
  t.throws(() => config({ sourceIpv6: 'fd00:9::9', targets: [{ address: 'fe80::5', vrouter: '198.18.100.1' }] }), /probes\.targets\[0\]\.address: "fe80::5" is link-local/)
  t.throws(() => config({ sourceIpv6: 'fd00:9::9', targets: [{ address: 'fd00:244::5', vrouter: 'fd00::1' }] }), /probes\.targets\[0\]\.vrouter/)
  t.throws(() => config({ sourceIpv6: 'fd00:9::9', targets: [{ address: 'fd00:244::x', vrouter: '198.18.100.1' }] }), /probes\.targets\[0\]\.address/)
  t.throws(() => config({ sourceIpv6: 'fd00:9::9', targets: [{ address: 'fd00:244::5', vrouter: '198.18.100.1' }, { address: 'fd00:244::5', vrouter: '198.18.100.1' }] }), /probes\.targets\[1\]: target fd00:244::5 via 198\.18\.100\.1 duplicates probes\.targets\[0\]/)
})
