/**
 * The sysctls the data plane needs, written through /proc/sys of the current network namespace
 * (Documentation/networking/mpls-sysctl.rst, ip-sysctl.rst): net.mpls.platform_labels (size of the
 * label table; 0 drops all MPLS), net.mpls.conf.<dev>.input (accept MPLS on a device), and
 * net.ipv4.conf.<dev>.rp_filter (strict reverse-path filtering drops asymmetric tunnel traffic).
 *
 * In Kubernetes these writes need a privileged container: /proc/sys is mounted read-only (EROFS) in
 * any other, and per-device settings cannot be made ahead of time by an init container because the
 * tunnels appear at run time. The errors say so (deploy/daemonset.yaml explains the decision).
 */
import { readFile, writeFile } from 'node:fs/promises'

const IFNAME = /^[^\s/:]{1,15}$/

function checkDev(dev: string, field: string): void {
  if (!IFNAME.test(dev) || dev === '.' || dev === '..') throw new Error(`${field}: "${dev}" is not a valid interface name`)
}

async function write(path: string, value: string, what: string, module?: string): Promise<void> {
  try {
    await writeFile(path, value)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') {
      throw new Error(`cannot set ${what}: ${path} does not exist${module ? `; load kernel module ${module} (modprobe ${module}) or check the device name` : '; check the device name'}`)
    }
    if (code === 'EROFS') {
      throw new Error(`cannot set ${what}: ${path} is read-only (EROFS): /proc/sys is mounted read-only in an unprivileged container, ` +
        'whatever its capabilities; gsi-routerd must run privileged (securityContext.privileged: true, as in deploy/daemonset.yaml)')
    }
    if (code === 'EACCES' || code === 'EPERM') {
      throw new Error(`cannot set ${what}: permission denied writing ${path} (${code}); gsi-routerd must run as root, ` +
        'and in Kubernetes privileged (securityContext.privileged: true, as in deploy/daemonset.yaml)')
    }
    throw new Error(`cannot set ${what} (${path}): ${(e as Error).message}`)
  }
}

async function read(path: string, what: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim()
  } catch (e) {
    throw new Error(`cannot read ${what} (${path}): ${(e as Error).message}`)
  }
}

/** net.mpls.platform_labels: labels 0..n-1 can be routed. Needs mpls_router. */
export async function setMplsPlatformLabels(n: number): Promise<void> {
  if (!Number.isInteger(n) || n < 0 || n > 0x100000) throw new Error(`platform_labels: ${n} is not in 0-1048576`)
  await write('/proc/sys/net/mpls/platform_labels', String(n), 'net.mpls.platform_labels', 'mpls_router')
}

export async function getMplsPlatformLabels(): Promise<number> {
  return Number(await read('/proc/sys/net/mpls/platform_labels', 'net.mpls.platform_labels'))
}

/** net.mpls.conf.<dev>.input: whether MPLS packets arriving on `dev` are processed. Needs mpls_router. */
export async function setMplsInput(dev: string, on: boolean): Promise<void> {
  checkDev(dev, 'mpls input dev')
  await write(`/proc/sys/net/mpls/conf/${dev}/input`, on ? '1' : '0', `net.mpls.conf.${dev}.input`, 'mpls_router')
}

export async function getMplsInput(dev: string): Promise<boolean> {
  checkDev(dev, 'mpls input dev')
  return (await read(`/proc/sys/net/mpls/conf/${dev}/input`, `net.mpls.conf.${dev}.input`)) === '1'
}

/** net.ipv4.conf.<dev>.rp_filter: 0 off, 1 strict, 2 loose. The kernel uses max(conf.all, conf.<dev>). */
export async function setRpFilter(dev: string, mode: 0 | 1 | 2): Promise<void> {
  checkDev(dev, 'rp_filter dev')
  if (mode !== 0 && mode !== 1 && mode !== 2) throw new Error(`rp_filter: ${String(mode)} is not 0, 1 or 2`)
  await write(`/proc/sys/net/ipv4/conf/${dev}/rp_filter`, String(mode), `net.ipv4.conf.${dev}.rp_filter`)
}

export async function getRpFilter(dev: string): Promise<number> {
  checkDev(dev, 'rp_filter dev')
  return Number(await read(`/proc/sys/net/ipv4/conf/${dev}/rp_filter`, `net.ipv4.conf.${dev}.rp_filter`))
}

/** Generic write for other sysctls, by /proc/sys relative path segments (no dot splitting). */
export async function setSysctl(segments: readonly string[], value: string | number): Promise<void> {
  if (segments.some(s => s.includes('/') || s === '..' || s === '.' || s === '')) throw new Error(`sysctl: bad path ${segments.join('.')}`)
  await write(`/proc/sys/${segments.join('/')}`, String(value), segments.join('.'))
}
