#!/usr/bin/env bash
# Build the images a kind node carries (control plane, etcd, CoreDNS, kube-proxy, pause, and
# the default CNI's podlife-netsync) from binaries built on this host, and save them into one
# archive for the node image.
# Usage: component-images.sh K8S_BIN_DIR TOOLS_BIN_DIR DEBIAN_IMAGE OUT_TAR
# Named as kubeadm and kind's containerd config ask for them (registry.k8s.io/...): each is
# built from the source of exactly that version, as `kind build node-image --type source`
# does; they are only ever loaded into nodes, never pushed or pulled.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
kbin=$1 tbin=$2 debian=$3 out=$4
repo=registry.k8s.io
ctx=$(mktemp -d /var/tmp/podlife-images.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
export DOCKER_BUILDKIT=0
firewall="iptables nftables conntrack"

image() { # TAG BASE ENTRYPOINT_JSON APT_PACKAGES FILE...  (files go to /usr/local/bin)
  local tag=$1 base=$2 entry=$3 packages=$4; shift 4
  rm -rf "${ctx:?}"/*
  cp "$@" "$ctx/"
  {
    echo "FROM $base"
    [ -n "$packages" ] && echo "RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages && rm -rf /var/lib/apt/lists/*"
    for f in "$@"; do echo "COPY $(basename "$f") /usr/local/bin/$(basename "$f")"; done
    # a packet-filter image uses the node's iptables backend (airgap/node/iptables-wrapper)
    [ -f "$ctx/iptables-wrapper" ] && echo "RUN for c in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do ln -sf /usr/local/bin/iptables-wrapper /usr/sbin/\$c; done"
    echo "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    echo "ENTRYPOINT $entry"
  } >"$ctx/Dockerfile"
  docker build -q -t "$tag" "$ctx" >/dev/null
  echo "built $tag" >&2
}

for c in kube-apiserver kube-controller-manager kube-scheduler; do
  image "$repo/$c:$K8S_VERSION" scratch "[\"/usr/local/bin/$c\"]" "" "$kbin/$c"
done
image "$repo/pause:$PAUSE_VERSION" scratch '["/usr/local/bin/pause"]' "" "$kbin/pause"
image "$repo/etcd:${ETCD_VERSION#v}-0" scratch '["/usr/local/bin/etcd"]' "" "$tbin/etcd"
image "$repo/coredns/coredns:$COREDNS_VERSION" scratch '["/usr/local/bin/coredns"]' "" "$tbin/coredns"
# kube-proxy programs the node's packet filter: it needs iptables (the node's backend) and conntrack.
image "$repo/kube-proxy:$K8S_VERSION" "$debian" '["/usr/local/bin/kube-proxy"]' "$firewall" \
  "$kbin/kube-proxy" "$here/node/iptables-wrapper"
image podlife/netsync:0.1.0 "$debian" '["/usr/local/bin/podlife-netsync"]' "$firewall iproute2" \
  "$here/node/podlife-netsync" "$here/node/iptables-wrapper" "$kbin/kubectl"

docker save -o "$out" \
  "$repo/kube-apiserver:$K8S_VERSION" "$repo/kube-controller-manager:$K8S_VERSION" \
  "$repo/kube-scheduler:$K8S_VERSION" "$repo/kube-proxy:$K8S_VERSION" "$repo/pause:$PAUSE_VERSION" \
  "$repo/etcd:${ETCD_VERSION#v}-0" "$repo/coredns/coredns:$COREDNS_VERSION" podlife/netsync:0.1.0
