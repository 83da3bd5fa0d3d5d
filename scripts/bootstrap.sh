#!/usr/bin/env bash
# Sets up a fresh clone with only Node (>= 20.15) and npm: installs pnpm if it
# is missing, installs the workspace from the lockfile, generates the protobuf
# code and builds every package. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

export TURBO_TELEMETRY_DISABLED=1
PNPM_VERSION=12.21.0

node -e '
const [maj, min] = process.versions.node.split(".").map(Number);
if (maj < 20 || (maj === 20 && min < 15)) {
  console.error(`TrainFS needs Node >= 20.15 (zlib.crc32); this is ${process.version}`);
  process.exit(1);
}'

# Corepack cannot verify pnpm from this registry; plain npm can install it.
if ! command -v pnpm >/dev/null 2>&1; then
  echo "bootstrap: installing pnpm@${PNPM_VERSION} with npm"
  npm install --global --no-fund --no-audit "pnpm@${PNPM_VERSION}"
fi

# playwright-core (browser tests) never downloads a browser; say so anyway.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
pnpm install --frozen-lockfile
pnpm exec turbo run build --output-logs=errors-only
