/**
 * The lab's way of running things, as separate processes: the Kubernetes API emulator
 * (controller/emulator/kube/main.ts), the EC2 emulator (controller/emulator/ec2/main.ts) and
 * gsi-controller (src/bin/gsi-controller.ts) pointed at both with --server and --aws-endpoint. A
 * TransitGateway created through the real client becomes Ready; /metrics, /healthz and /readyz answer;
 * SIGTERM releases the Lease. Also: a bad flag exits 2 with a message naming the flag.
 */
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { KubeConnection, makeKubeConfig, ResourceClient, NODES, type KubeObject } from '../../controller/k8s/index.js'
import { TGW_REF, GSI_REF } from '../../controller/controller.js'
import { API_VERSION } from '../../controller/types.js'
import { waitFor } from './harness.js'

const ROOT = join(import.meta.dirname, '..', '..')

/** The environment without tap's own (its loaders in NODE_OPTIONS would make each child a tap run). */
function cleanEnv(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!/^(TAP|_TAPJS|NODE_OPTIONS$)/.test(k)) e[k] = v
  return e
}

function start(args: string[], env: Record<string, string> = {}): ChildProcess {
  // One process (node with tsx's loader), so signals reach the program itself.
  return spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, env: { ...cleanEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
}

/** Resolves with the first stdout line matching `re` (reading continues in the background). */
function lineMatching(p: ChildProcess, re: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: p.stdout! })
    rl.on('line', line => { const m = re.exec(line); if (m) resolve(m) })
    rl.on('close', () => reject(new Error(`process ended before printing ${re}`)))
  })
}

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>(r => s.listen(0, '127.0.0.1', () => r()))
  const port = (s.address() as AddressInfo).port
  await new Promise(r => s.close(r))
  return port
}

async function stop(p: ChildProcess): Promise<number | null> {
  if (p.exitCode !== null) return p.exitCode
  p.kill('SIGTERM')
  const timer = setTimeout(() => p.kill('SIGKILL'), 5000)
  const [code] = await once(p, 'exit') as [number | null]
  clearTimeout(timer)
  return code
}

t.test('controller process against the two emulator processes', async t => {
  const procs: ChildProcess[] = []
  t.teardown(async () => { for (const p of procs.reverse()) await stop(p) })
  // Process start-up is slow on a loaded 2-core machine: start everything at once.
  const bad = start(['src/bin/gsi-controller.ts', '--lease-duration', 'soon'])
  procs.push(bad)
  let badErr = ''
  bad.stderr!.on('data', d => { badErr += String(d) })
  const badExit = once(bad, 'exit') as Promise<[number | null]>
  const kube = start(['controller/emulator/kube/main.ts', '--port', '0'])
  procs.push(kube)
  const ec2 = start(['controller/emulator/ec2/main.ts', '--port', '0', '--available-delay-ms', '50', '--deleting-delay-ms', '20'])
  procs.push(ec2)
  const [kubeUrl, ec2Url] = (await Promise.all([lineMatching(kube, /listening on (http:\S+)/), lineMatching(ec2, /listening on (http:\S+)/)])).map(m => m[1]!)
  const metricsPort = await freePort()
  const ctl = start(['src/bin/gsi-controller.ts', '--server', kubeUrl!, '--aws-endpoint', ec2Url!, '--lease-namespace', 'default',
    '--identity', 'lab-1', '--lease-duration', '3', '--renew-deadline', '2', '--retry-period', '0.5', '--metrics-port', String(metricsPort), '--metrics-host', '127.0.0.1', '--log-level', 'warn'],
  { AWS_ACCESS_KEY_ID: 'AKIDLAB', AWS_SECRET_ACCESS_KEY: 'lab', AWS_EC2_METADATA_DISABLED: 'true' })
  procs.push(ctl)
  let ctlErr = ''
  ctl.stderr!.on('data', d => { ctlErr += String(d) })
  ctl.stdout!.on('data', d => { ctlErr += String(d) })

  const conn = new KubeConnection(makeKubeConfig({ server: kubeUrl! }))
  const nodes = new ResourceClient<KubeObject>(conn, NODES)
  await nodes.create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'lab-node-1', labels: { 'core.juniper.net/crpd-node': '' } }, status: { addresses: [{ type: 'InternalIP', address: '10.0.1.77' }] } } as KubeObject)
  await new ResourceClient<KubeObject>(conn, GSI_REF).create({ apiVersion: API_VERSION, kind: 'GatewayServiceInstance', metadata: { name: 'gsi', namespace: 'default' }, spec: { awsRegion: 'us-east-1', vpcID: 'vpc-0a1b2c3d4e5f60001', asn: 65010 } } as KubeObject)
  const tgws = new ResourceClient<KubeObject & { status?: { conditions?: { type: string; status: string }[]; transitGatewayID?: string } }>(conn, TGW_REF)
  await tgws.create({ apiVersion: API_VERSION, kind: 'TransitGateway', metadata: { name: 'tgw', namespace: 'default' }, spec: { gatewayServiceInstance: 'gsi', transitGatewayCidrBlock: '100.64.0.0/24', exposed: { cidrs: ['10.100.0.0/16'] } } } as KubeObject)
  const ready = await waitFor('Ready', async () => {
    const x = await tgws.get('default', 'tgw')
    return x?.status?.conditions?.find(c => c.type === 'Ready')?.status === 'True' ? x : undefined
  }, 120_000).catch((e: unknown) => { t.comment(ctlErr); throw e })
  t.match(ready.status?.transitGatewayID, /^tgw-/, 'TransitGateway Ready with an id')
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
  t.match(metrics, /gsi_controller_leader 1/, 'leader gauge')
  t.match(metrics, /gsi_controller_aws_calls_total\{action="CreateTransitGateway",outcome="ok"\} 1/, 'AWS calls counted')
  t.match(metrics, /gsi_controller_process_cpu_seconds_total/, 'process metrics')
  t.equal((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status, 200)
  t.equal((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status, 200)
  t.equal(await stop(ctl), 0, 'SIGTERM: clean exit')
  const lease = await conn.coordination.readNamespacedLease({ namespace: 'default', name: 'gsi-controller' })
  t.notOk(lease.spec?.holderIdentity, 'Lease released on exit')
  t.equal((await badExit)[0], 2, 'bad flag: exit 2')
  t.match(badErr, /--lease-duration: "soon" is not a number/, 'bad flag: message names the flag')
})
