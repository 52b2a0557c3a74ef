"""The least rights podlife asks for (manifests/rbac/podlife.yml) and the binding it makes in each of
its namespaces (podlife.kube.api.owned); tried against a real cluster by ``python -m bench.rbac``."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace as NS
from typing import Any

import pytest
import yaml
from kubernetes import client

from podlife.kube.api import owned

MANIFEST = Path(__file__).resolve().parent.parent / "manifests" / "rbac" / "podlife.yml"
DOCS = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]
ACCOUNT = "system:serviceaccount:podlife-system:podlife"


def role(name: str) -> list[dict[str, Any]]:
    return next(d for d in DOCS if d["kind"] == "ClusterRole" and d["metadata"]["name"] == name)["rules"]


def granted(rules: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {
        (r, v)
        for rule in rules
        for r in rule.get("resources", rule.get("nonResourceURLs"))
        for v in rule["verbs"]
    }


def test_cluster_wide_it_reads_and_makes_only_what_a_run_needs_outside_its_namespaces() -> None:
    cluster_wide = granted(role("podlife"))
    for forbidden in (
        "secrets",
        "configmaps",
        "pods/exec",
        "pods/portforward",
        "pods/proxy",
        "serviceaccounts",
    ):
        assert not {g for g in cluster_wide if g[0] == forbidden}, forbidden
    writes = {g for g in cluster_wide if g[1] not in ("get", "list", "watch")}
    assert writes == {
        ("namespaces", "create"),
        ("namespaces", "delete"),
        ("nodes", "patch"),
        ("rolebindings", "create"),
        ("clusterroles", "bind"),
    }
    bind = next(r for r in role("podlife") if "bind" in r["verbs"])
    assert bind["resourceNames"] == [owned.ROLE]
    assert ("*" not in str(role("podlife"))) and ("*" not in str(role(owned.ROLE)))


def test_the_namespaced_role_is_bound_by_nobody_in_advance() -> None:
    bindings = [d for d in DOCS if d["kind"] in ("ClusterRoleBinding", "RoleBinding")]
    assert [b["roleRef"]["name"] for b in bindings] == ["podlife"]
    assert bindings[0]["subjects"] == [
        {"kind": "ServiceAccount", "name": "podlife", "namespace": "podlife-system"}
    ]
    assert ("pods/exec", "create") in granted(role(owned.ROLE))


def test_every_admission_policy_applies_to_podlifes_account_alone_and_is_enforced() -> None:
    policies = [d for d in DOCS if d["kind"] == "ValidatingAdmissionPolicy"]
    bound = {
        d["spec"]["policyName"]: d["spec"] for d in DOCS if d["kind"] == "ValidatingAdmissionPolicyBinding"
    }
    fenced = {
        r
        for p in policies
        for rule in p["spec"]["matchConstraints"]["resourceRules"]
        for r in rule["resources"]
    }
    assert fenced == {"namespaces", "rolebindings", "nodes"}
    for p in policies:
        assert p["spec"]["failurePolicy"] == "Fail"
        assert [c["expression"] for c in p["spec"]["matchConditions"]] == [
            f"request.userInfo.username == '{ACCOUNT}'"
        ]
        assert bound[p["metadata"]["name"]]["validationActions"] == ["Deny"]


class Api:
    """The calls owned.create makes, answered as a cluster would."""

    def __init__(self, *, binding_status: int | None = None, allowed_after: int = 0) -> None:
        self.binding_status, self.allowed_after = binding_status, allowed_after
        self.calls: list[str] = []


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Api:
    fake = Api()
    owned.whoami.cache_clear()

    class Core:
        def __init__(self, _: Any) -> None: ...

        def create_namespace(self, body: Any) -> None:
            fake.calls.append(f"namespace {body.metadata.name} {body.metadata.labels}")

        def delete_namespace(self, name: str, **kw: Any) -> None:
            fake.calls.append(f"deleted {name}")

    class Authn:
        def __init__(self, _: Any) -> None: ...

        def create_self_subject_review(self, _: Any) -> Any:
            return NS(status=NS(user_info=NS(username="alice")))

    class Rbac:
        def __init__(self, _: Any) -> None: ...

        def create_namespaced_role_binding(self, namespace: str, body: Any) -> None:
            if fake.binding_status:
                raise client.ApiException(status=fake.binding_status)
            fake.calls.append(f"binding {namespace} {body.role_ref.name} {body.subjects[0].name}")

    class Authz:
        def __init__(self, _: Any) -> None: ...

        def create_self_subject_access_review(self, _: Any) -> Any:
            fake.calls.append("asked")
            fake.allowed_after -= 1
            return NS(status=NS(allowed=fake.allowed_after < 0))

    monkeypatch.setattr(client, "CoreV1Api", Core)
    monkeypatch.setattr(client, "AuthenticationV1Api", Authn)
    monkeypatch.setattr(client, "RbacAuthorizationV1Api", Rbac)
    monkeypatch.setattr(client, "AuthorizationV1Api", Authz)
    return fake


def test_a_namespace_podlife_makes_gets_its_rights_bound_to_the_caller_and_awaited(api: Api) -> None:
    api.allowed_after = 2
    owned.create(object(), "ns-1", {"podlife": "scenario"})
    assert api.calls == [
        "namespace ns-1 {'podlife': 'scenario'}",
        f"binding ns-1 {owned.ROLE} alice",
        "asked",
        "asked",
        "asked",
    ]


@pytest.mark.parametrize("status", [403, 404, 422])
def test_a_refused_binding_leaves_the_callers_own_rights(api: Api, status: int) -> None:
    api.binding_status = status
    owned.create(object(), "ns-1", {"podlife": "scenario"})
    assert api.calls == ["namespace ns-1 {'podlife': 'scenario'}"]


def test_any_other_failure_of_the_binding_is_raised(api: Api) -> None:
    api.binding_status = 500
    with pytest.raises(client.ApiException):
        owned.create(object(), "ns-1", {"podlife": "scenario"})


def test_a_namespace_whose_binding_fails_is_not_left_behind(api: Api) -> None:
    api.binding_status = 500
    with pytest.raises(client.ApiException):
        owned.create(object(), "ns-1", {"podlife": "scenario"})
    assert api.calls == ["namespace ns-1 {'podlife': 'scenario'}", "deleted ns-1"]
