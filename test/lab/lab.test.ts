// `npm run lab` as CI runs it: the lab's own exit status is the test. npm test runs this file last,
// alone, in a VM of its own with two vCPUs (`npm run test:lab`), where the lab finds the kernel it
// needs and runs its data plane directly, no second VM. The default world (five nodes: four
// instances and a standby) with three pods: every check the default run makes, and the run must say
// it passed each of them.
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'

t.setTimeout(1_200_000)
const ROOT = resolve(new URL('../..', import.meta.url).pathname)
const LAB = join(ROOT, 'dist/bundle/gsi-lab.mjs')

t.test('the lab passes every check and exits 0', async (t) => {
  t.ok(existsSync(LAB), 'the lab is built and bundled (scripts/test-kernel.mjs does both before the VM boots)')
  // --keep with its console fed from here: Debian's kubectl at the emulator (printer columns), gsictl
  // on node 1, a command in the TGW's namespace, then `exit` goes on to the deletion checks
  // As a user runs it: without the test runner's NODE_OPTIONS and TAP_ variables, which every Node
  // program the lab starts (controller, daemons, gsictl) would inherit
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS' && !k.startsWith('TAP') && !k.startsWith('NODE_V8_COVERAGE')))
  const child = spawn(process.execPath, [LAB, '--pods', '3', '--keep'], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] })
  child.stdin.end([
    'kubectl get transitgateways,connectedpeers',
    // node 1 was lost in the failover: node 5 (the standby that took over) is an instance now
    'gsictl-n5 show bgp summary',
    'tgw ip route show 10.244.0.0/16',
    'no-such-command',
    'exit',
    'echo after-exit',
  ].join('\n') + '\n')
  let out = ''
  child.stdout.on('data', (d) => { out += String(d) })
  child.stderr.on('data', (d) => { out += String(d) })
  const killer = setTimeout(() => child.kill('SIGKILL'), 1_100_000)
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)))
  clearTimeout(killer)
  const oks = out.split('\n').filter((l) => l.includes('[ok]'))
  const fails = out.split('\n').filter((l) => l.includes('[FAIL]'))
  if (code !== 0) t.comment(out)
  t.equal(code, 0, 'exit status 0')
  t.same(fails, [], 'no check failed')
  t.match(out, /the data plane runs here/, 'the data plane ran on this kernel')
  for (const what of [/VPC host \S+ -> every pod \(3\/3\)/, /every pod -> VPC host \(3\/3\)/, /ECMP next hop per instance/, /flows spread/,
    /restarted \(SIGTERM\) under a continuous ping: zero lost/, /took over/, /all deleted; finalizer released/, /GRE link gone/, /main tables unchanged/]) {
    t.ok(oks.some((l) => what.test(l)), `[ok] ${what.source}`)
  }
  t.match(out, /lab passed in/, 'the lab says it passed')
  // the console: kubectl's table with the CRD's printer columns and the TransitGateway Ready
  t.match(out, /NAME\s+STATE\s+TGW\s+CONNECT\s+PEERS\s+READY\s+AGE\n\S*tgw\s+available\s+tgw-\S+\s+tgw-attach-\S+\s+4\s+True\s/, 'kubectl get transitgateways: printer columns, Ready')
  t.match(out, /connectedpeer\S*\/tgw-ip-10-0-1-1\d-ec2-internal\s/, 'kubectl get connectedpeers: the instance\'s ConnectedPeer')
  t.match(out, /IPv4 Unicast Summary:\n\s*Neighbor.*\n\s*169\.254\.\d+\.2\s+4\s+64512\s.*\n\s*169\.254\.\d+\.3\s+4\s+64512\s/, 'gsictl-n5 (the standby that took over): both TGW sessions')
  // the TGW's route to the pods: BIRD's, one next hop per instance (four GRE links)
  t.match(out, /lab> 10\.244\.0\.0\/16 proto bird .*\n(\s*nexthop dev g\d weight 1 ?\n){4}/, 'tgw: a command in the TGW\'s namespace (its ECMP route to the pods)')
  t.match(out, /\(exit 127\)/, 'a command that fails says its exit status')
  t.notMatch(out, /after-exit/, 'exit ends the console')
})
