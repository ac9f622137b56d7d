#!/usr/bin/env bash
# `npm run image`: builds the project's container image on this machine, without a Docker engine.
#
# 1. scripts/image/base.sh makes (or finds, cached by its inputs) the local base images: Debian
#    bookworm from mmdebstrap plus Node 22 from the npm registry.
# 2. `buildah bud` builds the Dockerfile on them (BUILD_BASE, RUNTIME_BASE build arguments), storage
#    driver vfs, isolation chroot. npm ci inside the build reaches the npm registry only, and reads
#    tarballs through the host's npm cache (mounted as a volume, so a machine that ran
#    scripts/setup.sh downloads nothing twice).
#
# The image is tagged localhost/gsi-router:KEY and localhost/gsi-router:local, KEY hashing the base
# images and every file the Dockerfile reads: with nothing changed, a rerun returns at once. Older
# keys' images are removed. The last line printed is the image name.
# GSI_IMAGE_PUBLIC_BASE=1 builds on the Dockerfile's default bases instead (needs their registry).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/image/common.sh
t0=$(date +%s)

build_args=()
base_key=public
if [ "${GSI_IMAGE_PUBLIC_BASE:-0}" != 1 ]; then
  base_out=$(bash scripts/image/base.sh)
  echo "$base_out"
  mapfile -t bases < <(echo "$base_out" | tail -n 2)
  build_args=(--build-arg "RUNTIME_BASE=${bases[0]}" --build-arg "BUILD_BASE=${bases[1]}")
  base_key="${bases[*]}"
fi
# Every file the Dockerfile copies or the build reads (tracked or new, ignored ones excluded).
inputs=(Dockerfile .dockerignore package.json package-lock.json tsconfig.json tsconfig.build.json
  scripts/node22-env.sh scripts/build-native.sh src bgp gre mplsoudp controller native deploy/crds)
key=$( { echo "$base_key"; git ls-files -z -co --exclude-standard -- "${inputs[@]}" | sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-16)
IMAGE=localhost/gsi-router:$key
if have_image "$IMAGE"; then
  echo "image up to date: $IMAGE"
else
  volumes=()
  npm_cache=$(sh scripts/node22-env.sh npm config get cache 2>/dev/null || true)
  if [ -n "$npm_cache" ] && [ -d "$npm_cache" ]; then volumes=(--volume "$npm_cache:/root/.npm"); fi
  # A machine whose HTTPS goes through a proxy with its own CA: npm inside the build trusts it too.
  if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
    volumes+=(--volume "$NODE_EXTRA_CA_CERTS:/etc/ssl/build-extra-ca.crt:ro")
    build_args+=(--build-arg NODE_EXTRA_CA_CERTS=/etc/ssl/build-extra-ca.crt)
  fi
  bah bud --pull=never --isolation chroot "${build_args[@]}" "${volumes[@]}" \
    --label org.opencontainers.image.revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
    -t "$IMAGE" -f Dockerfile .
fi
bah tag "$IMAGE" localhost/gsi-router:local
# Older images only take space now: earlier keys' images, then bases no image uses any more
# (base.sh could not remove those while an earlier image still stood on them).
for old in $(bah images --format '{{.Name}}:{{.Tag}}' | grep -E '^localhost/gsi-router:' | grep -vE ":($key|local)\$" || true); do
  bah rmi "$old" >/dev/null 2>&1 || true
done
if [ "$base_key" != public ]; then
  for old in $(bah images --format '{{.Name}}:{{.Tag}}' | grep -E '^localhost/gsi-base-(runtime|build):' || true); do
    case " $base_key " in *" $old "*) ;; *) bah rmi "$old" >/dev/null 2>&1 || true ;; esac
  done
fi
bah rmi --prune >/dev/null 2>&1 || true # untagged: what :local named before
bah images --filter reference=localhost/gsi-router:local
echo "image build took $(( $(date +%s) - t0 )) s"
echo "$IMAGE"
