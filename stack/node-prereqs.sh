#!/usr/bin/env bash
# The Debian packages the stack's real node needs (containerd and runc run its containers,
# debootstrap and umoci make its base image, gcc builds the pause image, the CNI plugins give
# pods their loopback, buildah builds the Dockerfile). Installs the missing ones when run as root on Debian; otherwise prints
# one line naming them and exits 1.
#
# Usage: stack/node-prereqs.sh [--check]   (--check: never install, only report)
set -euo pipefail

# package -> a file it installs (what the stack uses of it).
declare -A provides=(
  [containerd]=/usr/bin/containerd
  [runc]=/usr/sbin/runc
  [debootstrap]=/usr/sbin/debootstrap
  [umoci]=/usr/bin/umoci
  [gcc]=/usr/bin/gcc
  [libc6-dev]=/usr/lib/x86_64-linux-gnu/libc.a
  [containernetworking-plugins]=/usr/lib/cni/loopback
  [buildah]=/usr/bin/buildah
)

missing=()
for package in containerd runc debootstrap umoci gcc libc6-dev containernetworking-plugins buildah; do
  [[ -e "${provides[$package]}" ]] || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ "${1:-}" == "--check" || $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "error: the real node needs the Debian packages: ${missing[*]} (as root: apt-get install ${missing[*]})" >&2
  exit 1
fi

echo "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# --no-install-recommends: nothing else; the stack starts containerd itself (never as a service).
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
for package in "${missing[@]}"; do
  [[ -e "${provides[$package]}" ]] || { echo "error: $package installed but ${provides[$package]} is missing" >&2; exit 1; }
done
