"""Runs scenarios against a broker, records Kafka's answers and compares any broker's with them.

``run`` sends one scenario and returns its normalised answers step by step (a transcript);
``compare`` sets a transcript beside the recorded one and classifies the scenario: matched,
differs (with each difference, and whether CONFORMANCE.md lists it), unsupported (the broker
does not advertise a version the scenario needs) or error. Transcripts live in
``transcripts/<family>.json``; ``record`` rewrites them from a live Apache Kafka.
"""

from __future__ import annotations

import fnmatch
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from kafkalite.conformance import login
from kafkalite.conformance.corpus import NAMES, BrokerSetup, Scenario, substitute, unresolved
from kafkalite.conformance.normalize import Normaliser, diff
from kafkalite.conformance.wire import Closed, Connection, NoAnswer, api_key, decode_response

if TYPE_CHECKING:
    from kafkalite.conformance.reference import ReferenceKafka

RETRY_SECONDS = 15.0
TRANSCRIPTS = "transcripts"


@dataclass
class Divergence:
    """A known difference from Kafka, as listed in CONFORMANCE.md."""

    scenario: str  # glob over scenario ids, e.g. "produce/*@v3"
    path: str  # glob over "step N: dotted.path"
    why: str

    def covers(self, scenario_id: str, where: str) -> bool:
        return fnmatch.fnmatchcase(scenario_id, self.scenario) and fnmatch.fnmatchcase(where, self.path)


@dataclass
class Outcome:
    scenario: Scenario
    status: str  # matched | differs | unsupported | error | missing (no recorded answer)
    differences: list[tuple[str, Any, Any, bool]] = field(default_factory=list)  # where, kafka, broker, known
    detail: str = ""

    @property
    def unexplained(self) -> list[tuple[str, Any, Any, bool]]:
        return [d for d in self.differences if not d[3]]


# -- running --------------------------------------------------------------------------------------


def advertised_versions(bootstrap: str) -> dict[int, tuple[int, int]]:
    """ApiVersions of the broker: key -> (min, max); v0 answers every broker, old or new."""
    conn = Connection(bootstrap)
    try:
        conn.send("ApiVersions", 0, {})
        answer = conn.receive()
    finally:
        conn.close()
    if not isinstance(answer, dict):  # closed or silent: nothing to compare, say so rather than skip all
        raise ConnectionError(f"{bootstrap} did not answer ApiVersions v0")
    return {k["api_key"]: (k["min_version"], k["max_version"]) for k in answer.get("api_keys") or []}


def needed_versions(scenario: Scenario) -> list[tuple[str, int]]:
    return [(s["api"], int(s["version"])) for s in scenario.steps
            if "api" in s and "raw" not in s and not s.get("unsupported_ok")]


def unsupported(scenario: Scenario, versions: dict[int, tuple[int, int]]) -> list[str]:
    out = []
    for name, version in needed_versions(scenario):
        low, high = versions.get(api_key(name), (0, -1))
        if not low <= version <= high:
            out.append(f"{name} v{version}")
    return out


class NodeControl(Protocol):
    """Stops and starts one node of a cluster under test: ``ReferenceKafka`` for Apache Kafka, the
    embedded ``kafkalite.Broker(brokers=N)`` for kafkalite. Scenarios with ``stop_node``/``start_node``
    steps need one; a broker reached only by its address cannot run them."""

    def stop_node(self, node_id: int) -> None: ...

    def start_node(self, node_id: int) -> None: ...


class NoNodeControl(Exception):
    """A scenario stops or starts a node, and nothing was given to do it with."""


class LoginFailed(Exception):
    """A connection's SASL login (set-up, not compared) was refused."""


def _open(name: str, scenario: Scenario, bootstrap: str, listeners: dict[str, str],
          values: dict[str, Any]) -> Connection:
    """The connection ``name``: to PLAINTEXT, or to the listener its spec names, logged in if asked."""
    spec = substitute(scenario.connections.get(name) or {}, values)
    listener = spec.get("listener")
    if listener and listener not in listeners:
        raise ValueError(f"connection {name!r}: no address for listener {listener} (pass it as NAME=HOST:PORT)")
    address = listeners[listener] if listener else bootstrap
    if "node" in spec:  # a connection to one node: its address as Metadata advertises it
        address = node_address(address, int(spec["node"]))
    conn = Connection(address, client_id=spec.get("client_id", "kafkalite-conformance"))
    login = spec.get("login")
    if login:
        try:
            _login(conn, login["mechanism"], login["username"], login["password"])
        except Exception:
            conn.close()
            raise
    return conn


