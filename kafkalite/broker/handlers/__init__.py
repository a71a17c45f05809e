"""One module per API family; importing this package registers them all in ``APIS``."""

from kafkalite.broker.handlers import (  # noqa: F401  (imported to register)
    api_versions,
    create_topics,
    delete_topics,
    fetch,
    find_coordinator,
    init_producer_id,
    list_offsets,
    metadata,
    produce,
)
from kafkalite.broker.handlers.registry import APIS, ApiSpec, RequestContext

__all__ = ["APIS", "ApiSpec", "RequestContext"]
