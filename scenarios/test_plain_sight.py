"""The chapter's "Hiding in plain sight": what the containers of a pod share.

"containers in a pod share the network layer and port space" and the "IPC namespace
(pipes and semaphores etc)".  Measured by probes that target each container (so they see
its main process) and act inside that container's own namespaces: the namespace identities
the kernel gives, PostgreSQL's port seen and reached from the web's network namespace and
refused to a second bind there, a semaphore made in the web's IPC namespace and looked up
in the db's.  Nothing runs in the containers themselves.  Counter-example: the same two
containers as two pods.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from podlife.claims import PLAIN_SIGHT, Claim, Counter, Needs, Nodes
from podlife.kube import pods, subject
from podlife.measure import Measurement

PG_PORT = 5432  # PostgreSQL's documented port
TWO_PODS = Counter(
    Path(__file__).parent / "counter" / "two-pods.yml",
    "The same two containers as two pods (kept on different nodes): they share nothing.",
    needs=Needs(nodes=Nodes.ALL),
)

NETWORK = Claim(
    "shared-network",
    PLAIN_SIGHT,
    "containers in a pod share the network layer and port space",
    counters=(TWO_PODS,),
)


@NETWORK.measure
def shared_network(m: Measurement) -> None:
    running = m.kube.start_all(m.docs)
    web, db = pods.holder(running, m.subject.web), pods.holder(running, m.subject.db)
    subject.await_postgres(m.kube, db.metadata.name, m.subject.db)
    in_web = m.kube.probe(
        web.metadata.name,
        m.subject.web,
        [
            ("proc", {}),
            ("listening", {}),
            ("connect", {"host": "127.0.0.1", "port": PG_PORT}),
            ("bind", {"port": PG_PORT}),
        ],
    )
    in_db = m.kube.probe(db.metadata.name, m.subject.db, [("proc", {}), ("listening", {})])
    netns = {"web": in_web["proc"]["ns"]["net"], "db": in_db["proc"]["ns"]["net"]}
    m.evidence(
        pods=sorted({web.metadata.name, db.metadata.name}),
        net_namespace=netns,
        pod_ip={"web": web.status.pod_ip, "db": db.status.pod_ip},
        listening={"web": in_web["listening"]["ports"], "db": in_db["listening"]["ports"]},
        web_to_postgres=in_web["connect"],
        web_binds_postgres_port=in_web["bind"],
    )
    m.check(netns["web"] == netns["db"], "the containers are in different network namespaces")
    m.check(web.status.pod_ip == db.status.pod_ip, "the containers have different addresses")
    m.check(
        PG_PORT in in_web["listening"]["ports"], f"port {PG_PORT} is not listening in the web's namespace"
    )
    m.check(in_web["connect"]["connected"], f"the web's namespace cannot reach 127.0.0.1:{PG_PORT}")
    m.check(
        in_web["bind"].get("error") == "EADDRINUSE",
        f"port {PG_PORT}, held by PostgreSQL, could be bound from the web's namespace",
    )


IPC = Claim(
    "shared-ipc",
    PLAIN_SIGHT,
    "IPC namespace (pipes and semaphores etc)",
    counters=(TWO_PODS,),
)


@IPC.measure
def shared_ipc(m: Measurement) -> None:
    running = m.kube.start_all(m.docs)
    web, db = pods.holder(running, m.subject.web), pods.holder(running, m.subject.db)
    key = secrets.randbelow(2**30) + 1
    made = m.kube.probe(
        web.metadata.name, m.subject.web, [("proc", {}), ("semaphore", {"key": key, "create": True})]
    )
    looked = m.kube.probe(
        db.metadata.name, m.subject.db, [("proc", {}), ("semaphore", {"key": key, "remove": True})]
    )
    ipcns = {"web": made["proc"]["ns"]["ipc"], "db": looked["proc"]["ns"]["ipc"]}
    m.evidence(ipc_namespace=ipcns, made_in_web=made["semaphore"], looked_up_in_db=looked["semaphore"])
    m.check(made["semaphore"]["found"], "no semaphore could be made in the web's IPC namespace")
    m.check(ipcns["web"] == ipcns["db"], "the containers are in different IPC namespaces")
    m.check(looked["semaphore"]["found"], f"the semaphore (key {key}) made in web's namespace is not in db's")
