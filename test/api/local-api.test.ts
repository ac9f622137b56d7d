/**
 * The local API over a real Unix socket in a temp dir: directory 0700 and socket 0600, every method
 * round trip against a fake DaemonView, errors with stable codes naming the field, requests answered
 * in order, a dead daemon's socket replaced and a live one refused, the not-running errors naming the
 * path (ENOENT and ECONNREFUSED), a too-long request line.
 */
import t, { type Test } from 'tap'
import net from 'node:net'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ApiClient, ApiError, ApiServer, DaemonNotRunningError, ErrorCode, MAX_REQUEST_BYTES, type BgpSummary, type RoutePage } from '../../src/api/index.js'
import { FakeDaemonView } from '../helpers/fake-daemon-view.js'

async function tempDir(t: Test): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'gsi-api-'))
  t.teardown(() => rm(d, { recursive: true, force: true }))
  return d
}

async function start(t: Test, view = new FakeDaemonView()) {
  const path = join(await tempDir(t), 'run', 'gsi-router', 'api.sock')
  const server = await ApiServer.start({ path, view })
  t.teardown(() => server.close())
  const client = await ApiClient.connect(path)
  t.teardown(() => client.close())
  return { path, server, client, view }
}

t.test('socket 0600 in a directory created 0700', async t => {
  const { path } = await start(t)
  const s = await stat(path)
  t.ok(s.isSocket())
  t.equal(s.mode & 0o777, 0o600)
  t.equal((await stat(join(path, '..'))).mode & 0o777, 0o700)
})

t.test('every method round trips', async t => {
  const { client, view } = await start(t)
  const status = await client.call('status') as { routerId: string }
  t.equal(status.routerId, '10.0.0.5')

  const summary = await client.call('show.bgp.summary') as BgpSummary
  t.equal(summary.peers.length, 3)
  t.match(summary.peers[0], { address: '169.254.6.2', side: 'tgw', state: 'Established', messagesReceived: 3 + 40 + 1 + 370, messagesSent: 3 + 12 + 1 + 372 + 1 })
  t.same(summary.peers[0]?.prefixes, [{ family: 'ipv4-unicast', received: 3, accepted: 2, advertised: 2 }])
  t.equal(summary.gateway.tgwQuota, 1000)

  const all = await client.call('show.bgp.neighbor') as unknown[]
  t.equal(all.length, 3)
  const one = await client.call('show.bgp.neighbor', { address: '::ffff:10.0.0.10' }) as { name: string }[]
  t.equal(one[0]?.name, 'cn2-1', 'an IPv4-mapped spelling finds the IPv4 peer')
  const byName = await client.call('show.bgp.neighbor', { address: 'tgw-b' }) as { address: string }[]
  t.equal(byName[0]?.address, '169.254.6.3', 'a configured name works too')

  const vpn = await client.call('show.bgp.route', { family: 'l3vpn-ipv4-unicast', prefix: '10.244.2.0/24' }) as RoutePage
  t.same(vpn.routes.map(r => r.prefix), ['64512:7:10.244.2.0/24', '64512:8:10.244.2.0/24'])
  const rd = await client.call('show.bgp.route', { family: 'l3vpn-ipv4-unicast', rd: '64512:8' }) as RoutePage
  t.same(rd.routes.map(r => r.prefix), ['64512:8:10.244.2.0/24'])
  const rcvd = await client.call('show.bgp.route', { view: 'received', peer: 'tgw-a' }) as RoutePage
  t.same(rcvd.routes.map(r => r.prefix), ['10.1.0.0/16', '10.2.0.0/16'], 'peer by name, passed to the view as its address')
  const adv = await client.call('show.bgp.route', { view: 'advertised', peer: '10.0.0.10' }) as RoutePage
  t.same(adv.routes.map(r => r.prefix), ['10.0.0.5:1:10.1.0.0/16'])

  const p1 = await client.call('show.bgp.route', { limit: 4 }) as RoutePage
  t.equal(p1.routes.length, 4)
  t.ok(p1.next)
  const p2 = await client.call('show.bgp.route', { limit: 4, after: p1.next }) as RoutePage
  t.equal(p2.routes.length, 2)
  t.equal(p2.next, undefined, 'paging ends')

  t.equal((await client.call('show.tunnels') as { gre: unknown[] }).gre.length, 2)
  t.equal((await client.call('show.fib') as { counters: { errors: number } }).counters.errors, 4)
  const counts = await client.call('show.fib', { limit: 0 }) as { counters: { errors: number }; routes: unknown[] }
  t.same([counts.counters.errors, counts.routes], [4, []], 'limit 0: state and counts, no listing')
  t.same(await client.call('show.config'), view.configObject)
  t.same((await client.call('show.gateway') as { tgwRefused: string[] }).tgwRefused, ['10.250.0.0/24', '10.250.1.0/24'])

  t.match(await client.call('clear.bgp.neighbor', { address: 'tgw-b', soft: true }), { peer: '169.254.6.3', soft: true })
  await client.call('clear.bgp.neighbor', { address: '169.254.6.2' })
  t.same(view.cleared, [{ peer: '169.254.6.3', soft: true }, { peer: '169.254.6.2', soft: false }])

  t.same(await client.call('set.log-level', { level: 'debug' }), { level: 'debug', previous: 'info' })
  t.equal(view.logLevel, 'debug')
})

