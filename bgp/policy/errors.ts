/**
 * The policy engine's one error class. Configuration is validated once, at compile time; every
 * problem names the field path it sits at (`peers[0].import.terms[2].match.prefixList[1]`) and the
 * reason, so an operator can find the line in the YAML without reading code.
 */

export class PolicyError extends Error {
  /** Stable code for logs and tests. */
  readonly code = 'policy-config'
  constructor(
    /** Field path, e.g. `peers[0].import.terms[2].match.prefixList[1]`. */
    readonly field: string,
    /** Why the value is wrong, e.g. `"10.0.0.0/33": prefix length 33 exceeds 32`. */
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`)
    this.name = 'PolicyError'
  }
}

/** A field path builder: `at(base, 'terms', 2)` -> `base.terms[2]`. */
export function fieldPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`
  return base === '' ? key : `${base}.${key}`
}
