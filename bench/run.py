"""Load benchmark of the web service: ``python -m bench`` (issue 7).

What it does: starts a throw-away PostgreSQL (fsync and synchronous_commit on: every 200 on /write is a
committed line) and the real ``python -m service`` exactly as the service tests do (tests/pg.py,
tests/service_proc.py), then drives them over loopback with wrk (Debian's ``wrk`` package), each run
bounded in time, and prints requests/s, latency p50/p99, the service's resident memory (gunicorn
master + workers: before -> peak -> after the run) and the CPU time per request spent by the service and
by PostgreSQL (less sensitive to the machine's other load than requests/s) for:

    /write (POST, one commit each)   /read with 1,000 lines   /read with 10,000 lines   /ping

The load shape is the one the chapter's Go original was measured with: ``wrk -t2 -c4 -d10s``.
Targets (issue 7, the project's 2-core machine): /write >= 1,500 req/s, /read@1000 >= 250 req/s,
/read@10000 p50 < 100 ms, memory flat while /read@10000 is hammered. Exit status 1 if a target is
missed. The machine's other load skews the figures: the output starts with the load average.

Options: ``--duration 10`` (seconds per run), ``--warmup 2`` (untimed seconds before each run),
``--connections 4``, ``--threads 2`` (wrk's), ``--only NAME``, and the service's own WEB_WORKERS /
WEB_THREADS from the environment.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.original import OriginalProcess, build
from service.localrun import PostgresMissing, PostgresServer, ServiceProcess

HERE = Path(__file__).resolve().parent

WRK_MISSING = "wrk (the HTTP load generator) is not installed: apt-get install wrk"
MEMORY_FLAT_TOLERANCE_MB = 10.0
MEMORY_TREND_MB = 5.0


@dataclass
class Result:
    """One wrk run, plus the service's memory around it."""

    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    rss_before_mb: float
    rss_peak_mb: float
    rss_after_mb: float
    service_cpu_ms: float = 0.0  # CPU per request, service (master + workers)
    pg_cpu_ms: float = 0.0  # CPU per request, PostgreSQL (postmaster + backends)
    rss_samples_mb: list[float] = field(default_factory=list)

    def line(self) -> str:
        rss = f"{self.rss_before_mb:.0f}->{self.rss_peak_mb:.0f}->{self.rss_after_mb:.0f}"
        return (
            f"{self.name:<11} {self.rps:>7.0f} req/s  p50 {self.p50_ms:>6.2f} ms  "
            f"p99 {self.p99_ms:>7.2f} ms  err {self.errors:<3} RSS {rss} MB  "
            f"CPU/req svc {self.service_cpu_ms:.3f} ms pg {self.pg_cpu_ms:.3f} ms"
        )


def _process_tree(root_pid: int) -> list[int]:
    """``root_pid`` and all its descendants (gunicorn master + workers, or postmaster + backends)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    tree, pending = [], [root_pid]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending += children.get(pid, [])
    return tree


def process_tree_cpu_s(root_pid: int) -> float:
    """CPU time (user + system) used so far by the live processes of a tree, in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in _process_tree(root_pid):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / ticks


def process_tree_rss_mb(root_pid: int) -> float:
    """Resident memory of ``root_pid`` and all its descendants (gunicorn master + workers), in MB."""
    total_kb = 0
    for pid in _process_tree(root_pid):
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


