/**
 * Debian's kubectl (kubernetes-client 1.20, the real binary) against the Kubernetes API emulator on
 * 127.0.0.1, through a kubeconfig written by controller/emulator/kube/kubeconfig.ts: discovery,
 * applying deploy/crds and deploy/examples (client-side validation fetches /openapi/v2; apply is GET
 * then POST, or PATCH with a merge patch and the last-applied annotation), `get` with the CRDs'
 * printer columns (server-side Table), -o wide/json/yaml, label selectors and namespaces, `get -w`
 * seeing a status change and the deletion, `describe`, a 422 naming the field, and `delete` of an
 * object with a finalizer: kubectl waits while deletionTimestamp is set and returns once the
 * finalizer is removed.
 */
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { KubeEmulator } from '../../controller/emulator/kube/server.js'
import { debianKubectl, kubeconfigText, kubectlHint, writeKubeconfig } from '../../controller/emulator/kube/kubeconfig.js'

const ROOT = join(import.meta.dirname, '..', '..')

interface Run { code: number | null; stdout: string; stderr: string }

/** One column-aligned table of kubectl's output as rows of header -> cell (empty cells are ''). */
function parseTable(block: string): Record<string, string>[] {
  const [header, ...lines] = block.replace(/\n+$/, '').split('\n')
  const cols = [...(header ?? '').matchAll(/\S+(?: \S+)*/g)].map(m => ({ name: m[0], start: m.index }))
  return lines.map(l => Object.fromEntries(cols.map((c, i) => [c.name, l.slice(c.start, cols[i + 1]?.start).trim()])))
}

async function waitFor<T>(what: string, fn: () => T | undefined | false, ms = 20_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = fn()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(r => setTimeout(r, 50))
  }
}

