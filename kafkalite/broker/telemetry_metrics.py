"""Client metrics pushed with PushTelemetry (KIP-714): OTLP decoding and the series kept for /metrics.

kafkalite's telemetry receiver is its Prometheus endpoint (kafkalite/metrics.py): a pushed
payload is decompressed (zstd, lz4, gzip or snappy, bounded by ``telemetry.max.bytes`` once
inflated), decoded as an OTLP ``MetricsData`` (opentelemetry-proto), and each gauge and sum
data point becomes a series labelled with the client (client_instance_id, client_id,
client_software_name, client_software_version) and the point's own attributes. Names are OTLP's
with every character Prometheus does not allow made ``_``
(``org.apache.kafka.producer.record.send.rate`` -> ``org_apache_kafka_producer_record_send_rate``).
Delta sums (what a client sends when the broker asks for delta temporality, as Kafka does) are
added up so Prometheus sees a counter. Histograms and summaries are not kept.

Bounded: a client's series go when it has not pushed for ``STALE_INTERVALS`` push intervals,
and past ``MAX_SERIES`` series a push's new series are dropped (its known ones still update).
Pure state: ``now_ms`` comes in with each call.
"""

from __future__ import annotations

import gzip
import io
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import cramjam
import lz4.frame
import zstandard

NONE, GZIP, SNAPPY, LZ4, ZSTD = 0, 1, 2, 3, 4
#: A client's series are dropped after this many of its push intervals without a push.
STALE_INTERVALS = 3
#: Series kept over all clients.
MAX_SERIES = 50_000
CLIENT_LABELS = ("client_instance_id", "client_id", "client_software_name", "client_software_version")
GAUGE, COUNTER = "gauge", "counter"
_XERIAL_MAGIC = b"\x82SNAPPY\x00"
_NAME_BAD = re.compile(r"[^a-zA-Z0-9_:]")
_LABEL_BAD = re.compile(r"[^a-zA-Z0-9_]")


class PayloadTooLarge(Exception):
    """The payload inflates past the limit (TELEMETRY_TOO_LARGE)."""


class BadPayload(Exception):
    """The payload cannot be decompressed or decoded (INVALID_RECORD)."""


def _snappy_length(data: bytes) -> int:
    """The uncompressed length a raw snappy block declares (its leading varint)."""
    length, shift = 0, 0
    for byte in data[:5]:
        length |= (byte & 0x7F) << shift
        if byte < 0x80:
            return length
        shift += 7
    raise BadPayload("bad snappy length")


def decompress(codec: int, data: bytes, limit: int) -> bytes:
    """Inflate a pushed payload, never past ``limit`` bytes (a small payload may inflate hugely)."""
    try:
        if codec == NONE:
            out = data
        elif codec == GZIP:
            inflater = zlib.decompressobj(wbits=31)
            out = inflater.decompress(data, limit + 1)
        elif codec == LZ4:
            out = lz4.frame.LZ4FrameDecompressor().decompress(data, max_length=limit + 1)
        elif codec == ZSTD:
            with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)) as reader:
                out = reader.read(limit + 1)
        elif codec == SNAPPY:
            out = _snappy(data, limit)
        else:
            raise BadPayload(f"unknown compression type {codec}")
    except (OSError, EOFError, RuntimeError, ValueError, zlib.error, zstandard.ZstdError, gzip.BadGzipFile) as exc:
        raise BadPayload(str(exc)) from None
    if len(out) > limit:
        raise PayloadTooLarge(f"more than {limit} bytes once decompressed")
    return bytes(out)


def _snappy(data: bytes, limit: int) -> bytes:
    """Raw snappy, or the xerial framing the Java client writes, checking each block's length first."""
    blocks: list[bytes] = []
    if data.startswith(_XERIAL_MAGIC):
        pos = 16  # magic (8) + version (4) + compatible version (4)
        while pos + 4 <= len(data):
            (size,) = struct.unpack_from(">i", data, pos)
            blocks.append(data[pos + 4 : pos + 4 + size])
            pos += 4 + size
    else:
        blocks.append(data)
    total = 0
    out = bytearray()
    for block in blocks:
        total += _snappy_length(block)
        if total > limit:
            raise PayloadTooLarge(f"more than {limit} bytes once decompressed")
        out += bytes(cramjam.snappy.decompress_raw(block))
    return bytes(out)


def prometheus_name(name: str) -> str:
    name = _NAME_BAD.sub("_", name)
    return "_" + name if name[:1].isdigit() else name


def _label_name(name: str) -> str:
    name = _LABEL_BAD.sub("_", name)
    return "_" + name if name[:1].isdigit() or name.startswith("__") else name


