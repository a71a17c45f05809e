"""The broker identities of this process and whether each is up: the single owner of liveness.

A kafkalite process is one broker by default, or a simulated cluster of N (``--brokers N``,
``Broker(brokers=N)``): node ids 1..N, each with its own listeners, one data dir with a folder
per node. Whatever must react when a node stops or starts (its listeners in the server layer,
leadership and ISR in ``replication.py``, coordinators) subscribes here with ``watch``; this
module never touches sockets or logs itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kafkalite.config import BrokerConfig

log = logging.getLogger(__name__)


class NodeEvent(Enum):
    STOPPED = "stopped"  # a clean shutdown: leaders moved away first, logs flushed
    #: An unclean stop: its connections are cut at once, not closed. Its leaderships move at once,
    #: as after STOPPED (Kafka's controller waits broker.session.timeout.ms before fencing a crashed
    #: broker), and its logs keep what they had (a killed process keeps the page cache).
    KILLED = "killed"
    STARTED = "started"
    PAUSED = "paused"  # replication to this node paused (a lagging follower); it still serves
    RESUMED = "resumed"


class UnknownNode(KeyError):
    """A node id that is not one of this cluster's (control requests answer it clearly)."""

    def __init__(self, node_id: int, known: list[int]) -> None:
        super().__init__(node_id)
        self.message = f"unknown node {node_id}: this cluster's nodes are {', '.join(map(str, known))}"

    def __str__(self) -> str:
        return self.message


@dataclass
class Node:
    """One broker identity. ``host``/``port`` are its default listener's advertised address."""

    node_id: int
    host: str
    port: int
    rack: str | None = None
    alive: bool = True
    #: Its followers do not fetch while paused (the ISR shrinks after replica.lag.time.max.ms).
    replication_paused: bool = False
    #: Added before each request this node answers (a slow broker).
    latency_ms: int = 0
    #: Listener name -> the address this node advertises on it (set by the server once bound).
    #: A client is given every node's address on the listener it came in on.
    endpoints: dict[str, tuple[str, int]] = field(default_factory=dict)


Watcher = Callable[[Node, NodeEvent], None]


def node_port(base: int, node_id: int, count: int) -> int:
    """Node ``node_id``'s port for a listener configured on ``base``: consecutive from it (0: a free one)."""
    if count == 1 or base == 0:
        return base
    return base + node_id - 1


def nodes_from_config(config: BrokerConfig) -> Nodes:
    """The broker identities ``kafkalite.brokers`` asks for.

    One: the configured ``node.id`` on the configured address, exactly a plain broker. N > 1:
    node ids 1..N, node K on ``port + K - 1`` (all 0 with port 0: the server binds free ones
    and fills in the ports it got).
    """
    count = config.brokers
    if count < 1:
        raise ValueError(f"kafkalite.brokers must be at least 1, not {count}")
    host, port = config.advertised
    if count == 1:
        return Nodes([Node(config.node_id, host, port)])
    return Nodes([Node(i, host, node_port(port, i, count)) for i in range(1, count + 1)])


class Nodes:
    """Node ids 1..N (or the one configured ``node.id`` for a single broker), in id order."""

    def __init__(self, nodes: list[Node]) -> None:
        self._nodes = {n.node_id: n for n in nodes}
        self._watchers: list[Watcher] = []
        #: Told when a node's latency changes (the fault registry arms the dispatcher's check).
        self.latency_changed: Callable[[], None] | None = None
        #: Several identities (a simulated cluster): handlers skip the leader and coordinator
        #: checks of a single broker on this one attribute read.
        self.multi = len(self._nodes) > 1

    @property
    def ids(self) -> list[int]:
        return sorted(self._nodes)

    @property
    def count(self) -> int:
        return len(self._nodes)

    def get(self, node_id: int) -> Node:
        """The node, or UnknownNode (with the known ids in its message)."""
        try:
            return self._nodes[node_id]
        except KeyError:
            raise UnknownNode(node_id, self.ids) from None

    def all(self) -> list[Node]:
        return [self._nodes[i] for i in self.ids]

    def alive(self) -> list[Node]:
        return [n for n in self.all() if n.alive]

    def alive_ids(self) -> list[int]:
        return [n.node_id for n in self.all() if n.alive]

    def is_alive(self, node_id: int) -> bool:
        node = self._nodes.get(node_id)
        return node is not None and node.alive

    def watch(self, watcher: Watcher) -> None:
        """Call ``watcher`` after every change (in subscription order, on the event loop)."""
        self._watchers.append(watcher)

    def _emit(self, node: Node, event: NodeEvent) -> None:
        log.info("node %d %s", node.node_id, event.value)
        for watcher in self._watchers:
            watcher(node, event)

    def stop(self, node_id: int, *, clean: bool = True) -> None:
        node = self.get(node_id)
        if not node.alive:
            return
        node.alive = False
        self._emit(node, NodeEvent.STOPPED if clean else NodeEvent.KILLED)

    def start(self, node_id: int) -> None:
        node = self.get(node_id)
        if node.alive:
            return
        node.alive = True
        self._emit(node, NodeEvent.STARTED)

    def pause_replication(self, node_id: int) -> None:
        node = self.get(node_id)
        if not node.replication_paused:
            node.replication_paused = True
            self._emit(node, NodeEvent.PAUSED)

    def resume_replication(self, node_id: int) -> None:
        node = self.get(node_id)
        if node.replication_paused:
            node.replication_paused = False
            self._emit(node, NodeEvent.RESUMED)

    def set_latency(self, node_id: int, latency_ms: int) -> None:
        if latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        self.get(node_id).latency_ms = latency_ms
        if self.latency_changed is not None:
            self.latency_changed()

    def apply(self, action: str, node_id: int, *args: int) -> None:
        """A node fault by name (the server's ``control_node`` and FaultRegistry use it): stop, kill,
        start, pause_replication, resume_replication, or set_latency with the milliseconds."""
        if action in ("stop", "kill"):
            self.stop(node_id, clean=action == "stop")
        elif action == "start":
            self.start(node_id)
        elif action == "pause_replication":
            self.pause_replication(node_id)
        elif action == "resume_replication":
            self.resume_replication(node_id)
        elif action == "set_latency":
            self.set_latency(node_id, args[0])
        else:
            raise ValueError(f"unknown node action {action!r}")
