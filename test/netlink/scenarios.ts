/**
 * Netlink scenarios that run INSIDE a test's network namespace (called through NsWorker from
 * test/netlink/*.test.ts and test/kernel/netlink.test.ts). Each uses our src/netlink client against
 * the real kernel and returns plain JSON facts for the test to check; it also reads state back with
 * iproute2 (`ip -j`), an independent observer of what our messages did.
 */
import { execFileSync } from 'node:child_process'
import {
  NetlinkClient, NetlinkError, RTPROT_GSI, getMplsInput, getRpFilter, setMplsInput, setMplsPlatformLabels,
  setRpFilter, watchKernel, type NetlinkEvent, type RouteSpec,
} from '../../src/netlink/index.js'

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' })
const ipJson = (...args: string[]): unknown => JSON.parse(ip('-j', ...args) || '[]')

const errInfo = (e: unknown): { code: string; message: string; module: string | null } => {
  if (e instanceof NetlinkError) return { code: e.code, message: e.message, module: e.module ?? null }
  return { code: 'JS', message: (e as Error).message, module: null }
}

async function withClient<T>(fn: (nl: NetlinkClient) => Promise<T>): Promise<T> {
  const nl = new NetlinkClient()
  try { return await fn(nl) } finally { nl.close() }
}

/** veth pair + address + up, then the client's own view and iproute2's. */
export function links(): Promise<unknown> {
  return withClient(async nl => {
    await nl.createLink({ name: 'gv0', kind: 'veth', veth: { peer: 'gv1' }, mtu: 1400 })
    await nl.changeLink('gv0', { up: true })
    await nl.setLinkUp('gv1')
    await nl.addAddress({ dev: 'gv0', address: '10.77.0.1/24' })
    await nl.addAddress({ dev: 'gv0', address: 'fd77::1/64' })
    const ours = (await nl.listLinks()).filter(l => l.name.startsWith('gv')).map(l => ({ name: l.name, kind: l.kind, up: l.up, mtu: l.mtu }))
    const addrs = (await nl.listAddresses()).filter(a => !a.address.startsWith('fe80') && a.address !== '127.0.0.1' && a.address !== '::1')
      .map(a => `${a.address}/${a.prefixLength}`).sort()
    const byIp = (ipJson('addr', 'show', 'dev', 'gv0') as { mtu: number; flags: string[]; addr_info: { local: string; prefixlen: number }[] }[])[0]
    let dup: unknown = null
    try { await nl.createLink({ name: 'gv0', kind: 'veth', veth: { peer: 'gv9' } }) } catch (e) { dup = errInfo(e) }
    let missing: unknown = null
    try { await nl.deleteLink('nosuchlink') } catch (e) { missing = errInfo(e) }
    await nl.deleteAddress({ dev: 'gv0', address: 'fd77::1/64' })
    await nl.deleteLink('gv0')
    const after = (await nl.listLinks()).filter(l => l.name.startsWith('gv')).map(l => l.name)
    return {
      ours, addrs, dup, missing, after,
      ipView: { mtu: byIp?.mtu, up: byIp?.flags.includes('UP'), addrs: byIp?.addr_info.map(a => `${a.local}/${a.prefixlen}`).sort() },
    }
  })
}

/** Routes in a table with our protocol: plain, metric, multipath with weights, IPv6, replace, delete,
 * dump filters, and a route of another protocol that our delete must not touch. */
