#!/usr/bin/env bash
# Build the Kubernetes binaries kind needs from the k8s.io/kubernetes Go module.
#
# Why this shape: the module's go.mod points every k8s.io/* staging module at ./staging,
# which is not in the module zip, so a wrapper module replaces each with its released
# version.  Staging modules that no binary imports and that the proxy does not serve
# are replaced by an empty local module (written here, at build time).
# Usage: build-kubernetes.sh OUT_DIR WORK_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
out=$1 work=$2
rm -rf "${work:?}" && mkdir -p "$out" "$work"   # a fresh module: no requirement of an earlier pin stays
cd "$work"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
go mod init podlife.local/k8sbuild
kmod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | jq -r .GoMod)
for m in $(go mod edit -json "$kmod" | jq -r '.Replace[] | select(.New.Path|startswith("./staging/")) | .Old.Path'); do
  if go mod download "$m@$K8S_STAGING" >/dev/null 2>&1; then
    go mod edit -replace="$m=$m@$K8S_STAGING"
  else
    echo "staging module $m@$K8S_STAGING is not served: replacing it with an empty module" >&2
    stub="stub/${m#k8s.io/}"; mkdir -p "$stub"; printf 'module %s\n' "$m" >"$stub/go.mod"
    go mod edit -replace="$m=./$stub"
  fi
done
cmds="kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy"
# shellcheck disable=SC2046
go get $(for c in $cmds; do echo "k8s.io/kubernetes/cmd/$c@$K8S_VERSION"; done)
minor=$(echo "$K8S_VERSION" | cut -d. -f2)
ldf="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldf+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  ldf+=" -X $p.gitCommit=0000000000000000000000000000000000000000 -X $p.buildDate=1970-01-01T00:00:00Z"
done
for c in $cmds; do
  echo "compiling $c" >&2
  go build -trimpath -tags selinux,notest -ldflags "$ldf" -o "$out/$c" "k8s.io/kubernetes/cmd/$c"
done
got=$("$out/kubeadm" version -o short)
[ "$got" = "$K8S_VERSION" ] || { echo "kubeadm reports $got, expected $K8S_VERSION: version stamping failed" >&2; exit 1; }
# pause: the C source ships in the kubernetes module zip; compile it statically.
pause_c="$(go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c"
gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION" -o "$out/pause" "$pause_c"
strip "$out/pause"
echo "kubernetes $K8S_VERSION built into $out" >&2
