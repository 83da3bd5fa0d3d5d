#!/usr/bin/env bash
# One command from a fresh clone to a running local cluster: a NameNode and
# three DataNodes on 127.0.0.1 (ports 9870 and 9866-9868), data and logs in
# .trainfs/local, in the foreground until Ctrl-C. With --ha: a 3-member etcd
# (Debian's etcd-server, installed here when missing), two NameNodes (one
# active, one standby) and the rest, data in .trainfs/local-ha.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
for arg in "$@"; do
  if [ "$arg" = "--ha" ]; then bash scripts/ensure-etcd.sh; fi
done
exec node tools/testkit/dist/local-cluster.js "$@"
