"""The simulated KRaft controller quorum that DescribeQuorum shows: voters, leader, epoch, offsets.

kafkalite keeps its metadata in files at the data dir's root (topics.json, acls.log, ...), so
there is no Raft log; this object only answers what ``kafka-metadata-quorum describe`` prints,
the way the Kafka kafkalite stands in for would. Every node is a voter, as in a combined-mode
Kafka (``process.roles=broker,controller``, how ``ReferenceKafka(nodes=3)`` runs): one voter for
a single broker, N for a simulated cluster, no observers. The lowest live id leads from epoch 1;
when the leader stops, the lowest live voter takes over with the next epoch, provided a
majority of voters is up (without one, no leader: -1). The metadata log's offsets advance as
Kafka's do when idle: one record per ``metadata.max.idle.interval.ms`` (500 ms, Kafka's
NoOpRecord), so the high watermark grows with uptime; a stopped voter's log end offset and fetch
times stay where they were when it stopped. It owns nothing else and never touches storage.
"""

from __future__ import annotations

from dataclasses import dataclass

from kafkalite.broker.nodes import Node, NodeEvent, Nodes
from kafkalite.clock import Clock

#: Kafka's metadata.max.idle.interval.ms: an idle controller appends a NoOpRecord this often.
IDLE_RECORD_MS = 500


@dataclass
class VoterState:
    replica_id: int
    log_end_offset: int
    last_fetch_timestamp: int
    last_caught_up_timestamp: int


class Quorum:
    """Leader and epoch of the simulated metadata quorum, moved by node stops and starts."""

    def __init__(self, nodes: Nodes, clock: Clock) -> None:
        self.nodes = nodes
        self.clock = clock
        self._start_ms = clock.now_ms()
        self.leader_epoch = 0
        self.leader_id = -1
        #: When each stopped voter stopped (its offsets and fetch times freeze there).
        self._stopped_at: dict[int, int] = {}
        self._elect()
        nodes.watch(self._on_node_event)

    @property
    def voters(self) -> list[int]:
        return self.nodes.ids

    def high_watermark(self, now_ms: int | None = None) -> int:
        now = self.clock.now_ms() if now_ms is None else now_ms
        return max(0, now - self._start_ms) // IDLE_RECORD_MS

    def voter_states(self) -> list[VoterState]:
        now = self.clock.now_ms()
        hw = self.high_watermark(now)
        out = []
        for voter in self.voters:
            stopped = self._stopped_at.get(voter)
            if stopped is None:
                out.append(VoterState(voter, hw, now, now))
            else:
                out.append(VoterState(voter, self.high_watermark(stopped), stopped, stopped))
        return out

    def _has_majority(self) -> bool:
        return len(self.nodes.alive_ids()) * 2 > len(self.voters)

    def _elect(self) -> None:
        alive = self.nodes.alive_ids()
        if not alive or not self._has_majority():
            self.leader_id = -1
            return
        if self.leader_id not in alive:
            self.leader_id = alive[0]
            self.leader_epoch += 1

    def _on_node_event(self, node: Node, event: NodeEvent) -> None:
        if event in (NodeEvent.STOPPED, NodeEvent.KILLED):
            self._stopped_at[node.node_id] = self.clock.now_ms()
        elif event == NodeEvent.STARTED:
            self._stopped_at.pop(node.node_id, None)
        else:
            return
        self._elect()
