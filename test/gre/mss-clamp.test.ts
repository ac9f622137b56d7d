// TCP MSS clamping with nftables, on this host's kernel: three namespaces (client, router, server);
// the router's link toward the server is named like one of our GRE links and has a small MTU. A SYN
// the client sends with MSS 1460 must reach the server clamped to that MTU minus 40, and only while our
// nft table is there.
import t from 'tap'
import { execFileSync, spawn } from 'node:child_process'
import { applyMssClamp, mssClampPackets, mssClampRuleset, removeMssClamp } from '../../gre/index.js'

const tag = `${process.pid % 100000}`
const ns = { c: `kfc${tag}`, r: `kfr${tag}`, s: `kfs${tag}` }
const sh = (cmd: string): string => execFileSync('sh', ['-c', cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
const inNs = (n: string, cmd: string): string => sh(`ip netns exec ${n} ${cmd}`)
const nft = (n: string): [string, ...string[]] => ['ip', 'netns', 'exec', n, 'nft']
const link = 'gsig7e570000'

t.teardown(() => { for (const n of Object.values(ns)) try { sh(`ip netns del ${n}`) } catch { /* already gone */ } })

t.test('ruleset text', async t => {
  const s = mssClampRuleset(['gsig*'])
  t.match(s, /^add table inet gsi_router\ndelete table inet gsi_router\n/, 'atomic replace idiom')
  t.match(s, /oifname "gsig\*" tcp flags syn \/ syn,rst counter tcp option maxseg size set rt mtu/)
  t.throws(() => mssClampRuleset(['bad"name']), /bad interface pattern/)
})

/** Sends one SYN from the client and returns the MSS the server sees. */
async function synMss(): Promise<number> {
  const dump = spawn('ip', ['netns', 'exec', ns.s, 'tcpdump', '-l', '-n', '-v', '-c', '1', '-i', 'eth0', 'tcp[tcpflags] & tcp-syn != 0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  dump.stdout.on('data', d => { out += d })
  let err = ''
  dump.stderr.on('data', d => { err += d })
  // tcpdump says "listening on" on stderr once capturing.
  for (let i = 0; i < 50 && !err.includes('listening'); i++) await new Promise(r => setTimeout(r, 100))
  try { inNs(ns.c, `timeout 3 bash -c 'exec 3<>/dev/tcp/10.77.2.2/9 || true'`) } catch { /* RST or timeout: the SYN went out */ }
  const done = new Promise<void>(r => dump.on('close', () => r()))
  const timer = setTimeout(() => dump.kill(), 5000)
  await done
  clearTimeout(timer)
  const m = /mss (\d+)/.exec(out)
  if (!m) throw new Error(`no SYN captured: ${out} ${err}`)
  return Number(m[1])
}

t.test('SYNs leaving a gsig* link are clamped to its MTU', async t => {
  for (const n of Object.values(ns)) sh(`ip netns add ${n}`)
  sh(`ip link add eth0 netns ${ns.c} type veth peer name eth1 netns ${ns.r}`)
  sh(`ip link add ${link} netns ${ns.r} type veth peer name eth0 netns ${ns.s}`)
  inNs(ns.c, 'sh -c "ip link set lo up; ip link set eth0 up; ip addr add 10.77.1.1/24 dev eth0; ip route add default via 10.77.1.2"')
  inNs(ns.r, `sh -c "ip link set lo up; ip link set eth1 up; ip link set ${link} up mtu 1400; ip addr add 10.77.1.2/24 dev eth1; ip addr add 10.77.2.1/24 dev ${link}; sysctl -qw net.ipv4.ip_forward=1"`)
  inNs(ns.s, 'sh -c "ip link set lo up; ip link set eth0 up mtu 1400; ip addr add 10.77.2.2/24 dev eth0; ip route add default via 10.77.2.1"')

  t.equal(await synMss(), 1460, 'without the clamp the client offers 1460')
  const st = await applyMssClamp(['gsig*', 'gsim*'], nft(ns.r))
  t.same(st, { state: 'active', method: 'nftables', interfaces: ['gsig*', 'gsim*'] })
  t.same(await applyMssClamp(['gsig*', 'gsim*'], nft(ns.r)), st, 'applying twice converges')
  t.equal(await synMss(), 1360, 'clamped to 1400 - 40')
  t.ok(((await mssClampPackets(nft(ns.r))) ?? 0) >= 1, 'rule counter counted it')
  t.equal(await removeMssClamp(nft(ns.r)), true)
  t.equal(await mssClampPackets(nft(ns.r)), undefined, 'table gone')
  t.equal(await synMss(), 1460, 'removing the table stops clamping')
})

t.test('a missing nft is reported, not thrown', async t => {
  const st = await applyMssClamp(['gsig*'], ['/nonexistent/nft'])
  t.equal(st.state, 'unavailable')
  t.match(st, { reason: /\/nonexistent\/nft not found: install nftables/ })
})
