"""What podlife admits into the namespaces it makes, decided on the manifest before any cluster
work: one line naming the object and the field for the first thing refused.

Three kinds of refusal:

- :func:`malformed`: a shape the API server would refuse, or that podlife cannot read safely
  (a field of the wrong type, two containers of one name, nesting deeper than :data:`MAX_DEPTH`);
- :func:`foreign`: what reaches beyond podlife's namespace or outlives it, refused always:
  volumes other than :data:`VOLUMES` (nfs, iscsi, csi, gitRepo...), projected service-account
  tokens, Services other than a plain ClusterIP (CVE-2020-8554's externalIPs), ``nodeName``,
  ``priorityClassName``, ``runtimeClassName``, another service account, ``generateName``,
  ``ownerReferences``, ``finalizers`` (the namespace would never go), a PVC's ``volumeName`` or
  data source (someone else's volume), a service-account-token Secret, oversized annotations;
- :func:`privileged`: what makes a pod root on a kind node (hostPath, host namespaces, privileged,
  added capabilities, unmasked /proc, unconfined seccomp/AppArmor, another SELinux type, unsafe
  sysctls), refused unless the user passes ``--allow-privileged-subject``.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 40
MAX_METADATA_BYTES = 64 << 10  # labels and annotations together (the API server's own limit: 256 KiB)
VOLUMES = {
    "emptyDir",
    "configMap",
    "secret",
    "persistentVolumeClaim",
    "downwardAPI",
    "projected",
    "ephemeral",
}
PROJECTED = {"configMap", "secret", "downwardAPI"}
SAFE_SYSCTLS = {  # Pod Security's baseline: namespaced, and safe to set
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
SELINUX_TYPES = {"container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
APPARMOR = "container.apparmor.security.beta.kubernetes.io/"


def mapping(value: Any) -> dict[str, Any]:
    """``value`` when it is a mapping, else empty (its type is :func:`malformed`'s to refuse)."""
    return value if isinstance(value, dict) else {}


def depth(value: Any) -> int:
    """How deeply ``value`` nests (iteratively: a hostile document cannot exhaust the stack)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, level = todo.pop()
        deepest = max(deepest, level)
        if level <= MAX_DEPTH and isinstance(item, dict | list):
            todo += [(v, level + 1) for v in (item.values() if isinstance(item, dict) else item)]
    return deepest


def all_containers(spec: dict[str, Any]) -> list[Any]:
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


def malformed(doc: dict[str, Any]) -> str | None:
    """What is wrong with a workload's shape, in words (before the API server would say it), or None."""
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        return "spec is not a mapping"
    if doc["kind"] != "Pod":
        template = spec.get("template")
        if not isinstance(template, dict) or not isinstance(template.get("spec"), dict):
            return "spec.template.spec is not a mapping"
        spec = template["spec"]
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        return "has no containers"
    for key in ("initContainers", "volumes", "tolerations"):
        if not isinstance(spec.get(key) or [], list) or not all(
            isinstance(x, dict) for x in spec.get(key) or []
        ):
            return f"spec.{key} is not a list of mappings"
    for key in ("securityContext", "nodeSelector"):
        if not isinstance(spec.get(key) or {}, dict):
            return f"spec.{key} is not a mapping"
    return _containers_malformed(all_containers(spec)) or _volumes_malformed(spec.get("volumes") or [])


def _containers_malformed(containers: list[Any]) -> str | None:
    names = [c.get("name") for c in containers if isinstance(c, dict)]
    if len(names) != len(containers) or not all(isinstance(n, str) and n for n in names):
        return "a container without a name and an image"
    if dupes := sorted({n for n in names if names.count(n) > 1}):
        return f"two containers named {dupes[0]}"
    for c in containers:
        name = c["name"]
        if not isinstance(c.get("image"), str):
            return "a container without a name and an image"
        if not all(isinstance(e, dict) and "name" in e for e in c.get("env") or []):
            return f"container {name}: env holds something that is not a name/value mapping"
        for port in c.get("ports") or []:
            if not isinstance(port, dict) or not isinstance(port.get("containerPort"), int):
                return f"container {name}: a port's containerPort is not a number"
        for key in ("securityContext", "resources", "lifecycle", "livenessProbe", "readinessProbe"):
            if not isinstance(c.get(key) or {}, dict):
                return f"container {name}: {key} is not a mapping"
        capabilities = mapping(c.get("securityContext")).get("capabilities") or {}
        added = mapping(capabilities).get("add") or []
        if not isinstance(capabilities, dict) or not all(isinstance(a, str) for a in added):
            return f"container {name}: securityContext.capabilities.add is not a list of names"
    return None


def _volumes_malformed(volumes: list[dict[str, Any]]) -> str | None:
    for volume in volumes:
        if not isinstance(volume.get("name"), str):
            return "a volume without a name"
        if "hostPath" in volume and not isinstance(mapping(volume["hostPath"]).get("path"), str):
            return f"volume {volume['name']}: hostPath is not a mapping with a path"
    return None


def foreign(doc: dict[str, Any]) -> str | None:
    """What reaches beyond podlife's namespace or outlives it, in words, or None."""
    meta = mapping(doc.get("metadata"))
    for key in ("generateName", "ownerReferences", "finalizers"):
        if meta.get(key):
            return f"metadata.{key} (podlife names, owns and deletes what it applies)"
    size = len(json.dumps([meta.get("labels"), meta.get("annotations")], default=str))
    if size > MAX_METADATA_BYTES:
        return f"labels and annotations of {size >> 10} KiB (at most {MAX_METADATA_BYTES >> 10})"
    kind, spec = doc.get("kind"), mapping(doc.get("spec"))
    if kind == "Service":
        return _service_foreign(spec)
    if kind == "PersistentVolumeClaim":
        taken = [k for k in ("volumeName", "dataSource", "dataSourceRef") if spec.get(k)]
        return f"spec.{taken[0]} (a volume that is not this claim's own)" if taken else None
    if kind == "Secret" and doc.get("type") == "kubernetes.io/service-account-token":
        return "a service-account-token Secret"
    return None


def _service_foreign(spec: dict[str, Any]) -> str | None:
    if spec.get("type", "ClusterIP") != "ClusterIP":
        return f"a Service of type {spec.get('type')} (podlife applies ClusterIP Services only)"
    if spec.get("externalIPs") or spec.get("externalName"):
        return "a Service with externalIPs or externalName (CVE-2020-8554)"
    return None


def pod_foreign(spec: dict[str, Any]) -> str | None:
    """A pod spec's settings that reach beyond podlife's namespace, in words, or None."""
    for key in ("nodeName", "priorityClassName", "runtimeClassName"):
        if spec.get(key):
            return f"spec.{key} (podlife places its pods, at the cluster's default priority and runtime)"
    for key in ("serviceAccountName", "serviceAccount"):
        if spec.get(key) not in (None, "default"):
            return f"spec.{key} {spec[key]} (podlife's namespaces hold only their default service account)"
    for volume in spec.get("volumes") or []:
        if bad_kinds := sorted(set(volume) - {"name", "hostPath"} - VOLUMES):
            return f"a {bad_kinds[0]} volume ({volume['name']}; podlife mounts {', '.join(sorted(VOLUMES))})"
        sources = mapping(volume.get("projected")).get("sources") or []
        if bad := sorted({k for s in sources if isinstance(s, dict) for k in s} - PROJECTED):
            allowed = ", ".join(sorted(PROJECTED))
            return f"a projected {bad[0]} in volume {volume['name']} (podlife projects {allowed})"
    return None


def privileged(spec: dict[str, Any], annotations: dict[str, Any] | None = None) -> str | None:
    """The first privileged setting of a pod spec, in words, or None."""
    for key in ("hostPID", "hostNetwork", "hostIPC"):
        if spec.get(key):
            return key
    for volume in spec.get("volumes") or []:
        if isinstance(volume, dict) and "hostPath" in volume:
            return f"a hostPath volume ({mapping(volume['hostPath']).get('path')})"
    pod_context = mapping(spec.get("securityContext"))
    if unsafe := sorted(
        str(mapping(s).get("name"))
        for s in pod_context.get("sysctls") or []
        if mapping(s).get("name") not in SAFE_SYSCTLS
    ):
        return f"the unsafe sysctl {unsafe[0]}"
    if why := _context_privileged(pod_context, "the pod"):
        return why
    for key, value in mapping(annotations).items():
        if str(key).startswith(APPARMOR) and value == "unconfined":
            return f"an unconfined AppArmor profile ({key})"
    for c in all_containers(spec):
        context = mapping(mapping(c).get("securityContext"))
        if why := _context_privileged(context, f"container {mapping(c).get('name')}"):
            return why
    return None


def _context_privileged(context: dict[str, Any], who: str) -> str | None:
    if context.get("privileged"):
        return f"a privileged container ({who.removeprefix('container ')})"
    if added := mapping(context.get("capabilities")).get("add"):
        return f"added capabilities in {who.removeprefix('container ')} ({', '.join(map(str, added))})"
    if context.get("allowPrivilegeEscalation") and context.get("runAsUser") == 0:
        return f"privilege escalation as root in {who.removeprefix('container ')}"
    if context.get("procMount") not in (None, "Default"):
        return f"procMount {context['procMount']} in {who}"
    for key in ("seccompProfile", "appArmorProfile"):
        if mapping(context.get(key)).get("type") == "Unconfined":
            return f"an unconfined {key} in {who}"
    selinux = mapping(context.get("seLinuxOptions"))
    if selinux.get("user") or selinux.get("role") or selinux.get("type") not in (None, *SELINUX_TYPES):
        return f"SELinux options {selinux} in {who}"
    if mapping(context.get("windowsOptions")).get("hostProcess"):
        return f"a Windows host process in {who}"
    return None
