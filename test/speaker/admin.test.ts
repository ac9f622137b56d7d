/**
 * Administrative control of peers: down with an RFC 9003 message (the other side sees Cease 2 and
 * the text, our routes leave its RIB), up again (routes return), removal (Cease 3), configuration
 * errors that name the field, and the per-peer statistics gsictl shows.
 */
import t from 'tap'
import { Family } from '../../bgp/codec/afi.js'
import { BgpSpeaker, ConfigError } from '../../bgp/speaker/index.js'
import type { PeerStateEvent } from '../../bgp/speaker/index.js'
import { best, ipv4, makeSpeakers, waitBest, waitFor } from './helpers.js'

const v4 = Family.Ipv4Unicast

t.test('administrative down and up', async (t) => {
  const p = await makeSpeakers({ asA: 65111, asB: 65112 })
  t.teardown(() => p.close())
  const states: PeerStateEvent[] = []
  p.a.on('peer-state', (e) => states.push(e))
  p.a.originate(ipv4('10.11.0.0/16'), { attrs: { origin: 0, asPath: [] }, nextHop: '' })
  p.b.originate(ipv4('10.12.0.0/16'), { attrs: { origin: 0, asPath: [] }, nextHop: '' })
  await waitBest(p.b, v4, '10.11.0.0/16')
  await waitBest(p.a, v4, '10.12.0.0/16')

  await p.a.setPeerEnabled('B', false, 'maintenance window 42')
  t.equal(p.a.session('B').state, 'Idle')
  await waitFor(() => p.b.session('A').stats().lastNotificationReceived !== undefined, 2000, 'B sees the NOTIFICATION')
  const n = p.b.session('A').stats().lastNotificationReceived
  t.equal(n?.code, 6)
  t.equal(n?.subcode, 2, 'Administrative Shutdown')
  t.equal(n?.message, 'maintenance window 42', 'RFC 9003 message')
  await waitBest(p.b, v4, '10.11.0.0/16', false)
  t.equal(best(p.a, v4, '10.12.0.0/16'), undefined, 'A dropped B\'s routes too')
  t.match(states.at(-1), { peer: 'B', from: 'Established', to: 'Idle', reason: 'admin-shutdown' })
  t.equal(p.a.peerStats('B').enabled, false)
  t.equal(p.a.peerStats('B').families[0]?.advertised, 0)

  await p.a.setPeerEnabled('B', true)
  await waitBest(p.b, v4, '10.11.0.0/16')
  await waitBest(p.a, v4, '10.12.0.0/16')
  t.equal(p.a.session('B').state, 'Established')
  const s = p.a.peerStats('B')
  t.equal(s.session.flaps, 1)
  t.equal(s.enabled, true)
  t.equal(s.families[0]?.advertised, 1)
  t.equal(s.families[0]?.received, 1)
  t.equal(s.families[0]?.active, 1)
  t.equal(s.families[0]?.endOfRibReceived, true)
  t.same(s.session.negotiated?.families, ['ipv4-unicast'])
  t.same(JSON.parse(JSON.stringify(p.a.peers()))[0].name, 'B', 'statistics are JSON')
})

t.test('removing a peer: Cease 3, routes gone', async (t) => {
  const p = await makeSpeakers({ asA: 65121, asB: 65122 })
  t.teardown(() => p.close())
  p.b.originate(ipv4('10.13.0.0/16'), { attrs: { origin: 0, asPath: [] }, nextHop: '' })
  await waitBest(p.a, v4, '10.13.0.0/16')
  await p.a.removePeer('B')
  t.equal(best(p.a, v4, '10.13.0.0/16'), undefined)
  t.same(p.a.peerNames(), [])
  await waitFor(() => p.b.session('A').stats().lastNotificationReceived?.subcode === 3, 2000, 'Peer De-configured')
  t.throws(() => p.a.peerStats('B'), /no peer named "B"/)
})

