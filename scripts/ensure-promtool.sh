#!/usr/bin/env bash
# The shipped alert rules (deploy/monitoring) are checked and unit-tested with
# promtool, from Debian's prometheus package. Installs it when missing (as
# root, as on CI and the developers' machines); the server it also brings is
# never started here.
set -euo pipefail
if command -v promtool >/dev/null 2>&1; then exit 0; fi
echo "ensure-promtool: installing Debian's prometheus package for promtool"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends prometheus || { apt-get update && apt-get install -y --no-install-recommends prometheus; }