export function routes(): Promise<unknown> {
  return withClient(async nl => {
    ip('link', 'add', 'rv0', 'type', 'veth', 'peer', 'name', 'rv1')
    ip('link', 'set', 'rv0', 'up'); ip('link', 'set', 'rv1', 'up')
    ip('addr', 'add', '10.78.0.1/24', 'dev', 'rv0')
    ip('addr', 'add', 'fd78::1/64', 'dev', 'rv0', 'nodad')
    const T = 1234
    await nl.addRoute({ dst: '10.100.0.0/16', table: T, nexthops: [{ dev: 'rv0', gateway: '10.78.0.2' }] })
    await nl.addRoute({ dst: '10.101.0.0/16', table: T, metric: 50, metrics: { mtu: 1300 }, nexthops: [{ dev: 'rv0', gateway: '10.78.0.2' }] })
    await nl.addRoute({
      dst: '10.102.0.0/16', table: T,
      nexthops: [{ dev: 'rv0', gateway: '10.78.0.2', weight: 3 }, { dev: 'rv0', gateway: '10.78.0.3', weight: 1 }],
    })
    await nl.addRoute({ dst: 'fd99::/48', table: T, nexthops: [{ dev: 'rv0', gateway: 'fd78::2' }] })
    await nl.addRoute({ dst: '10.103.0.0/16', table: T, type: 'blackhole' })
    ip('route', 'add', '10.104.0.0/16', 'via', '10.78.0.2', 'table', String(T), 'proto', 'static')
    let dup: unknown = null
    try { await nl.addRoute({ dst: '10.100.0.0/16', table: T, nexthops: [{ dev: 'rv0', gateway: '10.78.0.2' }] }) } catch (e) { dup = errInfo(e) }
    let unreachable: unknown = null
    try { await nl.addRoute({ dst: '10.105.0.0/16', table: T, nexthops: [{ dev: 'rv0', gateway: '192.0.2.9' }] }) } catch (e) { unreachable = errInfo(e) }
    let badInput: unknown = null
    try { await nl.addRoute({ dst: '10.105.0.1/16', table: T, nexthops: [{ dev: 'rv0', gateway: '10.78.0.2' }] }) } catch (e) { badInput = errInfo(e) }
    await nl.replaceRoute({ dst: '10.100.0.0/16', table: T, nexthops: [{ dev: 'rv0', gateway: '10.78.0.9' }] })
    const dumpOurs = (await nl.dumpRoutes({ table: T, protocol: RTPROT_GSI })).map(r => ({
      dst: r.dst, metric: r.metric, type: r.type, mtu: r.metrics?.mtu ?? null,
      nh: r.nexthops.map(n => `${n.gateway ?? '-'}@${n.dev ?? '-'}x${n.weight}`),
    })).sort((a, b) => a.dst.localeCompare(b.dst))
    const dumpAll = (await nl.dumpRoutes({ table: T })).length
    const ipView = (ip('route', 'show', 'table', String(T), 'proto', String(RTPROT_GSI)) + ip('-6', 'route', 'show', 'table', String(T), 'proto', String(RTPROT_GSI)))
    // Deleting 10.104/16 with our protocol must fail (it is not ours) and leave it in place.
    let notOurs: unknown = null
    try { await nl.deleteRoute({ dst: '10.104.0.0/16', table: T }) } catch (e) { notOurs = errInfo(e) }
    const delResults = (await nl.applyRoutes([
      { op: 'delete', route: { dst: '10.100.0.0/16', table: T } },
      { op: 'delete', route: { dst: '10.199.0.0/16', table: T } },
      { op: 'delete', route: { dst: 'fd99::/48', table: T } },
    ])).map(e => (e ? errInfo(e).code : null))
    const left = ip('route', 'show', 'table', String(T)).trim().split('\n').map(l => l.split(' ')[0]).sort()
    return { dup, unreachable, badInput, dumpOurs, dumpAll, ipView, notOurs, delResults, left }
  })
}

