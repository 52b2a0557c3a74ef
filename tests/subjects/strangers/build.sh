#!/usr/bin/env bash
# Build podlife-subject/busybox:1.35.0, the image of the strangers (see README.md): Debian's own
# busybox-static package (downloaded at build time, never installed on this machine), its one static
# binary and a link per applet, in an image FROM scratch.  Nothing of ours runs in it.
# Usage: bash tests/subjects/strangers/build.sh [TAG]
set -euo pipefail
tag=${1:-podlife-subject/busybox:1.35.0}
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
(cd "$ctx" && apt-get download -q busybox-static >/dev/null 2>&1) ||
  { echo "apt-get download busybox-static failed (a Debian mirror is needed)" >&2; exit 1; }
dpkg-deb -x "$ctx"/busybox-static_*.deb "$ctx/deb"
mkdir -p "$ctx/root/bin" "$ctx/root/tmp"
cp "$ctx/deb/bin/busybox" "$ctx/root/bin/busybox"
for applet in $("$ctx/root/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$ctx/root/bin/$applet"
done
printf 'FROM scratch\nCOPY root/ /\nENV PATH=/bin\nCMD ["sh"]\n' >"$ctx/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx" >/dev/null
echo "built $tag ($("$ctx/root/bin/busybox" | head -1))" >&2
