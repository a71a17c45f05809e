"""Requests from plain JSON and responses back to plain JSON, over one raw socket.

A scenario names an API, a version and a body as nested dicts; this module turns that into the
bytes a client would send (kafka-python's schema classes, the project's own schemas included)
and turns the answer into JSON-able values: bytes as ``{"$hex": ...}`` and record sets decoded
batch by batch (``{"$batches": [...]}``), so answers compare field by field whatever the codec
or compression underneath. It speaks to any broker and never imports the broker itself.
"""

from __future__ import annotations

import io
import socket
import struct
import uuid
from typing import Any

from kafkalite.protocol.codec import api_keys_by_name, message_classes
from kafkalite.records.batch import HEADER_SIZE, InvalidBatch, iter_headers
from kafkalite.records.builder import NewRecord, build_batch
from kafkalite.records.compression import decompress
from kafkalite.records.legacy import encode_message, parse_message_set
from kafkalite.records.records import read_varint

CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
_SIZE = struct.Struct(">i")
_RECORD_FIELDS = frozenset({"records"})


class Closed:
    """The broker closed the connection instead of answering."""


class NoAnswer:
    """Nothing came back within the wait (the expected outcome of acks=0)."""


def _sasl_classes() -> dict[str, tuple[int, Any, Any]]:
    """SaslHandshake and SaslAuthenticate from kafka-python, for a codec catalogue that lacks them.

    The scenarios log in on SASL listeners whatever the broker's own catalogue holds; the broker's
    classes are used when it has them.
    """
    from kafka.protocol import sasl

    return {name: (int(getattr(sasl, name + "Request").API_KEY), getattr(sasl, name + "Request"),
                   getattr(sasl, name + "Response")) for name in ("SaslHandshake", "SaslAuthenticate")}


def api_key(name: str) -> int:
    keys = api_keys_by_name()
    if name not in keys and name in _sasl_classes():
        return _sasl_classes()[name][0]
    if name not in keys:
        raise ValueError(f"unknown API {name!r}; known: {', '.join(sorted(keys))}")
    return keys[name]


def classes_of(name: str) -> tuple[Any, Any]:
    """The (request, response) classes of the API ``name``."""
    classes = message_classes(api_key(name))
    if classes is None and name in _sasl_classes():
        _key, request, response = _sasl_classes()[name]
        return request, response
    assert classes is not None
    return classes


# -- requests -------------------------------------------------------------------------------------


def build_request(name: str, version: int, body: dict[str, Any]) -> Any:
    """A kafka-python request object for ``body`` at ``version`` (missing fields take schema defaults)."""
    request_cls = classes_of(name)[0]
    return request_cls(version=version, **_fields(request_cls._struct, version, body))


