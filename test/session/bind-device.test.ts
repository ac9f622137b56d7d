/**
 * SO_BINDTODEVICE for BGP sessions and listeners (`bindDevice`, through the native addon).
 *
 * On loopback: a listener bound to `lo` and a session bound to `lo` come up, and the kernel reports
 * both sockets bound to `lo` (the accepted one inherits it from the listener); an unknown device fails
 * with ENODEV; bad names are refused with the field named.
 * Between two network namespaces the test creates (a veth pair, 192.0.2.1 and 192.0.2.2): a session
 * bound to its veth reaches a listener bound to the other end; the same session bound to `lo` sends
 * its SYN out `lo` and never reaches the peer; a listener bound to `lo` does not take a connection
 * that arrives on the veth (the SYN is refused).
 * Through BgpSpeaker: `listen.bindDevice` and `PeerConfig.bindDevice` reach the sockets.
 * The VRF case itself runs in the VM with the daemon.
 */
import t from 'tap'
import { BgpListener, Session } from '../../bgp/session/index.js'
import { validatePeerConfig } from '../../bgp/speaker/config.js'
import { BgpSpeaker } from '../../bgp/speaker/index.js'
import { boundDevice, nativeAvailable, nativeListen, socketFd } from '../../native/index.js'
import { createNetns, NsWorker, vethPair } from '../kernel/lib/index.js'
import { makePair, waitFor, waitState } from './helpers.js'
import { closeSync } from 'node:fs'

const scenarios = new URL('./bind-device-scenarios.ts', import.meta.url)

t.test('the native addon is built', async t => {
  t.ok(nativeAvailable(), 'native/build/Release/gsi_native.node loads (npm run build:native)')
})

t.test('loopback: listener and session bound to lo, read back from the kernel', async t => {
  const fd = nativeListen({ address: '127.0.0.3', port: 0, bindDevice: 'lo' })
  t.equal(boundDevice(fd), 'lo', 'a native listening socket is bound to lo')
  closeSync(fd)
  const plain = nativeListen({ address: '127.0.0.3', port: 0 })
  t.equal(boundDevice(plain), '', 'without bindDevice, no device')
  closeSync(plain)

  const pair = await makePair({}, { bindDevice: 'lo' }, {}, { listenerB: { bindDevice: 'lo' } })
  t.teardown(() => pair.close())
  t.equal(boundDevice(socketFd(pair.listenerB.netServer)), 'lo', 'BgpListener socket bound to lo')
  pair.b.start()
  pair.a.start()
  await waitState(pair.a, 'Established', 8000)
  await waitState(pair.b, 'Established', 8000)
  t.equal(pair.a.stats().connection?.device, 'lo', 'outgoing socket bound to lo before connect()')
  t.equal(pair.a.stats().connection?.direction, 'outgoing')
  t.equal(pair.b.stats().connection?.device, 'lo', 'accepted socket inherits the listener\'s device')
})

t.test('loopback control: without bindDevice the sockets are not bound', async t => {
  const pair = await makePair({})
  t.teardown(() => pair.close())
  pair.b.start()
  pair.a.start()
  await waitState(pair.a, 'Established', 8000)
  t.equal(pair.a.stats().connection?.device, '')
  t.equal(boundDevice(socketFd(pair.listenerB.netServer)), '')
})

t.test('an unknown device: ENODEV from connect and from listen', async t => {
  const s = new Session({
    name: 'nodev', localAs: 65001, localId: 1, peerAs: 65002, peerAddress: '127.0.0.2', peerPort: 9, holdTime: 9,
    families: [0x0101], connectRetryTime: 1, idleHoldTime: 0.2, bindDevice: 'gsinodev0',
  })
  t.teardown(() => s.destroy())
  s.start()
  await waitFor(() => s.stats().lastError !== undefined, 5000, 'a connect failure')
  t.equal(s.stats().lastError?.detail, 'ENODEV', 'the connect attempt failed with ENODEV')
  t.not(s.state, 'Established')

  const l = new BgpListener({ host: '127.0.0.3', port: 0, bindDevice: 'gsinodev0' })
  await t.rejects(l.listen(), { code: 'ENODEV', message: /listener on device gsinodev0 port 0: setsockopt\(SO_BINDTODEVICE\)/ })
})

