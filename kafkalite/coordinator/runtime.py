"""Records first, then replay: the one path by which coordinator state changes (Kafka's CoordinatorRuntime).

A coordinator operation does not mutate durable state. It validates the request against the
current state and returns a :class:`CoordinatorResult`: the records that describe the change and
the response to send once they are persisted. :class:`CoordinatorLog` appends the records to the
coordinator's metadata log (fsyncing them first under the ``always`` policy) and only then
applies them through the coordinator's ``replay``, the same method that rebuilds the state when
the broker starts. A record's layout therefore lives in one place, and memory can never be ahead
of the disk: if the append fails, nothing changed and the caller answers with an error.

Volatile state that Kafka never persists either (members waiting in JoinGroup, timers,
responders) is changed directly by the coordinator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

R = TypeVar("R")


class Record(Protocol):
    """A persisted coordinator record (defined in ``coordinator/records.py``)."""

    def to_json(self) -> dict[str, Any]: ...


@dataclass(slots=True)
class CoordinatorResult(Generic[R]):
    """What an operation wants persisted, and what to answer once it is."""

    records: list[Record] = field(default_factory=list)
    response: R | None = None


class Replayable(Protocol):
    def replay(self, record: Record) -> None: ...


class AppendOnlyLog(Protocol):
    """The storage side (``storage.metadata_log.MetadataLog``)."""

    def append_batch(self, records: list[dict[str, Any]]) -> None:
        """All of them or none (a failed write is truncated away)."""
        ...

    def flush(self) -> None: ...


class CoordinatorLog:
    """Persists a coordinator's records, then replays them into it; the coordinator's only writer."""

    def __init__(
        self,
        log: AppendOnlyLog,
        coordinator: Replayable,
        decode: Callable[[dict[str, Any]], Record],
        fsync: bool = False,
    ) -> None:
        self._log = log
        self._coordinator = coordinator
        self._decode = decode
        self.fsync = fsync  # the ``always`` policy: records are on disk before the response goes out

    def apply(self, result: CoordinatorResult[R]) -> R | None:
        """Persist ``result.records`` (raising OSError if the disk refuses them), replay them, return the response."""
        self.write(result.records)
        return result.response

    def write(self, records: Iterable[Record]) -> None:
        records = list(records)
        if not records:
            return
        self._log.append_batch([record.to_json() for record in records])
        if self.fsync:
            self._log.flush()
        for record in records:
            self._coordinator.replay(record)

    def load(self, raw: Iterator[dict[str, Any]]) -> int:
        """Replay persisted records at start-up; returns how many were applied."""
        count = 0
        for doc in raw:
            self._coordinator.replay(self._decode(doc))
            count += 1
        return count
