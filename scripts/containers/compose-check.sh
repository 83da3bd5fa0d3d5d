#!/usr/bin/env bash
# Brings deploy/compose.yaml up with podman-compose the way docs/deployment.md
# tells an operator to, and checks that the cluster works: 3 live DataNodes in
# `cli admin report`, a put and a get through the `cli` service with sha256 of
# both ends compared, and a client without the token refused. Then `down -v`.
# A separate command, not part of scripts/test.sh: `bash
# scripts/containers/compose-check.sh` (about 30 s with the images built, up to
# 80 s when podman's DNS drops a lookup, see below; installs podman-compose).
#
# Compose networking is podman's bridge (netavark, with aardvark-dns for the
# service names), which sets ip_forward, adds iptables rules and publishes the
# ports. All of it happens inside a throwaway network namespace: podman-compose
# and every podman it runs are started in it (nsenter --net, see below), so the
# host's interfaces, sysctls, firewall and ports 9866-9870 are untouched. The
# compose file and a .env with a fresh secret and token are copied to a temp
# folder; the repo's deploy/ is never written. Everything started (containers,
# volumes, the network, processes left in the namespace, the namespace) is
# removed on exit, success or not.
#
# With --ha it does the same with deploy/compose-ha.yaml (3 etcd members, two
# NameNodes), then kills the active NameNode's container with SIGKILL and
# checks that a new one is elected (the epoch moves on), that the file put
# before reads back and a new put works, and that the killed one, started
# again, rejoins as the standby (about 90 s more).
#
# Exits 0 (passed), 1 (failed) or 3 (skipped: this host cannot run it; why is
# printed). TRAINFS_COMPOSE_CHECK_LOG=<file> keeps podman-compose's output.
set -euo pipefail
ha=0
case "${1:-}" in
  --ha) ha=1 ;;
  "") ;;
  *) echo "usage: compose-check.sh [--ha]" >&2; exit 2 ;;
esac
if [ "$ha" = 1 ]; then
  compose_file=compose-ha.yaml
  servers=(etcd-1 etcd-2 etcd-3 namenode-1 namenode-2 datanode-1 datanode-2 datanode-3 s3-gateway)
  healthchecked=(namenode-1 namenode-2 datanode-1 datanode-2 datanode-3 s3-gateway)
else
  compose_file=compose.yaml
  servers=(namenode datanode-1 datanode-2 datanode-3 s3-gateway)
  healthchecked=("${servers[@]}")
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$here/env.sh"

skip() {
  echo "compose check: skipped ($*)"
  exit 3
}
if [ "$(uname -s)" != Linux ]; then skip "needs Linux; this is $(uname -s)"; fi
if [ "$(id -u)" != 0 ]; then skip "needs root (rootful podman, network namespaces); running as uid $(id -u)"; fi
for tool in ip nsenter; do
  command -v "$tool" >/dev/null 2>&1 || skip "$tool is missing"
done

bash "$here/install-tools.sh"
# podman-compose (Debian: 1.0.3); netavark and aardvark-dns give a Compose
# network whose containers find each other by service name (the CNI backend
# podman otherwise picks here has no DNS without an extra plugin).
missing=()
for tool in podman-compose iptables; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
for helper in netavark aardvark-dns; do [ -x "/usr/lib/podman/$helper" ] || missing+=("$helper"); done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || skip "missing ${missing[*]} and no apt-get to install them"
  echo "compose check: installing podman-compose netavark aardvark-dns iptables with apt-get (missing: ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends podman-compose netavark aardvark-dns iptables >/dev/null
fi

containers_env
state=$(cd "$TRAINFS_CONTAINERS_DIR" && pwd)
for image in trainfs-namenode trainfs-datanode trainfs-cli trainfs-s3-gateway; do
  if ! podman image exists "localhost/$image:$IMAGE_TAG"; then
    echo "compose check: localhost/$image:$IMAGE_TAG is missing, building the images"
    bash "$here/build-node-base.sh"
    bash "$here/build-images.sh"
    break
  fi
done
if [ "$ha" = 1 ] && ! podman image exists "localhost/trainfs-etcd:$IMAGE_TAG"; then
  echo "compose check: localhost/trainfs-etcd:$IMAGE_TAG is missing, building it"
  bash "$here/build-etcd-image.sh"
fi

