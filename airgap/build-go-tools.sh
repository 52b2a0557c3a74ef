#!/usr/bin/env bash
# Build kind, crictl, etcd and CoreDNS from their Go modules.
# Usage: build-go-tools.sh OUT_DIR WORK_DIR
# Each tool gets its own wrapper module so their dependency graphs never mix.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
out=$1 work=$2
mkdir -p "$out"
export CGO_ENABLED=0 GOFLAGS=-mod=mod

gobuild() { # NAME MODULE@VERSION PACKAGE [extra go build args]
  local name=$1 mod=$2 pkg=$3; shift 3
  echo "building $name from $mod" >&2
  rm -rf "${work:?}/$name" && mkdir -p "$work/$name"   # a fresh module: no requirement of an earlier pin stays
  (cd "$work/$name"
   go mod init "podlife.local/$name" >/dev/null 2>&1
   go get "$mod"
   go build -trimpath "$@" -o "$out/$name" "$pkg")
}

gobuild kind "sigs.k8s.io/kind@$KIND_VERSION" sigs.k8s.io/kind -ldflags "-s -w"
gobuild crictl "sigs.k8s.io/cri-tools@$CRICTL_VERSION" sigs.k8s.io/cri-tools/cmd/crictl \
  -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION"
gobuild etcd "go.etcd.io/etcd/server/v3@$ETCD_VERSION" go.etcd.io/etcd/server/v3 -ldflags "-s -w"
gobuild coredns "github.com/coredns/coredns@$COREDNS_VERSION" github.com/coredns/coredns -ldflags "-s -w"
# kind's node-image base files ship in the kind module zip: record where, for the node-base recipe.
(cd "$work/kind" && go list -m -f '{{.Dir}}' sigs.k8s.io/kind) >"$out/kind-module-dir"
"$out/kind" version >&2
"$out/etcd" --version >&2
"$out/coredns" -version >&2
