"""Fetch (key 1), v0-v18.

Serves stored batches as they are on disk, whole: a fetch from the middle of a batch returns
that batch and the client skips the earlier records. ``partition_max_bytes`` and the
response-wide ``max_bytes`` are honoured, except that the first batch of the response is
returned even when larger (Kafka's rule, so a consumer always progresses). When less than
``min_bytes`` is available the request parks until a produce notifies one of its partitions
or ``max_wait_ms`` passes. read_committed reads stop at the last stable offset and list the
aborted transactions in the returned range, so the client drops their records. Fetch
sessions (KIP-227) are declined by answering session id 0, so clients send full requests; an
incremental request (epoch above 0) names a session that cannot exist, FETCH_SESSION_ID_NOT_FOUND
as Kafka answers for an unknown session. Every partition has had one leader epoch, 0: a newer
``current_leader_epoch`` is UNKNOWN_LEADER_EPOCH, a ``last_fetched_epoch`` beyond it has no end
offset and is OFFSET_OUT_OF_RANGE (Kafka's leader epoch cache rule). Partition errors read from
the log answer -1 for the offsets, as Kafka does.
v13+ names topics by id; v0-v3 (clients older than Kafka 0.11) get the batches down-converted
to message format v0 (Fetch v0-v1) or v1 (v2-v3).

In a simulated cluster a node serves only partitions it leads (NOT_LEADER_OR_FOLLOWER, with
the current leader and its endpoint from v16, KIP-951); a consumer from v11 (KIP-392) may also
read from a follower replica, as Kafka lets it. A partition without leader is LEADER_NOT_AVAILABLE.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import authorized_cluster, denied_names
from kafkalite.broker.authorizer import Operation, ResourceType
from kafkalite.broker.handlers.leadership import LeaderHints
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode
from kafkalite.records.batch import HEADER_SIZE, read_header
from kafkalite.records.legacy import down_convert
from kafkalite.storage.log import OffsetOutOfRange

TOPIC_ID_VERSION = 13
MAGIC_V2_VERSION = 4
READ_COMMITTED = 1
SESSION_VERSION = 7
CURRENT_EPOCH_VERSION = 9
LAST_FETCHED_EPOCH_VERSION = 12
LEADER_EPOCH = 0
REPLICA_STATE_VERSION = 15
#: KIP-392: a consumer with client metadata may read from a follower replica.
FOLLOWER_FETCH_VERSION = 11
#: KIP-951: NOT_LEADER_OR_FOLLOWER names the current leader, and the response its endpoint.
LEADER_HINT_VERSION = 16
_NONE_DENIED: frozenset[str] = frozenset()


def last_offset_after(data: bytes | memoryview) -> int:
    """The offset following the last batch in ``data`` (whole batches, as the log returns them)."""
    pos = 0
    header = None
    while pos + HEADER_SIZE <= len(data):
        header = read_header(data, pos)
        pos += header.length
    return header.last_offset + 1 if header is not None else 0


def _denied_topics(ctx: RequestContext, request: Any) -> frozenset[str] | set[str] | None:
    """With an authorizer: the topics this consumer may not READ, or None when every partition is refused.

    As Kafka's handleFetchRequest: a follower (replica id 0 or more) needs CLUSTER_ACTION on the
    cluster and then reads everything, or gets TOPIC_AUTHORIZATION_FAILED for every partition;
    a consumer needs READ on each topic, checked before the topic's existence (a topic id nobody
    knows stays UNKNOWN_TOPIC_ID).
    """
    if _replica_id(ctx, request) >= 0:
        return _NONE_DENIED if authorized_cluster(ctx, Operation.CLUSTER_ACTION) else None
    if ctx.version >= TOPIC_ID_VERSION:
        by_id = ctx.state.cluster.by_id
        names = [t.name for t in (by_id.get(ft.topic_id) for ft in request.topics) if t is not None]
    else:
        names = [ft.topic for ft in request.topics]
    return denied_names(ctx, Operation.READ, ResourceType.TOPIC, names)


def _replica_id(ctx: RequestContext, request: Any) -> int:
    """The fetching follower's node id; -1 for a consumer."""
    if ctx.version >= REPLICA_STATE_VERSION:  # a tagged field: absent (None) from consumers
        return int(request.replica_state.replica_id) if request.replica_state is not None else -1
    return int(request.replica_id)


