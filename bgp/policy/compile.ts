/**
 * The policy compiler: validates a PolicyDef (types.ts) and turns it into a RoutePolicy
 * (bgp/rib/api.ts) the RIB runs on import and the speaker on export. Pure: no I/O, no clocks.
 *
 * Everything that can be prepared is prepared here, once: prefix lists become tries (prefix-list.ts),
 * AS_PATH regexes RegExps, community and route-target lists Sets of numeric or canonical-text keys,
 * addresses canonical text. Evaluation reads what a route carries through per-attribute-object
 * memos (WeakMaps keyed by the interned PathAttributes), so the sets and texts of one attribute set
 * are built once however many routes share it. Actions are memoised the same way (ActionMemo): the
 * copies and freezes of a modified set happen once per input set, and every route that takes the
 * same path through the terms gets the same result object, even in a policy with prefix lists.
 *
 * Contract (RoutePolicy):
 * - `apply` returns `null` (rejected), the very RouteAttributes it was given (accepted unchanged), or a
 *   new frozen RouteAttributes whose `attrs` is a new frozen PathAttributes (accepted, modified). Lists
 *   that changed are new frozen arrays; untouched ones are shared with the input.
 * - `perAttributeSet` is true exactly when no term (and no shortcut) looks at the prefix (a prefix
 *   list, with or without RD): the result then depends on the attribute set (and the family, which is
 *   fixed per RIB policy slot) only, and the RIB may cache it per AttrId.
 * - Terms run in order; a term's matches see the changes earlier `next` terms made (Junos semantics).
 *   `set` actions run only when the term matches. Defaults: `default: accept` for import and export.
 */
import type { PathAttributes } from '../codec/attributes.js'
import { AsSegment, asPathCount, asPathToString, type AsPath, type AsPathSegment } from '../codec/as-path.js'
import { communityToString, largeCommunityToString, parseCommunity, parseLargeCommunity, type LargeCommunity } from '../codec/communities.js'
import { extCommunityToString, parseExtCommunity, type ExtendedCommunity } from '../codec/ext-communities.js'
import { families, parseRd, rdToString } from '../codec/nlri.js'
import { Afi, familyAfi, Family, type FamilyKey } from '../codec/afi.js'
import type { RouteAttributes, RouteInfo, RoutePolicy } from '../rib/api.js'
import { compileAsPathRegex } from './as-path-regex.js'
import { PolicyError, fieldPath } from './errors.js'
import { PrefixMatcher, parsePrefixEntry, type PrefixEntry } from './prefix-list.js'
import { ipFamilyOf, ipv4Word, tryParseAddress } from '../../src/lib/address.js'
import { parseRouteTarget, routeTargetKey, routeTargetKeys, type RouteTarget } from './route-targets.js'
import type { CompileOptions, ListEditDef, MatchDef, PolicyDef, SetDef, TermDef } from './types.js'

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** The state of one evaluation: the attributes and next hop as the terms left them so far. */
interface Work {
  attrs: PathAttributes
  nextHop: string
}
type Matcher = (route: RouteInfo, w: Work) => boolean
type Action = (route: RouteInfo, w: Work) => void

const VERDICT_NEXT = 0
const VERDICT_ACCEPT = 1
const VERDICT_REJECT = 2

interface CompiledTerm {
  readonly name: string
  readonly matchers: readonly Matcher[]
  /** The term's `set` actions, memoised (ActionMemo); undefined when it has none. */
  readonly actions: ActionMemo | undefined
  readonly verdict: number
  readonly usesPrefix: boolean
}

/** The state after a term's actions: attributes (frozen when new) and next hop. */
interface Step {
  readonly attrs: PathAttributes
  readonly nextHop: string
}

/**
 * A term's actions as a memoised function of the state they start from. Actions never look at the
 * prefix, so the state after them depends only on the attribute object and next hop before them (and
 * on the family when the term sets the next hop: `self` may differ per address family). Memoising
 * per input object means routes sharing an attribute set share the result object, the spreads and
 * freezes happen once per attribute set rather than once per route, and a later term's memo is keyed
 * by this one's stable outputs. Inputs must not be mutated (the RIB's interned sets are not).
 */
class ActionMemo {
  private readonly memo = new WeakMap<PathAttributes, Map<string, Step>>()
  constructor(
    private readonly actions: readonly Action[],
    private readonly byFamily: boolean,
  ) {}

  run(route: RouteInfo, w: Work): void {
    const from = w.attrs
    let inner = this.memo.get(from)
    if (inner === undefined) {
      inner = new Map()
      this.memo.set(from, inner)
    }
    const key = this.byFamily ? `${route.family}/${w.nextHop}` : w.nextHop
    let step = inner.get(key)
    if (step === undefined) {
      for (let i = 0; i < this.actions.length; i++) (this.actions[i] as Action)(route, w)
      step = { attrs: w.attrs === from ? from : Object.freeze(w.attrs), nextHop: w.nextHop }
      inner.set(key, step)
    }
    w.attrs = step.attrs
    w.nextHop = step.nextHop
  }
}

