/**
 * Live interop with gobgpd 3.10: our encoder's VPNv4 UPDATE (RD, label, route targets of the three
 * forms, MPLSoUDP encapsulation) and an IPv4 UPDATE, sent over a real BGP session inside a network
 * namespace of this test's own, must show up in `gobgp global rib -j` with exactly those attributes.
 * The session itself (OPEN, KEEPALIVE, NOTIFICATION on our side, framing and decoding of gobgpd's
 * side) runs on our codec too. Bounded to about 20 s; the namespace and everything in it are removed
 * whatever happens.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createNetns, destroyNetns } from './netns.js'
import { LIVE } from './live-gobgp-routes.js'

const ROOT = resolve(import.meta.dirname, '..', '..')

interface GobgpAttr {
  type: number
  value?: unknown
  metric?: number
  communities?: number[]
  nexthop?: string
  as_paths?: { segment_type: number; asns: number[] }[]
}
interface GobgpPath {
  nlri: { prefix: string; labels?: number[]; rd?: { type: number; admin: number | string; assigned: number } }
  attrs: GobgpAttr[]
  'neighbor-ip'?: string
}

function run(ns: string, work: string): Promise<Record<string, unknown>> {
  return new Promise((res, rej) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', 'test/interop/live-gobgp-run.ts', work], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', d => (out += d))
    child.stderr.on('data', d => (err += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000)
    child.on('close', code => {
      clearTimeout(timer)
      if (code !== 0) return rej(new Error(`live-gobgp-run exited ${code}: ${err}`))
      try {
        res(JSON.parse(out.trim().split('\n').pop() as string) as Record<string, unknown>)
      } catch (e) {
        rej(new Error(`bad output: ${out} ${err} ${(e as Error).message}`))
      }
    })
  })
}

t.test('gobgpd learns what our codec encodes', async t => {
  const ns = createNetns('gsilive')
  const work = mkdtempSync(join(tmpdir(), 'gsi-live-gobgp-'))
  t.teardown(() => {
    destroyNetns(ns)
    rmSync(work, { recursive: true, force: true })
  })
  const r = await run(ns, work)
  t.same(r.gobgpOpen, { asn: LIVE.gobgpAsn, bgpId: LIVE.gobgpRouterId }, 'gobgpd OPEN decoded by our codec')
  t.same(r.notificationsFromGobgp, [], 'gobgpd sent no NOTIFICATION (it accepted every message)')

  const v = LIVE.vpn
  const vpnRib = r.vpnv4Rib as Record<string, GobgpPath[]>
  const vpnPaths = Object.values(vpnRib).flat()
  t.equal(vpnPaths.length, 1, 'one VPNv4 path in gobgp RIB')
  const p = vpnPaths[0]
  if (p) {
    t.equal(p.nlri.prefix, v.prefix, 'VPNv4 prefix')
    t.same(p.nlri.labels, [v.label], 'label')
    t.same(p.nlri.rd, { type: 0, admin: v.rd.admin, assigned: v.rd.assigned }, 'route distinguisher')
    t.equal(p['neighbor-ip'], LIVE.ourAddress, 'learned from our session')
    const a = (type: number): GobgpAttr | undefined => p.attrs.find(x => x.type === type)
    t.equal(a(1)?.value, 0, 'ORIGIN IGP')
    t.same(a(2)?.as_paths, [{ segment_type: 2, num: 1, asns: [LIVE.ourAsn] }], 'AS_PATH')
    t.equal(a(4)?.metric, v.med, 'MED')
    t.same(a(8)?.communities, [LIVE.ourAsn * 65536 + v.communityLow], 'COMMUNITIES')
    t.equal(a(14)?.nexthop, v.nextHop, 'MP_REACH next hop')
    const asdot = `${Math.floor(v.routeTargets.as4.admin / 65536)}.${v.routeTargets.as4.admin % 65536}`
    t.same(
      a(16)?.value,
      [
        { type: 0, subtype: 2, value: `${v.routeTargets.as2.admin}:${v.routeTargets.as2.assigned}` },
        { type: 1, subtype: 2, value: `${v.routeTargets.ipv4.admin}:${v.routeTargets.ipv4.assigned}` },
        { type: 2, subtype: 2, value: `${asdot}:${v.routeTargets.as4.assigned}` },
        { type: 3, subtype: 12, tunnel_type: v.tunnelType },
      ],
      'route targets (2-octet AS, IPv4, 4-octet AS) and MPLSoUDP encapsulation',
    )
  }

  const u = LIVE.unicast
  const v4Paths = Object.values(r.ipv4Rib as Record<string, GobgpPath[]>).flat()
  t.equal(v4Paths.length, 1, 'one IPv4 path in gobgp RIB')
  const q = v4Paths[0]
  if (q) {
    t.equal(q.nlri.prefix, u.prefix, 'IPv4 prefix')
    t.equal(q.attrs.find(x => x.type === 3)?.nexthop, u.nextHop, 'NEXT_HOP')
    t.equal(q.attrs.find(x => x.type === 1)?.value, 2, 'ORIGIN INCOMPLETE')
    t.same(q.attrs.find(x => x.type === 32)?.value, [{ ASN: u.large.global, LocalData1: u.large.local1, LocalData2: u.large.local2 }], 'LARGE_COMMUNITY')
  }
})
