"""The seam through which something outside the request path watches it (Prometheus metrics).

The dispatcher reports every answered request and the server every connection opened and
closed; an observer keeps its own tallies from that and reads the rest from ``BrokerState``
when asked. Neither side imports the other: ``kafkalite.metrics`` implements this protocol and
knows nothing of the server, and the server knows only this protocol's three calls. With no
observer (metrics off) the dispatcher skips the timing altogether.
"""

from __future__ import annotations

from typing import Protocol


class RequestObserver(Protocol):
    """Told about requests and connections as they happen, on the broker's event loop.

    Calls must be cheap (``request_done`` runs once per request) and must not change broker state.
    """

    def request_done(self, frame: bytes, response: memoryview | None, seconds: float) -> None:
        """One request answered (``response`` None: none was due, as for acks=0).

        ``frame`` is the request without its size prefix; ``response`` is the whole framed response,
        valid only during the call; ``seconds`` runs from the dispatcher receiving the frame to its answer.
        """

    def connection_opened(self) -> None:
        """A client connection was accepted."""

    def connection_closed(self) -> None:
        """A connection is gone: its socket closed and its request in processing finished."""
