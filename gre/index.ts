/**
 * gre/: the TGW side of the kernel. One GRE link per AWS Transit Gateway Connect peer (RFC 2784 GRE,
 * no key; AWS TGW Connect), with the appliance's inside addresses, MTU 8476, TTL, optionally
 * enslaved to the gateway table's VRF, and TCP MSS clamping.
 *
 * `reconcileGre(kernel, peers)` validates the peers, reads the kernel, applies the smallest set of
 * changes (gre/reconcile.ts) and reports each link's state. It touches only links named `gsig*`.
 * Tunnel parameters change in place; a link the kernel would not change in place is recreated, and
 * since that drops every route through it, `onRecreated` tells the FIB writer to put them back at
 * once. The kernel port over src/netlink is gre/netlink-gre.ts.
 */
import { NetlinkError } from '../src/netlink/index.js'
import { greLinkSpecs } from './config.js'
import type { ConnectPeer, GreLinkSpec } from './config.js'
import { applyMssClamp } from './mss-clamp.js'
import type { MssClampState, NftCommand } from './mss-clamp.js'
import { planGre, reportGre, setupActions } from './reconcile.js'
import type { GreAction, GreLinkReport, GreLinkState } from './reconcile.js'

export { DEFAULT_GRE_MTU, DEFAULT_GRE_TTL, GRE_PREFIX, GreConfigError, greLinkName, greLinkSpec, greLinkSpecs, isGreLinkName } from './config.js'
export type { ConnectPeer, GreLinkSpec } from './config.js'
export { changeableInPlace, planGre, reportGre, setupActions } from './reconcile.js'
export { NetlinkGre } from './netlink-gre.js'
export type { GreAction, GreLinkReport, GreLinkState } from './reconcile.js'
export { applyMssClamp, mssClampPackets, mssClampRuleset, NFT_TABLE, removeMssClamp } from './mss-clamp.js'
export type { MssClampState, NftCommand } from './mss-clamp.js'

/** The kernel operations gre/ needs (implemented over src/netlink by gre/netlink-gre.ts). */
export interface GreKernel {
  /** Every link of kind gre, and every link whose name starts with `gsig` whatever its kind. */
  listGreLinks(): Promise<GreLinkState[]>
  createGre(spec: GreLinkSpec): Promise<void>
  /** Changes local, remote, TTL (and clears keys) of an existing GRE link in place, keeping its
   * ifindex (RTM_NEWLINK without NLM_F_CREATE|NLM_F_EXCL). Throws when the kernel refuses. */
  changeGre(spec: GreLinkSpec): Promise<void>
  deleteLink(name: string): Promise<void>
  setMtu(name: string, mtu: number): Promise<void>
  setMaster(name: string, master: string | null): Promise<void>
  setUp(name: string): Promise<void>
  addAddress(name: string, cidr: string): Promise<void>
  delAddress(name: string, cidr: string): Promise<void>
}

export interface GreResult {
  /** What was done, in order: the plan, with a refused `change` followed by the recreate and set-up
   * that replaced it. */
  readonly actions: readonly GreAction[]
  readonly errors: readonly { action: GreAction; message: string }[]
  /** Links deleted and created again (the kernel dropped their routes with the old link). */
  readonly recreated: readonly string[]
  readonly links: readonly GreLinkReport[]
  readonly mssClamp: MssClampState
}

export interface GreOptions {
  /** Clamp TCP MSS with nftables (default true). */
  readonly mssClamp?: boolean
  /** How to run nft (default `['nft']`). */
  readonly nft?: NftCommand
  /** Called once, after the links are set up, with the links that were recreated: the kernel removed
   * every route through them, so the FIB writer must re-install those now (`FibWriter.linksReplaced`),
   * not at its next periodic resync. A failure is reported in `errors`. */
  readonly onRecreated?: (links: readonly string[]) => Promise<void> | void
}

/** Errors with which the kernel refuses a change in place that a new link would take: EINVAL (the
 * change would alter what the link is, e.g. point-to-point or not), EOPNOTSUPP (no changelink). */
const REFUSED_IN_PLACE = new Set(['EINVAL', 'EOPNOTSUPP'])

async function applyAction(k: GreKernel, a: GreAction): Promise<void> {
  switch (a.type) {
    case 'create': return k.createGre(a.spec)
    case 'change': return k.changeGre(a.spec)
    case 'recreate': await k.deleteLink(a.spec.name); return k.createGre(a.spec)
    case 'delete': return k.deleteLink(a.name)
    case 'set-mtu': return k.setMtu(a.name, a.mtu)
    case 'set-master': return k.setMaster(a.name, a.master)
    case 'set-up': return k.setUp(a.name)
    case 'add-address': return k.addAddress(a.name, a.address)
    case 'del-address': return k.delAddress(a.name, a.address)
  }
}

function linkOf(a: GreAction): string {
  return a.type === 'create' || a.type === 'change' || a.type === 'recreate' ? a.spec.name : a.name
}

/**
 * Takes the kernel's GRE links to `peers`. Validation errors throw (nothing is changed); kernel errors
 * are collected per action, and the actions after a failed one on the same link are skipped (they
 * would fail for the same reason), other links go on. A `change` the kernel refuses in place
 * (REFUSED_IN_PLACE) becomes a recreate with the whole set-up of a new link, replacing the rest of
 * that link's plan (which was made against the old link).
 */
export async function reconcileGre(kernel: GreKernel, peers: readonly ConnectPeer[], o: GreOptions = {}): Promise<GreResult> {
  const specs = greLinkSpecs(peers)
  const queue = planGre(specs, await kernel.listGreLinks())
  const done: GreAction[] = []
  const errors: { action: GreAction; message: string }[] = []
  const broken = new Set<string>()
  const recreated = new Set<string>()
  for (let i = 0; i < queue.length; i++) {
    const a = queue[i] as GreAction
    if (broken.has(linkOf(a))) continue
    done.push(a)
    try {
      await applyAction(kernel, a)
      if (a.type === 'recreate') recreated.add(a.spec.name)
    } catch (err) {
      if (a.type === 'change' && err instanceof NetlinkError && REFUSED_IN_PLACE.has(err.code)) {
        const name = a.spec.name
        const rest = queue.slice(i + 1).filter(x => linkOf(x) !== name)
        queue.splice(i + 1, queue.length, { type: 'recreate', spec: a.spec }, ...setupActions(a.spec), ...rest)
        continue
      }
      errors.push({ action: a, message: err instanceof Error ? err.message : String(err) })
      broken.add(linkOf(a))
    }
  }
  // Even a recreated link whose set-up then failed lost its routes: the writer is told about all of
  // them (and counts and retries what cannot be installed yet).
  const replaced = [...recreated]
  if (replaced.length > 0 && o.onRecreated) {
    try {
      await o.onRecreated(replaced)
    } catch (err) {
      errors.push({ action: { type: 'recreate', spec: specs.find(s => s.name === replaced[0]) as GreLinkSpec }, message: `re-installing the routes of ${replaced.join(', ')}: ${err instanceof Error ? err.message : String(err)}` })
    }
  }
  const mssClamp: MssClampState = o.mssClamp === false ? { state: 'off' } : specs.length === 0 ? { state: 'off' } : await applyMssClamp(undefined, o.nft)
  return { actions: done, errors, recreated: replaced, links: reportGre(specs, await kernel.listGreLinks()), mssClamp }
}

/** State only, no changes (for status and gsictl). */
export async function greStatus(kernel: GreKernel, peers: readonly ConnectPeer[]): Promise<GreLinkReport[]> {
  return reportGre(greLinkSpecs(peers), await kernel.listGreLinks())
}
