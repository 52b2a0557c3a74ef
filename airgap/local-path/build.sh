#!/usr/bin/env bash
# Build rancher's local-path-provisioner from its Go module (no source is copied into this
# repository): the binary goes into CONTEXT_DIR, the docker build context of ./Dockerfile.
# Usage: build.sh CONTEXT_DIR WORK_DIR
# Why: an air-gapped kind cluster only has kind's in-tree hostPath fallback, whose volumes
# are not tied to a node; scenarios about data on a node need a provisioner whose are.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=version.env
. "$here/version.env"
context=$1 work=$2
rm -rf "${work:?}" && mkdir -p "$context" "$work"   # a fresh module each build
export CGO_ENABLED=0 GOFLAGS=-mod=mod
cd "$work"
go mod init podlife.local/local-path-provisioner >/dev/null 2>&1
go get "github.com/rancher/local-path-provisioner@$LOCAL_PATH_VERSION"
go build -trimpath -ldflags "-s -w -X main.VERSION=$LOCAL_PATH_VERSION" \
  -o "$context/local-path-provisioner" github.com/rancher/local-path-provisioner
"$context/local-path-provisioner" --version >&2
