#!/bin/sh
# Runs a command inside an image's root filesystem (a `buildah mount` directory) the way the
# manifests run the container, for the image checks (test/image/): a mount namespace of its own, the
# root filesystem read-only (readOnlyRootFilesystem), a fresh /proc, the host's /dev and /sys, and
# writable only the directories named with --bind (mounted at the same path inside, standing in for
# the pod's volumes; each must exist in the image). With --user UID:GID the command runs as that user
# with no capabilities and no_new_privs set (runAsUser + capabilities drop ALL +
# allowPrivilegeEscalation false); without it, as root with the caller's capabilities (the
# DaemonSet's privileged container). The network namespace is the caller's, so `ip netns exec NS
# run-in-rootfs.sh ...` puts the program in NS. Every step execs the next: the caller's child is the
# program itself, and signals reach it.
#
#   run-in-rootfs.sh [--user UID:GID] [--workdir DIR] [--bind DIR]... ROOTFS COMMAND [ARGS...]
set -eu
if [ "${1:-}" != --in-namespace ]; then
  exec unshare --mount --propagation private -- sh "$0" --in-namespace "$@"
fi
shift
user= workdir=/ binds=
while [ $# -gt 0 ]; do
  case $1 in
    --user) user=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    --bind) binds="$binds $2"; shift 2 ;;
    --*) echo "run-in-rootfs.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || { echo "run-in-rootfs.sh: usage: [--user UID:GID] [--workdir DIR] [--bind DIR]... ROOTFS COMMAND [ARGS...]" >&2; exit 2; }
root=$1; shift
[ -x "$root/usr/local/bin/node" ] || { echo "run-in-rootfs.sh: $root: not an image root filesystem (no /usr/local/bin/node)" >&2; exit 2; }
mount --bind "$root" "$root"
mount -o remount,bind,ro "$root"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --rbind /sys "$root/sys"
for d in $binds; do
  [ -d "$root$d" ] || { echo "run-in-rootfs.sh: --bind $d: no such directory in the image" >&2; exit 2; }
  mount --rbind "$d" "$root$d"
done
if [ -n "$user" ]; then
  exec setpriv --no-new-privs unshare --root="$root" --wd="$workdir" --setgid "${user#*:}" --setuid "${user%%:*}" -- "$@"
fi
exec unshare --root="$root" --wd="$workdir" -- "$@"
