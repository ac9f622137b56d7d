/**
 * The project's N-API addon (native/src, built into native/build/Release/gsi_native.node), with typed
 * wrappers: the one place that loads it. A leaf module (it imports only node:), so bgp/ and src/ may
 * both use it.
 *
 * - BGP sockets: RFC 2385 TCP-MD5 and the TTL (RFC 5082 GTSM) set before connect(), SO_BINDTODEVICE
 *   before connect() or bind() (sessions and listeners inside a VRF), listening sockets made here.
 * - The RIB: huge-page buffers for its large tables.
 * - Netlink: a datagram socket of our own (NetlinkSocket), so options such as NETLINK_NO_ENOBUFS are
 *   set on a descriptor we own, and a receive-buffer overflow is an error event, never an abort.
 *
 * The addon is optional at run time for BGP: sessions that use neither a TCP-MD5 password, GTSM nor a
 * bound device never load it, and those that do fail with a clear error when it was not built (`npm
 * run build:native`). The netlink layer always needs it.
 */
import { createRequire } from 'node:module'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export interface NativeConnectOptions {
  readonly remoteAddress: string
  readonly remotePort: number
  readonly localAddress?: string
  readonly localPort?: number
  /** RFC 2385 key, at most 80 bytes. */
  readonly md5Key?: string
  /** IP_TTL / IPV6_UNICAST_HOPS before the SYN. */
  readonly ttl?: number
  /** IP_MINTTL / IPV6_MINHOPCOUNT. */
  readonly minTtl?: number
  /** Bound on the blocking connect() in the worker thread; default 30 s. */
  readonly timeoutMs?: number
  /** SO_BINDTODEVICE before bind()/connect(): the socket routes only through this device (a VRF). */
  readonly bindDevice?: string
}

export interface NativeListenOptions {
  /** Address to bind; '::' (dual stack) when absent. */
  readonly address?: string
  readonly port: number
  /** SO_BINDTODEVICE before bind(): accept only connections arriving through this device (a VRF). */
  readonly bindDevice?: string
  readonly backlog?: number
}

/** The addon's netlink datagram socket (native/src/netlink.c). */
export interface NativeNetlinkSocket {
  /** sendto() the kernel; synchronous (the kernel processes netlink requests in the sender's context). */
  send(message: Uint8Array): void
  /** Integer setsockopt (SOL_SOCKET, SOL_NETLINK options, NETLINK_ADD_MEMBERSHIP). */
  setOption(level: number, option: number, value: number): void
  /** The port id the kernel bound the socket to. */
  port(): number
  ref(): void
  unref(): void
  close(): void
}

interface NativeModule {
  connect(opts: NativeConnectOptions): Promise<number>
  listen(opts: NativeListenOptions): number
  boundDevice(fd: number): string
  setMd5(fd: number, address: string, key: string): void
  NetlinkSocket: new (protocol: number, onMessage: (datagram: Buffer) => void, onError: (err: NodeJS.ErrnoException) => void) => NativeNetlinkSocket
  hugeBuffer?(bytes: number, huge?: boolean): ArrayBuffer
  reserveBuffer?(bytes: number, reserve: number, hugeFrom: number): ArrayBuffer | undefined
  discardBuffer?(buffer: ArrayBuffer, offset?: number, length?: number): void
  adviseHuge?(buffer: ArrayBuffer, offset: number, length: number): void
}

const require = createRequire(import.meta.url)
let cached: NativeModule | null | undefined

/** Where the built addon may be: beside this file (native/, sources) or from dist/native (compiled). */
function candidates(): string[] {
  const here = fileURLToPath(new URL('.', import.meta.url))
  return [`${here}build/Release/gsi_native.node`, `${here}../../native/build/Release/gsi_native.node`]
}

function load(): NativeModule | null {
  if (cached !== undefined) return cached
  cached = null
  for (const p of candidates()) {
    if (existsSync(p)) {
      cached = require(p) as NativeModule
      break
    }
  }
  return cached
}

