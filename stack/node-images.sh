#!/usr/bin/env bash
# Builds the real node's images as OCI archives, without a Docker daemon or an image registry,
# cached outside the repository and keyed by their inputs (a changed input builds anew):
#   pause     the pod sandbox: build/pause/linux/pause.c of the pinned k8s.io/kubernetes module,
#             compiled with gcc -static (the upstream pause image is that one binary)
#   base      Debian bookworm, debootstrap --variant=minbase with python3, python3-venv and
#             ca-certificates, plus a virtualenv on PATH so that `python` and `pip` are there as in
#             the public Python image the Dockerfile defaults to
#   operator  the Dockerfile, built by buildah with the base as its BASE build argument (the
#             Dockerfile itself runs, so the image tests it)
#
# Usage: stack/node-images.sh IMAGE...   Prints one line per image: NAME ARCHIVE (an OCI layout
# tar whose ref name is NAME's tag, for `ctr images import --base-name`).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
cache="${EVENTSUB_CACHE:-$HOME/.cache/eventsub}/node-images"
mkdir -p "$cache"

start_all=$SECONDS
log() { printf '[images %4ds] %s\n' "$((SECONDS - start_all))" "$*" >&2; }
key_of() { sha256sum | cut -c1-16; }

# Packs a root filesystem directory as a one-layer OCI image archive. $1 rootfs, $2 archive,
# $3 tag, then `umoci config` options.
pack_rootfs() {
  local rootfs=$1 archive=$2 tag=$3; shift 3
  local work; work="$(mktemp -d "$cache/pack.XXXXXX")"
  umoci init --layout "$work/oci"
  umoci new --image "$work/oci:$tag"
  umoci unpack --image "$work/oci:$tag" "$work/bundle" >/dev/null
  rm -rf "$work/bundle/rootfs"; mv "$rootfs" "$work/bundle/rootfs"
  umoci repack --image "$work/oci:$tag" "$work/bundle"
  umoci config --image "$work/oci:$tag" --tag "$tag" "$@"
  umoci gc --layout "$work/oci"
  tar -C "$work/oci" -cf "$archive.partial" .
  mv "$archive.partial" "$archive"
  rm -rf "$work"
}

kubernetes_module_dir() {
  go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p'
}

image_pause() {
  local source; source="$(kubernetes_module_dir)/build/pause/linux/pause.c"
  local version; version="$(sed -n 's/^TAG ?= //p' "$(dirname "$source")/../Makefile")"
  local archive="$cache/pause-${version}-$(cat "$source" | key_of).tar"
  echo "eventsub.local/pause:${version} $archive"
  [[ -s "$archive" ]] && { log "pause ${version}: cached"; return; }
  local rootfs; rootfs="$(mktemp -d "$cache/rootfs.XXXXXX")"
  # The flags of the upstream Makefile.
  gcc -Os -Wall -Werror -static -DVERSION="v${version}-eventsub" -o "$rootfs/pause" "$source"
  pack_rootfs "$rootfs" "$archive" "$version" --config.entrypoint /pause --config.user 65535:65535
  log "pause ${version}: built"
}

# Inputs of the base image; its key.
BASE_SUITE=bookworm
BASE_PACKAGES=python3,python3-venv,ca-certificates
BASE_VENV=/opt/python
base_key() { echo "$BASE_SUITE $BASE_PACKAGES $BASE_VENV v1" | key_of; }

debian_mirror() {
  # The mirror apt itself uses for the suite, so the base comes from where the host's packages do.
  apt-get indextargets --format '$(SITE) $(RELEASE) $(IDENTIFIER)' 2>/dev/null \
    | awk -v suite="$BASE_SUITE" '$2 == suite && $3 == "Packages" {print $1; exit}'
}

