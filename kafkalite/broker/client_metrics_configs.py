"""CLIENT_METRICS config resources (type 16): KIP-714 client metrics subscriptions.

A subscription is a named set of three configs, as Kafka 4.4 defines them: ``metrics`` (metric
name prefixes, ``*`` for all), ``interval.ms`` (the push interval, 100 ms to 1 hour, default 5
minutes) and ``match`` (``attribute=regex`` entries that must all fully match the client:
client_instance_id, client_id, client_software_name, client_software_version,
client_source_address, client_source_port; none matches every client). They are described,
altered and listed through DescribeConfigs, AlterConfigs, IncrementalAlterConfigs and
ListConfigResources (the handlers call this module) and kept in ``client-metrics.json`` in the
data dir, so they survive a restart. A subscription left with no configs is removed.

What a live Kafka 4.4.0 answered, and kafkalite answers alike: a subscription that does not
exist is described with the three defaults (source DEFAULT, no synonyms); a set one has source
CLIENT_METRICS_CONFIG (7) with itself as its only synonym; list values are stored trimmed; an
empty name, an unknown config or an interval out of range is INVALID_REQUEST, a value that is
not an INT or a bad match entry INVALID_CONFIG, with Kafka's messages; APPEND and SUBTRACT are
refused even for the LIST configs ("Can't APPEND to key metrics because its type is not LIST.").
``match`` regexes are Java ``Pattern`` syntax in Kafka; kafkalite compiles them with Python's
``re``, which agrees on the usual forms (``.*``, classes, alternation, anchors).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafkalite.broker.configs import ResourceError
from kafkalite.errors import ErrorCode
from kafkalite.storage.fs import REAL_FS, FileSystem, atomic_write

log = logging.getLogger(__name__)

CLIENT_METRICS = 16
METRICS, INTERVAL_MS, MATCH = "metrics", "interval.ms", "match"
ALL_METRICS = "*"
DEFAULT_INTERVAL_MS = 300_000
MIN_INTERVAL_MS, MAX_INTERVAL_MS = 100, 3_600_000
MATCH_ATTRIBUTES = frozenset({
    "client_instance_id", "client_id", "client_software_name", "client_software_version",
    "client_source_address", "client_source_port",
})
FILE_NAME = "client-metrics.json"

SOURCE_DEFAULT, SOURCE_CLIENT_METRICS = 5, 7
_INT, _LIST = 3, 7
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3
#: name -> (config type, default value as described, documentation), Kafka's ClientMetricsConfigs.
CONFIGS: dict[str, tuple[int, str, str]] = {
    INTERVAL_MS: (_INT, str(DEFAULT_INTERVAL_MS), "Metrics push interval in milliseconds"),
    MATCH: (_LIST, "", "Client match criteria"),
    METRICS: (_LIST, "", "Telemetry metric name prefix list"),
}


class ClientMetricsError(ResourceError):
    """A subscription's failure, answered with Kafka's code and message (a ResourceError to the handlers)."""


def _list(value: str) -> list[str]:
    """Kafka's ConfigDef LIST parsing: comma-separated, each item trimmed, "" is the empty list."""
    value = value.strip()
    return [item.strip() for item in value.split(",")] if value else []


def parse_match(entries: Iterable[str]) -> dict[str, re.Pattern[str]]:
    """``attribute=regex`` entries -> compiled patterns; INVALID_CONFIG for a bad entry, as Kafka."""
    patterns: dict[str, re.Pattern[str]] = {}
    for entry in entries:
        # Java's split("=") drops trailing empty strings: "a=" has one part, "a=b=c" three.
        parts = entry.split("=")
        while parts and parts[-1] == "":
            parts.pop()
        attribute = parts[0].strip() if len(parts) == 2 else ""
        if attribute not in MATCH_ATTRIBUTES:
            raise ClientMetricsError(ErrorCode.INVALID_CONFIG, f"Illegal client matching pattern: {entry}")
        try:
            patterns[attribute] = re.compile(parts[1].strip())
        except re.error:
            raise ClientMetricsError(ErrorCode.INVALID_CONFIG, f"Illegal client matching pattern: {entry}") from None
    return patterns


