/**
 * Socket options the `netlink` package does not expose, set on its socket through the `sockopt`
 * package (integer setsockopt on a file descriptor). The descriptor is found by matching the socket's
 * netlink port id in /proc/self/net/netlink to an inode, and that inode to a /proc/self/fd link.
 *
 * Why: NETLINK_NO_ENOBUFS on event sockets (the package's native code aborts the process when
 * recvmsg reports ENOBUFS after a burst of events overflowed the receive buffer; with this option
 * the kernel drops events silently instead, and consumers resync), and SO_RCVBUFFORCE so a root
 * process gets a large receive buffer even where net.core.rmem_max is small (the test VM).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { RawNetlinkSocket } from 'netlink'

const require = createRequire(import.meta.url)
const sockopt = require('sockopt') as { setsockopt(s: { _handle: { fd: number } }, level: number, opt: number, v: number): void }

export const SOL_SOCKET = 1
export const SO_RCVBUFFORCE = 33
export const SOL_NETLINK = 270
export const NETLINK_NO_ENOBUFS = 5

/** The file descriptor of a RawNetlinkSocket, or undefined if it cannot be found. */
export function netlinkFd(sock: RawNetlinkSocket): number | undefined {
  const port = sock.address().port >>> 0
  let inode: string | undefined
  for (const line of readFileSync('/proc/self/net/netlink', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f.length >= 10 && Number(f[2]) >>> 0 === port) { inode = f[9]; break }
  }
  if (inode === undefined) return undefined
  const want = `socket:[${inode}]`
  for (const fd of readdirSync('/proc/self/fd')) {
    try { if (readlinkSync(`/proc/self/fd/${fd}`) === want) return Number(fd) } catch { /* closed meanwhile */ }
  }
  return undefined
}

/** Sets an integer socket option on a RawNetlinkSocket; returns false if it could not. */
export function setNetlinkOption(sock: RawNetlinkSocket, level: number, opt: number, value: number): boolean {
  const fd = netlinkFd(sock)
  if (fd === undefined) return false
  try {
    sockopt.setsockopt({ _handle: { fd } }, level, opt, value)
    return true
  } catch {
    return false
  }
}
