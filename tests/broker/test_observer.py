"""The observer seam: the dispatcher reports requests to any RequestObserver; metrics is one, without the server."""

from __future__ import annotations

import ast
import asyncio
import subprocess
import sys
from pathlib import Path

import kafkalite.metrics
from kafkalite.broker.broker import BrokerState
from kafkalite.broker.dispatcher import Dispatcher
from kafkalite.broker.observer import RequestObserver
from kafkalite.conformance.wire import build_request
from kafkalite.metrics import BrokerMetrics


def _frame(name: str, version: int, body: dict[str, object], correlation_id: int = 7) -> bytes:
    request = build_request(name, version, body)
    request.with_header(correlation_id=correlation_id, client_id="observer-test")
    return bytes(request.encode(header=True, framed=False))


class Recorder:
    """A minimal observer: what a test, a tracer or a log could plug in instead of metrics."""

    def __init__(self) -> None:
        self.requests: list[tuple[bytes, int | None, float]] = []
        self.open = 0

    def request_done(self, frame: bytes, response: memoryview | None, seconds: float) -> None:
        self.requests.append((frame[:4], None if response is None else len(response), seconds))

    def connection_opened(self) -> None:
        self.open += 1

    def connection_closed(self) -> None:
        self.open -= 1


def test_any_observer_sees_each_answered_request(state: BrokerState) -> None:
    recorder = Recorder()
    observer: RequestObserver = recorder  # the protocol is all the dispatcher asks for
    dispatcher = Dispatcher(state, observer=observer)
    frame = _frame("ApiVersions", 3, {"client_software_name": "t", "client_software_version": "1"})
    response = asyncio.run(dispatcher.dispatch(frame, "peer"))
    assert response is not None
    assert recorder.requests == [(frame[:4], len(response), recorder.requests[0][2])]
    assert recorder.requests[0][2] >= 0


def test_without_an_observer_requests_are_not_timed(state: BrokerState) -> None:
    dispatcher = Dispatcher(state)
    assert dispatcher.dispatch == dispatcher._dispatch  # no per-request timing when nobody listens


def test_metrics_observe_requests_and_connections_from_broker_state_alone(state: BrokerState) -> None:
    metrics = BrokerMetrics(state)
    dispatcher = Dispatcher(state, observer=metrics)
    metrics.connection_opened()
    metrics.connection_opened()
    metrics.connection_closed()
    frame = _frame("Metadata", 4, {"topics": None, "allow_auto_topic_creation": False})
    assert asyncio.run(dispatcher.dispatch(frame, "peer")) is not None
    text = metrics.render().decode()
    assert 'kafkalite_requests_total{api="Metadata",api_key="3",version="4"} 1.0' in text
    assert "kafkalite_connections 1.0" in text
    assert "kafkalite_connections_accepted_total 2.0" in text
    assert 'kafkalite_log_end_offset{partition="2",topic="a"} 0.0' in text


def test_metrics_import_nothing_of_the_server() -> None:
    """No import cycle: the server imports metrics (when asked for), metrics never the server, not even for types."""
    tree = ast.parse(Path(kafkalite.metrics.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not {name for name in imported if name.startswith("kafkalite.server")}
    code = (
        "import sys, kafkalite.metrics; "
        "bad = sorted(m for m in sys.modules if m.startswith('kafkalite.server')); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
