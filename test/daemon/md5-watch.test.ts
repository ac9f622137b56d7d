/**
 * The TCP-MD5 watch's reading of the kernel's TcpExt counters: this host's real /proc/net/netstat
 * parses; growth is told in words naming the counter and the field to check, only while a session
 * waits; the warning is logged once per episode, and its end too.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { Md5Watch, md5Diagnosis, parseMd5Counters } from '../../src/daemon/md5-watch.js'

const netstat = (failure: number, notFound: number): string =>
  `TcpExt: SyncookiesSent TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure TCPSackShifted\nTcpExt: 0 ${notFound} 0 ${failure} 7\nIpExt: InNoRoutes\nIpExt: 0\n`

t.test('parses the real file and a synthetic one', async (t) => {
  const real = parseMd5Counters(readFileSync('/proc/net/netstat', 'utf8'))
  t.ok(real !== undefined && Number.isInteger(real.failure) && Number.isInteger(real.notFound) && Number.isInteger(real.unexpected), `this kernel counts TCP-MD5 drops: ${JSON.stringify(real)}`)
  t.same(parseMd5Counters(netstat(3, 2)), { failure: 3, notFound: 2, unexpected: 0 })
  t.equal(parseMd5Counters('TcpExt: A B\nTcpExt: 1 2\n'), undefined, 'a kernel without TCP_MD5SIG: nothing')
  t.equal(md5Diagnosis({ failure: 0, notFound: 0, unexpected: 0 }, 5), undefined)
  t.match(md5Diagnosis({ failure: 4, notFound: 0, unexpected: 0 }, 5), /4 with a TCP-MD5 signature that does not verify \(TCPMD5Failure: the keys differ\).*check controlNodes\.md5/)
})

t.test('diagnoses growth while a session waits, logs once per episode', async (t) => {
  let text = netstat(10, 0)
  let waiting = ['cn2-198.18.1.1']
  const logs: [string, string][] = []
  const log = { warn: (_o: object, m: string) => { logs.push(['warn', m]) }, info: (_o: object, m: string) => { logs.push(['info', m]) } }
  const w = new Md5Watch({ waiting: () => waiting, log: log as never, read: async () => text })
  await w.check()
  t.equal(w.diagnosis('cn2-198.18.1.1'), undefined, 'a first reading is only a baseline')
  text = netstat(14, 1)
  await w.check()
  t.match(w.diagnosis('cn2-198.18.1.1'), /4 with a TCP-MD5 signature.*1 without the expected signature/)
  t.equal(w.diagnosis('cn2-198.18.9.9'), undefined, 'only for the waiting sessions')
  text = netstat(20, 1)
  await w.check()
  t.equal(logs.filter(([l]) => l === 'warn').length, 1, 'one warning for the episode')
  await w.check()
  t.equal(w.diagnosis('cn2-198.18.1.1'), undefined, 'no growth: no diagnosis')
  t.same(logs.map(([l]) => l), ['warn', 'info'], 'the end is logged')
  waiting = []
  text = netstat(30, 1)
  await w.check()
  t.equal(w.diagnosis('cn2-198.18.1.1'), undefined, 'nothing waits: nothing told')
})