# The CI config (same storage and quirk fixes) plus a network section: netavark
# explicitly (podman would pick CNI, since the storage already holds images)
# and network definitions kept in the state folder, not /etc/containers.
# conmon's clean-up must read this same file, hence the rewritten path.
conf="$state/compose-containers.conf"
{
  sed "s|@STATE@|$state|g; s|$state/containers.conf|$conf|" "$here/podman/containers.conf.in"
  printf '\n[network]\nnetwork_backend = "netavark"\nnetwork_config_dir = "%s/networks"\n' "$state"
} >"$conf.new"
mv "$conf.new" "$conf"
mkdir -p "$state/networks"
export CONTAINERS_CONF="$conf"

# One project name per run: volumes and containers live in storage shared with
# other runs, and the name keeps them apart (podman-compose 1.0.3 ignores the
# file's `name:`; -p sets it, as `docker compose -p` would).
project="trainfs-check-$$"
ns="trainfs-compose-$$"
work=$(mktemp -d "$state/tmp/compose-check.XXXXXX")
created_ns=0
start=$SECONDS

# Only the network namespace is entered. `ip netns exec` would also give each
# command a private mount namespace, so the overlay and netns mounts podman
# makes in one call would be invisible to the next (down, rm). Without
# systemd podman warns on every container with a health check; the check does
# not need podman's timers, so that line is dropped.
in_ns() { nsenter --net="/run/netns/$ns" "$@" 2> >(grep -v 'unable to get systemd connection' >&2); }
# podman-compose 1.0.3 echoes every podman command it runs on stdout; its
# output is kept in a log and shown on failure.
log="$work/podman-compose.log"
compose() { in_ns podman-compose -p "$project" -f "$work/deploy/$compose_file" "$@"; }
podman() {
  command podman "$@" 2> >(grep -v 'unable to get systemd connection' >&2)
}

cleanup() {
  local status=$?
  set +e
  if [ "$created_ns" = 1 ]; then
    if [ "$status" -ne 0 ]; then
      echo "--- podman-compose output (last 40 lines)"
      tail -n 40 "$log" 2>/dev/null
      for id in $(podman ps -a -q --filter "label=io.podman.compose.project=$project"); do
        echo "--- logs of $(podman inspect --format '{{.Name}}' "$id") (last 20 lines)"
        podman logs --tail 20 "$id" 2>&1
      done
    fi
    compose down -v >>"$log" 2>&1
    # Whatever `down` left (a failed run, the one-off cli container), by id.
    for id in $(podman ps -a -q --filter "label=io.podman.compose.project=$project"); do
      in_ns podman rm -f -v -t 2 "$id" >/dev/null 2>&1
    done
    for vol in $(podman volume ls -q --filter "label=io.podman.compose.project=$project"); do
      podman volume rm -f "$vol" >/dev/null 2>&1
    done
    in_ns podman network rm -f "${project}_default" >/dev/null 2>&1
    # aardvark-dns (and any conmon) still in the namespace: ours, by pid.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null; done
    sleep 0.5
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$ns"
  fi
  if [ -n "${TRAINFS_COMPOSE_CHECK_LOG:-}" ]; then cp "$log" "$TRAINFS_COMPOSE_CHECK_LOG" 2>/dev/null; fi
  rm -rf "$work"
  if [ "$status" -eq 0 ]; then echo "compose check: passed in $((SECONDS - start)) s"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "compose check: FAILED: $*" >&2
  exit 1
}

# A container without CAP_SYS_ADMIN (or a locked-down host) cannot make one.
ip netns add "$ns" 2>"$work/netns.err" || skip "cannot create a network namespace: $(cat "$work/netns.err")"
created_ns=1
ip -n "$ns" link set lo up

# What an operator does: copy the example, put a fresh secret and tokens in .env.
mkdir "$work/deploy"
cp "$root/deploy/$compose_file" "$work/deploy/$compose_file"
secret=$(node -e 'console.log(require("crypto").randomBytes(32).toString("hex"))')
token=$(node -e 'console.log(require("crypto").randomBytes(24).toString("hex"))')
ro_token=$(node -e 'console.log(require("crypto").randomBytes(24).toString("hex"))')
s3_secret=$(node -e 'console.log(require("crypto").randomBytes(24).toString("hex"))')
(
  umask 077
  cat >"$work/deploy/.env" <<EOF
TRAINFS_CLUSTER_SECRET=$secret
TRAINFS_NAMENODE_API_TOKENS=rw:$token,ro:$ro_token
TRAINFS_TOKEN=$token
TRAINFS_S3_TOKEN=$token
TRAINFS_S3_CREDENTIALS=CHECKKEY1:$s3_secret:rw
TRAINFS_IMAGE_TAG=$IMAGE_TAG
EOF
)

