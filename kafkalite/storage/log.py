"""The log of one partition: an ordered list of segments in ``<topic>-<partition>/``.

Owns offset assignment (the log end offset), segment rolling and the log start offset.
With one replica the high watermark is the log end offset; a replication layer sets it
instead (``set_high_watermark``), appends a leader's batches as they are (``append_replica``),
truncates a diverged tail (``truncate_to``) and keeps the leader epoch cache
(``storage/epoch_cache.py``, when the log is opened with ``leader_epochs``). Appends reach the OS before they
are acknowledged (before ``append`` returns, or with a WriteBehind at the end of the loop turn
and always before any response is sent), so an acknowledged batch survives a kill -9 of the
broker; fsync is the caller's policy (``sync_job``, run by the LogManager's worker).

Nothing here blocks on the disk beyond a ``write``: a roll hands the sealed segment's fsync
and the producer snapshot to ``submit`` as a job (``storage/jobs.py``), deleted segments are
renamed to ``.deleted`` and removed by a job, and a compaction swap is renames only.
Opening is the loader's (``storage/loader.py``).
"""

from __future__ import annotations

import itertools
import logging
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

from kafkalite.records.batch import (
    BatchHeader,
    at_offset,
    patch_base_offset,
    read_header,
    read_leader_epoch,
    set_log_append_time,
    validate_batches,
)
from kafkalite.records.control import build_marker
from kafkalite.records.records import iter_records
from kafkalite.storage.epoch_cache import LeaderEpochCache
from kafkalite.storage.fs import REAL_FS, FileSystem
from kafkalite.storage.handles import FileHandles
from kafkalite.storage.index import AbortedTxn
from kafkalite.storage.jobs import FsyncJob, RemoveJob, SnapshotJob, Submit, run_inline
from kafkalite.storage.loader import (
    CLEANED_SUFFIX,
    DELETED_SUFFIX,
    SEGMENT_FILES,
    SWAP_SUFFIX,
    LogLoader,
    complete_swap,
    delete_dir_name,
    snapshot_offsets,
    snapshot_path,
    track_batch,
)
from kafkalite.storage.producer_state import (
    NO_PRODUCER_ID,
    RETAINED_BATCHES,
    ProducerEntry,
    ProducerStateManager,
    SequenceError,
)
from kafkalite.storage.segment import WRITE_THROUGH_BYTES, LogSegment
from kafkalite.storage.write_behind import WriteBehind

log = logging.getLogger(__name__)

_MAX_RELATIVE_OFFSET = 2**31 - 1
SNAPSHOTS_KEPT = 2


def _no_step(_name: str) -> None:
    return None


@dataclass
class LogConfig:
    """The topic configs the log engine itself obeys (Kafka's defaults)."""

    segment_bytes: int = 1024 * 1024 * 1024
    segment_ms: int = 7 * 24 * 3600 * 1000
    index_interval_bytes: int = 4096
    log_append_time: bool = False
    retention_ms: int = 7 * 24 * 3600 * 1000  # -1: keep forever
    retention_bytes: int = -1  # -1: no size limit
    delete: bool = True  # cleanup.policy includes delete
    compact: bool = False  # cleanup.policy includes compact
    delete_retention_ms: int = 24 * 3600 * 1000
    min_cleanable_dirty_ratio: float = 0.5
    min_compaction_lag_ms: int = 0


class AppendResult(NamedTuple):
    base_offset: int
    last_offset: int
    log_append_time: int  # -1 unless the topic uses LogAppendTime (a duplicate: the original's max timestamp)


class OffsetOutOfRange(Exception):
    """A read asked for an offset outside [log start offset, log end offset]."""


class UnexpectedAppendOffset(Exception):
    """Replicated batches do not continue this log: a base offset below its end (or the previous batch)."""


