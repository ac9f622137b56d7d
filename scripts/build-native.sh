#!/bin/sh
# Builds the project's N-API addon (native/ -> native/build/Release/gsi_native.node) with node-gyp
# against the headers of the Node that runs this script (run through scripts/node22-env.sh, that is
# Node 22; npm_config_nodedir, when set, names the same headers). No headers are downloaded.
set -eu
nodedir=${npm_config_nodedir:-$(node -p "require('path').resolve(process.execPath, '../..')")}
# Run as `npm run build:native`, npm puts its own node-gyp in PATH; run directly, the one in
# node_modules/.bin serves.
PATH="$PATH:$(pwd)/node_modules/.bin"
exec node-gyp rebuild --directory=native --nodedir="$nodedir"