def listed_brokers(bootstrap: str) -> list[dict[str, Any]]:
    """The brokers Metadata v1 (asked of the first reachable bootstrap address) lists."""
    conn = Connection(bootstrap)
    try:
        conn.send("Metadata", 1, {"topics": []})
        answer = conn.receive()
    finally:
        conn.close()
    if not isinstance(answer, dict):
        raise ConnectionError(f"{bootstrap} did not answer Metadata")
    return list(answer.get("brokers") or [])


def cluster_problem(scenario: Scenario, brokers: int, control: NodeControl | None) -> str:
    """Why ``scenario`` cannot run on a cluster of ``brokers`` nodes (``control``: how to stop one), or ""."""
    if scenario.nodes > brokers:
        return f"needs a cluster of {scenario.nodes} nodes; the broker lists {brokers}"
    if control is None and any("stop_node" in step or "start_node" in step for step in scenario.steps):
        return "stops a node: needs the cluster's node control (kafkalite's Broker(brokers=N), ReferenceKafka)"
    return ""


def node_address(bootstrap: str, node_id: int) -> str:
    """``host:port`` of broker ``node_id`` as Metadata (asked of the first reachable bootstrap address) lists it."""
    brokers = listed_brokers(bootstrap)
    for broker in brokers:
        if broker["node_id"] == node_id:
            return f"{broker['host']}:{broker['port']}"
    listed = ", ".join(str(b["node_id"]) for b in brokers)
    raise ValueError(f"node {node_id} is not in Metadata's brokers ({listed})")


def _login(conn: Connection, mechanism: str, username: str, password: str) -> None:
    """A connection's set-up login (PLAIN or SCRAM): LoginFailed unless the broker accepts it."""
    record = login.exchange(conn, mechanism, username, password)
    if record["error_code"] != 0:
        raise LoginFailed(f"{mechanism} login as {username}: {record}")


def run(scenario: Scenario, bootstrap: str, run_id: str | None = None,
        retry_seconds: float = RETRY_SECONDS, listeners: dict[str, str] | None = None,
        control: NodeControl | None = None) -> list[dict[str, Any]]:
    """Send the scenario's steps; return one normalised entry per step.

    ``listeners`` maps the broker's other listeners (``SASL_PLAINTEXT``) to their addresses, for
    scenarios whose connections name one. ``control`` stops and starts nodes, for cluster scenarios'
    ``stop_node``/``start_node`` steps.
    """
    listeners = listeners or {}
    run_id = run_id or uuid.uuid4().hex[:8]
    names = {n: f"cf-{scenario.slug}-{n}-{run_id}"[:240] for n in NAMES}
    normalise = Normaliser(names)
    node_numbers: dict[str, dict[Any, str]] = {}  # ``same_node``: node ids numbered by first appearance, per kind
    values: dict[str, Any] = dict(names)
    values["uuid"] = str(uuid.uuid4())  # a fresh id per run, e.g. a client instance the broker never saw
    conns: dict[str, Connection] = {}
    parked: dict[str, Connection] = {}
    transcript: list[dict[str, Any]] = []
    try:
        for index, raw_step in enumerate(scenario.steps):
            missing = [n for n in unresolved(raw_step) if n not in values]
            if missing:
                raise ValueError(f"step {index}: nothing saved as {', '.join(missing)}")
            step = substitute(raw_step, values)
            if "stop_node" in step or "start_node" in step:
                transcript.append(_control(index, step, control, conns))
                continue
            conn_name = step.get("conn", "a")
            if "receive" in step:
                conn = parked.pop(step["receive"])
                answer = _answer(conn.receive())
            else:
                if conn_name not in conns:
                    conns[conn_name] = _open(conn_name, scenario, bootstrap, listeners, values)
                conn = conns[conn_name]
                if "raw" in step:
                    answer = _raw(conn, bytes.fromhex(step["raw"]), step.get("decode"))
                elif "login" in step:
                    spec = step["login"]
                    answer = login.exchange(conn, spec["mechanism"], spec["username"], spec["password"])
                else:
                    answer = _request(conn, step, parked, retry_seconds)
            entry: dict[str, Any] = {"step": index}
            if "api" in step:
                entry["api"], entry["version"] = step["api"], step["version"]
            for path in step.get("own_names_only") or []:
                answer = _own_names_only(answer, path.split("."), list(names.values()))
            shown = answer  # what is compared: node ids a cluster chose at random renamed (``save`` reads ``answer``)
            for path in step.get("placement") or []:
                shown = _at(shown, path.split("."), _relabel_topic)
            for path in step.get("placement_per_partition") or []:
                shown = _at(shown, path.split("."), _relabel_each_partition)
            for path, kind in (step.get("same_node") or {}).items():
                shown = _number_nodes(shown, path.split("."), node_numbers.setdefault(kind, {}), kind)
            if scenario.nodes > 1:
                shown = _any_broker(shown)
            if step.get("throttle_shape") and isinstance(shown, dict) and "throttle_time_ms" in shown:
                shown = {**shown, "$throttle": "<positive>" if shown["throttle_time_ms"] > 0 else 0}
            normalise.exact = frozenset(step.get("exact") or ())
            response = normalise(shown)  # always: it numbers generated ids for the later steps
            for path, field_name in (step.get("key_by") or {}).items():
                response = _key_by(response, path.split("."), field_name)
            if step.get("compare", True) is False:
                entry["compare"] = False  # set-up: its answer is not part of the check, nor kept
            else:
                entry["response"] = response
            transcript.append(entry)
            for name, path in (step.get("save") or {}).items():
                try:
                    values[name] = _lookup(answer, path)
                except (KeyError, IndexError, TypeError, ValueError):
                    raise RuntimeError(f"step {index} ({step.get('api')}): no {path} to save in {answer}") from None
    finally:
        for conn in conns.values():
            conn.close()
    return transcript


