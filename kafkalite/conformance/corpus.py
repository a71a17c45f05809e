"""The scenario corpus: request sequences as data, one JSON file per API family in ``scenarios/``.

A file holds ``{"family": ..., "about": ..., "scenarios": [...]}`` and optionally
``"reference_overrides": {name: value}``: broker settings (Kafka's names) that both Apache Kafka
(when recording, and in the live comparison) and kafkalite (``--override``) are started with for
the family's scenarios, such as ``authorizer.class.name`` for the ACL APIs; a scenario's own
``reference_overrides`` replaces the family's (``{}``: the default broker). Secured brokers add
``reference_listeners`` ({listener name: security protocol}, e.g. ``{"SASL_PLAINTEXT": "SASL_PLAINTEXT"}``:
opened beside PLAINTEXT on both brokers, their ``listener.name.*`` settings in ``reference_overrides``)
and ``reference_scram`` (initial SCRAM users in ``kafka-storage format --add-scram`` form, given to
kafkalite as ``serve --add-scram``); ``connections`` ({name: {"listener": ..., "client_id": ...,
"login": {"mechanism": "PLAIN", "username": ..., "password": ...}}}, family-wide or per scenario;
SCRAM-SHA-256/512 too)
say which listener a named connection opens to, its client id, and a SASL login (SaslHandshake v1
then SaslAuthenticate v2, not compared) done before its first step; a connection's ``"node": K``
opens it to broker K's address as Metadata lists it. ``reference_nodes`` (family or scenario) runs
both brokers as a cluster of that many nodes (``ReferenceKafka(nodes=N)``, kafkalite's
``Broker(brokers=N)``); such scenarios are reported unsupported by a broker listing fewer. A scenario has a ``name``, an
``about``, optional ``versions`` (the scenario runs once per version, ``"$v"`` in a step standing
for it) and ``steps``. A step is one of:

- a request: ``api``, ``version``, ``body`` (nested dicts in the schema's snake_case field names;
  missing fields take the schema's defaults), and optionally ``conn`` (a connection name, default
  ``"a"``), ``save`` ({name: dotted path in the response}, for later ``${name}``), ``compare``
  (false for set-up steps whose answers are not part of the check), ``ignore`` (dotted path
  globs left out of the comparison, with the reason in ``why``), ``retry_until``
  (``"no_error"``: repeat for up to 15 s while any ``error_code`` is non-zero, for set-up that
  Kafka completes asynchronously; or ``{dotted path: value}``: repeat until every path holds its
  value, to wait for a state another connection's request brings about, such as a heartbeat
  answered REBALANCE_IN_PROGRESS once a parked JoinGroup arrived, or ``{"resources.#": 3}`` (``#`` is
  a length) for a read of state Kafka's broker applies after the write answered, such as ACLs;
  ``retry_seconds`` waits longer than 15 s, for a coordinator Kafka is still creating),
  ``no_response`` (acks=0: no
  answer is read, and an answer arriving anyway shows up as a correlation mismatch on the next
  step), ``send_only`` (an id:
  send now, read later with ``{"receive": id}``, for requests that park, such as JoinGroup),
  ``own_names_only`` (dotted paths, ``*`` for any list index, of arrays listing everything the
  broker holds, such as Metadata's ``topics`` when all topics are asked or ListGroups' groups:
  only items with a string field containing one of the run's unique names are kept, before
  normalising) and ``key_by`` ({dotted path: field}: the array there becomes a dict keyed by
  that field, after normalising, so long keyed lists such as ApiVersions' ``api_keys`` or
  DescribeConfigs' ``results.*.configs`` compare entry by entry, ``api_keys.17``) and
  ``throttle_shape`` (true: the answer's top-level ``throttle_time_ms``, otherwise dropped, is kept as
  ``"<positive>"`` or 0, for quota scenarios where being throttled at all is the behaviour) and ``exact``
  (field names, such as ``error_message``, compared as they are instead of normalised);
  A request step may also say ``unsupported_ok`` (true: send it even when the broker does not
  advertise the version, as for the client telemetry APIs Kafka answers without listing them);
- ``{"receive": id}``: the answer of an earlier ``send_only`` step;
- ``{"stop_node": K}`` / ``{"start_node": K}``: stop or start node K of the cluster through the node
  control the runner was given (not compared; every open connection is closed first, later steps
  reconnect to live nodes). A request step of a cluster scenario may also say ``placement`` (dotted
  paths of topic arrays whose partitions' node ids are relabelled ``<n1>``, ``<n2>``... by first
  appearance in the topic's replica lists, for topics placed by the broker, where the random start
  does not count) or ``placement_per_partition`` (the same, each partition apart: partitions added
  by CreatePartitions, which Kafka places from a new random start) or ``same_node`` ({dotted path:
  kind}: the node id there shown as ``<kind:K>``, numbered by first appearance, for a node Kafka
  chose at random, such as a key's coordinator, where only sameness across nodes counts);
- ``{"login": {"mechanism": "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512", "username", "password"},
  "conn": ...}``: a whole SASL login on that connection, compared as what each SaslAuthenticate
  answered (code, message, session lifetime) and, for SCRAM, whether the server's signature verifies
  (``login.py``; its nonces and salts are random);
- ``{"raw": hex, "conn": ...}``: bytes sent as they are (a malformed frame); the outcome is the
  answer's bytes or ``{"$closed": true}``; with ``"decode": {"api": ..., "version": ...}`` the
  answer is decoded as that response instead (an ApiVersions request at a version no schema
  has, answered in v0).

Values: ``"${topic}"``, ``"${topic2}"``, ``"${group}"``, ``"${txn}"`` are unique names for the run
(so one broker serves every scenario), ``"${uuid}"`` a random UUID fresh for the run,
``"${name}"`` a saved value (an exact placeholder keeps the
saved value's type), ``"$v"`` the scenario's version; ``{"$records": spec}`` builds a record set
(see ``wire.build_records``), ``{"$hex": ...}``/``{"$utf8": ...}`` give bytes, ``{"$repeat": [text, n]}``
the bytes of ``text`` repeated ``n`` times (an oversized record without an oversized file),
``{"$uuid": ...}`` a UUID (``{"$uuid": "${tid}"}`` for a topic id saved from CreateTopics) and
``{"$subscription": [topic, ...]}`` a consumer protocol subscription (JoinGroup metadata).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

NAMES = ("topic", "topic2", "topic3", "group", "group2", "txn", "txn2", "member", "instance")
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


@dataclass(frozen=True)
class BrokerSetup:
    """Broker settings, extra listeners and initial SCRAM users; hashable, to group scenarios by broker."""

    overrides: tuple[tuple[str, str], ...] = ()
    listeners: tuple[tuple[str, str], ...] = ()
    scram: tuple[str, ...] = ()
    #: Broker nodes of the cluster (``reference_nodes``): 1, or a simulated cluster of N.
    nodes: int = 1

    def __bool__(self) -> bool:
        return bool(self.overrides or self.listeners or self.scram or self.nodes > 1)

    def kafkalite_args(self, listener_ports: dict[str, int]) -> list[str]:
        """``kafkalite serve`` arguments for this setup; ``listener_ports`` gives each extra listener's port."""
        args = [arg for name, value in self.overrides for arg in ("--override", f"{name}={value}")]
        if self.listeners:
            listeners = "".join(f",{name}://127.0.0.1:{listener_ports[name]}" for name, _ in self.listeners)
            args += ["--override", f"listeners=PLAINTEXT://127.0.0.1:0{listeners}"]
            protocols = [f"{name}:{protocol}" for name, protocol in self.listeners if name != protocol]
            if protocols:
                args += ["--override", "listener.security.protocol.map=PLAINTEXT:PLAINTEXT," + ",".join(protocols)]
        args += [arg for entry in self.scram for arg in ("--add-scram", entry)]
        if self.nodes > 1:
            args += ["--brokers", str(self.nodes)]
        return args


