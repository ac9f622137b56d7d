# gsi-router image: gsi-routerd (node daemon), gsi-controller and gsictl from one package.
# Stage 1 builds the TypeScript and the native addons (netlink, raw-socket, sockopt need a compiler);
# stage 2 keeps only the production node_modules and the compiled JavaScript, on a slim base with the
# iproute2/nftables tools an operator expects when exec'ing into the pod. Only production code is
# compiled (tsconfig.build.json): the EC2 and Kubernetes emulators, the lab and the benchmarks are
# built by `npm run build:lab` for development and never enter the image.

FROM node:20-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bgp ./bgp
COPY gre ./gre
COPY mplsoudp ./mplsoudp
COPY controller ./controller
COPY native ./native
# The emulators' sources come with controller/ but tsconfig.build.json leaves them out; delete them
# anyway so nothing can compile them by accident. The TCP-MD5/GTSM addon (native/) compiles against
# the image's Node headers with npm's node-gyp.
RUN rm -rf controller/emulator src/bin/gsi-lab.ts \
    && npm run build:prod && npm run build:native && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends iproute2 nftables kmod \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/native/build/Release/gsi_native.node ./native/build/Release/gsi_native.node
COPY deploy/crds ./deploy/crds
ENV NODE_ENV=production
# The DaemonSet runs `node dist/src/bin/gsi-routerd.js` as root with only NET_ADMIN and NET_RAW (netlink
# changes need them; a non-root user would lose the capabilities); the controller Deployment runs
# `.../gsi-controller.js` with runAsUser 1000 (the image's `node` user) set in its securityContext.
ENTRYPOINT ["node"]
CMD ["dist/src/bin/gsi-routerd.js", "--help"]
