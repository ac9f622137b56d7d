#!/usr/bin/env bash
# One-time set-up on a fresh Debian machine of this kind (run as root): the Debian packages the tests,
# the lab and the benchmarks use (real BGP daemons, qemu and a Debian kernel for the kernel tests,
# tshark), then the npm packages (native ones built from source: see allowScripts in package.json),
# then the TypeScript build.
set -euo pipefail
cd "$(dirname "$0")/.."
DEBS=(gobgpd frr bird2 exabgp tshark qemu-system-x86 linux-image-amd64 busybox-static iproute2 tcpdump nftables kmod)
missing=()
for p in "${DEBS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian daemons start themselves on install; the tests run their own instances in namespaces.
for s in frr bird gobgpd exabgp; do systemctl disable --now "$s" >/dev/null 2>&1 || true; pkill -x "$s" 2>/dev/null || true; done
npm ci --no-audit --no-fund
npm run build
