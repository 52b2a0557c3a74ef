"""The least rights podlife asks for, tried as an attacker would (issue 32):
``python -m bench.rbac --kubeconfig ADMIN [--write-kubeconfig OUT]``.

It applies ``manifests/rbac/podlife.yml`` with the admin kubeconfig, makes a token of the service
account ``podlife-system/podlife`` and, as that account, tries what podlife does (each must be
allowed) and what it must never be able to do (each must be refused: by RBAC or by the manifest's
admission policies).  One line per try; exit status 1 when any answer was not the expected one.
``--write-kubeconfig OUT`` keeps a kubeconfig of the account (token valid 6 h) for a whole run as
it: ``tox -e lifecycle -- --kubeconfig OUT ...``.  What it made (a victim namespace, podlife's test
namespace) is deleted; the manifest's objects stay (``kubectl delete -f`` them).
"""

from __future__ import annotations

import argparse
import secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from podlife.kube import api_client, owned, where

REPO = Path(__file__).resolve().parent.parent
MANIFEST = REPO / "manifests" / "rbac" / "podlife.yml"
ACCOUNT = ("podlife-system", "podlife")
USER = f"system:serviceaccount:{ACCOUNT[0]}:{ACCOUNT[1]}"


def kubectl(kubectl_path: str, kubeconfig: str, *args: str, stdin: str | None = None) -> str:
    argv = [kubectl_path, "--kubeconfig", kubeconfig, *args]
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, check=True, timeout=120).stdout


def account_kubeconfig(admin: str, kubectl_path: str, out: Path) -> None:
    """A kubeconfig of the service account, written with mode 0600 (it holds a token)."""
    token = kubectl(kubectl_path, admin, "-n", ACCOUNT[0], "create", "token", ACCOUNT[1], "--duration=6h")
    raw = yaml.safe_load(kubectl(kubectl_path, admin, "config", "view", "--minify", "--raw", "-o", "yaml"))
    cluster = raw["clusters"][0]["cluster"]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "podlife", "user": {"token": token.strip()}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "podlife"}}],
        "current-context": "c",
    }
    out.touch(mode=0o600)
    out.write_text(yaml.safe_dump(config))


def refused(call: Callable[[], Any]) -> str | None:
    """The refusal's reason, or None where the call was allowed."""
    try:
        call()
    except client.ApiException as exc:
        if exc.status in (403, 422):
            return f"{exc.status} {exc.reason}"
        raise
    return None


