#!/usr/bin/env bash
# NameNode high availability keeps its log and leadership in etcd; the HA
# tests, the HA local cluster (scripts/cluster.sh --ha) and the HA bench start
# Debian's etcd (/usr/bin/etcd, with etcdctl) as members of their own on
# loopback. Installs etcd-server and etcd-client when missing (as root, as on
# CI and the developers' machines); the package index is refreshed only when a
# first install fails, and an apt run in progress is waited for (up to 5
# minutes) rather than failed on. Quiet when both are present.
set -euo pipefail
missing=()
[ -x /usr/bin/etcd ] || missing+=(etcd-server)
[ -x /usr/bin/etcdctl ] || missing+=(etcd-client)
if [ "${#missing[@]}" -eq 0 ]; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-etcd: no apt-get here; install etcd (/usr/bin/etcd and /usr/bin/etcdctl) yourself (missing: ${missing[*]}); the HA tests skip, saying why" >&2
  exit 0
fi
echo "ensure-etcd: installing ${missing[*]} for NameNode high availability"
export DEBIAN_FRONTEND=noninteractive
# The package's own service (if an init system runs one) is not used: every
# member is started by TrainFS's tools with its own ports and data directory.
apt=(apt-get -o DPkg::Lock::Timeout=300 -y --no-install-recommends)
"${apt[@]}" install "${missing[@]}" || { apt-get -o DPkg::Lock::Timeout=300 update && "${apt[@]}" install "${missing[@]}"; }
