"""From one request frame to one response frame: header, version check, codec, handler.

Kafka's rules for what cannot be answered normally: an unknown API key, an unsupported
version (other than ApiVersions) or an undecodable body closes the offending connection
(``ProtocolViolation``), and so does a handler raising ``CloseConnection`` (Kafka's answer to
a failed acks=0 Produce); an ApiVersions request above our range gets a v0 answer with
UNSUPPORTED_VERSION and our supported list.
"""

from __future__ import annotations

import logging
from time import perf_counter, thread_time_ns
from typing import Any

from kafkalite.broker.broker import BrokerState
from kafkalite.broker.handlers import APIS, RequestContext
from kafkalite.broker.handlers.api_versions import API_VERSIONS_KEY, api_versions_body
from kafkalite.broker.handlers.registry import CloseConnection, Session
from kafkalite.broker.observer import RequestObserver
from kafkalite.broker.quotas import FETCH, PRODUCE, REQUEST, user_of
from kafkalite.errors import ErrorCode
from kafkalite.protocol import codec
from kafkalite.protocol.header import HeaderError, parse_request_header, peek_api, response_header

log = logging.getLogger(__name__)

PRODUCE_KEY, FETCH_KEY = 0, 1
#: Authentication requests are never throttled (Kafka answers them before KafkaApis).
_UNQUOTED = frozenset({17, 36})
#: Request handler time, in nanoseconds, as a percentage of one second (ClientRequestQuotaManager).
_NANOS_TO_PERCENT = 100.0 / 1e9


class ProtocolViolation(Exception):
    """The connection sent something Kafka answers by closing the connection."""


class Unconfirmed:
    """A response that claims appends not yet written, with what it takes to encode it again."""

    __slots__ = ("api_key", "body", "head", "unwritten", "version")

    def __init__(self, api_key: int, version: int, head: bytes, body: dict[str, Any], unwritten: list[Any]) -> None:
        self.api_key = api_key
        self.version = version
        self.head = head
        self.body = body
        self.unwritten = unwritten

    def lost(self) -> bool:
        """Whether any of its appends were dropped by a failed write (then it must be re-encoded)."""
        for _answer, segment, drops_seen, end in self.unwritten:
            if len(segment.drops) > drops_seen and segment.lost_since(drops_seen, end):
                return True
        return False

    def settle(self) -> None:
        """Turn the answers of dropped appends into KAFKA_STORAGE_ERROR, as Kafka answers a failed log dir."""
        for answer, segment, drops_seen, end in self.unwritten:
            if segment.lost_since(drops_seen, end):
                answer.update(
                    error_code=int(ErrorCode.KAFKA_STORAGE_ERROR),
                    base_offset=-1,
                    log_append_time_ms=-1,
                    log_start_offset=-1,
                    record_errors=[],
                    error_message=None,
                )