/** A compiled policy: the RoutePolicy contract plus what logs and status want to show. */
export interface CompiledPolicy extends RoutePolicy {
  /** The `where` the policy was compiled at (its configuration path). */
  readonly where: string
  readonly terms: number
  readonly defaultVerdict: 'accept' | 'reject'
}

// ---------------------------------------------------------------------------------------------
// Validation helpers: each throws PolicyError(field path, reason).

function fail(field: string, reason: string): never {
  throw new PolicyError(field, reason)
}

function describe(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'string') return JSON.stringify(v)
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function object(v: unknown, field: string, known: readonly string[]): Record<string, unknown> {
  if (!isObject(v)) fail(field, `expected an object, got ${describe(v)}`)
  for (const k of Object.keys(v)) {
    if (!known.includes(k)) fail(fieldPath(field, k), `unknown field (known: ${known.join(', ')})`)
  }
  return v
}

function list(v: unknown, field: string): readonly unknown[] {
  if (!Array.isArray(v)) fail(field, `expected a list, got ${describe(v)}`)
  return v
}

function text(v: unknown, field: string): string {
  if (typeof v !== 'string') fail(field, `expected a string, got ${describe(v)}`)
  return v
}

/** A community may come from YAML as a string or, when written `65000` alone, as a number. */
function valueText(v: unknown, field: string): string {
  if (typeof v === 'number' && Number.isInteger(v)) return String(v)
  return text(v, field)
}

function integer(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(field, `expected an integer, got ${describe(v)}`)
  if (v < min || v > max) fail(field, `${v} is outside ${min}..${max}`)
  return v
}

/** Runs a parser that throws a plain Error whose message is the reason, re-thrown with the field. */
function parsed<T>(field: string, parse: () => T): T {
  try {
    return parse()
  } catch (e) {
    if (e instanceof PolicyError) throw e
    return fail(field, (e as Error).message)
  }
}

const U32 = 0xffffffff

// ---------------------------------------------------------------------------------------------
// Families.

const familyByName = new Map<string, FamilyKey>()
for (const f of families.values()) familyByName.set(f.name, f.key)
for (const [alias, key] of [
  ['inet', Family.Ipv4Unicast],
  ['inet6', Family.Ipv6Unicast],
  ['inet-labeled', Family.Ipv4Labeled],
  ['inet6-labeled', Family.Ipv6Labeled],
  ['inet-vpn', Family.Ipv4Vpn],
  ['inet6-vpn', Family.Ipv6Vpn],
  ['route-target', Family.RouteTarget],
] as const) {
  familyByName.set(alias, key)
}

function parseFamily(v: unknown, field: string): FamilyKey {
  const name = text(v, field)
  const key = familyByName.get(name.trim().toLowerCase())
  if (key === undefined) fail(field, `unknown family ${JSON.stringify(name)} (known: ${[...familyByName.keys()].join(', ')})`)
  return key
}

/** VPN families: those whose NLRI carries a route distinguisher (route targets select them). */
function isVpn(family: FamilyKey): boolean {
  return families.get(family)?.rd === true
}

// ---------------------------------------------------------------------------------------------
// Per-attribute-object memos: what a route carries, as keys and texts, built once per interned set.

function memo<K extends object, V>(compute: (k: K) => V): (k: K) => V {
  const m = new WeakMap<K, V>()
  return (k) => {
    let v = m.get(k)
    if (v === undefined) {
      v = compute(k)
      m.set(k, v)
    }
    return v
  }
}

const EMPTY_SET: ReadonlySet<never> = new Set()
const EMPTY_LIST: readonly never[] = Object.freeze([])

const communityKeys = memo((a: readonly number[]): ReadonlySet<number> => new Set(a))
const communityTexts = memo((a: readonly number[]): readonly string[] => a.map(communityToString))
const largeTexts = memo((a: readonly LargeCommunity[]): readonly string[] => a.map(largeCommunityToString))
const largeKeys = memo((a: readonly LargeCommunity[]): ReadonlySet<string> => new Set(largeTexts(a)))
const extTexts = memo((a: readonly ExtendedCommunity[]): readonly string[] => a.map(extCommunityToString))
const extKeys = memo((a: readonly ExtendedCommunity[]): ReadonlySet<string> => new Set(extTexts(a)))
const rtTexts = memo((a: readonly ExtendedCommunity[]): readonly string[] => a.filter((c) => c.kind === 'route-target').map(extCommunityToString))
const asPathTexts = memo((p: AsPath): string => asPathToString(p))

