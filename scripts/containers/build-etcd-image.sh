#!/usr/bin/env bash
# Builds localhost/trainfs-etcd:$TAG (TAG from TRAINFS_IMAGE_TAG, default
# "dev") for deploy/compose-ha.yaml without a registry: Debian's etcd and
# etcdctl (scripts/ensure-etcd.sh installs them) and the shared libraries they
# link against, on `scratch`, as /usr/local/bin/etcd like upstream's image
# (gcr.io/etcd-development/etcd, which deploy/kubernetes-ha names and which
# takes the same command line). No shell; runs as uid 1000 like the TrainFS
# images. The container step of the test suite builds it (scripts/containers/ci.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/env.sh"
containers_env
bash "$here/../ensure-etcd.sh"
[ -x /usr/bin/etcd ] && [ -x /usr/bin/etcdctl ] || { echo "containers: etcd is not installed (scripts/ensure-etcd.sh)" >&2; exit 1; }

image="localhost/trainfs-etcd:$IMAGE_TAG"
work=$(mktemp -d)
ctr=""
cleanup() {
  if [ -n "$ctr" ]; then buildah rm "$ctr" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

root="$work/root"
mkdir -p "$root/usr/local/bin" "$root/etc" "$root/tmp" "$root/etcd-data"
chmod 1777 "$root/tmp"
for bin in etcd etcdctl; do
  cp "/usr/bin/$bin" "$root/usr/local/bin/$bin"
  ldd "/usr/bin/$bin" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }' | sort -u | while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
done
cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
etcd:x:1000:1000:etcd:/etcd-data:/sbin/nologin
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
etcd:x:1000:
GROUP
# Members find each other by service name (Compose) or pod DNS name.
echo 'hosts: files dns' >"$root/etc/nsswitch.conf"

version=$(/usr/bin/etcd --version | awk '/^etcd Version:/ { print $3 }')
ctr=$(buildah from scratch)
buildah copy --quiet "$ctr" "$root" / >/dev/null
# buildah copy makes everything root's; the data directory (and so a fresh
# named volume mounted there) is etcd's.
mnt=$(buildah mount "$ctr")
chown 1000:1000 "$mnt/etcd-data"
buildah umount "$ctr" >/dev/null
# No entrypoint, as upstream's image: a Compose `command:` or a Kubernetes
# `command:` naming /usr/local/bin/etcd and its flags works with either.
buildah config --env PATH=/usr/local/bin --user 1000:1000 --entrypoint '[]' --cmd '["/usr/local/bin/etcd"]' --workingdir /etcd-data \
  --port 2379 --port 2380 \
  --label org.opencontainers.image.description="etcd $version from Debian's etcd-server, on scratch" "$ctr"
buildah commit --quiet --rm "$ctr" "$image" >/dev/null
ctr=""
# Read whole, then the first line: a `| head -1` closing the pipe early makes
# podman fail with "broken pipe" (and pipefail the script) at random.
said=$(podman run --rm --pull=never --network none "$image" /usr/local/bin/etcd --version)
echo "${said%%$'\n'*}"
echo "containers: built $image (etcd $version)"
