/**
 * The netlink socket under the client and the event watcher: the native addon's NetlinkSocket
 * (native/src/netlink.c), a datagram socket whose descriptor is ours, with the options this layer
 * relies on set directly on it:
 *
 * - SO_RCVBUFFORCE (root / CAP_NET_ADMIN) so the receive buffer gets the size asked for even where
 *   net.core.rmem_max is small (the test VM); SO_RCVBUF, capped by rmem_max, otherwise.
 * - NETLINK_NO_ENOBUFS on event sockets: after a burst larger than the receive buffer the kernel
 *   drops events instead of failing the next read, and consumers resync from a dump. Without it the
 *   read reports ENOBUFS, which reaches `onError` (never a process abort).
 * - NETLINK_ADD_MEMBERSHIP for rtnetlink multicast groups (RTNLGRP_*), any group number.
 */
import { openNetlinkSocket, type NativeNetlinkSocket } from '../../native/index.js'

export const SOL_SOCKET = 1
export const SO_SNDBUF = 7
export const SO_RCVBUF = 8
export const SO_RCVBUFFORCE = 33
export const SOL_NETLINK = 270
export const NETLINK_ADD_MEMBERSHIP = 1
export const NETLINK_NO_ENOBUFS = 5

export interface NetlinkSocketOptions {
  /** Receive buffer to ask for (SO_RCVBUFFORCE, else SO_RCVBUF capped by net.core.rmem_max). */
  readonly recvBufferSize?: number
  /** SO_SNDBUF. */
  readonly sendBufferSize?: number
  /** NETLINK_NO_ENOBUFS: lose messages on overflow rather than report ENOBUFS (event sockets). */
  readonly noEnobufs?: boolean
  /** Multicast groups (RTNLGRP_*) to join. */
  readonly groups?: readonly number[]
}

export class NetlinkSocket {
  private readonly native: NativeNetlinkSocket
  private closed = false

  constructor(
    readonly protocol: number,
    options: NetlinkSocketOptions,
    onMessage: (datagram: Buffer) => void,
    onError: (err: NodeJS.ErrnoException) => void,
  ) {
    this.native = openNetlinkSocket(protocol, onMessage, onError)
    try {
      if (options.recvBufferSize !== undefined) {
        try {
          this.native.setOption(SOL_SOCKET, SO_RCVBUFFORCE, options.recvBufferSize)
        } catch {
          // Not privileged: the plain option, which the kernel caps at net.core.rmem_max.
          this.native.setOption(SOL_SOCKET, SO_RCVBUF, options.recvBufferSize)
        }
      }
      if (options.sendBufferSize !== undefined) this.native.setOption(SOL_SOCKET, SO_SNDBUF, options.sendBufferSize)
      if (options.noEnobufs) this.native.setOption(SOL_NETLINK, NETLINK_NO_ENOBUFS, 1)
      for (const g of options.groups ?? []) this.addMembership(g)
    } catch (e) {
      this.close()
      throw e
    }
  }

  /** Sends one datagram (one or more netlink messages) to the kernel; throws on failure (errno in `code`). */
  send(datagram: Uint8Array): void {
    this.native.send(datagram)
  }

  addMembership(group: number): void {
    try {
      this.native.setOption(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group)
    } catch (e) {
      throw new Error(`netlink: joining multicast group ${group}: ${(e as Error).message}`, { cause: e })
    }
  }

  /** Sets an integer socket option (e.g. a SOL_NETLINK flag); throws with the errno in `code`. */
  setOption(level: number, option: number, value: number): void {
    this.native.setOption(level, option, value)
  }

  /** The netlink port id the kernel gave this socket. */
  port(): number {
    return this.native.port()
  }

  /** Keeps the process alive while waiting for the kernel (the default once created). */
  ref(): void {
    if (!this.closed) this.native.ref()
  }

  /** Lets the process exit while this socket waits for nothing. */
  unref(): void {
    if (!this.closed) this.native.unref()
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.native.close()
  }
}
