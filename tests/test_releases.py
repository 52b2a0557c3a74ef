"""Which Kubernetes podlife's own cluster runs (podlife.provision.releases): the minors it pins, one
line for any other, a cluster and artefacts of their own per minor, the default's untouched."""

from __future__ import annotations

import re

import pytest
import yaml

from podlife.provision import kindconfig, releases
from podlife.provision.airgap import airgap_graph
from podlife.provision.images import Toolset


def test_the_minors_podlife_pins_and_one_line_for_any_other() -> None:
    known = releases.known()
    assert known[releases.DEFAULT] == "v1.34.0" and known["1.35"] == "v1.35.4"
    assert set(known) == {"1.34", "1.35", "1.36", "1.37"}
    assert releases.check("v1.35") == releases.check("1.35.4") == "1.35"
    for bad in ("1.40", "1.35.1", "banana"):
        with pytest.raises(releases.UnknownVersion, match=re.escape("podlife knows 1.34 (v1.34.0), 1.35")):
            releases.check(bad)
    assert releases.asked_in(["-k", "x", "--kubernetes", "1.36"]) == "1.36"
    assert (
        releases.asked_in(["--kubernetes=1.37"]) == "1.37"
        and releases.asked_in(["--kubeconfig", "k"]) is None
    )
    with pytest.raises(releases.UnknownVersion, match="runs its own"):
        releases.select_for("1.35", "/some/kubeconfig")


def test_each_minor_has_its_own_pins_artefacts_and_images_and_the_default_keeps_its_own() -> None:
    pins = releases.pins("1.35")
    assert pins["K8S_VERSION"] == "v1.35.4" and pins["ETCD_VERSION"] == "v3.6.6"
    assert pins["DEBIAN_SUITE"] == releases.pins(releases.DEFAULT)["DEBIAN_SUITE"]  # the rest is shared
    default, other = airgap_graph(releases.DEFAULT), airgap_graph("1.35")
    assert (
        default["node"].image == "podlife/kind-node:v1.34.0"
        and other["node"].image == "podlife/kind-node:v1.35.4"
    )
    assert (default["k8s"].name, other["k8s"].name) == ("k8s", "k8s-1-35")
    assert default["k8s"].inputs != other["k8s"].inputs
    assert default["postgres"].inputs == other["postgres"].inputs  # shared, built once
    assert not any(releases.PINS in p.parents for a in default.values() for p in a.recipe)


def toolset(image: str) -> Toolset:
    return Toolset(True, "kind", "kubectl", image, {}, (), "python")  # type: ignore[arg-type]


def test_from_135_the_kubelet_is_told_to_run_on_a_cgroup_v1_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kindconfig.upstream, "cgroup_version", lambda: "1")
    patches = kindconfig.kind_config(toolset("podlife/kind-node:v1.35.4"))["kubeadmConfigPatches"]
    assert yaml.safe_load(patches[-1]) == {"kind": "KubeletConfiguration", "failCgroupV1": False}
    assert len(kindconfig.kind_config(toolset("podlife/kind-node:v1.34.0"))["kubeadmConfigPatches"]) == 1
    monkeypatch.setattr(kindconfig.upstream, "cgroup_version", lambda: "2")
    assert len(kindconfig.kind_config(toolset("podlife/kind-node:v1.35.4"))["kubeadmConfigPatches"]) == 1


def test_feature_gates_make_a_cluster_of_their_own_and_reach_every_component(monkeypatch) -> None:
    monkeypatch.delenv(releases.GATES_ENV, raising=False)
    assert releases.gates() == {} and releases.gates_suffix() == ""
    chosen = releases.select_gates("RestartAllContainersOnContainerExits=true, NodeDeclaredFeatures=true")
    assert chosen == {"NodeDeclaredFeatures": True, "RestartAllContainersOnContainerExits": True}
    assert re.fullmatch(r"-g[0-9a-f]{6}", releases.gates_suffix())
    assert kindconfig.kind_config(toolset("podlife/kind-node:v1.35.4"))["featureGates"] == chosen
    for bad in ("Foo", "foo=true", "Foo=yes"):
        with pytest.raises(releases.UnknownVersion, match="is not Name=true or Name=false"):
            releases.parse_gates(bad)
    with pytest.raises(releases.UnknownVersion, match="--kubeconfig is another"):
        releases.select_gates("Foo=true", "/some/kubeconfig")
    assert releases.asked_in(["--feature-gates", "A=true"], "--feature-gates") == "A=true"


def test_another_runtime_has_its_own_cluster_node_base_and_node_image_and_shares_the_rest(
    monkeypatch,
) -> None:
    monkeypatch.delenv(releases.RUNTIME_ENV, raising=False)
    monkeypatch.setattr(kindconfig.upstream, "cgroup_version", lambda: "1")
    assert releases.runtime() == "containerd1.6" and releases.runtime_suffix() == ""
    default, c2 = airgap_graph("1.36"), airgap_graph("1.36", "containerd2")
    assert releases.select_runtime("containerd2") == "containerd2" and releases.runtime_suffix() == "-c2"
    assert (default["node"].image, c2["node"].image) == (
        "podlife/kind-node:v1.36.3",
        "podlife/kind-node:v1.36.3-c2",
    )
    assert c2["node-base-c2"].image == "podlife/kind-base:bookworm-1-36-c2"
    assert c2["node-base-c2"].after == [default["node-base"], c2["containerd2"]]
    assert default["node"] is airgap_graph("1.36")["node"] and "containerd2" not in default  # untouched
    assert all(c2[name] is default[name] for name in ("k8s", "tools", "components", "node-base"))
    patches = kindconfig.kind_config(toolset(c2["node"].image or ""))["kubeadmConfigPatches"]
    assert kindconfig.CGROUP_V1_PATCH in patches  # its version read from its tag, as the default's
    with pytest.raises(
        releases.UnknownVersion, match=re.escape("podlife knows containerd1.6: Debian bookworm's")
    ):
        releases.select_runtime("crio")
    with pytest.raises(releases.UnknownVersion, match="--kubeconfig is another"):
        releases.select_runtime("containerd2", "/some/kubeconfig")
    assert releases.asked_in(["--runtime", "containerd2"], "--runtime") == "containerd2"
