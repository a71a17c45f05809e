"""One module per API family; importing this package registers them all in ``APIS``."""

from kafkalite.broker.handlers import (  # noqa: F401  (imported to register)
    api_versions,
    create_topics,
    delete_groups,
    delete_topics,
    describe_groups,
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
)
from kafkalite.broker.handlers.registry import APIS, ApiSpec, RequestContext

__all__ = ["APIS", "ApiSpec", "RequestContext"]
