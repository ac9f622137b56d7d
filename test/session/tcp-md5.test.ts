/**
 * RFC 2385 TCP-MD5 and RFC 5082 GTSM through the native addon (native/), over loopback:
 * - our session to our session: the same password comes up; a wrong password never does (the kernel
 *   drops every unsigned or badly signed segment, so not even the SYN is answered);
 * - against BIRD (`password`): right password up, wrong password never up;
 * - GTSM: a listener enforcing IP_MINTTL 255 accepts our SYN only because the native connect set
 *   TTL 255 before connect() (a plain net.connect SYN leaves with 64 and is dropped: the control).
 */
import t from 'tap'
import net from 'node:net'
import { createRequire } from 'node:module'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Session } from '../../bgp/session/index.js'
import { nativeAvailable, nativeConnect } from '../../native/index.js'
import { makePair, sleep, waitState } from './helpers.js'
import { freePort, retry, run, spawnDaemon, tempDir } from '../interop/daemons.js'

const require = createRequire(import.meta.url)
const sockopt = require('sockopt') as { setsockopt(s: unknown, level: number, opt: number, v: number): void }

t.test('the native addon is built', async (t) => {
  t.ok(nativeAvailable(), 'native/build/Release/gsi_native.node loads (npm run build:native)')
})

t.test('our sessions: same password up, wrong password never up', async (t) => {
  const good = await makePair({ holdTime: 9, md5Password: 'gsi-s3cret' })
  t.teardown(() => good.close())
  good.b.start()
  good.a.start()
  await waitState(good.a, 'Established', 8000)
  await waitState(good.b, 'Established', 8000)
  await good.close()

  const bad = await makePair({ holdTime: 9, connectRetryTime: 1 }, { md5Password: 'gsi-s3cret' }, { md5Password: 'not-the-same' })
  t.teardown(() => bad.close())
  const states = new Set<string>()
  bad.a.on('state', (s) => states.add(s.to))
  bad.b.on('state', (s) => states.add(s.to))
  bad.b.start()
  bad.a.start()
  await sleep(4000)
  t.notOk(states.has('OpenSent'), `never got as far as OpenSent (saw ${[...states].join(', ')})`)
  t.notOk(states.has('Established'))
  t.ok(['Connect', 'Idle', 'Active'].includes(bad.a.state), `A still trying: ${bad.a.state}`)
})

t.test('BIRD: right password up, wrong password never up', async (t) => {
  for (const [ours, expectUp] of [['bird-md5-key', true], ['wrong-key', false]] as const) {
    const port = await freePort('127.0.0.40')
    const dir = tempDir('gsi-session-md5')
    const ctl = join(dir, 'bird.ctl')
    writeFileSync(
      join(dir, 'bird.conf'),
      `router id 10.40.40.40;
log "${join(dir, 'bird.log')}" all;
protocol device {}
protocol bgp peer1 {
  local 127.0.0.40 port ${port} as 65040;
  neighbor 127.0.0.41 as 65001;
  password "bird-md5-key";
  hold time 6; connect retry time 1;
  passive on;
  multihop;
  ipv4 { import all; export none; };
}
`,
    )
    const daemon = spawnDaemon('bird', ['-f', '-c', join(dir, 'bird.conf'), '-s', ctl, '-P', join(dir, 'bird.pid')], dir, 'bird-stdout')
    t.teardown(() => daemon.stop())
    await retry(() => run('birdc', ['-s', ctl, 'show status']), 10_000, 'birdc')
    const s = new Session({
      name: `md5-${ours}`,
      localAs: 65001,
      localId: 0x0a292929,
      peerAs: 65040,
      peerAddress: '127.0.0.40',
      peerPort: port,
      localAddress: '127.0.0.41',
      holdTime: 6,
      families: [0x0101],
      connectRetryTime: 1,
      idleHoldTime: 0.5,
      md5Password: ours,
    })
    t.teardown(() => s.destroy())
    const states = new Set<string>()
    s.on('state', (e) => states.add(e.to))
    s.start()
    if (expectUp) {
      await waitState(s, 'Established', 10_000)
      t.match(run('birdc', ['-s', ctl, 'show protocols all peer1']), /BGP state:\s+Established/)
    } else {
      await sleep(4000)
      t.notOk(states.has('OpenSent'), `wrong key: never past Connect (saw ${[...states].join(', ')})`)
      t.notMatch(run('birdc', ['-s', ctl, 'show protocols all peer1']), /BGP state:\s+Established/)
    }
    await s.destroy()
    await daemon.stop()
  }
})

t.test('GTSM: TTL 255 already on the SYN', async (t) => {
  const server = net.createServer((sock) => {
    sock.end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.50', () => r()))
  t.teardown(() => new Promise<void>((r) => server.close(() => r())))
  sockopt.setsockopt(server, 0, 21 /* IP_MINTTL */, 255)
  const port = (server.address() as net.AddressInfo).port
  // Control: Node's own connect sends the SYN with the default TTL and is never answered.
  const plain = await new Promise<string>((resolve) => {
    const s = net.connect({ host: '127.0.0.50', port })
    const timer = setTimeout(() => {
      s.destroy()
      resolve('timeout')
    }, 1500)
    s.once('connect', () => {
      clearTimeout(timer)
      s.destroy()
      resolve('connected')
    })
    s.once('error', (e) => {
      clearTimeout(timer)
      resolve(String(e))
    })
  })
  t.equal(plain, 'timeout', 'a SYN with TTL 64 is dropped by the GTSM listener')
  const fd = await nativeConnect({ remoteAddress: '127.0.0.50', remotePort: port, ttl: 255, timeoutMs: 3000 })
  t.ok(fd > 2, 'native connect with TTL 255 got through')
  const s = new net.Socket({ fd, readable: true, writable: true })
  await new Promise<void>((r) => {
    s.once('close', () => r())
    s.resume()
  })
  await t.rejects(nativeConnect({ remoteAddress: '127.0.0.50', remotePort: port, ttl: 64, timeoutMs: 1000 }), { code: 'ETIMEDOUT' })
  await t.rejects(nativeConnect({ remoteAddress: '127.0.0.50', remotePort: 1, timeoutMs: 1000 }), { code: 'ECONNREFUSED' })
})
