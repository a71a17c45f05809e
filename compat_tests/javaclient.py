"""Builds and runs compat_tests/java, the official Java client and Kafka Streams as scenario programs.

The Maven project is built once per test session at the reference Kafka version
(``kafkalite.conformance.reference.KAFKA_VERSION``, passed as ``-Dkafka.version``, so the version
is pinned in one place); ``mvn package`` also copies the runtime jars to ``target/lib``, so each
scenario then runs as a plain ``java -cp`` process: ``Main <scenario> <bootstrap> [args...]``,
which prints one JSON object. The same scenario can be pointed at Apache Kafka itself to
compare behaviour: ``python -m compat_tests.javaclient --against reference <scenario> [args]``.
"""

from __future__ import annotations

import fcntl
import json
import subprocess
from pathlib import Path
from typing import Any

from kafkalite.conformance.reference import KAFKA_VERSION

PROJECT = Path(__file__).parent / "java"
#: Small heap, quick start: each scenario is a short-lived JVM on a 2-core machine.
JAVA_OPTS = ["-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto"]


class JavaScenarioError(AssertionError):
    """A scenario exited non-zero; the message carries the tail of its stderr."""


class JavaClient:
    """Runs scenarios of the built project."""

    def __init__(self, project: Path = PROJECT) -> None:
        self.classpath = f"{project / 'target' / 'classes'}:{project / 'target' / 'lib'}/*"

    def command(self, scenario: str, bootstrap: str, *args: str) -> list[str]:
        return ["java", *JAVA_OPTS, "-cp", self.classpath, "io.kafkalite.compat.Main", scenario, bootstrap, *args]

    def popen(self, scenario: str, bootstrap: str, *args: str, stderr: Path) -> subprocess.Popen[str]:
        """A long-running scenario (stdin open, JSON lines on stdout, stderr to a file)."""
        with stderr.open("a") as err:
            return subprocess.Popen(self.command(scenario, bootstrap, *args), stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=err, text=True)

    def run(self, scenario: str, bootstrap: str, *args: str, timeout: float = 90.0) -> Any:
        proc = subprocess.run(self.command(scenario, bootstrap, *args), capture_output=True, text=True,
                              timeout=timeout, check=False)
        if proc.returncode != 0:
            raise JavaScenarioError(f"{scenario} exited {proc.returncode}:\n{proc.stderr[-4000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])


def build(project: Path = PROJECT) -> JavaClient:
    """``mvn -q -B package`` at the reference Kafka version; raises with Maven's output on failure."""
    cmd = ["mvn", "-q", "-B", "-f", str(project / "pom.xml"), f"-Dkafka.version={KAFKA_VERSION}", "package"]
    (project / "target").mkdir(exist_ok=True)
    # pytest-xdist workers each build; one at a time, as they share target/.
    with (project / "target" / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"building {project} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return JavaClient(project)


def main(argv: list[str] | None = None) -> None:
    """Run one scenario against kafkalite or Apache Kafka and print its JSON, to compare the two::

        python -m compat_tests.javaclient --against reference admin-topics some-prefix
        python -m compat_tests.javaclient --against kafkalite admin-topics some-prefix
        python -m compat_tests.javaclient --bootstrap 127.0.0.1:9092 admin-topics some-prefix
    """
    import argparse
    import tempfile

    from compat_tests.brokerproc import BrokerProcess
    from kafkalite.conformance.reference import ReferenceKafka

    parser = argparse.ArgumentParser(description=main.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", choices=["kafkalite", "reference"], default="kafkalite")
    parser.add_argument("--bootstrap", help="an already running broker instead")
    parser.add_argument("scenario")
    parser.add_argument("args", nargs="*")
    opts = parser.parse_args(argv)
    client = build()
    if opts.bootstrap:
        print(json.dumps(client.run(opts.scenario, opts.bootstrap, *opts.args, timeout=600)))
        return
    if opts.against == "reference":
        kafka = ReferenceKafka().start()
        try:
            print(json.dumps(client.run(opts.scenario, kafka.bootstrap, *opts.args, timeout=600)))
        finally:
            kafka.stop()
        return
    broker = BrokerProcess(Path(tempfile.mkdtemp(prefix="kafkalite-java-")) / "data")
    broker.start()
    try:
        print(json.dumps(client.run(opts.scenario, broker.bootstrap, *opts.args, timeout=600)))
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
