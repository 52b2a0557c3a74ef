"""A namespace podlife makes, and the rights it works with there.

On a cluster podlife did not create it needs only the small ClusterRole of
``manifests/rbac/podlife.yml``: what it does inside its own namespaces (pods, exec, port-forward,
workloads, Services...) comes from the ClusterRole :data:`ROLE`, bound here, in each namespace as
it is made, to whoever podlife runs as (asked of the API server, a SelfSubjectReview).  The
manifest's admission policy lets that identity bind :data:`ROLE` only in namespaces labelled
``podlife=scenario``, only to itself, so the rights never reach a namespace that is not podlife's.

Where the binding is refused (an identity granted more than that, or less), podlife works with the
rights it was given, as before; it waits for a binding it made to be in force before it goes on
(asked, a SelfSubjectAccessReview), never for a fixed time.
"""

from __future__ import annotations

import functools
from typing import Any

from kubernetes import client

from podlife.kube.api.wait import poll_until

ROLE = "podlife-in-namespace"  # the ClusterRole of manifests/rbac/podlife.yml bound in each namespace
BINDING = "podlife"
IN_FORCE_S = 30


def create(api: Any, name: str, labels: dict[str, str]) -> None:
    """The namespace, made with ``labels``, and podlife's rights in it bound to the caller."""
    core = client.CoreV1Api(api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels)))
    try:
        bind(api, name)
    except BaseException:  # the caller never learns it was made: it goes now (an agent's is privileged)
        core.delete_namespace(name, grace_period_seconds=0)
        raise


@functools.lru_cache(maxsize=8)
def whoami(api: Any) -> str | None:
    """The user name the API server knows the caller by, or None where it cannot say (a server
    older than 1.28)."""
    try:
        review = client.AuthenticationV1Api(api).create_self_subject_review(client.V1SelfSubjectReview())
    except client.ApiException:
        return None
    return review.status.user_info.username if review.status and review.status.user_info else None


def binding(namespace: str, user: str) -> client.V1RoleBinding:
    return client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name=BINDING, namespace=namespace, labels={"podlife": "scenario"}),
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=ROLE),
        subjects=[client.RbacV1Subject(api_group="rbac.authorization.k8s.io", kind="User", name=user)],
    )


def bind(api: Any, namespace: str) -> bool:
    """:data:`ROLE` bound in ``namespace`` to the caller, and in force; False where the cluster
    refused the binding (the caller's own rights then stand alone)."""
    user = whoami(api)
    if user is None:
        return False
    try:
        client.RbacAuthorizationV1Api(api).create_namespaced_role_binding(namespace, binding(namespace, user))
    except client.ApiException as exc:
        if exc.status in (403, 404, 422):
            return False
        raise
    poll_until(
        f"podlife's rights in {namespace} to be in force for {user}",
        lambda: can(api, namespace, "create", "pods"),
        timeout=IN_FORCE_S,
    )
    return True


def can(api: Any, namespace: str, verb: str, resource: str, subresource: str = "") -> bool:
    """Whether the caller may ``verb`` ``resource`` in ``namespace`` (the API server's answer)."""
    attributes = client.V1ResourceAttributes(
        namespace=namespace, verb=verb, resource=resource, subresource=subresource or None
    )
    spec = client.V1SelfSubjectAccessReviewSpec(resource_attributes=attributes)
    review = client.V1SelfSubjectAccessReview(spec=spec)
    answer = client.AuthorizationV1Api(api).create_self_subject_access_review(review)
    return bool(answer.status and answer.status.allowed)
