"""The authorized-operations bit fields of Metadata, DescribeCluster, DescribeTopicPartitions and DescribeGroups.

A Kafka broker without ``authorizer.class.name`` allows everything, so a client that asks
(``include_*_authorized_operations``) is told every operation the resource type supports, one bit
per ``Operation`` code (Kafka's AclOperation). With an authorizer, the bits are those operations
the request's principal is allowed on that resource (``operations_for``). A client that does not
ask gets Kafka's "not requested" value, ``-2147483648`` (only bit 31 set).
Checked against Apache Kafka 4.4: topics answer 3576, the cluster 8096 and groups 3400.
"""

from __future__ import annotations

from typing import Any

from kafkalite.broker.acls import authorized
from kafkalite.broker.authorizer import CLUSTER_NAME, Operation, ResourceType

NOT_REQUESTED = -2147483648

TOPIC_OPERATIONS = frozenset(
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
CLUSTER_OPERATIONS = frozenset(
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
GROUP_OPERATIONS = frozenset(
    {Operation.READ, Operation.DELETE, Operation.DESCRIBE, Operation.DESCRIBE_CONFIGS, Operation.ALTER_CONFIGS}
)
#: What each resource type supports (Kafka's AclEntry.supportedOperations).
SUPPORTED: dict[ResourceType, frozenset[Operation]] = {
    ResourceType.TOPIC: TOPIC_OPERATIONS,
    ResourceType.CLUSTER: CLUSTER_OPERATIONS,
    ResourceType.GROUP: GROUP_OPERATIONS,
}


def operations_for(ctx: Any, resource_type: ResourceType, name: str, requested: bool) -> int:
    """The bit field for ``name`` as this request's principal sees it (all supported ones without an authorizer)."""
    if not requested:
        return NOT_REQUESTED
    supported = SUPPORTED[resource_type]
    if not ctx.state.acls.enabled:
        return bit_field(supported)
    return bit_field(frozenset(op for op in supported if authorized(ctx, op, resource_type, name)))


def bit_field(operations: frozenset[Operation]) -> int:
    """The int32 a response carries for ``operations``."""
    return sum(1 << op for op in operations)


TOPIC = bit_field(TOPIC_OPERATIONS)
CLUSTER = bit_field(CLUSTER_OPERATIONS)
GROUP = bit_field(GROUP_OPERATIONS)


def topic_operations(requested: bool) -> int:
    return TOPIC if requested else NOT_REQUESTED


def cluster_operations(requested: bool) -> int:
    return CLUSTER if requested else NOT_REQUESTED


def group_operations(requested: bool) -> int:
    return GROUP if requested else NOT_REQUESTED


def described_cluster_operations(ctx: Any, requested: bool) -> int:
    """Metadata's (v8-v10) ``cluster_authorized_operations``: 0 unless the principal may DESCRIBE the cluster.

    Kafka answers the bit field only to a principal allowed to describe the cluster (KafkaApis).
    """
    if not requested:
        return NOT_REQUESTED
    if not ctx.state.acls.enabled:
        return CLUSTER
    if not authorized(ctx, Operation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME):
        return 0
    return operations_for(ctx, ResourceType.CLUSTER, CLUSTER_NAME, True)
