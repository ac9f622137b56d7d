#!/bin/sh
# buildah on the project's image store (storage driver vfs, its own directory: scripts/image/common.sh),
# for hands and for test/image/: `sh scripts/image/buildah.sh images`.
set -eu
cd "$(dirname "$0")/../.."
. scripts/image/common.sh
bah "$@"