def _control(index: int, step: dict[str, Any], control: NodeControl | None,
             conns: dict[str, Connection]) -> dict[str, Any]:
    """A ``stop_node``/``start_node`` step: done through ``control``; not compared.

    Every open connection is closed first: a stopped node closes its clients' connections (Kafka's
    controlled shutdown does), and later steps open fresh ones to live nodes.
    """
    action = "stop_node" if "stop_node" in step else "start_node"
    if control is None:
        raise NoNodeControl(f"{action}: this broker was given without a way to stop or start its nodes")
    for conn in conns.values():
        conn.close()
    conns.clear()
    getattr(control, action)(int(step[action]))
    return {"step": index, "control": f"{action} {step[action]}", "compare": False}


#: Fields naming broker nodes in a partition's description (Metadata, DescribeTopicPartitions,
#: ListPartitionReassignments): relabelled by ``placement``.
NODE_LISTS = frozenset({"replica_nodes", "isr_nodes", "offline_replicas", "eligible_leader_replicas",
                        "last_known_elr", "replicas", "adding_replicas", "removing_replicas"})
NODE_SCALARS = frozenset({"leader_id"})


def _at(value: Any, path: list[str], change: Any) -> Any:
    """``value`` with ``change`` applied to each item of the array at ``path`` (``*``: any list index)."""
    if not path:
        return [change(v) for v in value] if isinstance(value, list) else value
    head, rest = path[0], path[1:]
    if head == "*" and isinstance(value, list):
        return [_at(v, rest, change) for v in value]
    if isinstance(value, dict) and head in value:
        return {**value, head: _at(value[head], rest, change)}
    return value


def _relabel_topic(topic: Any) -> Any:
    """A topic's partitions with node ids renamed by first appearance in its replica lists (``<n1>``...).

    Where Kafka places a topic created without assignments is random (StripedReplicaPlacer starts at a
    random broker), so which node is first does not count; the shape does: how many replicas, that
    consecutive partitions rotate over the nodes, that the leader is the first replica, that the ISR is
    all of them.
    """
    if not isinstance(topic, dict) or not isinstance(topic.get("partitions"), list):
        return topic
    partitions = sorted(topic["partitions"], key=lambda p: p.get("partition_index", 0) if isinstance(p, dict) else 0)
    labels: dict[int, str] = {}
    for partition in partitions:
        for node in (partition.get("replica_nodes") or partition.get("replicas") or []):
            labels.setdefault(node, f"<n{len(labels) + 1}>")

    def label(node: Any) -> Any:
        if not isinstance(node, int) or node < 0:
            return node
        return labels.setdefault(node, f"<n{len(labels) + 1}>")

    out = []
    for partition in partitions:
        changed = dict(partition)
        for key, value in partition.items():
            if key in NODE_LISTS and isinstance(value, list):
                changed[key] = [label(v) for v in value]
            elif key in NODE_SCALARS:
                changed[key] = label(value)
        out.append(changed)
    return {**topic, "partitions": out}


