"""Client quotas: the configured entities, Kafka's precedence, ``quotas.log``, and the rate sensors.

What this owns, as Kafka splits it between ClientQuotaControlManager (validation and records),
ClientQuotasImage (DescribeClientQuotas filters) and ClientQuotaManager (enforcement):

- ``QuotaStore``: entities (``user`` / ``client-id`` / ``ip``, a null name being the default
  entity) and their values, altered by records then replay (``quotas.log``, as acls.py), with
  Kafka's validation messages.
- Per quota type (``producer_byte_rate``, ``consumer_byte_rate``, ``request_percentage``), the
  8-level precedence of DefaultQuotaCallback: user+client-id, user+default client-id, user,
  default user+client-id, default user+default client-id, default user, client-id, default
  client-id. Clients that resolve to the same level share one sensor (its metric tags).
- ``Rate``: Kafka's SampledStat/Rate over ``quota.window.num`` samples of
  ``quota.window.size.seconds``; the throttle time is QuotaUtils.throttleTime,
  (observed - bound) / bound * window, capped at one window for request_percentage.

It never touches sockets: the dispatcher asks ``throttle_*`` after a handler and mutes the
connection; ``active`` is False while no enforced quota exists, so unquoted brokers pay one check.
``controller_mutation_rate`` and ``connection_creation_rate`` are stored and described, not enforced.
"""

from __future__ import annotations

import ipaddress
import math
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from kafkalite.errors import ErrorCode
from kafkalite.storage.metadata_log import MetadataLog, unsaved_message

USER = "user"
CLIENT_ID = "client-id"
IP = "ip"
ENTITY_TYPES = (USER, CLIENT_ID, IP)

PRODUCE = "producer_byte_rate"
FETCH = "consumer_byte_rate"
REQUEST = "request_percentage"
CONTROLLER_MUTATION = "controller_mutation_rate"
CONNECTION_RATE = "connection_creation_rate"
ENFORCED = (PRODUCE, FETCH, REQUEST)

#: Kafka's QuotaConfig types: integral keys refuse fractions and values beyond their type.
_USER_CLIENT_KEYS = {PRODUCE: "LONG", FETCH: "LONG", REQUEST: "DOUBLE", CONTROLLER_MUTATION: "DOUBLE"}
_IP_KEYS = {CONNECTION_RATE: "INT"}
_LIMITS = {"SHORT": (2**15 - 1, "a SHORT"), "INT": (2**31 - 1, "an INT"), "LONG": (2**63 - 1, "a LONG")}

MATCH_EXACT, MATCH_DEFAULT, MATCH_SPECIFIED = 0, 1, 2

#: An entity: sorted (type, name) pairs, a None name being the type's default entity.
Entity = tuple[tuple[str, str | None], ...]


class QuotaRequestError(Exception):
    """A DescribeClientQuotas filter Kafka refuses as a whole: answered with this code and message."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def entity_of(pairs: Iterable[tuple[str, str | None]]) -> Entity:
    """As Kafka's request reads entities: a map, so a repeated type keeps its last name."""
    return tuple(sorted(dict(pairs).items()))


def entity_text(entity: Entity) -> str:
    """Kafka's ClientQuotaEntity.toString, used in its messages."""
    return "ClientQuotaEntity(entries={" + ", ".join(f"{t}={n}" for t, n in entity) + "})"


# ---- validation (ClientQuotaControlManager) ---------------------------------------------------


def _valid_ip(name: str | None) -> bool:
    if name is None:
        return True
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    try:
        socket.getaddrinfo(name, None)
        return True
    except (OSError, UnicodeError):
        return False


