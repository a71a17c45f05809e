"""Apache Kafka itself, on demand: the broker kafkalite is measured against.

The broker's jars are resolved once with Maven (``reference-pom.xml`` beside this module, at
``KAFKA_VERSION``) into a cache folder outside the repository. Each node is a combined
broker+controller KRaft node formatted by Kafka's own StorageTool in a temporary directory and
started on free loopback ports with a small heap (``java_opts`` replaces the JVM options: the
benchmark passes Kafka's own 1 GiB heap and G1 settings); ``nodes=3`` starts a three-node quorum
for cluster scenarios. Readiness means Metadata lists every broker. ``start()`` is ``format()``,
``launch()`` and ``wait_ready()``, which a caller timing the broker's own start can call apart.

Usable from pytest (``compat_tests/conftest.py``'s ``reference_kafka`` fixture), from the
benchmark, and from the shell::

    python -m kafkalite.conformance.reference fetch     # resolve the jars only
    python -m kafkalite.conformance.reference start     # run one node until Ctrl-C
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType

#: The one place the reference version is pinned (also used by the Java client tests).
KAFKA_VERSION = "4.4.0"

POM = Path(__file__).with_name("reference-pom.xml")
JAVA_OPTS = ["-Xms128m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
             "-Djava.awt.headless=true"]


def cache_dir() -> Path:
    """Where resolved jars live: ``$KAFKALITE_REFERENCE_CACHE`` or ``~/.cache/kafkalite/reference``."""
    root = os.environ.get("KAFKALITE_REFERENCE_CACHE") or Path.home() / ".cache" / "kafkalite" / "reference"
    return Path(root) / KAFKA_VERSION


def java_available() -> bool:
    """Whether a JVM and Maven are on PATH (the live comparison needs both)."""
    return shutil.which("java") is not None and shutil.which("mvn") is not None


def ensure_libs() -> Path:
    """The folder of Kafka's runtime jars, resolved with Maven the first time."""
    libs = cache_dir() / "libs"
    done = cache_dir() / ".complete"
    if done.exists():
        return libs
    libs.mkdir(parents=True, exist_ok=True)
    cmd = ["mvn", "-q", "-B", "-f", str(POM), f"-Dkafka.version={KAFKA_VERSION}",
           "dependency:copy-dependencies", f"-DoutputDirectory={libs}", "-DincludeScope=runtime"]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not any(libs.glob("kafka_2.13-*.jar")):
        output = result.stdout[-2000:] + result.stderr[-2000:]
        raise RuntimeError(f"could not resolve Apache Kafka {KAFKA_VERSION}: {output}")
    done.write_text(KAFKA_VERSION)
    return libs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _brokers_in_metadata(port: int) -> int:
    """How many brokers a Metadata v1 request to ``port`` lists (0 when it cannot be asked yet)."""
    body = struct.pack(">hhih", 3, 1, 1, -1) + struct.pack(">i", 0)  # header v1 (no client id), no topics
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            size = struct.unpack(">i", _recv(sock, 4))[0]
            data = _recv(sock, size)
    except OSError:
        return 0
    return int(struct.unpack_from(">i", data, 4)[0])  # correlation id, then the broker array's length


