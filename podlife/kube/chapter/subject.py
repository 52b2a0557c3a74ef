"""The subject of a claim: a manifest of the chapter's shape, and which container is which.

The chapter's pod has a web app serving the chapter's API on a declared port and a
PostgreSQL container.  podlife finds them by what the manifest says, never by our image's
name: the database is the container that runs PostgreSQL (its image, or the official
image's documented ``POSTGRES_*`` settings); the web app is another container that declares
a ``containerPort``.  A manifest that cannot serve is refused up front, in one line naming
the file and what is missing, before any cluster work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podlife.kube.api import execs
from podlife.kube.api.wait import poll_until
from podlife.kube.pod.manifest import (
    SubjectError,
    containers,
    host_ports,
    privileged_in,
    pull_policy,
    read,
    with_images,
)

POSTGRES_SETTINGS = ("POSTGRES_PASSWORD", "POSTGRES_USER", "POSTGRES_DB")


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


def await_postgres(kube: Any, pod: str, container: str, timeout: float = 120) -> None:
    """PostgreSQL in ``pod`` of the namespace ``kube`` accepts TCP connections: ``pg_isready``, the
    database image's own tool (an entry point's temporary server listens on no TCP port)."""
    argv = ["pg_isready", "--host=127.0.0.1"]
    poll_until(
        f"PostgreSQL in pod {pod} to accept connections",
        lambda: execs.run_in(kube.cluster.api, kube.namespace, pod, container, argv).code == 0,
        timeout=timeout,
    )
