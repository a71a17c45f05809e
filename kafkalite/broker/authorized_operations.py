"""The authorized-operations bitfields kafkalite reports: Kafka's answers without an authorizer.

With no authorizer configured, Kafka allows everything, so when a client asks (Metadata's
include flags, DescribeGroups v3+, DescribeCluster; DescribeTopicPartitions always) it reports
every operation the resource type supports, even for a topic or group that does not exist.
Values observed from Apache Kafka 4.4.0. When the client did not ask, the field keeps the
schema's default (-2^31).

The codec (kafka-python) types these fields as sets of operation codes in Metadata,
DescribeGroups and DescribeCluster (None for the default), and as a plain int32 in
DescribeTopicPartitions: hence both forms here.
"""

from __future__ import annotations

#: Kafka's AclOperation codes (the bit positions).
READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE = 3, 4, 5, 6, 7, 8
CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE = 9, 10, 11, 12

TOPIC = frozenset({READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS})
#: Groups gained DESCRIBE_CONFIGS and ALTER_CONFIGS with group configs (KIP-848).
GROUP = frozenset({READ, DELETE, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS})
CLUSTER = frozenset({CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE})


def bitfield(operations: frozenset[int]) -> int:
    """The int32 form (DescribeTopicPartitions)."""
    return sum(1 << op for op in operations)


def if_requested(requested: bool | None, operations: frozenset[int]) -> set[int] | None:
    """The set form, or None (the schema default) when the client did not ask."""
    return set(operations) if requested else None
