/**
 * gsictl's command grammar: the words an operator types (`show bgp summary`, `clear bgp neighbor
 * 169.254.6.2 soft`) turned into one local-API call (src/api/protocol.ts). Keywords may be shortened
 * to any unambiguous prefix, as on Junos and in vtysh (`sh bgp sum`, `sh bgp n 10.0.0.10`); an
 * ambiguous or unknown word is refused with the words that would fit. Family names accept the Junos,
 * FRR and canonical spellings (`inet-vpn`, `vpnv4`, `l3vpn-ipv4-unicast`).
 */
import type { Method } from '../api/protocol.js'

export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

export type CommandKind =
  | 'summary' | 'neighbor' | 'route' | 'received-from' | 'advertised-to'
  | 'tunnels' | 'fib' | 'config' | 'gateway' | 'clear' | 'log-level'

export interface Command {
  readonly kind: CommandKind
  readonly method: Method
  readonly params: Record<string, unknown>
}

/** Family spellings operators know, to familyName()'s canonical names. Exact words only: `inet`
 * is a prefix of `inet6`, so families are never abbreviated. */
export const FAMILY_ALIASES: Readonly<Record<string, string>> = {
  'ipv4': 'ipv4-unicast', 'inet': 'ipv4-unicast', 'ipv4-unicast': 'ipv4-unicast', 'inet.0': 'ipv4-unicast',
  'ipv6': 'ipv6-unicast', 'inet6': 'ipv6-unicast', 'ipv6-unicast': 'ipv6-unicast', 'inet6.0': 'ipv6-unicast',
  'vpnv4': 'l3vpn-ipv4-unicast', 'inet-vpn': 'l3vpn-ipv4-unicast', 'ipv4-vpn': 'l3vpn-ipv4-unicast', 'l3vpn-ipv4-unicast': 'l3vpn-ipv4-unicast', 'bgp.l3vpn.0': 'l3vpn-ipv4-unicast',
  'vpnv6': 'l3vpn-ipv6-unicast', 'inet6-vpn': 'l3vpn-ipv6-unicast', 'ipv6-vpn': 'l3vpn-ipv6-unicast', 'l3vpn-ipv6-unicast': 'l3vpn-ipv6-unicast', 'bgp.l3vpn-inet6.0': 'l3vpn-ipv6-unicast',
  'rtc': 'rtc', 'route-target': 'rtc', 'rtarget': 'rtc', 'bgp.rtarget.0': 'rtc',
  'ipv4-labeled-unicast': 'ipv4-labeled-unicast', 'ipv6-labeled-unicast': 'ipv6-labeled-unicast',
}

/** The commands, one per line, as --help lists them. */
export const COMMAND_LINES = [
  'show bgp summary',
  'show bgp neighbor [ADDRESS|NAME]',
  'show bgp route [FAMILY] [PREFIX|ADDRESS] [--rd RD] [--limit N | --all]',
  'show bgp route received-from PEER [FAMILY] [PREFIX]',
  'show bgp route advertised-to PEER [FAMILY] [PREFIX]',
  'show tunnels',
  'show fib [PREFIX|ADDRESS] [--limit N | --all]',
  'show config',
  'show gateway',
  'clear bgp neighbor ADDRESS|NAME [soft]',
  'set log-level fatal|error|warn|info|debug|trace|silent',
]

/** Resolves `word` against the keywords allowed here: exact, else the one keyword it begins. */
function keyword(word: string | undefined, choices: readonly string[], after: string): string {
  const where = after === '' ? '' : ` after "${after}"`
  if (word === undefined) throw new UsageError(`incomplete command: expected ${choices.join(' | ')}${where}`)
  const w = word.toLowerCase()
  if (choices.includes(w)) return w
  const fits = choices.filter(c => c.startsWith(w))
  // `neighbor` and `neighbors` are one keyword.
  const distinct = [...new Set(fits.map(c => c.replace(/s$/, '')))]
  if (distinct.length === 1) return fits[0] as string
  if (fits.length > 1) throw new UsageError(`ambiguous "${word}"${where}: ${fits.join(' | ')}`)
  throw new UsageError(`unknown word "${word}"${where}: expected ${choices.join(' | ')}`)
}

