#!/bin/sh
# Stage 2 of the test VM (see scripts/vm/run.mjs): PID 1 after switch_root into the host's root,
# mounted read-only over 9p. Loads the data-plane modules explicitly (the kernel's automatic module
# loading calls /sbin/modprobe before the new root exists, so it cannot be relied on), runs the job the
# host wrote into the read-write share /run/vm, stores its exit status there and powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp TMPDIR=/tmp
mount -t tmpfs -o mode=1777 shm /dev/shm 2>/dev/null || { mkdir -p /dev/shm && mount -t tmpfs -o mode=1777 shm /dev/shm; }
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
for m in ip_gre fou ipip mpls_router mpls_iptunnel vrf veth dummy; do
  modprobe "$m" || echo "vm: modprobe $m failed" >/dev/ttyS2
done
ip link set lo up
# Job output goes to two serial ports that qemu connects to the host runner's stdout and stderr; raw
# mode so that "\n" is not turned into "\r\n".
stty -F /dev/ttyS1 raw -echo 2>/dev/null
stty -F /dev/ttyS2 raw -echo 2>/dev/null
echo booted > /run/vm/booted
sh /run/vm/job.sh </dev/null >/dev/ttyS1 2>/dev/ttyS2
echo $? > /run/vm/exit-code
sync
echo o > /proc/sysrq-trigger
sleep 30
