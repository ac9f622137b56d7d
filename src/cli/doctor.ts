/**
 * `gsictl doctor`: the whole Gateway Service Instance checked in one command (src/doctor): options
 * parsed here, the snapshot gathered, each line printed ok / warn / FAIL with its evidence and what to
 * do, or everything as JSON with --json. Exit status 1 when a line FAILs (or the cluster could not
 * be read at all), 2 on a usage error, else 0 (warn lines do not fail it).
 *
 * Where it runs: from a laptop with a kubeconfig (`--kubeconfig`, $KUBECONFIG or ~/.kube/config;
 * `--server` for a bare API server such as the emulator), asking each gateway node's gsi-routerd on
 * its HTTP port; or on a node (`--socket`, or the default socket when no kubeconfig is given), asking
 * the local daemon, and the cluster too when a kubeconfig is also given.
 */
import { existsSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { KubeConnection, makeKubeConfig } from '../../controller/k8s/client.js'
import { DEFAULT_SOCKET_PATH } from '../api/protocol.js'
import { DEFAULT_CONTROLLER_NAMESPACE, doctorJson, formatDoctor, runDoctor, type GatherOptions } from '../doctor/index.js'
import { DEFAULT_HTTP_PORT } from '../http/index.js'
import type { GsictlIo } from './gsictl.js'

export const DOCTOR_USAGE = `usage: gsictl doctor [--kubeconfig FILE | --server URL] [--context NAME] [--namespace NS]
                     [--socket PATH] [--node NAME] [--aws] [--aws-endpoint URL] [--aws-region R]
                     [--daemon-port N | --daemon-url TEMPLATE] [--timeout S] [--json]

checks the whole gateway and prints one line per check: ok, warn or FAIL, the evidence, what to do.
Exit status 1 when a line FAILs.

  --kubeconfig FILE   cluster access (default $KUBECONFIG, ~/.kube/config, or in-cluster)
  --server URL        a bare API server URL instead (the emulator), --token to send a bearer token
  --namespace NS      the controller's namespace (default ${DEFAULT_CONTROLLER_NAMESPACE})
  --socket PATH       ask the local gsi-routerd over its API socket (node mode; the default
                      ${DEFAULT_SOCKET_PATH} is used when no kubeconfig is found)
  --node NAME         node mode: this node's name (default $NODE_NAME, else the host name)
  --daemon-port N     each node's gsi-routerd HTTP port (default ${DEFAULT_HTTP_PORT})
  --daemon-url T      where each node's daemon answers, {node} and {address} replaced (a proxy or a
                      kubectl port-forward: http://127.0.0.1:19478/status); default
                      http://{address}:PORT/status, {address} the ConnectedPeer's peerAddress
  --aws               ask EC2 itself (read-only: DescribeRouteTables, DescribeSecurityGroups) with the
                      default AWS credential chain; without it the VPC route and gsi-sg lines rely on
                      what the controller wrote in the CRs' status
  --aws-endpoint URL  EC2 endpoint (implies --aws; the emulator in tests)
  --aws-region R      region (default: each TransitGateway's status.awsRegion)
  --timeout S         seconds per request (default 5)
  --json              results and the snapshot they were judged from, as JSON
`

/** Runs `gsictl doctor ARGS` (the word doctor taken out). */
export async function runDoctorCli(argv: readonly string[], io: GsictlIo): Promise<number> {
  const env = io.env ?? {}
  let v
  try {
    v = parseArgs({
      args: [...argv], allowPositionals: false, strict: true,
      options: {
        kubeconfig: { type: 'string' }, server: { type: 'string' }, token: { type: 'string' }, context: { type: 'string' },
        namespace: { type: 'string' }, socket: { type: 'string' }, node: { type: 'string' }, 'daemon-port': { type: 'string' }, 'daemon-url': { type: 'string' },
        aws: { type: 'boolean' }, 'aws-endpoint': { type: 'string' }, 'aws-region': { type: 'string' },
        timeout: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
    }).values
  } catch (e) {
    io.stderr.write(`gsictl doctor: ${(e as Error).message.split('. ')[0] ?? ''}\n(gsictl doctor --help)\n`)
    return 2
  }
  if (v.help === true) {
    io.stdout.write(DOCTOR_USAGE)
    return 0
  }
  const usage = (m: string): number => {
    io.stderr.write(`gsictl doctor: ${m}\n(gsictl doctor --help)\n`)
    return 2
  }
  let timeoutMs = 5000
  if (v.timeout !== undefined) {
    const s = Number(v.timeout)
    if (!Number.isFinite(s) || s <= 0) return usage(`--timeout ${v.timeout}: must be a positive number of seconds`)
    timeoutMs = s * 1000
  }
  let port = DEFAULT_HTTP_PORT
  if (v['daemon-port'] !== undefined) {
    port = Number(v['daemon-port'])
    if (!Number.isInteger(port) || port < 1 || port > 65535) return usage(`--daemon-port ${v['daemon-port']}: must be an integer 1..65535`)
  }
  if (v.kubeconfig !== undefined && v.server !== undefined) return usage('--kubeconfig and --server: give one or the other')
  if (v['daemon-url'] !== undefined && v['daemon-port'] !== undefined) return usage('--daemon-url and --daemon-port: give one or the other')
  const template = v['daemon-url']
  if (template !== undefined && !/^https?:\/\//.test(template)) return usage(`--daemon-url ${template}: must start with http:// or https://`)

  const kubeGiven = v.kubeconfig !== undefined || v.server !== undefined || (env.KUBECONFIG ?? '') !== ''
  const socket = v.socket ?? (!kubeGiven && existsSync(env.GSICTL_SOCKET ?? DEFAULT_SOCKET_PATH) ? env.GSICTL_SOCKET ?? DEFAULT_SOCKET_PATH : undefined)
  let kube: KubeConnection | undefined
  if (socket === undefined || kubeGiven) {
    try {
      kube = new KubeConnection(makeKubeConfig({
        ...(v.kubeconfig !== undefined ? { kubeconfig: v.kubeconfig } : {}),
        ...(v.server !== undefined ? { server: v.server } : {}),
        ...(v.token !== undefined ? { token: v.token } : {}),
        ...(v.context !== undefined ? { context: v.context } : {}),
      }))
    } catch (e) {
      io.stderr.write(`gsictl doctor: kubeconfig: ${(e as Error).message}\n`)
      return 1
    }
  }
  const awsWanted = v.aws === true || v['aws-endpoint'] !== undefined
  const o: GatherOptions = {
    ...(kube !== undefined ? { kube } : {}),
    namespace: v.namespace ?? DEFAULT_CONTROLLER_NAMESPACE,
    ...(socket !== undefined ? { socket } : {}),
    ...(v.node !== undefined ? { nodeName: v.node } : {}),
    daemonUrl: (node, cp) => {
      const address = cp.spec.peerAddress.includes(':') ? `[${cp.spec.peerAddress}]` : cp.spec.peerAddress
      return template !== undefined ? template.replaceAll('{node}', node).replaceAll('{address}', address) : `http://${address}:${port}/status`
    },
    ...(awsWanted ? { aws: { ...(v['aws-endpoint'] !== undefined ? { endpoint: v['aws-endpoint'] } : {}), ...(v['aws-region'] !== undefined ? { region: v['aws-region'] } : {}) } } : {}),
    timeoutMs,
    ...(io.now !== undefined ? { now: io.now } : {}),
  }
  try {
    const run = await runDoctor(o)
    io.stdout.write(v.json === true ? doctorJson(run.results, run.snapshot) : formatDoctor(run.results, run.snapshot))
    return run.exitStatus
  } catch (e) {
    io.stderr.write(`gsictl doctor: ${(e as Error).message}\n`)
    return 1
  }
}
