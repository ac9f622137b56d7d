/**
 * Loader of the project's N-API addon (native/: TCP-MD5 per RFC 2385 and TTL set before connect()
 * for RFC 5082 GTSM; huge-page buffers for the RIB's tables), with typed wrappers. The addon is optional at run time: sessions that use
 * neither a TCP-MD5 password nor GTSM never load it, and those that do fail with a clear error when
 * it was not built (`npm run build:native`).
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
}

interface NativeModule {
  connect(opts: NativeConnectOptions): Promise<number>
  setMd5(fd: number, address: string, key: string): void
  hugeBuffer?(bytes: number): ArrayBuffer
  discardBuffer?(buffer: ArrayBuffer): void
}

const require = createRequire(import.meta.url)
let cached: NativeModule | null | undefined

/** Where the built addon may be: from bgp/session (sources) or dist/bgp/session (compiled). */
function candidates(): string[] {
  const here = fileURLToPath(new URL('.', import.meta.url))
  return [`${here}../../native/build/Release/gsi_native.node`, `${here}../../../native/build/Release/gsi_native.node`]
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
  return native('TCP-MD5/GTSM connect').connect(opts)
}

/** Sets (or with '' removes) the TCP-MD5 key for a peer address on a socket, e.g. a listener. */
export function setMd5Key(fd: number, address: string, key: string): void {
  native('TCP-MD5').setMd5(fd, address, key)
}

/**
 * An ArrayBuffer of `bytes` zeroed bytes in memory advised to use transparent huge pages (the RIB's
 * large tables: one fault per 2 MiB instead of per 4 KiB), or undefined without the addon (callers
 * then allocate as usual).
 */
export function nativeHugeBuffer(bytes: number): ArrayBuffer | undefined {
  const m = load()
  return m?.hugeBuffer?.(bytes)
}

/**
 * Returns the memory of a buffer from nativeHugeBuffer to the system now (the mapping stays and
 * reads as zeros until the buffer is collected). For arrays a table has grown out of.
 */
export function nativeDiscardBuffer(buffer: ArrayBuffer): void {
  load()?.discardBuffer?.(buffer)
}

/** A socket's descriptor, as Node keeps it (libuv handle); -1 when it has none yet. */
export function socketFd(handleOwner: unknown): number {
  const h = (handleOwner as { _handle?: { fd?: number } } | null)?._handle
  return typeof h?.fd === 'number' ? h.fd : -1
}
