/**
 * Capability negotiation: families, 4-octet AS and AS_TRANS, peer AS and identifier checks, hold
 * time and keepalive, ADD-PATH directions, graceful restart, extended message and next hop, route
 * refresh. OPENs go through the real codec (encode, decode) so the test sees what the wire carries.
 */
import t from 'tap'
import type { Test } from 'tap'
import { buildOpen, negotiate, summarizeNegotiated, peerAsOf } from '../../bgp/session/negotiate.js'
import type { LocalCapabilities } from '../../bgp/session/negotiate.js'
import { Family } from '../../bgp/codec/afi.js'
import { BgpError } from '../../bgp/codec/errors.js'
import { makeOpen, AS_TRANS } from '../../bgp/codec/open.js'
import type { OpenMessage } from '../../bgp/codec/open.js'
import { decodeMessage, encodeMessage } from '../../bgp/codec/message.js'

/** Through the wire format and back, as the session sees a peer's OPEN. */
function wire(o: OpenMessage): OpenMessage {
  const m = decodeMessage(encodeMessage(o), 0)
  if (m.type !== 'open') throw new Error('not an OPEN')
  return m
}

const us: LocalCapabilities = { localAs: 64512, localId: 0x0a000001, holdTime: 90, families: [Family.Ipv4Unicast, Family.Ipv4Vpn, Family.RouteTarget] }
const peerCaps: LocalCapabilities = { localAs: 64512, localId: 0x0a000002, holdTime: 30, families: [Family.Ipv4Vpn, Family.Ipv6Vpn, Family.RouteTarget] }

function fails(t: Test, fn: () => unknown, code: number, subcode: number, kind: string) {
  try {
    fn()
    t.fail(`expected ${kind}`)
  } catch (e) {
    t.ok(e instanceof BgpError, 'a BgpError')
    t.match(e, { code, subcode, kind })
  }
}

t.test('families intersect; hold time is the smaller; keepalive a third', async (t) => {
  const n = negotiate(wire(buildOpen(us)), wire(buildOpen(peerCaps)), { peerAs: 64512 })
  t.same(n.families, [Family.Ipv4Vpn, Family.RouteTarget])
  t.same([...n.context.families].sort(), [Family.Ipv4Vpn, Family.RouteTarget].sort())
  t.equal(n.holdTime, 30)
  t.equal(n.keepaliveTime, 10)
  t.equal(n.ebgp, false)
  t.equal(n.context.ebgp, false)
  t.equal(n.as4, true)
  t.equal(n.routeRefresh, true)
  t.equal(n.enhancedRouteRefresh, false)
  t.equal(n.context.maxMessageLength, 4096)
  t.equal(n.peerId, 0x0a000002)
  const s = summarizeNegotiated(n)
  t.same(s.families, ['l3vpn-ipv4-unicast', 'rtc'])
  t.equal(s.peerId, '10.0.0.2')
  t.same(JSON.parse(JSON.stringify(s)), s, 'summary is plain JSON')
  // Configured keepalive below a third is kept; above it is capped.
  t.equal(negotiate(wire(buildOpen(us)), wire(buildOpen(peerCaps)), { peerAs: 64512, keepaliveTime: 4 }).keepaliveTime, 4)
  t.equal(negotiate(wire(buildOpen(us)), wire(buildOpen(peerCaps)), { peerAs: 64512, keepaliveTime: 25 }).keepaliveTime, 10)
})

t.test('a peer without multiprotocol capabilities speaks IPv4 unicast', async (t) => {
  const plain = wire(makeOpen({ asn: 65001, holdTime: 180, bgpId: 0x01020304 }))
  const n = negotiate(wire(buildOpen(us)), plain, { peerAs: 65001 })
  t.same(n.families, [Family.Ipv4Unicast])
  t.equal(n.ebgp, true)
  t.equal(n.holdTime, 90)
  t.equal(n.routeRefresh, false)
  fails(t, () => negotiate(wire(buildOpen({ ...us, families: [Family.Ipv4Vpn] })), plain, { peerAs: 65001 }), 2, 7, 'unsupported-capability')
})

t.test('peer AS checks: configured AS, 4-octet AS, AS_TRANS', async (t) => {
  const big: LocalCapabilities = { ...peerCaps, localAs: 4200000001 }
  const bigOpen = wire(buildOpen(big))
  t.equal(bigOpen.myAs, AS_TRANS, 'a 4-octet AS goes as AS_TRANS in My AS')
  t.equal(negotiate(wire(buildOpen(us)), bigOpen, { peerAs: 4200000001 }).peerAs, 4200000001)
  fails(t, () => negotiate(wire(buildOpen(us)), bigOpen, { peerAs: 65001 }), 2, 2, 'bad-peer-as')
  fails(t, () => negotiate(wire(buildOpen(us)), wire(buildOpen(peerCaps)), { peerAs: 65001 }), 2, 2, 'bad-peer-as')
  // AS_TRANS without the capability is nobody's AS.
  const trans: OpenMessage = { type: 'open', version: 4, myAs: AS_TRANS, holdTime: 90, bgpId: 5, capabilities: [] }
  fails(t, () => peerAsOf(trans), 2, 2, 'bad-peer-as')
  // My AS disagreeing with the 4-octet capability.
  const liar: OpenMessage = { type: 'open', version: 4, myAs: 65002, holdTime: 90, bgpId: 5, capabilities: [{ type: 'as4', asn: 65001 }] }
  fails(t, () => peerAsOf(liar), 2, 2, 'bad-peer-as')
  // 2-octet-only peer: no as4 in the context.
  const old: OpenMessage = { type: 'open', version: 4, myAs: 65001, holdTime: 90, bgpId: 5, capabilities: [] }
  t.equal(negotiate(wire(buildOpen(us)), old, { peerAs: 65001 }).context.as4, false)
})

