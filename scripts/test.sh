#!/usr/bin/env bash
# One command from a fresh clone to the whole test suite: set-up, protobuf
# lint and generation, build, type checks and every package's tests (the
# console's in Debian's headless chromium, the S3 gateway's with Debian's aws,
# rclone, s3cmd, boto3 and an rclone FUSE mount, and the alert rules with
# promtool, the HA tests with Debian's etcd, all installed here when missing), then
# the container images built and smoke-tested (scripts/containers/ci.sh; it
# skips, saying why, where the host cannot run containers).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/ensure-chromium.sh
bash scripts/ensure-s3-tools.sh
bash scripts/ensure-promtool.sh
bash scripts/ensure-etcd.sh
export TURBO_TELEMETRY_DISABLED=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
pnpm exec turbo run lint typecheck test --concurrency=1 --output-logs=full 2>&1 | tee "$log" || status=$?
containers=0
bash scripts/containers/ci.sh 2>&1 | tee -a "$log" || containers=$?
case "$containers" in
  0 | 3) ;;
  *) status=1 ;;
esac
# One closing line for the whole suite, summed over every package's vitest run.
sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '
  /^[^ ]*:test: +Tests +/ {
    for (i = 1; i <= NF; i++) {
      if ($(i) ~ /^passed/) passed += $(i - 1)
      if ($(i) ~ /^failed/) failed += $(i - 1)
    }
  }
  /^containers: passed/ { passed += 1 }
  /^containers: failed/ { failed += 1 }
  /^containers: skipped/ { skipped += 1 }
  END {
    if (skipped) printf "%d passed, %d failed, %d skipped\n", passed, failed, skipped
    else printf "%d passed, %d failed\n", passed, failed
  }'
exit "$status"