t.test('errors: stable codes, messages naming the field and the reason', async t => {
  const { client } = await start(t)
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ['show.bgp.everything', {}, ErrorCode.UnknownMethod, /^method "show\.bgp\.everything": not one of status, /],
    ['show.bgp.neighbor', { address: '192.0.2.9' }, ErrorCode.NotFound, /^params\.address: no neighbor "192\.0\.2\.9" \(configured: 169\.254\.6\.2, 169\.254\.6\.3, 10\.0\.0\.10\)$/],
    ['show.bgp.route', { family: 'inet' }, ErrorCode.InvalidParams, /^params\.family: "inet" is not one of ipv4-unicast, /],
    ['show.bgp.route', { prefix: '10.0.0.0/33' }, ErrorCode.InvalidParams, /^params\.prefix: "10\.0\.0\.0\/33": length must be 0\.\.32$/],
    ['show.bgp.route', { prefix: 'ten' }, ErrorCode.InvalidParams, /^params\.prefix: "ten": "ten" is not an IP address$/],
    ['show.bgp.route', { rd: '64512' }, ErrorCode.InvalidParams, /^params\.rd: route distinguisher "64512": expected ADMIN:NUMBER$/],
    ['show.bgp.route', { family: 'ipv4-unicast', rd: '64512:1' }, ErrorCode.InvalidParams, /^params\.rd: only VPN families/],
    ['show.bgp.route', { view: 'received' }, ErrorCode.InvalidParams, /^params\.peer: required with view received$/],
    ['show.bgp.route', { limit: 0 }, ErrorCode.InvalidParams, /^params\.limit: must be an integer 1\.\.10000$/],
    ['show.fib', { limit: -1 }, ErrorCode.InvalidParams, /^params\.limit: must be an integer 0\.\.10000 \(0: state and counts only\)$/],
    ['clear.bgp.neighbor', {}, ErrorCode.InvalidParams, /^params\.address: required$/],
    ['clear.bgp.neighbor', { address: '169.254.6.2', soft: 'yes' }, ErrorCode.InvalidParams, /^params\.soft: must be true or false$/],
    ['set.log-level', { level: 'verbose' }, ErrorCode.InvalidParams, /^params\.level: "verbose" is not one of fatal, error, warn, info, debug, trace, silent$/],
  ]
  for (const [method, params, code, message] of cases) {
    const e = await client.call(method, params).then(() => undefined, (x: unknown) => x)
    t.ok(e instanceof ApiError, `${method} ${JSON.stringify(params)} fails`)
    t.equal((e as ApiError).code, code, `${method}: code`)
    t.match((e as ApiError).message, message, `${method}: message`)
  }
})

t.test('a view that fails gives an internal error naming the method; the connection lives on', async t => {
  const view = new FakeDaemonView()
  view.tunnels = () => { throw new Error('netlink socket closed') }
  const { client } = await start(t, view)
  await t.rejects(client.call('show.tunnels'), { code: ErrorCode.Internal, message: 'show.tunnels: netlink socket closed' })
  t.equal((await client.call('status') as { localAs: number }).localAs, 64512)
})

