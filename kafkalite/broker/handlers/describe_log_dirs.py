"""DescribeLogDirs (key 35), v0-v5 (v0 beyond Kafka 4): the log dirs of the node asked and its replicas' sizes.

Each node answers for itself (``ctx.node_id``; ``broker/log_dirs.py``): every log dir it has,
with the replicas it hosts there (size on disk; offset lag: how far the copy's log end is behind
the partition's high watermark, 0 on the leader), so a client asking every broker, as admin
clients do, sees each replica once per node that holds it. ``topics`` null means every topic;
named topics or partitions that do not exist or are not on this node are left out, as Kafka
does. v4 adds the file system's total and usable bytes of each dir, v5 whether the directory is
cordoned (never). A dir taken offline after an I/O error answers KAFKA_STORAGE_ERROR, empty.

With an authorizer, DESCRIBE on the cluster is needed: without it Kafka answers
CLUSTER_AUTHORIZATION_FAILED at the top level (v3+ carries it) with no directories.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from kafkalite.broker.acls import authorized_cluster
from kafkalite.broker.authorizer import Operation
from kafkalite.broker.handlers.registry import RequestContext, api
from kafkalite.broker.log_dirs import hosted, log_dir_of, node_log_dirs, offline_dirs, offset_lag
from kafkalite.errors import ErrorCode


@api(35, "DescribeLogDirs", 0, 5)
async def handle_describe_log_dirs(ctx: RequestContext, request: Any) -> dict[str, Any]:
    state = ctx.state
    if not authorized_cluster(ctx, Operation.DESCRIBE):
        return {"throttle_time_ms": 0, "error_code": int(ErrorCode.CLUSTER_AUTHORIZATION_FAILED), "results": []}
    wanted: list[tuple[str, list[int] | None]]
    if request.topics is None:
        wanted = [(name, None) for name in sorted(state.cluster.topics)]
    else:
        wanted = [(t.topic, list(t.partitions)) for t in request.topics]
    node = ctx.node_id
    dirs = node_log_dirs(state, node)
    by_dir: dict[Path, dict[str, list[dict[str, Any]]]] = {d: {} for d in dirs}
    for name, index, plog in hosted(state, node, wanted):
        entry: dict[str, Any] = {
            "partition_index": index,
            "partition_size": plog.size_bytes,
            "offset_lag": offset_lag(state, name, index, plog),
            "is_future_key": False,
        }
        by_dir.setdefault(log_dir_of(state, node, plog), {}).setdefault(name, []).append(entry)
    offline = offline_dirs(state, node)
    results = []
    for directory, topics in by_dir.items():
        if directory in offline:  # Kafka: the dir with KAFKA_STORAGE_ERROR and nothing in it
            results.append({"error_code": int(ErrorCode.KAFKA_STORAGE_ERROR), "log_dir": str(directory),
                            "topics": [], "total_bytes": -1, "usable_bytes": -1, "is_cordoned": False})
            continue
        try:
            usage = shutil.disk_usage(directory)
            total, usable = usage.total, usage.free
        except OSError:
            total, usable = -1, -1
        results.append(
            {
                "error_code": ErrorCode.NONE,
                "log_dir": str(directory),
                "topics": [
                    {"name": name, "partitions": sorted(topics[name], key=_index)} for name in sorted(topics)
                ],
                "total_bytes": total,
                "usable_bytes": usable,
                "is_cordoned": False,
            }
        )
    return {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "results": results}


def _index(partition: dict[str, Any]) -> int:
    return int(partition["partition_index"])
