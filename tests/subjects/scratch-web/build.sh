#!/usr/bin/env bash
# Build podlife/scratch-web:0.1.0, the second subject (see main.go): a static Go binary in an
# image FROM scratch.  Its one dependency (github.com/lib/pq) comes from the Go module proxy
# or cache at build time.  Usage: bash tests/subjects/scratch-web/build.sh [TAG]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tag=${1:-podlife/scratch-web:0.1.0}
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
(cd "$here" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$ctx/web" .)
cp "$here/Dockerfile" "$ctx/"
DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx" >/dev/null
echo "built $tag" >&2
