/**
 * The BGP listening socket shared by all peers (TCP port 179 by default, RFC 4271 8): accepts
 * incoming connections and hands each to the session configured for its source address. A
 * connection from an address no session claims is closed at once (RFC 4271 8: connections from
 * unconfigured peers are refused).
 *
 * TCP-MD5 (RFC 2385): keys are set per peer address on the listening socket (TCP_MD5SIG through
 * the native addon), so the kernel checks the SYN and every later segment; accepted connections
 * inherit the key. A segment without the right signature never reaches us.
 *
 * The listening socket sends with TTL 255: the SYN-ACK leaves before any session can set its own
 * TTL on the accepted socket, and a GTSM peer (RFC 5082) drops a SYN-ACK below 255. A high TTL
 * costs non-GTSM peers nothing; each session then sets its own TTL on its accepted socket.
 *
 * `bindDevice` (SO_BINDTODEVICE, through the native addon): the listener accepts only connections
 * that arrive through that device, e.g. the gateway VRF for the TGW sessions. The native addon makes
 * the socket and binds the device before bind(), so listeners on the same port in different VRFs
 * coexist; Node then serves the descriptor. Accepted sockets inherit the device.
 */
import net from 'node:net'
import { nativeListen, setMd5Key, socketFd } from '../../native/index.js'
import { deviceNameProblem, setListenerTtl } from './socket-options.js'

/** What a session offers the listener. */
export interface IncomingHandler {
  /** The peer address this session accepts connections from (normalised, see normalizeAddress). */
  readonly peerAddress: string
  acceptIncoming(socket: net.Socket): void
}

/** IPv4-mapped IPv6 (::ffff:a.b.c.d) as plain IPv4; IPv6 in lower case. */
export function normalizeAddress(a: string): string {
  const lower = a.toLowerCase()
  return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice(7) : lower
}

export interface ListenerOptions {
  /** Address to bind; default all (`::` with IPv4 mapped). */
  readonly host?: string
  /** Default 179. Tests use high ports. */
  readonly port?: number
  /** Accept only connections arriving through this device (SO_BINDTODEVICE; a VRF). */
  readonly bindDevice?: string
}

export class BgpListener {
  private readonly server: net.Server
  private readonly peers = new Map<string, IncomingHandler>()
  /** Connections refused because no session claims their source. */
  refused = 0
  private readonly md5Keys = new Map<string, string>()

  constructor(readonly options: ListenerOptions = {}) {
    if (options.bindDevice !== undefined) {
      const problem = deviceNameProblem(options.bindDevice)
      if (problem !== undefined) throw new RangeError(`listener bindDevice: ${problem}`)
    }
    this.server = net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) => this.onConnection(socket))
  }

  /** Starts listening; resolves with the bound port (useful with port 0). */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err)
      this.server.once('error', onError)
      const port = this.options.port ?? 179
      let target: net.ListenOptions | { fd: number }
      if (this.options.bindDevice !== undefined) {
        try {
          target = {
            fd: nativeListen({ port, bindDevice: this.options.bindDevice, ...(this.options.host !== undefined ? { address: this.options.host } : {}) }),
          }
        } catch (e) {
          const err = e as NodeJS.ErrnoException
          reject(Object.assign(new Error(`listener on device ${this.options.bindDevice} port ${port}: ${err.message}`, { cause: e }), { code: err.code }))
          return
        }
      } else {
        target = { port }
        if (this.options.host !== undefined) target.host = this.options.host
      }
      this.server.listen(target, () => {
        this.server.off('error', onError)
        try {
          setListenerTtl(this.server, 255)
          for (const [address, key] of this.md5Keys) setMd5Key(socketFd(this.server), address, key)
        } catch (e) {
          this.server.close()
          reject(e as Error)
          return
        }
        resolve((this.server.address() as net.AddressInfo).port)
      })
    })
  }

  get port(): number {
    const a = this.server.address()
    return a !== null && typeof a === 'object' ? a.port : 0
  }

  /** The listening net.Server (e.g. to reach its descriptor for socket options). */
  get netServer(): net.Server {
    return this.server
  }

  /** Sets (or with '' removes) the TCP-MD5 key for a peer; applied now or when listening starts. */
  setMd5(address: string, key: string): void {
    const a = normalizeAddress(address)
    if (key === '') this.md5Keys.delete(a)
    else this.md5Keys.set(a, key)
    if (this.server.listening) setMd5Key(socketFd(this.server), a, key)
  }

  register(handler: IncomingHandler): void {
    const key = normalizeAddress(handler.peerAddress)
    const existing = this.peers.get(key)
    if (existing !== undefined && existing !== handler) throw new Error(`listener: peer ${key} is already registered by another session`)
    this.peers.set(key, handler)
  }

  unregister(handler: IncomingHandler): void {
    const key = normalizeAddress(handler.peerAddress)
    if (this.peers.get(key) === handler) this.peers.delete(key)
  }

  private onConnection(socket: net.Socket): void {
    const from = normalizeAddress(socket.remoteAddress ?? '')
    const handler = this.peers.get(from)
    if (handler === undefined) {
      this.refused++
      socket.on('error', () => {})
      socket.destroy()
      return
    }
    handler.acceptIncoming(socket)
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}
