/**
 * Live interop, run INSIDE a network namespace made by test/interop/live-gobgp.test.ts: starts
 * gobgpd, opens a real BGP session to it whose every byte we send is built by our codec (OPEN,
 * KEEPALIVE, UPDATE, NOTIFICATION) and whose every byte we receive goes through our Framer and
 * decoder, sends the VPNv4 and IPv4 routes of LIVE_ROUTES, then asks gobgp what it learned
 * (`gobgp global rib -a vpnv4 -j`, `-a ipv4 -j`) and prints one JSON line with the answers.
 * Bounded: gives up after 15 s.
 *
 * Usage: node --import tsx test/interop/live-gobgp-run.ts <workDir>
 */
import net from 'node:net'
import {
  Framer,
  decodeFramed,
  encodeMessage,
  makeOpen,
  shutdownNotification,
  defaultContext,
  routeTarget,
  encapsulation,
  labelEntry,
  Family,
  bgpIdToString,
  openPeerAs,
  type BgpMessage,
  type UpdateMessage,
} from '../../bgp/codec/index.js'
import { runGobgpd, gobgpCli, sleep } from './daemons.js'
import { ipv4Bytes, ipv4Number } from './ip-text.js'
import { LIVE } from './live-gobgp-routes.js'

const workDir = process.argv[2]
if (!workDir) {
  console.error('usage: live-gobgp-run.ts <workDir>')
  process.exit(2)
}

const toml = `[global.config]
  as = ${LIVE.gobgpAsn}
  router-id = "${LIVE.gobgpRouterId}"
  port = 179
  local-address-list = ["${LIVE.gobgpAddress}"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${LIVE.ourAddress}"
    peer-as = ${LIVE.ourAsn}
  [neighbors.transport.config]
    passive-mode = true
    local-address = "${LIVE.gobgpAddress}"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "l3vpn-ipv4-unicast"
`

const ctx = defaultContext({ as4: true, families: new Set([Family.Ipv4Unicast, Family.Ipv4Vpn]), ebgp: true })
const v = LIVE.vpn
const vpnUpdate: UpdateMessage = {
  type: 'update',
  withdrawn: [],
  attributes: {
    origin: 0,
    asPath: [{ type: 2, asns: [LIVE.ourAsn] }],
    med: v.med,
    communities: [(LIVE.ourAsn << 16) + v.communityLow],
    extCommunities: [
      routeTarget(v.routeTargets.as2.admin, v.routeTargets.as2.assigned),
      routeTarget(v.routeTargets.ipv4.admin, v.routeTargets.ipv4.assigned),
      routeTarget(v.routeTargets.as4.admin, v.routeTargets.as4.assigned),
      encapsulation(v.tunnelType),
    ],
  },
  mpReach: {
    family: Family.Ipv4Vpn,
    nextHop: [ipv4Bytes(v.nextHop)],
    nlri: [{ family: Family.Ipv4Vpn, prefix: ipv4Bytes(v.prefix.split('/')[0]!), length: Number(v.prefix.split('/')[1]), labels: [labelEntry(v.label)], rd: { type: 0, admin: v.rd.admin, assigned: v.rd.assigned } }],
  },
  nlri: [],
}
const u = LIVE.unicast
const unicastUpdate: UpdateMessage = {
  type: 'update',
  withdrawn: [],
  attributes: { origin: 2, asPath: [{ type: 2, asns: [LIVE.ourAsn] }], nextHop: ipv4Number(u.nextHop), largeCommunities: [u.large] },
  nlri: [{ family: Family.Ipv4Unicast, prefix: ipv4Bytes(u.prefix.split('/')[0]!), length: Number(u.prefix.split('/')[1]) }],
}

async function connect(): Promise<net.Socket> {
  const deadline = Date.now() + 5000
  for (;;) {
    try {
      return await new Promise<net.Socket>((res, rej) => {
        const s = net.connect({ host: LIVE.gobgpAddress, port: 179, localAddress: LIVE.ourAddress })
        s.once('connect', () => res(s))
        s.once('error', rej)
      })
    } catch (err) {
      if (Date.now() > deadline) throw err
      await sleep(200)
    }
  }
}

const result: Record<string, unknown> = {}
const daemon = await runGobgpd(toml, workDir)
const hardStop = setTimeout(() => {
  console.error('live-gobgp-run: timed out')
  void daemon.stop().then(() => process.exit(3))
}, 15_000)
try {
  result.version = daemon.version
  const sock = await connect()
  const framer = new Framer(4096)
  const received: BgpMessage[] = []
  let established!: () => void
  const up = new Promise<void>(r => (established = r))
  sock.on('data', (chunk: Buffer) => {
    framer.push(chunk)
    while (framer.next()) {
      const m = decodeFramed(framer.type, framer.buf, framer.offset, framer.length, ctx)
      received.push(m)
      if (m.type === 'open') sock.write(encodeMessage({ type: 'keepalive' }))
      if (m.type === 'keepalive') established()
    }
  })
  sock.write(encodeMessage(makeOpen({ asn: LIVE.ourAsn, holdTime: 30, bgpId: ipv4Number(LIVE.ourAddress), capabilities: [
    { type: 'multiprotocol', afi: 1, safi: 1 },
    { type: 'multiprotocol', afi: 1, safi: 128 },
    { type: 'route-refresh', code: 2 },
  ] })))
  await up
  sock.write(Buffer.concat([encodeMessage(vpnUpdate, ctx), encodeMessage(unicastUpdate, ctx)]))
  // Poll gently (GoBGP's queries take its server lock) until both routes are in its RIB
  let vpn: unknown = {}
  let ipv4: unknown = {}
  for (let i = 0; i < 25; i++) {
    await sleep(200)
    vpn = JSON.parse(gobgpCli(['global', 'rib', '-a', 'vpnv4', '-j']) || '{}')
    ipv4 = JSON.parse(gobgpCli(['global', 'rib', '-a', 'ipv4', '-j']) || '{}')
    if (Object.keys(vpn as object).length > 0 && Object.keys(ipv4 as object).length > 0) break
  }
  result.vpnv4Rib = vpn
  result.ipv4Rib = ipv4
  const open = received.find(m => m.type === 'open')
  result.gobgpOpen = open?.type === 'open' ? { asn: openPeerAs(open), bgpId: bgpIdToString(open.bgpId) } : null
  result.notificationsFromGobgp = received.filter(m => m.type === 'notification')
  sock.write(encodeMessage(shutdownNotification(2, 'gsi-router live test done')))
  await sleep(100)
  sock.destroy()
} finally {
  clearTimeout(hardStop)
  await daemon.stop()
}
process.stdout.write(JSON.stringify(result) + '\n')
