#!/usr/bin/env node
/**
 * gsi-lab: the main job on an embedded default, end to end: the whole Gateway Service Instance with
 * packets, nothing real of AWS or Kubernetes.
 *
 * 1. Where this kernel lacks GRE, fou, MPLS or VRF, runs itself inside the project's qemu VM (one line
 *    says so); in either place inside a namespace of its own (src/lab/kernel.ts).
 * 2. Builds the data-plane world (src/lab/net.ts): a VPC host, the TGW, a fabric with the CN2 control
 *    node (gobgpd, every pod as VPNv4 with encapsulation udp), two vRouters with pods, one namespace
 *    per labelled node.
 * 3. Starts the Kubernetes API emulator (our CRDs) and the EC2 emulator, the real `gsi-controller`
 *    program pointed at both (`--server`, `--aws-endpoint`) and, in each node's namespace, the real
 *    `gsi-routerd` in its Kubernetes mode (src/lab/dataplane.ts). The TGW namespace follows the EC2
 *    emulator's Connect peers (GRE, two BIRD sessions each, ECMP toward the pods) and reports BgpStatus
 *    from those sessions; the VPC host's routes follow the Route objects.
 * 4. Applies the embedded default: N nodes labelled `core.juniper.net/crpd-node` (up to four become
 *    instances, the rest standby), deploy/examples/transitgateway.yaml, a CN2 VirtualNetwork with its
 *    Subnet selected by label, and the control node's BGPRouter in `contrail`.
 * 5. Prints what an operator checks, then checks, each `[ok]` or `[FAIL]`: pings both ways, the TGW's
 *    ECMP next hops, flows spread over the GRE links, a daemon restarted under a continuous ping, an
 *    active node lost (the standby takes over), the TransitGateway deleted (every AWS resource, GRE link
 *    and session gone, the nodes' main tables unchanged). Phase timings at the end.
 * Exits 0 when every check held, 1 otherwise, 2 on a wrong command line. `--keep` stays up before the
 * deletion with a console (src/lab/console.ts: kubectl, gsictl per node, commands in each namespace)
 * until `exit` or Ctrl-D, inside the VM too.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { PassThrough } from 'node:stream'
import { parseAllDocuments } from 'yaml'
import { fileURLToPath } from 'node:url'
import type { Ec2Emulator } from '../../controller/emulator/ec2/server.js'
import type { KubeObject } from '../../controller/k8s/index.js'
import type { Cn2BgpRouter, ConnectedPeer, Route, TransitGateway } from '../../controller/types.js'
import { numberOption, runCommandLine, type CommandLine, type OptionSpecs } from '../lib/args.js'
import { API_NS_ENV, kernelHasDataplane, runHere, runInVm } from '../lab/kernel.js'
import type { LabDataplane } from '../lab/dataplane.js'

const here = dirname(fileURLToPath(import.meta.url))
/** The package root, from dist/src/bin, dist/bundle or src/bin. */
function packageRoot(): string {
  return here.includes(`${join('dist', 'src', 'bin')}`) ? join(here, '..', '..', '..') : join(here, '..', '..')
}

/**
 * The file of one of our programs as this lab runs them: the bundles beside it when the lab runs from
 * dist/bundle (`npm run lab`; scripts/bundle.mjs says why), else the compiled dist/src/bin tree.
 */
function programFile(name: 'gsi-controller' | 'gsi-routerd' | 'gsictl'): string {
  return here.endsWith(join('dist', 'bundle')) ? join(here, `${name}.mjs`) : join(packageRoot(), 'dist', 'src', 'bin', `${name}.js`)
}

const NS = 'default'
/** CN2's namespace for its control nodes' BGPRouters, and the one control node of the lab (gobgpd in
 * the fabric, src/lab/net.ts's CONTROL_NODE). */
const CN2_NS = 'contrail'
const CONTROL_NODE_NAME = 'cn2-control-1'
const CONTROL_NODE_ASN = 64512
const NODE_LABEL = 'core.juniper.net/crpd-node'
/** The pods' VirtualNetwork: its route target and its Subnet (pods are 10.244.<vRouter>.x). */
const VN_ROUTE_TARGET = 'target:64512:200'
const VN_SUBNET = '10.244.0.0/16'
/** The Connect attachment's limit of Connect peers: at most this many instances. */
const MAX_INSTANCES = 4

function say(line = ''): void {
  process.stdout.write(line + '\n')
}

function table(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map(r => (r[i] ?? '').length)))
  for (const r of rows) say('  ' + r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd())
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const t0 = Date.now()
  let last: unknown
  while (Date.now() - t0 < timeoutMs) {
    try {
      const v = await fn()
      if (v !== undefined) return v
    } catch (e) {
      last = e
    }
    await new Promise(r => setTimeout(r, 250))
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? `: ${String(last)}` : ''}`)
}

type K<T> = T & KubeObject

/** CPU seconds a process has used (user + system, from /proc), to show progress under emulation. */
function cpuSeconds(pid: number | undefined): string {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return ((Number(f[11]) + Number(f[12])) / 100).toFixed(0)
  } catch { return '-' }
}

function cond(t: K<TransitGateway> | undefined, type: string): string {
  const c = t?.status?.conditions?.find(x => x.type === type)
  return c ? `${c.status} (${c.reason})` : '-'
}

function liveAws(ec2: Ec2Emulator): Record<string, number> {
  const w = ec2.world
  const now = Date.now() + w.timeOffsetMs
  const live = (m: Map<string, { state: string; next?: string; until?: number }>): number =>
    [...m.values()].filter(v => v.state !== 'deleted' && !(v.next === 'deleted' && (v.until ?? Infinity) <= now)).length
  let routes = 0
  for (const rt of w.routeTables.values()) for (const r of rt.routes) if ((r as { transitGatewayId?: string }).transitGatewayId) routes++
  return {
    'transit gateways': live(w.transitGateways as never),
    'VPC attachments': live(w.vpcAttachments as never),
    'Connect attachments': live(w.connectAttachments as never),
    'Connect peers': live(w.connectPeers as never),
    'VPC routes to the TGW': routes,
    'security groups (gsi-sg)': [...w.securityGroups.values()].filter(g => g.name === 'gsi-sg').length,
  }
}

const commandLine = {
  program: 'gsi-lab',
  usage: `usage: gsi-lab [--keep] [--nodes N] [--pods N]

