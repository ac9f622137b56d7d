#!/usr/bin/env node
/**
 * gsi-lab: the main job on an embedded default, end to end with nothing real of AWS or Kubernetes.
 *
 * 1. Starts the Kubernetes API emulator (our CRDs) and the EC2 emulator (a seeded VPC with subnets in
 *    three AZs) on loopback ports, in this process.
 * 2. Starts the real `gsi-controller` program as a child process pointed at both (`--server`,
 *    `--aws-endpoint`), exactly as it would run against EKS and EC2, with fake static credentials.
 * 3. Applies the embedded default: five nodes labelled `core.juniper.net/crpd-node` (four become
 *    instances, the fifth is standby), the GatewayServiceInstance and TransitGateway of
 *    deploy/examples/transitgateway.yaml, a CN2 VirtualNetwork selected by its label, and a CN2
 *    control node's BGPRouter in the `contrail` namespace (as CN2 writes one per control node).
 * 4. Waits for the TransitGateway to be Ready and prints what an operator would check: the
 *    TransitGateway, each ConnectedPeer (node, inside CIDR, TGW BGP addresses, control nodes: the
 *    daemon's contract), the CN2 BGPRouters that register the nodes with the control node, the Route
 *    objects, and the AWS resources as the EC2 emulator holds them.
 * 5. Removes one instance's node: the standby takes over (its BGPRouter replaces the removed node's);
 *    then deletes the TransitGateway and checks that every AWS resource and BGPRouter we created is
 *    gone and the control node's BGPRouter is not.
 * Exits 0 when every step held, 1 otherwise, 2 on a wrong command line. `--keep` leaves it running for poking with curl/kubectl.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Ec2Emulator } from '../../controller/emulator/ec2/server.js'
import type { KubeObject } from '../../controller/k8s/index.js'
import type { Cn2BgpRouter, ConnectedPeer, Route, TransitGateway } from '../../controller/types.js'
import { runCommandLine, type CommandLine, type OptionSpecs } from '../lib/args.js'

const here = dirname(fileURLToPath(import.meta.url))
/** The package root, from dist/src/bin or src/bin. */
function packageRoot(): string {
  return here.includes(`${join('dist', 'src', 'bin')}`) ? join(here, '..', '..', '..') : join(here, '..', '..')
}

const NS = 'default'
/** CN2's namespace for its control nodes' BGPRouters, and the one control node of the lab. */
const CN2_NS = 'contrail'
const CONTROL_NODE = { name: 'cn2-control-1', address: '10.0.1.250', asn: 64512 }
const NODE_LABEL = 'core.juniper.net/crpd-node'
const NODES_DEFAULT: Array<[string, string]> = [
  ['ip-10-0-1-11.ec2.internal', '10.0.1.11'],
  ['ip-10-0-2-12.ec2.internal', '10.0.2.12'],
  ['ip-10-0-3-13.ec2.internal', '10.0.3.13'],
  ['ip-10-0-1-14.ec2.internal', '10.0.1.14'],
  ['ip-10-0-2-15.ec2.internal', '10.0.2.15'],
]

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
    await new Promise(r => setTimeout(r, 100))
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? `: ${String(last)}` : ''}`)
}

type K<T> = T & KubeObject

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
  usage: `usage: gsi-lab [--keep]