t.test('configuration errors name the field', async (t) => {
  const s = new BgpSpeaker({ localAs: 65000, routerId: '1.2.3.4' })
  t.teardown(() => s.stop())
  const base = { name: 'x', address: '192.0.2.1', asn: 65001 }
  const bad: [object, RegExp][] = [
    [{ ...base, address: 'nope' }, /peer "x": address: "nope" is not an IP address/],
    [{ ...base, asn: 0 }, /peer "x": asn/],
    [{ ...base, holdTime: 2 }, /peer "x": holdTime/],
    [{ ...base, families: [] }, /peer "x": families/],
    [{ ...base, families: [0x0199] }, /peer "x": families\[0\]/],
    [{ ...base, ttl: 300 }, /peer "x": ttl/],
    [{ ...base, localAddress: '::1' }, /peer "x": localAddress: not of the same IP version/],
    [{ ...base, maxPrefix: { [v4]: { limit: 0 } } }, /maxPrefix\[ipv4-unicast\]\.limit/],
    [{ ...base, maxPrefix: { [Family.Ipv6Unicast]: { limit: 5 } } }, /maxPrefix\[ipv6-unicast\]: family is not in families/],
    [{ ...base, maxPrefix: { [v4]: { limit: 5, warningThresholdPercent: 0 } } }, /peer "x": maxPrefix\[ipv4-unicast\]\.warningThresholdPercent: 0 is not an integer 1\.\.100/],
    [{ ...base, maxPrefix: { [v4]: { limit: 5, restartTime: 1.5 } } }, /peer "x": maxPrefix\[ipv4-unicast\]\.restartTime/],
    [{ ...base, allowNextHops: ['martian'] }, /peer "x": allowNextHops\[0\]: "martian" is not one of unspecified, multicast, loopback, class-e, own-address/],
    [{ ...base, exportPolicy: { [v4]: {} } }, /exportPolicy\[ipv4-unicast\]: not a RoutePolicy/],
    [{ ...base, minimumAdvertisementInterval: -1 }, /minimumAdvertisementInterval/],
    [{ ...base, routeReflectorClient: true }, /routeReflectorClient: only an iBGP peer/],
    [{ ...base, passive: true }, /passive: needs the speaker to listen/],
    [{ ...base, name: '' }, /name: must be a non-empty string/],
  ]
  for (const [cfg, re] of bad) t.throws(() => s.addPeer(cfg as never), re, re.source)
  s.addPeer(base)
  t.throws(() => s.addPeer(base), /peer "x": name: already configured/)
  t.throws(() => s.addPeer({ ...base, name: 'y' }), /peer "y": address: 192.0.2.1 is already the address of peer "x"/)
  t.throws(() => new BgpSpeaker({ localAs: 65000, routerId: '0.0.0.0' }), /routerId/)
  t.throws(() => new BgpSpeaker({ localAs: 0, routerId: 1 }), /localAs/)
  t.throws(() => new BgpSpeaker({ localAs: 1, routerId: 1, gracefulRestart: { restartTime: 5000 } }), /gracefulRestart.restartTime/)
  t.throws(() => s.addPeer({ ...base, name: 'z', address: '192.0.2.9', port: 70000 }), ConfigError)
  t.throws(() => s.addPeer({ ...base, name: 'z', address: '192.0.2.9', port: 70000 }), { field: 'peer "z": port', code: 'ERR_BGP_CONFIG' })
  t.throws(() => s.addPeer({ ...base, name: 'z', address: '192.0.2.9', maxPrefix: { [v4]: { limit: 5, warningThresholdPercent: 101 } } }),
    { name: 'ConfigError', field: 'peer "z": maxPrefix[ipv4-unicast].warningThresholdPercent', code: 'ERR_BGP_CONFIG' }, 'a ConfigError naming the field, thrown where it is checked')
})

t.test('best-path events are re-emitted while someone listens', async (t) => {
  const p = await makeSpeakers({ asA: 65131, asB: 65132 })
  t.teardown(() => p.close())
  const seen: string[] = []
  const onBest = (family: number, changes: readonly { kind: string; prefix: string; best?: { nextHop: string } | undefined }[]): void => {
    for (const c of changes) seen.push(`${family}:${c.kind}:${c.prefix}:${c.best?.nextHop ?? ''}`)
  }
  p.b.on('best', onBest)
  t.equal(p.b.rib.listenerCount('best'), 1, 'attached to the RIB')
  p.a.originate(ipv4('10.30.0.0/16'), { attrs: { origin: 0, asPath: [] }, nextHop: '' })
  await waitBest(p.b, v4, '10.30.0.0/16')
  p.a.withdrawOriginated(ipv4('10.30.0.0/16'))
  await waitBest(p.b, v4, '10.30.0.0/16', false)
  t.same(seen, [`${v4}:add:10.30.0.0/16:127.0.0.1`, `${v4}:withdraw:10.30.0.0/16:`])
  p.b.off('best', onBest)
  t.equal(p.b.rib.listenerCount('best'), 0, 'detached: the RIB builds no change objects')
})
