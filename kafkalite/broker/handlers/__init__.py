"""One module per API family; importing this package registers them all in ``APIS``."""

from kafkalite.broker.handlers import (  # noqa: F401  (imported to register)
    alter_configs,
    api_versions,
    create_partitions,
    create_topics,
    delete_groups,
    delete_records,
    delete_topics,
    describe_cluster,
    describe_configs,
    describe_groups,
    describe_log_dirs,
    describe_topic_partitions,
    elect_leaders,
    fetch,
    find_coordinator,
    heartbeat,
    incremental_alter_configs,
    init_producer_id,
    join_group,
    leave_group,
    list_groups,
    list_offsets,
    metadata,
    offset_commit,
    offset_delete,
    offset_fetch,
    offset_for_leader_epoch,
    produce,
    sync_group,
)
from kafkalite.broker.handlers.registry import APIS, ApiSpec, RequestContext

__all__ = ["APIS", "ApiSpec", "RequestContext"]