def _entity_problem(entity: Entity) -> tuple[str, dict[str, str]] | None:
    """Why Kafka refuses the entity (INVALID_REQUEST), or None; else its key types."""
    if not entity:
        return "Invalid empty client quota entity", {}
    for entity_type, name in entity:
        if entity_type not in ENTITY_TYPES:
            return f"Unhandled client quota entity type: {entity_type}", {}
        if name is not None and name == "":
            return f"Empty {entity_type} not supported", {}
    types = dict(entity)
    if IP in types:
        if USER in types or CLIENT_ID in types:
            # Kafka's message, missing space included.
            return "Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId", {}
        if not _valid_ip(types[IP]):
            return f"{types[IP]} is not a valid IP or resolvable host.", {}
    return None


def _keys_for(entity: Entity) -> dict[str, str]:
    return _IP_KEYS if IP in dict(entity) else _USER_CLIENT_KEYS


def _value_problem(keys: dict[str, str], key: str, value: float) -> tuple[ErrorCode, str] | None:
    kind = keys.get(key)
    if kind is None:
        return ErrorCode.INVALID_REQUEST, f"Invalid configuration key {key}"
    if value <= 0.0:
        return ErrorCode.INVALID_REQUEST, f"Quota {key} must be greater than 0"
    if kind == "DOUBLE":
        return None
    top, name = _LIMITS[kind]
    if value > top:
        return ErrorCode.INVALID_REQUEST, f"Proposed value for {key} is too large for {name}."
    if abs(math.fmod(value, 1.0)) > 1e-6:
        return ErrorCode.INVALID_REQUEST, f"{key} cannot be a fractional value."
    return None


@dataclass
class Alteration:
    """One entry of an AlterClientQuotas request: the entity and its ops (value None = remove)."""

    entity: Entity
    ops: list[tuple[str, float | None]] = field(default_factory=list)


# ---- rates (Kafka's SampledStat, WindowedSum, Rate) -------------------------------------------


class Rate:
    """A windowed sum over ``samples`` windows of ``window_ms``, per second, as Kafka's Rate.

    Kafka keeps one extra sample for the window overlapping the monitored span; a sample whose
    last event is ``samples * window_ms`` old is reset; the elapsed span counts at least
    ``samples - 1`` full windows, so a burst at the start is not read as an enormous rate.
    """

    __slots__ = ("current", "last_used_ms", "lasts", "samples", "starts", "values", "window_ms")

    def __init__(self, samples: int, window_ms: int, now_ms: int) -> None:
        self.samples = samples
        self.window_ms = window_ms
        self.current = 0
        self.starts: list[int] = [now_ms]
        self.lasts: list[int] = [now_ms]
        self.values: list[float] = [0.0]
        self.last_used_ms = now_ms

    def record(self, value: float, now_ms: int) -> None:
        self.last_used_ms = now_ms
        i = self.current
        if now_ms - self.starts[i] >= self.window_ms:
            i = self.current = (i + 1) % (self.samples + 1)
            if i >= len(self.starts):
                self.starts.append(now_ms)
                self.lasts.append(now_ms)
                self.values.append(0.0)
            else:
                self.starts[i] = self.lasts[i] = now_ms
                self.values[i] = 0.0
        self.values[i] += value
        self.lasts[i] = now_ms

    def _purge(self, now_ms: int) -> None:
        expire = self.samples * self.window_ms
        lasts = self.lasts
        if now_ms - min(lasts) < expire:  # the usual case, checked at C speed
            return
        for i, last in enumerate(lasts):
            if now_ms - last >= expire:
                self.starts[i] = lasts[i] = now_ms
                self.values[i] = 0.0

    def _window_ms(self, now_ms: int) -> int:
        """The span the rate is taken over (call after ``_purge``)."""
        elapsed = now_ms - min(self.starts)
        full = elapsed // self.window_ms
        if full < self.samples - 1:
            elapsed += (self.samples - 1 - full) * self.window_ms
        return max(elapsed, 1)

    def window_size_ms(self, now_ms: int) -> int:
        self._purge(now_ms)
        return self._window_ms(now_ms)

    def measure(self, now_ms: int) -> float:
        """Units per second over the window."""
        self._purge(now_ms)
        return sum(self.values) * 1000.0 / self._window_ms(now_ms)