/** A batch where some requests fail: every request gets its own outcome, the others still apply. */
export function batchOutcomes(n: number): Promise<unknown> {
  return withClient(async nl => {
    ip('link', 'add', 'bv0', 'type', 'veth', 'peer', 'name', 'bv1')
    ip('link', 'set', 'bv0', 'up')
    ip('addr', 'add', '10.79.0.1/24', 'dev', 'bv0')
    const T = 2345
    const ops: { op: 'add'; route: RouteSpec }[] = []
    for (let i = 0; i < n; i++) {
      // Every 97th route is a duplicate of the previous one (EEXIST), every 101st has a bad gateway.
      const k = i % 97 === 96 ? i - 1 : i
      const gw = i % 101 === 100 ? '192.0.2.1' : '10.79.0.2'
      ops.push({ op: 'add', route: { dst: `10.${80 + (k >> 16)}.${(k >> 8) & 255}.${k & 255}/32`, table: T, nexthops: [{ dev: 'bv0', gateway: gw }] } })
    }
    const res = await nl.applyRoutes(ops)
    const failed: Record<string, number[]> = {}
    res.forEach((e, i) => { if (e) (failed[errInfo(e).code] ??= []).push(i) })
    const installed = ip('route', 'show', 'table', String(T)).trim().split('\n').filter(Boolean).length
    const dumped = (await nl.dumpRoutes({ table: T, protocol: RTPROT_GSI })).length
    const sample = res.find(e => e instanceof NetlinkError && e.code === 'EEXIST')?.message ?? null
    return { failed, installed, dumped, sample }
  })
}

/** Events: a link going down and routes deleted by someone else are reported. */
export async function events(): Promise<unknown> {
  const seen: NetlinkEvent[] = []
  const stop = watchKernel(['link', 'ipv4-route'], ev => seen.push(ev))
  try {
    ip('link', 'add', 'ev0', 'type', 'veth', 'peer', 'name', 'ev1')
    ip('link', 'set', 'ev0', 'up')
    ip('addr', 'add', '10.81.0.1/24', 'dev', 'ev0')
    await withClient(nl => nl.addRoute({ dst: '10.82.0.0/16', table: 3456, nexthops: [{ dev: 'ev0', gateway: '10.81.0.2' }] }))
    ip('route', 'del', '10.82.0.0/16', 'table', '3456')
    ip('link', 'set', 'ev0', 'down')
    const deadline = Date.now() + 5000
    const has = (): boolean => seen.some(e => e.kind === 'route' && e.action === 'del' && e.route.dst === '10.82.0.0/16')
      && seen.some(e => e.kind === 'link' && e.link.name === 'ev0' && !e.link.up)
    while (!has() && Date.now() < deadline) await new Promise(r => setTimeout(r, 20))
    return {
      routeNew: seen.some(e => e.kind === 'route' && e.action === 'new' && e.route.dst === '10.82.0.0/16' && e.route.protocol === RTPROT_GSI),
      routeDel: seen.some(e => e.kind === 'route' && e.action === 'del' && e.route.dst === '10.82.0.0/16' && e.route.table === 3456),
      linkDown: seen.some(e => e.kind === 'link' && e.link.name === 'ev0' && !e.link.up),
    }
  } finally {
    stop()
  }
}

/** rp_filter per link through /proc/sys of this namespace. */
export async function sysctls(): Promise<unknown> {
  ip('link', 'add', 'sv0', 'type', 'veth', 'peer', 'name', 'sv1')
  await setRpFilter('sv0', 2)
  const two = await getRpFilter('sv0')
  await setRpFilter('sv0', 0)
  const zero = await getRpFilter('sv0')
  let bad: string | null = null
  try { await setRpFilter('no-such-dev', 1) } catch (e) { bad = (e as Error).message }
  return { two, zero, bad, fromProc: execFileSync('cat', ['/proc/sys/net/ipv4/conf/sv0/rp_filter'], { encoding: 'utf8' }).trim() }
}

/** What happens when this kernel lacks a module: the error names it (or the object was created). */
export function missingModules(): Promise<unknown> {
  return withClient(async nl => {
    const out: Record<string, unknown> = {}
    try { await nl.createLink({ name: 'mg0', kind: 'gre', gre: { remote: '192.0.2.1', local: '192.0.2.2' } }); out.gre = 'ok' } catch (e) { out.gre = errInfo(e) }
    try { await nl.addFou({ port: 6635, ipproto: 137 }); out.fou = 'ok' } catch (e) { out.fou = errInfo(e) }
    try { await nl.addMplsRoute({ label: 150, nexthops: [{ dev: 'lo' }] }); out.mpls = 'ok' } catch (e) { out.mpls = errInfo(e) }
    try { await nl.genlFamily('gsi_nofam', 'gsi_nomod'); out.genl = 'ok' } catch (e) { out.genl = errInfo(e) }
    return out
  })
}

