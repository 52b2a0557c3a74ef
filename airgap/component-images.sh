#!/usr/bin/env bash
# Build the images kubeadm runs (control plane, etcd, CoreDNS, kube-proxy, pause) from
# binaries built on this host, and save them into one archive for the node image.
# Usage: component-images.sh K8S_BIN_DIR TOOLS_BIN_DIR DEBIAN_IMAGE OUT_TAR
# Named podlife.local/k8s/*: kubeadm is told this imageRepository, so no local build ever
# carries an upstream registry's name.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
kbin=$1 tbin=$2 debian=$3 out=$4
repo=podlife.local/k8s
ctx=$(mktemp -d /var/tmp/podlife-images.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
export DOCKER_BUILDKIT=0

image() { # TAG BASE BINARY ENTRYPOINT_JSON [RUN-line]
  local tag=$1 base=$2 bin=$3 entry=$4 extra=${5:-}
  rm -rf "${ctx:?}"/*; cp "$bin" "$ctx/"
  {
    echo "FROM $base"
    [ -n "$extra" ] && echo "RUN $extra"
    echo "COPY $(basename "$bin") /usr/local/bin/$(basename "$bin")"
    echo "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    [ -n "$entry" ] && echo "ENTRYPOINT $entry"
  } >"$ctx/Dockerfile"
  docker build -q -t "$tag" "$ctx" >/dev/null
  echo "built $tag" >&2
}

for c in kube-apiserver kube-controller-manager kube-scheduler; do
  image "$repo/$c:$K8S_VERSION" scratch "$kbin/$c" "[\"/usr/local/bin/$c\"]"
done
image "$repo/pause:$PAUSE_VERSION" scratch "$kbin/pause" '["/usr/local/bin/pause"]'
image "$repo/etcd:${ETCD_VERSION#v}-0" scratch "$tbin/etcd" '["/usr/local/bin/etcd"]'
image "$repo/coredns:$COREDNS_VERSION" scratch "$tbin/coredns" '["/usr/local/bin/coredns"]'
# kube-proxy programs the node's packet filter: it needs nft/iptables and conntrack.
image "$repo/kube-proxy:$K8S_VERSION" "$debian" "$kbin/kube-proxy" '["/usr/local/bin/kube-proxy"]' \
  "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iptables nftables conntrack && rm -rf /var/lib/apt/lists/*"

docker save -o "$out" \
  "$repo/kube-apiserver:$K8S_VERSION" "$repo/kube-controller-manager:$K8S_VERSION" \
  "$repo/kube-scheduler:$K8S_VERSION" "$repo/kube-proxy:$K8S_VERSION" "$repo/pause:$PAUSE_VERSION" \
  "$repo/etcd:${ETCD_VERSION#v}-0" "$repo/coredns:$COREDNS_VERSION"
