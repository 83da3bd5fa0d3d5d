#!/usr/bin/env bash
# The S3 gateway's tests drive real clients from Debian (aws, rclone, s3cmd,
# boto3) and mount a bucket with `rclone mount` and `s3fs` (FUSE). Installs the packages
# that are missing (as root, as on CI and the developers' machines); the
# package index is refreshed only when a first install fails. The tests look
# for Debian's binaries in /usr/bin first, so a user's own aws or python
# elsewhere on PATH does not stand in for them.
set -euo pipefail
missing=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in awscli rclone s3cmd python3-boto3 s3fs; do
  have "$pkg" || missing+=("$pkg")
done
# rclone mount needs fusermount3 (fuse3) or fusermount (fuse).
if ! have fuse3 && ! have fuse; then missing+=(fuse3); fi
if [ "${#missing[@]}" -eq 0 ]; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-s3-tools: no apt-get here; the S3 tool tests will skip, saying why (missing: ${missing[*]})"
  exit 0
fi
echo "ensure-s3-tools: installing ${missing[*]} for the S3 gateway's tool tests"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends "${missing[@]}" || { apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"; }