the gsi-router lab: the whole Gateway Service Instance with packets. The Kubernetes API and EC2
emulators, the real gsi-controller against them, the real gsi-routerd (Kubernetes mode) in a network
namespace per labelled node, a Transit Gateway (GRE, BGP, ECMP) that follows the EC2 emulator's
Connect peers, a VPC host, a CN2 control node and two vRouters with pods. Prints what an operator
checks, pings, fails over, restarts a daemon, deletes the TransitGateway. Where this kernel lacks
GRE, fou, MPLS or VRF it runs inside the project's qemu VM. Exit 0 when every check held, 1 when one
failed, 2 on a wrong command line.

  --nodes N   labelled nodes, 1 to 6 (default 5: four instances and a standby)
  --pods N    pods, spread over the two vRouters, 1 to 40 (default 2)
  --keep      stay up before the TransitGateway is deleted, with a console: kubectl at the
              Kubernetes API emulator, gsictl per node, commands in each namespace; \`exit\`
              or Ctrl-D goes on to the deletion (in the VM too: what you type reaches it)
  --help`,
  options: {
    keep: { type: 'boolean', default: false },
    nodes: { type: 'string', default: '5' },
    pods: { type: 'string', default: '2' },
  },
} as const satisfies CommandLine<OptionSpecs>

interface LabOptions { keep: boolean; nodes: number; pods: number }

/** Phase timings, printed at the end. */
class Phases {
  private readonly rows: [string, number][] = []
  private t = Date.now()
  constructor(readonly t0: number) {}
  done(name: string): void {
    const now = Date.now()
    this.rows.push([name, now - this.t])
    this.t = now
  }
  print(): void {
    say('\nphases:')
    table(this.rows.map(([n, ms]) => [n, `${(ms / 1000).toFixed(1)} s`]))
  }
}

