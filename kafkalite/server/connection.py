"""One client connection: frames in, responses out, strictly in request order.

Like Kafka, a connection has one request in processing at a time, so responses leave in
correlation order; a parked long-poll fetch delays only its own connection. Reading pauses
when too many frames are queued or when the transport's send buffer is full, so a client that
does not read its responses cannot make the broker buffer without bound.

Clients pipeline: one read often brings dozens of small requests (librdkafka sends a Produce
per partition as each linger expires). Their responses are gathered and sent with one write
when the connection's task next waits for anything, instead of one send per response; the
send syscall was the largest single cost with many producers and partitions.

Appends are written at the end of the loop turn (storage/write_behind.py), and always before
a response leaves (``_send``). A Produce answer that claims appends still unwritten comes with
an ``Unconfirmed`` from the dispatcher; after the write, ``_send`` asks whether any of those
bytes were dropped (a full disk) and, only then, encodes that response again with
KAFKA_STORAGE_ERROR for those partitions. The common path costs one check per response.

Across connections, the bytes of received and unhandled requests may be capped
(``queued.max.request.bytes``, see memory_pool.py): a connection that would start a new request
while the pool is full stops reading until memory comes free, as Kafka mutes it. A connection
silent for ``connections.max.idle.ms`` with nothing in processing is closed by the server's sweep.

On a SASL listener the session carries the connection's SASL state (security/sasl_state.py): frames
are capped at ``sasl.server.max.receive.size`` until it authenticates, bare tokens after a v0
SaslHandshake go to the mechanism instead of the dispatcher, and a failed login's answer leaves after
``connection.failed.authentication.delay.ms``, then the connection closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections import deque
from collections.abc import Callable
from time import monotonic
from typing import cast

from kafkalite.broker.dispatcher import Dispatcher, ProtocolViolation, Unconfirmed
from kafkalite.broker.handlers.registry import Session
from kafkalite.protocol.framing import FrameDecoder, FrameError
from kafkalite.security.sasl import SaslAuthenticationFailed
from kafkalite.security.sasl_state import SASL_AUTHENTICATE, SASL_HANDSHAKE, SaslConnection
from kafkalite.server.memory_pool import RequestMemoryPool

log = logging.getLogger(__name__)

MAX_QUEUED_FRAMES = 16
#: Responses gathered for one write stop at this size; past it, sending beats copying.
COALESCE_BYTES = 256 * 1024
#: After a failed login's answer, how long the client may take to close before the broker does.
FAILED_LOGIN_LINGER_SECONDS = 0.5


class BrokerConnection(asyncio.Protocol):
    def __init__(
        self,
        dispatcher: Dispatcher,
        max_frame_size: int,
        on_close: Callable[[BrokerConnection], None],
        memory_pool: RequestMemoryPool | None = None,
        session: Session | None = None,
        on_open: Callable[[BrokerConnection], None] | None = None,
        principal_of: Callable[[object], str] | None = None,
    ) -> None:
        #: Listener and principal, passed to every request's context (None: the default listener).
        self.session = session
        self._on_open = on_open  # TLS: called once the handshake is done (a failed one never opens)
        self._principal_of = principal_of
        self._dispatcher = dispatcher
        self._write_behind = dispatcher.state.write_behind
        self._decoder = FrameDecoder(max_frame_size)
        self._max_frame_size = max_frame_size
        self._sasl = session.sasl if session is not None else None
        if self._sasl is not None:  # unauthenticated: Kafka's sasl.server.max.receive.size
            self._decoder.max_frame_size = min(max_frame_size, self._sasl.config.max_receive_size)
        self._on_close = on_close
        self._queue: deque[bytes] = deque()
        self._wakeup = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._lost = asyncio.Event()  # the socket is gone (connection_lost)
        self._transport: asyncio.Transport | None = None
        self._reading_paused = False  # too many frames queued
        self._pool = memory_pool
        self._held = 0  # bytes this connection took from the pool (queued frames and its grant)
        self._granted = 0  # declared size of the frame being received, taken from the pool
        self._muted = False  # waiting for the pool to have room
        self._transport_paused = False
        self.last_active = 0.0  # monotonic time of the last bytes received or sent (idle sweep)
        self._closing = False
        self._in_flight = False
        self._unsent = bytearray()
        # Gathered responses that claim unwritten appends: (start in _unsent, length, what to re-encode).
        self._unconfirmed: list[tuple[int, int, Unconfirmed]] | None = None
        self._send_scheduled = False
        self.peer = "?"
        self.task: asyncio.Task[None] | None = None

    # ---- asyncio.Protocol callbacks -------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses but offer the same methods.
        self._transport = cast(asyncio.Transport, transport)
        self.last_active = monotonic()
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        if self._on_open is not None:
            self._on_open(self)
        if self._principal_of is not None and self.session is not None:
            try:
                self.session.principal = self._principal_of(transport.get_extra_info("ssl_object"))
            except ValueError as exc:  # no ssl.principal.mapping.rules rule matches: refuse, as Kafka does
                log.warning("closing connection from %s: %s", self.peer, exc)
                self._closing = True
                transport.close()
                return
        if self._dispatcher.state.closing:  # accepted just as the broker began shutting down
            self._closing = True
            transport.close()
            return
        self.task = asyncio.get_running_loop().create_task(self._serve())

    def data_received(self, data: bytes) -> None:
        if self._closing:  # nothing more will be served (a failed login, shutdown, idle close)
            return
        self.last_active = monotonic()
        try:
            frames = self._decoder.feed(data)
        except FrameError as exc:
            self.abort(f"bad frame: {exc}")
            return
        if self._pool is not None:
            self._account(frames)
        if frames:
            self._queue.extend(frames)
            self._wakeup.set()
            if len(self._queue) >= MAX_QUEUED_FRAMES and not self._reading_paused:
                self._reading_paused = True
                self._update_reading()

    def _account(self, frames: list[bytes]) -> None:
        """Take received frames from the pool; grant the next one or mute (see memory_pool.py)."""
        pool = self._pool
        assert pool is not None
        taken = sum(len(f) for f in frames)
        if frames and self._granted:  # the granted frame is complete: it is now one of ``frames``
            taken -= self._granted
            self._granted = 0
        pool.take(taken)
        self._held += taken
        pending = self._decoder.pending_frame_size
        if pending and not self._granted and not pool.exhausted:
            self._granted = pending
            pool.take(pending)
            self._held += pending
        # A connection holding nothing may read on (one request at a time, so it is still served);
        # one with requests waiting stops reading while the pool is full.
        if pool.exhausted and not self._granted and self._held and not self._muted and not self._closing:
            self._muted = True
            pool.wait(self)
            self._update_reading()

    def memory_available(self) -> None:
        """The pool has room again: read (and ask for a grant) again."""
        self._muted = False
        self._update_reading()

    def _frame_done(self, size: int) -> None:
        pool = self._pool
        if pool is not None and self._held >= size:
            self._held -= size
            pool.release(size)
            if self._muted and not self._held:  # it holds nothing now: its next request may come in
                pool.forget(self)
                self.memory_available()

    def _update_reading(self) -> None:
        """Pause the socket while the queue is full or the pool is; resume when neither is."""
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        pause = self._reading_paused or self._muted
        if pause != self._transport_paused:
            self._transport_paused = pause
            if pause:
                transport.pause_reading()
            else:
                transport.resume_reading()

    @property
    def idle(self) -> bool:
        """Nothing received but not answered: the idle sweep may close it."""
        return not self._in_flight and not self._queue and not self._closing

    def close_idle(self) -> None:
        """Closed by the server after ``connections.max.idle.ms`` of silence (as Kafka does)."""
        log.debug("closing connection from %s: idle", self.peer)
        self._closing = True
        self._wakeup.set()
        if self._transport is not None:
            self._transport.close()

    def kill(self) -> None:
        """Cut the connection at once, unsent answers dropped (a simulated node killed uncleanly)."""
        self._closing = True
        self._queue.clear()
        self._wakeup.set()
        if self._transport is not None:
            self._transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._pool is not None:
            self._pool.forget(self)
            held, self._held, self._granted = self._held, 0, 0
            self._pool.release(held)
        self._closing = True
        self._wakeup.set()
        self._writable.set()
        self._lost.set()
        self._on_close(self)
        if self.task is not None and not self.task.done() and self._in_flight:
            # Nobody will read the answer (a parked fetch or join): stop working on it.
            self.task.cancel()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    # ---- processing ----------------------------------------------------------------------------

    async def _serve(self) -> None:
        queue = self._queue
        dispatcher = self._dispatcher
        dispatch = dispatcher.dispatch
        while not self._closing:
            if not queue:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            data = queue.popleft()
            if self._reading_paused and len(queue) < MAX_QUEUED_FRAMES // 2:
                self._reading_paused = False
                self._update_reading()
            sasl = self._sasl
            if sasl is not None and sasl.raw_tokens:
                self._frame_done(len(data))
                if not self._raw_sasl_token(sasl, data):
                    await self._close_failed_login(sasl, None)
                    return
                continue
            self._in_flight = True
            try:
                response = await dispatch(data, self.peer, self.session)
            except asyncio.CancelledError:
                return
            except ProtocolViolation as exc:
                self.abort(str(exc))
                return
            except Exception:
                log.exception("internal error while handling a request from %s; closing it", self.peer)
                self.abort("internal error")
                return
            finally:
                self._in_flight = False
                self._frame_done(len(data))
            if sasl is not None and (sasl.close_after is not None or sasl.principal is not None):
                if sasl.close_after is not None:  # a failed login: its answer, late, then close
                    answer = None if response is None else bytes(response)
                    # Only a SASL answer waits for the client to hang up (see _close_failed_login); a
                    # request's error response during authentication is followed by the close at once.
                    linger = int.from_bytes(data[:2], "big") in (SASL_HANDSHAKE, SASL_AUTHENTICATE)
                    await self._close_failed_login(sasl, answer, linger)
                    return
                self._authenticated(sasl)
            unconfirmed = dispatcher.unconfirmed
            if unconfirmed is not None:
                dispatcher.unconfirmed = None
            if response is None and unconfirmed is not None:
                asyncio.get_running_loop().call_soon(self._check_unanswered, unconfirmed)
            if response is None or self._transport is None or self._transport.is_closing():
                if dispatcher.mute_ms:  # acks=0 produce over its quota: muted all the same
                    await self._mute(dispatcher)
                continue
            if queue and len(self._unsent) + len(response) <= COALESCE_BYTES:
                # More requests are already here and will most likely be answered without
                # waiting: gather this response (a copy, as the codec reuses its buffer) and
                # send everything when the task next waits, whatever it waits for.
                if unconfirmed is not None:
                    if self._unconfirmed is None:
                        self._unconfirmed = []
                    self._unconfirmed.append((len(self._unsent), len(response), unconfirmed))
                self._unsent += response
                if not self._send_scheduled:
                    self._send_scheduled = True
                    asyncio.get_running_loop().call_soon(self._send_unsent)
            else:
                self._send(response, unconfirmed)
            if dispatcher.mute_ms:
                await self._mute(dispatcher)
            if not self._writable.is_set():
                await self._writable.wait()

    def _raw_sasl_token(self, sasl: SaslConnection, token: bytes) -> bool:
        """A bare token after a v0 SaslHandshake: answer the mechanism's challenge, size-prefixed.

        False when the login is refused (Kafka answers nothing in this flow and closes).
        """
        now_ms = int(self._dispatcher.state.clock.monotonic() * 1000)
        try:
            challenge = sasl.raw_token(token, now_ms)
        except SaslAuthenticationFailed:
            return False
        self._authenticated(sasl)
        self._send(memoryview(struct.pack(">i", len(challenge)) + challenge))
        return True

    def _authenticated(self, sasl: SaslConnection) -> None:
        """Once a login completes: its principal for ACLs, and frames up to socket.request.max.bytes."""
        if sasl.principal is not None and self.session is not None:
            self.session.principal = sasl.principal
            self._decoder.max_frame_size = self._max_frame_size

    async def _close_failed_login(self, sasl: SaslConnection, response: bytes | None, linger: bool = True) -> None:
        """Kafka's failed authentication: wait connection.failed.authentication.delay.ms, answer, close.

        The delay slows down password guessing; the connection reads nothing more meanwhile.
        """
        log.warning("closing connection from %s: SASL authentication failed: %s", self.peer, sasl.failure)
        self._closing = True  # from here on received bytes are dropped (data_received); the client's
        self._queue.clear()  # hang-up is still seen, which ends the linger below at once
        if sasl.close_after:
            await asyncio.sleep(sasl.close_after / 1000)
        transport = self._transport
        if transport is not None and not transport.is_closing():
            self._send(None if response is None else memoryview(response))
            if response is not None and linger:
                # Give the client a moment to read the answer and hang up itself: kafka-python 3
                # drops data that arrives together with the end of the stream, and would report a
                # bare disconnection instead of Kafka's message. Bounded, so a silent client costs little.
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._lost.wait(), FAILED_LOGIN_LINGER_SECONDS)
            transport.close()

    async def _mute(self, dispatcher: Dispatcher) -> None:
        """KIP-219: the throttled response is out; take no more requests for the throttle time.

        Reading stops too once MAX_QUEUED_FRAMES are queued, so the client is held back at the socket.
        """
        mute, dispatcher.mute_ms = dispatcher.mute_ms, 0
        if self._unsent:
            self._send(None)
        await asyncio.sleep(mute / 1000)  # the mute itself: a timer, as Kafka's throttled channel

    def _send_unsent(self) -> None:
        self._send_scheduled = False
        self._send(None)

    def _send(self, response: memoryview | None, unconfirmed: Unconfirmed | None = None) -> None:
        """Write gathered responses, then ``response`` (a view of the codec's buffer)."""
        transport = self._transport
        if transport is None or transport.is_closing():
            self._unsent = bytearray()
            self._unconfirmed = None
            return
        self.last_active = monotonic()
        # Whatever a response says was appended must be in the log first. This never fails: a
        # segment whose write fails drops its appends, and the responses are corrected below.
        self._write_behind.write_all()
        if self._unconfirmed is not None or unconfirmed is not None:
            response = self._confirm(response, unconfirmed)
        if self._unsent:
            if response is not None:
                self._unsent += response
            # The transport may keep a view of what it could not send at once, so the
            # gathered bytes are handed over and a new buffer started.
            transport.write(self._unsent)
            self._unsent = bytearray()
        elif response is not None:
            # The transport sends what it can at once; if it had to queue the rest, it may hold
            # the view itself (Python 3.12+), so the codec must not reuse that buffer.
            transport.write(response)
            if transport.get_write_buffer_size():
                self._dispatcher.response_retained()

    def _confirm(self, response: memoryview | None, unconfirmed: Unconfirmed | None) -> memoryview | None:
        """Re-encode the responses whose appends a failed write dropped; None if it moved ``response``."""
        gathered = self._unconfirmed or []
        self._unconfirmed = None
        if not any(entry.lost() for _, _, entry in gathered) and (unconfirmed is None or not unconfirmed.lost()):
            return response
        if response is not None:  # everything into the gathered buffer, where it can be patched
            if unconfirmed is not None:
                gathered.append((len(self._unsent), len(response), unconfirmed))
            self._unsent += response
        for start, length, entry in reversed(gathered):
            if entry.lost():
                self._unsent[start : start + length] = self._dispatcher.reencode(entry)
        return None

    def _check_unanswered(self, unconfirmed: Unconfirmed) -> None:
        """An acks=0 Produce whose appends a failed write dropped closes the connection, as in Kafka.

        Called after the end of the loop turn that wrote them; the client learns only this way.
        """
        self._write_behind.write_all()
        if unconfirmed.lost() and not self._closing:
            self.abort("acks=0 produce could not be written to the log")

    def abort(self, reason: str) -> None:
        """Close this connection only, saying why in the log."""
        log.warning("closing connection from %s: %s", self.peer, reason)
        self._closing = True
        self._queue.clear()
        self._wakeup.set()
        if self._transport is not None:
            self._send(None)  # answers to the requests before the bad one still go out
            self._transport.close()

    async def shutdown(self) -> None:
        """Finish the request in processing, then close (graceful broker shutdown)."""
        self._closing = True
        self._wakeup.set()
        if self.task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self.task), timeout=5)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self.task.cancel()
        if self._transport is not None:
            self._send(None)
            self._transport.close()
