"""Faults on demand: what a test asks the broker to get wrong, and the one place that knows it.

Owns the fault rules of one broker (``BrokerState.faults``), in the spirit of franz-go kfake's
``ControlKey`` and librdkafka's mock-cluster error stacks:

- request faults: for an API (key number or name), optionally only requests from one client id,
  sent to one node, naming one topic, or for one group / transactional id, answer the next
  ``count`` requests (or every one until cleared) with an error code in the API's own error
  shape (``fault_responses.py``), after a delay, or handle them normally after a delay, drop
  the connection unanswered, or throttle them (throttle_time_ms and the KIP-219 mute);
- coordinator faults: COORDINATOR_LOAD_IN_PROGRESS / NOT_COORDINATOR answered by the coordinator
  APIs of one group or transactional id, and a coordinator move (``replicas.move_coordinator``);
- storage faults: a full disk or I/O errors under one node's log directory (the whole data dir
  of a single broker), through the broker's switchable file system (``storage.fs.SwitchableFS``);
- node faults: stop, start, kill, pause/resume replication and latency, delegated to ``Nodes``
  (whose watchers close listeners and move leaders); a node's latency delays each request it
  answers, without blocking the loop.

Every control method is safe to call from any thread: rules sit behind a lock, and what changes
loop-owned state (nodes, coordinators) runs on the broker's loop. The dispatcher pays one
attribute check per request while nothing is armed (``armed``); this module never touches
sockets (a dropped connection is the dispatcher's ``ProtocolViolation``).
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import os
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from kafkalite.errors import ErrorCode

if TYPE_CHECKING:
    from kafkalite.broker.broker import BrokerState

T = TypeVar("T")
#: ``pass`` lets a matching request through untouched (a NONE in an error sequence).
Action = Literal["error", "delay", "drop", "throttle", "pass"]
ACTIONS: tuple[str, ...] = ("error", "delay", "drop", "throttle", "pass")
#: How long a control call from another thread waits for the loop to carry it out.
LOOP_CALL_TIMEOUT_SECONDS = 30.0

#: The APIs a group coordinator answers (keyed by group id), and a transaction coordinator
#: (keyed by transactional id): where coordinator faults apply. FindCoordinator is answered by
#: any broker, so it is not one of them (fault it by name for COORDINATOR_NOT_AVAILABLE).
GROUP_COORDINATOR_APIS = ("OffsetCommit", "OffsetFetch", "JoinGroup", "Heartbeat", "LeaveGroup", "SyncGroup",
                          "DescribeGroups", "DeleteGroups", "OffsetDelete", "TxnOffsetCommit",
                          "ConsumerGroupHeartbeat", "ConsumerGroupDescribe")
TXN_COORDINATOR_APIS = ("InitProducerId", "AddPartitionsToTxn", "AddOffsetsToTxn", "EndTxn")
COORDINATOR_ERRORS = {"loading": ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, "not_coordinator": ErrorCode.NOT_COORDINATOR,
                      "not_available": ErrorCode.COORDINATOR_NOT_AVAILABLE}


class FaultError(ValueError):
    """A control request naming an unknown API, error code or node, or a bad argument."""


# ---- names -------------------------------------------------------------------------------------


def _api_tables() -> tuple[dict[int, str], dict[str, int]]:
    from kafkalite.broker.handlers import APIS

    by_key = {key: spec.name for key, spec in APIS.items()}
    by_name = {_squash(name): key for key, name in by_key.items()}
    return by_key, by_name


def _squash(name: str) -> str:
    return name.replace("_", "").replace("-", "").replace(" ", "").lower()


def api_key_of(api: int | str) -> int:
    """The API key of ``api``: a key number, or a name as Kafka spells it (any case, ``_`` ignored)."""
    by_key, by_name = _api_tables()
    if isinstance(api, bool):
        raise FaultError(f"unknown API {api!r}")
    if isinstance(api, int) or (isinstance(api, str) and api.strip().lstrip("-").isdigit()):
        key = int(api)
        if key not in by_key:
            raise FaultError(f"unknown API key {key}: kafkalite answers keys {', '.join(map(str, sorted(by_key)))}")
        return key
    if not isinstance(api, str):
        raise FaultError(f"unknown API {api!r}")
    key_or_none = by_name.get(_squash(api))
    if key_or_none is None:
        raise FaultError(f"unknown API {api!r}: use a name such as Produce, Fetch, JoinGroup (see `kafkalite apis`) "
                         "or a key number")
    return key_or_none


def api_name(key: int) -> str:
    return _api_tables()[0].get(key, str(key))


def error_code_of(error: int | str | ErrorCode) -> ErrorCode:
    """An ErrorCode from its Kafka name (``NOT_LEADER_OR_FOLLOWER``, any case) or its number."""
    if isinstance(error, ErrorCode):
        return error
    if isinstance(error, bool):
        raise FaultError(f"unknown error code {error!r}")
    if isinstance(error, str) and error.strip().lstrip("-").isdigit():
        error = int(error)
    if isinstance(error, int):
        try:
            return ErrorCode(error)
        except ValueError:
            raise FaultError(f"unknown error code {error}: Kafka's codes run from -1 to "
                             f"{max(ErrorCode)}") from None
    if isinstance(error, str):
        try:
            return ErrorCode[error.strip().upper().replace("-", "_")]
        except KeyError:
            raise FaultError(f"unknown error code {error!r}: use a Kafka name such as NOT_LEADER_OR_FOLLOWER "
                             "or a number") from None
    raise FaultError(f"unknown error code {error!r}")


def _count(count: int | None) -> int | None:
    if count is None:
        return None
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise FaultError(f"count must be a positive integer (or omitted: until cleared), got {count!r}")
    return count


def _millis(name: str, value: Any, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise FaultError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


# ---- request faults ------------------------------------------------------------------------------


@dataclass
class RequestFault:
    """One rule: which requests it matches, what it does to them, and how many more it takes."""

    id: int
    api_keys: frozenset[int]
    action: Action
    error: ErrorCode | None = None
    delay_ms: int = 0
    throttle_ms: int = 0
    client_id: str | None = None
    node_id: int | None = None
    topic: str | None = None
    #: A group id or transactional id the request must name (coordinator faults).
    key: str | None = None
    remaining: int | None = None  # None: until cleared
    hits: int = 0
    label: str = ""

    def describe(self) -> dict[str, Any]:
        """Its JSON form (GET /faults)."""
        return {
            "id": self.id,
            "apis": sorted(api_name(k) for k in self.api_keys),
            "action": self.action,
            "error": None if self.error is None else self.error.name,
            "error_code": None if self.error is None else int(self.error),
            "delay_ms": self.delay_ms,
            "throttle_ms": self.throttle_ms,
            "client_id": self.client_id,
            "node": self.node_id,
            "topic": self.topic,
            "key": self.key,
            "remaining": self.remaining,
            "hits": self.hits,
            "label": self.label,
        }


@dataclass
class Hit:
    """What the dispatcher must do to one request (a consumed match)."""

    action: Action
    error: ErrorCode | None
    delay_ms: int
    throttle_ms: int


_TOPIC_FIELDS = ("topic_data", "topics")
_KEY_FIELDS = ("group_id", "transactional_id", "v3_and_below_transactional_id", "key")
_KEY_LISTS = ("groups_names", "coordinator_keys", "groups")


def request_topics(request: Any, state: BrokerState) -> set[str]:
    """The topic names a request names (Produce/Fetch by id from v13 resolved through the cluster)."""
    names: set[str] = set()
    for field_name in _TOPIC_FIELDS:
        entries = getattr(request, field_name, None)
        if not entries or isinstance(entries, (str, bytes)):
            continue
        for entry in entries:
            if isinstance(entry, str):
                names.add(entry)
                continue
            name = getattr(entry, "name", None) or getattr(entry, "topic", None)
            if not name:
                topic_id = getattr(entry, "topic_id", None)
                if topic_id is not None:
                    found = state.cluster.by_id.get(topic_id)
                    name = found.name if found is not None else None
            if name:
                names.add(name)
    for name in getattr(request, "topic_names", None) or ():
        names.add(name)
    return names


def request_keys(request: Any) -> set[str]:
    """The group ids and transactional ids a request names."""
    keys: set[str] = set()
    for field_name in _KEY_FIELDS:
        value = getattr(request, field_name, None)
        if isinstance(value, str) and value:
            keys.add(value)
    for field_name in _KEY_LISTS:
        for entry in getattr(request, field_name, None) or ():
            if isinstance(entry, str):
                keys.add(entry)
            else:
                group_id = getattr(entry, "group_id", None)
                if isinstance(group_id, str):
                    keys.add(group_id)
    return keys


@dataclass
class _DiskFault:
    kind: Literal["full", "io_errors"]
    node_id: int | None
    prefix: str
    count: int | None
    id: int = 0

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "node": self.node_id, "path": self.prefix, "count": self.count}


@dataclass
class _Rules:
    by_key: dict[int, list[RequestFault]] = field(default_factory=dict)
    ordered: list[RequestFault] = field(default_factory=list)


class FaultRegistry:
    """The fault rules of one broker, and the controls that set them (any thread)."""

    def __init__(self, state: BrokerState) -> None:
        self._state = state
        self._lock = threading.Lock()
        self._rules = _Rules()
        self._ids = itertools.count(1)
        self._disk: list[_DiskFault] = []
        self._disk_used = False  # a given FaultyFS is left alone until a disk fault is set here
        self._disk_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._node_control: Callable[..., Awaitable[None]] | None = None
        #: The dispatcher's single check: any request rule, or any node with latency.
        self.armed = False
        state.nodes.latency_changed = self._rearm

    # ---- wiring ------------------------------------------------------------------------------

    def bind_loop(self, loop: asyncio.AbstractEventLoop | None,
                  node_control: Callable[..., Awaitable[None]] | None = None) -> None:
        """The loop that owns the broker state, and the server's node control (its listeners follow
        a node's stop and start); the server sets them at start and clears them at stop."""
        self._loop = loop
        self._node_control = node_control

    def _on_loop(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the broker's loop and return its result (at once when already there)."""
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None or running is loop or not loop.is_running():
            return fn()

        async def call() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), loop).result(LOOP_CALL_TIMEOUT_SECONDS)

    def _rearm(self) -> None:
        self.armed = bool(self._rules.ordered) or any(n.latency_ms for n in self._state.nodes.all())

    # ---- request faults ------------------------------------------------------------------------

    def add(
        self,
        api: int | str | Iterable[int | str],
        action: str,
        *,
        error: int | str | ErrorCode | None = None,
        count: int | None = None,
        delay_ms: int = 0,
        throttle_ms: int = 0,
        client_id: str | None = None,
        node: int | None = None,
        topic: str | None = None,
        key: str | None = None,
        label: str = "",
    ) -> RequestFault:
        """Add a rule (the general form of fail/delay/drop/throttle); FaultError names what is wrong."""
        if action not in ACTIONS:
            raise FaultError(f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
        apis = [api] if isinstance(api, (int, str)) else list(api)
        if not apis:
            raise FaultError("name at least one API")
        keys = frozenset(api_key_of(a) for a in apis)
        code = None
        if action == "error":
            if error is None:
                raise FaultError("an error fault needs an error code (a Kafka name or number)")
            code = error_code_of(error)
            if code == ErrorCode.NONE:
                raise FaultError("NONE is not an error: use delay or throttle for a slow answer")
        elif error is not None:
            raise FaultError(f"a {action} fault takes no error code")
        delay_ms = _millis("delay_ms", delay_ms)
        throttle_ms = _millis("throttle_ms", throttle_ms)
        if action == "delay" and delay_ms == 0:
            raise FaultError("a delay fault needs delay_ms > 0")
        if action == "throttle" and throttle_ms == 0:
            raise FaultError("a throttle fault needs throttle_ms > 0")
        if node is not None:
            self._node(node)
        if client_id is not None and not isinstance(client_id, str):
            raise FaultError(f"client_id must be a string, got {client_id!r}")
        if topic is not None and (not isinstance(topic, str) or not topic):
            raise FaultError(f"topic must be a topic name, got {topic!r}")
        if key is not None and (not isinstance(key, str) or not key):
            raise FaultError(f"a group or transactional id must be a non-empty string, got {key!r}")
        fault = RequestFault(
            id=next(self._ids), api_keys=keys, action=action,  # type: ignore[arg-type]
            error=code, delay_ms=delay_ms, throttle_ms=throttle_ms, client_id=client_id,
            node_id=node, topic=topic, key=key, remaining=_count(count), label=label,
        )
        with self._lock:
            for k in keys:
                self._rules.by_key.setdefault(k, []).append(fault)
            self._rules.ordered.append(fault)
            self.armed = True
        return fault

    def fail(self, api: int | str | Iterable[int | str], error: int | str | ErrorCode, count: int | None = None,
             **match: Any) -> RequestFault:
        """Answer the next ``count`` matching requests (all, until cleared, when None) with ``error``,
        in the API's own error shape; ``delay_ms`` delays that answer."""
        return self.add(api, "error", error=error, count=count, **match)

    def fail_sequence(self, api: int | str | Iterable[int | str], errors: Iterable[int | str | ErrorCode],
                      **match: Any) -> list[RequestFault]:
        """librdkafka's error stack: the next matching requests get these errors, one each, in order
        (``NONE`` lets one request through). Checked whole before any is set."""
        codes = [error_code_of(e) for e in errors]
        if not codes:
            raise FaultError("an error sequence needs at least one error code")
        if match.get("count") is not None:
            raise FaultError("an error sequence takes one request per error: no count")
        match.pop("count", None)
        apis = [api] if isinstance(api, (int, str)) else list(api)
        for a in apis:
            api_key_of(a)
        return [self.add(apis, "error", error=c, count=1, **match) if c != ErrorCode.NONE
                else self.add(apis, "pass", count=1, **match) for c in codes]

    def delay(self, api: int | str | Iterable[int | str], delay_ms: int, count: int | None = None,
              **match: Any) -> RequestFault:
        """Handle matching requests normally, ``delay_ms`` later (a slow broker for those APIs)."""
        return self.add(api, "delay", delay_ms=delay_ms, count=count, **match)

    def drop(self, api: int | str | Iterable[int | str], count: int | None = None, **match: Any) -> RequestFault:
        """Close the connection of matching requests without answering them (as a network cut)."""
        return self.add(api, "drop", count=count, **match)

    def throttle(self, api: int | str | Iterable[int | str], throttle_ms: int, count: int | None = None,
                 **match: Any) -> RequestFault:
        """Answer normally with throttle_time_ms set, then read nothing more from that connection
        for ``throttle_ms`` (KIP-219), as a quota violation does."""
        return self.add(api, "throttle", throttle_ms=throttle_ms, count=count, **match)

    def remove(self, fault_id: int) -> bool:
        """Remove one rule (request or disk fault) by id; False when there is none."""
        with self._lock:
            for fault in self._rules.ordered:
                if fault.id == fault_id:
                    self._forget(fault)
                    self._rearm()
                    return True
        with self._disk_lock:
            for disk in self._disk:
                if disk.id == fault_id:
                    self._disk.remove(disk)
                    self._apply_disk()
                    return True
        return False

    def _forget(self, fault: RequestFault) -> None:
        """Drop a rule (the lock held)."""
        if fault in self._rules.ordered:
            self._rules.ordered.remove(fault)
        for k in fault.api_keys:
            rules = self._rules.by_key.get(k)
            if rules is not None and fault in rules:
                rules.remove(fault)
                if not rules:
                    del self._rules.by_key[k]

    def clear(self) -> None:
        """Forget every request, coordinator and disk fault and every node's latency.

        Stopped nodes stay stopped and paused replication stays paused: restarting a node is
        an event of its own (``start_node``), as it is for a real cluster.
        """
        with self._lock:
            self._rules = _Rules()
        self.clear_disk()
        for node in self._state.nodes.all():
            node.latency_ms = 0
        self._rearm()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            faults = [f.describe() for f in self._rules.ordered]
        return faults + [d.describe() for d in self._disk]

    def match(self, api_key: int, client_id: str | None, node_id: int, request: Any) -> Hit | None:
        """The first rule matching this request, consumed (dispatcher, on the loop)."""
        with self._lock:
            rules = self._rules.by_key.get(api_key)
            if not rules:
                return None
            topics: set[str] | None = None
            keys: set[str] | None = None
            for fault in rules:
                if fault.client_id is not None and fault.client_id != (client_id or ""):
                    continue
                if fault.node_id is not None and fault.node_id != node_id:
                    continue
                if fault.topic is not None:
                    if topics is None:
                        topics = request_topics(request, self._state)
                    if fault.topic not in topics:
                        continue
                if fault.key is not None:
                    if keys is None:
                        keys = request_keys(request)
                    if fault.key not in keys:
                        continue
                fault.hits += 1
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._forget(fault)
                        self._rearm()
                return Hit(fault.action, fault.error, fault.delay_ms, fault.throttle_ms)
        return None

    def latency_ms(self, node_id: int) -> int:
        try:
            return self._state.nodes.get(node_id).latency_ms
        except KeyError:
            return 0

    # ---- coordinator faults -----------------------------------------------------------------------

    def _coordinator_target(self, group: str | None, transactional_id: str | None) -> tuple[str, tuple[str, ...]]:
        if (group is None) == (transactional_id is None):
            raise FaultError("name exactly one of group or transactional_id")
        if group is not None:
            if not isinstance(group, str) or not group:
                raise FaultError(f"group must be a non-empty group id, got {group!r}")
            return group, GROUP_COORDINATOR_APIS
        assert transactional_id is not None
        if not isinstance(transactional_id, str) or not transactional_id:
            raise FaultError(f"transactional_id must be a non-empty id, got {transactional_id!r}")
        return transactional_id, TXN_COORDINATOR_APIS

    def coordinator_error(self, error: str | int | ErrorCode, *, group: str | None = None,
                          transactional_id: str | None = None, count: int | None = None,
                          node: int | None = None) -> RequestFault:
        """Answer the coordinator APIs of one group or transactional id with ``error``
        (``loading``, ``not_coordinator``, ``not_available`` or any code)."""
        key, apis = self._coordinator_target(group, transactional_id)
        if isinstance(error, str) and error.lower().replace("-", "_") in COORDINATOR_ERRORS:
            error = COORDINATOR_ERRORS[error.lower().replace("-", "_")]
        return self.add([a for a in apis if self._known(a)], "error", error=error, count=count, key=key,
                        node=node, label="coordinator")

    def coordinator_loading(self, *, group: str | None = None, transactional_id: str | None = None,
                            count: int | None = None) -> RequestFault:
        """COORDINATOR_LOAD_IN_PROGRESS for the next ``count`` coordinator requests of the key."""
        return self.coordinator_error(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, group=group,
                                      transactional_id=transactional_id, count=count)

    def not_coordinator(self, *, group: str | None = None, transactional_id: str | None = None,
                        count: int | None = None) -> RequestFault:
        """NOT_COORDINATOR for the next ``count`` coordinator requests of the key."""
        return self.coordinator_error(ErrorCode.NOT_COORDINATOR, group=group,
                                      transactional_id=transactional_id, count=count)

    def move_coordinator(self, *, group: str | None = None, transactional_id: str | None = None,
                         node: int | None = None) -> int:
        """Move the coordinator of a group or transactional id (to ``node``, else another live
        node); returns the node coordinating it now."""
        key, _ = self._coordinator_target(group, transactional_id)
        if node is not None:
            self._node(node)
        kind = "group" if group is not None else "transaction"
        return self._on_loop(lambda: self._state.replicas.move_coordinator(kind, key, node))

    @staticmethod
    def _known(api: str) -> bool:
        try:
            api_key_of(api)
        except FaultError:
            return False
        return True

    # ---- storage faults -----------------------------------------------------------------------------

    def _log_dir(self, node: int | None) -> str:
        """The directory a node's partition logs live under (the whole data dir of one broker)."""
        data_dir = self._state.config.data_dir
        if node is not None:
            self._node(node)
        # one broker: its whole data dir; a cluster: node K's logs live under node-K/ (the rest
        # of the data dir is the shared, simulated metadata quorum)
        path = data_dir if node is None or self._state.nodes.count == 1 else data_dir / f"node-{node}"
        return os.path.realpath(path) + os.sep

    def disk_full(self, node: int | None = None) -> dict[str, Any]:
        """Every write under the node's log dir (all of it with ``node=None``) fails with ENOSPC
        until ``clear_disk``: appends answer KAFKA_STORAGE_ERROR, as on a full disk."""
        return self._add_disk("full", node, None)

    def disk_errors(self, node: int | None = None, count: int | None = None) -> dict[str, Any]:
        """Writes and fsyncs under the node's log dir fail with EIO (the next ``count`` of each,
        or all until ``clear_disk``)."""
        return self._add_disk("io_errors", node, _count(count))

    def _add_disk(self, kind: Literal["full", "io_errors"], node: int | None, count: int | None) -> dict[str, Any]:
        self._faulty()
        fault = _DiskFault(kind, node, self._log_dir(node), count, next(self._ids))
        with self._disk_lock:
            self._disk_used = True
            self._disk.append(fault)
            self._arm_disk(fault)
        return fault.describe()

    def clear_disk(self, node: int | None = None) -> None:
        """Forget the disk faults (of one node), so writes succeed again."""
        if node is not None:
            self._node(node)
        with self._disk_lock:
            self._disk = [d for d in self._disk if node is not None and d.node_id != node]
            if self._disk_used:
                self._apply_disk()

    def _faulty(self) -> Any:
        from kafkalite.storage.fs import FaultyFS, SwitchableFS

        fs = self._state.fs
        if isinstance(fs, SwitchableFS):
            return fs.faulty
        if isinstance(fs, FaultyFS):
            return fs
        raise FaultError("storage faults need the broker's own file system (this broker was given another)")

    def _arm_disk(self, fault: _DiskFault) -> None:
        """Add one disk fault's rules to the file system (which counts them down itself) and route
        storage through it (the disk lock held)."""
        from kafkalite.storage.fs import SwitchableFS

        faulty = self._faulty()
        if fault.kind == "full":
            faulty.fill(prefix=fault.prefix)
        else:
            n = fault.count if fault.count is not None else 1 << 62
            faulty.fail_next_writes(n, errno.EIO, prefix=fault.prefix)
            faulty.fail_next_syncs(n, errno.EIO, prefix=fault.prefix)
        fs = self._state.fs
        if isinstance(fs, SwitchableFS) and not fs.engaged:
            fs.engage()

    def _apply_disk(self) -> None:
        """After a removal: the file system's rules rebuilt from the faults left (the disk lock held;
        a counted fault left starts its count again), or the real disk back when none is."""
        from kafkalite.storage.fs import SwitchableFS

        fs = self._state.fs
        self._faulty().free()
        for fault in self._disk:
            self._arm_disk(fault)
        if isinstance(fs, SwitchableFS) and not self._disk:
            fs.release()

    # ---- node faults ----------------------------------------------------------------------------------

    def _node(self, node: Any) -> int:
        if isinstance(node, bool) or not isinstance(node, int):
            raise FaultError(f"a node is a node id (an integer), got {node!r}")
        try:
            self._state.nodes.get(node)
        except KeyError as exc:
            raise FaultError(str(exc)) from None
        return node

    #: Node actions by their control names (``control_node`` of the server takes the long ones).
    NODE_ACTIONS = {"stop": "stop", "kill": "kill", "start": "start", "pause": "pause_replication",
                    "resume": "resume_replication", "pause_replication": "pause_replication",
                    "resume_replication": "resume_replication"}

    def set_latency(self, node: int, latency_ms: int) -> None:
        """Delay every request node ``node`` answers by ``latency_ms`` (0: none), without blocking the loop."""
        self._node(node)
        latency_ms = _millis("latency_ms", latency_ms)
        self._on_loop(lambda: self._state.nodes.set_latency(node, latency_ms))
        self._rearm()

    def _node_call(self, node: int, action: str) -> tuple[str, int]:
        self._node(node)
        name = self.NODE_ACTIONS.get(action)
        if name is None:
            raise FaultError(f"unknown node action {action!r}: one of stop, start, kill, pause, resume, latency")
        return name, node

    async def node_action_async(self, node: int, action: str) -> None:
        """stop / kill / start / pause / resume one node, on the loop; returns once its listeners
        followed (closed, or listening again)."""
        name, node = self._node_call(node, action)
        if self._node_control is not None:
            await self._node_control(name, node)
            return
        self._state.nodes.apply(name, node)

    def node_action(self, node: int, action: str) -> None:
        """``node_action_async`` from any thread but the loop's (the test's thread)."""
        name, node = self._node_call(node, action)
        loop = self._loop
        if loop is None or not loop.is_running():
            self._state.nodes.apply(name, node)
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise RuntimeError("on the broker's loop: use 'await faults.node_action_async(...)'")
        asyncio.run_coroutine_threadsafe(self.node_action_async(node, action), loop).result(LOOP_CALL_TIMEOUT_SECONDS)

    def nodes(self) -> list[dict[str, Any]]:
        return [
            {"id": n.node_id, "host": n.host, "port": n.port, "alive": n.alive,
             "replication_paused": n.replication_paused, "latency_ms": n.latency_ms}
            for n in self._state.nodes.all()
        ]
