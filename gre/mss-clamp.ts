/**
 * TCP MSS clamping on the tunnels (docs/domain.md section 2: the TGW carries 8,500 bytes and sends no
 * ICMP "fragmentation needed", so path MTU discovery cannot work through it; SYNs must carry an MSS
 * that fits). Done with nftables: one table of ours, `inet gsi_router`, whose forward chain sets the
 * MSS option of SYNs leaving a GRE link (`gsig*`) or an MPLSoUDP tunnel (`gsim*`) to the route's
 * MTU minus the headers (`tcp option maxseg size set rt mtu`).
 *
 * The table is replaced atomically in one `nft -f -` transaction (add, delete, define), so rules are
 * never missing in between and a second run converges on the same table. Where `nft` or the kernel's
 * nf_tables is missing, `applyMssClamp` says so instead of failing the GRE setup.
 */
import { spawn } from 'node:child_process'

export const NFT_TABLE = 'gsi_router'

export type MssClampState =
  | { readonly state: 'active'; readonly method: 'nftables'; readonly interfaces: readonly string[] }
  | { readonly state: 'unavailable'; readonly reason: string }
  | { readonly state: 'off' }

/** The nft script: interface patterns are our link name prefixes with a wildcard. */
export function mssClampRuleset(patterns: readonly string[]): string {
  for (const p of patterns) if (!/^[A-Za-z0-9_.-]{1,15}\*?$/.test(p)) throw new Error(`mss clamp: bad interface pattern "${p}"`)
  const rules = patterns.map(p => `    oifname "${p}" tcp flags syn / syn,rst counter tcp option maxseg size set rt mtu`)
  return [
    `add table inet ${NFT_TABLE}`,
    `delete table inet ${NFT_TABLE}`,
    `table inet ${NFT_TABLE} {`,
    '  chain mss_clamp {',
    '    type filter hook forward priority mangle; policy accept;',
    ...rules,
    '  }',
    '}',
    '',
  ].join('\n')
}

interface RunResult { code: number | null; stdout: string; stderr: string; spawnError?: NodeJS.ErrnoException }

/** How to run nft: argv prefix, e.g. `['nft']` or `['ip', 'netns', 'exec', 'ns1', 'nft']`. */
export type NftCommand = readonly [string, ...string[]]

function run(nft: NftCommand, args: readonly string[], input: string, timeoutMs = 10_000): Promise<RunResult> {
  return new Promise(resolve => {
    const child = spawn(nft[0], [...nft.slice(1), ...args], { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs })
    let stdout = '', stderr = ''
    child.stdout.on('data', d => { stdout += d })
    child.stderr.on('data', d => { stderr += d })
    child.on('error', (err: NodeJS.ErrnoException) => resolve({ code: null, stdout, stderr, spawnError: err }))
    child.on('close', code => resolve({ code, stdout, stderr }))
    child.stdin.on('error', () => undefined)
    child.stdin.end(input)
  })
}

/** Installs (or replaces) the clamp table. Never throws: a missing nft or nf_tables is reported. */
export async function applyMssClamp(patterns: readonly string[] = ['gsig*', 'gsim*'], nft: NftCommand = ['nft']): Promise<MssClampState> {
  const r = await run(nft, ['-f', '-'], mssClampRuleset(patterns))
  if (r.spawnError) {
    return { state: 'unavailable', reason: r.spawnError.code === 'ENOENT' ? `${nft[0]} not found: install nftables to clamp TCP MSS on the tunnels` : `${nft[0]}: ${r.spawnError.message}` }
  }
  if (r.code !== 0) {
    const msg = r.stderr.trim().split('\n')[0] ?? ''
    const hint = /Operation not supported|No such file or directory|Protocol not supported/.test(r.stderr) ? ' (kernel modules nf_tables/nft_exthdr/nft_rt missing?)' : ''
    return { state: 'unavailable', reason: `nft failed (exit ${r.code}): ${msg}${hint}` }
  }
  return { state: 'active', method: 'nftables', interfaces: patterns }
}

/** Removes the clamp table; true when it existed. */
export async function removeMssClamp(nft: NftCommand = ['nft']): Promise<boolean> {
  const r = await run(nft, ['-f', '-'], `add table inet ${NFT_TABLE}\ndelete table inet ${NFT_TABLE}\n`)
  return r.code === 0 && !r.spawnError
}

/** Packets clamped so far, summed over the rules (from the counters), or undefined without nft. */
export async function mssClampPackets(nft: NftCommand = ['nft']): Promise<number | undefined> {
  const r = await run(nft, ['list', 'table', 'inet', NFT_TABLE], '')
  if (r.code !== 0 || r.spawnError) return undefined
  let n = 0
  for (const m of r.stdout.matchAll(/counter packets (\d+)/g)) n += Number(m[1])
  return n
}
