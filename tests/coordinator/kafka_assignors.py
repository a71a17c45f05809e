"""Runs Kafka's own assignors, CurrentAssignmentBuilder and RE2/J (compat_tests/java_assignors) on
cases written by the tests, to compare kafkalite's assignors.py, reconcile.py and regex.py with them.

The Maven project is built at the reference Kafka version (kafkalite.conformance.reference), once:
again only when its sources are newer than the build. All cases of a test go through one JVM.
"""

from __future__ import annotations

import base64
import fcntl
import shutil
import subprocess
import uuid
from collections.abc import Mapping, Set
from pathlib import Path

from kafkalite.conformance.reference import KAFKA_VERSION
from kafkalite.coordinator.assignment import Assignment, MemberSpec, TopicSpec
from kafkalite.coordinator.reconcile_types import MemberAssignmentState

PROJECT = Path(__file__).resolve().parents[2] / "compat_tests" / "java_assignors"
JAVA_OPTS = ["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto"]


def available() -> bool:
    return shutil.which("java") is not None and shutil.which("mvn") is not None


def build() -> str:
    """Build if needed; the classpath to run ``io.kafkalite.assignors.Main`` with."""
    target = PROJECT / "target"
    target.mkdir(exist_ok=True)
    with (target / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        built = target / "classes" / "io" / "kafkalite" / "assignors" / "Main.class"
        sources = [PROJECT / "pom.xml", *PROJECT.glob("src/**/*.java")]
        if not built.exists() or max(s.stat().st_mtime for s in sources) > built.stat().st_mtime:
            cmd = ["mvn", "-q", "-B", "-f", str(PROJECT / "pom.xml"), f"-Dkafka.version={KAFKA_VERSION}", "package"]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
            if proc.returncode != 0:
                raise RuntimeError(f"building {PROJECT} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return f"{target / 'classes'}:{target / 'lib'}/*"


def run(classpath: str, lines: list[str]) -> dict[str, str]:
    """Answers by case name."""
    proc = subprocess.run(["java", *JAVA_OPTS, "-cp", classpath, "io.kafkalite.assignors.Main"],
                          input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120, check=True)
    answers = {}
    for line in proc.stdout.splitlines():
        name, _, rest = line.partition(" ")
        answers[name] = rest
    return answers


def kafka_uuid(topic_id: uuid.UUID) -> str:
    """Kafka's ``Uuid.toString()``: url-safe base64 without padding."""
    return base64.urlsafe_b64encode(topic_id.bytes).rstrip(b"=").decode()


def from_kafka_uuid(text: str) -> uuid.UUID:
    return uuid.UUID(bytes=base64.urlsafe_b64decode(text + "=="))


def assign_line(name: str, assignor: str, homogeneous: bool, members: Mapping[str, MemberSpec],
                topics: Mapping[uuid.UUID, TopicSpec], order: list[uuid.UUID]) -> str:
    """An ASSIGN case; ``order`` fixes the order of each member's subscribed topics (as kafkalite
    walks them: Kafka's ``Uuid`` order)."""
    topic_text = ",".join(f"{kafka_uuid(t)}:{s.partitions}" for t, s in topics.items()) or "-"
    member_texts = []
    for member_id, m in members.items():
        subscribed = "+".join(kafka_uuid(t) for t in order if t in m.subscribed) or "-"
        current = "+".join(f"{kafka_uuid(t)}=" + ".".join(str(p) for p in sorted(ps))
                           for t, ps in m.current.items() if ps) or "-"
        member_texts.append(f"{member_id}/{m.instance_id or '-'}/{subscribed}/{current}")
    kind = "homogeneous" if homogeneous else "heterogeneous"
    return f"ASSIGN {name} {assignor} {kind} {topic_text} {'|'.join(member_texts) or '-'}"


def parse_assignment(text: str) -> Assignment | str:
    """A Java answer as an Assignment (members with nothing left out), or the error text."""
    if text.startswith("ERROR"):
        return text
    result: Assignment = {}
    if text == "-":
        return result
    for member in text.split("|"):
        member_id, _, topics = member.partition("=")
        if topics == "-":
            continue
        result[member_id] = {}
        for topic in topics.split("+"):
            topic_text, _, partitions = topic.partition(":")
            result[member_id][from_kafka_uuid(topic_text)] = frozenset(int(p) for p in partitions.split("."))
    return result


def regex_line(name: str, pattern: str, names: list[str]) -> str:
    return f"REGEX {name} {pattern.encode().hex()} {','.join(n.encode().hex() for n in names)}"


def _with_epochs(partitions: Mapping[uuid.UUID, frozenset[int]], epochs: Mapping[uuid.UUID, Mapping[int, int]]) -> str:
    topics = sorted(f"{kafka_uuid(t)}=" + ".".join(f"{p}:{epochs.get(t, {}).get(p, 0)}" for p in sorted(ps))
                    for t, ps in partitions.items() if ps)
    return "+".join(topics) or "-"


def _plain(partitions: Mapping[uuid.UUID, frozenset[int]]) -> str:
    topics = [f"{kafka_uuid(t)}=" + ".".join(str(p) for p in sorted(ps)) for t, ps in partitions.items() if ps]
    return "+".join(topics) or "-"


def reconcile_line(name: str, current: MemberAssignmentState, target_epoch: int,
                   target: Mapping[uuid.UUID, frozenset[int]], owned: Mapping[uuid.UUID, frozenset[int]] | None,
                   owners: Mapping[uuid.UUID, Mapping[int, int]], subscribed: Set[uuid.UUID], changed: bool) -> str:
    owner_text = "+".join(f"{kafka_uuid(t)}=" + ".".join(f"{p}:{e}" for p, e in sorted(ps.items()))
                          for t, ps in owners.items() if ps) or "-"
    return " ".join([
        "RECONCILE", name, current.state.name, str(current.member_epoch), str(current.previous_member_epoch),
        _with_epochs(current.assigned, current.assignment_epochs),
        _with_epochs(current.pending_revocation, current.assignment_epochs),
        str(target_epoch), _plain(target), "null" if owned is None else _plain(owned), owner_text,
        "+".join(kafka_uuid(t) for t in subscribed) or "-", "1" if changed else "0",
    ])


def render_state(state: MemberAssignmentState) -> str:
    """A reconciled state as the Java side prints it."""
    return " ".join([state.state.name, str(state.member_epoch), str(state.previous_member_epoch),
                     _with_epochs(state.assigned, state.assignment_epochs),
                     _with_epochs(state.pending_revocation, state.assignment_epochs)])