# podman-compose 1.0.3 has no profiles: a bare `up -d` would also start `cli`
# (which prints its help and exits), so the servers are named.
echo "compose check: up -d $compose_file (project $project, network namespace $ns)"
compose up -d "${servers[@]}" >>"$log" 2>&1 || fail "podman-compose up failed"

# The pretty-printed JSON of `admin report --json`, out of podman-compose's
# chatter on the same stdout.
json_of() { sed -n '/^{$/,/^}$/p'; }
report() { compose run --rm -T cli --quiet admin report --json 2>>"$log" | tee -a "$log" | json_of; }
alive_count() {
  node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).datanodes.filter((n)=>n.state==="alive").length)}catch{console.log(0)}})'
}

# Ready: the NameNode lists three live DataNodes. podman-compose 1.0.3 starts
# DataNodes without waiting for the NameNode's health (it ignores
# `condition: service_healthy`); they retry registering until it answers.
deadline=$((SECONDS + 90))
while :; do
  alive=$(report </dev/null | alive_count || true)
  [ "$alive" = 3 ] && break
  echo "compose check: $alive live datanodes after $((SECONDS - start)) s"
  [ "$SECONDS" -lt "$deadline" ] || fail "admin report shows $alive live datanodes after 90 s, expected 3"
  sleep 2
done
echo "compose check: namenode reports 3 live datanodes after $((SECONDS - start)) s"

# The health checks the images define run (podman-compose sets only timings).
for service in "${healthchecked[@]}"; do
  podman healthcheck run "${project}_${service}_1" >/dev/null || fail "health check of $service failed"
done

# podman's DNS server here (aardvark-dns 1.4, Debian bookworm) closes and
# reopens its sockets whenever a container joins or leaves the network
# (containers/aardvark-dns#389, fixed upstream by #449), so a lookup made at
# that moment fails with EAI_AGAIN, and every `run` of the cli service is such
# a moment. A command that failed with that, and only that, runs again (at most
# three tries, each one said); any other failure fails the check.
#
# One-off commands run as a named container (no --rm): podman-compose 1.0.3
# exits 0 whatever the container's exit code, which is read back from podman.
# cli_run TAG ARGS...: `run` options in $cli_env, stdin from $cli_stdin;
# output in $cli_output.
cli_env=()
cli_run() {
  local name="${project}_cli_$1" code
  shift
  echo "=== $(date +%T) cli $*" >>"$log"
  compose run --name "$name" -T "${cli_env[@]}" cli --quiet "$@" <"${cli_stdin:-/dev/null}" >>"$log" 2>&1 || return 1
  code=$(podman inspect --format '{{.State.ExitCode}}' "$name") || return 1
  cli_output=$(podman logs "$name" 2>&1)
  echo "=== $(date +%T) exit $code" >>"$log"
  return "$code"
}
remove() { in_ns podman rm -v "${project}_cli_$1" >/dev/null; }
# cli TAG ARGS...: cli_run, again after a DNS lookup failure. The container of
# the last try is left for the caller (remove TAG).
cli() {
  local tag=$1 try
  for try in 1 2 3; do
    cli_output=""
    if cli_run "$@"; then return 0; fi
    case "$cli_output" in *EAI_AGAIN*) ;; *) return 1 ;; esac
    [ "$try" -lt 3 ] || return 1
    echo "compose check: '$2' failed on a DNS lookup (aardvark-dns reload, EAI_AGAIN), try $((try + 1)) of 3"
    remove "$tag"
  done
}

# Security is on: without the token the NameNode refuses, and says why.
cli_env=(-e TRAINFS_TOKEN=)
if cli refused ls /; then fail "a client without a token was answered: $cli_output"; fi
case "$cli_output" in *unauthenticated*) ;; *) fail "a client without a token got: $cli_output" ;; esac
remove refused
cli_env=()