@dataclass
class Scenario:
    """One runnable scenario (a version already chosen)."""

    family: str
    name: str
    about: str
    steps: list[dict[str, Any]]
    version: int | None = None
    #: Broker settings both brokers run with for this scenario (empty: the default broker).
    overrides: dict[str, str] = field(default_factory=dict)
    #: Extra listeners (name -> security protocol) both brokers open beside PLAINTEXT.
    listeners: dict[str, str] = field(default_factory=dict)
    #: Initial SCRAM users, ``kafka-storage format --add-scram`` entries.
    scram: list[str] = field(default_factory=list)
    #: Named connections: {name: {"listener", "client_id", "login", "node"}} (see the module docstring).
    connections: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Broker nodes both clusters run with (``reference_nodes``; 1: a single broker).
    nodes: int = 1

    @property
    def overrides_key(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(self.overrides.items()))

    @property
    def setup(self) -> BrokerSetup:
        """How both brokers must be configured for this scenario (scenarios sharing one share a broker)."""
        return BrokerSetup(self.overrides_key, tuple(sorted(self.listeners.items())), tuple(self.scram), self.nodes)

    @property
    def id(self) -> str:
        suffix = "" if self.version is None else f"@v{self.version}"
        return f"{self.family}/{self.name}{suffix}"

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.id.lower()).strip("-")


