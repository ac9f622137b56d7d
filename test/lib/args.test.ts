/**
 * The shared command-line helper (src/lib/args.ts): flags and defaults parsed, --help and --version
 * before anything else, and every malformed command line a UsageError that names the argument,
 * turned by runCommandLine into the message, the usage and exit status 2.
 */
import t from 'tap'
import { numberOption, parseCommandLine, runCommandLine, UsageError, type CommandLine, type OptionSpecs } from '../../src/lib/args.js'

const cl = {
  program: 'demo',
  usage: 'usage: demo [--port N] [--host ADDR] [--crds PATH]... [--keep]',
  options: {
    port: { type: 'string', short: 'p', default: '8001' },
    host: { type: 'string' },
    crds: { type: 'string', multiple: true },
    keep: { type: 'boolean' },
  },
  version: '1.2.3',
} as const satisfies CommandLine<OptionSpecs>

function run(argv: string[]): { values?: unknown; positionals?: string[]; kind: string } {
  const r = parseCommandLine(cl, argv)
  return r.kind === 'run' ? { kind: r.kind, values: { ...r.values }, positionals: r.positionals } : { kind: r.kind }
}

t.test('flags, inline values, short names, repeats and defaults', async t => {
  t.same(run([]), { kind: 'run', values: { port: '8001' }, positionals: [] }, 'defaults only')
  t.same(run(['--port', '9000', '--host=127.0.0.2', '--crds', 'a', '--crds', 'b', '--keep']),
    { kind: 'run', values: { port: '9000', host: '127.0.0.2', crds: ['a', 'b'], keep: true }, positionals: [] })
  t.same(run(['-p', '7']), { kind: 'run', values: { port: '7' }, positionals: [] }, 'short name')
  t.same(run(['--port=-1']), { kind: 'run', values: { port: '-1' }, positionals: [] }, 'an inline value may start with a dash')
})

t.test('--help wins over everything, --version only where the program has one', async t => {
  t.same(run(['--help']), { kind: 'help' })
  t.same(run(['--bogus', '-h']), { kind: 'help' }, 'help even after an unknown flag')
  t.same(run(['--version']), { kind: 'version' })
  t.same(run(['-V']), { kind: 'version' })
  t.throws(() => parseCommandLine({ program: cl.program, usage: cl.usage, options: cl.options }, ['--version']), new UsageError('unknown option --version'))
  t.throws(() => parseCommandLine({ ...cl, options: { help: { type: 'boolean' } } }, []), /"help" is built in/, 'declaring help is a programming error')
})

t.test('every malformed command line names the argument', async t => {
  const cases: Array<[string[], string]> = [
    [['--bogus'], 'unknown option --bogus'],
    [['--port', '1', '-x'], 'unknown option -x'],
    [['--port'], '--port needs a value'],
    [['--host='], '--host needs a value'],
    [['--host', '--keep'], '--host needs a value (got the option-like "--keep"; write --host=--keep if that is the value)'],
    [['--keep=yes'], '--keep takes no value (got "yes")'],
    [['extra'], 'unexpected argument "extra"'],
    [['--', 'extra'], 'unexpected argument "extra"'],
  ]
  for (const [argv, message] of cases) {
    t.throws(() => parseCommandLine(cl, argv), new UsageError(message), argv.join(' '))
  }
  t.same(parseCommandLine({ ...cl, positionals: true }, ['a', '--', '--keep']), { kind: 'run', values: { port: '8001' }, positionals: ['a', '--keep'] },
    'operands where the program takes them; after -- even flag-like ones')
})

t.test('numberOption: range and integer checks name the flag', async t => {
  t.equal(numberOption('--port', '65535', { min: 0, max: 65535 }), 65535)
  t.equal(numberOption('--retry-period', '0.5', { min: 0.01, max: 10, integer: false }), 0.5)
  t.throws(() => numberOption('--port', '65536', { min: 0, max: 65535 }), new UsageError('--port: "65536" is not an integer in 0..65535'))
  t.throws(() => numberOption('--port', '1.5', { min: 0, max: 65535 }), new UsageError('--port: "1.5" is not an integer in 0..65535'))
  t.throws(() => numberOption('--port', ' ', { min: 0, max: 65535 }), new UsageError('--port: " " is not an integer in 0..65535'), 'blank is not zero')
  t.throws(() => numberOption('--lease', 'soon', { min: 0.1, max: 3600, integer: false }), new UsageError('--lease: "soon" is not a number in 0.1..3600'))
})

t.test('runCommandLine: output and exit status', async t => {
  const io = (): { out: string[]; err: string[]; sink: { stdout: (s: string) => void; stderr: (s: string) => void } } => {
    const out: string[] = []
    const err: string[] = []
    return { out, err, sink: { stdout: s => { out.push(s) }, stderr: s => { err.push(s) } } }
  }
  let ran = 0
  const main = (v: { port: string }): number => { ran++; return Number(v.port) === 1 ? 0 : 3 }

  let o = io()
  t.equal(await runCommandLine(cl, ['--help'], main, o.sink), 0)
  t.same(o.out, [cl.usage + '\n'], '--help: usage on stdout')
  t.same(o.err, [])

  o = io()
  t.equal(await runCommandLine(cl, ['--version'], main, o.sink), 0)
  t.same(o.out, ['demo 1.2.3\n'])

  o = io()
  t.equal(await runCommandLine(cl, ['--nope'], main, o.sink), 2, 'unknown flag: exit 2')
  t.same(o.err, [`demo: unknown option --nope\n${cl.usage}\n`], 'message naming the flag, then the usage, on stderr')
  t.same(o.out, [])
  t.equal(ran, 0, 'main not run after a usage error')

  o = io()
  t.equal(await runCommandLine(cl, ['--port', '1'], main, o.sink), 0, 'main runs and its status is returned')
  t.equal(await runCommandLine(cl, ['--port', '2'], main, o.sink), 3)
  t.equal(ran, 2)

  o = io()
  t.equal(await runCommandLine(cl, [], () => { throw new UsageError('--port: too small') }, o.sink), 2, 'a UsageError from main is a usage error too')
  t.match(o.err.join(''), /^demo: --port: too small\nusage: demo/)

  o = io()
  t.equal(await runCommandLine(cl, [], async () => { throw new Error('EADDRINUSE 127.0.0.1:8001') }, o.sink), 1, 'any other failure: exit 1')
  t.match(o.err.join(''), /^demo: Error: EADDRINUSE 127\.0\.0\.1:8001\n/)
  t.notMatch(o.err.join(''), /usage:/, 'no usage for a failure that is not the caller\'s')
})
