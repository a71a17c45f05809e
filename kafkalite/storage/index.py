"""Sparse offset and time indexes of one segment, in Kafka's on-disk layout.

``.index`` entries are (relative offset int32, file position int32); ``.timeindex`` entries
are (timestamp int64, relative offset int32). Both are appended as batches are written and
held in memory as parallel arrays for bisection. An index is only a hint: a missing or
damaged one is rebuilt from the log, so it is never fsynced on the produce path, and new
entries reach the file only when the segment is flushed, rolled or closed (as Kafka's mmapped
indexes do). After a crash, the active segment's indexes are rebuilt by recovery anyway.
"""

from __future__ import annotations

import bisect
import os
import struct
from array import array
from pathlib import Path

from kafkalite.storage.fs import REAL_FS, FileSystem

_OFFSET_ENTRY = struct.Struct(">ii")
_TIME_ENTRY = struct.Struct(">qi")


class _IndexFile:
    """Append-only file of fixed-size entries; owns its file descriptor."""

    entry: struct.Struct

    def __init__(self, path: Path, fs: FileSystem = REAL_FS) -> None:
        self.path = path
        self._fs = fs
        self._fd = fs.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        self._unwritten = bytearray()  # entries not yet in the file (see the module docstring)

    def _read_entries(self) -> list[tuple[int, ...]]:
        data = self.path.read_bytes()
        usable = len(data) - len(data) % self.entry.size
        return [self.entry.unpack_from(data, pos) for pos in range(0, usable, self.entry.size)]

    def _append(self, *values: int) -> None:
        self._unwritten += self.entry.pack(*values)

    def _reset(self) -> None:
        self._unwritten = bytearray()
        self._fs.ftruncate(self._fd, 0)

    def _forget_unwritten(self, entries: int) -> bool:
        """Drop the last ``entries`` entries if none has reached the file yet."""
        size = entries * self.entry.size
        if size > len(self._unwritten):
            return False
        del self._unwritten[len(self._unwritten) - size :]
        return True

    def write_pending(self) -> None:
        if self._unwritten:
            self._fs.write(self._fd, self._unwritten)
            self._unwritten = bytearray()

    def flush(self) -> None:
        self.write_pending()
        self._fs.fsync(self._fd)

    def close(self) -> None:
        self.write_pending()
        self._fs.close(self._fd)

    def discard(self) -> None:
        """Close without writing what is pending (the segment is being deleted)."""
        self._unwritten = bytearray()
        self._fs.close(self._fd)


class OffsetIndex(_IndexFile):
    """Maps relative offsets to file positions of the batches that start there."""

    entry = _OFFSET_ENTRY

    def __init__(self, path: Path, fs: FileSystem = REAL_FS) -> None:
        super().__init__(path, fs)
        self.offsets = array("q")
        self.positions = array("q")
        for rel, pos in self._read_entries():
            self.offsets.append(rel)
            self.positions.append(pos)

    def sane(self, log_size: int) -> bool:
        """Kafka's sanity check: strictly increasing entries that point inside the log."""
        prev_off, prev_pos = -1, -1
        for off, pos in zip(self.offsets, self.positions):
            if off <= prev_off or pos <= prev_pos or pos >= log_size:
                return False
            prev_off, prev_pos = off, pos
        return True

    def append(self, relative_offset: int, position: int) -> None:
        self.offsets.append(relative_offset)
        self.positions.append(position)
        self._append(relative_offset, position)

    def lookup(self, relative_offset: int) -> tuple[int, int]:
        """Greatest entry at or below ``relative_offset``: (relative offset, position)."""
        i = bisect.bisect_right(self.offsets, relative_offset) - 1
        if i < 0:
            return 0, 0
        return self.offsets[i], self.positions[i]

    def truncate_to_position(self, position: int) -> None:
        """Drop entries at or past ``position`` (after the log was truncated there)."""
        keep = bisect.bisect_left(self.positions, position)
        if keep == len(self.positions):
            return
        del self.offsets[keep:]
        del self.positions[keep:]
        self._reset()
        for off, pos in zip(self.offsets, self.positions):
            self._append(off, pos)
        self.write_pending()  # truncation is rare: the file matches memory at once

    def clear(self) -> None:
        del self.offsets[:]
        del self.positions[:]
        self._reset()

    def keep_first(self, count: int) -> None:
        """Forget entries past the first ``count`` (the log write they indexed failed)."""
        extra = len(self.offsets) - count
        if extra <= 0:
            return
        if self._forget_unwritten(extra):
            del self.offsets[count:]
            del self.positions[count:]
        else:
            self.truncate_to_position(self.positions[count])


