/**
 * Route targets (RFC 4360 3.1, RFC 5668 for the 4-octet AS form) as policy sees them: parsed from
 * text once, compared as numbers. A route target's key is one safe integer built from its form and
 * its two fields (2 + 48 bits), so sets of route targets are `Set<number>` and a route's targets are
 * read from EXTENDED_COMMUNITIES once per attribute set (memoised per PathAttributes object, which
 * the RIB interns).
 *
 * Forms, as the codec spells them: `rt:64512:100` (2-octet AS), `rt:10.0.0.1:5` (IPv4),
 * `rt:4200000000:7` or `rt:100L:7` (4-octet AS). `target:` is accepted for `rt:`, and a bare
 * `64512:100` is taken as a route target.
 */
import type { PathAttributes } from '../codec/attributes.js'
import { parseExtCommunity, type AsForm, type ExtendedCommunity } from '../codec/ext-communities.js'

/** An extended community of kind route-target (the codec types route targets and origins together). */
export type RouteTarget = Extract<ExtendedCommunity, { readonly form: AsForm }> & { readonly kind: 'route-target' }

const formIndex: Record<AsForm, number> = { as2: 0, ipv4: 1, as4: 2 }
const TWO_48 = 2 ** 48
const TWO_32 = 2 ** 32
const TWO_16 = 2 ** 16

/** A route target's numeric key (distinct for distinct wire values). */
export function routeTargetKey(rt: RouteTarget): number {
  const body = rt.form === 'as2' ? rt.admin * TWO_32 + rt.assigned : rt.admin * TWO_16 + rt.assigned
  return formIndex[rt.form] * TWO_48 + body
}

/** Parses route target text; throws a plain Error (the reason) when it is not one. */
export function parseRouteTarget(text: string): RouteTarget {
  const s = String(text).trim()
  // A leading word names the kind (`rt:`, `target:`, or a wrong one like `soo:`); digits start a bare target.
  const full = /^[a-z][a-z-]*:/i.test(s) ? s : `rt:${s}`
  let c: ExtendedCommunity
  try {
    c = parseExtCommunity(full)
  } catch (e) {
    throw new Error(`"${text}": ${(e as Error).message.replace(/^extended community "[^"]*": /, '')}`)
  }
  if (c.kind !== 'route-target') throw new Error(`"${text}": not a route target`)
  return c as RouteTarget
}

const cache = new WeakMap<PathAttributes, ReadonlySet<number>>()
const EMPTY: ReadonlySet<number> = new Set()

/** The keys of the route targets a route carries (memoised per attribute object). */
export function routeTargetKeys(attrs: PathAttributes): ReadonlySet<number> {
  const ext = attrs.extCommunities
  if (ext === undefined || ext.length === 0) return EMPTY
  let keys = cache.get(attrs)
  if (keys === undefined) {
    const s = new Set<number>()
    for (const c of ext) if (c.kind === 'route-target') s.add(routeTargetKey(c as RouteTarget))
    keys = s
    cache.set(attrs, keys)
  }
  return keys
}

/** The route targets among extended communities. */
export function routeTargetsOf(attrs: PathAttributes): RouteTarget[] {
  const out: RouteTarget[] = []
  for (const c of attrs.extCommunities ?? []) if (c.kind === 'route-target') out.push(c as RouteTarget)
  return out
}
