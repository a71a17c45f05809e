"""One log segment: ``<base>.log`` plus its sparse ``.index`` and ``.timeindex``.

Owns the segment's file descriptors and the facts derived from its bytes (size, next
offset, largest timestamp). Batches are written exactly as given and read back as stored;
only batch headers are ever parsed. Modelled on Kafka's LogSegment: an index entry every
``index_interval`` bytes, and ``recover()`` re-validates every batch and truncates the tail at
the first one that is torn or fails its CRC.

Files are lazy (Kafka's LazyIndex, kfake's lazily opened segments): the ``.log`` descriptor
comes from the broker's bounded ``FileHandles`` cache and may be closed between uses, indexes
are read on first use, and ``load()`` of a cleanly shut down segment only notes that the work
is due: the segment's offsets and timestamps are derived the first time anything asks.
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from kafkalite.records.batch import (
    HEADER_SIZE,
    LOG_OVERHEAD,
    BatchHeader,
    batch_extent,
    crc_ok,
    read_header,
)
from kafkalite.storage.fs import REAL_FS, FileSystem
from kafkalite.storage.handles import FileHandles, LazyFile
from kafkalite.storage.index import OffsetIndex, TimeIndex, TxnIndex

if TYPE_CHECKING:
    from kafkalite.storage.write_behind import WriteBehind

log = logging.getLogger(__name__)

# Reading a whole segment (load, recovery) goes in large chunks; finding one batch from a
# sparse index entry needs only the few headers after it, so lookups read small ones.
_BULK_CHUNK = 1 << 20
_LOOKUP_CHUNK = 16 << 10
# partitionLeaderEpoch: bytes 12..15 of a batch header, outside the CRC
_EPOCH_OFFSET = 12
_EPOCH = struct.Struct(">i")
# Appends this large gain nothing from waiting for others and would cost a copy: written at once.
WRITE_THROUGH_BYTES = 64 << 10


#: What a segment knew before its unwritten bytes, restored when writing them fails: next offset,
#: max timestamp, its batch's offset, bytes since the last index entry, offset and time index
#: entries. A plain tuple: one is made per segment per loop turn, on the Produce path.
_Checkpoint = tuple[int, int, int, int, int, int]


def segment_name(base_offset: int) -> str:
    """Kafka's file stem: the base offset as 20 zero-padded digits."""
    return f"{base_offset:020d}"


