"""Log compaction: keep the latest record per key in a partition's closed segments.

Split so the event loop is never blocked for long: ``plan_cleaning`` (on the loop, cheap)
picks the closed segments to clean and snapshots their paths and times; ``clean`` (in a worker
thread) reads those files through its own file handles, builds the key -> latest offset map
and writes a copy of every segment that loses records, with its indexes, fsynced, as
``<base>.log.cleaned`` (``.index.cleaned``, ``.timeindex.cleaned``) beside the segment; the
loop then swaps each copy in with ``PartitionLog.replace_segment`` (renames only, Kafka's
``.cleaned`` -> ``.swap`` -> final protocol, so a crash at any step leaves the old or the
new segment), which refuses a segment that was deleted meanwhile. Where cleaning resumes
(the first dirty offset) is the LogManager's, persisted in ``cleaner-offset-checkpoint``.
Offsets never change: a rewritten batch keeps its base offset and last
offset delta (see ``records.rewrite``), so consumers' positions and committed offsets stay
valid. The active segment is never touched, as in Kafka.

Rules (Kafka's, simplified where noted):
- a keyed record is removed when a later record with the same key lies in the cleaned range;
  records without a key are kept;
- a tombstone (null value) that is the latest for its key is removed once its segment's newest
  timestamp is ``delete.retention.ms`` old (Kafka measures from the segment's last modification);
- segments newer than ``min.compaction.lag.ms`` are not cleaned;
- batches of aborted transactions are removed; other transactional batches and control batches
  are kept whole and do not shadow other records (Kafka also compacts committed transactional
  records and later removes markers; kafkalite keeps both);
- cleaning starts when the dirty part (bytes written since the last cleaning) is at least
  ``min.cleanable.dirty.ratio`` of the closed segments.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kafkalite.records.batch import HEADER_SIZE, LOG_OVERHEAD, BatchHeader, batch_extent, iter_headers, read_header
from kafkalite.records.rewrite import build_batch, iter_raw_records
from kafkalite.storage.index import AbortedTxn
from kafkalite.storage.loader import CLEANED_SUFFIX, SEGMENT_FILES, STAGING_DIR
from kafkalite.storage.log import PartitionLog
from kafkalite.storage.segment import LogSegment

log = logging.getLogger(__name__)

__all__ = ["STAGING_DIR", "CleanResult", "CleanTask", "clean", "clean_now", "dirty_ratio", "plan_cleaning", "swap_in"]


@dataclass(frozen=True)
class SegmentSnapshot:
    segment: LogSegment  # identity only: the worker thread never touches its file descriptors
    path: Path
    base_offset: int
    newest_ms: int
    created_ms: int


@dataclass(frozen=True)
class CleanTask:
    segments: tuple[SegmentSnapshot, ...]
    end_offset: int  # first offset not cleaned: the next dirty offset after this cleaning
    now_ms: int
    delete_retention_ms: int
    index_interval: int
    aborted: tuple[AbortedTxn, ...] = ()  # aborted transactions in the cleaned range


@dataclass
class CleanResult:
    task: CleanTask
    cleaned: list[LogSegment] = field(default_factory=list)  # whose ``.cleaned`` copy is written
    records_removed: int = 0
    bytes_before: int = 0
    bytes_after: int = 0


def cleanable_segments(plog: PartitionLog, now_ms: int) -> list[LogSegment]:
    """Closed segments old enough for min.compaction.lag.ms, oldest first."""
    lag = plog.config.min_compaction_lag_ms
    out: list[LogSegment] = []
    for seg in plog.segments[:-1]:
        newest = seg.max_timestamp if seg.max_timestamp >= 0 else seg.created_ms
        if lag > 0 and newest > now_ms - lag:
            break
        out.append(seg)
    return out


def dirty_ratio(plog: PartitionLog, first_dirty: int, now_ms: int) -> float:
    """Share of the cleanable bytes written at or after ``first_dirty`` (0 when nothing is cleanable)."""
    segments = cleanable_segments(plog, now_ms)
    total = sum(seg.size for seg in segments)
    if total == 0:
        return 0.0
    dirty = sum(seg.size for seg in segments if seg.base_offset >= first_dirty)
    return dirty / total


def plan_cleaning(plog: PartitionLog, first_dirty: int, now_ms: int, force: bool = False) -> CleanTask | None:
    """What to clean, if the dirty ratio reaches min.cleanable.dirty.ratio (or ``force``)."""
    if not plog.config.compact:
        return None
    segments = cleanable_segments(plog, now_ms)
    if not segments or not any(seg.base_offset >= first_dirty for seg in segments):
        return None
    if not force and dirty_ratio(plog, first_dirty, now_ms) < plog.config.min_cleanable_dirty_ratio:
        return None
    end = plog.segments[len(segments)].base_offset
    snaps = tuple(
        SegmentSnapshot(
            seg,
            seg.log_path,
            seg.base_offset,
            seg.max_timestamp if seg.max_timestamp >= 0 else seg.created_ms,
            seg.created_ms,
        )
        for seg in segments
    )
    return CleanTask(
        snaps,
        end,
        now_ms,
        plog.config.delete_retention_ms,
        plog.config.index_interval_bytes,
        tuple(plog.aborted_transactions(plog.log_start_offset, end)),
    )


def _batches(path: Path) -> Iterator[tuple[BatchHeader, bytes]]:
    """Whole batches of a segment file, read through a handle of our own."""
    with open(path, "rb") as fh:
        while True:
            head = fh.read(LOG_OVERHEAD)
            extent = batch_extent(head, 0)
            if extent is None:
                return
            rest = fh.read(extent[1] - LOG_OVERHEAD)
            if len(rest) != extent[1] - LOG_OVERHEAD or extent[1] < HEADER_SIZE:
                return
            data = head + rest
            yield read_header(data, 0), data


def _is_aborted(header: BatchHeader, aborted: tuple[AbortedTxn, ...]) -> bool:
    """Whether a data batch belongs to a transaction that was aborted."""
    if not header.is_transactional or header.is_control:
        return False
    return any(
        a.producer_id == header.producer_id and a.first_offset <= header.base_offset <= a.last_offset for a in aborted
    )


def _keeps_whole(header: BatchHeader) -> bool:
    return header.is_control or header.is_transactional or header.magic != 2


def clean(task: CleanTask) -> CleanResult:
    """Build the offset map and write cleaned copies (runs in a worker thread)."""
    latest: dict[bytes, int] = {}
    for snap in task.segments:
        for header, data in _batches(snap.path):
            if _keeps_whole(header):
                continue
            for record in iter_raw_records(data, header):
                if record.key is not None:
                    latest[record.key] = header.base_offset + record.offset_delta
    result = CleanResult(task)
    for snap in task.segments:
        tombstones_expire = snap.newest_ms + task.delete_retention_ms <= task.now_ms
        out = bytearray()
        changed = False
        for header, data in _batches(snap.path):
            result.bytes_before += len(data)
            if _is_aborted(header, task.aborted):
                changed = True
                result.records_removed += header.records_count
                continue
            if _keeps_whole(header):
                out += data
                continue
            records = list(iter_raw_records(data, header))
            kept = [
                r
                for r in records
                if r.key is None
                or (
                    latest.get(r.key) == header.base_offset + r.offset_delta
                    and not (r.is_tombstone and tombstones_expire)
                )
            ]
            if len(kept) == len(records):
                out += data
                continue
            changed = True
            result.records_removed += len(records) - len(kept)
            if kept:
                out += build_batch(data, header, kept, header.compression)
        result.bytes_after += len(out)
        if changed:
            _stage(snap, bytes(out), task.index_interval)
            result.cleaned.append(snap.segment)
    return result


def _stage(snap: SegmentSnapshot, data: bytes, index_interval: int) -> None:
    """Write a cleaned segment with its indexes, fsynced, as ``.cleaned`` files beside the old one.

    Built in the staging directory (a LogSegment names its files by base offset), then moved
    next to the segment: only new files are touched, so this is safe in the worker thread.
    The indexes are built here too, so the swap on the loop only renames complete files.
    """
    directory = snap.path.parent
    staging = directory / STAGING_DIR
    staging.mkdir(exist_ok=True)
    seg = LogSegment(staging, snap.base_offset, index_interval, snap.created_ms)
    try:
        seg.append(data, list(iter_headers(data)))
        seg.flush_all()
    finally:
        seg.close()
    for suffix in SEGMENT_FILES:
        built = staging / f"{seg.log_path.stem}{suffix}"
        os.replace(built, directory / f"{built.name}{CLEANED_SUFFIX}")


def swap_in(plog: PartitionLog, result: CleanResult) -> int:
    """Replace the cleaned segments (on the loop); returns how many were swapped."""
    swapped = 0
    for segment in result.cleaned:
        if plog.replace_segment(segment):
            swapped += 1
    if swapped:
        log.info(
            "cleaned %s: %d record(s) removed, %d -> %d bytes",
            plog.directory.name,
            result.records_removed,
            result.bytes_before,
            result.bytes_after,
        )
    return swapped


def clean_now(plog: PartitionLog, first_dirty: int = 0, now_ms: int | None = None) -> CleanResult | None:
    """Plan, clean and swap in one call (tests and tools; the broker splits it across threads)."""
    task = plan_cleaning(plog, first_dirty, plog._now_ms() if now_ms is None else now_ms, force=True)
    if task is None:
        return None
    result = clean(task)
    swap_in(plog, result)
    return result
