# syntax=docker/dockerfile:1
# ironlb image: one image for `ironlb controller` and `ironlb speaker`.
#   docker build -t ironlb:latest .
# Base images are pinned to the Node 20 / Debian bookworm line; pin a digest
# (node:20-bookworm-slim@sha256:...) for fully reproducible builds.

# ---- build: TypeScript → dist/, and the N-API addon (AF_PACKET sockets) ----------------------
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Node's own headers ship in the image: node-gyp needs no download.
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY native ./native
COPY src ./src
COPY scripts ./scripts
COPY bench ./bench
COPY test ./test
RUN npm run build:native \
 && node -e "require('./native/build/Release/ironlb_native.node')" \
 && npm run build

# ---- runtime: production dependencies, compiled JavaScript and the addon only ----------------
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force
# The addon is found at native/build/Release/ironlb_native.node above dist/src/net (src/net/native.ts).
COPY --from=build /src/native/build/Release/ironlb_native.node ./native/build/Release/ironlb_native.node
COPY --from=build /src/dist/src ./dist/src
# nobody: the controller runs as is; the speaker's Pod sets runAsUser 0 with every capability
# dropped but NET_RAW (see manifests/speaker.yaml for why).
USER 65534:65534
EXPOSE 7472
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
CMD ["--help"]
