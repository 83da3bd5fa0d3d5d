#!/usr/bin/env bash
# Installs podman, buildah and what they need on this Debian host, from apt,
# only when one of them is missing (a warm machine skips apt entirely).
# crun is the default runtime but fails on this host's hybrid cgroups, hence runc;
# slirp4netns gives containers a network without touching the host's.
set -euo pipefail
tools=(podman buildah runc slirp4netns newuidmap)
missing=()
for tool in "${tools[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "containers: installing podman, buildah, runc, slirp4netns, uidmap with apt-get (missing: ${missing[*]})"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends podman buildah runc slirp4netns uidmap catatonit >/dev/null
