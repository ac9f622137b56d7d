/**
 * Reconcile GRE links: desired specs (gre/config.ts) against the GRE links the kernel holds, into a
 * list of actions (create, change the tunnel parameters in place, recreate, set MTU, set master,
 * bring up, add or remove an address, delete). Only links with our name prefix are ever changed or
 * deleted.
 *
 * A change of local, remote, TTL or key is planned in place (`change`: the link keeps its ifindex,
 * addresses, VRF and routes), so the address, master and MTU work after it is planned against what
 * the link has now. Only what the kernel cannot change in place is planned as `recreate`, and then
 * everything a new link needs follows it, as for a missing one (`setupActions`).
 *
 * Pure: the caller applies the actions (gre/index.ts) and reads the state back.
 */
import { isGreLinkName } from './config.js'
import type { GreLinkSpec } from './config.js'

/** A GRE link as the kernel holds it. */
export interface GreLinkState {
  readonly name: string
  /** IFLA_INFO_KIND: "gre" for ours; anything else under our name is recreated. */
  readonly kind: string
  readonly local: string
  readonly remote: string
  readonly ttl: number
  /** GRE keys (IFLA_GRE_IKEY/OKEY); ours have none (0). */
  readonly ikey: number
  readonly okey: number
  readonly mtu: number
  /** Administratively up (IFF_UP). */
  readonly up: boolean
  /** Operationally up (IFF_RUNNING / IFF_LOWER_UP). */
  readonly running: boolean
  readonly master?: string
  /** Addresses with prefix length, canonical text. */
  readonly addresses: readonly string[]
  /** The kernel's ifindex (what a change in place keeps). */
  readonly index?: number
}

export type GreAction =
  | { readonly type: 'create'; readonly spec: GreLinkSpec }
  | { readonly type: 'change'; readonly spec: GreLinkSpec }
  /** Delete the link and create it again: the kernel drops every route through it. */
  | { readonly type: 'recreate'; readonly spec: GreLinkSpec }
  | { readonly type: 'delete'; readonly name: string }
  | { readonly type: 'set-mtu'; readonly name: string; readonly mtu: number }
  | { readonly type: 'set-master'; readonly name: string; readonly master: string | null }
  | { readonly type: 'set-up'; readonly name: string }
  | { readonly type: 'add-address'; readonly name: string; readonly address: string }
  | { readonly type: 'del-address'; readonly name: string; readonly address: string }

/** Actions taking `actual` (every GRE-ish link the kernel reports) to `desired`. */
export function planGre(desired: readonly GreLinkSpec[], actual: readonly GreLinkState[]): GreAction[] {
  const out: GreAction[] = []
  const byName = new Map(actual.map(l => [l.name, l]))
  for (const spec of desired) {
    const have = byName.get(spec.name)
    if (!have) {
      out.push({ type: 'create', spec }, ...setupActions(spec))
      continue
    }
    if (!changeableInPlace(have)) {
      out.push({ type: 'recreate', spec }, ...setupActions(spec))
      continue
    }
    if (have.local !== spec.local || have.remote !== spec.remote || have.ttl !== spec.ttl || have.ikey !== 0 || have.okey !== 0) {
      out.push({ type: 'change', spec })
    }
    const master = spec.vrf ?? null
    if ((have.master ?? null) !== master) out.push({ type: 'set-master', name: spec.name, master })
    if (have.mtu !== spec.mtu) out.push({ type: 'set-mtu', name: spec.name, mtu: spec.mtu })
    // Addresses: enslaving to a VRF keeps them, so address work comes after set-master.
    const want = new Set(spec.addresses)
    const got = new Set(have.addresses.filter(a => !isIPv6LinkLocal(a)))
    for (const a of want) if (!got.has(a)) out.push({ type: 'add-address', name: spec.name, address: a })
    for (const a of got) if (!want.has(a)) out.push({ type: 'del-address', name: spec.name, address: a })
    if (!have.up) out.push({ type: 'set-up', name: spec.name })
  }
  const wanted = new Set(desired.map(s => s.name))
  for (const l of actual) if (isGreLinkName(l.name) && !wanted.has(l.name)) out.push({ type: 'delete', name: l.name })
  return out
}

/**
 * Whether the kernel can turn `have` into our link with RTM_NEWLINK. Not when it is of another kind
 * (a link's kind is fixed at creation), nor when it has no remote: such a GRE link is not
 * point-to-point, and Linux refuses (EINVAL, ip_tunnel_changelink) a change that would make it one.
 */
export function changeableInPlace(have: GreLinkState): boolean {
  return have.kind === 'gre' && have.remote !== ''
}

/** Everything a freshly created link needs after RTM_NEWLINK: VRF, addresses (enslaving keeps them,
 * but they go after set-master as for an existing link), MTU, up. */
export function setupActions(spec: GreLinkSpec): GreAction[] {
  const out: GreAction[] = []
  if (spec.vrf !== undefined) out.push({ type: 'set-master', name: spec.name, master: spec.vrf })
  for (const a of spec.addresses) out.push({ type: 'add-address', name: spec.name, address: a })
  out.push({ type: 'set-mtu', name: spec.name, mtu: spec.mtu }, { type: 'set-up', name: spec.name })
  return out
}

/** The kernel gives GRE links an fe80:: address of its own: not ours to remove. */
function isIPv6LinkLocal(a: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(a)
}

/** What `report()` says about one Connect peer's link. */
export interface GreLinkReport {
  readonly peerId: string
  readonly name: string
  /** up: admin up and running; down: exists but not running; missing: no such link. */
  readonly state: 'up' | 'down' | 'missing'
  readonly local: string
  readonly remote: string
  readonly mtu: number | null
  readonly addresses: readonly string[]
  readonly tgwPeers: readonly string[]
  /** Whether the kernel matches the spec (false while a change is pending or failed). */
  readonly inSync: boolean
}

export function reportGre(desired: readonly GreLinkSpec[], actual: readonly GreLinkState[]): GreLinkReport[] {
  const byName = new Map(actual.map(l => [l.name, l]))
  return desired.map(spec => {
    const have = byName.get(spec.name)
    const inSync = have !== undefined && planGre([spec], [have]).length === 0
    return {
      peerId: spec.peerId,
      name: spec.name,
      state: !have ? 'missing' : have.up && have.running ? 'up' : 'down',
      local: spec.local,
      remote: spec.remote,
      mtu: have?.mtu ?? null,
      addresses: have ? have.addresses.filter(a => !isIPv6LinkLocal(a)) : [],
      tgwPeers: spec.tgwPeers,
      inSync,
    }
  })
}