async function lab(o: LabOptions, apiNs: string): Promise<number> {
  // Loaded only now, so that --help and a wrong flag answer without loading the emulators and clients.
  const [{ KubeEmulator }, { defaultCrdDir, readCrds }, { startEc2Emulator }, { KubeConnection, makeKubeConfig, ResourceClient, NODES },
    { BGP_ROUTER_REF, GSI_REF, PEER_REF, ROUTE_REF, SUBNET_REF, TGW_REF, VN_REF }, netMod, { LabDataplane, startLabPeers }, { runGsictl }] = await Promise.all([
    import('../../controller/emulator/kube/server.js'), import('../../controller/emulator/kube/crds.js'),
    import('../../controller/emulator/ec2/server.js'), import('../../controller/k8s/index.js'), import('../../controller/controller.js'),
    import('../lab/net.js'), import('../lab/dataplane.js'), import('../cli/gsictl.js'),
  ])
  const { API_ADDRESS, CONTROL_NODE, GatewayNet, VPC_HOST } = netMod
  const root = packageRoot()
  const t0 = Date.now()
  const phases = new Phases(t0)
  // Four instances and the rest standby; fewer nodes keep one standby (a single node: no standby), so
  // that the failover is shown on any size.
  const active = o.nodes > MAX_INSTANCES ? MAX_INSTANCES : Math.max(1, o.nodes - 1)
  const nodeList: Array<[string, string]> = Array.from({ length: o.nodes }, (_, k) => [`ip-10-0-1-1${k + 1}.ec2.internal`, `10.0.1.1${k + 1}`])
  say(`gsi-router lab: ${o.nodes} nodes (${active} instance${active === 1 ? '' : 's'}, ${o.nodes - active} standby), ${o.pods} pod${o.pods === 1 ? '' : 's'}`)
  const work = mkdtempSync(join(tmpdir(), 'gsi-lab-'))
  // Names only: the namespaces are built once the controller is at work (below)
  const net = new GatewayNet('L', o.nodes, { pods: o.pods, tgwCidr: '100.64.0.0/24', apiNs })
  let mainBefore: string[] = []
  const kube = new KubeEmulator({ crds: readCrds([defaultCrdDir()]) })
  const kubePort = Number(new URL(await kube.start(0, '0.0.0.0')).port)
  const kubeUrl = `http://127.0.0.1:${kubePort}`
  const ec2 = await startEc2Emulator({ availableDelayMs: 400, deletingDelayMs: 200, bgpUpWhenAvailable: false })
  say(`  kube emulator ${kubeUrl} (nodes: http://${API_ADDRESS}:${kubePort})   ec2 emulator ${ec2.endpoint}`)

  const controllerJs = programFile('gsi-controller')
  const child: ChildProcess = spawn(
    process.execPath,
    [controllerJs, '--server', kubeUrl, '--aws-endpoint', ec2.endpoint, '--metrics-port', '0', '--log-level', 'warn',
      '--lease-duration', '6', '--renew-deadline', '4', '--retry-period', '1', '--identity', 'lab-controller-0',
      // the EC2 emulator makes a resource available in 0.4 s (AWS: minutes)
      '--pending-poll', '0.5'],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
      // Static fake credentials stop the SDK's chain before it would ask the instance metadata service.
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'AKIDLAB', AWS_SECRET_ACCESS_KEY: 'lab', AWS_EC2_METADATA_DISABLED: 'true' },
    },
  )
  let exited = false
  child.on('exit', code => {
    exited = true
    say(`gsi-controller exited with ${code}`)
  })

  const conn = new KubeConnection(makeKubeConfig({ server: kubeUrl }))
  const nodes = new ResourceClient<KubeObject>(conn, NODES)
  const gsis = new ResourceClient<KubeObject>(conn, GSI_REF)
  const tgws = new ResourceClient<K<TransitGateway>>(conn, TGW_REF)
  const peers = new ResourceClient<K<ConnectedPeer>>(conn, PEER_REF)
  const routes = new ResourceClient<K<Route>>(conn, ROUTE_REF)
  const vns = new ResourceClient<KubeObject>(conn, VN_REF)
  const subnets = new ResourceClient<KubeObject>(conn, SUBNET_REF)
  const bgpRouters = new ResourceClient<K<Cn2BgpRouter>>(conn, BGP_ROUTER_REF)
  const ourRouters = async (): Promise<K<Cn2BgpRouter>[]> =>
    (await bgpRouters.list(CN2_NS, 'gsi.gsi-router.io/transit-gateway')).items
  let ok = true
  const check = (what: string, good: boolean): void => {
    say(`  [${good ? 'ok' : 'FAIL'}] ${what}`)
    if (!good) ok = false
  }
  // Made once the namespaces and the peers are up (in the try below)
  let dp!: LabDataplane
  // The data plane follows the emulators: Connect peers, BgpStatus, Route objects, vRouters.
  let syncing = true
  let syncError = ''
  let syncLoop: Promise<void> = Promise.resolve()
  const runSync = async (): Promise<void> => {
    while (syncing) {
      try {
        const rs = (await routes.list(NS)).items
        dp.setVpcRoutes(rs.map(r => r.spec.destinationCidrBlock))
        // the control node accepts the gateways its BGPRouters name, as CN2 does
        dp.setControlNodePeers((await bgpRouters.list(CN2_NS)).items
          .filter(r => r.spec?.bgpRouterParameters?.routerType !== 'control-node' && (r.spec?.bgpRouterReferences ?? []).some(x => x.name === CONTROL_NODE_NAME))
          .map(r => r.spec?.bgpRouterParameters?.address ?? '').filter(a => a !== ''))
        await dp.sync()
        syncError = ''
      } catch (e) {
        const m = (e as Error).message
        if (m !== syncError) say(`  (data-plane sync: ${m.split('\n')[0]})`)
        syncError = m
      }
      await new Promise(r => setTimeout(r, 1500))
    }
  }
  const gsictl = async (n: { socket: string }, args: string[]): Promise<string> => {
    const out = new PassThrough()
    let text = ''
    out.on('data', d => { text += String(d) })
    await runGsictl(['--socket', n.socket, ...args], { stdout: out, stderr: out, env: {} })
    return text
  }
  const podPings = async (): Promise<{ to: number; from: number; total: number }> => {
    const to = await Promise.all(net.pods.map(p => net.pingAsync(net.vpc, p.address, 1)))
    const from = await Promise.all(net.pods.map(p => net.pingAsync(p.ns, VPC_HOST, 1)))
    return { to: to.filter(n => n === 1).length, from: from.filter(n => n === 1).length, total: net.pods.length }
  }
  const settledPings = async (what: string, timeoutMs: number): Promise<{ to: number; from: number; total: number }> => {
    let last = await podPings()
    const deadline = Date.now() + timeoutMs
    while ((last.to < last.total || last.from < last.total) && Date.now() < deadline) {
      await new Promise(r => setTimeout(r, 1000))
      last = await podPings()
    }
    if (last.to < last.total || last.from < last.total) say(`  (${what}: ${last.to}/${last.total} pods answered the VPC host, ${last.from}/${last.total} reached it)`)
    return last
  }
  try {
    for (const [name, ip] of nodeList) {
      await nodes.create({
        apiVersion: 'v1', kind: 'Node',
        metadata: { name, labels: { [NODE_LABEL]: '' } },
        status: { addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }], conditions: [{ type: 'Ready', status: 'True' }] },
      } as KubeObject)
    }
    // The exposure by label selector is part of what the lab shows: without the VirtualNetwork the
    // run would pass while showing less, so a failure here ends it.
    await subnets.create({
      apiVersion: 'core.contrail.juniper.net/v1alpha1', kind: 'Subnet', metadata: { name: 'frontend-v4', namespace: NS },
      spec: { cidr: VN_SUBNET, defaultGateway: '10.244.0.1' },
    } as unknown as KubeObject)
    await vns.create({
      apiVersion: 'core.contrail.juniper.net/v1alpha1', kind: 'VirtualNetwork',
      metadata: { name: 'frontend', namespace: NS, labels: { 'gsi.gsi-router.io/expose': 'true' } },
      spec: { routeTargetList: [VN_ROUTE_TARGET], v4SubnetReference: { name: 'frontend-v4' } },
    } as unknown as KubeObject).catch((e: unknown) => {
      throw new Error(`creating the CN2 VirtualNetwork default/frontend in the Kubernetes emulator failed: ${e instanceof Error ? e.message : String(e)}`)
    })
    await conn.core.createNamespace({ body: { metadata: { name: CN2_NS } } })
    await bgpRouters.create({
      apiVersion: 'core.contrail.juniper.net/v1alpha1', kind: 'BGPRouter', metadata: { name: CONTROL_NODE_NAME, namespace: CN2_NS },
      spec: {
        parent: { apiVersion: 'core.contrail.juniper.net/v1alpha1', kind: 'RoutingInstance', namespace: CN2_NS, name: 'default' },
        bgpRouterParameters: {
          routerType: 'control-node', address: CONTROL_NODE, identifier: CONTROL_NODE, autonomousSystem: CONTROL_NODE_ASN,
          addressFamilies: { family: ['route-target', 'inet-vpn', 'e-vpn', 'erm-vpn', 'inet6-vpn'] },
        },
      },
    } as K<Cn2BgpRouter>)
    const example = readFileSync(join(root, 'deploy', 'examples', 'transitgateway.yaml'), 'utf8')
    for (const doc of parseAllDocuments(example)) {
      const obj = doc.toJS() as KubeObject & { kind: string }
      if (obj.kind === 'GatewayServiceInstance') await gsis.create({ ...obj, spec: { ...(obj as { spec?: object }).spec, maxInstances: active } } as KubeObject)
      else if (obj.kind === 'TransitGateway') {
        // The example also exposes a route target and CIDR of its own (a VN the lab's CN2 does not
        // have): only the VirtualNetwork selector is kept, so that every exposure has routes behind it
        const t = obj as K<TransitGateway>
        const exposed = t.spec.exposed
        await tgws.create({ ...t, spec: { ...t.spec, exposed: { ...(exposed?.virtualNetworkSelector !== undefined ? { virtualNetworkSelector: exposed.virtualNetworkSelector } : {}) } } } as K<TransitGateway>)
      }
    }
    // What the Deployment, the DaemonSet and deploy/rbac.yaml make in a cluster, for the doctor: the
    // controller's pod and service account (IRSA), a gsi-routerd pod per labelled node
    const pod = (name: string, app: string, node: string): KubeObject => ({
      apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, labels: { 'app.kubernetes.io/name': app } },
      spec: { nodeName: node, containers: [{ name: app, image: 'gsi-router' }] },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
    } as KubeObject)
    await conn.core.createNamespacedPod({ namespace: NS, body: pod('lab-controller-0', 'gsi-controller', 'lab-control-plane') as never })
    for (const [k, [name]] of nodeList.entries()) await conn.core.createNamespacedPod({ namespace: NS, body: pod(`gsi-routerd-${k + 1}`, 'gsi-routerd', name) as never })
    await conn.core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name: 'gsi-controller', namespace: NS, annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/gsi-controller' } } } })
    say(`\napplied: ${nodeList.length} labelled nodes with a gsi-routerd pod each, deploy/examples/transitgateway.yaml (GSI "gsi", TransitGateway "tgw", exposing the VirtualNetworks labelled gsi.gsi-router.io/expose), VirtualNetwork default/frontend (${VN_SUBNET}, ${VN_ROUTE_TARGET}), CN2 control node ${CN2_NS}/${CONTROL_NODE_NAME}`)
    phases.done('emulators and controller started, objects applied')
    // The controller creates the AWS resources while the data plane is built: neither waits for the
    // other, as a cluster's controller and its nodes do not
    net.build()
    mainBefore = net.nodes.map(g => net.exec(g.ns, 'ip route show table main; ip -6 route show table main'))
    phases.done('namespaces, veths, vRouters and pods')
    const bgpPeers = await startLabPeers(net, { tgwAsn: 64512, gsiAsn: 65010, podRouteTarget: VN_ROUTE_TARGET })
    phases.done('CN2 control node (gobgpd) and the TGW\'s BGP (BIRD)')
    dp = new LabDataplane({
      net, world: ec2.world, nodeNames: nodeList.map(([n]) => n), work, root, routerd: programFile('gsi-routerd'), kubeUrl: `http://${API_ADDRESS}:${kubePort}`,
      gsiAsn: 65010, ...bgpPeers,
    })
    syncLoop = runSync()
    dp.startDaemons()
    phases.done('daemons started')

    let progress = Date.now()
    const tgw = await waitFor('TransitGateway tgw Ready', async () => {
      if (exited) throw new Error('gsi-controller exited')
      const t = await tgws.get(NS, 'tgw')
      if (Date.now() - progress > 30_000) {
        progress = Date.now()
        say(`  ... ${((Date.now() - t0) / 1000).toFixed(0)} s: TransitGateway ${t?.status?.state ?? '-'}, AWSReady ${cond(t, 'AWSReady')}, PeersReady ${cond(t, 'PeersReady')}; CPU seconds so far: controller ${cpuSeconds(child.pid)}, daemons ${dp.nodes.map(n => cpuSeconds(n.proc?.pid)).join(' ')}`)
      }
      return t?.status?.conditions?.find(c => c.type === 'Ready')?.status === 'True' ? t : undefined
    }, 900_000)
    const s = tgw.status ?? {}
    const ec2Calls = [...ec2.calls.values()].reduce((a, b) => a + b, 0)
    say(`\nTransitGateway tgw: Ready after ${((Date.now() - t0) / 1000).toFixed(1)} s (gsi-controller: ${ec2Calls} EC2 calls, ${cpuSeconds(child.pid)} CPU seconds)`)
    table([
      ['STATE', 'TGW', 'VPC ATTACHMENT', 'CONNECT', 'SG', 'PEERS', 'READY', 'AWSREADY', 'PEERSREADY'],
      [s.state ?? '-', s.transitGatewayID ?? '-', s.vpcAttachmentID ?? '-', s.connectAttachmentID ?? '-', s.securityGroupID ?? '-',
        String(s.activePeers ?? 0), cond(tgw, 'Ready'), cond(tgw, 'AWSReady'), cond(tgw, 'PeersReady')],
    ])
    phases.done('AWS resources created (TransitGateway Ready)')
    const sessionsUp = await waitFor('every instance\'s two TGW sessions Established', async () => {
      const up = dp.establishedNodes()
      return up.length === active ? up : undefined
    }, 600_000).catch(() => dp.establishedNodes())
    phases.done('daemons up: GRE links and TGW sessions Established')
    const peerItems = (await peers.list(NS)).items
    say('\nConnectedPeers (what each node\'s gsi-routerd reads) and the daemons\' sessions (status.daemon):')
    table([['NODE', 'PEER ADDRESS', 'TGW GRE', 'INSIDE', 'TGW BGP PEERS', 'ASN', 'CONTROL NODES', 'GRE', 'SESSIONS'],
      ...peerItems.map(p => [p.spec.nodeName.split('.')[0]!, p.spec.peerAddress, p.spec.transitGatewayAddress, p.spec.insideCidrBlocks.join(','),
        p.spec.bgpPeerAddresses.join(','), String(p.spec.peerAsn), (p.spec.controlNodes ?? []).map(c => `${c.address} AS${c.asn}`).join(',') || '-',
        p.status?.daemon?.greLinkUp === true ? 'up' : p.status?.daemon === undefined ? '-' : 'down',
        (p.status?.daemon?.sessions ?? []).map(x => `${x.peerAddress} ${x.state}`).join(', ') || '-'])])
    say(`  standby: ${(s.standbyNodes ?? []).join(', ') || '-'}`)
    say('\nthe TGW\'s view (DescribeTransitGatewayConnectPeers, BgpStatus from the real sessions):')
    table([['CONNECT PEER', 'NODE', 'TGW GRE', 'BGP .2', 'BGP .3'],
      ...ec2.world.peers().filter(p => p.state === 'available').map(p => {
        const g = net.nodes.find(x => x.address === p.peerAddress)
        const st = p.sessionBgpStatus ?? {}
        const inside = p.insideCidrBlocks[0] ?? ''
        return [p.id, g?.ns ?? p.peerAddress, p.tgwAddress, st[netMod.nthAddress(inside, 2)] ?? p.bgpStatus, st[netMod.nthAddress(inside, 3)] ?? p.bgpStatus]
      })])
    const first = dp.nodes.find(n => peerItems.some(p => p.spec.nodeName === n.name))
    if (first !== undefined) {
      say(`\ngsictl show bgp summary on ${first.name}:`)
      say((await gsictl(first, ['show', 'bgp', 'summary'])).trimEnd().split('\n').map(l => `  ${l}`).join('\n'))
    }
    const routerItems = await ourRouters()
    say(`\nCN2 BGPRouters in ${CN2_NS} registering the nodes with the control node:`)
    table([['NAME', 'TYPE', 'ADDRESS', 'AS', 'REFERENCES', 'CONTROL NODE SESSION'],
      ...await Promise.all(routerItems.map(async r => {
        const p = r.spec?.bgpRouterParameters
        const g = net.nodes.find(x => x.address === p?.address)
        return [r.metadata.name, p?.routerType ?? '-', p?.address ?? '-', String(p?.autonomousSystem ?? '-'),
          (r.spec?.bgpRouterReferences ?? []).map(x => x.name).join(','), g !== undefined ? await dp.controlNodeState(g.index) : '-']
      }))])
    const routeItems = (await routes.list(NS)).items
    say('\nRoutes (VPC route-table entries) and the VPC host\'s route table:')
    table([['NAME', 'DESTINATION', 'ROUTE TABLE', 'STATE'], ...routeItems.map(r => [r.metadata.name, r.spec.destinationCidrBlock, r.spec.routeTableID, r.status?.state ?? '-'])])
    say((await net.run(net.vpc, 'ip route show')).trimEnd().split('\n').map(l => `  ${l}`).join('\n'))
    say('\nAWS, as the EC2 emulator holds it:')
    const aws = liveAws(ec2)
    table(Object.entries(aws).map(([k, v]) => [k, String(v)]))

    say('\nchecks:')
    check(`${active} ConnectedPeers, ${o.nodes - active} standby`, peerItems.length === active && (s.standbyNodes ?? []).length === o.nodes - active)
    check('inside CIDRs unique /29s of 169.254.0.0/16 outside the reserved blocks',
      new Set(peerItems.map(p => p.spec.insideCidrBlocks[0])).size === active &&
      peerItems.every(p => /^169\.254\.\d+\.\d+\/29$/.test(p.spec.insideCidrBlocks[0] ?? '') && !/^169\.254\.[0-5]\.0\/29$/.test(p.spec.insideCidrBlocks[0] ?? '')))
    check('one transit gateway, VPC attachment, Connect attachment and gsi-sg; a Connect peer per instance',
      aws['transit gateways'] === 1 && aws['VPC attachments'] === 1 && aws['Connect attachments'] === 1 && aws['security groups (gsi-sg)'] === 1 && aws['Connect peers'] === active)
    const activeIps = peerItems.map(p => p.spec.peerAddress).sort()
    check(`a CN2 BGPRouter per instance referring to ${CONTROL_NODE_NAME}`,
      JSON.stringify(routerItems.map(r => r.spec?.bgpRouterParameters?.address).sort()) === JSON.stringify(activeIps))
    const cnNeighbors = await dp.controlNodeNeighbors()
    check(`the control node peers with the instances its BGPRouters name, not the standby (${cnNeighbors.join(' ') || 'none'})`, JSON.stringify(cnNeighbors) === JSON.stringify(activeIps))
    check(`every instance's GRE link up and two TGW sessions Established (${sessionsUp.length}/${active})`, sessionsUp.length === active)
    check('BgpStatus up for both sessions of every Connect peer in DescribeTransitGatewayConnectPeers',
      ec2.world.peers().filter(p => p.state === 'available').every(p => Object.values(p.sessionBgpStatus ?? {}).filter(v => v === 'up').length === 2))
    const vpcTable = await net.run(net.vpc, 'ip route show')
    check('the VPC host routes the exposed CIDRs to the TGW as the Route objects say',
      routeItems.length > 0 && routeItems.every(r => vpcTable.includes(`${r.spec.destinationCidrBlock} via ${netMod.VPC_GATEWAY}`)))

    // Packets: the VPC host <-> every pod, through the TGW, a gateway's GRE and MPLS over UDP.
    await waitFor('the TGW route toward the pods and the vRouters\' route toward the VPC', async () =>
      (await dp.tgwNextHops(VN_SUBNET)).length === active && dp.gateways.length === active ? true : undefined, 60_000).catch(() => undefined)
    const pings = await settledPings('pings', 30_000)
    check(`VPC host ${VPC_HOST} -> every pod (${pings.to}/${pings.total})`, pings.to === pings.total)
    check(`every pod -> VPC host (${pings.from}/${pings.total})`, pings.from === pings.total)
    const hops = await dp.tgwNextHops(VN_SUBNET)
    const wantHops = dp.connectPeerNodes().map(i => net.nodes[i - 1]!.tgwGre).sort()
    check(`the TGW's route to ${VN_SUBNET} has one ECMP next hop per instance (${hops.join(' ') || 'none'})`, hops.length === active && JSON.stringify(hops) === JSON.stringify(wantHops))
    // Flows spread: 32 VPC sources toward every pod; the TGW hashes each flow onto one GRE link. A
    // flow is answered when one of three echoes is: they all start at once, and under the VM's
    // emulated CPU (one vCPU in the kernel suite) a reply can take seconds.
    const before = await net.greTxPackets()
    const flows = 32 * net.pods.length
    const started = Date.now()
    const answered = (await net.run(net.vpc, `for i in $(seq 100 131); do echo "addr add 10.0.5.$i/24 dev u0"; done | ip -batch - 2>/dev/null; for i in $(seq 100 131); do for p in ${net.pods.map(p => p.address).join(' ')}; do (busybox ping -c 3 -i 0.3 -W 10 -I 10.0.5.$i $p >/dev/null 2>&1 && echo answered) & done; done; wait`, 300_000))
      .split('\n').filter(l => l === 'answered').length
    const after = await net.greTxPackets()
    const spread = [...after].map(([i, n]) => [`g${i}`, n - (before.get(i) ?? 0)] as const)
    // BGP crosses the links too: per link two sessions, a keepalive and an acknowledgement each per
    // 3 s (hold time 9); a link carried flows when it sent more than that
    const bgpAllowance = Math.ceil((Date.now() - started) / 3000) * 4 + 4
    say(`  ${flows} flows (32 VPC sources x ${net.pods.length} pods), ${answered} answered; packets into each GRE link: ${spread.map(([l, n]) => `${l} ${n}`).join(', ')} (BGP alone: at most ${bgpAllowance})`)
    const carrying = spread.filter(([, n]) => n > bgpAllowance).length
    check(`flows spread over every instance (${answered}/${flows} flows answered, ${carrying} of ${active} GRE links carried flows)`, answered === flows && carrying === active)
    phases.done('pings, ECMP, flow spread')

    // A daemon restarted under a continuous ping: graceful restart keeps the kernel state.
    const victim = dp.nodes.find(n => peerItems.some(p => p.spec.nodeName === n.name))!
    const pod0 = net.pods[0]!
    const pinger = net.startPing(net.vpc, pod0.address, 0.2)
    await new Promise(r => setTimeout(r, 1000))
    await victim.stop('SIGTERM')
    victim.start()
    // The node's kernel state second by second, shown if a packet is lost
    const restartStart = Date.now()
    const watch: string[] = []
    await waitFor(`${victim.name}'s sessions back`, async () => {
      await new Promise(r => setTimeout(r, 1000))
      const k = await net.run(victim.g.ns, 'echo "$(ip -o route show table all proto 201 | wc -l) routes; $(ip -o link show | grep -o "gsi[a-z0-9]*" | sort | tr "\\n" " ")"; ip -o -s link show | grep -o "^[0-9]*: gsi[a-z0-9]*" | tr "\\n" " "').catch((e: unknown) => String(e))
      const tgwRoute = await net.run(net.tgw, `ip route show ${VN_SUBNET}`).catch((e: unknown) => String(e))
      const vrRoute = await net.run(net.vrouters[0]!.ns, `ip route show ${netMod.VPC_CIDR}`).catch((e: unknown) => String(e))
      const cnState = await dp.controlNodeState(victim.g.index)
      watch.push(`${((Date.now() - restartStart) / 1000).toFixed(1)} s: ${k.replace(/\n/g, ' | ')}; TGW: ${tgwRoute.trim() || 'no route'}; vRouter 1: ${vrRoute.trim() || 'no route'}; TGW sessions (BIRD) ${dp.tgwSessions(victim.g.index).join(' ')}; control node ${cnState}`)
      return dp.establishedNodes().includes(victim.g.index) && cnState === 'established' && victim.text().split('\n').filter(l => l.includes('"restarting":true')).length > 0 ? true : undefined
    }, 120_000).catch(() => undefined)
    await new Promise(r => setTimeout(r, 2000))
    const run = await pinger.stop()
    check(`${victim.name.split('.')[0]}'s gsi-routerd restarted (SIGTERM) under a continuous ping: zero lost (${run.line}${run.lost.length > 0 ? `; lost ${JSON.stringify(run.lost)}` : ''})`, run.sent >= 20 && run.lost.length === 0)
    if (run.lost.length > 0) {
      // What each hop held right after: the restarted daemon's log since its start, the TGW's route
      // toward the pods, the node's gateway table, the vRouter's route back to the VPC
      const since = victim.text().split('\n')
      const from = since.map(l => l.includes('"restarting":true') && l.includes('gsi-routerd started')).lastIndexOf(true)
      say(`  ---- the restarted daemon's log:\n${since.slice(Math.max(0, from)).map(l => `  ${l.slice(0, 400)}`).join('\n')}`)
      say(`  ---- during the restart: the node's kernel (routes of ours, links with their ifindex), the TGW's route to the pods, the vRouter's to the VPC:\n${watch.map(l => `  ${l}`).join('\n')}`)
      for (const [what, ns, cmd] of [['TGW', net.tgw, `ip route show ${VN_SUBNET}`], [victim.name, victim.g.ns, 'ip route show table all proto 201'],
        ['vRouter 1', net.vrouters[0]!.ns, `ip route show ${netMod.VPC_CIDR}`]] as const) {
        say(`  ---- ${what}: ${cmd}\n${(await net.run(ns, cmd).catch((e: unknown) => String(e))).trimEnd().split('\n').map(l => `  ${l}`).join('\n')}`)
      }
    }
    phases.done('daemon restart under ping')

    // Failover: an active instance's node leaves; the standby takes its place.
    const standby = (s.standbyNodes ?? [])[0]
    if (standby === undefined) {
      say('\n(one node: no standby to take over, so no node is removed)')
    } else {
      const gone = peerItems[0]!.spec.nodeName
      const goneNode = dp.nodes.find(n => n.name === gone)!
      await dp.loseNode(goneNode.g.index)
      await nodes.delete(undefined, gone)
      await conn.core.deleteNamespacedPod({ namespace: NS, name: `gsi-routerd-${goneNode.g.index}` }).catch(() => undefined)
      say(`\nnode ${gone} removed (its instance terminated: daemon killed, links down)`)
      const standbyNode = dp.nodes.find(n => n.name === standby)!
      const after2 = await waitFor('standby to take over', async () => {
        const items = (await peers.list(NS)).items
        const names = items.map(p => p.spec.nodeName)
        return items.length === active && !names.includes(gone) && names.includes(standby) ? items : undefined
      }, 60_000).catch(() => undefined)
      check(`standby ${standby.split('.')[0]} took over (its ConnectedPeer)`, after2 !== undefined)
      const upAgain = await waitFor('the standby\'s Connect peer, GRE link and TGW sessions', async () =>
        dp.establishedNodes().includes(standbyNode.g.index) && (await dp.greLinks(standbyNode.g.index)).length === 1 ? true : undefined, 120_000).catch(() => false)
      check(`${standby.split('.')[0]}'s Connect peer in AWS, GRE link and two TGW sessions up`, upAgain === true)
      await waitFor('the TGW route through the new instance', async () => {
        const h = await dp.tgwNextHops(VN_SUBNET)
        return h.includes(standbyNode.g.tgwGre) && !h.includes(goneNode.g.tgwGre) ? true : undefined
      }, 60_000).catch(() => undefined)
      const wantNeighbors = [...activeIps.filter(a => a !== goneNode.g.address), standbyNode.g.address].sort()
      const cnAfter = await waitFor('the control node\'s neighbours to follow the BGPRouters', async () => {
        const nb = await dp.controlNodeNeighbors()
        return JSON.stringify(nb) === JSON.stringify(wantNeighbors) ? nb : undefined
      }, 60_000).catch(() => dp.controlNodeNeighbors())
      check(`the control node's neighbours follow the BGPRouters (${cnAfter.join(' ')})`, JSON.stringify(cnAfter) === JSON.stringify(wantNeighbors))
      const hopsAfter = await dp.tgwNextHops(VN_SUBNET)
      check(`the TGW's ECMP next hops follow (${hopsAfter.join(' ')})`, hopsAfter.length === active && hopsAfter.includes(standbyNode.g.tgwGre) && !hopsAfter.includes(goneNode.g.tgwGre))
      const pingsAfter = await settledPings('pings after the failover', 60_000)
      check(`traffic continues: VPC host <-> every pod (${pingsAfter.to}/${pingsAfter.total}, ${pingsAfter.from}/${pingsAfter.total})`, pingsAfter.to === pingsAfter.total && pingsAfter.from === pingsAfter.total)
      phases.done('node lost, standby took over')
    }

    // The doctor, as an operator runs it from a kubeconfig: the CRs, each node's daemon (/status on
    // its address), EC2 read-only
    const { runDoctor, formatDoctor } = await import('../doctor/index.js')
    const doc = await runDoctor({ kube: conn, namespace: NS, aws: { endpoint: ec2.endpoint, credentials: { accessKeyId: 'AKIDLAB', secretAccessKey: 'lab' } }, timeoutMs: 20_000 })
    say(`\ngsictl doctor (cluster mode, against the emulators and the daemons):\n${formatDoctor(doc.results, doc.snapshot).trimEnd().split('\n').map(l => `  ${l}`).join('\n')}`)
    const failing = doc.results.filter(r => r.verdict === 'fail')
    check(`gsictl doctor: no FAIL (${doc.results.filter(r => r.verdict === 'ok').length} ok, ${doc.results.filter(r => r.verdict === 'warn').length} warn${failing.length ? `; FAIL ${failing.map(r => `${r.check} ${r.subject ?? ''}: ${r.evidence}`).join('; ')}` : ''})`, failing.length === 0)
    phases.done('gsictl doctor')

    if (o.keep) {
      const { prepareConsole, consoleHelp, runConsole } = await import('../lab/console.js')
      const world = { net, sockets: dp.nodes.map(n => n.socket), gsictl: programFile('gsictl'), kubeUrl, birdDir: dp.tgw.dir, work }
      const env = prepareConsole(world)
      say('')
      for (const l of consoleHelp(world)) say(l)
      await runConsole(process.stdin, env, text => { process.stdout.write(text) })
    }

    await tgws.delete(NS, 'tgw')
    say('\nTransitGateway tgw deleted')
    await waitFor('every AWS resource we own to be deleted', async () => {
      const a = liveAws(ec2)
      return Object.values(a).every(v => v === 0) && (await tgws.get(NS, 'tgw')) === undefined ? a : undefined
    }, 60_000).catch(() => undefined)
    const left = Object.entries(liveAws(ec2)).filter(([, v]) => v !== 0).map(([k, v]) => `${v} ${k}`)
    check(`transit gateway, attachments, Connect peers, routes and gsi-sg all deleted; finalizer released${left.length ? ` (left: ${left.join(', ')})` : ''}`,
      left.length === 0 && (await tgws.get(NS, 'tgw')) === undefined)
    const cn2Left = (await bgpRouters.list(CN2_NS)).items.map(r => r.metadata.name)
    check(`our BGPRouters deleted, the control node's kept (${cn2Left.join(', ')})`, JSON.stringify(cn2Left) === JSON.stringify([CONTROL_NODE_NAME]))
    const living = dp.nodes.filter(n => !n.gone)
    const greLeft = await waitFor('every daemon\'s GRE link gone', async () => {
      const l = (await Promise.all(living.map(n => dp.greLinks(n.g.index)))).flat()
      return l.length === 0 && dp.connectPeerNodes().length === 0 ? l : undefined
    }, 60_000).catch(async () => (await Promise.all(living.map(n => dp.greLinks(n.g.index)))).flat())
    check(`every daemon's GRE link gone, the TGW's ends and sessions too${greLeft.length ? ` (left: ${greLeft.join(', ')})` : ''}`,
      greLeft.length === 0 && dp.connectPeerNodes().length === 0 && dp.tgwSessionNames().length === 0)
    check(`every daemon still running (${living.filter(n => n.running()).length}/${living.length})`, living.every(n => n.running()))
    const tablesNow = await Promise.all(living.map(n => dp.mainTable(n.g.index)))
    const changed = living.filter((n, k) => tablesNow[k] !== mainBefore[n.g.index - 1]).map(n => n.g.ns)
    check(`the nodes' main tables unchanged throughout${changed.length ? ` (changed: ${changed.join(', ')})` : ''}`, changed.length === 0)
    phases.done('TransitGateway deleted, everything gone')
  } catch (e) {
    check(String((e as Error).message ?? e), false)
  } finally {
    syncing = false
    await syncLoop
    // undefined when the run failed before the data plane was made
    const made = dp as LabDataplane | undefined
    if (!ok) for (const n of made?.nodes ?? []) say(`---- ${n.name} (${n.running() ? 'running' : `exited ${n.proc?.exitCode ?? n.proc?.signalCode ?? '-'}`}) log, last lines:\n${n.text().split('\n').slice(-15).join('\n')}`)
    await made?.stop()
    // Let the controller finish (it drains its work queue on SIGTERM) before its API servers go away.
    if (!exited) {
      const done = new Promise(r => child.once('exit', r))
      child.kill('SIGTERM')
      await Promise.race([done, new Promise(r => setTimeout(r, 5000))])
      if (!exited) child.kill('SIGKILL')
    }
    await kube.stop()
    await ec2.close()
    net.destroy()
    rmSync(work, { recursive: true, force: true })
  }
  phases.print()
  say(`\nlab ${ok ? 'passed' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  return ok ? 0 : 1
}

/** Outside the lab's namespace: run it there, on this kernel or in the VM. */
async function enter(argv: readonly string[], keep: boolean): Promise<number> {
  const self = [process.execPath, fileURLToPath(import.meta.url), ...argv]
  const ns = `gsilab-${process.pid}`
  if (kernelHasDataplane()) {
    say('gsi-lab: this kernel has GRE, fou, MPLS and VRF: the data plane runs here')
    return runHere(ns, self)
  }
  say('gsi-lab: this kernel lacks GRE/fou/MPLS/VRF: the data plane runs inside the project\'s qemu VM (Debian kernel, booting...)')
  const t0 = Date.now()
  // --keep: what is typed here reaches the lab's console inside the VM
  const { code } = await runInVm(packageRoot(), ns, self, Number(process.env.GSI_LAB_VM_TIMEOUT ?? 2400), keep ? process.stdin : undefined)
  say(`gsi-lab: VM run ${code === 0 ? 'passed' : `exited ${code}`} in ${((Date.now() - t0) / 1000).toFixed(1)} s including the VM boot`)
  return code === 0 ? 0 : code === 2 ? 2 : 1
}

const argv = process.argv.slice(2)
runCommandLine(commandLine, argv, values => {
  const o = { keep: values.keep, nodes: numberOption('--nodes', values.nodes, { min: 1, max: 6 }), pods: numberOption('--pods', values.pods, { min: 1, max: 40 }) }
  const apiNs = process.env[API_NS_ENV]
  return apiNs === undefined ? enter(argv, o.keep) : lab(o, apiNs)
}).then(code => {
  process.exitCode = code
}, (e: unknown) => {
  process.stderr.write(`gsi-lab: ${(e as Error).stack ?? String(e)}\n`)
  process.exitCode = 1
})