image_base() {
  local key; key="$(base_key)"
  local archive="$cache/base-${key}.tar"
  echo "eventsub.local/base:${key} $archive"
  [[ -s "$archive" ]] && { log "base: cached"; return; }
  local mirror; mirror="$(debian_mirror)"
  [[ -n "$mirror" ]] || { echo "error: no apt source for Debian ${BASE_SUITE} (run apt-get update)" >&2; exit 1; }
  local rootfs; rootfs="$(mktemp -d "$cache/rootfs.XXXXXX")"
  log "base: debootstrap ${BASE_SUITE} (a minute or two)"
  debootstrap --variant=minbase --include="$BASE_PACKAGES" "$BASE_SUITE" "$rootfs" "$mirror" \
    > "$cache/base-debootstrap.log" 2>&1 \
    || { echo "error: debootstrap failed; see $cache/base-debootstrap.log" >&2; exit 1; }
  chroot "$rootfs" python3 -m venv "$BASE_VENV"
  # pip trusts the system's CA store, so a build can mount the host's bundle over it.
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$rootfs/etc/pip.conf"
  # Device nodes and caches do not belong in an image (the runtime mounts /dev).
  rm -rf "$rootfs"/dev/* "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/var/log/* "$rootfs"/tmp/*
  pack_rootfs "$rootfs" "$archive" "$key" \
    --config.env "PATH=$BASE_VENV/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --config.env LANG=C.UTF-8 --config.cmd python
  log "base: built"
}

operator_inputs() {
  # What the Dockerfile copies, and the Dockerfile itself.
  ( cd "$repo" && find Dockerfile pyproject.toml README.md operator -type f \
      ! -path '*/__pycache__/*' ! -name '*.pyc' ! -path '*.egg-info/*' -print0 \
    | sort -z | xargs -0 sha256sum )
}

image_operator() {
  command -v buildah >/dev/null || { echo "error: buildah not found: run stack/node-prereqs.sh" >&2; exit 1; }
  local base_name base_archive; read -r base_name base_archive < <(image_base)
  local key; key="$( { echo "$base_name"; operator_inputs; } | key_of)"
  local archive="$cache/operator-${key}.tar"
  echo "eventsub.local/eventsub-operator:${key} $archive"
  [[ -s "$archive" ]] && { log "operator: cached"; return; }
  # buildah's own store, kept: with --layers the dependencies' layer outlives a source change.
  local storage="$cache/buildah-overlay"
  local b=(buildah --root "$storage/root" --runroot "$storage/run" --storage-driver overlay)
  # It grows by the layers of every build (pruning would drop the dependencies' layer too): past
  # 2 GB it starts afresh.
  if [[ -d "$storage" ]] && (( $(du -sm "$storage" | cut -f1) > 2048 )); then rm -rf "$storage"; fi
  # The base goes into buildah's own store under its name (pull prints the image id).
  "${b[@]}" inspect --type image "$base_name" >/dev/null 2>&1 \
    || "${b[@]}" tag "$("${b[@]}" pull --quiet "oci-archive:$base_archive")" "$base_name"
  log "operator: buildah build of the Dockerfile on $base_name"
  # The host's CA bundle is mounted over the base's for the RUN steps: pip reaches the package
  # index through it; the image keeps its own.
  "${b[@]}" build --quiet --layers --isolation chroot --network host --pull=never \
    --build-arg "BASE=$base_name" \
    --volume /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
    --tag "eventsub.local/eventsub-operator:${key}" -f "$repo/Dockerfile" "$repo" >/dev/null
  rm -f "$archive.partial"
  "${b[@]}" push --quiet "eventsub.local/eventsub-operator:${key}" "oci-archive:$archive.partial:$key"
  # One operator archive is kept; the store keeps the layers (the dependencies' for the next build).
  "${b[@]}" rm --all >/dev/null
  "${b[@]}" rmi "eventsub.local/eventsub-operator:${key}" >/dev/null
  rm -f "$cache"/operator-*.tar
  mv "$archive.partial" "$archive"
  log "operator: built"
}

[[ $# -gt 0 ]] || { echo "usage: $0 pause|base|operator ..." >&2; exit 2; }
for image in "$@"; do "image_$image"; done
