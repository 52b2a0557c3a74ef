#!/usr/bin/env bash
# Build containerd (containerd, ctr, containerd-shim-runc-v2), runc and the kind that drives them
# (containerd2.env says why) from their Go modules, containerd and runc each
# in a copy of its own module (its go.mod and go.sum, so exactly the release's dependencies), with
# the flags of their own Makefiles.  Usage: build.sh OUT_DIR WORK_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=containerd2.env
. "$here/containerd2.env"
out=$1 work=$2
mkdir -p "$out" && rm -rf "${work:?}" && mkdir -p "$work"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local

module() { # MODULE@VERSION -> a writable copy of the module's source in WORK
  local dir
  dir=$(cd "$work" && go mod download -json "$1" | jq -r .Dir)
  cp -r "$dir" "$work/${1//[\/@]/_}" && chmod -R u+w "$work/${1//[\/@]/_}"
  echo "$work/${1//[\/@]/_}"
}

pkg=github.com/containerd/containerd/v2
src=$(module "$pkg@$CONTAINERD_VERSION")
flags="-X $pkg/version.Version=$CONTAINERD_VERSION -X $pkg/version.Package=$pkg -s -w"
tags="no_aufs no_zfs no_btrfs no_devmapper urfave_cli_no_docs"
echo "building containerd $CONTAINERD_VERSION" >&2
(cd "$src"
 go build -trimpath -tags "$tags" -ldflags "$flags" -o "$out/containerd" ./cmd/containerd
 go build -trimpath -tags "$tags" -ldflags "$flags" -o "$out/ctr" ./cmd/ctr
 CGO_ENABLED=0 go build -trimpath -tags "$tags" -ldflags "$flags -extldflags -static" \
   -o "$out/containerd-shim-runc-v2" ./cmd/containerd-shim-runc-v2)
src=$(module "github.com/opencontainers/runc@$RUNC_VERSION")
echo "building runc $RUNC_VERSION" >&2
(cd "$src" && CGO_ENABLED=1 go build -trimpath -buildmode=pie -tags "seccomp urfave_cli_no_docs" \
   -ldflags "-X main.gitCommit=$RUNC_VERSION -s -w" -o "$out/runc" .)
echo "building kind $KIND_VERSION" >&2
mkdir -p "$work/kind" && (cd "$work/kind" && go mod init podlife.local/kind >/dev/null 2>&1 \
  && go get "sigs.k8s.io/kind@$KIND_VERSION" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/kind" sigs.k8s.io/kind)
"$out/containerd" --version >&2
"$out/kind" version >&2
"$out/runc" --version >&2
rm -rf "${work:?}"