def _leadership_problem(ctx: RequestContext, request: Any, topic: str, index: int) -> ErrorCode:
    """A simulated cluster: may the node asked serve this partition? (Kafka's localLogWithEpochOrThrow)

    Followers and old consumers must fetch from the leader; a consumer from v11 (KIP-392 client
    metadata) may also read from any live replica of the partition.
    """
    problem = ctx.state.replicas.leader_problem(topic, index, ctx.node_id)
    consumer = ctx.version >= FOLLOWER_FETCH_VERSION and _replica_id(ctx, request) < 0
    if problem == ErrorCode.NOT_LEADER_OR_FOLLOWER and consumer:
        state = ctx.state.replicas.state(topic, index)
        if state is not None and ctx.node_id in state.replicas:
            return ErrorCode.NONE
    return problem


def _collect(
    ctx: RequestContext, request: Any, denied: frozenset[str] | set[str] | None = _NONE_DENIED,
    hints: LeaderHints | None = None,
) -> tuple[list[dict[str, Any]], int, bool, list[tuple[str, int]]]:
    """One pass over the requested partitions: (responses, bytes, any error, partition keys).

    ``denied``: topics answered TOPIC_AUTHORIZATION_FAILED (None: all of them). They do not end a
    long poll early, as in Kafka, where refused partitions never reach the replica manager.
    ``hints``: collects the current leader of partitions answered NOT_LEADER_OR_FOLLOWER (v16+).
    """
    cluster = ctx.state.cluster
    replicating = ctx.state.replicating  # a simulated cluster: leader epochs and the HW matter
    by_id = ctx.version >= TOPIC_ID_VERSION
    remaining = max(request.max_bytes, 0)  # 0 still gets the first batch, as in Kafka
    read_committed = request.isolation_level == READ_COMMITTED
    total = 0
    error = False
    keys: list[tuple[str, int]] = []
    responses: list[dict[str, Any]] = []
    multi = ctx.state.nodes.multi
    for ft in request.topics:
        topic = cluster.by_id.get(ft.topic_id) if by_id else cluster.topics.get(ft.topic)
        partitions: list[dict[str, Any]] = []
        for fp in ft.partitions:
            entry: dict[str, Any] = {
                "partition_index": fp.partition,
                "error_code": ErrorCode.NONE,
                "high_watermark": -1,
                "last_stable_offset": -1,
                "log_start_offset": -1,
                "aborted_transactions": None,
                "preferred_read_replica": -1,
                "records": b"",
            }
            partitions.append(entry)
            if denied is None or (denied and (topic.name if topic is not None else None if by_id else ft.topic)
                                  in denied):
                entry["error_code"] = int(ErrorCode.TOPIC_AUTHORIZATION_FAILED)
                entry["aborted_transactions"] = []
                continue
            if topic is None or not 0 <= fp.partition < len(topic.partitions):
                code = ErrorCode.UNKNOWN_TOPIC_ID if (by_id and topic is None) else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                entry["error_code"] = int(code)
                entry["aborted_transactions"] = []  # Kafka's default for partitions it never looked up
                error = True
                continue
            plog = topic.partitions[fp.partition]
            epoch_error = (
                _replica_epoch_error(ctx, topic.name, fp, plog) if replicating else _epoch_error(ctx.version, fp)
            )
            if epoch_error is not None:
                entry["error_code"] = int(epoch_error)
                error = True
                continue
            if multi:
                problem = _leadership_problem(ctx, request, topic.name, fp.partition)
                if problem:
                    entry["error_code"] = int(problem)
                    if problem == ErrorCode.NOT_LEADER_OR_FOLLOWER and hints is not None:
                        entry["current_leader"] = hints.current_leader(topic.name, fp.partition)
                    error = True
                    continue
            keys.append((topic.name, fp.partition))
            lso = plog.last_stable_offset
            entry["high_watermark"] = hw = plog.high_watermark
            entry["last_stable_offset"] = lso
            entry["log_start_offset"] = plog.log_start_offset
            limit = min(fp.partition_max_bytes, remaining)
            upper = lso if read_committed else hw  # consumers read up to the HW (replication may hold it back)
            if replicating and ctx.version >= LAST_FETCHED_EPOCH_VERSION and fp.last_fetched_epoch >= 0:
                diverging = _diverging_epoch(plog, fp.last_fetched_epoch, fp.fetch_offset)
                if diverging is not None:  # KIP-320: the consumer's log diverged (an unclean election)
                    entry["diverging_epoch"] = diverging
                    error = True
                    continue
            try:
                data = plog.read(fp.fetch_offset, limit, total == 0, upper) if limit > 0 or total == 0 else b""
            except OffsetOutOfRange:
                entry.update(error_code=int(ErrorCode.OFFSET_OUT_OF_RANGE), high_watermark=-1,
                             last_stable_offset=-1, log_start_offset=-1)
                error = True
                continue
            if ctx.version < MAGIC_V2_VERSION and data:
                data = down_convert(data, 0 if ctx.version < 2 else 1)  # an old client's message format
            entry["records"] = data
            if read_committed:
                end = last_offset_after(data) if data else fp.fetch_offset
                entry["aborted_transactions"] = [
                    {"producer_id": a.producer_id, "first_offset": a.first_offset}
                    for a in plog.aborted_transactions(fp.fetch_offset, end)
                ]
            total += len(data)
            remaining -= len(data)
        resp: dict[str, Any] = {"partitions": partitions}
        if by_id:
            resp["topic_id"] = ft.topic_id
        else:
            resp["topic"] = ft.topic
        responses.append(resp)
    return responses, total, error, keys


