"""A run of the scenarios, from the process that starts it: the reports directory, the cluster
reached through :func:`podlife.provision.held` and held for the whole run, the progress printer,
the cluster handed to pytest-xdist's workers as it is, and the reports at the end."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import shutil
import sys
import threading
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from podlife import provision, report
from podlife.claims import Result
from podlife.kube import Cluster, ClusterInfo, Subject, agent, api_client, lease, leftovers, nodes, where
from podlife.paths import MANIFESTS, REPO
from podlife.profile import nodeloss, update
from podlife.profile.workload import Workload, load
from podlife.run import progress, schedule

RESULTS = pytest.StashKey[list[Result]]()
PROFILES = pytest.StashKey[list[dict[str, Any]]]()
STARTED = pytest.StashKey[float]()
REACHED = pytest.StashKey[ClusterInfo | str]()  # the cluster, or why it could not be reached
PRINTER = pytest.StashKey[progress.Printer]()
PROGRESS = "progress.jsonl"
DURATIONS = REPO / "scenarios" / "durations.json"
ABANDON_S = 20  # an interrupted run waits this long for its namespaces to be gone


def configure(config: pytest.Config) -> None:
    config.stash[RESULTS] = []
    config.stash[PROFILES] = []
    config.stash[STARTED] = time.time()
    config.pluginmanager.register(Interrupt(config), "podlife-interrupt")


class Interrupt:
    """At Ctrl-C or SIGTERM, in the process that started the run: the clean-up starts at once, while
    pytest-xdist still gives its workers up to 10 s to end (``execnet``): this run's agents asked to
    start any kubelet they stopped, then its namespaces deleted (their pods at once), in the
    background.  :func:`abandon`, once the workers are gone, finishes it (what they made meanwhile
    too) and waits until all is gone, so the run ends well within 30 s."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.thread: threading.Thread | None = None

    def pytest_keyboard_interrupt(self) -> None:
        info = self.config.stash.get(REACHED, None)
        if not hasattr(self.config, "workerinput") and isinstance(info, ClusterInfo):
            self.thread = threading.Thread(target=self.begin, args=(info,), daemon=True)
            self.thread.start()

    @staticmethod
    def begin(info: ClusterInfo) -> None:
        with contextlib.suppress(Exception):  # abandon() does it all again, and says what failed
            agent.restore(api_client(info.kubeconfig), info.run)
            leftovers.abandon(info.kubeconfig, info.run, timeout=None)


def reports_dir(config: pytest.Config) -> Path:
    return Path(config.getoption("reports"))


def start(config: pytest.Config) -> None:
    """A new run's reports directory, the cluster reached (or why not), the progress printer:
    once, in the process that starts the run."""
    if hasattr(config, "workerinput") or config.option.collectonly or REACHED in config.stash:
        return
    reports = reports_dir(config)
    clear_evidence(reports / "evidence")  # a new run: old bundles would mislead
    reports.mkdir(parents=True, exist_ok=True)
    (reports / PROGRESS).unlink(missing_ok=True)
    held = ExitStack()
    config.add_cleanup(held.close)
    try:
        images, next_versions = profiled_images(profiled(config))
        info = held.enter_context(
            provision.held(
                subjects(config),
                images=images,
                next_versions=next_versions,
                kubeconfig=config.getoption("kubeconfig"),
                kubectl=config.getoption("kubectl"),
                probe_image=config.getoption("probe_image"),
            )
        )
        run_id = f"{time.strftime('%Y%m%d%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"
        # the run's heartbeat: another run's collection tells this run's namespaces from a dead one's
        api = api_client(info.kubeconfig)
        held.enter_context(lease.RunLease(api, run_id, leftovers.labels(run_id)))
        at = where.measured(api, local_kernel=not config.getoption("kubeconfig")).to_json()
        config.stash[REACHED] = dataclasses.replace(info, run=run_id, where=at)
    except Exception as exc:
        config.stash[REACHED] = f"{type(exc).__name__}: {exc}"
    if config.pluginmanager.hasplugin("dsession"):  # pytest-xdist runs the scenarios side by side
        config.stash[PRINTER] = progress.Printer(reports / PROGRESS, say=printer(config)).start()
        config.add_cleanup(config.stash[PRINTER].stop)


