/**
 * `cleanup`: removes everything of ours from the kernel and nothing else: routes carrying our routing
 * protocol number (outside the main, local and default tables), AF_MPLS routes with our protocol, the
 * links named with our prefixes (MPLSoUDP tunnels `gsim*`, GRE links `gsig*`, VRFs `gsiv*`), the fou
 * listener on the MPLSoUDP port, and the nftables table `inet gsi_router`. For `gsictl cleanup` and for
 * uninstalling; the daemon must be stopped first or it will put everything back.
 */
import { removeMssClamp } from '../../gre/mss-clamp.js'
import type { NftCommand } from '../../gre/mss-clamp.js'
import { MPLSOUDP_PORT, TUNNEL_PREFIX } from '../../mplsoudp/tunnels.js'
import type { FibKernel } from './types.js'
import { DEFAULT_PROTOCOL, VRF_PREFIX } from './writer.js'
import { GRE_PREFIX } from '../../gre/config.js'

export interface CleanupKernel extends Pick<FibKernel, 'dumpRoutes' | 'applyRoutes' | 'dumpLabelRoutes' | 'applyLabelRoutes' | 'deleteLink'> {
  listLinkNames(prefixes: readonly string[]): Promise<string[]>
  removeMplsoudpListener(port: number): Promise<boolean>
}

export interface CleanupOptions {
  readonly protocol?: number
  readonly mplsoudpPort?: number
  /** How to run nft; `null` leaves nftables alone. */
  readonly nft?: NftCommand | null
}

export interface CleanupReport {
  routes: number
  labelRoutes: number
  links: string[]
  fouListener: boolean
  nftTable: boolean
  errors: string[]
}

export async function cleanup(k: CleanupKernel, o: CleanupOptions = {}): Promise<CleanupReport> {
  const protocol = o.protocol ?? DEFAULT_PROTOCOL
  const rep: CleanupReport = { routes: 0, labelRoutes: 0, links: [], fouListener: false, nftTable: false, errors: [] }
  const step = async (what: string, fn: () => Promise<void>): Promise<void> => {
    try { await fn() } catch (e) { rep.errors.push(`${what}: ${e instanceof Error ? e.message : String(e)}`) }
  }
  await step('routes', async () => {
    const routes = await k.dumpRoutes(protocol)
    const res = await k.applyRoutes(routes.map(route => ({ op: 'delete' as const, route })))
    res.forEach((e, i) => { if (e) rep.errors.push(e.message); else if (routes[i]) rep.routes++ })
  })
  await step('label routes', async () => {
    const labels = await k.dumpLabelRoutes(protocol)
    const res = await k.applyLabelRoutes(labels.map(route => ({ op: 'delete' as const, route })))
    res.forEach(e => { if (e) rep.errors.push(e.message); else rep.labelRoutes++ })
  })
  // Tunnels and GRE links before the VRFs they may be enslaved to.
  for (const prefix of [TUNNEL_PREFIX, GRE_PREFIX, VRF_PREFIX]) {
    await step(`links ${prefix}*`, async () => {
      for (const name of await k.listLinkNames([prefix])) {
        await step(`delete ${name}`, async () => { await k.deleteLink(name); rep.links.push(name) })
      }
    })
  }
  await step('fou', async () => { rep.fouListener = await k.removeMplsoudpListener(o.mplsoudpPort ?? MPLSOUDP_PORT) })
  if (o.nft !== null) await step('nft', async () => { rep.nftTable = await removeMssClamp(o.nft ?? ['nft']) })
  return rep
}