def _fields(struct_field: Any, version: int, values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        field = struct_field.fields.get(key)
        if field is None:
            raise ValueError(f"{struct_field.name} has no field {key!r}")
        out[key] = _value(field, version, value)
    return out


def _value(field: Any, version: int, value: Any) -> Any:
    if value is None:
        return None
    if field.is_struct_array():
        sub = field.array_of
        return [sub.data_class(version=version, **_fields(sub, version, item)) for item in value]
    if field.is_struct():
        return field.data_class(version=version, **_fields(field, version, value))
    return encode_special(value)


def encode_special(value: Any) -> Any:
    """``{"$hex"}``, ``{"$utf8"}``, ``{"$repeat"}``, ``{"$records"}``, ``{"$uuid"}`` values as the codec takes them."""
    if isinstance(value, dict) and len(value) == 1:
        (tag, arg), = value.items()
        if tag == "$hex":
            return bytes.fromhex(arg)
        if tag == "$utf8":
            return arg.encode()
        if tag == "$records":
            return build_records(arg)
        if tag == "$uuid":
            return uuid.UUID(arg)
        if tag == "$subscription":
            return consumer_subscription(arg)
        if tag == "$repeat":  # [text, count]: a large value without a large scenario file
            return (str(arg[0]) * int(arg[1])).encode()
    if isinstance(value, list):
        return [encode_special(v) for v in value]
    return value


def consumer_subscription(topics: list[str]) -> bytes:
    """A v0 ConsumerProtocolSubscription (JoinGroup member metadata of protocol type "consumer").

    Built here rather than written as ``$hex`` because the topic names are the run's unique names.
    """
    out = struct.pack(">hi", 0, len(topics))
    for topic in topics:
        name = topic.encode()
        out += struct.pack(">h", len(name)) + name
    return out + struct.pack(">i", -1)  # no user data


def build_records(spec: dict[str, Any]) -> bytes:
    """A record set from a spec: one v2 batch, or a v0/v1 message set when ``magic`` says so.

    Spec keys: ``records`` (each ``key``, ``value``, ``headers`` {name: value}, ``timestamp``),
    ``compression``, ``timestamp`` (the default for records), ``producer_id``, ``producer_epoch``,
    ``base_sequence``, ``transactional``, ``magic``, ``corrupt_crc`` and ``batches`` (a list of
    specs concatenated, for several batches in one request).
    """
    if "batches" in spec:
        return b"".join(build_records(one) for one in spec["batches"])
    default_ts = int(spec.get("timestamp", 1_700_000_000_000))
    items = spec.get("records", [{"key": "k", "value": "v"}])
    magic = int(spec.get("magic", 2))
    if magic < 2:
        return b"".join(
            encode_message(i, magic, int(r.get("timestamp", default_ts)), _opt_bytes(r.get("key")),
                           _opt_bytes(r.get("value")))
            for i, r in enumerate(items)
        )
    records = [
        NewRecord(i, int(r.get("timestamp", default_ts)), _opt_bytes(r.get("key")), _opt_bytes(r.get("value")),
                  [(k, _opt_bytes(v)) for k, v in (r.get("headers") or {}).items()])
        for i, r in enumerate(items)
    ]
    batch = build_batch(
        records,
        compression=CODECS[spec.get("compression", "none")],
        producer_id=int(spec.get("producer_id", -1)),
        producer_epoch=int(spec.get("producer_epoch", -1)),
        base_sequence=int(spec.get("base_sequence", -1)),
        attributes_extra=0x10 if spec.get("transactional") else 0,
    )
    if spec.get("corrupt_crc"):
        batch[17] ^= 0xFF  # a CRC byte: the batch no longer matches its checksum
    return bytes(batch)


def _opt_bytes(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return bytes(encode_special(value))
    return str(value).encode()


# -- responses ------------------------------------------------------------------------------------


def response_to_json(response: Any) -> dict[str, Any]:
    """A decoded response as plain JSON values (the response header excluded)."""
    return _container(response, response._struct, response.version)


def _container(obj: Any, struct_field: Any, version: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in struct_field._fields:
        if not field.for_version_q(version):
            continue
        value = getattr(obj, field.name, None)
        if value is None:
            out[field.name] = None
        elif field.is_struct_array():
            out[field.name] = [_container(v, field.array_of, version) for v in value]
        elif field.is_struct():
            out[field.name] = _container(value, field, version)
        elif field.name in _RECORD_FIELDS and isinstance(value, (bytes, bytearray, memoryview)):
            out[field.name] = decode_records(bytes(value))
        else:
            out[field.name] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$hex": bytes(value).hex()}
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (set, frozenset)):  # a bitfield (authorized operations): the bits set, ascending
        return sorted(_plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value


def decode_records(data: bytes) -> Any:
    """Record batches as JSON: what a client reads, independent of how the broker compressed them."""
    if not data:
        return {"$batches": []}
    if len(data) > 16 and data[16] < 2:  # magic byte of a v0/v1 message
        try:
            records, _codec = parse_message_set(data)
        except (InvalidBatch, struct.error, ValueError) as exc:
            return {"$invalid": str(exc)}
        return {"$messages": [{"offset": r.offset, "timestamp": r.timestamp, "key": _text(r.key),
                               "value": _text(r.value)} for r in records]}
    batches = []
    try:
        for header in iter_headers(data):
            raw = data[header.position : header.position + header.length]
            batch: dict[str, Any] = {
                "base_offset": header.base_offset,
                "last_offset_delta": header.last_offset_delta,
                "records_count": header.records_count,
                "compressed": header.compression != 0,
                "timestamp_type": (header.attributes >> 3) & 1,
                "transactional": header.is_transactional,
                "control": header.is_control,
                "producer_id": header.producer_id,
                "producer_epoch": header.producer_epoch,
                "base_sequence": header.base_sequence,
                "base_timestamp": header.base_timestamp,
                "max_timestamp": header.max_timestamp,
            }
            batch["records"] = _batch_records(raw, header)
            batches.append(batch)
    except (InvalidBatch, struct.error, ValueError) as exc:
        return {"$invalid": str(exc), "$batches": batches}
    return {"$batches": batches}


def _batch_records(raw: bytes, header: Any) -> list[dict[str, Any]]:
    payload = decompress(header.compression, raw[HEADER_SIZE:]) if header.compression else raw[HEADER_SIZE:]
    records: list[dict[str, Any]] = []
    pos = 0
    for _ in range(header.records_count):
        length, pos = read_varint(payload, pos)
        end = pos + length
        pos += 1  # attributes
        ts_delta, pos = read_varint(payload, pos)
        off_delta, pos = read_varint(payload, pos)
        key, pos = _varint_bytes(payload, pos)
        value, pos = _varint_bytes(payload, pos)
        count, pos = read_varint(payload, pos)
        headers: dict[str, Any] = {}
        for _ in range(count):
            name, pos = _varint_bytes(payload, pos)
            hvalue, pos = _varint_bytes(payload, pos)
            headers[(name or b"").decode(errors="replace")] = _text(hvalue)
        records.append({"offset_delta": off_delta, "timestamp_delta": ts_delta, "key": _text(key),
                        "value": _text(value), "headers": headers})
        pos = end
    return records


def _varint_bytes(buf: bytes, pos: int) -> tuple[bytes | None, int]:
    size, pos = read_varint(buf, pos)
    if size < 0:
        return None, pos
    return bytes(buf[pos : pos + size]), pos + size


def _text(data: bytes | memoryview | None) -> Any:
    if data is None:
        return None
    data = bytes(data)
    try:
        return data.decode()
    except UnicodeDecodeError:
        return {"$hex": data.hex()}


def _api_versions_body(body: bytes, version: int) -> Any:
    """An ApiVersions response body as the Java client reads it: at the version asked, else v0.

    A broker answers an error (an unsupported version, an invalid client software name) in v0
    or at the version asked; kafka-python always decodes error answers as v0, which fails on
    a flexible error body, so the body is tried at the version asked first, all of it consumed.
    """
    classes = message_classes(api_key("ApiVersions"))
    assert classes is not None
    cls = classes[1]
    for attempt in dict.fromkeys((version, 0)):
        buf = io.BytesIO(body)
        try:
            decoded = super(cls, cls).decode(buf, version=attempt, header=False, framed=False)
        except (struct.error, ValueError, EOFError, IndexError):
            continue
        if buf.tell() == len(body):
            return decoded
    return cls.decode(body, version=version, header=False)


def decode_response(name: str, version: int, frame: bytes) -> dict[str, Any]:
    """A response frame (header and body, without the size) decoded as ``name`` at ``version``."""
    return response_to_json(classes_of(name)[1].decode(frame, version=version, header=True))


# -- the connection -------------------------------------------------------------------------------


def _connect(bootstrap: str, timeout: float) -> socket.socket:
    """A socket to the first address of ``bootstrap`` that accepts one (a stopped cluster node refuses)."""
    error: OSError | None = None
    for address in bootstrap.split(","):
        host, port = address.strip().rsplit(":", 1)
        try:
            return socket.create_connection((host, int(port)), timeout=timeout)
        except OSError as exc:
            error = exc
    raise error or OSError(f"no address in {bootstrap!r}")


class Connection:
    """One client connection: requests framed with header v1/v2, answers matched by correlation id."""

    def __init__(self, bootstrap: str, client_id: str = "kafkalite-conformance", timeout: float = 15.0) -> None:
        self.sock = _connect(bootstrap, timeout)
        self.client_id = client_id
        self.correlation = 0
        self.closed = False
        self.pending: list[tuple[int, str, int]] = []  # sent and not yet read: (correlation, api, version)

    def send(self, name: str, version: int, body: dict[str, Any]) -> int:
        request = build_request(name, version, body)
        self.correlation += 1
        request.with_header(correlation_id=self.correlation, client_id=self.client_id)
        self.sock.sendall(bytes(request.encode(header=True, framed=True)))
        self.pending.append((self.correlation, name, version))
        return self.correlation

    def send_raw(self, frame: bytes) -> None:
        """Bytes exactly as given (a hostile or malformed frame)."""
        self.sock.sendall(frame)

    def receive(self, wait: float | None = None) -> dict[str, Any] | type[Closed] | type[NoAnswer]:
        """The answer to the oldest request still pending, as JSON."""
        correlation, name, version = self.pending.pop(0)
        if wait is not None:
            self.sock.settimeout(wait)
        try:
            (size,) = _SIZE.unpack(self._read(4))
            data = self._read(size)
        except TimeoutError:
            return NoAnswer
        except (ConnectionError, OSError):
            self.closed = True
            return Closed
        if name == "ApiVersions":
            received = int.from_bytes(data[:4], "big", signed=True)
            if received != correlation:
                raise AssertionError(f"{name} v{version}: correlation {received} != {correlation}")
            return response_to_json(_api_versions_body(data[4:], version))
        response = classes_of(name)[1].decode(data, version=version, header=True)
        if response.header.correlation_id != correlation:
            raise AssertionError(f"{name} v{version}: correlation {response.header.correlation_id} != {correlation}")
        return response_to_json(response)

    def _read(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed by the broker")
            buf += chunk
        return bytes(buf)

    def close(self) -> None:
        self.sock.close()