# put through the cli service, from stdin: podman-compose 1.0.3 ignores
# `run -v`, so no folder can be mounted for it. A failed try abandons the file.
node -e 'process.stdout.write(require("crypto").randomBytes(5 * 1024 * 1024 + 12345))' >"$work/in.bin"
cli_stdin="$work/in.bin" cli put put --chunk-size 1MiB --replication 3 - /check/in.bin || fail "put failed: $cli_output"
remove put
echo "compose check: put done after $((SECONDS - start)) s"
# get through the cli service into its /work volume, then copied out: the
# container's stdout is shared with podman-compose's own output.
cli get get /check/in.bin /work/out.bin || fail "get failed: $cli_output"
podman cp "${project}_cli_get:/work/out.bin" "$work/out.bin" || fail "could not copy the downloaded file out of the cli container"
remove get
echo "compose check: get done after $((SECONDS - start)) s"
want=$(sha256sum <"$work/in.bin" | cut -d' ' -f1)
got=$(sha256sum <"$work/out.bin" | cut -d' ' -f1)
[ "$want" = "$got" ] || fail "downloaded file differs: sha256 $got, uploaded $want"
# Replication 3 on three nodes: each DataNode holds all six 1 MiB chunks.
# The counts come with the DataNodes' heartbeats, so a report right after the
# put may lag; and a report that hit a DNS lookup failure has no JSON: asked
# again, for up to 15 tries.
for try in $(seq 15); do
  chunks=$(report </dev/null | node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).datanodes.map((n)=>n.chunkCount).join())}catch{}})' || true)
  [ "$chunks" = "6,6,6" ] && break
  sleep 1
done
[ "$chunks" = "6,6,6" ] || fail "chunks per datanode: $chunks, expected 6,6,6"
echo "compose check: put and get of $(stat -c %s "$work/in.bin") bytes through the cli service, sha256 $want matches; 6 chunks on each datanode"

[ "$ha" = 1 ] || exit 0

# HA: kill -9 of the active NameNode's container. What must hold: a NameNode
# is elected (a later epoch), the cluster serves, and the killed one, started
# again as an operator would (podman counts a kill as a stop, so its restart
# policy does not bring it back), rejoins as the standby.
ha_field() {
  node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>{try{const h=JSON.parse(s).ha;console.log(process.argv[1]==="members"?h.members.map((m)=>m.role).sort().join():h[process.argv[1]])}catch{}})' "$1"
}
ha_report=$(report </dev/null)
epoch=$(ha_field epoch <<<"$ha_report")
active=$(ha_field activeAddress <<<"$ha_report")
case "$active" in
  *namenode-1*) victim=namenode-1 ;;
  *namenode-2*) victim=namenode-2 ;;
  *) fail "no active NameNode in admin report (activeAddress '$active')" ;;
esac
echo "compose check: $victim is active (epoch $epoch); killing its container with SIGKILL"
killed_at=$SECONDS
podman kill -s KILL "${project}_${victim}_1" >/dev/null || fail "podman kill of $victim failed"
deadline=$((SECONDS + 60))
while :; do
  now=$(report </dev/null | ha_field epoch || true)
  if [ -n "$now" ] && [ "$now" != "$epoch" ]; then break; fi
  [ "$SECONDS" -lt "$deadline" ] || fail "no NameNode elected within 60 s of the kill (epoch still '$now')"
  sleep 1
done
echo "compose check: a NameNode was elected (epoch $now) $((SECONDS - killed_at)) s after the kill"
cli get2 get /check/in.bin /work/out.bin || fail "get after the failover failed: $cli_output"
podman cp "${project}_cli_get2:/work/out.bin" "$work/out2.bin" || fail "could not copy the downloaded file out of the cli container"
remove get2
[ "$(sha256sum <"$work/out2.bin" | cut -d' ' -f1)" = "$want" ] || fail "the file put before the failover reads back different"
cli_stdin="$work/in.bin" cli put2 put --chunk-size 1MiB - /check/after.bin || fail "put after the failover failed: $cli_output"
remove put2
in_ns podman start "${project}_${victim}_1" >/dev/null || fail "podman start of $victim failed"
deadline=$((SECONDS + 90))
while :; do
  roles=$(report </dev/null | ha_field members || true)
  [ "$roles" = "active,standby" ] && break
  [ "$SECONDS" -lt "$deadline" ] || fail "NameNode roles '$roles' 90 s after $victim was started again, expected one active and one standby"
  sleep 2
done
echo "compose check: HA: the file put before reads back, a new put works, and $victim is back as the standby"