class LogSegment:
    """A contiguous run of batches starting at ``base_offset``."""

    def __init__(
        self,
        directory: Path,
        base_offset: int,
        index_interval: int,
        created_ms: int,
        write_behind: WriteBehind | None = None,
        handles: FileHandles | None = None,
        fs: FileSystem = REAL_FS,
    ) -> None:
        self.directory = directory
        self._fs = fs  # writes, fsyncs and cut-backs go through it (a FaultyFS in tests)
        self.base_offset = base_offset
        self.index_interval = index_interval
        self.created_ms = created_ms
        stem = segment_name(base_offset)
        self.log_path = directory / f"{stem}.log"
        # Without a broker's cache (tools, the cleaner's staging copies) the segment has its own.
        self._file = LazyFile(self.log_path, handles if handles is not None else FileHandles(1 << 30))
        try:
            self.size = os.stat(self.log_path).st_size  # including appended bytes not yet written
            new = False
        except FileNotFoundError:
            self.size = 0
            new = True
        # Without a WriteBehind every append is written at once; with one, appended bytes wait
        # here (at the end of the log) until the end of the loop turn or the next read.
        self._write_behind = write_behind
        self._unwritten: bytearray | None = None
        # The state before ``_unwritten``; also a token for this run of unwritten appends, so
        # None means everything appended is written (the Produce handler and PartitionLog ask).
        self.window: _Checkpoint | None = None
        # Positions a failed write cut the file back to, oldest first: a producer whose bytes
        # ended past one recorded after its append was not written (see ``lost_since``).
        self.drops: list[int] = []
        #: Told the log end offset a failed write rolled back to (producer state rollback).
        self.on_drop: Callable[[object, int], None] | None = None
        self.offset_index = OffsetIndex(directory / f"{stem}.index", new, fs)
        self.time_index = TimeIndex(directory / f"{stem}.timeindex", new, fs)
        self.txn_index = TxnIndex(directory / f"{stem}.txnindex", new)
        if new:  # the log file exists from the start; indexes appear with their first entries
            self._file.fd()
        self._next_offset = base_offset
        self._max_timestamp = -1
        self._max_timestamp_offset = -1  # base offset of the batch holding max_timestamp
        # A new segment has nothing to derive; an existing one is loaded by load() or recover().
        self._loaded = new
        self._unsynced = False  # bytes written (or truncated) since the last fsync
        self._bytes_since_index = 0
        # (offset, position) where the last sequential read stopped: the next fetch of a
        # consumer that keeps up starts exactly there, without an index lookup or scan.
        self._read_hint = (-1, -1)

    @property
    def _fd(self) -> int:
        """The ``.log`` descriptor, reopened if the cache closed it: use it at once, never keep it."""
        return self._file.fd()

    @property
    def next_offset(self) -> int:
        if not self._loaded:
            self._load_now()
        return self._next_offset

    @property
    def max_timestamp(self) -> int:
        if not self._loaded:
            self._load_now()
        return self._max_timestamp

    @property
    def max_timestamp_offset(self) -> int:
        """Base offset of the batch holding ``max_timestamp``."""
        if not self._loaded:
            self._load_now()
        return self._max_timestamp_offset

    @property
    def loaded(self) -> bool:
        return self._loaded

    # ---- loading and recovery -------------------------------------------------------

    def load(self) -> None:
        """Mark a cleanly shut down segment for loading on first use (Kafka's LazyIndex).

        Nothing is read now: next offset and max timestamp are derived, and damaged indexes
        rebuilt, the first time anything asks for them.
        """
        self._loaded = False

    def _load_now(self) -> None:
        """Derive next offset and max timestamp for a segment that was shut down cleanly."""
        self._loaded = True
        if self.size == 0:  # nothing to derive, and no index entry can be valid: read nothing
            self.offset_index.assume_empty()
            self.time_index.assume_empty()
            return
        indexes_missing = self.size > 0 and (not self.offset_index.offsets or not self.time_index.timestamps)
        if indexes_missing or not self.offset_index.sane(self.size) or not self.time_index.sane():
            log.warning("rebuilding missing or damaged indexes of %s", self.log_path)
            self.recover()
            return
        start = self.offset_index.positions[-1] if self.offset_index.positions else 0
        if self.time_index.timestamps:
            self._max_timestamp = self.time_index.timestamps[-1]
            self._max_timestamp_offset = self.base_offset + self.time_index.offsets[-1]
        end = start
        for header in self._scan(start, _BULK_CHUNK):
            self._note_batch(header)
            end = header.position + header.length
        if end != self.size:
            log.warning("segment %s has %d stray tail bytes; recovering", self.log_path, self.size - end)
            self.recover()

    def recover(self, on_batch: Callable[[BatchHeader], None] | None = None) -> int:
        """Validate every batch, rebuild both indexes, truncate at the first bad batch.

        Returns the number of bytes truncated. ``on_batch`` sees every valid batch header, so
        the loader rebuilds producer state in the same pass instead of scanning again.
        """
        self._loaded = True
        self.write_pending()
        self.offset_index.clear()
        self.time_index.clear()
        self._next_offset = self.base_offset
        self._max_timestamp = -1
        self._max_timestamp_offset = -1
        self._bytes_since_index = 0
        self._unsynced = True  # what an unclean shutdown left may not have reached the disk
        valid_end = 0
        expected = self.base_offset
        for header in self._scan(0, _BULK_CHUNK):
            if header.magic != 2 or header.base_offset < expected:
                break
            body = os.pread(self._fd, header.length, header.position)
            if len(body) != header.length or not crc_ok(body, header._replace(position=0)):
                break
            self._note_batch(header)
            self._index_batch(header, header.position)
            if on_batch is not None:
                on_batch(header)
            expected = header.last_offset + 1
            valid_end = header.position + header.length
        try:
            self.offset_index.write_pending()  # rebuilt: on disk at once, not at the next flush
            self.time_index.write_pending()
        except OSError as exc:  # a full disk: kept in memory and written at the next flush
            log.warning("could not write the rebuilt indexes of %s: %s", self.log_path, exc)
        truncated = self.size - valid_end
        if truncated:
            log.warning("truncating %d bytes of torn or corrupt tail from %s", truncated, self.log_path)
            self._fs.ftruncate(self._fd, valid_end)
            self.size = valid_end
        self._read_hint = (-1, -1)
        return truncated

    def _scan(self, start: int, chunk_size: int = _LOOKUP_CHUNK) -> Iterator[BatchHeader]:
        """Headers of the batches from ``start`` whose header lies wholly within the file."""
        self.write_pending()
        pos = start
        while pos < self.size:
            chunk = os.pread(self._fd, min(chunk_size, self.size - pos), pos)
            off = 0
            while len(chunk) - off >= HEADER_SIZE:
                header = read_header(chunk, off)
                if header.length < HEADER_SIZE or pos + off + header.length > self.size:
                    return
                yield header._replace(position=pos + off)
                off += header.length
            if off == 0:
                return
            pos += off

    def leader_epochs(self) -> Iterator[tuple[int, int]]:
        """(partitionLeaderEpoch, base offset) of every batch, in order (rebuilding the epoch cache)."""
        self.write_pending()
        pos = 0
        while pos < self.size:
            chunk = os.pread(self._fd, min(_BULK_CHUNK, self.size - pos), pos)
            off = 0
            while len(chunk) - off >= HEADER_SIZE:
                header = read_header(chunk, off)
                if header.length < HEADER_SIZE or pos + off + header.length > self.size:
                    return
                yield _EPOCH.unpack_from(chunk, off + _EPOCH_OFFSET)[0], header.base_offset
                off += header.length
            if off == 0:
                return
            pos += off

    def truncate_to(self, offset: int) -> int:
        """Remove the batches holding ``offset`` and later ones; returns the bytes removed.

        A batch that holds ``offset`` goes whole (as Kafka's LogSegment.truncateTo), so the
        segment may end before ``offset``. The file is cut first; the indexes follow (a crash
        in between leaves entries past the end, which recovery or the sanity check rebuilds).
        Producers whose deferred bytes lay past the cut learn it from ``lost_since``.
        """
        self.write_pending()
        found = self.position_of(offset)
        if found is None:
            return 0
        position, first_base = found
        removed = self.size - position
        self._fs.ftruncate(self._fd, position)
        self._unsynced = True
        self.size = position
        self.drops.append(position)
        self._read_hint = (-1, -1)
        try:
            self.offset_index.truncate_to_position(position)
            self.time_index.truncate_to_offset(first_base - self.base_offset)
        except OSError as exc:  # a full disk: right in memory, written at the next flush (or rebuilt)
            log.warning("could not rewrite the indexes of %s after truncating it: %s", self.log_path, exc)
        try:
            self.txn_index.truncate_from(first_base)
        except OSError as exc:
            log.warning("could not rewrite the transaction index of %s: %s", self.log_path, exc)
        self._next_offset = self.base_offset
        self._max_timestamp = -1
        self._max_timestamp_offset = -1
        self._bytes_since_index = 0
        self._load_now()  # next offset and max timestamp from what is left (the indexes, then a short scan)
        return removed

    # ---- appending ---------------------------------------------------------------------

    def _note_batch(self, header: BatchHeader) -> None:
        self._next_offset = header.last_offset + 1
        if header.max_timestamp > self._max_timestamp:
            self._max_timestamp = header.max_timestamp
            self._max_timestamp_offset = header.base_offset

    def _index_batch(self, header: BatchHeader, position: int) -> None:
        """Add index entries for a batch already noted, every ``index_interval`` bytes."""
        if position == 0 or self._bytes_since_index >= self.index_interval:
            self.offset_index.append(header.base_offset - self.base_offset, position)
            if self._max_timestamp >= 0:
                self.time_index.append(self._max_timestamp, self._max_timestamp_offset - self.base_offset)
            self._bytes_since_index = 0
        self._bytes_since_index += header.length

    def append(self, data: bytes | bytearray, headers: list[BatchHeader]) -> None:
        """Add batches whose offsets are already assigned; ``headers`` positions are in ``data``.

        Written at once (large batches, or without a WriteBehind), an append that fails raises
        OSError and changes nothing: the file is cut back to where it was. Deferred, it can fail
        later, in ``write_pending``, which then rolls the segment back (see there).
        """
        if not self._loaded:
            self._load_now()
        newly_pending = False
        if self._write_behind is None or len(data) >= WRITE_THROUGH_BYTES:
            self.write_pending()
            start = self.size
            try:
                self._pwrite(data, start)
            except OSError:
                self._cut_back(start)
                raise
            if self._write_behind is not None and self._write_behind.failing:
                self._write_behind.recovered(self.log_path)
        elif self._unwritten is None:
            start = self.size
            self.window = (
                self._next_offset,
                self._max_timestamp,
                self._max_timestamp_offset,
                self._bytes_since_index,
                len(self.offset_index.offsets),
                len(self.time_index.offsets),
            )
            self._unwritten = bytearray(data)
            newly_pending = True
        else:
            start = self.size
            self._unwritten += data
        for header in headers:
            self._note_batch(header)
            self._index_batch(header, start + header.position)
        self.size = start + len(data)
        if newly_pending and self._write_behind is not None:
            self._write_behind.mark(self)  # last: without a running loop it writes at once

    def write_pending(self) -> None:
        """Hand appended bytes to the OS. Never raises: a failed write drops them (``_drop``).

        Readers, flushes and the end of the loop turn all call this; the producers whose batches
        were dropped learn it from ``lost_since``, and the WriteBehind logs the cause.
        """
        unwritten = self._unwritten
        if unwritten is None:
            return
        start = self.size - len(unwritten)
        try:
            self._pwrite(unwritten, start)
        except OSError as exc:
            self._drop(start, exc)
            return
        self._unwritten = None
        self.window = None
        write_behind = self._write_behind
        if write_behind is not None and write_behind.failing:
            write_behind.recovered(self.log_path)

    def _drop(self, start: int, exc: OSError) -> None:
        """Undo the appends whose bytes could not be written: file, offsets, indexes, producers.

        The file is cut back to ``start`` (the end of what was written), so a partial write
        leaves no torn batch; the log end offset, max timestamp and index entries return to the
        checkpoint taken when the bytes began waiting. The partition log is told, to roll its
        producer state back, and the position is recorded for the producers to look up.
        """
        checkpoint = self.window
        assert checkpoint is not None
        self._cut_back(start)
        self._unwritten = None
        self.window = None
        self.size = start
        (
            self._next_offset,
            self._max_timestamp,
            self._max_timestamp_offset,
            self._bytes_since_index,
            offset_entries,
            time_entries,
        ) = checkpoint
        self._read_hint = (-1, -1)
        try:
            self.offset_index.keep_first(offset_entries)
            self.time_index.keep_first(time_entries)
            if any(e.last_offset >= self.next_offset for e in self.txn_index.entries):
                self.txn_index.truncate_from(self.next_offset)
        except OSError:
            log.exception("could not roll back the indexes of %s (rebuilt at the next start)", self.log_path)
        self.drops.append(start)
        if self.on_drop is not None:
            self.on_drop(checkpoint, self.next_offset)
        if self._write_behind is not None:
            self._write_behind.failed(self.log_path, exc)

    def _cut_back(self, size: int) -> None:
        """Truncate the file to ``size`` after a failed write (a full disk still allows it)."""
        try:
            self._fs.ftruncate(self._fd, size)
        except OSError:
            log.exception("could not cut %s back to %d bytes after a failed write", self.log_path, size)

    def lost_since(self, drops_seen: int, end: int) -> bool:
        """Whether bytes appended up to position ``end``, when ``drops`` had ``drops_seen``
        entries, were dropped since (a later cut-back to a position before ``end``)."""
        drops = self.drops
        return any(position < end for position in drops[drops_seen:]) if len(drops) > drops_seen else False

    def _pwrite(self, data: bytes | bytearray, position: int) -> None:
        self._unsynced = True
        view = memoryview(data)
        written = 0
        pwrite = self._fs.pwrite
        while written < len(view):
            written += pwrite(self._fd, view[written:], position + written)

    # ---- reading -------------------------------------------------------------------------

    def position_of(self, offset: int) -> tuple[int, int] | None:
        """(position, base offset) of the first batch holding ``offset`` or later, if any."""
        if offset >= self.next_offset:
            return None
        hint_offset, hint_pos = self._read_hint
        if offset == hint_offset:
            return hint_pos, offset
        _, start = self.offset_index.lookup(max(offset - self.base_offset, 0))
        for header in self._scan(start):
            if header.last_offset >= offset:
                return header.position, header.base_offset
        return None

    def read(
        self, offset: int, max_bytes: int, min_one: bool, max_offset: int = 2**63 - 1
    ) -> bytes | memoryview | None:
        """Whole batches from the one holding ``offset``, at most ``max_bytes`` of them.

        None means this segment holds nothing at or after ``offset``; empty bytes mean the first
        batch did not fit or starts at or past ``max_offset`` (the last stable offset for
        read_committed). With ``min_one`` the first batch is returned even when it is larger,
        as Kafka does so a consumer can always make progress.
        """
        found = self.position_of(offset)
        if found is None:
            return None
        pos, first_base = found
        if first_base >= max_offset:
            return b""
        self.write_pending()
        data = os.pread(self._fd, max(0, min(max_bytes, self.size - pos)), pos)
        end = 0
        last_offset = -1
        while True:
            extent = batch_extent(data, end)
            if extent is None or end + extent[1] > len(data) or extent[0] >= max_offset:
                break
            if len(data) - end >= HEADER_SIZE:
                last_offset = read_header(data, end).last_offset
            end += extent[1]
        if end == 0:
            if not min_one:
                return b""
            head = os.pread(self._fd, LOG_OVERHEAD, pos)
            extent = batch_extent(head, 0)
            if extent is None:
                return b""
            data = os.pread(self._fd, extent[1], pos)
            header = read_header(data, 0)
            self._read_hint = (header.last_offset + 1, pos + header.length)
            return data
        if last_offset >= 0:
            self._read_hint = (last_offset + 1, pos + end)
        return data if end == len(data) else memoryview(data)[:end]  # trimmed without a copy

    def read_batch_at(self, position: int) -> bytes:
        """The whole batch stored at ``position``."""
        self.write_pending()
        head = os.pread(self._fd, LOG_OVERHEAD, position)
        extent = batch_extent(head, 0)
        return b"" if extent is None else os.pread(self._fd, extent[1], position)

    def batches_from_offset(self, offset: int) -> Iterator[BatchHeader]:
        """Headers from the batch holding ``offset`` onwards (for lookups, not fetch)."""
        _, start = self.offset_index.lookup(max(offset - self.base_offset, 0))
        for header in self._scan(start):
            if header.last_offset >= offset:
                yield header

    def batches_from_timestamp(self, timestamp: int) -> Iterator[BatchHeader]:
        """Headers from a batch at or before the first one reaching ``timestamp``."""
        rel = self.time_index.lookup(timestamp)
        yield from self.batches_from_offset(self.base_offset + rel)

    # ---- lifecycle -------------------------------------------------------------------------

    def dup_fd(self) -> int:
        """A duplicate of the log's descriptor, after writing pending appends (on the loop).

        A worker thread fsyncs the duplicate and closes it, whatever the loop does meanwhile
        with this segment (close, rename, delete): see ``storage/jobs.py``.
        """
        self.write_pending()
        return os.dup(self._fd)

    def fsync(self) -> None:
        """fsync what has been written; safe in a worker thread, unlike ``flush``.

        Through a descriptor of its own: the loop may close the cached one meanwhile.
        """
        self._file.fsync_detached()

    def flush(self) -> None:
        self.write_pending()
        if self._unsynced:  # a sealed segment read since start-up has nothing to fsync
            self._fs.fsync(self._fd)
            self._unsynced = False

    def flush_all(self) -> None:
        self.flush()
        self.offset_index.flush()
        self.time_index.flush()

    def close(self) -> None:
        """Write what is pending and close every file; the first failure is raised after all are closed."""
        self.write_pending()
        self._file.close()
        failure: OSError | None = None
        for index in (self.offset_index, self.time_index):
            try:
                index.close()
            except OSError as exc:
                index.discard()
                failure = failure or exc
        if failure is not None:
            raise failure

    def discard(self) -> None:
        """Close without writing anything (the files are about to go; the disk may be full)."""
        self._unwritten = None  # nobody will read it
        self.window = None
        self._file.close()
        self.offset_index.discard()
        self.time_index.discard()

    def delete(self) -> None:
        self.discard()
        for path in (self.log_path, self.offset_index.path, self.time_index.path):
            path.unlink(missing_ok=True)
        self.txn_index.delete()
