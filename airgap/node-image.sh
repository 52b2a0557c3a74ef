#!/usr/bin/env bash
# Assemble the kind node image: the node base plus the Kubernetes binaries, the preloaded
# component images, and kind's default CNI and default storage (/kind/manifests/, read by
# `kind create cluster` as from any kind node image) with the images they name.  This is what
# `kind build node-image` does; that command cannot run here (it pulls, and needs ctr flags
# Debian's containerd 1.6 lacks).
# Usage: node-image.sh NODE_TAG BASE_TAG K8S_BIN_DIR IMAGES_TAR [LOCAL_IMAGE ...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
tag=$1 base=$2 kbin=$3 images=$4; shift 4
name=podlife-node-build-$$
extra=$(mktemp /var/tmp/podlife-node-images.XXXXXX.tar)
trap 'docker rm -f "$name" >/dev/null 2>&1 || true; rm -f "$extra"' EXIT
docker run -d --name "$name" --entrypoint=sleep --security-opt seccomp=unconfined "$base" infinity >/dev/null
for b in kubeadm kubelet kubectl; do docker cp "$kbin/$b" "$name:/usr/bin/$b"; done
docker exec "$name" sh -c "chmod 0755 /usr/bin/kubeadm /usr/bin/kubelet /usr/bin/kubectl && printf %s $K8S_VERSION >/kind/version"
docker exec "$name" mkdir -p /kind/manifests
docker cp "$here/node/default-cni.yaml" "$name:/kind/manifests/default-cni.yaml"
docker cp "$here/node/default-storage.yaml" "$name:/kind/manifests/default-storage.yaml"
docker exec -d "$name" sh -c 'containerd >/var/log/containerd-build.log 2>&1'
for _ in $(seq 60); do docker exec "$name" test -S /run/containerd/containerd.sock && break; sleep 0.5; done
docker exec "$name" ctr version >/dev/null
docker exec -i "$name" ctr -n k8s.io images import --all-platforms --no-unpack --digests - <"$images"
if [ $# -gt 0 ]; then
  docker save -o "$extra" "$@"
  docker exec -i "$name" ctr -n k8s.io images import --all-platforms --no-unpack --digests - <"$extra"
fi
docker exec "$name" ctr -n k8s.io images ls -q >&2
docker exec "$name" sh -c 'pkill containerd; for i in $(seq 40); do pgrep -x containerd >/dev/null || exit 0; sleep 0.5; done; exit 1'
docker exec "$name" rm -f /var/log/containerd-build.log
docker commit --change 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' \
  ${PODLIFE_LABEL:+--change "LABEL $PODLIFE_LABEL"} "$name" "$tag" >/dev/null
echo "node image $tag assembled" >&2
