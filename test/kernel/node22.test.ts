/**
 * Inside the kernel test VM (or on a host whose kernel runs the kernel suite): the same Node 22 as on
 * the host, seen over the VM's 9p root, first in PATH; the native modules load there; and our netlink
 * socket (the addon's) talks to that kernel: an acknowledged NLMSG_NOOP comes back to its port.
 */
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { release } from 'node:os'
import { nativeAvailable } from '../../native/index.js'
import { NetlinkSocket } from '../../src/netlink/socket.js'
import { NETLINK_ROUTE, NLMSG, NLM_F } from '../../src/netlink/constants.js'
import { readMessages } from '../../src/netlink/codec.js'

const require = createRequire(import.meta.url)

t.test('Node 22 in the kernel suite', async t => {
  t.comment(`kernel ${release()}, node ${process.execPath}`)
  t.match(process.version, /^v22\./, `process.version ${process.version}`)
  t.match(execFileSync('node', ['-p', 'process.version'], { encoding: 'utf8' }).trim(), /^v22\./, '`node` first in PATH')
  t.ok(nativeAvailable(), 'our addon loads')
  t.doesNotThrow(() => require('sockopt'), 'sockopt loads')
  t.doesNotThrow(() => require('raw-socket'), 'raw-socket loads')
})

t.test('our netlink socket against this kernel', async t => {
  let acked: { seq: number; pid: number } | undefined
  const sock = new NetlinkSocket(NETLINK_ROUTE, { recvBufferSize: 1 << 20 }, d => {
    for (const m of readMessages(d)) if (m.type === NLMSG.ERROR && m.payload.readInt32LE(0) === 0) acked = { seq: m.seq, pid: m.pid }
  }, err => t.fail(`unexpected socket error ${err.code}`))
  t.teardown(() => sock.close())
  const msg = Buffer.alloc(16)
  msg.writeUInt32LE(16, 0)
  msg.writeUInt16LE(NLMSG.NOOP, 4)
  msg.writeUInt16LE(NLM_F.REQUEST | NLM_F.ACK, 6)
  msg.writeUInt32LE(4242, 8)
  sock.send(msg)
  const deadline = Date.now() + 10_000
  while (acked === undefined && Date.now() < deadline) await new Promise(r => setTimeout(r, 20))
  t.same(acked, { seq: 4242, pid: sock.port() }, 'the kernel acknowledged our request, addressed to our port')
})
