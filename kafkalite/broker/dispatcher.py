"""From one request frame to one response frame: header, version check, codec, handler.

Kafka's rules for what cannot be answered normally: an unknown API key, an unsupported
version (other than ApiVersions) or an undecodable body closes the offending connection
(``ProtocolViolation``), and so does a handler raising ``CloseConnection`` (Kafka's answer to
a failed acks=0 Produce); an ApiVersions request above our range gets a v0 answer with
UNSUPPORTED_VERSION and our supported list.
"""

from __future__ import annotations

import asyncio
import logging
from time import perf_counter, thread_time_ns
from typing import Any

from kafkalite.broker.broker import BrokerState
from kafkalite.broker.fault_responses import error_body
from kafkalite.broker.faults import Hit
from kafkalite.broker.handlers import APIS, RequestContext
from kafkalite.broker.handlers.api_versions import API_VERSIONS_KEY, api_versions_body
from kafkalite.broker.handlers.registry import CloseConnection, Session
from kafkalite.broker.observer import RequestObserver
from kafkalite.broker.quotas import FETCH, PRODUCE, REQUEST, user_of
from kafkalite.errors import ErrorCode
from kafkalite.protocol import codec
from kafkalite.protocol.header import HeaderError, parse_request_header, peek_api, response_header

log = logging.getLogger(__name__)