def _epoch_error(version: int, fp: Any) -> ErrorCode | None:
    """The leader epoch checks Kafka makes before reading (epoch 0 is the only one there is)."""
    current = fp.current_leader_epoch if version >= CURRENT_EPOCH_VERSION else -1
    if current > LEADER_EPOCH:
        return ErrorCode.UNKNOWN_LEADER_EPOCH
    last_fetched = fp.last_fetched_epoch if version >= LAST_FETCHED_EPOCH_VERSION else -1
    if last_fetched > LEADER_EPOCH:
        return ErrorCode.OFFSET_OUT_OF_RANGE
    return None


def _replica_epoch_error(ctx: RequestContext, topic: str, fp: Any, plog: Any) -> ErrorCode | None:
    """Kafka's fencing of a fetch by ``current_leader_epoch`` against the partition's leader epoch."""
    current = fp.current_leader_epoch if ctx.version >= CURRENT_EPOCH_VERSION else -1
    if current < 0:
        return None
    state = ctx.state.replicas.state(topic, fp.partition)
    if state is None:
        return None
    if current < state.leader_epoch:
        return ErrorCode.FENCED_LEADER_EPOCH
    if current > state.leader_epoch:
        return ErrorCode.UNKNOWN_LEADER_EPOCH
    return None


def _diverging_epoch(plog: Any, last_fetched_epoch: int, fetch_offset: int) -> dict[str, int] | None:
    """The leader's (epoch, end offset) when the fetcher's last epoch ends earlier here (KIP-320)."""
    epoch, end = plog.end_offset_for_epoch(last_fetched_epoch)
    if epoch < last_fetched_epoch or end < fetch_offset:
        return {"epoch": epoch, "end_offset": end}
    return None


@api(1, "Fetch", 0, 18)
async def handle_fetch(ctx: RequestContext, request: Any) -> dict[str, Any]:
    if ctx.version >= SESSION_VERSION and request.session_epoch not in (0, -1):
        # An incremental fetch: only a session this broker created could answer it, and it creates none.
        code = int(ErrorCode.FETCH_SESSION_ID_NOT_FOUND)
        return {"throttle_time_ms": 0, "error_code": code, "session_id": 0, "responses": []}
    clock = ctx.state.clock
    deadline = clock.monotonic() + max(request.max_wait_ms, 0) / 1000.0
    min_bytes = max(request.min_bytes, 1)
    denied = _denied_topics(ctx, request) if ctx.state.acls.enabled else _NONE_DENIED
    hints = LeaderHints(ctx) if ctx.state.nodes.multi and ctx.version >= LEADER_HINT_VERSION else None
    while True:
        responses, total, error, keys = _collect(ctx, request, denied, hints)
        wait = deadline - clock.monotonic()
        if total >= min_bytes or error or wait <= 0 or not keys or ctx.state.closing:
            break
        if not await ctx.state.notifier.wait(keys, wait):
            responses, total, error, keys = _collect(ctx, request, denied, hints)
            break
    if hints is not None and hints.endpoints:
        return {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "session_id": 0, "responses": responses,
                "node_endpoints": hints.node_endpoints()}
    return {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "session_id": 0, "responses": responses}
