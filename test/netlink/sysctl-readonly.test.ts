/**
 * The sysctl writers' errors where /proc/sys is read-only, as it is in an unprivileged container:
 * the message must name EROFS and the decision that fixes it (gsi-routerd runs privileged), not
 * "run as root" (the container already runs as root). The writer runs in a network namespace the
 * test creates, in a private mount namespace where /proc/sys is re-mounted read-only, exactly the
 * mount a container runtime gives an unprivileged container. A control run without the read-only
 * mount sets the same value, so the failure comes from the mount and nothing else.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { createNetns } from '../kernel/lib/index.js'

const run = promisify(execFile)
const sysctl = fileURLToPath(new URL('../../src/netlink/sysctl.ts', import.meta.url))
const script = `import(${JSON.stringify(sysctl)}).then(m => m.setRpFilter('lo', 2)).then(
  () => console.log(JSON.stringify({ ok: true })), e => console.log(JSON.stringify({ ok: false, message: e.message })))`

async function setRpFilterIn(ns: string, readOnly: boolean): Promise<{ ok: boolean; message?: string }> {
  const mount = readOnly ? 'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && ' : ''
  const { stdout } = await run('ip', [
    'netns', 'exec', ns, 'unshare', '--mount', '--propagation', 'private',
    'sh', '-c', `${mount}exec "$@"`, 'sh', process.execPath, '--import', 'tsx', '-e', script,
  ], { timeout: 60_000 })
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { ok: boolean; message?: string }
}

t.test('read-only /proc/sys: the error says EROFS and that gsi-routerd must run privileged', async t => {
  const ns = await createNetns(t, 'sro')
  const control = await setRpFilterIn(ns.name, false)
  t.same(control, { ok: true }, 'control: with /proc/sys writable the same write works')
  const r = await setRpFilterIn(ns.name, true)
  t.equal(r.ok, false)
  t.match(r.message, /^cannot set net\.ipv4\.conf\.lo\.rp_filter: \/proc\/sys\/net\/ipv4\/conf\/lo\/rp_filter is read-only \(EROFS\)/)
  t.match(r.message, /gsi-routerd must run privileged \(securityContext\.privileged: true, as in deploy\/daemonset\.yaml\)/)
  t.notMatch(r.message, /run as root/)
})
