"""Java ``HashMap``/``HashSet`` iteration order, for the assignors that Kafka writes against it.

Some of Kafka's assignor builders walk a ``HashSet``/``HashMap`` (topic ids, topic-partitions,
member indices) and the walk order decides who gets what. To give the same answer as Kafka for the
same input, those walks are replayed in Java's order: buckets by ``(h ^ h >>> 16) & (capacity - 1)``,
within a bucket by insertion (a resize splits buckets keeping relative order), the table doubling
when the size passes 0.75 x capacity. Tree bins (8+ keys in one bucket) never occur at these sizes.
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
    """A dict that iterates in the order a ``java.util.HashMap`` built the same way would."""

    def __init__(self, hash_fn: Callable[[K], int], initial_capacity: int | None = None) -> None:
        self._hash = hash_fn
        self._capacity = 16 if initial_capacity is None else table_size_for(initial_capacity)
        self._entries: dict[K, tuple[int, V]] = {}
        self._seq = 0

    def put(self, key: K, value: V) -> None:
        if key in self._entries:
            self._entries[key] = (self._entries[key][0], value)
            return
        self._seq += 1
        self._entries[key] = (self._seq, value)
        while len(self._entries) > int(self._capacity * 0.75):
            self._capacity <<= 1

    def setdefault(self, key: K, factory: Callable[[], V]) -> V:
        if key not in self._entries:
            self.put(key, factory())
        return self._entries[key][1]

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        return None if entry is None else entry[1]

    def __getitem__(self, key: K) -> V:
        return self._entries[key][1]

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def remove(self, key: K) -> bool:
        return self._entries.pop(key, None) is not None

    def keys(self) -> list[K]:
        """A snapshot of the keys in Java's iteration order."""
        mask = self._capacity - 1

        def order(key: K) -> tuple[int, int]:
            h = self._hash(key) & _MASK32
            return ((h ^ (h >> 16)) & mask, self._entries[key][0])

        return sorted(self._entries, key=order)

    def items(self) -> list[tuple[K, V]]:
        return [(k, self._entries[k][1]) for k in self.keys()]

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
