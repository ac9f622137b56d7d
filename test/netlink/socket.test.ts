/**
 * Our netlink socket (src/netlink/socket.ts over the native addon's NetlinkSocket) against this
 * host's kernel, with messages that change nothing: NLMSG_NOOP requests with NLM_F_ACK, which the
 * kernel acknowledges one by one.
 *
 * - 2,000 acknowledged NOOPs in one datagram overflow a minimal receive buffer: without
 *   NETLINK_NO_ENOBUFS the next read reports ENOBUFS, which reaches onError (the process lives on,
 *   never an abort) and the socket keeps working; with the option set the kernel drops the overflow
 *   silently, and the socket keeps working too.
 * - Acknowledgements are addressed to the port id the socket reports; a closed socket refuses to send.
 */
import t from 'tap'
import { NetlinkSocket } from '../../src/netlink/socket.js'
import { NETLINK_ROUTE, NLMSG, NLM_F } from '../../src/netlink/constants.js'
import { readMessages } from '../../src/netlink/codec.js'

/** `count` NOOP requests with NLM_F_ACK, sequence numbers from `seq`. */
function noops(count: number, seq: number): Buffer {
  const b = Buffer.alloc(16 * count)
  for (let i = 0; i < count; i++) {
    b.writeUInt32LE(16, i * 16)
    b.writeUInt16LE(NLMSG.NOOP, i * 16 + 4)
    b.writeUInt16LE(NLM_F.REQUEST | NLM_F.ACK, i * 16 + 6)
    b.writeUInt32LE(seq + i, i * 16 + 8)
  }
  return b
}

interface Seen { acks: number[]; pids: Set<number>; errors: string[] }

function open(noEnobufs: boolean): { sock: NetlinkSocket; seen: Seen } {
  const seen: Seen = { acks: [], pids: new Set(), errors: [] }
  const sock = new NetlinkSocket(NETLINK_ROUTE, { recvBufferSize: 1, noEnobufs }, datagram => {
    for (const m of readMessages(datagram)) {
      if (m.type === NLMSG.ERROR && m.payload.readInt32LE(0) === 0) { seen.acks.push(m.seq); seen.pids.add(m.pid) }
    }
  }, err => { seen.errors.push(String(err.code)) })
  return { sock, seen }
}

/** Resolves once nothing arrived for `quietMs`. */
async function settle(seen: Seen, quietMs = 300): Promise<void> {
  let last = -1
  while (last !== seen.acks.length + seen.errors.length) {
    last = seen.acks.length + seen.errors.length
    await new Promise(r => setTimeout(r, quietMs))
  }
}

t.test('overflow without NETLINK_NO_ENOBUFS: ENOBUFS reaches onError, the socket lives on', async t => {
  const { sock, seen } = open(false)
  t.teardown(() => sock.close())
  sock.send(noops(2000, 1))
  await settle(seen)
  t.same(seen.errors, ['ENOBUFS'], 'one ENOBUFS reported, no abort')
  t.ok(seen.acks.length > 0 && seen.acks.length < 2000, `some acknowledgements were lost (${seen.acks.length} of 2000 arrived)`)
  t.same([...seen.pids], [sock.port()], 'acknowledgements addressed to our port id')
  const before = seen.acks.length
  sock.send(noops(1, 5000))
  await settle(seen)
  t.equal(seen.acks.length, before + 1, 'the next request is acknowledged')
  t.equal(seen.acks.at(-1), 5000)
})

t.test('overflow with NETLINK_NO_ENOBUFS: dropped silently, the socket works', async t => {
  const { sock, seen } = open(true)
  t.teardown(() => sock.close())
  sock.send(noops(2000, 1))
  await settle(seen)
  t.same(seen.errors, [], 'no error reported')
  t.ok(seen.acks.length > 0 && seen.acks.length < 2000, `the overflow was dropped (${seen.acks.length} of 2000 arrived)`)
  sock.send(noops(1, 7000))
  await settle(seen)
  t.equal(seen.acks.at(-1), 7000, 'the next request is acknowledged')
})

t.test('a closed socket refuses to send', async t => {
  const { sock } = open(false)
  t.ok(sock.port() > 0, 'bound to a port the kernel chose')
  sock.close()
  sock.close()
  t.throws(() => sock.send(noops(1, 1)), { code: 'ERR_SOCKET_CLOSED', message: /closed/ })
})