PRODUCE_KEY, FETCH_KEY, METADATA_KEY = 0, 1, 3
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
        #: Faults on demand: while none is set (``armed`` False) a request pays one check.
        self.faults = state.faults
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

    def _error_response(self, data: bytes, error: ErrorCode) -> memoryview:
        """The request's error response, as Kafka's getErrorResponse shapes what clients read: the
        top-level error code where the response has one, Metadata's requested topics each with it."""
        api_key, version, correlation_id = peek_api(data)
        flexible = codec.is_flexible_request(api_key, version)
        try:
            header = parse_request_header(data, flexible)
            request = codec.decode_request(api_key, version, memoryview(data)[header.body_offset :])
        except (HeaderError, codec.CodecError) as exc:
            raise ProtocolViolation(f"undecodable request body: {exc}") from exc
        head = response_header(correlation_id, flexible and api_key != API_VERSIONS_KEY)
        if api_key == METADATA_KEY:
            topics = [{"name": t.name, "error_code": int(error)} for t in request.topics or ()]
            return self.encoder.frame(api_key, version, head, {"topics": topics})
        try:
            return self.encoder.frame(api_key, version, head, {"error_code": int(error)})
        except KeyError:  # no top-level error code in this response: its empty form
            return self.encoder.frame(api_key, version, head, {})

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
                if supported and session.sasl.close_after is not None:  # answered, then closed
                    return self._error_response(data, ErrorCode.ILLEGAL_SASL_STATE)
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
        if self.faults.armed:  # faults on demand (faults.py): the only check while none is set
            faulted = await self._fault(ctx, api_key, version, request, flexible)
            if faulted is not None:
                return faulted
        quoted = self.quotas.active
        started_ns = thread_time_ns() if quoted and self.quotas.timed else None
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
            if result is not None and _has_throttle_field(api_key):  # a throttle fault's, or the quotas' again
                result["throttle_time_ms"] = max(result.get("throttle_time_ms") or 0, ctx.throttle_ms)
        if result is None:
            if ctx.unwritten:  # acks=0: nothing to correct, but a failed write closes the connection
                self.unconfirmed = Unconfirmed(api_key, version, b"", {}, ctx.unwritten)
            return None
        head = response_header(correlation_id, flexible and api_key != API_VERSIONS_KEY)
        if ctx.unwritten:
            self.unconfirmed = Unconfirmed(api_key, version, head, result, ctx.unwritten)
        return self.encoder.frame(api_key, version, head, result)

    async def _fault(self, ctx: RequestContext, api_key: int, version: int, request: Any,
                     flexible: bool) -> memoryview | None:
        """The node's latency and the first matching request fault (faults.py): its delay served,
        a drop carried out (ProtocolViolation), an error answered (the frame returned), a throttle
        left in ``ctx.throttle_ms`` for the response and the KIP-219 mute."""
        faults = self.faults
        latency = faults.latency_ms(ctx.node_id)
        if latency:
            await asyncio.sleep(latency / 1000)
        hit = faults.match(api_key, ctx.header.client_id, ctx.node_id, request)
        if hit is None:
            return None
        if hit.delay_ms:
            await asyncio.sleep(hit.delay_ms / 1000)
        if hit.action == "drop":
            raise ProtocolViolation(f"fault injected: connection dropped at {api_key=}")
        if hit.action == "throttle":
            ctx.throttle_ms = max(ctx.throttle_ms, hit.throttle_ms)
            return None
        if hit.action != "error":
            return None
        if api_key == PRODUCE_KEY and request.acks == 0:
            # Kafka answers a failed acks=0 produce by closing the connection (no response is due)
            raise ProtocolViolation(f"fault injected: acks=0 produce failed with {hit.error!r}")
        return self._fault_response(ctx, api_key, version, request, hit, flexible)

    def _fault_response(self, ctx: RequestContext, api_key: int, version: int, request: Any, hit: Hit,
                        flexible: bool) -> memoryview:
        """The injected error in the API's own error shape (fault_responses.py)."""
        assert hit.error is not None
        head = response_header(ctx.header.correlation_id, flexible and api_key != API_VERSIONS_KEY)
        body = error_body(api_key, version, request, hit.error)
        try:
            return self.encoder.frame(api_key, version, head, body)
        except KeyError:  # no field for an error in this response: its empty form
            return self.encoder.frame(api_key, version, head, {})

    def _enforce(self, ctx: RequestContext, api_key: int, version: int, request: Any,
                 result: dict[str, Any] | None, request_size: int, started_ns: int | None,
                 flexible_head: bool) -> memoryview | None:
        """Record the request against its client's quotas (ClientQuotaManager) and throttle it.

        Produce counts its request size against producer_byte_rate, Fetch its response size
        against consumer_byte_rate (a throttled fetch answers without data, its bytes taken
        back, as Kafka does), every request its handler time against request_percentage (capped
        at one window). The response carries the throttle time and the connection is muted for
        it once sent (KIP-219). Returns the fetch response when it had to be encoded here.

        Handler time is the event loop thread's CPU time across the handler: a request that
        waits (a long-poll fetch) is charged the little it computes, plus whatever other
        connections computed meanwhile, where Kafka counts its handler threads' time only.
        """
        quotas = self.quotas
        user = user_of(ctx.principal)
        client_id = ctx.header.client_id or ""
        now = quotas.now_ms()
        throttle = 0
        if started_ns is not None and (api_key != PRODUCE_KEY or request.acks != 0):  # acks=0: no handler time counted
            percent = (thread_time_ns() - started_ns) * _NANOS_TO_PERCENT
            throttle = quotas.record(REQUEST, user, client_id, percent, now, quotas.window_ms)
        frame: memoryview | None = None
        if api_key == PRODUCE_KEY:
            throttle = max(throttle, quotas.record(PRODUCE, user, client_id, request_size, now))
        elif api_key == FETCH_KEY and result is not None:
            head = response_header(ctx.header.correlation_id, flexible_head)
            frame = self.encoder.frame(api_key, version, head, result)
            size = len(frame)
            throttle = max(throttle, quotas.record(FETCH, user, client_id, size, now))
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


_THROTTLE_FIELDS: dict[int, bool] = {}


def _has_throttle_field(api_key: int) -> bool:
    """Whether the API's response has a throttle_time_ms field (in some version)."""
    known = _THROTTLE_FIELDS.get(api_key)
    if known is None:
        classes = codec.message_classes(api_key)
        known = classes is not None and "throttle_time_ms" in classes[1]._struct.fields
        _THROTTLE_FIELDS[api_key] = known
    return known
