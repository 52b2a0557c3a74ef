#!/usr/bin/env bash
# Build the kind node *base* image from Debian bookworm (kind's own base is pulled from a
# registry; its v0.30 base is bookworm too, so we assemble the equivalent ourselves).
# Usage: node-base.sh TAG MIRROR KIND_MODULE_DIR CRICTL_BINARY
# kind's base files (entrypoint, systemd units, containerd config) come from the kind
# module in the Go module cache at build time; nothing of kind's is kept in this repo.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
tag=$1 mirror=$2 kind_dir=$3 crictl=$4
root=$(mktemp -d /var/tmp/podlife-node.XXXXXX)
trap 'rm -rf "$root"' EXIT
pkgs=systemd,systemd-sysv,dbus,conntrack,iptables,nftables,iproute2,ethtool,util-linux,mount,kmod,libseccomp2
pkgs+=,pigz,bash,ca-certificates,curl,jq,procps,e2fsprogs,containerd,runc,containernetworking-plugins
debootstrap --variant=minbase --include="$pkgs" "$DEBIAN_SUITE" "$root" "$mirror"

cp -r "$kind_dir/images/base/files/." "$root/"
chmod -R u+w "$root/kind" "$root/etc" "$root/usr/local/bin"
chmod 0755 "$root"/usr/local/bin/* "$root"/kind/bin/* "$root/kind" "$root/kind/bin"
ln -sf /usr/bin/containerd "$root/usr/local/bin/containerd"   # kind's unit starts /usr/local/bin/containerd
install -m0755 "$crictl" "$root/usr/local/bin/crictl"
mkdir -p "$root/opt/cni/bin" && cp -a "$root/usr/lib/cni/." "$root/opt/cni/bin/"   # containerd's default bin_dir
# Without CAP_SYS_RESOURCE in the host's bounding set (this project's machines) no process
# in a node may lower its oom_score_adj, as runc does for every pod container: containerd
# must clamp the value to its own, as kind's entrypoint arranges for rootless nodes.  The
# clamp is harmless where the capability exists, so the image is the same on every host.
sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' "$root/etc/containerd/config.toml"
# kind's base spec for every container: mount product files, no rlimits.
chroot "$root" sh -c 'ctr oci spec' | jq '.hooks.createContainer += [{"path": "/kind/bin/mount-product-files.sh"}] | del(.process.rlimits)' \
  >"$root/etc/containerd/cri-base.json"
# Trim systemd as kind's base does: a container boots only what the node needs.
find "$root/lib/systemd/system/sysinit.target.wants/" -name systemd-tmpfiles-setup.service -delete
rm -f "$root"/lib/systemd/system/multi-user.target.wants/* "$root"/etc/systemd/system/*.wants/* \
  "$root"/lib/systemd/system/local-fs.target.wants/* "$root"/lib/systemd/system/sockets.target.wants/*udev* \
  "$root"/lib/systemd/system/sockets.target.wants/*initctl* "$root"/lib/systemd/system/basic.target.wants/*
echo "ReadKMsg=no" >>"$root/etc/systemd/journald.conf"
chroot "$root" systemctl enable kubelet.service containerd.service undo-mount-hacks.service
chroot "$root" systemctl mask systemd-binfmt.service
mkdir -p "$root/etc/kubernetes/manifests"
rm -f "$root/etc/machine-id"; touch "$root/etc/machine-id"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
tar -C "$root" --numeric-owner -cf - . | docker import \
  --change 'ENV container=docker' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' - "$tag.import"
# docker import cannot set STOPSIGNAL; systemd wants SIGRTMIN+3 to shut down cleanly.
printf 'FROM %s\nSTOPSIGNAL SIGRTMIN+3\n%s\n' "$tag.import" "${PODLIFE_LABEL:+LABEL $PODLIFE_LABEL}" | DOCKER_BUILDKIT=0 docker build -q -t "$tag" -
docker rmi "$tag.import" >/dev/null
