/**
 * Command-line parsing shared by every program of the package (gsi-controller, gsi-lab, the two
 * emulators, and the daemon and CLI as they grow): one `node:util` parseArgs underneath, and the same
 * behaviour everywhere:
 *
 * - `--help` / `-h` prints the program's usage on stdout and exits 0, whatever else is on the line;
 *   `--version` / `-V` prints `NAME VERSION` when the program has a version;
 * - an unknown flag, a flag without its value, a value given to a switch, or a positional argument
 *   where none is expected is a usage error naming the argument: `NAME: MESSAGE`, then the usage, on
 *   stderr, exit status 2 (the convention of getopt-based tools, so scripts can tell "you called me
 *   wrong" from "I failed", which exits 1);
 * - values are checked with `numberOption`, whose errors name the flag and the accepted range.
 *
 * A leaf module: it imports nothing of the repository, so any program (and any part) may use it.
 */
import { parseArgs } from 'node:util'

export interface OptionSpec {
  readonly type: 'string' | 'boolean'
  readonly short?: string
  readonly multiple?: boolean
  readonly default?: string | boolean | string[] | boolean[]
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>

type ValueOf<S> = S extends { type: 'boolean' }
  ? (S extends { multiple: true } ? boolean[] : boolean)
  : (S extends { multiple: true } ? string[] : string)

/** The parsed flags: an option with a default always has a value, the others may be absent. */
export type OptionValues<O extends OptionSpecs> = {
  -readonly [K in keyof O]: O[K] extends { default: unknown } ? ValueOf<O[K]> : ValueOf<O[K]> | undefined
}

export interface CommandLine<O extends OptionSpecs> {
  /** The program's name, as messages start with it. */
  readonly program: string
  /** The whole usage text, printed for --help and after every usage error. */
  readonly usage: string
  /** The program's own flags (help and version are added here; do not declare them). */
  readonly options: O
  /** Whether operands (arguments that are not flags) are accepted; default false. */
  readonly positionals?: boolean
  /** Adds --version / -V, printing `program version`. */
  readonly version?: string
}

/** The command line is wrong: the program prints the message and its usage and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

export type ParsedCommandLine<O extends OptionSpecs> =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'run'; readonly values: OptionValues<O>; readonly positionals: string[] }

const builtins = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const

/**
 * Parses `argv` (without node and the script) against the program's flags. Throws UsageError
 * naming the first argument that does not fit.
 */
export function parseCommandLine<O extends OptionSpecs>(cl: CommandLine<O>, argv: readonly string[]): ParsedCommandLine<O> {
  for (const name of Object.keys(cl.options)) {
    if (name === 'help' || name === 'version') throw new Error(`${cl.program}: option "${name}" is built in; do not declare it`)
  }
  const options = { ...cl.options, ...builtins }
  // Non-strict parsing with tokens: parseArgs' own strict errors do not say which argument was
  // wrong in a form we can print, so the checks below are ours, each naming the argument.
  const { values, positionals, tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true })
  if (tokens.some(t => t.kind === 'option' && t.name === 'help')) return { kind: 'help' }
  for (const t of tokens) {
    if (t.kind === 'option-terminator') break
    if (t.kind === 'positional') {
      if (!cl.positionals) throw new UsageError(`unexpected argument "${t.value}"`)
      continue
    }
    const spec: OptionSpec | undefined = Object.hasOwn(options, t.name) ? (options as Record<string, OptionSpec>)[t.name] : undefined
    if (spec === undefined || (t.name === 'version' && cl.version === undefined)) throw new UsageError(`unknown option ${t.rawName}`)
    if (spec.type === 'boolean') {
      if (t.value !== undefined) throw new UsageError(`${t.rawName} takes no value (got "${t.value}")`)
      continue
    }
    if (t.value === undefined || t.value === '') throw new UsageError(`${t.rawName} needs a value`)
    // parseArgs takes the next argument whatever it is; `--server --workers 2` is a forgotten value.
    if (!t.inlineValue && t.value.startsWith('-')) {
      throw new UsageError(`${t.rawName} needs a value (got the option-like "${t.value}"; write ${t.rawName}=${t.value} if that is the value)`)
    }
  }
  if (!cl.positionals && positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`)
  if (values.version === true) return { kind: 'version' }
  delete values.help
  delete values.version
  return { kind: 'run', values: values as unknown as OptionValues<O>, positionals }
}

/**
 * A flag's numeric value within [min, max] (integers only unless `integer: false`); the error names
 * the flag, the text given and the range.
 */
export function numberOption(flag: string, text: string, range: { readonly min: number; readonly max: number; readonly integer?: boolean }): number {
  const integer = range.integer ?? true
  const n = text.trim() === '' ? NaN : Number(text)
  if (!Number.isFinite(n) || n < range.min || n > range.max || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag}: "${text}" is not ${integer ? 'an integer' : 'a number'} in ${range.min}..${range.max}`)
  }
  return n
}

/** Where a program's output goes (tests pass their own). */
export interface ProgramOutput {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
}

const processOutput: ProgramOutput = {
  stdout: text => { process.stdout.write(text) },
  stderr: text => { process.stderr.write(text) },
}

/**
 * Parses the command line and runs `main` with the flags; resolves with the exit status: 0 after
 * --help or --version, 2 on a UsageError (from parsing or thrown by `main` while checking values),
 * 1 on any other error (printed with its stack), else what `main` returns.
 */
export async function runCommandLine<O extends OptionSpecs>(
  cl: CommandLine<O>,
  argv: readonly string[],
  main: (values: OptionValues<O>, positionals: string[]) => number | Promise<number>,
  out: ProgramOutput = processOutput,
): Promise<number> {
  try {
    const parsed = parseCommandLine(cl, argv)
    if (parsed.kind === 'help') {
      out.stdout(cl.usage.endsWith('\n') ? cl.usage : cl.usage + '\n')
      return 0
    }
    if (parsed.kind === 'version') {
      out.stdout(`${cl.program} ${cl.version ?? ''}\n`)
      return 0
    }
    return await main(parsed.values, parsed.positionals)
  } catch (e) {
    if (e instanceof UsageError) {
      out.stderr(`${cl.program}: ${e.message}\n${cl.usage}${cl.usage.endsWith('\n') ? '' : '\n'}`)
      return 2
    }
    out.stderr(`${cl.program}: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`)
    return 1
  }
}
