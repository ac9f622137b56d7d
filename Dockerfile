# gsi-router image: gsi-routerd (node daemon), gsi-controller and gsictl from one package.
# Node 22 (package.json engines). Stage 1 builds the TypeScript and the native addons (ours in native/,
# raw-socket, sockopt need a compiler);
# stage 2 keeps only the production node_modules and the compiled JavaScript, on a slim base with the
# iproute2/nftables tools an operator expects when exec'ing into the pod. Only production code is
# compiled (tsconfig.build.json): the EC2 and Kubernetes emulators, the lab and the benchmarks are
# built by `npm run build:lab` for development and never enter the image.
#
# The two bases are build arguments. By default the public Node 22 images; where a registry cannot be
# reached, scripts/image/build.sh (`npm run image`) makes local ones from Debian packages and the npm
# registry's Node 22 (scripts/image/base.sh) and builds with buildah, no Docker engine needed:
#   BUILD_BASE    Debian bookworm, Node 22 with its headers in /usr/local/include/node and npm, and
#                 what node-gyp needs (python3, make, g++)
#   RUNTIME_BASE  Debian bookworm, Node 22 as /usr/local/bin/node, user `node` (uid 1000)
# docs/image.md says more.
ARG BUILD_BASE=node:22-bookworm
ARG RUNTIME_BASE=node:22-bookworm-slim

FROM ${BUILD_BASE} AS build
# node-gyp (npm ci's raw-socket and sockopt, then our addon) compiles against the base's own Node
# headers instead of downloading them: the build needs no network but the npm registry.
ENV npm_config_nodedir=/usr/local
# Where HTTPS to the npm registry passes a proxy with a certificate authority of its own, the build
# is given that CA's file and its path here (scripts/image/build.sh does it from the machine's own
# NODE_EXTRA_CA_CERTS). A build argument, so it stays out of the image; empty by default.
ARG NODE_EXTRA_CA_CERTS=
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/node22-env.sh scripts/build-native.sh scripts/bundle.mjs ./scripts/
COPY src ./src
COPY bgp ./bgp
COPY gre ./gre
COPY mplsoudp ./mplsoudp
COPY controller ./controller
COPY native ./native
# The emulators' sources come with controller/ but tsconfig.build.json leaves them out; delete them
# anyway so nothing can compile them by accident. The addon (native/: TCP-MD5, GTSM, SO_BINDTODEVICE,
# the netlink socket, huge pages) compiles against the image's Node headers with npm's node-gyp.
# The three programs are then bundled (scripts/bundle.mjs --prod, esbuild, a dev dependency): one file
# each to parse at start instead of hundreds of modules, 5 MB less resident for the daemon.
RUN rm -rf controller/emulator src/bin/gsi-lab.ts src/lab \
    && npm run build:prod && npm run build:native && node scripts/bundle.mjs --prod && npm prune --omit=dev

FROM ${RUNTIME_BASE} AS runtime
# The local runtime base carries these already; the public slim image gets them from Debian.
RUN missing=; for p in iproute2 nftables kmod; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done; \
    if [ -n "$missing" ]; then apt-get update && apt-get install -y --no-install-recommends $missing \
    && rm -rf /var/lib/apt/lists/*; fi
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/native/build/Release/gsi_native.node ./native/build/Release/gsi_native.node
COPY deploy/crds ./deploy/crds
# The programs by name on PATH, bundled (the DaemonSet's command is `gsi-routerd`). The plain
# dist/src tree stays beside them: the same code module by module, for debugging in the pod.
RUN chmod +x dist/bundle/gsi-routerd.mjs dist/bundle/gsi-controller.mjs dist/bundle/gsictl.mjs \
    && ln -s /app/dist/bundle/gsi-routerd.mjs /usr/local/bin/gsi-routerd \
    && ln -s /app/dist/bundle/gsi-controller.mjs /usr/local/bin/gsi-controller \
    && ln -s /app/dist/bundle/gsictl.mjs /usr/local/bin/gsictl
ENV NODE_ENV=production
# The DaemonSet runs `gsi-routerd` as root in a privileged container (its sysctl writes need a
# writable /proc/sys; deploy/daemonset.yaml says why); the controller Deployment runs
# `node dist/src/bin/gsi-controller.js` (the package's bin) with runAsUser 1000 (the image's `node` user) set in its securityContext.
ENTRYPOINT ["node"]
CMD ["dist/bundle/gsi-routerd.mjs", "--help"]
