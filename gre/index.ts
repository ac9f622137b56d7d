/**
 * gre/: the TGW side of the kernel. One GRE link per AWS Transit Gateway Connect peer (RFC 2784 GRE,
 * no key; AWS TGW Connect), with the appliance's inside addresses, MTU 8476, TTL, optionally
 * enslaved to the gateway table's VRF, and TCP MSS clamping.
 *
 * `reconcileGre(kernel, peers)` validates the peers, reads the kernel, applies the smallest set of
 * changes (gre/reconcile.ts) and reports each link's state. It touches only links named `gsig*`.
 */
import { greLinkSpecs } from './config.js'
import type { ConnectPeer, GreLinkSpec } from './config.js'
import { applyMssClamp } from './mss-clamp.js'
import type { MssClampState, NftCommand } from './mss-clamp.js'
import { planGre, reportGre } from './reconcile.js'
import type { GreAction, GreLinkReport, GreLinkState } from './reconcile.js'

export { DEFAULT_GRE_MTU, DEFAULT_GRE_TTL, GRE_PREFIX, GreConfigError, greLinkName, greLinkSpec, greLinkSpecs, isGreLinkName } from './config.js'
export type { ConnectPeer, GreLinkSpec } from './config.js'
export { planGre, reportGre } from './reconcile.js'
export type { GreAction, GreLinkReport, GreLinkState } from './reconcile.js'
export { applyMssClamp, mssClampPackets, mssClampRuleset, NFT_TABLE, removeMssClamp } from './mss-clamp.js'
export type { MssClampState, NftCommand } from './mss-clamp.js'

/** The kernel operations gre/ needs (implemented over src/netlink by gre/netlink-gre.ts). */
export interface GreKernel {
  /** Every link of kind gre, and every link whose name starts with `gsig` whatever its kind. */
  listGreLinks(): Promise<GreLinkState[]>
  createGre(spec: GreLinkSpec): Promise<void>
  /** Changes local, remote, TTL (and clears keys) of an existing GRE link in place. */
  changeGre(spec: GreLinkSpec): Promise<void>
  deleteLink(name: string): Promise<void>
  setMtu(name: string, mtu: number): Promise<void>
  setMaster(name: string, master: string | null): Promise<void>
  setUp(name: string): Promise<void>
  addAddress(name: string, cidr: string): Promise<void>
  delAddress(name: string, cidr: string): Promise<void>
}

export interface GreResult {
  readonly actions: readonly GreAction[]
  readonly errors: readonly { action: GreAction; message: string }[]
  readonly links: readonly GreLinkReport[]
  readonly mssClamp: MssClampState
}

export interface GreOptions {
  /** Clamp TCP MSS with nftables (default true). */
  readonly mssClamp?: boolean
  /** How to run nft (default `['nft']`). */
  readonly nft?: NftCommand
}

async function applyAction(k: GreKernel, a: GreAction): Promise<void> {
  switch (a.type) {
    case 'create': return k.createGre(a.spec)
    case 'change': return k.changeGre(a.spec)
    case 'delete': return k.deleteLink(a.name)
    case 'set-mtu': return k.setMtu(a.name, a.mtu)
    case 'set-master': return k.setMaster(a.name, a.master)
    case 'set-up': return k.setUp(a.name)
    case 'add-address': return k.addAddress(a.name, a.address)
    case 'del-address': return k.delAddress(a.name, a.address)
  }
}

function linkOf(a: GreAction): string {
  return a.type === 'create' || a.type === 'change' ? a.spec.name : a.name
}

/**
 * Takes the kernel's GRE links to `peers`. Validation errors throw (nothing is changed); kernel errors
 * are collected per action, and the actions after a failed one on the same link are skipped (they
 * would fail for the same reason), other links go on.
 */
export async function reconcileGre(kernel: GreKernel, peers: readonly ConnectPeer[], o: GreOptions = {}): Promise<GreResult> {
  const specs = greLinkSpecs(peers)
  const actions = planGre(specs, await kernel.listGreLinks())
  const errors: { action: GreAction; message: string }[] = []
  const broken = new Set<string>()
  for (const a of actions) {
    if (broken.has(linkOf(a))) continue
    try {
      await applyAction(kernel, a)
    } catch (err) {
      errors.push({ action: a, message: err instanceof Error ? err.message : String(err) })
      broken.add(linkOf(a))
    }
  }
  const mssClamp: MssClampState = o.mssClamp === false ? { state: 'off' } : specs.length === 0 ? { state: 'off' } : await applyMssClamp(undefined, o.nft)
  return { actions, errors, links: reportGre(specs, await kernel.listGreLinks()), mssClamp }
}

/** State only, no changes (for status and gsictl). */
export async function greStatus(kernel: GreKernel, peers: readonly ConnectPeer[]): Promise<GreLinkReport[]> {
  return reportGre(greLinkSpecs(peers), await kernel.listGreLinks())
}
