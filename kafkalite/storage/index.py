"""Sparse offset and time indexes of one segment, in Kafka's on-disk layout.

``.index`` entries are (relative offset int32, file position int32); ``.timeindex`` entries
are (timestamp int64, relative offset int32). Both are appended as batches are written and
held in memory as parallel arrays for bisection. An index is only a hint: a missing or
damaged one is rebuilt from the log, so it is never fsynced on the produce path, and new
entries reach the file only when the segment is flushed, rolled or closed (as Kafka's mmapped
indexes do). After a crash, the active segment's indexes are rebuilt by recovery anyway.

Indexes are lazy (Kafka's LazyIndex): nothing is read until an entry is needed, and no file
descriptor is held between writes, so thousands of sealed segments cost no handles.
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
    """Append-only file of fixed-size entries, read on first use (Kafka's LazyIndex).

    Holds no file descriptor: entries are read the first time they are needed, and new ones
    are written when the segment is flushed, rolled or closed, each time with a short-lived
    descriptor. So a sealed segment's indexes cost neither a handle nor memory until read.
    """

    entry: struct.Struct

    def __init__(self, path: Path, new: bool = False, fs: FileSystem = REAL_FS) -> None:
        """``new``: the file is known to be empty (a segment just created), so never read it."""
        self.path = path
        self._fs = fs  # index writes go through it (a FaultyFS in tests)
        self._loaded = new
        self._unwritten = bytearray()  # entries not yet in the file (see the module docstring)
        self._unsynced = False  # written since the last fsync
        self._exists = not new  # a new segment's index file appears when first written or flushed
        self._truncate_on_write = False  # the file may hold stale entries that memory does not

    def _ensure_loaded(self) -> None:
        if not self._loaded:
            self._loaded = True
            try:
                data = self.path.read_bytes()
            except FileNotFoundError:
                data = b""
            usable = len(data) - len(data) % self.entry.size
            self._fill([self.entry.unpack_from(data, pos) for pos in range(0, usable, self.entry.size)])

    def _fill(self, entries: list[tuple[int, ...]]) -> None:
        raise NotImplementedError

    @property
    def loaded(self) -> bool:
        return self._loaded

    def assume_empty(self) -> None:
        """The log is empty, so no entry can be valid: skip reading; the first write replaces the file."""
        if not self._loaded:
            self._loaded = True
            self._truncate_on_write = True

    def _append(self, *values: int) -> None:
        self._unwritten += self.entry.pack(*values)

    def _reset(self) -> None:
        self._unwritten = bytearray()
        fd = self._fs.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self._fs.close(fd)
        self._unsynced = self._exists = True
        self._truncate_on_write = False

    def _forget_unwritten(self, entries: int) -> bool:
        """Drop the last ``entries`` entries if none has reached the file yet."""
        size = entries * self.entry.size
        if size > len(self._unwritten):
            return False
        del self._unwritten[len(self._unwritten) - size :]
        return True

    def write_pending(self) -> None:
        if self._unwritten:
            mode = os.O_TRUNC if self._truncate_on_write else os.O_APPEND
            fd = self._fs.open(self.path, os.O_WRONLY | os.O_CREAT | mode, 0o644)
            try:
                self._fs.write(fd, self._unwritten)
            finally:
                self._fs.close(fd)
            self._truncate_on_write = False
            self._unwritten = bytearray()
            self._unsynced = self._exists = True

    def flush(self) -> None:
        """Entries on disk and fsynced; the file exists afterwards, even empty (Kafka's layout)."""
        self.write_pending()
        if self._unsynced or not self._exists:
            self._exists = True
            fd = self._fs.open(self.path, os.O_RDONLY | os.O_CREAT, 0o644)
            try:
                self._fs.fsync(fd)
            finally:
                self._fs.close(fd)
            self._unsynced = False

    def close(self) -> None:
        self.write_pending()

    def discard(self) -> None:
        """Forget what is pending without writing it (the segment is being deleted)."""
        self._unwritten = bytearray()


class OffsetIndex(_IndexFile):
    """Maps relative offsets to file positions of the batches that start there."""

    entry = _OFFSET_ENTRY

    def __init__(self, path: Path, new: bool = False, fs: FileSystem = REAL_FS) -> None:
        super().__init__(path, new, fs)
        self._offsets = array("q")
        self._positions = array("q")

    def _fill(self, entries: list[tuple[int, ...]]) -> None:
        for rel, pos in entries:
            self._offsets.append(rel)
            self._positions.append(pos)

    @property
    def offsets(self) -> array[int]:
        self._ensure_loaded()
        return self._offsets

    @property
    def positions(self) -> array[int]:
        self._ensure_loaded()
        return self._positions

    def sane(self, log_size: int) -> bool:
        """Kafka's sanity check: strictly increasing entries that point inside the log."""
        prev_off, prev_pos = -1, -1
        for off, pos in zip(self.offsets, self.positions):
            if off <= prev_off or pos <= prev_pos or pos >= log_size:
                return False
            prev_off, prev_pos = off, pos
        return True

    def append(self, relative_offset: int, position: int) -> None:
        self._ensure_loaded()
        self._offsets.append(relative_offset)
        self._positions.append(position)
        self._append(relative_offset, position)

    def lookup(self, relative_offset: int) -> tuple[int, int]:
        """Greatest entry at or below ``relative_offset``: (relative offset, position)."""
        offsets = self.offsets
        i = bisect.bisect_right(offsets, relative_offset) - 1
        if i < 0:
            return 0, 0
        return offsets[i], self._positions[i]

    def truncate_to_position(self, position: int) -> None:
        """Drop entries at or past ``position`` (after the log was truncated there)."""
        positions = self.positions
        keep = bisect.bisect_left(positions, position)
        if keep == len(positions):
            return
        del self._offsets[keep:]
        del positions[keep:]
        self._reset()
        for off, pos in zip(self._offsets, positions):
            self._append(off, pos)
        self.write_pending()  # truncation is rare: the file matches memory at once

    def clear(self) -> None:
        self._loaded = True
        del self._offsets[:]
        del self._positions[:]
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

    def __init__(self, path: Path, new: bool = False, fs: FileSystem = REAL_FS) -> None:
        super().__init__(path, new, fs)
        self._timestamps = array("q")
        self._offsets = array("q")

    def _fill(self, entries: list[tuple[int, ...]]) -> None:
        for ts, rel in entries:
            self._timestamps.append(ts)
            self._offsets.append(rel)

    @property
    def timestamps(self) -> array[int]:
        self._ensure_loaded()
        return self._timestamps

    @property
    def offsets(self) -> array[int]:
        self._ensure_loaded()
        return self._offsets

    def sane(self) -> bool:
        timestamps, offsets = self.timestamps, self._offsets
        return all(
            a < b and oa < ob for a, b, oa, ob in zip(timestamps, timestamps[1:], offsets, offsets[1:])
        )

    @property
    def last_timestamp(self) -> int:
        timestamps = self.timestamps
        return timestamps[-1] if timestamps else -1

    def append(self, timestamp: int, relative_offset: int) -> None:
        timestamps = self.timestamps
        offsets = self._offsets
        if timestamps and (timestamp <= timestamps[-1] or relative_offset <= offsets[-1]):
            return
        timestamps.append(timestamp)
        offsets.append(relative_offset)
        self._append(timestamp, relative_offset)

    def lookup(self, timestamp: int) -> int:
        """Relative offset from which a scan finds the first batch reaching ``timestamp``."""
        i = bisect.bisect_left(self.timestamps, timestamp) - 1
        return self._offsets[i] if i >= 0 else 0

    def truncate_to_offset(self, relative_offset: int) -> None:
        offsets = self.offsets
        keep = bisect.bisect_left(offsets, relative_offset)
        if keep == len(offsets):
            return
        del self._timestamps[keep:]
        del offsets[keep:]
        self._reset()
        for ts, off in zip(self._timestamps, offsets):
            self._append(ts, off)
        self.write_pending()

    def clear(self) -> None:
        self._loaded = True
        del self._timestamps[:]
        del self._offsets[:]
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
    The file is created only when the first abort is recorded, and read on first use.
    """

    def __init__(self, path: Path, new: bool = False) -> None:
        self.path = path
        self._entries: list[AbortedTxn] | None = [] if new else None

    def assume_absent(self) -> None:
        """The file is known not to exist (the directory was just listed): nothing to read."""
        if self._entries is None:
            self._entries = []

    @property
    def entries(self) -> list[AbortedTxn]:
        entries = self._entries
        if entries is None:
            entries = self._entries = []
            try:
                data = self.path.read_bytes()
            except FileNotFoundError:
                data = b""
            usable = len(data) - len(data) % _TXN_ENTRY.size
            for pos in range(0, usable, _TXN_ENTRY.size):
                _v, pid, first, last, _lso = _TXN_ENTRY.unpack_from(data, pos)
                entries.append(AbortedTxn((pid, first, last)))
        return entries

    def append(self, entry: AbortedTxn, last_stable_offset: int) -> None:
        self.entries.append(entry)
        with open(self.path, "ab") as fh:
            fh.write(_TXN_ENTRY.pack(0, entry.producer_id, entry.first_offset, entry.last_offset, last_stable_offset))

    def truncate_from(self, offset: int) -> None:
        """Forget entries whose marker is at or after ``offset`` (they are about to be replayed)."""
        entries = self.entries
        keep = [e for e in entries if e.last_offset < offset]
        if len(keep) == len(entries):
            return
        self._entries = keep
        with open(self.path, "wb") as fh:
            for e in keep:
                fh.write(_TXN_ENTRY.pack(0, e.producer_id, e.first_offset, e.last_offset, -1))

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)
