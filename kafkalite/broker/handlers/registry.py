"""The table of supported API keys and versions; the single source for ApiVersions.

Each handler module registers itself with ``@api(key, name, min, max)``, as franz-go's kfake
does, so adding an API means adding one module.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kafkalite.broker.broker import BrokerState
from kafkalite.protocol.header import RequestHeader

if TYPE_CHECKING:
    from kafkalite.security.sasl_state import SaslConnection


class CloseConnection(Exception):
    """Raised by a handler when Kafka closes the connection instead of answering.

    A failed acks=0 produce is the case: no answer is due, so closing is the only way the client
    learns to refresh its metadata. The dispatcher turns it into a ProtocolViolation.
    """


@dataclass
class Session:
    """What a connection knows about itself: its listener and the principal it authenticated as."""

    listener: str
    advertised: tuple[str, int]
    principal: str = "User:ANONYMOUS"
    #: On a SASL listener: the connection's authentication state (security/sasl_state.py); the
    #: dispatcher admits requests through it and the SASL handlers drive it.
    sasl: SaslConnection | None = None
    #: The broker identity whose listener the connection came in on (a simulated cluster has
    #: several); None: the configured ``node.id``.
    node_id: int | None = None


@dataclass
class RequestContext:
    """What a handler knows about the request besides its body."""

    state: BrokerState
    header: RequestHeader
    peer: str
    #: Produce answers given as written whose bytes still wait for the loop turn's write:
    #: (partition answer, segment, its drop count before the append, end of the bytes in it).
    #: The connection confirms them when it sends the response (dispatcher.Unconfirmed).
    unwritten: list[tuple[dict[str, Any], Any, int, int]] | None = None
    #: The connection's listener and principal (server/listeners.py, server/tls.py); None for the
    #: default listener, whose address is the config's advertised one.
    session: Session | None = None
    #: Set by quota enforcement: the response carries this throttle time and the connection is
    #: muted for it once the response is sent (KIP-219), so a throttled client cannot keep sending.
    throttle_ms: int = 0

    @property
    def advertised(self) -> tuple[str, int]:
        """The address to give this client: the advertised address of the listener it came in on."""
        return self.session.advertised if self.session is not None else self.state.config.advertised

    @property
    def node_id(self) -> int:
        """The node this request was sent to: leadership and coordinator checks are made for it."""
        if self.session is not None and self.session.node_id is not None:
            return self.session.node_id
        return self.state.config.node_id

    def address_of(self, node_id: int) -> tuple[str, int]:
        """Node ``node_id``'s address on the listener this request came in on (a simulated cluster)."""
        if node_id == self.node_id:
            return self.advertised
        node = self.state.nodes.get(node_id)
        if self.session is not None:
            endpoint = node.endpoints.get(self.session.listener)
            if endpoint is not None:
                return endpoint
        return node.host, node.port

    @property
    def principal(self) -> str:
        return self.session.principal if self.session is not None else "User:ANONYMOUS"

    @property
    def version(self) -> int:
        return self.header.api_version


Handler = Callable[[RequestContext, Any], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class ApiSpec:
    key: int
    name: str
    min_version: int
    max_version: int
    handler: Handler
    #: Listed in ApiVersions. Kafka answers a few APIs it does not advertise (client telemetry
    #: without a receiver plugin), and clients only send what is advertised.
    advertised: bool = True


APIS: dict[int, ApiSpec] = {}


def api(
    key: int, name: str, min_version: int, max_version: int, advertised: bool = True
) -> Callable[[Handler], Handler]:
    """Register ``handler`` for ``key`` over [min_version, max_version]."""

    def register(handler: Handler) -> Handler:
        if key in APIS:
            raise RuntimeError(f"API key {key} registered twice")
        APIS[key] = ApiSpec(key, name, min_version, max_version, handler, advertised)
        return handler

    return register
