// `--check-config`: the shipped example loads through checkConfigFile; a broken copy reports every
// problem with the file name; docs/configuration.md documents exactly the schema's fields, and the
// defaults it quotes are the ones the loader fills in.
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkConfigFile, resolveConfig, schemaFieldPaths } from '../../src/config/index.js'

const ROOT = join(import.meta.dirname, '..', '..')
const EXAMPLE = join(ROOT, 'deploy', 'examples', 'gsi-routerd.yaml')
const DOC = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8')

/** Rows of the "Fields" table: first cell's backticked path -> the default cell. */
function documentedFields(): Map<string, string> {
  const section = DOC.slice(DOC.indexOf('## Fields'), DOC.indexOf('## Validation'))
  const rows = new Map<string, string>()
  for (const line of section.split('\n')) {
    const m = /^\| `([^`]+)` \|(.*)$/.exec(line)
    if (!m) continue
    const cells = m[2]!.split(/(?<!\\)\|/).map(s => s.trim())
    rows.set(m[1]!, cells[1]!)
  }
  return rows
}

t.test('the example file is valid and complete', async t => {
  const r = checkConfigFile(EXAMPLE)
  t.same(r, { ok: true, messages: [`${EXAMPLE}: configuration OK (node 10.0.1.10, 1 Connect peer, 2 control nodes, dataplane kernel)`] })
  // Complete: the example writes every field of the schema (so it shows the whole format).
  const { parse } = await import('yaml')
  const raw = parse(readFileSync(EXAMPLE, 'utf8')) as Record<string, unknown>
  const missing = schemaFieldPaths().filter(p => {
    let v: unknown = raw
    for (const k of p.split('.')) {
      const arr = k.endsWith('[]')
      v = (v as Record<string, unknown> | undefined)?.[arr ? k.slice(0, -2) : k]
      if (arr) v = (v as unknown[] | undefined)?.[0]
    }
    return v === undefined
  })
  // md5 is one of secretRef or file: the example uses the Secret.
  t.same(missing, ['controlNodes.md5.file'])
})

t.test('a broken file: ok false, every problem prefixed with the file name', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'gsi-config-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const bad = join(dir, 'bad.yaml')
  writeFileSync(bad, readFileSync(EXAMPLE, 'utf8')
    .replace('169.254.6.0/29', '169.254.169.248/29')
    .replace('peerAsn: 65000', 'peerAsn: 64512')
    .replace('shutdownPolicy: graceful', 'shutdownPolicy: graceful\nholdTime: 90'))
  t.same(checkConfigFile(bad), { ok: false, messages: [`${bad}: holdTime: unknown field`] }, 'structure first: an unknown key stops before the semantic pass')
  writeFileSync(bad, readFileSync(EXAMPLE, 'utf8').replace('169.254.6.0/29', '169.254.169.248/29').replace('peerAsn: 65000', 'peerAsn: 64512'))
  t.same(checkConfigFile(bad), {
    ok: false,
    messages: [
      `${bad}: tgw.connectPeers[0].peerAsn: 64512 equals tgw.connectPeers[0].transitGatewayAsn: the TGW installs no routes learned over iBGP`,
      `${bad}: tgw.connectPeers[0].insideCidrBlocks[0]: 169.254.169.248/29 is reserved by AWS (169.254.0.0/29-169.254.5.0/29 and 169.254.169.248/29)`,
    ],
  })
  const missing = join(dir, 'missing.yaml')
  const r = checkConfigFile(missing)
  t.equal(r.ok, false)
  t.match(r.messages[0], new RegExp(`^${missing.replace(/[.]/g, '\\.')}: cannot read the file: ENOENT`))
})

t.test('docs/configuration.md documents exactly the schema\'s fields', async t => {
  const documented = [...documentedFields().keys()].sort()
  const schema = schemaFieldPaths().sort()
  t.same(documented.filter(f => !schema.includes(f)), [], 'documented but not in the schema')
  t.same(schema.filter(f => !documented.includes(f)), [], 'in the schema but not documented')
  t.equal(documented.length, schema.length)
})

t.test('the defaults docs/configuration.md quotes are the loader\'s', async t => {
  const minimal = resolveConfig({
    nodeAddress: '10.0.1.10',
    tgw: { localAsn: 65000, connectPeers: [{ id: 'p', transitGatewayAddress: '10.100.0.1', insideCidrBlocks: ['169.254.6.0/29'], transitGatewayAsn: 64512 }] },
    controlNodes: { peers: [{ address: '10.0.2.11', asn: 64512 }] },
  }).config as unknown as Record<string, unknown>
  let checked = 0
  for (const [path, cell] of documentedFields()) {
    const m = /^`([^`<]+)`$/.exec(cell)
    if (!m) continue // required, none, or a rule in words
    const at = (p: string): unknown => {
      let v: unknown = minimal
      for (const k of p.split('.')) {
        const arr = k.endsWith('[]')
        v = (v as Record<string, unknown>)[arr ? k.slice(0, -2) : k]
        if (arr) v = (v as unknown[])[0]
      }
      return v
    }
    const v = at(path)
    let want: unknown
    // A default may name another field (`routerId` defaults to `nodeAddress`).
    if (documentedFields().has(m[1]!)) want = at(m[1]!)
    else try { want = JSON.parse(m[1]!) } catch { want = m[1] }
    t.same(v, want, `${path} defaults to ${m[1]}`)
    checked++
  }
  t.ok(checked >= 25, `${checked} quoted defaults checked`)
})
