#!/usr/bin/env node
/**
 * `npm run test:kernel`: the kernel test files (test/kernel/*.test.ts, or those named as arguments;
 * `npm run test:lab` names test/lab/lab.test.ts, the lab's own run).
 *
 * They need ip_gre, fou, ipip, mpls_router, mpls_iptunnel, vrf and dummy. If this host's kernel has
 * them (probed by creating each kind of link, a fou port and an MPLS sysctl in a throwaway network
 * namespace), tap runs here; otherwise the files run inside the project's qemu VM (scripts/vm/run.mjs),
 * which boots Debian's kernel with the host root shared read-only, under scripts/vm/tap-lite.mjs (a
 * light TAP runner: tap's CLI costs minutes under emulation; GSI_VM_RUNNER=tap to use it anyway). GSI_KERNEL_TESTS=vm or =host forces
 * the choice. The TAP stream is passed through as it comes and ends with tap's
 * `# { total: N, pass: N, fail: N }` line, which scripts/run-tests.mjs reads. Exit status is non-zero
 * when a test failed, when the VM did not boot or when the run exceeded its time bound (20 minutes by
 * default, GSI_KERNEL_TIMEOUT seconds): those are failures, never skips.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { ensureNode22 } from './node22.mjs'
import { repoRoot, runInVm } from './vm/run.mjs'

// The VM runs the Node that runs this script (its binary is on the host root the VM mounts): Node 22.
await ensureNode22()

// 30 min: the suite takes about 20 beside the host suite (the lab's own run is 4 of them)
const timeoutSec = Number(process.env.GSI_KERNEL_TIMEOUT ?? 1800)

/** True when this kernel can do everything the kernel tests need, checked in a throwaway netns. */
export function hostHasKernelFeatures() {
  const ns = `gsi-probe-${process.pid}`
  const ip = (...a) => spawnSync('ip', ['-n', ns, ...a], { stdio: 'ignore' }).status === 0
  if (spawnSync('ip', ['netns', 'add', ns], { stdio: 'ignore' }).status !== 0) return false
  try {
    for (const m of ['ip_gre', 'fou', 'ipip', 'mpls_router', 'mpls_iptunnel', 'vrf', 'dummy', 'veth']) {
      spawnSync('modprobe', [m], { stdio: 'ignore' })
    }
    return ip('link', 'add', 'p-gre', 'type', 'gre', 'local', '127.0.0.1', 'remote', '127.0.0.2')
      && ip('link', 'add', 'p-ipip', 'type', 'ipip', 'mode', 'mplsip', 'local', '127.0.0.1', 'remote', '127.0.0.2',
        'encap', 'fou', 'encap-sport', 'auto', 'encap-dport', '6635')
      && ip('fou', 'add', 'port', '6635', 'ipproto', '137')
      && ip('link', 'add', 'p-vrf', 'type', 'vrf', 'table', '100')
      && ip('link', 'add', 'p-dummy', 'type', 'dummy')
      && spawnSync('ip', ['netns', 'exec', ns, 'sh', '-c', 'echo 16 > /proc/sys/net/mpls/platform_labels'],
        { stdio: 'ignore' }).status === 0
  } finally {
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' })
  }
}

function testFiles(args) {
  if (args.length) return args
  // The lab's own run (test/lab/) is not among them: npm test runs it as a suite of its own, in a VM
  // of its own, once the others are done (scripts/run-tests.mjs says why)
  const dir = join(repoRoot, 'test', 'kernel')
  return existsSync(dir) ? readdirSync(dir).filter(f => f.endsWith('.test.ts')).sort().map(f => `test/kernel/${f}`) : []
}

async function main() {
  process.chdir(repoRoot)
  const files = testFiles(process.argv.slice(2))
  if (!files.length) {
    console.log('# no kernel test files\n# { total: 0, pass: 0, fail: 0 }')
    return
  }
  // Tests that run the real programs (gsi-routerd in test/kernel/daemon-dataplane.test.ts, the lab in
  // test/lab/lab.test.ts) run them bundled (scripts/bundle.mjs): compiling the sources under the
  // VM's emulated CPU would take minutes per start, and even the built dist/ tree is thousands of
  // files read over 9p (5,300 file look-ups for gsi-routerd against 190 for its bundle). The bundles
  // need the lab's build too (gsi-lab is one of them).
  // GSI_KERNEL_BUILT=1 (scripts/run-tests.mjs, for the lab's suite once the kernel suite has built
  // both) skips the build; a failed build then shows as the lab test's missing bundle.
  const configs = ['tsconfig.build.json', 'tsconfig.lab.json']
  const built = process.env.GSI_KERNEL_BUILT === '1'
  const build = built ? { status: 0 } : configs.map(c => spawnSync(process.execPath, [join('node_modules', 'typescript', 'bin', 'tsc'), '-p', c], { stdio: 'inherit' })).find(r => r.status !== 0) ?? { status: 0 }
  const bundled = built ? build : build.status === 0 ? spawnSync(process.execPath, [join('scripts', 'bundle.mjs')], { stdio: 'inherit' }) : build
  if (build.status !== 0 || bundled.status !== 0) {
    console.log(`not ok - the build (tsc -p ${configs.join(', ')}, scripts/bundle.mjs) failed: the kernel tests need dist/ and dist/bundle/`)
    console.log('# { total: 1, pass: 0, fail: 1 }')
    process.exitCode = 1
    return
  }
  const tap = [join('node_modules', '.bin', 'tap'), '--reporter=tap', ...files]
  const mode = process.env.GSI_KERNEL_TESTS ?? (hostHasKernelFeatures() ? 'host' : 'vm')
  console.log(`# kernel tests: ${files.length} file(s) on ${mode === 'host' ? 'this host\'s kernel' : 'the qemu VM (Debian kernel)'}`)
  const started = Date.now()
  let code
  if (mode === 'host') {
    const child = spawn(tap[0], tap.slice(1), { stdio: 'inherit' })
    const timer = setTimeout(() => { console.log(`# kernel tests TIMED OUT after ${timeoutSec} s`); child.kill('SIGKILL') }, timeoutSec * 1000)
    code = await new Promise(res => child.on('close', (c, sig) => res(sig ? 1 : c ?? 1)))
    clearTimeout(timer)
  } else {
    // In the VM, tap's CLI and its TypeScript loader cost minutes of emulated CPU: the light runner
    // (scripts/vm/tap-lite.mjs) runs the same files with the same TAP output and summary line.
    // GSI_VM_RUNNER=tap uses tap's CLI there too.
    const command = process.env.GSI_VM_RUNNER === 'tap' ? tap : [process.execPath, 'scripts/vm/tap-lite.mjs', ...files]
    ;({ code } = await runInVm({ command, timeoutSec }))
    if (code === 124 || code === 125) {
      // Make sure the run counts as failed even if the VM died before tap printed its summary.
      console.log(`not ok - kernel test VM ${code === 124 ? 'timed out' : 'failed to boot or died'} (see stderr)`)
      console.log('# { total: 1, pass: 0, fail: 1 }')
    }
  }
  console.error(`# kernel tests finished in ${((Date.now() - started) / 1000).toFixed(1)} s, exit ${code}`)
  process.exitCode = code === 0 ? 0 : 1
}

await main()
