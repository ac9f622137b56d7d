/**
 * Scenario: invalid specs. What AWS would refuse is refused by the API server (the CRD schemas, served
 * by the emulator with their CEL rules) with a 422 naming the field; what only the controller can see
 * (the GSI's ASN equal to the TGW's; a missing GSI) becomes status Ready=False with a reason and an
 * actionable message, and a Warning event, without any AWS call.
 */
import t from 'tap'
import { World, waitFor } from './harness.js'
import { apiMessage, httpCode } from '../../controller/k8s/index.js'
import { API_VERSION } from '../../controller/types.js'

t.test('invalid specs are rejected with a clear status', async t => {
  const w = await new World().start()
  t.teardown(() => w.close())
  const reject = async (what: string, spec: Record<string, unknown>, field: RegExp, kind = 'TransitGateway'): Promise<void> => {
    const api = kind === 'TransitGateway' ? w.tgws : w.gsis
    const base = kind === 'TransitGateway' ? { gatewayServiceInstance: 'gsi', transitGatewayCidrBlock: '100.64.0.0/24' } : { awsRegion: 'us-east-1', vpcID: 'vpc-0a1b2c3d4e5f60001', asn: 65010 }
    try {
      await api.create({ apiVersion: API_VERSION, kind, metadata: { name: `bad-${Math.random().toString(36).slice(2, 7)}`, namespace: w.ns }, spec: { ...base, ...spec } } as never)
      t.fail(`${what}: accepted`)
    } catch (e) {
      t.equal(httpCode(e), 422, `${what}: 422 Invalid`)
      t.match(apiMessage(e), field, `${what}: message names the field`)
    }
  }
  await reject('inside CIDR not a /29', { insideCidrBlocks: ['169.254.10.0/28'] }, /spec\.insideCidrBlocks\[0\]/)
  await reject('inside CIDR outside 169.254.0.0/16', { insideCidrBlocks: ['10.0.0.0/29'] }, /spec\.insideCidrBlocks\[0\]/)
  await reject('inside CIDR not aligned', { insideCidrBlocks: ['169.254.10.4/29'] }, /spec\.insideCidrBlocks\[0\]/)
  for (const r of ['169.254.0.0/29', '169.254.5.0/29', '169.254.169.248/29']) {
    await reject(`reserved ${r}`, { insideCidrBlocks: [r] }, /spec\.insideCidrBlocks\[0\].*reserved by AWS/)
  }
  await reject('duplicate inside CIDRs', { insideCidrBlocks: ['169.254.10.0/29', '169.254.10.0/29'] }, /spec\.insideCidrBlocks\[1\].*Duplicate/)
  await reject('more than 4 inside CIDRs', { insideCidrBlocks: ['169.254.10.0/29', '169.254.10.8/29', '169.254.10.16/29', '169.254.10.24/29', '169.254.10.32/29'] }, /spec\.insideCidrBlocks.*at most 4/)
  await reject('peer ASN equal to the TGW ASN', { peerAsn: 64512 }, /spec\.peerAsn.*must differ from amazonSideAsn/)
  await reject('peer ASN equal to an explicit TGW ASN', { peerAsn: 65000, amazonSideAsn: 65000 }, /spec\.peerAsn.*must differ/)
  await reject('Amazon-side ASN between the ranges', { amazonSideAsn: 65535 }, /spec\.amazonSideAsn.*64512-65534 or 4200000000-4294967294/)
  await reject('Amazon-side ASN below the range', { amazonSideAsn: 64000 }, /spec\.amazonSideAsn/)
  await reject('TGW CIDR block smaller than /24', { transitGatewayCidrBlock: '100.64.0.0/25' }, /spec\.transitGatewayCidrBlock/)
  await reject('missing CIDR block', { transitGatewayCidrBlock: undefined }, /spec\.transitGatewayCidrBlock: Required value/)
  await reject('bad route target', { exposed: { routeTargets: ['64512:1'] } }, /spec\.exposed\.routeTargets\[0\]/)
  await reject('more than 4 instances', { maxInstances: 5 }, /spec\.maxInstances/, 'GatewayServiceInstance')
  await reject('bad VPC id', { vpcID: 'vpc-XYZ' }, /spec\.vpcID/, 'GatewayServiceInstance')
  // A valid one passes, and an update that breaks it is refused the same way.
  const ok = await w.tgw('ok', { peerAsn: 65001, insideCidrBlocks: ['169.254.10.0/29'] })
  t.equal(ok.spec.amazonSideAsn, 64512, 'default applied')
  try {
    await w.tgws.mergePatch(w.ns, 'ok', { spec: { amazonSideAsn: 65001 } })
    t.fail('update accepted')
  } catch (e) {
    t.equal(httpCode(e), 422, 'update making peerAsn equal to amazonSideAsn refused')
  }
  await w.tgws.delete(w.ns, 'ok')

  // Cross-object problems: the controller reports them in status.
  await w.addNode(`${w.ns}-a`, '10.0.1.51')
  await w.tgw('orphan', { gatewayServiceInstance: 'missing' })
  await w.gsi('gsi', 64512)
  await w.tgw('same-asn')
  w.replica('r1').start()
  const cond = async (name: string, reason: string): Promise<{ message: string }> => waitFor(`${name} ${reason}`, async () => {
    const x = await w.get(name)
    const c = x?.status?.conditions?.find(c => c.type === 'Ready')
    return c?.status === 'False' && c.reason === reason ? c : undefined
  })
  const orphan = await cond('orphan', 'GatewayServiceInstanceNotFound')
  t.match(orphan.message, /GatewayServiceInstance "missing" not found.*create it/)
  const same = await cond('same-asn', 'InvalidSpec')
  t.match(same.message, /ASN 64512 .*equals the TGW's amazonSideAsn 64512.*Change one of them/)
  t.equal((await w.get('same-asn'))?.status?.state, 'invalid')
  t.equal(w.ec2.calls.get('CreateTransitGateway') ?? 0, 0, 'no AWS resource created for invalid specs')
  const events = await waitFor('warning events', async () => {
    const l = (await w.conn.core.listNamespacedEvent({ namespace: w.ns })).items.filter(e => e.type === 'Warning')
    return l.length >= 2 ? l : undefined
  })
  t.ok(events.some(e => e.reason === 'InvalidSpec' && e.involvedObject.name === 'same-asn'), 'InvalidSpec event')
  t.ok(events.some(e => e.reason === 'GatewayServiceInstanceNotFound'), 'GatewayServiceInstanceNotFound event')

  // Fixing the spec recovers.
  await w.gsis.mergePatch(w.ns, 'gsi', { spec: { asn: 65010 } })
  await w.readyTgw('same-asn')
  t.pass('fixed spec becomes Ready')
  for (const n of ['orphan', 'same-asn']) await w.tgws.delete(w.ns, n)
  await waitFor('deleted', async () => (await w.tgws.list(w.ns)).items.length === 0, 20_000)
  await w.nodes.delete(undefined, `${w.ns}-a`)
})
