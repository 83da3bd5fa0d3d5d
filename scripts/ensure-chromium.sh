#!/usr/bin/env bash
# The console's browser tests drive Debian's chromium with playwright-core,
# which never downloads a browser of its own. Installs the package when it is
# missing (as root, as on CI and the developers' machines).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
echo "ensure-chromium: installing Debian's chromium for the browser tests"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends chromium || { apt-get update && apt-get install -y --no-install-recommends chromium; }