/** How one kind of value is read from a route and parsed from configuration. */
interface ValueKind<K> {
  readonly label: string
  parse(text: string): K
  keys(attrs: PathAttributes): ReadonlySet<K>
  texts(attrs: PathAttributes): readonly string[]
}

const communityKind: ValueKind<number> = {
  label: 'community',
  parse: parseCommunity,
  keys: (a) => (a.communities === undefined ? EMPTY_SET : communityKeys(a.communities)),
  texts: (a) => (a.communities === undefined ? EMPTY_LIST : communityTexts(a.communities)),
}
const largeKind: ValueKind<string> = {
  label: 'large community',
  parse: (s) => largeCommunityToString(parseLargeCommunity(s)),
  keys: (a) => (a.largeCommunities === undefined ? EMPTY_SET : largeKeys(a.largeCommunities)),
  texts: (a) => (a.largeCommunities === undefined ? EMPTY_LIST : largeTexts(a.largeCommunities)),
}
const extKind: ValueKind<string> = {
  label: 'extended community',
  parse: (s) => extCommunityToString(parseExtCommunity(s)),
  keys: (a) => (a.extCommunities === undefined ? EMPTY_SET : extKeys(a.extCommunities)),
  texts: (a) => (a.extCommunities === undefined ? EMPTY_LIST : extTexts(a.extCommunities)),
}
const routeTargetKind: ValueKind<number> = {
  label: 'route target',
  parse: (s) => routeTargetKey(parseRouteTarget(s)),
  keys: routeTargetKeys,
  texts: (a) => (a.extCommunities === undefined ? EMPTY_LIST : rtTexts(a.extCommunities)),
}

function parseValues<K>(v: unknown, field: string, kind: ValueKind<K>): K[] {
  const items = list(v, field)
  return items.map((item, i) => {
    const f = fieldPath(field, i)
    const s = valueText(item, f)
    return parsed(f, () => kind.parse(s))
  })
}