MARK = ".podlife-evidence"  # in an evidence folder podlife made: only such a folder is ever removed


def clear_evidence(folder: Path) -> None:
    """Remove the evidence bundles of an earlier run: only from a folder podlife made (its mark),
    so ``--reports ~`` never removes ``~/evidence``."""
    if (folder / MARK).exists() or folder.parent == REPO / "reports":  # marked, or podlife's default place
        shutil.rmtree(folder, ignore_errors=True)
    elif folder.exists():
        raise pytest.UsageError(
            f"--reports {folder.parent}: {folder} exists and is not podlife's; name another --reports"
        )


def printer(config: pytest.Config) -> Any:
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if not terminal:
        return print

    def say(line: str) -> None:
        terminal.write_line(line)
        terminal.flush()  # live on a pipe too (GitHub Actions, tox)

    return say


def subjects(config: pytest.Config) -> list[Subject]:
    """Every manifest a run may measure (their images must be in the cluster): the chapter's pod
    and the manifests of podlife's fixes and counter-examples."""
    users = Path(config.getoption("pod_manifest"))
    paths = {users, MANIFESTS / "separated"}
    paths |= {p for p in [*MANIFESTS.rglob("*.yml"), *(REPO / "scenarios" / "counter").glob("*.yml")]}
    # the separated pair is one subject (its folder); rbac/ is what a user grants podlife, not a subject
    paths -= {*(MANIFESTS / "separated").glob("*.yml"), *(MANIFESTS / "rbac").glob("*.yml")}
    allow = config.getoption("allow_privileged_subject")  # for the user's manifest, as they said
    return [Subject.load(p, allow_privileged=allow and p == users) for p in sorted(paths)]


def profiled(config: pytest.Config) -> list[Workload]:
    """The workloads a ``--profile`` run measures."""
    if not config.getoption("profile"):
        return []
    allow = config.getoption("allow_privileged_subject")
    return load([a.split("::")[0] for a in config.args], allow_privileged=allow)


def profiled_images(workloads: list[Workload]) -> tuple[dict[str, str], set[str]]:
    """Their images (image -> pull policy), and those a rolling update changes to a next version."""
    images = {i: p for w in workloads for i, p in w.images().items()}
    rolled = {update.image_of(w) for w in workloads if not update.not_applicable(w)}
    return images, rolled


def to_wire(config: pytest.Config) -> dict[str, Any]:
    """What a pytest-xdist worker gets: the ClusterInfo's fields, or why there is none."""
    reached = config.stash.get(REACHED, "no cluster")
    return reached.to_wire() if isinstance(reached, ClusterInfo) else {"error": reached}


CONNECTED = pytest.StashKey[Cluster]()


def connected(config: pytest.Config, what: str) -> Cluster:
    """The cluster this process measures on, connected once (a scenario's and a profile's alike),
    with podlife's agent ready for the nodes Docker cannot reach (started on first use, closed at
    the end of the process); failing to reach one fails the test (never a skip)."""
    if (cluster := config.stash.get(CONNECTED, None)) is None:
        info = reached(config)
        if not isinstance(info, ClusterInfo):
            pytest.fail(f"no cluster to {what} on: {info}", pytrace=False)
        cluster = config.stash[CONNECTED] = Cluster.connect(info)
        helper = agent.Agent(cluster.api, cluster.probe_image, cluster.run)
        nodes.use_agent(
            helper,
            allow_node_disruption=config.getoption("allow_node_disruption"),
            provider_of=lambda node: cluster.core.read_node(node).spec.provider_id,
        )
        config.add_cleanup(helper.close)
    return cluster


def reached(config: pytest.Config) -> ClusterInfo | str:
    """The cluster this process measures on (a worker's from its controller), or why none."""
    if hasattr(config, "workerinput"):
        wire = config.workerinput["podlife"]
        return wire["error"] if "error" in wire else ClusterInfo.from_wire(wire)
    return config.stash.get(REACHED, "no cluster")


