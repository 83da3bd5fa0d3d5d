#!/usr/bin/env bash
# The container step of the test suite (scripts/test.sh runs it after the
# package tests): installs podman and buildah if missing, builds the Node base
# image and the TrainFS images offline (and the etcd image of compose-ha.yaml),
# and runs the smoke test.
# Prints one result line, "containers: passed|failed|skipped (...)", and exits
# 0 (passed), 1 (failed) or 3 (skipped: this host cannot run containers; the
# reason is printed). TRAINFS_SKIP_CONTAINERS=1 skips it on purpose.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)

skip() {
  echo "containers: skipped ($*)"
  exit 3
}
if [ "${TRAINFS_SKIP_CONTAINERS:-}" = 1 ]; then skip "TRAINFS_SKIP_CONTAINERS=1"; fi
if [ "$(uname -s)" != Linux ]; then skip "containers need Linux; this is $(uname -s)"; fi
if [ "$(id -u)" != 0 ]; then skip "podman is set up here for root (rootful, own storage); running as uid $(id -u)"; fi
if ! command -v podman >/dev/null 2>&1 && ! command -v apt-get >/dev/null 2>&1; then
  skip "podman is not installed and there is no apt-get to install it"
fi

start=$(date +%s)
step() {
  local name=$1
  shift
  echo "containers: $name"
  if ! "$@"; then
    echo "containers: failed at '$name' after $(($(date +%s) - start)) s"
    exit 1
  fi
}
step "install podman and buildah if missing" bash "$here/install-tools.sh"
step "base image" bash "$here/build-node-base.sh"
step "build images" bash "$here/build-images.sh"
step "etcd image (NameNode HA)" bash "$here/build-etcd-image.sh"
step "smoke test" bash "$here/smoke-test.sh"
echo "containers: passed (images built and smoke-tested in $(($(date +%s) - start)) s)"