def throttle_time_ms(rate: Rate, bound: float, now_ms: int) -> int:
    """QuotaUtils.throttleTime: the delay X bringing O*W/(W+X) down to the bound T, X = (O-T)/T*W."""
    rate._purge(now_ms)
    window = rate._window_ms(now_ms)
    observed = sum(rate.values) * 1000.0 / window
    if observed <= bound:
        return 0
    return round((observed - bound) / bound * window)


# ---- the store -------------------------------------------------------------------------------


#: Sensors idle this long are dropped (Kafka's InactiveSensorExpirationTimeSeconds).
SENSOR_EXPIRY_MS = 3_600_000
_SWEEP_EVERY = 1024


class QuotaStore:
    """Configured quotas, their log, and the sensors enforcing the three client quota types."""

    def __init__(self, log: MetadataLog | None, now_ms: Callable[[], int], samples: int = 11,
                 window_seconds: int = 1, fsync: bool = False) -> None:
        self.log = log
        self.now_ms = now_ms
        self.samples = samples
        self.window_ms = window_seconds * 1000
        self.fsync = fsync
        self.entities: dict[Entity, dict[str, float]] = {}
        #: One dispatcher check: True while an enforced quota (produce, fetch, request) exists.
        self.active = False
        #: True while a request_percentage quota exists: only then is handler time measured.
        self.timed = False
        self._by_key: dict[str, dict[Entity, float]] = {key: {} for key in ENFORCED}
        #: (key, user, client id) -> (sensor tags, bound): the precedence walk, once per client.
        self._resolved: dict[tuple[str, str, str], tuple[tuple[str, str], float | None]] = {}
        self._sensors: dict[tuple[str, str, str], Rate] = {}

    # ---- records then replay ----

    def load(self, records: Iterable[dict[str, Any]]) -> None:
        for record in records:
            self.replay(record, reindex=False)
        self._reindex()

    def replay(self, record: dict[str, Any], reindex: bool = True) -> None:
        entity = entity_of((t, n) for t, n in record["entity"])
        values = self.entities.setdefault(entity, {})
        if record.get("remove"):
            values.pop(record["key"], None)
            if not values:
                del self.entities[entity]
        else:
            values[record["key"]] = float(record["value"])
        if reindex:
            self._reindex()

    def _reindex(self) -> None:
        self._by_key = {key: {} for key in ENFORCED}
        for entity, values in self.entities.items():
            for key, value in values.items():
                if key in self._by_key:
                    self._by_key[key][entity] = value
        self._resolved.clear()
        self.active = any(self._by_key.values())
        self.timed = bool(self._by_key[REQUEST])

    def snapshot(self) -> list[dict[str, Any]]:
        return [
            {"type": "quota", "entity": [list(p) for p in entity], "key": key, "value": value}
            for entity, values in sorted(self.entities.items(), key=lambda item: repr(item[0]))
            for key, value in sorted(values.items())
        ]

    # ---- AlterClientQuotas ----

    def alter(self, alterations: list[Alteration], validate_only: bool
              ) -> list[tuple[Entity, ErrorCode, str | None]]:
        """Validate every entry as Kafka's controller does and apply the valid ones (durable first).

        One result per distinct entity: a repeated key or a repeated entity fails it.
        """
        results: dict[Entity, tuple[ErrorCode, str | None]] = {}
        records: list[dict[str, Any]] = []
        changed: set[Entity] = set()  # entities with a record to write
        for alteration in alterations:
            entity = alteration.entity
            changes: dict[str, float | None] = {}
            for key, value in alteration.ops:
                if key in changes:
                    results[entity] = (ErrorCode.INVALID_REQUEST, f"Duplicate quota key {key} not updating quota "
                                       f"for this entity {entity_text(entity)}")
                else:
                    changes[key] = value
            if entity in results:
                results[entity] = (ErrorCode.INVALID_REQUEST, f"Ignoring duplicate entity {entity_text(entity)}")
                continue
            problem = _entity_problem(entity)
            if problem is not None:
                results[entity] = (ErrorCode.INVALID_REQUEST, problem[0])
                continue
            keys = _keys_for(entity)
            current = self.entities.get(entity, {})
            fresh: list[dict[str, Any]] = []
            failed: tuple[ErrorCode, str] | None = None
            pairs = [list(p) for p in entity]
            for key, value in changes.items():
                if value is None:
                    if key in current:
                        fresh.append({"type": "quota", "entity": pairs, "key": key, "remove": True})
                    continue
                failed = _value_problem(keys, key, value)
                if failed is not None:
                    break
                if current.get(key) != value:
                    fresh.append({"type": "quota", "entity": pairs, "key": key, "value": value})
            if failed is not None:
                results[entity] = failed
                continue
            records.extend(fresh)
            results[entity] = (ErrorCode.NONE, None)
            if fresh:
                changed.add(entity)
        if records and not validate_only:
            if self.log is not None:
                try:
                    self.log.append_durably(records, self.fsync)
                except OSError as exc:  # a full disk: no entity changes, in memory or on disk
                    unsaved = (ErrorCode.KAFKA_STORAGE_ERROR, unsaved_message(exc))
                    return [
                        (entity, *(unsaved if entity in changed and code == ErrorCode.NONE else (code, message)))
                        for entity, (code, message) in results.items()
                    ]
            for record in records:
                self.replay(record, reindex=False)
            self._reindex()
            if self.log is not None:
                self.log.compact_quietly(self.snapshot)  # after the change: the snapshot must hold it
        return [(entity, code, message) for entity, (code, message) in results.items()]

    # ---- DescribeClientQuotas (ClientQuotasImage.describe) ----

    def describe(self, components: list[tuple[str, int, str | None]], strict: bool
                 ) -> list[tuple[Entity, dict[str, float]]]:
        exact: dict[str, str | None] = {}
        specified: set[str] = set()
        for entity_type, match_type, match in components:
            if not entity_type:
                raise QuotaRequestError(ErrorCode.INVALID_REQUEST, "Invalid empty entity type.")
            if entity_type in exact or entity_type in specified:
                raise QuotaRequestError(
                    ErrorCode.INVALID_REQUEST, f"Entity type {entity_type} cannot appear more than once in the filter."
                )
            if entity_type not in ENTITY_TYPES:
                raise QuotaRequestError(ErrorCode.UNSUPPORTED_VERSION, f"Unsupported entity type {entity_type}")
            if match_type == MATCH_EXACT:
                if match is None:
                    raise QuotaRequestError(
                        ErrorCode.INVALID_REQUEST, "Request specified MATCH_TYPE_EXACT, but set match string to null."
                    )
                exact[entity_type] = match
            elif match_type == MATCH_DEFAULT:
                if match is not None:
                    raise QuotaRequestError(
                        ErrorCode.INVALID_REQUEST,
                        "Request specified MATCH_TYPE_DEFAULT, but also specified a match string.",
                    )
                exact[entity_type] = None
            elif match_type == MATCH_SPECIFIED:
                if match is not None:
                    raise QuotaRequestError(
                        ErrorCode.INVALID_REQUEST,
                        "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.",
                    )
                specified.add(entity_type)
            else:
                raise QuotaRequestError(ErrorCode.INVALID_REQUEST, f"Unknown match type {match_type}")
        named = set(exact) | specified
        if IP in named and (USER in named or CLIENT_ID in named):
            raise QuotaRequestError(
                ErrorCode.INVALID_REQUEST,
                "Invalid entity filter component combination. IP filter component should not be used with "
                "user or clientId filter component.",
            )
        found = []
        for entity, values in self.entities.items():
            types = dict(entity)
            if strict and len(types) != len(named):
                continue
            if any(t not in types or types[t] != name for t, name in exact.items()):
                continue
            if any(t not in types for t in specified):
                continue
            found.append((entity, dict(values)))
        return found

    # ---- enforcement (ClientQuotaManager) ----

    def _resolve(self, key: str, user: str, client_id: str) -> tuple[tuple[str, str], float | None]:
        """DefaultQuotaCallback: the sensor's tags (who shares it) and the quota bound, or None."""
        quotas = self._by_key[key]

        def get(u: str | bool | None, c: str | bool | None) -> float | None:
            pairs: list[tuple[str, str | None]] = []
            if c is not False:
                pairs.append((CLIENT_ID, c))  # type: ignore[arg-type]
            if u is not False:
                pairs.append((USER, u))  # type: ignore[arg-type]
            return quotas.get(tuple(pairs))

        # The first level with a quota picks the tags (quotaMetricTags)...
        if get(user, client_id) is not None or get(user, None) is not None:
            tags = (user, client_id)
        elif get(user, False) is not None:
            tags = (user, "")
        elif get(None, client_id) is not None or get(None, None) is not None:
            tags = (user, client_id)
        elif get(None, False) is not None:
            tags = (user, "")
        else:
            tags = ("", client_id)
        # ...and the tags pick the bound (quotaLimit).
        tag_user, tag_client = tags
        bound: float | None = None
        if tag_user and tag_client:
            for u, c in ((tag_user, tag_client), (tag_user, None), (None, tag_client), (None, None)):
                bound = get(u, c)
                if bound is not None:
                    break
        elif tag_user:
            bound = get(tag_user, False)
            if bound is None:
                bound = get(None, False)
        elif tag_client:
            bound = get(False, tag_client)
            if bound is None:
                bound = get(False, None)
        return tags, bound

    def quota(self, key: str, user: str, client_id: str) -> float | None:
        """The bound that applies to this user (principal name) and client id, or None."""
        resolved = self._resolved.get((key, user, client_id))
        if resolved is None:
            resolved = self._resolved[(key, user, client_id)] = self._resolve(key, user, client_id)
        return resolved[1]

    def record(self, key: str, user: str, client_id: str, value: float, now_ms: int | None = None,
               cap_ms: int | None = None) -> int:
        """Record ``value`` against the sensor this client shares; the throttle time in ms (0 within quota)."""
        resolved = self._resolved.get((key, user, client_id))
        if resolved is None:
            resolved = self._resolved[(key, user, client_id)] = self._resolve(key, user, client_id)
        tags, bound = resolved
        if bound is None:
            return 0
        now = self.now_ms() if now_ms is None else now_ms
        sensor_key = (key, *tags)
        rate = self._sensors.get(sensor_key)
        if rate is None:
            if len(self._sensors) >= _SWEEP_EVERY:
                self._sweep(now)
            rate = self._sensors[sensor_key] = Rate(self.samples, self.window_ms, now)
        rate.record(value, now)
        throttle = throttle_time_ms(rate, bound, now)
        return min(throttle, cap_ms) if cap_ms is not None else throttle

    def unrecord(self, key: str, user: str, client_id: str, value: float, now_ms: int) -> None:
        """Take back a recorded value (a throttled fetch answers without its data, as Kafka does)."""
        tags, bound = self._resolved.get((key, user, client_id)) or self._resolve(key, user, client_id)
        rate = self._sensors.get((key, *tags))
        if rate is not None and bound is not None:
            rate.record(-value, now_ms)

    def _sweep(self, now_ms: int) -> None:
        for sensor_key, rate in list(self._sensors.items()):
            if now_ms - rate.last_used_ms >= SENSOR_EXPIRY_MS:
                del self._sensors[sensor_key]


def user_of(principal: str) -> str:
    """Kafka's principal.getName: ``User:alice`` -> ``alice``."""
    return principal.partition(":")[2] if ":" in principal else principal