def validate(name: str, configs: dict[str, str]) -> dict[str, str]:
    """The configs as stored, checked in Kafka's order (ClientMetricsConfigs.validate)."""
    if not name:
        raise ClientMetricsError(ErrorCode.INVALID_REQUEST, "Subscription name can't be empty")
    for key in configs:
        if key not in CONFIGS:
            raise ClientMetricsError(ErrorCode.INVALID_REQUEST, f"Unknown client metrics configuration: {key}")
    stored: dict[str, str] = {}
    if INTERVAL_MS in configs:
        raw = configs[INTERVAL_MS].strip()
        try:
            interval = int(raw)
            if not -(2**31) <= interval < 2**31:
                raise ValueError(raw)
        except ValueError:
            message = f"Invalid value {configs[INTERVAL_MS]} for configuration {INTERVAL_MS}: Not a number of type INT"
            raise ClientMetricsError(ErrorCode.INVALID_CONFIG, message) from None
        if not MIN_INTERVAL_MS <= interval <= MAX_INTERVAL_MS:
            raise ClientMetricsError(
                ErrorCode.INVALID_REQUEST,
                f"Invalid value {interval} for {INTERVAL_MS}, interval must be between 100 and 3600000 (1 hour)",
            )
        stored[INTERVAL_MS] = str(interval)
    if MATCH in configs:
        parse_match(_list(configs[MATCH]))
        stored[MATCH] = ",".join(_list(configs[MATCH]))
    if METRICS in configs:
        stored[METRICS] = ",".join(_list(configs[METRICS]))
    return stored


