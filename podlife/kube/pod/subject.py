"""The subject of a claim: a manifest of the chapter's shape, and which container is which.

The chapter's pod has a web app serving the chapter's API on a declared port and a
PostgreSQL container.  podlife finds them by what the manifest says, never by our image's
name: the database is the container that runs PostgreSQL (its image, or the official
image's documented ``POSTGRES_*`` settings); the web app is another container that declares
a ``containerPort``.  A manifest that cannot serve is refused up front, in one line naming
the file and what is missing, before any cluster work.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from podlife.kube.pod.admission import MAX_DEPTH, depth, foreign, malformed, pod_foreign, privileged

POSTGRES_SETTINGS = ("POSTGRES_PASSWORD", "POSTGRES_USER", "POSTGRES_DB")
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


def postgres_image(container: dict[str, Any]) -> bool:
    image = str(container.get("image", "")).split("@")[0].rsplit(":", 1)[0]
    return image.rsplit("/", 1)[-1] == "postgres"


def is_postgres(container: dict[str, Any]) -> bool:
    names = {e.get("name") for e in container.get("env") or []}
    return postgres_image(container) or bool(names & set(POSTGRES_SETTINGS))


def databases(everything: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The PostgreSQL containers: those of a postgres image; where none is, those with the official
    image's settings (a web container may well carry ``POSTGRES_PASSWORD`` to connect)."""
    return [c for c in everything if postgres_image(c)] or [c for c in everything if is_postgres(c)]


def the_one(path: Path, role: str, candidates: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The container playing ``role``: one name among the candidates (the same container may be in
    several pods); more than one name is refused, never guessed."""
    names = list(dict.fromkeys(c["name"] for c in candidates))
    if len(names) > 1:
        raise SubjectError(f"{path}: {', '.join(names)} could each be the {role}; podlife cannot tell which")
    return candidates[0] if candidates else None


def declared_port(container: dict[str, Any]) -> int | None:
    ports = [p.get("containerPort") for p in container.get("ports") or [] if p.get("containerPort")]
    return int(ports[0]) if ports else None


@dataclass(frozen=True)
class Subject:
    """A manifest measured by a claim, and the roles of its containers."""

    path: Path
    docs: list[dict[str, Any]] = field(repr=False)
    web: str  # the container serving the chapter's API
    db: str  # the PostgreSQL container
    port: int  # the web container's declared port
    web_image: str

    @classmethod
    def load(cls, path: Path, *, allow_privileged: bool = False) -> Subject:
        """The manifest and its roles; a problem is one :class:`SubjectError` line.  Privileged
        settings are refused unless ``allow_privileged`` (a kind node is itself a privileged
        container: such a pod is root on the host), and so is a manifest whose roles are ambiguous."""
        docs = read(path)
        for doc in docs if not allow_privileged else []:
            if why := privileged_in(doc):
                raise SubjectError(
                    f"{path}: {doc['kind']}/{doc['metadata']['name']} asks for {why}; podlife measures "
                    "it only with --allow-privileged-subject"
                )
        everything = [c for d in docs for c in containers(d)]
        if not everything:
            raise SubjectError(f"{path}: no Pod (and no workload with a pod template)")
        db = the_one(path, "PostgreSQL container", databases(everything))
        if db is None:
            raise SubjectError(
                f"{path}: no database container (one running PostgreSQL: a postgres image, "
                f"or the settings {', '.join(POSTGRES_SETTINGS)})"
            )
        web = the_one(path, "web container", [c for c in everything if c is not db and declared_port(c)])
        if web is None:
            raise SubjectError(
                f"{path}: no container that serves the chapter's API on a declared port "
                "(a container other than the database with ports[].containerPort)"
            )
        return cls(path, docs, web["name"], db["name"], declared_port(web) or 0, web["image"])

    @property
    def pod(self) -> str:
        """The name of the manifest's one bare Pod (the chapter's ``web2``)."""
        names = [d["metadata"]["name"] for d in self.docs if d.get("kind") == "Pod"]
        if len(names) != 1:
            raise SubjectError(f"{self.path}: expected exactly one Pod, found {len(names)}")
        return names[0]

    def service(self, docs: list[dict[str, Any]] | None = None) -> tuple[str, int]:
        """The Service in front of the web container: its name and port."""
        docs = self.docs if docs is None else docs
        holder = next(d for d in docs if any(c["name"] == self.web for c in containers(d)))
        meta = holder["metadata"] if holder["kind"] == "Pod" else holder["spec"]["template"]["metadata"]
        labels = meta.get("labels") or {}
        for doc in docs:
            selector = doc.get("spec", {}).get("selector") if doc.get("kind") == "Service" else None
            if selector and all(labels.get(k) == v for k, v in selector.items()):
                return doc["metadata"]["name"], int(doc["spec"]["ports"][0]["port"])
        raise SubjectError(f"{self.path}: no Service selects the pods of the web container")

    def loaded(self, image_map: dict[str, str]) -> list[dict[str, Any]]:
        """A fresh copy of the documents, their images mapped to what the cluster holds."""
        return with_images(self.docs, image_map)

    def host_ports(self) -> bool:
        """Whether any container binds a port of its node."""
        return host_ports(self.docs)

    def images(self) -> dict[str, str]:
        """Image -> pull policy, for every container (the images a cluster must hold)."""
        return {c["image"]: pull_policy(c) for d in self.docs for c in containers(d)}
