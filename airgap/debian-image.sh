#!/usr/bin/env bash
# Build a Debian image without a registry: debootstrap a root filesystem, docker import it.
# Usage: debian-image.sh TAG MIRROR PACKAGES [docker-import --change ...]
#   PACKAGES: comma-separated extra packages (may be empty).
# PODLIFE_LABEL (key=value), when set, becomes the image's input label.
# Why: no image can be pulled here, but Debian's package mirror is reachable.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
tag=$1 mirror=$2 packages=$3; shift 3
root=$(mktemp -d /var/tmp/podlife-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase ${packages:+--include="$packages"} "$DEBIAN_SUITE" "$root" "$mirror"
# The image's apt sources point at the same mirror; keep the image small.
printf 'deb %s %s main\n' "$mirror" "$DEBIAN_SUITE" >"$root/etc/apt/sources.list"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
tar -C "$root" --numeric-owner -cf - . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  ${PODLIFE_LABEL:+--change "LABEL $PODLIFE_LABEL"} "$@" - "$tag"
