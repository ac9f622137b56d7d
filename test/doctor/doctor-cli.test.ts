// gsictl doctor on a node: the real local API server on a Unix socket answering show.report from the
// fake DaemonView (one TGW session Established, one Active after a hold-timer expiry), the real
// gsictl; the same report over HTTP (GET /status on the daemon's port); usage errors; a daemon that
// is not running.
import t, { type Test } from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ApiServer, daemonReport, type DaemonReport } from '../../src/api/index.js'
import { runGsictl } from '../../src/cli/index.js'
import { fetchReport, type CheckResult, type DoctorSnapshot } from '../../src/doctor/index.js'
import { serveHttp } from '../../src/http/index.js'
import { DaemonMetrics } from '../../src/metrics/index.js'
import { FakeDaemonView, NOW } from '../helpers/fake-daemon-view.js'

const RT = 'target:64512:8000001'

function exposedView(): FakeDaemonView {
  const view = new FakeDaemonView()
  view.configObject = { ...(view.configObject as object), exposed: { routeTargets: [RT], cidrs: ['10.244.0.0/16'] } }
  return view
}

async function start(t: Test, view = exposedView()) {
  const dir = await mkdtemp(join(tmpdir(), 'doctor-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const path = join(dir, 'api.sock')
  const server = await ApiServer.start({ path, view })
  t.teardown(() => server.close())
  return { path, view }
}

async function ctl(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await runGsictl(argv, { stdout: { write: (s) => (out += s) }, stderr: { write: (s) => (err += s) }, now: () => NOW, env: {} })
  return { code, out, err }
}

t.test('node mode over the socket: the Active TGW session is the FAIL line, exit 1', async (t) => {
  const { path, view } = await start(t)
  const r = await ctl('--socket', path, 'doctor', '--node', 'node-1')
  t.equal(r.err, '')
  t.equal(r.code, 1)
  t.match(r.out, /^gsictl doctor: node node-1 \(.*api\.sock\); EC2 not asked/)
  const active = view.peers().find((p) => p.side === 'tgw' && p.session.state !== 'Established')
  t.ok(active, 'the fake view has a TGW session that is not Established')
  t.match(r.out, new RegExp(`\\nFAIL {2}tgw-sessions +node-1 +.*${active!.address.replace(/\./g, '\\.')} ${active!.session.state} \\(last error [a-z-]+\\)`))
  t.notMatch(r.out, /controller-pods/, 'no cluster lines on a node without a kubeconfig')

  // --json: the results and the snapshot they were judged from; the word may come first too.
  const j = await ctl('doctor', '--socket', path, '--node', 'node-1', '--json')
  t.equal(j.code, 1)
  const parsed = JSON.parse(j.out) as { summary: { fail: number }; results: CheckResult[]; snapshot: DoctorSnapshot }
  t.equal(parsed.snapshot.mode, 'node')
  t.equal(parsed.snapshot.daemons[0]?.report?.status.routerId, '10.0.0.5')
  t.same(parsed.snapshot.daemons[0]?.report?.exposed, { routeTargets: [RT], cidrs: ['10.244.0.0/16'] })
  t.ok(parsed.summary.fail >= 1)
  t.same(parsed.results.filter((x) => x.verdict === 'fail').map((x) => x.check).includes('tgw-sessions'), true)

  // The session comes up: that line turns ok.
  for (const p of view.peerList) if (p.side === 'tgw') (p.session as { state: string }).state = 'Established'
  const after = JSON.parse((await ctl('--socket', path, 'doctor', '--json')).out) as { results: CheckResult[] }
  t.equal(after.results.find((x) => x.check === 'tgw-sessions')?.verdict, 'ok')
})

t.test('GET /status on the daemon port answers the same report as show.report', async (t) => {
  const view = exposedView()
  const ep = await serveHttp({ metrics: new DaemonMetrics({ view, defaultMetrics: false }), view, host: '127.0.0.1', port: 0 })
  t.teardown(() => ep.close())
  const got = await fetchReport(`http://127.0.0.1:${ep.port}/status`, 5000)
  t.same(got, JSON.parse(JSON.stringify(daemonReport(view))) as DaemonReport)
  t.same(got.exposed.routeTargets, [RT])
  t.ok(got.advertisedToTgw.length > 0, 'one entry per TGW peer')
  const res = await fetch(`http://127.0.0.1:${ep.port}/status`, { method: 'POST' })
  t.equal(res.status, 405)
})

t.test('usage errors exit 2; a daemon not running is a warn line naming the socket', async (t) => {
  let r = await ctl('doctor', '--bogus')
  t.equal(r.code, 2)
  t.match(r.err, /gsictl doctor: Unknown option '--bogus'/)
  r = await ctl('doctor', '--timeout', '0', '--socket', '/nonexistent')
  t.equal(r.code, 2)
  t.match(r.err, /--timeout 0: must be a positive number of seconds/)
  r = await ctl('doctor', '--daemon-url', 'ftp://x/{node}', '--socket', '/nonexistent')
  t.equal(r.code, 2)
  t.match(r.err, /--daemon-url ftp:\/\/x\/\{node\}: must start with http:\/\/ or https:\/\//)
  r = await ctl('doctor', '--daemon-url', 'http://127.0.0.1:1/status', '--daemon-port', '9478')
  t.equal(r.code, 2)
  t.match(r.err, /--daemon-url and --daemon-port: give one or the other/)
  r = await ctl('--daemon-port', 'x', 'doctor')
  t.equal(r.code, 2, 'options before the word doctor are the doctor\'s')
  t.match(r.err, /--daemon-port x: must be an integer 1\.\.65535/)
  r = await ctl('doctor', '--help')
  t.equal(r.code, 0)
  t.match(r.out, /usage: gsictl doctor/)
  r = await ctl('--socket', '/nonexistent/gsi.sock', 'doctor', '--node', 'n1')
  t.equal(r.code, 0, 'nothing failed that the doctor could see; every line says it cannot tell')
  t.match(r.out, /warn {2}node-daemon +n1 +gsi-routerd on n1 did not answer \(\/nonexistent\/gsi\.sock: .*\)/)
  t.notMatch(r.out, /^FAIL/m)
  t.match(r.out, /do: start gsi-routerd .*or give its socket with --socket/)
})

t.test('a cluster without our CRDs: exit 1 naming what could not be listed', async (t) => {
  const { KubeEmulator } = await import('../../controller/emulator/kube/server.js')
  const kube = new KubeEmulator({ crds: [] })
  const url = await kube.start()
  t.teardown(() => kube.stop())
  const r = await ctl('doctor', '--server', url)
  t.equal(r.code, 1)
  t.match(r.err, /gsictl doctor: cannot list gatewayserviceinstances\.gsi\.gsi-router\.io: .*\(are the CRDs installed, and may this kubeconfig list them\?\)/)
})