t.test('kubeconfig helper', async t => {
  t.throws(() => kubeconfigText({ server: '127.0.0.1:8001' }), /kubeconfig server: "127\.0\.0\.1:8001" is not an http\(s\):\/\/host:port URL/)
  const cfg = JSON.parse(kubeconfigText({ server: 'http://127.0.0.1:8001/', namespace: 'gsi', token: 't0k' })) as { clusters: { cluster: { server: string } }[]; users: { user: { token?: string } }[]; contexts: { context: { namespace: string } }[] }
  t.equal(cfg.clusters[0]!.cluster.server, 'http://127.0.0.1:8001')
  t.equal(cfg.users[0]!.user.token, 't0k')
  t.equal(cfg.contexts[0]!.context.namespace, 'gsi')
  const dir = mkdtempSync(join(tmpdir(), 'gsi-kubeconfig-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = writeKubeconfig(join(dir, 'sub', 'kubeconfig'), { server: 'http://127.0.0.1:8001' })
  t.equal(statSync(path).mode & 0o777, 0o600, 'written for its owner only')
  t.equal(kubectlHint(path, { GSI_KUBECTL_BIN: '/opt/k/kubectl' }), `KUBECONFIG=${path} /opt/k/kubectl get transitgateways,connectedpeers`)
})

t.test('Debian kubectl against the Kubernetes API emulator', async t => {
  const bin = debianKubectl()
  if (!bin) {
    t.fail('Debian\'s kubectl (kubernetes-client) not found: run scripts/setup.sh')
    return
  }
  const dir = mkdtempSync(join(tmpdir(), 'gsi-kubectl-'))
  // No CRDs given: kubectl applies them, as on a fresh cluster.
  const emu = new KubeEmulator({ cn2: false })
  const url = await emu.start(0, '127.0.0.1')
  const kubeconfig = writeKubeconfig(join(dir, 'kubeconfig'), { server: url })
  const children = new Set<ChildProcess>()
  t.teardown(async () => {
    for (const c of children) c.kill('SIGKILL')
    await emu.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  // HOME holds kubectl's discovery cache: one per test run. No proxy may catch 127.0.0.1.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, KUBECONFIG: kubeconfig, NO_PROXY: '127.0.0.1', no_proxy: '127.0.0.1' }

  const start = (args: string[], input?: string): { child: ChildProcess; out: Run; done: Promise<Run> } => {
    const child = spawn(bin, args, { env, stdio: ['pipe', 'pipe', 'pipe'] })
    children.add(child)
    const out: Run = { code: null, stdout: '', stderr: '' }
    child.stdout!.on('data', (d: Buffer) => { out.stdout += d.toString() })
    child.stderr!.on('data', (d: Buffer) => { out.stderr += d.toString() })
    child.stdin!.end(input ?? '')
    const done = new Promise<Run>(resolve => child.on('close', code => { children.delete(child); out.code = code; resolve(out) }))
    return { child, out, done }
  }
  const kubectl = async (args: string[], input?: string, timeoutMs = 30_000): Promise<Run> => {
    const { child, done } = start(args, input)
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    const r = await done
    clearTimeout(timer)
    return r
  }
  const ok = async (args: string[], input?: string): Promise<string> => {
    const r = await kubectl(args, input)
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
    return r.stdout
  }
  const setStatus = async (plural: string, ns: string, name: string, status: Record<string, unknown>): Promise<void> => {
    const r = await fetch(`${url}/apis/gsi.gsi-router.io/v1alpha1/namespaces/${ns}/${plural}/${name}/status`, {
      method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ status }),
    })
    if (r.status !== 200) throw new Error(`status of ${plural}/${name}: ${r.status} ${await r.text()}`)
  }

  const version = await ok(['version', '--client', '--short'])
  t.match(version, /Client Version: v1\.20\./, 'Debian\'s kubectl 1.20')

  t.test('apply the CRDs, then discovery knows their resources', async t => {
    const out = await ok(['apply', '-f', join(ROOT, 'deploy', 'crds')])
    for (const crd of ['connectedpeers', 'gatewayserviceinstances', 'routes', 'transitgateways']) {
      t.match(out, `customresourcedefinition.apiextensions.k8s.io/${crd}.gsi.gsi-router.io created`)
    }
    const crds = parseTable(await ok(['get', 'customresourcedefinitions']))
    t.same(crds.map(r => r.NAME), ['connectedpeers.gsi.gsi-router.io', 'gatewayserviceinstances.gsi.gsi-router.io', 'routes.gsi.gsi-router.io', 'transitgateways.gsi.gsi-router.io'], 'kubectl get crd, in name order')
    t.match(crds[0]!['CREATED AT'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    const established = JSON.parse(await ok(['get', 'crd', 'transitgateways.gsi.gsi-router.io', '-o', 'json'])) as { status: { conditions: { type: string; status: string }[] } }
    t.ok(established.status.conditions.some(c => c.type === 'Established' && c.status === 'True'), 'CRD established')
    const resources = parseTable(await ok(['api-resources', '--api-group=gsi.gsi-router.io']))
    const tgw = resources.find(r => r.NAME === 'transitgateways')
    t.same(tgw && { short: tgw.SHORTNAMES, namespaced: tgw.NAMESPACED, kind: tgw.KIND }, { short: 'tgw', namespaced: 'true', kind: 'TransitGateway' })
    t.ok(resources.some(r => r.NAME === 'connectedpeers' && r.SHORTNAMES === 'cpeer'))
    const again = await ok(['apply', '-f', join(ROOT, 'deploy', 'crds')])
    t.equal((again.match(/ unchanged/g) ?? []).length, 4, 'a second apply changes nothing')
  })

  t.test('apply the example, get with printer columns, -o wide, json and yaml, describe', async t => {
    const out = await ok(['apply', '-f', join(ROOT, 'deploy', 'examples', 'transitgateway.yaml')])
    t.match(out, 'gatewayserviceinstance.gsi.gsi-router.io/gsi created')
    t.match(out, 'transitgateway.gsi.gsi-router.io/tgw created')
    // What the controller and a daemon would write: the TGW's status, one ConnectedPeer with its status.
    await setStatus('transitgateways', 'default', 'tgw', {
      state: 'available', transitGatewayID: 'tgw-0123456789abcdef0', connectAttachmentID: 'tgw-attach-0123456789abcdef0', activePeers: 4,
      conditions: [{ type: 'Ready', status: 'False', reason: 'PeersPending', message: 'waiting for peers', lastTransitionTime: '2026-01-01T00:00:00Z' }],
    })
    await ok(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'gsi.gsi-router.io/v1alpha1', kind: 'ConnectedPeer', metadata: { name: 'tgw-node-a', namespace: 'default' },
      spec: {
        transitGateway: 'tgw', nodeName: 'node-a', peerAddress: '10.0.1.10', transitGatewayAddress: '100.64.0.1',
        insideCidrBlocks: ['169.254.6.0/29'], localInsideAddresses: ['169.254.6.1'], bgpPeerAddresses: ['169.254.6.2', '169.254.6.3'],
        peerAsn: 65010, transitGatewayAsn: 64512, exposedRouteTargets: ['target:64512:100'], exposedCidrs: ['10.100.0.0/16'], mtu: 8476,
      },
    }))
    await setStatus('connectedpeers', 'default', 'tgw-node-a', { connectPeerID: 'tgw-connect-peer-0123456789abcdef0', state: 'available' })

    const blocks = (await ok(['get', 'transitgateways,connectedpeers'])).split(/\n\s*\n/)
    t.equal(blocks.length, 2, 'one table per resource')
    const [tgws, peers] = blocks.map(parseTable)
    t.same(Object.keys(tgws![0]!), ['NAME', 'STATE', 'TGW', 'CONNECT', 'PEERS', 'READY', 'AGE'], 'TransitGateway printer columns (Reason is priority 1)')
    const { AGE: tgwAge, ...tgwRow } = tgws![0]!
    t.same(tgwRow, { NAME: 'transitgateway.gsi.gsi-router.io/tgw', STATE: 'available', TGW: 'tgw-0123456789abcdef0', CONNECT: 'tgw-attach-0123456789abcdef0', PEERS: '4', READY: 'False' })
    t.match(tgwAge, /^\d+s$/, 'Age as kubectl prints it')
    t.same(Object.keys(peers![0]!), ['NAME', 'NODE', 'PEER', 'INSIDE', 'CONNECTPEER', 'STATE', 'AGE'], 'ConnectedPeer printer columns')
    const { AGE: _peerAge, ...peerRow } = peers![0]!
    t.same(peerRow, { NAME: 'connectedpeer.gsi.gsi-router.io/tgw-node-a', NODE: 'node-a', PEER: '10.0.1.10', INSIDE: '169.254.6.0/29', CONNECTPEER: 'tgw-connect-peer-0123456789abcdef0', STATE: 'available' })

    const wide = parseTable(await ok(['get', 'tgw', '-o', 'wide']))
    t.equal(wide[0]!.REASON, 'PeersPending', '-o wide adds the priority-1 column')
    const gsi = parseTable(await ok(['get', 'gatewayserviceinstances']))
    t.same([gsi[0]!.NAME, gsi[0]!.REGION, gsi[0]!.VPC, gsi[0]!.ASN, gsi[0]!.READY], ['gsi', 'us-east-1', 'vpc-0a1b2c3d4e5f60001', '65010', ''], 'a missing condition is an empty cell')

    const json = JSON.parse(await ok(['get', 'tgw', 'tgw', '-o', 'json'])) as { kind: string; spec: { amazonSideAsn: number }; status: { activePeers: number }; metadata: { annotations: Record<string, string> } }
    t.equal(json.kind, 'TransitGateway')
    t.equal(json.spec.amazonSideAsn, 64512)
    t.equal(json.status.activePeers, 4)
    t.ok(json.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'], 'client-side apply left its annotation')
    const yaml = parseYaml(await ok(['get', 'connectedpeers', '-o', 'yaml'])) as { kind: string; items: { spec: { nodeName: string } }[] }
    t.equal(yaml.kind, 'List')
    t.same(yaml.items.map(i => i.spec.nodeName), ['node-a'])

    const described = await ok(['describe', 'transitgateway', 'tgw'])
    t.match(described, /^Name:\s+tgw$/m)
    t.match(described, /^Namespace:\s+default$/m)
    t.match(described, /Transit Gateway Cidr Block:\s+100\.64\.0\.0\/24/)
    t.match(described, /Transit Gateway ID:\s+tgw-0123456789abcdef0/)
  })

  t.test('apply again: unchanged, then a change goes as a merge patch', async t => {
    const same = await ok(['apply', '-f', join(ROOT, 'deploy', 'examples', 'transitgateway.yaml')])
    t.match(same, 'transitgateway.gsi.gsi-router.io/tgw unchanged')
    const changed = readFileSync(join(ROOT, 'deploy', 'examples', 'transitgateway.yaml'), 'utf8').replace('amazonSideAsn: 64512', 'amazonSideAsn: 64600')
    t.not(changed, readFileSync(join(ROOT, 'deploy', 'examples', 'transitgateway.yaml'), 'utf8'))
    t.match(await ok(['apply', '-f', '-'], changed), 'transitgateway.gsi.gsi-router.io/tgw configured')
    const stored = emu.objects('gsi.gsi-router.io', 'transitgateways', 'default')[0]!
    t.equal((stored.spec as { amazonSideAsn: number }).amazonSideAsn, 64600)
    t.equal(stored.metadata.generation, 2, 'spec change bumped generation')
    t.match(JSON.parse((stored.metadata.annotations as Record<string, string>)['kubectl.kubernetes.io/last-applied-configuration']!), { spec: { amazonSideAsn: 64600 } })
    t.equal((stored.status as { activePeers: number }).activePeers, 4, 'status kept')
    // kubectl sends credentials only over TLS: over the emulator's plain HTTP it is anonymous.
    const audit = emu.audit.get('anonymous')
    t.ok(audit?.has('patch gsi.gsi-router.io/transitgateways'), 'apply sent a PATCH')
    t.ok(audit?.has('create apiextensions.k8s.io/customresourcedefinitions'), 'and created the CRDs')
  })

  t.test('client-side validation from /openapi/v2, and kubectl explain', async t => {
    const manifest = (spec: Record<string, unknown>): string => JSON.stringify({ apiVersion: 'gsi.gsi-router.io/v1alpha1', kind: 'TransitGateway', metadata: { name: 'typo' }, spec })
    const typo = await kubectl(['apply', '-f', '-'], manifest({ gatewayServiceInstance: 'gsi', transitGatewayCidrBlock: '100.64.2.0/24', amazonSideAsm: 64512 }))
    t.equal(typo.code, 1)
    t.match(typo.stderr, 'ValidationError(TransitGateway.spec): unknown field "amazonSideAsm" in io.gsi-router.gsi.v1alpha1.TransitGateway.spec')
    const missing = await kubectl(['apply', '-f', '-'], manifest({ transitGatewayCidrBlock: '100.64.2.0/24' }))
    t.match(missing.stderr, 'missing required field "gatewayServiceInstance"')
    t.equal(emu.objects('gsi.gsi-router.io', 'transitgateways', 'default').filter(o => o.metadata.name === 'typo').length, 0, 'nothing was sent')
    const explained = await ok(['explain', 'transitgateway.spec'])
    t.match(explained, /^KIND:\s+TransitGateway$/m)
    t.match(explained, /transitGatewayCidrBlock\s+<string> -required-\n\s+IPv4 \/24 or larger/)
  })

  t.test('validation errors name the field', async t => {
    const bad = await kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'gsi.gsi-router.io/v1alpha1', kind: 'ConnectedPeer', metadata: { name: 'bad' },
      spec: {
        transitGateway: 'tgw', nodeName: 'node-b', peerAddress: '10.0.1.11', transitGatewayAddress: '100.64.0.1',
        insideCidrBlocks: ['169.254.1.0/29'], localInsideAddresses: [], bgpPeerAddresses: [],
        peerAsn: 64512, transitGatewayAsn: 64512, exposedRouteTargets: [], exposedCidrs: [], mtu: 8476,
      },
    }))
    t.equal(bad.code, 1)
    t.match(bad.stderr, /The ConnectedPeer "bad" is invalid/)
    t.match(bad.stderr, /spec\.insideCidrBlocks\[0\]: .*reserved by AWS/)
    t.match(bad.stderr, /spec\.peerAsn: .*must differ from transitGatewayAsn/)
  })

  t.test('namespaces and label selectors', async t => {
    t.match(await ok(['create', 'namespace', 'team-b']), 'namespace/team-b created')
    t.same(parseTable(await ok(['get', 'namespaces'])).map(r => [r.NAME, r.STATUS]), [['default', 'Active'], ['kube-system', 'Active'], ['team-b', 'Active']])
    await ok(['-n', 'team-b', 'apply', '-f', '-'], JSON.stringify({
      apiVersion: 'gsi.gsi-router.io/v1alpha1', kind: 'TransitGateway', metadata: { name: 'tgw-b', labels: { team: 'b' } },
      spec: { gatewayServiceInstance: 'gsi', transitGatewayCidrBlock: '100.64.1.0/24' },
    }))
    const all = parseTable(await ok(['get', 'tgw', '--all-namespaces']))
    t.same(all.map(r => [r.NAMESPACE, r.NAME]), [['default', 'tgw'], ['team-b', 'tgw-b']], '-A adds NAMESPACE from the rows\' metadata')
    t.same(parseTable(await ok(['get', 'tgw'])).map(r => r.NAME), ['tgw'], 'the context\'s namespace only')
    t.same(parseTable(await ok(['get', 'tgw', '-A', '-l', 'team=b'])).map(r => r.NAME), ['tgw-b'])
    const none = await kubectl(['get', 'tgw', '-A', '-l', 'team in (c,d)'])
    t.equal(none.stdout, '')
    t.match(none.stderr, 'No resources found')
    t.same(parseTable(await ok(['get', 'tgw', '-A', '-l', '!team'])).map(r => r.NAME), ['tgw'])
    const labels = parseTable(await ok(['get', 'tgw', '-n', 'team-b', '--show-labels']))
    t.equal(labels[0]!.LABELS, 'team=b')
    t.match(await ok(['delete', 'namespace', 'team-b']), 'namespace "team-b" deleted')
    t.same(emu.objects('gsi.gsi-router.io', 'transitgateways', 'team-b'), [], 'the namespace\'s objects went with it')
  })

  t.test('kubectl wait returns when the controller reports Ready', async t => {
    const wait = start(['wait', '--for=condition=Ready', 'transitgateway/tgw', '--timeout=30s'])
    await new Promise(r => setTimeout(r, 1000))
    t.equal(wait.out.code, null, 'still waiting while Ready is False')
    await setStatus('transitgateways', 'default', 'tgw', {
      conditions: [{ type: 'Ready', status: 'True', reason: 'PeersUp', message: 'all peers up', lastTransitionTime: '2026-01-01T00:01:00Z' }],
    })
    const r = await wait.done
    t.equal(r.code, 0)
    t.match(r.stdout, 'transitgateway.gsi.gsi-router.io/tgw condition met')
  })

  t.test('watch sees a change; delete waits for the finalizer', async t => {
    const watch = start(['get', 'transitgateways', '--watch', '--output-watch-events'])
    const lines = (): Record<string, string>[] => parseTable(watch.out.stdout)
    await waitFor('the initial row of the watch', () => lines().some(r => r.EVENT === 'ADDED' && r.NAME === 'tgw'))
    t.same(Object.keys(lines()[0]!), ['EVENT', 'NAME', 'STATE', 'TGW', 'CONNECT', 'PEERS', 'READY', 'AGE'], 'the watch prints the printer columns')
    await setStatus('transitgateways', 'default', 'tgw', { state: 'deleting' })
    await waitFor('MODIFIED with the new state', () => lines().some(r => r.EVENT === 'MODIFIED' && r.STATE === 'deleting'))
    t.pass('the status change arrived on the watch')

    const strategic = await kubectl(['patch', 'transitgateway', 'tgw', '-p', '{"metadata":{"finalizers":["x/y"]}}'])
    t.equal(strategic.code, 1, 'kubectl patch\'s default (strategic merge) is refused on a custom resource')
    t.match(strategic.stderr, /UnsupportedMediaType/)
    await ok(['patch', 'transitgateway', 'tgw', '--type=merge', '-p', '{"metadata":{"finalizers":["gsi.gsi-router.io/aws-resources"]}}'])
    const del = start(['delete', 'transitgateway', 'tgw', '--timeout=60s'])
    const dying = await waitFor('deletionTimestamp', () => emu.objects('gsi.gsi-router.io', 'transitgateways', 'default').find(o => o.metadata.deletionTimestamp))
    t.same(dying.metadata.finalizers, ['gsi.gsi-router.io/aws-resources'])
    const ts = await ok(['get', 'tgw', 'tgw', '-o', 'jsonpath={.metadata.deletionTimestamp}'])
    t.match(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'kubectl sees the object being deleted')
    await new Promise(r => setTimeout(r, 1500))
    t.equal(del.out.code, null, 'kubectl delete still waiting while the finalizer is there')
    await ok(['patch', 'transitgateway', 'tgw', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]'])
    const r = await Promise.race([del.done, new Promise<undefined>(res => setTimeout(() => res(undefined), 20_000))])
    t.equal(r?.code, 0, 'kubectl delete returned once the finalizer was removed')
    t.match(r?.stdout ?? '', 'transitgateway.gsi.gsi-router.io "tgw" deleted')
    await waitFor('DELETED on the watch', () => lines().some(l => l.EVENT === 'DELETED' && l.NAME === 'tgw'))
    t.pass('the deletion arrived on the watch')
    const gone = await kubectl(['get', 'tgw', 'tgw'])
    t.equal(gone.code, 1)
    t.match(gone.stderr, /NotFound.*"tgw" not found/)
    watch.child.kill('SIGTERM')
    await watch.done
  })

  t.test('deleting a CRD removes its resource and objects', async t => {
    t.equal(emu.objects('gsi.gsi-router.io', 'connectedpeers').length, 1)
    t.match(await ok(['delete', 'crd', 'connectedpeers.gsi.gsi-router.io']), 'deleted')
    t.equal(emu.objects('gsi.gsi-router.io', 'connectedpeers').length, 0)
    const r = await kubectl(['get', 'connectedpeers'])
    t.equal(r.code, 1)
    // Through its discovery cache kubectl still knows the resource; the server no longer serves it.
    t.match(r.stderr, /NotFound.*connectedpeers.*the server could not find the requested resource|the server doesn't have a resource type "connectedpeers"/)
  })
})