class PartitionLog:
    """Segments of one partition; the event loop is its only caller."""

    def __init__(
        self,
        directory: Path,
        config: LogConfig,
        now_ms: Callable[[], int],
        write_behind: WriteBehind | None = None,
        handles: FileHandles | None = None,
        submit: Submit = run_inline,
        fs: FileSystem = REAL_FS,
        leader_epochs: bool = False,
    ) -> None:
        self.directory = directory
        self._write_behind = write_behind
        self._submit = submit  # where fsyncs, snapshots and removals run (a worker thread in the broker)
        self._handles = handles  # the broker's bounded cache of open segment files
        self._fs = fs  # the segments' writes, fsyncs and cut-backs (a FaultyFS in tests)
        self.config = config
        self._now_ms = now_ms
        try:
            directory.mkdir(parents=True)
            self._fresh = True  # nothing to load: open() skips listing the directory
        except FileExistsError:
            self._fresh = False
        self._snapshot_offsets: list[int] = []  # found by open()
        self.segments: list[LogSegment] = []
        self.producer_state = ProducerStateManager()
        self._start_floor = 0  # log start offset moved by DeleteRecords or retention
        # Producer entries as they were before the active segment's unwritten appends changed
        # them (None: the producer was new), restored if writing those appends fails.
        self._undo: dict[int, ProducerEntry | None] | None = None
        self._undo_window: object = None  # the segment's pending window ``_undo`` belongs to
        #: The partitionLeaderEpoch ``append`` stamps into batches (0 with one broker, as today).
        self.leader_epoch = 0
        self._track_epochs = leader_epochs
        #: (epoch, start offset) entries (Kafka's leader-epoch-checkpoint); None unless ``leader_epochs``.
        self.epoch_cache: LeaderEpochCache | None = None
        self._hw: int | None = None  # set by a replication layer; None: the log end offset

    # ---- opening ---------------------------------------------------------------------------

    def open(self, clean_shutdown: bool) -> None:
        """Load segments through the loader (leftovers, swaps, recovery, producer state).

        A partition directory this log just created has nothing to load: one empty segment, no
        listing (start-up and creation cost per partition matter at 10,000 of them).
        """
        if self._fresh:
            self.segments = [self._segment(0, self._now_ms())]
        else:
            loaded = LogLoader(self.directory, self._segment, self._now_ms()).load(clean_shutdown)
            self.segments = loaded.segments
            self.producer_state = loaded.producer_state
        if self._track_epochs:
            self._open_epoch_cache()

    def _open_epoch_cache(self) -> None:
        """The checkpointed epochs (cut to the log's range), else rebuilt from the batches."""
        cache = None if self._fresh else LeaderEpochCache.read(self.directory, self._fs, self._submit)
        if cache is None:
            cache = LeaderEpochCache(self.directory, self._fs, submit=self._submit)
            for seg in self.segments:
                for epoch, base_offset in seg.leader_epochs():
                    if epoch >= 0 and epoch != cache.latest_epoch:
                        cache.assign_unsaved(epoch, base_offset)
            if cache.entries:
                cache.write(sync=True)
        cache.truncate_from_end(self.log_end_offset)
        cache.truncate_from_start(self.log_start_offset)
        self.epoch_cache = cache
        self.leader_epoch = max(cache.latest_epoch, 0)

    def _segment(self, base_offset: int, created_ms: int) -> LogSegment:
        seg = LogSegment(
            self.directory,
            base_offset,
            self.config.index_interval_bytes,
            created_ms,
            self._write_behind,
            self._handles,
            self._fs,
        )
        seg.on_drop = self._appends_dropped
        return seg

    def _appends_dropped(self, window: object, log_end_offset: int) -> None:
        """A segment could not write its pending appends: undo their producer state."""
        undo, self._undo = self._undo, None
        if undo and window is self._undo_window:
            producers = self.producer_state.producers
            for pid, entry in undo.items():
                if entry is None:
                    producers.pop(pid, None)
                else:
                    producers[pid] = entry
        log.debug("%s: appends from offset %d dropped by a failed write", self.directory.name, log_end_offset)

    # ---- producer state snapshots --------------------------------------------------------

    def _track_batch(self, seg: LogSegment, header: BatchHeader, control_batch: bytes | bytearray) -> None:
        """Producer and transaction bookkeeping for a batch written to ``seg``."""
        undo = self._undo
        if undo is not None and header.producer_id != NO_PRODUCER_ID and header.producer_id not in undo:
            entry = self.producer_state.producers.get(header.producer_id)
            undo[header.producer_id] = (
                None if entry is None else replace(entry, batches=deque(entry.batches, maxlen=RETAINED_BATCHES))
            )
        track_batch(self.producer_state, seg, header, control_batch, lambda: self.last_stable_offset)

    def _snapshot_job(self) -> SnapshotJob:
        """Producer state at the log end offset, serialised now, written (and pruned) by the job."""
        dir_fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
        name = snapshot_path(self.directory, self.log_end_offset).name
        return SnapshotJob(dir_fd, name, self.producer_state.to_bytes(), SNAPSHOTS_KEPT, self._fs)

    def _take_snapshot(self) -> bool:
        """Persist producer state at the log end offset now (clean shutdown).

        A snapshot only shortens the scan at the next start, so a failure (a full disk) is
        logged and returns False instead of failing the shutdown that asked.
        """
        try:
            self._snapshot_job().run()
        except OSError as exc:
            log.warning("could not snapshot producer state of %s: %s", self.directory.name, exc)
            return False
        return True

    # ---- offsets -----------------------------------------------------------------------------

    @property
    def active(self) -> LogSegment:
        return self.segments[-1]

    @property
    def log_start_offset(self) -> int:
        return max(self.segments[0].base_offset, self._start_floor)

    @property
    def log_end_offset(self) -> int:
        return self.active.next_offset

    @property
    def high_watermark(self) -> int:
        """What consumers may read up to: the log end offset, unless a replication layer set it."""
        hw = self._hw
        if hw is None:
            return self.active.next_offset
        start = self.log_start_offset
        return hw if hw >= start else start

    @property
    def high_watermark_is_set(self) -> bool:
        return self._hw is not None

    def set_high_watermark(self, offset: int) -> int:
        """Set the high watermark (replication: the ISR's minimum log end), clamped to
        [log start offset, log end offset]; returns the value kept. Readers of
        ``high_watermark``, ``last_stable_offset`` and consumer fetches see it from now on."""
        hw = min(max(offset, self.log_start_offset), self.log_end_offset)
        self._hw = hw
        return hw

    def clear_high_watermark(self) -> None:
        """Back to one replica's rule: the high watermark is the log end offset."""
        self._hw = None

    @property
    def last_stable_offset(self) -> int:
        """Offsets below it belong to no open transaction (read_committed reads up to it).

        Kafka's LSO: the first open transaction's first offset, never beyond the high watermark.
        """
        first_open = self.producer_state.first_unstable_offset()
        hw = self.high_watermark
        return hw if first_open is None or first_open > hw else first_open

    def aborted_transactions(self, start: int, end: int) -> list[AbortedTxn]:
        """Aborted transactions that overlap [start, end), for read_committed fetches."""
        found: list[AbortedTxn] = []
        for seg in self.segments[self._segment_for(start) :]:
            found.extend(e for e in seg.txn_index.entries if e.last_offset >= start and e.first_offset < end)
        return found

    @property
    def size_bytes(self) -> int:
        return sum(seg.size for seg in self.segments)

    # ---- writing -------------------------------------------------------------------------------

    def append(
        self, data: bytearray, headers: list[BatchHeader], leader_epoch: int | None = None
    ) -> AppendResult:
        """Assign offsets to validated batches in ``data`` and write them in one call.

        A retried batch of an idempotent producer is answered with its original offsets and
        not written again; a sequence gap raises SequenceError and writes nothing. Batches are
        stamped with ``leader_epoch`` (default: ``self.leader_epoch``, 0 with one broker); the
        epoch cache learns an epoch's start offset from its first append.
        """
        first = headers[0]
        active = self.active
        if active.window is not None and (
            len(data) >= WRITE_THROUGH_BYTES
            or active.size + len(data) > self.config.segment_bytes
            or self._now_ms() - active.created_ms >= self.config.segment_ms
        ):
            # This append writes at once or rolls, writing what waits first; that write may
            # fail and roll offsets and producer state back, so it happens before either is read.
            active.write_pending()
        if first.producer_id != NO_PRODUCER_ID and not first.is_control:
            duplicate = self.producer_state.duplicate_of(first)
            if duplicate is not None:
                # Kafka answers a retried batch with the original's offsets and its max timestamp.
                return AppendResult(*duplicate)
            self._check_sequences(headers)
        base = self.log_end_offset
        epoch = self.leader_epoch if leader_epoch is None else leader_epoch
        cache = self.epoch_cache
        if cache is not None and epoch != cache.latest_epoch:
            cache.assign(epoch, base)
        append_time = self._now_ms() if self.config.log_append_time else -1
        next_offset = base
        patched: list[BatchHeader] = []
        for header in headers:
            patch_base_offset(data, header, next_offset, epoch)
            if append_time >= 0:
                set_log_append_time(data, header, append_time)
                header = header._replace(max_timestamp=append_time, attributes=header.attributes | 0x08)
            patched.append(at_offset(header, next_offset))
            next_offset += header.last_offset_delta + 1
        # as ``_store``, inline: this is the produce path
        self._maybe_roll(len(data), next_offset)
        active = self.active
        active.append(data, patched)
        if first.producer_id != NO_PRODUCER_ID:
            window = active.window
            if window is not None and window is not self._undo_window:
                self._undo = {}  # these appends wait to be written: keep what they change
                self._undo_window = window
            for header in patched:
                self._track_batch(active, header, data if header.is_control else b"")  # a marker comes alone
        return AppendResult(base, next_offset - 1, append_time)

    def _store(
        self, data: bytes | bytearray, headers: list[BatchHeader], next_offset: int, producers: bool
    ) -> None:
        """Roll if due, write batches whose offsets are final, track their producers."""
        self._maybe_roll(len(data), next_offset)
        active = self.active
        active.append(data, headers)
        if producers:
            window = active.window
            if window is not None and window is not self._undo_window:
                self._undo = {}  # these appends wait to be written: keep what they change
                self._undo_window = window
            for header in headers:
                control = data[header.position : header.position + header.length] if header.is_control else b""
                self._track_batch(active, header, control)

    def end_offset_for_epoch(self, epoch: int) -> tuple[int, int]:
        """(epoch, end offset) for OffsetForLeaderEpoch (Kafka's endOffsetForEpoch; -1, -1 if unknown).

        Without an epoch cache (one broker) the current epoch ends at the log end offset.
        """
        cache = self.epoch_cache
        if cache is not None:
            return cache.end_offset_for(epoch, self.log_end_offset)
        return (epoch, self.log_end_offset) if epoch == self.leader_epoch else (-1, -1)

    def become_leader(self, epoch: int) -> None:
        """Lead from here at ``epoch``: later appends carry it, and it starts at the log end
        offset in the epoch cache (Kafka assigns the epoch start offset on becoming leader)."""
        self.leader_epoch = epoch
        if self.epoch_cache is not None:
            self.epoch_cache.assign(epoch, self.log_end_offset)

    def append_replica(self, data: bytes | bytearray | memoryview) -> int:
        """Append a leader's batches exactly as it wrote them (offsets, epochs, timestamps).

        Returns the new log end offset. The batches are validated as a produce request's are
        (InvalidBatch); each base offset must be at or past the end of what precedes it (this
        log's end, then the previous batch), else UnexpectedAppendOffset and nothing is written.
        A gap is kept (a compacted leader's batches). Producer state and the transaction index
        follow as for a leader's append, without sequence checks (Kafka's REPLICATION origin),
        so a follower that becomes leader knows the idempotent producers and open
        transactions; epoch changes go to the epoch cache. An OSError (a full disk) writes
        nothing. Empty ``data`` is a no-op.
        """
        if not data:
            return self.log_end_offset
        buf = data if isinstance(data, (bytes, bytearray)) else bytes(data)
        headers = validate_batches(buf)
        active = self.active
        if active.window is not None:
            active.write_pending()  # a failed deferred write changes the log end: settle it first
        expected = self.log_end_offset
        for header in headers:
            if header.base_offset < expected:
                raise UnexpectedAppendOffset(
                    f"{self.directory.name}: replicated batch at offset {header.base_offset} "
                    f"below the expected {expected}"
                )
            expected = header.last_offset + 1
        cache = self.epoch_cache
        if cache is not None:
            for header in headers:
                epoch = read_leader_epoch(buf, header.position)
                if epoch >= 0 and epoch != cache.latest_epoch:
                    cache.assign(epoch, header.base_offset)
        producers = any(h.producer_id != NO_PRODUCER_ID for h in headers)
        self._store(buf, headers, expected, producers)
        return self.log_end_offset

    def append_marker(
        self, producer_id: int, producer_epoch: int, commit: bool, coordinator_epoch: int = 0
    ) -> int | None:
        """End this producer's open transaction here with a COMMIT or ABORT marker.

        Returns the marker's offset, or None when the producer has no open transaction in this
        partition (a repeated EndTxn, or a transaction that never wrote here).
        """
        if not self.producer_state.in_transaction(producer_id):
            return None
        marker = build_marker(producer_id, producer_epoch, commit, self._now_ms(), coordinator_epoch)
        return self.append(marker, [read_header(marker, 0)]).base_offset

    def _check_sequences(self, headers: list[BatchHeader]) -> None:
        """The first batch continues the producer's sequence; the rest continue each other."""
        self.producer_state.check(headers[0])
        for prev, cur in itertools.pairwise(headers):
            expected = (prev.base_sequence + prev.last_offset_delta + 1) % 2**31
            if (cur.producer_id, cur.producer_epoch, cur.base_sequence) != (
                prev.producer_id,
                prev.producer_epoch,
                expected,
            ):
                raise SequenceError("out_of_order", "batches of one request do not continue each other")

    # ---- truncation (a follower whose tail diverged from the leader's) ------------------------

    def truncate_to(self, offset: int) -> int:
        """Remove every batch at and after ``offset``; returns the new log end offset.

        A batch holding ``offset`` goes whole, so the end may fall below ``offset`` (replication
        truncates at batch boundaries). Below the log start offset the log is emptied and starts
        at ``offset`` (``truncate_fully_and_start_at``). As Kafka's truncateTo: producer
        snapshots past the new end are removed first, then whole segments, newest first, then
        the segment holding ``offset`` is cut; producer state is reloaded from the newest
        snapshot below the end, the epoch cache truncated and the high watermark lowered to the
        end. Every step leaves a prefix of the log, so a kill -9 anywhere recovers a log that
        is the old one cut somewhere at or after ``offset``; the caller truncates again.
        """
        if offset < 0:
            raise ValueError(f"cannot truncate {self.directory.name} to a negative offset {offset}")
        self.active.write_pending()  # a deferred write that fails moves the end first
        if offset >= self.log_end_offset:
            return self.log_end_offset
        if offset < self.log_start_offset:
            self.truncate_fully_and_start_at(offset)
            return offset
        self._undo, self._undo_window = None, None
        for snap in snapshot_offsets(self.directory):
            if snap > offset:
                snapshot_path(self.directory, snap).unlink(missing_ok=True)
        try:
            while len(self.segments) > 1 and self.active.base_offset >= offset:
                self._submit(self._retire(self.segments.pop()))
            self.active.truncate_to(offset)
        finally:
            self._after_truncation()
        log.info("truncated %s to offset %d", self.directory.name, self.log_end_offset)
        return self.log_end_offset

    def truncate_fully_and_start_at(self, offset: int) -> None:
        """Empty the log and restart it at ``offset`` (a follower behind the leader's log start,
        or truncating below its own). The new empty segment is created before the old ones go,
        so a kill -9 midway leaves the old log or the new one, never an empty log at 0."""
        if offset < 0:
            raise ValueError(f"cannot start {self.directory.name} at a negative offset {offset}")
        self.active.write_pending()
        self._undo, self._undo_window = None, None
        old = self.segments
        fresh = next((seg for seg in old if seg.base_offset == offset and seg.size == 0), None)
        if fresh is None:
            stale = self.directory / f"{offset:020d}.log"
            if stale.exists():  # a segment at this base holding data: it goes with the others
                index = next(i for i, seg in enumerate(old) if seg.base_offset == offset)
                self._submit(self._retire(old.pop(index)))
            fresh = self._segment(offset, self._now_ms())
        self.segments = [fresh]
        for seg in reversed(old):
            if seg is not fresh:
                self._submit(self._retire(seg))
        for snap in snapshot_offsets(self.directory):
            snapshot_path(self.directory, snap).unlink(missing_ok=True)
        self._start_floor = offset
        self.producer_state = ProducerStateManager()
        if self.epoch_cache is not None:
            self.epoch_cache.clear()
        if self._hw is not None:
            self._hw = offset
        log.info("truncated %s fully; it starts at offset %d", self.directory.name, offset)

    def _after_truncation(self) -> None:
        """State derived from the batches, brought back to the (new) log end offset."""
        end = self.log_end_offset
        self._start_floor = min(self._start_floor, end)
        self.producer_state = LogLoader(self.directory, self._segment, self._now_ms()).rebuild_producer_state(
            self.segments, end
        )
        if self.epoch_cache is not None:
            self.epoch_cache.truncate_from_end(end)
        if self._hw is not None and self._hw > end:
            self._hw = end

    def _maybe_roll(self, incoming: int, next_offset: int) -> None:
        active = self.active
        if active.size == 0:
            return
        cfg = self.config
        if (
            active.size + incoming > cfg.segment_bytes
            or self._now_ms() - active.created_ms >= cfg.segment_ms
            or next_offset - active.base_offset > _MAX_RELATIVE_OFFSET
        ):
            self.roll()

    def roll(self) -> None:
        """Close the active segment to appends and start a new one at the log end offset.

        The sealed segment's fsync and the producer snapshot go to a job: it holds a duplicate
        of the segment's descriptor and the snapshot's bytes, never the segment itself.
        """
        old = self.active
        try:
            old.offset_index.write_pending()
            old.time_index.write_pending()
        except OSError as exc:  # a full disk: the entries stay pending and are written at close
            log.warning("could not write the indexes of %s before rolling it: %s", old.log_path, exc)
        job = FsyncJob(
            fds=[old.dup_fd()],
            paths=[old.offset_index.path, old.time_index.path],
            after=[self._snapshot_job()],
            fs=self._fs,
        )
        self.segments.append(self._segment(old.next_offset, self._now_ms()))
        self._submit(job)
        log.debug("rolled %s at offset %d", self.directory.name, old.next_offset)

    # ---- reading --------------------------------------------------------------------------------

    def _segment_for(self, offset: int) -> int:
        """Index of the segment that holds ``offset`` (the last with base <= offset)."""
        lo, hi = 0, len(self.segments) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.segments[mid].base_offset <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def read(
        self, offset: int, max_bytes: int, min_one: bool = True, max_offset: int = 2**63 - 1
    ) -> bytes | memoryview:
        """Stored batches from ``offset``: empty at the log end, OffsetOutOfRange outside.

        Batches starting at or after ``max_offset`` (the last stable offset, for
        read_committed) are left out.
        """
        if offset < self.log_start_offset or offset > self.log_end_offset:
            raise OffsetOutOfRange(offset)
        for seg in self.segments[self._segment_for(offset) :]:
            data = seg.read(offset, max_bytes, min_one, max_offset)
            if data is not None:
                return data
            # nothing at or after ``offset`` in this segment (a gap): the next one holds it
        return b""

    def offset_for_timestamp(self, timestamp: int) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record with timestamp >= ``timestamp``."""
        for seg in self.segments:
            if seg.max_timestamp < timestamp:
                continue
            for header in seg.batches_from_timestamp(timestamp):
                if header.max_timestamp < timestamp:
                    continue
                batch = seg.read_batch_at(header.position)
                for record in iter_records(batch, header):
                    if record.timestamp >= timestamp and record.offset >= self.log_start_offset:
                        return record.offset, record.timestamp
        return None

    def max_timestamp_offset(self) -> tuple[int, int] | None:
        """(offset, timestamp) of the record with the largest timestamp (first such one)."""
        best = max(self.segments, key=lambda s: s.max_timestamp)
        if best.max_timestamp < 0:
            return None
        for header in best.batches_from_offset(best.max_timestamp_offset):
            batch = best.read_batch_at(header.position)
            for record in iter_records(batch, header):
                if record.timestamp == best.max_timestamp:
                    return record.offset, record.timestamp
            break
        return None

    # ---- lifecycle -------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write pending appends and fsync them (on the event loop's thread)."""
        self.active.flush()

    def write_pending(self) -> None:
        self.active.write_pending()

    def sync_job(self) -> FsyncJob:
        """What an fsync of the appends so far needs, captured on the loop (pending bytes written).

        The job holds a duplicate of the active segment's descriptor: run it in a worker thread
        while the loop goes on appending, rolling or deleting this log.
        """
        return FsyncJob(fds=[self.active.dup_fd()], fs=self._fs)

    def close(self) -> bool:
        """Snapshot, flush and close every segment; False if any of it failed (a full disk).

        Every segment is closed whatever fails, so shutdown finishes; the caller then leaves no
        clean-shutdown marker and the next start recovers the active segment.
        """
        clean = True
        if self.segments and self.log_end_offset > 0:  # an empty log's producer state is empty (see open)
            clean = self._take_snapshot()
        if self.epoch_cache is not None and not self.epoch_cache.flush():
            clean = False
        for seg in self.segments:
            try:
                seg.flush_all()
            except OSError as exc:
                clean = False
                log.warning("could not flush %s at close: %s", seg.log_path, exc)
            try:
                seg.close()
            except OSError as exc:
                clean = False
                log.warning("could not close %s: %s", seg.log_path, exc)
        self.segments.clear()
        return clean

    def reopen(self, directory: Path | None = None, clean_shutdown: bool = True) -> None:
        """Open again after ``close`` (in ``directory`` when the log moved there), keeping what
        the replication layer set: the log start offset, the high watermark, the leader epoch."""
        floor, hw, epoch = self._start_floor, self._hw, self.leader_epoch
        if directory is not None:
            self.directory = directory
        self._fresh = False
        self._undo, self._undo_window = None, None
        self.producer_state = ProducerStateManager()
        self.open(clean_shutdown)
        self.restore_log_start_offset(floor)
        self.leader_epoch = epoch
        if hw is not None:
            self.set_high_watermark(hw)

    def delete(self) -> Path:
        """Close the segments and rename the directory to ``<name>.<uuid>-delete`` (Kafka's way).

        The rename is cheap and atomic; the removal is a job (a restart removes leftovers).
        Returns the renamed directory.
        """
        for seg in self.segments:
            seg.discard()
        self.segments.clear()
        target = delete_dir_name(self.directory)
        try:
            self.directory.rename(target)
        except FileNotFoundError:  # removed under us: nothing left to remove
            return target
        self._submit(RemoveJob([target]))
        return target

    # ---- log start offset, retention and cleaning (DeleteRecords, LogManager, LogCleaner) ----

    def restore_log_start_offset(self, offset: int) -> None:
        """Apply a checkpointed log start offset at open (clamped to the log end offset)."""
        self._start_floor = min(max(offset, 0), self.log_end_offset)
        if self.epoch_cache is not None:
            self.epoch_cache.truncate_from_start(self.log_start_offset)

    def delete_records_before(self, offset: int) -> int:
        """Move the log start offset up to ``offset`` (DeleteRecords); returns the new one.

        Raises OffsetOutOfRange beyond the high watermark. Whole segments below the new start
        are removed at once; the caller checkpoints the start offset.
        """
        if offset < 0 or offset > self.high_watermark:
            raise OffsetOutOfRange(offset)
        self._start_floor = max(self._start_floor, offset)
        self._delete_segments_below_start()
        if self.epoch_cache is not None:
            self.epoch_cache.truncate_from_start(self.log_start_offset)
        return self.log_start_offset

    def _delete_segments_below_start(self) -> int:
        deleted = 0
        while len(self.segments) > 1 and self.segments[1].base_offset <= self.log_start_offset:
            self._delete_first_segment()
            deleted += 1
        return deleted

    def _delete_first_segment(self) -> None:
        seg = self.segments.pop(0)
        self._start_floor = max(self._start_floor, self.segments[0].base_offset)
        self._submit(self._retire(seg))
        log.debug("deleted segment %s at offset %d", self.directory.name, seg.base_offset)

    @staticmethod
    def _retire(seg: LogSegment) -> RemoveJob:
        """Rename a segment's files to ``.deleted`` and close it; the job removes them.

        The ``.log`` goes first: once it is renamed the segment is gone for a restart, and the
        loader removes index files left without their log.
        """
        renamed: list[Path] = []
        for path in (seg.log_path, seg.offset_index.path, seg.time_index.path, seg.txn_index.path):
            target = path.with_name(path.name + DELETED_SUFFIX)
            try:
                os.replace(path, target)
            except FileNotFoundError:
                continue
            renamed.append(target)
        seg.delete()  # closes the descriptors; its unlinks find nothing left under the old names
        return RemoveJob(renamed)

    def _below_high_watermark(self, seg: LogSegment) -> bool:
        """Retention deletes only what every in-sync replica has (Kafka: segments below the HW)."""
        return self._hw is None or seg.next_offset <= self._hw

    def _segment_time(self, seg: LogSegment) -> int:
        """The newest record time of a segment (its creation time when it has none)."""
        return seg.max_timestamp if seg.max_timestamp >= 0 else seg.created_ms

    def enforce_retention(self) -> int:
        """Delete whole segments older than retention.ms or beyond retention.bytes.

        As Kafka does, an expired active segment is rolled first so it can go too, and
        segments wholly below the log start offset are deleted whatever the policy. Returns the
        number of segments deleted; readers below the new start get OffsetOutOfRange.
        """
        deleted = self._delete_segments_below_start()
        cfg = self.config
        if not cfg.delete:
            return deleted
        now = self._now_ms()
        if cfg.retention_ms >= 0:
            while (
                self.segments
                and now - self._segment_time(self.segments[0]) > cfg.retention_ms
                and self._below_high_watermark(self.segments[0])
            ):
                if self.segments[0] is self.active:
                    if self.active.size == 0:
                        break
                    self.roll()
                self._delete_first_segment()
                deleted += 1
        if cfg.retention_bytes >= 0:
            excess = self.size_bytes - cfg.retention_bytes
            while (
                len(self.segments) > 1
                and excess - self.segments[0].size >= 0
                and self._below_high_watermark(self.segments[0])
            ):
                excess -= self.segments[0].size
                self._delete_first_segment()
                deleted += 1
        return deleted

    def replace_segment(self, old: LogSegment, step: Callable[[str], None] = _no_step) -> bool:
        """Swap in the compacted copy of ``old`` (same base offset, same record offsets).

        The cleaner left ``<base>.log.cleaned`` with ``.index.cleaned`` and ``.timeindex.cleaned``
        (complete and fsynced) beside the segment. Kafka's protocol, so a crash at any step
        leaves the old or the new segment, never a new ``.log`` with old indexes:

        1. rename the ``.cleaned`` files to ``.swap``, the log last: ``<base>.log.swap`` is the
           commit point (the loader completes a swap from there, rebuilding the indexes);
        2. close the old segment and rename its files to ``.deleted``;
        3. rename the ``.swap`` files to their final names and open the new segment;
        4. a job fsyncs the directory, then removes the ``.deleted`` files.

        ``step`` is called with each step's name before it (a test raises there to crash).
        Returns False, discarding the copy, when ``old`` is no longer a closed segment of this
        log (deleted by retention or DeleteRecords, or the log closed meanwhile).
        """
        directory = old.log_path.parent
        stem = old.log_path.stem
        order = (".index", ".timeindex", ".log")  # the log last: its rename commits

        def named(suffix: str, extra: str = "") -> Path:
            return directory / f"{stem}{suffix}{extra}"

        if old not in self.segments or old is self.active:
            for suffix in order:
                named(suffix, CLEANED_SUFFIX).unlink(missing_ok=True)
            return False
        try:
            for suffix in order:
                step(f"swap{suffix}")
                os.replace(named(suffix, CLEANED_SUFFIX), named(suffix, SWAP_SUFFIX))
        except OSError:  # not committed: the old segment stays, untouched and open
            for suffix in order:
                for extra in (CLEANED_SUFFIX, SWAP_SUFFIX):
                    named(suffix, extra).unlink(missing_ok=True)
            raise
        index = self.segments.index(old)
        old.close()
        deleted: list[Path] = []
        try:
            for suffix in SEGMENT_FILES:
                step(f"delete{suffix}")
                try:
                    os.replace(named(suffix), named(suffix, DELETED_SUFFIX))
                except FileNotFoundError:
                    continue
                deleted.append(named(suffix, DELETED_SUFFIX))
            for suffix in order:
                step(f"rename{suffix}")
                os.replace(named(suffix, SWAP_SUFFIX), named(suffix))
        except OSError:  # committed: finish as the loader would, so the log stays usable
            log.exception("compaction swap of %s/%s failed; completing it", directory.name, stem)
            if named(".log", SWAP_SUFFIX).exists():
                complete_swap(directory, stem)
        step("open")
        fresh = self._segment(old.base_offset, old.created_ms)
        fresh.load()
        self.segments[index] = fresh
        self._submit(FsyncJob(dirs=[directory], fs=self._fs))
        self._submit(RemoveJob(deleted))
        return True
