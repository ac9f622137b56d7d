# gsi-router image: gsi-routerd (node daemon), gsi-controller and gsictl from one package.
# Node 22 (package.json engines). Stage 1 builds the TypeScript and the native addons (ours in native/,
# raw-socket, sockopt need a compiler);
# stage 2 keeps only the production node_modules and the compiled JavaScript, on a slim base with the
# iproute2/nftables tools an operator expects when exec'ing into the pod. Only production code is
# compiled (tsconfig.build.json): the EC2 and Kubernetes emulators, the lab and the benchmarks are
# built by `npm run build:lab` for development and never enter the image.

FROM node:22-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/node22-env.sh scripts/build-native.sh ./scripts/
COPY src ./src
COPY bgp ./bgp
COPY gre ./gre
COPY mplsoudp ./mplsoudp
COPY controller ./controller
COPY native ./native
# The emulators' sources come with controller/ but tsconfig.build.json leaves them out; delete them
# anyway so nothing can compile them by accident. The addon (native/: TCP-MD5, GTSM, SO_BINDTODEVICE,
# the netlink socket, huge pages) compiles against the image's Node headers with npm's node-gyp.
RUN rm -rf controller/emulator src/bin/gsi-lab.ts src/lab \
    && npm run build:prod && npm run build:native && npm prune --omit=dev

FROM node:22-bookworm-slim AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends iproute2 nftables kmod \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/native/build/Release/gsi_native.node ./native/build/Release/gsi_native.node
COPY deploy/crds ./deploy/crds
# The programs by name on PATH (the DaemonSet's command is `gsi-routerd`).
RUN chmod +x dist/src/bin/gsi-routerd.js dist/src/bin/gsi-controller.js dist/src/bin/gsictl.js \
    && ln -s /app/dist/src/bin/gsi-routerd.js /usr/local/bin/gsi-routerd \
    && ln -s /app/dist/src/bin/gsi-controller.js /usr/local/bin/gsi-controller \
    && ln -s /app/dist/src/bin/gsictl.js /usr/local/bin/gsictl
ENV NODE_ENV=production
# The DaemonSet runs `gsi-routerd` as root in a privileged container (its sysctl writes need a
# writable /proc/sys; deploy/daemonset.yaml says why); the controller Deployment runs
# `.../gsi-controller.js` with runAsUser 1000 (the image's `node` user) set in its securityContext.
ENTRYPOINT ["node"]
CMD ["dist/src/bin/gsi-routerd.js", "--help"]