the gsi-router lab: the Kubernetes API and EC2 emulators on loopback, the real gsi-controller against
them, an embedded default of five labelled nodes and deploy/examples/transitgateway.yaml; prints what
an operator checks, fails over a node, deletes the TransitGateway. Exit 0 when every check held, 1
when one failed, 2 on a wrong command line.

  --keep      stay running after the failover, until Ctrl-C, for poking with curl or kubectl
  --help`,
  options: { keep: { type: 'boolean', default: false } },
} as const satisfies CommandLine<OptionSpecs>

async function lab(keep: boolean): Promise<number> {
  // Loaded only now, so that --help and a wrong flag answer without loading the emulators and clients.
  const [{ parseAllDocuments }, { KubeEmulator }, { defaultCrdDir, readCrds }, { startEc2Emulator }, { KubeConnection, makeKubeConfig, ResourceClient, NODES },
    { BGP_ROUTER_REF, GSI_REF, PEER_REF, ROUTE_REF, TGW_REF, VN_REF }] = await Promise.all([
    import('yaml'), import('../../controller/emulator/kube/server.js'), import('../../controller/emulator/kube/main.js'),
    import('../../controller/emulator/ec2/server.js'), import('../../controller/k8s/index.js'), import('../../controller/controller.js'),
  ])
  const root = packageRoot()
  const t0 = Date.now()
  say('gsi-router lab: Kubernetes API emulator + EC2 emulator + the real gsi-controller program')
  const kube = new KubeEmulator({ crds: readCrds([defaultCrdDir()]) })
  const kubeUrl = await kube.start()
  const ec2 = await startEc2Emulator({ availableDelayMs: 400, deletingDelayMs: 200, bgpUpWhenAvailable: true })
  say(`  kube emulator ${kubeUrl}   ec2 emulator ${ec2.endpoint}`)

  const controllerJs = join(root, 'dist', 'src', 'bin', 'gsi-controller.js')
  const child: ChildProcess = spawn(
    process.execPath,
    [controllerJs, '--server', kubeUrl, '--aws-endpoint', ec2.endpoint, '--metrics-port', '0', '--log-level', 'warn',
      '--lease-duration', '6', '--renew-deadline', '4', '--retry-period', '1', '--identity', 'lab-controller-0'],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
      // Static fake credentials stop the SDK's chain before it would ask the instance metadata service.
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'AKIDLAB', AWS_SECRET_ACCESS_KEY: 'lab', AWS_EC2_METADATA_DISABLED: 'true' },
    },
  )
  let exited = false
  child.on('exit', code => {
    exited = true
    if (!keep) return
    say(`gsi-controller exited with ${code}`)
  })

  const conn = new KubeConnection(makeKubeConfig({ server: kubeUrl }))
  const nodes = new ResourceClient<KubeObject>(conn, NODES)
  const gsis = new ResourceClient<KubeObject>(conn, GSI_REF)
  const tgws = new ResourceClient<K<TransitGateway>>(conn, TGW_REF)
  const peers = new ResourceClient<K<ConnectedPeer>>(conn, PEER_REF)
  const routes = new ResourceClient<K<Route>>(conn, ROUTE_REF)
  const vns = new ResourceClient<KubeObject>(conn, VN_REF)
  const bgpRouters = new ResourceClient<K<Cn2BgpRouter>>(conn, BGP_ROUTER_REF)
  const ourRouters = async (): Promise<K<Cn2BgpRouter>[]> =>
    (await bgpRouters.list(CN2_NS, 'gsi.gsi-router.io/transit-gateway')).items
  let ok = true
  const check = (what: string, good: boolean): void => {
    say(`  [${good ? 'ok' : 'FAIL'}] ${what}`)
    if (!good) ok = false
  }
  try {
    for (const [name, ip] of NODES_DEFAULT) {
      await nodes.create({
        apiVersion: 'v1', kind: 'Node',
        metadata: { name, labels: { [NODE_LABEL]: '' } },
        status: { addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }], conditions: [{ type: 'Ready', status: 'True' }] },
      } as KubeObject)
    }
    // The exposure by label selector is part of what the lab shows: without the VirtualNetwork the
    // run would pass while showing less, so a failure here ends it.
    await vns.create({
      apiVersion: 'core.contrail.juniper.net/v1alpha1', kind: 'VirtualNetwork',
      metadata: { name: 'frontend', namespace: NS, labels: { 'gsi.gsi-router.io/expose': 'true' } },
      spec: { routeTargetList: ['target:64512:200'], v4SubnetReference: { name: 'frontend-v4' } },
    } as unknown as KubeObject).catch((e: unknown) => {
      throw new Error(`creating the CN2 VirtualNetwork default/frontend in the Kubernetes emulator failed: ${e instanceof Error ? e.message : String(e)}`)
    })
    await conn.core.createNamespace({ body: { metadata: { name: CN2_NS } } })
    await bgpRouters.create({
      apiVersion: 'core.contrail.juniper.net/v1alpha1', kind: 'BGPRouter', metadata: { name: CONTROL_NODE.name, namespace: CN2_NS },
      spec: {
        parent: { apiVersion: 'core.contrail.juniper.net/v1alpha1', kind: 'RoutingInstance', namespace: CN2_NS, name: 'default' },
        bgpRouterParameters: {
          routerType: 'control-node', address: CONTROL_NODE.address, identifier: CONTROL_NODE.address, autonomousSystem: CONTROL_NODE.asn,
          addressFamilies: { family: ['route-target', 'inet-vpn', 'e-vpn', 'erm-vpn', 'inet6-vpn'] },
        },
      },
    } as K<Cn2BgpRouter>)
    const example = readFileSync(join(root, 'deploy', 'examples', 'transitgateway.yaml'), 'utf8')
    for (const doc of parseAllDocuments(example)) {
      const obj = doc.toJS() as KubeObject & { kind: string }
      if (obj.kind === 'GatewayServiceInstance') await gsis.create(obj)
      else if (obj.kind === 'TransitGateway') await tgws.create(obj as K<TransitGateway>)
    }
    say(`\napplied: ${NODES_DEFAULT.length} labelled nodes, deploy/examples/transitgateway.yaml (GSI "gsi", TransitGateway "tgw"), CN2 control node ${CN2_NS}/${CONTROL_NODE.name}`)

    const tgw = await waitFor('TransitGateway tgw Ready', async () => {
      if (exited) throw new Error('gsi-controller exited')
      const t = await tgws.get(NS, 'tgw')
      return t?.status?.conditions?.find(c => c.type === 'Ready')?.status === 'True' ? t : undefined
    }, 60_000)
    const s = tgw.status ?? {}
    say(`\nTransitGateway tgw: Ready after ${((Date.now() - t0) / 1000).toFixed(1)} s`)
    table([
      ['STATE', 'TGW', 'VPC ATTACHMENT', 'CONNECT', 'SG', 'PEERS', 'READY', 'AWSREADY', 'PEERSREADY'],
      [s.state ?? '-', s.transitGatewayID ?? '-', s.vpcAttachmentID ?? '-', s.connectAttachmentID ?? '-', s.securityGroupID ?? '-',
        String(s.activePeers ?? 0), cond(tgw, 'Ready'), cond(tgw, 'AWSReady'), cond(tgw, 'PeersReady')],
    ])
    // The CN2 registration follows the ConnectedPeers within a reconcile; wait for both to settle.
    const peerItems = await waitFor('ConnectedPeers with the control node', async () => {
      const items = (await peers.list(NS)).items
      return items.length === 4 && items.every(p => p.spec.controlNodes?.length === 1) ? items : undefined
    }, 30_000).catch(async () => (await peers.list(NS)).items)
    say('\nConnectedPeers (what each node\'s gsi-routerd reads):')
    table([['NODE', 'PEER ADDRESS', 'TGW GRE', 'INSIDE', 'LOCAL', 'TGW BGP PEERS', 'ASN', 'TGW ASN', 'CONTROL NODES'],
      ...peerItems.map(p => [p.spec.nodeName, p.spec.peerAddress, p.spec.transitGatewayAddress, p.spec.insideCidrBlocks.join(','),
        p.spec.localInsideAddresses.join(','), p.spec.bgpPeerAddresses.join(','), String(p.spec.peerAsn), String(p.spec.transitGatewayAsn),
        (p.spec.controlNodes ?? []).map(c => `${c.address} AS${c.asn}`).join(',') || '-'])])
    say(`  standby: ${(s.standbyNodes ?? []).join(', ') || '-'}`)
    const routerItems = await waitFor('a BGPRouter per active node', async () => {
      const items = await ourRouters()
      return items.length === 4 ? items : undefined
    }, 30_000).catch(ourRouters)
    say(`\nCN2 BGPRouters in ${CN2_NS} registering the nodes with the control node:`)
    table([['NAME', 'TYPE', 'ADDRESS', 'AS', 'FAMILIES', 'REFERENCES'],
      ...routerItems.map(r => {
        const p = r.spec?.bgpRouterParameters
        return [r.metadata.name, p?.routerType ?? '-', p?.address ?? '-', String(p?.autonomousSystem ?? '-'),
          (p?.addressFamilies?.family ?? []).join(','), (r.spec?.bgpRouterReferences ?? []).map(x => x.name).join(',')]
      })])
    const routeItems = (await routes.list(NS)).items
    say('\nRoutes (VPC route-table entries):')
    table([['NAME', 'SPEC', 'STATUS'], ...routeItems.map(r => [r.metadata.name, JSON.stringify(r.spec), JSON.stringify(r.status ?? {})])])
    say('\nAWS, as the EC2 emulator holds it:')
    const aws = liveAws(ec2)
    table(Object.entries(aws).map(([k, v]) => [k, String(v)]))

    say('\nchecks:')
    check('four ConnectedPeers (the Connect attachment limit), one standby', peerItems.length === 4 && (s.standbyNodes ?? []).length === 1)
    check('inside CIDRs unique /29s of 169.254.0.0/16 outside the reserved blocks',
      new Set(peerItems.map(p => p.spec.insideCidrBlocks[0])).size === 4 &&
      peerItems.every(p => /^169\.254\.\d+\.\d+\/29$/.test(p.spec.insideCidrBlocks[0] ?? '') && !/^169\.254\.[0-5]\.0\/29$/.test(p.spec.insideCidrBlocks[0] ?? '')))
    check('one transit gateway, VPC attachment, Connect attachment and gsi-sg', aws['transit gateways'] === 1 && aws['VPC attachments'] === 1 && aws['Connect attachments'] === 1 && aws['security groups (gsi-sg)'] === 1)
    check('four Connect peers in AWS', aws['Connect peers'] === 4)
    const activeIps = peerItems.map(p => p.spec.peerAddress).sort()
    check(`four CN2 BGPRouters (routerType router, node IP, AS ${CONTROL_NODE.asn}) referring to ${CONTROL_NODE.name}`,
      JSON.stringify(routerItems.map(r => r.spec?.bgpRouterParameters?.address).sort()) === JSON.stringify(activeIps) &&
      routerItems.every(r => r.spec?.bgpRouterParameters?.routerType === 'router' && r.spec.bgpRouterParameters.autonomousSystem === CONTROL_NODE.asn &&
        JSON.stringify(r.spec.bgpRouterReferences?.map(x => x.name)) === JSON.stringify([CONTROL_NODE.name])))
    check('every ConnectedPeer names the control node', peerItems.every(p =>
      JSON.stringify(p.spec.controlNodes) === JSON.stringify([{ address: CONTROL_NODE.address, asn: CONTROL_NODE.asn }])))

    // Failover: an active instance's node leaves; the standby takes its place.
    const gone = peerItems[0]!.spec.nodeName
    const standby = (s.standbyNodes ?? [])[0]
    await nodes.delete(undefined, gone)
    say(`\nnode ${gone} removed`)
    const after = await waitFor('standby to take over', async () => {
      const items = (await peers.list(NS)).items
      const names = items.map(p => p.spec.nodeName)
      const t = await tgws.get(NS, 'tgw')
      return items.length === 4 && !names.includes(gone) && standby !== undefined && names.includes(standby) &&
        t?.status?.conditions?.find(c => c.type === 'Ready')?.status === 'True' ? items : undefined
    }, 60_000)
    const afterNames = after.map(p => p.spec.nodeName)
    check(`standby ${standby} took over; four instances again (${afterNames.map(n => n.split('.')[0]).join(', ')})`,
      afterNames.length === 4 && standby !== undefined && afterNames.includes(standby) && !afterNames.includes(gone))
    check('still four Connect peers in AWS', liveAws(ec2)['Connect peers'] === 4)
    const goneIp = peerItems[0]!.spec.peerAddress
    const standbyIp = after.find(p => p.spec.nodeName === standby)?.spec.peerAddress
    const routersAfter = await waitFor('BGPRouters to follow the takeover', async () => {
      const ips = (await ourRouters()).map(r => r.spec?.bgpRouterParameters?.address)
      return ips.length === 4 && !ips.includes(goneIp) && ips.includes(standbyIp) ? ips : undefined
    }, 30_000).catch(() => undefined)
    check(`BGPRouter of ${gone.split('.')[0]} removed, ${(standby ?? '?').split('.')[0]}'s created`, routersAfter !== undefined)

    if (keep) {
      say('\n--keep: running; Ctrl-C to stop')
      await new Promise<void>(resolve => process.once('SIGINT', () => resolve()))
    }

    await tgws.delete(NS, 'tgw')
    say('\nTransitGateway tgw deleted')
    await waitFor('every AWS resource we own to be deleted', async () => {
      const a = liveAws(ec2)
      return Object.values(a).every(v => v === 0) && (await tgws.get(NS, 'tgw')) === undefined ? a : undefined
    }, 60_000)
    const left = Object.entries(liveAws(ec2)).filter(([, v]) => v !== 0).map(([k, v]) => `${v} ${k}`)
    check(`transit gateway, attachments, Connect peers, routes and gsi-sg all deleted; finalizer released${left.length ? ` (left: ${left.join(', ')})` : ''}`,
      left.length === 0 && (await tgws.get(NS, 'tgw')) === undefined)
    const cn2Left = (await bgpRouters.list(CN2_NS)).items.map(r => r.metadata.name)
    check(`our BGPRouters deleted, the control node's kept (${cn2Left.join(', ')})`, JSON.stringify(cn2Left) === JSON.stringify([CONTROL_NODE.name]))
  } catch (e) {
    check(String((e as Error).message ?? e), false)
  } finally {
    // Let the controller finish (it drains its work queue on SIGTERM) before its API servers go away.
    if (!exited) {
      const done = new Promise(r => child.once('exit', r))
      child.kill('SIGTERM')
      await Promise.race([done, new Promise(r => setTimeout(r, 5000))])
      if (!exited) child.kill('SIGKILL')
    }
    await kube.stop()
    await ec2.close()
  }
  say(`\nlab ${ok ? 'passed' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  return ok ? 0 : 1
}

runCommandLine(commandLine, process.argv.slice(2), values => lab(values.keep)).then(code => {
  process.exitCode = code
}, (e: unknown) => {
  process.stderr.write(`gsi-lab: ${(e as Error).stack ?? String(e)}\n`)
  process.exitCode = 1
})
