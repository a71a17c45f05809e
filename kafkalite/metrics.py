"""Prometheus metrics of one broker and the small HTTP endpoint that serves them.

Owns: per-(API key, version) request tallies and a latency histogram, fed by the dispatcher
through ``request_done`` (one dict lookup, three integer adds and one histogram observe per
request), connection counts fed by the server, and a collector that reads partition offsets
and consumer group lag from the broker state at scrape time. ``BrokerMetrics`` is a
``RequestObserver`` (kafkalite.broker.observer): it knows the broker state, not the server, so
the server imports this module and not the other way round. The endpoint runs on the
broker's own event loop, so scraping reads broker state from the thread that owns it;
nothing in this module changes broker state.

Turned on with ``kafkalite serve --metrics-port N`` (``KAFKALITE_METRICS_PORT``); when off,
this module is not even imported. The same port answers the fault control routes (control.py:
/faults, /nodes, /coordinators, /storage), which do change broker state, on request only.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from kafkalite.http_endpoint import HttpEndpoint

if TYPE_CHECKING:
    from kafkalite.broker.broker import BrokerState
    from kafkalite.broker.telemetry_metrics import TelemetryMetrics

log = logging.getLogger(__name__)

_KEY_VERSION = struct.Struct(">hh")
# Requests to a broker on the same host take from tens of microseconds to a long-poll's wait.
LATENCY_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)


class _ApiSlot:
    """Running totals for one API key and version."""

    __slots__ = ("api", "api_key", "bytes_in", "bytes_out", "count", "observe", "version")

    def __init__(self, api: str, api_key: int, version: int, observe: Any) -> None:
        self.api = api
        self.api_key = api_key
        self.version = version
        self.count = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.observe = observe


class BrokerMetrics:
    """The metrics of one broker, in a registry of their own (brokers can share a process).

    A ``RequestObserver``: the dispatcher calls ``request_done``, the server ``connection_opened``
    and ``connection_closed``.
    """

    def __init__(self, state: BrokerState) -> None:
        self.state = state
        self.connections_open = 0
        self.connections_accepted = 0
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "kafkalite_request_duration_seconds",
            "Time from a request frame's arrival at the dispatcher to its response (long polls included).",
            ["api", "api_key", "version"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._slots: dict[bytes, _ApiSlot] = {}
        self.registry.register(_BrokerCollector(self))
        self._endpoint = HttpEndpoint(self._answer_http, "metrics", "/metrics")

    def add_process_metrics(self) -> None:
        """CPU, memory, fds and GC of this process (for ``kafkalite serve``, where the process is the broker)."""
        from prometheus_client import GCCollector, PlatformCollector, ProcessCollector

        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)

    # ---- the hot path -------------------------------------------------------------------------------

    def request_done(self, frame: bytes, response: memoryview | None, seconds: float) -> None:
        """Account one answered request (``frame`` is the request without its size prefix)."""
        slot = self._slots.get(frame[:4])
        if slot is None:
            slot = self._new_slot(frame[:4])
        slot.count += 1
        slot.bytes_in += len(frame) + 4
        if response is not None:
            slot.bytes_out += len(response)
        slot.observe(seconds)

    def connection_opened(self) -> None:
        self.connections_open += 1
        self.connections_accepted += 1

    def connection_closed(self) -> None:
        self.connections_open -= 1

    def _new_slot(self, key_version: bytes) -> _ApiSlot:
        from kafkalite.broker.handlers import APIS

        api_key, version = _KEY_VERSION.unpack(key_version)
        spec = APIS.get(api_key)
        name = spec.name if spec is not None else str(api_key)
        child = self.latency.labels(name, str(api_key), str(version))
        slot = self._slots[key_version] = _ApiSlot(name, api_key, version, child.observe)
        return slot

    def slots(self) -> list[_ApiSlot]:
        return list(self._slots.values())

    # ---- the endpoint ---------------------------------------------------------------------------------

    def render(self) -> bytes:
        return generate_latest(self.registry)

    async def serve(self, host: str, port: int) -> int:
        """Listen for scrapes on the running loop; returns the bound port (``port`` 0 picks one)."""
        return await self._endpoint.serve(host, port)

    async def close(self) -> None:
        await self._endpoint.close()

    async def _answer_http(self, method: str, target: str, head: bytes, reader: asyncio.StreamReader,
                           writer: asyncio.StreamWriter) -> None:
        path = target.split("?", 1)[0]
        from kafkalite.control import ControlAPI, is_control_path, respond

        if is_control_path(path):  # the fault control endpoint shares this port (control.py)
            await respond(ControlAPI(self.state.faults), method, target, head, reader, writer)
            return
        if method not in ("GET", "HEAD"):
            status, ctype, body = "405 Method Not Allowed", "text/plain", b"method not allowed\n"
        elif path in ("/metrics", "/"):
            status, ctype, body = "200 OK", CONTENT_TYPE_LATEST, self.render()
        else:
            status, ctype, body = "404 Not Found", "text/plain", b"not found: try /metrics\n"
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n".encode("latin-1")
        )
        if method != "HEAD":
            writer.write(body)
        await writer.drain()


class _BrokerCollector(Collector):
    """Everything that can be read off the broker when Prometheus asks, rather than counted per request."""

    def __init__(self, metrics: BrokerMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        metrics = self.metrics
        requests = CounterMetricFamily(
            "kafkalite_requests", "Requests answered, per API and version.", labels=["api", "api_key", "version"]
        )
        bytes_in = CounterMetricFamily(
            "kafkalite_bytes_in", "Request bytes received (size prefix included), per API.", labels=["api", "api_key"]
        )
        bytes_out = CounterMetricFamily(
            "kafkalite_bytes_out", "Response bytes sent (size prefix included), per API.", labels=["api", "api_key"]
        )
        per_api: dict[tuple[str, int], list[int]] = {}
        for slot in metrics.slots():
            labels = [slot.api, str(slot.api_key), str(slot.version)]
            requests.add_metric(labels, slot.count)
            totals = per_api.setdefault((slot.api, slot.api_key), [0, 0])
            totals[0] += slot.bytes_in
            totals[1] += slot.bytes_out
        for (api, api_key), (received, sent) in sorted(per_api.items()):
            bytes_in.add_metric([api, str(api_key)], received)
            bytes_out.add_metric([api, str(api_key)], sent)
        yield requests
        yield bytes_in
        yield bytes_out

        yield GaugeMetricFamily("kafkalite_connections", "Open client connections.", value=metrics.connections_open)
        yield CounterMetricFamily(
            "kafkalite_connections_accepted", "Client connections accepted.", value=metrics.connections_accepted
        )

        state = metrics.state
        end = GaugeMetricFamily(
            "kafkalite_log_end_offset", "Log end offset (high watermark) per partition.", labels=["topic", "partition"]
        )
        start = GaugeMetricFamily(
            "kafkalite_log_start_offset", "Log start offset per partition.", labels=["topic", "partition"]
        )
        size = GaugeMetricFamily(
            "kafkalite_log_size_bytes", "Bytes in the partition's segments.", labels=["topic", "partition"]
        )
        high: dict[tuple[str, int], int] = {}
        for name, topic_state in state.cluster.topics.items():
            for index, plog in enumerate(topic_state.partitions):
                labels = [name, str(index)]
                high[(name, index)] = hw = plog.high_watermark
                end.add_metric(labels, hw)
                start.add_metric(labels, plog.log_start_offset)
                size.add_metric(labels, plog.size_bytes)
        yield end
        yield start
        yield size

        committed = GaugeMetricFamily(
            "kafkalite_consumer_group_committed_offset",
            "Committed offset per group and partition.",
            labels=["group", "topic", "partition"],
        )
        lag = GaugeMetricFamily(
            "kafkalite_consumer_group_lag",
            "Log end offset minus committed offset, per group and partition.",
            labels=["group", "topic", "partition"],
        )
        members = GaugeMetricFamily("kafkalite_consumer_group_members", "Members per group.", labels=["group", "state"])
        for group, offsets in state.groups.offsets_by_group():
            group_id = group.group_id
            members.add_metric([group_id, group.state.value], len(group.members))
            for (topic, partition), entry in offsets.items():
                hw_or_none = high.get((topic, partition))
                if hw_or_none is None:
                    continue
                labels = [group_id, topic, str(partition)]
                committed.add_metric(labels, entry.offset)
                lag.add_metric(labels, hw_or_none - entry.offset)
        yield committed
        yield lag
        yield members

        receiver = state.telemetry.receiver
        if receiver is not None:  # the clients' own metrics, pushed with PushTelemetry (KIP-714)
            yield from client_telemetry_families(receiver, state.clock.now_ms())


def client_telemetry_families(receiver: TelemetryMetrics, now_ms: int) -> Iterator[Metric]:
    """Pushed client metrics, one family per metric name, labelled with the client (telemetry_metrics.py)."""
    yield GaugeMetricFamily(
        "kafkalite_client_telemetry_series", "Series of client metrics kept from PushTelemetry.", value=receiver.series
    )
    for family in receiver.families(now_ms):
        name = family.name
        if family.kind == "counter":
            name = name.removesuffix("_total")
            metric = Metric(name, family.description or name, "counter")
            for labels, value in family.samples:
                metric.add_sample(name + "_total", labels, value)
        else:
            metric = Metric(name, family.description or name, "gauge")
            for labels, value in family.samples:
                metric.add_sample(name, labels, value)
        yield metric
