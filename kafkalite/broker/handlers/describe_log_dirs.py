"""DescribeLogDirs (key 35), v0-v5 (v0 beyond Kafka 4): the one data directory and the size of every partition.

``topics`` null means every topic; named topics or partitions that do not exist are left
out, as Kafka does. Offset lag is always 0 (no future replicas); v4 adds the file system's
total and usable bytes, v5 whether the directory is cordoned (never).

With an authorizer, DESCRIBE on the cluster is needed: without it Kafka answers
CLUSTER_AUTHORIZATION_FAILED at the top level (v3+ carries it) with no directories.
"""

from __future__ import annotations

import shutil
from typing import Any

from kafkalite.broker.acls import authorized_cluster
from kafkalite.broker.authorizer import Operation
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.errors import ErrorCode


@api(35, "DescribeLogDirs", 0, 5)
async def handle_describe_log_dirs(ctx: RequestContext, request: Any) -> dict[str, Any]:
    state = ctx.state
    cluster = state.cluster
    if not authorized_cluster(ctx, Operation.DESCRIBE):
        return {"throttle_time_ms": 0, "error_code": int(ErrorCode.CLUSTER_AUTHORIZATION_FAILED), "results": []}
    wanted: list[tuple[str, list[int] | None]]
    if request.topics is None:
        wanted = [(name, None) for name in sorted(cluster.topics)]
    else:
        wanted = [(t.topic, list(t.partitions)) for t in request.topics]
    topics: list[dict[str, Any]] = []
    for name, indexes in wanted:
        topic = cluster.topics.get(name)
        if topic is None:
            continue
        chosen = (
            range(len(topic.partitions)) if indexes is None else [i for i in indexes if 0 <= i < len(topic.partitions)]
        )
        partitions = [
            {
                "partition_index": i,
                "partition_size": topic.partitions[i].size_bytes,
                "offset_lag": 0,
                "is_future_key": False,
            }
            for i in chosen
        ]
        if partitions:
            topics.append({"name": name, "partitions": partitions})
    data_dir = state.config.data_dir.resolve()
    try:
        usage = shutil.disk_usage(data_dir)
        total, usable = usage.total, usage.free
    except OSError:
        total, usable = -1, -1
    return {
        "throttle_time_ms": 0,
        "error_code": ErrorCode.NONE,
        "results": [
            {
                "error_code": ErrorCode.NONE,
                "log_dir": str(data_dir),
                "topics": topics,
                "total_bytes": total,
                "usable_bytes": usable,
                "is_cordoned": False,
            }
        ],
    }
