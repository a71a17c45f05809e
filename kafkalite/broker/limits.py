"""Partition-count limits: per request (Kafka's controller) and per broker (kafkalite's own).

Kafka 4's controller refuses a CreateTopics whose topics ask for more than
``MAX_PARTITIONS_PER_BATCH`` (10,000) partitions in all, a CreatePartitions adding more than
10,000 partitions to existing topics, and any user operation that would write more than
``MAX_RECORDS_PER_USER_OP`` (10,000) metadata records (one per topic, one per partition, one
per config); all answer POLICY_VIOLATION for every topic of the request, with the messages
below (checked against Apache Kafka 4.4.0: one topic of 10,000 partitions is refused by the
records rule, 9,999 pass). kafkalite applies the same rules to the same counts.

On top, ``max.broker.partitions`` (the name KIP-578 proposed; Kafka itself has no such cap)
bounds the partitions one broker holds, so a mistaken or hostile request cannot create tens of
thousands of partition directories on the event loop. Logs that already exist are never refused
at start-up: only creation checks the limit.

Creating thousands of partitions is mostly file-system work; ``prepare_partition_dirs`` does it
in a worker thread so the event loop is not held for seconds.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING

from kafkalite.config import BROKER_CONFIGS, BrokerConfig
from kafkalite.storage.segment import segment_name

if TYPE_CHECKING:
    from kafkalite.broker.cluster import Cluster

#: Kafka's ReplicationControlManager.MAX_PARTITIONS_PER_BATCH.
MAX_PARTITIONS_PER_REQUEST = 10_000
#: Kafka's QuorumController.MAX_RECORDS_PER_USER_OP (the records of one batch).
MAX_RECORDS_PER_USER_OP = 10_000
TOO_MANY_PARTITIONS_MESSAGE = "Excessively large number of partitions per request."
TOO_MANY_RECORDS_MESSAGE = "Unable to perform excessively large batch operation."
TOO_MANY_ADDITIONAL_PARTITIONS_MESSAGE = "Excessively large number of additional partitions per request."
MAX_BROKER_PARTITIONS = "max.broker.partitions"


def broker_setting(config: BrokerConfig, name: str) -> int:
    """An integer broker setting as given at start (properties, flags), else its table default."""
    value = config.static_configs.get(name)
    if value is None:
        value = BROKER_CONFIGS[name].default
    return int(value) if value is not None else -1


def partition_count(cluster: Cluster) -> int:
    return sum(len(t.partitions) for t in cluster.topics.values())


def broker_limit_problem(config: BrokerConfig, existing: int, adding: int) -> str | None:
    """Why ``adding`` partitions to the ``existing`` ones exceeds ``max.broker.partitions``, or None."""
    limit = broker_setting(config, MAX_BROKER_PARTITIONS)
    if limit < 0 or existing + adding <= limit:
        return None
    return (
        f"Adding {adding} partition(s) would exceed this broker's limit of {limit} partitions "
        f"({MAX_BROKER_PARTITIONS}); it holds {existing}."
    )


#: Below this many new partitions a request creates them on the loop at once (no thread hop).
PREPARE_IN_THREAD_MIN = 64


async def prepare_partition_dirs(dirs: list[Path]) -> set[Path]:
    """Create the directories and empty first segments of partitions about to be created.

    The file-system work (a mkdir and a file per partition) is most of what creating a partition
    costs, so for large requests it runs in a worker thread while the loop serves others; the loop
    then opens the prepared partitions cheaply. Only directories that did not exist are touched
    (never one that may hold data), and those are returned; the caller re-validates its request
    afterwards, since others ran meanwhile.
    """
    if len(dirs) < PREPARE_IN_THREAD_MIN:
        return set()
    return await asyncio.get_running_loop().run_in_executor(None, _prepare, dirs)


def _prepare(dirs: list[Path]) -> set[Path]:
    created: set[Path] = set()
    for directory in dirs:
        try:
            directory.mkdir(parents=True)
        except FileExistsError:
            continue  # a leftover or a partition created meanwhile: the loop decides
        os.close(os.open(directory / f"{segment_name(0)}.log", os.O_WRONLY | os.O_CREAT, 0o644))
        created.add(directory)
    return created