/** Raw socket: what any client may send. */
async function raw(path: string, text: string, lines: number): Promise<string[]> {
  const s = net.connect(path)
  let got = ''
  s.setEncoding('utf8')
  s.on('data', (d: string) => { got += d })
  s.write(text)
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${lines} lines: ${got}`)), 5000)
    const check = () => { if (got.split('\n').length > lines) { clearTimeout(timer); resolve() } }
    s.on('data', check)
    s.on('close', () => { clearTimeout(timer); resolve() })
  })
  s.destroy()
  return got.split('\n').filter(l => l !== '')
}

t.test('answers come in request order, malformed lines are answered with bad-request', async t => {
  const view = new FakeDaemonView()
  // The first request is slow (a clear waits for its session reset): the second must still come second.
  view.clearNeighbor = (peer, soft) => new Promise(r => setTimeout(() => r({ peer, soft, action: 'session reset' }), 50))
  const { path } = await start(t, view)
  const out = await raw(path, [
    JSON.stringify({ id: 1, method: 'clear.bgp.neighbor', params: { address: '169.254.6.2' } }),
    JSON.stringify({ id: 2, method: 'status' }),
    'not json',
    JSON.stringify([1]),
    JSON.stringify({ method: 'status' }),
    JSON.stringify({ id: 'x', method: 'status', params: [] }),
  ].join('\n') + '\n', 6)
  const res = out.map(l => JSON.parse(l) as { id: unknown; result?: unknown; error?: { code: string; message: string } })
  t.same(res.map(r => r.id), [1, 2, null, null, null, 'x'])
  t.equal(res[2]?.error?.code, ErrorCode.BadRequest)
  t.match(res[2]?.error?.message, /^request: not JSON/)
  t.equal(res[3]?.error?.message, 'request: must be a JSON object {id, method, params}')
  t.equal(res[4]?.error?.message, 'request.id: must be a number or a string')
  t.equal(res[5]?.error?.code, ErrorCode.InvalidParams)
})

t.test('a request line longer than the limit closes the connection with too-large', async t => {
  const { path } = await start(t)
  const out = await raw(path, 'x'.repeat(MAX_REQUEST_BYTES + 10), 1)
  t.equal(out.length, 1)
  t.match(JSON.parse(out[0] as string), { id: null, error: { code: ErrorCode.TooLarge } })
})

t.test('a dead daemon\'s socket is replaced; a live one is not stolen', async t => {
  const dir = await tempDir(t)
  const path = join(dir, 'api.sock')
  // A socket file nobody listens on: what a daemon killed with SIGKILL leaves behind.
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`], { stdio: 'ignore' })
  t.equal((await once(child, 'exit'))[1], 'SIGKILL')
  t.ok((await stat(path)).isSocket(), 'the stale socket file is there')
  await t.rejects(ApiClient.connect(path), { name: 'DaemonNotRunningError', code: 'ECONNREFUSED' })

  const server = await ApiServer.start({ path, view: new FakeDaemonView() })
  t.teardown(() => server.close())
  const c = await ApiClient.connect(path)
  t.equal((await c.call('status') as { routerId: string }).routerId, '10.0.0.5')
  c.close()
  await t.rejects(ApiServer.start({ path, view: new FakeDaemonView() }), { message: `api socket ${path}: another gsi-routerd is listening on it` })

  const file = join(dir, 'plain')
  await writeFile(file, 'x')
  await t.rejects(ApiServer.start({ path: file, view: new FakeDaemonView() }), { message: `api socket ${file}: exists and is not a socket; remove it or choose another path` })
})

t.test('not running: the error names the socket path', async t => {
  const path = join(await tempDir(t), 'nowhere', 'api.sock')
  const e = await ApiClient.connect(path).then(() => undefined, (x: unknown) => x)
  t.ok(e instanceof DaemonNotRunningError)
  t.equal((e as DaemonNotRunningError).code, 'ENOENT')
  t.match((e as Error).message, `cannot connect to ${path}: no such socket (ENOENT)`)
})

t.test('close removes the socket file', async t => {
  const path = join(await tempDir(t), 'api.sock')
  const server = await ApiServer.start({ path, view: new FakeDaemonView() })
  await server.close()
  await t.rejects(stat(path), { code: 'ENOENT' })
})
