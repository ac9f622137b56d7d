/**
 * Kernel errors (negative errno in NLMSG_ERROR, RFC 3549 section 2.3.2.2) turned into messages that
 * name the object, what was attempted, and what to do about it; a missing kernel module (the kernel
 * answers EOPNOTSUPP, EAFNOSUPPORT or ENOENT for the genl family) is named as such.
 */
import { constants as osConstants } from 'node:os'

const ERRNO_NAMES = new Map<number, string>(
  Object.entries(osConstants.errno).map(([name, n]) => [n, name]),
)

export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `errno ${errno}`
}

/** What a request was about, for the error message: e.g. { op: 'add', object: 'route 10.0.0.0/24 table 100' }. */
export interface RequestContext {
  readonly op: string
  readonly object: string
  /** The kernel module this kind of object needs (named when the kernel says "not supported"). */
  readonly module?: string
}

/** A request the kernel refused. `code` is the errno name (EEXIST, ENODEV, ...). */
export class NetlinkError extends Error {
  override readonly name = 'NetlinkError'
  readonly errno: number
  readonly code: string
  readonly op: string
  readonly object: string
  readonly module: string | undefined

  constructor(errno: number, ctx: RequestContext, kernelMessage?: string) {
    super(describe(errno, ctx, kernelMessage))
    this.errno = errno
    this.code = errnoName(errno)
    this.op = ctx.op
    this.object = ctx.object
    this.module = ctx.module
  }
}

function describe(errno: number, ctx: RequestContext, kernelMessage?: string): string {
  const code = errnoName(errno)
  const head = `cannot ${ctx.op} ${ctx.object}`
  const km = kernelMessage ? ` (kernel: ${kernelMessage})` : ''
  switch (code) {
    case 'EEXIST':
      return `${head}: it already exists (EEXIST)${km}; replace it, or delete it first`
    case 'ENOENT':
    case 'ESRCH':
      return `${head}: no such object (${code})${km}; it may have been deleted already`
    case 'ENODEV':
      return `${head}: a device it names does not exist (ENODEV)${km}; create the link first or check its name`
    case 'EPERM':
    case 'EACCES':
      return `${head}: permission denied (${code}); run as root or with CAP_NET_ADMIN in this network namespace`
    case 'EOPNOTSUPP':
    case 'EAFNOSUPPORT':
    case 'EPROTONOSUPPORT':
      return ctx.module
        ? `${head}: not supported by this kernel (${code})${km}; load kernel module ${ctx.module} (modprobe ${ctx.module})`
        : `${head}: not supported by this kernel (${code})${km}`
    case 'ENETUNREACH':
      return `${head}: the gateway is not reachable on a connected network (ENETUNREACH)${km}; add the link's address first, or mark the next hop onlink`
    case 'EADDRINUSE':
      return `${head}: the port or address is already in use (EADDRINUSE)${km}; delete the existing one first, or use another`
    case 'EINVAL':
      return `${head}: the kernel rejected a parameter (EINVAL)${km}`
    case 'EBUSY':
      return `${head}: the object is busy (EBUSY)${km}`
    case 'ENOBUFS':
      return `${head}: the kernel ran out of buffer space (ENOBUFS)${km}; retry with smaller batches`
    default:
      return `${head}: ${code}${km}`
  }
}

/** The module a link kind needs. */
export const LINK_KIND_MODULE: Record<string, string> = {
  gre: 'ip_gre', ipip: 'ipip', vrf: 'vrf', veth: 'veth', dummy: 'dummy',
}
