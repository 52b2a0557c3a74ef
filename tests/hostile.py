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

# A Pod of two plain containers with ``{extra}`` in its spec (and ``{meta}`` in its metadata).
SHAPE = (
    "apiVersion: v1\nkind: Pod\nmetadata: {{name: p{meta}}}\n"
    "spec: {{containers: [{{name: a, image: x{container}}}, {{name: b, image: y}}]{extra}}}\n"
)


def pod(extra: str = "", container: str = "", meta: str = "") -> str:
    return SHAPE.format(extra=extra, container=container, meta=meta)


# issue 32, findings 5 and 9: what still passed on 9961b62, each refused in one line
HOSTILE += [
    (pod(container=", securityContext: {procMount: Unmasked}"), "procMount Unmasked"),
    (pod(container=", securityContext: {seccompProfile: {type: Unconfined}}"), "unconfined seccompProfile"),
    (pod(extra=", securityContext: {appArmorProfile: {type: Unconfined}}"), "unconfined appArmorProfile"),
    (
        pod(meta=", annotations: {container.apparmor.security.beta.kubernetes.io/a: unconfined}"),
        "unconfined AppArmor profile",
    ),
    (pod(container=", securityContext: {seLinuxOptions: {type: spc_t}}"), "SELinux options"),
    (
        pod(extra=", securityContext: {runAsUser: 0, sysctls: [{name: kernel.msgmax, value: '1'}]}"),
        "unsafe sysctl kernel.msgmax",
    ),
    (pod(extra=", runtimeClassName: kata"), "spec.runtimeClassName"),
    (pod(extra=", serviceAccountName: cluster-admin-sa"), "spec.serviceAccountName cluster-admin-sa"),
    (pod(extra=", nodeName: control-plane, tolerations: [{operator: Exists}]"), "spec.nodeName"),
    (pod(extra=", priorityClassName: system-cluster-critical"), "spec.priorityClassName"),
    (pod(extra=", volumes: [{name: v, csi: {driver: x}}]"), "a csi volume"),
    (pod(extra=", volumes: [{name: v, nfs: {server: 10.0.0.1, path: /}}]"), "a nfs volume"),
    (pod(extra=", volumes: [{name: v, iscsi: {targetPortal: t, iqn: q, lun: 0}}]"), "a iscsi volume"),
    (pod(extra=", volumes: [{name: v, gitRepo: {repository: r}}]"), "a gitRepo volume"),
    (pod(extra=", volumes: [{name: v, emptyDir: {}, nfs: {server: s, path: /}}]"), "a nfs volume"),
    (
        pod(extra=", volumes: [{name: v, projected: {sources: [{serviceAccountToken: {path: t}}]}}]"),
        "a projected serviceAccountToken",
    ),
    (
        "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
        "spec: {type: LoadBalancer, ports: [{port: 80}]}\n",
        "a Service of type LoadBalancer",
    ),
    (
        "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: NodePort, ports: [{port: 80}]}\n",
        "a Service of type NodePort",
    ),
    (
        "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: ExternalName, externalName: x}\n",
        "a Service of type ExternalName",
    ),
    (
        "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
        "spec: {externalIPs: [1.2.3.4], ports: [{port: 80}]}\n",
        "CVE-2020-8554",
    ),
    (pod(meta=", generateName: p-"), "metadata.generateName"),
    (
        pod(meta=", ownerReferences: [{apiVersion: v1, kind: Node, name: n, uid: u}]"),
        "metadata.ownerReferences",
    ),
    (pod(meta=", finalizers: [example.com/never]"), "metadata.finalizers"),
    (pod(meta=", annotations: {big: " + "x" * (900 << 10) + "}"), "labels and annotations of 900 KiB"),
    (
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\n"
        "spec: {volumeName: someone-elses, accessModes: [ReadWriteOnce], "
        "resources: {requests: {storage: 1Gi}}}\n",
        "spec.volumeName",
    ),
    (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: t, annotations: {kubernetes.io/service-account.name: "
        "default}}\ntype: kubernetes.io/service-account-token\n",
        "a service-account-token Secret",
    ),
    (
        "kind: Pod\nmetadata: {name: p}\nspec: " + "[" * 400 + "]" * 400 + "\n",
        "nested deeper than podlife reads",
    ),
    (pod(container=", securityContext: abc"), "securityContext is not a mapping"),
    (pod(extra=", volumes: [{name: v, hostPath: /etc}]"), "hostPath is not a mapping with a path"),
    (
        pod(container=", securityContext: {capabilities: {add: [1, 2]}}"),
        "capabilities.add is not a list of names",
    ),
    (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: web, image: x}, "
        "{name: web, image: postgres:15}]}\n",
        "two containers named web",
    ),
]
