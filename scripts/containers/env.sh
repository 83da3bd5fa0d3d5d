# Sourced by the container scripts: points podman and buildah at TrainFS's own
# config and storage, so nothing lands in /var/lib/containers or /etc/containers.
# The state folder (images, containers, podman's run files) is
# TRAINFS_CONTAINERS_DIR, default /var/tmp/trainfs-ci-containers: outside the
# clone, so that warm images survive a fresh clone and `git clean` never has to
# remove root-owned overlay layers. Delete the folder to start cold.
TRAINFS_CONTAINERS_DIR=${TRAINFS_CONTAINERS_DIR:-/var/tmp/trainfs-ci-containers}
NODE_BASE_VERSION=22.23.5
NODE_BASE_IMAGE=localhost/node-base:22
IMAGE_TAG=${TRAINFS_IMAGE_TAG:-dev}

containers_env() {
  local here state
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  mkdir -p "$TRAINFS_CONTAINERS_DIR"/{storage,run,tmp,libpod-tmp}
  state=$(cd "$TRAINFS_CONTAINERS_DIR" && pwd)
  for conf in containers.conf storage.conf; do
    sed "s|@STATE@|$state|g" "$here/podman/$conf.in" >"$state/$conf.new"
    mv "$state/$conf.new" "$state/$conf"
  done
  export CONTAINERS_CONF="$state/containers.conf"
  export CONTAINERS_STORAGE_CONF="$state/storage.conf"
  export TMPDIR="$state/tmp"
}
