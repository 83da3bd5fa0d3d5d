#!/usr/bin/env bash
# Runs the built images as a cluster and checks that it stores and returns a
# file byte for byte: one NameNode, three DataNode and an S3 gateway
# containers, a put and a get through the client image, sha256 of both ends
# compared, then the same file through the gateway with presigned URLs
# (s3-smoke.mjs) and read back by the client. Every container (and its
# anonymous volumes) is removed on exit, by id.
#
# Networking touches nothing on the host: the NameNode container gets its own
# network namespace with loopback only (--network none) and the other
# containers join it (--network container:<id>), so DataNodes listen on
# distinct ports there and advertise http://127.0.0.1:<port>, an address every
# container of the namespace reaches.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/env.sh"
containers_env

# Without systemd podman cannot schedule periodic health checks and says so on
# every start and check; the test runs the checks itself, so that line is noise.
podman() {
  command podman "$@" 2> >(grep -v 'unable to get systemd connection' >&2)
}

started=()
work=$(mktemp -d "$TRAINFS_CONTAINERS_DIR/tmp/smoke.XXXXXX")
cleanup() {
  local status=$?
  if [ "$status" -ne 0 ] && [ ${#started[@]} -gt 0 ]; then
    for id in "${started[@]}"; do
      echo "--- logs of $(podman inspect --format '{{.Name}}' "$id" 2>/dev/null || echo "$id") (last 20 lines)"
      podman logs --tail 20 "$id" 2>&1 || true
    done
  fi
  # Containers that joined the NameNode's namespace go first.
  for ((i = ${#started[@]} - 1; i >= 0; i--)); do
    podman rm -f -v -t 2 "${started[$i]}" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "smoke test: FAILED: $*" >&2; exit 1; }

# Security settings (names of the security design); servers that do not know
# the keys yet ignore them, servers that do check every call with them.
secret=$(node -e 'console.log(require("crypto").randomBytes(32).toString("hex"))')
token=$(node -e 'console.log(require("crypto").randomBytes(24).toString("hex"))')
s3_key=TFS$(node -e 'console.log(require("crypto").randomBytes(8).toString("hex").toUpperCase())')
s3_secret=$(node -e 'console.log(require("crypto").randomBytes(24).toString("base64url"))')
run_id="trainfs-smoke-$$"
# No systemd here to run podman's periodic health checks; the test runs them itself.
common=(--detach --pull=never --health-interval=disable --label trainfs-smoke="$run_id")

nn=$(podman run "${common[@]}" --name "$run_id-namenode" --network none \
  -e TRAINFS_NAMENODE_CLUSTER_SECRET="$secret" \
  -e TRAINFS_NAMENODE_API_TOKENS="rw:$token" \
  -e TRAINFS_NAMENODE_HEARTBEAT_TIMEOUT_MS=10000 \
  "localhost/trainfs-namenode:$IMAGE_TAG")
started+=("$nn")

for i in 1 2 3; do
  port=$((9865 + i))
  id=$(podman run "${common[@]}" --name "$run_id-datanode-$i" --network "container:$nn" \
    -e TRAINFS_DATANODE_PORT="$port" \
    -e TRAINFS_DATANODE_ADVERTISE_ADDRESS="http://127.0.0.1:$port" \
    -e TRAINFS_DATANODE_NAMENODE="http://127.0.0.1:9870" \
    -e TRAINFS_DATANODE_CLUSTER_SECRET="$secret" \
    -e TRAINFS_DATANODE_HEARTBEAT_INTERVAL_MS=1000 \
    "localhost/trainfs-datanode:$IMAGE_TAG")
  started+=("$id")
done

# Ready means /readyz answers 200: the NameNode out of safe mode, each DataNode
# registered. Probed from inside each container with the image's own Node.
ready() {
  podman exec "$1" node -e "fetch('http://127.0.0.1:$2/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" 2>/dev/null
}
wait_ready() {
  local id=$1 port=$2 name=$3
  # Generous: on a loaded 2-core machine start-up alone can take seconds.
  local deadline=$((SECONDS + 90))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ready "$id" "$port"; then return 0; fi
    if [ "$(podman inspect --format '{{.State.Running}}' "$id")" != "true" ]; then fail "$name exited"; fi
    sleep 0.5
  done
  fail "$name not ready after 90 s"
}
wait_ready "$nn" 9870 namenode
for i in 1 2 3; do wait_ready "${started[$i]}" $((9865 + i)) "datanode-$i"; done
echo "smoke test: namenode and 3 datanodes ready"

# The S3 gateway acts on the cluster with the API token; S3 clients sign with its key pair.
gw=$(podman run "${common[@]}" --name "$run_id-s3-gateway" --network "container:$nn" \
  -e TRAINFS_S3_NAMENODE=http://127.0.0.1:9870 \
  -e TRAINFS_S3_TOKEN="$token" \
  -e TRAINFS_S3_CREDENTIALS="$s3_key:$s3_secret:rw" \
  "localhost/trainfs-s3-gateway:$IMAGE_TAG")
started+=("$gw")
wait_ready "$gw" 9878 s3-gateway
echo "smoke test: s3 gateway ready"

# The images' HEALTHCHECK (podman runs it on demand) and the non-root user.
for id in "${started[@]}"; do
  podman healthcheck run "$id" >/dev/null || fail "HEALTHCHECK of $(podman inspect --format '{{.Name}}' "$id") failed"
  uid=$(podman exec "$id" node -e 'console.log(process.getuid())')
  [ "$uid" = 1000 ] || fail "$(podman inspect --format '{{.Name}}' "$id") runs as uid $uid, not 1000"
done

# The client image runs as uid 1000 and reads and writes the work folder.
node -e 'process.stdout.write(require("crypto").randomBytes(5 * 1024 * 1024 + 12345))' >"$work/in.bin"
chown -R 1000:1000 "$work"
cli() {
  podman run --rm --pull=never --network "container:$nn" -v "$work:/work" \
    -e TRAINFS_NAMENODE=http://127.0.0.1:9870 -e TRAINFS_TOKEN="$token" \
    "localhost/trainfs-cli:$IMAGE_TAG" --quiet "$@"
}
# Security is on: without the token the NameNode refuses, and says why.
refused=$(podman run --rm --pull=never --network "container:$nn" -e TRAINFS_NAMENODE=http://127.0.0.1:9870 \
  "localhost/trainfs-cli:$IMAGE_TAG" --quiet ls / 2>&1) && fail "the NameNode answered a client without a token"
case "$refused" in *unauthenticated*) ;; *) fail "a client without a token got: $refused" ;; esac
report=$(cli admin report --json) || fail "admin report failed"
alive=$(node -e 'console.log(JSON.parse(process.argv[1]).datanodes.filter((n) => n.state === "alive").length)' "$report")
[ "$alive" = 3 ] || fail "admin report shows $alive alive datanodes, expected 3: $report"
# A 1 MiB chunk size spreads the file over six chunks, each on all three nodes.
cli put --chunk-size 1MiB --replication 3 /work/in.bin /smoke/in.bin || fail "put failed"
cli get /smoke/in.bin /work/out.bin || fail "get failed"
want=$(sha256sum <"$work/in.bin" | cut -d' ' -f1)
got=$(sha256sum <"$work/out.bin" | cut -d' ' -f1)
[ "$want" = "$got" ] || fail "downloaded file differs: sha256 $got, uploaded $want"
# Replication 3 on three nodes: every node holds all six chunks. The counts
# come with the DataNodes' heartbeats (every 3 s), so a report right after the
# put may lag: asked again for up to 15 s.
counts=
for _ in $(seq 15); do
  report=$(cli admin report --json) || fail "admin report failed"
  counts=$(node -e 'console.log(JSON.parse(process.argv[1]).datanodes.map((n) => n.chunkCount).join())' "$report")
  [ "$counts" = "6,6,6" ] && break
  sleep 1
done
[ "$counts" = "6,6,6" ] || fail "chunks are not on all three datanodes: chunks per datanode $counts"
echo "smoke test: put and get of $(stat -c %s "$work/in.bin") bytes through the client image, sha256 $want matches"

# S3: the same file through the gateway (PUT and GET by presigned URLs, with
# the gateway image's Node in the cluster's namespace), then read back by the
# client: an object is a TrainFS file.
podman run --rm --pull=never --network "container:$nn" -v "$work:/work" -v "$here/s3-smoke.mjs:/s3-smoke.mjs:ro" \
  --entrypoint node "localhost/trainfs-s3-gateway:$IMAGE_TAG" \
  /s3-smoke.mjs http://127.0.0.1:9878 "$s3_key" "$s3_secret" /work/in.bin /work/s3-out.bin || fail "S3 through the gateway failed"
got=$(sha256sum <"$work/s3-out.bin" | cut -d' ' -f1)
[ "$want" = "$got" ] || fail "the object got through S3 differs: sha256 $got, put $want"
cli get /smoke-s3/dir/in.bin /work/s3-cli.bin || fail "get of the S3 object with the client failed"
got=$(sha256sum <"$work/s3-cli.bin" | cut -d' ' -f1)
[ "$want" = "$got" ] || fail "the S3 object read by the client differs: sha256 $got, put $want"
echo "smoke test: put and get through the S3 gateway image, read back by the client, sha256 $want matches"