t.test('device names are checked, with the field named', async t => {
  const base = { name: 'x', localAs: 65001, localId: 1, peerAs: 65002, peerAddress: '127.0.0.2', holdTime: 9, families: [0x0101] }
  t.throws(() => new Session({ ...base, bindDevice: 'a-very-long-device' }), { name: 'RangeError', message: /^bindDevice: "a-very-long-device" is longer than 15 bytes/ })
  t.throws(() => new Session({ ...base, bindDevice: '' }), /bindDevice: must be a non-empty device name/)
  t.throws(() => new BgpListener({ bindDevice: 'vrf/1' }), /listener bindDevice: "vrf\/1" is not a valid device name/)
  t.throws(() => validatePeerConfig({ name: 'tgw-a', address: '192.0.2.2', asn: 64513, bindDevice: 'has space' }, 64512),
    /peer "tgw-a": bindDevice.*not a valid device name/)
  t.doesNotThrow(() => validatePeerConfig({ name: 'tgw-a', address: '192.0.2.2', asn: 64513, bindDevice: 'gsiv0' }, 64512))
})

t.test('between two namespaces over a veth pair', async t => {
  const a = await createNetns(t, 'bda')
  const b = await createNetns(t, 'bdb')
  await vethPair(a, 'bdva', b, 'bdvb', { a: '192.0.2.1/24', b: '192.0.2.2/24' })
  const wa = await NsWorker.start(a, t)
  const wb = await NsWorker.start(b, t)
  t.teardown(async () => { await wa.call(scenarios, 'stopAll').catch(() => undefined); await wb.call(scenarios, 'stopAll').catch(() => undefined) })

  await wb.call(scenarios, 'listen', { port: 1790, bindDevice: 'bdvb', peerAddress: '192.0.2.1' })
  const up = await wa.call<{ state: string; device: string | null }>(scenarios, 'connect', { peerAddress: '192.0.2.2', port: 1790, bindDevice: 'bdva', waitMs: 10000 })
  t.same(up, { state: 'Established', device: 'bdva', error: null }, 'bound to the veth toward the peer: up, socket bound to bdva')
  const p = await wb.call<{ state: string; device: string | null }>(scenarios, 'passive', 1790)
  t.same(p, { state: 'Established', device: 'bdvb' }, 'the listener on bdvb took it; the accepted socket is bound to bdvb')

  // A fresh listener on the veth that would take the session at once if the binding were ignored.
  await wb.call(scenarios, 'listen', { port: 1792, bindDevice: 'bdvb', peerAddress: '192.0.2.1' })
  const wrong = await wa.call<{ state: string; error: string | null }>(scenarios, 'connect', { peerAddress: '192.0.2.2', port: 1792, bindDevice: 'lo', waitMs: 3000 })
  t.not(wrong.state, 'Established', 'bound to lo: the SYN goes out lo and is lost, never reaching the peer on the veth')
  t.equal((await wb.call<{ state: string }>(scenarios, 'passive', 1792)).state, 'Active', 'the peer never saw a connection')

  await wb.call(scenarios, 'listen', { port: 1791, bindDevice: 'lo', peerAddress: '192.0.2.1' })
  const refused = await wa.call<{ state: string; error: string | null }>(scenarios, 'connect', { peerAddress: '192.0.2.2', port: 1791, bindDevice: 'bdva', waitMs: 2500 })
  t.not(refused.state, 'Established', 'a listener bound to lo does not take a connection arriving on the veth')
  t.equal(refused.error, 'ECONNREFUSED', 'no socket matches the SYN on bdvb: reset')
  t.equal((await wb.call<{ state: string }>(scenarios, 'passive', 1791)).state, 'Active', 'the passive session behind it never saw a connection')
})

t.test('BgpSpeaker: listen.bindDevice and PeerConfig.bindDevice reach the sockets', async t => {
  const b = new BgpSpeaker({ localAs: 65002, routerId: '2.2.2.2', listen: { address: '127.0.0.6', port: 0, bindDevice: 'lo' } })
  const port = await b.start()
  t.teardown(() => b.stop())
  b.addPeer({ name: 'a', address: '127.0.0.5', asn: 65001, passive: true, holdTime: 9 })
  const a = new BgpSpeaker({ localAs: 65001, routerId: '1.1.1.1' })
  await a.start()
  t.teardown(() => a.stop())
  a.addPeer({ name: 'b', address: '127.0.0.6', port, asn: 65002, localAddress: '127.0.0.5', bindDevice: 'lo', holdTime: 9, connectRetryTime: 1 })
  await waitFor(() => a.peerStats('b').session.state === 'Established' && b.peerStats('a').session.state === 'Established', 10000, 'both speakers Established')
  t.equal(a.peerStats('b').session.connection?.device, 'lo', 'the peer\'s outgoing socket is bound to lo')
  t.equal(b.peerStats('a').session.connection?.device, 'lo', 'the speaker\'s listener gave its accepted socket lo')
})
