/**
 * Builds the VM's initramfs at run time: a newc cpio archive (the format the kernel unpacks, see
 * Documentation/driver-api/early-userspace/buffer-format.rst) holding busybox-static, the virtio/9p
 * kernel modules in dependency order (read from the kernel's own modules.dep) and a tiny /init that
 * mounts the host root over 9p read-only and switch_roots into the stage-2 script named on the kernel
 * command line (`vminit=`). The archive is cached under <repo>/.vm/ keyed by kernel version and by the
 * hash of everything that goes into it, so only the first run pays for it (well under a second).
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { join } from 'node:path'

/** Modules the initramfs needs before it can mount the host root (their dependencies are added). */
const BOOT_MODULES = ['virtio_pci', '9pnet_virtio', '9p']

/** Resolves `wanted` and their dependencies, in an order where each module follows what it needs. */
export function moduleLoadOrder(modulesDep, wanted) {
  const deps = new Map()
  for (const line of modulesDep.split('\n')) {
    const i = line.indexOf(':')
    if (i < 0) continue
    const path = line.slice(0, i)
    deps.set(moduleName(path), { path, needs: line.slice(i + 1).trim().split(/\s+/).filter(Boolean) })
  }
  const order = []
  const seen = new Set()
  const visit = name => {
    if (seen.has(name)) return
    seen.add(name)
    const d = deps.get(name)
    if (!d) throw new Error(`kernel module ${name} is not in modules.dep: is linux-image-amd64 complete?`)
    for (const p of d.needs) visit(moduleName(p))
    order.push({ name, path: d.path })
  }
  for (const w of wanted) visit(w)
  return order
}

function moduleName(path) {
  return path.split('/').pop().replace(/\.ko(\.xz|\.zst|\.gz)?$/, '').replaceAll('-', '_')
}

/** One newc entry: 110-byte ASCII header, NUL-terminated name, both padded to 4 bytes, then data. */
function newcEntry(ino, name, mode, data, rdev = [0, 0]) {
  const nameBuf = Buffer.from(name + '\0')
  const f = [ino, mode, 0, 0, 1, 0, data.length, 0, 0, rdev[0], rdev[1], nameBuf.length, 0]
  const head = Buffer.from('070701' + f.map(v => v.toString(16).padStart(8, '0')).join(''))
  const pad = n => Buffer.alloc((4 - (n % 4)) % 4)
  return Buffer.concat([head, nameBuf, pad(head.length + nameBuf.length), data, pad(data.length)])
}

/** The initramfs /init: busybox sh, runs as PID 1 until switch_root. */
function initScript(modules) {
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
${modules.map(m => `insmod /m/${m.name}.ko || echo "vm-init: insmod ${m.name} failed"`).join('\n')}
mkdir -p /newroot
if ! mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /newroot; then
  echo "vm-init: cannot mount the host root over 9p"; echo o > /proc/sysrq-trigger; sleep 10
fi
for a in $(cat /proc/cmdline); do case "$a" in vminit=*) STAGE2="\${a#vminit=}";; vmrepo=*) REPO="\${a#vmrepo=}";; esac; done
mount -t tmpfs -o mode=755 run /newroot/run
mount -t tmpfs -o mode=1777 tmp /newroot/tmp
# A checkout under /tmp or /run (CI clones anywhere) is hidden by the tmpfs just mounted: bring it back
# from its own share, at the same path.
case "$REPO" in /tmp/*|/run/*)
  mkdir -p "/newroot$REPO"
  mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose repo "/newroot$REPO" || echo "vm-init: cannot mount the checkout $REPO"
  ;;
esac
mkdir -p /newroot/run/vm
if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 vmshare /newroot/run/vm; then
  echo "vm-init: cannot mount the result share"; echo o > /proc/sysrq-trigger; sleep 10
fi
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
exec switch_root /newroot /bin/sh "$STAGE2"
`
}

/** Returns the path of a cached initramfs for kernel `kver`, building it first if needed. */
export function buildInitramfs({ cacheDir, kver, busybox = '/bin/busybox' }) {
  const modDir = `/lib/modules/${kver}`
  const order = moduleLoadOrder(readFileSync(join(modDir, 'modules.dep'), 'utf8'), BOOT_MODULES)
  const init = initScript(order)
  const bb = readFileSync(busybox)
  const hash = createHash('sha256').update(init).update(bb)
  const mods = order.map(m => {
    const data = readFileSync(join(modDir, m.path))
    if (!m.path.endsWith('.ko')) throw new Error(`compressed module ${m.path}: busybox insmod needs plain .ko`)
    hash.update(data)
    return { ...m, data }
  })
  const key = hash.digest('hex').slice(0, 16)
  const out = join(cacheDir, `initramfs-${kver}-${key}.cpio.gz`)
  if (existsSync(out)) return out
  const entries = []
  let ino = 1
  const dir = name => entries.push(newcEntry(ino++, name, 0o40755, Buffer.alloc(0)))
  for (const d of ['bin', 'dev', 'proc', 'sys', 'm', 'newroot']) dir(d)
  entries.push(newcEntry(ino++, 'dev/console', 0o20600, Buffer.alloc(0), [5, 1]))
  entries.push(newcEntry(ino++, 'bin/busybox', 0o100755, bb))
  entries.push(newcEntry(ino++, 'init', 0o100755, Buffer.from(init)))
  for (const m of mods) entries.push(newcEntry(ino++, `m/${m.name}.ko`, 0o100644, m.data))
  entries.push(newcEntry(0, 'TRAILER!!!', 0, Buffer.alloc(0)))
  mkdirSync(cacheDir, { recursive: true })
  const tmp = `${out}.${process.pid}.tmp`
  writeFileSync(tmp, gzipSync(Buffer.concat(entries), { level: 1 }))
  renameSync(tmp, out) // atomic: concurrent runs may build the same archive
  return out
}
