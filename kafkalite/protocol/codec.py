"""Message bodies from Kafka's official JSON schemas, through kafka-python's schema codec.

This is the only module that imports kafka-python, so the codec can be swapped without
touching handlers. Handlers receive decoded request objects (attribute access, snake_case
field names as in the schemas) and return plain dicts and lists, which ``encode_response``
turns into the codec's data classes for the requested version, dropping fields that
version does not have.
"""

from __future__ import annotations

import importlib
import struct
import threading
from collections.abc import Callable
from functools import cache
from typing import Any

from kafkalite.lazy_packages import defer_package_init
from kafkalite.protocol.produce_response import encode_produce_response

PROJECT_MODULE = "kafkalite.protocol.messages"
# Loaded a group at a time; the project's schemas come with the first group so they are in
# place before any request, and a library class never replaces one of theirs.
_MODULES = (
    ("kafka.protocol.metadata", PROJECT_MODULE, "kafka.protocol.sasl"),
    ("kafka.protocol.producer",),
    ("kafka.protocol.consumer",),
    ("kafka.protocol.admin",),
)


_SIZE = struct.Struct(">i")


class CodecError(Exception):
    """The body does not decode at this API key and version."""


class _Catalogue:
    """Request and response classes by API key, loaded one kafka-python module at a time.

    The metadata module (ApiVersions, Metadata, FindCoordinator) is all a client needs first,
    so only it (and the project's own schemas, which replace library classes by API key) is
    loaded before the broker is ready; the others load on the first request for one of their
    APIs, which keeps startup short.
    """

    def __init__(self) -> None:
        self.requests: dict[int, Any] = {}
        self.responses: dict[int, Any] = {}
        self._pending = list(_MODULES)
        self._project: set[tuple[bool, int]] = set()
        self._lazy: dict[tuple[bool, int], str] = {}  # project classes built on first use
        self._project_module: Any = None

        # Brokers in other threads of the process may load at the same time; without the lock one
        # could find the list empty while another is still registering the last module's classes.
        self._lock = threading.Lock()

    def load_next(self) -> bool:
        with self._lock:
            return self._load_next()

    def _load_next(self) -> bool:
        if not self._pending:
            return False
        defer_package_init("kafka")  # kafka.protocol without the whole client: see lazy_packages
        for name in self._pending.pop(0):
            project = name == PROJECT_MODULE
            module = importlib.import_module(name)
            if project:
                self._project_module = module
                for api, (key, _first) in getattr(module, "WIDENED", {}).items():
                    for is_request, suffix in ((True, "Request"), (False, "Response")):
                        self._project.add((is_request, key))
                        self._lazy[(is_request, key)] = api + suffix
            for attr in getattr(module, "__all__", ()):
                cls = getattr(module, attr)
                key = getattr(cls, "API_KEY", None)
                if not (isinstance(key, int) and hasattr(cls, "is_request")):
                    continue
                slot = (bool(cls.is_request()), key)
                if project:
                    self._project.add(slot)
                elif slot in self._project:
                    continue  # the project's schema for this key stays
                (self.requests if slot[0] else self.responses)[key] = cls
        return True

    def build_all(self) -> None:
        for slot in list(self._lazy):
            self._build_lazy(slot)

    def _build_lazy(self, slot: tuple[bool, int]) -> None:
        name = self._lazy.pop(slot, None)
        if name is not None:
            (self.requests if slot[0] else self.responses)[slot[1]] = getattr(self._project_module, name)

    def request(self, api_key: int) -> Any:
        while api_key not in self.requests:
            self._build_lazy((True, api_key))
            if api_key in self.requests or not self.load_next():
                break
        return self.requests.get(api_key)

    def response(self, api_key: int) -> Any:
        while api_key not in self.responses:
            self._build_lazy((False, api_key))
            if api_key in self.responses or not self.load_next():
                break
        return self.responses[api_key]


_catalogue = _Catalogue()


def warm_up(everything: bool = False) -> None:
    """Load what the first requests need now (or every message class), not on a request."""
    _catalogue.load_next()
    if everything:
        while _catalogue.load_next():
            pass
        _catalogue.build_all()


def message_classes(api_key: int) -> tuple[Any, Any] | None:
    """The (request, response) classes for an API key, project schemas included; None if unknown."""
    request = _catalogue.request(api_key)
    return None if request is None else (request, _catalogue.response(api_key))


def api_keys_by_name() -> dict[str, int]:
    """Every API the catalogue knows, by its name in Kafka's schemas (``"Produce"``, ``"Metadata"``)."""
    warm_up(everything=True)
    return {cls.name.removesuffix("Request"): key for key, cls in _catalogue.requests.items()}


def schema_max_version(api_key: int) -> int | None:
    """Highest version the bundled schema describes, or None for an unknown key."""
    cls = _catalogue.request(api_key)
    return None if cls is None else int(cls.max_version)


