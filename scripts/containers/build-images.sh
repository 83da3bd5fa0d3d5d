#!/usr/bin/env bash
# Builds the four TrainFS images offline with podman, from the Dockerfiles in
# apps/*, on the local base image (build-node-base.sh):
#   localhost/trainfs-namenode:$TAG, localhost/trainfs-datanode:$TAG, localhost/trainfs-cli:$TAG,
#   localhost/trainfs-s3-gateway:$TAG
# (TAG from TRAINFS_IMAGE_TAG, default "dev"). Each build context is a pruned,
# production-only copy of the app made by `pnpm deploy`, since the base image
# has no npm or pnpm. Expects the workspace built (scripts/bootstrap.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
source "$here/env.sh"
containers_env

base=${TRAINFS_BASE_IMAGE:-$NODE_BASE_IMAGE}
contexts=$(mktemp -d "$TRAINFS_CONTAINERS_DIR/tmp/contexts.XXXXXX")
trap 'rm -rf "$contexts"' EXIT

cd "$repo"
# Cached by turbo when bootstrap just ran; makes the script work on its own too.
TURBO_TELEMETRY_DISABLED=1 pnpm exec turbo run build --output-logs=errors-only >/dev/null

# app folder, package name, image name
for spec in "namenode @trainfs/namenode trainfs-namenode" \
            "datanode @trainfs/datanode trainfs-datanode" \
            "client @trainfs/cli trainfs-cli" \
            "s3-gateway @trainfs/s3-gateway trainfs-s3-gateway"; do
  read -r app pkg image <<<"$spec"
  context="$contexts/$app"
  mkdir -p "$context/volume"
  pnpm --filter "$pkg" deploy --prod "$context/app" >"$contexts/$app-deploy.log" 2>&1 ||
    { cat "$contexts/$app-deploy.log"; echo "containers: pnpm deploy of $pkg failed" >&2; exit 1; }
  # pnpm's lockfile and workspace file for the copy are of no use at run time.
  rm -f "$context/app/pnpm-lock.yaml" "$context/app/pnpm-workspace.yaml"
  [ -f "$context/app/dist/main.js" ] || { echo "containers: $pkg deploy has no dist/main.js" >&2; exit 1; }
  # --format docker keeps HEALTHCHECK, which the OCI format has no field for.
  # --layers=false commits once (one layer over the base) instead of caching
  # each step: faster here, since the fresh context defeats the cache anyway.
  podman build --quiet --layers=false --pull=never --network none --format docker \
    --build-arg "BASE=$base" -f "apps/$app/Dockerfile" -t "localhost/$image:$IMAGE_TAG" "$context" >/dev/null
  size=$(podman image inspect --format '{{.Size}}' "localhost/$image:$IMAGE_TAG")
  echo "containers: built localhost/$image:$IMAGE_TAG ($((size / 1024 / 1024)) MiB)"
done
# A rebuild leaves the previous images untagged; drop them so the storage
# folder does not grow with every run.
podman image prune --force >/dev/null
