"""One module per API family; importing this package registers them all in ``APIS``."""

from kafkalite.broker.handlers import (  # noqa: F401  (imported to register)
    add_offsets_to_txn,
    add_partitions_to_txn,
    api_versions,
    create_topics,
    delete_groups,
    delete_topics,
    describe_groups,
    describe_producers,
    describe_transactions,
    end_txn,
    fetch,
    find_coordinator,
    heartbeat,
    init_producer_id,
    join_group,
    leave_group,
    list_groups,
    list_offsets,
    metadata,
    offset_commit,
    offset_delete,
    offset_fetch,
    produce,
    sync_group,
    txn_offset_commit,
)
from kafkalite.broker.handlers.registry import APIS, ApiSpec, RequestContext

__all__ = ["APIS", "ApiSpec", "RequestContext"]
