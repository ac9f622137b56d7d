/**
 * src/netlink on a kernel with the data-plane modules (the project's VM, or a host that has them):
 * gre, ipip in mplsip mode with fou encapsulation, vrf, dummy, the fou listener over generic netlink,
 * AF_MPLS routes (pop into a VRF, swap, multipath swap), routes with per-next-hop MPLS labels over
 * ECMP, MPLS sysctls, batches of encapsulated routes, and errors from real kernel refusals.
 */
import t from 'tap'
import { createNetns, NsWorker } from './lib/index.js'

t.setTimeout(600_000) // qemu TCG on a shared machine: Node starts take seconds
const scenarios = new URL('../netlink/scenarios.ts', import.meta.url)

type Nh = { dev: string; gateway: string | null; labels: number[] | null; weight: number }
type Mnh = { dev: string; via: string | null; newLabels: number[] | null }
type Err = { code: string; message: string; module: string | null }

t.test('data-plane kernel', async t => {
  const ns = await createNetns(t, 'nlk')
  const w = await NsWorker.start(ns, t)

  t.test('links, fou, MPLS routes, encapsulated ECMP routes', async t => {
    const r = await w.call<{
      links: Record<string, { kind: string; up: boolean; mtu: number; master: string | null; gre: unknown; ipip: unknown; vrf: unknown }>
      ipLinkGre: { mtu: number; master?: string; linkinfo: { info_kind: string; info_data: { remote: string; local: string; ttl: number } } }[]
      ipLinkT1: { linkinfo: { info_kind: string; info_data: Record<string, unknown> } }[]
      fouDup: Err; fouList: string; mplsInput: boolean
      routes: { dst: string; nh: Nh[] }[]; ipRoutes: string
      mplsDup: Err; mplsReserved: Err; mplsTooBig: Err
      mplsRoutes: { label: number; nh: Mnh[] }[]; ipMpls: string; ipMplsAfter: string; fouAfter: string; linksAfter: string[]
    }>(scenarios, 'dataPlane')
    t.same(r.links['dp-gre'], {
      kind: 'gre', up: true, mtu: 8476, master: 'dp-vrf', ipip: null, vrf: null,
      gre: { ttl: 32, local: '192.0.2.1', remote: '198.51.100.8' },
    }, 'gre link created, changed (remote, ttl), enslaved to the VRF')
    const g = r.ipLinkGre[0]
    t.equal(g?.linkinfo.info_kind, 'gre')
    t.equal(g?.linkinfo.info_data.remote, '198.51.100.8', 'iproute2 sees the new remote')
    t.equal(g?.master, 'dp-vrf')
    t.same(r.links['dp-t1']?.ipip, { ttl: 64, proto: 137, mode: 'mplsip', local: '192.0.2.1', remote: '192.0.2.11', encap: { type: 'fou', sport: 0, dport: 6635 } })
    const d = r.ipLinkT1[0]?.linkinfo.info_data ?? {}
    t.equal(d.proto, 'mplsip', 'iproute2 sees mode mplsip')
    const encap = d.encap as { type?: string; dport?: number } | undefined
    t.equal(encap?.type, 'fou', 'iproute2 sees fou encapsulation')
    t.equal(encap?.dport, 6635)
    t.same(r.links['dp-vrf']?.vrf, { table: 4567 })
    t.equal(r.links['dp-dummy']?.mtu, 9000)
    t.equal(r.fouDup.code, 'EADDRINUSE', 'second fou add on the same port: EADDRINUSE')
    t.match(r.fouDup.message, /already in use/)
    t.match(r.fouDup.message, /fou listener on UDP port 6635/)
    t.match(r.fouList, /port 6635 ipproto 137/)
    t.equal(r.mplsInput, true)
    t.same(r.routes, [
      { dst: '10.244.1.0/24', nh: [{ dev: 'dp-t1', gateway: null, labels: [30], weight: 1 }] },
      { dst: '10.244.9.0/24', nh: [{ dev: 'dp-t1', gateway: null, labels: [31], weight: 1 }, { dev: 'dp-t2', gateway: null, labels: [32, 33], weight: 1 }] },
      { dst: '10.60.0.0/16', nh: [{ dev: 'dp-gre', gateway: '169.254.6.2', labels: null, weight: 1 }] },
    ], 'routes read back: MPLS encap per next hop over ECMP, onlink gateway on the GRE link')
    t.match(r.ipRoutes, /10\.244\.9\.0\/24[\s\S]*nexthop\s+encap mpls\s+31 dev dp-t1[\s\S]*nexthop\s+encap mpls\s+32\/33 dev dp-t2/, 'iproute2 sees labels per next hop')
    t.same(r.mplsRoutes, [
      { label: 100, nh: [{ dev: 'dp-vrf', via: null, newLabels: null }] },
      { label: 200, nh: [{ dev: 'dp-dummy', via: '192.0.2.50', newLabels: [300] }] },
      { label: 201, nh: [{ dev: 'dp-dummy', via: '192.0.2.50', newLabels: [301] }, { dev: 'dp-dummy', via: '192.0.2.51', newLabels: [302] }] },
    ], 'MPLS routes: pop into the VRF, swap, multipath swap')
    t.match(r.ipMpls, /^100 dev dp-vrf/m, 'iproute2: pop into the VRF')
    t.match(r.ipMplsAfter, /^200 as to 400 via inet 192\.0\.2\.52 dev dp-dummy/m, 'replace took effect')
    t.notMatch(r.ipMplsAfter, /^201/m, 'delete took effect')
    t.equal(r.mplsDup.code, 'EEXIST')
    t.match(r.mplsDup.message, /MPLS route for label 100/)
    t.match(r.mplsReserved.message, /label: 3 is not in 16-1048575/, 'reserved labels refused before the kernel')
    t.not(r.mplsTooBig.code, 'JS', 'a label beyond platform_labels is refused by the kernel')
    t.match(r.mplsTooBig.message, /cannot add MPLS route for label 5000: /)
    t.equal(r.fouAfter, '', 'fou listener deleted')
    t.same(r.linksAfter, ['dp-dummy', 'dp-gre', 'dp-t1', 'dp-vrf'], 'tunnel deleted')
  })

  t.test('a batch of MPLS-encapsulated ECMP routes', async t => {
    const n = 5000
    const r = await w.call<{ errors: number; dumped: number; wrong: number; delErrors: number; left: string }>(scenarios, 'encapBatch', n)
    t.same(r, { errors: 0, dumped: n, wrong: 0, delErrors: 0, left: '' }, `${n} routes added, read back with their labels, deleted`)
  })

  t.test('errors name the module or the object', async t => {
    const r = await w.call<Record<string, 'ok' | Err>>(scenarios, 'missingModules')
    t.equal(r.gre, 'ok', 'ip_gre is loaded here')
    t.equal(r.fou, 'ok', 'fou is loaded here')
    const mpls = r.mpls
    // platform_labels is 1000 in this namespace after dataPlane, so label 150 to lo is accepted.
    t.equal(mpls, 'ok', 'mpls_router is loaded here')
    const g = r.genl
    t.not(g, 'ok')
    if (g && g !== 'ok') t.match(g.message, /generic netlink family "gsi_nofam".*modprobe gsi_nomod/, 'the kernel\'s ENOENT for a genl family becomes "load module"')
  })
})