def _any_value(value: object) -> str:
    """An OTLP AnyValue as label text."""
    kind = value.WhichOneof("value")  # type: ignore[attr-defined]
    if kind is None:
        return ""
    got = getattr(value, kind)
    if kind == "bool_value":
        return "true" if got else "false"
    if kind in ("string_value", "int_value", "double_value"):
        return str(got)
    return str(got).strip()


@dataclass(frozen=True)
class Point:
    """One decoded data point: its metric, kind, attributes (sorted) and value; ``delta`` sums add up."""

    name: str
    kind: str
    attributes: tuple[tuple[str, str], ...]
    value: float
    delta: bool = False
    description: str = ""


def decode(payload: bytes) -> list[Point]:
    """The gauge and sum points of an OTLP ``MetricsData``; BadPayload if it is not one."""
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.metrics.v1 import metrics_pb2

    data = metrics_pb2.MetricsData()
    try:
        data.ParseFromString(payload)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise BadPayload(str(exc)) from None
    delta = metrics_pb2.AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
    points: list[Point] = []
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data")
                if kind == "gauge":
                    series, mtype, is_delta = metric.gauge.data_points, GAUGE, False
                elif kind == "sum":
                    is_delta = metric.sum.aggregation_temporality == delta
                    series, mtype = metric.sum.data_points, COUNTER if metric.sum.is_monotonic else GAUGE
                else:
                    continue
                name = prometheus_name(metric.name)
                for point in series:
                    value = point.as_double if point.WhichOneof("value") == "as_double" else float(point.as_int)
                    attributes = tuple(sorted((_label_name(a.key), _any_value(a.value)) for a in point.attributes))
                    points.append(Point(name, mtype, attributes, value, is_delta, metric.description))
    return points


@dataclass
class ClientSeries:
    """What one client instance last pushed."""

    labels: tuple[str, ...]
    push_interval_ms: int
    last_push_ms: int
    #: (metric name, attributes) -> (kind, value)
    values: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Family:
    """Samples of one metric name over every client, for the collector."""

    name: str
    kind: str
    description: str
    samples: list[tuple[dict[str, str], float]]


class TelemetryMetrics:
    """The series of every client that pushed lately, bounded in count and dropped when stale."""

    def __init__(self, max_series: int = MAX_SERIES) -> None:
        self.max_series = max_series
        self.clients: dict[str, ClientSeries] = {}
        self.series = 0
        self.descriptions: dict[str, str] = {}
        self.dropped = 0

    def record(self, labels: tuple[str, ...], points: list[Point], push_interval_ms: int, now_ms: int) -> None:
        """Keep ``points`` of the client named by ``labels`` (CLIENT_LABELS' values)."""
        self.expire(now_ms)
        key = labels[0]
        client = self.clients.get(key)
        if client is None:
            client = self.clients[key] = ClientSeries(labels, push_interval_ms, now_ms)
        client.labels = labels
        client.push_interval_ms = push_interval_ms
        client.last_push_ms = now_ms
        for point in points:
            series_key = (point.name, point.attributes)
            known = client.values.get(series_key)
            if known is None:
                if self.series >= self.max_series:
                    self.dropped += 1
                    continue
                self.series += 1
                value = point.value
            else:
                value = known[1] + point.value if point.delta else point.value
            client.values[series_key] = (point.kind, value)
            if point.description and point.name not in self.descriptions and len(self.descriptions) < self.max_series:
                self.descriptions[point.name] = point.description

    def expire(self, now_ms: int) -> None:
        """Forget clients that missed STALE_INTERVALS pushes."""
        stale = [k for k, c in self.clients.items() if now_ms - c.last_push_ms > STALE_INTERVALS * c.push_interval_ms]
        for key in stale:
            self.series -= len(self.clients.pop(key).values)

    def families(self, now_ms: int) -> Iterator[Family]:
        """Every metric name's samples, one kind per name (the first client's, if clients disagree)."""
        self.expire(now_ms)
        by_name: dict[str, Family] = {}
        for client in self.clients.values():
            base = dict(zip(CLIENT_LABELS, client.labels))
            for (name, attributes), (kind, value) in client.values.items():
                family = by_name.get(name)
                if family is None:
                    family = by_name[name] = Family(name, kind, self.descriptions.get(name, ""), [])
                elif family.kind != kind:
                    continue
                labels = dict(base)
                for label, text in attributes:
                    labels.setdefault(label, text)  # a point attribute never overrides the client's labels
                family.samples.append((labels, value))
        yield from by_name.values()
