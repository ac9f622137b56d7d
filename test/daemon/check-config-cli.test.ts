// `gsi-routerd --check-config FILE` as an operator runs it: the shipped example passes (exit 0), a
// file with mistakes fails (exit 1) with one line per problem naming the field path and the reason.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const ROOT = resolve(new URL('../..', import.meta.url).pathname)
const run = (...args: string[]): { status: number | null; out: string } => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/bin/gsi-routerd.ts'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 })
  return { status: r.status, out: `${r.stdout}${r.stderr}` }
}

t.test('the example configuration passes', async (t) => {
  const r = run('--check-config', 'deploy/examples/gsi-routerd.yaml')
  t.equal(r.status, 0, r.out)
  t.match(r.out, /gsi-routerd\.yaml: configuration OK/)
})

t.test('a configuration with mistakes fails naming each field', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gsi-check-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'bad.yaml')
  writeFileSync(file, [
    'nodeAddress: 10.0.1.10',
    'exposed: { routeTargets: ["target:64512"], cidrs: [10.244.0.0/16] }',
    'tgw:',
    '  localAsn: 64512',
    '  connectPeers:',
    '    - { id: cp1, transitGatewayAddress: 10.100.0.1, insideCidrBlocks: [169.254.3.0/29], transitGatewayAsn: 64512 }',
    'controlNodes: { peers: [{ address: 10.0.2.11, asn: 64512 }] }',
    '',
  ].join('\n'))
  const r = run('--check-config', file)
  t.equal(r.status, 1, 'exit 1')
  t.match(r.out, /exposed\.routeTargets\[0\]/, 'the malformed route target is named')
  t.match(r.out, /insideCidrBlocks\[0\][^\n]*169\.254\.3\.0\/29/, 'the reserved inside CIDR is named')
  t.match(r.out, /64512/, 'our AS equal to the TGW AS is named')
})

t.test('a configuration the gateway logic refuses: at start one line naming the field and exit 1; --check-config says the same', async (t) => {
  // In a network namespace of its own: the daemon starts its speakers (loopback only) before the
  // gateway logic reads its options.
  const ns = `gsicc${process.pid % 100000}`
  spawnSync('ip', ['netns', 'add', ns])
  t.teardown(() => { spawnSync('ip', ['netns', 'del', ns]) })
  spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up'])
  const dir = mkdtempSync(join(tmpdir(), 'gsi-start-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'no-exposed.yaml')
  writeFileSync(file, [
    'nodeAddress: 127.0.0.1',
    'dataplane: none',
    `api: { socket: ${join(dir, 'api.sock')} }`,
    'tgw: { localAsn: 65001, connectPeers: [{ id: cp1, transitGatewayAddress: 127.0.0.9, insideCidrBlocks: [169.254.6.0/29], transitGatewayAsn: 64512 }] }',
    'controlNodes: { peers: [{ address: 127.0.0.2, asn: 64512 }] }',
    '',
  ].join('\n'))
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', join(ROOT, 'src/bin/gsi-routerd.ts'), '--config', file], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 })
  t.equal(r.status, 1, 'exit 1 (not a time-out: the process ends by itself)')
  t.match(r.stderr, new RegExp(`^gsi-routerd: ${file.replace(/[.]/g, '\\.')}: exposed\\.routeTargets: at least one route target is required\\n`, 'm'), 'the field in the file\'s terms')
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace')
  const c = run('--check-config', file)
  t.equal(c.status, 1, '--check-config refuses it too: it agrees with a start')
  t.match(c.out, `${file}: exposed.routeTargets: at least one route target is required`)
})
