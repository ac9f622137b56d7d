/**
 * AS_PATH regular expressions in the FRR/Cisco style (`bgp as-path access-list ... permit REGEX`),
 * evaluated over the path's text as asPathToString writes it: ASNs separated by spaces, AS_SETs in
 * `{}`, confederation segments in `()` and `[]` (`65001 65002 {65003 65004}`).
 *
 * The one addition to JavaScript syntax is `_`, which matches a separator: the start or end of the
 * text, a space, or one of `{ } ( ) [ ] ,`. So `_65001_` matches 65001 as a whole ASN anywhere
 * (not 165001), `^65001_` a path whose first ASN is 65001, `_65001$` one that originated in 65001,
 * and `^$` the empty path (a locally originated route). A `_` inside a character class stays literal.
 * The translation is done once at compile time; evaluation is one RegExp.test per attribute set.
 */

/** What `_` stands for. A lookahead/lookbehind would not consume the separator; FRR's does, and
 * patterns like `^65001_65002$` rely on that. */
const SEPARATOR = '(?:^|$|[ {}()\\[\\],])'

/** Translates a FRR-style AS_PATH regex to a RegExp; throws a plain Error (the reason) if invalid. */
export function compileAsPathRegex(pattern: string): RegExp {
  let out = ''
  let inClass = false
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string
    if (c === '\\') {
      out += c + (pattern[i + 1] ?? '')
      i++
      continue
    }
    if (inClass) {
      if (c === ']') inClass = false
      out += c
      continue
    }
    if (c === '[') inClass = true
    out += c === '_' ? SEPARATOR : c
  }
  try {
    return new RegExp(out)
  } catch (e) {
    throw new Error(`"${pattern}": not a valid regular expression (${(e as Error).message})`)
  }
}
