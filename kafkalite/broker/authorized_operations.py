"""The authorized-operations bit fields of Metadata, DescribeCluster, DescribeTopicPartitions and DescribeGroups.

kafkalite has no authorizer, and neither has a Kafka broker without ``authorizer.class.name``:
Kafka then allows everything, so a client that asks (``include_*_authorized_operations``) is
told every operation the resource type supports, one bit per ``Operation`` code (Kafka's AclOperation). A client
that does not ask gets Kafka's "not requested" value, ``-2147483648`` (only bit 31 set).
Checked against Apache Kafka 4.4: topics answer 3576, the cluster 8096 and groups 3400.
"""

from __future__ import annotations

from kafkalite.broker.authorizer import Operation

NOT_REQUESTED = -2147483648


def bit_field(operations: frozenset[Operation]) -> int:
    """The int32 a response carries for ``operations``."""
    return sum(1 << op for op in operations)


TOPIC = bit_field(
    frozenset(
        {
            Operation.READ,
            Operation.WRITE,
            Operation.CREATE,
            Operation.DELETE,
            Operation.ALTER,
            Operation.DESCRIBE,
            Operation.DESCRIBE_CONFIGS,
            Operation.ALTER_CONFIGS,
        }
    )
)
CLUSTER = bit_field(
    frozenset(
        {
            Operation.CREATE,
            Operation.ALTER,
            Operation.DESCRIBE,
            Operation.CLUSTER_ACTION,
            Operation.DESCRIBE_CONFIGS,
            Operation.ALTER_CONFIGS,
            Operation.IDEMPOTENT_WRITE,
        }
    )
)


GROUP = bit_field(
    frozenset(
        {
            Operation.READ,
            Operation.DELETE,
            Operation.DESCRIBE,
            Operation.DESCRIBE_CONFIGS,
            Operation.ALTER_CONFIGS,
        }
    )
)


def topic_operations(requested: bool) -> int:
    return TOPIC if requested else NOT_REQUESTED


def cluster_operations(requested: bool) -> int:
    return CLUSTER if requested else NOT_REQUESTED


def group_operations(requested: bool) -> int:
    return GROUP if requested else NOT_REQUESTED
