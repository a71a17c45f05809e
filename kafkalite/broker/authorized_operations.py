"""The authorized-operations bit fields of Metadata, DescribeCluster, DescribeTopicPartitions and DescribeGroups.

kafkalite has no authorizer, and neither has a Kafka broker without ``authorizer.class.name``:
Kafka then allows everything, so a client that asks (``include_*_authorized_operations``) is
told every operation the resource type supports, one bit per ``AclOperation`` code. A client
that does not ask gets Kafka's "not requested" value, ``-2147483648`` (only bit 31 set).
Checked against Apache Kafka 4.4: topics answer 3576, the cluster 8096 and groups 3400.
"""

from __future__ import annotations

from enum import IntEnum


class AclOperation(IntEnum):
    """Kafka's ``org.apache.kafka.common.acl.AclOperation`` codes (the bit positions)."""

    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    CLUSTER_ACTION = 9
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11
    IDEMPOTENT_WRITE = 12


NOT_REQUESTED = -2147483648


def bit_field(operations: frozenset[AclOperation]) -> int:
    """The int32 a response carries for ``operations``."""
    return sum(1 << op for op in operations)


TOPIC = bit_field(
    frozenset(
        {
            AclOperation.READ,
            AclOperation.WRITE,
            AclOperation.CREATE,
            AclOperation.DELETE,
            AclOperation.ALTER,
            AclOperation.DESCRIBE,
            AclOperation.DESCRIBE_CONFIGS,
            AclOperation.ALTER_CONFIGS,
        }
    )
)
CLUSTER = bit_field(
    frozenset(
        {
            AclOperation.CREATE,
            AclOperation.ALTER,
            AclOperation.DESCRIBE,
            AclOperation.CLUSTER_ACTION,
            AclOperation.DESCRIBE_CONFIGS,
            AclOperation.ALTER_CONFIGS,
            AclOperation.IDEMPOTENT_WRITE,
        }
    )
)


GROUP = bit_field(
    frozenset(
        {
            AclOperation.READ,
            AclOperation.DELETE,
            AclOperation.DESCRIBE,
            AclOperation.DESCRIBE_CONFIGS,
            AclOperation.ALTER_CONFIGS,
        }
    )
)


def topic_operations(requested: bool) -> int:
    return TOPIC if requested else NOT_REQUESTED


def cluster_operations(requested: bool) -> int:
    return CLUSTER if requested else NOT_REQUESTED


def group_operations(requested: bool) -> int:
    return GROUP if requested else NOT_REQUESTED
