"""Acting below the API: only on kind nodes podlife marked as its own, and the very node the API
means."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile

import pytest

from podlife.kube import nodes


def test_podlife_acts_below_the_api_only_on_nodes_it_marked_and_the_api_means(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def tarred(text: str) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo("owner")
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
        return buf.getvalue()

    marks = {"ours": tarred(json.dumps({"cluster": "podlife"})), "broken": tarred("{")}

    def run(argv: list[str], **_: object) -> subprocess.CompletedProcess[bytes]:
        node = argv[2].split(":", 1)[0]
        return subprocess.CompletedProcess(argv, 0 if node in marks else 1, marks.get(node, b""), b"")

    monkeypatch.setattr(nodes.subprocess, "run", run)
    monkeypatch.setattr(nodes, "_OWNED", set())
    assert (
        nodes.owner("ours") == "podlife" and nodes.owner("broken") is None and nodes.owner("theirs") is None
    )
    monkeypatch.setattr(nodes, "owner", {"ours": "podlife", "theirs": None}.get)
    monkeypatch.setattr(nodes, "kind_cluster_of", lambda node: "podlife")
    nodes.require_node_access("ours")
    nodes.require_node_access("ours", "kind://docker/podlife/ours")
    with pytest.raises(nodes.SetupError, match="carries no podlife mark for podlife"):
        nodes.require_node_access("theirs")
    with pytest.raises(nodes.SetupError, match="providerID is 'aws:///eu-west-1a/i-0abc'"):
        nodes.require_node_access("ours", "aws:///eu-west-1a/i-0abc")