const looksLikeAddress = (w: string): boolean => /^[0-9a-fA-F:.]+(\/\d+)?$/.test(w) && /[.:]/.test(w)

function noMore(words: readonly string[], i: number, what: string): void {
  if (words.length > i) throw new UsageError(`unexpected "${words.slice(i).join(' ')}" after "${what}"`)
}

/** FAMILY and PREFIX words of a route listing, in either order. */
function routeFilters(words: readonly string[], i: number, what: string): Record<string, unknown> {
  const params: Record<string, unknown> = {}
  for (const w of words.slice(i)) {
    const family = FAMILY_ALIASES[w.toLowerCase()]
    if (family !== undefined && params.family === undefined) params.family = family
    else if (looksLikeAddress(w) && params.prefix === undefined) params.prefix = w
    else {
      throw new UsageError(`"${w}" after "${what}" is neither a family (${Object.keys(FAMILY_ALIASES).filter(k => !k.includes('.')).join(', ')}) nor a prefix`)
    }
  }
  return params
}

/** Parses the command words (options already taken out). */
export function parseCommand(words: readonly string[]): Command {
  const verb = keyword(words[0], ['show', 'clear', 'set'], '')
  if (verb === 'set') {
    keyword(words[1], ['log-level'], 'set')
    const level = words[2]
    if (level === undefined) throw new UsageError('incomplete command: expected a level after "set log-level"')
    noMore(words, 3, `set log-level ${level}`)
    return { kind: 'log-level', method: 'set.log-level', params: { level: level.toLowerCase() } }
  }
  if (verb === 'clear') {
    keyword(words[1], ['bgp'], 'clear')
    keyword(words[2], ['neighbor', 'neighbors'], 'clear bgp')
    const address = words[3]
    if (address === undefined) throw new UsageError('incomplete command: expected an address after "clear bgp neighbor"')
    let soft = false
    if (words[4] !== undefined) {
      keyword(words[4], ['soft'], `clear bgp neighbor ${address}`)
      soft = true
    }
    noMore(words, 5, `clear bgp neighbor ${address} soft`)
    return { kind: 'clear', method: 'clear.bgp.neighbor', params: { address, soft } }
  }
  const what = keyword(words[1], ['bgp', 'tunnels', 'fib', 'config', 'gateway'], 'show')
  if (what === 'fib') {
    const prefix = words[2]
    if (prefix !== undefined && !looksLikeAddress(prefix)) throw new UsageError(`"${prefix}" after "show fib" is not a prefix or an address`)
    noMore(words, 3, `show fib ${prefix ?? ''}`.trimEnd())
    return { kind: 'fib', method: 'show.fib', params: prefix !== undefined ? { prefix } : {} }
  }
  if (what !== 'bgp') {
    noMore(words, 2, `show ${what}`)
    const method = `show.${what}` as Method
    return { kind: what as CommandKind, method, params: {} }
  }
  const sub = keyword(words[2], ['summary', 'neighbor', 'neighbors', 'route', 'routes'], 'show bgp')
  if (sub === 'summary') {
    noMore(words, 3, 'show bgp summary')
    return { kind: 'summary', method: 'show.bgp.summary', params: {} }
  }
  if (sub.startsWith('neighbor')) {
    noMore(words, 4, 'show bgp neighbor ADDRESS')
    return { kind: 'neighbor', method: 'show.bgp.neighbor', params: words[3] !== undefined ? { address: words[3] } : {} }
  }
  const next = words[3]
  if (next !== undefined && FAMILY_ALIASES[next.toLowerCase()] === undefined && !looksLikeAddress(next)) {
    const dir = keyword(next, ['received-from', 'advertised-to'], 'show bgp route')
    const peer = words[4]
    if (peer === undefined) throw new UsageError(`incomplete command: expected a peer after "show bgp route ${dir}"`)
    const view = dir === 'received-from' ? 'received' : 'advertised'
    return { kind: dir as CommandKind, method: 'show.bgp.route', params: { view, peer, ...routeFilters(words, 5, `${dir} ${peer}`) } }
  }
  return { kind: 'route', method: 'show.bgp.route', params: routeFilters(words, 3, 'show bgp route') }
}
