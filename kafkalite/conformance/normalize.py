"""What legitimately differs between two correct brokers, taken out of their answers before comparing.

Every rule here is listed in CONFORMANCE.md ("What is normalised"). Generated identifiers are not
dropped but numbered by first appearance within a scenario (``<member:1>``, ``<pid:2>``), so a
broker that answers a different member id where Kafka repeats one still differs.
"""

from __future__ import annotations

import json
import time
from typing import Any

DAY_MS = 86_400_000
ZERO_UUID = "00000000-0000-0000-0000-000000000000"

DROPPED = frozenset({"throttle_time_ms"})
#: Fields whose value (unless null or 0) depends on the deployment, not on behaviour.
OPAQUE = {
    "cluster_id": "<cluster-id>",
    "host": "<host>",
    "port": "<port>",
    "error_message": "<message>",
    "log_dir": "<log-dir>",
    "finalized_features_epoch": "<features-epoch>",
    "total_bytes": "<bytes>",
    "usable_bytes": "<bytes>",
    "session_id": "<fetch-session>",
    "client_host": "<client-host>",
    "documentation": "<documentation>",
}
#: Generated identifiers, numbered per scenario: field name -> kind.
IDENTIFIERS = {
    "topic_id": "topic-id",
    "member_id": "member",
    "leader": "member",
    "producer_id": "pid",
    "client_instance_id": "client-instance",
}
#: Arrays whose order is part of the answer (everything else is sorted before comparing).
ORDERED = frozenset({"$batches", "records", "$messages", "replica_nodes", "offline_replicas"})
#: Node sets of a partition: the ISR and (KIP-966) eligible leader replicas. Kafka keeps the ISR in whatever
#: order its controller rebuilt it (a reassignment reorders the replicas, not the ISR); membership is the
#: contract. Sorted before comparing, whether node ids or relabelled placement (``<n1>``).
NODE_SETS = frozenset({"isr_nodes", "eligible_leader_replicas", "last_known_elr"})
#: Arrays of plain values a broker fills from a set, so their order means nothing (sorted before comparing):
#: DescribeTransactions' partitions of a topic in a transaction.
UNORDERED_VALUES = frozenset({"partitions"})
#: Arrays of strings filled from a set: SaslHandshake's enabled mechanisms (Kafka lists them from a hash map,
#: not in sasl.enabled.mechanisms order; clients only look for theirs).
UNORDERED_STRINGS = frozenset({"mechanisms"})


class Normaliser:
    """Normalises the answers of one scenario run, remembering generated ids across its steps."""

    def __init__(self, names: dict[str, str], now_ms: int | None = None) -> None:
        # Longest first, so "t-x-2" is not rewritten through its prefix "t-x".
        self.names = sorted(((v, f"${{{k}}}") for k, v in names.items()), key=lambda kv: -len(kv[0]))
        self.now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        self.ids: dict[str, dict[Any, str]] = {}
        #: OPAQUE fields compared as they are for the step at hand (its ``exact``), e.g. the
        #: SASL_AUTHENTICATION_FAILED message, which Kafka's clients show and kafkalite copies.
        self.exact: frozenset[str] = frozenset()

    def __call__(self, value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: self(v, k) for k, v in value.items() if k not in DROPPED}
        if isinstance(value, list):
            items = [self(v, key) for v in value]
            if key not in ORDERED and items and all(isinstance(v, dict) for v in items):
                items.sort(key=lambda v: json.dumps(v, sort_keys=True))
            elif _plain_set(key, items):
                items.sort()
            return items
        if key in OPAQUE and value is not None and value != 0 and key not in self.exact:
            return OPAQUE[key]
        if key in IDENTIFIERS:
            return self._identifier(IDENTIFIERS[key], value)
        if isinstance(value, str):
            return self._names(value)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value - self.now_ms) < DAY_MS:
            return "<now>"  # a wall-clock time: append time, transaction start, last timestamp
        return value

    def _identifier(self, kind: str, value: Any) -> Any:
        if value in (None, "", ZERO_UUID) or (isinstance(value, int) and value < 0):
            return value
        known = self.ids.setdefault(kind, {})
        if value not in known:
            known[value] = f"<{kind}:{len(known) + 1}>"
        return known[value]

    def _names(self, text: str) -> str:
        for real, placeholder in self.names:
            if real in text:
                text = text.replace(real, placeholder)
        return text


def _plain_set(key: str, items: list[Any]) -> bool:
    """Whether ``items`` is an array of plain values a broker fills from a set (sorted before comparing)."""
    if key in NODE_SETS:
        return all(isinstance(v, int) and not isinstance(v, bool) for v in items) or all(
            isinstance(v, str) for v in items)
    if key in UNORDERED_VALUES:
        return all(isinstance(v, int) and not isinstance(v, bool) for v in items)
    return key in UNORDERED_STRINGS and all(isinstance(v, str) for v in items)


def diff(expected: Any, actual: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Differences as (dotted path, expected, actual); lists compare item by item."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[tuple[str, Any, Any]] = []
        for key in sorted(set(expected) | set(actual)):
            sub = f"{path}.{key}" if path else key
            if key not in actual:
                out.append((sub, expected[key], "<absent>"))
            elif key not in expected:
                out.append((sub, "<absent>", actual[key]))
            else:
                out.extend(diff(expected[key], actual[key], sub))
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        out = []
        for i in range(max(len(expected), len(actual))):
            sub = f"{path}.{i}" if path else str(i)
            if i >= len(actual):
                out.append((sub, expected[i], "<absent>"))
            elif i >= len(expected):
                out.append((sub, "<absent>", actual[i]))
            else:
                out.extend(diff(expected[i], actual[i], sub))
        return out
    return [] if expected == actual else [(path, expected, actual)]