function compileValueSetMatch<K>(v: unknown, field: string, kind: ValueKind<K>): Matcher[] {
  const def: Record<string, unknown> = Array.isArray(v) ? { anyOf: v } : object(v, field, ['anyOf', 'allOf', 'noneOf', 'regex'])
  const out: Matcher[] = []
  if (Object.keys(def).length === 0) fail(field, 'expected a list or at least one of anyOf, allOf, noneOf, regex')
  const at = (k: string): string => (Array.isArray(v) ? field : fieldPath(field, k))
  if (def.anyOf !== undefined) {
    const want = parseValues(def.anyOf, at('anyOf'), kind)
    if (want.length === 0) fail(at('anyOf'), `an empty list never matches; give at least one ${kind.label}`)
    out.push((_r, w) => {
      const have = kind.keys(w.attrs)
      for (const k of want) if (have.has(k)) return true
      return false
    })
  }
  if (def.allOf !== undefined) {
    const want = parseValues(def.allOf, at('allOf'), kind)
    out.push((_r, w) => {
      const have = kind.keys(w.attrs)
      for (const k of want) if (!have.has(k)) return false
      return true
    })
  }
  if (def.noneOf !== undefined) {
    const want = parseValues(def.noneOf, at('noneOf'), kind)
    out.push((_r, w) => {
      const have = kind.keys(w.attrs)
      for (const k of want) if (have.has(k)) return false
      return true
    })
  }
  if (def.regex !== undefined) {
    const f = at('regex')
    const src = text(def.regex, f)
    const re = parsed(f, () => {
      try {
        return new RegExp(src)
      } catch (e) {
        throw new Error(`"${src}": not a valid regular expression (${(e as Error).message})`)
      }
    })
    out.push((_r, w) => {
      for (const s of kind.texts(w.attrs)) if (re.test(s)) return true
      return false
    })
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Prefix lists.

/** The RD text of a VPN route's prefix text (`64512:7:10.0.0.0/24` -> `64512:7`). */
export function rdTextOf(prefix: string): string {
  const parts = prefix.split(':', 3)
  return (parts[0] ?? '').startsWith('type') ? parts.join(':') : `${parts[0] ?? ''}:${parts[1] ?? ''}`
}

function compilePrefixList(v: unknown, field: string): Matcher {
  const items = list(v, field)
  if (items.length === 0) fail(field, 'an empty prefix list never matches; give at least one prefix')
  const any = new PrefixMatcher()
  const byRd = new Map<string, PrefixMatcher>()
  items.forEach((item, i) => {
    const f = fieldPath(field, i)
    let entry: PrefixEntry
    let rd: string | undefined
    if (typeof item === 'string') entry = parsed(f, () => parsePrefixEntry(item))
    else {
      const o = object(item, f, ['prefix', 'ge', 'le', 'rd'])
      const prefix = text(o.prefix, fieldPath(f, 'prefix'))
      const ge = o.ge === undefined ? undefined : integer(o.ge, fieldPath(f, 'ge'), 0, 128)
      const le = o.le === undefined ? undefined : integer(o.le, fieldPath(f, 'le'), 0, 128)
      entry = parsed(f, () => parsePrefixEntry(prefix, ge, le))
      if (o.rd !== undefined) {
        const rf = fieldPath(f, 'rd')
        const rdText = text(o.rd, rf)
        rd = parsed(rf, () => rdToString(parseRd(rdText)))
      }
    }
    if (rd === undefined) any.add(entry)
    else {
      let m = byRd.get(rd)
      if (m === undefined) byRd.set(rd, (m = new PrefixMatcher()))
      m.add(entry)
    }
  })
  if (byRd.size === 0) return (r) => any.matches(r.address, r.length)
  return (r) => {
    if (any.matches(r.address, r.length)) return true
    if (!isVpn(r.family)) return false
    const m = byRd.get(rdTextOf(r.prefix))
    return m !== undefined && m.matches(r.address, r.length)
  }
}

// ---------------------------------------------------------------------------------------------
// Next hops.

/** Bytes of a RouteAttributes next hop text (the global address of `global,link-local`). */
const nextHopCache = new Map<string, Uint8Array | null>()
function nextHopBytes(nh: string): Uint8Array | null {
  let b = nextHopCache.get(nh)
  if (b === undefined) {
    const comma = nh.indexOf(',')
    b = tryParseAddress(comma < 0 ? nh : nh.slice(0, comma))?.bytes ?? null
    // Next hops are few (peers, vRouters); the bound only guards against a pathological feed.
    if (nextHopCache.size > 65536) nextHopCache.clear()
    nextHopCache.set(nh, b)
  }
  return b
}

function compileNextHopMatch(v: unknown, field: string): Matcher {
  const items = typeof v === 'string' ? [v] : list(v, field)
  if (items.length === 0) fail(field, 'an empty list never matches; give at least one prefix or address')
  const m = new PrefixMatcher()
  items.forEach((item, i) => {
    const f = typeof v === 'string' ? field : fieldPath(field, i)
    const s = text(item, f)
    const withLen = s.includes('/') ? s : `${s}/${ipFamilyOf(s) === 6 ? 128 : 32}`
    const e = parsed(f, () => parsePrefixEntry(withLen))
    // "In the prefix": any host address inside it, i.e. route length = full width.
    const max = e.bytes.length * 8
    m.add({ ...e, ge: max, le: max })
  })
  return (_r, w) => {
    const b = nextHopBytes(w.nextHop)
    return b !== null && m.matches(b, b.length * 8)
  }
}

interface NextHopValue {
  readonly text: string
  /** IPv4 as uint32 (for the NEXT_HOP attribute), or -1. */
  readonly v4: number
}

function nextHopValue(s: string, field: string): NextHopValue {
  const a = tryParseAddress(s.trim())
  if (a === undefined) fail(field, `${JSON.stringify(s)} is not an IPv4 or IPv6 address`)
  return { text: a.text, v4: a.family === 4 ? ipv4Word(a.bytes) : -1 }
}

function compileSetNextHop(v: unknown, field: string, options: CompileOptions): Action {
  const s = text(v, field)
  let v4: NextHopValue | undefined
  let v6: NextHopValue | undefined
  if (s.trim().toLowerCase() === 'self') {
    const self = options.selfNextHop
    if (self === undefined) fail(field, '"self" needs the selfNextHop compile option (the local address of the session)')
    if (typeof self === 'string') v4 = v6 = nextHopValue(self, 'selfNextHop')
    else {
      v4 = self.ipv4 === undefined ? undefined : nextHopValue(self.ipv4, 'selfNextHop.ipv4')
      v6 = self.ipv6 === undefined ? undefined : nextHopValue(self.ipv6, 'selfNextHop.ipv6')
      if (v4 === undefined && v6 === undefined) fail(field, '"self" needs selfNextHop.ipv4 or selfNextHop.ipv6')
    }
  } else {
    v4 = v6 = nextHopValue(s, field)
  }
  const forV4 = v4 ?? v6
  const forV6 = v6 ?? v4
  return (r, w) => {
    const nh = (familyAfi(r.family) === Afi.Ipv6 ? forV6 : forV4) as NextHopValue
    if (w.nextHop !== nh.text) {
      w.nextHop = nh.text
    }
    // The NEXT_HOP attribute (IPv4 unicast) follows when the route has one and the new hop is IPv4.
    if (nh.v4 >= 0 && w.attrs.nextHop !== undefined && w.attrs.nextHop !== nh.v4) {
      w.attrs = { ...w.attrs, nextHop: nh.v4 }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Matches.

const matchKeys = [
  'family',
  'prefixList',
  'routeTarget',
  'community',
  'largeCommunity',
  'extCommunity',
  'asPath',
  'asPathLength',
  'nextHop',
  'med',
  'localPref',
  'origin',
] as const
const originCodes: Record<string, number> = { igp: 0, egp: 1, incomplete: 2 }

function compileMatch(v: unknown, field: string): { matchers: Matcher[]; usesPrefix: boolean } {
  const m = object(v, field, matchKeys) as Record<keyof MatchDef, unknown>
  const out: Matcher[] = []
  let usesPrefix = false
  if (m.family !== undefined) {
    const f = fieldPath(field, 'family')
    const keys = new Set(typeof m.family === 'string' ? [parseFamily(m.family, f)] : list(m.family, f).map((x, i) => parseFamily(x, fieldPath(f, i))))
    if (keys.size === 0) fail(f, 'an empty list never matches; give at least one family')
    out.push((r) => keys.has(r.family))
  }
  if (m.prefixList !== undefined) {
    out.push(compilePrefixList(m.prefixList, fieldPath(field, 'prefixList')))
    usesPrefix = true
  }
  if (m.routeTarget !== undefined) out.push(...compileValueSetMatch(m.routeTarget, fieldPath(field, 'routeTarget'), routeTargetKind))
  if (m.community !== undefined) out.push(...compileValueSetMatch(m.community, fieldPath(field, 'community'), communityKind))
  if (m.largeCommunity !== undefined) out.push(...compileValueSetMatch(m.largeCommunity, fieldPath(field, 'largeCommunity'), largeKind))
  if (m.extCommunity !== undefined) out.push(...compileValueSetMatch(m.extCommunity, fieldPath(field, 'extCommunity'), extKind))
  if (m.asPath !== undefined) {
    const f = fieldPath(field, 'asPath')
    const src = text(m.asPath, f)
    const re = parsed(f, () => compileAsPathRegex(src))
    out.push((_r, w) => re.test(w.attrs.asPath === undefined ? '' : asPathTexts(w.attrs.asPath)))
  }
  if (m.asPathLength !== undefined) {
    const f = fieldPath(field, 'asPathLength')
    const o = object(m.asPathLength, f, ['min', 'max'])
    const min = o.min === undefined ? 0 : integer(o.min, fieldPath(f, 'min'), 0, 65535)
    const max = o.max === undefined ? Infinity : integer(o.max, fieldPath(f, 'max'), 0, 65535)
    if (o.min === undefined && o.max === undefined) fail(f, 'give min, max or both')
    if (min > max) fail(f, `min ${min} is greater than max ${max}`)
    out.push((_r, w) => {
      const n = w.attrs.asPath === undefined ? 0 : asPathCount(w.attrs.asPath)
      return n >= min && n <= max
    })
  }
  if (m.nextHop !== undefined) out.push(compileNextHopMatch(m.nextHop, fieldPath(field, 'nextHop')))
  if (m.med !== undefined) {
    const med = integer(m.med, fieldPath(field, 'med'), 0, U32)
    out.push((_r, w) => w.attrs.med === med)
  }
  if (m.localPref !== undefined) {
    const lp = integer(m.localPref, fieldPath(field, 'localPref'), 0, U32)
    out.push((_r, w) => w.attrs.localPref === lp)
  }
  if (m.origin !== undefined) {
    const f = fieldPath(field, 'origin')
    const name = text(m.origin, f)
    const code = originCodes[name.toLowerCase()]
    if (code === undefined) fail(f, `${JSON.stringify(name)} is not an origin (igp, egp, incomplete)`)
    out.push((_r, w) => w.attrs.origin === code)
  }
  return { matchers: out, usesPrefix }
}

// ---------------------------------------------------------------------------------------------
// Actions.

/** How one list-valued attribute is read, keyed and written back. */
interface ListKind<T, K> {
  readonly label: string
  parse(text: string): T
  key(v: T): K
  get(a: PathAttributes): readonly T[] | undefined
  put(a: PathAttributes, list: readonly T[]): PathAttributes
  /** Which current values `set` replaces (the others are kept): all, or route targets only. */
  inDomain(v: T): boolean
}

function putList<P extends 'communities' | 'largeCommunities' | 'extCommunities'>(prop: P) {
  return (a: PathAttributes, l: PathAttributes[P] & readonly unknown[]): PathAttributes => {
    const next: Mutable<PathAttributes> = { ...a }
    if (l.length === 0) delete next[prop]
    else next[prop] = Object.freeze(l) as Mutable<PathAttributes>[P]
    return next
  }
}

const communityList: ListKind<number, number> = {
  label: 'community',
  parse: parseCommunity,
  key: (c) => c,
  get: (a) => a.communities,
  put: putList('communities'),
  inDomain: () => true,
}
const largeList: ListKind<LargeCommunity, string> = {
  label: 'large community',
  parse: parseLargeCommunity,
  key: largeCommunityToString,
  get: (a) => a.largeCommunities,
  put: putList('largeCommunities'),
  inDomain: () => true,
}
const extList: ListKind<ExtendedCommunity, string> = {
  label: 'extended community',
  parse: parseExtCommunity,
  key: extCommunityToString,
  get: (a) => a.extCommunities,
  put: putList('extCommunities'),
  inDomain: () => true,
}
const routeTargetList: ListKind<ExtendedCommunity, string> = {
  ...extList,
  label: 'route target',
  parse: parseRouteTarget,
  inDomain: (c) => c.kind === 'route-target',
}

/** The list edit as a pure function of the current list; returns the same list when nothing changes. */
function listEditor<T, K>(kind: ListKind<T, K>, set: readonly T[] | undefined, remove: readonly T[], add: readonly T[]): (cur: readonly T[]) => readonly T[] {
  const removeKeys = new Set(remove.map(kind.key))
  return (cur) => {
    let next: T[] = set === undefined ? [...cur] : [...cur.filter((c) => !kind.inDomain(c)), ...set]
    if (removeKeys.size > 0) next = next.filter((c) => !removeKeys.has(kind.key(c)))
    if (add.length > 0) {
      const have = new Set(next.map(kind.key))
      for (const a of add) {
        const k = kind.key(a)
        if (!have.has(k)) {
          have.add(k)
          next.push(a)
        }
      }
    }
    if (next.length === cur.length && next.every((c, i) => kind.key(c) === kind.key(cur[i] as T))) return cur
    return next
  }
}

function compileListEdit<T, K>(v: unknown, field: string, kind: ListKind<T, K>): Action {
  const o = object(v, field, ['set', 'add', 'remove']) as Record<keyof ListEditDef, unknown>
  if (o.set === undefined && o.add === undefined && o.remove === undefined) fail(field, 'give set, add or remove')
  const values = (x: unknown, f: string): T[] =>
    x === undefined ? [] : list(x, f).map((item, i) => parsed(fieldPath(f, i), () => kind.parse(valueText(item, fieldPath(f, i)))))
  // `set` lists each value once, whatever the configuration repeats.
  const setKeys = new Set<K>()
  const set = o.set === undefined ? undefined : values(o.set, fieldPath(field, 'set')).filter((x) => !setKeys.has(kind.key(x)) && setKeys.add(kind.key(x)))
  const remove = values(o.remove, fieldPath(field, 'remove'))
  const add = values(o.add, fieldPath(field, 'add'))
  // Adding and removing the same value is a contradiction better caught here than at 3 a.m.
  const removed = new Set(remove.map(kind.key))
  add.forEach((a, i) => {
    if (removed.has(kind.key(a))) fail(fieldPath(fieldPath(field, 'add'), i), `${kind.label} ${JSON.stringify(String(kind.key(a)))} is also in remove`)
  })
  const edit = listEditor(kind, set, remove, add)
  return (_r, w) => {
    const cur = kind.get(w.attrs) ?? EMPTY_LIST
    const next = edit(cur)
    if (next !== cur) {
      w.attrs = kind.put(w.attrs, next)
    }
  }
}

function compileMed(v: unknown, field: string): Action {
  let compute: (cur: number | undefined) => number
  if (typeof v === 'number') {
    const value = integer(v, field, 0, U32)
    compute = () => value
  } else {
    const o = object(v, field, ['add', 'subtract'])
    if ((o.add === undefined) === (o.subtract === undefined)) fail(field, 'give a value, { add: N } or { subtract: N }')
    const delta = o.add !== undefined ? integer(o.add, fieldPath(field, 'add'), 0, U32) : -integer(o.subtract, fieldPath(field, 'subtract'), 0, U32)
    compute = (cur) => Math.min(U32, Math.max(0, (cur ?? 0) + delta))
  }
  return (_r, w) => {
    const next = compute(w.attrs.med)
    if (next !== w.attrs.med) {
      w.attrs = { ...w.attrs, med: next }
    }
  }
}

/** AS_PATH with `asn` prepended `count` times (into the leading AS_SEQUENCE, or a new one). */
export function prependAsPath(path: AsPath | undefined, asn: number, count: number): AsPath {
  const add = new Array<number>(count).fill(asn)
  const first = path?.[0]
  const rest = path ?? []
  if (first !== undefined && first.type === AsSegment.Sequence) {
    const seg: AsPathSegment = Object.freeze({ type: AsSegment.Sequence, asns: Object.freeze([...add, ...first.asns]) })
    return Object.freeze([seg, ...rest.slice(1)])
  }
  const seg: AsPathSegment = Object.freeze({ type: AsSegment.Sequence, asns: Object.freeze(add) })
  return Object.freeze([seg, ...rest])
}

function compilePrepend(v: unknown, field: string, options: CompileOptions): Action {
  let asn: number | undefined
  let count = 1
  if (typeof v === 'number') asn = integer(v, field, 1, U32)
  else {
    const o = object(v, field, ['asn', 'count'])
    if (o.asn !== undefined) asn = integer(o.asn, fieldPath(field, 'asn'), 1, U32)
    if (o.count !== undefined) count = integer(o.count, fieldPath(field, 'count'), 1, 32)
  }
  if (asn === undefined) {
    if (options.localAs === undefined) fail(fieldPath(field, 'asn'), 'no asn given and no localAs compile option to default to')
    asn = integer(options.localAs, 'localAs', 1, U32)
  }
  const a = asn
  return (_r, w) => {
    w.attrs = { ...w.attrs, asPath: prependAsPath(w.attrs.asPath, a, count) }
  }
}

const setKeys = ['localPref', 'med', 'nextHop', 'asPathPrepend', 'community', 'largeCommunity', 'extCommunity', 'routeTarget'] as const

function compileSet(v: unknown, field: string, options: CompileOptions): Action[] {
  const s = object(v, field, setKeys) as Record<keyof SetDef, unknown>
  const out: Action[] = []
  if (s.localPref !== undefined) {
    const lp = integer(s.localPref, fieldPath(field, 'localPref'), 0, U32)
    out.push((_r, w) => {
      if (w.attrs.localPref !== lp) {
        w.attrs = { ...w.attrs, localPref: lp }
      }
    })
  }
  if (s.med !== undefined) out.push(compileMed(s.med, fieldPath(field, 'med')))
  if (s.nextHop !== undefined) out.push(compileSetNextHop(s.nextHop, fieldPath(field, 'nextHop'), options))
  if (s.asPathPrepend !== undefined) out.push(compilePrepend(s.asPathPrepend, fieldPath(field, 'asPathPrepend'), options))
  if (s.community !== undefined) out.push(compileListEdit(s.community, fieldPath(field, 'community'), communityList))
  if (s.largeCommunity !== undefined) out.push(compileListEdit(s.largeCommunity, fieldPath(field, 'largeCommunity'), largeList))
  if (s.extCommunity !== undefined) out.push(compileListEdit(s.extCommunity, fieldPath(field, 'extCommunity'), extList))
  if (s.routeTarget !== undefined) out.push(compileListEdit(s.routeTarget, fieldPath(field, 'routeTarget'), routeTargetList))
  return out
}

// ---------------------------------------------------------------------------------------------
// Terms and the policy.

function compileTerm(v: unknown, field: string, options: CompileOptions): CompiledTerm {
  const t = object(v, field, ['name', 'match', 'set', 'action']) as Record<keyof TermDef, unknown>
  const name = t.name === undefined ? field : text(t.name, fieldPath(field, 'name'))
  const { matchers, usesPrefix } = t.match === undefined ? { matchers: [], usesPrefix: false } : compileMatch(t.match, fieldPath(field, 'match'))
  const list = t.set === undefined ? [] : compileSet(t.set, fieldPath(field, 'set'), options)
  const actions = list.length === 0 ? undefined : new ActionMemo(list, (t.set as SetDef).nextHop !== undefined)
  let verdict = VERDICT_NEXT
  if (t.action !== undefined) {
    const f = fieldPath(field, 'action')
    const a = text(t.action, f)
    if (a === 'accept') verdict = VERDICT_ACCEPT
    else if (a === 'reject') verdict = VERDICT_REJECT
    else if (a !== 'next') fail(f, `${JSON.stringify(a)} is not an action (accept, reject, next)`)
  }
  return { name, matchers, actions, verdict, usesPrefix }
}

function parseRouteTargets(v: unknown, field: string): RouteTarget[] {
  const items = list(v, field)
  if (items.length === 0) fail(field, 'an empty list; give at least one route target or leave the field out')
  return items.map((item, i) => {
    const f = fieldPath(field, i)
    const s = valueText(item, f)
    return parsed(f, () => parseRouteTarget(s))
  })
}

const policyKeys = ['terms', 'default', 'routeTargetImport', 'routeTargetExport'] as const

/** Final results per (attribute object, next hop): one frozen RouteAttributes each, shared by every
 * route that ends in that state (so the RIB interns them by identity cheaply). */
class ResultMemo {
  private readonly memo = new WeakMap<PathAttributes, Map<string, RouteAttributes>>()

  get(w: Work, given: RouteAttributes): RouteAttributes {
    if (w.attrs === given.attrs && w.nextHop === given.nextHop) return given
    let inner = this.memo.get(w.attrs)
    if (inner === undefined) {
      inner = new Map()
      this.memo.set(w.attrs, inner)
    }
    let r = inner.get(w.nextHop)
    if (r === undefined) {
      r = Object.freeze({ attrs: w.attrs, nextHop: w.nextHop })
      inner.set(w.nextHop, r)
    }
    return r
  }
}

/**
 * Compiles a policy definition. `where` is the configuration path of `def` (e.g.
 * `peers[0].import`), prefixed to every error's field. Throws PolicyError.
 */
export function compilePolicy(def: PolicyDef | unknown, where: string, options: CompileOptions = {}): CompiledPolicy {
  const d = object(def, where === '' ? '(policy)' : where, policyKeys) as Record<keyof PolicyDef, unknown>
  const terms: CompiledTerm[] =
    d.terms === undefined ? [] : list(d.terms, fieldPath(where, 'terms')).map((t, i) => compileTerm(t, fieldPath(fieldPath(where, 'terms'), i), options))
  let defaultVerdict: 'accept' | 'reject' = 'accept'
  if (d.default !== undefined) {
    const f = fieldPath(where, 'default')
    const s = text(d.default, f)
    if (s !== 'accept' && s !== 'reject') fail(f, `${JSON.stringify(s)} is not accept or reject`)
    defaultVerdict = s
  }
  const importKeys =
    d.routeTargetImport === undefined ? undefined : new Set(parseRouteTargets(d.routeTargetImport, fieldPath(where, 'routeTargetImport')).map(routeTargetKey))
  let exportTargets: ActionMemo | undefined
  if (d.routeTargetExport !== undefined) {
    const edit = listEditor(routeTargetList, undefined, [], parseRouteTargets(d.routeTargetExport, fieldPath(where, 'routeTargetExport')))
    exportTargets = new ActionMemo(
      [
        (_r, w) => {
          const cur = w.attrs.extCommunities ?? EMPTY_LIST
          const next = edit(cur)
          if (next !== cur) w.attrs = routeTargetList.put(w.attrs, next)
        },
      ],
      false,
    )
  }
  const results = new ResultMemo()
  const acceptByDefault = defaultVerdict === 'accept'
  const perAttributeSet = !terms.some((t) => t.usesPrefix)
  const w: Work = { attrs: {}, nextHop: '' }

  const accepted = (route: RouteInfo, given: RouteAttributes): RouteAttributes => {
    if (exportTargets !== undefined && isVpn(route.family)) exportTargets.run(route, w)
    return results.get(w, given)
  }

  const apply = (route: RouteInfo, given: RouteAttributes): RouteAttributes | null => {
    if (importKeys !== undefined && isVpn(route.family)) {
      const have = routeTargetKeys(given.attrs)
      let hit = false
      for (const k of have) {
        if (importKeys.has(k)) {
          hit = true
          break
        }
      }
      if (!hit) return null
    }
    // One scratch Work per policy: evaluation is synchronous and never re-enters the same policy.
    w.attrs = given.attrs
    w.nextHop = given.nextHop
    terms: for (let i = 0; i < terms.length; i++) {
      const t = terms[i] as CompiledTerm
      for (let j = 0; j < t.matchers.length; j++) if (!(t.matchers[j] as Matcher)(route, w)) continue terms
      if (t.actions !== undefined) t.actions.run(route, w)
      if (t.verdict === VERDICT_ACCEPT) return accepted(route, given)
      if (t.verdict === VERDICT_REJECT) return null
    }
    return acceptByDefault ? accepted(route, given) : null
  }
  return Object.freeze({ perAttributeSet, apply, where, terms: terms.length, defaultVerdict })
}

/**
 * The route targets a policy imports, for route-target constraint (RFC 4684): what we ask our peers
 * to send. `routeTargetImport` when given. Otherwise, when the default rejects and every accepting
 * term requires route targets (anyOf/allOf) and no term changes route targets before it, the union
 * of those. Otherwise undefined: the policy may accept any route target, so ask for everything (the
 * default membership). The answer may be larger than needed, never smaller.
 */
export function importRouteTargets(def: PolicyDef | unknown, where = 'policy'): RouteTarget[] | undefined {
  compilePolicy(def, where, { selfNextHop: '0.0.0.0', localAs: 1 }) // validates; options only satisfy `self` and prepend
  const d = def as PolicyDef
  if (d.routeTargetImport !== undefined) return d.routeTargetImport.map((s) => parseRouteTarget(s))
  if ((d.default ?? 'accept') === 'accept') return undefined
  const out = new Map<number, RouteTarget>()
  for (const t of d.terms ?? []) {
    if (t.set?.routeTarget !== undefined || t.set?.extCommunity !== undefined) {
      if ((t.action ?? 'next') !== 'reject') return undefined
    }
    if (t.action !== 'accept') continue
    const rt = t.match?.routeTarget
    const required = rt === undefined ? undefined : Array.isArray(rt) ? rt : [...((rt as { anyOf?: string[] }).anyOf ?? []), ...((rt as { allOf?: string[] }).allOf ?? [])]
    if (required === undefined || required.length === 0) return undefined
    for (const s of required as readonly string[]) {
      const r = parseRouteTarget(String(s))
      out.set(routeTargetKey(r), r)
    }
  }
  return [...out.values()]
}