def tries(api: Any, node: str, victim: str, own: str) -> list[tuple[str, bool, Callable[[], Any]]]:
    """(what, must be refused, the call) as the service account."""
    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)

    def binding(namespace: str, role: str, user: str) -> Callable[[], Any]:
        body = owned.binding(namespace, user)
        body.metadata.name = f"try-{secrets.token_hex(3)}"
        body.role_ref.name = role
        return lambda: rbac.create_namespaced_role_binding(namespace, body)

    def namespace(labels: dict[str, str]) -> Callable[[], Any]:
        meta = client.V1ObjectMeta(name=f"try-{secrets.token_hex(3)}", labels=labels)
        return lambda: core.create_namespace(client.V1Namespace(metadata=meta), dry_run="All")

    def pod(namespace: str) -> Callable[[], Any]:
        body = {"metadata": {"name": "try"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
        return lambda: core.create_namespaced_pod(namespace, body, dry_run="All")

    mark, cordon = "podlife.io/cordoned-by", {"spec": {"unschedulable": True}}
    return [
        ("bind podlife-in-namespace to itself in its own namespace", False, binding(own, owned.ROLE, USER)),
        ("create a pod in its own namespace", False, pod(own)),
        ("create a namespace labelled podlife=scenario", False, namespace({"podlife": "scenario"})),
        (
            "cordon a node with its mark",
            False,
            lambda: core.patch_node(
                node, {**cordon, "metadata": {"annotations": {mark: "bench"}}}, dry_run="All"
            ),
        ),
        ("list every pod (kubectl drain)", False, lambda: core.list_pod_for_all_namespaces(limit=1)),
        (
            "hold a Lease in its own namespace (the run's heartbeat)",
            False,
            lambda: client.CoordinationV1Api(api).create_namespaced_lease(
                own, {"metadata": {"name": "try"}, "spec": {}}, dry_run="All"
            ),
        ),
        ("read the API server's /metrics (its feature gates)", False, lambda: where.metrics(api)),
        ("read secrets in kube-system", True, lambda: core.list_namespaced_secret("kube-system")),
        ("read secrets in another namespace", True, lambda: core.list_namespaced_secret(victim)),
        ("create a pod in another namespace", True, pod(victim)),
        (
            "exec in kube-system",
            True,
            lambda: core.connect_get_namespaced_pod_exec(
                "etcd", "kube-system", command=["true"], stdout=True
            ),
        ),
        ("create a namespace without podlife's label", True, namespace({})),
        ("delete another namespace", True, lambda: core.delete_namespace(victim, dry_run="All")),
        ("bind podlife-in-namespace in another namespace", True, binding(victim, owned.ROLE, USER)),
        ("bind podlife-in-namespace to someone else", True, binding(own, owned.ROLE, "mallory")),
        ("bind admin to itself in its own namespace", True, binding(own, "admin", USER)),
        ("bind cluster-admin to itself in its own namespace", True, binding(own, "cluster-admin", USER)),
        (
            "label a node",
            True,
            lambda: core.patch_node(node, {"metadata": {"labels": {"x": "y"}}}, dry_run="All"),
        ),
        (
            "taint a node",
            True,
            lambda: core.patch_node(
                node,
                {"spec": {"taints": [{"key": "x", "value": "y", "effect": "NoSchedule"}]}},
                dry_run="All",
            ),
        ),
        (
            "annotate a node beside its mark",
            True,
            lambda: core.patch_node(node, {"metadata": {"annotations": {"x": "y"}}}, dry_run="All"),
        ),
        ("delete a node", True, lambda: core.delete_node(node, dry_run="All")),
        ("read configmaps in kube-system", True, lambda: core.list_namespaced_config_map("kube-system")),
        (
            "create a ClusterRoleBinding",
            True,
            lambda: rbac.create_cluster_role_binding(
                {
                    "metadata": {"name": "try"},
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole",
                        "name": "cluster-admin",
                    },
                    "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": USER}],
                },
                dry_run="All",
            ),
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rbac", description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True, help="an admin kubeconfig of the cluster")
    parser.add_argument("--kubectl", default="kubectl")
    parser.add_argument("--write-kubeconfig", type=Path, help="keep the account's kubeconfig here")
    args = parser.parse_args(argv)
    kubectl(args.kubectl, args.kubeconfig, "apply", "-f", str(MANIFEST))
    out = args.write_kubeconfig or Path(f"/tmp/podlife-rbac-{secrets.token_hex(4)}.kubeconfig")
    account_kubeconfig(args.kubeconfig, args.kubectl, out)
    admin = client.CoreV1Api(api_client(args.kubeconfig))
    victim, own = f"victim-{secrets.token_hex(3)}", f"podlife-rbac-{secrets.token_hex(3)}"
    admin.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=victim)))
    as_account = api_client(str(out))
    failures = 0
    try:
        owned.create(as_account, own, {"podlife": "scenario"})
        node = next(n.metadata.name for n in admin.list_node().items)
        for what, must_refuse, call in tries(as_account, node, victim, own):
            why = refused(call)
            ok = (why is not None) == must_refuse
            failures += not ok
            said = f"refused ({why})" if why else "allowed"
            print(f"{'ok ' if ok else 'BAD'} {what}: {said}")
    finally:
        admin.delete_namespace(victim)
        admin.delete_namespace(own)
        if not args.write_kubeconfig:
            out.unlink()
    print(f"{failures} unexpected answer(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
