"""Java ``HashMap``/``HashSet`` iteration order, for the assignors that Kafka writes against it.

Some of Kafka's assignor builders walk a ``HashSet``/``HashMap`` (topic ids, topic-partitions,
member indices) and the walk order decides who gets what. To give the same answer as Kafka for the
same input, those walks are replayed in Java's order: bins by ``(h ^ h >>> 16) & (capacity - 1)``,
within a bin by the order of the calls that filled it (``put`` appends, ``computeIfAbsent`` prepends),
the table doubling past 0.75 x capacity. Tree bins (8+ keys in one bin) never occur at these sizes.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_MASK32 = 0xFFFFFFFF
_MASK64 = 0xFFFFFFFFFFFFFFFF


def uuid_hash(topic_id: uuid.UUID) -> int:
    """``org.apache.kafka.common.Uuid.hashCode()``: the two longs xor-ed, then folded to an int."""
    h = ((topic_id.int >> 64) ^ topic_id.int) & _MASK64
    return ((h >> 32) ^ h) & _MASK32


def topic_partition_hash(tp: tuple[uuid.UUID, int]) -> int:
    """``TopicIdPartition`` (a record): ``31 * topicId.hashCode() + partitionId``."""
    return (31 * uuid_hash(tp[0]) + tp[1]) & _MASK32


def int_hash(value: int) -> int:
    return value & _MASK32


def uuid_sort_key(topic_id: uuid.UUID) -> tuple[int, int]:
    """``Uuid.compareTo``: most significant long, then least, both signed."""
    msb, lsb = topic_id.int >> 64, topic_id.int & _MASK64
    return (msb - (1 << 64) if msb >= 1 << 63 else msb, lsb - (1 << 64) if lsb >= 1 << 63 else lsb)


def table_size_for(capacity: int) -> int:
    n = 1
    while n < capacity:
        n <<= 1
    return n


def _f32(value: float) -> float:
    return float(struct.unpack("f", struct.pack("f", value))[0])


def sized_capacity(expected: int) -> int:
    """The capacity ``AssignorHelpers.newHashMap/newHashSet(expected)`` asks for, in Java float
    arithmetic: ``(int) ((expected + 1) / 0.75f + 1)``."""
    return int(_f32(_f32(_f32(float(expected + 1)) / _f32(0.75)) + 1.0))


def collection_capacity(size: int) -> int:
    """The capacity ``new HashSet<>(collection)`` asks for: ``max((int) (size / .75f) + 1, 16)``."""
    return max(int(_f32(_f32(float(size)) / _f32(0.75))) + 1, 16)


class JavaHashMap(Generic[K, V]):
    """A dict that iterates in the order a ``java.util.HashMap`` fed the same calls would: a table of
    bins, ``put`` appending to a bin (then growing when the size passes the threshold),
    ``computeIfAbsent`` growing first and inserting at the head of the bin (as JDK 17 does), a resize
    splitting each bin in two in order."""

    def __init__(self, hash_fn: Callable[[K], int], initial_capacity: int | None = None) -> None:
        self._hash = hash_fn
        self._threshold = 0 if initial_capacity is None else table_size_for(initial_capacity)
        self._table: list[list[K]] = []
        self._values: dict[K, V] = {}

    def _spread(self, key: K) -> int:
        h = self._hash(key) & _MASK32
        return h ^ (h >> 16)

    def _resize(self) -> None:
        old_capacity = len(self._table)
        if old_capacity > 0:
            capacity = old_capacity << 1
            threshold = self._threshold << 1 if old_capacity >= 16 else int(capacity * 0.75)
        elif self._threshold > 0:
            capacity = self._threshold
            threshold = int(capacity * 0.75)
        else:
            capacity, threshold = 16, 12
        table: list[list[K]] = [[] for _ in range(capacity)]
        for index, bin_ in enumerate(self._table):
            for key in bin_:
                table[index + (old_capacity if self._spread(key) & old_capacity else 0)].append(key)
        self._table, self._threshold = table, threshold

    def _bin(self, key: K) -> list[K]:
        return self._table[self._spread(key) & (len(self._table) - 1)]

    def put(self, key: K, value: V) -> None:
        if not self._table:
            self._resize()
        if key not in self._values:
            self._bin(key).append(key)
            self._values[key] = value
            if len(self._values) > self._threshold:
                self._resize()
        else:
            self._values[key] = value

    def compute_if_absent(self, key: K, factory: Callable[[], V]) -> V:
        if len(self._values) > self._threshold or not self._table:
            self._resize()
        if key in self._values:
            return self._values[key]
        value = factory()
        self._bin(key).insert(0, key)
        self._values[key] = value
        return value

    def get(self, key: K) -> V | None:
        return self._values.get(key)

    def __getitem__(self, key: K) -> V:
        return self._values[key]

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __len__(self) -> int:
        return len(self._values)

    def remove(self, key: K) -> bool:
        if key not in self._values:
            return False
        del self._values[key]
        self._bin(key).remove(key)
        return True

    def keys(self) -> list[K]:
        """A snapshot of the keys in Java's iteration order."""
        return [key for bin_ in self._table for key in bin_]

    def items(self) -> list[tuple[K, V]]:
        return [(k, self._values[k]) for k in self.keys()]

    def __iter__(self) -> Iterator[K]:
        return iter(self.keys())


class JavaHashSet(Generic[K]):
    """A set that iterates in ``java.util.HashSet`` order (a ``JavaHashMap`` of keys)."""

    def __init__(self, hash_fn: Callable[[K], int], initial_capacity: int | None = None) -> None:
        self._map: JavaHashMap[K, None] = JavaHashMap(hash_fn, initial_capacity)

    def add(self, key: K) -> None:
        self._map.put(key, None)

    def remove(self, key: K) -> bool:
        return self._map.remove(key)

    def __contains__(self, key: object) -> bool:
        return key in self._map

    def __len__(self) -> int:
        return len(self._map)

    def __iter__(self) -> Iterator[K]:
        return iter(self._map.keys())
