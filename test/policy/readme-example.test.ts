/**
 * The policy example the README shows (YAML) compiles and does what the text says: TGW import keeps
 * VPC CIDRs up to /24 with local preference 200; TGW export sends only locally originated VN subnets
 * with next hop self and no communities; CN2 import takes only the exposed VN's route target; CN2
 * export adds it and the MPLSoUDP encapsulation community.
 */
import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { Family } from '../../bgp/codec/afi.js'
import { encapsulation, routeTarget } from '../../bgp/codec/ext-communities.js'
import { MaxPrefix, compilePolicy, importRouteTargets } from '../../bgp/policy/index.js'
import { ra, route } from './helpers.js'

const example = parseYaml(`
tgw:
  import:
    terms:
      - name: vpc-cidrs
        match: { prefixList: ["10.0.0.0/8 le 24", "172.16.0.0/12 le 24"] }
        set: { localPref: 200 }
        action: accept
    default: reject
  export:
    terms:
      - name: exposed-vn-subnets
        match: { prefixList: ["10.244.0.0/16 le 24"], asPath: "^$" }
        set: { nextHop: self, community: { set: [] } }
        action: accept
    default: reject
  maxPrefix: { limit: 5000, warningThresholdPercent: 80, restartTime: 60 }
controlNodes:
  import:
    routeTargetImport: ["target:64512:8000001"]
  export:
    routeTargetExport: ["target:64512:8000001"]
    terms:
      - set: { nextHop: self, extCommunity: { add: ["encap:udp"] } }
`) as Record<string, Record<string, unknown>>

t.test('README example compiles and behaves as described', async (t) => {
  const opts = { selfNextHop: { ipv4: '169.254.6.1', ipv6: 'fd00::1' }, localAs: 64512 }
  const tgwIn = compilePolicy(example.tgw?.import, 'tgw.import', opts)
  const tgwOut = compilePolicy(example.tgw?.export, 'tgw.export', opts)
  const cnIn = compilePolicy(example.controlNodes?.import, 'controlNodes.import', opts)
  const cnOut = compilePolicy(example.controlNodes?.export, 'controlNodes.export', { selfNextHop: '192.0.2.10' })
  const max = new MaxPrefix(example.tgw?.maxPrefix as { limit: number }, 'tgw.maxPrefix')
  const fromTgw = ra({ origin: 0, asPath: [{ type: 2, asns: [64513] }] }, '169.254.6.2')
  t.equal(tgwIn.apply(route('10.1.0.0/16'), fromTgw)?.attrs.localPref, 200)
  t.equal(tgwIn.apply(route('10.1.1.128/25'), fromTgw), null)
  t.equal(tgwIn.apply(route('192.168.0.0/16'), fromTgw), null)
  const local = ra({ origin: 0, asPath: [], communities: [1] }, '10.0.0.5')
  const out = tgwOut.apply(route('10.244.3.0/24'), local)
  t.equal(out?.nextHop, '169.254.6.1')
  t.equal(out?.attrs.communities, undefined)
  t.equal(tgwOut.apply(route('10.244.3.0/24'), fromTgw), null, 'not locally originated')
  t.equal(tgwOut.apply(route('10.245.0.0/24'), local), null)
  const vn = ra({ origin: 0, extCommunities: [routeTarget(64512, 8000001), encapsulation(13)] }, '10.0.1.7')
  t.equal(cnIn.apply(route('64512:1:10.244.3.4/32', Family.Ipv4Vpn), vn), vn)
  t.equal(cnIn.apply(route('64512:1:10.244.3.4/32', Family.Ipv4Vpn), ra({ origin: 0, extCommunities: [routeTarget(64512, 8000002)] })), null)
  t.same(importRouteTargets(example.controlNodes?.import), [routeTarget(64512, 8000001)])
  const vpc = cnOut.apply(route('192.0.2.10:1:10.1.0.0/16', Family.Ipv4Vpn), fromTgw)
  t.equal(vpc?.nextHop, '192.0.2.10')
  t.same(vpc?.attrs.extCommunities, [encapsulation(13), routeTarget(64512, 8000001)])
  t.equal(max.warningAt, 4000)
  t.equal(max.restartTime, 60)
})
