"""The 3-node cluster rows: how fast a 3-broker cluster starts and how much memory it holds idle.

From issue 14: "a 3-node cluster starts in under 0.5 s and idles under 80 MB RSS". kafkalite
simulates the cluster in one process (``kafkalite serve --brokers 3 --port P``: nodes 1..3 on
ports P..P+2); Apache Kafka runs three JVMs through ``ReferenceKafka(nodes=3)`` (each one
broker+controller of a 3-voter KRaft quorum, with the same JVM settings as its single-node
row). Tansu and noida have no such mode in one command: ``n/a``.

Start time runs from the launch (kafkalite's ``Popen``; Kafka's first JVM ``Popen``, after the
untimed ``StorageTool format`` of the three log dirs) until every node's port answers a Metadata
request that lists all three brokers (raw Metadata v1, ``kprobe.brokers_listed``). Idle RSS is
the whole process tree's (all three JVMs for Kafka), 0.5 s after that, as the single-node row.
Median of ``plan.startup_runs`` fresh starts, each on a fresh data directory.
"""

from __future__ import annotations

import contextlib
import math
import socket
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import brokers
import kprobe
from config import Plan
from monitor import tree_rss
from report import BrokerResult

NODES = 3
#: The brokers that get the cluster rows.
CLUSTER_BROKERS = ("kafkalite", "kafka")
MIB = 1024 * 1024
METRICS = ("cluster_startup_ms", "cluster_rss_idle_mib")


def _log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def consecutive_free_ports(count: int, attempts: int = 50) -> int:
    """A port P such that P..P+count-1 are all free on the loopback interface right now."""
    for _ in range(attempts):
        base = brokers.free_port()
        if base + count > 65535:
            continue
        held: list[socket.socket] = []
        try:
            for port in range(base + 1, base + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                held.append(sock)
                sock.bind((brokers.HOST, port))
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
        return base
    raise brokers.BrokerFailed(f"found no {count} consecutive free ports")


def all_list(ports: list[int], count: int) -> bool:
    """True once every port answers Metadata with ``count`` brokers."""
    for port in ports:
        try:
            if kprobe.brokers_listed(brokers.HOST, port, timeout=1.0) < count:
                return False
        except (OSError, kprobe.ProbeUnsupported):
            return False
    return True


def wait_listed(
    cluster: KafkaliteCluster | KafkaCluster,
    timeout: float,
    poll_s: float,
    exited: Callable[[], str],
    log: Callable[[], str] = lambda: "",
) -> float:
    """Seconds from ``cluster``'s launch until every node lists all nodes; BrokerFailed if a node
    exits (``exited()`` says how) or the time runs out (``log()`` appended)."""
    deadline = cluster.started_at + timeout
    while time.perf_counter() < deadline:
        brokers.check_interrupted()
        if all_list(cluster.ports, NODES):
            return time.perf_counter() - cluster.started_at
        if not cluster.alive():
            raise brokers.BrokerFailed(exited())
        time.sleep(poll_s)
    raise brokers.BrokerFailed(f"not all {NODES} nodes answered within {timeout:.0f}s{log()}")


def _cluster_flag(python: str, env: dict[str, str] | None, cwd: Path | None) -> list[str]:
    """``--brokers 3`` when this checkout's ``serve`` has the option, else the setting it stands for."""
    help_text = brokers._run_quiet([python, "-m", "kafkalite", "serve", "--help"], env=env, cwd=cwd)
    if "--brokers" in help_text:
        return ["--brokers", str(NODES)]
    return ["--override", f"kafkalite.brokers={NODES}"]


class KafkaliteCluster(brokers.RunningBroker):
    """``kafkalite serve --brokers 3 --port P``: one process, nodes 1..3 on ports P..P+2."""

    def __init__(self, spec: brokers.BrokerSpec, workdir: Path, tag: str, flag: list[str]) -> None:
        super().__init__(spec, workdir, tag, port=consecutive_free_ports(NODES), extra_args=flag)
        self.ports = [self.port + i for i in range(NODES)]

    def rss(self) -> int:
        return tree_rss(self.pid)

    def wait_listed(self, timeout: float) -> float:
        """Seconds from the launch until every node lists all nodes; BrokerFailed otherwise."""
        return wait_listed(
            self, timeout, 0.005,
            lambda: f"exited with code {self.proc.returncode} before all {NODES} nodes answered; "
                    f"log tail:\n{self.log_tail()}",
            lambda: f"; log:\n{self.log_tail()}",
        )


class KafkaCluster(brokers.ReferenceBroker):
    """Apache Kafka as three JVMs (``ReferenceKafka(nodes=3)``), timed from the first JVM's launch."""

    def __init__(self, spec: brokers.BrokerSpec, workdir: Path, tag: str) -> None:
        super().__init__(spec, workdir, tag, nodes=NODES)
        self.ports = list(self.kafka.ports)

    def rss(self) -> int:
        return sum(tree_rss(proc.pid) for proc in self.kafka.procs)

    def alive(self) -> bool:
        return all(proc.poll() is None for proc in self.kafka.procs)

    def wait_listed(self, timeout: float) -> float:
        return wait_listed(self, timeout, 0.05, lambda: f"a Kafka node exited; log tail:\n{self.kafka.log_tail(800)}")


def run_cluster(spec: brokers.BrokerSpec, plan: Plan, workdir: Path, res: BrokerResult) -> None:
    """Measure the cluster rows for one broker into ``res`` (n/a for brokers without a cluster mode)."""
    if spec.name not in CLUSTER_BROKERS:
        for key in METRICS:
            res.metrics[key] = math.nan
        return
    # kafkalite's argv starts with the interpreter that runs it.
    flag = _cluster_flag(spec.argv(0, workdir)[0], spec.env, spec.cwd) if spec.name == "kafkalite" else []
    starts: list[float] = []
    rss: list[float] = []
    for run in range(plan.startup_runs):
        brokers.check_interrupted()
        tag = f"cluster{run}"
        cluster: KafkaliteCluster | KafkaCluster | None = None
        try:
            cluster = KafkaCluster(spec, workdir, tag) if spec.name == "kafka" else \
                KafkaliteCluster(spec, workdir, tag, flag)
            seconds = cluster.wait_listed(spec.ready_timeout_s)
            time.sleep(0.5)  # as the single-node RSS row: let the fresh cluster settle
            rss.append(cluster.rss() / MIB)
            starts.append(seconds * 1000)
            _log(f"{spec.name}: {NODES}-node cluster listed by every node after {seconds * 1000:.1f} ms, "
                 f"RSS {rss[-1]:.1f} MiB (start {run + 1}/{plan.startup_runs})")
        except brokers.BrokerFailed as exc:
            res.errors["cluster"] = f"{NODES}-node start failed: {exc}"
            return
        finally:
            if cluster is not None:
                with contextlib.suppress(Exception):
                    cluster.stop()
    res.metrics["cluster_startup_ms"] = statistics.median(starts)
    res.metrics["cluster_rss_idle_mib"] = statistics.median(rss)
    res.details["cluster"] = {"nodes": NODES, "startup_ms": starts, "rss_idle_mib": rss}