class TimeIndex(_IndexFile):
    """Maps timestamps to the first relative offset whose batch reaches them."""

    entry = _TIME_ENTRY

    def __init__(self, path: Path, fs: FileSystem = REAL_FS) -> None:
        super().__init__(path, fs)
        self.timestamps = array("q")
        self.offsets = array("q")
        for ts, rel in self._read_entries():
            self.timestamps.append(ts)
            self.offsets.append(rel)

    def sane(self) -> bool:
        return all(
            a < b and oa < ob
            for a, b, oa, ob in zip(self.timestamps, self.timestamps[1:], self.offsets, self.offsets[1:])
        )

    @property
    def last_timestamp(self) -> int:
        return self.timestamps[-1] if self.timestamps else -1

    def append(self, timestamp: int, relative_offset: int) -> None:
        if self.timestamps and (timestamp <= self.timestamps[-1] or relative_offset <= self.offsets[-1]):
            return
        self.timestamps.append(timestamp)
        self.offsets.append(relative_offset)
        self._append(timestamp, relative_offset)

    def lookup(self, timestamp: int) -> int:
        """Relative offset from which a scan finds the first batch reaching ``timestamp``."""
        i = bisect.bisect_left(self.timestamps, timestamp) - 1
        return self.offsets[i] if i >= 0 else 0

    def truncate_to_offset(self, relative_offset: int) -> None:
        keep = bisect.bisect_left(self.offsets, relative_offset)
        if keep == len(self.offsets):
            return
        del self.timestamps[keep:]
        del self.offsets[keep:]
        self._reset()
        for ts, off in zip(self.timestamps, self.offsets):
            self._append(ts, off)
        self.write_pending()

    def clear(self) -> None:
        del self.timestamps[:]
        del self.offsets[:]
        self._reset()

    def keep_first(self, count: int) -> None:
        """Forget entries past the first ``count`` (the log write they indexed failed)."""
        extra = len(self.offsets) - count
        if extra <= 0:
            return
        if self._forget_unwritten(extra):
            del self.timestamps[count:]
            del self.offsets[count:]
        else:
            self.truncate_to_offset(self.offsets[count])


_TXN_ENTRY = struct.Struct(">hqqqq")


class AbortedTxn(tuple[int, int, int]):
    """(producer id, first offset, last offset): a transaction aborted in this partition."""

    __slots__ = ()

    @property
    def producer_id(self) -> int:
        return self[0]

    @property
    def first_offset(self) -> int:
        return self[1]

    @property
    def last_offset(self) -> int:
        return self[2]


class TxnIndex:
    """A segment's ``.txnindex``: aborted transactions whose abort marker lies in the segment.

    Kafka's layout (version int16, producer id, first offset, last offset, last stable offset).
    The file is created only when the first abort is recorded.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: list[AbortedTxn] = []
        if path.exists():
            data = path.read_bytes()
            usable = len(data) - len(data) % _TXN_ENTRY.size
            for pos in range(0, usable, _TXN_ENTRY.size):
                _v, pid, first, last, _lso = _TXN_ENTRY.unpack_from(data, pos)
                self.entries.append(AbortedTxn((pid, first, last)))

    def append(self, entry: AbortedTxn, last_stable_offset: int) -> None:
        self.entries.append(entry)
        with open(self.path, "ab") as fh:
            fh.write(_TXN_ENTRY.pack(0, entry.producer_id, entry.first_offset, entry.last_offset, last_stable_offset))

    def truncate_from(self, offset: int) -> None:
        """Forget entries whose marker is at or after ``offset`` (they are about to be replayed)."""
        keep = [e for e in self.entries if e.last_offset < offset]
        if len(keep) == len(self.entries):
            return
        self.entries = keep
        with open(self.path, "wb") as fh:
            for e in keep:
                fh.write(_TXN_ENTRY.pack(0, e.producer_id, e.first_offset, e.last_offset, -1))

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)