t.test('iBGP peer with our identifier is refused; eBGP may share it', async (t) => {
  const same = wire(buildOpen({ ...peerCaps, localId: us.localId }))
  fails(t, () => negotiate(wire(buildOpen(us)), same, { peerAs: 64512 }), 2, 3, 'bad-bgp-identifier')
  const ext = wire(buildOpen({ ...peerCaps, localAs: 65001, localId: us.localId }))
  t.equal(negotiate(wire(buildOpen(us)), ext, { peerAs: 65001 }).ebgp, true)
})

t.test('hold time: zero allowed, minimum enforced', async (t) => {
  const zero = wire(buildOpen({ ...peerCaps, holdTime: 0 }))
  const n = negotiate(wire(buildOpen(us)), zero, { peerAs: 64512 })
  t.equal(n.holdTime, 0)
  t.equal(n.keepaliveTime, 0)
  fails(t, () => negotiate(wire(buildOpen(us)), zero, { peerAs: 64512, allowHoldTimeZero: false }), 2, 6, 'unacceptable-hold-time')
  const short = wire(buildOpen({ ...peerCaps, holdTime: 5 }))
  t.equal(negotiate(wire(buildOpen(us)), short, { peerAs: 64512 }).holdTime, 5)
  fails(t, () => negotiate(wire(buildOpen(us)), short, { peerAs: 64512, minHoldTime: 9 }), 2, 6, 'unacceptable-hold-time')
  t.throws(() => buildOpen({ ...us, holdTime: 2 }), /holdTime 2/)
  // The codec itself refuses 1 and 2 from the wire.
  const buf = encodeMessage({ ...buildOpen(us), holdTime: 2 })
  t.throws(() => decodeMessage(buf, 0), { code: 2, subcode: 6 })
})

t.test('ADD-PATH directions per family', async (t) => {
  const mine: LocalCapabilities = {
    ...us,
    addPath: [
      { family: Family.Ipv4Vpn, send: true, receive: true },
      { family: Family.RouteTarget, send: false, receive: true },
      { family: Family.Ipv4Unicast, send: true, receive: true },
    ],
  }
  const theirs: LocalCapabilities = {
    ...peerCaps,
    addPath: [
      { family: Family.Ipv4Vpn, send: false, receive: true }, // they only receive: we send
      { family: Family.RouteTarget, send: false, receive: true }, // nobody sends: nothing
      { family: Family.Ipv6Vpn, send: true, receive: true }, // not negotiated
    ],
  }
  const n = negotiate(wire(buildOpen(mine)), wire(buildOpen(theirs)), { peerAs: 64512 })
  t.same(n.addPath, [{ family: Family.Ipv4Vpn, send: true, receive: false }])
  t.same([...n.context.addPathSend], [Family.Ipv4Vpn])
  t.same([...n.context.addPathReceive], [])
  const both = negotiate(wire(buildOpen(theirs)), wire(buildOpen(mine)), { peerAs: 64512 })
  t.same([...both.context.addPathReceive], [Family.Ipv4Vpn], 'the mirror image')
})

t.test('graceful restart, extended message, extended next hop, enhanced route refresh', async (t) => {
  const mine: LocalCapabilities = {
    ...us,
    families: [Family.Ipv4Unicast, Family.Ipv6Unicast],
    gracefulRestart: { restartTime: 120, forwarding: [Family.Ipv4Unicast] },
    extendedMessage: true,
    extendedNextHop: [{ family: Family.Ipv4Unicast, nextHopAfi: 2 }],
    enhancedRouteRefresh: true,
  }
  const theirs: LocalCapabilities = {
    ...peerCaps,
    localAs: 65010,
    families: [Family.Ipv4Unicast, Family.Ipv6Unicast],
    gracefulRestart: { restartTime: 300, restarting: true, notification: true, forwarding: [Family.Ipv6Unicast] },
    extendedMessage: true,
    extendedNextHop: [{ family: Family.Ipv4Unicast, nextHopAfi: 2 }, { family: Family.Ipv4Vpn, nextHopAfi: 2 }],
    enhancedRouteRefresh: true,
  }
  const n = negotiate(wire(buildOpen(mine)), wire(buildOpen(theirs)), { peerAs: 65010 })
  t.same(n.gracefulRestart, {
    restartTime: 300,
    restarting: true,
    notification: true,
    families: [
      { family: Family.Ipv4Unicast, forwarding: false },
      { family: Family.Ipv6Unicast, forwarding: true },
    ],
  })
  t.equal(n.extendedMessage, true)
  t.equal(n.context.maxMessageLength, 65535)
  t.same(n.extendedNextHop, [{ family: Family.Ipv4Unicast, nextHopAfi: 2 }])
  t.equal(n.enhancedRouteRefresh, true)
  t.same(summarizeNegotiated(n).gracefulRestart?.families, [
    { family: 'ipv4-unicast', forwarding: false },
    { family: 'ipv6-unicast', forwarding: true },
  ])
  // One side only: none of them.
  const plain = negotiate(wire(buildOpen(us)), wire(buildOpen(theirs)), { peerAs: 65010 })
  t.equal(plain.gracefulRestart, undefined)
  t.equal(plain.extendedMessage, false)
  t.equal(plain.enhancedRouteRefresh, false)
  t.same(plain.extendedNextHop, [])
  t.throws(() => buildOpen({ ...us, gracefulRestart: { restartTime: 5000 } }), /restartTime 5000/)
})
