#!/usr/bin/env bash
# One command from a fresh clone to a running local cluster: a NameNode and
# three DataNodes on 127.0.0.1 (ports 9870 and 9866-9868), data and logs in
# .trainfs/local, in the foreground until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec node tools/testkit/dist/local-cluster.js "$@"