@cache
def is_flexible_request(api_key: int, version: int) -> bool:
    """Whether this request version uses header v2 and compact encodings."""
    cls = _catalogue.request(api_key)
    return bool(cls is not None and cls.flexible_version_q(version))


def decode_request(api_key: int, version: int, body: bytes | memoryview) -> Any:
    """Decode a request body; raise CodecError when it is truncated or malformed."""
    cls = _catalogue.request(api_key)
    view = body if isinstance(body, memoryview) else memoryview(body)
    try:
        request, end = _decoder(api_key, version)(view, 0)
    except Exception as exc:  # the codec raises assorted errors on bad bytes
        raise CodecError(f"{cls.name} v{version}: {exc!r}") from exc
    if end > len(view):
        # The decoder slices leniently: a length running past the end shows only here.
        raise CodecError(f"{cls.name} v{version}: body truncated ({len(view)} bytes, fields need {end})")
    null = _null_checker(api_key, version)(request)
    if null is not None:
        raise CodecError(f"{cls.name} v{version}: non-nullable field {null} was serialized as null")
    return request


# -- nulls where the schema allows none -------------------------------------------------------------
#
# kafka-python decodes a negative length as null whatever the schema says; Kafka's generated
# parsers reject a null in a field that is not nullable at that version ("non-nullable field X
# was serialized as null"), and the broker closes the connection, as for any undecodable body.
# Doing the same here means handlers only ever see nulls where the schema allows them.
# UUIDs are left alone: they are never null in Kafka, and the codec reads the zero UUID as None.

_Check = Callable[[Any], "str | None"]  # the dotted name of the first illegal null, or None
_NULLABLE_TYPES = frozenset({"string", "bytes", "records"})


@cache
def _null_checker(api_key: int, version: int) -> _Check:
    check = _struct_checker(_catalogue.request(api_key)._struct, version, "")
    return check if check is not None else _no_nulls


def _no_nulls(_obj: Any) -> str | None:
    return None


def _struct_checker(struct: Any, version: int, prefix: str) -> _Check | None:
    """A check for the fields of ``struct`` at ``version``; None when nothing in it can be an illegal null."""
    checks: list[_Check] = []
    for field in struct._fields:
        if not field.for_version_q(version) or field.tagged_field_q(version):
            continue
        check = _field_checker(field, version, prefix + field.name)
        if check is not None:
            checks.append(check)
    if not checks:
        return None

    def check_struct(obj: Any) -> str | None:
        for check in checks:
            found = check(obj)
            if found is not None:
                return found
        return None

    return check_struct


def _field_checker(field: Any, version: int, path: str) -> _Check | None:
    name = field.name
    nullable = field.nullable_for_version_q(version)
    if field.is_struct_array() or field.is_struct():
        inner = _struct_checker(field.array_of if field.is_struct_array() else field, version, path + ".")
        many = field.is_struct_array()
    elif field.is_array():
        inner = None if field.array_of.type_str not in _NULLABLE_TYPES else _no_null_items(path)
        many = False
    elif field.type_str in _NULLABLE_TYPES:
        inner, many = None, False
    else:
        return None  # numbers, booleans and UUIDs are never null on the wire
    if nullable and inner is None:
        return None

    def check_field(obj: Any) -> str | None:
        value = getattr(obj, name)
        if value is None:
            return None if nullable else path
        if inner is None:
            return None
        if many:
            for item in value:
                found = inner(item)
                if found is not None:
                    return found
            return None
        return inner(value)

    return check_field


def _no_null_items(path: str) -> _Check:
    def check_items(items: list[Any]) -> str | None:
        return f"{path}[]" if None in items else None

    return check_items


@cache
def _decoder(api_key: int, version: int) -> Any:
    """The codec's compiled decoder for one request version; returns (object, end position)."""
    cls = _catalogue.request(api_key)
    flexible = cls.flexible_version_q(version)
    return cls._struct.compiled_decode_from(version, compact=flexible, tagged=flexible, data_class=cls[None])


def encode_response(api_key: int, version: int, body: dict[str, Any]) -> bytes:
    """Encode a response body given as nested dicts and lists (without size or header)."""
    return bytes(ResponseEncoder().frame(api_key, version, b"", body)[4:])


class _FrameBuffer:
    """A reusable output buffer in the codec's shape (``buf`` and ``pos``)."""

    __slots__ = ("buf", "pos")

    SMALL = 64 * 1024
    KEEP_AT_MOST = 8 * 1024 * 1024

    def __init__(self, size: int = SMALL) -> None:
        self.buf = bytearray(size)
        self.pos = 0

    def ensure(self, needed: int) -> None:
        if self.pos + needed > len(self.buf):
            grown = bytearray(max(len(self.buf) * 2, self.pos + needed))
            grown[: self.pos] = self.buf[: self.pos]
            self.buf = grown  # a new object: views of the old one stay valid


PRODUCE_KEY = 0


@cache
def _encoder(api_key: int, version: int) -> Any:
    cls = _catalogue.response(api_key)
    flexible = cls.flexible_version_q(version)
    return cls._struct.compiled_encode_into(version, compact=flexible, tagged=flexible)


