"""Hostile and malformed manifests: each must be refused in one line naming the file, before any
cluster work (so nothing is created), on both of podlife's ways in: a claim's ``--pod-manifest``
and a profile's paths."""

ALIAS_BOMB = (
    'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n'
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\nkind: Pod\n"
)
POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"


# (the manifest's text, words its one-line refusal must hold)
HOSTILE = [
    (ALIAS_BOMB, "a YAML alias"),
    (
        POD.replace("{name: p}", "{name: p, namespace: kube-system}")
        + "spec: {containers: [{name: a, image: x}]}\n",
        "names namespace kube-system",
    ),
    (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: all}\n",
        "does not apply a ClusterRoleBinding",
    ),
    (
        POD + "spec: {containers: [{name: a, image: x, securityContext: {privileged: true}}]}\n",
        "a privileged container",
    ),
    (
        POD + "spec: {containers: [{name: a, image: x}], volumes: [{name: r, hostPath: {path: /}}]}\n",
        "a hostPath volume (/)",
    ),
    (POD + "spec: {hostPID: true, containers: [{name: a, image: x}]}\n", "hostPID"),
    (
        POD + "spec: {containers: [{name: a, image: x, "
        "securityContext: {capabilities: {add: [SYS_ADMIN]}}}]}\n",
        "SYS_ADMIN",
    ),
    (POD + 'spec: "abc"\n', "spec is not a mapping"),
    (POD + "spec: {containers: [{name: a, image: x, env: [x]}]}\n", "env holds something"),
    (
        POD + "spec: {containers: [{name: a, image: x, ports: [{containerPort: http}]}]}\n",
        "containerPort is not a number",
    ),
    ("apiVersion: v1\nkind: Pod\nspec: {containers: [{name: a, image: x}]}\n", "has no metadata.name"),
    ("apiVersion: v1\nkind: Pod\nmetadata: [p]\n", "metadata is not a mapping"),
]
