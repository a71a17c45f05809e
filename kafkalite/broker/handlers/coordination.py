"""Whether the node a group or transaction request came in on coordinates its key.

A single broker coordinates everything, so the check is one attribute read. In a simulated
cluster the replica manager places coordinators as Kafka does (the leader of the key's
``__consumer_offsets`` / ``__transaction_state`` partition); another node answers
NOT_COORDINATOR, and COORDINATOR_NOT_AVAILABLE while none is. Handlers check after
authorization and after the request's own validation, where Kafka's coordinator service
would be asked, and answer in their API's own error shape.
"""

from __future__ import annotations

from kafkalite.broker.handlers.registry import RequestContext


def group_coordinator_error(ctx: RequestContext, group_id: str | None) -> int:
    """0, or NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE for a group-keyed request."""
    if not ctx.state.nodes.multi or not group_id:
        return 0
    return int(ctx.state.replicas.coordinator_problem("group", group_id, ctx.node_id))


def txn_coordinator_error(ctx: RequestContext, transactional_id: str | None) -> int:
    """0, or NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE for a transactional-id-keyed request."""
    if not ctx.state.nodes.multi or not transactional_id:
        return 0
    return int(ctx.state.replicas.coordinator_problem("transaction", transactional_id, ctx.node_id))