@dataclass(frozen=True)
class Subscription:
    """One subscription, parsed: what ``match`` selects and what it asks those clients for."""

    name: str
    metrics: tuple[str, ...] = ()
    interval_ms: int = DEFAULT_INTERVAL_MS
    match: dict[str, re.Pattern[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, name: str, configs: dict[str, str]) -> Subscription:
        return cls(
            name,
            tuple(_list(configs.get(METRICS, ""))),
            int(configs.get(INTERVAL_MS, DEFAULT_INTERVAL_MS)),
            parse_match(_list(configs.get(MATCH, ""))),
        )

    def matches(self, attributes: dict[str, str | None]) -> bool:
        """Every pattern fully matches its attribute (an unknown attribute matches nothing)."""
        for attribute, pattern in self.match.items():
            value = attributes.get(attribute)
            if value is None or pattern.fullmatch(value) is None:
                return False
        return True


def _java_string_hash(text: str) -> int:
    h = 0
    for unit in text.encode("utf-16-be").hex(" ", 2).split():
        h = (31 * h + int(unit, 16)) & 0xFFFFFFFF
    return h


def java_hash_set_order(items: Iterable[str]) -> list[str]:
    """``items`` in the order a ``java.util.HashSet`` filled with them iterates.

    Kafka sends a client its subscribed metrics as a HashSet's list and derives the subscription
    id from the set's ``toString()``; the same order gives kafkalite the same ids and answers.
    Buckets by the spread hash over the table size (16, doubled past 3/4 full); insertion order
    within a bucket.
    """
    unique = list(dict.fromkeys(items))
    capacity = 16
    while len(unique) > capacity * 3 // 4:
        capacity *= 2

    def bucket(text: str) -> int:
        h = _java_string_hash(text)
        return (h ^ (h >> 16)) & (capacity - 1)

    return sorted(unique, key=bucket)  # sorted() is stable: insertion order within a bucket


class ClientMetricsConfigs:
    """The broker's client metrics subscriptions, persisted in ``client-metrics.json``.

    ``version`` grows with every change, so client instances know to re-evaluate their
    subscription (as Kafka's subscriptionUpdateVersion).
    """

    def __init__(self, data_dir: Path | None, fs: FileSystem = REAL_FS) -> None:
        self.path = data_dir / FILE_NAME if data_dir is not None else None
        self.fs = fs
        self.configs: dict[str, dict[str, str]] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.version = 0

    def open(self) -> None:
        if self.path is None or not self.path.exists():
            return
        raw = json.loads(self.path.read_text())
        for name, configs in raw.get("subscriptions", {}).items():
            try:
                self.subscriptions[name] = Subscription.of(name, configs)
                self.configs[name] = dict(configs)
            except (ClientMetricsError, ValueError) as exc:  # kept as Kafka keeps what it once accepted
                log.error("client metrics subscription %s ignored: %s", name, exc)
        self.version += 1

    def _save(self, configs: dict[str, dict[str, str]]) -> None:
        if self.path is None:
            return
        data = json.dumps({"version": 1, "subscriptions": configs}, indent=1, sort_keys=True).encode()
        try:
            atomic_write(self.path, data, self.fs)
        except OSError as exc:
            raise ClientMetricsError(ErrorCode.KAFKA_STORAGE_ERROR, f"Cannot save the configs: {exc}") from None

    # ---- the config APIs ------------------------------------------------------------------------

    def names(self) -> list[str]:
        """ListConfigResources: every subscription's name, sorted."""
        return sorted(self.configs)

    def describe(self, name: str, keys: list[str] | None, synonyms: bool, documentation: bool) -> list[dict[str, Any]]:
        """DescribeConfigs entries of one subscription (defaults for one that does not exist)."""
        if not name:
            raise ClientMetricsError(ErrorCode.INVALID_REQUEST, "Client metrics subscription name must not be empty")
        current = self.configs.get(name, {})
        out = []
        for key, (ctype, default, doc) in sorted(CONFIGS.items()):
            if keys is not None and key not in keys:
                continue
            is_set = key in current
            value = current[key] if is_set else default
            source = SOURCE_CLIENT_METRICS if is_set else SOURCE_DEFAULT
            out.append({
                "name": key,
                "value": value,
                "read_only": False,
                "config_source": source,
                "is_default": not is_set,
                "is_sensitive": False,
                "synonyms": [{"name": key, "value": value, "source": source}] if synonyms and is_set else [],
                "config_type": ctype,
                "documentation": doc if documentation else None,
            })
        return out

    def incremental(self, name: str, ops: list[tuple[str, int, str | None]], validate_only: bool) -> None:
        """IncrementalAlterConfigs: SET and DELETE (APPEND/SUBTRACT refused as Kafka 4.4 does)."""
        configs: dict[str, str] = dict(self.configs.get(name, {}))
        for key, op, value in ops:
            if op == SET:
                configs[key] = value or ""
            elif op == DELETE:
                configs.pop(key, None)
            elif op in (APPEND, SUBTRACT):
                verb = "APPEND" if op == APPEND else "SUBTRACT"
                raise ClientMetricsError(
                    ErrorCode.INVALID_CONFIG, f"Can't {verb} to key {key} because its type is not LIST."
                )
            else:
                raise ClientMetricsError(ErrorCode.UNKNOWN_SERVER_ERROR, None)
        self.replace(name, configs, validate_only)

    def replace(self, name: str, configs: dict[str, str], validate_only: bool) -> None:
        """Make ``configs`` the subscription's whole set (AlterConfigs); none left removes it."""
        stored = validate(name, configs)
        if validate_only:
            return
        updated = dict(self.configs)
        if stored:
            updated[name] = stored
        elif name in updated:
            del updated[name]
        else:
            return  # deleting from a subscription that does not exist changes nothing
        self._save(updated)
        self.configs = updated
        if stored:
            self.subscriptions[name] = Subscription.of(name, stored)
        else:
            self.subscriptions.pop(name, None)
        self.version += 1

    # ---- matching ---------------------------------------------------------------------------------

    def subscribed(self, attributes: dict[str, str | None]) -> tuple[list[str], int]:
        """(requested metrics, push interval) for a client with these attributes, as Kafka combines them.

        The union of the metrics of every matching subscription (just ``*`` if one asks for all),
        the shortest of their intervals; no match: no metrics, the default interval.
        """
        interval = DEFAULT_INTERVAL_MS
        metrics: list[str] = []
        every = False
        for subscription in self.subscriptions.values():
            if subscription.matches(attributes):
                every = every or ALL_METRICS in subscription.metrics
                metrics += subscription.metrics
                interval = min(interval, subscription.interval_ms)
        if every:
            return [ALL_METRICS], interval
        return java_hash_set_order(metrics), interval
