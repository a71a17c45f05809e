"""Opening one partition directory (Kafka's LogLoader): leftovers, swaps, recovery, producer state.

Owns the on-disk conventions of interrupted operations and what a start-up does about them:

- ``*.deleted``: segment files retention, DeleteRecords or a compaction swap renamed before
  removing them; removed.
- ``*.cleaned``: a compacted copy the cleaner had not committed; removed (the old segment stays).
- ``*.swap``: a committed compacted copy. ``<base>.log.swap`` is the commit point: the
  segment's old files are removed and the swap renamed to ``<base>.log``; index ``.swap``
  files are removed and the indexes rebuilt from the log (as Kafka does), so a new ``.log``
  never meets old indexes.
- ``.cleaner/``: the staging directory of an interrupted cleaning; removed.
- index files without a ``.log``: removed.
- ``<topic>-<partition>.<uuid>-delete`` directories (a deleted partition) are not opened
  here; ``LogManager`` removes them.

Then the segments are opened: sealed ones are loaded, and after an unclean shutdown the
active one is recovered (every batch validated, a torn tail truncated). Producer state comes
from the newest usable snapshot plus the batches after it, rebuilt during that same recovery
pass, so the active segment is read once.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kafkalite.records.batch import BatchHeader
from kafkalite.records.control import ABORT, read_marker
from kafkalite.storage.index import AbortedTxn
from kafkalite.storage.producer_state import NO_PRODUCER_ID, ProducerStateManager
from kafkalite.storage.segment import LogSegment

log = logging.getLogger(__name__)

DELETED_SUFFIX = ".deleted"
CLEANED_SUFFIX = ".cleaned"
SWAP_SUFFIX = ".swap"
DELETE_DIR_SUFFIX = "-delete"
STAGING_DIR = ".cleaner"
SEGMENT_FILES = (".log", ".index", ".timeindex")  # what a compaction swap replaces (not .txnindex)
INDEX_SUFFIXES = (".index", ".timeindex", ".txnindex")


def delete_dir_name(directory: Path) -> Path:
    """Where a deleted partition directory is renamed before removal (Kafka's ``-delete`` dirs)."""
    return directory.with_name(f"{directory.name}.{uuid.uuid4().hex}{DELETE_DIR_SUFFIX}")


def is_delete_dir(path: Path) -> bool:
    return path.name.endswith(DELETE_DIR_SUFFIX) and path.is_dir()


def remove_leftovers(directory: Path) -> list[str]:
    """Finish or discard what interrupted operations left in a partition directory.

    Returns the directory's file names afterwards. One listing serves the common case (nothing
    to do), which matters when thousands of partitions open at start-up.
    """
    names = os.listdir(directory)
    changed = False
    if STAGING_DIR in names:
        shutil.rmtree(directory / STAGING_DIR, ignore_errors=True)
        changed = True
    log_swaps: list[str] = []
    for name in names:
        if name.endswith((DELETED_SUFFIX, CLEANED_SUFFIX, ".tmp")):
            (directory / name).unlink(missing_ok=True)
            changed = True
        elif name.endswith(".log" + SWAP_SUFFIX):
            log_swaps.append(name[: -len(".log" + SWAP_SUFFIX)])
        elif name.endswith(SWAP_SUFFIX):
            (directory / name).unlink(missing_ok=True)  # an index: rebuilt from the log it belongs to
            changed = True
    for stem in sorted(log_swaps):
        log.info("completing an interrupted compaction swap of %s/%s", directory.name, stem)
        complete_swap(directory, stem)
        changed = True
    if changed:
        names = os.listdir(directory)
    logs = {name[:-4] for name in names if name.endswith(".log")}
    orphans = [n for n in names if n.endswith(INDEX_SUFFIXES) and n.rsplit(".", 1)[0] not in logs]
    for name in orphans:
        (directory / name).unlink(missing_ok=True)
    return [n for n in names if n not in orphans] if orphans else names


def complete_swap(directory: Path, stem: str) -> None:
    """Finish a committed swap: ``<stem>.log.swap`` replaces the segment, whose indexes go (rebuilt on load)."""
    for suffix in SEGMENT_FILES:
        (directory / f"{stem}{suffix}").unlink(missing_ok=True)
    for suffix in (".index", ".timeindex"):
        (directory / f"{stem}{suffix}{SWAP_SUFFIX}").unlink(missing_ok=True)
    (directory / f"{stem}.log{SWAP_SUFFIX}").replace(directory / f"{stem}.log")


def track_batch(
    state: ProducerStateManager,
    seg: LogSegment,
    header: BatchHeader,
    control_batch: bytes | bytearray,
    last_stable_offset: Callable[[], int],
) -> None:
    """Producer and transaction bookkeeping for a batch written to ``seg`` (live and on load)."""
    if header.producer_id == NO_PRODUCER_ID:
        return
    if not header.is_control:
        state.update(header)
        return
    kind, coordinator_epoch = read_marker(control_batch)
    first = state.complete_txn(header, coordinator_epoch)
    if first is not None and kind == ABORT:
        seg.txn_index.append(AbortedTxn((header.producer_id, first, header.base_offset)), last_stable_offset())


def _stable(state: ProducerStateManager, end: int) -> int:
    """The last stable offset while replaying, ``end`` being the log end read so far (Kafka's LSO)."""
    first = state.first_unstable_offset()
    return end if first is None else first


def snapshot_path(directory: Path, offset: int) -> Path:
    return directory / f"{offset:020d}.snapshot"


def snapshot_offsets(directory: Path, names: list[str] | None = None) -> list[int]:
    """Offsets of the producer snapshots in ``directory`` (from ``names`` when already listed)."""
    listed = os.listdir(directory) if names is None else names
    stems = (n[: -len(".snapshot")] for n in listed if n.endswith(".snapshot"))
    return sorted(int(stem) for stem in stems if stem.isdigit())


@dataclass
class LoadedLog:
    segments: list[LogSegment]
    producer_state: ProducerStateManager
    recovered: bool = False  # the active segment was recovered (unclean shutdown)
    scans_of_active: int = 0  # full reads of the active segment (tests: recovery reads it once)


class LogLoader:
    """Opens the segments of one partition directory; see the module docstring."""

    def __init__(self, directory: Path, make_segment: Callable[[int, int], LogSegment], now_ms: int) -> None:
        self.directory = directory
        self.make_segment = make_segment
        self.now_ms = now_ms
        self.names: list[str] = []  # the directory's files once leftovers are gone

    def load(self, clean_shutdown: bool) -> LoadedLog:
        self.names = remove_leftovers(self.directory)
        bases = sorted(int(n[:-4]) for n in self.names if n.endswith(".log") and n[:-4].isdigit())
        segments = [self.make_segment(base, self.now_ms) for base in bases]
        txn_indexes = {n for n in self.names if n.endswith(".txnindex")}
        for seg in segments:
            if f"{seg.base_offset:020d}.txnindex" not in txn_indexes:
                seg.txn_index.assume_absent()  # listed just now: no need to look for the file again
        for seg in segments[:-1]:
            seg.load()
        if not segments:
            fresh = self.make_segment(0, self.now_ms)
            return LoadedLog([fresh], self._snapshot_state(0, 0)[1])
        active = segments[-1]
        if clean_shutdown:
            active.load()
            if len(segments) == 1 and active.next_offset == active.base_offset == 0:
                return LoadedLog(segments, ProducerStateManager())  # never written: no producer state
            return LoadedLog(segments, self._rebuild(segments, active.next_offset))
        # Unclean: recover the active segment and replay producer state in the same pass.
        start, state = self._snapshot_state(None, segments[0].base_offset)
        self._replay_sealed(segments, state, start)
        active.txn_index.truncate_from(start)

        def on_batch(header: BatchHeader) -> None:
            if header.base_offset >= start:
                control = active.read_batch_at(header.position) if header.is_control else b""
                track_batch(state, active, header, control, lambda: _stable(state, header.last_offset + 1))

        active.recover(on_batch)
        loaded = LoadedLog(segments, state, recovered=True, scans_of_active=1)
        end = active.next_offset
        if start > end:  # the snapshot is newer than what survived: rebuild from an older one
            log.warning("producer snapshot %d is past the recovered log end %d of %s", start, end, self.directory)
            loaded.producer_state = self._rebuild(segments, end)
            loaded.scans_of_active += 1
        self._drop_snapshots_after(end)
        return loaded

    def rebuild_producer_state(self, segments: list[LogSegment], end: int) -> ProducerStateManager:
        """Producer state at ``end`` of an open log (after a truncation: Kafka's truncateAndReload).

        From the newest snapshot at or below ``end`` plus the batches after it; snapshots past
        ``end`` are removed and the replayed segments' transaction indexes re-derived.
        """
        self.names = os.listdir(self.directory)
        return self._rebuild(segments, end)

    # ---- producer state ------------------------------------------------------------------

    def _snapshot_state(self, limit: int | None, log_start: int) -> tuple[int, ProducerStateManager]:
        """(offset, state) of the newest readable snapshot at or below ``limit`` (None: any)."""
        for offset in reversed(snapshot_offsets(self.directory, self.names)):
            if limit is not None and offset > limit:
                continue
            path = snapshot_path(self.directory, offset)
            try:
                return offset, ProducerStateManager.from_bytes(path.read_bytes())
            except (ValueError, TypeError, KeyError, OSError):
                log.warning("ignoring unreadable producer snapshot %s", path)
        return log_start, ProducerStateManager()

    def _replay_sealed(self, segments: list[LogSegment], state: ProducerStateManager, start: int) -> None:
        """Replay the batches of closed segments from ``start`` (the active one is not read here)."""
        for seg, following in itertools.pairwise(segments):
            if following.base_offset <= start:  # wholly before the snapshot: not read (nor loaded)
                continue
            self._replay_segment(seg, state, start, functools.partial(_stable, state, following.base_offset))

    @staticmethod
    def _replay_segment(
        seg: LogSegment, state: ProducerStateManager, start: int, lso: Callable[[], int]
    ) -> None:
        seg.txn_index.truncate_from(start)  # aborts after the snapshot are re-derived below
        for header in seg.batches_from_offset(max(start, seg.base_offset)):
            if header.base_offset >= start:
                track_batch(state, seg, header, seg.read_batch_at(header.position) if header.is_control else b"", lso)

    def _rebuild(self, segments: list[LogSegment], end: int) -> ProducerStateManager:
        """Producer state from the newest snapshot at or below ``end`` plus every batch after it."""
        start, state = self._snapshot_state(end, segments[0].base_offset)
        for i, seg in enumerate(segments):
            # a sealed segment ends where the next begins: base offsets alone say which to read
            if seg is segments[-1] or segments[i + 1].base_offset > start:
                self._replay_segment(seg, state, start, lambda: _stable(state, end))
        self._drop_snapshots_after(end)
        return state

    def _drop_snapshots_after(self, end: int) -> None:
        """Snapshots past the log end describe batches that are gone; a later one would mislead."""
        for offset in snapshot_offsets(self.directory, self.names):
            if offset > end:
                snapshot_path(self.directory, offset).unlink(missing_ok=True)