export function nativeAvailable(): boolean {
  return load() !== null
}

function native(feature: string): NativeModule {
  const m = load()
  if (m === null) throw new Error(`${feature} needs the native addon native/build/Release/gsi_native.node: run \`npm run build:native\``)
  return m
}

/** Creates, configures and connects a TCP socket; resolves with its descriptor for net.Socket({ fd }). */
export function nativeConnect(opts: NativeConnectOptions): Promise<number> {
  return native('TCP-MD5/GTSM/bound-device connect').connect(opts)
}

/**
 * A bound, listening, non-blocking TCP socket made with its options set before bind(), for
 * `net.Server.listen({ fd })`. Binding to a device must precede bind(): two listeners on one port in
 * different VRFs only coexist when each was bound to its device first.
 */
export function nativeListen(opts: NativeListenOptions): number {
  return native('bound-device listener').listen(opts)
}

/** The device a socket is bound to (SO_BINDTODEVICE), '' when none. */
export function boundDevice(fd: number): string {
  return native('SO_BINDTODEVICE').boundDevice(fd)
}

/**
 * Opens a netlink socket of `protocol` (bound to a port the kernel picks, polled by libuv). Datagrams
 * go to `onMessage`; receive errors (ENOBUFS: the kernel dropped messages) to `onError`.
 */
export function openNetlinkSocket(
  protocol: number, onMessage: (datagram: Buffer) => void, onError: (err: NodeJS.ErrnoException) => void,
): NativeNetlinkSocket {
  const m = native('netlink socket')
  return new m.NetlinkSocket(protocol, onMessage, onError)
}

/** Sets (or with '' removes) the TCP-MD5 key for a peer address on a socket, e.g. a listener. */
export function setMd5Key(fd: number, address: string, key: string): void {
  native('TCP-MD5').setMd5(fd, address, key)
}

/**
 * An ArrayBuffer of `bytes` zeroed bytes mapped for it alone, in memory advised to use transparent
 * huge pages (the RIB's large tables: one fault per 2 MiB instead of per 4 KiB) unless `huge` is
 * false (plain pages, for mid-sized tables), or undefined without the addon (callers then allocate as
 * usual). Either kind can be discarded (nativeDiscardBuffer) when a table grows out of it.
 */
export function nativeHugeBuffer(bytes: number, huge = true): ArrayBuffer | undefined {
  const m = load()
  return m?.hugeBuffer?.(bytes, huge)
}

/**
 * An ArrayBuffer of `reserve` zeroed bytes of address space of which `bytes` are used now (what V8
 * is told; untouched pages cost no memory), huge pages advised from the offset `hugeFrom` on;
 * undefined without the addon or when the address space cannot be mapped. bgp/rib/grow.ts's arena.
 */
export function nativeReserveBuffer(bytes: number, reserve: number, hugeFrom: number): ArrayBuffer | undefined {
  return load()?.reserveBuffer?.(bytes, reserve, hugeFrom)
}

/**
 * Returns the memory of a buffer from nativeHugeBuffer or nativeReserveBuffer (or of a range of it)
 * to the system now (the mapping stays and reads as zeros). For arrays a table has grown out of.
 */
export function nativeDiscardBuffer(buffer: ArrayBuffer, offset?: number, length?: number): void {
  const m = load()
  if (offset === undefined) m?.discardBuffer?.(buffer)
  else m?.discardBuffer?.(buffer, offset, length)
}

/** Advises transparent huge pages for the whole 2 MiB pages of a range of one of the addon's buffers. */
export function nativeAdviseHuge(buffer: ArrayBuffer, offset: number, length: number): void {
  load()?.adviseHuge?.(buffer, offset, length)
}

/** A socket's descriptor, as Node keeps it (libuv handle); -1 when it has none yet. */
export function socketFd(handleOwner: unknown): number {
  const h = (handleOwner as { _handle?: { fd?: number } } | null)?._handle
  return typeof h?.fd === 'number' ? h.fd : -1
}
