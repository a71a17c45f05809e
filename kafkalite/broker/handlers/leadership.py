"""What a simulated cluster's data handlers tell a client that asked the wrong node (KIP-951).

Produce (v10+) and Fetch (v16+) answer NOT_LEADER_OR_FOLLOWER with the partition's current
leader and epoch, and the response lists that leader's endpoint, so a client can go straight
to it without a Metadata round trip. A single broker never gets here: it leads everything.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.handlers.registry import RequestContext


class LeaderHints:
    """Collects the current leaders named in one response, and their endpoints."""

    def __init__(self, ctx: RequestContext) -> None:
        self.ctx = ctx
        self.endpoints: dict[int, dict[str, Any]] = {}

    def current_leader(self, topic: str, index: int) -> dict[str, int]:
        """``{leader_id, leader_epoch}`` of the partition (-1, -1 without a live leader)."""
        ctx = self.ctx
        state = ctx.state.replicas.state(topic, index)
        if state is None or state.leader < 0 or not ctx.state.nodes.is_alive(state.leader):
            return {"leader_id": -1, "leader_epoch": -1}
        leader = state.leader
        if leader not in self.endpoints:
            host, port = ctx.address_of(leader)
            rack = ctx.state.nodes.get(leader).rack
            self.endpoints[leader] = {"node_id": leader, "host": host, "port": port, "rack": rack}
        return {"leader_id": leader, "leader_epoch": state.leader_epoch}

    def node_endpoints(self) -> list[dict[str, Any]]:
        return [self.endpoints[n] for n in sorted(self.endpoints)]
