"""A manifest podlife measures, read: its documents (YAML without aliases, size and depth bounded),
what podlife admits of them (:mod:`podlife.kube.pod.admission`), their pod specs and containers,
images and pull policies, and an image's next version.  Any problem is one :class:`SubjectError`
line naming the file, before any cluster work.  Which container plays which of the chapter's roles
is the chapter's business (:mod:`podlife.kube.chapter.subject`)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from podlife.kube.pod.admission import MAX_DEPTH, depth, foreign, malformed, pod_foreign, privileged

WORKLOADS = ("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet", "Job")
# What podlife applies, each in a namespace of its own; anything else (cluster-scoped objects, RBAC,
# webhooks, CRDs) is refused before any cluster work.
KINDS = ("Pod", *WORKLOADS, "Service", "PersistentVolumeClaim", "ConfigMap", "Secret", "PodDisruptionBudget")


NEXT = "podlife-next"


def next_tag(image: str) -> str:
    """The same image under a second tag, the "next version" an update changes to: so an
    update changes the version, never the app.  ``web:1.2`` -> ``web:1.2-podlife-next``."""
    ref = image.split("@", 1)[0]
    repo, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "")
    return f"{repo}:{tag}-{NEXT}" if tag else f"{repo}:{NEXT}"


def pull_policy(container: dict[str, Any]) -> str:
    """The container's pull policy, defaulted as the API server defaults it."""
    if container.get("imagePullPolicy"):
        return str(container["imagePullPolicy"])
    image = str(container["image"])
    last = image.split("@", 1)[0].rsplit("/", 1)[-1]
    untagged_or_latest = ":" not in last or last.endswith(":latest")
    return "Always" if untagged_or_latest and "@" not in image else "IfNotPresent"


class SubjectError(ValueError):
    """A manifest podlife cannot measure; the message is one line naming the file."""


MAX_BYTES = 1 << 20  # a manifest file larger than this is refused unread


class NoAliases(yaml.SafeLoader):
    """YAML without aliases: a few hundred bytes of them can expand to gigabytes when applied."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, "a YAML alias (podlife refuses them)", mark)
        return super().compose_node(parent, index)


def read(path: Path) -> list[dict[str, Any]]:
    """Every document of a manifest file, or of every ``*.yml``/``*.yaml`` in a directory; any
    problem is one line naming the file (not YAML, not UTF-8, too large, aliases, an object that
    names a namespace of its own: podlife applies everything in a namespace it owns)."""
    files = sorted([*path.glob("*.yml"), *path.glob("*.yaml")]) if path.is_dir() else [path]
    if not files:
        raise SubjectError(f"{path}: no manifest files in this directory")
    docs = [doc for file in files for doc in _documents(file)]
    if not docs:
        raise SubjectError(f"{path}: holds no Kubernetes object")
    return docs


def _parse(file: Path) -> list[Any]:
    """The file's YAML documents; any problem one line naming the file."""
    try:
        if file.stat().st_size > MAX_BYTES:
            raise SubjectError(
                f"{file}: larger than {MAX_BYTES >> 20} MiB; podlife reads no manifest that large"
            )
        return list(yaml.load_all(file.read_bytes().decode("utf-8"), Loader=NoAliases))
    except RecursionError:
        raise SubjectError(f"{file}: nested deeper than podlife reads (at most {MAX_DEPTH} levels)") from None
    except OSError as exc:
        raise SubjectError(f"{file}: cannot read it ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise SubjectError(f"{file}: not UTF-8 text (byte {exc.start})") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        raise SubjectError(f"{file}: not YAML{line}: {getattr(exc, 'problem', exc)}") from None


def _documents(file: Path) -> list[dict[str, Any]]:
    loaded = _parse(file)
    docs = [doc for doc in loaded if doc is not None]
    for doc in docs:
        if depth(doc) > MAX_DEPTH:
            raise SubjectError(f"{file}: nested deeper than podlife reads (at most {MAX_DEPTH} levels)")
        if not isinstance(doc, dict) or "kind" not in doc:
            raise SubjectError(f"{file}: a document is not a Kubernetes object (no 'kind')")
        kind, meta = doc["kind"], doc.get("metadata")
        if kind not in KINDS:
            raise SubjectError(
                f"{file}: podlife does not apply a {kind} (only these, in a namespace of its own: "
                f"{', '.join(KINDS)})"
            )
        if meta is not None and not isinstance(meta, dict):
            raise SubjectError(f"{file}: a {kind}'s metadata is not a mapping")
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
            raise SubjectError(f"{file}: a {kind} has no metadata.name")
        if meta.get("namespace"):
            raise SubjectError(
                f"{file}: {kind}/{meta['name']} names namespace {meta['namespace']}; "
                "podlife applies every object in a namespace of its own: remove metadata.namespace"
            )
        if why := refused(doc):
            raise SubjectError(f"{file}: {kind}/{meta['name']}: {why}")
    return docs


def refused(doc: dict[str, Any]) -> str | None:
    """Why podlife applies no such object, whatever the flags (:mod:`podlife.kube.pod.admission`)."""
    if doc["kind"] == "Pod" or doc["kind"] in WORKLOADS:
        return malformed(doc) or foreign(doc) or pod_foreign(pod_spec(doc) or {})
    return foreign(doc)


def privileged_in(doc: dict[str, Any]) -> str | None:
    """The first privileged setting of a Pod's or workload's pods, in words, or None."""
    spec = pod_spec(doc)
    if spec is None:
        return None
    meta = (
        doc.get("metadata") if doc["kind"] == "Pod" else (doc["spec"].get("template") or {}).get("metadata")
    )
    return privileged(spec, (meta or {}).get("annotations"))


def pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The pod spec of a Pod or of a workload's template; None for anything else."""
    if doc.get("kind") == "Pod":
        return doc.setdefault("spec", {})
    if doc.get("kind") in WORKLOADS:
        return doc.setdefault("spec", {}).setdefault("template", {}).setdefault("spec", {})
    return None


def containers(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every container of the document's pod spec, init containers (sidecars) included."""
    spec = pod_spec(doc)
    if spec:
        yield from spec.get("initContainers") or []
        yield from spec.get("containers") or []


def with_images(docs: list[dict[str, Any]], image_map: dict[str, str]) -> list[dict[str, Any]]:
    """A fresh copy, every container's image mapped to what the cluster holds."""
    docs = copy.deepcopy(docs)
    for doc in docs:
        for container in containers(doc):
            container["image"] = image_map.get(container["image"], container["image"])
    return docs


def host_ports(docs: list[dict[str, Any]]) -> bool:
    """Whether any container binds a port of its node."""
    return any(p.get("hostPort") for d in docs for c in containers(d) for p in c.get("ports") or [])