def finish(session: pytest.Session) -> None:
    """The reports, from the process that started the run; a teardown that failed fails it."""
    config = session.config
    if hasattr(config, "workerinput") or REACHED not in config.stash:
        return
    reports = reports_dir(config)
    entries = progress.read(reports / PROGRESS)
    if stuck := [e for e in entries if e["state"] == "teardown failed"]:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        collect_stuck(config, stuck)
    if config.getoption("store_durations"):
        progress.store_durations(DURATIONS, entries)
    if received := config.stash.get(PROFILES, []):  # not ``entries``: the schedule and chain read those
        profiles = nodeloss.merge(*nodeloss.received(received), asked=not config.getoption("no_node_loss"))
        report.profile_files.write(profiles, reports, meta(config))
    results = config.stash.get(RESULTS, [])
    if not results:
        return
    chain_s, parts = progress.chain(entries, kinds(config, entries)) or (None, "")
    measured = dataclasses.replace(meta(config), chain_s=chain_s, chain_parts=parts)
    printer(config)(f"[podlife] pytest: {report.markdown.chain_line(measured)}")
    try:
        report.write(results, reports, measured, progress.schedule(entries), root=Path.cwd())
    except report.agree.Disagreement as exc:
        print(f"podlife: {exc}", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def kinds(config: pytest.Config, entries: list[dict[str, Any]]) -> dict[str, str]:
    """The kind (stopper, spreader, alone, other) of each test this run ran."""
    return schedule.kinds_of(config.rootpath, sorted({e["test"] for e in entries}))


def collect_stuck(config: pytest.Config, stuck: list[dict[str, Any]]) -> None:
    """Teardowns that failed: each named (the run fails), and then, unless namespaces are kept
    for a look, the namespaces this run made deleted by the controller, so a failed run leaves
    nothing either."""

    def say(line: str) -> None:
        print(f"podlife: {line}", file=sys.stderr)

    for e in stuck:
        say(f"the teardown of {e['test']} failed: {e['error']}")
    info = config.stash[REACHED]
    if config.getoption("keep_failed") or not isinstance(info, ClusterInfo):
        return
    try:
        gone = leftovers.abandon(info.kubeconfig, info.run, timeout=ABANDON_S)
        say(f"this run's {len(gone)} namespace(s) left by those teardowns deleted")
    except Exception as exc:
        say(f"those namespaces not deleted ({type(exc).__name__}: {exc}); the next run collects them")


def abandon(config: pytest.Config) -> None:
    """An interrupted run (Ctrl-C, SIGTERM), from the process that started it, once its workers
    are gone: the namespaces this run made deleted and awaited gone, and on podlife's own cluster a
    node left stopped started again.  What cannot be done now the next run collects."""
    info = None if hasattr(config, "workerinput") else config.stash.get(REACHED, None)
    if not isinstance(info, ClusterInfo):
        return
    say = printer(config)
    early = config.pluginmanager.get_plugin("podlife-interrupt")
    if early and early.thread:
        early.thread.join(ABANDON_S)
    try:  # first: a kubelet this run's agents stopped, started again
        if missed := agent.restore(api_client(info.kubeconfig), info.run):
            say(f"interrupted: kubelet of {', '.join(missed)} not started now; a timer on the node will")
    except Exception as exc:
        say(f"interrupted: agents not asked ({type(exc).__name__}: {exc}); node timers start kubelets")
    if not config.getoption("kubeconfig"):  # then: a scenario's pods on a stopped node go with it
        try:
            provision.restore_nodes()
        except Exception as exc:
            say(
                f"interrupted: a stopped node not started again ({type(exc).__name__}: {exc}); "
                "the next `cluster up` starts it"
            )
    try:
        gone = leftovers.abandon(info.kubeconfig, info.run, timeout=ABANDON_S)
        say(f"interrupted: this run's {len(gone)} namespace(s) deleted and gone")
    except Exception as exc:
        say(f"interrupted: clean-up incomplete ({type(exc).__name__}: {exc}); the next run collects the rest")


def meta(config: pytest.Config) -> report.Meta:
    started = config.stash[STARTED]
    reached = config.stash[REACHED]
    return report.Meta(
        cluster=reached.description if isinstance(reached, ClusterInfo) else "?",
        where=reached.where if isinstance(reached, ClusterInfo) else {},
        started=datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        duration_s=round(time.time() - started, 1),
        ci=bool(os.environ.get("CI")),
    )