/** The data-plane kinds the host kernel lacks (run in the VM): gre, ipip mplsip + fou, vrf, dummy,
 * fou listener, MPLS routes (pop into a VRF, swap), multipath IPv4 routes with per-next-hop labels. */
export function dataPlane(): Promise<unknown> {
  return withClient(async nl => {
    const r: Record<string, unknown> = {}
    await nl.createLink({ name: 'dp-dummy', kind: 'dummy', up: true, mtu: 9000 })
    await nl.addAddress({ dev: 'dp-dummy', address: '192.0.2.1/24' })
    await nl.createLink({ name: 'dp-gre', kind: 'gre', mtu: 8476, gre: { local: '192.0.2.1', remote: '198.51.100.7', ttl: 64 } })
    await nl.changeLink('dp-gre', { up: true })
    await nl.changeLink('dp-gre', { kind: 'gre', gre: { local: '192.0.2.1', remote: '198.51.100.8', ttl: 32 } })
    await nl.createLink({ name: 'dp-vrf', kind: 'vrf', vrf: { table: 4567 }, up: true })
    await nl.changeLink('dp-gre', { master: 'dp-vrf' })
    await nl.addFou({ port: 6635, ipproto: 137 })
    let fouDup: unknown = null
    try { await nl.addFou({ port: 6635, ipproto: 137 }) } catch (e) { fouDup = errInfo(e) }
    for (const [name, remote] of [['dp-t1', '192.0.2.11'], ['dp-t2', '192.0.2.12']] as const) {
      await nl.createLink({ name, kind: 'ipip', up: true, ipip: { mode: 'mplsip', local: '192.0.2.1', remote, ttl: 64, encap: { type: 'fou', sport: 0, dport: 6635 } } })
    }
    await setMplsPlatformLabels(1000)
    await setMplsInput('dp-t1', true)
    await setRpFilter('dp-t1', 0)
    const links = (await nl.listLinks()).filter(l => l.name.startsWith('dp-'))
    r.links = Object.fromEntries(links.map(l => [l.name, {
      kind: l.kind, up: l.up, mtu: l.mtu, master: l.master === undefined ? null : links.find(x => x.index === l.master)?.name ?? l.master,
      gre: l.gre ?? null, ipip: l.ipip ?? null, vrf: l.vrf ?? null,
    }]))
    r.ipLinkGre = ipJson('-d', 'link', 'show', 'dp-gre')
    r.ipLinkT1 = ipJson('-d', 'link', 'show', 'dp-t1')
    r.fouDup = fouDup
    r.fouList = ip('fou', 'show').trim()
    r.mplsInput = await getMplsInput('dp-t1')
    // Routes toward vRouters: label imposition, ECMP over two tunnels with one label each.
    await nl.addRoute({ dst: '10.244.1.0/24', table: 4567, nexthops: [{ dev: 'dp-t1', labels: [30] }] })
    await nl.addRoute({ dst: '10.244.9.0/24', table: 4567, nexthops: [{ dev: 'dp-t1', labels: [31] }, { dev: 'dp-t2', labels: [32, 33] }] })
    await nl.addRoute({ dst: '10.60.0.0/16', table: 4567, nexthops: [{ dev: 'dp-gre', onlink: true, gateway: '169.254.6.2' }] })
    r.routes = (await nl.dumpRoutes({ table: 4567, protocol: RTPROT_GSI })).map(x => ({
      dst: x.dst, nh: x.nexthops.map(n => ({ dev: n.dev, gateway: n.gateway ?? null, labels: n.labels ?? null, weight: n.weight })),
    })).sort((a, b) => a.dst.localeCompare(b.dst))
    r.ipRoutes = ip('route', 'show', 'table', '4567').trim()
    // MPLS: pop label 100 into the VRF; swap 200 -> 300 toward a neighbour over the dummy link.
    await nl.addMplsRoute({ label: 100, nexthops: [{ dev: 'dp-vrf' }] })
    await nl.addMplsRoute({ label: 200, nexthops: [{ dev: 'dp-dummy', via: '192.0.2.50', newLabels: [300] }] })
    await nl.addMplsRoute({ label: 201, nexthops: [{ dev: 'dp-dummy', via: '192.0.2.50', newLabels: [301] }, { dev: 'dp-dummy', via: '192.0.2.51', newLabels: [302] }] })
    let mplsDup: unknown = null
    try { await nl.addMplsRoute({ label: 100, nexthops: [{ dev: 'dp-vrf' }] }) } catch (e) { mplsDup = errInfo(e) }
    let mplsReserved: unknown = null
    try { await nl.addMplsRoute({ label: 3, nexthops: [{ dev: 'dp-vrf' }] }) } catch (e) { mplsReserved = errInfo(e) }
    let mplsTooBig: unknown = null
    try { await nl.addMplsRoute({ label: 5000, nexthops: [{ dev: 'dp-vrf' }] }) } catch (e) { mplsTooBig = errInfo(e) }
    r.mplsDup = mplsDup; r.mplsReserved = mplsReserved; r.mplsTooBig = mplsTooBig
    r.mplsRoutes = (await nl.dumpMplsRoutes({ protocol: RTPROT_GSI })).map(m => ({
      label: m.label, nh: m.nexthops.map(n => ({ dev: n.dev, via: n.via ?? null, newLabels: n.newLabels ?? null })),
    })).sort((a, b) => a.label - b.label)
    r.ipMpls = ip('-f', 'mpls', 'route', 'show').trim()
    await nl.replaceMplsRoute({ label: 200, nexthops: [{ dev: 'dp-dummy', via: '192.0.2.52', newLabels: [400] }] })
    await nl.deleteMplsRoute({ label: 201 })
    r.ipMplsAfter = ip('-f', 'mpls', 'route', 'show').trim()
    await nl.deleteFou({ port: 6635, ipproto: 137 })
    r.fouAfter = ip('fou', 'show').trim()
    await nl.deleteLink('dp-t2')
    r.linksAfter = (await nl.listLinks()).filter(l => l.name.startsWith('dp-')).map(l => l.name).sort()
    return r
  })
}