class ResponseEncoder:
    """Encodes whole response frames into one reusable buffer; each broker owns one.

    A whole frame (size, header, body) is encoded in one pass and the caller gets a view of the
    buffer, so a fetch response's records are copied once on their way to the socket. The
    buffer belongs to one broker (one event loop): two brokers in one process each have their
    own, so one never overwrites bytes the other has not sent yet. After an unusually large
    response the buffer is replaced by a small one, so one big fetch does not pin its size.
    """

    __slots__ = ("_out",)

    def __init__(self) -> None:
        self._out = _FrameBuffer()

    def detach(self) -> None:
        """Leave the current buffer to whoever still holds a view of it and start a fresh one.

        Needed when a transport keeps the view instead of copying it (Python 3.12+ queues
        memoryviews of unsent data), or the next response would overwrite bytes not yet sent.
        """
        # Same capacity as the one left behind: a consumer's next fetch response is about as large,
        # and growing from small again would copy it several times.
        self._out = _FrameBuffer(min(len(self._out.buf), _FrameBuffer.KEEP_AT_MOST))

    def frame(self, api_key: int, version: int, header: bytes, body: dict[str, Any]) -> memoryview:
        """A complete response frame: size prefix, ``header`` and the encoded body.

        The view is valid until the next call; write it to the transport before encoding again.
        """
        if len(self._out.buf) > _FrameBuffer.KEEP_AT_MOST:
            self._out = _FrameBuffer()
        out = self._out
        out.pos = 4 + len(header)
        direct = encode_produce_response(version, body) if api_key == PRODUCE_KEY else None
        out.ensure(0 if direct is None else len(direct))
        out.buf[4 : out.pos] = header
        if direct is not None:  # the hottest response, see produce_response.py
            out.buf[out.pos : out.pos + len(direct)] = direct
            out.pos += len(direct)
        else:
            message = _build(_plan(_catalogue.response(api_key)._struct, version), body)
            _encoder(api_key, version)(message, out)
        _SIZE.pack_into(out.buf, 0, out.pos - 4)
        return memoryview(out.buf)[: out.pos]


class _Plan:
    """How to turn dicts into objects the compiled encoder reads, for one struct at one version.

    The encoder only reads attributes, so each struct version gets a plain class whose class
    attributes are the schema defaults; building a response is then a dict update per struct
    rather than the codec data classes' per-field constructor (the difference is most of the
    cost of a Produce response with many partitions).
    """

    __slots__ = ("children", "cls", "known", "name", "valid")

    def __init__(self, struct: Any, version: int) -> None:
        self.name = struct.name
        self.known = frozenset(struct.fields)
        self.children: dict[str, tuple[_Plan, bool]] = {}
        defaults: dict[str, Any] = {}
        for name, field in struct.fields.items():
            if not field.for_version_q(version):
                continue
            try:
                defaults[name] = field.default
            except (NotImplementedError, ValueError):
                defaults[name] = None
            if field.is_struct_array():
                self.children[name] = (_plan(field.array_of, version), True)
            elif field.is_struct():
                self.children[name] = (_plan(field, version), False)
        self.valid = frozenset(defaults)
        self.cls = type(f"{struct.name}V{version}", (), defaults)


_plans: dict[tuple[int, int], _Plan] = {}


def _plan(struct: Any, version: int) -> _Plan:
    key = (id(struct), version)
    plan = _plans.get(key)
    if plan is None:
        plan = _plans[key] = _Plan(struct, version)
    return plan


def _build(plan: _Plan, values: dict[str, Any]) -> Any:
    """An encoder-ready object from ``values``; fields this version lacks are dropped."""
    obj = plan.cls()
    attrs = obj.__dict__
    if values.keys() <= plan.valid:  # the usual case, checked and copied in C
        attrs.update(values)
    else:
        for name, value in values.items():
            if name in plan.valid:
                attrs[name] = value
            elif name not in plan.known:
                raise KeyError(f"{plan.name} has no field {name!r}")
            # else: handlers may fill fields of every version; keep this version's only
    for name, (sub, is_array) in plan.children.items():
        value = attrs.get(name)
        if value is None:
            continue
        if is_array:
            if value:
                attrs[name] = [_build(sub, item) if isinstance(item, dict) else item for item in value]
        elif isinstance(value, dict):
            attrs[name] = _build(sub, value)
    return obj


def subscribed_topics(metadata: bytes) -> set[str]:
    """Topics in a consumer protocol subscription (a JoinGroup member's metadata); empty if unreadable."""
    from kafka.protocol.consumer import ConsumerProtocolSubscription

    if len(metadata) < 2:
        return set()
    version = min(int.from_bytes(metadata[:2], "big", signed=True), int(ConsumerProtocolSubscription.max_version))
    try:
        return set(ConsumerProtocolSubscription.decode(metadata, version=max(version, 0)).topics or ())
    except Exception:
        return set()