class RssSampler(threading.Thread):
    """Samples the service's RSS every 0.5 s while a run lasts."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            self.samples.append(process_tree_rss_mb(self.pid))


def run_wrk(url: str, script: Path, args: argparse.Namespace, pid: int, pg_pid: int, name: str) -> Result:
    env = {**os.environ, "BENCH_REPORT_LUA": str(HERE / "report.lua")}
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    rss_before = process_tree_rss_mb(pid)
    cpu_before = process_tree_cpu_s(pid), process_tree_cpu_s(pg_pid)
    sampler = RssSampler(pid)
    sampler.start()
    completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=args.duration + 60)
    sampler.stop.set()
    sampler.join()
    cpu_after = process_tree_cpu_s(pid), process_tree_cpu_s(pg_pid)
    rss_after = process_tree_rss_mb(pid)
    report = next((line for line in completed.stdout.splitlines() if line.startswith("BENCH ")), None)
    if completed.returncode != 0 or report is None:
        raise RuntimeError(f"wrk failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    data = json.loads(report[len("BENCH ") :])
    errors = sum(data[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts", "non2xx"))
    return Result(
        name=name,
        rps=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        requests=data["requests"],
        errors=errors,
        rss_before_mb=rss_before,
        rss_peak_mb=max([rss_before, rss_after, *sampler.samples]),
        rss_after_mb=rss_after,
        service_cpu_ms=(cpu_after[0] - cpu_before[0]) * 1000 / max(1, data["requests"]),
        pg_cpu_ms=(cpu_after[1] - cpu_before[1]) * 1000 / max(1, data["requests"]),
        rss_samples_mb=sampler.samples,
    )


def fill_lines(pg: PostgresServer, count: int) -> None:
    """Replace the table's content with ``count`` short lines (like the chapter's)."""
    with pg.admin("web") as conn, conn.cursor() as cur:
        cur.execute("TRUNCATE lines RESTART IDENTITY")
        cur.execute(
            "INSERT INTO lines (data) SELECT 'benchmark line number ' || g FROM generate_series(1, %s) g",
            (count,),
        )
        cur.execute("VACUUM ANALYZE lines")


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min) on {os.cpu_count()} CPUs"


def check_targets(results: dict[str, Result]) -> list[tuple[str, bool, str]]:
    write, read1k, read10k = results["write"], results["read@1000"], results["read@10000"]
    # Flat: no trend. The mean RSS of the last third of the samples is within MEMORY_TREND_MB of the first
    # third's (a leak of ~50 KB per request would add >50 MB over a 10 s run), and the service holds at
    # most MEMORY_FLAT_TOLERANCE_MB more after the run than before it (allocator noise: a few MB).
    samples = read10k.rss_samples_mb or [read10k.rss_before_mb, read10k.rss_after_mb]
    third = max(1, len(samples) // 3)
    trend = sum(samples[-third:]) / third - sum(samples[:third]) / third
    retained = read10k.rss_after_mb - read10k.rss_before_mb
    flat = trend < MEMORY_TREND_MB and retained < MEMORY_FLAT_TOLERANCE_MB
    return [
        ("/write >= 1500 req/s", write.rps >= 1500, f"{write.rps:.0f} req/s"),
        ("/read@1000 >= 250 req/s", read1k.rps >= 250, f"{read1k.rps:.0f} req/s"),
        ("/read@10000 p50 < 100 ms", read10k.p50_ms < 100, f"p50 {read10k.p50_ms:.1f} ms"),
        (
            "memory flat under /read@10000",
            flat,
            f"RSS {read10k.rss_before_mb:.1f} -> peak {read10k.rss_peak_mb:.1f} -> "
            f"{read10k.rss_after_mb:.1f} MB, trend {trend:+.1f} MB",
        ),
        ("no errors in any run", all(r.errors == 0 for r in results.values()), ""),
    ]


SIDE_BY_SIDE = [("write", None, "/write", "write.lua"), ("read@1000", 1000, "/read", "report.lua")]


def side_by_side(args: argparse.Namespace, pg: PostgresServer, log_dir: Path) -> int:
    """The service and the chapter's Go original, same PostgreSQL, same wrk load, in turn: ``--pairs``
    pairs per endpoint, the order switching every pair; the median ratio service / original."""
    binary = build(Path(args.against), log_dir)
    service = ServiceProcess(pg.service_env(), log_dir / "service.log").start()
    original = OriginalProcess(binary, pg.service_env(), pg.port, log_dir / "original.log").start()
    assert service.proc is not None and original.proc is not None and pg.proc is not None
    subjects = {"service": (service.url, service.proc.pid), "original": (original.url, original.proc.pid)}
    verdicts = []
    try:
        for name, lines, path, script in SIDE_BY_SIDE:
            rps: dict[str, list[float]] = {"service": [], "original": []}
            for pair in range(args.pairs):
                for who in ("service", "original") if pair % 2 == 0 else ("original", "service"):
                    fill_lines(pg, lines or 0)
                    url, pid = subjects[who]
                    result = run_wrk(url + path, HERE / script, args, pid, pg.proc.pid, f"{name}:{who}")
                    rps[who].append(result.rps)
                    print(result.line(), flush=True)
            ratio = statistics.median(s / o for s, o in zip(rps["service"], rps["original"], strict=True))
            verdicts.append((name, ratio, rps))
            print(f"{name}: service / original = {ratio:.2f} (median of {args.pairs} pairs)\n", flush=True)
    finally:
        service.stop()
        original.stop()
    for name, ratio, rps in verdicts:
        med = {who: statistics.median(v) for who, v in rps.items()}
        print(
            f"  {'PASS' if ratio >= 1.0 else 'MISS'}  {name:<10} service {med['service']:,.0f} req/s, "
            f"original {med['original']:,.0f} req/s: {ratio:.2f}x"
        )
    return 0 if all(ratio >= 1.0 for _, ratio, _ in verdicts) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed seconds before each run (default 2)")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections (default 4)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument(
        "--only",
        action="append",
        choices=["write", "read@1000", "read@10000", "ping"],
        help="run only this one (repeatable)",
    )
    parser.add_argument(
        "--against",
        metavar="DIR",
        help="also build the chapter's Go original from DIR (012/service/web of param108/kubernetes101) "
        "and measure /write and /read@1000 of both in turn",
    )
    parser.add_argument("--pairs", type=int, default=5, help="with --against: pairs per endpoint (default 5)")
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= 120:
        parser.error("--duration must be 1..120 seconds")
    if shutil.which("wrk") is None:
        print(WRK_MISSING, file=sys.stderr)
        return 2
    try:
        pg = PostgresServer()
    except PostgresMissing as exc:
        print(str(exc), file=sys.stderr)
        return 2

    started = datetime.now(UTC)
    print(f"podlife service benchmark, {started:%Y-%m-%d %H:%M} UTC, {platform.node()}")
    print(f"load average before: {load_average()}")
    print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s over loopback; PostgreSQL fsync=on")
    results: dict[str, Result] = {}
    log_dir = Path(tempfile.mkdtemp(prefix="podlife-bench-"))
    if args.against:
        try:
            pg.init()
            return side_by_side(args, pg, log_dir)
        finally:
            pg.destroy()
    service: ServiceProcess | None = None
    try:
        pg.init()
        service = ServiceProcess(pg.service_env(), log_dir / "service.log").start()
        assert service.proc is not None
        pid = service.proc.pid
        print(
            f"service: WEB_WORKERS={os.environ.get('WEB_WORKERS', 'default')} "
            f"WEB_THREADS={os.environ.get('WEB_THREADS', 'default')} pid {pid}\n"
        )
        plan = [
            ("write", None, "/write", HERE / "write.lua"),
            ("read@1000", 1000, "/read", HERE / "report.lua"),
            ("read@10000", 10000, "/read", HERE / "report.lua"),
            ("ping", None, "/ping", HERE / "report.lua"),
        ]
        for name, lines, path, script in plan:
            if args.only and name not in args.only:
                continue
            if lines is not None:
                fill_lines(pg, lines)
            assert pg.proc is not None
            if args.warmup:  # untimed: imports, pool connections and caches are warm before measuring
                warm = argparse.Namespace(**{**vars(args), "duration": args.warmup})
                run_wrk(service.url + path, script, warm, pid, pg.proc.pid, name)
                fill_lines(pg, lines or 0)  # the measured run starts from the same table
            result = run_wrk(service.url + path, script, args, pid, pg.proc.pid, name)
            results[name] = result
            print(result.line(), flush=True)
            if name == "write":
                # Durability sanity check: every acknowledged write is a stored line (wrk may stop with a
                # few requests in flight, which the service completed: stored >= acknowledged).
                stored = pg.query("SELECT count(*) FROM lines")[0][0]
                acknowledged = result.requests - result.errors
                print(f"{'':<11} {stored} lines stored for {acknowledged} acknowledged writes")
    finally:
        if service is not None:
            service.stop()
        pg.destroy()
    shutil.rmtree(log_dir, ignore_errors=True)

    print(f"\nload average after: {load_average()}")
    if {"write", "read@1000", "read@10000"} <= set(results):
        verdicts = check_targets(results)
        for label, ok, detail in verdicts:
            print(f"  {'PASS' if ok else 'MISS'}  {label:<32} {detail}")
        return 0 if all(ok for _, ok, _ in verdicts) else 1
    return 0
