#!/usr/bin/env bash
# Builds the Sextant image, starts it, indexes a few documents over HTTP and searches them.
# Not part of `npm test` (it needs a container engine and minutes); run it and record the result.
#
#   scripts/container-smoke.sh                  docker, or podman when docker is absent
#   ENGINE=podman scripts/container-smoke.sh
#   BASE_IMAGE=localhost/node20-bookworm scripts/container-smoke.sh   a base image already built
#   MAKE_BASE=1 scripts/container-smoke.sh      make the base first: a mmdebstrap bookworm root with
#                                               this machine's Node 20 and npm (where registry
#                                               images such as node:20-bookworm-slim cannot be pulled)
#   RUNNER=buildah scripts/container-smoke.sh   run the container with `buildah run` (where `podman
#                                               run` cannot set rlimits), network shared with the host
set -euo pipefail
cd "$(dirname "$0")/.."

ENGINE="${ENGINE:-$(command -v docker >/dev/null && echo docker || echo podman)}"
RUNNER="${RUNNER:-$ENGINE}"
IMAGE="${IMAGE:-localhost/sextant:smoke}"
BASE_IMAGE="${BASE_IMAGE:-node:20-bookworm-slim}"
PORT="${PORT:-18080}"
KEY="smoke-admin-key"
say() { printf '[container-smoke %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

if [ "${MAKE_BASE:-0}" = 1 ]; then
  BASE_IMAGE=localhost/node20-bookworm
  root="$(mktemp -d)"
  say "making base image $BASE_IMAGE with mmdebstrap (bookworm) and $(node --version)"
  mmdebstrap --variant=minbase --include=ca-certificates bookworm "$root/rootfs.tar"
  # This machine's Node: the binary, npm (and corepack), and the headers node-gyp compiles the
  # native modules against (it would download them otherwise).
  node_bin="$(readlink -f "$(command -v node)")"
  prefix="$(dirname "$(dirname "$node_bin")")"
  (cd / && tar -cf "$root/node.tar" \
    "${node_bin#/}" "${prefix#/}/bin/npm" "${prefix#/}/bin/npx" "${prefix#/}/lib/node_modules" "${prefix#/}/include/node")
  # This machine's CA bundle too: where a TLS-inspecting proxy stands between it and the npm
  # registry, npm ci inside the build trusts what the host trusts.
  cp /etc/ssl/certs/ca-certificates.crt "$root/host-ca-bundle.crt"
  # node-gyp is pointed at the copied headers (npm_config_nodedir) instead of downloading them.
  cat > "$root/Containerfile" <<BASE
FROM scratch
ADD rootfs.tar /
ADD node.tar /
COPY host-ca-bundle.crt /etc/ssl/host-ca-bundle.crt
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca-bundle.crt npm_config_nodedir=$prefix
BASE
  if [ "$ENGINE" = podman ]; then
    podman build --isolation=chroot -t "$BASE_IMAGE" "$root"
  else
    "$ENGINE" build -t "$BASE_IMAGE" "$root"
  fi
  rm -rf "$root"
fi

say "building $IMAGE from base $BASE_IMAGE with $ENGINE"
started=$(date +%s)
if [ "$ENGINE" = podman ]; then
  # Docker image format: the OCI format has no HEALTHCHECK, and podman drops it there.
  podman build --isolation=chroot --network=host --format docker --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$IMAGE" .
else
  "$ENGINE" build --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$IMAGE" .
fi
say "built in $(( $(date +%s) - started )) s"

data="$(mktemp -d)"
chmod 0777 "$data"
cleanup() {
  [ -n "${pid:-}" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  [ -n "${cid:-}" ] && "$ENGINE" rm -f "$cid" >/dev/null 2>&1 || true
  [ -n "${ctr:-}" ] && buildah rm "$ctr" >/dev/null 2>&1 || true
  rm -rf "$data" 2>/dev/null || true
}
trap cleanup EXIT

env_args=(-e "SEXTANT_API_KEYS=$KEY:admin" -e "SEXTANT_PORT=$PORT" -e SEXTANT_THREADS=2)
if [ "$RUNNER" = buildah ]; then
  ctr="$(buildah from "$IMAGE")"
  say "running with buildah run (host network), data in $data"
  buildah run --isolation=chroot --network=host -v "$data:/data" \
    --env "SEXTANT_API_KEYS=$KEY:admin" --env "SEXTANT_PORT=$PORT" --env SEXTANT_THREADS=2 \
    "$ctr" -- /usr/local/bin/sextant-entrypoint serve &
  pid=$!
else
  cid="$("$ENGINE" run -d -p "$PORT:$PORT" -v "$data:/data" "${env_args[@]}" "$IMAGE")"
  say "started container $cid"
fi

url="http://127.0.0.1:$PORT"
auth=(-H "authorization: Bearer $KEY" -H 'content-type: application/json')
for _ in $(seq 1 120); do
  curl -fsS "$url/readyz" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS "$url/healthz"; echo
curl -fsS "$url/readyz"; echo
say "ready after $(( $(date +%s) - started )) s since the build began"

curl -fsS "${auth[@]}" -X POST "$url/v1/collections" -d '{"name": "smoke"}'; echo
curl -fsS "${auth[@]}" -X POST "$url/v1/collections/smoke/documents" -d '{"documents": [
  {"id": "wing", "text": "Flutter of a swept wing at supersonic speed."},
  {"id": "boundary", "text": "Transition of the laminar boundary layer on a flat plate."},
  {"id": "heat", "text": "Heat transfer to a blunt body in hypersonic flow."}
]}'; echo
answer="$(curl -fsS "${auth[@]}" -X POST "$url/v1/collections/smoke/search" -d '{"query": "boundary layer transition", "k": 3}')"
echo "$answer"
first="$(printf '%s' "$answer" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).results[0].id))')"
if [ "$first" != boundary ]; then
  say "FAIL: expected 'boundary' first, got '$first'"
  exit 1
fi
say "PASS: indexed 3 documents and searched them; top hit '$first'"