def _relabel_each_partition(topic: Any) -> Any:
    """As ``_relabel_topic``, each partition on its own: for partitions added later (CreatePartitions
    without assignments), which Kafka places from a new random start."""
    if not isinstance(topic, dict) or not isinstance(topic.get("partitions"), list):
        return topic
    parts = [_relabel_topic({"partitions": [p]})["partitions"][0] for p in topic["partitions"]]
    return {**topic, "partitions": parts}


def _number_nodes(value: Any, path: list[str], numbers: dict[Any, str], kind: str) -> Any:
    """``value`` with the node id at ``path`` (``*``: any list index) shown as ``<kind:K>``, K by first appearance
    of that kind in the scenario run (``-1`` kept): for answers naming a node Kafka chose at random (the
    coordinator of a key lives where a random placement put its ``__consumer_offsets`` partition), where which
    node does not count but that every node answers the same one does. Kinds are numbered apart: whether a
    group's and a transactional id's coordinators share a node is chance too."""
    if not path:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return numbers.setdefault(value, f"<{kind}:{len(numbers) + 1}>")
        return value
    head, rest = path[0], path[1:]
    if head == "*" and isinstance(value, list):
        return [_number_nodes(v, rest, numbers, kind) for v in value]
    if isinstance(value, dict) and head in value:
        return {**value, head: _number_nodes(value[head], rest, numbers, kind)}
    return value


def _any_broker(answer: Any) -> Any:
    """A cluster's answer with ``controller_id`` shown as ``<a broker>`` when it names a listed broker.

    Kafka (KRaft) answers Metadata's and DescribeCluster's controller id with a random live broker, as
    clients cannot reach the controller quorum; which one is not behaviour, that it is a live one is.
    """
    if not isinstance(answer, dict) or "controller_id" not in answer:
        return answer
    listed = {b.get("node_id", b.get("broker_id")) for b in answer.get("brokers") or [] if isinstance(b, dict)}
    if answer["controller_id"] in listed:
        return {**answer, "controller_id": "<a broker>"}
    return answer


def _request(conn: Connection, step: dict[str, Any], parked: dict[str, Connection], retry_seconds: float) -> Any:
    name, version, body = step["api"], int(step["version"]), step.get("body") or {}
    if step.get("no_response"):
        conn.send(name, version, body)
        conn.pending.pop()
        return {"$no_response": True}
    if "send_only" in step:
        conn.send(name, version, body)
        parked[step["send_only"]] = conn
        return {"$sent": True}
    # A step may wait longer than the default: Kafka creates __consumer_offsets and __transaction_state
    # (50 partitions each) on first use, which can take longer than RETRY_SECONDS on a loaded machine.
    deadline = time.monotonic() + max(retry_seconds, float(step.get("retry_seconds") or 0))
    while True:
        try:
            conn.send(name, version, body)
        except OSError:  # the broker closed the connection (a refused login) before this request
            conn.closed = True
            return {"$closed": True}
        answer = _answer(conn.receive())
        if conn.closed or not _should_retry(step.get("retry_until"), answer) or time.monotonic() > deadline:
            return answer  # a closed connection cannot be asked again
        time.sleep(0.1)


def _raw(conn: Connection, frame: bytes, decode: dict[str, Any] | None = None) -> Any:
    conn.send_raw(frame)
    try:
        conn.sock.settimeout(5)
        head = conn._read(4)
        size = int.from_bytes(head, "big", signed=True)
        data = conn._read(size)
    except TimeoutError:
        return {"$no_response": True}
    except (ConnectionError, OSError):
        return {"$closed": True}
    if decode is None:
        return {"$raw": data.hex()}
    return decode_response(decode["api"], int(decode["version"]), data)