def scenario_files() -> list[Path]:
    folder = resources.files("kafkalite.conformance") / "scenarios"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".json"))


def load(families: list[str] | None = None) -> list[Scenario]:
    """Every scenario of the corpus (of ``families`` when given), versions expanded."""
    out: list[Scenario] = []
    for path in scenario_files():
        data = json.loads(path.read_text())
        family = data["family"]
        family_overrides = data.get("reference_overrides") or {}
        family_listeners = data.get("reference_listeners") or {}
        family_scram = data.get("reference_scram") or []
        family_connections = data.get("connections") or {}
        family_nodes = int(data.get("reference_nodes") or 1)
        if families and family not in families:
            continue
        seen: set[str] = set()
        for raw in data["scenarios"]:
            name = raw["name"]
            if name in seen:
                raise ValueError(f"{path.name}: scenario {name!r} defined twice")
            seen.add(name)
            versions = raw.get("versions") or [None]
            for version in versions:
                steps = raw["steps"] if version is None else substitute(raw["steps"], {"v": version}, exact_v=True)
                overrides = raw.get("reference_overrides", family_overrides)
                out.append(Scenario(family, name, raw.get("about", ""), steps, version, dict(overrides),
                                    dict(raw.get("reference_listeners", family_listeners)),
                                    list(raw.get("reference_scram", family_scram)),
                                    {**family_connections, **(raw.get("connections") or {})},
                                    int(raw.get("reference_nodes", family_nodes))))
    return out


def substitute(value: Any, names: dict[str, Any], exact_v: bool = False) -> Any:
    """``value`` with ``${name}`` placeholders (and ``"$v"`` when ``exact_v``) replaced."""
    if isinstance(value, str):
        if exact_v and value == "$v":
            return names["v"]
        whole = _PLACEHOLDER.fullmatch(value)
        if whole and whole.group(1) in names:
            return names[whole.group(1)]
        return _PLACEHOLDER.sub(lambda m: str(names[m.group(1)]) if m.group(1) in names else m.group(0), value)
    if isinstance(value, list):
        return [substitute(v, names, exact_v) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, names, exact_v) for k, v in value.items()}
    return value


def unresolved(value: Any) -> list[str]:
    """Placeholders still left in ``value`` (a saved value the scenario never saved)."""
    if isinstance(value, str):
        return _PLACEHOLDER.findall(value)
    if isinstance(value, list):
        return [name for v in value for name in unresolved(v)]
    if isinstance(value, dict):
        return [name for v in value.values() for name in unresolved(v)]
    return []