class Dispatcher:
    """Stateless apart from the broker state it serves; one per broker.

    ``observer`` (metrics) is told of every answered request; without one, requests are not timed.
    """

    def __init__(
        self, state: BrokerState, log_requests: bool = False, observer: RequestObserver | None = None
    ) -> None:
        self.state = state
        self.log_requests = log_requests
        self.observer = observer
        self.encoder = codec.ResponseEncoder()  # this broker's own response buffer
        #: Set by the dispatch that just returned when its response claims unwritten appends;
        #: the connection takes it at once (nothing runs between the return and the take).
        self.unconfirmed: Unconfirmed | None = None
        #: Set by the dispatch that just returned when quotas throttle its connection: the
        #: connection sends the response, then reads nothing more for this long (KIP-219).
        self.mute_ms = 0
        #: Client quotas: while none is configured (``active`` False) a request pays one check.
        self.quotas = state.quotas
        if observer is None:
            self.dispatch = self._dispatch  # type: ignore[method-assign]

    @staticmethod
    def warm_up() -> None:
        """Load the codec before the broker says it is ready, so the first request is not slow."""
        codec.warm_up()

    def reencode(self, unconfirmed: Unconfirmed) -> bytes:
        """Its response again, after its lost appends were turned into errors."""
        unconfirmed.settle()
        frame = self.encoder.frame(unconfirmed.api_key, unconfirmed.version, unconfirmed.head, unconfirmed.body)
        return bytes(frame)

    def response_retained(self) -> None:
        """The last response is still queued by the transport: do not reuse its buffer."""
        self.encoder.detach()

    async def dispatch(self, data: bytes, peer: str, session: Session | None = None) -> memoryview | None:
        """Handle one frame; return the framed response, or None when none is due (acks=0).

        The response is a view of this broker's reusable response buffer: write it before the next dispatch.
        """
        started = perf_counter()
        response = await self._dispatch(data, peer, session)
        self.observer.request_done(data, response, perf_counter() - started)  # type: ignore[union-attr]
        return response

    async def _dispatch(self, data: bytes, peer: str, session: Session | None = None) -> memoryview | None:
        try:
            api_key, version, correlation_id = peek_api(data)
        except HeaderError as exc:
            raise ProtocolViolation(str(exc)) from exc
        spec = APIS.get(api_key)
        if session is not None and session.sasl is not None:
            # A SASL listener: before (and between) authentications only the SASL exchange passes;
            # anything else closes the connection unanswered, as Kafka's SaslServerAuthenticator.
            supported = spec is not None and spec.min_version <= version <= spec.max_version
            if not session.sasl.admit(api_key, supported, int(self.state.clock.monotonic() * 1000)):
                raise ProtocolViolation(f"SASL: {session.sasl.failure}")
        if spec is None:
            raise ProtocolViolation(f"unknown API key {api_key} (version {version})")
        if not spec.min_version <= version <= spec.max_version:
            if api_key == API_VERSIONS_KEY:
                return self.encoder.frame(
                    API_VERSIONS_KEY, 0, response_header(correlation_id, flexible=False),
                    api_versions_body(ErrorCode.UNSUPPORTED_VERSION),
                )
            raise ProtocolViolation(
                f"{spec.name} v{version} is not supported (supported {spec.min_version}-{spec.max_version})"
            )
        flexible = codec.is_flexible_request(api_key, version)
        try:
            header = parse_request_header(data, flexible)
        except HeaderError as exc:
            raise ProtocolViolation(f"{spec.name} v{version}: {exc}") from exc
        try:
            request = codec.decode_request(api_key, version, memoryview(data)[header.body_offset :])
        except codec.CodecError as exc:
            raise ProtocolViolation(f"undecodable request body: {exc}") from exc
        if self.log_requests:
            log.info(
                "request %s v%d client_id=%s correlation_id=%d from %s",
                spec.name,
                version,
                header.client_id,
                correlation_id,
                peer,
            )
        ctx = RequestContext(self.state, header, peer, session=session)
        quoted = self.quotas.active
        if quoted:
            started_ns = thread_time_ns()
        try:
            result: dict[str, Any] | None = await spec.handler(ctx, request)
        except CloseConnection as exc:
            raise ProtocolViolation(f"{spec.name} v{version}: {exc}") from exc
        if quoted and api_key not in _UNQUOTED:
            frame = self._enforce(ctx, api_key, version, request, result, len(data), started_ns,
                                  flexible and api_key != API_VERSIONS_KEY)
            if frame is not None:
                return frame
        if ctx.throttle_ms > 0:
            self.mute_ms = ctx.throttle_ms
        if result is None:
            if ctx.unwritten:  # acks=0: nothing to correct, but a failed write closes the connection
                self.unconfirmed = Unconfirmed(api_key, version, b"", {}, ctx.unwritten)
            return None
        head = response_header(correlation_id, flexible and api_key != API_VERSIONS_KEY)
        if ctx.unwritten:
            self.unconfirmed = Unconfirmed(api_key, version, head, result, ctx.unwritten)
        return self.encoder.frame(api_key, version, head, result)

    def _enforce(self, ctx: RequestContext, api_key: int, version: int, request: Any,
                 result: dict[str, Any] | None, request_size: int, started_ns: int,
                 flexible_head: bool) -> memoryview | None:
        """Record the request against its client's quotas (ClientQuotaManager) and throttle it.

        Produce counts its request size against producer_byte_rate, Fetch its response size
        against consumer_byte_rate (a throttled fetch answers without data, its bytes taken
        back, as Kafka does), every request its handler time against request_percentage (capped
        at one window). The response carries the throttle time and the connection is muted for
        it once sent (KIP-219). Returns the fetch response when it had to be encoded here.
        """
        quotas = self.quotas
        user = user_of(ctx.principal)
        client_id = ctx.header.client_id or ""
        now = quotas.now_ms()
        percent = (thread_time_ns() - started_ns) * _NANOS_TO_PERCENT
        frame: memoryview | None = None
        if api_key == PRODUCE_KEY:
            throttle = quotas.record(PRODUCE, user, client_id, request_size, now)
            if request.acks != 0:
                throttle = max(throttle, quotas.record(REQUEST, user, client_id, percent, now, quotas.window_ms))
        else:
            throttle = quotas.record(REQUEST, user, client_id, percent, now, quotas.window_ms)
            if api_key == FETCH_KEY and result is not None:
                head = response_header(ctx.header.correlation_id, flexible_head)
                frame = self.encoder.frame(api_key, version, head, result)
                size = len(frame)
                fetch_throttle = quotas.record(FETCH, user, client_id, size, now)
                throttle = max(throttle, fetch_throttle)
                if throttle > 0:
                    quotas.unrecord(FETCH, user, client_id, size, now)
                    result["responses"] = []
                    result["throttle_time_ms"] = throttle
                    frame = self.encoder.frame(api_key, version, head, result)
        if throttle > 0:
            ctx.throttle_ms = max(ctx.throttle_ms, throttle)
            self.mute_ms = ctx.throttle_ms
            if result is not None and "throttle_time_ms" in result and frame is None:
                result["throttle_time_ms"] = ctx.throttle_ms
        return frame