def _own_names_only(value: Any, path: list[str], names: list[str]) -> Any:
    """``value`` with the array at ``path`` keeping only items named after this run's names.

    For answers that list everything the broker holds (Metadata of all topics, DescribeLogDirs
    of every topic, ListGroups): other scenarios' topics and groups and the broker's internal
    topics are not part of this scenario's answer. An item is kept when one of its string fields
    (``name``, ``topic``, ``group_id``...) contains one of the run's unique names. Done before
    normalising, so the numbering of generated ids does not depend on what else the broker holds.
    """
    if not path:
        if not isinstance(value, list):
            return value
        return [item for item in value if isinstance(item, dict) and any(
            isinstance(field, str) and any(n in field for n in names) for field in item.values())]
    head, rest = path[0], path[1:]
    if head == "*" and isinstance(value, list):
        return [_own_names_only(v, rest, names) for v in value]
    if isinstance(value, dict) and head in value:
        return {**value, head: _own_names_only(value[head], rest, names)}
    return value


def _key_by(value: Any, path: list[str], field_name: str) -> Any:
    """The array at ``path`` (``*`` for any list index) as a dict keyed by each item's ``field_name``.

    Answers that are long lists keyed by one field (ApiVersions' api_keys, DescribeConfigs'
    configs) then compare entry by entry: a missing or extra entry is one difference at
    ``api_keys.17`` instead of a shift of every later index, and a known divergence can name
    exactly the entry it is about.
    """
    if not path:
        if not isinstance(value, list):
            return value
        return {str(item.get(field_name)): {k: v for k, v in item.items() if k != field_name}
                for item in value if isinstance(item, dict)}
    head, rest = path[0], path[1:]
    if head == "*" and isinstance(value, list):
        return [_key_by(v, rest, field_name) for v in value]
    if isinstance(value, dict) and head in value:
        return {**value, head: _key_by(value[head], rest, field_name)}
    return value


def _answer(answer: Any) -> Any:
    if answer is Closed:
        return {"$closed": True}
    if answer is NoAnswer:
        return {"$no_response": True}
    return answer


def _should_retry(until: Any, answer: Any) -> bool:
    """Whether ``retry_until`` is still unmet: ``"no_error"``, or {dotted path: value} all equal."""
    if until is None:
        return False
    if until == "no_error":
        return _errors(answer)
    try:
        return any(_lookup(answer, path) != want for path, want in until.items())
    except (KeyError, IndexError, TypeError, ValueError):
        return True