/** Many MPLS-encapsulated ECMP routes in one batch (needs ipip, fou, mpls_iptunnel: run in the VM). */
export function encapBatch(n: number): Promise<unknown> {
  return withClient(async nl => {
    for (const [name, remote] of [['eb-t1', '192.0.2.21'], ['eb-t2', '192.0.2.22']] as const) {
      await nl.createLink({ name, kind: 'ipip', up: true, ipip: { mode: 'mplsip', remote, encap: { type: 'fou', dport: 6635 } } })
    }
    const T = 5678
    const ops = []
    for (let i = 0; i < n; i++) {
      ops.push({ op: 'add' as const, route: { dst: `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`, table: T,
        nexthops: [{ dev: 'eb-t1', labels: [1000 + (i % 5000)] }, { dev: 'eb-t2', labels: [2000 + (i % 5000)] }] } })
    }
    const res = await nl.applyRoutes(ops)
    const dumped = await nl.dumpRoutes({ table: T, protocol: RTPROT_GSI })
    const wrong = dumped.filter(r => {
      const i = Number(r.dst.split('/')[0]?.split('.')[3]) + (Number(r.dst.split('.')[2]) << 8)
      return r.nexthops.length !== 2 || r.nexthops[0]?.labels?.[0] !== 1000 + (i % 5000) || r.nexthops[1]?.dev !== 'eb-t2'
    }).length
    const del = await nl.applyRoutes(ops.map(o => ({ op: 'delete' as const, route: { dst: o.route.dst, table: T } })))
    const left = ip('route', 'show', 'table', String(T)).trim()
    return { errors: res.filter(Boolean).length, dumped: dumped.length, wrong, delErrors: del.filter(Boolean).length, left }
  })
}
