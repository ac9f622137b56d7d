/**
 * gsi-routerd's HTTP endpoint over loopback: /metrics serves the daemon's registry in Prometheus
 * text, /healthz answers whatever the daemon's state, /readyz follows the view (503 with the reason
 * in JSON until ready), HEAD works, other methods and paths are refused.
 */
import t, { type Test } from 'tap'
import { serveHttp } from '../../src/http/index.js'
import { DaemonMetrics } from '../../src/metrics/index.js'
import { FakeDaemonView } from '../helpers/fake-daemon-view.js'

async function start(t: Test, view = new FakeDaemonView()) {
  const metrics = new DaemonMetrics({ view })
  const ep = await serveHttp({ metrics, view, host: '127.0.0.1', port: 0 })
  t.teardown(() => ep.close())
  const url = (p: string) => `http://127.0.0.1:${ep.port}${p}`
  return { view, metrics, ep, url }
}

t.test('/metrics: Prometheus text from our registry', async t => {
  const { url } = await start(t)
  const res = await fetch(url('/metrics'))
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const text = await res.text()
  t.match(text, /^bgp_peer_state\{peer="169\.254\.6\.2",peer_as="64513",side="tgw"\} 6$/m)
  t.match(text, /^process_resident_memory_bytes \d+/m, 'process metrics included')
  t.match(text, /^# TYPE gsi_update_processing_seconds histogram$/m)
})

t.test('/healthz answers 200 even while not ready', async t => {
  const { view, url } = await start(t)
  view.ready = false
  const res = await fetch(url('/healthz'))
  t.equal(res.status, 200)
  t.equal(await res.text(), 'ok\n')
})

t.test('/readyz follows the view: 503 with a reason, then 200', async t => {
  const { view, url } = await start(t)
  view.ready = false
  let res = await fetch(url('/readyz'))
  t.equal(res.status, 503)
  t.equal(res.headers.get('content-type'), 'application/json')
  t.same(await res.json(), { ready: false, reason: 'waiting for End-of-RIB from 169.254.6.3' })
  view.ready = true
  res = await fetch(url('/readyz'))
  t.equal(res.status, 200)
  t.same(await res.json(), { ready: true })
})

t.test('HEAD, other methods, unknown paths, query strings', async t => {
  const { url } = await start(t)
  let res = await fetch(url('/readyz'), { method: 'HEAD' })
  t.equal(res.status, 200)
  t.equal(await res.text(), '')
  res = await fetch(url('/metrics'), { method: 'POST', body: 'x' })
  t.equal(res.status, 405)
  t.equal(res.headers.get('allow'), 'GET, HEAD')
  await res.text()
  res = await fetch(url('/nope'))
  t.equal(res.status, 404)
  await res.text()
  res = await fetch(url('/healthz?verbose=1'))
  t.equal(res.status, 200)
  await res.text()
})

t.test('a view that throws during a scrape gives 500, and the next scrape works', async t => {
  const { view, url } = await start(t)
  const fib = view.fib.bind(view)
  view.fib = () => { throw new Error('fib writer stopped') }
  let res = await fetch(url('/metrics'))
  t.equal(res.status, 500)
  t.match(await res.text(), /fib writer stopped/)
  view.fib = fib
  res = await fetch(url('/metrics'))
  t.equal(res.status, 200)
  await res.text()
})

t.test('a port in use is reported with the address', async t => {
  const { ep } = await start(t)
  await t.rejects(serveHttp({ metrics: new DaemonMetrics({ view: new FakeDaemonView(), defaultMetrics: false }), view: new FakeDaemonView(), host: '127.0.0.1', port: ep.port }), { message: `http 127.0.0.1:${ep.port}: port already in use` })
})