def _errors(value: Any) -> bool:
    if isinstance(value, dict):
        if value.get("$closed"):
            return True
        return any((k == "error_code" and v not in (0, None)) or _errors(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_errors(v) for v in value)
    return False


def _lookup(value: Any, path: str) -> Any:
    """The value at a dotted path; a ``#`` part is the length of what was reached (``resources.#``)."""
    for part in path.split("."):
        value = len(value) if part == "#" else value[int(part)] if isinstance(value, list) else value[part]
    return value


# -- transcripts and comparison -------------------------------------------------------------------


def transcripts_dir() -> Path:
    return Path(str(resources.files("kafkalite.conformance") / TRANSCRIPTS))


def load_transcripts(folder: Path | None = None) -> dict[str, Any]:
    """Recorded answers by scenario id, from every transcript file (of the package, or of ``folder``)."""
    out: dict[str, Any] = {}
    folder = folder or transcripts_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            out.update(json.loads(path.read_text())["scenarios"])
    return out


def compare(scenario: Scenario, expected: Any, actual: list[dict[str, Any]],
            known: list[Divergence]) -> Outcome:
    """Classify ``actual`` against the recorded ``expected`` answers of the same scenario."""
    if expected is None:
        return Outcome(scenario, "missing", detail="no recorded answer: re-record the transcripts")
    if isinstance(expected, dict) and "unsupported" in expected:
        return Outcome(scenario, "unsupported", detail=f"Kafka does not serve {expected['unsupported']}")
    differences: list[tuple[str, Any, Any, bool]] = []
    for step_index, (want, got) in enumerate(zip(expected, actual)):
        if want.get("compare", True) is False:
            continue
        ignore = scenario.steps[step_index].get("ignore") or []
        for path, kafka_value, broker_value in diff(want["response"], got["response"]):
            if any(fnmatch.fnmatchcase(path, pattern) for pattern in ignore):
                continue
            where = f"step {step_index}: {path}"
            covered = any(d.covers(scenario.id, where) for d in known)
            differences.append((where, kafka_value, broker_value, covered))
    if len(expected) != len(actual):
        differences.append(("steps", len(expected), len(actual), False))
    return Outcome(scenario, "differs" if differences else "matched", differences)


def record(scenarios: list[Scenario], bootstrap: str, folder: Path | None = None, kafka_version: str = "",
           listeners: dict[str, str] | None = None, control: NodeControl | None = None) -> int:
    """Run the scenarios against Apache Kafka at ``bootstrap`` and merge the answers into the transcripts.

    Answers of scenarios no longer in the corpus are dropped from the families recorded.
    """
    from kafkalite.conformance.corpus import load

    folder = folder or transcripts_dir()
    folder.mkdir(parents=True, exist_ok=True)
    versions = advertised_versions(bootstrap)
    brokers = len(listed_brokers(bootstrap)) if any(s.nodes > 1 for s in scenarios) else 1
    by_family: dict[str, dict[str, Any]] = {}
    for scenario in scenarios:
        if cluster_problem(scenario, brokers, control):
            continue  # a cluster scenario, and this is not the cluster it needs: nothing to record
        missing = unsupported(scenario, versions)
        answer: Any = ({"unsupported": ", ".join(missing)} if missing
                       else run(scenario, bootstrap, listeners=listeners, control=control))
        by_family.setdefault(scenario.family, {})[scenario.id] = answer
    for family, recorded in by_family.items():
        path = folder / f"{family}.json"
        existing = json.loads(path.read_text())["scenarios"] if path.exists() else {}
        current = {s.id for s in load([family])}
        merged = {k: v for k, v in {**existing, **recorded}.items() if k in current}
        payload = {"kafka_version": kafka_version, "scenarios": merged}
        path.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")
    return sum(len(v) for v in by_family.values())


def check(scenarios: list[Scenario], bootstrap: str, known: list[Divergence],
          expected: dict[str, Any] | None = None, retry_seconds: float = RETRY_SECONDS,
          listeners: dict[str, str] | None = None, control: NodeControl | None = None) -> list[Outcome]:
    """Run every scenario against ``bootstrap`` and compare with ``expected`` (the transcripts)."""
    expected = load_transcripts() if expected is None else expected
    versions = advertised_versions(bootstrap)
    brokers = len(listed_brokers(bootstrap)) if any(s.nodes > 1 for s in scenarios) else 1
    outcomes = []
    for scenario in scenarios:
        problem = cluster_problem(scenario, brokers, control)
        if problem:
            outcomes.append(Outcome(scenario, "unsupported", detail=problem))
            continue
        want = expected.get(scenario.id)
        missing = unsupported(scenario, versions)
        if missing and not (isinstance(want, dict) and "unsupported" in want):
            if any(d.covers(scenario.id, "unsupported") for d in known):
                # A listed divergence: an API kafkalite does not serve yet (its row says why and until when).
                outcomes.append(Outcome(scenario, "differs", [("unsupported", "served", ", ".join(missing), True)],
                                        detail=f"broker does not serve {', '.join(missing)}"))
                continue
            outcomes.append(Outcome(scenario, "unsupported", detail=f"broker does not serve {', '.join(missing)}"))
            continue
        if isinstance(want, dict) and "unsupported" in want:
            outcomes.append(compare(scenario, want, [], known))
            continue
        try:
            actual = run(scenario, bootstrap, retry_seconds=retry_seconds, listeners=listeners, control=control)
        except Exception as exc:  # a broker that breaks a scenario: report it, keep going
            outcomes.append(Outcome(scenario, "error", detail=f"{type(exc).__name__}: {exc}"))
            continue
        outcomes.append(compare(scenario, want, actual, known))
    return outcomes


def reference_for(setup: BrokerSetup) -> ReferenceKafka:
    """Apache Kafka configured as ``setup`` says (not started): settings, extra listeners, SCRAM users."""
    from kafkalite.conformance.reference import ReferenceKafka

    return ReferenceKafka(nodes=setup.nodes, overrides=dict(setup.overrides),
                          extra_listeners=dict(setup.listeners), add_scram=list(setup.scram))


_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|\s*(.+?)\s*\|\s*$")


def parse_divergences(text: str) -> list[Divergence]:
    """Rows ``| `scenario glob` | `step glob` | why |`` of a CONFORMANCE.md-style table."""
    return [Divergence(m.group(1), m.group(2), m.group(3)) for line in text.splitlines() if (m := _ROW.match(line))]