def _recv(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


class ReferenceKafka:
    """A running Apache Kafka (one node or a quorum of several) on free loopback ports."""

    def __init__(self, nodes: int = 1, overrides: dict[str, str] | None = None, workdir: Path | None = None,
                 java_opts: list[str] | None = None, extra_listeners: dict[str, str] | None = None,
                 add_scram: list[str] | None = None) -> None:
        """``extra_listeners`` (name -> security protocol, e.g. ``{"SASL_SSL": "SASL_SSL"}``) are opened
        beside PLAINTEXT on free ports (``listener_ports[name]``; readiness is still checked over
        PLAINTEXT, which stays the inter-broker listener); their settings (``listener.name.*``,
        ``sasl.enabled.mechanisms``, keystores) go in ``overrides``. ``add_scram`` entries are passed to
        ``kafka-storage format --add-scram`` as Kafka's docs show, e.g.
        ``SCRAM-SHA-256=[name=alice,password=alice-secret]``.
        """
        self.nodes = nodes
        self.overrides = overrides or {}
        self.extra_listeners = dict(extra_listeners or {})
        self.add_scram = list(add_scram or [])
        #: JVM options of the broker processes. The default suits tests (small heap, fast start); the
        #: benchmark passes Kafka's own production-style heap and GC settings instead.
        self.java_opts = list(JAVA_OPTS if java_opts is None else java_opts)
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="kafka-reference-"))
        self.ports = [_free_port() for _ in range(nodes)]
        self.controller_ports = [_free_port() for _ in range(nodes)]
        #: Per node, the port of each extra listener.
        self.extra_ports = [{name: _free_port() for name in self.extra_listeners} for _ in range(nodes)]
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in self.ports)

    @property
    def port(self) -> int:
        return self.ports[0]

    def listener_bootstrap(self, name: str) -> str:
        """The bootstrap address list of the extra listener ``name``."""
        return ",".join(f"127.0.0.1:{ports[name]}" for ports in self.extra_ports)

    def _properties(self, index: int) -> str:
        node_id = index + 1
        voters = ",".join(f"{i + 1}@127.0.0.1:{p}" for i, p in enumerate(self.controller_ports))
        replication = str(min(self.nodes, 3))
        extra = self.extra_ports[index]
        listeners = "".join(f",{name}://127.0.0.1:{extra[name]}" for name in self.extra_listeners)
        protocols = "".join(f",{name}:{protocol}" for name, protocol in self.extra_listeners.items())
        settings = {
            "process.roles": "broker,controller",
            "node.id": str(node_id),
            "controller.quorum.voters": voters,
            "listeners": f"PLAINTEXT://127.0.0.1:{self.ports[index]},"
                         f"CONTROLLER://127.0.0.1:{self.controller_ports[index]}{listeners}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.ports[index]}{listeners}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": f"CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT{protocols}",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.workdir / f"node-{node_id}" / "data"),
            "offsets.topic.replication.factor": replication,
            "transaction.state.log.replication.factor": replication,
            "transaction.state.log.min.isr": "1",
            "offsets.topic.num.partitions": "50",
            # As Kafka's shipped server.properties and kafkalite's defaults (see GUIDE.md).
            "group.initial.rebalance.delay.ms": "0",
            "group.min.session.timeout.ms": "1000",
            "num.partitions": "1",
            **self.overrides,
        }
        return "".join(f"{k}={v}\n" for k, v in settings.items())

    def start(self, timeout: float = 90.0) -> ReferenceKafka:
        self.format()
        self.launch()
        self.wait_ready(timeout)
        return self

    def format(self) -> None:
        """Write each node's server.properties and format its log dir with Kafka's StorageTool.

        The tool is a short-lived JVM of its own and always runs with the small ``JAVA_OPTS``.
        """
        classpath = f"{ensure_libs()}/*"
        cluster_id = _cluster_id()
        for index in range(self.nodes):
            node_dir = self.workdir / f"node-{index + 1}"
            node_dir.mkdir(parents=True, exist_ok=True)
            config = node_dir / "server.properties"
            config.write_text(self._properties(index))
            scram = [arg for entry in self.add_scram for arg in ("--add-scram", entry)]
            fmt = subprocess.run(["java", *JAVA_OPTS, "-cp", classpath, "kafka.tools.StorageTool", "format",
                                  "-t", cluster_id, "-c", str(config), *scram],
                                 capture_output=True, text=True, check=False)
            if fmt.returncode != 0:
                raise RuntimeError(f"kafka-storage format failed: {fmt.stdout[-1500:]}{fmt.stderr[-1500:]}")

    def launch(self) -> None:
        """Start the formatted nodes without waiting for them (each in its own session)."""
        self.procs = [self._spawn(index + 1) for index in range(self.nodes)]

    def _spawn(self, node_id: int) -> subprocess.Popen[bytes]:
        node_dir = self.workdir / f"node-{node_id}"
        with (node_dir / "kafka.log").open("ab") as log:
            return subprocess.Popen(["java", *self.java_opts, "-cp", f"{ensure_libs()}/*", "kafka.Kafka",
                                     str(node_dir / "server.properties")],
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def stop_node(self, node_id: int, *, kill: bool = False, timeout: float = 60.0) -> None:
        """Stop one node as an operator does (SIGTERM: Kafka's controlled shutdown moves its leaders away
        first), or with ``kill`` a SIGKILL (a crash: the controller fences it after its session times
        out); the others keep running. Returns once the process is gone."""
        proc = self._proc(node_id)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def start_node(self, node_id: int, timeout: float = 90.0) -> None:
        """Start a stopped node again on its ports and log dir; returns once its Metadata lists every
        running node (itself included: it is unfenced)."""
        if self._proc(node_id).poll() is None:
            return
        proc = self.procs[node_id - 1] = self._spawn(node_id)
        deadline = time.monotonic() + timeout
        while _brokers_in_metadata(self.ports[node_id - 1]) < sum(p.poll() is None for p in self.procs):
            if proc.poll() is not None:
                raise RuntimeError(f"node {node_id} exited with {proc.returncode}: {self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"node {node_id} not back after {timeout} s: {self.log_tail()}")
            time.sleep(0.2)

    def _proc(self, node_id: int) -> subprocess.Popen[bytes]:
        if not 1 <= node_id <= len(self.procs):
            raise ValueError(f"unknown node {node_id}: this cluster's nodes are 1..{len(self.procs)}")
        return self.procs[node_id - 1]

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Block until Metadata on every node lists every broker; stop the nodes and raise if not."""
        deadline = time.monotonic() + timeout
        while any(_brokers_in_metadata(p) < self.nodes for p in self.ports):
            for proc in self.procs:
                if proc.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"Apache Kafka exited with {proc.returncode}: {self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Apache Kafka not ready after {timeout} s: {self.log_tail()}")
            time.sleep(0.2)

    def log_tail(self, chars: int = 3000) -> str:
        logs = sorted(self.workdir.glob("node-*/kafka.log"))
        return "\n".join(p.read_text(errors="replace")[-chars:] for p in logs)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM every node (a controlled shutdown), SIGKILL what is left after ``timeout``."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs = []
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> ReferenceKafka:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _cluster_id() -> str:
    """A cluster id in Kafka's form: a random UUID in URL-safe base64 without padding.

    Never one starting with "-", as Kafka's Uuid.randomUuid ensures: kafka-storage would take it
    for an option (``--cluster-id: expected one argument``), one start in 64.
    """
    import base64

    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kafkalite.conformance.reference", description=__doc__)
    parser.add_argument("command", choices=["fetch", "start"])
    parser.add_argument("--nodes", type=int, default=1)
    args = parser.parse_args(argv)
    if args.command == "fetch":
        print(ensure_libs())
        return 0
    with ReferenceKafka(nodes=args.nodes) as kafka:
        print(f"Apache Kafka {KAFKA_VERSION} ready on {kafka.bootstrap} (Ctrl-C stops it)", flush=True)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    return 0


if __name__ == "__main__":
    sys.exit(main())
